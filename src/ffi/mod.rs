//! The C surface (`include/sess.h`): thin `extern "C"` wrappers that check
//! every pointer and string, convert, call the Rust API inside one panic
//! boundary, and turn errors into result codes plus a thread-local detail.
//!
//! Nothing outside this module knows C.
//!
//! Every export runs inside the panic boundary (`boundary`); a few small
//! ones (the variant setters, `sess_variant_clear`, the typed getters)
//! first try, inside it, a fast path for their common case: a plain store
//! of a scalar.
//!
//! # Safety
//! Every export is `unsafe extern "C"` with one safety contract, stated once
//! in the header's preamble and on each function: pointers are NULL or valid
//! for what the documentation says, handles come from this library and are
//! not used after release, and a session handle is used by one thread at a
//! time. Hence no per-function `# Safety` sections.
#![allow(clippy::missing_safety_doc)]

pub mod app;
pub mod array;
pub mod codepage;
pub mod collate;
pub mod com;
pub mod constants;
pub mod contents;
pub mod error;
pub mod handle;
pub mod host_error;
pub mod hosting;
pub mod lmdb;
pub mod redis;
mod releasable;
pub mod session;
pub mod session_state;
pub mod statics;
pub mod stats;
pub mod store;
pub mod value_typed;
pub mod variant;
pub mod variant_typed;
mod versioned;
pub mod web;

pub use versioned::CBool;

use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{self as err, Error, HResult, Result};

/// An HRESULT: `>= 0` success (`SESS_S_OK`, `SESS_S_FALSE`), `< 0` failure.
#[allow(non_camel_case_types)]
pub type sess_result = i32;

thread_local! {
    /// The last failure on this thread: (code, detail).
    static LAST_ERROR: RefCell<Option<(HResult, String)>> = const { RefCell::new(None) };
}

fn record(code: HResult, detail: &str) {
    set_last_error(Some((code, detail.to_owned())));
}

/// This thread's last failure; `None` also once the thread's locals are
/// gone (a host's thread-exit cleanup may still call the library).
fn last_error() -> Option<(HResult, String)> {
    LAST_ERROR.try_with(|l| l.borrow().clone()).ok().flatten()
}

/// Replaces this thread's last failure; a no-op once the thread's locals
/// are gone (panicking there would abort the process, outside any
/// boundary).
fn set_last_error(last: Option<(HResult, String)>) {
    let _ = LAST_ERROR.try_with(|l| *l.borrow_mut() = last);
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error (caught panic): {what}")
}

/// Runs one export's body inside the panic boundary: errors become their code
/// (and this thread's last-error detail), a panic becomes `E_UNEXPECTED`.
// Inlined into each export, so that the body reads the export's arguments
// where they are, and the success path is the body and a return.
#[inline(always)]
pub(crate) fn boundary(body: impl FnOnce() -> Result<HResult>) -> HResult {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => failed(e),
        Err(p) => caught(p),
    }
}

/// A failure's code, recorded with its detail as this thread's last error.
/// Out of line, so that each export's success path stays short.
#[cold]
#[inline(never)]
fn failed(e: Error) -> HResult {
    record(e.code(), e.detail());
    e.code()
}

/// `E_UNEXPECTED` for a caught panic, recorded with the panic's text.
#[cold]
#[inline(never)]
fn caught(p: Box<dyn std::any::Any + Send>) -> HResult {
    record(err::E_UNEXPECTED, &panic_text(&*p));
    err::E_UNEXPECTED
}

/// The boundary for functions returning nothing: errors are swallowed (and
/// recorded), as `void` exports cannot report them.
pub(crate) fn boundary_void(body: impl FnOnce() -> Result<()>) {
    boundary(|| body().map(|()| err::S_OK));
}

/// `E_POINTER` naming the NULL argument.
#[cold]
pub(crate) fn null(what: &str) -> Error {
    Error::new(err::E_POINTER, format!("{what} is NULL"))
}

/// `E_POINTER` if a required pointer is NULL (checked before any work, so a
/// refused call changes nothing).
pub(crate) fn require<T>(p: *const T, what: &str) -> Result<()> {
    if p.is_null() {
        return Err(null(what));
    }
    Ok(())
}

/// A shared reference from a pointer that must not be NULL.
///
/// # Safety
/// `p`, if non-NULL, must be valid for reads for the returned lifetime.
pub(crate) unsafe fn deref<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: forwarded to the caller.
    unsafe { p.as_ref() }.ok_or_else(|| null(what))
}

