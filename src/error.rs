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
/// IDispatch: the member does not exist or does not take this kind of call.
pub const DISP_E_MEMBERNOTFOUND: HResult = hr(0x8002_0003);
/// IDispatch: a required argument (e.g. the value of a property put) is missing.
pub const DISP_E_PARAMNOTFOUND: HResult = hr(0x8002_0004);
/// IDispatch: a name is not a member of the object.
pub const DISP_E_UNKNOWNNAME: HResult = hr(0x8002_0006);
/// IDispatch: the member takes no named arguments.
pub const DISP_E_NONAMEDARGS: HResult = hr(0x8002_0007);
/// IDispatch: `invoke` needs its LCID to read an argument (text) and does
/// not know that LCID.
pub const DISP_E_UNKNOWNLCID: HResult = hr(0x8002_000C);
/// IDispatch: the number of arguments is wrong for the member.
pub const DISP_E_BADPARAMCOUNT: HResult = hr(0x8002_000E);
/// IDispatch: a required argument was omitted (passed as COM's marker for
/// a missing argument: `VT_ERROR` holding `DISP_E_PARAMNOTFOUND`).
pub const DISP_E_PARAMNOTOPTIONAL: HResult = hr(0x8002_000F);

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
/// A COM object of the C ABI was used after the unit of work it came from
/// ended (session closed or discarded, request ended, event handler returned).
pub const E_OBJECT_DETACHED: HResult = hr(0x8004_021C);
/// The collection cannot be changed (StaticObjects: the application declares
/// its objects).
pub const E_COLLECTION_READONLY: HResult = hr(0x8004_021D);
/// No application serves the request's path: a host declines the request
/// (it is not a session page) rather than failing it.
pub const E_NO_APPLICATION: HResult = hr(0x8004_0214);
/// A write would make the session larger than the application's
/// per-session byte limit.
pub const E_SESSION_TOO_LARGE: HResult = hr(0x8004_0210);
/// A write would take the application's sessions past its memory budget.
pub const E_MEMORY_BUDGET: HResult = hr(0x8004_0211);
/// The session store is full; nothing was written: the machine-local
/// store's file (its map size is reached), or Redis's memory (`maxmemory`
/// reached under a policy that evicts nothing).
pub const E_STORE_FULL: HResult = hr(0x8004_0218);
/// The machine-local store's file is damaged or not one this libsess can
/// read (another format or version).
pub const E_STORE_CORRUPT: HResult = hr(0x8004_0219);
/// The machine-local store's directory is missing, not a directory, or
/// not writable.
pub const E_STORE_ACCESS: HResult = hr(0x8004_021A);

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
    ("DISP_E_MEMBERNOTFOUND", DISP_E_MEMBERNOTFOUND),
    ("DISP_E_PARAMNOTFOUND", DISP_E_PARAMNOTFOUND),
    ("DISP_E_UNKNOWNNAME", DISP_E_UNKNOWNNAME),
    ("DISP_E_NONAMEDARGS", DISP_E_NONAMEDARGS),
    ("DISP_E_UNKNOWNLCID", DISP_E_UNKNOWNLCID),
    ("DISP_E_BADPARAMCOUNT", DISP_E_BADPARAMCOUNT),
    ("DISP_E_PARAMNOTOPTIONAL", DISP_E_PARAMNOTOPTIONAL),
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
    ("E_OBJECT_DETACHED", E_OBJECT_DETACHED),
    ("E_COLLECTION_READONLY", E_COLLECTION_READONLY),
    ("E_NO_APPLICATION", E_NO_APPLICATION),
    ("E_SESSION_TOO_LARGE", E_SESSION_TOO_LARGE),
    ("E_MEMORY_BUDGET", E_MEMORY_BUDGET),
    ("E_STORE_FULL", E_STORE_FULL),
    ("E_STORE_CORRUPT", E_STORE_CORRUPT),
    ("E_STORE_ACCESS", E_STORE_ACCESS),
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
        DISP_E_MEMBERNOTFOUND => "member not found (or not callable this way)",
        DISP_E_PARAMNOTFOUND => "parameter not found",
        DISP_E_UNKNOWNNAME => "unknown name",
        DISP_E_NONAMEDARGS => "no named arguments",
        DISP_E_UNKNOWNLCID => "unknown LCID (needed to read an argument)",
        DISP_E_BADPARAMCOUNT => "invalid number of parameters",
        DISP_E_PARAMNOTOPTIONAL => "a required parameter was omitted",
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
        E_OBJECT_DETACHED => "the object's unit of work has ended (session closed)",
        E_COLLECTION_READONLY => "the collection is read-only",
        E_NO_APPLICATION => "no application serves this path",
        E_SESSION_TOO_LARGE => "the session would exceed the per-session size limit",
        E_MEMORY_BUDGET => "the application's sessions would exceed its memory budget",
        E_STORE_FULL => "the session store is full (its file, or Redis's memory)",
        E_STORE_CORRUPT => "the session store's file is damaged or incompatible",
        E_STORE_ACCESS => "the session store's directory is missing or not writable",
        c if c >= 0 => "success",
        _ => "unknown error",
    }
}

