"""The WSGI middleware on a real server (wsgiref, one thread per request)
with a real HTTP client (urllib with a cookie jar): seed 004's pages, 503s,
failed pages, and concurrent requests on one session."""

import contextlib
import gc
import http.cookiejar
import socket
import socketserver
import sys
import threading
import urllib.error
import urllib.request
import warnings
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

import libsess
from libsess.wsgi import SessionMiddleware


def pages(environ, start_response):
    """The seed's ASP pages as one WSGI app."""
    s = environ["libsess.session"]
    path = environ["PATH_INFO"]
    status, headers, lines = "200 OK", [("Content-Type", "text/plain; charset=utf-8")], []
    if path == "/SessionPage1.asp":
        s["SessionVar1"] = "Session Variable 1"
        s["SessionVar2"] = "Session Variable 2"
        s["SessionVar3"] = "Session Variable 3"
        status = "302 Found"
        headers.append(("Location", "/SessionPage2.asp"))
    elif path == "/SessionPage2.asp":
        lines.append(f"There are {len(s)} items in the Session contents collection:")
        lines += [f"{k}: {v}" for k, v in s.items()]
        s["AppStatus"] = "OK"
        lines.append("first three: " + ", ".join(list(s.values())[:3]))
    elif path == "/SessionAbandonPage2.asp":
        s["intUserAge"] = 23
        s.abandon()
        lines.append(f"age category {s['intUserAge'] // 10}; preferences reset")
    elif path == "/properties.asp":
        s.timeout = 5
        orig = s.lcid
        s.lcid = 1036
        s["amount"] = 1234.5
        lines.append(f"Timeout={s.timeout} LCID={s.lcid} amount={s.value_txt('amount')}")
        s.lcid = orig
        s.codepage = 950
        lines.append(f"CodePage={s.codepage}")
    elif path == "/count":
        s["count"] = s.get("count", 0) + 1
        lines.append(str(s["count"]))
    elif path == "/read":
        lines.append("none" if s is None else f"readonly={s.readonly} count={s.get('count')}")
    elif path == "/id":
        lines.append(s.id if s is not None else "")
    elif path == "/link":
        s["count"] = s.get("count", 0) + 1
        outdated = environ["libsess.url_id_outdated"]()
        lines.append(f"{s['count']} {environ['libsess.rewrite_url']('/link')} {outdated}")
    elif path == "/fail":
        s["count"] = 1000
        raise RuntimeError("the page failed")
    start_response(status, headers)
    return [("\n".join(lines) + "\n").encode()]


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(app, **web_options):
    """The pages behind the middleware for `app` on a threading server; its base URL."""
    use = lambda environ: "readonly" if environ["PATH_INFO"] == "/read" else "exclusive"  # noqa: E731
    middleware = SessionMiddleware(pages, app, session_use=use, **web_options)
    server = make_server("127.0.0.1", 0, middleware, server_class=ThreadingServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        middleware.close()


@pytest.fixture
def site():
    """(base URL, the App): a short lock timeout, so a held session is a quick 503."""
    with libsess.App(lock_timeout_ms=300) as app, serve(app) as base:
        yield base, app


def browser():
    """An HTTP client keeping cookies, like a browser."""
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def get(opener, url):
    with opener.open(url, timeout=30) as r:
        return r.status, r.read().decode(), r.headers


def test_seed_004_contents_pages(site):
    base, _ = site
    opener, jar = browser()
    status, body, _ = get(opener, base + "/SessionPage1.asp")  # follows the redirect
    assert status == 200
    assert body.splitlines() == [
        "There are 3 items in the Session contents collection:",
        "SessionVar1: Session Variable 1",
        "SessionVar2: Session Variable 2",
        "SessionVar3: Session Variable 3",
        "first three: Session Variable 1, Session Variable 2, Session Variable 3",
    ]
    cookie = next(iter(jar))
    assert cookie.name == "ASPSESSIONID" and len(cookie.value) == 22
    assert cookie.has_nonstandard_attr("HttpOnly")
    _, body, headers = get(opener, base + "/SessionPage2.asp")
    assert body.startswith("There are 4 items")
    assert headers.get("Set-Cookie") is None  # the session's cookie is already there


def test_seed_004_abandon_gives_a_new_session(site):
    base, app = site
    opener, jar = browser()
    _, first, _ = get(opener, base + "/id")
    get(opener, base + "/count")
    assert app.session_count == 1
    _, body, headers = get(opener, base + "/SessionAbandonPage2.asp")
    assert body == "age category 2; preferences reset\n"
    assert "Max-Age=0" in headers["Set-Cookie"] or "expires" in headers["Set-Cookie"].lower()
    assert app.session_count == 0
    _, second, _ = get(opener, base + "/id")
    assert second != first
    _, count, _ = get(opener, base + "/count")
    assert count == "1\n"


def test_seed_004_properties(site):
    base, _ = site
    opener, _ = browser()
    _, body, _ = get(opener, base + "/properties.asp")
    assert body == "Timeout=5 LCID=1036 amount=1234,5\nCodePage=950\n"


def test_no_cookie_until_something_is_stored(site):
    base, app = site
    opener, jar = browser()
    _, _, headers = get(opener, base + "/id")
    assert headers.get("Set-Cookie") is None and len(jar) == 0
    assert app.session_count == 0


def test_a_failed_page_keeps_nothing(site):
    base, _ = site
    opener, _ = browser()
    get(opener, base + "/count")
    with pytest.raises(urllib.error.HTTPError) as e:
        get(opener, base + "/fail")
    assert e.value.code == 500
    _, body, _ = get(opener, base + "/read")
    assert body == "readonly=True count=1\n"


def test_lock_timeout_is_503(site):
    base, app = site
    opener, jar = browser()
    get(opener, base + "/count")
    sid = next(iter(jar)).value
    with app.open(sid):  # another unit of work holds the session
        with pytest.raises(urllib.error.HTTPError) as e:
            get(opener, base + "/count")
        assert e.value.code == 503
        assert e.value.headers["Retry-After"] == "1"
    assert get(opener, base + "/count")[1] == "2\n"


def test_store_down_is_503():
    down = {"url": "redis://127.0.0.1:1/0", "retry_budget_ms": 200, "connect_timeout_ms": 100, "op_timeout_ms": 100}
    with libsess.App(redis=down) as app:
        calls = []

        def start_response(status, headers, exc_info=None):
            calls.append(status)

        with SessionMiddleware(pages, app) as middleware:
            environ = {"PATH_INFO": "/count", "SCRIPT_NAME": "", "REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"}
            body = b"".join(middleware(environ, start_response))
        assert calls == ["503 Service Unavailable"]
        assert b"try again" in body


def test_concurrent_requests_lose_no_update():
    """N threads x M requests on one session: the session lock serialises
    them (waiters are woken, never refused within the lock timeout)."""
    threads, increments = 8, 10
    with libsess.App(lock_timeout_ms=60000) as app, serve(app) as base:
        opener, jar = browser()
        get(opener, base + "/count")
        cookie = "ASPSESSIONID=" + next(iter(jar)).value
        statuses = []

        def work():
            for _ in range(increments):
                request = urllib.request.Request(base + "/count", headers={"Cookie": cookie})
                with urllib.request.urlopen(request, timeout=60) as r:
                    r.read()
                    statuses.append(r.status)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert statuses == [200] * (threads * increments)
        assert get(opener, base + "/read")[1] == f"readonly=True count={1 + threads * increments}\n"


def test_cookieless_ids_travel_in_urls():
    with libsess.App() as app, serve(app, cookieless=True) as base:
        opener, jar = browser()
        _, body, headers = get(opener, base + "/link")
        count, link, outdated = body.split()
        assert count == "1" and link.startswith("/(S(") and link.endswith("))/link")
        assert outdated == "True"  # a new session: the URL has no ID yet
        assert headers.get("Set-Cookie") is None and len(jar) == 0
        _, body, _ = get(opener, base + link)  # the page sees PATH_INFO "/link"
        assert body.split() == ["2", link, "False"]
        _, body, _ = get(opener, base + "/link")  # no ID in the URL: a new session
        assert body.split()[0] == "1" and body.split()[2] == "True"


def request(middleware, path, script_name="", cookie=None):
    """One request straight through the middleware: (status, headers, body)."""
    response = {}

    def start_response(status, headers, exc_info=None):
        response.update(status=status, headers=headers)

    environ = {"PATH_INFO": path, "SCRIPT_NAME": script_name, "REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"}
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    body = b"".join(middleware(environ, start_response))
    return response["status"], response["headers"], body


def test_ctrl_c_interrupts_a_requests_wait_for_its_session_and_leaves_no_lock(python):
    """A request served on the main thread (a single-threaded server)
    waiting for a session another unit of work holds: Ctrl-C ends the
    wait at once (it lasted until the lock came), and the interrupted
    request keeps no lock (its begun request was dropped unended, the
    session locked for good)."""
    result = python(
        """
        import os, signal, threading, time, libsess
        from libsess.wsgi import SessionMiddleware

        def page(environ, start_response):
            start_response("200 OK", [])
            return [str(environ["libsess.session"]["n"]).encode()]

        app = libsess.App(lock_timeout_ms=30000)
        middleware = SessionMiddleware(page, app)
        with app.create() as s:
            s["n"] = 1
            sid = s.id
        holder = app.open(sid)
        holder["n"] = 2
        environ = {"PATH_INFO": "/", "REQUEST_METHOD": "GET", "HTTP_COOKIE": "ASPSESSIONID=" + sid}
        # Ctrl-C's own handler: a process started in the background by a
        # shell without job control (as CI may start the suite) inherits
        # SIGINT ignored, and Python then installs none.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        threading.Timer(8, holder.close).start()
        started = time.monotonic()
        try:
            middleware(dict(environ), lambda *a: None)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - started < 6)
        print(b"".join(middleware(dict(environ), lambda *a: None)).decode())
        middleware.close()
        app.close()
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "interrupted True\n2\n", "")


def test_cookieless_under_a_mount_deeper_than_its_application():
    """Mounted at SCRIPT_NAME, a cookieless application declared above
    the mount (the single-App form serves "/") would put the ID where no
    URL under the mount can carry it (`/(S(id))/mount/x`), and find none
    in the URLs it is given: every request was a new session, silently.
    That is a clear error now; declared at its mount, its URLs carry the
    ID after SCRIPT_NAME and the page sees PATH_INFO without it."""

    def page(environ, start_response):
        s = environ["libsess.session"]
        s["n"] = s.get("n", 0) + 1
        link = environ["libsess.rewrite_url"](environ["SCRIPT_NAME"] + "/page")
        start_response("200 OK", [])
        return [f"{s['n']} {environ['PATH_INFO']} {link}".encode()]

    with libsess.App() as app, SessionMiddleware(page, app, cookieless=True) as middleware:
        with pytest.raises(libsess.InvalidArgument, match="SCRIPT_NAME '/mount'"):
            request(middleware, "/page", script_name="/mount")
        assert app.session_count == 0
        assert request(middleware, "/page")[2].split()[:2] == [b"1", b"/page"]  # not mounted: served
    with libsess.App() as app, SessionMiddleware(page, {"/mount": app}, cookieless=True) as middleware:
        _, _, body = request(middleware, "/page", script_name="/mount")
        count, path, link = body.decode().split()
        assert (count, path) == ("1", "/page") and link.startswith("/mount/(S(") and link.endswith("))/page")
        _, _, body = request(middleware, link[len("/mount") :], script_name="/mount")  # the link followed
        assert body.decode().split() == ["2", "/page", link]


def test_cookieless_urls_at_a_non_ascii_path_are_percent_encoded_once():
    """An application at /café: the request's URL as WSGI gives it
    (SCRIPT_NAME + PATH_INFO, native strings: the UTF-8 bytes as latin-1)
    and a link written as text both come back percent-encoded once, as
    UTF-8, with the ID after the application's path. The native string
    used to be encoded as UTF-8 again (/caf%C3%83%C2%A9, another page), and
    the ID was not put in it."""
    script = "/café".encode().decode("latin-1")  # as a server gives /caf%C3%A9

    def page(environ, start_response):
        s = environ["libsess.session"]
        s["n"] = s.get("n", 0) + 1
        rewrite = environ["libsess.rewrite_url"]
        here = rewrite(environ["SCRIPT_NAME"] + environ["PATH_INFO"])
        start_response("200 OK", [])
        return [f"{s['n']} {here} {rewrite('/café/x?q=é')}".encode()]

    with libsess.App() as app, SessionMiddleware(page, {"/café": app}, cookieless=True) as middleware:
        count, here, link = request(middleware, "/page", script_name=script)[2].decode().split()
        marker = here[len("/caf%C3%A9/") : -len("/page")]
        assert count == "1" and here == f"/caf%C3%A9/{marker}/page" and marker.startswith("(S("), here
        assert link == f"/caf%C3%A9/{marker}/x?q=%C3%A9"
        _, _, body = request(middleware, f"/{marker}/page", script_name=script)  # `here` followed
        assert body.decode().split() == ["2", here, link]

    def outside(environ, start_response):
        start_response("200 OK", [])
        return [environ["libsess.rewrite_url"](environ["SCRIPT_NAME"] + environ["PATH_INFO"]).encode()]

    with libsess.App() as app, SessionMiddleware(outside, {"/other": app}, cookieless=True) as middleware:
        # Outside every application: no ID, spelled the same way.
        assert request(middleware, "/x", script_name=script)[2] == b"/caf%C3%A9/x"


def test_paths_the_library_cannot_take_are_400():
    with libsess.App() as app, SessionMiddleware(pages, app) as middleware:
        assert request(middleware, "/\xff")[0] == "400 Bad Request"  # GET /%FF: not UTF-8
        assert request(middleware, "/read\x00.png")[0] == "400 Bad Request"  # not the page /read
        assert request(middleware, "/read")[2] == b"readonly=False count=None\n"


def test_a_path_outside_every_application_has_no_session():
    """As Apache's module declines it: the page runs without a session."""
    with libsess.App() as app, SessionMiddleware(pages, {"/app": app}) as middleware:
        status, _, body = request(middleware, "/read", script_name="/other")
        assert (status, body) == ("200 OK", b"none\n")
        assert request(middleware, "/id", script_name="/app")[0] == "200 OK"


def test_an_error_page_replaces_the_response():
    """start_response again with exc_info: nothing was sent yet (the
    response is buffered), so the error page replaces it (PEP 3333)."""

    def page(environ, start_response):
        environ["libsess.session"]["a"] = 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise RuntimeError("the page failed")
        except RuntimeError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"error page"]

    with libsess.App() as app, SessionMiddleware(page, app) as middleware:
        status, headers, body = request(middleware, "/")
        assert (status, body) == ("500 Internal Server Error", b"error page")
        assert [name for name, _ in headers] == ["Content-Type"]  # the page failed: no session kept


@pytest.mark.parametrize("started", [False, True])
def test_an_error_page_keeps_none_of_the_sessions_changes(started):
    """start_response with exc_info is an error handler reporting the
    page's exception (PEP 3333): the page failed, so it keeps none of its
    session changes, as when the exception reaches the middleware (they
    were kept: whether an error-handling middleware sat in between decided
    the session's state)."""

    def page(environ, start_response):
        s = environ["libsess.session"]
        if environ["PATH_INFO"] == "/store":
            s["a"] = 1
            start_response("200 OK", [])
            return [s.id.encode()]
        s["a"] = 2
        s["b"] = 3
        if started:
            start_response("200 OK", [])
        try:
            raise RuntimeError("the page failed")
        except RuntimeError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        return [b"error page"]

    with libsess.App() as app, SessionMiddleware(page, app) as middleware:
        assert request(middleware, "/fail") == ("500 Internal Server Error", [], b"error page")
        assert app.session_count == 0  # a new session changed by a failed page is not kept
        _, headers, sid = request(middleware, "/store")
        cookie = dict(headers)["Set-Cookie"].split(";")[0]
        assert request(middleware, "/fail", cookie=cookie) == ("500 Internal Server Error", [], b"error page")
        with app.open(sid.decode()) as s:
            assert dict(s) == {"a": 1}


def test_an_error_page_drops_what_was_written_before_it():
    """Bytes the page wrote through write() before its error page are not
    sent with it: the error page replaces the whole response."""

    def page(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"half a page")
        try:
            raise RuntimeError("the page failed")
        except RuntimeError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"error page"]

    with libsess.App() as app, SessionMiddleware(page, app) as middleware:
        status, _, body = request(middleware, "/")
        assert (status, body) == ("500 Internal Server Error", b"error page")


