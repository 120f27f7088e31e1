"""The Session object as a mapping, its properties, its unit of work and
its errors; seed 004's scenarios and seed 000's methods in Python."""

import copy
import datetime
import gc
import pickle
import socket
import sys
import threading
import warnings

import pytest

import libsess
from libsess import _lib as lib
from libsess._native import check


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


def test_a_failed_handler_or_factory_is_the_errors_cause():
    """The E_FAIL of a Session_OnStart or a static object's factory that
    raised carries the Python exception as its __cause__ (it was only
    printed) and its text at the end of its message; the next failure on
    the thread carries neither."""

    def fail(_s):
        raise RuntimeError("no start")

    with libsess.App(on_start=fail) as app:
        with pytest.raises(libsess.SessionError) as e:
            app.create()
        assert repr(e.value.__cause__) == "RuntimeError('no start')"
        assert e.value.message == "Session_OnStart failed: RuntimeError: no start"
    with libsess.App(static_objects={"objBroken": fail}) as app:
        with app.create() as s:
            with pytest.raises(libsess.SessionError) as e:
                s.static_objects["objBroken"]
            assert repr(e.value.__cause__) == "RuntimeError('no start')"
            assert e.value.message == "a static object factory failed: RuntimeError: no start"
        with pytest.raises(libsess.NotFound) as e:
            app.open("A" * 22)
        assert e.value.__cause__ is None
        assert "no start" not in e.value.message


@pytest.mark.parametrize("error", [KeyboardInterrupt("interrupted"), SystemExit(3)])
def test_a_factory_interrupted_is_the_errors_cause(error, capsys):
    """A factory leaving by an exception that is not an Exception
    (KeyboardInterrupt, SystemExit) fails as any other, as a handler does:
    the E_FAIL's cause, not printed and lost."""

    def interrupted(_name):
        raise error

    with libsess.App(static_objects={"obj": interrupted}) as app:
        with app.create() as s:
            with pytest.raises(libsess.SessionError) as e:
                s.static_objects["obj"]
    assert e.value.hresult == lib.SESS_E_FAIL
    assert e.value.__cause__ is error
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("error", [KeyboardInterrupt("interrupted"), SystemExit(3)])
def test_an_interrupted_session_on_end_reaches_its_caller(error, capsys):
    """Ctrl-C (or sys.exit()) in a Session_OnEnd handler that a Python
    call runs (close() applying Abandon, expire(), the application's
    release) is raised by that call once the session has ended: it was
    printed and the program ran on, its interrupt lost. Other failures
    are still only reported."""
    ends = []

    def on_end(s):
        ends.append(s["x"])
        raise error if s["x"] != "report" else RuntimeError("reported")

    clock = [0]
    app = libsess.App(on_end=on_end, clock=lambda: clock[0], expiry_interval_ms=0)
    sid = stored(app, x=1)
    with pytest.raises(type(error)) as e:
        with app.open(sid) as s:
            s.abandon()
    assert e.value is error and ends == [1]
    with pytest.raises(libsess.NotFound):
        app.open(sid)  # ended, and this call raises nothing else
    stored(app, x=2)
    clock[0] += 21 * 60_000
    with pytest.raises(type(error)):
        app.expire()
    assert ends == [1, 2] and app.session_count == 0
    stored(app, x=3)
    with pytest.raises(type(error)):
        app.close()
    assert ends == [1, 2, 3]
    with pytest.raises(libsess.WrongState):
        app.create()
    assert capsys.readouterr().err == ""
    with libsess.App(on_end=on_end) as app:
        with app.create() as s:
            s["x"] = "report"
            s.abandon()
    assert "RuntimeError: reported" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # cffi reports it
def test_an_exception_escaping_the_on_start_wrapper_is_a_failure(monkeypatch):
    """An exception leaving Session_OnStart's wrapper outside the
    handler's own try (a KeyboardInterrupt from a signal arriving as the
    wrapper ends the lent session) made cffi return its default, 0:
    S_OK, so the session was made though its Session_OnStart failed.
    It is E_FAIL."""

    def interrupted(self):
        raise KeyboardInterrupt

    with libsess.App(on_start=lambda s: None) as app:
        monkeypatch.setattr(libsess.Session, "_end", interrupted)
        with pytest.raises(libsess.SessionError) as e:
            app.create()
        monkeypatch.undo()
        assert e.value.hresult == lib.SESS_E_FAIL
        assert app.session_count == 0


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
        with pytest.raises(libsess.InvalidArgument) as e:
            s["a\0b"] = 1
        assert e.value.hresult == lib.SESS_E_BAD_KEY


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


