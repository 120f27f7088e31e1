"""An application: its options, its sessions and its Session_OnStart /
Session_OnEnd handlers."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Type, Union

from ._native import c_text, check, ffi, lib
from .errors import error_for
from .objects import Factory, factory_callback
from .session import Session

#: A Session_OnStart / Session_OnEnd handler: gets the (lent) session.
Handler = Callable[[Session], None]


def _fill(struct: Any, ctype: str, options: Dict[str, Any], keep: List[Any]) -> None:
    """Sets `struct`'s integer, bool and string fields from `options`
    (unknown names: TypeError); strings are kept alive in `keep`."""
    fields = dict(ffi.typeof(ctype).fields)
    for name, value in options.items():
        field = fields.get(name)
        if field is None or name == "struct_size":
            raise TypeError(f"unknown option {name!r}")
        kind = field.type.cname
        if kind == "char *":
            data = ffi.new("char[]", c_text(value))
            keep.append(data)
            setattr(struct, name, data)
        elif kind == "_Bool":
            setattr(struct, name, bool(value))
        elif field.type.kind == "primitive" and isinstance(value, int) and not isinstance(value, bool):
            try:
                setattr(struct, name, value)
            except OverflowError as e:
                raise error_for(lib.SESS_E_INVALID_OPTION, f"option {name}={value} is out of range") from e
        else:
            raise TypeError(f"option {name!r} cannot be set from Python")


class App:
    """An application (sess_app). Options are sess_app_options' fields as
    keyword arguments, e.g. `App(default_timeout_minutes=5,
    lock_timeout_ms=2000, default_lcid=1036)`; `on_start` / `on_end` take a
    callable receiving the session; `redis` a URL or a dict of
    sess_redis_options' fields; `static_objects` session-scope static
    objects as {name: factory(name) -> object}; `clock` a callable giving
    milliseconds for deadlines (tests move time with it). Use it as a context manager, or `close()`,
    to release it (Session_OnEnd runs for sessions still alive)."""

    def __init__(
        self,
        *,
        on_start: Optional[Handler] = None,
        on_end: Optional[Handler] = None,
        redis: Union[str, Dict[str, Any], None] = None,
        static_objects: Optional[Dict[str, Factory]] = None,
        clock: Optional[Callable[[], int]] = None,
        **options: Any,
    ) -> None:
        self._keep: List[Any] = []
        opts = ffi.new("sess_app_options *")
        check(lib.sess_app_options_init(opts))
        _fill(opts, "sess_app_options", options, self._keep)
        if on_start is not None:
            opts.on_start = self._callback("sess_on_start_fn", on_start, starts=True)
        if on_end is not None:
            opts.on_end = self._callback("sess_on_end_fn", on_end, starts=False)
        if redis is not None:
            ropts = ffi.new("sess_redis_options *")
            check(lib.sess_redis_options_init(ropts))
            _fill(ropts, "sess_redis_options", {"url": redis} if isinstance(redis, str) else redis, self._keep)
            self._keep.append(ropts)
            opts.redis = ropts
        if clock is not None:
            tick = ffi.callback("sess_clock_fn", lambda _context: clock())
            self._keep.append(tick)
            opts.clock = tick
        if static_objects:
            decls = ffi.new("sess_static_object_decl[]", len(static_objects))
            for decl, (name, factory) in zip(decls, static_objects.items()):
                name_c, make = ffi.new("char[]", c_text(name)), factory_callback(factory)
                decl.name, decl.factory = name_c, make
                self._keep += [name_c, make]
            self._keep.append(decls)
            opts.static_objects, opts.static_object_count = decls, len(static_objects)
        out = ffi.new("sess_app **")
        check(lib.sess_app_create(opts, out))
        self._handle: Any = out[0]

    def _callback(self, ctype: str, handler: Handler, *, starts: bool) -> Any:
        def call(_context: Any, handle: Any) -> Optional[int]:
            session = Session(handle, owned=False)
            try:
                handler(session)
            except BaseException:  # a handler's failure must not unwind into C
                sys.excepthook(*sys.exc_info())
                return lib.SESS_E_FAIL if starts else None
            finally:
                session._end()
            return lib.SESS_S_OK if starts else None

        fn = ffi.callback(ctype, call)
        self._keep.append(fn)
        return fn

    @property
    def handle(self) -> Any:
        """The `sess_app *` (for the WSGI middleware and other C calls)."""
        if self._handle is None:
            raise error_for(lib.SESS_E_WRONG_STATE, "the application was closed")
        return self._handle

    def create(self) -> Session:
        """A new session, held exclusively (stored on first write)."""
        out = ffi.new("sess_session **")
        check(lib.sess_session_create(self.handle, out))
        return Session(out[0], owned=True, owner=self)

    def open(self, id: str, readonly: bool = False) -> Session:
        """The stored session `id`: exclusive, or shared when `readonly`.
        Unknown/expired: NotFound; malformed: InvalidArgument; held past the
        lock timeout: LockTimeout."""
        out = ffi.new("sess_session **")
        flags = lib.SESS_OPEN_READONLY if readonly else 0
        check(lib.sess_session_open(self.handle, c_text(id), flags, out))
        return Session(out[0], owned=True, owner=self)

    def expire(self) -> int:
        """Ends expired sessions now; returns how many."""
        out = ffi.new("size_t *")
        check(lib.sess_app_expire(self.handle, out))
        return out[0]

    @property
    def session_count(self) -> int:
        """The number of stored sessions."""
        out = ffi.new("size_t *")
        check(lib.sess_app_session_count(self.handle, out))
        return out[0]

    def close(self) -> None:
        """Releases the application (idempotent)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.sess_app_release(handle)

    def __enter__(self) -> "App":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.close()