def test_start_response_twice_without_exc_info_is_the_pages_error():
    """PEP 3333: a second start_response without exc_info is an error (as
    wsgiref's AssertionError); the request ends as a failed one and keeps
    nothing."""

    def page(environ, start_response):
        environ["libsess.session"]["a"] = 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not sent"]

    with libsess.App() as app, SessionMiddleware(page, app) as middleware:
        with pytest.raises(AssertionError, match="exc_info"):
            request(middleware, "/")
        assert app.session_count == 0


def test_a_page_that_never_starts_its_response_keeps_nothing():
    """A page that returns without calling start_response failed (the
    server answers 500): its session changes are undone, as for a page
    that raises (they were kept)."""

    def page(environ, start_response):
        environ["libsess.session"]["a"] = 1
        return [b"no response"]

    with libsess.App() as app, SessionMiddleware(page, app) as middleware:
        with pytest.raises(RuntimeError, match="start_response"):
            request(middleware, "/")
        assert app.session_count == 0


@pytest.mark.parametrize("applications", [None, "/", {"/": "app"}, {"/": None}, ["app"]])
def test_applications_that_are_not_apps_are_a_type_error(applications):
    """The middleware takes one App or a mapping of paths to Apps:
    anything else is a TypeError saying so (it was an AttributeError about
    `_shared`, or dict()'s own complaint)."""
    with pytest.raises(TypeError, match="libsess.App"):
        SessionMiddleware(pages, applications)


