"""Python values <-> VARIANTs, through a session (copied in and out)."""

import array
import ctypes
import datetime
import decimal
import math
import time
import typing

import pytest

import libsess
import libsess.values


@pytest.fixture
def session():
    app = libsess.App()
    with app.create() as s:
        yield s
        s.discard()
    app.close()


@pytest.mark.parametrize(
    "value",
    [
        "Arthur",
        "Köln ✓",
        "",
        0,
        -(1 << 31),
        (1 << 31) - 1,
        1 << 40,
        -(1 << 63),
        2.5,
        -0.0,
        True,
        False,
        None,
        libsess.Empty,
        decimal.Decimal("12.3456"),
        decimal.Decimal("-922337203685477.5808"),
        datetime.datetime(2024, 1, 15, 12, 0),
        datetime.datetime(2026, 12, 4, 19, 0, 0, 123000),
        datetime.datetime(1899, 12, 29, 6, 0),
        datetime.datetime(100, 1, 1),
        b"",
        b"\x00\xffbinary\x00",
        ["Chris", 1, 2.5, None, libsess.Empty, [True, "nested"], b"bytes"],
    ],
)
def test_round_trip(session, value):
    session["v"] = value
    back = session["v"]
    assert back == value
    assert type(back) is type(value)


def test_value_admits_every_type_a_session_stores(session):
    """libsess.Value, the annotation of `s[name] = value`, names each type
    the conversion takes (type checkers refused a tuple)."""
    hint = typing.get_type_hints(libsess.Session.__setitem__)["value"]
    types = tuple(typing.get_origin(t) or t for t in typing.get_args(hint))
    values = [None, libsess.Empty, True, 1, 1.5, "a", decimal.Decimal(1), datetime.datetime(2024, 1, 1)]
    values += [b"a", bytearray(b"a"), memoryview(b"a"), ["a", [1]], ("a", 1)]
    for value in values:
        session["v"] = value
        assert isinstance(value, types), type(value)


def stored_type(session, name):
    """The variant type stored under `name`."""
    with libsess.values.Variant() as v:
        session._call(libsess._lib.sess_value_get, name.encode(), v.ptr)
        return v.ptr.vt


def test_empty_and_null_keep_their_types(session):
    """A value read and written back keeps its type: Empty (the value a C
    host or ASP page may store, and of array elements never set) read as
    None and was written back as Null."""
    lib = libsess._lib
    with libsess.values.Variant() as empty:
        session._call(lib.sess_value_set, b"e", empty.ptr)
    session["n"] = None
    assert session["e"] is libsess.Empty and session["n"] is None
    session["e"], session["n"] = session["e"], session["n"]
    assert (stored_type(session, "e"), stored_type(session, "n")) == (lib.SESS_VT_EMPTY, lib.SESS_VT_NULL)
    array = libsess._ffi.new("sess_array **")
    libsess._native.check(lib.sess_array_create(2, array))  # two Empty elements
    with libsess.values.Variant() as v:
        v.ptr.vt, v.ptr.v.parray = lib.SESS_VT_ARRAY | lib.SESS_VT_VARIANT, array[0]
        session._call(lib.sess_value_set, b"a", v.ptr)
    assert session["a"] == [libsess.Empty, libsess.Empty]
    assert session.interface().get("Value", "missing") is libsess.Empty  # as ASP's Session("missing")
    assert not libsess.Empty and repr(libsess.Empty) == "libsess.Empty"


@pytest.mark.parametrize("store", ["in-process", "lmdb", "redis"])
def test_bytes_are_arrays_of_ui1_in_every_store(store, tmp_path, request):
    """bytes (and bytearray, and a memoryview of bytes) are stored as ASP
    stores binary data, VT_ARRAY | VT_UI1, and read back as bytes, from
    every store (it was a TypeError): empty, large, and inside arrays."""
    options = {}
    if store == "lmdb":
        options["lmdb"] = {"path": tmp_path, "map_size": 64 << 20}
    elif store == "redis":
        options["redis"] = request.getfixturevalue("redis_url")
    large = bytes(range(256)) * 12_288  # 3 MiB
    values = [b"", b"\x00\xff\x00", bytearray(b"ab"), memoryview(b"xyz"), large]
    limits = {"max_value_bytes": 4 << 20, "max_session_bytes": 8 << 20}
    with libsess.App(**limits, **options) as app:
        with app.create() as s:
            for i, value in enumerate(values):
                s[f"v{i}"] = value
            s["nested"] = [b"", [b"\x01"]]
            sid = s.id
        with app.open(sid) as s:  # read back from the store
            for i, value in enumerate(values):
                back = s[f"v{i}"]
                assert type(back) is bytes and back == bytes(value), i
                assert stored_type(s, f"v{i}") == libsess._lib.SESS_VT_ARRAY | libsess._lib.SESS_VT_UI1
            assert s["nested"] == [b"", [b"\x01"]]
            s["v1"] = s["v1"]  # read and written back: still bytes
            assert stored_type(s, "v1") == libsess._lib.SESS_VT_ARRAY | libsess._lib.SESS_VT_UI1


