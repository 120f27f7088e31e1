//! A site: applications by virtual path, each with its session cookie or
//! cookieless URLs (what IIS's configuration gives ASP per application).

use std::fmt::Write;
use std::sync::Arc;

use super::cookie::CookieOptions;
use super::paths::{is_under, normalize_virtual_path, AppPaths};
use super::request::{Request, RequestInfo};
use crate::app::App;
use crate::error::{self, Error, Result};

/// How an application's session ID travels.
#[derive(Clone, Debug, Default)]
pub struct WebOptions {
    /// The cookie's name; `None` (default) derives one from the virtual path
    /// (`ASPSESSIONID` for `/`, `ASPSESSIONID_search` for `/search`, other
    /// characters than letters, digits, `-` and `.` escaped:
    /// `ASPSESSIONID_caf%C3%A9` for `/café`), distinct for distinct paths,
    /// so nested applications never read each other's cookie.
    pub cookie_name: Option<String>,
    /// The cookie's `Path`; `None` (default) is `/`, as ASP and ASP.NET
    /// send it (applications match paths case-insensitively, browsers
    /// cookie paths case-sensitively: `Path=/search` would never come back
    /// from `/SEARCH/x`). One given must cover the application's path as
    /// browsers send it, percent-encoded (ASCII case-insensitively; `/`,
    /// `/shop` for `/shop/cart`, `/caf%C3%A9` for `/café`, never
    /// `/%73earch` for `/search`: browsers match it undecoded).
    pub cookie_path: Option<String>,
    /// The other cookie attributes (`name` and `path` are set from the two
    /// fields above).
    pub cookie: CookieOptions,
    /// Carry the ID in URLs (`/(S(<id>))/...`) instead of a cookie. Off by
    /// default: IDs in URLs leak through logs, bookmarks and `Referer`.
    pub cookieless: bool,
}

/// One application as the web sees it.
#[derive(Clone)]
pub(crate) struct WebApp {
    pub(crate) app: App,
    pub(crate) path: String,
    pub(crate) cookie: CookieOptions,
    pub(crate) cookieless: bool,
    /// The site's applications under this one's path: their pages are not
    /// this application's (a cookieless ID stays out of their URLs).
    pub(crate) deeper: AppPaths<()>,
}

/// Applications by virtual path. Thread-safe; requests begin here.
#[derive(Default)]
pub struct Site {
    apps: AppPaths<Arc<WebApp>>,
}

/// The cookie name of the application at the normalised `path`:
/// `ASPSESSIONID`, then (but for `/`) the path spelled as `mod_sess` spells
/// it in Redis key prefixes: each byte of its UTF-8 other than an ASCII
/// letter, digit, `-`, `.` or `/` as `%XX` (`_` too), then each `/` as `_`
/// (`ASPSESSIONID_search_contrib` for `/search/contrib`,
/// `ASPSESSIONID_a%5Fb` for `/a_b`, `ASPSESSIONID_caf%C3%A9` for `/café`).
///
/// Distinct paths get distinct names (`_` stands only for `/`, `%` only
/// starts an escape), so applications of one site never clash by default,
/// nor do those of several sites whose cookies reach the same requests (a
/// shared `Domain`). Paths of letters, digits and `/` keep the names
/// earlier releases gave them.
fn derived_cookie_name(path: &str) -> String {
    let mut name = String::from("ASPSESSIONID");
    if path != "/" {
        for b in path.bytes() {
            match b {
                b'/' => name.push('_'),
                b'-' | b'.' => name.push(char::from(b)),
                b if b.is_ascii_alphanumeric() => name.push(char::from(b)),
                b => {
                    let _ = write!(name, "%{b:02X}"); // a String takes it all
                }
            }
        }
    }
    name
}

/// Whether a cookie with `Path=cookie_path` reaches every page of the
/// application at the normalised `app_path`. Browsers match a cookie's
/// `Path` against the request path as they send it, undecoded (RFC 6265
/// §5.1.4), so `cookie_path`, without a trailing `/`, must be a
/// whole-segment prefix of the application's path as a browser writes it
/// ([`browser_spelling`]: `/caf%C3%A9` for `/café`), compared ASCII
/// case-insensitively, as application paths match (`%c3` too). An escape
/// where a browser sends the byte itself (`/%73earch`, `/search%2F`) never
/// matches: such a cookie would never come back.
fn cookie_path_covers(cookie_path: &str, app_path: &str) -> bool {
    let cookie = cookie_path.as_bytes();
    let prefix = cookie.strip_suffix(b"/").unwrap_or(cookie);
    let app = browser_spelling(app_path);
    let app = app.as_bytes();
    app.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        && matches!(app.get(prefix.len()), None | Some(b'/'))
}

/// A decoded path as browsers put it in a request: the bytes of the URL
/// standard's path percent-encode set (controls, space, `"`, `#`, `<`,
/// `>`, `?`, `` ` ``, `{`, `}`, DEL), those that are not ASCII and `%`
/// (a server decodes `%25` to it) as `%XX` with upper-case hex digits, the
/// rest as they are.
fn browser_spelling(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}' | b'%'
            )
        {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}"); // a String takes it all
        }
    }
    out
}