def test_a_python_object_called_by_name_is_member_not_found():
    """A Python static object has no IDispatch: calling it late-bound
    (get/put/call) finds no member, MemberNotFound (an AttributeError), as
    VBScript's "Object doesn't support this property or method", not a
    bare SessionError "no such interface"."""
    with libsess.App(static_objects={"cart": lambda name: []}) as app, app.create() as s:
        cart = s.static_objects["cart"]
        for call in (lambda: cart.get("Count"), lambda: cart.put("Count", 1), lambda: cart.call("Add", 1)):
            with pytest.raises(libsess.MemberNotFound, match="Count|Add") as raised:
                call()
            assert isinstance(raised.value, AttributeError)


def test_static_object_factory_failure():
    def broken(name):
        raise RuntimeError(name)

    with libsess.App(static_objects={"objBroken": broken}) as app:
        with app.create() as s:
            with pytest.raises(libsess.SessionError) as e:
                s.static_objects["objBroken"]
            assert e.value.hresult == lib.SESS_E_FAIL


def test_a_factory_cannot_end_the_session_whose_call_runs_it():
    """Ending a session from host code its own call runs is refused (as
    the library refuses it), and the session stays open: still usable,
    then closed, not left locked."""
    refused = []

    def ends_it(name):
        for end in (s.close, s.discard):
            with pytest.raises(libsess.WrongState) as e:
                end()
            refused.append(e.value.hresult)
        return name

    with libsess.App(static_objects={"obj": ends_it}, lock_timeout_ms=200) as app:
        s = app.create()
        s["a"] = 1
        assert s.static_objects["obj"].target == "obj"
        assert refused == [lib.SESS_E_WRONG_STATE] * 2
        s["a"] = 2
        s.close()
        with app.open(s.id) as again:
            assert again["a"] == 2


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


def test_sessions_and_apps_cannot_be_copied(python):
    """A copy would share the handle, freed twice (a crash): copying and
    pickling refuse."""
    result = python(
        """
        import copy, pickle, libsess
        app = libsess.App()
        s = app.create()
        for obj in (s, app):
            for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
                try:
                    attempt(obj)
                except TypeError:
                    print("refused", end=" ")
        s.close()
        app.close()
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "refused " * 6, "")


def test_closing_an_app_in_use_waits_for_its_calls(python):
    """close() refuses new calls and releases the application when the
    calls in flight end: here an expire() whose Session_OnEnd closes the
    application, then threads racing close()."""
    result = python(
        """
        import threading, time, libsess
        events, now = [], [1_000_000]

        def on_end(s):
            events.append("end " + s["name"])
            if s["name"] == "a":
                app.close()
                try:
                    app.session_count
                except libsess.WrongState as e:
                    events.append(str(e.message))

        app = libsess.App(clock=lambda: now[0], expiry_interval_ms=0, on_end=on_end)
        with app.create() as s:
            s["name"], s.timeout = "a", 1
        with app.create() as s:
            s["name"] = "b"
        now[0] += 120_000
        events.append(f"expired {app.expire()}")
        print(events)

        for _ in range(20):
            app = libsess.App()

            def work():
                while True:
                    try:
                        with app.create() as s:
                            s["a"] = 1
                        app.session_count
                    except libsess.WrongState:
                        return

            threads = [threading.Thread(target=work) for _ in range(2)]
            for t in threads:
                t.start()
            time.sleep(0.005)
            app.close()
            for t in threads:
                t.join()
        print("threads done")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "['end a', 'the application was closed', 'end b', 'expired 1']",  # b ends at the release
        "threads done",
    ]


def test_closing_an_app_from_its_expiry_thread(python):
    """Released from a handler the expiry thread runs, the application
    would have that thread join itself (a panic in the library): the
    release runs on a thread of its own."""
    result = python(
        """
        import threading, libsess
        now, closed = [1_000_000], threading.Event()

        def on_end(s):
            print("on_end", s["name"], flush=True)
            if s["name"] == "a":
                app.close()
                closed.set()

        app = libsess.App(clock=lambda: now[0], expiry_interval_ms=10, on_end=on_end)
        with app.create() as s:
            s["name"], s.timeout = "a", 1
        with app.create() as s:
            s["name"] = "b"
        now[0] += 120_000
        assert closed.wait(60)
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "on_end a\non_end b\n", "")


def test_a_session_used_by_two_threads_is_serialised(python):
    """A session handle is the C library's one thread at a time: threads
    sharing one Session (and its close()) take turns, so a call racing
    close() gets WrongState, not a freed handle (the process crashed)."""
    result = python(
        """
        import threading, libsess

        app = libsess.App()
        outcomes = set()
        for _ in range(100):
            s = app.create()
            s["x"] = "y" * 1000
            go = threading.Event()

            def use():
                go.wait()
                try:
                    for _ in range(1000):
                        s["x"], len(s), list(s), s.static_objects, s.key_at(0)
                        s["z"] = [1, 2, "abc"]
                except libsess.WrongState:
                    outcomes.add("WrongState")

            threads = [threading.Thread(target=use) for _ in range(2)]
            for t in threads:
                t.start()
            go.set()
            s.close()
            for t in threads:
                t.join()
        print(sorted(outcomes))
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "['WrongState']\n", "")


