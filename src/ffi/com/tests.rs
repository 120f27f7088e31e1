//! Tests of the COM objects through their C entry points (vtables and
//! `sess_session_interface`), as a C host calls them.

use std::ffi::{c_char, c_void, CStr};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::super::app::sess_app_release;
use super::super::session::{sess_session_close, sess_session_create, sess_value_get};
use super::super::variant::{read, sess_variant, sess_variant_clear, write};
use super::dictionary::*;
use super::dispatch::*;
use super::enumerator::{sess_enum_variant, sess_enum_variant_vtbl};
use super::session_object::*;
use super::*;
use crate::app::{App, AppOptions, Session, StaticObject};
use crate::error as e;
use crate::ffi::handle::{lend, sess_app, sess_session};
use crate::variant::{Object, UnknownVtbl, Variant};

mod byref;
mod hostile;
mod nothing;
mod reentry;

/// A host object for StaticObjects: counts its references, frees itself at 0.
#[repr(C)]
struct Counted {
    head: Unknown,
    refs: AtomicU32,
}

unsafe extern "C" fn counted_add_ref(p: *mut Unknown) -> u32 {
    // SAFETY: a live Counted.
    unsafe { &*p.cast::<Counted>() }
        .refs
        .fetch_add(1, Ordering::SeqCst)
        + 1
}

unsafe extern "C" fn counted_release(p: *mut Unknown) -> u32 {
    // SAFETY: a live Counted.
    let left = unsafe { &*p.cast::<Counted>() }
        .refs
        .fetch_sub(1, Ordering::SeqCst)
        - 1;
    if left == 0 {
        // SAFETY: made by Box in `counted`, freed once.
        drop(unsafe { Box::from_raw(p.cast::<Counted>()) });
    }
    left
}

static COUNTED: UnknownVtbl = UnknownVtbl {
    query_interface: None,
    add_ref: Some(counted_add_ref),
    release: Some(counted_release),
};

fn counted() -> crate::error::Result<Object> {
    let b = Box::new(Counted {
        head: Unknown { vtbl: &COUNTED },
        refs: AtomicU32::new(1),
    });
    // SAFETY: a new object whose one reference is handed over.
    unsafe { Object::from_owned(Box::into_raw(b).cast()) }
}

fn app(opts: AppOptions) -> *mut sess_app {
    let handle = crate::ffi::handle::Releasable::new(App::new(opts).unwrap());
    Box::into_raw(Box::new(handle)).cast()
}

fn with_statics() -> AppOptions {
    statics_made_by(["Catalog", "Cart"], counted)
}

/// Options declaring the static objects `names`, each made by `factory`.
fn statics_made_by<F>(names: [&str; 2], factory: F) -> AppOptions
where
    F: Fn() -> crate::error::Result<Object> + Copy + Send + Sync + 'static,
{
    AppOptions {
        static_objects: names
            .map(|n| StaticObject {
                name: n.into(),
                factory: Arc::new(factory),
            })
            .into(),
        ..AppOptions::default()
    }
}

fn create(app: *mut sess_app) -> *mut sess_session {
    let mut s = null_mut();
    // SAFETY: a live app; s writable.
    assert_eq!(unsafe { sess_session_create(app, &mut s) }, e::S_OK);
    s
}

fn interface(s: *mut sess_session) -> *mut sess_session_object {
    let mut u = null_mut();
    // SAFETY: a live handle; u writable.
    assert_eq!(unsafe { sess_session_interface(s, &mut u) }, e::S_OK);
    u.cast()
}

type Invoke<H> = unsafe extern "C" fn(
    *mut H,
    i32,
    u32,
    u16,
    *const sess_dispparams,
    *mut sess_variant,
    *mut u32,
) -> sess_result;

/// A late-bound call: `args` in natural order, `put` the value of a put.
/// Returns the code, the result and `*arg_err` (u32::MAX if unset).
fn call<H>(
    invoke: Invoke<H>,
    o: *mut H,
    dispid: i32,
    flags: u16,
    args: &[Variant],
    put: Option<Variant>,
) -> (sess_result, Variant, u32) {
    let mut raw: Vec<sess_variant> = put.into_iter().map(write).collect();
    raw.extend(args.iter().rev().cloned().map(write));
    let named = [DISPID_PROPERTYPUT];
    let is_put = flags & (DISPATCH_PROPERTYPUT | DISPATCH_PROPERTYPUTREF) != 0;
    let params = sess_dispparams {
        args: raw.as_ptr(),
        named_args: named.as_ptr(),
        arg_count: raw.len() as u32,
        named_count: u32::from(is_put),
    };
    let mut result = write(Variant::Empty);
    let mut arg_err = u32::MAX;
    // SAFETY: a live object; params, result and arg_err valid.
    let rc = unsafe { invoke(o, dispid, 0, flags, &params, &mut result, &mut arg_err) };
    // SAFETY: initialised variants, read then cleared.
    let value = unsafe { read(&result) }.unwrap();
    for mut v in raw.into_iter().chain([result]) {
        // SAFETY: initialised.
        unsafe { super::super::variant::clear(&mut v) }.unwrap();
    }
    (rc, value, arg_err)
}

fn s_call(
    o: *mut sess_session_object,
    id: i32,
    flags: u16,
    args: &[Variant],
    put: Option<Variant>,
) -> (sess_result, Variant, u32) {
    // SAFETY: a live object.
    call(unsafe { (*(*o).vtbl).invoke }, o, id, flags, args, put)
}

fn d_call(
    o: *mut sess_variant_dictionary,
    id: i32,
    flags: u16,
    args: &[Variant],
) -> (sess_result, Variant) {
    // SAFETY: a live object.
    let (rc, v, _) = call(unsafe { (*(*o).vtbl).invoke }, o, id, flags, args, None);
    (rc, v)
}

