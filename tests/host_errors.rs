//! A host callback's own message for the failure it returns
//! (`sess_error_set`), through the C ABI: Session_OnStart, a static
//! object's factory and a store callback. The message reaches the caller's
//! `sess_error_last` when the callback returns the very code it was
//! recorded for, and nowhere else.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::null_mut;

use sess::error;
use sess::ffi::app::{
    sess_app_create, sess_app_options, sess_app_options_init, sess_app_release,
    sess_static_object_decl,
};
use sess::ffi::error::sess_error_last;
use sess::ffi::handle::{sess_app, sess_session};
use sess::ffi::host_error::sess_error_set;
use sess::ffi::session::{sess_session_close, sess_session_create, sess_session_open};
use sess::ffi::statics::sess_static_get;
use sess::ffi::store::{sess_buffer, sess_buffer_list, sess_store_vtbl, sess_store_vtbl_init};
use sess::variant::Unknown;

/// What a test's Session_OnStart does: records `message` for `recorded`
/// (unless it is 0), uses the failing static object if `nested`, then
/// returns `returns`.
struct Start {
    recorded: i32,
    message: &'static CStr,
    nested: bool,
    returns: i32,
}

unsafe extern "C" fn on_start(context: *mut c_void, s: *mut sess_session) -> i32 {
    // SAFETY: the test's Start, alive while the application is.
    let start = unsafe { &*context.cast::<Start>() };
    // SAFETY: a NUL-terminated message; the handle lent for this call.
    unsafe {
        if start.recorded != 0 {
            sess_error_set(start.recorded, start.message.as_ptr());
        }
        if start.nested {
            let mut v = std::mem::zeroed();
            assert_eq!(
                sess_static_get(s, c"objBroken".as_ptr(), &mut v),
                error::E_NOINTERFACE
            );
        }
    }
    start.returns
}

/// A factory that fails with a message of its own.
unsafe extern "C" fn broken(_: *mut c_void, _: *const c_char, _: *mut *mut Unknown) -> i32 {
    // SAFETY: a NUL-terminated literal.
    unsafe { sess_error_set(error::E_NOINTERFACE, c"no such class".as_ptr()) }
}

/// An application with no expiry thread and the failing static object
/// `objBroken`, its options then changed by `configure`.
fn app(configure: impl FnOnce(&mut sess_app_options)) -> *mut sess_app {
    let decl = sess_static_object_decl {
        name: c"objBroken".as_ptr(),
        factory: Some(broken),
        context: null_mut(),
    };
    // SAFETY: all-zero is a valid sess_app_options (NULL pointers and
    // callbacks), overwritten by the init.
    let mut o: sess_app_options = unsafe { std::mem::zeroed() };
    // SAFETY: writable.
    assert_eq!(unsafe { sess_app_options_init(&mut o) }, error::S_OK);
    o.expiry_interval_ms = 0;
    o.static_objects = &decl;
    o.static_object_count = 1;
    configure(&mut o);
    let mut app = null_mut();
    // SAFETY: valid options (copied by the call); app writable.
    assert_eq!(unsafe { sess_app_create(&o, &mut app) }, error::S_OK);
    app
}

/// An application whose Session_OnStart does what `start` says.
fn app_starting(start: &'static Start) -> *mut sess_app {
    app(|o| {
        o.on_start = Some(on_start);
        o.event_context = (start as *const Start).cast_mut().cast();
    })
}

/// This thread's last error: its code and detail.
fn last() -> (i32, String) {
    let (mut code, mut buf) = (0, [0 as c_char; 2048]);
    // SAFETY: writable slots.
    assert_eq!(
        unsafe { sess_error_last(&mut code, buf.as_mut_ptr(), buf.len(), null_mut()) },
        error::S_OK
    );
    // SAFETY: NUL-terminated by the call.
    let detail = unsafe { CStr::from_ptr(buf.as_ptr()) };
    (code, detail.to_str().unwrap().to_owned())
}

/// Creates a session of `app` (closed at once if created): the result code.
fn create(app: *mut sess_app) -> i32 {
    let mut s = null_mut();
    // SAFETY: a live application; s writable.
    let rc = unsafe { sess_session_create(app, &mut s) };
    if rc >= 0 {
        // SAFETY: the session just created.
        assert_eq!(unsafe { sess_session_close(s) }, error::S_OK);
    }
    rc
}

/// Creating a session of an application whose OnStart does `start` fails
/// with its code, and the last error's detail is `detail`.
fn creating_fails_with(start: &'static Start, detail: &str) {
    let app = app_starting(start);
    assert_eq!(create(app), start.returns);
    assert_eq!(last(), (start.returns, detail.into()));
    // SAFETY: made above, released once.
    unsafe { sess_app_release(app) };
}

