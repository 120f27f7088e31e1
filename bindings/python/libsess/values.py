"""Python values <-> VARIANTs: str BSTR, int I4/I8 (UI8 past I8), float R8, bool BOOL,
Decimal CY, datetime DATE, None NULL, Empty EMPTY, bytes (bytearray,
memoryview) array of UI1, list/tuple array of VARIANT (by value),
ComObject UNKNOWN."""

from __future__ import annotations

import datetime
import decimal
import enum
import math
from typing import Any, List, Optional, Tuple, Union

from ._native import Turn, c_text, check, ffi, lib, unpack_text, utf8
from .errors import error_for

class EmptyType(enum.Enum):
    """The type of `Empty`, its only value."""

    Empty = "Empty"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "libsess.Empty"


#: VT_EMPTY, VBScript's Empty: the value of a variable never assigned (a
#: VARIANT holding nothing), as distinct from Null (None, SQL's unknown).
#: A stored Empty reads back as Empty, so `s[k] = s[k]` keeps its type.
#: False, as in VBScript; compare with `is`.
Empty = EmptyType.Empty

#: What a session value can be (arrays of these, nested: lists or tuples).
Value = Union[
    None,
    EmptyType,
    bool,
    int,
    float,
    str,
    decimal.Decimal,
    datetime.datetime,
    bytes,
    bytearray,
    memoryview,
    List[Any],
    Tuple[Any, ...],
    "ComObject",
]

_DAY_MS = 86_400_000
_OLE_EPOCH = datetime.datetime(1899, 12, 30)
_I4 = (-(1 << 31), (1 << 31) - 1)
_I8 = (-(1 << 63), (1 << 63) - 1)
_UI8_MAX = (1 << 64) - 1
# CY conversions' own context, whatever the caller's: room for CY's 19
# digits and more, rounding once, half-even, to 4 places.
_CY = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
_CY_UNIT = decimal.Decimal("0.0001")


