//! Which application a request belongs to, by virtual path.
//!
//! Seed 004's nested applications: a request for `/search/contrib/x` belongs
//! to the `/search` application unless `/search/contrib` is an application of
//! its own. The longest application path that is a whole-segment prefix of
//! the request's path wins; paths compare ASCII case-insensitively, as IIS
//! compares them.

use crate::error::{self, Error, Result};

/// Applications by virtual path, for finding the one a request belongs to.
///
/// Meant for a handful of applications: resolving is a scan of a list kept
/// with the deepest paths first.
#[derive(Clone, Debug)]
pub struct AppPaths<T> {
    /// Deepest (most segments) first, so the first match is the longest.
    apps: Vec<Entry<T>>,
}

#[derive(Clone, Debug)]
struct Entry<T> {
    /// Normalised: `/` or `/seg/seg`.
    path: String,
    /// Number of segments in `path` (0 for the root).
    depth: usize,
    app: T,
}

impl<T> Default for AppPaths<T> {
    fn default() -> Self {
        AppPaths { apps: Vec::new() }
    }
}

impl<T> AppPaths<T> {
    /// No applications.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `app` at `virtual_path`, normalised by [`normalize_virtual_path`]
    /// (`search/` becomes `/search`). A malformed path, or one already added
    /// in any letter case, is `E_INVALID_OPTION`.
    pub fn add(&mut self, virtual_path: &str, app: T) -> Result<()> {
        let path = normalize_virtual_path(virtual_path)?;
        if let Some(e) = self
            .apps
            .iter()
            .find(|e| e.path.eq_ignore_ascii_case(&path))
        {
            return Err(Error::new(
                error::E_INVALID_OPTION,
                format!(
                    "application path {path:?} is already added (as {:?})",
                    e.path
                ),
            ));
        }
        let depth = segments(&path).count();
        let at = self.apps.partition_point(|e| e.depth >= depth);
        self.apps.insert(at, Entry { path, depth, app });
        Ok(())
    }

    /// The application a request for `request_path` belongs to: its
    /// normalised virtual path and the value added with it; `None` when no
    /// application's path is a prefix (or the path does not begin with `/`).
    ///
    /// Matching is by whole segments (`/searchx` is not in `/search`), ASCII
    /// case-insensitive (`/Search/x` is in `/search`). A query string or
    /// fragment is ignored. Empty segments and `.` segments are skipped and
    /// `..` removes the segment before it (never going above the root), so
    /// `/search/../admin` is resolved as `/admin`, the resource a server
    /// serves for it.
    ///
    /// Percent-decoding is the caller's job: pass the decoded path (as the
    /// server maps it to a resource), or `%2E%2E` and `/%73earch` will not be
    /// seen as `..` and `/search`; and pass it to [`AppPaths::resolve_path`],
    /// since a decoded `%3F` or `%23` is no query or fragment.
    pub fn resolve(&self, request_path: &str) -> Option<(&str, &T)> {
        let end = request_path.find(['?', '#']).unwrap_or(request_path.len());
        self.resolve_path(request_path.get(..end)?)
    }

    /// [`AppPaths::resolve`] for a decoded path without its query string,
    /// as a server passes it: a `?` or `#` in it is the path's own
    /// (`/search?/x`, from `/search%3F/x`, is not in `/search`).
    pub fn resolve_path(&self, path: &str) -> Option<(&str, &T)> {
        if !path.starts_with('/') {
            return None;
        }
        let mut request: Vec<&str> = Vec::new();
        for seg in path.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    request.pop();
                }
                seg => request.push(seg),
            }
        }
        self.apps
            .iter()
            .find(|e| {
                e.depth <= request.len()
                    && segments(&e.path)
                        .zip(&request)
                        .all(|(a, r)| a.eq_ignore_ascii_case(r))
            })
            .map(|e| (e.path.as_str(), &e.app))
    }

    /// The value added at exactly `virtual_path` (normalised, any letter
    /// case); `None` if there is none or the path is malformed.
    pub fn get(&self, virtual_path: &str) -> Option<&T> {
        let path = normalize_virtual_path(virtual_path).ok()?;
        self.apps
            .iter()
            .find(|e| e.path.eq_ignore_ascii_case(&path))
            .map(|e| &e.app)
    }

    /// The applications, as (normalised virtual path, value), deepest first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.apps.iter().map(|e| (e.path.as_str(), &e.app))
    }

    /// The values, to change in place, with their normalised paths.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut T)> {
        self.apps.iter_mut().map(|e| (e.path.as_str(), &mut e.app))
    }

    /// How many applications there are.
    pub fn len(&self) -> usize {
        self.apps.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }
}