fn ids(o: *mut sess_session_object, names: &[&CStr]) -> (sess_result, Vec<i32>) {
    let ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let mut out = vec![0; names.len()];
    // SAFETY: a live object; arrays of the given length.
    let rc = unsafe {
        ((*(*o).vtbl).get_ids_of_names)(o, ptrs.as_ptr(), ptrs.len() as u32, 0, out.as_mut_ptr())
    };
    (rc, out)
}

const GET: u16 = DISPATCH_PROPERTYGET | DISPATCH_METHOD;
const PUT: u16 = DISPATCH_PROPERTYPUT;

fn s(text: &str) -> Variant {
    Variant::bstr(text)
}

/// The dictionary a Session's Contents / StaticObjects get returns.
fn dictionary(o: *mut sess_session_object, dispid: i32) -> *mut sess_variant_dictionary {
    let (rc, v, _) = s_call(o, dispid, GET, &[], None);
    assert_eq!(rc, e::S_OK);
    let Variant::Dispatch(obj) = v else {
        panic!("{v:?}")
    };
    obj.into_raw().cast()
}

fn release_dict(d: *mut sess_variant_dictionary) -> u32 {
    // SAFETY: a live object whose reference the caller holds.
    unsafe { ((*(*d).vtbl).release)(d) }
}

