//! Session values read and written without a variant: `sess_value_get_i4(s,
//! "count", &n)` converts the stored value to the asked type,
//! `sess_value_borrow_bstr` lends a stored string's bytes (neither copies
//! the value out, as `sess_value_get` must: its variant is the caller's),
//! and `sess_value_set_i4(s, "count", n)` stores a value given in its C
//! form.

use std::ffi::c_char;

use super::handle::sess_session;
use super::variant::{checked_date, scalar, sess_variant, sess_variant_value};
use super::variant_typed::scalar_as;
use super::{boundary, require, sess_result, session, text, text_or_n};
use crate::error::{self as err, Error, Result};
use crate::variant::{flags, vt, Variant, VARIANT_FALSE, VARIANT_TRUE};

/// Reads the value of `name` in session `s` as type `TARGET` (a type whose
/// values own nothing) into `*out`, through the union field `field` reads:
/// the stored value as it is when it is of that type, else converted as
/// `sess_value_txt` converts (the session's effective LCID,
/// `VARIANT_LOCALBOOL`). A missing key reads as Empty (0) and gives
/// `S_FALSE`.
///
/// # Safety
/// `s` NULL or a live handle; `name` NULL or NUL-terminated; `out` NULL or
/// writable; `field` reads the union field that `TARGET` makes live.
// The type a constant and `field` a type parameter, so that a value of
// the asked type folds to a tag check and a load; a conversion is a call.
#[inline(always)]
unsafe fn get<T, const TARGET: u16>(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut T,
    field: impl Fn(&sess_variant_value) -> T,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        require(out, "out")?;
        let (value, rc) = match s.get(name) {
            Some(v) => (v, err::S_OK),
            None => (&Variant::Empty, err::S_FALSE),
        };
        let c = match scalar(value) {
            Some(c) if c.vt == TARGET => c,
            _ => convert(value, s.effective_lcid(), TARGET)?,
        };
        // SAFETY: non-NULL (checked) and writable per the contract.
        unsafe { out.write(field(&c.v)) };
        Ok(rc)
    })
}

/// [`get`]'s general path: `value` converted to `target` under `lcid`.
#[inline(never)]
fn convert(value: &Variant, lcid: u32, target: u16) -> Result<sess_variant> {
    scalar_as(value, lcid, flags::VARIANT_LOCALBOOL, target)
}

/// Writes the value of `name` (case-insensitive) as an `int16_t` to `*out`,
/// converted as `sess_variant_change_type` does under the session's
/// effective LCID with `SESS_VARIANT_LOCALBOOL` (as `sess_value_txt`):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert. A missing key reads as 0 and gives `SESS_S_FALSE`.
/// `*out` is written only on success. Nothing is copied out: a value of the
/// asked type costs no allocation.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_i2(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut i16,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::I2 }>(s, name, out, |u| u.iVal) }
}

/// Writes the value of `name` (case-insensitive) as an `int32_t` to `*out`,
/// converted as `sess_variant_change_type` does under the session's
/// effective LCID with `SESS_VARIANT_LOCALBOOL` (as `sess_value_txt`):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert. A missing key reads as 0 and gives `SESS_S_FALSE`.
/// `*out` is written only on success. Nothing is copied out: a value of the
/// asked type costs no allocation.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_i4(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut i32,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::I4 }>(s, name, out, |u| u.lVal) }
}

/// Writes the value of `name` (case-insensitive) as an `int64_t` to `*out`,
/// converted as `sess_variant_change_type` does under the session's
/// effective LCID with `SESS_VARIANT_LOCALBOOL` (as `sess_value_txt`):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert. A missing key reads as 0 and gives `SESS_S_FALSE`.
/// `*out` is written only on success. Nothing is copied out: a value of the
/// asked type costs no allocation.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_i8(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut i64,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::I8 }>(s, name, out, |u| u.llVal) }
}

/// Writes the value of `name` (case-insensitive) as a `uint8_t` to `*out`,
/// converted as `sess_variant_change_type` does under the session's
/// effective LCID with `SESS_VARIANT_LOCALBOOL` (as `sess_value_txt`):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert. A missing key reads as 0 and gives `SESS_S_FALSE`.
/// `*out` is written only on success. Nothing is copied out: a value of the
/// asked type costs no allocation.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_ui1(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut u8,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::UI1 }>(s, name, out, |u| u.bVal) }
}