/// What went wrong, for Rust callers to match on; its C form is the HRESULT
/// ([`ErrorKind::code`]). A code the library does not name (one a host
/// callback returned, say) is [`ErrorKind::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `E_NOTIMPL`.
    NotImplemented,
    /// `E_NOINTERFACE`.
    NoInterface,
    /// `E_POINTER`.
    NullPointer,
    /// `E_FAIL`.
    Failed,
    /// `E_UNEXPECTED`.
    Unexpected,
    /// `E_OUTOFMEMORY`.
    OutOfMemory,
    /// `E_INVALIDARG`.
    InvalidArgument,
    /// `E_INSUFFICIENT_BUFFER`.
    InsufficientBuffer,
    /// `DISP_E_TYPEMISMATCH`.
    TypeMismatch,
    /// `DISP_E_BADVARTYPE`.
    BadVarType,
    /// `DISP_E_OVERFLOW`.
    Overflow,
    /// `DISP_E_BADINDEX`.
    BadIndex,
    /// `E_SESSION_NOT_FOUND`.
    SessionNotFound,
    /// `E_LOCK_TIMEOUT`.
    LockTimeout,
    /// `E_READONLY`.
    ReadOnly,
    /// `E_TOO_MANY_SESSIONS`.
    TooManySessions,
    /// `E_TOO_MANY_ITEMS`.
    TooManyItems,
    /// `E_VALUE_TOO_LARGE`.
    ValueTooLarge,
    /// `E_BAD_KEY`.
    BadKey,
    /// `E_INVALID_TIMEOUT`.
    InvalidTimeout,
    /// `E_INVALID_LCID`.
    InvalidLcid,
    /// `E_INVALID_CODEPAGE`.
    InvalidCodepage,
    /// `E_INVALID_SESSION_ID`.
    InvalidSessionId,
    /// `E_STORE_UNAVAILABLE`.
    StoreUnavailable,
    /// `E_WRONG_STATE`.
    WrongState,
    /// `E_INVALID_OPTION`.
    InvalidOption,
    /// `E_NOT_SERIALIZABLE`.
    NotSerializable,
    /// `DISP_E_MEMBERNOTFOUND`.
    MemberNotFound,
    /// `DISP_E_PARAMNOTFOUND`.
    ParamNotFound,
    /// `DISP_E_UNKNOWNNAME`.
    UnknownName,
    /// `DISP_E_NONAMEDARGS`.
    NoNamedArgs,
    /// `DISP_E_UNKNOWNLCID`.
    UnknownLcid,
    /// `DISP_E_BADPARAMCOUNT`.
    BadParamCount,
    /// `DISP_E_PARAMNOTOPTIONAL`.
    ParamNotOptional,
    /// `E_OBJECT_DETACHED`.
    ObjectDetached,
    /// `E_COLLECTION_READONLY`.
    CollectionReadOnly,
    /// `E_NO_APPLICATION`.
    NoApplication,
    /// `E_SESSION_TOO_LARGE`.
    SessionTooLarge,
    /// `E_MEMORY_BUDGET`.
    MemoryBudget,
    /// `E_STORE_FULL`.
    StoreFull,
    /// `E_STORE_CORRUPT`.
    StoreCorrupt,
    /// `E_STORE_ACCESS`.
    StoreAccess,
    /// A failure code the library does not name.
    Other(HResult),
}

