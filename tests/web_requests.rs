//! The request lifecycle through the Rust API (a test host on the same API
//! the C surface wraps): strict IDs, lazy creation, cookies, Abandon,
//! regeneration, failed requests, read-only concurrency, nested and
//! cookieless applications.

#[path = "common/hooked.rs"]
mod hooked;

use std::sync::Arc;
use std::time::Duration;

use hooked::{Hooked, Hooks};
use sess::app::{App, AppOptions, StoreConfig};
use sess::clock::ManualClock;
use sess::error;
use sess::state::SessionId;
use sess::store::LockMode;
use sess::variant::Variant;
use sess::web::{CookieOptions, Outcome, RequestInfo, SessionUse, Site, WebOptions};

fn site_with(opts: AppOptions) -> (Site, App) {
    let app = App::new(opts).unwrap();
    let mut site = Site::new();
    site.add("/", &app, WebOptions::default()).unwrap();
    (site, app)
}

/// A site with one cookieless application at `path`.
fn cookieless_site(path: &str) -> (Site, App) {
    let app = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    site.add(path, &app, cookieless()).unwrap();
    (site, app)
}

fn info<'a>(path: &'a str, cookie: Option<&'a str>, session_use: SessionUse) -> RequestInfo<'a> {
    RequestInfo {
        path,
        cookie_header: cookie.map(str::as_bytes),
        https: false,
        session_use,
    }
}

/// The `/counter` page: count = count + 1.
fn counter(site: &Site, cookie: Option<&str>) -> (i32, Outcome) {
    let mut req = site
        .begin(&info("/counter", cookie, SessionUse::Exclusive))
        .unwrap();
    let s = req.session_or_new().unwrap();
    let n = match s.get("count") {
        Some(Variant::I4(n)) => n + 1,
        _ => 1,
    };
    s.set("count", Variant::I4(n)).unwrap();
    (n, req.end(false).unwrap())
}

fn cookie_of(out: &Outcome) -> String {
    let sc = out.set_cookie.as_deref().expect("a Set-Cookie");
    sc.split(';').next().unwrap().to_owned()
}

/// Counts one session up through each Cookie header in turn, from `first`:
/// each must find the same live session and send no new cookie.
fn counts_up_through(site: &Site, headers: &[String], first: i32) {
    for (i, header) in headers.iter().enumerate() {
        assert_eq!(
            counter(site, Some(header)),
            (first + i as i32, Outcome::default()),
            "{header}"
        );
    }
}

/// Cookieless URLs instead of a cookie.
fn cookieless() -> WebOptions {
    WebOptions {
        cookieless: true,
        ..WebOptions::default()
    }
}

/// A new session at `path` holding `name` = `v`, ended: its ID.
fn stored(site: &Site, path: &str, name: &str, v: i32) -> (String, Outcome) {
    let mut req = site
        .begin(&info(path, None, SessionUse::Exclusive))
        .unwrap();
    req.session_or_new()
        .unwrap()
        .set(name, Variant::I4(v))
        .unwrap();
    let id = req.session().unwrap().id().to_string();
    (id, req.end(false).unwrap())
}

#[test]
fn a_new_session_sends_its_cookie_once() {
    let (site, _app) = site_with(AppOptions::default());
    let (n, out) = counter(&site, None);
    assert_eq!(n, 1);
    let sc = out.set_cookie.unwrap();
    assert!(sc.starts_with("ASPSESSIONID="), "{sc}");
    assert!(sc.ends_with("; Path=/; HttpOnly; SameSite=Lax"), "{sc}");
    let cookie = sc.split(';').next().unwrap().to_owned();
    let (n, out) = counter(&site, Some(&cookie));
    assert_eq!((n, out.set_cookie), (2, None));
}

#[test]
fn strict_mode_never_adopts_unknown_ids() {
    let (site, app) = site_with(AppOptions::default());
    for _ in 0..1000 {
        let unknown = SessionId::generate().unwrap().to_string();
        let (n, out) = counter(&site, Some(&format!("ASPSESSIONID={unknown}")));
        assert_eq!(n, 1);
        let fresh = cookie_of(&out);
        assert_ne!(fresh, format!("ASPSESSIONID={unknown}"));
        assert_eq!(
            app.open_session(&unknown, sess::store::LockMode::Shared)
                .err()
                .unwrap()
                .code(),
            error::E_SESSION_NOT_FOUND
        );
    }
    assert_eq!(app.session_count().unwrap(), 1000);
}

#[test]
fn reading_pages_create_nothing() {
    let (site, app) = site_with(AppOptions::default());
    let mut req = site
        .begin(&info("/peek", None, SessionUse::Exclusive))
        .unwrap();
    assert!(req.session().is_none());
    assert_eq!(req.end(false).unwrap(), Outcome::default());
    // Creating a handle and only reading does not store anything either.
    let mut req = site
        .begin(&info("/peek", None, SessionUse::Exclusive))
        .unwrap();
    assert_eq!(req.session_or_new().unwrap().get("count"), None);
    assert_eq!(req.end(false).unwrap(), Outcome::default());
    assert_eq!(app.session_count().unwrap(), 0);
}

#[test]
fn junk_cookies_are_ignored() {
    let (site, app) = site_with(AppOptions::default());
    let (_, first) = counter(&site, None);
    let good = cookie_of(&first);
    for junk in [
        "ASPSESSIONID=",
        "ASPSESSIONID=../../etc/passwd",
        "ASPSESSIONID=\"unterminated",
        ";;;=;==",
        "ASPSESSIONID=aaaaaaaaaaaaaaaaaaaaa;",
        "\u{1F600}=\u{1F600}",
    ] {
        let (n, out) = counter(&site, Some(junk));
        assert_eq!(n, 1, "{junk}");
        assert!(out.set_cookie.is_some());
    }
    // The first valid value of our name wins, junk around it or not.
    let (n, _) = counter(
        &site,
        Some(&format!("x=1; ASPSESSIONID=bad; {good}; ASPSESSIONID=zzz")),
    );
    assert_eq!(n, 2);
    assert_eq!(app.session_count().unwrap(), 7);
}

#[test]
fn abandon_kills_the_id_and_clears_the_cookie() {
    let (site, app) = site_with(AppOptions::default());
    let (_, out) = counter(&site, None);
    let cookie = cookie_of(&out);
    let mut req = site
        .begin(&info("/abandon", Some(&cookie), SessionUse::Exclusive))
        .unwrap();
    let s = req.session().unwrap();
    s.abandon();
    assert_eq!(
        s.get("count"),
        Some(&Variant::I4(1)),
        "readable until the end"
    );
    let out = req.end(false).unwrap();
    let clear = out.set_cookie.unwrap();
    assert!(
        clear.starts_with("ASPSESSIONID=;") && clear.contains("Max-Age=0"),
        "{clear}"
    );
    assert_eq!(app.session_count().unwrap(), 0);
    let (n, out) = counter(&site, Some(&cookie));
    assert_eq!(n, 1);
    assert_ne!(cookie_of(&out), cookie);
}