#[test]
fn session_on_start_gives_the_creating_call_its_message() {
    static START: Start = Start {
        recorded: error::E_FAIL,
        message: c"no account for this user",
        nested: false,
        returns: error::E_FAIL,
    };
    creating_fails_with(&START, "Session_OnStart failed: no account for this user");
}

#[test]
fn a_message_for_another_code_or_a_success_is_discarded() {
    static OTHER_CODE: Start = Start {
        recorded: error::E_FAIL,
        message: c"for E_FAIL only",
        nested: false,
        returns: error::E_NOTIMPL,
    };
    static SUCCEEDS: Start = Start {
        recorded: error::E_FAIL,
        message: c"changed its mind",
        nested: false,
        returns: error::S_OK,
    };
    static SILENT: Start = Start {
        recorded: 0,
        message: c"",
        nested: false,
        returns: error::E_FAIL,
    };
    let app = app_starting(&OTHER_CODE);
    assert_eq!(create(app), error::E_NOTIMPL);
    assert_eq!(last(), (error::E_NOTIMPL, "Session_OnStart failed".into()));
    // SAFETY: made above, released once.
    unsafe { sess_app_release(app) };

    let (succeeds, silent) = (app_starting(&SUCCEEDS), app_starting(&SILENT));
    assert_eq!(create(succeeds), error::S_OK);
    // A message recorded outside any callback is never taken either.
    // SAFETY: a NUL-terminated literal.
    let rc = unsafe { sess_error_set(error::E_FAIL, c"stray".as_ptr()) };
    assert_eq!(rc, error::E_FAIL);
    assert_eq!(create(silent), error::E_FAIL);
    assert_eq!(last(), (error::E_FAIL, "Session_OnStart failed".into()));
    // SAFETY: made above, released once.
    unsafe {
        sess_app_release(succeeds);
        sess_app_release(silent);
    }
}

/// The factory OnStart runs fails with its own message; OnStart's stays.
#[test]
fn a_callback_run_inside_another_keeps_its_message_to_itself() {
    static START: Start = Start {
        recorded: error::E_FAIL,
        message: c"outer",
        nested: true,
        returns: error::E_FAIL,
    };
    creating_fails_with(&START, "Session_OnStart failed: outer");
}

#[test]
fn a_static_object_factory_gives_its_message() {
    let app = app(|_| ());
    let mut s = null_mut();
    // SAFETY: live handles; writable slots.
    unsafe {
        assert_eq!(sess_session_create(app, &mut s), error::S_OK);
        let mut v = std::mem::zeroed();
        assert_eq!(
            sess_static_get(s, c"objBroken".as_ptr(), &mut v),
            error::E_NOINTERFACE
        );
        assert_eq!(
            last(),
            (
                error::E_NOINTERFACE,
                "a static object factory failed: no such class".into()
            )
        );
        assert_eq!(sess_session_close(s), error::S_OK);
        sess_app_release(app);
    }
}

/// A store whose `get` says why the store is down; its other callbacks
/// are not reached.
#[test]
fn a_store_callback_gives_its_message() {
    unsafe extern "C" fn get(
        _: *mut c_void,
        _: *const c_char,
        _: u32,
        _: u64,
        _: u64,
        _: *mut sess_buffer,
    ) -> i32 {
        let message = CString::new("db1: connection refused").unwrap();
        // SAFETY: NUL-terminated.
        unsafe { sess_error_set(error::E_STORE_UNAVAILABLE, message.as_ptr()) }
    }
    unsafe extern "C" fn create(
        _: *mut c_void,
        _: *const c_char,
        _: u64,
        _: u64,
        _: u64,
        _: u64,
        _: *const c_void,
        _: usize,
    ) -> i32 {
        error::E_UNEXPECTED
    }
    unsafe extern "C" fn set(
        _: *mut c_void,
        _: *const c_char,
        _: u64,
        _: u64,
        _: *const c_void,
        _: usize,
    ) -> i32 {
        error::E_UNEXPECTED
    }
    unsafe extern "C" fn key(_: *mut c_void, _: *const c_char, _: u64) -> i32 {
        error::E_UNEXPECTED
    }
    unsafe extern "C" fn list(_: *mut c_void, _: u64, _: usize, _: *mut sess_buffer_list) -> i32 {
        error::E_UNEXPECTED
    }
    // SAFETY: all-zero is a valid vtable (NULLs), overwritten by the init.
    let mut v: sess_store_vtbl = unsafe { std::mem::zeroed() };
    // SAFETY: writable.
    assert_eq!(unsafe { sess_store_vtbl_init(&mut v) }, error::S_OK);
    v.get = Some(get);
    v.create = Some(create);
    v.set_and_release = Some(set);
    v.release = Some(key);
    v.remove = Some(key);
    v.reset_timeout = Some(key);
    v.list_expired = Some(list);
    let app = app(|o| o.store = &v);
    let mut s = null_mut();
    // SAFETY: a live application; writable slot.
    let rc = unsafe { sess_session_open(app, c"AAAAAAAAAAAAAAAAAAAAAA".as_ptr(), 0, &mut s) };
    assert_eq!(rc, error::E_STORE_UNAVAILABLE);
    assert!(s.is_null());
    assert_eq!(
        last(),
        (
            error::E_STORE_UNAVAILABLE,
            "the custom store's get reports the store unavailable: db1: connection refused".into()
        )
    );
    // SAFETY: made above, released once.
    unsafe { sess_app_release(app) };
}