/// An application's virtual path in its one normal form: `/` for the root,
/// otherwise `/seg/seg` (a missing leading `/` is added, one trailing `/`
/// removed). Empty paths, empty segments (`/a//b`), `.` and `..` segments,
/// and `?`, `#`, `\` or control characters (including NUL) are
/// `E_INVALID_OPTION`. Other characters, non-ASCII included, are kept as
/// they are (the decoded form; not percent-encoded).
pub fn normalize_virtual_path(virtual_path: &str) -> Result<String> {
    let bad = |why: &str| {
        Err(Error::new(
            error::E_INVALID_OPTION,
            format!("application path {virtual_path:?} {why}"),
        ))
    };
    if virtual_path.is_empty() {
        return bad("is empty (the root application is \"/\")");
    }
    if virtual_path
        .chars()
        .any(|c| c.is_control() || matches!(c, '?' | '#' | '\\'))
    {
        return bad("contains '?', '#', '\\' or a control character");
    }
    if virtual_path == "/" {
        return Ok("/".to_string());
    }
    let body = virtual_path.strip_prefix('/').unwrap_or(virtual_path);
    let body = body.strip_suffix('/').unwrap_or(body);
    for seg in body.split('/') {
        match seg {
            "" => return bad("has an empty segment"),
            "." | ".." => return bad("has a '.' or '..' segment"),
            s if s.starts_with(super::cookieless::MARKER_START) => {
                return bad("has a segment that looks like a cookieless ID marker \"(S(\"")
            }
            _ => {}
        }
    }
    Ok(format!("/{body}"))
}

