//! A `SESS_VT_DATE` variant a C caller builds by hand (not with
//! `sess_variant_set_date`, which refuses these): a date outside OLE's
//! 100-01-01 ... 9999-12-31, NaN or an infinity is `SESS_E_INVALIDARG`
//! wherever the library reads a variant, and nothing is stored.

use std::ptr::null_mut;

use sess::error;
use sess::ffi::app::{sess_app_create, sess_app_release};
use sess::ffi::array::{sess_array_create, sess_array_destroy, sess_array_get, sess_array_set};
use sess::ffi::contents::sess_contents_count;
use sess::ffi::error::sess_error_last;
use sess::ffi::session::{sess_session_close, sess_session_create, sess_value_get, sess_value_set};
use sess::ffi::variant::{sess_variant, sess_variant_clear, sess_variant_copy, sess_variant_init};
use sess::variant::vt;

/// A `VT_DATE` variant holding `date`, as C fills one.
fn date(date: f64) -> sess_variant {
    // SAFETY: a variant initialised here; a date owns nothing.
    unsafe {
        let mut v: sess_variant = std::mem::zeroed();
        sess_variant_init(&mut v);
        v.vt = vt::DATE;
        v.v.date = date;
        v
    }
}

/// This thread's last error message.
fn last_message() -> String {
    let mut buf = [0u8; 256];
    let (mut code, mut len) = (0, 0);
    // SAFETY: writable outputs, `buf` of its length.
    unsafe { sess_error_last(&mut code, buf.as_mut_ptr().cast(), buf.len(), &mut len) };
    String::from_utf8_lossy(&buf[..len.min(buf.len() - 1)]).into_owned()
}

/// 100-01-01 and 9999-12-31, the first and last days a DATE holds.
const MIN_DAY: f64 = -657_434.0;
const MAX_DAY: f64 = 2_958_465.0;

const BAD: [f64; 6] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    MIN_DAY - 1.0,
    MAX_DAY + 1.0,
    1e300,
];

#[test]
fn a_date_outside_oles_range_is_refused_and_not_stored() {
    // SAFETY: handles and variants made here and released here.
    unsafe {
        let mut app = null_mut();
        assert_eq!(sess_app_create(std::ptr::null(), &mut app), error::S_OK);
        let mut s = null_mut();
        assert_eq!(sess_session_create(app, &mut s), error::S_OK);
        let mut arr = null_mut();
        assert_eq!(sess_array_create(1, &mut arr), error::S_OK);
        for bad in BAD {
            let v = date(bad);
            assert_eq!(
                sess_value_set(s, c"when".as_ptr(), &v),
                error::E_INVALIDARG,
                "{bad}"
            );
            let msg = last_message();
            assert!(msg.contains("100-01-01 ... 9999-12-31"), "{bad}: {msg}");
            assert_eq!(
                sess_array_set(arr, 0, &v),
                error::E_INVALIDARG,
                "array element {bad}"
            );
            let mut copy = date(0.0);
            assert_eq!(sess_variant_copy(&mut copy, &v), error::E_INVALIDARG);
            assert_eq!(copy.v.date, 0.0, "{bad}: the copy's target is untouched");
        }
        // Nothing was stored: no item, the array's element still empty.
        let mut n = 0;
        assert_eq!(sess_contents_count(s, &mut n), error::S_OK);
        assert_eq!(n, 0);
        let mut out = date(0.0);
        assert_eq!(
            sess_value_get(s, c"when".as_ptr(), &mut out),
            error::S_FALSE
        );
        assert_eq!(out.vt, vt::EMPTY);
        assert_eq!(sess_array_get(arr, 0, &mut out), error::S_OK);
        assert_eq!(out.vt, vt::EMPTY);
        // The range's ends are dates (100-01-01 00:00, 9999-12-31 23:59:59).
        for good in [MIN_DAY, -657_434.5, MAX_DAY + 0.999_99] {
            let v = date(good);
            assert_eq!(sess_value_set(s, c"when".as_ptr(), &v), error::S_OK);
            assert_eq!(sess_value_get(s, c"when".as_ptr(), &mut out), error::S_OK);
            assert_eq!((out.vt, out.v.date), (vt::DATE, good));
        }
        assert_eq!(sess_variant_clear(&mut out), error::S_OK);
        sess_array_destroy(arr);
        assert_eq!(sess_session_close(s), error::S_OK);
        sess_app_release(app);
    }
}
