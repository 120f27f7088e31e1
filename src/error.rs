//! Result codes (HRESULTs) and the library's error type.
//!
//! Every failure in the library is an [`Error`]: a COM-style code plus a
//! human-readable detail. The C surface returns the code and keeps the detail
//! as the thread's last error.

use std::fmt;

/// An HRESULT: `>= 0` success, `< 0` failure.
pub type HResult = i32;

/// Builds an `i32` HRESULT from its usual unsigned hexadecimal spelling.
const fn hr(code: u32) -> HResult {
    code as i32
}

/// Success.
pub const S_OK: HResult = 0;
/// Success, with a "false"/"nothing there" meaning (e.g. a missing key).
pub const S_FALSE: HResult = 1;
/// Not implemented.
pub const E_NOTIMPL: HResult = hr(0x8000_4001);
/// A required pointer was NULL.
pub const E_POINTER: HResult = hr(0x8000_4003);
/// Unspecified failure.
pub const E_FAIL: HResult = hr(0x8000_4005);
/// Catastrophic failure; also a panic caught at the C boundary.
pub const E_UNEXPECTED: HResult = hr(0x8000_FFFF);
/// Out of memory.
pub const E_OUTOFMEMORY: HResult = hr(0x8007_000E);
/// An argument was invalid (including invalid UTF-8).
pub const E_INVALIDARG: HResult = hr(0x8007_0057);
/// The caller's buffer is too small.
pub const E_INSUFFICIENT_BUFFER: HResult = hr(0x8007_007A);
/// No interface (IUnknown::QueryInterface).
pub const E_NOINTERFACE: HResult = hr(0x8000_4002);
/// A value cannot be converted to the requested type.
pub const DISP_E_TYPEMISMATCH: HResult = hr(0x8002_0005);
/// An unknown or unsupported variant type tag.
pub const DISP_E_BADVARTYPE: HResult = hr(0x8002_0008);
/// A conversion overflowed the target type.
pub const DISP_E_OVERFLOW: HResult = hr(0x8002_000A);
/// An index is out of range.
pub const DISP_E_BADINDEX: HResult = hr(0x8002_000B);

/// The session ID is not (or no longer) known to the store.
pub const E_SESSION_NOT_FOUND: HResult = hr(0x8004_0201);
/// Waiting for a session's lock took longer than the application allows.
pub const E_LOCK_TIMEOUT: HResult = hr(0x8004_0202);
/// The session was opened read-only; it cannot be changed.
pub const E_READONLY: HResult = hr(0x8004_0203);
/// The application holds its maximum number of sessions.
pub const E_TOO_MANY_SESSIONS: HResult = hr(0x8004_0204);
/// The session holds its maximum number of Contents items.
pub const E_TOO_MANY_ITEMS: HResult = hr(0x8004_0205);
/// A value is larger than the application's per-value byte limit.
pub const E_VALUE_TOO_LARGE: HResult = hr(0x8004_0206);
/// A Contents key is empty or longer than the application's key limit.
pub const E_BAD_KEY: HResult = hr(0x8004_0207);
/// A Timeout outside 1 ... the application's maximum.
pub const E_INVALID_TIMEOUT: HResult = hr(0x8004_0208);
/// An LCID Windows does not define (ASP 0219).
pub const E_INVALID_LCID: HResult = hr(0x8004_0209);
/// A code page no encoder serves (ASP 0204).
pub const E_INVALID_CODEPAGE: HResult = hr(0x8004_020A);
/// The text is not a well-formed session ID.
pub const E_INVALID_SESSION_ID: HResult = hr(0x8004_020B);
/// The session store cannot be reached.
pub const E_STORE_UNAVAILABLE: HResult = hr(0x8004_020C);
/// The operation is not allowed in the session's current state
/// (e.g. closing a session handed to Session_OnEnd).
pub const E_WRONG_STATE: HResult = hr(0x8004_020D);
/// An application option is out of range.
pub const E_INVALID_OPTION: HResult = hr(0x8004_020E);
/// The value holds an object, which a shared (serialising) store cannot keep.
pub const E_NOT_SERIALIZABLE: HResult = hr(0x8004_020F);
/// No application serves the request's path: a host declines the request
/// (it is not a session page) rather than failing it.
pub const E_NO_APPLICATION: HResult = hr(0x8004_0214);