class ComObject:
    """A reference to a COM-style object (VT_UNKNOWN / VT_DISPATCH: a
    static object, or the Session's own object from Session.interface()):
    released when this is collected. Objects with IDispatch are callable
    late-bound by name, as a script host calls them: `get`, `put`, `call`.
    The Session's object, those reached through it and objects read from
    a session's Contents share its session's `turn`: their calls take
    turns with the session's, and fail with WrongState once its unit of
    work has ended."""

    def __init__(self, punk: Any, *, adopt: bool = False, turn: Optional[Turn] = None) -> None:
        if not adopt:
            punk.vtbl.add_ref(punk)
        self._punk = ffi.gc(punk, lambda p: p.vtbl.release(p))
        self._turn = Turn() if turn is None else turn

    @property
    def pointer(self) -> Any:
        """The object's `sess_unknown *` (still owned by this wrapper)."""
        return self._punk

    @property
    def target(self) -> Any:
        """The Python object behind it, if a Python factory made it; else None."""
        from .objects import target_of

        return target_of(self._punk)

    def get(self, name: str, *args: Any) -> Any:
        """Property get by name (`Session.Timeout`, `Contents.Item(2)`)."""
        return self._invoke(name, lib.SESS_DISPATCH_PROPERTYGET | lib.SESS_DISPATCH_METHOD, args)

    def put(self, name: str, *args: Any) -> None:
        """Property put by name; the new value last (`put("Value", "k", v)`
        is `Session("k") = v`)."""
        self._invoke(name, lib.SESS_DISPATCH_PROPERTYPUT, args)

    def call(self, name: str, *args: Any) -> Any:
        """Method call by name (`call("Abandon")`, `call("Remove", "k")`)."""
        return self._invoke(name, lib.SESS_DISPATCH_METHOD, args)

    def _invoke(self, name: str, flags: int, args: Any) -> Any:
        with self._turn:
            if self._turn.ended:
                raise error_for(lib.SESS_E_OBJECT_DETACHED, "this object's session has ended")
            return self._invoke_in_turn(name, flags, args)

    def _invoke_in_turn(self, name: str, flags: int, args: Any) -> Any:
        out = ffi.new("void **")
        hr = self._punk.vtbl.query_interface(self._punk, ffi.addressof(lib.SESS_IID_IDISPATCH), out)
        if hr == lib.SESS_E_NOINTERFACE:  # no member is callable by name (VBScript's error 438)
            raise error_for(lib.SESS_DISP_E_UNKNOWNNAME, f"{name!r} cannot be called by name: the object has no IDispatch")
        check(hr)
        # Every IDispatch vtable starts alike: call through the Session's shape.
        disp = ffi.gc(ffi.cast("sess_session_object *", out[0]), lambda p: p.vtbl.release(p))
        text = ffi.new("char[]", c_text(name))
        names = ffi.new("char *[]", [text])
        dispid = ffi.new("int32_t *")
        check(disp.vtbl.get_ids_of_names(disp, names, 1, lib.SESS_LOCALE_USER_DEFAULT, dispid))
        held: list[Variant] = []
        try:
            for a in reversed(args):  # DISPPARAMS: last first
                held.append(Variant.holding(a))
            values = ffi.new("sess_variant[]", len(held))
            for i, v in enumerate(held):
                ffi.memmove(ffi.addressof(values[i]), v.ptr, ffi.sizeof("sess_variant"))
            put_id = ffi.new("int32_t *", lib.SESS_DISPID_PROPERTYPUT)
            params = ffi.new("sess_dispparams *")
            params.args, params.arg_count = values, len(held)
            if flags == lib.SESS_DISPATCH_PROPERTYPUT:
                params.named_args, params.named_count = put_id, 1
            with Variant() as result:
                check(disp.vtbl.invoke(disp, dispid[0], lib.SESS_LOCALE_USER_DEFAULT, flags, params, result.ptr, ffi.NULL))
                return load(result.ptr, self._turn)
        finally:
            for v in held:
                v.__exit__()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComObject) and self._punk == other._punk

    def __hash__(self) -> int:
        return hash(int(ffi.cast("uintptr_t", self._punk)))


def to_ole_date(value: datetime.datetime) -> float:
    """OLE Automation date of `value` to the millisecond (aware datetimes
    are taken in UTC; before 1899-12-30 the day counts down, the time up)."""
    # Aware: less its offset (a tzinfo giving none is naive), as a timedelta
    # from the epoch, which holds times past the ends of datetime's range.
    offset = value.utcoffset() or datetime.timedelta(0)
    ms = (value.replace(tzinfo=None) - _OLE_EPOCH - offset) // datetime.timedelta(milliseconds=1)
    days, rest = divmod(ms, _DAY_MS)
    return days - rest / _DAY_MS if days < 0 else days + rest / _DAY_MS


def from_ole_date(date: float) -> datetime.datetime:
    """The naive datetime an OLE Automation date stands for: its day, and its
    time of day to the nearest millisecond within that day (the last half
    millisecond of a day reads as its 23:59:59.999, so 9999-12-31's stays in
    the range), as C++'s sess::variant::from_ole_date reads it."""
    if not math.isfinite(date):
        raise error_for(lib.SESS_DISP_E_OVERFLOW, f"DATE {date} is not a date")
    days = int(date)
    ms = days * _DAY_MS + min(round(abs(date - days) * _DAY_MS), _DAY_MS - 1)
    try:
        return _OLE_EPOCH + datetime.timedelta(milliseconds=ms)
    except OverflowError as e:
        raise error_for(lib.SESS_DISP_E_OVERFLOW, f"DATE {date} is outside the dates Python holds") from e


