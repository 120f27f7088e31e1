"""The Session object as a mapping, its properties, its unit of work and
its errors; seed 004's scenarios and seed 000's methods in Python."""

import threading

import pytest

import libsess
from libsess import _lib as lib


@pytest.fixture
def app():
    with libsess.App(lock_timeout_ms=200) as a:
        yield a


def stored(app, **values):
    """A stored session holding `values`; its ID."""
    with app.create() as s:
        s.update(values)
        return s.id


def test_mapping_is_case_insensitive_and_ordered(app):
    with app.create() as s:
        s["strFirstName"] = "Arthur"
        s["strMiddleName"] = "Keyton"
        s["strLastName"] = "Weissinger"
        s["STRFIRSTNAME"] = "Art"  # same key: keeps its place and spelling
        assert list(s) == ["strFirstName", "strMiddleName", "strLastName"]
        assert s["strfirstname"] == "Art"
        assert len(s) == 3
        assert "STRLASTNAME" in s and "nope" not in s
        del s["strmiddlename"]
        assert list(s.items()) == [("strFirstName", "Art"), ("strLastName", "Weissinger")]
        with pytest.raises(KeyError):
            s["strMiddleName"]
        with pytest.raises(KeyError):
            del s["strMiddleName"]
        assert s.get("nope", 7) == 7
        s.clear()
        assert len(s) == 0


def test_seed_004_contents_pages(app):
    """SessionPage1.asp stores three values; SessionPage2.asp lists them."""
    with app.create() as page1:
        assert page1.is_new
        for i in (1, 2, 3):
            page1[f"SessionVar{i}"] = f"Session Variable {i}"
        sid = page1.id
    with app.open(sid) as page2:
        assert not page2.is_new
        assert len(page2) == 3
        assert [f"{k}={v}" for k, v in page2.items()] == [
            f"SessionVar{i}=Session Variable {i}" for i in (1, 2, 3)
        ]
        page2["AppStatus"] = "OK"
    with app.open(sid, readonly=True) as s:
        assert list(s)[-1] == "AppStatus"


def test_seed_004_remove_shifts(app):
    with app.create() as s:
        s.update(strFirstName="Arthur", strMiddleName="Keyton", strLastName="Weissinger")
        del s["strMiddleName"]
        assert list(s.values()) == ["Arthur", "Weissinger"]
        assert (s.key_at(1), s.value_at(1)) == ("strLastName", "Weissinger")
        with pytest.raises(libsess.BadIndex) as e:
            s.value_at(2)  # ASP's Session(3): undefined there, an error here
        assert e.value.hresult == lib.SESS_DISP_E_BADINDEX
        assert isinstance(e.value, IndexError)
        with pytest.raises(IndexError):
            s.key_at(-1)
        s.remove_at(0)
        assert list(s) == ["strLastName"]
        assert s.mode == lib.SESS_MODE_INPROC


def test_seed_004_properties(app):
    """Timeout, LCID and CodePage: validated by the library, unchanged on error."""
    with app.create() as s:
        assert (s.timeout, s.lcid, s.codepage) == (20, 1033, 65001)
        s.timeout = 5
        with pytest.raises(libsess.InvalidArgument) as e:
            s.timeout = 0
        assert e.value.hresult == lib.SESS_E_INVALID_TIMEOUT
        assert isinstance(e.value, ValueError)
        assert s.timeout == 5
        s.lcid = 1036
        with pytest.raises(libsess.InvalidArgument) as e:
            s.lcid = 0x12345
        assert e.value.hresult == lib.SESS_E_INVALID_LCID
        assert "LCID" in e.value.message
        assert s.lcid == 1036
        s.codepage = 950
        with pytest.raises(libsess.InvalidArgument):
            s.codepage = 12345
        with pytest.raises(libsess.InvalidArgument):
            s.codepage = -1
        assert s.codepage == 950
        with pytest.raises(TypeError):
            s.timeout = "5"


def test_seed_004_abandon_and_on_end():
    ended = []
    with libsess.App(on_end=lambda s: ended.append((s.abandoned, dict(s)))) as app:
        sid = stored(app, SessionVar1="preferences")
        with app.open(sid) as s:
            s["intUserAge"] = 23
            s.abandon()
            assert s["intUserAge"] // 10 == 2  # readable until the page ends
            assert ended == []
        assert ended == [(True, {"SessionVar1": "preferences", "intUserAge": 23})]
        with pytest.raises(libsess.NotFound) as e:
            app.open(sid)
        assert e.value.hresult == lib.SESS_E_SESSION_NOT_FOUND


