//! Cookieless sessions: the ID carried in the URL, in ASP.NET's form.
//!
//! The ID is a path segment `(S(<id>))` right after the application's path:
//! `/(S(<id>))/rest/of/path` for an application at `/`,
//! `/search/(S(<id>))/page` for one at `/search`. Relative links in a page
//! served from such a URL keep the segment by themselves; [`rewrite`] adds
//! it to absolute paths (links, redirects). When the URL's ID is not the
//! session's (a new session, a regenerated ID), its relative links would
//! lose the session: the host redirects to the rewritten URL
//! ([`Request::url_id_outdated`](super::Request::url_id_outdated)).
//!
//! This is weaker than a cookie and should be a fallback only: a URL's ID
//! leaks through server and proxy logs, browser history, bookmarks, shared
//! links and the `Referer` header, and it cannot be `HttpOnly`. The store's
//! strict mode (IDs it never issued are never adopted) still applies.

use crate::state::SessionId;

/// What begins the ID's segment.
pub const MARKER_START: &str = "(S(";
/// What ends the ID's segment.
pub const MARKER_END: &str = "))";

/// The ID in `request_path`, if the segment right after `app_path` is
/// `(S(<id>))` with a well-formed [`SessionId`], and the path with that
/// segment (and the `/` after it) removed: `/search/(S(<id>))/page?x=1`
/// gives `/search/page?x=1`, `/(S(<id>))` gives `/`.
///
/// `app_path` is the application's virtual path (`/` or `/search`, as
/// [`AppPaths::resolve`](super::AppPaths::resolve) returns it); it is
/// matched ASCII case-insensitively at a segment boundary, and the request's
/// own spelling is kept. The marker is matched exactly (`(S(`, capital S).
/// `None` when there is no marker there, the ID in it is malformed, or
/// `app_path` does not begin with `/`: the request then has no ID. Never
/// panics.
///
/// With nested applications, resolve the application again on the returned
/// path: `/(S(<id>))/search/x` carries an ID of the root application but
/// asks for a page of `/search`; a host should not use the ID there.
pub fn extract(app_path: &str, request_path: &str) -> Option<(SessionId, String)> {
    let end = request_path.find(['?', '#']).unwrap_or(request_path.len());
    let (path, tail) = (request_path.get(..end)?, request_path.get(end..)?);
    let (id, bare) = extract_path(app_path, path)?;
    Some((id, bare + tail))
}

/// [`extract`] for a decoded path without its query string, as a server
/// passes it: a `?` or `#` in it is the path's own (`(S(<id>))?x`, from
/// `(S(<id>))%3Fx`, is no ID segment).
pub fn extract_path(app_path: &str, path: &str) -> Option<(SessionId, String)> {
    let start = after_app(app_prefix(app_path)?, path, Spelling::Decoded)?;
    let rest = path.get(start..)?;
    let seg_end = rest.find('/').unwrap_or(rest.len());
    let inner = rest
        .get(..seg_end)?
        .strip_prefix(MARKER_START)?
        .strip_suffix(MARKER_END)?;
    let id = SessionId::parse(inner).ok()?;
    let after = rest.get(seg_end..)?;
    let after = after.strip_prefix('/').unwrap_or(after);
    Some((id, format!("{}{after}", path.get(..start)?)))
}

/// `url` with `id`'s segment after `app_path`, for links and redirects:
/// `/search/page?x=1` becomes `/search/(S(<id>))/page?x=1`, `/search` becomes
/// `/search/(S(<id>))/`; a marker already there (valid or not) is replaced.
/// The result always has a `/` after the marker, so relative links in the
/// page keep it. `app_path` (decoded, as configured) is found in `url` as a
/// link spells it: ASCII case-insensitively, with `%XX` read as the byte it
/// encodes (`/caf%C3%A9/x` is in `/café`), but `%2F` never as a separator.
///
/// Returned unchanged: URLs with a scheme or host (`https://…`, `//host/…`),
/// relative URLs (`page.asp`, `../x`, `?q`, `#frag`: they resolve against a
/// URL that already carries the marker), paths outside the application, and
/// paths a browser would not take as they are (see [`is_plain_path`]).
/// Never panics.
pub fn rewrite(app_path: &str, id: &SessionId, url: &str) -> String {
    let unchanged = || url.to_string();
    let Some(prefix) = app_prefix(app_path) else {
        return unchanged();
    };
    if !url.starts_with('/') || url.starts_with("//") || !is_plain_path(url) {
        return unchanged();
    }
    let path_end = url.find(['?', '#']).unwrap_or(url.len());
    let (Some(path), Some(tail)) = (url.get(..path_end), url.get(path_end..)) else {
        return unchanged();
    };
    let id = id.encode();
    let marker = format!("{MARKER_START}{}{MARKER_END}", id.as_str());
    if prefix_end(prefix, path, Spelling::Encoded) == Some(path.len()) {
        // `/search` → `/search/(S(id))/`.
        return format!("{path}/{marker}/{tail}");
    }
    let Some(start) = after_app(prefix, path, Spelling::Encoded) else {
        return unchanged();
    };
    let (Some(head), Some(rest)) = (url.get(..start), url.get(start..)) else {
        return unchanged();
    };
    let seg_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match (rest.get(..seg_end), rest.get(seg_end..)) {
        (Some(seg), Some(after)) if is_marker(seg) => {
            let slash = if after.starts_with('/') { "" } else { "/" };
            format!("{head}{marker}{slash}{after}")
        }
        _ => format!("{head}{marker}/{rest}"),
    }
}

