"""libsess for Python: the IIS/ASP Session object.

    import libsess
    app = libsess.App(default_timeout_minutes=20)
    with app.create() as s:          # a new session; commits on exit,
        s["user"] = "Arthur"         # discards if the block raises
        sid = s.id
    with app.open(sid) as s:
        assert s["USER"] == "Arthur" # keys are case-insensitive

`libsess.wsgi.SessionMiddleware` runs the request lifecycle for a WSGI app.
"""

from ._native import lib as _lib
from ._native import ffi as _ffi
from .app import App
from .errors import (
    BadArguments,
    BadIndex,
    InvalidArgument,
    LimitExceeded,
    LockTimeout,
    MemberNotFound,
    NoApplication,
    NotFound,
    OutOfMemory,
    ReadOnly,
    SessionError,
    StoreUnavailable,
    TypeMismatch,
    WrongState,
)
from .session import Session, StaticObjects
from .values import ComObject, Empty, EmptyType, Value

__version__: str = _ffi.string(_lib.sess_version()).decode()

__all__ = [
    "App",
    "BadArguments",
    "BadIndex",
    "ComObject",
    "Empty",
    "EmptyType",
    "InvalidArgument",
    "LimitExceeded",
    "LockTimeout",
    "MemberNotFound",
    "NoApplication",
    "NotFound",
    "OutOfMemory",
    "ReadOnly",
    "Session",
    "SessionError",
    "StaticObjects",
    "StoreUnavailable",
    "TypeMismatch",
    "Value",
    "WrongState",
]