def test_a_bytearray_is_copied_in(session):
    data = bytearray(b"abc")
    session["b"] = data
    data[0] = ord("x")
    assert session["b"] == b"abc"


def test_a_memoryview_of_unsigned_bytes_with_a_byte_order_is_stored(session):
    """Unsigned bytes whose format names a byte order ("<B": ctypes'
    c_ubyte arrays) are unsigned bytes all the same (one byte has no
    order): stored as bytes, not refused as another type."""
    data = (ctypes.c_ubyte * 3)(1, 2, 255)
    assert memoryview(data).format == "<B"
    session["c"] = memoryview(data)
    assert session["c"] == b"\x01\x02\xff"


def test_tuples_come_back_as_lists(session):
    session["t"] = ("a", 1)
    assert session["t"] == ["a", 1]


def test_aware_datetimes_are_stored_in_utc(session):
    paris = datetime.timezone(datetime.timedelta(hours=1))
    session["d"] = datetime.datetime(2024, 1, 15, 13, 0, tzinfo=paris)
    assert session["d"] == datetime.datetime(2024, 1, 15, 12, 0)


@pytest.mark.parametrize(
    "value", [datetime.datetime.min, datetime.datetime(99, 12, 31, 23, 59, 59, 999000), datetime.datetime(50, 6, 1)]
)
def test_dates_outside_what_a_date_holds(session, value):
    """A DATE holds 100-01-01 to 9999-12-31 (sess_variant_set_date): an
    earlier datetime is refused, not stored as a value no conversion takes."""
    with pytest.raises(libsess.InvalidArgument):
        session["d"] = value
    assert "d" not in session


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(9999, 12, 31, 23, 0, tzinfo=datetime.timezone(-datetime.timedelta(hours=5))),
        datetime.datetime(1, 1, 1, 0, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
    ],
)
def test_aware_dates_whose_utc_time_python_cannot_hold(session, value):
    """An aware datetime whose UTC time is past datetime's own range is
    outside a DATE's too: InvalidArgument, as for any date outside it."""
    with pytest.raises(libsess.InvalidArgument):
        session["d"] = value
    assert "d" not in session


def test_a_tzinfo_without_an_offset_is_naive(session, monkeypatch):
    """A datetime whose tzinfo gives no UTC offset is naive (Python's own
    rule): stored as it reads, not moved from the machine's local time."""

    class Floating(datetime.tzinfo):
        def utcoffset(self, dt):
            return None

    monkeypatch.setenv("TZ", "Etc/GMT-9")
    time.tzset()
    try:
        session["d"] = datetime.datetime(2024, 1, 15, 12, 0, tzinfo=Floating())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert session["d"] == datetime.datetime(2024, 1, 15, 12, 0)


def test_decimal_rounds_to_four_places(session):
    session["cy"] = decimal.Decimal("1.23455")
    assert session["cy"] == decimal.Decimal("1.2346")


@pytest.mark.parametrize(
    "value", [1 << 64, -(1 << 63) - 1, *map(decimal.Decimal, ["1e20", "1e30", "Infinity", "-Infinity", "NaN", "sNaN"])]
)
def test_too_large_numbers(session, value):
    with pytest.raises(OverflowError):
        session["big"] = value
    assert "big" not in session


def test_integers_past_i8_are_ui8_and_read_back_as_written(session):
    """A VT_UI8 (a C host may store one) reads as an int past 2**63 - 1,
    and writing it back stores it again (it raised OverflowError)."""
    for value in [1 << 63, (1 << 64) - 1]:
        session["big"] = value
        assert session["big"] == value
        session["big"] = session["big"]
        assert session["big"] == value
        assert session.value_txt("big") == str(value)
    session["small"] = (1 << 63) - 1
    assert session["small"] == (1 << 63) - 1


def test_currency_ignores_the_callers_decimal_context(session):
    with decimal.localcontext(decimal.Context(prec=6, rounding=decimal.ROUND_DOWN, traps=[decimal.Inexact])):
        session["cy"] = decimal.Decimal("123456.78915")
        assert session["cy"] == decimal.Decimal("123456.7892")
        session["cy"] = decimal.Decimal("-922337203685477.5808")
        assert session["cy"] == decimal.Decimal("-922337203685477.5808")
        session["cy"] = decimal.Decimal("0E+100")
        assert session["cy"] == 0


