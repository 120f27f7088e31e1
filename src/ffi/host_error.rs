//! What a host's callback says about the failure it returns
//! (`sess_error_set`, COM's SetErrorInfo), and the library's side: the
//! calls of host callbacks that take it (`call_host`).

use std::cell::RefCell;
use std::ffi::c_char;

use super::{boundary, sess_result};
use crate::error::{self as err, Error, HResult};

/// The longest message `sess_error_set` keeps, in bytes of UTF-8 (a longer
/// one is cut at a character boundary and ends with "...").
pub const ERROR_MESSAGE_MAX: usize = 1024;

thread_local! {
    /// The failure a host callback running on this thread recorded with
    /// `sess_error_set`: (code, message).
    static HOST_ERROR: RefCell<Option<(HResult, String)>> = const { RefCell::new(None) };
}

/// Replaces the message recorded on this thread, giving the one it held
/// (`None` once the thread's locals are gone).
fn swap_host_error(new: Option<(HResult, String)>) -> Option<(HResult, String)> {
    HOST_ERROR.try_with(|h| h.replace(new)).ok().flatten()
}

/// Records `message` for the failure `code` a host callback is about to
/// return (COM's SetErrorInfo): when the callback then returns `code`, the
/// error the library reports for it (the code, and `sess_error_last`'s
/// detail, to the caller of the call that ran the callback) carries the
/// message: the library's own detail, ": ", then `message`. E.g.
/// "Session_OnStart failed: no account for this user".
///
/// Returns `code`, so a callback can end with
/// `return sess_error_set(SESS_E_FAIL, "why");`.
///
/// For the callbacks whose failure the library reports: `on_start`, a
/// static object's factory, the `sess_store_vtbl` callbacks. Call it on the
/// thread running the callback, last, just before it returns. The message
/// is taken only if that callback then returns this very `code`;
/// otherwise (it succeeds, or fails with another code, or no callback was
/// running) the message is discarded, never reported with a later,
/// unrelated error. A second call replaces the first; a callback the
/// library runs within this one (a static object's factory `on_start`
/// uses) keeps its message to itself. The last error is not changed.
///
/// `message` is copied; invalid UTF-8 in it is replaced (U+FFFD, it is
/// diagnostic text); past `SESS_ERROR_MESSAGE_MAX` bytes it is cut at a
/// character boundary and ends with "...". `message` NULL →
/// `SESS_E_POINTER`; `code` not a failure (>= 0) → `SESS_E_INVALIDARG`;
/// either way nothing is recorded.
#[no_mangle]
pub unsafe extern "C" fn sess_error_set(code: sess_result, message: *const c_char) -> sess_result {
    boundary(|| {
        super::require(message, "message")?;
        if code >= 0 {
            return Err(Error::new(
                err::E_INVALIDARG,
                format!("code {code:#010X} is not a failure: only a failure carries a message"),
            ));
        }
        // SAFETY: non-NULL and NUL-terminated per the contract.
        let text = unsafe { bounded_text(message) };
        swap_host_error(Some((code, text)));
        Ok(code)
    })
}