def test_session_use_in_any_case_checked_when_the_middleware_is_made():
    """As same_site: any case ("ReadOnly" is ASP's EnableSessionState
    spelling); a use that does not exist fails when the middleware is
    made (it failed every request instead)."""
    with libsess.App() as app:
        with pytest.raises(ValueError):
            SessionMiddleware(pages, app, session_use="sometimes")
        for use in ["ReadOnly", lambda environ: "OFF"]:
            with SessionMiddleware(pages, app, session_use=use) as middleware:
                assert request(middleware, "/read")[:3:2] == ("200 OK", b"none\n")


def test_cookie_options():
    def page(environ, start_response):
        environ["libsess.session"]["a"] = 1
        start_response("200 OK", [])
        return []

    with libsess.App() as app:
        with SessionMiddleware(page, app, secure=True, same_site="Strict") as middleware:
            _, headers, _ = request(middleware, "/")
        assert dict(headers)["Set-Cookie"].endswith("; Secure; HttpOnly; SameSite=Strict")
        with SessionMiddleware(page, app, same_site="omit") as middleware:
            _, headers, _ = request(middleware, "/")
        assert "Secure" not in dict(headers)["Set-Cookie"] and "SameSite" not in dict(headers)["Set-Cookie"]
        with pytest.raises(TypeError):
            SessionMiddleware(page, app, secure=1)
        with pytest.raises(libsess.InvalidArgument):
            SessionMiddleware(page, app, same_site="sometimes")
        with pytest.raises(TypeError):
            SessionMiddleware(page, app, cookieless=1)