def store(value: Any, out: Any, within: Tuple[int, ...] = ()) -> None:
    """Writes `value` into the initialised, empty `sess_variant *out`;
    `within`: the id()s of the lists and tuples being stored around it."""
    if value is None:
        out.vt = lib.SESS_VT_NULL
    elif value is Empty:
        out.vt = lib.SESS_VT_EMPTY
    elif isinstance(value, bool):
        out.vt = lib.SESS_VT_BOOL
        out.v.boolVal = lib.SESS_VARIANT_TRUE if value else lib.SESS_VARIANT_FALSE
    elif isinstance(value, int):
        if _I4[0] <= value <= _I4[1]:
            out.vt, out.v.lVal = lib.SESS_VT_I4, value
        elif _I8[0] <= value <= _I8[1]:
            out.vt, out.v.llVal = lib.SESS_VT_I8, value
        elif 0 <= value <= _UI8_MAX:
            out.vt, out.v.ullVal = lib.SESS_VT_UI8, value
        else:
            raise OverflowError(f"{value} does not fit a 64-bit integer (VT_I8 or VT_UI8)")
    elif isinstance(value, float):
        out.vt, out.v.dblVal = lib.SESS_VT_R8, value
    elif isinstance(value, str):
        data = utf8(value, lib.SESS_E_INVALIDARG)
        check(lib.sess_variant_set_bstr(out, data, len(data)))
    elif isinstance(value, decimal.Decimal):
        out.vt, out.v.cyVal = lib.SESS_VT_CY, _to_cy(value)
    elif isinstance(value, datetime.datetime):
        check(lib.sess_variant_set_date(out, to_ole_date(value)))  # 100-01-01 to 9999-12-31
    elif isinstance(value, (bytes, bytearray, memoryview)):
        _store_bytes(value, out)
    elif isinstance(value, (list, tuple)):
        _store_array(value, out, within)
    elif isinstance(value, ComObject):
        value.pointer.vtbl.add_ref(value.pointer)
        out.vt, out.v.punkVal = lib.SESS_VT_UNKNOWN, value.pointer
    else:
        raise TypeError(f"a session cannot hold a value of type {type(value).__name__}")


def _to_cy(value: decimal.Decimal) -> int:
    """A CY's integer (the amount times 10,000): `value` rounded half-even
    to 4 places; OverflowError if it is not finite or does not fit."""
    too_large = OverflowError(f"{value} does not fit a currency (VT_CY)")
    if not value.is_finite():
        raise too_large
    try:
        scaled = int(value.quantize(_CY_UNIT, context=_CY).scaleb(4, _CY))
    except decimal.InvalidOperation:  # more digits than _CY holds: far past CY
        raise too_large from None
    if not _I8[0] <= scaled <= _I8[1]:
        raise too_large
    return scaled


def _store_bytes(data: Union[bytes, bytearray, memoryview], out: Any) -> None:
    """`data` as a VT_ARRAY | VT_UI1 (a copy): a memoryview must be of
    unsigned bytes (format "B", with or without a byte order: ctypes'
    c_ubyte arrays are "<B") and C-contiguous, else TypeError."""
    view = memoryview(data)
    if view.format.lstrip("@=<>!") != "B" or not view.c_contiguous:
        raise TypeError("a session holds only C-contiguous memoryviews of unsigned bytes (format 'B')")
    array = ffi.new("sess_array **")
    check(lib.sess_array_create_bytes(ffi.from_buffer(view), view.nbytes, array))
    out.vt = lib.SESS_VT_ARRAY | lib.SESS_VT_UI1
    out.v.parray = array[0]