#[test]
fn query_interface_and_reference_counts() {
    let a = app(AppOptions::default());
    let sess = create(a);
    let o = interface(sess);
    // SAFETY: o is live until its last release below.
    unsafe {
        let vt = &*(*o).vtbl;
        let mut p: *mut c_void = null_mut();
        for iid in [
            &SESS_IID_IUNKNOWN,
            &SESS_IID_IDISPATCH,
            &SESS_IID_ISESSIONOBJECT,
        ] {
            assert_eq!((vt.query_interface)(o, iid, &mut p), e::S_OK);
            assert_eq!(p, o.cast());
        }
        p = o.cast();
        for iid in [&SESS_IID_IVARIANTDICTIONARY, &SESS_IID_IENUMVARIANT] {
            assert_eq!((vt.query_interface)(o, iid, &mut p), e::E_NOINTERFACE);
            assert!(p.is_null());
        }
        assert_eq!(
            (vt.query_interface)(o, std::ptr::null(), &mut p),
            e::E_POINTER
        );
        assert_eq!((vt.add_ref)(o), 5);
        for left in (0..5).rev() {
            assert_eq!((vt.release)(o), left);
        }
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

#[test]
fn names_are_case_insensitive_and_unknown_ones_say_so() {
    let a = app(AppOptions::default());
    let sess = create(a);
    let o = interface(sess);
    assert_eq!(
        ids(o, &[c"timeout"]),
        (e::S_OK, vec![DISPID_SESSION_TIMEOUT])
    );
    assert_eq!(
        ids(o, &[c"CONTENTS"]),
        (e::S_OK, vec![DISPID_SESSION_CONTENTS])
    );
    assert_eq!(ids(o, &[c"value"]), (e::S_OK, vec![DISPID_VALUE]));
    assert_eq!(
        ids(o, &[c"Nope"]),
        (e::DISP_E_UNKNOWNNAME, vec![DISPID_UNKNOWN])
    );
    assert_eq!(
        ids(o, &[c"Timeout", c"minutes"]),
        (
            e::DISP_E_UNKNOWNNAME,
            vec![DISPID_SESSION_TIMEOUT, DISPID_UNKNOWN]
        )
    );
    let name = c"Timeout".as_ptr();
    let mut id = 0;
    // SAFETY: live objects and handles, each released once; name and id
    // valid for the counts given or not read.
    unsafe {
        let vt = &*(*o).vtbl;
        assert_eq!(
            (vt.get_ids_of_names)(o, &name, 0, 0, &mut id),
            e::E_INVALIDARG
        );
        assert_eq!(
            (vt.get_ids_of_names)(o, &name, 1, 0, null_mut()),
            e::E_POINTER
        );
        let raw = [write(Variant::I4(1))];
        let huge = sess_dispparams {
            args: raw.as_ptr(),
            named_args: std::ptr::null(),
            arg_count: 100_000,
            named_count: 0,
        };
        let rc = (vt.invoke)(
            o,
            DISPID_SESSION_TIMEOUT,
            0,
            GET,
            &huge,
            null_mut(),
            null_mut(),
        );
        assert_eq!(rc, e::DISP_E_BADPARAMCOUNT, "refused before reading");
        assert_eq!((vt.release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

#[test]
fn properties_and_values_by_invoke() {
    let a = app(AppOptions::default());
    let sess = create(a);
    let o = interface(sess);
    // Session("Pi") = 2.5; Session("pi") reads it back; Session(1) too.
    assert_eq!(
        s_call(o, DISPID_VALUE, PUT, &[s("Pi")], Some(Variant::R8(2.5))).0,
        e::S_OK
    );
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[s("pi")], None).1,
        Variant::R8(2.5)
    );
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[Variant::I4(1)], None).1,
        Variant::R8(2.5)
    );
    // Session(1) = 2.75 replaces item 1; Session(2) = ... is a bad index.
    assert_eq!(
        s_call(
            o,
            DISPID_VALUE,
            PUT,
            &[Variant::I2(1)],
            Some(Variant::R8(2.75))
        )
        .0,
        e::S_OK
    );
    let (rc, _, arg) = s_call(
        o,
        DISPID_VALUE,
        PUT,
        &[Variant::I4(2)],
        Some(Variant::I4(1)),
    );
    // The key is args[1] (args[0] is the put's value).
    assert_eq!((rc, arg), (e::DISP_E_BADINDEX, 1));
    let (rc, _, arg) = s_call(o, DISPID_VALUE, GET, &[Variant::I4(0)], None);
    assert_eq!((rc, arg), (e::DISP_E_BADINDEX, 0));
    // A missing key is Empty and S_FALSE.
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[s("none")], None).0,
        e::S_FALSE
    );
    // The handle sees what the object wrote.
    let mut v = write(Variant::Empty);
    // SAFETY: a live handle; v initialised.
    assert_eq!(
        unsafe { sess_value_get(sess, c"PI".as_ptr(), &mut v) },
        e::S_OK
    );
    // SAFETY: initialised.
    assert_eq!(unsafe { read(&v) }.unwrap(), Variant::R8(2.75));

    // Timeout: put as text (converted), get; a bad one is refused, unchanged.
    assert_eq!(
        s_call(o, DISPID_SESSION_TIMEOUT, PUT, &[], Some(s("30"))).0,
        e::S_OK
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_TIMEOUT, GET, &[], None).1,
        Variant::I4(30)
    );
    let (rc, _, arg) = s_call(o, DISPID_SESSION_TIMEOUT, PUT, &[], Some(s("soon")));
    assert_eq!((rc, arg), (e::DISP_E_TYPEMISMATCH, 0));
    assert_eq!(
        s_call(o, DISPID_SESSION_TIMEOUT, PUT, &[], Some(Variant::I4(0))).0,
        e::E_INVALID_TIMEOUT
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_TIMEOUT, GET, &[], None).1,
        Variant::I4(30)
    );
    // LCID and CodePage.
    assert_eq!(
        s_call(o, DISPID_SESSION_LCID, PUT, &[], Some(Variant::I4(1036))).0,
        e::S_OK
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_LCID, GET, &[], None).1,
        Variant::I4(1036)
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_LCID, PUT, &[], Some(Variant::I4(12345))).0,
        e::E_INVALID_LCID
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_CODEPAGE, PUT, &[], Some(Variant::I4(932))).0,
        e::S_OK
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_CODEPAGE, GET, &[], None).1,
        Variant::I4(932)
    );
    // SessionID is the handle's.
    let (rc, id, _) = s_call(o, DISPID_SESSION_SESSIONID, GET, &[], None);
    assert_eq!(rc, e::S_OK);
    // SAFETY: a live handle.
    let sid = unsafe { sess_session::session(sess) }
        .unwrap()
        .id()
        .encode();
    assert_eq!(id, s(sid.as_str()));

    // The wrong kind of call, count or named arguments.
    assert_eq!(
        s_call(o, DISPID_SESSION_SESSIONID, PUT, &[], Some(s("x"))).0,
        e::DISP_E_MEMBERNOTFOUND
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_ABANDON, DISPATCH_PROPERTYGET, &[], None).0,
        e::DISP_E_MEMBERNOTFOUND
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_TIMEOUT, GET, &[Variant::I4(1)], None).0,
        e::DISP_E_BADPARAMCOUNT
    );
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[], None).0,
        e::DISP_E_BADPARAMCOUNT
    );
    assert_eq!(s_call(o, 99, GET, &[], None).0, e::DISP_E_MEMBERNOTFOUND);
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[Variant::Null], None).0,
        e::DISP_E_TYPEMISMATCH
    );
    assert_eq!(
        s_call(
            o,
            DISPID_VALUE,
            DISPATCH_PROPERTYPUTREF,
            &[s("n")],
            Some(Variant::I4(1))
        )
        .0,
        e::DISP_E_TYPEMISMATCH
    );
    assert_eq!(
        s_call(o, DISPID_VALUE, 0x10, &[s("n")], None).0,
        e::E_INVALIDARG
    );
    // A put without its named value argument.
    let raw = [write(Variant::I4(5)), write(s("x"))];
    let params = sess_dispparams {
        args: raw.as_ptr(),
        named_args: std::ptr::null(),
        arg_count: 2,
        named_count: 0,
    };
    // SAFETY: a live object; valid params; NULL result and arg_err.
    let rc =
        unsafe { ((*(*o).vtbl).invoke)(o, DISPID_VALUE, 0, PUT, &params, null_mut(), null_mut()) };
    assert_eq!(rc, e::DISP_E_PARAMNOTFOUND);
    let named = [7];
    let params = sess_dispparams {
        named_args: named.as_ptr(),
        named_count: 1,
        ..params
    };
    // SAFETY: as above.
    let rc =
        unsafe { ((*(*o).vtbl).invoke)(o, DISPID_VALUE, 0, GET, &params, null_mut(), null_mut()) };
    assert_eq!(rc, e::DISP_E_NONAMEDARGS);
    for mut v in raw {
        // SAFETY: variants made by `write`, cleared once.
        assert_eq!(unsafe { sess_variant_clear(&mut v) }, e::S_OK);
    }

    // Abandon, then the handle ends: the object is detached.
    assert_eq!(
        s_call(o, DISPID_SESSION_ABANDON, DISPATCH_METHOD, &[], None).0,
        e::S_OK
    );
    // SAFETY: a live handle; its abandoned flag.
    assert!(unsafe { sess_session::session(sess) }
        .unwrap()
        .is_abandoned());
    // SAFETY: a live handle, closed once.
    assert_eq!(unsafe { sess_session_close(sess) }, e::S_OK);
    assert_eq!(
        s_call(o, DISPID_SESSION_TIMEOUT, GET, &[], None).0,
        e::E_OBJECT_DETACHED
    );
    assert_eq!(ids(o, &[c"Timeout"]).0, e::E_OBJECT_DETACHED);
    // SAFETY: live object; released once. App released once.
    unsafe {
        let mut t = 0;
        assert_eq!(((*(*o).vtbl).get_timeout)(o, &mut t), e::E_OBJECT_DETACHED);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        sess_app_release(a);
    }
}

