"""An application: its options, its sessions and its Session_OnStart /
Session_OnEnd handlers."""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import Any, Callable, Dict, List, Mapping, NoReturn, Optional, Union

from ._native import Owner, SharedHandle, c_text, callback_failed, check, ffi, interrupted, interruptible, lib
from .errors import error_for
from .objects import Factory, factory_callback
from .session import Session

#: A Session_OnStart / Session_OnEnd handler: gets the (lent) session;
#: what it returns is ignored.
Handler = Callable[[Session], object]

#: Fields the binding sets itself.
_DERIVED = {"struct_size", "static_object_count", "id_secret_len"}


def _fill(struct: Any, ctype: str, options: Dict[str, Any], keep: List[Any]) -> None:
    """Sets `struct`'s integer, bool, string (str or path) and byte-string
    (bytes, with its `_len` field) fields from `options`; other names or
    types: TypeError. The memory set is kept alive in `keep`."""
    fields = dict(ffi.typeof(ctype).fields)
    for name, value in options.items():
        field = fields.get(name)
        if field is None:
            raise TypeError(f"unknown option {name!r}")
        if name in _DERIVED:
            raise TypeError(f"option {name!r} is set by the binding")
        kind = field.type.cname
        if kind == "char *":
            data = ffi.new("char[]", c_text(os.fspath(value) if isinstance(value, os.PathLike) else value))
            keep.append(data)
            setattr(struct, name, data)
        elif kind == "uint8_t *":
            if not isinstance(value, bytes):
                raise TypeError(f"option {name!r} takes bytes, not {type(value).__name__}")
            data = ffi.new("uint8_t[]", value)
            keep.append(data)
            setattr(struct, name, data)
            setattr(struct, f"{name}_len", len(value))
        elif kind == "_Bool":
            if not isinstance(value, bool):
                raise TypeError(f"option {name!r} takes a bool, not {type(value).__name__}")
            setattr(struct, name, value)
        elif field.type.kind == "primitive" and isinstance(value, int) and not isinstance(value, bool):
            try:
                setattr(struct, name, value)
            except OverflowError as e:
                raise error_for(lib.SESS_E_INVALID_OPTION, f"option {name}={value} is out of range") from e
        else:
            raise TypeError(f"option {name!r} cannot be set from Python")


def _store_options(ctype: str, init: Callable[[Any], int], options: Dict[str, Any], keep: List[Any]) -> Any:
    """A filled sess_redis_options / sess_lmdb_options (kept in `keep`)."""
    struct = ffi.new(f"{ctype} *")
    check(init(struct))
    _fill(struct, ctype, options, keep)
    keep.append(struct)
    return struct


def _clock_callback(clock: Callable[[], int]) -> Any:
    """A sess_clock_fn calling `clock()`. A clock that raises or gives
    anything but an int from 0 to 2**64 - 1 is reported (RuntimeWarning)
    and its last good reading (0 at first) is used instead."""
    last = [0]

    def tick(_context: Any) -> int:
        if sys.is_finalizing():
            return last[0]
        now = clock()
        if isinstance(now, bool) or not isinstance(now, int):
            raise TypeError(f"the clock gave a {type(now).__name__}, not an int of milliseconds")
        if not 0 <= now < 1 << 64:
            raise ValueError(f"the clock gave {now}, outside 0 to 2**64 - 1")
        last[0] = now
        return now

    def failed(_type: Any, error: BaseException, _tb: Any) -> int:
        try:
            warnings.warn(f"libsess: the clock failed ({error!r}); its last reading is used", RuntimeWarning)
        except Exception as e:  # warnings are errors here: reported, as it cannot reach C
            sys.excepthook(type(e), e, e.__traceback__)
        return last[0]

    return ffi.callback("sess_clock_fn", tick, onerror=failed)


