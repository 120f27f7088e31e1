//! `sess_site` and `sess_request`: hosting on the web. A site maps virtual
//! paths to applications; a request begins there with the path and the
//! `Cookie` header, lends its session to the page, and ends with the
//! `Set-Cookie` value to send.

use std::ffi::c_char;

use super::handle::{
    self, sess_app, sess_request, sess_session, sess_site, RequestCall, RequestHandle,
};
use super::variant::{check_clearable, sess_variant, store};
use super::versioned::{self, Versioned};
use super::{
    boundary, optional_bytes, optional_text, put, require, sess_result, text, write_text, CBool,
};
use crate::error::{self as err, Error, Result};
use crate::variant::Variant;
use crate::web::{CookieOptions, RequestInfo, SameSite, Secure, SessionUse, Site, WebOptions};

/// `sess_web_options.secure`: `Secure` on HTTPS requests only.
pub const SECURE_AUTO: u32 = 0;
/// `sess_web_options.secure`: always `Secure`.
pub const SECURE_ALWAYS: u32 = 1;
/// `sess_web_options.secure`: never `Secure`.
pub const SECURE_NEVER: u32 = 2;
/// `sess_web_options.same_site`: `SameSite=Lax`.
pub const SAMESITE_LAX: u32 = 0;
/// `sess_web_options.same_site`: `SameSite=Strict`.
pub const SAMESITE_STRICT: u32 = 1;
/// `sess_web_options.same_site`: `SameSite=None` (needs Secure).
pub const SAMESITE_NONE: u32 = 2;
/// `sess_web_options.same_site`: no SameSite attribute.
pub const SAMESITE_OMIT: u32 = 3;
/// `sess_request_info.session_use`: read-write, may create a session.
pub const USE_EXCLUSIVE: u32 = 0;
/// `sess_request_info.session_use`: read-only, shared, never saved.
pub const USE_READONLY: u32 = 1;
/// `sess_request_info.session_use`: no session state.
pub const USE_OFF: u32 = 2;
/// `sess_request_session` flag: create a session if there is none.
pub const REQUEST_CREATE: u32 = 1;

/// How an application's session ID travels. Fill with
/// `sess_web_options_init`, then change what you need.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sess_web_options {
    /// `sizeof(sess_web_options)` as the caller knows it.
    pub struct_size: u32,
    /// `SESS_SECURE_AUTO` (default), `_ALWAYS` or `_NEVER`.
    pub secure: u32,
    /// `SESS_SAMESITE_LAX` (default), `_STRICT`, `_NONE` or `_OMIT`.
    pub same_site: u32,
    /// Non-zero: the cookie's `Max-Age` in seconds, at most 400 days
    /// (default 0: a browser-session cookie). Every response to a request
    /// that renews a session (one it found, read-only or failed too) then
    /// sends the cookie again, its value still the ID, with a fresh
    /// `Max-Age`: a few dozen bytes each, since the server cannot know when
    /// a client's cookie expires without putting that in the value. Make it
    /// at least the Timeout, so an active client's cookie lasts as long as
    /// its session.
    pub max_age_seconds: u32,
    /// Cookie name, or NULL (default) for one derived from the path
    /// (`ASPSESSIONID`, `ASPSESSIONID_search`, ...; bytes other than ASCII
    /// letters, digits, `-` and `.` as `%XX`, `/` as `_`: distinct paths,
    /// distinct names). Copied.
    pub cookie_name: *const c_char,
    /// Cookie `Path`, or NULL (default) for `/`, as ASP sends it (application
    /// paths match case-insensitively, cookie paths do not; the derived
    /// names keep applications apart). One given must cover the application
    /// path as browsers send it, percent-encoded (`/caf%C3%A9` for `/café`;
    /// never `/%73earch` for `/search`), ASCII case-insensitively, else
    /// `SESS_E_INVALID_OPTION`. Copied.
    pub cookie_path: *const c_char,
    /// Cookie `Domain`, or NULL (default: none). A public suffix (`com`,
    /// `co.uk`, `github.io`, any single label) or an IP address, which
    /// browsers refuse, is `SESS_E_INVALID_OPTION`. Copied.
    pub cookie_domain: *const c_char,
    /// Prefix the cookie name with `__Host-` (needs Secure, Path=/). The
    /// one defence against a cookie of the same name planted by a sibling
    /// subdomain or an HTTP page of the host, which browsers may send first
    /// (recommended wherever the site is HTTPS-only).
    pub host_prefix: CBool,
    /// Carry IDs in URLs (`/(S(<id>))/...`) instead of a cookie. Weaker: IDs
    /// in URLs leak through logs and `Referer`. Default false.
    pub cookieless: CBool,
}

