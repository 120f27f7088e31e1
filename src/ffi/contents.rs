//! The Contents collection by index: count, key, item, set, remove,
//! enumerate and copy. Indexes are 0-based; a bad one is
//! `SESS_DISP_E_BADINDEX`.

use std::ffi::c_char;

use super::handle::sess_session;
use super::variant::{read_arg, sess_variant, store, store_copy};
use super::{boundary, put_required, sess_result, session, text, write_text};
use crate::error as err;
use crate::variant::{SafeArray, Variant};

/// The number of Contents items, in `*out_count` (Count).
#[no_mangle]
pub unsafe extern "C" fn sess_contents_count(
    s: *mut sess_session,
    out_count: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle; out NULL or writable.
        unsafe { put_required(out_count, session(s)?.count(), "out_count") }?;
        Ok(err::S_OK)
    })
}

/// The key (original spelling) of item `index`, written to `buf` (Key).
#[no_mangle]
pub unsafe extern "C" fn sess_contents_key_at(
    s: *mut sess_session,
    index: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let (key, _) = unsafe { session(s) }?.item_at(index)?;
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(key, buf, buf_len, out_len) }
    })
}

/// Copies the value of item `index` into `*out` (initialised; cleared
/// first; Item(index)). The caller owns the copy.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_get_at(
    s: *mut sess_session,
    index: usize,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        super::require(out, "out")?;
        let value = s.item_at(index)?.1;
        // SAFETY: out is initialised per the contract.
        unsafe { store_copy(out, value) }?;
        Ok(err::S_OK)
    })
}

/// Replaces the value of item `index` with a deep copy of `*value`.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_set_at(
    s: *mut sess_session,
    index: usize,
    value: *const sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        // SAFETY: NULL or initialised.
        let value = unsafe { read_arg(value, "value") }?;
        s.set_at(index, value)?;
        Ok(err::S_OK)
    })
}

/// Removes `name` (case-insensitive); later items move down one index.
/// `SESS_S_FALSE` if there was no such item (Remove). The removed value
/// (an object's reference, too) is released when the unit of work ends: it
/// is kept until then so a failed request can put it back.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_remove(
    s: *mut sess_session,
    name: *const c_char,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        Ok(if s.remove(name)? {
            err::S_OK
        } else {
            err::S_FALSE
        })
    })
}

/// Removes item `index`; later items move down one index (RemoveAt).
#[no_mangle]
pub unsafe extern "C" fn sess_contents_remove_at(
    s: *mut sess_session,
    index: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        unsafe { session(s) }?.remove_at(index)?;
        Ok(err::S_OK)
    })
}

/// Removes every item (RemoveAll / Clear); the session itself stays.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_remove_all(s: *mut sess_session) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        unsafe { session(s) }?.remove_all()?;
        Ok(err::S_OK)
    })
}

/// Enumerates the keys: `*out` (initialised; cleared first) receives a
/// `SESS_VT_ARRAY | SESS_VT_VARIANT` of `SESS_VT_BSTR` keys in order, as
/// `For Each key In Session.Contents` sees them. The caller owns it.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_keys(
    s: *mut sess_session,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        let keys: Vec<Variant> = s.contents().iter().map(|(k, _)| Variant::bstr(k)).collect();
        // SAFETY: NULL or initialised.
        unsafe { store(out, Variant::Array(Box::new(SafeArray::from(keys)))) }?;
        Ok(err::S_OK)
    })
}

/// Copies the values (CopyTo): `*out` (initialised; cleared first) receives
/// a `SESS_VT_ARRAY | SESS_VT_VARIANT` of deep copies in order. The caller
/// owns it.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_copy(
    s: *mut sess_session,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        let values: Vec<Variant> = s.contents().iter().map(|(_, v)| v.clone()).collect();
        // SAFETY: NULL or initialised.
        unsafe { store(out, Variant::Array(Box::new(SafeArray::from(values)))) }?;
        Ok(err::S_OK)
    })
}
