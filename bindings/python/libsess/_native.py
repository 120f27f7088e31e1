"""The loaded library and the helpers every call shares: result checks,
text out of buf/buf_len/out_len functions, and the handles released at
interpreter exit."""

from __future__ import annotations

import atexit
import os
import pathlib
import sys
import threading
import traceback
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Callable, Optional, Type, TypeVar

from ._sess_cffi import ffi as ffi  # re-exported: every module calls through it

lib: Any = ffi.dlopen(str(pathlib.Path(__file__).resolve().parent / "libsess.so"))


#: The exception a callback (Session_OnStart, a factory) failed with on
#: this thread, until the check of the C call that ran it.
_failed = threading.local()


def callback_failed(error: BaseException) -> None:
    """Keeps `error`, raised by a callback that returns E_FAIL to C, as the
    cause of the failure its C call returns (see check), and gives that
    E_FAIL the exception's text ("RuntimeError: why", sess_error_set) for
    the error's message: the callback's last call (a check in between
    would take it)."""
    _failed.error = error
    text = traceback.format_exception_only(type(error), error)[-1].strip()
    lib.sess_error_set(lib.SESS_E_FAIL, text.encode("utf-8", "backslashreplace"))


def interrupted(error: BaseException) -> None:
    """Keeps `error`, an exception that is not an Exception (Ctrl-C's
    KeyboardInterrupt, SystemExit) raised by a Session_OnEnd handler the
    C call of this thread runs, to be raised when that call returns (see
    check): C cannot take it, and the call itself succeeds."""
    _failed.interrupt = error


def raise_interrupt() -> None:
    """Raises the exception `interrupted` kept on this thread, if any."""
    error, _failed.interrupt = getattr(_failed, "interrupt", None), None
    if error is not None:
        raise error


def report_interrupt() -> None:
    """Reports (sys.excepthook) the exception `interrupted` kept on this
    thread, if any: for a call whose caller cannot take it (a session
    collected, the interpreter exiting)."""
    try:
        raise_interrupt()
    except BaseException as e:
        sys.excepthook(type(e), e, e.__traceback__)


def check(hr: int) -> int:
    """Raises the SessionError for a failure code (its __cause__ the
    exception a callback the call ran failed with); returns success codes.
    A handler's interruption (see interrupted) is raised first."""
    cause, _failed.error = getattr(_failed, "error", None), None
    raise_interrupt()
    if hr < 0:
        from .errors import last_error

        error = last_error(hr)
        error.__cause__ = cause
        raise error
    return hr


def text_out(call: Callable[[Any, int, Any], int]) -> str:
    """The text a buf/buf_len/out_len function writes, retried once with the
    length it asks for."""
    size = ffi.new("size_t *")
    buf = ffi.new("char[]", 64)
    hr = call(buf, 64, size)
    if hr == lib.SESS_E_INSUFFICIENT_BUFFER:
        buf = ffi.new("char[]", size[0] + 1)
        hr = call(buf, size[0] + 1, size)
    check(hr)
    return unpack_text(buf, size[0])


def unpack_text(ptr: Any, length: int, encoding: str = "utf-8", errors: str = "strict") -> str:
    """The `length` bytes at `ptr` (a `char *`), decoded."""
    data: bytes = ffi.unpack(ptr, length)
    return data.decode(encoding, errors)