#[test]
fn regenerate_sends_a_new_cookie_and_kills_the_old() {
    let (site, _app) = site_with(AppOptions::default());
    let (_, out) = counter(&site, None);
    let old = cookie_of(&out);
    let mut req = site
        .begin(&info("/regenerate", Some(&old), SessionUse::Exclusive))
        .unwrap();
    req.session().unwrap().regenerate_id().unwrap();
    let new = cookie_of(&req.end(false).unwrap());
    assert_ne!(new, old);
    assert_eq!(counter(&site, Some(&new)).0, 2);
    assert_eq!(counter(&site, Some(&old)).0, 1, "the old ID is dead");
}

#[test]
fn a_failed_request_saves_nothing_and_sends_no_cookie() {
    let (site, app) = site_with(AppOptions::default());
    let mut req = site
        .begin(&info("/counter", None, SessionUse::Exclusive))
        .unwrap();
    req.session_or_new()
        .unwrap()
        .set("count", Variant::I4(1))
        .unwrap();
    assert_eq!(req.end(true).unwrap(), Outcome::default());
    assert_eq!(app.session_count().unwrap(), 0);

    let (_, out) = counter(&site, None);
    let cookie = cookie_of(&out);
    let mut req = site
        .begin(&info("/counter", Some(&cookie), SessionUse::Exclusive))
        .unwrap();
    req.session()
        .unwrap()
        .set("count", Variant::I4(99))
        .unwrap();
    req.end(true).unwrap();
    assert_eq!(counter(&site, Some(&cookie)).0, 2);
}

#[test]
fn read_only_requests_share_and_writers_wait() {
    let (site, _app) = site_with(AppOptions {
        lock_timeout: Duration::from_millis(200),
        ..AppOptions::default()
    });
    let (_, out) = counter(&site, None);
    let cookie = cookie_of(&out);
    let mut r1 = site
        .begin(&info("/peek", Some(&cookie), SessionUse::ReadOnly))
        .unwrap();
    let mut r2 = site
        .begin(&info("/peek", Some(&cookie), SessionUse::ReadOnly))
        .unwrap();
    assert_eq!(r1.session().unwrap().get("count"), Some(&Variant::I4(1)));
    assert_eq!(r2.session().unwrap().get("count"), Some(&Variant::I4(1)));
    assert_eq!(
        r1.session()
            .unwrap()
            .set("count", Variant::I4(5))
            .unwrap_err()
            .code(),
        error::E_READONLY
    );
    // A writer past the lock timeout gets the code a host maps to 503.
    let writer = site.begin(&info("/counter", Some(&cookie), SessionUse::Exclusive));
    assert_eq!(writer.err().unwrap().code(), error::E_LOCK_TIMEOUT);
    r1.end(false).unwrap();
    r2.end(false).unwrap();
    assert_eq!(counter(&site, Some(&cookie)).0, 2);
}

