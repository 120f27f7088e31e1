"""Python objects as COM-style objects (IUnknown only), so an application
can declare session-scope static objects made by Python factories
(GLOBAL.ASA's <OBJECT RUNAT=Server SCOPE=Session>). The library holds
them by reference (AddRef/Release); each is freed when its last
reference goes. Once the interpreter is finalizing, these callbacks
return at once, touching nothing."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, Dict, List, Optional

from ._native import callback_failed, ffi, lib

#: A static object's factory: gets the declared name, returns the object.
Factory = Callable[[str], Any]

_lock = threading.RLock()  # reentrant: a collected ComObject may Release under it
_live: Dict[int, List[Any]] = {}  # address -> [sess_unknown cdata, Python object, references]


# A fork waits for the table (held briefly by AddRef and Release on any
# thread), so that the child gets it whole and not held by a thread it
# lacks (its first AddRef would wait for ever); the child makes a new lock.
def _before_fork() -> None:
    _lock.acquire()


def _after_fork_in_parent() -> None:
    _lock.release()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


def _address(p: Any) -> int:
    return int(ffi.cast("uintptr_t", p))


def _add_ref(p: Any) -> int:
    if sys.is_finalizing():
        return 0
    with _lock:
        entry = _live[_address(p)]
        entry[2] += 1
        return int(entry[2])


def _release(p: Any) -> int:
    if sys.is_finalizing():
        return 0
    with _lock:
        key = _address(p)
        entry = _live[key]
        entry[2] -= 1
        if entry[2] == 0:
            del _live[key]
        return int(entry[2])


def _query_interface(p: Any, iid: Any, out: Any) -> int:
    if sys.is_finalizing() or ffi.buffer(iid)[:] != ffi.buffer(ffi.addressof(lib.SESS_IID_IUNKNOWN))[:]:
        out[0] = ffi.NULL
        return int(lib.SESS_E_NOINTERFACE)
    _add_ref(p)
    out[0] = p
    return int(lib.SESS_S_OK)


_callbacks = {
    "query_interface": ffi.callback(
        "sess_result(sess_unknown *, const sess_guid *, void **)", _query_interface, error=lib.SESS_E_NOINTERFACE
    ),
    "add_ref": ffi.callback("uint32_t(sess_unknown *)", _add_ref),
    "release": ffi.callback("uint32_t(sess_unknown *)", _release),
}
_vtbl = ffi.new("sess_unknown_vtbl *", _callbacks)


def wrap(target: Any) -> Any:
    """A new COM-style object standing for `target`: a `sess_unknown *`
    holding one reference, which the caller owns."""
    unknown = ffi.new("sess_unknown *", {"vtbl": _vtbl})
    with _lock:
        _live[_address(unknown)] = [unknown, target, 1]
    return unknown


def target_of(p: Any) -> Optional[Any]:
    """The Python object behind `p` if Python made it, else None."""
    with _lock:
        entry = _live.get(_address(p))
        return None if entry is None else entry[1]


def factory_callback(factory: Factory) -> Any:
    """A sess_static_factory_fn calling `factory(name)` (a failure is E_FAIL,
    with the factory's exception as its cause)."""

    def make(_context: Any, name: Any, out: Any) -> int:
        if sys.is_finalizing():
            return int(lib.SESS_E_FAIL)
        try:
            out[0] = wrap(factory(ffi.string(name).decode("utf-8")))
        except BaseException as e:  # a factory's failure must not unwind into C
            callback_failed(e)  # the cause of the E_FAIL the caller gets
            return int(lib.SESS_E_FAIL)
        return int(lib.SESS_S_OK)

    return ffi.callback("sess_static_factory_fn", make, error=lib.SESS_E_FAIL)
