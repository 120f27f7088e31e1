//! The objects called as a careless or hostile C host would: NULL and
//! out-of-range arguments, references handed back at odd moments, objects
//! kept past their session. Each call must answer a clear code, never
//! misbehave.

use super::*;

/// Next clears each `out[i]` before writing it, and clearing may release
/// the enumerator's last reference (a host that parks it in the array it
/// reuses for the keys): the enumerator must be done with its own state
/// by then. Under Miri or valgrind the old order was a use after free.
#[test]
fn next_into_a_variant_holding_the_enumerators_last_reference() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    for k in ["a", "b"] {
        assert_eq!(
            s_call(o, DISPID_VALUE, PUT, &[s(k)], Some(Variant::I4(1))).0,
            e::S_OK
        );
    }
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    // SAFETY: live objects; the enumerator's one reference moves into
    // out[0], which next releases; the rest released once.
    unsafe {
        let mut u = null_mut();
        assert_eq!(((*(*d).vtbl).get_new_enum)(d, &mut u), e::S_OK);
        let en: *mut sess_enum_variant = u.cast();
        let next = (*(*en).vtbl).next;
        let mut out = [
            write(Variant::Unknown(Object::from_owned(u).unwrap())),
            write(Variant::Empty),
        ];
        let mut got = 0;
        assert_eq!(next(en, 2, out.as_mut_ptr(), &mut got), e::S_OK);
        assert_eq!(got, 2);
        assert_eq!(read(&out[0]).unwrap(), s("a"));
        assert_eq!(read(&out[1]).unwrap(), s("b"));
        for v in &mut out {
            assert_eq!(sess_variant_clear(v), e::S_OK);
        }
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A host that AddRefs without releasing (a leak per request on a
/// long-lived object) must not wrap the count to 0, which would free an
/// object still referenced: past 2^31 the count sticks, the object is never
/// freed and its calls keep working.
#[test]
fn a_reference_count_that_would_overflow_sticks() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    type SessionCom = Com<sess_session_object, SessionObject>;
    // SAFETY: a live Session object; its count is what the test sets.
    let refs = unsafe { &(*o.cast::<SessionCom>()).refs };
    refs.store(u32::MAX, Ordering::SeqCst);
    // SAFETY: a live object (its count pinned), released once at the end.
    unsafe {
        let vt = &*(*o).vtbl;
        assert!((vt.add_ref)(o) >= 1 << 31);
        for _ in 0..3 {
            assert!((vt.release)(o) >= 1 << 31, "not freed");
        }
        let mut t = 0;
        assert_eq!((vt.get_timeout)(o, &mut t), e::S_OK);
        assert_eq!(t, 20);
        refs.store(1, Ordering::SeqCst);
        assert_eq!((vt.release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// QueryInterface as COM requires: a NULL `out` or `iid` is
/// `SESS_E_POINTER` with nothing AddRef'd (and `*out` NULL when writable);
/// IUnknown from any interface of an object is the same pointer; a NULL
/// object is `SESS_E_POINTER`, and AddRef / Release on NULL return 0.
#[test]
fn query_interface_refuses_null_pointers_and_keeps_identity() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    // SAFETY: live objects, each reference released once.
    unsafe {
        let vt = &*(*o).vtbl;
        assert_eq!(
            (vt.query_interface)(o, &SESS_IID_IUNKNOWN, null_mut()),
            e::E_POINTER
        );
        let mut p: *mut c_void = o.cast();
        assert_eq!(
            (vt.query_interface)(o, std::ptr::null(), &mut p),
            e::E_POINTER
        );
        assert!(p.is_null());
        assert_eq!((vt.add_ref)(o), 2, "the failed calls AddRef'd nothing");
        assert_eq!((vt.release)(o), 1);
        p = o.cast();
        assert_eq!(
            (vt.query_interface)(null_mut(), &SESS_IID_IUNKNOWN, &mut p),
            e::E_POINTER
        );
        assert!(p.is_null());
        assert_eq!((vt.add_ref)(null_mut()), 0);
        assert_eq!((vt.release)(null_mut()), 0);

        // Dictionary → IDispatch → IUnknown is the dictionary.
        let mut disp: *mut c_void = null_mut();
        let dv = &*(*d).vtbl;
        assert_eq!(
            (dv.query_interface)(d, &SESS_IID_IDISPATCH, &mut disp),
            e::S_OK
        );
        let disp: *mut sess_dispatch = disp.cast();
        let mut unk: *mut c_void = null_mut();
        assert_eq!(
            ((*(*disp).vtbl).query_interface)(disp, &SESS_IID_IUNKNOWN, &mut unk),
            e::S_OK
        );
        assert_eq!(unk, d.cast());
        for left in (0..3).rev() {
            assert_eq!(release_dict(d), left);
        }
        assert_eq!((vt.release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A Session object pointer lent to other threads.
#[derive(Clone, Copy)]
struct Shared(*mut sess_session_object);

// SAFETY: only AddRef and Release, which may come from any thread, are
// called through it.
unsafe impl Send for Shared {}

impl Shared {
    fn get(self) -> *mut sess_session_object {
        self.0
    }
}

/// AddRef and Release from several threads at once keep an exact count.
#[test]
fn add_ref_and_release_from_several_threads() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let shared = Shared(o);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let o = shared.get();
                for _ in 0..500 {
                    // SAFETY: the main thread holds a reference throughout.
                    unsafe {
                        ((*(*o).vtbl).add_ref)(o);
                        ((*(*o).vtbl).release)(o);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // SAFETY: the one reference left, released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// Objects kept after their application is released and their session
/// closed answer `SESS_E_OBJECT_DETACHED` from every method but IUnknown's,
/// write no output, and are freed by their last Release.
#[test]
fn objects_kept_past_their_application_and_session_are_detached() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    // SAFETY: live handles and objects, each ended or released once.
    unsafe {
        sess_app_release(a);
        assert_eq!(
            s_call(o, DISPID_VALUE, PUT, &[s("k")], Some(Variant::I4(1))).0,
            e::S_OK,
            "an open session outlives its application's handle"
        );
        assert_eq!(sess_session_close(sess), e::S_OK);
        let vt = &*(*o).vtbl;
        assert_eq!(
            s_call(o, DISPID_VALUE, GET, &[s("k")], None).0,
            e::E_OBJECT_DETACHED
        );
        assert_eq!(
            d_call(d, DISPID_DICTIONARY_COUNT, GET, &[]).0,
            e::E_OBJECT_DETACHED
        );
        let mut n = 7;
        assert_eq!((vt.get_type_info_count)(o, &mut n), e::E_OBJECT_DETACHED);
        assert_eq!(n, 7);
        let mut contents = null_mut();
        assert_eq!((vt.get_contents)(o, &mut contents), e::E_OBJECT_DETACHED);
        assert!(contents.is_null());
        let mut buf = [0 as c_char; 64];
        let rc = (vt.get_session_id)(o, buf.as_mut_ptr(), buf.len(), null_mut());
        assert_eq!(rc, e::E_OBJECT_DETACHED);
        assert_eq!(release_dict(d), 0);
        assert_eq!((vt.release)(o), 0);
    }
}

/// `invoke` through the Session object with `params` as it comes.
pub(super) fn invoke_raw(
    o: *mut sess_session_object,
    dispid: i32,
    flags: u16,
    params: *const sess_dispparams,
) -> (sess_result, u32) {
    let mut arg_err = u32::MAX;
    // SAFETY: a live object; `params` NULL or as the test built it.
    let rc =
        unsafe { ((*(*o).vtbl).invoke)(o, dispid, 0, flags, params, null_mut(), &mut arg_err) };
    (rc, arg_err)
}

pub(super) fn params(args: &[sess_variant], arg_count: u32, named: &[i32]) -> sess_dispparams {
    fn ptr_or_null<T>(items: &[T]) -> *const T {
        if items.is_empty() {
            std::ptr::null()
        } else {
            items.as_ptr()
        }
    }
    sess_dispparams {
        args: ptr_or_null(args),
        named_args: ptr_or_null(named),
        arg_count,
        named_count: named.len() as u32,
    }
}

/// DISPPARAMS that do not add up are refused before anything is read:
/// counts with NULL arrays (`SESS_E_POINTER`), more named than positional
/// arguments (`SESS_E_INVALIDARG`), a put without exactly one
/// `SESS_DISPID_PROPERTYPUT` (`SESS_DISP_E_PARAMNOTFOUND`), too many
/// arguments for the member (`SESS_DISP_E_BADPARAMCOUNT`); an unknown
/// DISPID is `SESS_DISP_E_MEMBERNOTFOUND`.
#[test]
fn invoke_refuses_inconsistent_dispparams() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let raw = [write(Variant::I4(5)), write(s("x")), write(s("y"))];
    let put = [DISPID_PROPERTYPUT];
    let two = [DISPID_PROPERTYPUT; 2];
    let cases = [
        (GET, params(&[], 5, &[]), e::E_POINTER),
        (PUT, params(&raw, 2, &[]), e::DISP_E_PARAMNOTFOUND),
        (PUT, params(&raw[..1], 1, &two), e::E_INVALIDARG),
        (PUT, params(&raw, 2, &two), e::DISP_E_PARAMNOTFOUND),
        (PUT, params(&raw, 3, &put), e::DISP_E_BADPARAMCOUNT),
        (GET, params(&raw[1..], 2, &[]), e::DISP_E_BADPARAMCOUNT),
    ];
    for (i, (flags, p, want)) in cases.iter().enumerate() {
        assert_eq!(invoke_raw(o, DISPID_VALUE, *flags, p).0, *want, "case {i}");
    }
    let named_null = sess_dispparams {
        named_args: std::ptr::null(),
        named_count: 1,
        ..params(&raw, 2, &[])
    };
    assert_eq!(
        invoke_raw(o, DISPID_VALUE, PUT, &named_null).0,
        e::E_POINTER
    );
    assert_eq!(
        invoke_raw(o, DISPID_SESSION_TIMEOUT, PUT, std::ptr::null()).0,
        e::DISP_E_PARAMNOTFOUND
    );
    for id in [i32::MIN, DISPID_UNKNOWN, DISPID_NEWENUM, 8, i32::MAX] {
        let rc = invoke_raw(o, id, GET, std::ptr::null()).0;
        assert_eq!(rc, e::DISP_E_MEMBERNOTFOUND, "DISPID {id}");
    }
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[s("x")], None).0,
        e::S_FALSE,
        "nothing was stored"
    );
    for mut v in raw {
        // SAFETY: made by `write`, cleared once.
        assert_eq!(unsafe { sess_variant_clear(&mut v) }, e::S_OK);
    }
    // SAFETY: live object and handles, released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// More arguments than any member takes (65: none takes more than 64) is
/// `SESS_DISP_E_BADPARAMCOUNT`, as IDispatch::Invoke answers a count the
/// member does not take, for every member of both objects and every kind
/// of call, with the count in the detail.
#[test]
fn more_arguments_than_any_member_takes_is_bad_param_count() {
    fn check<H>(invoke: Invoke<H>, o: *mut H, dispids: &[i32]) {
        let mut raw: Vec<sess_variant> = (0..65).map(|_| write(Variant::I4(1))).collect();
        let put = [DISPID_PROPERTYPUT];
        for &dispid in dispids {
            for (flags, named) in [(GET, &[][..]), (DISPATCH_METHOD, &[]), (PUT, &put[..])] {
                let p = params(&raw, 65, named);
                let mut arg_err = u32::MAX;
                // SAFETY: a live object; 65 initialised arguments.
                let rc = unsafe { invoke(o, dispid, 0, flags, &p, null_mut(), &mut arg_err) };
                let what = format!("DISPID {dispid}, flags {flags:#x}");
                assert_eq!(rc, e::DISP_E_BADPARAMCOUNT, "{what}");
                assert_eq!(arg_err, u32::MAX, "{what}: no one argument is to blame");
                let detail = super::super::super::last_error().expect("a failure").1;
                assert!(detail.contains("arg_count 65"), "{what}: {detail}");
            }
        }
        for v in &mut raw {
            // SAFETY: made by `write`, cleared once.
            assert_eq!(unsafe { sess_variant_clear(v) }, e::S_OK);
        }
    }
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    // SAFETY: live objects.
    let (s_invoke, d_invoke) = unsafe { ((*(*o).vtbl).invoke, (*(*d).vtbl).invoke) };
    check(
        s_invoke,
        o,
        &(DISPID_VALUE..=DISPID_SESSION_CONTENTS).collect::<Vec<_>>(),
    );
    let mut d_ids: Vec<i32> = (DISPID_VALUE..=DISPID_DICTIONARY_REMOVEALL).collect();
    d_ids.push(DISPID_NEWENUM);
    check(d_invoke, d, &d_ids);
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[s("x")], None).0,
        e::S_FALSE,
        "nothing was stored"
    );
    // SAFETY: live objects and handles, released once.
    unsafe {
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// An argument with a tag the library does not take (an array of another
/// element type, VT_VARIANT alone, garbage, VT_BYREF of those) is
/// `SESS_DISP_E_BADVARTYPE`, an array variant without its array or a
/// VT_BYREF one without its pointer `SESS_E_POINTER`, a key of the wrong
/// type `SESS_DISP_E_TYPEMISMATCH`: each names its `params->args` index
/// in `*arg_err` (args are last first). A NULL string is the empty one.
#[test]
fn invoke_names_the_bad_argument() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    for (tag, want) in [
        (0x4003u16, e::E_POINTER),
        (0x400E, e::DISP_E_BADVARTYPE),
        (0x2003, e::DISP_E_BADVARTYPE),
        (12, e::DISP_E_BADVARTYPE),
        (0x7777, e::DISP_E_BADVARTYPE),
        (0x200C, e::E_POINTER),
    ] {
        let mut bad = write(Variant::Empty);
        bad.vt = tag;
        // Two arguments, the first (args[1]) bad: it is read, and refused,
        // before the count is checked.
        let args = [write(Variant::I4(1)), bad];
        let got = invoke_raw(o, DISPID_VALUE, GET, &params(&args, 2, &[]));
        assert_eq!(got, (want, 1), "VT {tag:#x}");
    }
    let put = [DISPID_PROPERTYPUT];
    let args = [write(Variant::I4(1)), write(Variant::Null)];
    let got = invoke_raw(o, DISPID_VALUE, PUT, &params(&args, 2, &put));
    assert_eq!(got, (e::DISP_E_TYPEMISMATCH, 1));
    let mut empty = write(Variant::Empty);
    empty.vt = crate::variant::vt::BSTR;
    empty.v.bstrVal = super::super::super::variant::sess_bstr {
        ptr: null_mut(),
        len: 0,
    };
    let got = invoke_raw(o, DISPID_VALUE, GET, &params(&[empty], 1, &[]));
    assert_eq!(got, (e::S_FALSE, u32::MAX));
    // SAFETY: live object and handles, released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A member's value with `result` NULL is dropped, not leaked (the new
/// dictionary and enumerator are freed: Miri and valgrind check).
#[test]
fn a_result_nobody_asked_for_is_freed() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    // SAFETY: live objects; NULL params, result and arg_err.
    unsafe {
        let invoke = (*(*d).vtbl).invoke;
        let none = std::ptr::null();
        let rc = invoke(d, DISPID_NEWENUM, 0, GET, none, null_mut(), null_mut());
        assert_eq!(rc, e::S_OK);
        let rc = ((*(*o).vtbl).invoke)(
            o,
            DISPID_SESSION_CONTENTS,
            0,
            GET,
            none,
            null_mut(),
            null_mut(),
        );
        assert_eq!(rc, e::S_OK);
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// GetIDsOfNames: a NULL array or name is `SESS_E_POINTER`, a count of 0
/// or past the limit, or a name that is not UTF-8 (a lone surrogate
/// encoded as such), `SESS_E_INVALIDARG`; none writes a DISPID.
#[test]
fn get_ids_of_names_refuses_bad_names() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let timeout = c"Timeout".as_ptr();
    let surrogate = c"Time\xED\xA0\x80out".as_ptr();
    let null: *const c_char = std::ptr::null();
    // SAFETY: a live object; each names array readable for what is read.
    unsafe {
        let f = (*(*o).vtbl).get_ids_of_names;
        let mut id = 7;
        assert_eq!(f(o, std::ptr::null(), 1, 0, &mut id), e::E_POINTER);
        assert_eq!(f(o, &null, 1, 0, &mut id), e::E_POINTER);
        assert_eq!(f(o, &timeout, 0, 0, &mut id), e::E_INVALIDARG);
        assert_eq!(f(o, &timeout, u32::MAX, 0, &mut id), e::E_INVALIDARG);
        assert_eq!(f(o, &surrogate, 1, 0, &mut id), e::E_INVALIDARG);
        assert_eq!(id, 7);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// IEnumVARIANT at its edges: Next of 0 needs no array; more than remain
/// is `SESS_S_FALSE` with what there was (`fetched` may be NULL, as
/// IEnumVARIANT allows for any count); Skip past the end is `SESS_S_FALSE`
/// and stays at the end; Clone and _NewEnum with a NULL `out` are
/// `SESS_E_POINTER`; changing the collection does not change a snapshot
/// taken before.
#[test]
fn the_enumerator_at_its_edges() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    for k in ["a", "b", "c"] {
        assert_eq!(
            s_call(o, DISPID_VALUE, PUT, &[s(k)], Some(Variant::I4(1))).0,
            e::S_OK
        );
    }
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    // SAFETY: live objects, each released once; `out` holds 4 variants.
    unsafe {
        let mut u = null_mut();
        assert_eq!(((*(*d).vtbl).get_new_enum)(d, &mut u), e::S_OK);
        assert_eq!(((*(*d).vtbl).get_new_enum)(d, null_mut()), e::E_POINTER);
        let en: *mut sess_enum_variant = u.cast();
        let vt = &*(*en).vtbl;
        let mut out = [(); 4].map(|()| write(Variant::Empty));
        assert_eq!((vt.next)(en, 0, null_mut(), null_mut()), e::S_OK);
        assert_eq!((vt.next)(en, 1, null_mut(), null_mut()), e::E_POINTER);
        assert_eq!((vt.next)(en, 4, out.as_mut_ptr(), null_mut()), e::S_FALSE);
        assert_eq!(read(&out[2]).unwrap(), s("c"));
        assert_eq!(read(&out[3]).unwrap(), Variant::Empty);
        assert_eq!((vt.reset)(en), e::S_OK);
        assert_eq!((vt.skip)(en, u32::MAX), e::S_FALSE);
        let mut got = 9;
        assert_eq!((vt.next)(en, 1, out.as_mut_ptr(), &mut got), e::S_FALSE);
        assert_eq!(got, 0);
        assert_eq!((vt.reset)(en), e::S_OK);
        assert_eq!((vt.skip)(en, 3), e::S_OK);
        assert_eq!((vt.skip)(en, 1), e::S_FALSE);
        assert_eq!((vt.clone)(en, null_mut()), e::E_POINTER);
        assert_eq!((vt.reset)(en), e::S_OK);
        assert_eq!(
            d_call(d, DISPID_DICTIONARY_REMOVEALL, DISPATCH_METHOD, &[]).0,
            e::S_OK
        );
        assert_eq!((vt.next)(en, 4, out.as_mut_ptr(), &mut got), e::S_FALSE);
        assert_eq!(got, 3);
        assert_eq!(read(&out[0]).unwrap(), s("a"));
        for v in &mut out {
            assert_eq!(sess_variant_clear(v), e::S_OK);
        }
        assert_eq!((vt.release)(en), 0);
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A host callback that calls back into the session's objects while one
/// of their calls is running (here a static object's factory, run by the
/// StaticObjects get that first asks for it) would reach the session a
/// second time in the middle of that call; it gets `SESS_E_WRONG_STATE`
/// and the outer call completes. (Before, the inner calls ran: Miri
/// reports the second `&mut Session` as undefined behaviour.)
#[test]
fn a_call_back_in_from_a_host_callback_is_wrong_state() {
    use std::cell::Cell;
    thread_local! {
        static OBJECT: Cell<*mut sess_session_object> = const { Cell::new(null_mut()) };
        static INNER: Cell<(sess_result, sess_result)> = const { Cell::new((0, 0)) };
    }
    let opts = AppOptions {
        static_objects: [StaticObject {
            name: "Cart".into(),
            factory: Arc::new(|| {
                let o = OBJECT.with(Cell::get);
                let mut lcid = 0;
                // SAFETY: the test's live object; lcid writable.
                let read = unsafe { ((*(*o).vtbl).get_lcid)(o, &mut lcid) };
                let put = Some(Variant::I4(1));
                let write = s_call(o, DISPID_VALUE, PUT, &[Variant::bstr("x")], put).0;
                INNER.with(|c| c.set((read, write)));
                counted()
            }),
        }]
        .into(),
        ..AppOptions::default()
    };
    let a = app(opts);
    let (sess, _, o) = new_session(a);
    OBJECT.with(|c| c.set(o));
    let (rc, cart, _) = s_call(o, DISPID_SESSION_STATICOBJECTS, GET, &[s("Cart")], None);
    assert_eq!(rc, e::S_OK);
    assert!(matches!(cart, Variant::Unknown(_)));
    drop(cart);
    assert_eq!(INNER.with(Cell::get), (e::E_WRONG_STATE, e::E_WRONG_STATE));
    // The calls work again once the outer one has returned.
    assert_eq!(
        s_call(o, DISPID_VALUE, PUT, &[s("x")], Some(Variant::I4(1))).0,
        e::S_OK
    );
    // SAFETY: live object and handles, each released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A putref (VBScript's `Set`) takes an object, nothing else: an array,
/// even one holding objects, is `SESS_DISP_E_TYPEMISMATCH` (naming the
/// value, args[0], by invoke), by invoke and by both vtables, and nothing
/// is stored.
#[test]
fn a_putref_of_an_array_holding_an_object_is_a_type_mismatch() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    let array = || Variant::Array(Box::new(vec![Variant::Unknown(counted().unwrap())].into()));
    let (rc, _, arg) = s_call(
        o,
        DISPID_VALUE,
        DISPATCH_PROPERTYPUTREF,
        &[s("a")],
        Some(array()),
    );
    assert_eq!((rc, arg), (e::DISP_E_TYPEMISMATCH, 0));
    let mut value = write(array());
    let mut key = write(s("a"));
    // SAFETY: live objects; initialised variants, cleared once; the
    // objects released once.
    unsafe {
        let putref_value = (*(*o).vtbl).putref_value;
        assert_eq!(
            putref_value(o, c"a".as_ptr(), &value),
            e::DISP_E_TYPEMISMATCH
        );
        let putref_item = (*(*d).vtbl).putref_item;
        assert_eq!(putref_item(d, &key, &value), e::DISP_E_TYPEMISMATCH);
        assert_eq!(
            d_call(d, DISPID_DICTIONARY_COUNT, GET, &[]),
            (e::S_OK, Variant::I4(0))
        );
        assert_eq!(sess_variant_clear(&mut value), e::S_OK);
        assert_eq!(sess_variant_clear(&mut key), e::S_OK);
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// `*arg_err` names the key only when the key is what failed (a bad index
/// or name): a value the session refuses (too large) or a collection that
/// cannot be changed is not the key's fault, and names no argument, as a
/// Timeout out of range names none.
#[test]
fn arg_err_names_the_key_only_for_the_keys_own_failures() {
    let a = app(AppOptions {
        max_value_bytes: 8,
        ..with_statics()
    });
    let (sess, _, o) = new_session(a);
    let big = Some(s("longer than eight bytes"));
    let (rc, _, arg) = s_call(o, DISPID_VALUE, PUT, &[s("k")], big);
    assert_eq!((rc, arg), (e::E_VALUE_TOO_LARGE, u32::MAX));
    let (rc, _, arg) = s_call(o, DISPID_VALUE, PUT, &[s("")], Some(Variant::I4(1)));
    assert_eq!((rc, arg), (e::E_BAD_KEY, 1), "an empty name is the key's");
    let statics = dictionary(o, DISPID_SESSION_STATICOBJECTS);
    // SAFETY: a live object.
    let invoke = unsafe { (*(*statics).vtbl).invoke };
    let (rc, _, arg) = call(
        invoke,
        statics,
        DISPID_VALUE,
        PUT,
        &[s("Cart")],
        Some(Variant::I4(1)),
    );
    assert_eq!((rc, arg), (e::E_COLLECTION_READONLY, u32::MAX));
    let (rc, _, arg) = call(
        invoke,
        statics,
        DISPID_DICTIONARY_REMOVE,
        DISPATCH_METHOD,
        &[s("Cart")],
        None,
    );
    assert_eq!((rc, arg), (e::E_COLLECTION_READONLY, u32::MAX));
    let (rc, _, arg) = call(
        invoke,
        statics,
        DISPID_DICTIONARY_REMOVE,
        DISPATCH_METHOD,
        &[Variant::I4(3)],
        None,
    );
    assert_eq!((rc, arg), (e::E_COLLECTION_READONLY, u32::MAX));
    // SAFETY: live objects and handle, each released once.
    unsafe {
        assert_eq!(release_dict(statics), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A number far past the end (beyond a 64-bit integer), or one that is
/// no number (NaN), is an index past the end or below 1:
/// `SESS_DISP_E_BADINDEX` as the vtables document, not an overflow.
#[test]
fn a_key_beyond_any_index_is_a_bad_index() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    assert_eq!(
        s_call(o, DISPID_VALUE, PUT, &[s("k")], Some(Variant::I4(1))).0,
        e::S_OK
    );
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    for key in [
        Variant::R8(1e300),
        Variant::R8(-1e300),
        Variant::R8(f64::NAN),
        Variant::R4(f32::INFINITY),
        Variant::UI8(u64::MAX),
    ] {
        let (rc, _, arg) = s_call(o, DISPID_VALUE, GET, std::slice::from_ref(&key), None);
        assert_eq!((rc, arg), (e::DISP_E_BADINDEX, 0), "{key:?}");
        let k = write(key.clone());
        let mut out = write(Variant::Empty);
        // SAFETY: a live object; initialised variants.
        let rc = unsafe { ((*(*d).vtbl).get_item)(d, &k, &mut out) };
        assert_eq!(rc, e::DISP_E_BADINDEX, "{key:?}");
    }
    // SAFETY: live objects and handle, each released once.
    unsafe {
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// Invoke with no kind of call (flags 0) binds no member, as
/// ITypeInfo::Invoke (which DispInvoke and CreateStdDispatch use) matches a
/// member by `flags & invkind`: `SESS_DISP_E_MEMBERNOTFOUND` for every
/// DISPID of the Session and its dictionaries, nothing done.
#[test]
fn invoke_without_a_kind_of_call_finds_no_member() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    for id in [DISPID_VALUE, DISPID_SESSION_ABANDON, DISPID_SESSION_TIMEOUT] {
        assert_eq!(
            s_call(o, id, 0, &[], None).0,
            e::DISP_E_MEMBERNOTFOUND,
            "DISPID {id}"
        );
    }
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    for id in [
        DISPID_NEWENUM,
        DISPID_DICTIONARY_COUNT,
        DISPID_DICTIONARY_REMOVEALL,
    ] {
        assert_eq!(
            d_call(d, id, 0, &[]).0,
            e::DISP_E_MEMBERNOTFOUND,
            "DISPID {id}"
        );
    }
    // SAFETY: live objects and handles, released once.
    unsafe {
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}
