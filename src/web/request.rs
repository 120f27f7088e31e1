//! The request lifecycle, as ASP.NET's SessionStateModule runs it: begin
//! (application, ID from cookie or URL, lock), the page's work on the
//! session (created lazily), end (commit or not, Abandon and OnEnd, unlock,
//! and the `Set-Cookie` to send).

use std::sync::Arc;

use super::paths::is_under;
use super::site::{Site, WebApp};
use super::{cookie, cookieless};
use crate::app::{App, Session};
use crate::error::{self, Error, ErrorKind, Result};
use crate::state::SessionId;
use crate::store::LockMode;

/// How a request uses session state (ASP's `EnableSessionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionUse {
    /// Read-write: the session is held exclusively; may create one.
    Exclusive,
    /// Read-only: shared with other read-only requests; never saved or
    /// created.
    ReadOnly,
    /// No session state for this request.
    Off,
}

/// What a host knows when a request arrives.
#[derive(Clone, Copy, Debug)]
pub struct RequestInfo<'a> {
    /// The request path, percent-decoded, without the query string: a `?`
    /// or `#` in it (a decoded `%3F` or `%23`) is the path's own.
    pub path: &'a str,
    /// The `Cookie` header's bytes (several headers joined with `"; "` or `", "`).
    pub cookie_header: Option<&'a [u8]>,
    /// Whether the request came over HTTPS.
    pub https: bool,
    /// How the request uses session state.
    pub session_use: SessionUse,
}

/// What to send back when a request ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The `Set-Cookie` header value to send, if any: a new or regenerated
    /// session's cookie, a persistent cookie given again because the
    /// request renewed its session ([`Request::end`]), or one that deletes
    /// the cookie after Abandon. A value the host already sent early
    /// ([`Request::set_cookie_now`]) is not repeated.
    pub set_cookie: Option<String>,
}

/// A request whose end failed ([`Request::end`]): the failure, and the
/// `Set-Cookie` the response must carry all the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndError {
    /// What failed: the store's save, unlock or removal.
    pub error: Error,
    /// The cookie of the ID the request gave its session
    /// ([`Session::regenerate_id`]) when the session lives on there: the
    /// store moved it before the failure and the old ID is dead, so a
    /// response without it leaves the client neither. `None` for every
    /// other failure: a new session whose save failed is not the client's,
    /// and an abandoned one whose removal failed keeps its cookie (the
    /// logout can be tried again).
    pub set_cookie: Option<String>,
}

impl From<EndError> for Error {
    fn from(e: EndError) -> Error {
        e.error
    }
}

impl std::fmt::Display for EndError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for EndError {}

/// One request in progress: holds its session (if any) until [`Request::end`].
///
/// Strict mode: an ID the store does not hold is never adopted; a request
/// presenting one gets a session of a fresh ID only as one without an ID
/// would: when it writes or first uses a session-scope static object, or,
/// with Session_OnStart, at once (an exclusive request).
pub struct Request {
    web: Arc<WebApp>,
    https: bool,
    session_use: SessionUse,
    path: String,
    session: Option<Session>,
    /// The well-formed IDs the client presented (cookie or URL), in its
    /// order: the session is the first the store holds; whether the client
    /// has a cookie to clear follows from the first.
    presented: Vec<SessionId>,
    /// The `Set-Cookie` value the host sent before the end, if any.
    sent_cookie: Option<String>,
}

impl Request {
    pub(super) fn begin(site: &Site, info: &RequestInfo<'_>) -> Result<Request> {
        if !info.path.starts_with('/') {
            return Err(Error::new(
                error::E_INVALIDARG,
                format!("the request path {:?} does not start with '/'", info.path),
            ));
        }
        let mut web = site
            .resolve_web(info.path)
            .ok_or_else(|| {
                Error::new(
                    error::E_NO_APPLICATION,
                    format!("no application serves {:?}", info.path),
                )
            })?
            .clone();
        let mut path = info.path.to_owned();
        let mut ids = Vec::new();
        // A request whose path, without a cookieless application's ID
        // segment, is a page of an application nested under it
        // (`/(S(<id>))/search/x`) is that application's, without that ID;
        // its own segment, if it is cookieless too, may follow.
        while web.cookieless {
            let Some((found, stripped)) = cookieless::extract_path(&web.path, &path) else {
                break;
            };
            match site.resolve_web(&stripped) {
                Some(w) if Arc::ptr_eq(w, &web) => {
                    (ids, path) = (vec![found], stripped);
                    break;
                }
                Some(w) if is_under(&w.path, &web.path) => (web, path) = (w.clone(), stripped),
                _ => break, // `..` led out of it: no ID, the path as it came
            }
        }
        if !web.cookieless {
            if let Some(header) = info.cookie_header {
                ids = cookie::find_session_ids_bytes(header, &web.cookie);
            }
        }
        let mut req = Request {
            web,
            https: info.https,
            session_use: SessionUse::Off,
            path,
            session: None,
            presented: ids,
            sent_cookie: None,
        };
        if info.session_use != SessionUse::Off {
            req.acquire(info.session_use)?;
        }
        Ok(req)
    }

