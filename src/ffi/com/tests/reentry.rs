//! A host callback calling back into the session it was called from: a
//! static object's factory, a host object's AddRef or Session_OnStart, run
//! in the middle of a call on the session handle, on its objects or on the
//! request that lent the handle. The nested call must
//! not reach the session a second time (an aliased `&mut Session`, which
//! Miri reports as undefined behaviour): it is `SESS_E_WRONG_STATE`, and the
//! outer call completes.

use std::cell::{Cell, RefCell};

use super::*;
use crate::ffi::app::{sess_app_create, sess_app_options, sess_app_options_init};
use crate::ffi::handle::{sess_request, sess_site};
use crate::ffi::session::{sess_abandon, sess_session_discard, sess_value_set};
use crate::ffi::statics::sess_static_get;
use crate::ffi::web::{
    sess_request_acquire, sess_request_begin, sess_request_end, sess_request_info,
    sess_request_path, sess_request_session, sess_site_add, sess_site_create, sess_site_release,
    REQUEST_CREATE, USE_EXCLUSIVE, USE_OFF,
};
use std::ptr::null;

thread_local! {
    /// The handle the callbacks call back into.
    static HANDLE: Cell<*mut sess_session> = const { Cell::new(null_mut()) };
    /// Its Session object.
    static OBJECT: Cell<*mut sess_session_object> = const { Cell::new(null_mut()) };
    /// The codes the nested calls returned, in order.
    static NESTED: RefCell<Vec<sess_result>> = const { RefCell::new(Vec::new()) };
    /// A [`Reentrant`]'s AddRef calls back in (only during the call tested).
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

/// Calls back into the handle and its object as a careless host would:
/// a read and a write of a value through the handle, the LCID through the
/// object, and a close of the handle; records their codes.
fn call_back_in() {
    let s = HANDLE.with(Cell::get);
    let o = OBJECT.with(Cell::get);
    let mut got = write(Variant::Empty);
    let one = write(Variant::I4(1));
    let mut lcid = 0;
    // SAFETY: the test's live handle and object; locals valid.
    let codes = unsafe {
        [
            sess_value_get(s, c"k".as_ptr(), &mut got),
            sess_value_set(s, c"inner".as_ptr(), &one),
            ((*(*o).vtbl).get_lcid)(o, &mut lcid),
            sess_session_close(s),
        ]
    };
    NESTED.with(|n| n.borrow_mut().extend(codes));
}

/// Every nested call was refused, and the session is intact: its value,
/// no value from the nested write, and usable through handle and object.
fn assert_refused_and_intact(s: *mut sess_session, o: *mut sess_session_object, calls: usize) {
    let nested = NESTED.with(|n| n.take());
    assert_eq!(nested, vec![e::E_WRONG_STATE; 4 * calls]);
    let mut got = write(Variant::Empty);
    // SAFETY: a live handle; got initialised.
    unsafe {
        assert_eq!(sess_value_get(s, c"k".as_ptr(), &mut got), e::S_OK);
        assert_eq!(read(&got).unwrap(), Variant::I4(7));
        assert_eq!(sess_value_get(s, c"inner".as_ptr(), &mut got), e::S_FALSE);
        assert_eq!(read(&got).unwrap(), Variant::Empty);
    }
    assert_eq!(
        s_call(o, DISPID_VALUE, PUT, &[s_("k")], Some(Variant::I4(7))).0,
        e::S_OK
    );
}

fn s_(text: &str) -> Variant {
    Variant::bstr(text)
}

/// A session with a value `k` = 7, its object, registered for the callbacks.
fn registered(a: *mut sess_app) -> (*mut sess_session, *mut sess_session_object) {
    let (sess, _, o) = new_session(a);
    let seven = write(Variant::I4(7));
    // SAFETY: a live handle; seven initialised.
    assert_eq!(
        unsafe { sess_value_set(sess, c"k".as_ptr(), &seven) },
        e::S_OK
    );
    HANDLE.with(|c| c.set(sess));
    OBJECT.with(|c| c.set(o));
    (sess, o)
}

fn done(a: *mut sess_app, s: *mut sess_session, o: *mut sess_session_object) {
    // SAFETY: live object and handles, each released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(s), e::S_OK);
        sess_app_release(a);
    }
}

