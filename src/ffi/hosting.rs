//! What web-server modules need beyond the core request calls: filling a
//! `sess_request_info`, and the `Set-Cookie` value before the unit of work
//! ends (a handler that sends its headers, then streams its body).

use std::ffi::c_char;

use super::handle::{sess_request, RequestCall};
use super::versioned;
use super::web::sess_request_info;
use super::{boundary, put, sess_result, write_text};
use crate::error as err;

/// Fills `*info` with the defaults (`SESS_USE_EXCLUSIVE`, no path, no
/// cookie, not HTTPS) and sets `struct_size`; then set `path` and the
/// cookie header.
/// It writes this library's whole struct: C and C++ callers reach
/// `sess_request_info_init_sized` through the header's `sess_request_info_init`
/// macro instead (see "Versioned structs" at the top).
#[no_mangle]
pub unsafe extern "C" fn sess_request_info_init(info: *mut sess_request_info) -> sess_result {
    // SAFETY: NULL or writable per the contract.
    unsafe { versioned::init(info, "info") }
}

/// As `sess_request_info_init`, for the caller's struct of `size` bytes (its
/// `sizeof`): nothing is written past it (see "Versioned structs" at the
/// top).
#[no_mangle]
pub unsafe extern "C" fn sess_request_info_init_sized(
    info: *mut sess_request_info,
    size: usize,
) -> sess_result {
    // SAFETY: NULL or writable for `size` bytes per the contract.
    unsafe { versioned::init_sized(info, size, "info") }
}

/// The `Set-Cookie` header value the response needs now, written to `buf`,
/// for a host that sends its headers before `sess_request_end`: a new (even
/// not yet stored) or regenerated session's cookie, a persistent cookie
/// (`max_age_seconds`) again for a session the request found, or the
/// deleting cookie after Abandon. Nothing to send (no session yet, one the
/// client already has a browser-session cookie for, a cookieless
/// application): `SESS_S_FALSE`, `*out_len` 0 and `buf` (if `buf_len` > 0)
/// empty. Once this succeeds the value counts as sent:
/// `sess_request_end` then reports only a cookie that differs from it
/// (Abandon's deleting cookie, a regenerated ID's cookie). Call it again
/// after anything that may change the cookie if headers are still open.
#[no_mangle]
pub unsafe extern "C" fn sess_request_set_cookie(
    req: *mut sess_request,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request.
        let mut req = unsafe { RequestCall::enter(req) }?;
        let Some(value) = req.set_cookie_now() else {
            if buf.is_null() && buf_len != 0 {
                return Err(super::null("buf"));
            }
            if buf_len > 0 {
                // SAFETY: writable for buf_len > 0 bytes per the contract.
                unsafe { *buf = 0 };
            }
            // SAFETY: NULL or writable.
            unsafe { put(out_len, 0) };
            return Ok(err::S_FALSE);
        };
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(&value, buf, buf_len, out_len) }?;
        req.set_cookie_sent(value);
        Ok(err::S_OK)
    })
}