/// What a host knows when a request arrives.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sess_request_info {
    /// `sizeof(sess_request_info)` as the caller knows it.
    pub struct_size: u32,
    /// `SESS_USE_EXCLUSIVE`, `SESS_USE_READONLY` or `SESS_USE_OFF`.
    pub session_use: u32,
    /// The request path, percent-decoded, UTF-8, NUL-terminated, without
    /// the query string: a `?` or `#` in it (a decoded `%3F` or `%23`) is
    /// the path's own.
    pub path: *const c_char,
    /// The `Cookie` header's bytes (several headers joined with "; " or ", "), or
    /// NULL; need not be UTF-8 or NUL-terminated.
    pub cookie_header: *const c_char,
    /// Length of `cookie_header` in bytes.
    pub cookie_header_len: usize,
    /// Whether the request came over HTTPS.
    pub https: CBool,
}

fn web_defaults() -> sess_web_options {
    sess_web_options {
        struct_size: std::mem::size_of::<sess_web_options>() as u32,
        secure: SECURE_AUTO,
        same_site: SAMESITE_LAX,
        max_age_seconds: 0,
        cookie_name: std::ptr::null(),
        cookie_path: std::ptr::null(),
        cookie_domain: std::ptr::null(),
        host_prefix: false.into(),
        cookieless: false.into(),
    }
}

/// Fills `*opts` with the defaults and sets `struct_size`.
/// It writes this library's whole struct: C and C++ callers reach
/// `sess_web_options_init_sized` through the header's `sess_web_options_init`
/// macro instead (see "Versioned structs" at the top).
#[no_mangle]
pub unsafe extern "C" fn sess_web_options_init(opts: *mut sess_web_options) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or writable.
        unsafe { super::put_required(opts, web_defaults(), "opts") }?;
        Ok(err::S_OK)
    })
}

/// As `sess_web_options_init`, for the caller's struct of `size` bytes (its
/// `sizeof`): nothing is written past it (see "Versioned structs" at the
/// top).
#[no_mangle]
pub unsafe extern "C" fn sess_web_options_init_sized(
    opts: *mut sess_web_options,
    size: usize,
) -> sess_result {
    // SAFETY: NULL or writable for `size` bytes per the contract.
    unsafe { versioned::init_sized(opts, size, "opts") }
}

// SAFETY: repr(C), struct_size first.
unsafe impl Versioned for sess_web_options {
    const NAME: &'static str = "sess_web_options";
    const VERSIONS: &'static [usize] = &[std::mem::size_of::<sess_web_options>()];
    fn defaults() -> Self {
        web_defaults()
    }
}

// SAFETY: repr(C), struct_size first.
unsafe impl Versioned for sess_request_info {
    const NAME: &'static str = "sess_request_info";
    const VERSIONS: &'static [usize] = &[std::mem::size_of::<sess_request_info>()];
    fn defaults() -> Self {
        sess_request_info {
            struct_size: std::mem::size_of::<sess_request_info>() as u32,
            session_use: USE_EXCLUSIVE,
            path: std::ptr::null(),
            cookie_header: std::ptr::null(),
            cookie_header_len: 0,
            https: false.into(),
        }
    }
}