/// The NUL-terminated text at `p`, read no further than
/// `ERROR_MESSAGE_MAX` bytes and one more (to see whether it goes on):
/// invalid UTF-8 replaced, then a text longer than the limit cut at a
/// character boundary, with "..." (the limit includes it).
///
/// # Safety
/// `p` must point to a NUL-terminated string.
unsafe fn bounded_text(p: *const c_char) -> String {
    let p = p.cast::<u8>();
    let len = (0..=ERROR_MESSAGE_MAX)
        // SAFETY: each byte read comes at or before the NUL.
        .find(|&i| unsafe { p.add(i).read() } == 0)
        .unwrap_or(ERROR_MESSAGE_MAX + 1);
    // SAFETY: the `len` bytes before the NUL (or past the limit) are
    // readable.
    let mut text =
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p, len) }).into_owned();
    if text.len() > ERROR_MESSAGE_MAX {
        let mut cut = ERROR_MESSAGE_MAX - "...".len();
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

/// A host callback's result code, and the message it recorded for exactly
/// that failure with `sess_error_set`.
pub(crate) struct HostResult {
    /// What the callback returned.
    pub rc: sess_result,
    message: Option<String>,
}

impl HostResult {
    /// The failure `rc` (which must be one) with the library's `detail`,
    /// followed by the host's message when it gave one.
    pub(crate) fn error(self, detail: impl Into<String>) -> Error {
        let detail = detail.into();
        Error::new(
            self.rc,
            match self.message {
                Some(m) => format!("{detail}: {m}"),
                None => detail,
            },
        )
    }
}

/// Calls a host callback that returns a result code (on this thread). A
/// message recorded before it (by an enclosing callback, which may still
/// return it) is set aside during the call and put back after it.
pub(crate) fn call_host(call: impl FnOnce() -> sess_result) -> HostResult {
    let outer = swap_host_error(None);
    let rc = call();
    let recorded = swap_host_error(outer);
    HostResult {
        rc,
        message: recorded
            .filter(|&(code, _)| rc < 0 && code == rc)
            .map(|(_, m)| m),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;

    /// What a callback recording `message` for `E_FAIL` and returning it
    /// reports under the detail "x".
    fn reported(message: &[u8]) -> String {
        let message = CString::new(message).unwrap();
        // SAFETY: NUL-terminated.
        let host = call_host(|| unsafe { sess_error_set(err::E_FAIL, message.as_ptr()) });
        assert_eq!(host.rc, err::E_FAIL);
        host.error("x")
            .detail()
            .strip_prefix("x: ")
            .unwrap()
            .to_owned()
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(reported(b"bad \xff byte"), "bad \u{FFFD} byte");
    }

    #[test]
    fn a_long_message_is_cut_at_a_character_boundary() {
        let exact = "a".repeat(ERROR_MESSAGE_MAX);
        assert_eq!(
            reported(exact.as_bytes()),
            exact,
            "the limit itself is kept"
        );
        let long = "a".repeat(ERROR_MESSAGE_MAX + 1);
        let kept = reported(long.as_bytes());
        assert_eq!(kept, format!("{}...", &long[..ERROR_MESSAGE_MAX - 3]));
        // "é" (2 bytes) straddles the cut: it goes whole.
        let straddling = format!("{}é{}", "a".repeat(ERROR_MESSAGE_MAX - 4), "b".repeat(5000));
        let kept = reported(straddling.as_bytes());
        assert_eq!(kept, format!("{}...", "a".repeat(ERROR_MESSAGE_MAX - 4)));
        // Replacement characters (3 bytes for 1) count after replacing.
        let kept = reported(&[0xFF; ERROR_MESSAGE_MAX]);
        assert!(
            kept.len() <= ERROR_MESSAGE_MAX && kept.ends_with("\u{FFFD}..."),
            "{kept}"
        );
    }

    #[test]
    fn bad_arguments_record_nothing() {
        // SAFETY: NULL and literals; the calls refuse or copy them.
        let host = call_host(|| unsafe {
            assert_eq!(
                sess_error_set(err::E_FAIL, std::ptr::null()),
                err::E_POINTER
            );
            assert_eq!(
                sess_error_set(err::S_FALSE, c"m".as_ptr()),
                err::E_INVALIDARG
            );
            assert_eq!(sess_error_set(0x12345, c"m".as_ptr()), err::E_INVALIDARG);
            err::E_FAIL
        });
        assert_eq!(host.error("x").detail(), "x");
    }

    #[test]
    fn recording_leaves_the_last_error_alone() {
        let before = boundary(|| Err(Error::new(err::E_BAD_KEY, "earlier")));
        assert_eq!(before, err::E_BAD_KEY);
        // SAFETY: a literal.
        assert_eq!(
            unsafe { sess_error_set(err::E_FAIL, c"m".as_ptr()) },
            err::E_FAIL
        );
        assert_eq!(
            super::super::last_error(),
            Some((err::E_BAD_KEY, "earlier".to_owned()))
        );
    }
}