def test_the_sessions_object_takes_turns_with_it(python):
    """The Session's COM object (interface()) and those reached through it
    are the handle's, one thread at a time: threads using it and the
    Session take turns (a call racing another was refused, or ran
    alongside it on one handle), and once the session is closed the
    object's calls are WrongState."""
    result = python(
        """
        import threading, libsess

        app = libsess.App()
        s = app.create()
        obj = s.interface()
        contents = obj.get("Contents")
        value = b"x" * 500_000  # long enough a copy for the calls to overlap
        errors = []

        def use(call):
            try:
                for _ in range(200):
                    call()
            except libsess.SessionError as e:
                errors.append(e.message)

        threads = [
            threading.Thread(target=use, args=(lambda: s.__setitem__("a", value),)),
            threading.Thread(target=use, args=(lambda: obj.put("Value", "b", value),)),
            threading.Thread(target=use, args=(lambda: contents.get("Count"),)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        s.close()
        for o in (obj, contents):
            try:
                o.get("Count")
            except libsess.WrongState:
                errors.append("WrongState")
        print(errors)
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "['WrongState', 'WrongState']\n", "")


def test_the_sessions_object_read_from_its_contents_takes_turns_with_it(python):
    """The Session's own object stored in its Contents and read back
    (s[name], value_at) is still the handle's: a thread using it takes
    turns with one using the Session, as interface()'s object does (it
    had a turn of its own, so the library refused calls as reentrant)."""
    result = python(
        """
        import threading, libsess

        app = libsess.App()
        s = app.create()
        s["me"] = s.interface()
        objs = [s["me"], s.value_at(0)]
        value = b"x" * 200_000  # long enough a copy for the calls to overlap
        errors = []

        def use(call):
            try:
                for _ in range(300):
                    call()
            except libsess.SessionError as e:
                errors.append(e.message)

        threads = [threading.Thread(target=use, args=(lambda: s.__setitem__("a", value),))]
        threads += [threading.Thread(target=use, args=(lambda o=o: o.put("Value", "b", value),)) for o in objs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        s["me"] = None  # the Session's object held in its own Contents
        s.close()
        print(errors)
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "[]\n", "")


def test_exit_waits_for_a_call_that_puts_the_release_off(python):
    """A daemon thread still waiting for a session's lock at exit is a call
    on the application, which puts its release off: exit waits for it (its
    lock timeout), then releases the application. The process aborted
    ("FATAL: exception not rethrown") as the expiry thread, never stopped,
    called the clock in a finalizing interpreter."""
    result = python(
        """
        import threading, time, libsess
        from libsess import _ffi as ffi, _lib as lib

        app = libsess.App(lock_timeout_ms=1000, expiry_interval_ms=1, clock=lambda: int(time.monotonic() * 1000))
        with app.create() as s:
            s["a"] = 1
            sid = s.id
        held = ffi.new("sess_session **")  # the lock, held by C code of the host's own
        assert lib.sess_session_open(app.handle, sid.encode(), 0, held) == 0
        waiting = threading.Event()

        def wait_for_the_lock():
            waiting.set()
            try:
                app.open(sid)
            except libsess.LockTimeout:
                pass

        threading.Thread(target=wait_for_the_lock, daemon=True).start()
        waiting.wait()
        """
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_an_app_closed_by_its_expiry_thread_finishes_before_exit(python):
    """Closed from a handler the expiry thread runs, the application is
    released on a Python thread the interpreter waits for at exit: the
    release joins the expiry thread, so the handler still running when the
    main thread ends finishes (it was cut short, or the process aborted as
    the library's thread entered a finalizing interpreter)."""
    result = python(
        """
        import threading, time, libsess
        now, closed = [1_000_000], threading.Event()

        def on_end(s):
            name = s["name"]
            if name == "a":
                app.close()
                closed.set()
                time.sleep(0.3)  # still in the handler when the main thread ends
            print("on_end", name, flush=True)

        app = libsess.App(clock=lambda: now[0], expiry_interval_ms=10, on_end=on_end)
        with app.create() as s:
            s["name"], s.timeout = "a", 1
        with app.create() as s:
            s["name"] = "b"
        now[0] += 120_000
        assert closed.wait(60)
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "on_end a\non_end b\n", "")


def test_ctrl_c_interrupts_a_wait_for_a_sessions_lock_and_leaves_no_lock(python):
    """Ctrl-C (a signal handler raising) while the main thread waits in
    open() for a session another thread holds ends the wait at once (it
    lasted until the lock came), and the interrupted open keeps no lock:
    once the holder is done, the session opens again (the handle the
    open got was dropped unreleased, the session locked for good)."""
    result = python(
        """
        import os, signal, threading, time, libsess

        app = libsess.App(lock_timeout_ms=30000)
        with app.create() as s:
            s["n"] = 1
            sid = s.id
        holder = app.open(sid)
        holder["n"] = 2
        # Ctrl-C's own handler: a process started in the background by a
        # shell without job control (as CI may start the suite) inherits
        # SIGINT ignored, and Python then installs none.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        threading.Timer(8, holder.close).start()
        started = time.monotonic()
        try:
            app.open(sid)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - started < 6)
        with app.open(sid) as s:
            print(s["n"])
        app.close()
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "interrupted True\n2\n", "")