/// The Rust form of a `SESS_USE_*` value.
fn session_use_of(v: u32) -> Result<SessionUse> {
    match v {
        USE_EXCLUSIVE => Ok(SessionUse::Exclusive),
        USE_READONLY => Ok(SessionUse::ReadOnly),
        USE_OFF => Ok(SessionUse::Off),
        v => Err(Error::new(
            err::E_INVALIDARG,
            format!("session_use {v} is not a SESS_USE_* value"),
        )),
    }
}

/// # Safety
/// The strings in `o` NULL or NUL-terminated.
unsafe fn to_web_options(o: &sess_web_options) -> Result<WebOptions> {
    let secure = match o.secure {
        SECURE_AUTO => Secure::Auto,
        SECURE_ALWAYS => Secure::Always,
        SECURE_NEVER => Secure::Never,
        v => {
            return Err(Error::new(
                err::E_INVALID_OPTION,
                format!("secure {v} is not a SESS_SECURE_* value"),
            ))
        }
    };
    let same_site = match o.same_site {
        SAMESITE_LAX => SameSite::Lax,
        SAMESITE_STRICT => SameSite::Strict,
        SAMESITE_NONE => SameSite::None,
        SAMESITE_OMIT => SameSite::Omit,
        v => {
            return Err(Error::new(
                err::E_INVALID_OPTION,
                format!("same_site {v} is not a SESS_SAMESITE_* value"),
            ))
        }
    };
    Ok(WebOptions {
        // SAFETY: per the caller.
        cookie_name: unsafe { optional_text(o.cookie_name, "cookie_name") }?.map(str::to_owned),
        // SAFETY: per the caller.
        cookie_path: unsafe { optional_text(o.cookie_path, "cookie_path") }?.map(str::to_owned),
        cookie: CookieOptions {
            secure,
            same_site,
            host_prefix: o.host_prefix.get(),
            // SAFETY: per the caller.
            domain: unsafe { optional_text(o.cookie_domain, "cookie_domain") }?.map(str::to_owned),
            max_age_seconds: (o.max_age_seconds != 0).then_some(o.max_age_seconds),
            ..CookieOptions::default()
        },
        cookieless: o.cookieless.get(),
    })
}

/// Creates an empty site in `*out`. Release it with `sess_site_release`.
#[no_mangle]
pub unsafe extern "C" fn sess_site_create(out: *mut *mut sess_site) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or writable.
        unsafe { handle::hand_out(out, handle::Releasable::new(Site::new())) }?;
        Ok(err::S_OK)
    })
}

/// Releases a site. End every request first. An application the site
/// held the last handle of ends here, as `sess_app_release` describes
/// (Session_OnEnd for its in-process sessions included); the others live
/// on while other handles hold them. A Session_OnEnd it runs that calls
/// back with this site gets `SESS_E_WRONG_STATE`. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sess_site_release(site: *mut sess_site) {
    super::boundary_void(|| {
        // SAFETY: NULL or made by sess_site_create, released once.
        unsafe { handle::release(site) };
        Ok(())
    });
}

/// Serves `app` at `virtual_path` (e.g. "/" or "/search"); requests under
/// it belong to `app` unless a deeper application claims them. The site
/// shares the application: the caller still releases its own handle. `opts`
/// NULL: defaults. Bad or duplicate paths and bad or clashing cookie
/// options are `SESS_E_INVALID_OPTION`. Add every application before the
/// first request (not thread-safe against `sess_request_begin`).
#[no_mangle]
pub unsafe extern "C" fn sess_site_add(
    site: *mut sess_site,
    virtual_path: *const c_char,
    app: *const sess_app,
    opts: *const sess_web_options,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live site.
        let mut site = unsafe { handle::live(site, "site") }?;
        // SAFETY: NUL-terminated.
        let path = unsafe { text(virtual_path, "virtual_path") }?;
        // SAFETY: NULL or a live application.
        let app = unsafe { handle::live(app, "app") }?;
        // SAFETY: NULL or a readable options struct.
        let o = unsafe { versioned::read_or_default(opts, "opts") }?;
        // SAFETY: its strings are NULL or NUL-terminated.
        site.add(path, &app, unsafe { to_web_options(&o) }?)?;
        Ok(err::S_OK)
    })
}