/// A static object's factory calling back in, run by a handle call
/// (`sess_static_get`) and by an object call (StaticObjects get).
#[test]
fn a_factory_calling_back_in_is_wrong_state() {
    let factory = || {
        call_back_in();
        counted()
    };
    let a = app(statics_made_by(["A", "B"], factory));
    let (sess, o) = registered(a);
    let mut out = write(Variant::Empty);
    // SAFETY: a live handle; out initialised, cleared once.
    unsafe {
        assert_eq!(sess_static_get(sess, c"A".as_ptr(), &mut out), e::S_OK);
        assert!(matches!(read(&out).unwrap(), Variant::Unknown(_)));
        assert_eq!(sess_variant_clear(&mut out), e::S_OK);
    }
    let (rc, b, _) = s_call(o, DISPID_SESSION_STATICOBJECTS, GET, &[s_("B")], None);
    assert_eq!(rc, e::S_OK);
    assert!(matches!(b, Variant::Unknown(_)));
    drop(b);
    assert_refused_and_intact(sess, o, 2);
    done(a, sess, o);
}

/// A host object whose AddRef calls back in.
#[repr(C)]
struct Reentrant {
    head: Unknown,
}

unsafe extern "C" fn reentrant_add_ref(_: *mut Unknown) -> u32 {
    if ARMED.with(|a| a.replace(false)) {
        call_back_in();
    }
    2
}

unsafe extern "C" fn reentrant_release(_: *mut Unknown) -> u32 {
    1
}

static REENTRANT: UnknownVtbl = UnknownVtbl {
    query_interface: None,
    add_ref: Some(reentrant_add_ref),
    release: Some(reentrant_release),
};

/// A host object's AddRef calling back in, run when a handle call
/// (`sess_value_get`) or an object call (Value get) copies the value
/// holding it. (A replaced object's last Release comes only when the unit
/// of work ends, outside any call: see `state::journal`.)
#[test]
fn an_add_ref_calling_back_in_is_wrong_state() {
    let a = app(AppOptions::default());
    let (sess, o) = registered(a);
    let mut obj = Reentrant {
        head: Unknown { vtbl: &REENTRANT },
    };
    let p: *mut Unknown = (&mut obj as *mut Reentrant).cast();
    // SAFETY: a live object (it never goes away: its counts are fixed).
    let held = Variant::Unknown(unsafe { Object::from_owned(p) }.unwrap());
    let armed = || ARMED.with(|a| a.set(true));
    // SAFETY: a live handle; variants initialised, cleared once.
    unsafe {
        let mut v = write(held);
        assert_eq!(sess_value_set(sess, c"obj".as_ptr(), &v), e::S_OK);
        armed();
        assert_eq!(sess_value_get(sess, c"obj".as_ptr(), &mut v), e::S_OK);
        assert!(matches!(read(&v).unwrap(), Variant::Unknown(_)));
        sess_variant_clear(&mut v);
    }
    armed();
    let (rc, got, _) = s_call(o, DISPID_VALUE, GET, &[s_("obj")], None);
    assert_eq!(rc, e::S_OK);
    assert!(matches!(got, Variant::Unknown(_)));
    drop(got);
    assert_refused_and_intact(sess, o, 2);
    done(a, sess, o);
}

/// Session_OnStart / Session_OnEnd handlers, called by the library during
/// a call (`sess_session_create`, `sess_session_close`), use the handle
/// they are lent: a different handle from the caller's, so their calls
/// are not refused.
#[test]
fn event_handlers_use_the_handle_they_are_lent() {
    unsafe extern "C" fn on_start(_: *mut c_void, s: *mut sess_session) -> sess_result {
        let v = write(Variant::I4(3));
        // SAFETY: the lent handle; v initialised.
        let rc = unsafe { sess_value_set(s, c"started".as_ptr(), &v) };
        NESTED.with(|n| n.borrow_mut().push(rc));
        rc
    }
    unsafe extern "C" fn on_end(_: *mut c_void, s: *mut sess_session) {
        let mut v = write(Variant::Empty);
        // SAFETY: the lent handle; v initialised.
        let rc = unsafe { sess_value_get(s, c"started".as_ptr(), &mut v) };
        // SAFETY: initialised.
        let got = unsafe { read(&v) }.unwrap();
        NESTED.with(|n| {
            n.borrow_mut()
                .push(if got == Variant::I4(3) { rc } else { -1 })
        });
    }
    // SAFETY: opts written by its init; a live app, released once.
    unsafe {
        let mut opts: sess_app_options = std::mem::zeroed();
        assert_eq!(sess_app_options_init(&mut opts), e::S_OK);
        opts.on_start = Some(on_start);
        opts.on_end = Some(on_end);
        let mut a = null_mut();
        assert_eq!(sess_app_create(&opts, &mut a), e::S_OK);
        let s = create(a);
        let mut v = write(Variant::Empty);
        assert_eq!(sess_value_get(s, c"started".as_ptr(), &mut v), e::S_OK);
        assert_eq!(read(&v).unwrap(), Variant::I4(3));
        assert_eq!(sess_abandon(s), e::S_OK);
        assert_eq!(sess_session_close(s), e::S_OK);
        assert_eq!(NESTED.with(|n| n.take()), vec![e::S_OK, e::S_OK]);
        let s = create(a);
        assert_eq!(sess_session_discard(s), e::S_OK);
        sess_app_release(a);
    }
}