/// Writes the value of `name` (case-insensitive) as a `uint32_t` to `*out`,
/// converted as `sess_variant_change_type` does under the session's
/// effective LCID with `SESS_VARIANT_LOCALBOOL` (as `sess_value_txt`):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert. A missing key reads as 0 and gives `SESS_S_FALSE`.
/// `*out` is written only on success. Nothing is copied out: a value of the
/// asked type costs no allocation.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_ui4(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut u32,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::UI4 }>(s, name, out, |u| u.ulVal) }
}

/// Writes the value of `name` (case-insensitive) as a `uint64_t` to `*out`,
/// converted as `sess_variant_change_type` does under the session's
/// effective LCID with `SESS_VARIANT_LOCALBOOL` (as `sess_value_txt`):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert. A missing key reads as 0 and gives `SESS_S_FALSE`.
/// `*out` is written only on success. Nothing is copied out: a value of the
/// asked type costs no allocation.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_ui8(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut u64,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::UI8 }>(s, name, out, |u| u.ullVal) }
}

/// Writes the value of `name` (case-insensitive) as a `double` to `*out`,
/// converted as `sess_variant_change_type` does under the session's
/// effective LCID with `SESS_VARIANT_LOCALBOOL` (as `sess_value_txt`):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert. A missing key reads as 0 and gives `SESS_S_FALSE`.
/// `*out` is written only on success. Nothing is copied out: a value of the
/// asked type costs no allocation.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_r8(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut f64,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::R8 }>(s, name, out, |u| u.dblVal) }
}

/// Writes the value of `name` (case-insensitive) as a `bool` to `*out`,
/// converted as `sess_variant_change_type` does under the session's
/// effective LCID with `SESS_VARIANT_LOCALBOOL` (as `sess_value_txt`; a
/// number is true unless 0): `SESS_DISP_E_TYPEMISMATCH` if it cannot
/// convert. A missing key reads as false and gives `SESS_S_FALSE`. `*out`
/// is written only on success. Nothing is copied out: a value of the asked
/// type costs no allocation.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_bool(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut bool,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::BOOL }>(s, name, out, |u| u.boolVal != 0) }
}

/// Writes the value of `name` (case-insensitive) as currency (the amount
/// times 10,000) to `*out`, converted as `sess_variant_change_type` does
/// under the session's effective LCID with `SESS_VARIANT_LOCALBOOL` (as
/// `sess_value_txt`): `SESS_DISP_E_OVERFLOW` if it does not fit,
/// `SESS_DISP_E_TYPEMISMATCH` if it cannot convert. A missing key reads as
/// 0 and gives `SESS_S_FALSE`. `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_cy(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut i64,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::CY }>(s, name, out, |u| u.cyVal) }
}

/// Writes the value of `name` (case-insensitive) as a date (days since
/// 1899-12-30) to `*out`, converted as `sess_variant_change_type` does
/// under the session's effective LCID with `SESS_VARIANT_LOCALBOOL` (as
/// `sess_value_txt`; text is parsed as that locale writes dates):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert. A missing key reads as 0 (1899-12-30) and gives
/// `SESS_S_FALSE`. `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get_date(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut f64,
) -> sess_result {
    // SAFETY: per the contract; the field read is the one the type makes live.
    unsafe { get::<_, { vt::DATE }>(s, name, out, |u| u.date) }
}

/// Lends the string stored under `name` (case-insensitive), copying
/// nothing: `*out` points at its UTF-8 bytes, which are **not**
/// NUL-terminated, and `*out_len` receives their count. The bytes are the
/// session's: they stay valid until the next call that changes this
/// session's Contents (any item, by any function) or its ID
/// (`sess_session_regenerate_id`), or ends the session
/// (`sess_session_close`, `sess_session_discard`); copy them to keep them.
/// A missing key lends empty text and gives `SESS_S_FALSE`. A value that is
/// not a `SESS_VT_BSTR` is `SESS_DISP_E_TYPEMISMATCH` (`sess_value_txt`
/// converts any value to text). `*out` and `*out_len` are written only on
/// success; neither may be NULL.
#[no_mangle]
pub unsafe extern "C" fn sess_value_borrow_bstr(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        require(out, "out")?;
        require(out_len, "out_len")?;
        let (text, rc) = match s.get(name) {
            Some(Variant::Bstr(t)) => (&**t, err::S_OK),
            None => ("", err::S_FALSE),
            Some(other) => return Err(not_a_string(name, other)),
        };
        // SAFETY: both non-NULL (checked) and writable per the contract.
        unsafe {
            out.write(text.as_ptr().cast());
            out_len.write(text.len());
        }
        Ok(rc)
    })
}