/// A Session_OnEnd the library runs inside Session_OnStart (OnStart ends
/// the expired sessions, `sess_app_expire`) and that records a message:
/// OnStart's failure does not report it as its own.
#[test]
fn a_session_on_end_run_inside_on_start_keeps_its_message_to_itself() {
    use sess::ffi::app::sess_app_expire;
    use sess::ffi::value_typed::sess_value_set_i4;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

    static NOW: AtomicU64 = AtomicU64::new(1_000_000);
    static FAIL: AtomicBool = AtomicBool::new(false);
    static APP: AtomicUsize = AtomicUsize::new(0);
    static ENDED: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn clock(_: *mut c_void) -> u64 {
        NOW.load(Ordering::SeqCst)
    }
    unsafe extern "C" fn on_end(_: *mut c_void, _: *mut sess_session) {
        // SAFETY: a NUL-terminated literal.
        unsafe { sess_error_set(error::E_FAIL, c"recorded by Session_OnEnd".as_ptr()) };
    }
    unsafe extern "C" fn on_start(_: *mut c_void, _: *mut sess_session) -> i32 {
        if !FAIL.load(Ordering::SeqCst) {
            return error::S_OK;
        }
        let mut n = 0;
        let app = APP.load(Ordering::SeqCst) as *const sess_app;
        // SAFETY: the live application; n writable.
        assert_eq!(unsafe { sess_app_expire(app, &mut n) }, error::S_OK);
        ENDED.store(n, Ordering::SeqCst);
        error::E_FAIL
    }
    let app = app(|o| {
        o.on_start = Some(on_start);
        o.on_end = Some(on_end);
        o.clock = Some(clock);
    });
    APP.store(app as usize, Ordering::SeqCst);
    let mut s = null_mut();
    // SAFETY: live handles; writable slots.
    unsafe {
        assert_eq!(sess_session_create(app, &mut s), error::S_OK);
        assert_eq!(sess_value_set_i4(s, c"k".as_ptr(), 1), error::S_OK);
        assert_eq!(sess_session_close(s), error::S_OK);
    }
    NOW.fetch_add(21 * 60_000, Ordering::SeqCst);
    FAIL.store(true, Ordering::SeqCst);
    assert_eq!(create(app), error::E_FAIL);
    assert_eq!(ENDED.load(Ordering::SeqCst), 1, "OnEnd ran inside OnStart");
    assert_eq!(last(), (error::E_FAIL, "Session_OnStart failed".into()));
    // SAFETY: made above, released once.
    unsafe { sess_app_release(app) };
}

/// A factory that returns `SESS_S_OK` without an object: the error names
/// the factory, not the caller's arguments (whose NULL `SESS_E_POINTER`
/// otherwise means).
#[test]
fn a_factory_succeeding_without_an_object_is_named_as_the_culprit() {
    unsafe extern "C" fn empty(_: *mut c_void, _: *const c_char, _: *mut *mut Unknown) -> i32 {
        error::S_OK
    }
    let decl = sess_static_object_decl {
        name: c"objEmpty".as_ptr(),
        factory: Some(empty),
        context: null_mut(),
    };
    let app = app(|o| o.static_objects = &decl);
    let mut s = null_mut();
    // SAFETY: live handles; writable slots.
    unsafe {
        assert_eq!(sess_session_create(app, &mut s), error::S_OK);
        let mut v = std::mem::zeroed();
        assert_eq!(
            sess_static_get(s, c"objEmpty".as_ptr(), &mut v),
            error::E_POINTER
        );
        let (code, detail) = last();
        assert_eq!(code, error::E_POINTER);
        assert!(
            detail.contains("factory") && detail.contains("objEmpty"),
            "{detail}"
        );
        assert_eq!(sess_session_close(s), error::S_OK);
        sess_app_release(app);
    }
}