/// The Rust form of a caller's request info.
///
/// # Safety
/// `i.path` NUL-terminated, `i.cookie_header` NULL or readable for
/// `i.cookie_header_len` bytes.
unsafe fn request_info(i: &sess_request_info) -> Result<RequestInfo<'_>> {
    Ok(RequestInfo {
        // SAFETY: NUL-terminated per the caller.
        path: unsafe { text(i.path, "info->path") }?,
        // SAFETY: NULL or readable for cookie_header_len bytes per the caller.
        cookie_header: unsafe {
            optional_bytes(i.cookie_header, i.cookie_header_len, "info->cookie_header")
        }?,
        https: i.https.get(),
        session_use: session_use_of(i.session_use)?,
    })
}

/// Begins a request: finds its application by path and its session by the
/// cookie (or the URL, in cookieless applications), taking the session's
/// lock. An ID the store does not hold is never adopted. With
/// Session_OnStart registered, an exclusive request without a session gets
/// a new one at once. Errors: no application for the path
/// `SESS_E_NO_APPLICATION` (not a session page: a module declines it); the
/// session held by another request past the lock
/// timeout `SESS_E_LOCK_TIMEOUT`, or a store that is down
/// `SESS_E_STORE_UNAVAILABLE` (answer 503 to both). The caller owns `*out`
/// and ends it with `sess_request_end`.
#[no_mangle]
pub unsafe extern "C" fn sess_request_begin(
    site: *const sess_site,
    info: *const sess_request_info,
    out: *mut *mut sess_request,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live site.
        let site = unsafe { handle::live(site, "site") }?;
        // SAFETY: NULL or readable.
        let i = unsafe { versioned::read(info, "info") }?;
        require(out, "out")?;
        // SAFETY: its path and cookie header as the contract says.
        let req = site.begin(&unsafe { request_info(&i) }?)?;
        // SAFETY: checked non-NULL.
        unsafe { handle::hand_out(out, RequestHandle::new(req)) }?;
        Ok(err::S_OK)
    })
}

/// Takes the session as `session_use` says (`SESS_USE_EXCLUSIVE` or
/// `SESS_USE_READONLY`; `SESS_USE_OFF` is `SESS_E_INVALIDARG`), for a request begun with `SESS_USE_OFF`: a host can
/// route first (`sess_request_path`, `sess_request_app_path`) and then
/// learn whether the page reads or writes the session. Once only; errors as
/// for `sess_request_begin`; a request already using session state is
/// `SESS_E_WRONG_STATE`.
#[no_mangle]
pub unsafe extern "C" fn sess_request_acquire(
    req: *mut sess_request,
    session_use: u32,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request.
        unsafe { RequestCall::enter(req) }?.acquire(session_use_of(session_use)?)?;
        Ok(err::S_OK)
    })
}