def test_seed_004_lazy_creation_and_on_start():
    with libsess.App() as app:
        with app.create() as s:
            assert s.get("x") is None
        assert app.session_count == 0
        stored(app, x=1)
        assert app.session_count == 1
    starts = []

    def on_start(s):
        s["started"] = True
        starts.append(s.id)

    with libsess.App(on_start=on_start) as app:
        with app.create() as s:
            assert s["started"] is True
            assert starts == [s.id]
        assert app.session_count == 1


def test_on_start_failure_is_reported():
    def fail(_s):
        raise RuntimeError("no")

    with libsess.App(on_start=fail) as app:
        with pytest.raises(libsess.SessionError) as e:
            app.create()
        assert e.value.hresult == lib.SESS_E_FAIL


def test_exception_in_with_block_discards(app):
    sid = stored(app, kept=1)
    with pytest.raises(ZeroDivisionError):
        with app.open(sid) as s:
            s["kept"] = 2
            s["lost"] = True
            1 / 0
    with app.open(sid) as s:
        assert dict(s) == {"kept": 1}


def test_readonly_and_locks(app):
    sid = stored(app, a=1)
    with app.open(sid, readonly=True) as r1, app.open(sid, readonly=True) as r2:
        assert r1.readonly and r2["a"] == 1
        with pytest.raises(libsess.ReadOnly) as e:
            r1["a"] = 2
        assert e.value.hresult == lib.SESS_E_READONLY
    with app.open(sid):
        with pytest.raises(libsess.LockTimeout) as timeout:
            app.open(sid)
        assert timeout.value.hresult == lib.SESS_E_LOCK_TIMEOUT
        assert "lock" in str(timeout.value)


def test_errors_and_ended_units(app):
    with pytest.raises(libsess.InvalidArgument) as e:
        app.open("not an id")
    assert e.value.hresult == lib.SESS_E_INVALID_SESSION_ID
    with pytest.raises(libsess.NotFound):
        app.open("AAAAAAAAAAAAAAAAAAAAAA")
    s = app.create()
    sid = s.id
    s.close()
    assert s.id == sid  # the ID stays readable
    with pytest.raises(libsess.WrongState):
        s["x"] = 1
    with pytest.raises(libsess.WrongState):
        s.close()
    with pytest.raises(libsess.InvalidArgument):
        libsess.App(default_timeout_minutes=5, max_timeout_minutes=1)
    with pytest.raises(TypeError):
        libsess.App(no_such_option=1)
    with app.create() as s:
        with pytest.raises(libsess.InvalidArgument) as e:
            s[""] = 1
        assert e.value.hresult == lib.SESS_E_BAD_KEY
        with pytest.raises(ValueError):
            s["a\0b"] = 1


def test_limits():
    with libsess.App(max_items=2) as app:
        with app.create() as s:
            s["a"], s["b"] = 1, 2
            with pytest.raises(libsess.LimitExceeded) as e:
                s["c"] = 3
            assert e.value.hresult == lib.SESS_E_TOO_MANY_ITEMS
            assert list(s) == ["a", "b"]


def test_regenerate_id(app):
    sid = stored(app, user="Arthur")
    with app.open(sid) as s:
        s.regenerate_id()
        new = s.id
    assert new != sid
    with pytest.raises(libsess.NotFound):
        app.open(sid)
    with app.open(new) as s:
        assert s["user"] == "Arthur"


def test_concurrent_units_of_work_lose_no_update():
    threads, increments = 8, 25
    with libsess.App(lock_timeout_ms=30000) as app:
        sid = stored(app, count=0)

        def work():
            for _ in range(increments):
                with app.open(sid) as s:
                    s["count"] += 1

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        with app.open(sid, readonly=True) as s:
            assert s["count"] == threads * increments


class PersonalInfo:
    """A GLOBAL.ASA object: <OBJECT RUNAT=Server SCOPE=Session ID=objInfo>."""

    made = 0

    def __init__(self, name):
        PersonalInfo.made += 1
        self.name = name
        self.PersonalName = "Arthur"