/// `url` without a marker-shaped segment right after `app_path` (valid or
/// not; `app_path` found as [`rewrite`] finds it) and the `/` after it: `/search/(S(<anything>))/page` gives
/// `/search/page` (at the root, never `//…`: `/(S(x))//h/p` gives `/h/p`);
/// otherwise, and for a path that is not [`is_plain_path`], `url` as it is.
/// Never panics.
pub fn remove(app_path: &str, url: &str) -> String {
    if !is_plain_path(url) {
        return url.to_owned();
    }
    let at = app_prefix(app_path).and_then(|prefix| after_app(prefix, url, Spelling::Encoded));
    let Some((head, rest)) = at.and_then(|at| Some((url.get(..at)?, url.get(at..)?))) else {
        return url.to_owned();
    };
    let seg_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match (rest.get(..seg_end), rest.get(seg_end..)) {
        (Some(seg), Some(after)) if is_marker(seg) => {
            let after = after.strip_prefix('/').unwrap_or(after);
            // Never `//host/…` (another server's) from `/(S(..))//host/…`.
            let after = if head == "/" {
                after.trim_start_matches('/')
            } else {
                after
            };
            format!("{head}{after}")
        }
        _ => url.to_owned(),
    }
}

/// Whether the path of `url` (before any `?` or `#`) is one a browser takes
/// as it is written: no `\` (a `/` to browsers: `/\host` is another
/// server), no ASCII control or space (tabs and newlines are dropped), and,
/// as the server reads it ([`served_path`]), no `.` or `..` segment (the
/// target is another path than the one an ID would be put in: `%2e`,
/// `..%2F` and `..%5C` too).
pub fn is_plain_path(url: &str) -> bool {
    let path = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    path.bytes()
        .all(|b| b != b'\\' && b != b' ' && !b.is_ascii_control())
        && served_path(path)
            .split('/')
            .all(|seg| seg != "." && seg != "..")
}

/// The path of `url` (before any `?` or `#`) as a server resolves it:
/// percent-decoded (`%2F` included; bytes that are not UTF-8 become
/// U+FFFD) and with `\` as `/` (as IIS takes it).
pub fn served_path(url: &str) -> String {
    let path = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .replace('\\', "/")
}

/// `app_path` without its trailing `/` (`""` for the root); `None` unless it
/// begins with `/`.
fn app_prefix(app_path: &str) -> Option<&str> {
    if !app_path.starts_with('/') {
        return None;
    }
    Some(app_path.strip_suffix('/').unwrap_or(app_path))
}

/// How a path to match an application's path against is written.
#[derive(Clone, Copy)]
enum Spelling {
    /// Percent-decoded, as a server passes a request's path.
    Decoded,
    /// As in a link: `%XX` may stand for any byte (`/caf%C3%A9` is
    /// `/café`), except that `%2F` is no `/` between segments.
    Encoded,
}

/// Where `prefix` (an application's path without its trailing `/`) ends
/// in `path`, if `path` begins with it: matched byte by byte, ASCII
/// case-insensitively, reading `path` as `spelling` says.
fn prefix_end(prefix: &str, path: &str, spelling: Spelling) -> Option<usize> {
    let bytes = path.as_bytes();
    let mut at = 0;
    for &want in prefix.as_bytes() {
        let escaped = match spelling {
            Spelling::Encoded => bytes.get(at..at + 3).and_then(percent_escape),
            Spelling::Decoded => None,
        };
        let (got, len) = match escaped {
            Some(b'/') => return None,
            Some(b) => (b, 3),
            None => (*bytes.get(at)?, 1),
        };
        if !got.eq_ignore_ascii_case(&want) {
            return None;
        }
        at += len;
    }
    Some(at)
}