def test_a_closed_middleware_refuses_requests():
    with libsess.App() as app:
        middleware = SessionMiddleware(pages, app)
        middleware.close()
        with pytest.raises(libsess.WrongState):
            request(middleware, "/read")


def test_an_unclosed_middleware_warns_and_is_released():
    """As an unclosed App: a middleware collected without close() says so
    (ResourceWarning) and is still released, letting go of the
    application it serves (here closed already, so its Session_OnEnd runs
    then); one that could not be made is closed, not left to warn."""
    ended = []
    app = libsess.App(on_end=lambda s: ended.append(dict(s)))
    middleware = SessionMiddleware(pages, app)
    assert request(middleware, "/count")[2] == b"1\n"
    app.close()
    assert ended == []  # the middleware still holds the application
    with pytest.warns(ResourceWarning, match="unclosed libsess middleware"):
        del middleware
        gc.collect()
    assert ended == [{"count": 1}]
    closed = libsess.App()
    closed.close()
    with libsess.App() as app, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(libsess.WrongState):
            SessionMiddleware(pages, {"/": app, "/closed": closed})
        gc.collect()
    assert caught == []


def test_characters_wsgi_strings_cannot_hold_are_400():
    """WSGI's native strings carry the request's bytes as latin-1: a
    server giving PATH_INFO, SCRIPT_NAME or HTTP_COOKIE characters above
    U+00FF breaks PEP 3333. That is a 400, as a path the library cannot
    take (it was an unhandled UnicodeEncodeError: a 500 with a traceback),
    and the page does not run."""
    ran = []

    def page(environ, start_response):
        ran.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return []

    with libsess.App() as app, SessionMiddleware(page, app) as middleware:
        assert request(middleware, "/\u20ac")[0] == "400 Bad Request"  # "/€" as a server decoding UTF-8 gives it
        assert request(middleware, "/x", script_name="/\u20ac")[0] == "400 Bad Request"
        response = {}

        def start_response(status, headers, exc_info=None):
            response.update(status=status)

        environ = {"PATH_INFO": "/x", "SCRIPT_NAME": "", "REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"}
        environ["HTTP_COOKIE"] = "name=\u20ac"
        body = b"".join(middleware(environ, start_response))
        assert response["status"] == "400 Bad Request" and b"Cookie" in body
        assert ran == []
        assert request(middleware, "/caf\xc3\xa9")[0] == "200 OK"  # "/café" as WSGI spells it
        assert ran == ["/caf\xc3\xa9"]