/// Each named kind and its code (the one place they are paired).
const KINDS: &[(ErrorKind, HResult)] = &[
    (ErrorKind::NotImplemented, E_NOTIMPL),
    (ErrorKind::NoInterface, E_NOINTERFACE),
    (ErrorKind::NullPointer, E_POINTER),
    (ErrorKind::Failed, E_FAIL),
    (ErrorKind::Unexpected, E_UNEXPECTED),
    (ErrorKind::OutOfMemory, E_OUTOFMEMORY),
    (ErrorKind::InvalidArgument, E_INVALIDARG),
    (ErrorKind::InsufficientBuffer, E_INSUFFICIENT_BUFFER),
    (ErrorKind::TypeMismatch, DISP_E_TYPEMISMATCH),
    (ErrorKind::BadVarType, DISP_E_BADVARTYPE),
    (ErrorKind::Overflow, DISP_E_OVERFLOW),
    (ErrorKind::BadIndex, DISP_E_BADINDEX),
    (ErrorKind::SessionNotFound, E_SESSION_NOT_FOUND),
    (ErrorKind::LockTimeout, E_LOCK_TIMEOUT),
    (ErrorKind::ReadOnly, E_READONLY),
    (ErrorKind::TooManySessions, E_TOO_MANY_SESSIONS),
    (ErrorKind::TooManyItems, E_TOO_MANY_ITEMS),
    (ErrorKind::ValueTooLarge, E_VALUE_TOO_LARGE),
    (ErrorKind::BadKey, E_BAD_KEY),
    (ErrorKind::InvalidTimeout, E_INVALID_TIMEOUT),
    (ErrorKind::InvalidLcid, E_INVALID_LCID),
    (ErrorKind::InvalidCodepage, E_INVALID_CODEPAGE),
    (ErrorKind::InvalidSessionId, E_INVALID_SESSION_ID),
    (ErrorKind::StoreUnavailable, E_STORE_UNAVAILABLE),
    (ErrorKind::WrongState, E_WRONG_STATE),
    (ErrorKind::InvalidOption, E_INVALID_OPTION),
    (ErrorKind::NotSerializable, E_NOT_SERIALIZABLE),
    (ErrorKind::MemberNotFound, DISP_E_MEMBERNOTFOUND),
    (ErrorKind::ParamNotFound, DISP_E_PARAMNOTFOUND),
    (ErrorKind::UnknownName, DISP_E_UNKNOWNNAME),
    (ErrorKind::NoNamedArgs, DISP_E_NONAMEDARGS),
    (ErrorKind::UnknownLcid, DISP_E_UNKNOWNLCID),
    (ErrorKind::BadParamCount, DISP_E_BADPARAMCOUNT),
    (ErrorKind::ParamNotOptional, DISP_E_PARAMNOTOPTIONAL),
    (ErrorKind::ObjectDetached, E_OBJECT_DETACHED),
    (ErrorKind::CollectionReadOnly, E_COLLECTION_READONLY),
    (ErrorKind::NoApplication, E_NO_APPLICATION),
    (ErrorKind::SessionTooLarge, E_SESSION_TOO_LARGE),
    (ErrorKind::MemoryBudget, E_MEMORY_BUDGET),
    (ErrorKind::StoreFull, E_STORE_FULL),
    (ErrorKind::StoreCorrupt, E_STORE_CORRUPT),
    (ErrorKind::StoreAccess, E_STORE_ACCESS),
];

impl ErrorKind {
    /// The kind of a failure code.
    pub fn of(code: HResult) -> ErrorKind {
        KINDS
            .iter()
            .find(|&&(_, c)| c == code)
            .map_or(ErrorKind::Other(code), |&(k, _)| k)
    }

    /// The HRESULT that carries this kind across the C surface.
    pub fn code(self) -> HResult {
        match self {
            ErrorKind::Other(code) => code,
            kind => KINDS
                .iter()
                .find(|&&(k, _)| k == kind)
                .map(|&(_, c)| c)
                .expect("every named kind is in KINDS"),
        }
    }
}

/// A failure: its result code and a detail for people.
///
/// One pointer wide (the code and detail are boxed), so a [`Result`] is at
/// most two words for the small `T`s the library returns and travels in
/// registers: the success path of every `?` pays for that size, the
/// failure path for one allocation more.
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

/// What an [`Error`] holds.
#[derive(Clone, PartialEq, Eq)]
struct Inner {
    code: HResult,
    detail: String,
}

impl Error {
    /// An error with `code` and a specific `detail`.
    #[cold]
    pub fn new(code: HResult, detail: impl Into<String>) -> Self {
        debug_assert!(code < 0, "an Error must carry a failure code");
        Error(Box::new(Inner {
            code,
            detail: detail.into(),
        }))
    }

    /// An error whose detail is the code's generic message.
    #[cold]
    pub fn code_only(code: HResult) -> Self {
        Error::new(code, message(code))
    }

    /// The HRESULT.
    pub fn code(&self) -> HResult {
        self.0.code
    }

    /// What went wrong, to match on.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::of(self.0.code)
    }

    /// The detail text.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:#010X}: {})", self.code() as u32, self.detail())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#010X})", self.detail(), self.code() as u32)
    }
}

impl std::error::Error for Error {}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_stay_two_words() {
        assert_eq!(size_of::<Error>(), size_of::<usize>());
        assert_eq!(size_of::<Result<HResult>>(), 2 * size_of::<usize>());
    }

    #[test]
    fn codes_have_com_values() {
        assert_eq!(E_POINTER as u32, 0x8000_4003);
        assert_eq!(E_INVALIDARG as u32, 0x8007_0057);
        assert_eq!(DISP_E_BADINDEX as u32, 0x8002_000B);
        assert_eq!((E_LOCK_TIMEOUT as u32) >> 8, 0x80_0402);
    }

    #[test]
    fn every_failure_code_has_its_kind_and_back() {
        for &(name, code) in ALL.iter().filter(|&&(_, c)| c < 0) {
            let kind = Error::code_only(code).kind();
            assert!(!matches!(kind, ErrorKind::Other(_)), "{name} has no kind");
            assert_eq!(kind.code(), code, "{name}");
        }
        assert_eq!(KINDS.len(), ALL.iter().filter(|&&(_, c)| c < 0).count());
        let host = hr(0x8004_02FF);
        assert_eq!(ErrorKind::of(host), ErrorKind::Other(host));
        assert_eq!(ErrorKind::Other(host).code(), host);
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
