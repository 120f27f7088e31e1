"""The Session object: one unit of work on one session, as a
case-insensitive MutableMapping of its Contents."""

from __future__ import annotations

import contextlib
import operator
import sys
import warnings
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, MutableMapping, NoReturn, Optional, Type, cast

from ._native import Turn, c_text, check, discard_at_exit, ffi, lib, report_interrupt, text_out
from .errors import SessionError, error_for
from .values import ComObject, Value, Variant, load

if TYPE_CHECKING:
    from .app import App


class Session(MutableMapping[str, Any]):
    """A session's Contents (keys case-insensitive, in insertion order,
    values copied in and out: see libsess.Value for the types) and its
    properties; equal to a mapping with the same keys, compared
    case-insensitively, and equal values. As a context manager it
    commits on a normal exit and discards (undoes this unit of work) when
    the block raises (a discard that fails then does not replace the
    block's exception: it is noted on it). Handles lent by the library (Session_OnEnd, the WSGI
    middleware) end with their owner and cannot be closed. A session
    collected (or still open at interpreter exit) without being closed is
    discarded, with a ResourceWarning. Sessions cannot be copied or
    pickled: each is one unit of work. Threads sharing one take turns
    (the C handle is one thread's at a time)."""

    def __init__(self, handle: Any = None, *, owned: bool, owner: Optional["App"] = None) -> None:
        #: The `sess_session **` holding the handle (NULL: none yet, or
        #: ended). A call starting an owned session fills it in place, so
        #: the handle is this object's as the call returns, whatever
        #: exception (Ctrl-C) comes next: released when it is collected.
        self._cell = ffi.new("sess_session **", ffi.NULL if handle is None else handle)
        # The C handle is one thread's at a time: threads sharing this
        # object take turns (reentrant: callbacks may come back to it).
        self._turn = Turn()
        self._owned = owned
        self._owner = owner  # keeps the application's callbacks alive while the session is
        self._ended_id: Optional[str] = None  # the ID, once the unit of work ended
        if owned:
            discard_at_exit(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Session is a unit of work, not a value: it cannot be copied or pickled")

    @property
    def _handle(self) -> Any:
        """The C handle (in `_cell`), or None."""
        handle = self._cell[0]
        return None if handle == ffi.NULL else handle

    @_handle.setter
    def _handle(self, handle: Any) -> None:
        self._cell[0] = ffi.NULL if handle is None else handle

    # -- unit of work ---------------------------------------------------

    def __enter__(self) -> "Session":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._handle is None:
            return
        if exc_type is None:
            self.close()
            return
        try:
            self.discard()
        except SessionError as failed:
            # The block's exception goes on, as after a database
            # connection's failed rollback; the failure is noted on it.
            if exc is not None and hasattr(exc, "add_note"):
                exc.add_note(f"libsess: the session could not be discarded: {failed}")

    def close(self) -> None:
        """Commits (applying Abandon) and ends the unit of work."""
        with self._take() as handle:
            check(lib.sess_session_close(handle))

    def discard(self) -> None:
        """Ends the unit of work undoing its changes."""
        with self._take() as handle:
            check(lib.sess_session_discard(handle))

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None and self._owned:
            self._drop()
            if not sys.is_finalizing():
                warnings.warn("a Session was never closed: its changes were discarded", ResourceWarning, source=self)

    def _drop(self) -> None:
        """Discards an owned session still open, ignoring failures."""
        with self._turn:
            handle, self._handle = self._handle, None
            self._turn.ended = True
            if handle is not None:
                lib.sess_session_discard(handle)
                report_interrupt()  # a Session_OnEnd the discard ran (Abandon)

    @contextlib.contextmanager
    def _take(self) -> Iterator[Any]:
        """The owned handle, forgotten here, for the call that ends it (in
        this thread's turn). Host code that a call on the handle runs (a
        factory) cannot end it: the library refuses that and keeps the
        handle, so it is refused here, before the handle is forgotten."""
        if not self._owned:
            raise error_for(lib.SESS_E_WRONG_STATE, "a lent session ends with its owner")
        with self._use() as handle:
            if self._turn.nested:
                message = "a call on this session is running (this code runs inside it): end the session after it returns"
                raise error_for(lib.SESS_E_WRONG_STATE, message)
            self._end()
            yield handle

    def _end(self) -> None:
        """Forgets the handle (its unit of work is ending), keeping the ID;
        waits for a call another thread is making on it."""
        with self._turn:
            try:
                self._ended_id = self.id
            except SessionError:
                self._ended_id = None
            self._handle = None
            self._turn.ended = True

    @contextlib.contextmanager
    def _use(self) -> Iterator[Any]:
        """The handle, held for this thread's call (WrongState once ended)."""
        with self._turn:
            if self._handle is None:
                raise error_for(lib.SESS_E_WRONG_STATE, "the session's unit of work has ended")
            yield self._handle

    def _call(self, fn: Callable[..., int], *args: Any) -> int:
        """`fn(handle, *args)` for this thread (see _use), checked."""
        with self._use() as handle:
            return check(fn(handle, *args))

    def _text(self, fn: Callable[..., int], *args: Any) -> str:
        """The text `fn(handle, *args, buf, buf_len, out_len)` writes."""
        with self._use() as handle:
            return text_out(lambda b, n, o: fn(handle, *args, b, n, o))

    # -- Contents -------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        with Variant() as v:
            if self._call(lib.sess_value_get, _key(name), v.ptr) == lib.SESS_S_FALSE:
                raise KeyError(name)
            # Objects in it share this session's turn: the Session's own
            # object, stored in its Contents, is this handle's.
            return load(v.ptr, self._turn)

    def __setitem__(self, name: str, value: Value) -> None:
        with Variant.holding(value) as v:
            self._call(lib.sess_value_set, c_text(name, lib.SESS_E_BAD_KEY), v.ptr)

    def __delitem__(self, name: str) -> None:
        if self._call(lib.sess_contents_remove, _key(name)) == lib.SESS_S_FALSE:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        with Variant() as v:
            self._call(lib.sess_contents_keys, v.ptr)
            keys = load(v.ptr)
        return iter(keys)

    def __len__(self) -> int:
        count = ffi.new("size_t *")
        self._call(lib.sess_contents_count, count)
        return int(count[0])

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            key = _key(name)
        except KeyError:
            return False
        with Variant() as v:  # the value is copied, not converted
            return bool(self._call(lib.sess_value_get, key, v.ptr) == lib.SESS_S_OK)

    def __eq__(self, other: object) -> bool:
        """Equal to a mapping with the same keys, compared case-insensitively
        (as the library compares them), and equal values."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def clear(self) -> None:
        """Removes every item (RemoveAll); the session stays."""
        self._call(lib.sess_contents_remove_all)

    def key_at(self, index: int) -> str:
        """Key(index), 0-based (past the end: BadIndex, an IndexError)."""
        return self._text(lib.sess_contents_key_at, _index(index))

    def value_at(self, index: int) -> Any:
        """Item(index), 0-based."""
        with Variant() as v:
            self._call(lib.sess_contents_get_at, _index(index), v.ptr)
            return load(v.ptr, self._turn)  # as __getitem__

    def remove_at(self, index: int) -> None:
        """RemoveAt(index), 0-based; later items move down one."""
        self._call(lib.sess_contents_remove_at, _index(index))

    # -- the Session object's properties and methods --------------------

    @property
    def id(self) -> str:
        """SessionID (22 URL-safe characters); still readable after the
        unit of work ended."""
        with self._turn:
            if self._handle is None and self._ended_id is not None:
                return self._ended_id
            return self._text(lib.sess_session_id)

    @property
    def timeout(self) -> int:
        """Timeout in minutes; setting it is validated by the library
        (InvalidArgument, value unchanged)."""
        out = ffi.new("int32_t *")
        self._call(lib.sess_timeout, ffi.NULL, out)
        return int(out[0])

    @timeout.setter
    def timeout(self, minutes: int) -> None:
        new = _int(minutes, "int32_t", lib.SESS_E_INVALID_TIMEOUT)
        self._call(lib.sess_timeout, ffi.new("int32_t *", new), ffi.NULL)

    @property
    def lcid(self) -> int:
        """LCID (drives value-to-text conversion); validated when set."""
        out = ffi.new("uint32_t *")
        self._call(lib.sess_lcid, ffi.NULL, out)
        return int(out[0])

    @lcid.setter
    def lcid(self, lcid: int) -> None:
        new = _int(lcid, "uint32_t", lib.SESS_E_INVALID_LCID)
        self._call(lib.sess_lcid, ffi.new("uint32_t *", new), ffi.NULL)

    @property
    def codepage(self) -> int:
        """CodePage (drives text encoding); validated when set."""
        out = ffi.new("uint32_t *")
        self._call(lib.sess_codepage, ffi.NULL, out)
        return int(out[0])

    @codepage.setter
    def codepage(self, codepage: int) -> None:
        new = _int(codepage, "uint32_t", lib.SESS_E_INVALID_CODEPAGE)
        self._call(lib.sess_codepage, ffi.new("uint32_t *", new), ffi.NULL)

    def value_txt(self, name: str, text: Optional[str] = None) -> str:
        """X++'s valueTxt: the value as text under the session's LCID ("" when
        missing); with `text`, stores it first."""
        key = c_text(name, lib.SESS_E_BAD_KEY)
        return self._text(lib.sess_value_txt, key, ffi.NULL if text is None else c_text(text))

    def abandon(self) -> None:
        """Abandon: contents stay readable until the unit of work ends;
        then Session_OnEnd runs and the ID is dead."""
        self._call(lib.sess_abandon)

    def regenerate_id(self) -> None:
        """A new ID for the same contents (call at login)."""
        self._call(lib.sess_session_regenerate_id)

    @property
    def is_new(self) -> bool:
        """IsNewSession: this unit of work created the session."""
        return self._flag(lib.sess_session_is_new)

    @property
    def readonly(self) -> bool:
        """IsReadOnly: opened shared, never saved."""
        return self._flag(lib.sess_session_is_readonly)

    @property
    def abandoned(self) -> bool:
        """Whether Abandon was called."""
        return self._flag(lib.sess_session_is_abandoned)

    def interface(self) -> ComObject:
        """X++'s interface(): the Session as a COM object (ISessionObject),
        callable late-bound: `s.interface().get("Timeout")`. Its calls fail
        with WrongState once the unit of work has ended."""
        out = ffi.new("sess_unknown **")
        self._call(lib.sess_session_interface, out)
        return ComObject(out[0], adopt=True, turn=self._turn)

    @property
    def static_objects(self) -> Mapping[str, ComObject]:
        """StaticObjects: the declared objects by name (made on first use)."""
        return StaticObjects(self)

    @property
    def mode(self) -> int:
        """Mode: SESS_MODE_INPROC (1), SESS_MODE_REDIS (2), SESS_MODE_CUSTOM (4) or SESS_MODE_LMDB (8)."""
        out = ffi.new("uint32_t *")
        self._call(lib.sess_session_mode, out)
        return int(out[0])

    def _flag(self, fn: Any) -> bool:
        out = ffi.new("bool *")
        self._call(fn, out)
        return bool(out[0])


class StaticObjects(Mapping[str, ComObject]):
    """A session's StaticObjects, read-only, in declaration order; `in`
    makes no object."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __getitem__(self, name: str) -> ComObject:
        with Variant() as v:
            if self._session._call(lib.sess_static_get, _key(name), v.ptr) == lib.SESS_S_FALSE:
                raise KeyError(name)
            return cast(ComObject, load(v.ptr))  # a static object is an object

    def __iter__(self) -> Iterator[str]:
        return iter([self._session._text(lib.sess_static_key_at, i) for i in range(len(self))])

    def __len__(self) -> int:
        count = ffi.new("size_t *")
        self._session._call(lib.sess_static_count, count)
        return int(count[0])

    def __eq__(self, other: object) -> bool:
        """Equal to a mapping with the same names, compared
        case-insensitively, and equal objects."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __contains__(self, name: object) -> bool:
        # Names compare as the library's lookup does: each character
        # folded on its own (see _fold).
        return isinstance(name, str) and any(_fold(name) == _fold(key) for key in self)


def _fold(name: str) -> str:
    """`name` as the library compares Contents keys and StaticObjects'
    names: each character's uppercase (when that is one character)
    lowercased, so "ΟΔΟΣ", "οδοσ" and "οδος" (final sigma) are one name,
    and "ß" (uppercase "SS") stays itself."""
    return "".join(_fold_char(c) for c in name)


def _fold_char(c: str) -> str:
    upper = c.upper()
    return (upper if len(upper) == 1 else c).lower()


def _equal(mine: Mapping[str, Any], other: Mapping[Any, Any]) -> bool:
    """Whether `other` equals `mine`, a case-insensitive mapping: keys
    compared folded (see _fold), as requests' CaseInsensitiveDict compares.
    A mapping with a key that is not text, or two keys that fold alike,
    equals no session."""
    if mine is other:
        return True
    theirs = {}
    for key, value in other.items():
        if not isinstance(key, str):
            return False
        theirs[_fold(key)] = value
    if len(theirs) != len(other):
        return False
    return bool({_fold(key): value for key, value in mine.items()} == theirs)


def _key(name: str) -> bytes:
    """`name` for the C calls that look a key up: KeyError if no key can
    have it (not a str, a NUL, or not encodable: a lone surrogate)."""
    try:
        return c_text(name)
    except (TypeError, ValueError):
        raise KeyError(name) from None


def _integer(value: int) -> int:
    """`value` as an int: an int or anything Python takes as an integer
    (`__index__`, as numpy's integers have), but not a bool."""
    if isinstance(value, bool):
        raise TypeError("expected int, not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"expected int, not {type(value).__name__}") from None


def _index(index: int) -> int:
    """A 0-based index for the C calls (negative: BadIndex)."""
    index = _integer(index)
    if not 0 <= index < 1 << 63:
        raise error_for(lib.SESS_DISP_E_BADINDEX, f"index {index} is out of range")
    return index


def _int(value: int, ctype: str, code: int) -> int:
    """`value` checked to be an integer (see _integer) that fits `ctype`
    (else `code`, the property's InvalidArgument, as the library gives for
    a value it holds)."""
    value = _integer(value)
    bits = ffi.sizeof(ctype) * 8
    low, high = (0, (1 << bits) - 1) if ctype.startswith("u") else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    if not low <= value <= high:
        raise error_for(code, f"{value} is out of range")
    return value