    /// Takes the session as `session_use` says, for a request begun with
    /// [`SessionUse::Off`] (a host that routes first, then learns whether
    /// the page reads or writes the session). Once only: a request already
    /// using session state is `E_WRONG_STATE`; [`SessionUse::Off`] takes
    /// nothing and is `E_INVALIDARG`.
    pub fn acquire(&mut self, session_use: SessionUse) -> Result<()> {
        let mode = match session_use {
            SessionUse::Off => {
                return Err(Error::new(
                    error::E_INVALIDARG,
                    "acquire takes SESS_USE_EXCLUSIVE or SESS_USE_READONLY, not OFF",
                ))
            }
            SessionUse::Exclusive => LockMode::Exclusive,
            SessionUse::ReadOnly => LockMode::Shared,
        };
        if self.session_use != SessionUse::Off {
            return Err(Error::new(
                error::E_WRONG_STATE,
                "the request already uses session state",
            ));
        }
        for id in &self.presented {
            match self.web.app.open(id, mode) {
                Ok(s) => {
                    self.session = Some(s);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::SessionNotFound => {}
                Err(e) => return Err(e),
            }
        }
        // Session_OnStart, when there is one, makes the session exist at
        // once, and runs before the host sees it.
        if self.session.is_none()
            && mode == LockMode::Exclusive
            && self.web.app.options().on_start.is_some()
        {
            self.session = Some(self.web.app.create_session()?);
        }
        self.session_use = session_use;
        Ok(())
    }

    /// The application.
    pub fn app(&self) -> &App {
        &self.web.app
    }

    /// The application's virtual path.
    pub fn app_path(&self) -> &str {
        &self.web.path
    }

    /// The request path without any cookieless ID segment.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// How the request uses session state.
    pub fn session_use(&self) -> SessionUse {
        self.session_use
    }

    /// Whether the application carries IDs in URLs.
    pub fn is_cookieless(&self) -> bool {
        self.web.cookieless
    }

    /// The session, if the request has one already (never creates one: a
    /// page that only reads, like `/peek`, uses this).
    pub fn session(&mut self) -> Option<&mut Session> {
        self.session.as_mut()
    }

    /// The session, created if there is none (not stored until something
    /// is written to it). A read-only request without a session is
    /// `E_READONLY`; one with session state off is `E_WRONG_STATE`.
    pub fn session_or_new(&mut self) -> Result<&mut Session> {
        if self.session.is_none() {
            match self.session_use {
                SessionUse::Exclusive => {
                    self.session = Some(self.web.app.create_session()?);
                }
                SessionUse::ReadOnly => {
                    return Err(Error::new(
                        error::E_READONLY,
                        "a read-only request does not create a session",
                    ))
                }
                SessionUse::Off => {
                    return Err(Error::new(
                        error::E_WRONG_STATE,
                        "session state is off for this request",
                    ))
                }
            }
        }
        Ok(self.session.as_mut().expect("set above"))
    }

    /// `url` as a link or redirect target should be written: in a cookieless
    /// application with a live session, with the session's ID segment; with
    /// session state off (not looked up), with the ID the URL came with, so
    /// the client keeps its session past the page (as ASP.NET's
    /// `ApplyAppPathModifier` does); otherwise unchanged (no session, or one
    /// abandoned). `url` is read as a link spells it,
    /// percent-encoded, and as the server will decode it
    /// ([`cookieless::served_path`]: `/caf%C3%A9/x` is a page of `/café`).
    /// A URL of an application nested under this one gets no ID (one that
    /// has a segment of this application's loses it); one whose path is
    /// not [`cookieless::is_plain_path`] (a `\`, an ASCII control or space,
    /// a `.` or `..` segment, `..%2F` too) is returned as it is.
    pub fn rewrite_url(&self, url: &str) -> String {
        let id = match &self.session {
            Some(s) if !s.is_abandoned() => s.id(),
            None if self.session_use == SessionUse::Off => match self.presented.first() {
                Some(id) => *id,
                None => return url.to_owned(),
            },
            _ => return url.to_owned(),
        };
        if !self.web.cookieless {
            return url.to_owned();
        }
        let bare = cookieless::remove(&self.web.path, url);
        // The application a browser's request for it reaches: the server
        // decodes the path (`/caf%C3%A9` is `/café`).
        if self
            .web
            .deeper
            .resolve_path(&cookieless::served_path(&bare))
            .is_some()
        {
            bare
        } else {
            cookieless::rewrite(&self.web.path, &id, url)
        }
    }

    /// Whether the URL the request came with no longer carries its
    /// session's ID, in a cookieless application: the session is stored
    /// and live, and the page gave it a new ID
    /// ([`Session::regenerate_id`], at login) or it is new (the URL had
    /// none, or one that named nothing). The page's relative links resolve
    /// against that URL, so the next click would lose the session:
    /// redirect (after this request ends, as ASP.NET redirects whenever it
    /// puts a new ID in a URL) to [`Request::rewrite_url`] of the request's
    /// URL, which carries the ID now in force. False in a cookie
    /// application (the `Set-Cookie` carries it), with no session, and
    /// after Abandon.
    pub fn url_id_outdated(&self) -> bool {
        match &self.session {
            Some(s) if self.web.cookieless && s.is_stored() && !s.is_abandoned() => {
                self.presented.first() != Some(&s.id())
            }
            _ => false,
        }
    }

    /// The `Set-Cookie` value the response needs as things stand, for a host
    /// that sends its headers before the unit of work ends: a new (even not
    /// yet stored) or regenerated session's cookie, a persistent cookie
    /// for a session the request found ([`Request::end`] renews it), or the
    /// deleting cookie after Abandon; `None` when there is nothing to send
    /// (no session yet, a session the client already has a browser-session
    /// cookie for, a cookieless application). Call
    /// [`Request::set_cookie_sent`] once it is on its way, so that
    /// [`Request::end`] reports only what changes after it.
    pub fn set_cookie_now(&self) -> Option<String> {
        let s = self.session.as_ref()?;
        let opts = &self.web.cookie;
        if self.web.cookieless {
            None
        } else if s.is_abandoned() {
            let client_has_one = !self.presented.is_empty()
                || self.sent_cookie.is_some()
                || (s.is_new_session() && s.is_stored());
            client_has_one.then(|| cookie::clear_cookie(opts, self.https))
        } else if s.is_new_session() || s.is_regenerated() || self.rolls() {
            Some(cookie::set_cookie(opts, &s.id(), self.https))
        } else {
            None
        }
    }

    /// Whether a response gives the client again the cookie it has for a
    /// session the request renews (its deadline slides when the request
    /// ends, read-only or failed too): yes for a persistent cookie, whose
    /// `Max-Age` then counts from the client's latest request as the
    /// session's Timeout does (express-session's `rolling`). Every such
    /// response carries it, not only one past some share of its life: the
    /// server cannot know when a client's cookie expires without writing
    /// that into its value, which is the ID and nothing else.
    fn rolls(&self) -> bool {
        self.web.cookie.max_age_seconds.is_some()
    }

    /// Records that the host has sent `set_cookie` (from
    /// [`Request::set_cookie_now`]) with its response headers.
    pub fn set_cookie_sent(&mut self, set_cookie: String) {
        self.sent_cookie = Some(set_cookie);
    }

    /// Ends the request: keeps the session's changes (or, if `failed`,
    /// undoes them), applies Abandon (Session_OnEnd runs), releases the
    /// lock, and says which `Set-Cookie` to send. A session the request
    /// found gets a new deadline (failed or read-only too), and with a
    /// persistent cookie (`max_age_seconds`) the client gets its cookie
    /// again, the same ID with a fresh `Max-Age` ("rolling"): an active
    /// client's cookie lasts as long as its session.
    ///
    /// A failure still names the cookie the response must carry
    /// ([`EndError::set_cookie`]).
    pub fn end(mut self, failed: bool) -> std::result::Result<Outcome, EndError> {
        let Some(s) = self.session.take() else {
            return Ok(Outcome::default());
        };
        let id = s.id();
        let is_new = s.is_new_session();
        let new_and_stored = is_new && s.is_stored();
        let abandoned = s.is_abandoned();
        // A session the request found (not one it created) lives on with a
        // new deadline unless abandoned, failed or not.
        let renewed = !is_new && !abandoned;
        // A new session regenerated before anything was written is not
        // stored: it has no cookie to send yet; nor has one a failed
        // request undoes.
        let regenerated = s.is_regenerated() && s.is_stored() && !(failed && is_new);
        let ended = if failed { s.discard() } else { s.close() };
        let opts = &self.web.cookie;
        let set_cookie = if self.web.cookieless {
            None
        } else if ended.is_err() {
            // The store moved a session the client had to the new ID
            // before the failure: it lives on there.
            (regenerated && renewed).then(|| cookie::set_cookie(opts, &id, self.https))
        } else if abandoned {
            (!self.presented.is_empty() || new_and_stored || self.sent_cookie.is_some())
                .then(|| cookie::clear_cookie(opts, self.https))
        } else if (new_and_stored && !failed) || regenerated || (renewed && self.rolls()) {
            Some(cookie::set_cookie(opts, &id, self.https))
        } else {
            None
        };
        // What the host already sent is not sent twice.
        let set_cookie = set_cookie.filter(|c| self.sent_cookie.as_ref() != Some(c));
        match ended {
            Ok(()) => Ok(Outcome { set_cookie }),
            Err(error) => Err(EndError { error, set_cookie }),
        }
    }
}
