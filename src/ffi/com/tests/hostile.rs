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
