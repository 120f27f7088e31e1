//! Error text: a message for any code, and this thread's last failure.

use std::ffi::c_char;

use super::{boundary, last_error, put, sess_result, set_last_error, write_text};
use crate::error::{self as err, Error};

/// Writes the message for `code` (any code, known or not) to `buf`.
///
/// `buf`/`buf_len`/`out_len` as everywhere: too small →
/// `SESS_E_INSUFFICIENT_BUFFER` with `*out_len` the length needed (without
/// the NUL). The caller owns `buf`. Does not change the last error.
#[no_mangle]
pub unsafe extern "C" fn sess_error_message(
    code: sess_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    quiet(|| {
        let text = format!("{} ({:#010X})", err::message(code), code as u32);
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(&text, buf, buf_len, out_len) }
    })
}

/// The last failure on this thread: its code in `*out_code` (may be NULL) and
/// its detail text in `buf` (`buf` NULL with `buf_len` 0 asks for the code
/// and `*out_len` only). Returns `SESS_S_FALSE` (and code 0, empty text) if
/// nothing has failed on this thread yet. Does not change the last error.
#[no_mangle]
pub unsafe extern "C" fn sess_error_last(
    out_code: *mut sess_result,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    quiet(|| {
        let last = last_error();
        let (code, detail, rc) = match last {
            Some((c, d)) => (c, d, err::S_OK),
            None => (0, String::new(), err::S_FALSE),
        };
        if buf.is_null() && buf_len == 0 {
            // SAFETY: NULL or writable per the contract.
            unsafe { put(out_len, detail.len()) };
        } else {
            // SAFETY: the caller's buffer contract.
            unsafe { write_text(&detail, buf, buf_len, out_len) }?;
        }
        // SAFETY: NULL or writable per the contract.
        unsafe { put(out_code, code) };
        Ok(rc)
    })
}

/// The boundary without recording: reading errors must not replace them.
fn quiet(body: impl FnOnce() -> Result<sess_result, Error>) -> sess_result {
    let saved = last_error();
    let rc = boundary(body);
    set_last_error(saved);
    rc
}