@pytest.mark.parametrize("how", ["returned", "written"])
def test_a_body_that_is_not_bytes_is_the_pages_error(how):
    """PEP 3333 bodies are bytes: a page returning (or writing) a str
    failed, and the server answers 500. The middleware took it into its
    buffer, saved the session and gave the server the str to fail on:
    the page's changes were kept, and a new session stored without its
    Set-Cookie ever reaching the client."""

    def page(environ, start_response):
        environ["libsess.session"]["a"] = 1
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        if how == "written":
            write("text")
            return []
        return [b"bytes, then ", "text"]

    with libsess.App() as app, SessionMiddleware(page, app) as middleware:
        environ = {"PATH_INFO": "/", "SCRIPT_NAME": "", "REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"}
        with pytest.raises(TypeError, match="bytes"):
            middleware(environ, lambda status, headers, exc_info=None: None)
        assert app.session_count == 0


@pytest.mark.parametrize(
    "status, headers, error",
    [
        (b"200 OK", [("Content-Type", "text/plain")], TypeError),  # bytes, not a native string
        ("200 OK", (("Content-Type", "text/plain"),), TypeError),  # a tuple, not a list
        ("200 OK", [("Content-Length", 5)], TypeError),  # an int value
        ("200 OK", [("Content-Type", "text/plain", "x")], TypeError),  # not a (name, value) pair
        ("200 OK", [("X-Price", "5 \u20ac")], ValueError),  # not latin-1
    ],
)
def test_a_response_the_server_cannot_send_is_the_pages_error(status, headers, error):
    """PEP 3333: the status is a str, the headers a list of (str, str),
    native strings (latin-1). The middleware passed whatever the page gave
    to the server only after saving the session, where the server failed
    (wsgiref asserts the types; encoding a header sends '€' nowhere): a 500
    with the failed page's changes kept. Checked when the page calls
    start_response, the error is the page's, which keeps nothing."""

    def page(environ, start_response):
        environ["libsess.session"]["a"] = 1
        start_response(status, headers)
        return [b"hello"]

    with libsess.App() as app, SessionMiddleware(page, app) as middleware:
        environ = {"PATH_INFO": "/", "SCRIPT_NAME": "", "REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"}
        with pytest.raises(error):
            middleware(environ, lambda status, headers, exc_info=None: None)
        assert app.session_count == 0