/// The request's session in `*out`: the existing one, or with
/// `SESS_REQUEST_CREATE` a new one if there is none (stored only when
/// something is written). No session and no create flag: `SESS_S_FALSE`
/// and `*out` NULL. The handle is lent: valid until `sess_request_end`,
/// which ends it (`sess_session_close` on it is `SESS_E_WRONG_STATE`). A
/// read-only request never creates (`SESS_E_READONLY`); one with session
/// state off has none (`SESS_S_FALSE`; with `SESS_REQUEST_CREATE`,
/// `SESS_E_WRONG_STATE`).
#[no_mangle]
pub unsafe extern "C" fn sess_request_session(
    req: *mut sess_request,
    flags: u32,
    out: *mut *mut sess_session,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request.
        let mut r = unsafe { RequestCall::enter(req) }?;
        require(out, "out")?;
        if flags & !REQUEST_CREATE != 0 {
            return Err(Error::new(
                err::E_INVALIDARG,
                format!("unknown flags {flags:#x}"),
            ));
        }
        let has = if flags & REQUEST_CREATE != 0 {
            r.session_or_new()?;
            true
        } else {
            r.session().is_some()
        };
        let (s, rc) = if has {
            (r.lent_session(), err::S_OK)
        } else {
            (std::ptr::null_mut(), err::S_FALSE)
        };
        // SAFETY: checked non-NULL.
        unsafe { put(out, s) };
        Ok(rc)
    })
}

/// The request path without any cookieless ID segment, written to `buf`.
#[no_mangle]
pub unsafe extern "C" fn sess_request_path(
    req: *const sess_request,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request; the caller's buffer contract.
        unsafe { write_text(RequestCall::enter(req)?.path(), buf, buf_len, out_len) }
    })
}

/// The virtual path of the request's application, written to `buf`.
#[no_mangle]
pub unsafe extern "C" fn sess_request_app_path(
    req: *const sess_request,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request; the caller's buffer contract.
        unsafe { write_text(RequestCall::enter(req)?.app_path(), buf, buf_len, out_len) }
    })
}

/// `url` as a link or redirect should carry it, written to `buf`: in a
/// cookieless application with a live session, with the `(S(<id>))`
/// segment after the application path; with session state off
/// (`SESS_USE_OFF`: the ID not looked up), with the ID the URL came with,
/// so the client keeps its session past the page; otherwise (no session,
/// or one abandoned) unchanged. So is a URL of another application under
/// this one's path, and one whose path holds a `\`, an ASCII control or
/// space, or a `.` or `..` segment, `%2e` or `..%2F` too: browsers would
/// take it to another path, or host, than the ID's. `url` is read as a
/// link spells it, percent-encoded, and as the server will decode it:
/// `/caf%C3%A9/x` is a page of `/café`.
#[no_mangle]
pub unsafe extern "C" fn sess_request_rewrite_url(
    req: *const sess_request,
    url: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request.
        let req = unsafe { RequestCall::enter(req) }?;
        // SAFETY: NUL-terminated.
        let url = unsafe { text(url, "url") }?;
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(&req.rewrite_url(url), buf, buf_len, out_len) }
    })
}

/// Whether the URL the request came with no longer carries its session's
/// ID, in `*out`: true in a cookieless application whose session is stored
/// and live, when the page gave it a new ID (`sess_session_regenerate_id`,
/// at login) or it is new (the URL had no ID, or a dead one). The page's
/// relative links resolve against that URL, so the next click would lose
/// the session: redirect (302 for a GET, 303 after a POST), as ASP.NET
/// does whenever it puts a new ID in a URL, to `sess_request_rewrite_url`
/// of the request's URL. False in a cookie application (the `Set-Cookie`
/// carries the ID), with no session, and after Abandon.
#[no_mangle]
pub unsafe extern "C" fn sess_request_url_id_outdated(
    req: *const sess_request,
    out: *mut bool,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request; out NULL or writable.
        unsafe { super::put_required(out, RequestCall::enter(req)?.url_id_outdated(), "out") }?;
        Ok(err::S_OK)
    })
}