def _store_array(items: Any, out: Any, within: Tuple[int, ...]) -> None:
    """`items` as a VT_ARRAY | VT_VARIANT (a deep copy). One inside
    itself (`within`) has no copy: InvalidArgument, as json refuses it,
    before recursion would."""
    if id(items) in within:
        raise error_for(lib.SESS_E_INVALIDARG, f"a {type(items).__name__} that contains itself cannot be stored")
    within += (id(items),)
    array = ffi.new("sess_array **")
    check(lib.sess_array_create(len(items), array))
    try:
        for i, item in enumerate(items):
            with Variant.holding(item, within) as element:
                check(lib.sess_array_set(array[0], i, element.ptr))
    except BaseException:
        lib.sess_array_destroy(array[0])
        raise
    out.vt = lib.SESS_VT_ARRAY | lib.SESS_VT_VARIANT
    out.v.parray = array[0]


def load(v: Any, turn: Optional[Turn] = None) -> Any:
    """The Python value of `sess_variant *v` (copied out); objects in it
    share `turn` if given (see ComObject)."""
    vt = v.vt
    if vt == lib.SESS_VT_EMPTY:
        return Empty
    if vt == lib.SESS_VT_NULL:
        return None
    if vt == lib.SESS_VT_BSTR:
        return unpack_text(v.v.bstrVal.ptr, v.v.bstrVal.len)
    if vt == lib.SESS_VT_BOOL:
        return v.v.boolVal != 0
    if vt in _INTEGERS:
        return getattr(v.v, _INTEGERS[vt])
    if vt == lib.SESS_VT_R8:
        return v.v.dblVal
    if vt == lib.SESS_VT_R4:
        return float(v.v.fltVal)
    if vt == lib.SESS_VT_CY:
        return decimal.Decimal(v.v.cyVal).scaleb(-4, _CY)
    if vt == lib.SESS_VT_DATE:
        return from_ole_date(v.v.date)
    if vt == lib.SESS_VT_ARRAY | lib.SESS_VT_VARIANT:
        return _load_array(v.v.parray, turn)
    if vt == lib.SESS_VT_ARRAY | lib.SESS_VT_UI1:
        return _load_bytes(v.v.parray)
    if vt in (lib.SESS_VT_UNKNOWN, lib.SESS_VT_DISPATCH):
        return ComObject(v.v.punkVal, turn=turn) if v.v.punkVal != ffi.NULL else None
    raise error_for(lib.SESS_DISP_E_BADVARTYPE, f"no Python value for variant type {vt}")


_INTEGERS = {
    lib.SESS_VT_I1: "cVal",
    lib.SESS_VT_UI1: "bVal",
    lib.SESS_VT_I2: "iVal",
    lib.SESS_VT_UI2: "uiVal",
    lib.SESS_VT_I4: "lVal",
    lib.SESS_VT_UI4: "ulVal",
    lib.SESS_VT_I8: "llVal",
    lib.SESS_VT_UI8: "ullVal",
    lib.SESS_VT_ERROR: "scode",
}


def _load_array(array: Any, turn: Optional[Turn]) -> List[Any]:
    size = ffi.new("size_t *")
    check(lib.sess_array_length(array, size))
    items = []
    with Variant() as element:
        for i in range(size[0]):
            check(lib.sess_array_get(array, i, element.ptr))
            items.append(load(element.ptr, turn))
    return items


def _load_bytes(array: Any) -> bytes:
    data, size = ffi.new("uint8_t **"), ffi.new("size_t *")
    check(lib.sess_array_bytes(array, data, size))
    return bytes(ffi.buffer(data[0], size[0])) if size[0] else b""


class Variant:
    """A `sess_variant` owned for the length of a with block (cleared at
    its end): VT_EMPTY, or `Variant.holding(value)`."""

    def __init__(self) -> None:
        self.ptr = ffi.new("sess_variant *")
        lib.sess_variant_init(self.ptr)

    @classmethod
    def holding(cls, value: Any, within: Tuple[int, ...] = ()) -> "Variant":
        """A variant holding `value` (see store)."""
        v = cls()
        store(value, v.ptr, within)
        return v

    def __enter__(self) -> "Variant":
        return self

    def __exit__(self, *exc: object) -> None:
        lib.sess_variant_clear(self.ptr)