#[test]
fn contents_dictionary_and_enumerator() {
    let a = app(AppOptions::default());
    let sess = create(a);
    let o = interface(sess);
    for (k, v) in [
        ("strFirstName", "Arthur"),
        ("strMiddleName", "Keyton"),
        ("strLastName", "Weissinger"),
    ] {
        assert_eq!(s_call(o, DISPID_VALUE, PUT, &[s(k)], Some(s(v))).0, e::S_OK);
    }
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_COUNT, GET, &[]),
        (e::S_OK, Variant::I4(3))
    );
    assert_eq!(
        d_call(d, DISPID_VALUE, GET, &[Variant::I4(2)]),
        (e::S_OK, s("Keyton"))
    );
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_KEY, GET, &[Variant::I4(3)]),
        (e::S_OK, s("strLastName"))
    );
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_KEY, GET, &[s("STRLASTNAME")]),
        (e::S_OK, s("strLastName"))
    );
    // Contents("x") on the Session is the dictionary's Item.
    assert_eq!(
        s_call(o, DISPID_SESSION_CONTENTS, GET, &[s("strFirstName")], None).1,
        s("Arthur")
    );
    // Remove shifts the later items down.
    assert_eq!(
        d_call(
            d,
            DISPID_DICTIONARY_REMOVE,
            DISPATCH_METHOD,
            &[s("strMiddleName")]
        )
        .0,
        e::S_OK
    );
    assert_eq!(
        d_call(d, DISPID_VALUE, GET, &[Variant::I4(2)]),
        (e::S_OK, s("Weissinger"))
    );
    assert_eq!(
        d_call(d, DISPID_VALUE, GET, &[Variant::I4(3)]).0,
        e::DISP_E_BADINDEX
    );
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_REMOVE, DISPATCH_METHOD, &[s("gone")]).0,
        e::S_FALSE
    );

    // For Each: _NewEnum, then Next / Skip / Reset / Clone.
    let (rc, en) = d_call(d, DISPID_NEWENUM, GET, &[]);
    assert_eq!(rc, e::S_OK);
    let Variant::Unknown(en) = en else {
        panic!("{en:?}")
    };
    let mut p: *mut c_void = null_mut();
    // SAFETY: live objects, each released once; out arrays of the given size.
    unsafe {
        let u = en.as_ptr();
        assert_eq!(
            ((*(*u).vtbl).query_interface.unwrap())(u, &SESS_IID_IENUMVARIANT, &mut p),
            e::S_OK
        );
        let en2: *mut sess_enum_variant = p.cast();
        let vt = &*(*en2).vtbl;
        assert_eq!(
            (vt.query_interface)(en2, &SESS_IID_IDISPATCH, &mut p),
            e::E_NOINTERFACE
        );
        let mut out = [
            write(Variant::Empty),
            write(Variant::Empty),
            write(Variant::Empty),
        ];
        let mut got = 0;
        assert_eq!((vt.next)(en2, 3, out.as_mut_ptr(), &mut got), e::S_FALSE);
        assert_eq!(got, 2);
        assert_eq!(read(&out[0]).unwrap(), s("strFirstName"));
        assert_eq!(read(&out[1]).unwrap(), s("strLastName"));
        assert_eq!((vt.reset)(en2), e::S_OK);
        assert_eq!((vt.skip)(en2, 1), e::S_OK);
        let mut c: *mut sess_enum_variant = null_mut();
        assert_eq!((vt.clone)(en2, &mut c), e::S_OK);
        assert_eq!((vt.next)(c, 1, out.as_mut_ptr(), null_mut()), e::S_OK);
        assert_eq!(read(&out[0]).unwrap(), s("strLastName"));
        assert_eq!((vt.skip)(c, 5), e::S_FALSE);
        assert_eq!((vt.next)(c, 1, out.as_mut_ptr(), &mut got), e::S_FALSE);
        assert_eq!(got, 0);
        assert_eq!(((*(*c).vtbl).release)(c), 0);
        for v in &mut out {
            super::super::variant::clear(v).unwrap();
        }
        // RemoveAll; the enumerator kept its snapshot.
        assert_eq!(
            d_call(d, DISPID_DICTIONARY_REMOVEALL, DISPATCH_METHOD, &[]).0,
            e::S_OK
        );
        assert_eq!(
            d_call(d, DISPID_DICTIONARY_COUNT, GET, &[]),
            (e::S_OK, Variant::I4(0))
        );
        assert_eq!(sess_session_close(sess), e::S_OK);
        // Every object is detached now; releases still work.
        assert_eq!((vt.reset)(en2), e::E_OBJECT_DETACHED);
        assert_eq!(
            d_call(d, DISPID_DICTIONARY_COUNT, GET, &[]).0,
            e::E_OBJECT_DETACHED
        );
        assert_eq!((vt.release)(en2), 1);
        drop(en);
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        sess_app_release(a);
    }
}