@pytest.mark.parametrize(
    "value", [{"a": 1}, object(), 1j, memoryview(b"abcd")[::2], memoryview(array.array("I", [1]))]
)
def test_unstorable_types(session, value):
    with pytest.raises(TypeError):
        session["x"] = value
    assert len(session) == 0


def test_arrays_are_copied_by_value(session):
    """Seed 004: arrays are stored by value."""
    names = ["Chris", "Julie", "Vikram", "Kelly"]
    session["arystrUserNames"] = names
    names2 = session["arystrUserNames"]
    names2[1] = "Mark"
    names[0] = "changed"
    assert session["arystrUserNames"] == ["Chris", "Julie", "Vikram", "Kelly"]
    session["arystrUserNames"] = names2
    assert session["arystrUserNames"][1] == "Mark"


def test_a_list_that_contains_itself_is_invalid_argument(session):
    """A list holding itself (directly, or through a tuple) is no array:
    InvalidArgument (a ValueError, as json's "circular reference") naming
    it, not a RecursionError after building hundreds of arrays, and
    nothing is stored; a list held twice but not inside itself is fine."""
    looped = [1]
    looped.append(looped)
    through_tuple = ["a"]
    through_tuple.append(("b", through_tuple))
    for value in (looped, through_tuple):
        with pytest.raises(libsess.InvalidArgument, match="contains itself"):
            session["v"] = value
        with pytest.raises(libsess.InvalidArgument, match="contains itself"):
            session.interface().put("Value", "v", value)
        assert "v" not in session
    shared = [1]
    session["v"] = [shared, shared, (shared,)]
    assert session["v"] == [[1], [1], [[1]]]


def test_value_txt_uses_the_session_lcid(session):
    """X++'s valueTxt: the value as text under the session's LCID."""
    session["amount"] = 1234.5
    session["when"] = datetime.datetime(1999, 12, 31, 18, 30)
    assert session.value_txt("amount") == "1234.5"
    session.lcid = 1036
    assert session.value_txt("amount") == "1234,5"
    assert session.value_txt("when") == "31/12/1999 18:30:00"
    assert session.value_txt("missing") == ""
    assert session.value_txt("city", "Köln") == "Köln"
    assert session["city"] == "Köln"
    session["list"] = [1]
    with pytest.raises(libsess.TypeMismatch) as e:
        session.value_txt("list")
    assert e.value.hresult == libsess._lib.SESS_DISP_E_TYPEMISMATCH


def test_dates_python_cannot_hold(session):
    """A hand-built DATE before year 1 (datetime cannot hold it; the library
    refuses to store it) is refused by the binding's reader too."""
    with libsess.values.Variant() as v:
        v.ptr.vt = libsess._lib.SESS_VT_DATE
        v.ptr.v.date = -693960.0  # year 0
        with pytest.raises(libsess.TypeMismatch) as e:
            libsess.values.load(v.ptr)
    assert e.value.hresult == libsess._lib.SESS_DISP_E_OVERFLOW
    assert "outside" in e.value.message


@pytest.mark.parametrize(
    "date, expected",
    [
        # The last DATE (9999-12-31's last half millisecond) stays in range.
        (math.nextafter(2958466.0, 0.0), datetime.datetime(9999, 12, 31, 23, 59, 59, 999000)),
        # 100-01-01's last DATE stays on its day (the time counts up).
        (math.nextafter(-657435.0, 0.0), datetime.datetime(100, 1, 1, 23, 59, 59, 999000)),
        (math.nextafter(45307.0, 0.0), datetime.datetime(2024, 1, 15, 23, 59, 59, 999000)),
        (math.nextafter(-2.0, 0.0), datetime.datetime(1899, 12, 29, 23, 59, 59, 999000)),
        (45306.0 + 0.4 / 86_400_000, datetime.datetime(2024, 1, 15)),
        (45306.0 + 0.6 / 86_400_000, datetime.datetime(2024, 1, 15, 0, 0, 0, 1000)),
    ],
)
def test_a_dates_time_reads_to_the_millisecond_within_its_day(date, expected):
    """As sess::variant::from_ole_date in C++: the time of day to the
    nearest millisecond, its last half millisecond as 23:59:59.999."""
    with libsess.values.Variant() as v:
        v.ptr.vt = libsess._lib.SESS_VT_DATE
        v.ptr.v.date = date
        assert libsess.values.load(v.ptr) == expected


def test_nan_dates_are_type_mismatches():
    with libsess.values.Variant() as v:
        v.ptr.vt = libsess._lib.SESS_VT_DATE
        v.ptr.v.date = math.nan
        with pytest.raises(libsess.TypeMismatch) as e:
            libsess.values.load(v.ptr)
    assert e.value.hresult == libsess._lib.SESS_DISP_E_OVERFLOW