/// `sess_value_borrow_bstr`'s error for a value of another type.
#[cold]
fn not_a_string(name: &str, value: &Variant) -> Error {
    Error::new(
        err::DISP_E_TYPEMISMATCH,
        format!(
            "the value of \"{name}\" is of type {}, not a string (sess_value_txt converts any value to text)",
            value.vt()
        ),
    )
}

/// Stores the value `make` returns under `name` in session `s`, as
/// `sess_value_set` stores a variant of its type.
///
/// # Safety
/// `s` NULL or a live handle; `name` NULL or NUL-terminated.
#[inline(always)]
unsafe fn set(
    s: *mut sess_session,
    name: *const c_char,
    make: impl FnOnce() -> Result<Variant>,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        s.set(name, make()?)?;
        Ok(err::S_OK)
    })
}

/// Stores `value` under `name` as a `SESS_VT_I2`, as `sess_value_set` stores
/// a variant (its errors; nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_i2(
    s: *mut sess_session,
    name: *const c_char,
    value: i16,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::I2(value))) }
}

/// Stores `value` under `name` as a `SESS_VT_I4`, as `sess_value_set` stores
/// a variant (its errors; nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_i4(
    s: *mut sess_session,
    name: *const c_char,
    value: i32,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::I4(value))) }
}

/// Stores `value` under `name` as a `SESS_VT_I8`, as `sess_value_set` stores
/// a variant (its errors; nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_i8(
    s: *mut sess_session,
    name: *const c_char,
    value: i64,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::I8(value))) }
}

/// Stores `value` under `name` as a `SESS_VT_UI1`, as `sess_value_set` stores
/// a variant (its errors; nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_ui1(
    s: *mut sess_session,
    name: *const c_char,
    value: u8,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::UI1(value))) }
}

/// Stores `value` under `name` as a `SESS_VT_UI4`, as `sess_value_set` stores
/// a variant (its errors; nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_ui4(
    s: *mut sess_session,
    name: *const c_char,
    value: u32,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::UI4(value))) }
}

/// Stores `value` under `name` as a `SESS_VT_UI8`, as `sess_value_set` stores
/// a variant (its errors; nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_ui8(
    s: *mut sess_session,
    name: *const c_char,
    value: u64,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::UI8(value))) }
}

/// Stores `value` under `name` as a `SESS_VT_R8`, as `sess_value_set` stores
/// a variant (its errors; nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_r8(
    s: *mut sess_session,
    name: *const c_char,
    value: f64,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::R8(value))) }
}

/// Stores `value` under `name` as a `SESS_VT_BOOL` (`SESS_VARIANT_TRUE` or
/// `SESS_VARIANT_FALSE`), as `sess_value_set` stores a variant (its errors;
/// nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_bool(
    s: *mut sess_session,
    name: *const c_char,
    value: bool,
) -> sess_result {
    let b = if value { VARIANT_TRUE } else { VARIANT_FALSE };
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::Bool(b))) }
}

/// Stores `value` (the amount times 10,000) under `name` as a `SESS_VT_CY`,
/// as `sess_value_set` stores a variant (its errors; nothing changes on
/// error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_cy(
    s: *mut sess_session,
    name: *const c_char,
    value: i64,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || Ok(Variant::Cy(value))) }
}

/// Stores `value` (days since 1899-12-30) under `name` as a `SESS_VT_DATE`,
/// as `sess_value_set` stores a variant (its errors; nothing changes on
/// error). A date outside 100-01-01 ... 9999-12-31 (or NaN) is
/// `SESS_E_INVALIDARG`.
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_date(
    s: *mut sess_session,
    name: *const c_char,
    value: f64,
) -> sess_result {
    // SAFETY: per the contract.
    unsafe { set(s, name, || checked_date(value)) }
}

