"""libsess's failures as exceptions: SessionError with the HRESULT and the
library's message, and one subclass per family of codes."""

from __future__ import annotations

from typing import Any, Optional, Tuple

from ._native import ffi, lib, unpack_text


class SessionError(Exception):
    """A failed libsess call: `.hresult` (the code, a negative int) and
    `.message` (the library's text for it). `.set_cookie`: for a request
    whose end failed after the page gave its session a new ID, the
    Set-Cookie value the response must still carry (the session lives on
    under that ID); else None."""

    set_cookie: Optional[str] = None

    def __init__(self, hresult: int, message: str) -> None:
        super().__init__(f"{message}{_code(hresult)}")
        self.hresult = hresult
        self.message = message

    def __reduce__(self) -> Tuple[Any, ...]:
        # Made again from the code and message (args holds the formatted
        # text alone), with the attributes a caller added.
        return (type(self), (self.hresult, self.message), self.__dict__)


class NotFound(SessionError):
    """The session is unknown, expired or abandoned."""


class LockTimeout(SessionError):
    """Another unit of work held the session past the lock timeout."""


class ReadOnly(SessionError):
    """The session was opened read-only."""


class StoreUnavailable(SessionError):
    """The session store cannot be used: it is down, its directory is
    missing or not writable, or its file is damaged (the WSGI middleware
    answers 503)."""


class InvalidArgument(SessionError, ValueError):
    """A value the library refused: a malformed ID, a bad Timeout, LCID,
    CodePage, key or option."""


class LimitExceeded(SessionError):
    """An application or store limit: sessions, items per session, bytes
    per value or per session, the memory budget, a full store file."""


class TypeMismatch(SessionError, TypeError):
    """A value that cannot be converted or stored (type, overflow)."""


class BadIndex(SessionError, IndexError):
    """An index past the end."""


class WrongState(SessionError):
    """A call the session's or request's state does not allow (e.g. after
    the unit of work ended, or the application was closed)."""


class OutOfMemory(SessionError, MemoryError):
    """The library could not allocate (e.g. an array too long)."""


class MemberNotFound(SessionError, AttributeError):
    """A late-bound call (ComObject.get/put/call) to a member the object
    does not have, or cannot be called that way."""


class BadArguments(SessionError, TypeError):
    """A late-bound call with arguments the member does not take: the
    wrong number, a missing one, or named ones."""


class NoApplication(SessionError):
    """No application serves the request's path."""


# Left to SessionError itself: E_FAIL (a handler or factory failed),
# E_UNEXPECTED (an internal error), E_NOTIMPL, E_NOINTERFACE, and codes the
# binding itself prevents or handles (E_POINTER, E_INSUFFICIENT_BUFFER).
_FAMILIES = {
    "SESS_E_SESSION_NOT_FOUND": NotFound,
    "SESS_E_LOCK_TIMEOUT": LockTimeout,
    "SESS_E_READONLY": ReadOnly,
    "SESS_E_COLLECTION_READONLY": ReadOnly,
    "SESS_E_STORE_UNAVAILABLE": StoreUnavailable,
    "SESS_E_STORE_ACCESS": StoreUnavailable,
    "SESS_E_STORE_CORRUPT": StoreUnavailable,
    "SESS_E_INVALIDARG": InvalidArgument,
    "SESS_E_INVALID_TIMEOUT": InvalidArgument,
    "SESS_E_INVALID_LCID": InvalidArgument,
    "SESS_E_INVALID_CODEPAGE": InvalidArgument,
    "SESS_E_INVALID_SESSION_ID": InvalidArgument,
    "SESS_E_INVALID_OPTION": InvalidArgument,
    "SESS_E_BAD_KEY": InvalidArgument,
    "SESS_E_TOO_MANY_SESSIONS": LimitExceeded,
    "SESS_E_TOO_MANY_ITEMS": LimitExceeded,
    "SESS_E_VALUE_TOO_LARGE": LimitExceeded,
    "SESS_E_SESSION_TOO_LARGE": LimitExceeded,
    "SESS_E_MEMORY_BUDGET": LimitExceeded,
    "SESS_E_STORE_FULL": LimitExceeded,
    "SESS_DISP_E_TYPEMISMATCH": TypeMismatch,
    "SESS_DISP_E_BADVARTYPE": TypeMismatch,
    "SESS_DISP_E_OVERFLOW": TypeMismatch,
    "SESS_E_NOT_SERIALIZABLE": TypeMismatch,
    "SESS_DISP_E_BADINDEX": BadIndex,
    "SESS_E_WRONG_STATE": WrongState,
    "SESS_E_OBJECT_DETACHED": WrongState,
    "SESS_E_OUTOFMEMORY": OutOfMemory,
    "SESS_DISP_E_UNKNOWNNAME": MemberNotFound,
    "SESS_DISP_E_MEMBERNOTFOUND": MemberNotFound,
    "SESS_DISP_E_BADPARAMCOUNT": BadArguments,
    "SESS_DISP_E_PARAMNOTFOUND": BadArguments,
    "SESS_DISP_E_NONAMEDARGS": BadArguments,
    "SESS_DISP_E_PARAMNOTOPTIONAL": BadArguments,
    "SESS_DISP_E_UNKNOWNLCID": InvalidArgument,
    "SESS_E_NO_APPLICATION": NoApplication,
}
_BY_CODE = {getattr(lib, name): cls for name, cls in _FAMILIES.items()}


def _text(fn: Any, *args: Any) -> str:
    """The text of a buf/buf_len/out_len error function (no raising: these
    run while an error is being reported)."""
    size = ffi.new("size_t *")
    fn(*args, ffi.NULL, 0, size)
    buf = ffi.new("char[]", size[0] + 1)
    if fn(*args, buf, size[0] + 1, size) < 0:
        return "libsess error"
    return unpack_text(buf, size[0], errors="replace")


def last_error(hresult: int) -> SessionError:
    """The exception for a code a C call just returned: with this thread's
    last-error detail when it is about `hresult`."""
    code = ffi.new("sess_result *")
    if lib.sess_error_last(code, ffi.NULL, 0, ffi.new("size_t *")) >= 0 and code[0] == hresult:
        detail = _text(lambda *a: lib.sess_error_last(ffi.NULL, *a))
        if detail:
            return error_for(hresult, detail)
    return error_for(hresult)


def error_for(hresult: int, message: Optional[str] = None) -> SessionError:
    """The exception for a failure code (its family's subclass), with
    `message` or the library's message for the code."""
    cls = _BY_CODE.get(hresult, SessionError)
    if message is None:  # the library's message ends with the code, which the error's text adds
        message = _text(lib.sess_error_message, hresult).removesuffix(_code(hresult))
    return cls(hresult, message)


def _code(hresult: int) -> str:
    """The end of an error's text: " (0x8004020D)"."""
    return f" (0x{hresult & 0xFFFFFFFF:08X})"
