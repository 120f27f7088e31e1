//! The StaticObjects collection: session-scope objects declared on the
//! application, instantiated once per session on first access.

use std::ffi::c_char;

use super::handle::sess_session;
use super::variant::{check_clearable, sess_variant, store};
use super::{boundary, put_required, sess_result, session, text, write_text};
use crate::app::Session;
use crate::error::{self as err, Result};
use crate::variant::Variant;

/// The number of declared static objects, in `*out_count` (Count).
#[no_mangle]
pub unsafe extern "C" fn sess_static_count(
    s: *mut sess_session,
    out_count: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle; out NULL or writable.
        unsafe { put_required(out_count, session(s)?.static_count(), "out_count") }?;
        Ok(err::S_OK)
    })
}

/// The name of static object `index`, written to `buf` (Key).
#[no_mangle]
pub unsafe extern "C" fn sess_static_key_at(
    s: *mut sess_session,
    index: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        let name = s.static_key_at(index)?;
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(name, buf, buf_len, out_len) }
    })
}

/// Static object `index` of `s` (made on first use) into `*out`, which is
/// checked first: a call that fails makes and stores nothing.
fn object_out(s: &mut Session, index: usize, out: *mut sess_variant) -> Result<sess_result> {
    super::require(out, "out")?;
    // SAFETY: out is initialised per the contract.
    unsafe { check_clearable(&*out) }?;
    let obj = s.static_object_at(index)?;
    // SAFETY: out is initialised per the contract.
    unsafe { store(out, Variant::Unknown(obj)) }?;
    Ok(err::S_OK)
}

/// The session's instance of static object `name` (case-insensitive), made
/// on first use: `*out` (initialised; cleared first) receives a
/// `SESS_VT_UNKNOWN` holding a reference the caller owns. An undeclared
/// name gives `SESS_VT_EMPTY` and `SESS_S_FALSE`; a failing factory's code
/// is returned. With a shared store (Redis, LMDB, a host's) each unit of
/// work makes its own instance, read-only ones too; a read-only unit on the
/// in-process store finds the one a writing unit made, or, if none has
/// yet, makes its own, released when it ends.
#[no_mangle]
pub unsafe extern "C" fn sess_static_get(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        match s.static_index(name) {
            Some(i) => object_out(&mut s, i, out),
            None => {
                // SAFETY: NULL or initialised.
                unsafe { store(out, Variant::Empty) }?;
                Ok(err::S_FALSE)
            }
        }
    })
}

/// As `sess_static_get`, by 0-based declaration index.
#[no_mangle]
pub unsafe extern "C" fn sess_static_get_at(
    s: *mut sess_session,
    index: usize,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        object_out(&mut *unsafe { session(s) }?, index, out)
    })
}