impl Site {
    /// An empty site.
    pub fn new() -> Site {
        Site::default()
    }

    /// Serves `app` at `virtual_path` (the site shares it: the caller may
    /// drop its own handle). Requests under `virtual_path` belong to it
    /// unless a deeper application claims them. Bad or duplicate paths and
    /// bad or clashing cookie options are `E_INVALID_OPTION`.
    pub fn add(&mut self, virtual_path: &str, app: &App, opts: WebOptions) -> Result<()> {
        let path = normalize_virtual_path(virtual_path)?;
        // First: its derived cookie name would otherwise be reported as
        // clashing with "another application", the same one.
        if let Some((known, _)) = self
            .apps
            .iter()
            .find(|(p, _)| p.eq_ignore_ascii_case(&path))
        {
            return Err(Error::new(
                error::E_INVALID_OPTION,
                format!("application path {path:?} is already added (as {known:?})"),
            ));
        }
        let cookie = CookieOptions {
            name: opts
                .cookie_name
                .unwrap_or_else(|| derived_cookie_name(&path)),
            path: opts.cookie_path.unwrap_or_else(|| "/".to_owned()),
            ..opts.cookie
        };
        cookie.validate()?;
        if !cookie_path_covers(&cookie.path, &path) {
            return Err(Error::new(
                error::E_INVALID_OPTION,
                format!(
                    "cookie path {:?} does not cover the application path {path:?}: \
                     browsers would not send the cookie to its pages (use \"/\", the default)",
                    cookie.path
                ),
            ));
        }
        if self
            .apps
            .iter()
            .any(|(_, w)| w.cookie.cookie_name() == cookie.cookie_name())
        {
            return Err(Error::new(
                error::E_INVALID_OPTION,
                format!(
                    "cookie name {:?} is used by another application",
                    cookie.name
                ),
            ));
        }
        // What can fail comes first: the site changes only if it all holds.
        let mut deeper = AppPaths::new();
        for (inner, _) in self.apps.iter().filter(|(p, _)| is_under(p, &path)) {
            deeper.add(inner, ())?;
        }
        let mut outer = Vec::new();
        for (p, w) in self.apps.iter().filter(|(p, _)| is_under(&path, p)) {
            let mut w = WebApp::clone(w);
            w.deeper.add(&path, ())?;
            outer.push((p.to_owned(), Arc::new(w)));
        }
        let web = WebApp {
            app: app.clone(),
            path: path.clone(),
            cookie,
            cookieless: opts.cookieless,
            deeper,
        };
        self.apps.add(&path, Arc::new(web))?;
        for (p, w) in self.apps.iter_mut() {
            if let Some(i) = outer.iter().position(|(o, _)| o == p) {
                *w = outer.swap_remove(i).1;
            }
        }
        Ok(())
    }

    /// The application serving `path`, with its virtual path, as
    /// [`Site::begin`] finds it: `path` is decoded and without the query
    /// string, as [`RequestInfo::path`] is (a `?` or `#` in it is the
    /// path's own).
    pub fn resolve(&self, path: &str) -> Option<(&str, &App)> {
        self.apps
            .resolve_path(path)
            .map(|(path, web)| (path, &web.app))
    }

    /// The application serving a decoded path without its query string
    /// ([`AppPaths::resolve_path`]).
    pub(crate) fn resolve_web(&self, path: &str) -> Option<&Arc<WebApp>> {
        self.apps.resolve_path(path).map(|(_, web)| web)
    }