def test_an_atexit_handler_opens_a_session(python):
    """open() from an atexit handler on the main thread, once no helper
    thread can start, waits on that thread."""
    result = python(
        """
        import atexit, libsess

        app = libsess.App()
        with app.create() as s:
            s["n"] = 1
            sid = s.id

        @atexit.register
        def at_exit():
            with app.open(sid) as s:
                print(s["n"])
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "1\n", "")


def test_an_open_session_outlives_its_app():
    ended = []
    app = libsess.App(on_end=lambda s: ended.append(dict(s)))
    sid = stored(app, kept=1)
    s = app.create()
    app.close()
    assert ended == [{"kept": 1}]  # Session_OnEnd for the stored sessions not in use
    with pytest.raises(libsess.WrongState):
        app.open(sid)
    s["x"] = 1  # an open session keeps working...
    assert s["x"] == 1
    s.close()
    assert ended == [{"kept": 1}]  # ...and is dropped without Session_OnEnd


def test_interpreter_exit_stops_the_library_threads(python):
    """At exit the applications (and the middleware's site, which holds
    them too) are released, so no library thread calls into a finalizing
    interpreter (that aborted the process); sessions left open are
    discarded first, and Session_OnEnd runs for the stored ones."""
    result = python(
        """
        import time, libsess
        from libsess.wsgi import SessionMiddleware

        app = libsess.App(clock=lambda: 0, expiry_interval_ms=1, static_objects={"o": lambda n: object()},
                          on_end=lambda s: print("on_end", list(s), flush=True))
        middleware = SessionMiddleware(lambda environ, start_response: [], app)
        with app.create() as s:
            s["a"] = 1
        left_open = app.create()
        left_open["x"] = 1
        left_open.static_objects["o"]
        time.sleep(0.05)  # the expiry thread calls the clock meanwhile
        print("exiting", flush=True)
        """
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == "exiting"
    assert "on_end ['a']" in result.stdout.splitlines()


def test_an_unclosed_session_warns(app):
    s = app.create()
    s["a"] = 1
    with pytest.warns(ResourceWarning):
        del s
        gc.collect()
    assert app.session_count == 0  # discarded


def test_an_unclosed_app_warns_and_is_released():
    """As an unclosed file: an App collected without close() says so
    (ResourceWarning) and is still released (Session_OnEnd runs for its
    stored sessions); a closed one is collected silently."""
    ended = []
    app = libsess.App(on_end=lambda s: ended.append(dict(s)))
    stored(app, kept=1)
    with pytest.warns(ResourceWarning, match="unclosed libsess application"):
        del app
        gc.collect()
    assert ended == [{"kept": 1}]
    app = libsess.App()
    app.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del app
        gc.collect()
    assert caught == []


def test_error_families():
    """Every code is a family's, or deliberately plain SessionError."""
    plain = {
        "SESS_E_FAIL",
        "SESS_E_UNEXPECTED",
        "SESS_E_NOTIMPL",
        "SESS_E_NOINTERFACE",
        "SESS_E_POINTER",
        "SESS_E_INSUFFICIENT_BUFFER",
    }
    from libsess.errors import error_for

    for name in dir(lib):
        if name.startswith(("SESS_E_", "SESS_DISP_E_")):
            error = error_for(getattr(lib, name))
            assert (type(error) is libsess.SessionError) == (name in plain), name
    assert isinstance(error_for(lib.SESS_E_OUTOFMEMORY), MemoryError)
    assert isinstance(error_for(lib.SESS_E_NO_APPLICATION), libsess.NoApplication)
    assert isinstance(error_for(lib.SESS_E_STORE_CORRUPT), libsess.StoreUnavailable)
    assert isinstance(error_for(lib.SESS_E_STORE_FULL), libsess.LimitExceeded)
    with libsess.App(max_session_bytes=100) as app, app.create() as s:
        with pytest.raises(libsess.LimitExceeded) as e:
            s["k"] = "x" * 200
        assert e.value.hresult == lib.SESS_E_SESSION_TOO_LARGE
        obj = s.interface()
        with pytest.raises(AttributeError) as e:
            obj.get("NoSuchMember")
        assert isinstance(e.value, libsess.MemberNotFound)
        with pytest.raises(TypeError) as e:
            obj.call("Abandon", 1, 2)
        assert e.value.hresult == lib.SESS_DISP_E_BADPARAMCOUNT
    with libsess.App(memory_budget_bytes=300, max_session_bytes=300) as app:
        stored(app, k="x" * 250)
        with app.create() as s, pytest.raises(libsess.LimitExceeded) as e:
            s["k"] = "x" * 200
        assert e.value.hresult == lib.SESS_E_MEMORY_BUDGET


def test_errors_pickle_and_copy(app):
    """An error crosses process boundaries (multiprocessing, a process pool)
    and copies as an exception does: same family, code, message and text
    (unpickling called the class with the formatted text alone, a
    TypeError for the missing message)."""
    with pytest.raises(libsess.NotFound) as e:
        app.open("A" * 22)
    errors = [e.value, libsess.errors.error_for(lib.SESS_E_OUTOFMEMORY), libsess.errors.error_for(lib.SESS_E_FAIL)]
    errors.append(libsess.errors.error_for(lib.SESS_DISP_E_UNKNOWNNAME, '"X" is not a member'))
    errors[0].page = "/cart"  # what a caller may add, as to any exception
    for error in errors:
        for copied in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
            assert type(copied) is type(error)
            assert (copied.hresult, copied.message, str(copied)) == (error.hresult, error.message, str(error))
            assert copied.__dict__ == error.__dict__


def test_an_error_without_detail_gives_its_code_once():
    """A failure the library gave no detail for (here a Python object's
    QueryInterface, asked for IDispatch, checked as a C call's result) has
    the code's message, its code written once (the library's message ends
    with the code, and the error's text added it again: "no such interface
    (0x80004002) (0x80004002)")."""
    with libsess.App(static_objects={"cart": lambda name: []}) as app, app.create() as s:
        cart = s.static_objects["cart"].pointer
        out = libsess._ffi.new("void **")
        with pytest.raises(libsess.SessionError) as e:
            check(cart.vtbl.query_interface(cart, libsess._ffi.addressof(lib.SESS_IID_IDISPATCH), out))
    assert e.value.hresult == lib.SESS_E_NOINTERFACE
    assert (e.value.message, str(e.value)) == ("no such interface", "no such interface (0x80004002)")
    for name in dir(lib):
        if name.startswith(("SESS_E_", "SESS_DISP_E_")):
            error = libsess.errors.error_for(getattr(lib, name))
            assert str(error).count(f"{getattr(lib, name) & 0xFFFFFFFF:08X}") == 1, str(error)
            assert error.message and "0x" not in error.message, str(error)


def test_a_name_no_key_can_have_is_missing(app):
    """A name with a NUL or a lone surrogate is not in the mapping (as `in`
    says): get gives the default, del and pop a KeyError; storing under it
    is InvalidArgument, the code of a bad key (get raised a ValueError too,
    so s.get(name) failed)."""
    with app.create() as s:
        for name in ["a\0b", "\ud800"]:
            assert name not in s
            assert s.get(name, "default") == "default"
            assert s.pop(name, 0) == 0
            with pytest.raises(KeyError):
                del s[name]
            for store in (lambda: s.__setitem__(name, 1), lambda: s.value_txt(name, "1")):
                with pytest.raises(libsess.InvalidArgument) as e:
                    store()
                assert e.value.hresult == lib.SESS_E_BAD_KEY
            assert len(s) == 0
            assert s.static_objects.get(name) is None


def test_a_key_that_is_not_text_is_missing(app):
    """A key of another type is not in the mapping, as `in` says: get
    gives the default, [], del and pop a KeyError, as a dict of str keys
    answers (they raised TypeError, so s.get(1) failed where `1 in s` was
    False); storing under one is still a TypeError."""
    with app.create() as s:
        s["1"] = "one"
        for key in [1, None, b"1", ("1",)]:
            assert key not in s
            assert s.get(key) is None and s.get(key, "default") == "default"
            assert s.pop(key, 0) == 0
            with pytest.raises(KeyError):
                s[key]
            with pytest.raises(KeyError):
                del s[key]
            with pytest.raises(TypeError):
                s[key] = 1
            assert s.static_objects.get(key) is None
        assert dict(s) == {"1": "one"}


def test_text_utf8_cannot_hold_is_invalid_argument(app):
    """An ID, a value or any other text with a lone surrogate (as
    surrogateescape decodes bad bytes), and an ID with a NUL, are
    InvalidArgument with the argument's code, as the library's for bad
    UTF-8: they were a UnicodeEncodeError or a plain ValueError, no
    SessionError."""
    for sid in ["\udcff" * 22, "A" * 10 + "\0" + "A" * 11]:
        with pytest.raises(libsess.InvalidArgument) as e:
            app.open(sid)
        assert e.value.hresult == lib.SESS_E_INVALID_SESSION_ID
    with app.create() as s:
        for store in (lambda: s.__setitem__("k", "a\ud800"), lambda: s.__setitem__("k", ["\udcff"])):
            with pytest.raises(libsess.InvalidArgument) as e:
                store()
            assert e.value.hresult == lib.SESS_E_INVALIDARG
        assert "k" not in s


@pytest.mark.parametrize(
    "name, code, values",
    [
        ("timeout", lib.SESS_E_INVALID_TIMEOUT, [0, 1 << 40, -(1 << 40)]),
        ("lcid", lib.SESS_E_INVALID_LCID, [0xFFFF, -1, 1 << 33]),
        ("codepage", lib.SESS_E_INVALID_CODEPAGE, [1, -1, 1 << 33]),
    ],
)
def test_a_property_value_out_of_range_is_that_propertys_error(app, name, code, values):
    """Past what the C type holds as within it: the property's own code
    (it was E_INVALIDARG), the value unchanged."""
    with app.create() as s:
        before = getattr(s, name)
        for value in values:
            with pytest.raises(libsess.InvalidArgument) as e:
                setattr(s, name, value)
            assert e.value.hresult == code, value
        assert getattr(s, name) == before


class _Integer:
    """An integer that is not an int, as numpy's integers are: it has
    __index__ (PEP 357), as list indexes and C int arguments take."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


def test_indexes_and_properties_take_any_integer(app):
    """key_at / value_at / remove_at and Timeout, LCID, CodePage take what
    Python takes as an integer (numpy.int64(1), anything with __index__),
    as a list index does; they raised TypeError for all but int. bool and
    float are still no integer there."""
    with app.create() as s:
        s.update(a=1, b=2, c=3)
        assert s.key_at(_Integer(1)) == "b"
        assert s.value_at(_Integer(2)) == 3
        s.remove_at(_Integer(0))
        assert list(s) == ["b", "c"]
        with pytest.raises(libsess.BadIndex):
            s.key_at(_Integer(-1))
        s.timeout = _Integer(7)
        s.lcid = _Integer(1036)
        s.codepage = _Integer(1252)
        assert (s.timeout, s.lcid, s.codepage) == (7, 1036, 1252)
        assert type(s.timeout) is int
        with pytest.raises(libsess.InvalidArgument) as e:
            s.timeout = _Integer(1 << 40)
        assert e.value.hresult == lib.SESS_E_INVALID_TIMEOUT
        for bad in (True, 1.0, "1"):
            with pytest.raises(TypeError):
                s.key_at(bad)
            with pytest.raises(TypeError):
                s.timeout = bad
        assert s.timeout == 7


def test_membership_does_not_convert_the_value(app, monkeypatch):
    """`in` asks whether the key is there; converting the value is get's job
    (here every conversion fails, and `in` still answers)."""
    with app.create() as s:
        s["when"] = datetime.datetime(2024, 1, 15)

        def refuse(*_args):
            raise libsess.TypeMismatch(lib.SESS_DISP_E_TYPEMISMATCH, "converted")

        monkeypatch.setattr(libsess.session, "load", refuse)
        assert "WHEN" in s
        assert "nope" not in s and "" not in s and "a\0b" not in s and 1 not in s
        with pytest.raises(libsess.TypeMismatch):
            s["when"]


def test_static_object_membership_makes_nothing():
    made = []
    names = ["objInfo", "Ärger", "ΟΔΟΣ"]
    with libsess.App(static_objects={n: made.append for n in names}) as app:
        with app.create() as s:
            statics = s.static_objects
            assert "OBJINFO" in statics and "äRGER" in statics and "οδοσ" in statics
            assert "objNone" not in statics and "οδος" in statics and 1 not in statics
            assert made == []
        assert app.session_count == 0  # nothing made, so nothing stored
        with app.create() as s:
            # The library's own lookup agrees (as Contents keys: "ΟΔΟΣ" is
            # "οδοσ", and "οδος", its final sigma the same letter).
            assert s.static_objects.get("οδοσ") is not None and s.static_objects.get("οδος") is not None
            s["ΟΔΟΣ"] = 1
            assert "οδοσ" in s and "οδος" in s and "ΟΔΟ" not in s
            assert s["οδος"] == 1


def test_a_failed_argument_releases_the_converted_ones():
    """Arguments are converted last first: `o` is held when object()
    fails, and must be let go."""
    from libsess import objects

    with libsess.App(static_objects={"o": lambda name: object()}) as app, app.create() as s:
        o = s.static_objects["o"]
        references = lambda: objects._live[objects._address(o.pointer)][2]  # noqa: E731
        before = references()
        with pytest.raises(TypeError):
            s.interface().call("Abandon", object(), o)
        assert references() == before


@pytest.mark.parametrize(
    "options",
    [{"on_start": "start"}, {"on_end": 1}, {"clock": 5}, {"static_objects": {"cart": None}}],
)
def test_a_handler_factory_or_clock_that_is_not_callable_is_a_type_error(options):
    """App() refuses what it would call but cannot: a TypeError naming
    the option, not an application whose every create() fails with
    "Session_OnStart failed" or whose clock warns on each reading and
    stays at 0."""
    name = next(iter(options))
    with pytest.raises(TypeError, match=name):
        libsess.App(**options)


def test_store_options(tmp_path):
    """redis= and lmdb= take their structs' fields, a secret as bytes; two
    applications on one LMDB directory share its sessions (and with the
    secret, Session_OnEnd sees the real ID)."""
    down = "redis://127.0.0.1:1/0"
    libsess.App(redis={"url": down, "id_secret": b"0123456789abcdef"}).close()
    with pytest.raises(libsess.InvalidArgument):
        libsess.App(redis={"url": down, "id_secret": b"short"})
    with pytest.raises(TypeError):
        libsess.App(redis={"url": down, "id_secret": "0123456789abcdef"})
    with pytest.raises(TypeError):
        libsess.App(redis={"url": down, "id_secret_len": 16})
    with pytest.raises(TypeError):
        libsess.App(redis={"url": down, "cluster": 1})
    with pytest.raises(libsess.StoreUnavailable) as e:
        libsess.App(lmdb=tmp_path / "missing")
    assert e.value.hresult == lib.SESS_E_STORE_ACCESS
    now, ended = [1_000_000], []
    options = {"path": tmp_path, "map_size": 1 << 20, "id_secret": b"0123456789abcdef", "durable": False}
    common = dict(lmdb=options, clock=lambda: now[0], expiry_interval_ms=0, on_end=lambda s: ended.append(s.id))
    with libsess.App(**common) as a, libsess.App(**common) as b:
        with a.create() as s:
            s["user"], s.timeout = "Arthur", 1
            assert s.mode == lib.SESS_MODE_LMDB
            sid = s.id
        with b.open(sid) as s:
            assert s["user"] == "Arthur"
        now[0] += 120_000
        assert b.expire() == 1
        assert ended == [sid]


def test_a_failing_clock_is_reported_and_its_last_reading_used():
    now, broken = [1_000_000], [None]

    def clock():
        if broken[0] is not None:
            return broken[0]()
        return now[0]

    with libsess.App(clock=clock, expiry_interval_ms=0) as app:
        stored(app, a=1)  # the clock read 1_000_000
        for failure in (lambda: 1 / 0, lambda: 5.5, lambda: -1):
            broken[0] = failure
            with pytest.warns(RuntimeWarning, match="clock failed"):
                with app.create() as s:
                    s.timeout, s["b"] = 1, 2  # its deadline: a minute from 1_000_000, not from 0
        broken[0] = None
        assert app.expire() == 0
        assert app.session_count == 4


def test_a_failing_clock_under_warnings_as_errors_still_gives_its_last_reading(capsys):
    """With warnings turned into errors (pytest's filterwarnings = error),
    the warning's exception is reported and the clock's last reading still
    used. It escaped into cffi, which read the clock as 0: a session just
    saved was stamped at 0 and expired at once."""
    now = [5_000_000]

    def clock():
        if now[0] is None:
            raise RuntimeError("the clock broke")
        return now[0]

    with libsess.App(clock=clock, expiry_interval_ms=0) as app:
        with app.create() as s:
            s["a"], s.timeout = 1, 1
        now[0] = None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with app.open(s.id) as again:
                again["b"] = 2  # saved at the last reading, 5_000_000
        now[0] = 5_000_000 + 30_000  # half its timeout later
        assert app.expire() == 0
        assert app.session_count == 1
    assert "RuntimeWarning: libsess: the clock failed" in capsys.readouterr().err


def test_a_failed_discard_does_not_hide_the_blocks_own_exception(redis_url):
    """A `with` block that raises leaves with its own exception even when
    the session cannot be discarded (the store went down meanwhile), as a
    database connection's failed rollback does; the discard's failure is
    noted on it (Python 3.11+)."""
    fast = {"url": redis_url, "retry_budget_ms": 200, "connect_timeout_ms": 100, "op_timeout_ms": 100}
    with libsess.App(redis=fast) as app:
        with app.create() as s:
            s["n"] = 1
            sid = s.id
        with pytest.raises(LookupError) as raised:
            with app.open(sid) as s:
                s["n"] = 2
                port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
                with socket.create_connection(("127.0.0.1", port), timeout=5) as down:
                    down.sendall(b"SHUTDOWN NOSAVE\r\n")
                    while down.recv(64):
                        pass
                raise LookupError("the page's own failure")
        assert "own failure" in str(raised.value)
        if sys.version_info >= (3, 11):
            notes = " ".join(getattr(raised.value, "__notes__", []))
            assert "could not be discarded" in notes and "0x8004020C" in notes, notes


def test_a_fork_while_another_thread_holds_the_object_table_leaves_the_child_working(python):
    """The table of Python-made objects is locked briefly by every AddRef
    and Release, from any thread (the expiry thread's Release of an ended
    session's static object). A fork waits for it, so the child does not
    inherit it held by a thread it lacks: its first AddRef hung for ever."""
    result = python(
        """
        import os, signal, threading, time
        from libsess import objects

        held, done = threading.Event(), threading.Event()

        def hold_the_table():
            with objects._lock:  # as a Release on another thread does
                held.set()
                time.sleep(0.5)
            done.set()

        threading.Thread(target=hold_the_table).start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            signal.alarm(20)  # a hang ends the child with SIGALRM
            objects.wrap(object())
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), done.is_set())
        """
    )
    assert (result.returncode, result.stdout.strip()) == (0, "0 True"), result.stderr


def test_equality_is_case_insensitive_as_the_mapping_is(app):
    """`session == {"A": 1}` was False for a session holding "a" (Mapping's
    __eq__ compares keys case-sensitively) though `session["A"]` is 1; as
    requests' CaseInsensitiveDict, the keys compare folded as the library
    folds them; values compare as they are; still unhashable."""
    with app.create() as s:
        s["strName"] = "Arthur"
        s["ΟΔΟΣ"] = 1
        assert s == {"STRNAME": "Arthur", "οδοσ": 1}
        assert {"strname": "Arthur", "ΟΔΟΣ": 1} == s
        assert not s != {"STRNAME": "Arthur", "οδοσ": 1}
        assert s != {"STRNAME": "arthur", "οδοσ": 1}  # values as they are
        assert s != {"strName": "Arthur"}
        assert s != {"strName": "Arthur", "ΟΔΟΣ": 1, "x": 2}
        assert s != {"strName": "Arthur", "STRNAME": "Arthur", "ΟΔΟΣ": 1}  # no session holds both
        assert s != {"strName": "Arthur", 1: 1}
        assert s != [("strName", "Arthur"), ("ΟΔΟΣ", 1)]
        assert s == s
        with app.create() as t:
            t.update(strname="Arthur", οδοσ=1)
            assert s == t
            t.discard()
        assert s.__hash__ is None
        with pytest.raises(TypeError):
            hash(s)
        s.discard()
    with libsess.App(static_objects={"objInfo": PersonalInfo}) as a, a.create() as s:
        info = s.static_objects["objInfo"]
        assert s.static_objects == {"OBJINFO": info}
        assert s.static_objects != {"objInfo": info, "OBJINFO": info}
        s.discard()