/// The byte `%XX` stands for, if `escape` is one.
fn percent_escape(escape: &[u8]) -> Option<u8> {
    let [b'%', hi, lo] = *escape else {
        return None;
    };
    let hex = |c: u8| char::from(c).to_digit(16);
    Some((hex(hi)? * 16 + hex(lo)?) as u8)
}

/// Where the segment after the application's path begins in `path`: just
/// past `prefix` (see [`prefix_end`]) and the `/` that must follow it.
fn after_app(prefix: &str, path: &str, spelling: Spelling) -> Option<usize> {
    let n = prefix_end(prefix, path, spelling)?;
    (path.as_bytes().get(n) == Some(&b'/')).then_some(n + 1)
}

/// Whether a segment looks like a marker, whatever it holds.
fn is_marker(seg: &str) -> bool {
    seg.len() >= MARKER_START.len() + MARKER_END.len()
        && seg.starts_with(MARKER_START)
        && seg.ends_with(MARKER_END)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SessionId {
        SessionId::generate().unwrap()
    }

    #[test]
    fn remove_takes_out_any_marker_after_the_application() {
        let id = id();
        for (app, url, bare) in [
            ("/", format!("/(S({id}))/api/v1?x=1"), "/api/v1?x=1"),
            ("/", "/(S(junk))/api".to_owned(), "/api"),
            ("/a", "/A/(S(x))?q".to_owned(), "/A/?q"),
            ("/a", "/a/page/(S(x))/".to_owned(), "/a/page/(S(x))/"),
            ("/a", "/b/(S(x))/".to_owned(), "/b/(S(x))/"),
            (
                "/a",
                "https://h/a/(S(x))/".to_owned(),
                "https://h/a/(S(x))/",
            ),
            ("/", "/(S(x))//evil.test/p".to_owned(), "/evil.test/p"),
            (
                "/",
                "/(S(x))/\\evil.test/p".to_owned(),
                "/(S(x))/\\evil.test/p",
            ),
            (
                "/",
                "/(S(x))/\t/evil.test/p".to_owned(),
                "/(S(x))/\t/evil.test/p",
            ),
            ("/", "/(S(x))/%2E%2e/p".to_owned(), "/(S(x))/%2E%2e/p"),
            ("/a", "/a/(S(x))//p".to_owned(), "/a//p"),
        ] {
            assert_eq!(remove(app, &url), bare, "{app} {url}");
        }
    }

    #[test]
    fn extract_at_the_root_and_in_an_application() {
        let id = id();
        for (app, request, rest) in [
            ("/", format!("/(S({id}))/rest/of/path"), "/rest/of/path"),
            ("/", format!("/(S({id}))/"), "/"),
            ("/", format!("/(S({id}))"), "/"),
            ("/", format!("/(S({id}))?x=1"), "/?x=1"),
            ("/", format!("/(S({id}))#f"), "/#f"),
            ("/", format!("/(S({id}))/a?b=/(S(c))"), "/a?b=/(S(c))"),
            ("/search", format!("/search/(S({id}))/page"), "/search/page"),
            (
                "/search/",
                format!("/search/(S({id}))/page"),
                "/search/page",
            ),
            ("/search", format!("/Search/(S({id}))/page"), "/Search/page"),
            ("/search", format!("/search/(S({id}))"), "/search/"),
            ("/search", format!("/search/(S({id}))/"), "/search/"),
            ("/search", format!("/search/(S({id}))?q=1"), "/search/?q=1"),
            ("/search", format!("/search/(S({id}))//x"), "/search//x"),
            ("/a/b", format!("/A/b/(S({id}))/c/d.asp"), "/A/b/c/d.asp"),
            ("/café", format!("/CAFé/(S({id}))/x"), "/CAFé/x"),
        ] {
            assert_eq!(
                extract(app, &request),
                Some((id, rest.to_string())),
                "{app:?} {request:?}"
            );
        }
    }

    #[test]
    fn no_id_without_a_valid_marker_in_place() {
        let id = id();
        let text = id.to_string();
        for (app, request) in [
            ("/", "/".to_string()),
            ("/", String::new()),
            ("/", "/page".into()),
            ("/", format!("(S({id}))/x")),
            ("/", format!("/x/(S({id}))/page")),
            ("/", format!("//(S({id}))/page")),
            ("/", format!("/(s({id}))/page")),
            ("/", format!("/(S({id})/page")),
            ("/", format!("/(S({id})))/page")),
            ("/", format!("/((S({id}))/page")),
            ("/", format!("/(S({id}))x/page")),
            ("/", format!("/%28S%28{id}%29%29/page")),
            ("/", format!("/(S({}))/page", &text[..21])),
            ("/", format!("/(S({id}{id}))/page")),
            ("/", "/(S())/page".into()),
            ("/", "/(S()".into()),
            ("/", "/(S(".into()),
            ("/", "/(S(aaaaaaaaaaaaaaaaaaaa;a))/x".into()),
            ("/", "/(S(../../../etc/passwd))/x".into()),
            (
                "/",
                format!("/(S({}))/x", text.replace(|_: char| true, "é")),
            ),
            ("/", format!("/(S({id}\r\n))/x")),
            ("/", format!("/(S(\0{id}))/x")),
            ("/search", format!("/(S({id}))/search/page")),
            ("/search", format!("/searchx/(S({id}))/page")),
            ("/search", format!("/search(S({id}))/page")),
            ("/search", format!("/other/(S({id}))/page")),
            ("/search", format!("/search/x/(S({id}))/page")),
            ("/search", format!("/search?/(S({id}))/page")),
            ("search", format!("/search/(S({id}))/page")),
            ("", format!("/(S({id}))/page")),
            ("/é", format!("/É/(S({id}))/page")),
        ] {
            assert_eq!(extract(app, &request), None, "{app:?} {request:?}");
        }
        // In a decoded path (no query) `?` and `#` are the segment's.
        for path in [format!("/(S({id}))?x/page"), format!("/(S({id}))#")] {
            assert_eq!(extract_path("/", &path), None, "{path:?}");
        }
        assert_eq!(
            extract_path("/", &format!("/(S({id}))/a?b")),
            Some((id, "/a?b".to_owned()))
        );
    }

    #[test]
    fn extract_never_panics() {
        let id = id();
        let long = format!("/(S({id})){}", "/é".repeat(10_000));
        assert_eq!(extract("/", &long).unwrap().1.len(), long.len() - 28);
        for app in ["/", "/é", "/a", "/\u{10FFFF}", "", "é", "/a/"] {
            for request in [
                "/",
                "/é",
                "/\u{10FFFF}",
                "/a\u{FEFF}",
                "/é/(S(",
                "/a/(S(\u{10FFFF}))",
                "\u{1F600}",
                "/(S(\u{1F600}\u{1F600}\u{1F600}\u{1F600}\u{1F600}xx))",
            ] {
                let _ = extract(app, request);
                let _ = rewrite(app, &id, request);
            }
        }
    }

    #[test]
    fn rewrite_inserts_after_the_application() {
        let id = id();
        let m = format!("(S({id}))");
        for (app, url, expected) in [
            ("/", "/", format!("/{m}/")),
            ("/", "/page.asp", format!("/{m}/page.asp")),
            ("/", "/a/b?x=1#f", format!("/{m}/a/b?x=1#f")),
            ("/", "/?x=1", format!("/{m}/?x=1")),
            (
                "/search",
                "/search/page?x=1",
                format!("/search/{m}/page?x=1"),
            ),
            ("/search/", "/search/page", format!("/search/{m}/page")),
            ("/search", "/Search/page", format!("/Search/{m}/page")),
            ("/search", "/search", format!("/search/{m}/")),
            ("/search", "/search/", format!("/search/{m}/")),
            ("/search", "/search?x", format!("/search/{m}/?x")),
            ("/search", "/search#top", format!("/search/{m}/#top")),
            (
                "/search",
                "/search/a/(S(x))/b",
                format!("/search/{m}/a/(S(x))/b"),
            ),
        ] {
            assert_eq!(rewrite(app, &id, url), expected, "{app:?} {url:?}");
            // What is inserted is extracted again.
            let (got, _) = extract(app, &expected).unwrap();
            assert_eq!(got, id);
        }
    }

    #[test]
    fn rewrite_and_remove_read_percent_encoded_links() {
        let id = id();
        let m = format!("(S({id}))");
        for (app, url, expected) in [
            ("/café", "/caf%C3%A9/x", format!("/caf%C3%A9/{m}/x")),
            ("/café", "/CAF%c3%a9", format!("/CAF%c3%a9/{m}/")),
            ("/a b", "/a%20b/(S(old))/x", format!("/a%20b/{m}/x")),
            ("/search", "/%73earch/p", format!("/%73earch/{m}/p")),
            ("/a/b", "/a%2Fb/x", "/a%2Fb/x".to_owned()),
            ("/search", "/search%2Fp", "/search%2Fp".to_owned()),
            ("/search", "/search%2", "/search%2".to_owned()),
            ("/search", "/%", "/%".to_owned()),
        ] {
            assert_eq!(rewrite(app, &id, url), expected, "{app:?} {url:?}");
        }
        assert_eq!(remove("/café", "/caf%C3%A9/(S(x))/p"), "/caf%C3%A9/p");
        // A request path is decoded already: not decoded twice.
        assert_eq!(extract("/a%41", &format!("/a%41/{m}/x")).unwrap().0, id);
        assert_eq!(extract("/aA", &format!("/a%41/{m}/x")), None);
    }

    #[test]
    fn encoded_slashes_without_dot_segments_are_plain() {
        for url in [
            "/a%2Fb",
            "/a%5cb/c",
            "/a..%2Fb",
            "/a/b..c%2F?x=/../",
            "/%2F",
        ] {
            assert!(is_plain_path(url), "{url}");
        }
    }

    #[test]
    fn rewrite_replaces_an_existing_marker() {
        let old = id();
        let new = id();
        for (app, url, expected) in [
            (
                "/",
                format!("/(S({old}))/page"),
                format!("/(S({new}))/page"),
            ),
            ("/", format!("/(S({old}))"), format!("/(S({new}))/")),
            ("/", format!("/(S({old}))?x"), format!("/(S({new}))/?x")),
            ("/", "/(S(junk))/page".into(), format!("/(S({new}))/page")),
            ("/", "/(S())/page".into(), format!("/(S({new}))/page")),
            (
                "/search",
                format!("/search/(S({old}))/p?q=(S(x))"),
                format!("/search/(S({new}))/p?q=(S(x))"),
            ),
        ] {
            assert_eq!(rewrite(app, &new, &url), expected, "{url:?}");
        }
        // Idempotent.
        let once = rewrite("/search", &new, "/search/page");
        assert_eq!(rewrite("/search", &new, &once), once);
    }

    #[test]
    fn rewrite_leaves_other_urls_alone() {
        let id = id();
        for (app, url) in [
            ("/", ""),
            ("/", "page.asp"),
            ("/", "../x"),
            ("/", "?q=1"),
            ("/", "#frag"),
            ("/", "//evil.example/x"),
            ("/", "/\\evil.example/x"),
            ("/", "/a/../b"),
            ("/", "/a/%2E%2e/b"),
            ("/", "/./b?x"),
            ("/", "/a\tb"),
            ("/", "/a b"),
            ("/search", "/search/.%2e/x#y"),
            // A server decodes `%2F` and `%5C` (IIS: a `\` is a `/`) before
            // it resolves `..`: `/shop/..%2Fadmin` is `/admin`, which the
            // marker's segment would turn into `/shop/admin`.
            ("/shop", "/shop/..%2Fadmin/x"),
            ("/shop", "/shop/%2e%2e%2fadmin/x"),
            ("/shop", "/shop/x/..%5C..%5Cadmin"),
            ("/shop", "/shop/.%2f"),
            ("/", "https://example.com/"),
            ("/", "HTTP://example.com/search/x"),
            ("/", "javascript:alert(1)"),
            ("/", "mailto:a@b.c"),
            ("/search", "/"),
            ("/search", "/other/page"),
            ("/search", "/searchx/page"),
            ("/search", "/searc"),
            ("/search", "https://example.com/search/page"),
            ("/search", "?/search/x"),
            ("search", "/search/x"),
            ("", "/x"),
        ] {
            assert_eq!(rewrite(app, &id, url), url, "{app:?} {url:?}");
        }
    }

    #[test]
    fn resolve_again_after_extracting() {
        use crate::web::AppPaths;
        let mut apps = AppPaths::new();
        apps.add("/", "root").unwrap();
        apps.add("/search", "search").unwrap();
        let id = id();
        let check = |request: &str| {
            let (app, _) = apps.resolve(request)?;
            let (got, rest) = extract(app, request)?;
            // The ID counts only if the stripped path stays in the same application.
            (apps.resolve(&rest)?.0 == app).then_some((got, rest))
        };
        let good = rewrite("/search", &id, "/search/page");
        assert_eq!(check(&good), Some((id, "/search/page".to_string())));
        assert_eq!(check(&format!("/(S({id}))/search/page")), None);
        assert_eq!(
            check(&format!("/(S({id}))/x")),
            Some((id, "/x".to_string()))
        );
    }
}