    /// Begins a request: finds its application and session (see
    /// [`Request`]). No application for the path is `E_NO_APPLICATION`; a
    /// session held by another request past the lock timeout is
    /// `E_LOCK_TIMEOUT` (answer 503).
    pub fn begin(&self, info: &RequestInfo<'_>) -> Result<Request> {
        Request::begin(self, info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::AppOptions;

    #[test]
    fn cookie_names_and_paths_follow_the_application() {
        assert_eq!(derived_cookie_name("/"), "ASPSESSIONID");
        assert_eq!(
            derived_cookie_name("/search/contrib"),
            "ASPSESSIONID_search_contrib"
        );
        let app = App::new(AppOptions::default()).unwrap();
        let mut site = Site::new();
        site.add("/", &app, WebOptions::default()).unwrap();
        site.add("/search", &app, WebOptions::default()).unwrap();
        let search = site.resolve_web("/search/contrib/x").unwrap();
        assert_eq!(
            (search.cookie.name.as_str(), search.cookie.path.as_str()),
            ("ASPSESSIONID_search", "/")
        );
        assert_eq!(site.resolve("/other").unwrap().0, "/");
        let clash = WebOptions {
            cookie_name: Some("ASPSESSIONID".into()),
            ..WebOptions::default()
        };
        assert_eq!(
            site.add("/x", &app, clash).unwrap_err().code(),
            error::E_INVALID_OPTION
        );
        let injected = WebOptions {
            cookie_path: Some("/x; Domain=evil".into()),
            ..WebOptions::default()
        };
        assert_eq!(
            site.add("/y", &app, injected).unwrap_err().code(),
            error::E_INVALID_OPTION
        );
        // An application path no cookie path could hold is fine by default.
        for p in ["/my app", "/café"] {
            site.add(p, &app, WebOptions::default()).unwrap();
        }
        assert_eq!(
            site.add(
                "/SEARCH",
                &app,
                WebOptions {
                    cookie_name: Some("S2".into()),
                    ..WebOptions::default()
                }
            )
            .unwrap_err()
            .code(),
            error::E_INVALID_OPTION
        );
    }

    /// Distinct application paths get distinct cookie names (once `/ü`
    /// and `/é` were both `ASPSESSIONID__`, and `/a-b`, `/a_b` and `/a/b`
    /// all `ASPSESSIONID_a_b`, so one site refused the second of them);
    /// paths of ASCII letters, digits and `/` keep their names.
    #[test]
    fn derived_cookie_names_are_distinct_and_plain_paths_keep_theirs() {
        for (path, name) in [
            ("/", "ASPSESSIONID"),
            ("/search", "ASPSESSIONID_search"),
            ("/Search/contrib2", "ASPSESSIONID_Search_contrib2"),
            ("/a/b", "ASPSESSIONID_a_b"),
            ("/a-b", "ASPSESSIONID_a-b"),
            ("/a.b", "ASPSESSIONID_a.b"),
            ("/a_b", "ASPSESSIONID_a%5Fb"),
            ("/a b", "ASPSESSIONID_a%20b"),
            ("/ü", "ASPSESSIONID_%C3%BC"),
            ("/é", "ASPSESSIONID_%C3%A9"),
        ] {
            assert_eq!(derived_cookie_name(path), name, "{path}");
        }
        let paths = [
            "/", "/a", "/a/b", "/a_b", "/a-b", "/a%5Fb", "/a%2Fb", "/a b", "/a.b", "/a%20b",
            "/ab/c", "/a/bc", "/abc", "/ü", "/é", "/É", "/%C3%BC", "/_C3_BC", "/C3/BC",
        ];
        let names: std::collections::HashSet<String> =
            paths.iter().map(|p| derived_cookie_name(p)).collect();
        assert_eq!(names.len(), paths.len(), "{names:?}");
        let app = App::new(AppOptions::default()).unwrap();
        let mut site = Site::new();
        for p in paths {
            site.add(p, &app, WebOptions::default())
                .unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }

    #[test]
    fn an_explicit_cookie_path_must_cover_the_application() {
        for (cookie, app) in [
            ("/", "/"),
            ("/", "/search"),
            ("/search", "/search"),
            ("/search/", "/search"),
            ("/SEARCH", "/search"),
            ("/search", "/search/contrib"),
            ("/caf%C3%A9", "/café"),
            ("/caf%c3%a9/", "/café/x"),
            ("/my%20app", "/my app"),
        ] {
            assert!(cookie_path_covers(cookie, app), "{cookie} {app}");
        }
        for (cookie, app) in [
            ("/search", "/"),
            ("/sea", "/search"),
            ("/search/contrib", "/search"),
            ("/elsewhere", "/z"),
            ("//", "/search"),
            ("/caf%", "/café"),
            ("/search%2", "/search"),
            // Browsers match a cookie's Path against the request path as
            // sent, undecoded (RFC 6265 §5.1.4): they send `/search/x`,
            // never `/%73earch/x` or `/search%2Fx`.
            ("/%73earch", "/search"),
            ("/%53EARCH", "/search"),
            ("/search%2F", "/search"),
            ("/search%2f", "/search/x"),
            ("/a%2Fb", "/a/b"),
            ("/caf%C3%A9%2F", "/café/x"),
            ("/my app", "/my app"),
        ] {
            assert!(!cookie_path_covers(cookie, app), "{cookie} {app}");
        }
        let app = App::new(AppOptions::default()).unwrap();
        let mut site = Site::new();
        let e = site
            .add(
                "/z",
                &app,
                WebOptions {
                    cookie_path: Some("/elsewhere".into()),
                    ..WebOptions::default()
                },
            )
            .unwrap_err();
        assert_eq!(e.code(), error::E_INVALID_OPTION);
        assert!(e.detail().contains("does not cover"), "{}", e.detail());
        assert!(site.resolve("/z").is_none(), "added anyway");
    }

    /// Adding a path twice is refused as a duplicate path: the detail once
    /// blamed the cookie name, derived from that same path, for clashing
    /// with "another application".
    #[test]
    fn a_path_added_twice_is_refused_as_a_duplicate_path() {
        let app = App::new(AppOptions::default()).unwrap();
        let mut site = Site::new();
        site.add("/search", &app, WebOptions::default()).unwrap();
        for again in ["/search", "/search/", "/Search"] {
            let e = site.add(again, &app, WebOptions::default()).unwrap_err();
            assert_eq!(e.code(), error::E_INVALID_OPTION, "{again}");
            assert!(
                e.detail().contains("already added"),
                "{again}: {}",
                e.detail()
            );
        }
        assert_eq!(site.resolve("/search/x").unwrap().0, "/search");
    }
}