thread_local! {
    /// The request the callbacks call back into.
    static REQUEST: Cell<*mut sess_request> = const { Cell::new(null_mut()) };
}

/// Calls back into the request as a careless host would: its path, its
/// session handle, and its end; records their codes.
fn call_request_back_in() {
    let r = REQUEST.with(Cell::get);
    let mut buf = [0 as c_char; 16];
    let mut lent = null_mut();
    // SAFETY: the test's live request; locals valid.
    let codes = unsafe {
        [
            sess_request_path(r, buf.as_mut_ptr(), buf.len(), null_mut()),
            sess_request_session(r, 0, &mut lent),
            sess_request_end(r, false, null_mut()),
        ]
    };
    NESTED.with(|n| n.borrow_mut().extend(codes));
}

/// A request (`session_use`) on a new site for `opts`'s application,
/// registered for the callbacks.
fn request(
    opts: AppOptions,
    session_use: u32,
) -> (*mut sess_site, *mut sess_app, *mut sess_request) {
    let a = app(opts);
    // SAFETY: locals and handles made here.
    unsafe {
        let mut site = null_mut();
        assert_eq!(sess_site_create(&mut site), e::S_OK);
        assert_eq!(sess_site_add(site, c"/".as_ptr(), a, null()), e::S_OK);
        let info = sess_request_info {
            struct_size: std::mem::size_of::<sess_request_info>() as u32,
            session_use,
            path: c"/".as_ptr(),
            cookie_header: null(),
            cookie_header_len: 0,
            https: false.into(),
        };
        let mut req = null_mut();
        assert_eq!(sess_request_begin(site, &info, &mut req), e::S_OK);
        REQUEST.with(|c| c.set(req));
        (site, a, req)
    }
}

/// The request works on after the refused calls, and ends.
fn end_request(site: *mut sess_site, a: *mut sess_app, req: *mut sess_request) {
    let mut buf = [0 as c_char; 16];
    // SAFETY: live handles, each ended once.
    unsafe {
        assert_eq!(
            sess_request_path(req, buf.as_mut_ptr(), buf.len(), null_mut()),
            e::S_OK
        );
        assert_eq!(sess_request_end(req, false, null_mut()), e::S_OK);
        sess_site_release(site);
        sess_app_release(a);
    }
}

/// A static object's factory, run by a call on the session handle a
/// request lent, calling back into the request: its session lives inside
/// it (before, `sess_request_end` freed it under the running call).
#[test]
fn a_factory_calling_the_request_back_is_wrong_state() {
    let opts = AppOptions {
        static_objects: [StaticObject {
            name: "A".into(),
            factory: Arc::new(|| {
                call_request_back_in();
                counted()
            }),
        }]
        .into(),
        ..AppOptions::default()
    };
    let (site, a, req) = request(opts, USE_EXCLUSIVE);
    let mut s = null_mut();
    let mut out = write(Variant::Empty);
    // SAFETY: live handles; out initialised, cleared once.
    unsafe {
        assert_eq!(sess_request_session(req, REQUEST_CREATE, &mut s), e::S_OK);
        assert_eq!(sess_static_get(s, c"A".as_ptr(), &mut out), e::S_OK);
        assert_eq!(sess_variant_clear(&mut out), e::S_OK);
        assert_eq!(NESTED.with(|n| n.take()), vec![e::E_WRONG_STATE; 3]);
        let one = write(Variant::I4(1));
        assert_eq!(sess_value_set(s, c"k".as_ptr(), &one), e::S_OK);
    }
    end_request(site, a, req);
}