/// Every named code, for the C header (`SESS_` + name) and for tests.
pub const ALL: &[(&str, HResult)] = &[
    ("S_OK", S_OK),
    ("S_FALSE", S_FALSE),
    ("E_NOTIMPL", E_NOTIMPL),
    ("E_NOINTERFACE", E_NOINTERFACE),
    ("E_POINTER", E_POINTER),
    ("E_FAIL", E_FAIL),
    ("E_UNEXPECTED", E_UNEXPECTED),
    ("E_OUTOFMEMORY", E_OUTOFMEMORY),
    ("E_INVALIDARG", E_INVALIDARG),
    ("E_INSUFFICIENT_BUFFER", E_INSUFFICIENT_BUFFER),
    ("DISP_E_TYPEMISMATCH", DISP_E_TYPEMISMATCH),
    ("DISP_E_BADVARTYPE", DISP_E_BADVARTYPE),
    ("DISP_E_OVERFLOW", DISP_E_OVERFLOW),
    ("DISP_E_BADINDEX", DISP_E_BADINDEX),
    ("E_SESSION_NOT_FOUND", E_SESSION_NOT_FOUND),
    ("E_LOCK_TIMEOUT", E_LOCK_TIMEOUT),
    ("E_READONLY", E_READONLY),
    ("E_TOO_MANY_SESSIONS", E_TOO_MANY_SESSIONS),
    ("E_TOO_MANY_ITEMS", E_TOO_MANY_ITEMS),
    ("E_VALUE_TOO_LARGE", E_VALUE_TOO_LARGE),
    ("E_BAD_KEY", E_BAD_KEY),
    ("E_INVALID_TIMEOUT", E_INVALID_TIMEOUT),
    ("E_INVALID_LCID", E_INVALID_LCID),
    ("E_INVALID_CODEPAGE", E_INVALID_CODEPAGE),
    ("E_INVALID_SESSION_ID", E_INVALID_SESSION_ID),
    ("E_STORE_UNAVAILABLE", E_STORE_UNAVAILABLE),
    ("E_WRONG_STATE", E_WRONG_STATE),
    ("E_INVALID_OPTION", E_INVALID_OPTION),
    ("E_NOT_SERIALIZABLE", E_NOT_SERIALIZABLE),
    ("E_NO_APPLICATION", E_NO_APPLICATION),
];

/// Short description of a result code, as `sess_error_message` prints it.
pub fn message(code: HResult) -> &'static str {
    match code {
        S_OK => "success",
        S_FALSE => "success (false: nothing there)",
        E_NOTIMPL => "not implemented",
        E_POINTER => "a required pointer is NULL",
        E_FAIL => "unspecified failure",
        E_UNEXPECTED => "unexpected failure (internal error)",
        E_OUTOFMEMORY => "out of memory",
        E_INVALIDARG => "invalid argument",
        E_INSUFFICIENT_BUFFER => "the buffer is too small",
        E_NOINTERFACE => "no such interface",
        DISP_E_TYPEMISMATCH => "type mismatch",
        DISP_E_BADVARTYPE => "bad variable type",
        DISP_E_OVERFLOW => "overflow",
        DISP_E_BADINDEX => "invalid index",
        E_SESSION_NOT_FOUND => "session not found (unknown, expired or abandoned)",
        E_LOCK_TIMEOUT => "timed out waiting for the session lock",
        E_READONLY => "the session is read-only",
        E_TOO_MANY_SESSIONS => "the application has its maximum number of sessions",
        E_TOO_MANY_ITEMS => "the session has its maximum number of items",
        E_VALUE_TOO_LARGE => "the value exceeds the per-value size limit",
        E_BAD_KEY => "the key is empty or too long",
        E_INVALID_TIMEOUT => "invalid Timeout (minutes out of range)",
        E_INVALID_LCID => "invalid LCID",
        E_INVALID_CODEPAGE => "invalid or unsupported code page",
        E_INVALID_SESSION_ID => "malformed session ID",
        E_STORE_UNAVAILABLE => "the session store is unavailable",
        E_WRONG_STATE => "not allowed in the session's current state",
        E_INVALID_OPTION => "invalid application option",
        E_NOT_SERIALIZABLE => "objects cannot be stored in a shared session store",
        E_NO_APPLICATION => "no application serves this path",
        c if c >= 0 => "success",
        _ => "unknown error",
    }
}

/// A failure: its result code and a detail for people.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    code: HResult,
    detail: String,
}

impl Error {
    /// An error with `code` and a specific `detail`.
    pub fn new(code: HResult, detail: impl Into<String>) -> Self {
        debug_assert!(code < 0, "an Error must carry a failure code");
        Error {
            code,
            detail: detail.into(),
        }
    }

    /// An error whose detail is the code's generic message.
    pub fn code_only(code: HResult) -> Self {
        Error::new(code, message(code))
    }

    /// The HRESULT.
    pub fn code(&self) -> HResult {
        self.code
    }

    /// The detail text.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:#010X}: {})", self.code as u32, self.detail)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#010X})", self.detail, self.code as u32)
    }
}

impl std::error::Error for Error {}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_com_values() {
        assert_eq!(E_POINTER as u32, 0x8000_4003);
        assert_eq!(E_INVALIDARG as u32, 0x8007_0057);
        assert_eq!(DISP_E_BADINDEX as u32, 0x8002_000B);
        assert_eq!((E_LOCK_TIMEOUT as u32) >> 8, 0x80_0402);
    }

    #[test]
    fn every_code_has_its_own_message() {
        let msgs: std::collections::HashSet<_> = ALL.iter().map(|&(_, c)| message(c)).collect();
        assert_eq!(msgs.len(), ALL.len());
        let values: std::collections::HashSet<_> = ALL.iter().map(|&(_, c)| c).collect();
        assert_eq!(values.len(), ALL.len());
        assert_eq!(message(hr(0x8004_02FF)), "unknown error");
    }
}