def utf8(text: str, code: int) -> bytes:
    """`text` in UTF-8; one with a lone surrogate has none: the
    InvalidArgument `code` (a ValueError), as the library's for bad UTF-8."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        from .errors import error_for

        raise error_for(code, f"text is not valid UTF-8: {e.reason} at index {e.start}") from None


def c_text(text: str, code: int = lib.SESS_E_INVALIDARG) -> bytes:
    """`text` as the NUL-terminated UTF-8 the C calls take; one holding a
    NUL or a lone surrogate is the InvalidArgument `code` (the argument's,
    e.g. SESS_E_BAD_KEY for a key)."""
    if not isinstance(text, str):
        raise TypeError(f"expected str, not {type(text).__name__}")
    data = utf8(text, code)
    if b"\0" in data:
        from .errors import error_for

        raise error_for(code, "text must not contain NUL")
    return data


#: The threads that make interruptible calls for the main thread (made on
#: first use; a forked child makes its own).
_helpers: Optional[ThreadPoolExecutor] = None


def _forget_helpers() -> None:
    global _helpers
    _helpers = None


os.register_at_fork(after_in_child=_forget_helpers)


def interruptible(call: Callable[[], None], undo: Callable[[], None]) -> None:
    """Runs `call()`, a C call that may wait long (for a session's lock),
    so that a signal handler that raises (Ctrl-C's KeyboardInterrupt)
    interrupts the wait, as it does Python's own: on the main thread, the
    only one running handlers, the call runs on a helper thread while
    this one waits. When the wait ends by an exception, `undo()` runs
    (releasing what the call got) once the call has returned: here, or
    later on the helper thread (exit waits for it)."""
    global _helpers
    if threading.current_thread() is not threading.main_thread():
        call()
        return
    if _helpers is None:
        _helpers = ThreadPoolExecutor(thread_name_prefix="libsess: lock wait")
    try:
        future = _helpers.submit(call)
    except RuntimeError:  # the interpreter is exiting (an atexit handler): no new threads
        call()
        return
    try:
        future.result()
    except BaseException:
        future.add_done_callback(lambda _: undo())
        raise


class Turn:
    """Turns on one C session handle and the objects made from it, which
    the library has used by one thread at a time: each call runs in
    `with turn:`. Reentrant, for host code a call runs (a factory, a
    handler) that calls back in; `nested` tells such a call. `ended` once
    the handle's unit of work has ended (or is ending): its objects make no
    more calls."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self.ended = False

    def __enter__(self) -> None:
        self._lock.acquire()
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        self._lock.release()

    @property
    def nested(self) -> bool:
        """Whether this thread's call runs inside another call of its own
        on the handle (only the holder may ask)."""
        return self._depth > 1


class SharedHandle:
    """A thread-safe C handle (an application, a site) that threads use
    while another may close it: `with shared as handle:` holds it for a
    call; `close()` refuses new calls (WrongState, "the <what> was
    closed") and `release`s the handle once the last call in flight ends.
    `keep` is what the handle's callbacks need, kept until it is released.
    Every open one is closed at interpreter exit."""

    def __init__(self, handle: Any, release: Callable[[Any], None], what: str, keep: Any) -> None:
        self._handle: Any = handle
        self._release = release
        self._what = what
        self._keep = keep
        self._lock = threading.Lock()
        self._calls = 0
        self._closed = False
        self._released = threading.Event()
        _shared.add(self)

    def __enter__(self) -> Any:
        with self._lock:
            if self._closed:
                from .errors import error_for

                raise error_for(lib.SESS_E_WRONG_STATE, f"the {self._what} was closed")
            self._calls += 1
            return self._handle

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        with self._lock:
            self._calls -= 1
            handle = self._take()
        self._release_now(handle)

    def close(self) -> bool:
        """Refuses new calls; releases the handle now, or when the last call
        in flight ends (idempotent). Whether it was open until this call."""
        with self._lock:
            was_open, self._closed = not self._closed, True
            handle = self._take()
        self._release_now(handle)
        return was_open

    def collected(self, owner: object) -> None:
        """Closes the handle of `owner`, being collected, with a
        ResourceWarning if it was still open (as an unclosed file warns),
        unless the interpreter is exiting."""
        if self.close() and not sys.is_finalizing():
            message = f"unclosed libsess {self._what} {owner!r}: released when collected"
            warnings.warn(message, ResourceWarning, source=owner)

    def _take(self) -> Any:
        """The handle to release now, if it is time (under the lock)."""
        handle = None
        if self._closed and self._calls == 0:
            handle, self._handle = self._handle, None
        return handle

    def wait_released(self) -> None:
        """Waits until the handle is released (close() first)."""
        self._released.wait()

    def _release_now(self, handle: Any) -> None:
        if handle is None:
            return
        if not isinstance(threading.current_thread(), threading._DummyThread):
            self._finish(handle)
            return
        # On a thread the library runs (a handler on the expiry thread): the
        # release joins that thread, so it runs on a Python thread, not a
        # daemon (as the library's thread is), which the interpreter waits
        # for at exit (a library thread still running
        # a handler then would enter a finalizing interpreter).
        try:
            name = f"libsess: {self._what} release"
            threading.Thread(target=self._finish, args=(handle,), name=name, daemon=False).start()
        except RuntimeError:  # the interpreter is shutting down: no new threads
            self._finish(handle)

    def _finish(self, handle: Any) -> None:
        try:
            self._release(handle)
        finally:
            self._released.set()
        raise_interrupt()  # a Session_OnEnd the release ran


_O = TypeVar("_O", bound="Owner")


class Owner:
    """Base of the public objects that own a SharedHandle (``_shared``):
    released by close(), at the end of a with block, or, with a
    ResourceWarning, when collected (then, while the callbacks the handle
    keeps alive still live)."""

    _shared: SharedHandle

    def close(self) -> None:
        """Releases the handle (idempotent)."""
        self._shared.close()

    def __enter__(self: _O) -> _O:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        shared = getattr(self, "_shared", None)
        if shared is not None:
            shared.collected(self)


#: What _at_exit releases, held weakly (each owner releases its handle
#: when it is collected): owned sessions, and every SharedHandle.
_sessions: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()  # by id(): mappings are unhashable
_shared: "weakref.WeakSet[SharedHandle]" = weakref.WeakSet()


def discard_at_exit(session: Any) -> None:
    """Registers an owned session (see _at_exit)."""
    _sessions[id(session)] = session


@atexit.register
def _at_exit() -> None:
    """Before the interpreter finalizes (when a thread the library runs
    could no longer call into Python without aborting the process):
    discards the sessions still open, then closes every application and
    site, which stops and joins their expiry threads (Session_OnEnd runs
    for the stored sessions). A call another thread is making (a wait for
    a session's lock) puts its handle's release off until it returns:
    waited for, or that expiry thread would run on into finalization."""
    for session in list(_sessions.values()):
        session._drop()
    handles = list(_shared)
    for shared in handles:
        try:
            shared.close()
        except BaseException as e:  # a Session_OnEnd interrupted: the others are closed still
            sys.excepthook(type(e), e, e.__traceback__)
    for shared in handles:
        shared.wait_released()
