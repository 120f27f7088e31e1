//! Text in a session's code page: `Session.CodePage` decides the character
//! set a page is sent in (seed 004: 932 Japanese, 950 Chinese, 1252
//! Western); these convert between it and the library's UTF-8.

use std::ffi::c_char;

use super::{boundary, bytes, sess_result, utf8, write_bytes, write_text};
use crate::error::{self as err, Error};
use crate::locale::encoding::{self, Unmappable};

/// `sess_codepage_encode` flag: write `?` for characters the code page
/// cannot hold, instead of an HTML numeric character reference (`&#N;`).
pub const ENCODE_QUESTION_MARK: u32 = 1;

/// Encodes `len` bytes of UTF-8 `text` into code page `codepage`, written
/// to `buf` (followed by a NUL that `*out_len` does not count; UTF-16 output
/// contains NULs of its own). Characters the code page cannot hold become
/// `&#N;` (as ASP writes HTML), or `?` with `SESS_ENCODE_QUESTION_MARK`.
/// Bad code page: `SESS_E_INVALID_CODEPAGE`; invalid UTF-8:
/// `SESS_E_INVALIDARG`.
#[no_mangle]
pub unsafe extern "C" fn sess_codepage_encode(
    codepage: u32,
    text: *const c_char,
    len: usize,
    flags: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        if flags & !ENCODE_QUESTION_MARK != 0 {
            return Err(Error::new(
                err::E_INVALIDARG,
                format!("unknown flags {flags:#x}"),
            ));
        }
        // SAFETY: readable for len bytes per the contract.
        let text = utf8(unsafe { bytes(text, len, "text") }?, "text")?;
        let mode = if flags & ENCODE_QUESTION_MARK != 0 {
            Unmappable::QuestionMark
        } else {
            Unmappable::HtmlReference
        };
        let encoded = encoding::encode(codepage, text, mode)?;
        // SAFETY: the caller's buffer contract.
        unsafe { write_bytes(&encoded, buf, buf_len, out_len) }
    })
}

/// Decodes `len` bytes in code page `codepage` (e.g. a form post) to UTF-8,
/// NUL-terminated, in `buf`; malformed sequences become U+FFFD.
#[no_mangle]
pub unsafe extern "C" fn sess_codepage_decode(
    codepage: u32,
    data: *const c_char,
    len: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: readable for len bytes per the contract.
        let data = unsafe { bytes(data, len, "data") }?;
        let text = encoding::decode(codepage, data)?;
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(&text, buf, buf_len, out_len) }
    })
}

/// The `charset` name for a `Content-Type` header in code page `codepage`
/// (e.g. `Shift_JIS` for 932, `Big5` for 950, `gb2312` for 936,
/// `ks_c_5601-1987` for 949, `UTF-8` for 65001: the names IIS sends).
#[no_mangle]
pub unsafe extern "C" fn sess_codepage_charset(
    codepage: u32,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        let name = encoding::charset(codepage)?;
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(name, buf, buf_len, out_len) }
    })
}