/// Session_OnStart, run by `sess_request_acquire` as it creates the
/// session, calling back into the request.
#[test]
fn a_session_on_start_calling_the_request_back_is_wrong_state() {
    let opts = AppOptions {
        on_start: Some(Arc::new(|_: &mut Session| {
            call_request_back_in();
            Ok(())
        })),
        ..AppOptions::default()
    };
    let (site, a, req) = request(opts, USE_OFF);
    // SAFETY: a live request.
    assert_eq!(unsafe { sess_request_acquire(req, USE_EXCLUSIVE) }, e::S_OK);
    assert_eq!(NESTED.with(|n| n.take()), vec![e::E_WRONG_STATE; 3]);
    end_request(site, a, req);
}

/// A host object whose Release calls the session handle back.
unsafe extern "C" fn reentrant_release_calling(_: *mut Unknown) -> u32 {
    if ARMED.with(|a| a.replace(false)) {
        let mut got = write(Variant::Empty);
        // SAFETY: the handle being closed; got initialised.
        let rc = unsafe { sess_value_get(HANDLE.with(Cell::get), c"k".as_ptr(), &mut got) };
        NESTED.with(|n| n.borrow_mut().push(rc));
    }
    1
}

static RELEASE_CALLING: UnknownVtbl = UnknownVtbl {
    query_interface: None,
    add_ref: Some(reentrant_add_ref),
    release: Some(reentrant_release_calling),
};

/// A replaced object's last Release comes as the unit of work ends, in
/// `sess_session_close`: a Release calling the handle being closed back
/// gets `SESS_E_WRONG_STATE` (before, it reached the session through the
/// handle's moved-out memory while the session was being closed).
#[test]
fn a_release_calling_back_in_as_the_handle_closes_is_wrong_state() {
    let a = app(AppOptions::default());
    let (sess, o) = registered(a);
    // SAFETY: a live object.
    assert_eq!(unsafe { ((*(*o).vtbl).release)(o) }, 0);
    let mut obj = Reentrant {
        head: Unknown {
            vtbl: &RELEASE_CALLING,
        },
    };
    let p: *mut Unknown = (&mut obj as *mut Reentrant).cast();
    // SAFETY: a live object (it never goes away: its counts are fixed).
    let held = Variant::Unknown(unsafe { Object::from_owned(p) }.unwrap());
    // SAFETY: a live handle, closed once; variants initialised.
    unsafe {
        let mut v = write(held);
        assert_eq!(sess_value_set(sess, c"obj".as_ptr(), &v), e::S_OK);
        sess_variant_clear(&mut v);
        let empty = write(Variant::Empty);
        assert_eq!(sess_value_set(sess, c"obj".as_ptr(), &empty), e::S_OK);
        assert_eq!(NESTED.with(|n| n.take()), vec![], "kept until the end");
        ARMED.with(|a| a.set(true));
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
    assert_eq!(NESTED.with(|n| n.take()), vec![e::E_WRONG_STATE]);
}

/// Session_OnEnd, run by `sess_request_end` for the session abandoned in
/// the request, calling the request being ended back, or the session
/// handle it lent: `SESS_E_WRONG_STATE` (before, they reached the request's
/// and the handle's moved-out memory as it ended).
#[test]
fn a_session_on_end_calling_the_ending_request_back_is_wrong_state() {
    let on_end = |_: &mut Session| {
        call_request_back_in();
        let mut got = write(Variant::Empty);
        // SAFETY: the lent handle of the request being ended; got initialised.
        let rc = unsafe { sess_value_get(HANDLE.with(Cell::get), c"k".as_ptr(), &mut got) };
        NESTED.with(|n| n.borrow_mut().push(rc));
    };
    let opts = AppOptions {
        on_end: Some(Arc::new(on_end)),
        ..AppOptions::default()
    };
    let (site, a, req) = request(opts, USE_EXCLUSIVE);
    let mut s = null_mut();
    // SAFETY: live handles, each ended once.
    unsafe {
        assert_eq!(sess_request_session(req, REQUEST_CREATE, &mut s), e::S_OK);
        HANDLE.with(|c| c.set(s));
        let one = write(Variant::I4(1));
        assert_eq!(sess_value_set(s, c"k".as_ptr(), &one), e::S_OK);
        assert_eq!(sess_abandon(s), e::S_OK);
        assert_eq!(sess_request_end(req, false, null_mut()), e::S_OK);
        sess_site_release(site);
        sess_app_release(a);
    }
    assert_eq!(NESTED.with(|n| n.take()), vec![e::E_WRONG_STATE; 4]);
}