def test_a_failed_end_after_regenerate_still_sends_the_new_ids_cookie(redis_url):
    """A page gives its session a new ID (a login) and the store goes down
    before the request's end can save: the session lives on under the new
    ID, the old one dead, so the 503 carries the new cookie (it carried
    none: the client was left holding neither ID)."""
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])

    def page(environ, start_response):
        session = environ["libsess.session"]
        session["a"] = 1
        if environ["PATH_INFO"] == "/login":
            session.regenerate_id()
            environ["new_id"] = session.id
            with socket.create_connection(("127.0.0.1", port), timeout=10) as redis:
                redis.sendall(b"SHUTDOWN NOSAVE\r\n")
                redis.recv(100)  # the connection closes once the server is gone
        start_response("200 OK", [])
        return [b"ok"]

    store = {"url": redis_url, "retry_budget_ms": 200, "connect_timeout_ms": 100, "op_timeout_ms": 100}
    with libsess.App(redis=store) as app, SessionMiddleware(page, app) as middleware:
        _, headers, _ = request(middleware, "/")
        old = dict(headers)["Set-Cookie"].split(";")[0]
        environ = {"PATH_INFO": "/login", "SCRIPT_NAME": "", "REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"}
        environ["HTTP_COOKIE"] = old
        answers = []
        middleware(environ, lambda status, headers, exc_info=None: answers.append((status, dict(headers))))
        [(status, sent)] = answers
        assert status == "503 Service Unavailable"
        new = sent["Set-Cookie"].split(";")[0]
        assert new == f"ASPSESSIONID={environ['new_id']}" and new != old