def test_seed_004_static_objects():
    """StaticObjects: declared per application, made per session on first
    use, the same instance for the rest of the unit of work, released
    when the session ends."""
    import gc

    from libsess import objects

    PersonalInfo.made = 0
    with libsess.App(static_objects={"objInfo": PersonalInfo, "objAd": PersonalInfo}) as app:
        with app.create() as s:
            statics = s.static_objects
            assert list(statics) == ["objInfo", "objAd"]
            assert len(statics) == 2
            assert PersonalInfo.made == 0  # made on first use
            info = statics["OBJINFO"]
            assert isinstance(info, libsess.ComObject)
            assert info.target.PersonalName == "Arthur"  # Session.StaticObjects(objInfo).PersonalName
            assert info.target.name == "objInfo"
            assert statics["objInfo"] == info
            assert PersonalInfo.made == 1
            with pytest.raises(KeyError):
                statics["objNone"]
            sid = s.id  # using a static object stores the session
        del info
        gc.collect()
        with app.open(sid) as s:
            assert s.static_objects["objInfo"].target.name == "objInfo"
    gc.collect()
    assert objects._live == {}  # every reference released


def test_static_object_factory_failure():
    def broken(name):
        raise RuntimeError(name)

    with libsess.App(static_objects={"objBroken": broken}) as app:
        with app.create() as s:
            with pytest.raises(libsess.SessionError) as e:
                s.static_objects["objBroken"]
            assert e.value.hresult == lib.SESS_E_FAIL


def test_static_objects_are_empty_without_declarations(app):
    with app.create() as s:
        assert len(s.static_objects) == 0
        assert dict(s.static_objects) == {}
        with pytest.raises(KeyError):
            s.static_objects["objInfo"]


def test_seed_000_iissessionobject_methods(app):
    """X++'s IISSessionObject, method by method, as the Python API names them."""
    with app.create() as s:
        assert len(s.id) == 22                       # getSessionID()
        s.timeout = 5                                # timeout(5)
        assert s.timeout == 5                        # timeout()
        s.lcid = 1031                                # lcid(1031)
        assert s.lcid == 1031
        s.codepage = 1252                            # codePage(1252)
        assert s.codepage == 1252
        s["price"] = 9.75                            # value("price", 9.75)
        assert s["PRICE"] == 9.75                    # value("price")
        assert s.value_txt("price") == "9,75"        # valueTxt("price")
        assert s.value_txt("name", "Arthur") == "Arthur"  # valueTxt("name", "Arthur")
        assert list(s) == ["price", "name"]          # contents()
        assert len(s.static_objects) == 0            # staticObjects()
        s.abandon()                                  # abandon()
        assert s.abandoned


def test_interface_late_bound_by_name(app):
    """X++'s interface(): the Session's COM object, driven by name as a
    script host drives it (get_ids_of_names + invoke)."""
    with app.create() as s:
        obj = s.interface()
        assert obj.get("SessionID") == s.id
        obj.put("Timeout", 9)
        assert s.timeout == 9
        obj.put("Value", "user", "Arthur")           # Session("user") = "Arthur"
        assert s["USER"] == "Arthur"
        assert obj.get("value", "user") == "Arthur"  # names are case-insensitive
        contents = obj.get("Contents")
        assert isinstance(contents, libsess.ComObject)
        assert contents.get("Count") == 1
        assert contents.get("Key", 1) == "user"      # COM collections count from 1
        assert contents.get("Item", 1) == "Arthur"
        contents.call("Remove", "user")
        assert len(s) == 0
        with pytest.raises(libsess.SessionError) as e:
            obj.get("NoSuchMember")
        assert e.value.hresult & 0xFFFFFFFF == 0x80020006  # DISP_E_UNKNOWNNAME
        obj.call("Abandon")
        assert s.abandoned
    with pytest.raises(libsess.WrongState) as e:
        obj.get("Timeout")
    assert e.value.hresult == lib.SESS_E_OBJECT_DETACHED


def test_seed_004_timeout_ends_the_session_and_runs_on_end():
    """Timeout slides with each unit of work; past it, the session ends
    (Session_OnEnd runs, contents readable) and its ID is dead."""
    now = [1_000_000]
    ended = []
    with libsess.App(clock=lambda: now[0], expiry_interval_ms=0, on_end=lambda s: ended.append(dict(s))) as app:
        sid = stored(app, user="Arthur")
        with app.open(sid) as s:
            s.timeout = 1
        now[0] += 50_000
        assert app.expire() == 0
        with app.open(sid) as s:  # slides: another minute from now
            assert s["user"] == "Arthur"
        now[0] += 50_000
        assert app.expire() == 0
        now[0] += 20_000
        assert app.expire() == 1
        assert ended == [{"user": "Arthur"}]
        with pytest.raises(libsess.NotFound):
            app.open(sid)