#[test]
fn static_objects_are_read_only() {
    let a = app(with_statics());
    let sess = create(a);
    let o = interface(sess);
    let d = dictionary(o, DISPID_SESSION_STATICOBJECTS);
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_COUNT, GET, &[]),
        (e::S_OK, Variant::I4(2))
    );
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_KEY, GET, &[Variant::I4(1)]),
        (e::S_OK, s("Catalog"))
    );
    let (rc, first) = d_call(d, DISPID_VALUE, GET, &[s("CATALOG")]);
    assert_eq!(rc, e::S_OK);
    assert!(matches!(first, Variant::Unknown(_)));
    // The same instance by index, and by the Session's StaticObjects(1).
    assert_eq!(
        d_call(d, DISPID_VALUE, GET, &[Variant::I4(1)]),
        (e::S_OK, first.clone())
    );
    assert_eq!(
        s_call(
            o,
            DISPID_SESSION_STATICOBJECTS,
            GET,
            &[Variant::I4(1)],
            None
        )
        .1,
        first
    );
    assert_eq!(
        d_call(d, DISPID_VALUE, GET, &[s("nothing")]),
        (e::S_FALSE, Variant::Empty)
    );
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_REMOVE, DISPATCH_METHOD, &[s("Cart")]).0,
        e::E_COLLECTION_READONLY
    );
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_REMOVEALL, DISPATCH_METHOD, &[]).0,
        e::E_COLLECTION_READONLY
    );
    let mut key = write(s("Cart"));
    let val = write(Variant::I4(1));
    // SAFETY: live objects and handles, each released once.
    unsafe {
        assert_eq!(
            ((*(*d).vtbl).put_item)(d, &key, &val),
            e::E_COLLECTION_READONLY
        );
        assert_eq!(sess_variant_clear(&mut key), e::S_OK);
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        drop(first);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

#[test]
fn an_object_from_a_lent_handle_detaches_when_the_lender_takes_it_back() {
    static KEPT: Mutex<usize> = Mutex::new(0);
    let opts = AppOptions {
        // As sess_app_options' on_start runs: with a handle lent for the call.
        on_start: Some(Arc::new(|s: &mut Session| {
            lend(s, |h| {
                let o = interface(h);
                assert_eq!(
                    s_call(
                        o,
                        DISPID_VALUE,
                        PUT,
                        &[s_("started")],
                        Some(Variant::bool(true))
                    )
                    .0,
                    e::S_OK
                );
                *KEPT.lock().unwrap() = o as usize;
            });
            Ok(())
        })),
        ..AppOptions::default()
    };
    fn s_(t: &str) -> Variant {
        Variant::bstr(t)
    }
    let a = app(opts);
    let sess = create(a);
    let o = *KEPT.lock().unwrap() as *mut sess_session_object;
    // The handle moved after Session_OnStart: the object it lent is detached.
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[s("started")], None).0,
        e::E_OBJECT_DETACHED
    );
    // A new object on the caller's handle works.
    let o2 = interface(sess);
    assert_eq!(
        s_call(o2, DISPID_VALUE, GET, &[s("started")], None).1,
        Variant::bool(true)
    );
    // SAFETY: live objects and handles, each released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(((*(*o2).vtbl).release)(o2), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

#[test]
fn an_object_from_a_request_detaches_when_the_request_ends() {
    use crate::ffi::web::{
        sess_request_begin, sess_request_end, sess_request_info, sess_request_session,
        sess_site_add, sess_site_create, sess_site_release, REQUEST_CREATE, USE_EXCLUSIVE,
    };
    use std::ptr::null;
    let a = app(AppOptions::default());
    // SAFETY: every pointer is a live handle or a local made here.
    unsafe {
        let mut site = null_mut();
        assert_eq!(sess_site_create(&mut site), e::S_OK);
        assert_eq!(sess_site_add(site, c"/".as_ptr(), a, null()), e::S_OK);
        let info = sess_request_info {
            struct_size: std::mem::size_of::<sess_request_info>() as u32,
            session_use: USE_EXCLUSIVE,
            path: c"/page.asp".as_ptr(),
            cookie_header: null(),
            cookie_header_len: 0,
            https: false.into(),
        };
        let mut req = null_mut();
        assert_eq!(sess_request_begin(site, &info, &mut req), e::S_OK);
        let mut h = null_mut();
        assert_eq!(sess_request_session(req, REQUEST_CREATE, &mut h), e::S_OK);
        let o = interface(h);
        assert_eq!(
            s_call(o, DISPID_VALUE, PUT, &[s("k")], Some(Variant::I4(7))).0,
            e::S_OK
        );
        let mut cookie: sess_variant = std::mem::zeroed();
        crate::ffi::variant::sess_variant_init(&mut cookie);
        assert_eq!(sess_request_end(req, false, &mut cookie), e::S_OK);
        assert_eq!(cookie.vt, crate::variant::vt::BSTR, "the session was kept");
        crate::ffi::variant::sess_variant_clear(&mut cookie);
        assert_eq!(
            s_call(o, DISPID_VALUE, GET, &[s("k")], None).0,
            e::E_OBJECT_DETACHED
        );
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        sess_site_release(site);
        sess_app_release(a);
    }
}