class App(Owner):
    """An application (sess_app). Options are sess_app_options' fields as
    keyword arguments, e.g. `App(default_timeout_minutes=5,
    lock_timeout_ms=2000, default_lcid=1036)`; `on_start` / `on_end` take a
    callable receiving the session; `redis` a URL or a dict of
    sess_redis_options' fields (`id_secret` as bytes); `lmdb` a directory
    (str or path) or a dict of sess_lmdb_options' fields; `static_objects`
    session-scope static objects as {name: factory(name) -> object};
    `clock` a callable giving milliseconds for deadlines (tests move time
    with it; if it raises or gives a non-int, a RuntimeWarning says so and
    its last reading is used). Thread-safe. Use it as a context manager,
    or `close()`, to release it (one collected unclosed is released then,
    with a ResourceWarning). Applications cannot be copied or pickled."""

    def __init__(
        self,
        *,
        on_start: Optional[Handler] = None,
        on_end: Optional[Handler] = None,
        redis: Union[str, Dict[str, Any], None] = None,
        lmdb: Union[str, "os.PathLike[str]", Dict[str, Any], None] = None,
        static_objects: Optional[Mapping[str, Factory]] = None,
        clock: Optional[Callable[[], int]] = None,
        **options: Any,
    ) -> None:
        # What the library calls later is checked now: a TypeError here,
        # not an E_FAIL (or a clock's warning) on every call.
        handlers = (("on_start", on_start), ("on_end", on_end), ("clock", clock))
        given: List[Any] = [(option, f) for option, f in handlers if f is not None]
        given += [(f"static_objects[{name!r}]", f) for name, f in (static_objects or {}).items()]
        for option, value in given:
            if not callable(value):
                raise TypeError(f"option {option} must be callable, not {type(value).__name__}")
        self._keep: List[Any] = []
        opts = ffi.new("sess_app_options *")
        check(lib.sess_app_options_init(opts))
        _fill(opts, "sess_app_options", options, self._keep)
        if on_start is not None:
            opts.on_start = self._callback("sess_on_start_fn", on_start, starts=True)
        if on_end is not None:
            opts.on_end = self._callback("sess_on_end_fn", on_end, starts=False)
        if redis is not None:
            fields = {"url": redis} if isinstance(redis, str) else redis
            opts.redis = _store_options("sess_redis_options", lib.sess_redis_options_init, fields, self._keep)
        if lmdb is not None:
            fields = lmdb if isinstance(lmdb, dict) else {"path": lmdb}
            opts.lmdb = _store_options("sess_lmdb_options", lib.sess_lmdb_options_init, fields, self._keep)
        if clock is not None:
            tick = _clock_callback(clock)
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
        self._shared = SharedHandle(out[0], lib.sess_app_release, "application", self._keep)

    def _callback(self, ctype: str, handler: Handler, *, starts: bool) -> Any:
        ok, failed = (int(lib.SESS_S_OK), int(lib.SESS_E_FAIL)) if starts else (None, None)

        def call(_context: Any, handle: Any) -> Optional[int]:
            if sys.is_finalizing():
                return failed
            session = Session(handle, owned=False)
            error: Optional[BaseException] = None
            try:
                handler(session)
            except BaseException as e:  # a handler's failure must not unwind into C
                error = e
            session._end()
            if error is None:
                return ok
            if starts:  # the cause of the E_FAIL the caller gets
                callback_failed(error)
            elif not isinstance(error, Exception) and not isinstance(threading.current_thread(), threading._DummyThread):
                interrupted(error)  # Ctrl-C, exit: raised when this Python thread's C call returns
            else:  # Session_OnEnd's caller gets no failure: reported here
                sys.excepthook(type(error), error, error.__traceback__)
            return failed

        fn = ffi.callback(ctype, call, error=failed)  # anything escaping `call` is no success
        self._keep.append(fn)
        return fn

    def __reduce__(self) -> NoReturn:
        raise TypeError("an App owns the application's handle: it cannot be copied or pickled")

    @property
    def handle(self) -> Any:
        """The `sess_app *`, for C calls of your own: valid until close()
        (WrongState after), which does not wait for such calls."""
        with self._shared as handle:
            return handle

    def create(self) -> Session:
        """A new session, held exclusively (stored on first write)."""
        session = Session(owned=True, owner=self)
        with self._shared as handle:
            check(lib.sess_session_create(handle, session._cell))
        return session

    def open(self, id: str, readonly: bool = False) -> Session:
        """The stored session `id`: exclusive, or shared when `readonly`.
        Unknown/expired: NotFound; malformed: InvalidArgument; held past the
        lock timeout: LockTimeout. Ctrl-C interrupts the wait for the lock
        (see interruptible), leaving the session unlocked."""
        key = c_text(id, lib.SESS_E_INVALID_SESSION_ID)
        flags = lib.SESS_OPEN_READONLY if readonly else 0
        session = Session(owned=True, owner=self)

        def call() -> None:
            with self._shared as handle:
                check(lib.sess_session_open(handle, key, flags, session._cell))

        interruptible(call, session._drop)
        return session

    def expire(self) -> int:
        """Ends expired sessions now; returns how many."""
        out = ffi.new("size_t *")
        with self._shared as handle:
            check(lib.sess_app_expire(handle, out))
        return int(out[0])

    @property
    def session_count(self) -> int:
        """The number of stored sessions."""
        out = ffi.new("size_t *")
        with self._shared as handle:
            check(lib.sess_app_session_count(handle, out))
        return int(out[0])

    def close(self) -> None:
        """Releases the application (idempotent): later calls raise
        WrongState; calls other threads are making finish first. The
        release stops the expiry thread and runs Session_OnEnd for every
        in-process session stored and not in use (Redis and LMDB keep
        theirs) — unless a SessionMiddleware still serves the application:
        then that happens when the middleware is closed too. A session
        still open keeps working; when it closes, an in-process one is
        dropped without Session_OnEnd."""
        self._shared.close()

