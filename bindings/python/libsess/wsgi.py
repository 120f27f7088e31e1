"""A WSGI middleware running libsess's request lifecycle: the session
cookie in, the page's session in `environ["libsess.session"]`, Set-Cookie
out; 503 when the session stays locked past the lock timeout or the store
is down; 400 for a path that is not UTF-8 or holds a NUL, and for a path
or Cookie header with a character above U+00FF (WSGI's native strings are
latin-1: a server giving one breaks PEP 3333). A path outside
every application is served without a session (`environ["libsess.session"]`
None). In cookieless applications the ID travels in URLs: PATH_INFO comes
without it and `environ["libsess.rewrite_url"](url)` puts it in a link;
`environ["libsess.url_id_outdated"]()` is True when the request's URL does
not carry its session's ID (a new session, or one given a new ID at login):
redirect then to `rewrite_url` of the request's URL, as ASP.NET does, or
the page's relative links lose the session. `rewrite_url` takes a link as
text ("/café/x") or as a WSGI native string (SCRIPT_NAME + PATH_INFO) and
gives it ASCII, non-ASCII percent-encoded once as UTF-8 ("/caf%C3%A9/x"),
fit for a Location header and a page alike. The ID goes right after the
application's path: mounted at a SCRIPT_NAME, a cookieless application is
declared there or below (`{"/mount": App()}`); one above it fails each
request with InvalidArgument.

    from libsess import App
    from libsess.wsgi import SessionMiddleware
    application = SessionMiddleware(my_app, App())

Responses are buffered (as ASP's Response.Buffer): the page's body is
produced while the session is held, the request then ends (saving the
session and giving the Set-Cookie header), and only then are the headers
and body sent — so the session lock is never held while a slow client
reads. A page may call start_response again with exc_info (an error
page) until it returns: nothing has been sent, so that response replaces
the first, with what the page wrote before it; a second call without
exc_info raises AssertionError (PEP 3333). A call with exc_info reports
the page's exception: the page failed, and keeps none of its session
changes, as when the exception reaches the middleware.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ._native import Owner, SharedHandle, c_text, check, ffi, interruptible, lib, text_out, unpack_text
from .app import App, _fill
from .errors import InvalidArgument, LockTimeout, NoApplication, SessionError, StoreUnavailable, error_for
from .session import Session

StartResponse = Callable[..., Any]
WSGIApp = Callable[[Dict[str, Any], StartResponse], Iterable[bytes]]

#: How each page uses session state (ASP's EnableSessionState).
USES = {"exclusive": lib.SESS_USE_EXCLUSIVE, "readonly": lib.SESS_USE_READONLY, "off": lib.SESS_USE_OFF}

_SECURE = {None: lib.SESS_SECURE_AUTO, True: lib.SESS_SECURE_ALWAYS, False: lib.SESS_SECURE_NEVER}
_SAME_SITE = {
    "lax": lib.SESS_SAMESITE_LAX,
    "strict": lib.SESS_SAMESITE_STRICT,
    "none": lib.SESS_SAMESITE_NONE,
    "omit": lib.SESS_SAMESITE_OMIT,
}


class SessionMiddleware(Owner):
    """Wraps `app` with sessions from `applications`: one App (served at
    "/") or a mapping of virtual paths to Apps (nested applications keep
    their own sessions and cookies). `session_use` is "exclusive",
    "readonly" or "off" (any case), or a callable choosing one per environ.
    `web_options` are sess_web_options' fields (cookie_name, cookie_path,
    cookie_domain, max_age_seconds, host_prefix, cookieless) for every
    application, and `secure` (True, False, or None: when the request came
    over HTTPS) and `same_site` ("lax", "strict", "none" or "omit", any
    case). `close()`, or leaving its `with` block, releases the site (the
    applications' expiry threads stop once they are closed too); one
    collected unclosed is released then, with a ResourceWarning."""

    def __init__(
        self,
        app: WSGIApp,
        applications: Union[App, Mapping[str, App]],
        *,
        session_use: Union[str, Callable[[Dict[str, Any]], str]] = "exclusive",
        **web_options: Any,
    ) -> None:
        self.app = app
        self.session_use = session_use
        if not callable(session_use):
            _use(session_use)  # checked now, not at every request
        self._apps = _applications(applications)
        keep: List[Any] = []
        opts = ffi.new("sess_web_options *")
        check(lib.sess_web_options_init(opts))
        _fill(opts, "sess_web_options", _web_fields(web_options), keep)
        self._cookieless = opts.cookieless
        out = ffi.new("sess_site **")
        check(lib.sess_site_create(out))
        self._shared = SharedHandle(out[0], lib.sess_site_release, "middleware", self._apps)
        try:
            for path, application in self._apps.items():
                with self._shared as site, application._shared as handle:
                    check(lib.sess_site_add(site, c_text(path), handle, opts))
        except BaseException:
            self.close()  # the caller never gets it to close
            raise

    def close(self) -> None:
        """Releases the site (idempotent): later requests raise WrongState;
        requests in flight finish first."""
        self._shared.close()


    def __call__(self, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        use = _use(self.session_use(environ) if callable(self.session_use) else self.session_use)
        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
        if "\0" in path:
            return _bad_path(start_response)
        # WSGI's native strings carry the raw bytes as latin-1: a character
        # above U+00FF is the server's error (PEP 3333), answered 400.
        try:
            path_bytes = path.encode("latin-1")
        except UnicodeEncodeError:
            return _bad_path(start_response)
        try:
            cookie = environ.get("HTTP_COOKIE", "").encode("latin-1")
        except UnicodeEncodeError:
            return _reply(start_response, "400 Bad Request", "Bad Request: the Cookie header is not latin-1.\n")
        info = ffi.new("sess_request_info *")
        info.struct_size = ffi.sizeof("sess_request_info")
        info.session_use = USES[use]
        path_c = ffi.new("char[]", path_bytes)
        info.path = path_c
        cookie_c = ffi.new("char[]", cookie)
        info.cookie_header = cookie_c if cookie else ffi.NULL
        info.cookie_header_len = len(cookie)
        info.https = environ.get("wsgi.url_scheme") == "https"
        out = ffi.new("sess_request **")
        session: Optional[Session] = None
        live = [True]  # the request handle, until _end frees it

        def rewrite_url(url: str) -> str:
            if not live[0]:
                raise error_for(lib.SESS_E_WRONG_STATE, "the request has ended")
            spelled = c_text(_url_ascii(url))
            return text_out(lambda b, n, o: lib.sess_request_rewrite_url(request, spelled, b, n, o))

        def url_id_outdated() -> bool:
            if not live[0]:
                raise error_for(lib.SESS_E_WRONG_STATE, "the request has ended")
            out = ffi.new("bool *")
            check(lib.sess_request_url_id_outdated(request, out))
            return bool(out[0])

        captured: List[Any] = []
        page_failed = False

        def capture(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            # Nothing is sent before the page returns: a later call with
            # exc_info (an error page, PEP 3333) replaces the response,
            # the bytes written so far included; without it, it is the
            # page's error, as PEP 3333 has servers report it. exc_info
            # is the page's exception, caught by an error handler: the
            # page failed, as if it had reached the middleware.
            nonlocal page_failed
            if captured and exc_info is None:
                raise AssertionError("start_response was called again without exc_info (PEP 3333)")
            _check_response(status, headers)  # now, while the page can still fail
            if captured:
                body.clear()
            captured[:] = [status, list(headers)]
            page_failed = page_failed or exc_info is not None
            return add

        body: List[bytes] = []

        def add(chunk: bytes) -> None:
            # Checked here, while the page can still fail: a str given to
            # the server after the session is saved fails the response
            # with the page's changes kept.
            if not isinstance(chunk, bytes):
                raise TypeError(f"a WSGI body is bytes (PEP 3333), not {type(chunk).__name__}")
            body.append(chunk)

        def begin() -> None:
            with self._shared as site:
                check(lib.sess_request_begin(site, info, out))

        def undo() -> None:  # a begin interrupted (Ctrl-C): the request ends at once
            if out[0] != ffi.NULL:
                lib.sess_request_end(out[0], True, ffi.NULL)

        try:
            interruptible(begin, undo)
        except NoApplication:  # not a session page (as Apache's mod_sess declines it)
            environ["libsess.session"] = None
            environ["libsess.rewrite_url"] = _unchanged
            environ["libsess.url_id_outdated"] = _never
            return self.app(environ, start_response)
        except InvalidArgument:  # not UTF-8, or not starting with "/"
            return _bad_path(start_response)
        except (LockTimeout, StoreUnavailable) as e:
            return _unavailable(start_response, e)
        request = out[0]  # ended by the try's end, whatever comes next
        try:
            session = self._session(request, use)
            environ["libsess.session"] = session
            if self._cookieless:
                # The page sees its path without the URL's ID segment, and
                # rewrites its links to carry it.
                script = environ.get("SCRIPT_NAME", "")
                _check_mount(_native_text(request, lib.sess_request_app_path), script)
                plain = _native_text(request, lib.sess_request_path)
                if plain != path and plain.startswith(script):
                    environ["PATH_INFO"] = plain[len(script) :]
            environ["libsess.rewrite_url"] = rewrite_url
            environ["libsess.url_id_outdated"] = url_id_outdated
            result = self.app(environ, capture)
            try:
                for chunk in result:
                    add(chunk)
            finally:
                if hasattr(result, "close"):
                    result.close()
            if not captured:  # a failed page: it keeps nothing
                raise RuntimeError("the WSGI application did not call start_response")
        except BaseException as e:
            live[0] = False
            try:
                _end(request, session, failed=True)
            except Exception as failed:  # the page's error stays the one raised
                if hasattr(e, "add_note"):  # Python 3.11
                    e.add_note(f"libsess: the session could not be discarded: {failed}")
            if isinstance(e, (LockTimeout, StoreUnavailable)):
                return _unavailable(start_response, e)
            raise
        live[0] = False
        try:
            with_cookie = _end(request, session, failed=page_failed)
        except (LockTimeout, StoreUnavailable) as e:
            return _unavailable(start_response, e)
        status, headers = captured
        if with_cookie is not None:
            headers.append(("Set-Cookie", with_cookie))
        start_response(status, headers)
        return body

    @staticmethod
    def _session(request: Any, use: str) -> Optional[Session]:
        if use == "off":
            return None
        out = ffi.new("sess_session **")
        flags = lib.SESS_REQUEST_CREATE if use == "exclusive" else 0
        if check(lib.sess_request_session(request, flags, out)) != lib.SESS_S_OK:
            return None
        return Session(out[0], owned=False)


def _applications(applications: Union[App, Mapping[str, App]]) -> Dict[str, App]:
    """The middleware's applications by virtual path: one App is served
    at "/"; anything but an App or a mapping of paths to Apps: TypeError."""
    if isinstance(applications, App):
        return {"/": applications}
    if isinstance(applications, Mapping) and all(isinstance(a, App) for a in applications.values()):
        return dict(applications)
    raise TypeError(f"applications is a libsess.App or a mapping of virtual paths to them, not {applications!r}")


def _use(use: str) -> str:
    """A session_use value in the USES spelling (any case accepted)."""
    if not isinstance(use, str) or use.lower() not in USES:
        raise ValueError(f"session_use must be one of {sorted(USES)} (any case), not {use!r}")
    return use.lower()


def _end(request: Any, session: Optional[Session], *, failed: bool) -> Optional[str]:
    """Ends the request (undoing the session's changes if it `failed`);
    the Set-Cookie value to send, if any."""
    if session is not None:
        session._end()
    cookie = ffi.new("sess_variant *")
    lib.sess_variant_init(cookie)
    try:
        hr = lib.sess_request_end(request, failed, cookie)
        value = None
        if cookie.vt == lib.SESS_VT_BSTR:
            value = unpack_text(cookie.v.bstrVal.ptr, cookie.v.bstrVal.len, "latin-1")
        try:
            check(hr)
        except SessionError as e:
            # A session the page gave a new ID lives on there, the old ID
            # dead: the error page carries its cookie.
            e.set_cookie = value
            raise
        return value
    finally:
        lib.sess_variant_clear(cookie)


def _native_text(request: Any, fn: Any) -> str:
    """The text `fn(request, buf, buf_len, out_len)` writes (a path), as a
    WSGI native string (its UTF-8 bytes as latin-1)."""
    text = text_out(lambda b, n, o: fn(request, b, n, o))
    return text.encode("utf-8").decode("latin-1")


def _check_mount(app_path: str, script: str) -> None:
    """Refuses (InvalidArgument) a cookieless application whose path lies
    above the middleware's mount point (SCRIPT_NAME): its ID segment goes
    right after its path, where no URL under the mount can carry it, so
    every request would be a new session."""
    if len(app_path.rstrip("/")) < len(script.rstrip("/")):
        message = (
            f"a cookieless application at {app_path!r} cannot carry its session ID in URLs under"
            f" SCRIPT_NAME {script!r}: declare it at the mount point,"
            f" SessionMiddleware(app, {{{script!r}: App()}}, cookieless=True)"
        )
        raise error_for(lib.SESS_E_INVALID_OPTION, message)


def _check_response(status: Any, headers: Any) -> None:
    """Raises TypeError or ValueError for a status or headers a server
    cannot send (PEP 3333: a str status, a list of (str, str) headers, all
    native strings, latin-1)."""
    if not isinstance(status, str):
        raise TypeError(f"the status is a str (PEP 3333), not {type(status).__name__}")
    if not isinstance(headers, list):
        raise TypeError(f"the headers are a list (PEP 3333), not {type(headers).__name__}")
    texts = [status]
    for header in headers:
        if not (isinstance(header, tuple) and len(header) == 2 and all(isinstance(t, str) for t in header)):
            raise TypeError(f"a header is a (name, value) tuple of str (PEP 3333), not {header!r}")
        texts += header
    for text in texts:
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"{text!r}: status and headers are latin-1 (PEP 3333)") from None


def _web_fields(options: Dict[str, Any]) -> Dict[str, Any]:
    """sess_web_options' fields from the middleware's keywords: `secure`
    and `same_site` translated to the library's values."""
    fields = dict(options)
    if "secure" in fields:
        secure = fields["secure"]
        if secure is not None and not isinstance(secure, bool):
            raise TypeError(f"secure takes True, False or None, not {type(secure).__name__}")
        fields["secure"] = _SECURE[secure]
    if "same_site" in fields:
        same_site = fields["same_site"]
        if not isinstance(same_site, str):
            raise TypeError(f"same_site takes a str, not {type(same_site).__name__}")
        if same_site.lower() not in _SAME_SITE:
            message = f"same_site must be one of {sorted(_SAME_SITE)}, not {same_site!r}"
            raise error_for(lib.SESS_E_INVALID_OPTION, message)
        fields["same_site"] = _SAME_SITE[same_site.lower()]
    return fields


def _url_ascii(url: str) -> str:
    """`url` as a link spells it: its bytes past ASCII percent-encoded
    (`%C3%A9`), the rest as it is. A WSGI native string (PEP 3333: the
    raw bytes as latin-1, as SCRIPT_NAME + PATH_INFO give the request's
    URL) is taken as the bytes it carries, UTF-8 as the middleware
    requires of a path; any other text (a link the page writes, "/café")
    is encoded as UTF-8. Encoding a native string as UTF-8 encoded the
    path twice (`/caf%C3%83%C2%A9`): the client asked for another page,
    and an application at a non-ASCII path found itself in no URL."""
    if url.isascii():
        return url
    try:
        data = url.encode("latin-1")
        data.decode("utf-8")  # a native string carries UTF-8 bytes
    except UnicodeError:
        data = url.encode("utf-8")
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in data)


def _unchanged(url: str) -> str:
    """libsess.rewrite_url outside every application: URLs carry no ID
    (but are spelled as in one, non-ASCII percent-encoded)."""
    return _url_ascii(url)


def _never() -> bool:
    """libsess.url_id_outdated outside every application: no ID to carry."""
    return False


def _reply(start_response: StartResponse, status: str, text: str, *headers: Tuple[str, str]) -> List[bytes]:
    """A short text/plain response."""
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *headers])
    return [body]


def _bad_path(start_response: StartResponse) -> List[bytes]:
    """400 Bad Request for a path the library cannot take."""
    text = "Bad Request: the path is not valid UTF-8, is not latin-1 as WSGI gives it, or holds a NUL.\n"
    return _reply(start_response, "400 Bad Request", text)


def _unavailable(start_response: StartResponse, error: SessionError) -> List[bytes]:
    """503 Service Unavailable for a session that stays locked or a store
    that is down."""
    print(f"libsess: 503: {error}", file=sys.stderr)
    text = "Service Unavailable: the session is busy or its store is down; try again.\n"
    headers = [("Retry-After", "1")]
    cookie = getattr(error, "set_cookie", None)
    if cookie is not None:
        headers.append(("Set-Cookie", cookie))
    return _reply(start_response, "503 Service Unavailable", text, *headers)