#[test]
fn vtable_slots_follow_the_asp_type_library() {
    use std::mem::offset_of;
    let slot = |offset: usize| offset / std::mem::size_of::<usize>();
    // IDispatch's shape is shared: a host may call any object through it.
    assert_eq!(slot(offset_of!(sess_dispatch_vtbl, invoke)), 6);
    assert_eq!(
        slot(offset_of!(sess_session_object_vtbl, get_ids_of_names)),
        5
    );
    assert_eq!(slot(offset_of!(sess_session_object_vtbl, invoke)), 6);
    let session = [
        offset_of!(sess_session_object_vtbl, get_session_id),
        offset_of!(sess_session_object_vtbl, get_value),
        offset_of!(sess_session_object_vtbl, put_value),
        offset_of!(sess_session_object_vtbl, putref_value),
        offset_of!(sess_session_object_vtbl, get_timeout),
        offset_of!(sess_session_object_vtbl, put_timeout),
        offset_of!(sess_session_object_vtbl, abandon),
        offset_of!(sess_session_object_vtbl, get_code_page),
        offset_of!(sess_session_object_vtbl, put_code_page),
        offset_of!(sess_session_object_vtbl, get_lcid),
        offset_of!(sess_session_object_vtbl, put_lcid),
        offset_of!(sess_session_object_vtbl, get_static_objects),
        offset_of!(sess_session_object_vtbl, get_contents),
    ];
    assert_eq!(session.map(slot), std::array::from_fn(|i| 7 + i));
    assert_eq!(slot(std::mem::size_of::<sess_session_object_vtbl>()), 20);
    let dictionary = [
        offset_of!(sess_variant_dictionary_vtbl, invoke),
        offset_of!(sess_variant_dictionary_vtbl, get_item),
        offset_of!(sess_variant_dictionary_vtbl, put_item),
        offset_of!(sess_variant_dictionary_vtbl, putref_item),
        offset_of!(sess_variant_dictionary_vtbl, get_key),
        offset_of!(sess_variant_dictionary_vtbl, get_count),
        offset_of!(sess_variant_dictionary_vtbl, get_new_enum),
        offset_of!(sess_variant_dictionary_vtbl, remove),
        offset_of!(sess_variant_dictionary_vtbl, remove_all),
    ];
    assert_eq!(dictionary.map(slot), std::array::from_fn(|i| 6 + i));
    let enumerator = [
        offset_of!(sess_enum_variant_vtbl, next),
        offset_of!(sess_enum_variant_vtbl, skip),
        offset_of!(sess_enum_variant_vtbl, reset),
        offset_of!(sess_enum_variant_vtbl, clone),
    ];
    assert_eq!(enumerator.map(slot), [3, 4, 5, 6]);
    // The IIDs as the registry spells them.
    assert_eq!(
        (SESS_IID_ISESSIONOBJECT.data1, SESS_IID_ISESSIONOBJECT.data4),
        (
            0xD97A_6DA0,
            [0x83, 0xAF, 0x00, 0xA0, 0xC9, 0x0C, 0x2B, 0xD8]
        )
    );
    assert_eq!(
        (
            SESS_IID_IVARIANTDICTIONARY.data2,
            SESS_IID_IVARIANTDICTIONARY.data3
        ),
        (0xB069, 0x11D0)
    );
    assert_eq!(SESS_IID_IDISPATCH.data1, 0x0002_0400);
}

#[test]
fn an_object_from_session_on_end_detaches_when_the_handler_returns() {
    static KEPT: Mutex<(usize, Option<Variant>)> = Mutex::new((0, None));
    let opts = AppOptions {
        // As sess_app_options' on_end runs: with a handle lent for the call.
        on_end: Some(Arc::new(|s: &mut Session| {
            lend(s, |h| {
                let o = interface(h);
                let (rc, v, _) = s_call(o, DISPID_VALUE, GET, &[Variant::bstr("k")], None);
                assert_eq!(rc, e::S_OK);
                *KEPT.lock().unwrap() = (o as usize, Some(v));
            })
        })),
        ..AppOptions::default()
    };
    let a = app(opts);
    let sess = create(a);
    let o = interface(sess);
    assert_eq!(
        s_call(o, DISPID_VALUE, PUT, &[s("k")], Some(s("v"))).0,
        e::S_OK
    );
    assert_eq!(
        s_call(o, DISPID_SESSION_ABANDON, DISPATCH_METHOD, &[], None).0,
        e::S_OK
    );
    // SAFETY: a live handle, closed once (Session_OnEnd runs).
    assert_eq!(unsafe { sess_session_close(sess) }, e::S_OK);
    let (kept, seen) = KEPT.lock().unwrap().clone();
    assert_eq!(seen, Some(s("v")));
    let kept = kept as *mut sess_session_object;
    assert_eq!(
        s_call(kept, DISPID_VALUE, GET, &[s("k")], None).0,
        e::E_OBJECT_DETACHED
    );
    // SAFETY: live objects, each released once; the app released once.
    unsafe {
        assert_eq!(((*(*kept).vtbl).release)(kept), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        sess_app_release(a);
    }
}

/// Whether the session `id` of `a` is stored (a new session is stored by
/// its first write, or by making a static object).
fn stored(a: *mut sess_app, id: &CStr) -> bool {
    let mut s = null_mut();
    // SAFETY: a live app; s writable, closed here.
    match unsafe { super::super::session::sess_session_open(a, id.as_ptr(), 0, &mut s) } {
        e::S_OK => {
            // SAFETY: opened above.
            assert_eq!(unsafe { sess_session_close(s) }, e::S_OK);
            true
        }
        rc => {
            assert_eq!(rc, e::E_SESSION_NOT_FOUND);
            false
        }
    }
}

/// A new session of `a`, its ID, and its COM object.
fn new_session(
    a: *mut sess_app,
) -> (
    *mut sess_session,
    std::ffi::CString,
    *mut sess_session_object,
) {
    let sess = create(a);
    let mut buf = [0 as c_char; 64];
    // SAFETY: a live handle; buf writable for its length.
    let rc =
        unsafe { super::super::session::sess_session_id(sess, buf.as_mut_ptr(), 64, null_mut()) };
    assert_eq!(rc, e::S_OK);
    // SAFETY: NUL-terminated by sess_session_id.
    let id = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_owned();
    (sess, id, interface(sess))
}

/// A call whose output variant cannot be written (a bad tag) fails before
/// it acts: no Abandon, no static object made (which would store the
/// session), by invoke, by the dictionary's vtable, or by the C calls.
#[test]
fn a_call_whose_output_cannot_be_written_changes_nothing() {
    use super::super::statics::{sess_static_get, sess_static_get_at};
    let a = app(with_statics());
    let bad = || {
        let mut v = write(Variant::Empty);
        v.vt = 0x7777;
        v
    };
    let no_args = sess_dispparams {
        args: std::ptr::null(),
        named_args: std::ptr::null(),
        arg_count: 0,
        named_count: 0,
    };

    // Abandon by invoke: refused, the session lives on.
    let (sess, id, o) = new_session(a);
    assert_eq!(
        s_call(o, DISPID_VALUE, PUT, &[s("k")], Some(Variant::I4(1))).0,
        e::S_OK
    );
    let mut out = bad();
    // SAFETY: a live object; params, out valid.
    let rc = unsafe {
        ((*(*o).vtbl).invoke)(
            o,
            DISPID_SESSION_ABANDON,
            0,
            DISPATCH_METHOD,
            &no_args,
            &mut out,
            null_mut(),
        )
    };
    assert_eq!(rc, e::DISP_E_BADVARTYPE);
    assert_eq!(out.vt, 0x7777, "the output is left as it was");
    // SAFETY: live object and handle, released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
    }
    assert!(stored(a, &id), "not abandoned");

    // A static object, by the dictionary's get_item and by the C calls:
    // none is made, so the new session is not stored.
    let (sess, id, o) = new_session(a);
    let d = dictionary(o, DISPID_SESSION_STATICOBJECTS);
    let mut key = write(s("Cart"));
    // SAFETY: live objects and handles, each released once; out is a
    // variant with a bad tag, which each call must leave alone.
    unsafe {
        assert_eq!(
            ((*(*d).vtbl).get_item)(d, &key, &mut out),
            e::DISP_E_BADVARTYPE
        );
        assert_eq!(
            sess_static_get(sess, c"Cart".as_ptr(), &mut out),
            e::DISP_E_BADVARTYPE
        );
        assert_eq!(sess_static_get_at(sess, 1, &mut out), e::DISP_E_BADVARTYPE);
        assert_eq!(out.vt, 0x7777);
        assert_eq!(sess_variant_clear(&mut key), e::S_OK);
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
    }
    assert!(!stored(a, &id), "no static object was made");
    // SAFETY: made above, released once.
    unsafe { sess_app_release(a) };
}

