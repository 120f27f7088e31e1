//! Arguments passed by reference (`SESS_VT_BYREF`), as VBScript passes its
//! variables to Invoke: read through their pointer, as oleaut32's
//! VariantCopyInd does.

use super::hostile::{invoke_raw, params};
use super::*;
use crate::variant::vt;

/// A `SESS_VT_BYREF | t` variant pointing at `target`.
fn by_ref<T>(t: u16, target: *mut T) -> sess_variant {
    let mut v = write(Variant::Empty);
    v.vt = vt::BYREF | t;
    v.v.byref = target.cast();
    v
}

/// `Session(name) = v` with `v` a variable (`SESS_VT_BYREF |
/// SESS_VT_VARIANT`), a key and an index passed by reference, and a `Set`
/// of an object passed by reference all act on what the pointers point at.
#[test]
fn by_reference_arguments_are_read_through_their_pointer() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let put = [DISPID_PROPERTYPUT];
    let mut value = write(Variant::I4(5));
    let mut name = write(s("x"));
    let args = [
        by_ref(vt::VARIANT, &mut value),
        by_ref(vt::BSTR, unsafe { &mut name.v.bstrVal }),
    ];
    let got = invoke_raw(o, DISPID_VALUE, PUT, &params(&args, 2, &put));
    assert_eq!(got, (e::S_OK, u32::MAX));
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[s("x")], None).1,
        Variant::I4(5)
    );
    let mut index = 1i32;
    let mut result = write(Variant::Empty);
    let args = [by_ref(vt::I4, &mut index)];
    let p = params(&args, 1, &[]);
    // SAFETY: a live object; params and result valid.
    let rc = unsafe { ((*(*o).vtbl).invoke)(o, DISPID_VALUE, 0, GET, &p, &mut result, null_mut()) };
    assert_eq!(rc, e::S_OK);
    // SAFETY: initialised by invoke.
    assert_eq!(unsafe { read(&result) }.unwrap(), Variant::I4(5));
    let obj = counted().unwrap();
    let mut ptr = obj.as_ptr();
    let mut args = [by_ref(vt::UNKNOWN, &mut ptr), write(s("o"))];
    let putref = DISPATCH_PROPERTYPUTREF;
    let got = invoke_raw(o, DISPID_VALUE, putref, &params(&args, 2, &put));
    assert_eq!(got, (e::S_OK, u32::MAX));
    // SAFETY: made by `write`, cleared once.
    assert_eq!(unsafe { sess_variant_clear(&mut args[1]) }, e::S_OK);
    let (rc, stored, _) = s_call(o, DISPID_VALUE, GET, &[s("o")], None);
    assert_eq!((rc, stored.vt()), (e::S_OK, vt::UNKNOWN));
    drop(stored);
    drop(obj);
    for mut v in [value, name, result] {
        // SAFETY: initialised, cleared once.
        assert_eq!(unsafe { sess_variant_clear(&mut v) }, e::S_OK);
    }
    // SAFETY: live object and handles, released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// A by-reference argument whose pointer is NULL is `SESS_E_POINTER`, one
/// pointing at a variant itself by reference `SESS_E_INVALIDARG`
/// (VariantCopyInd's rule), one of a type no variant holds
/// `SESS_DISP_E_BADVARTYPE`: each names its index in `*arg_err`, and
/// nothing is stored.
#[test]
fn bad_by_reference_arguments_are_refused_and_named() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let put = [DISPID_PROPERTYPUT];
    let mut inner = by_ref(vt::I4, null_mut::<i32>());
    let mut n = 1i32;
    for (bad, want) in [
        (
            by_ref(vt::VARIANT, null_mut::<sess_variant>()),
            e::E_POINTER,
        ),
        (by_ref(vt::I4, null_mut::<i32>()), e::E_POINTER),
        (by_ref(vt::VARIANT, &mut inner), e::E_INVALIDARG),
        (by_ref(vt::EMPTY, &mut n), e::DISP_E_BADVARTYPE),
        (by_ref(vt::ARRAY | vt::I4, &mut n), e::DISP_E_BADVARTYPE),
        (by_ref(0x0E, &mut n), e::DISP_E_BADVARTYPE),
    ] {
        let tag = bad.vt;
        let mut args = [bad, write(s("x"))];
        let got = invoke_raw(o, DISPID_VALUE, PUT, &params(&args, 2, &put));
        assert_eq!(got, (want, 0), "VT {tag:#x}");
        // SAFETY: made by `write`, cleared once.
        assert_eq!(unsafe { sess_variant_clear(&mut args[1]) }, e::S_OK);
    }
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[s("x")], None).0,
        e::S_FALSE,
        "nothing was stored"
    );
    // SAFETY: live object and handles, released once.
    unsafe {
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}

/// The vtables' own key and value arguments are read through their
/// pointer too (VB passes a variable given to a VARIANT parameter as
/// `SESS_VT_BYREF | t`): put_value, put_item, get_item, get_key and
/// remove act on what the pointers point at.
#[test]
fn vtable_arguments_by_reference_are_read_through_their_pointer() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    let mut value = write(Variant::I4(7));
    let mut name = write(s("x"));
    let mut index = 1i16;
    let mut out = write(Variant::Empty);
    // SAFETY: live objects; keys, values and out valid.
    unsafe {
        let dv = &*(*d).vtbl;
        let key = by_ref(vt::BSTR, &mut name.v.bstrVal);
        let val = by_ref(vt::VARIANT, &mut value);
        assert_eq!((dv.put_item)(d, &key, &val), e::S_OK);
        let at = by_ref(vt::I2, &mut index);
        assert_eq!((dv.get_item)(d, &at, &mut out), e::S_OK);
        assert_eq!(read(&out).unwrap(), Variant::I4(7));
        assert_eq!((dv.get_key)(d, &at, &mut out), e::S_OK);
        assert_eq!(read(&out).unwrap(), s("x"));
        let vv = &*(*o).vtbl;
        assert_eq!((vv.put_value)(o, c"y".as_ptr(), &val), e::S_OK);
        assert_eq!((dv.remove)(d, &key), e::S_OK);
        assert_eq!((dv.get_item)(d, &at, &mut out), e::S_OK);
        assert_eq!(read(&out).unwrap(), Variant::I4(7), "y is first now");
        for v in [&mut value, &mut name, &mut out] {
            assert_eq!(sess_variant_clear(v), e::S_OK);
        }
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}