/// Stores a `SESS_VT_BSTR` copy of `utf8` under `name`: `len` bytes, or up
/// to the NUL when `len` is `SIZE_MAX` (as `sess_variant_set_bstr`). Invalid
/// UTF-8 is `SESS_E_INVALIDARG`; otherwise as `sess_value_set` stores a
/// variant (its errors; nothing changes on error).
#[no_mangle]
pub unsafe extern "C" fn sess_value_set_bstr(
    s: *mut sess_session,
    name: *const c_char,
    utf8: *const c_char,
    len: usize,
) -> sess_result {
    // SAFETY: per the contract: NUL-terminated, or readable for len bytes.
    unsafe { set(s, name, || Ok(Variant::bstr(text_or_n(utf8, len, "utf8")?))) }
}

#[cfg(test)]
mod tests {
    use std::ptr::{null, null_mut};

    use super::*;
    use crate::ffi::app::{sess_app_create, sess_app_release};
    use crate::ffi::error::sess_error_last;
    use crate::ffi::handle::sess_app;
    use crate::ffi::session::{
        sess_lcid, sess_session_close, sess_session_create, sess_session_id, sess_session_open,
        sess_value_get, sess_value_set, sess_value_txt, OPEN_READONLY,
    };
    use crate::ffi::variant::{sess_variant_clear, sess_variant_init};
    use crate::ffi::variant_typed::sess_variant_set_i4;

    /// A new session of a new application holding "count" (I4 41), "big"
    /// (I4 300), "price" (the text "1,5") and "user".
    unsafe fn session_with_values(user: &std::ffi::CStr) -> (*mut sess_app, *mut sess_session) {
        // SAFETY: every pointer is a live handle or a local made here.
        unsafe {
            let mut app = null_mut();
            assert_eq!(sess_app_create(null(), &mut app), err::S_OK);
            let mut s = null_mut();
            assert_eq!(sess_session_create(app, &mut s), err::S_OK);
            let mut v = std::mem::zeroed();
            sess_variant_init(&mut v);
            for (name, n) in [(c"count", 41), (c"big", 300)] {
                assert_eq!(sess_variant_set_i4(&mut v, n), err::S_OK);
                assert_eq!(sess_value_set(s, name.as_ptr(), &v), err::S_OK);
            }
            sess_variant_clear(&mut v);
            for (name, text) in [(c"price", c"1,5"), (c"user", user)] {
                let set =
                    sess_value_txt(s, name.as_ptr(), text.as_ptr(), null_mut(), 0, null_mut());
                assert_eq!(set, err::S_OK);
            }
            (app, s)
        }
    }

    /// Closes `s` and opens its session again read-only.
    unsafe fn reopen_read_only(app: *mut sess_app, s: *mut sess_session) -> *mut sess_session {
        let mut id = [0u8; 64];
        let mut id_len = 0;
        // SAFETY: live handles; the buffer's true length (the ID is shorter,
        // so it is NUL-terminated).
        unsafe {
            sess_session_id(s, id.as_mut_ptr().cast(), id.len(), &mut id_len);
            assert_eq!(sess_session_close(s), err::S_OK);
            let mut ro = null_mut();
            let hr = sess_session_open(app, id.as_ptr().cast(), OPEN_READONLY, &mut ro);
            assert_eq!(hr, err::S_OK);
            ro
        }
    }