/// The segments of a normalised path (none for the root).
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Whether the normalised application path `inner` lies under `outer` (a
/// deeper application's: whole segments, ASCII case-insensitive; not
/// `outer` itself).
pub fn is_under(inner: &str, outer: &str) -> bool {
    segments(inner).count() > segments(outer).count()
        && segments(outer)
            .zip(segments(inner))
            .all(|(o, i)| o.eq_ignore_ascii_case(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apps(paths: &[&str]) -> AppPaths<usize> {
        let mut a = AppPaths::new();
        for (i, p) in paths.iter().enumerate() {
            a.add(p, i).unwrap();
        }
        a
    }

    fn app_of<'a>(a: &'a AppPaths<usize>, request: &str) -> Option<&'a str> {
        a.resolve(request).map(|(p, _)| p)
    }

    #[test]
    fn deeper_paths_are_whole_segments_below() {
        assert!(is_under("/search", "/"));
        assert!(is_under("/Search/Contrib", "/search"));
        assert!(!is_under("/search", "/search"));
        assert!(!is_under("/searchx/a", "/search"));
        assert!(!is_under("/", "/search"));
        assert!(!is_under("/other/x", "/search"));
    }

    #[test]
    fn a_path_that_looks_like_a_cookieless_marker_is_refused() {
        for p in ["/(S(x))", "/shop/(S(abc))", "(S(", "/a/(S(x))/b"] {
            assert_eq!(
                normalize_virtual_path(p).unwrap_err().code(),
                error::E_INVALID_OPTION,
                "{p}"
            );
        }
        assert_eq!(normalize_virtual_path("/(s)").unwrap(), "/(s)");
    }

    #[test]
    fn normal_forms() {
        for (given, normal) in [
            ("/", "/"),
            ("/search", "/search"),
            ("/search/", "/search"),
            ("search", "/search"),
            ("search/", "/search"),
            ("/Search/Contrib", "/Search/Contrib"),
            ("/my app/x", "/my app/x"),
            ("/café", "/café"),
            ("/a.b/..c/.d", "/a.b/..c/.d"),
        ] {
            assert_eq!(normalize_virtual_path(given).unwrap(), normal, "{given:?}");
        }
        for bad in [
            "",
            "//",
            "///",
            "/a//b",
            "//a",
            "/a//",
            "/./a",
            "/a/.",
            "/a/../b",
            "..",
            "/a?b",
            "/a#b",
            "/a\\b",
            "/a\0b",
            "/a\r\nb",
            "/a\tb",
            "/a\x7fb",
            "/a\u{85}b",
        ] {
            assert_eq!(
                normalize_virtual_path(bad).unwrap_err().code(),
                error::E_INVALID_OPTION,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn duplicates_in_any_case_are_rejected() {
        let mut a = apps(&["/", "/search"]);
        for dup in ["/", "/search", "/SEARCH", "search/", "/Search/"] {
            let e = a.add(dup, 9).unwrap_err();
            assert_eq!(e.code(), error::E_INVALID_OPTION, "{dup:?}");
        }
        assert_eq!(
            a.add("/a//b", 9).unwrap_err().code(),
            error::E_INVALID_OPTION
        );
        assert_eq!(a.len(), 2);
        assert_eq!(a.get("/SEARCH/"), Some(&1));
        assert_eq!(a.get("/"), Some(&0));
        assert_eq!(a.get("/other"), None);
        assert_eq!(a.get("/a//b"), None);
    }

    #[test]
    fn nested_applications() {
        // Seed 004: /contrib under /search stays in /search unless it is an
        // application itself.
        let a = apps(&["/search"]);
        assert_eq!(
            app_of(&a, "/search/contrib/ContribMain.asp"),
            Some("/search")
        );
        let a = apps(&["/search", "/search/contrib"]);
        assert_eq!(
            app_of(&a, "/search/contrib/ContribMain.asp"),
            Some("/search/contrib")
        );
        assert_eq!(app_of(&a, "/search/SearchStart.asp"), Some("/search"));
        assert_eq!(app_of(&a, "/search/contribx/x"), Some("/search"));
        assert_eq!(app_of(&a, "/other"), None);
        // The order of adding does not matter.
        let b = apps(&["/search/contrib", "/", "/search", "/search/contrib/deep"]);
        for (request, app) in [
            ("/search/contrib/deep/x", "/search/contrib/deep"),
            ("/search/contrib/deeper", "/search/contrib"),
            ("/search/contrib", "/search/contrib"),
            ("/search/contrib/", "/search/contrib"),
            ("/search", "/search"),
            ("/search/", "/search"),
            ("/searchx", "/"),
            ("/", "/"),
            ("/x/search/contrib", "/"),
        ] {
            assert_eq!(app_of(&b, request), Some(app), "{request:?}");
        }
        let depths: Vec<&str> = b.iter().map(|(p, _)| p).collect();
        assert_eq!(
            depths,
            ["/search/contrib/deep", "/search/contrib", "/search", "/"]
        );
    }

    #[test]
    fn root_application_takes_everything_else() {
        let a = apps(&["/", "/search"]);
        assert_eq!(app_of(&a, "/"), Some("/"));
        assert_eq!(app_of(&a, "/index.asp"), Some("/"));
        assert_eq!(app_of(&a, "/searching"), Some("/"));
        assert_eq!(app_of(&a, "/search"), Some("/search"));
        let (path, &n) = a.resolve("/x").unwrap();
        assert_eq!((path, n), ("/", 0));
        // Not a path at all.
        for request in ["", "*", "search/x", "http://host/search", "?/search", "#/"] {
            assert_eq!(app_of(&a, request), None, "{request:?}");
        }
        assert_eq!(app_of(&AppPaths::new(), "/"), None);
    }

    #[test]
    fn case_query_fragment_and_boundaries() {
        let a = apps(&["/Search"]);
        for request in [
            "/search",
            "/SEARCH/x",
            "/sEaRcH/",
            "/search?x=1",
            "/search#top",
            "/search/?a=/b",
            "/search?/other",
        ] {
            assert_eq!(app_of(&a, request), Some("/Search"), "{request:?}");
        }
        for request in [
            "/searchx",
            "/searc",
            "/sear/ch",
            "/x?/search",
            "/x#/search",
            "/séarch",
        ] {
            assert_eq!(app_of(&a, request), None, "{request:?}");
        }
        // A decoded path has no query: its `?` and `#` are the segment's.
        let root = apps(&["/", "/search"]);
        for path in ["/search?x=1", "/search#top", "/search?/x"] {
            assert_eq!(
                root.resolve_path(path).map(|(p, _)| p),
                Some("/"),
                "{path:?}"
            );
        }
        assert_eq!(
            root.resolve_path("/search/a?b").map(|(p, _)| p),
            Some("/search")
        );
        // ASCII case only: no Unicode folding.
        let u = apps(&["/café"]);
        assert_eq!(app_of(&u, "/CAFé/x"), Some("/café"));
        assert_eq!(app_of(&u, "/CAFÉ/x"), None);
    }

    #[test]
    fn dot_and_empty_segments_resolve_like_the_server() {
        let a = apps(&["/", "/search", "/admin"]);
        for (request, app) in [
            ("/search/../admin/x", "/admin"),
            ("/admin/../search", "/search"),
            ("/search/./x", "/search"),
            ("/./search", "/search"),
            ("//search/x", "/search"),
            ("/search//x", "/search"),
            ("/../../search", "/search"),
            ("/search/..", "/"),
            ("/search/%2e%2e/admin", "/search"),
            ("/search/.../x", "/search"),
        ] {
            assert_eq!(app_of(&a, request), Some(app), "{request:?}");
        }
    }

    #[test]
    fn adversarial_requests_never_panic() {
        let a = apps(&["/", "/a", "/a/b", "/é"]);
        let long = "/a".repeat(10_000);
        let dots = "/..".repeat(10_000);
        for request in [
            long.as_str(),
            dots.as_str(),
            "/\0",
            "/a\r\n/b",
            "/é/\u{10FFFF}",
            "/\u{FEFF}a",
            "////////",
            "/a/b?",
            "/a/b#",
            "?",
            "#",
            "/%",
        ] {
            let _ = a.resolve(request);
        }
        assert_eq!(app_of(&a, &long), Some("/a"));
        assert_eq!(app_of(&a, "/a/b/a/b"), Some("/a/b"));
        assert_eq!(app_of(&a, &dots), Some("/"));
        assert_eq!(app_of(&a, "/É"), Some("/"));
    }
}