/// A mutable reference from a pointer that must not be NULL.
///
/// # Safety
/// `p`, if non-NULL, must be valid and unaliased for the returned lifetime.
pub(crate) unsafe fn deref_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: forwarded to the caller.
    unsafe { p.as_mut() }.ok_or_else(|| null(what))
}

/// A session handle argument (owned or lent), held for the call (see
/// [`handle::Call`]: a call back in meanwhile is `E_WRONG_STATE`).
///
/// # Safety
/// `s` must be NULL or a live session handle used by this thread only.
pub(crate) unsafe fn session<'a>(s: *mut handle::sess_session) -> Result<handle::InSession<'a>> {
    // SAFETY: forwarded to the caller.
    unsafe { handle::Call::enter(s) }?.session()
}

/// A NUL-terminated UTF-8 argument: NULL → `E_POINTER`, invalid UTF-8 →
/// `E_INVALIDARG`.
///
/// # Safety
/// `p`, if non-NULL, must point to a NUL-terminated string.
// Inlined: every name and ID goes through it, and its ASCII case is a
// `strlen` and a few loads (the general UTF-8 check is a call).
#[inline(always)]
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    if crate::ascii::is_ascii(bytes) {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    utf8(bytes, what)
}

/// An optional NUL-terminated UTF-8 argument: NULL is `None`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded to the caller.
    unsafe { text(p, what) }.map(Some)
}

/// A `(pointer, length)` UTF-8 argument, not NUL-terminated: NULL only with
/// length 0 (the empty string).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text_n<'a>(p: *const c_char, len: usize, what: &str) -> Result<&'a str> {
    // SAFETY: forwarded to the caller.
    utf8(unsafe { bytes(p, len, what) }?, what)
}

/// A UTF-8 argument given as `len` bytes, or NUL-terminated when `len` is
/// `SIZE_MAX` (the convention of `sess_variant_set_bstr`).
///
/// # Safety
/// As [`text`] when `len` is `usize::MAX`, else as [`text_n`].
pub(crate) unsafe fn text_or_n<'a>(p: *const c_char, len: usize, what: &str) -> Result<&'a str> {
    if len == usize::MAX {
        // SAFETY: forwarded to the caller.
        unsafe { text(p, what) }
    } else {
        // SAFETY: forwarded to the caller.
        unsafe { text_n(p, len, what) }
    }
}

/// Checks `bytes` are UTF-8 (`E_INVALIDARG` otherwise).
#[inline(never)]
pub(crate) fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes)
        .map_err(|e| Error::new(err::E_INVALIDARG, format!("{what} is not valid UTF-8: {e}")))
}

/// Writes `s` NUL-terminated to `buf`. Too small (or NULL with length 0) →
/// `E_INSUFFICIENT_BUFFER` with `*out_len` set to the length needed.
/// `out_len` may be NULL; on success it receives the length (without NUL).
///
/// # Safety
/// `buf` must be writable for `buf_len` bytes; `out_len` NULL or writable.
pub(crate) unsafe fn write_text(
    s: &str,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> Result<HResult> {
    // SAFETY: forwarded to the caller.
    unsafe { write_bytes(s.as_bytes(), buf, buf_len, out_len) }
}

/// As [`write_text`], for bytes (a NUL still follows them, not counted).
///
/// # Safety
/// As [`write_text`].
pub(crate) unsafe fn write_bytes(
    bytes: &[u8],
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> Result<HResult> {
    // SAFETY: forwarded to the caller.
    unsafe { check_room(bytes.len(), buf, buf_len, out_len) }?;
    // SAFETY: buf is writable for buf_len > bytes.len() bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
        *buf.add(bytes.len()) = 0;
    }
    Ok(err::S_OK)
}

/// Checks that `buf` can take `len` bytes and a NUL, as [`write_bytes`]
/// needs; sets `*out_len` (may be NULL) to `len` either way. A call that
/// must fail on a short buffer before it changes anything checks first.
///
/// # Safety
/// `out_len` NULL or writable.
pub(crate) unsafe fn check_room(
    len: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> Result<()> {
    if buf.is_null() && buf_len != 0 {
        return Err(null("buf"));
    }
    // SAFETY: NULL or writable per the caller.
    unsafe { put(out_len, len) };
    if buf_len <= len {
        return Err(Error::new(
            err::E_INSUFFICIENT_BUFFER,
            format!("the result needs {len} bytes plus a NUL; the buffer has {buf_len}"),
        ));
    }
    Ok(())
}

/// A `(pointer, length)` byte argument; NULL is allowed only with length 0.
///
/// # Safety
/// `p`, if non-NULL, must be readable for `len` bytes.
pub(crate) unsafe fn bytes<'a>(p: *const c_char, len: usize, what: &str) -> Result<&'a [u8]> {
    if p.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(null(what)) };
    }
    if len > isize::MAX as usize {
        // No object is this large: a garbage length, refused before
        // forming a slice (which it would make undefined behaviour).
        return Err(Error::new(
            err::E_INVALIDARG,
            format!("{what}: length {len} is larger than any object"),
        ));
    }
    // SAFETY: readable for len bytes per the caller.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// An optional `(pointer, length)` byte argument: NULL with length 0 is
/// `None`; NULL with a length is `E_POINTER`.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn optional_bytes<'a>(
    p: *const c_char,
    len: usize,
    what: &str,
) -> Result<Option<&'a [u8]>> {
    if p.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded to the caller.
    unsafe { bytes(p, len, what) }.map(Some)
}