/// COM ignores `pVarResult` for a property put: a put neither checks nor
/// clears `*result`. A host that copies `Session("b") = Session("a")`
/// through one variant (the get's result passed as the put's value and
/// result) keeps its value, and an unusable `*result` does not fail it.
#[test]
fn a_put_leaves_the_result_variant_alone() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let named = [DISPID_PROPERTYPUT];
    let put_params = |raw: &[sess_variant]| sess_dispparams {
        args: raw.as_ptr(),
        named_args: named.as_ptr(),
        arg_count: raw.len() as u32,
        named_count: 1,
    };
    // SAFETY: a live object and handle, released once; params, result and
    // the variants valid, each cleared once.
    unsafe {
        let invoke = (*(*o).vtbl).invoke;
        let mut kept = write(s("Arthur"));
        let key = write(s("b"));
        let raw = [std::ptr::read(&kept), key];
        let rc = invoke(
            o,
            DISPID_VALUE,
            0,
            PUT,
            &put_params(&raw),
            &mut kept,
            null_mut(),
        );
        assert_eq!(rc, e::S_OK);
        assert_eq!(read(&kept).unwrap(), s("Arthur"), "the put cleared *result");
        let [_, mut key] = raw;
        assert_eq!(sess_variant_clear(&mut key), e::S_OK);
        assert_eq!(sess_variant_clear(&mut kept), e::S_OK);

        let mut junk = write(Variant::Empty);
        junk.vt = 0x7777;
        let raw = [write(Variant::I4(30))];
        let rc = invoke(
            o,
            DISPID_SESSION_TIMEOUT,
            0,
            PUT,
            &put_params(&raw),
            &mut junk,
            null_mut(),
        );
        assert_eq!(rc, e::S_OK);
        assert_eq!(junk.vt, 0x7777);
        let mut t = 0;
        assert_eq!(((*(*o).vtbl).get_timeout)(o, &mut t), e::S_OK);
        assert_eq!(t, 30);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A name holding a NUL is refused (`E_INVALIDARG`, naming the argument):
/// the C calls take NUL-terminated names, so such an item could not be
/// named again (`sess_contents_key_at` would hand back a name that reads or
/// removes a different item, and the bindings treat it as absent).
#[test]
fn a_name_with_a_nul_is_refused() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let (rc, _, arg) = s_call(o, DISPID_VALUE, PUT, &[s("a\0b")], Some(Variant::I4(1)));
    assert_eq!((rc, arg), (e::E_INVALIDARG, 1));
    let (rc, _, arg) = s_call(o, DISPID_VALUE, GET, &[s("a\0b")], None);
    assert_eq!((rc, arg), (e::E_INVALIDARG, 0));
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    let mut key = write(s("a\0b"));
    let value = write(Variant::I4(1));
    // SAFETY: live objects and handle, each released once; key and value
    // initialised, cleared once.
    unsafe {
        assert_eq!(((*(*d).vtbl).put_item)(d, &key, &value), e::E_INVALIDARG);
        let mut n = -1;
        assert_eq!(((*(*d).vtbl).get_count)(d, &mut n), e::S_OK);
        assert_eq!(n, 0, "nothing was stored");
        assert_eq!(sess_variant_clear(&mut key), e::S_OK);
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// An omitted argument (COM's marker: `VT_ERROR` holding
/// `DISP_E_PARAMNOTFOUND`, as `obj.Method(, x)` passes) where the member
/// requires one is `DISP_E_PARAMNOTOPTIONAL`, naming it in `*arg_err`, as
/// DispInvoke answers; nothing is done.
#[test]
fn an_omitted_required_argument_is_param_not_optional() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let missing = Variant::Error(e::DISP_E_PARAMNOTFOUND);
    assert_eq!(
        s_call(o, DISPID_VALUE, PUT, &[s("k")], Some(Variant::I4(1))).0,
        e::S_OK
    );
    let (rc, _, arg) = s_call(o, DISPID_VALUE, GET, std::slice::from_ref(&missing), None);
    assert_eq!((rc, arg), (e::DISP_E_PARAMNOTOPTIONAL, 0));
    let (rc, _, arg) = s_call(
        o,
        DISPID_VALUE,
        PUT,
        std::slice::from_ref(&missing),
        Some(s("v")),
    );
    assert_eq!((rc, arg), (e::DISP_E_PARAMNOTOPTIONAL, 1));
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_REMOVE, DISPATCH_METHOD, &[missing]).0,
        e::DISP_E_PARAMNOTOPTIONAL
    );
    assert_eq!(
        d_call(d, DISPID_DICTIONARY_COUNT, GET, &[]),
        (e::S_OK, Variant::I4(1))
    );
    // An error value is still a value a put can store.
    assert_eq!(
        s_call(
            o,
            DISPID_VALUE,
            PUT,
            &[s("e")],
            Some(Variant::Error(e::DISP_E_PARAMNOTFOUND))
        )
        .0,
        e::S_OK
    );
    // SAFETY: live objects and handle, each released once.
    unsafe {
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A bad index's message counts from 1, as the caller did: Contents.Item(4)
/// of three items said "index 3 is out of range (count 3)" (the library's
/// 0-based index, one that exists), and so did Key, Remove and an Item put,
/// StaticObjects' and `Session(4)`.
#[test]
fn a_bad_index_is_told_as_the_caller_counted_it() {
    let a = app(with_statics());
    let sess = create(a);
    let o = interface(sess);
    for k in ["a", "b", "c"] {
        assert_eq!(
            s_call(o, DISPID_VALUE, PUT, &[s(k)], Some(Variant::I4(1))).0,
            e::S_OK
        );
    }
    let detail = || super::super::last_error().expect("a failure").1;
    let says_four = |rc: sess_result, what: &str| {
        assert_eq!(rc, e::DISP_E_BADINDEX, "{what}");
        let text = detail();
        assert!(
            text.contains("index 4") && !text.contains("index 3"),
            "{what}: {text}"
        );
    };
    let contents = dictionary(o, DISPID_SESSION_CONTENTS);
    let four = [Variant::I4(4)];
    says_four(d_call(contents, DISPID_VALUE, GET, &four).0, "Item");
    says_four(d_call(contents, DISPID_DICTIONARY_KEY, GET, &four).0, "Key");
    says_four(
        d_call(contents, DISPID_DICTIONARY_REMOVE, DISPATCH_METHOD, &four).0,
        "Remove",
    );
    says_four(
        s_call(o, DISPID_VALUE, PUT, &four, Some(Variant::I4(2))).0,
        "Session(4) = 2",
    );
    says_four(s_call(o, DISPID_VALUE, GET, &four, None).0, "Session(4)");
    let statics = dictionary(o, DISPID_SESSION_STATICOBJECTS);
    let three = [Variant::I4(3)];
    for (id, what) in [(DISPID_VALUE, "Item"), (DISPID_DICTIONARY_KEY, "Key")] {
        assert_eq!(d_call(statics, id, GET, &three).0, e::DISP_E_BADINDEX);
        let text = detail();
        assert!(
            text.contains("index 3") && !text.contains("index 2"),
            "StaticObjects.{what}: {text}"
        );
    }
    // SAFETY: live objects and handles, each released once.
    unsafe {
        assert_eq!(release_dict(statics), 0);
        assert_eq!(release_dict(contents), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// `Session.Timeout = value` by invoke under the LCID `lcid`: the code,
/// `*arg_err` (u32::MAX if unset) and the Timeout after.
fn timeout_put_under(
    o: *mut sess_session_object,
    lcid: u32,
    value: Variant,
) -> (sess_result, u32, i32) {
    let args = [write(value)];
    let named = [DISPID_PROPERTYPUT];
    let params = sess_dispparams {
        args: args.as_ptr(),
        named_args: named.as_ptr(),
        arg_count: 1,
        named_count: 1,
    };
    let mut arg_err = u32::MAX;
    let mut minutes = 0;
    // SAFETY: a live object; params and arg_err valid; a put ignores result.
    let rc = unsafe {
        let vt = &*(*o).vtbl;
        let rc = (vt.invoke)(
            o,
            DISPID_SESSION_TIMEOUT,
            lcid,
            PUT,
            &params,
            null_mut(),
            &mut arg_err,
        );
        assert_eq!((vt.get_timeout)(o, &mut minutes), e::S_OK);
        rc
    };
    for mut v in args {
        // SAFETY: made by `write`, cleared once.
        unsafe { super::super::variant::clear(&mut v) }.unwrap();
    }
    (rc, arg_err, minutes)
}

/// Invoke's LCID is needed only to read text (IDispatch::Invoke's rule):
/// under an LCID the library does not know, a number is put as under any
/// other (it was `SESS_E_INVALID_LCID`, blaming the value in `*arg_err`),
/// and text is `SESS_DISP_E_UNKNOWNLCID`, the call's fault, naming no
/// argument and changing nothing.
#[test]
fn an_unknown_invoke_lcid_fails_only_where_text_needs_it() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    for lcid in [12345, 0x0C00] {
        assert_eq!(
            timeout_put_under(o, lcid, Variant::I4(30)),
            (e::S_OK, u32::MAX, 30)
        );
        assert_eq!(
            timeout_put_under(o, lcid, Variant::R8(25.0)),
            (e::S_OK, u32::MAX, 25)
        );
        assert_eq!(
            timeout_put_under(o, lcid, s("40")),
            (e::DISP_E_UNKNOWNLCID, u32::MAX, 25),
            "LCID {lcid:#x}"
        );
    }
    // A known LCID reads the text as before; a bad value still names itself.
    assert_eq!(timeout_put_under(o, 1036, s("40")), (e::S_OK, u32::MAX, 40));
    assert_eq!(
        timeout_put_under(o, 1036, s("soon")),
        (e::DISP_E_TYPEMISMATCH, 0, 40)
    );
    // SAFETY: live object and handles, released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}