#[test]
fn concurrent_writers_lose_no_update() {
    let (site, _app) = site_with(AppOptions::default());
    let site = Arc::new(site);
    let (_, out) = counter(&site, None);
    let cookie = Arc::new(cookie_of(&out));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (site, cookie) = (site.clone(), cookie.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    counter(&site, Some(&cookie));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(counter(&site, Some(&cookie)).0, 402);
}

#[test]
fn nested_applications_keep_their_own_sessions() {
    let root = App::new(AppOptions::default()).unwrap();
    let search = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    site.add("/", &root, WebOptions::default()).unwrap();
    site.add("/search", &search, WebOptions::default()).unwrap();

    let mut req = site
        .begin(&info("/search/contrib/x", None, SessionUse::Exclusive))
        .unwrap();
    assert_eq!(req.app_path(), "/search");
    req.session_or_new()
        .unwrap()
        .set("strSearchPref", Variant::bstr("rust"))
        .unwrap();
    let sc = req.end(false).unwrap().set_cookie.unwrap();
    assert!(
        sc.starts_with("ASPSESSIONID_search=") && sc.contains("; Path=/;"),
        "{sc}"
    );
    assert_eq!(
        (
            root.session_count().unwrap(),
            search.session_count().unwrap()
        ),
        (0, 1)
    );

    // The browser sends both cookies under /search; each application reads its own.
    let (_, out) = counter(&site, None);
    let both = format!("{}; {}", cookie_of(&out), sc.split(';').next().unwrap());
    let mut req = site
        .begin(&info("/search/x", Some(&both), SessionUse::ReadOnly))
        .unwrap();
    assert_eq!(
        req.session().unwrap().get("strSearchPref"),
        Some(&Variant::bstr("rust"))
    );
    assert_eq!(req.session().unwrap().get("count"), None);
    req.end(false).unwrap();
    assert_eq!(counter(&site, Some(&both)).0, 2);
}

#[test]
fn cookieless_applications_carry_the_id_in_urls() {
    let (site, _app) = cookieless_site("/app");

    let mut req = site
        .begin(&info("/app/counter", None, SessionUse::Exclusive))
        .unwrap();
    req.session_or_new()
        .unwrap()
        .set("count", Variant::I4(1))
        .unwrap();
    let link = req.rewrite_url("/app/counter?x=1");
    let id = req.session().unwrap().id().to_string();
    assert_eq!(link, format!("/app/(S({id}))/counter?x=1"));
    assert_eq!(req.end(false).unwrap(), Outcome::default(), "no cookie");

    let mut req = site
        .begin(&info(&link, None, SessionUse::Exclusive))
        .unwrap();
    assert_eq!(req.path(), "/app/counter?x=1");
    assert_eq!(req.session().unwrap().get("count"), Some(&Variant::I4(1)));
    req.end(false).unwrap();

    // An unknown ID in the URL is not adopted either.
    let unknown = format!("/app/(S({}))/counter", SessionId::generate().unwrap());
    let mut req = site
        .begin(&info(&unknown, None, SessionUse::Exclusive))
        .unwrap();
    assert!(req.session().is_none());
    req.end(false).unwrap();
}

/// In a cookieless application a new ID (regenerate at login, or a new
/// session) reaches the client only through a URL: relative links of the
/// page resolve against the URL it came with, whose ID is dead or absent,
/// so the next click lost the session, and nothing told the host. ASP.NET
/// redirects whenever it issues an ID in a URL; the request now says when
/// the URL is outdated, and `rewrite_url` gives the one to redirect to.
#[test]
fn a_cookieless_request_says_when_its_url_lost_the_sessions_id() {
    let (site, _app) = cookieless_site("/app");
    // No session yet: nothing to keep.
    let mut req = site
        .begin(&info("/app/login", None, SessionUse::Exclusive))
        .unwrap();
    assert!(!req.url_id_outdated());
    req.session_or_new().unwrap();
    assert!(!req.url_id_outdated(), "not stored: no ID worth a URL");
    req.session().unwrap().set("user", Variant::I4(7)).unwrap();
    assert!(req.url_id_outdated(), "a new session the URL lacks");
    let at = req.rewrite_url("/app/login");
    req.end(false).unwrap();
    // The URL with the session's ID: up to date.
    let mut req = site.begin(&info(&at, None, SessionUse::Exclusive)).unwrap();
    assert!(!req.url_id_outdated());
    req.session().unwrap().regenerate_id().unwrap();
    assert!(req.url_id_outdated(), "the URL's ID is dead");
    let to = req.rewrite_url(&at);
    assert_ne!(to, at);
    req.end(false).unwrap();
    // A relative link of the page keeps the old, dead ID; the redirect's
    // target keeps the session.
    let mut req = site.begin(&info(&at, None, SessionUse::ReadOnly)).unwrap();
    assert!(req.session().is_none() && !req.url_id_outdated());
    req.end(false).unwrap();
    let mut req = site.begin(&info(&to, None, SessionUse::ReadOnly)).unwrap();
    assert_eq!(req.session().unwrap().get("user"), Some(&Variant::I4(7)));
    assert!(!req.url_id_outdated());
    req.end(false).unwrap();
    // Abandoned: nothing to keep. Cookie applications: the cookie carries it.
    let mut req = site.begin(&info(&to, None, SessionUse::Exclusive)).unwrap();
    req.session().unwrap().abandon();
    assert!(!req.url_id_outdated());
    req.end(false).unwrap();
    let (site, _app) = site_with(AppOptions::default());
    let mut req = site
        .begin(&info("/x", None, SessionUse::Exclusive))
        .unwrap();
    req.session_or_new()
        .unwrap()
        .set("k", Variant::I4(1))
        .unwrap();
    assert!(!req.url_id_outdated());
    req.end(false).unwrap();
}

#[test]
fn a_cookieless_application_leaves_the_applications_under_it_alone() {
    let root = App::new(AppOptions::default()).unwrap();
    let api = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    site.add("/", &root, cookieless()).unwrap();
    // Added after the root: the root learns of it.
    site.add("/api", &api, WebOptions::default()).unwrap();

    let mut req = site
        .begin(&info("/counter", None, SessionUse::Exclusive))
        .unwrap();
    req.session_or_new()
        .unwrap()
        .set("count", Variant::I4(1))
        .unwrap();
    let id = req.session().unwrap().id().to_string();
    // The root's links carry its ID; links to /api's pages do not.
    assert_eq!(req.rewrite_url("/page?x=1"), format!("/(S({id}))/page?x=1"));
    assert_eq!(req.rewrite_url("/API/v1?x=1"), "/API/v1?x=1");
    assert_eq!(req.rewrite_url(&format!("/(S({id}))/api/v1")), "/api/v1");
    assert_eq!(req.rewrite_url("/(S(junk))/api/v1"), "/api/v1");
    assert_eq!(req.rewrite_url("/apis"), format!("/(S({id}))/apis"));
    req.end(false).unwrap();

    // A URL with the root's segment before /api's path asks for a page of
    // /api: /api serves it, with its own cookie's session, not the root's.
    let api_cookie = cookie_of(&stored(&site, "/api/x", "api", 7).1);
    let mut req = site
        .begin(&info(
            &format!("/(S({id}))/api/x"),
            Some(&api_cookie),
            SessionUse::Exclusive,
        ))
        .unwrap();
    assert_eq!((req.app_path(), req.path()), ("/api", "/api/x"));
    let s = req.session().expect("/api's session, by its cookie");
    assert_eq!(
        (s.get("api"), s.get("count")),
        (Some(&Variant::I4(7)), None)
    );
    req.end(false).unwrap();
    // The root's session was not touched (nor left locked).
    let link = format!("/(S({id}))/counter");
    let mut req = site
        .begin(&info(&link, None, SessionUse::Exclusive))
        .unwrap();
    assert_eq!((req.app_path(), req.path()), ("/", "/counter"));
    assert_eq!(req.session().unwrap().get("count"), Some(&Variant::I4(1)));
    req.end(false).unwrap();
}

#[test]
fn nested_cookieless_applications_each_find_their_own_id() {
    let outer = App::new(AppOptions::default()).unwrap();
    let inner = App::new(AppOptions::default()).unwrap();
    let root = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    // The deeper one first: the outer one learns of it when added.
    site.add("/a/b", &inner, cookieless()).unwrap();
    site.add("/a", &outer, cookieless()).unwrap();
    site.add("/", &root, WebOptions::default()).unwrap();
    let (a, _) = stored(&site, "/a/x", "v", 1);
    let (b, _) = stored(&site, "/a/b/x", "v", 2);
    let mut req = site
        .begin(&info(
            &format!("/a/(S({a}))/b/(S({b}))/x"),
            None,
            SessionUse::ReadOnly,
        ))
        .unwrap();
    assert_eq!((req.app_path(), req.path()), ("/a/b", "/a/b/x"));
    assert_eq!(req.session().unwrap().get("v"), Some(&Variant::I4(2)));
    req.end(false).unwrap();
    // A `..` after the segment that leads out of /a: not /a's request, and
    // its ID is not used (a server passes the path with dot-segments
    // resolved; this one did not).
    let mut req = site
        .begin(&info(
            &format!("/a/(S({a}))/../x"),
            None,
            SessionUse::ReadOnly,
        ))
        .unwrap();
    let as_it_came = format!("/a/(S({a}))/../x");
    assert_eq!((req.app_path(), req.path()), ("/a", &as_it_came[..]));
    assert!(req.session().is_none());
    req.end(false).unwrap();
}

#[test]
fn session_state_off_and_unknown_paths() {
    let (site, _app) = site_with(AppOptions::default());
    let mut req = site.begin(&info("/x", None, SessionUse::Off)).unwrap();
    assert_eq!(
        req.session_or_new().err().unwrap().code(),
        error::E_WRONG_STATE
    );
    let mut only_search = Site::new();
    only_search
        .add(
            "/search",
            &App::new(AppOptions::default()).unwrap(),
            WebOptions::default(),
        )
        .unwrap();
    assert_eq!(
        only_search
            .begin(&info("/other", None, SessionUse::Exclusive))
            .err()
            .unwrap()
            .code(),
        error::E_NO_APPLICATION
    );
    // A path that is no absolute path is a bad argument, not a path nobody serves.
    assert_eq!(
        only_search
            .begin(&info("relative", None, SessionUse::Exclusive))
            .err()
            .unwrap()
            .code(),
        error::E_INVALIDARG
    );
}

#[test]
fn a_host_can_route_first_and_take_the_session_after() {
    let (site, _app) = site_with(AppOptions::default());
    let (_, out) = counter(&site, None);
    let cookie = cookie_of(&out);
    let mut req = site
        .begin(&info("/counter", Some(&cookie), SessionUse::Off))
        .unwrap();
    assert_eq!((req.app_path(), req.path()), ("/", "/counter"));
    assert!(req.session().is_none());
    assert_eq!(
        req.acquire(SessionUse::Off).unwrap_err().code(),
        error::E_INVALIDARG,
        "Off takes nothing"
    );
    req.acquire(SessionUse::Exclusive).unwrap();
    assert_eq!(req.session().unwrap().get("count"), Some(&Variant::I4(1)));
    assert_eq!(
        req.acquire(SessionUse::ReadOnly).unwrap_err().code(),
        error::E_WRONG_STATE
    );
    req.end(false).unwrap();
}

#[test]
fn regenerating_an_unstored_session_sends_no_cookie() {
    let (site, app) = site_with(AppOptions::default());
    let mut req = site
        .begin(&info("/regenerate", None, SessionUse::Exclusive))
        .unwrap();
    req.session_or_new().unwrap().regenerate_id().unwrap();
    assert_eq!(req.end(false).unwrap(), Outcome::default());
    assert_eq!(app.session_count().unwrap(), 0);
}

#[test]
fn cookie_headers_joined_with_commas_keep_the_session() {
    let (site, _app) = site_with(AppOptions::default());
    let (_, out) = counter(&site, None);
    let cookie = cookie_of(&out);
    // Apache httpd joins repeated Cookie headers with ", ".
    let joined = format!("theme=dark, {cookie}, lang=fr");
    assert_eq!(counter(&site, Some(&joined)).0, 2);
    let joined = format!("a=1; b=2, {cookie}");
    assert_eq!(counter(&site, Some(&joined)), (3, Outcome::default()));
}

/// A URL a browser would resolve to another path (or host) than the one an
/// ID goes into is returned as it is: never an ID for another application,
/// never `/\host` (another server) from removing a root ID.
#[test]
fn rewrite_url_leaves_urls_with_dot_segments_backslashes_and_controls_alone() {
    let app = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    site.add("/", &app, cookieless()).unwrap();
    site.add("/shop", &app, cookieless()).unwrap();
    let named = |n: &str| WebOptions {
        cookie_name: Some(n.into()),
        ..WebOptions::default()
    };
    site.add("/search", &app, named("S")).unwrap();
    site.add("/admin", &app, named("A")).unwrap();
    for page in ["/x", "/shop/x"] {
        let mut req = site
            .begin(&info(page, None, SessionUse::Exclusive))
            .unwrap();
        req.session_or_new()
            .unwrap()
            .set("k", Variant::I4(1))
            .unwrap();
        for url in [
            "/(S(x))/\\evil.example/../search/p",
            "/(S(x))/%2e%2e/\\evil.example/../search/p",
            "/(S(x))//evil.example/../search/p",
            "/(S(x))/\t/evil.example/../../search/p",
            "/(S(x))/\\evil.example/p",
            "/(S(x))/\t/evil.example/p",
            "/(S(x))/\n/evil.example/p",
            "/(S(x))/ /evil.example/p",
            "/x/%2e%2e/search/p",
            "/x/%2E./search/p",
            "/x/./p",
            "/shop/../admin/x",
            "/shop/..",
            "/shop/%2e%2e/admin/x",
            "/shop/..%2Fadmin/x",
            "/shop/%2e%2e%5cadmin/x",
            "/shop/./../admin",
            "/shop/.%2E?x",
            "/shop/a\x7f/x",
        ] {
            assert_eq!(req.rewrite_url(url), url, "{page}: {url:?}");
        }
        // Dots elsewhere are fine.
        let id = req.session().unwrap().id();
        let (url, expected) = if page == "/x" {
            ("/a.b/...?x=/../", format!("/(S({id}))/a.b/...?x=/../"))
        } else {
            (
                "/shop/a.b/...#/../",
                format!("/shop/(S({id}))/a.b/...#/../"),
            )
        };
        assert_eq!(req.rewrite_url(url), expected);
        req.end(false).unwrap();
    }
}

/// A failed request that created a session and regenerated its ID leaves
/// nothing stored: no cookie for it.
#[test]
fn a_failed_request_sends_no_cookie_for_a_regenerated_new_session() {
    let (site, app) = site_with(AppOptions::default());
    let mut req = site.begin(&info("/", None, SessionUse::Exclusive)).unwrap();
    let s = req.session_or_new().unwrap();
    s.set("k", Variant::I4(1)).unwrap();
    s.regenerate_id().unwrap();
    let id = s.id().to_string();
    assert_eq!(req.end(true).unwrap(), Outcome::default());
    assert_eq!(app.session_count().unwrap(), 0);
    let cookie = format!("ASPSESSIONID={id}");
    let mut req = site
        .begin(&info("/", Some(&cookie), SessionUse::Exclusive))
        .unwrap();
    assert!(req.session().is_none());
    req.end(false).unwrap();
}

/// IIS serves `/SEARCH/x` from `/search`, but browsers match cookie paths
/// case-sensitively: the cookie's path is `/` (its name keeps applications
/// apart), so the next request from that URL brings it back.
#[test]
fn a_case_variant_url_keeps_its_session() {
    let app = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    site.add("/search", &app, WebOptions::default()).unwrap();
    let mut req = site
        .begin(&info("/SEARCH/page", None, SessionUse::Exclusive))
        .unwrap();
    assert_eq!(req.app_path(), "/search");
    req.session_or_new()
        .unwrap()
        .set("k", Variant::I4(1))
        .unwrap();
    let sc = req.end(false).unwrap().set_cookie.unwrap();
    assert!(
        sc.starts_with("ASPSESSIONID_search=") && sc.contains("; Path=/;"),
        "{sc}"
    );
    let cookie = sc.split(';').next().unwrap();
    let mut req = site
        .begin(&info("/SEARCH/page", Some(cookie), SessionUse::Exclusive))
        .unwrap();
    assert_eq!(req.session().unwrap().get("k"), Some(&Variant::I4(1)));
    assert_eq!(req.end(false).unwrap(), Outcome::default());
    // An explicit path still applies; one that misses the application does not.
    let path = |p: &str| WebOptions {
        cookie_name: Some(format!("c{}", p.len())),
        cookie_path: Some(p.into()),
        ..WebOptions::default()
    };
    site.add("/shop/cart", &app, path("/shop")).unwrap();
    let mut req = site
        .begin(&info("/shop/cart/x", None, SessionUse::Exclusive))
        .unwrap();
    req.session_or_new()
        .unwrap()
        .set("k", Variant::I4(1))
        .unwrap();
    let sc = req.end(false).unwrap().set_cookie.unwrap();
    assert!(sc.contains("; Path=/shop;"), "{sc}");
    let e = site.add("/z", &app, path("/elsewhere")).unwrap_err();
    assert_eq!(e.code(), error::E_INVALID_OPTION);
    assert!(e.detail().contains("does not cover"), "{}", e.detail());
    // Paths that are no cookie path are applications all the same.
    site.add("/my app", &app, WebOptions::default()).unwrap();
    site.add("/café", &app, WebOptions::default()).unwrap();
}

/// Browsers send cookies with longer paths, and older ones, first: a
/// well-formed ID the store does not hold must not hide the live one after
/// it.
#[test]
fn an_unknown_id_before_the_live_one_does_not_hide_it() {
    let (site, app) = site_with(AppOptions::default());
    let (_, out) = counter(&site, None);
    let live = cookie_of(&out);
    let stale = || format!("ASPSESSIONID={}", SessionId::generate().unwrap());
    let (a, b) = (stale(), stale());
    counts_up_through(
        &site,
        &[
            format!("{a}; {live}"),
            format!("{a}; x=1; {b}; {live}"),
            // Two Cookie headers joined with ", " (Apache httpd).
            format!("{a}, {live}"),
            format!("{a}; {live}; {a}"),
        ],
        2,
    );
    // Read-only requests find it too.
    let mut req = site
        .begin(&info(
            "/peek",
            Some(&format!("{a}; {live}")),
            SessionUse::ReadOnly,
        ))
        .unwrap();
    assert_eq!(req.session().unwrap().get("count"), Some(&Variant::I4(5)));
    req.end(false).unwrap();
    // An unknown ID is still never adopted: a new session, a new cookie.
    let (n, out) = counter(&site, Some(&format!("{a}; {b}")));
    assert_eq!(n, 1);
    let fresh = cookie_of(&out);
    assert!(fresh != a && fresh != b && fresh != live, "{fresh}");
    // Abandon clears the cookie when the live one was not the first.
    let mut req = site
        .begin(&info(
            "/abandon",
            Some(&format!("{a}; {live}")),
            SessionUse::Exclusive,
        ))
        .unwrap();
    req.session().unwrap().abandon();
    assert!(req
        .end(false)
        .unwrap()
        .set_cookie
        .unwrap()
        .contains("Max-Age=0"));
    // At most eight IDs are tried.
    let (_, out) = counter(&site, None);
    let live = cookie_of(&out);
    let many: Vec<String> = (0..8).map(|_| stale()).collect();
    assert_eq!(
        counter(&site, Some(&format!("{}; {live}", many[..7].join("; ")))).0,
        2
    );
    assert_eq!(
        counter(&site, Some(&format!("{}; {live}", many.join("; ")))).0,
        1
    );
    assert_eq!(app.session_count().unwrap(), 3);
}

/// Two Cookie fields joined with ", " (Apache httpd), the first holding a
/// stale ID and another cookie: the live ID after the comma was never
/// tried, since `,` split only when no `;` pair held an ID, and the user
/// got a new session on every request.
#[test]
fn a_stale_id_in_the_first_of_two_joined_cookie_headers_does_not_hide_the_live_one() {
    let (site, app) = site_with(AppOptions::default());
    let (_, out) = counter(&site, None);
    let live = cookie_of(&out);
    let stale = format!("ASPSESSIONID={}", SessionId::generate().unwrap());
    counts_up_through(
        &site,
        &[
            format!("{stale}; x=1, {live}"),
            format!("{stale}; x=1, {live}; y=2"),
            format!("{stale}, {live}"),
        ],
        2,
    );
    assert_eq!(app.session_count().unwrap(), 1);
}

/// A handler that sends its headers first: the early Set-Cookie, then the
/// end reports only what changed after it.
#[test]
fn set_cookie_before_the_end() {
    let (site, _app) = site_with(AppOptions::default());
    let begin = |cookie: Option<&str>| {
        site.begin(&info("/p", cookie, SessionUse::Exclusive))
            .unwrap()
    };
    // No session yet: nothing to send.
    let mut req = begin(None);
    assert_eq!(req.set_cookie_now(), None);
    // A new session's cookie is known before anything is stored...
    req.session_or_new().unwrap();
    let early = req.set_cookie_now().unwrap();
    assert!(early.starts_with("ASPSESSIONID="), "{early}");
    req.set_cookie_sent(early.clone());
    req.session().unwrap().set("n", Variant::I4(1)).unwrap();
    // ...and once sent, the end does not repeat it.
    assert_eq!(req.end(false).unwrap(), Outcome::default());
    let cookie = early.split(';').next().unwrap().to_owned();

    // The client's own session: nothing to send, early or late.
    let req = begin(Some(&cookie));
    assert_eq!(req.set_cookie_now(), None);
    assert_eq!(req.end(false).unwrap(), Outcome::default());

    // Regenerated after the headers went: the end carries the new cookie.
    let mut req = begin(Some(&cookie));
    req.session().unwrap().regenerate_id().unwrap();
    let regenerated = req.set_cookie_now().unwrap();
    assert_ne!(regenerated.split(';').next().unwrap(), cookie);
    let mut req2 = begin(None);
    req2.session_or_new().unwrap();
    let sent = req2.set_cookie_now().unwrap();
    req2.set_cookie_sent(sent.clone());
    req2.session().unwrap().regenerate_id().unwrap();
    req2.session().unwrap().set("n", Variant::I4(1)).unwrap();
    let out = req2.end(false).unwrap();
    let late = out.set_cookie.expect("the regenerated ID's cookie");
    assert_ne!(late, sent);
    assert_eq!(
        req.end(false).unwrap().set_cookie,
        Some(regenerated.clone())
    );

    // Abandoned after the early cookie: the end deletes it.
    let cookie = regenerated.split(';').next().unwrap().to_owned();
    let mut req = begin(None);
    req.session_or_new().unwrap();
    let sent = req.set_cookie_now().unwrap();
    req.set_cookie_sent(sent);
    req.session().unwrap().abandon();
    let out = req.end(false).unwrap().set_cookie.unwrap();
    assert!(out.contains("Max-Age=0"), "{out}");
    // Abandon before the headers: the early value is the deleting cookie,
    // and the end does not repeat it.
    let mut req = begin(Some(&cookie));
    req.session().unwrap().abandon();
    let early = req.set_cookie_now().unwrap();
    assert!(early.contains("Max-Age=0"), "{early}");
    req.set_cookie_sent(early);
    assert_eq!(req.end(false).unwrap(), Outcome::default());
}

/// Links are written percent-encoded (a browser sends `/caf%C3%A9/…` for
/// `/café/…`, and the server decodes it before it finds the application):
/// a cookieless application's ID goes into its own encoded links, and never
/// into an encoded link to an application nested under it.
#[test]
fn rewrite_url_reads_percent_encoded_links() {
    let root = App::new(AppOptions::default()).unwrap();
    let other = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    site.add("/", &root, cookieless()).unwrap();
    site.add("/café", &other, WebOptions::default()).unwrap();
    site.add("/api", &other, WebOptions::default()).unwrap();
    site.add("/my app", &other, cookieless()).unwrap();

    let mut req = site
        .begin(&info("/x", None, SessionUse::Exclusive))
        .unwrap();
    req.session_or_new()
        .unwrap()
        .set("k", Variant::I4(1))
        .unwrap();
    let id = req.session().unwrap().id();
    for url in [
        "/caf%C3%A9/menu",
        "/CAF%c3%a9/menu?x=1",
        "/%61pi/v1",
        "/api%2Fv1",
        "/my%20app/page",
    ] {
        assert_eq!(req.rewrite_url(url), url, "{url}");
    }
    // Its own pages, encoded or not, get the ID.
    for url in ["/caf%C3%A9s/menu", "/%7Euser/x", "/a%2Fb"] {
        assert_eq!(req.rewrite_url(url), format!("/(S({id}))/{}", &url[1..]));
    }
    req.end(false).unwrap();

    let mut req = site
        .begin(&info("/my app/x", None, SessionUse::Exclusive))
        .unwrap();
    assert_eq!(req.app_path(), "/my app");
    req.session_or_new()
        .unwrap()
        .set("k", Variant::I4(2))
        .unwrap();
    let id = req.session().unwrap().id();
    for (url, expected) in [
        (
            "/my%20app/page?q=1",
            format!("/my%20app/(S({id}))/page?q=1"),
        ),
        ("/MY%20App", format!("/MY%20App/(S({id}))/")),
        ("/my%20app/(S(old))/p", format!("/my%20app/(S({id}))/p")),
        ("/my app/page", "/my app/page".to_owned()),
    ] {
        assert_eq!(req.rewrite_url(url), expected, "{url}");
    }
    // An encoded `/` is no separator: `/my%2Fapp` is not under `/my`.
    assert_eq!(req.rewrite_url("/my%20app%2Fpage"), "/my%20app%2Fpage");
    req.end(false).unwrap();
    // The server decodes the link it gets back: the session is found.
    let back = format!("/my app/(S({id}))/page");
    let mut req = site
        .begin(&info(&back, None, SessionUse::Exclusive))
        .unwrap();
    assert_eq!(req.session().unwrap().get("k"), Some(&Variant::I4(2)));
    req.end(false).unwrap();
}

/// A site whose root application sends persistent cookies of `max_age`
/// seconds, on a clock the test moves (no expiry thread); sessions last 60
/// minutes.
fn persistent_site(max_age: u32) -> (Site, App, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let app = App::new(AppOptions {
        clock: Some(clock.clone()),
        expiry_interval: None,
        default_timeout_minutes: 60,
        ..AppOptions::default()
    })
    .unwrap();
    let mut site = Site::new();
    let cookie = CookieOptions {
        max_age_seconds: Some(max_age),
        ..CookieOptions::default()
    };
    let web = WebOptions {
        cookie,
        ..WebOptions::default()
    };
    site.add("/", &app, web).unwrap();
    (site, app, clock)
}

/// A persistent cookie was sent only when its session began, so its expiry
/// stayed where it was then: a client active for longer than its Max-Age
/// lost it while its session lived on. Every response to a request that
/// renews the session now gives the cookie again, with the same value (the
/// ID and nothing else) and a fresh Max-Age.
#[test]
fn a_persistent_cookie_is_sent_again_by_every_request_that_renews_its_session() {
    let (site, app, clock) = persistent_site(600);
    let (_, out) = counter(&site, None);
    let given = out.set_cookie.clone().unwrap();
    assert!(given.contains("; Max-Age=600;"), "{given}");
    let cookie = cookie_of(&out);
    // The value is the ID, which a host may hand to sess_session_open.
    let (_, id) = cookie.split_once('=').unwrap();
    let s = app.open_session(id, LockMode::Shared).unwrap();
    assert_eq!(s.get("count"), Some(&Variant::I4(1)));
    s.close().unwrap();
    // A request every five minutes for 100 minutes, ten times the Max-Age:
    // each response gives the very same cookie again.
    for n in 2..=21 {
        clock.advance(300_000);
        let (count, out) = counter(&site, Some(&cookie));
        assert_eq!(count, n);
        assert_eq!(out.set_cookie.as_ref(), Some(&given), "request {n}");
    }
}

/// Only a request that renews a session gives its persistent cookie again:
/// read-only and failed ones do (the session's deadline slides for them
/// too), as does one that takes the session after routing; one with
/// session state off, without a session, or whose ID names no live session
/// (unknown, expired) does not, and an abandoned session's cookie is
/// deleted. Browser-session cookies are sent only for a new ID, as before.
#[test]
fn only_requests_that_renew_a_session_send_its_persistent_cookie_again() {
    let (site, _app, clock) = persistent_site(600);
    let (_, out) = counter(&site, None);
    let given = out.set_cookie.clone().unwrap();
    let cookie = cookie_of(&out);
    let end = |path: &str, cookie: Option<&str>, session_use, failed| {
        let req = site.begin(&info(path, cookie, session_use)).unwrap();
        req.end(failed).unwrap()
    };
    let again = Outcome {
        set_cookie: Some(given.clone()),
    };
    let read_only = SessionUse::ReadOnly;
    assert_eq!(end("/peek", Some(&cookie), read_only, false), again);
    assert_eq!(
        end("/fail", Some(&cookie), SessionUse::Exclusive, true),
        again
    );
    let mut req = site
        .begin(&info("/routed", Some(&cookie), SessionUse::Off))
        .unwrap();
    req.acquire(read_only).unwrap();
    assert_eq!(req.end(false).unwrap(), again);

    let nothing = Outcome::default();
    assert_eq!(end("/off", Some(&cookie), SessionUse::Off, false), nothing);
    assert_eq!(end("/peek", None, read_only, false), nothing);
    let unknown = format!("ASPSESSIONID={}", SessionId::generate().unwrap());
    assert_eq!(end("/peek", Some(&unknown), read_only, false), nothing);

    // A host that sends its headers early gets it then, and not again.
    let mut req = site
        .begin(&info("/early", Some(&cookie), SessionUse::Exclusive))
        .unwrap();
    let early = req.set_cookie_now();
    assert_eq!(early.as_ref(), Some(&given));
    req.set_cookie_sent(early.unwrap());
    assert_eq!(req.end(false).unwrap(), nothing);

    // Abandoned: the cookie is deleted, not given again.
    let (_, out) = counter(&site, None);
    let other = cookie_of(&out);
    let mut req = site
        .begin(&info("/abandon", Some(&other), SessionUse::Exclusive))
        .unwrap();
    req.session().unwrap().abandon();
    let clear = req.end(false).unwrap().set_cookie.unwrap();
    assert!(clear.contains("; Max-Age=0;"), "{clear}");

    // Expired (60 minutes without a request): nothing to renew.
    clock.advance(61 * 60_000);
    assert_eq!(end("/peek", Some(&cookie), read_only, false), nothing);

    // Browser-session cookies are not sent again.
    let (plain, _app) = site_with(AppOptions::default());
    let (_, out) = counter(&plain, None);
    let c = cookie_of(&out);
    assert_eq!(counter(&plain, Some(&c)), (2, nothing.clone()));
    let req = plain.begin(&info("/peek", Some(&c), read_only)).unwrap();
    assert_eq!(req.end(false).unwrap(), nothing);
}

/// A page with session state off in a cookieless application does not look
/// the URL's ID up, but its links keep it (as ASP.NET's
/// `ApplyAppPathModifier` does): once lost from them, the client's next
/// click began a new session. An ID looked up and not found is still
/// never written (strict mode).
#[test]
fn a_page_with_session_state_off_keeps_the_urls_id_in_its_links() {
    let (mut site, app) = cookieless_site("/app");
    site.add("/", &app, WebOptions::default()).unwrap();
    let (id, _) = stored(&site, "/app/x", "k", 1);
    let req = site
        .begin(&info(
            &format!("/app/(S({id}))/stats"),
            None,
            SessionUse::Off,
        ))
        .unwrap();
    assert_eq!(
        req.rewrite_url("/app/counter"),
        format!("/app/(S({id}))/counter")
    );
    assert_eq!(req.rewrite_url("/other"), "/other");
    req.end(false).unwrap();
    // Taken after routing: the session's own ID.
    let mut req = site
        .begin(&info(&format!("/app/(S({id}))/x"), None, SessionUse::Off))
        .unwrap();
    req.acquire(SessionUse::Exclusive).unwrap();
    req.session().unwrap().regenerate_id().unwrap();
    let new = req.session().unwrap().id();
    assert_eq!(req.rewrite_url("/app/p"), format!("/app/(S({new}))/p"));
    req.end(false).unwrap();
    // Looked up and not found: no ID.
    let mut req = site
        .begin(&info(&format!("/app/(S({id}))/x"), None, SessionUse::Off))
        .unwrap();
    req.acquire(SessionUse::ReadOnly).unwrap();
    assert!(req.session().is_none());
    assert_eq!(req.rewrite_url("/app/p"), "/app/p");
    req.end(false).unwrap();
    // A cookie application's links never get one.
    let cookie = format!("ASPSESSIONID={new}");
    let req = site
        .begin(&info("/x", Some(&cookie), SessionUse::Off))
        .unwrap();
    assert_eq!(req.rewrite_url("/x"), "/x");
    req.end(false).unwrap();
}

/// The path a host passes is decoded and has no query string, so a `?` or
/// `#` in it is the path's own (`%3F`, `%23`): `/search%3F/x` is a page in
/// the directory `search?` of the root application, as a server maps it,
/// not one of `/search`; and `(S(<id>))?x` is no ID segment.
#[test]
fn a_decoded_question_mark_or_hash_is_part_of_the_path() {
    let root = App::new(AppOptions::default()).unwrap();
    let search = App::new(AppOptions::default()).unwrap();
    let shop = App::new(AppOptions::default()).unwrap();
    let mut site = Site::new();
    site.add("/", &root, WebOptions::default()).unwrap();
    site.add("/search", &search, WebOptions::default()).unwrap();
    site.add("/shop", &shop, cookieless()).unwrap();
    site.add(
        "/shop/api",
        &root,
        WebOptions {
            cookie_name: Some("api".into()),
            ..WebOptions::default()
        },
    )
    .unwrap();
    let (_, out) = stored(&site, "/search/x", "v", 1);
    let search_cookie = cookie_of(&out);
    for path in ["/search?/x", "/search#/x", "/search?", "/SEARCH#x"] {
        let mut req = site
            .begin(&info(path, Some(&search_cookie), SessionUse::ReadOnly))
            .unwrap();
        assert_eq!((req.app_path(), req.path()), ("/", path));
        assert_eq!(site.resolve(path).map(|(p, _)| p), Some("/"), "{path}");
        assert!(req.session().is_none(), "{path}: /search's session");
        req.end(false).unwrap();
    }
    let (id, _) = stored(&site, "/shop/x", "v", 2);
    for path in [
        format!("/shop/(S({id}))?x/page"),
        format!("/shop/(S({id}))#"),
    ] {
        let mut req = site
            .begin(&info(&path, None, SessionUse::ReadOnly))
            .unwrap();
        assert_eq!((req.app_path(), req.path()), ("/shop", &path[..]));
        assert!(req.session().is_none(), "{path}: an ID from no ID segment");
        req.end(false).unwrap();
    }
    // A link to `/shop/api%3F/x` is a page of /shop, so it keeps the ID.
    let req = site
        .begin(&info(
            &format!("/shop/(S({id}))/x"),
            None,
            SessionUse::ReadOnly,
        ))
        .unwrap();
    assert_eq!(
        req.rewrite_url("/shop/api%3F/x"),
        format!("/shop/(S({id}))/api%3F/x")
    );
    assert_eq!(req.rewrite_url("/shop/api/x?q"), "/shop/api/x?q");
    req.end(false).unwrap();
}

/// Fails saves and removals while set.
#[derive(Default)]
struct SavesFail(std::sync::atomic::AtomicBool);

impl SavesFail {
    /// Makes saves and removals fail (`true`) or work again.
    fn fail(&self, failing: bool) {
        self.0.store(failing, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Hooks for SavesFail {
    fn before_save(&self) -> sess::error::Result<()> {
        if self.0.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(sess::error::Error::new(
                error::E_STORE_UNAVAILABLE,
                "the test store is down",
            ));
        }
        Ok(())
    }
}

/// A site whose application's store fails saves on demand.
fn failing_site() -> (Site, App, Arc<Hooked<SavesFail>>) {
    let store = Arc::new(Hooked::new(SavesFail::default()));
    let (site, app) = site_with(AppOptions {
        store: StoreConfig::Custom(store.clone()),
        ..AppOptions::default()
    });
    (site, app, store)
}

/// A request whose end fails to save after it gave its session a new ID
/// still hands the host that ID's cookie (the store moved the session
/// there and the old ID is dead: without it the client keeps neither),
/// with the failure; a new session whose save failed gets no cookie.
#[test]
fn a_failed_save_after_regenerate_still_gives_the_new_ids_cookie() {
    let (site, _app, store) = failing_site();
    let (_, out) = counter(&site, None);
    let old = cookie_of(&out);
    let mut req = site
        .begin(&info("/login", Some(&old), SessionUse::Exclusive))
        .unwrap();
    req.session().unwrap().regenerate_id().unwrap();
    let new = format!("ASPSESSIONID={}", req.session().unwrap().id());
    store.hooks.fail(true);
    let failed = req.end(false).unwrap_err();
    assert_eq!(failed.error.code(), error::E_STORE_UNAVAILABLE);
    let sent = failed.set_cookie.expect("the new ID's cookie");
    assert_eq!(sent.split(';').next().unwrap(), new);
    store.hooks.fail(false);
    assert_eq!(
        counter(&site, Some(&new)).0,
        2,
        "the session lives on there"
    );
    assert_eq!(counter(&site, Some(&old)).0, 1, "the old ID is dead");

    // A failed request (undone) that regenerated: the same.
    let mut req = site
        .begin(&info("/login", Some(&new), SessionUse::Exclusive))
        .unwrap();
    req.session().unwrap().regenerate_id().unwrap();
    let newer = format!("ASPSESSIONID={}", req.session().unwrap().id());
    store.hooks.fail(true);
    let sent = req.end(true).unwrap_err().set_cookie.unwrap();
    assert_eq!(sent.split(';').next().unwrap(), newer);
    store.hooks.fail(false);
    assert_eq!(counter(&site, Some(&newer)).0, 3);

    // A new session whose save failed: no cookie for it.
    let mut req = site.begin(&info("/", None, SessionUse::Exclusive)).unwrap();
    let s = req.session_or_new().unwrap();
    s.set("k", Variant::I4(1)).unwrap();
    s.regenerate_id().unwrap();
    store.hooks.fail(true);
    assert_eq!(req.end(false).unwrap_err().set_cookie, None);
    // Nor for an abandoned one whose removal failed.
    store.hooks.fail(false);
    let mut req = site
        .begin(&info("/logout", Some(&newer), SessionUse::Exclusive))
        .unwrap();
    let s = req.session().unwrap();
    s.regenerate_id().unwrap();
    s.abandon();
    store.hooks.fail(true);
    assert_eq!(req.end(false).unwrap_err().set_cookie, None);
    store.hooks.fail(false);
}

/// A site whose Session_OnEnd records each ended session's `k`.
fn ending_site() -> (Site, App, Arc<std::sync::Mutex<Vec<Option<Variant>>>>) {
    let ended = Arc::new(std::sync::Mutex::new(Vec::new()));
    let e = ended.clone();
    let (site, app) = site_with(AppOptions {
        on_end: Some(Arc::new(move |s| {
            e.lock().unwrap().push(s.get("k").cloned());
        })),
        ..AppOptions::default()
    });
    (site, app, ended)
}

/// Abandon takes effect when the page ends, failed or not (seed 004: the
/// server processes it after the page's script; a logout page that fails
/// after it still logs out): a failed request's changes are undone first,
/// so Session_OnEnd sees the session as the request found it, and the
/// client's cookie is deleted.
#[test]
fn a_failed_request_still_applies_its_abandon() {
    let (site, app, ended) = ending_site();
    let (_, out) = stored(&site, "/", "k", 1);
    let cookie = cookie_of(&out);
    let mut req = site
        .begin(&info("/logout", Some(&cookie), SessionUse::Exclusive))
        .unwrap();
    let s = req.session().unwrap();
    s.set("k", Variant::I4(2)).unwrap();
    s.abandon();
    let clear = req.end(true).unwrap().set_cookie.unwrap();
    assert!(clear.contains("Max-Age=0"), "{clear}");
    assert_eq!(app.session_count().unwrap(), 0);
    assert_eq!(*ended.lock().unwrap(), [Some(Variant::I4(1))]);
    let mut req = site
        .begin(&info("/", Some(&cookie), SessionUse::Exclusive))
        .unwrap();
    assert!(req.session().is_none(), "the ID is dead");
    req.end(false).unwrap();
}

/// After Abandon the page goes on with the same session (ASP): values it
/// sets then are readable to the page's end, and Session_OnEnd sees them;
/// nothing of it survives the request.
#[test]
fn values_set_after_abandon_are_readable_until_the_page_ends() {
    let (site, app, ended) = ending_site();
    let (_, out) = stored(&site, "/", "k", 1);
    let cookie = cookie_of(&out);
    let mut req = site
        .begin(&info("/", Some(&cookie), SessionUse::Exclusive))
        .unwrap();
    let s = req.session().unwrap();
    s.abandon();
    s.set("k", Variant::I4(3)).unwrap();
    assert_eq!(s.get("k"), Some(&Variant::I4(3)));
    assert!(req.session_or_new().unwrap().is_abandoned(), "the same one");
    assert!(req
        .end(false)
        .unwrap()
        .set_cookie
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(*ended.lock().unwrap(), [Some(Variant::I4(3))]);
    assert_eq!(app.session_count().unwrap(), 0);
}

/// A cookieless application mounted below non-ASCII and `%` segments: its
/// links carry the ID after the path as a browser spells it, and the
/// decoded request path a server passes back finds the session.
#[test]
fn a_cookieless_application_under_encoded_segments_keeps_its_id() {
    for (app_path, link) in [("/café/ü", "/caf%C3%A9/%C3%BC"), ("/100%", "/100%25")] {
        let (site, _app) = cookieless_site(app_path);
        let page = format!("{app_path}/page");
        let mut req = site
            .begin(&info(&page, None, SessionUse::Exclusive))
            .unwrap();
        req.session_or_new()
            .unwrap()
            .set("k", Variant::I4(1))
            .unwrap();
        assert!(req.url_id_outdated());
        let id = req.session().unwrap().id();
        let rewritten = req.rewrite_url(&format!("{link}/page?q=1"));
        assert_eq!(rewritten, format!("{link}/(S({id}))/page?q=1"));
        req.end(false).unwrap();
        // The server decodes the link before it passes the path.
        let back = format!("{app_path}/(S({id}))/page");
        let mut req = site
            .begin(&info(&back, None, SessionUse::Exclusive))
            .unwrap();
        assert_eq!(req.path(), page);
        assert_eq!(req.session().unwrap().get("k"), Some(&Variant::I4(1)));
        assert!(!req.url_id_outdated());
        req.end(false).unwrap();
    }
}
