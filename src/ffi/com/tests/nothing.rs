//! `Set Session("x") = Nothing`: VBScript's Nothing is a NULL object
//! reference. The value model holds live objects only, so the library
//! refuses it, saying so and what to do instead.

use super::hostile::{invoke_raw, params};
use super::*;
use crate::variant::vt;

/// A `SESS_VT_DISPATCH` / `SESS_VT_UNKNOWN` variant holding NULL.
fn nothing(t: u16) -> sess_variant {
    let mut v = write(Variant::Empty);
    v.vt = t;
    v
}

fn says_nothing(rc: sess_result, what: &str) {
    assert_eq!(rc, e::E_POINTER, "{what}");
    let text = super::super::super::last_error().expect("a failure").1;
    assert!(
        text.contains("Nothing") && text.contains("Remove"),
        "{what}: {text}"
    );
}

/// Nothing by invoke (a put or a `Set`, of the Session's Value or of
/// Contents' Item) and by the vtables' put_value / putref_value /
/// put_item is `SESS_E_POINTER`, named in `*arg_err`, its detail saying
/// Nothing cannot be stored and to Remove the item instead; nothing is
/// stored.
#[test]
fn nothing_is_refused_with_a_clear_error() {
    let a = app(AppOptions::default());
    let (sess, _, o) = new_session(a);
    let put = [DISPID_PROPERTYPUT];
    let d = dictionary(o, DISPID_SESSION_CONTENTS);
    let name = c"x";
    let key = write(s("x"));
    for t in [vt::DISPATCH, vt::UNKNOWN] {
        for flags in [PUT, DISPATCH_PROPERTYPUTREF] {
            let mut args = [nothing(t), write(s("x"))];
            let (rc, arg) = invoke_raw(o, DISPID_VALUE, flags, &params(&args, 2, &put));
            says_nothing(rc, &format!("invoke VT {t} flags {flags}"));
            assert_eq!(arg, 0);
            // SAFETY: made by `write`, cleared once.
            assert_eq!(unsafe { sess_variant_clear(&mut args[1]) }, e::S_OK);
        }
        let value = nothing(t);
        // SAFETY: live objects; valid name, key and value.
        unsafe {
            let vtbl = &*(*o).vtbl;
            says_nothing((vtbl.put_value)(o, name.as_ptr(), &value), "put_value");
            says_nothing(
                (vtbl.putref_value)(o, name.as_ptr(), &value),
                "putref_value",
            );
            says_nothing(((*(*d).vtbl).put_item)(d, &key, &value), "put_item");
        }
    }
    assert_eq!(
        s_call(o, DISPID_VALUE, GET, &[s("x")], None).0,
        e::S_FALSE,
        "nothing was stored"
    );
    let mut key = key;
    // SAFETY: live objects and handles, released once; key cleared once.
    unsafe {
        assert_eq!(sess_variant_clear(&mut key), e::S_OK);
        assert_eq!(release_dict(d), 0);
        assert_eq!(((*(*o).vtbl).release)(o), 0);
        assert_eq!(sess_session_close(sess), e::S_OK);
        sess_app_release(a);
    }
}