/// Ends the request and frees it: keeps the session's changes, or, if
/// `failed` (the page failed: don't save), undoes them; applies Abandon
/// (Session_OnEnd runs; a read-only request's Abandon can fail as
/// `sess_abandon` says); releases the lock. `*out_set_cookie` (initialised;
/// may be NULL) receives the `Set-Cookie` header value to send as a
/// `SESS_VT_BSTR` the caller owns, or `SESS_VT_EMPTY` for none (a value
/// already given by `sess_request_set_cookie` is not repeated). A failure
/// leaves `*out_set_cookie` as it was, but one: a session the page gave a
/// new ID (`sess_session_regenerate_id`) whose save (or unlock) then
/// failed lives on under that ID, the old one dead, so `*out_set_cookie`
/// receives its cookie with the error: send it with the error page, or
/// the client keeps neither ID. The request
/// is freed even when an error is returned, except when `*out_set_cookie`
/// cannot be written (a bad tag), or when host code the request is running
/// (Session_OnStart, a static object's factory) calls it
/// (`SESS_E_WRONG_STATE`): those are refused first, with the request left
/// as it was.
#[no_mangle]
pub unsafe extern "C" fn sess_request_end(
    req: *mut sess_request,
    failed: bool,
    out_set_cookie: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        if !out_set_cookie.is_null() {
            // Before the request ends: its cookie must not be lost.
            // SAFETY: an initialised variant per the contract.
            unsafe { check_clearable(&*out_set_cookie) }?;
        }
        // SAFETY: NULL or a live request. Refused while a call on it
        // runs, before anything is freed.
        let mut call = unsafe { RequestCall::enter(req) }?;
        let ended = call.end(failed);
        drop(call);
        // SAFETY: a request from sess_request_begin, ended once.
        drop(unsafe { handle::take(req) });
        let (set_cookie, ended) = match ended {
            Ok(outcome) => (outcome.set_cookie, Ok(err::S_OK)),
            Err(e) => (e.set_cookie, Err(e.error)),
        };
        if !out_set_cookie.is_null() && (ended.is_ok() || set_cookie.is_some()) {
            let value = set_cookie.map_or(Variant::Empty, |c| Variant::Bstr(c.into()));
            // SAFETY: an initialised variant per the contract.
            unsafe { store(out_set_cookie, value) }?;
        }
        ended
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn c_bool_fields_take_any_nonzero_byte() {
        for (field, offset) in [
            ("host_prefix", offset_of!(sess_web_options, host_prefix)),
            ("cookieless", offset_of!(sess_web_options, cookieless)),
        ] {
            let o = versioned::with_byte(offset, 2, |p: *const sess_web_options| {
                // SAFETY: a whole struct, its strings NULL.
                unsafe { to_web_options(&versioned::read(p, "opts")?) }
            })
            .unwrap();
            let set = if field == "host_prefix" {
                o.cookie.host_prefix
            } else {
                o.cookieless
            };
            assert!(set, "{field} holding 2 reads as true");
        }
        let https = versioned::with_byte(
            offset_of!(sess_request_info, https),
            2,
            |p: *const sess_request_info| {
                // SAFETY: a whole struct; its cookie header NULL.
                let mut i = unsafe { versioned::read(p, "info") }?;
                i.path = c"/".as_ptr();
                // SAFETY: the path is NUL-terminated.
                unsafe { request_info(&i) }.map(|r| r.https)
            },
        );
        assert_eq!(https.map_err(|e| e.code()), Ok(true), "https holding 2");
    }

    #[test]
    fn a_cookie_length_without_the_header_is_refused() {
        let mut site = std::ptr::null_mut();
        let mut app = std::ptr::null_mut();
        let mut info = <sess_request_info as Versioned>::defaults();
        info.path = c"/".as_ptr();
        info.cookie_header_len = 10;
        let mut req = std::ptr::null_mut();
        // SAFETY: handles and structs made here, released here.
        unsafe {
            assert_eq!(
                super::super::app::sess_app_create(std::ptr::null(), &mut app),
                0
            );
            assert_eq!(sess_site_create(&mut site), 0);
            assert_eq!(
                sess_site_add(site, c"/(S(x))".as_ptr(), app, std::ptr::null()),
                err::E_INVALID_OPTION
            );
            assert_eq!(sess_site_add(site, c"/".as_ptr(), app, std::ptr::null()), 0);
            assert_eq!(sess_request_begin(site, &info, &mut req), err::E_POINTER);
            assert!(req.is_null());
            info.cookie_header_len = 0;
            info.session_use = USE_OFF;
            assert_eq!(sess_request_begin(site, &info, &mut req), 0);
            assert_eq!(sess_request_acquire(req, USE_OFF), err::E_INVALIDARG);
            // Session state off: no session, and none made.
            let mut s = std::ptr::NonNull::dangling().as_ptr();
            assert_eq!(sess_request_session(req, 0, &mut s), err::S_FALSE);
            assert!(s.is_null());
            assert_eq!(
                sess_request_session(req, REQUEST_CREATE, &mut s),
                err::E_WRONG_STATE
            );
            assert_eq!(sess_request_end(req, false, std::ptr::null_mut()), 0);
            sess_site_release(site);
            super::super::app::sess_app_release(app);
        }
    }

    /// A `Set-Cookie` variant that cannot be written is refused before the
    /// request ends, so the new session's cookie is not lost: the request
    /// lives on and a second end hands the cookie over.
    #[test]
    fn an_unwritable_cookie_variant_leaves_the_request_to_end_again() {
        let mut site = std::ptr::null_mut();
        let mut app = std::ptr::null_mut();
        let mut info = <sess_request_info as Versioned>::defaults();
        info.path = c"/".as_ptr();
        let mut req = std::ptr::null_mut();
        let mut s = std::ptr::null_mut();
        let mut cookie = super::super::variant::write(Variant::Empty);
        cookie.vt = 0x7777;
        // SAFETY: handles and structs made here, released here.
        unsafe {
            assert_eq!(
                super::super::app::sess_app_create(std::ptr::null(), &mut app),
                0
            );
            assert_eq!(sess_site_create(&mut site), 0);
            assert_eq!(sess_site_add(site, c"/".as_ptr(), app, std::ptr::null()), 0);
            assert_eq!(sess_request_begin(site, &info, &mut req), 0);
            assert_eq!(sess_request_session(req, REQUEST_CREATE, &mut s), 0);
            let one = super::super::variant::write(Variant::I4(1));
            assert_eq!(
                super::super::session::sess_value_set(s, c"k".as_ptr(), &one),
                0
            );
            assert_eq!(
                sess_request_end(req, false, &mut cookie),
                err::DISP_E_BADVARTYPE
            );
            assert_eq!(cookie.vt, 0x7777, "left as it was");
            cookie = super::super::variant::write(Variant::Empty);
            assert_eq!(sess_request_end(req, false, &mut cookie), 0);
            let value = super::super::variant::read(&cookie).unwrap();
            assert!(
                matches!(&value, Variant::Bstr(c) if c.to_string().starts_with("ASPSESSIONID")),
                "{value:?}"
            );
            assert_eq!(super::super::variant::sess_variant_clear(&mut cookie), 0);
            sess_site_release(site);
            super::super::app::sess_app_release(app);
        }
    }

    /// A site shares its applications: releasing the caller's handle
    /// first ends nothing (Session_OnEnd may still run, so the host keeps
    /// `event_context`); the site's release, the last handle, ends the
    /// application and its in-process sessions.
    #[test]
    fn an_application_a_site_holds_ends_with_the_last_release() {
        use super::super::app::{sess_app_create, sess_app_options, sess_app_release};
        use std::sync::atomic::{AtomicUsize, Ordering};
        unsafe extern "C" fn count(context: *mut std::ffi::c_void, _: *mut sess_session) {
            // SAFETY: the test's counter, alive until both releases.
            unsafe { &*context.cast::<AtomicUsize>() }.fetch_add(1, Ordering::SeqCst);
        }
        let ended = AtomicUsize::new(0);
        let mut opts = <sess_app_options as Versioned>::defaults();
        opts.on_end = Some(count);
        opts.event_context = std::ptr::from_ref(&ended).cast_mut().cast();
        let (mut app, mut site, mut req, mut s) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        let mut info = <sess_request_info as Versioned>::defaults();
        info.path = c"/".as_ptr();
        // SAFETY: handles and structs made here, released here.
        unsafe {
            assert_eq!(sess_app_create(&opts, &mut app), 0);
            assert_eq!(sess_site_create(&mut site), 0);
            assert_eq!(sess_site_add(site, c"/".as_ptr(), app, std::ptr::null()), 0);
            assert_eq!(sess_request_begin(site, &info, &mut req), 0);
            assert_eq!(sess_request_session(req, REQUEST_CREATE, &mut s), 0);
            let one = super::super::variant::write(Variant::I4(1));
            assert_eq!(
                super::super::session::sess_value_set(s, c"k".as_ptr(), &one),
                0
            );
            assert_eq!(sess_request_end(req, false, std::ptr::null_mut()), 0);
            sess_app_release(app);
            assert_eq!(ended.load(Ordering::SeqCst), 0, "the site still holds it");
            sess_site_release(site);
        }
        assert_eq!(ended.load(Ordering::SeqCst), 1, "ended with the site");
    }

    /// What a Session_OnEnd run by `sess_site_release` got back from the
    /// site being released.
    struct SiteCalls {
        site: *mut sess_site,
        begin: sess_result,
        runs: usize,
    }

    unsafe extern "C" fn call_the_released_site(
        context: *mut std::ffi::c_void,
        _: *mut sess_session,
    ) {
        // SAFETY: the test's context, used on this thread only.
        let c = unsafe { &mut *context.cast::<SiteCalls>() };
        let mut info = <sess_request_info as Versioned>::defaults();
        info.path = c"/".as_ptr();
        let mut req = std::ptr::null_mut();
        // SAFETY: the site is being released: the calls must refuse it.
        unsafe {
            c.begin = sess_request_begin(c.site, &info, &mut req);
            sess_site_release(c.site);
        }
        c.runs += 1;
    }

    /// A Session_OnEnd run by `sess_site_release` (the site held the
    /// application's last handle) that calls back with the site is
    /// refused (`SESS_E_WRONG_STATE`), not served by a site in mid-drop;
    /// a second release there is a no-op.
    #[test]
    fn the_site_being_released_refuses_calls_from_an_on_end() {
        use super::super::app::{sess_app_create, sess_app_options, sess_app_release};
        let mut c = SiteCalls {
            site: std::ptr::null_mut(),
            begin: 0,
            runs: 0,
        };
        let mut opts = <sess_app_options as Versioned>::defaults();
        opts.on_end = Some(call_the_released_site);
        let ctx = &raw mut c;
        // Every later access goes through `ctx`, as the handler's does.
        opts.event_context = ctx.cast();
        let (mut app, mut s) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: handles made here; the context outlives them.
        unsafe {
            assert_eq!(sess_app_create(&opts, &mut app), 0);
            assert_eq!(sess_site_create(&mut (*ctx).site), 0);
            assert_eq!(
                sess_site_add((*ctx).site, c"/".as_ptr(), app, std::ptr::null()),
                0
            );
            assert_eq!(super::super::session::sess_session_create(app, &mut s), 0);
            let one = super::super::variant::write(Variant::I4(1));
            assert_eq!(
                super::super::session::sess_value_set(s, c"k".as_ptr(), &one),
                0
            );
            assert_eq!(super::super::session::sess_session_close(s), 0);
            sess_app_release(app);
            sess_site_release((*ctx).site);
        }
        assert_eq!(c.runs, 1, "OnEnd ran once");
        assert_eq!(c.begin, err::E_WRONG_STATE);
    }

    #[test]
    fn web_structs_follow_the_versioned_rule() {
        versioned::check_the_rule::<sess_web_options>();
        versioned::check_the_rule::<sess_request_info>();
    }
}