def test_a_failed_page_stays_the_error_when_its_discard_fails_too(redis_url):
    """A page raises and the store goes down under it, so ending the
    request as failed fails too: the page's exception is still the one
    the server reports, the discard's failure noted on it (as a session's
    `with` block does). The discard's StoreUnavailable was raised instead,
    the page's error only its context."""
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])

    def page(environ, start_response):
        environ["libsess.session"]["a"] = 1
        if environ["PATH_INFO"] == "/fail":
            with socket.create_connection(("127.0.0.1", port), timeout=10) as redis:
                redis.sendall(b"SHUTDOWN NOSAVE\r\n")
                redis.recv(100)  # the connection closes once the server is gone
            raise RuntimeError("the page failed")
        start_response("200 OK", [])
        return [b"ok"]

    store = {"url": redis_url, "retry_budget_ms": 200, "connect_timeout_ms": 100, "op_timeout_ms": 100}
    with libsess.App(redis=store) as app, SessionMiddleware(page, app) as middleware:
        _, headers, _ = request(middleware, "/")
        environ = {"PATH_INFO": "/fail", "SCRIPT_NAME": "", "REQUEST_METHOD": "GET", "wsgi.url_scheme": "http"}
        environ["HTTP_COOKIE"] = dict(headers)["Set-Cookie"].split(";")[0]
        with pytest.raises(RuntimeError, match="the page failed") as e:
            middleware(environ, lambda status, headers, exc_info=None: None)
        if sys.version_info >= (3, 11):
            assert any("could not be discarded" in note for note in e.value.__notes__)