/// Writes `value` to an optional out-pointer.
///
/// # Safety
/// `out` must be NULL or writable.
pub(crate) unsafe fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per the caller.
        unsafe { out.write(value) };
    }
}

/// Writes `value` to a required out-pointer (`E_POINTER` if NULL).
///
/// # Safety
/// `out` must be NULL or writable.
pub(crate) unsafe fn put_required<T>(out: *mut T, value: T, what: &str) -> Result<()> {
    if out.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL and writable per the caller.
    unsafe { out.write(value) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> Option<(HResult, String)> {
        last_error()
    }

    #[test]
    fn a_panic_becomes_e_unexpected_with_a_detail() {
        let rc = boundary(|| panic!("boom"));
        assert_eq!(rc, err::E_UNEXPECTED);
        let (code, detail) = last().unwrap();
        assert_eq!(code, err::E_UNEXPECTED);
        assert!(detail.contains("boom"), "{detail}");
    }

    #[test]
    fn errors_are_recorded_and_successes_pass_through() {
        assert_eq!(boundary(|| Ok(err::S_FALSE)), err::S_FALSE);
        let rc = boundary(|| Err(Error::new(err::E_BAD_KEY, "key too long")));
        assert_eq!(rc, err::E_BAD_KEY);
        assert_eq!(last(), Some((err::E_BAD_KEY, "key too long".into())));
    }

    #[test]
    fn a_length_larger_than_any_object_is_refused_unread() {
        let one = b"x";
        // SAFETY: refused before the pointer is read past its one byte.
        let e = unsafe { bytes(one.as_ptr().cast(), usize::MAX - 1, "data") }.unwrap_err();
        assert_eq!(e.code(), err::E_INVALIDARG);
        // SAFETY: as above.
        let ok = unsafe { bytes(one.as_ptr().cast(), isize::MAX as usize + 1, "data") };
        assert!(ok.is_err());
    }

    #[test]
    fn text_arguments_are_checked() {
        // SAFETY: the pointers are NULL or NUL-terminated literals.
        unsafe {
            assert_eq!(
                text(std::ptr::null(), "name").unwrap_err().code(),
                err::E_POINTER
            );
            assert_eq!(
                text(c"\xff\xfe".as_ptr(), "name").unwrap_err().code(),
                err::E_INVALIDARG
            );
            assert_eq!(text(c"Straße".as_ptr(), "name").unwrap(), "Straße");
            assert_eq!(
                text(c"0123456789abcdef\xc3".as_ptr(), "name")
                    .unwrap_err()
                    .code(),
                err::E_INVALIDARG
            );
            assert_eq!(text(c"".as_ptr(), "name").unwrap(), "");
        }
    }

    #[test]
    fn write_text_reports_the_needed_length() {
        let mut buf = [0 as c_char; 4];
        let mut need = 0usize;
        // SAFETY: buf is writable for its length; need is writable.
        unsafe {
            let e = write_text("hello", buf.as_mut_ptr(), buf.len(), &mut need).unwrap_err();
            assert_eq!((e.code(), need), (err::E_INSUFFICIENT_BUFFER, 5));
            let e = write_text("hello", std::ptr::null_mut(), 0, &mut need).unwrap_err();
            assert_eq!(e.code(), err::E_INSUFFICIENT_BUFFER);
            assert_eq!(
                write_text("abc", buf.as_mut_ptr(), buf.len(), &mut need),
                Ok(err::S_OK)
            );
            assert_eq!(CStr::from_ptr(buf.as_ptr()).to_str().unwrap(), "abc");
        }
    }
}