    /// The `len` bytes lent at `p`, as text.
    unsafe fn lent<'a>(p: *const c_char, len: usize) -> &'a str {
        // SAFETY: per the caller, `p` is readable for `len` bytes.
        std::str::from_utf8(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }).unwrap()
    }

    /// This thread's last error detail.
    fn last_error() -> String {
        let mut buf = [0u8; 256];
        let (mut code, mut len) = (0, 0);
        // SAFETY: writable locals; the buffer's true length.
        unsafe { sess_error_last(&mut code, buf.as_mut_ptr().cast(), buf.len(), &mut len) };
        String::from_utf8_lossy(&buf[..len.min(buf.len() - 1)]).into_owned()
    }

    #[test]
    fn typed_reads_take_stored_values_and_convert_under_the_session_lcid() {
        // SAFETY: live handles and writable locals throughout.
        unsafe {
            let (app, s) = session_with_values(c"u");
            let (mut i4, mut u1, mut r8, mut b) = (0i32, 7u8, 0f64, false);
            assert_eq!(sess_value_get_i4(s, c"COUNT".as_ptr(), &mut i4), err::S_OK);
            assert_eq!(i4, 41);
            assert_eq!(sess_value_get_r8(s, c"count".as_ptr(), &mut r8), err::S_OK);
            assert_eq!(r8, 41.0);
            assert_eq!(sess_value_get_bool(s, c"count".as_ptr(), &mut b), err::S_OK);
            assert!(b);
            // Too large for the type: an error, and `out` untouched.
            let hr = sess_value_get_ui1(s, c"big".as_ptr(), &mut u1);
            assert_eq!((hr, u1), (err::DISP_E_OVERFLOW, 7));
            // Text is read as the session's locale writes numbers.
            assert_eq!(sess_value_get_r8(s, c"price".as_ptr(), &mut r8), err::S_OK);
            assert_eq!(r8, 15.0, "en-US: the comma separates thousands");
            assert_eq!(sess_lcid(s, &0x0407, null_mut()), err::S_OK);
            assert_eq!(sess_value_get_r8(s, c"price".as_ptr(), &mut r8), err::S_OK);
            assert_eq!(r8, 1.5, "de-DE: the comma is the decimal point");
            // Text that is no number; a missing key reads as 0.
            i4 = 9;
            let hr = sess_value_get_i4(s, c"user".as_ptr(), &mut i4);
            assert_eq!((hr, i4), (err::DISP_E_TYPEMISMATCH, 9));
            assert_eq!(
                sess_value_get_i4(s, c"nothing".as_ptr(), &mut i4),
                err::S_FALSE
            );
            assert_eq!(i4, 0);
            // NULLs.
            let hr = sess_value_get_i4(s, c"count".as_ptr(), null_mut());
            assert_eq!(hr, err::E_POINTER);
            i4 = 9;
            let hr = sess_value_get_i4(s, null(), &mut i4);
            assert_eq!((hr, i4), (err::E_POINTER, 9));
            let hr = sess_value_get_i4(null_mut(), c"count".as_ptr(), &mut i4);
            assert_eq!((hr, i4), (err::E_POINTER, 9));
            assert_eq!(sess_session_close(s), err::S_OK);
            sess_app_release(app);
        }
    }

    #[test]
    fn borrowed_strings_are_the_stored_bytes() {
        // SAFETY: live handles and writable locals throughout; each lent
        // text is read before the session's Contents change.
        unsafe {
            let (app, s) = session_with_values(c"Grüße, user@example.com");
            let (mut p, mut len) = (null(), 0usize);
            assert_eq!(
                sess_value_borrow_bstr(s, c"USER".as_ptr(), &mut p, &mut len),
                err::S_OK
            );
            assert_eq!(lent(p, len), "Grüße, user@example.com");
            // Lent, not copied: the same bytes each time.
            let (mut again, mut len2) = (null(), 0usize);
            sess_value_borrow_bstr(s, c"user".as_ptr(), &mut again, &mut len2);
            assert_eq!((again, len2), (p, len));
            // Another type: an error naming the way to text, outputs untouched.
            let hr = sess_value_borrow_bstr(s, c"count".as_ptr(), &mut p, &mut len);
            assert_eq!((hr, p, len), (err::DISP_E_TYPEMISMATCH, again, len2));
            assert!(last_error().contains("sess_value_txt"), "{}", last_error());
            // A missing key lends empty text.
            assert_eq!(
                sess_value_borrow_bstr(s, c"nothing".as_ptr(), &mut p, &mut len),
                err::S_FALSE
            );
            assert_eq!(lent(p, len), "");
            let hr = sess_value_borrow_bstr(s, c"user".as_ptr(), &mut p, null_mut());
            assert_eq!(hr, err::E_POINTER);
            let hr = sess_value_borrow_bstr(s, c"user".as_ptr(), null_mut(), &mut len);
            assert_eq!(hr, err::E_POINTER);

            // A read-only unit of work lends the stored session's text too.
            let ro = reopen_read_only(app, s);
            assert_eq!(
                sess_value_borrow_bstr(ro, c"price".as_ptr(), &mut p, &mut len),
                err::S_OK
            );
            assert_eq!(lent(p, len), "1,5");
            assert_eq!(sess_session_close(ro), err::S_OK);
            sess_app_release(app);
        }
    }

    #[test]
    fn typed_writes_store_the_variant_of_their_type() {
        // SAFETY: live handles and writable locals throughout.
        unsafe {
            let (app, s) = session_with_values(c"u");
            let mut v = std::mem::zeroed();
            sess_variant_init(&mut v);
            let stored = |name: &std::ffi::CStr, v: &mut sess_variant| {
                assert_eq!(sess_value_get(s, name.as_ptr(), v), err::S_OK);
                v.vt
            };
            assert_eq!(sess_value_set_i2(s, c"a".as_ptr(), -2), err::S_OK);
            assert_eq!((stored(c"a", &mut v), v.v.iVal), (vt::I2, -2));
            assert_eq!(sess_value_set_i4(s, c"count".as_ptr(), 42), err::S_OK);
            assert_eq!((stored(c"COUNT", &mut v), v.v.lVal), (vt::I4, 42));
            assert_eq!(sess_value_set_i8(s, c"a".as_ptr(), i64::MIN), err::S_OK);
            assert_eq!((stored(c"a", &mut v), v.v.llVal), (vt::I8, i64::MIN));
            assert_eq!(sess_value_set_ui1(s, c"a".as_ptr(), 255), err::S_OK);
            assert_eq!((stored(c"a", &mut v), v.v.bVal), (vt::UI1, 255));
            assert_eq!(sess_value_set_ui4(s, c"a".as_ptr(), u32::MAX), err::S_OK);
            assert_eq!((stored(c"a", &mut v), v.v.ulVal), (vt::UI4, u32::MAX));
            assert_eq!(sess_value_set_ui8(s, c"a".as_ptr(), u64::MAX), err::S_OK);
            assert_eq!((stored(c"a", &mut v), v.v.ullVal), (vt::UI8, u64::MAX));
            assert_eq!(sess_value_set_r8(s, c"a".as_ptr(), 2.5), err::S_OK);
            assert_eq!((stored(c"a", &mut v), v.v.dblVal), (vt::R8, 2.5));
            assert_eq!(sess_value_set_bool(s, c"a".as_ptr(), true), err::S_OK);
            assert_eq!(
                (stored(c"a", &mut v), v.v.boolVal),
                (vt::BOOL, VARIANT_TRUE)
            );
            assert_eq!(sess_value_set_cy(s, c"a".as_ptr(), 125_000), err::S_OK);
            assert_eq!((stored(c"a", &mut v), v.v.cyVal), (vt::CY, 125_000));
            assert_eq!(sess_value_set_date(s, c"a".as_ptr(), 45_292.5), err::S_OK);
            assert_eq!((stored(c"a", &mut v), v.v.date), (vt::DATE, 45_292.5));
            // Refused: nothing changes.
            let hr = sess_value_set_date(s, c"a".as_ptr(), f64::NAN);
            assert_eq!(hr, err::E_INVALIDARG);
            assert_eq!((stored(c"a", &mut v), v.v.date), (vt::DATE, 45_292.5));
            let hr = sess_value_set_bstr(s, c"a".as_ptr(), c"\xff".as_ptr(), usize::MAX);
            assert_eq!(hr, err::E_INVALIDARG);
            let hr = sess_value_set_bstr(s, c"a".as_ptr(), null(), 1);
            assert_eq!(hr, err::E_POINTER);
            assert_eq!(stored(c"a", &mut v), vt::DATE);
            assert_eq!(sess_value_set_i4(s, null(), 1), err::E_POINTER);
            assert_eq!(
                sess_value_set_i4(null_mut(), c"a".as_ptr(), 1),
                err::E_POINTER
            );
            // Text: `len` bytes, or up to the NUL.
            let (mut p, mut len) = (null(), 0usize);
            let hr = sess_value_set_bstr(s, c"user".as_ptr(), c"abcdef".as_ptr(), 3);
            assert_eq!(hr, err::S_OK);
            sess_value_borrow_bstr(s, c"user".as_ptr(), &mut p, &mut len);
            assert_eq!(lent(p, len), "abc");
            let hr = sess_value_set_bstr(s, c"user".as_ptr(), c"Grüße".as_ptr(), usize::MAX);
            assert_eq!(hr, err::S_OK);
            sess_value_borrow_bstr(s, c"user".as_ptr(), &mut p, &mut len);
            assert_eq!(lent(p, len), "Grüße");
            sess_variant_clear(&mut v);

            // A read-only unit of work refuses writes.
            let ro = reopen_read_only(app, s);
            assert_eq!(sess_value_set_i4(ro, c"count".as_ptr(), 1), err::E_READONLY);
            let mut n = 0;
            assert_eq!(sess_value_get_i4(ro, c"count".as_ptr(), &mut n), err::S_OK);
            assert_eq!(n, 42);
            assert_eq!(sess_session_close(ro), err::S_OK);
            sess_app_release(app);
        }
    }
}
