//! The session cookie: options, reading the ID from a `Cookie` request header,
//! and writing the `Set-Cookie` values that set and clear it.
//!
//! Everything here is pure text processing. Options are checked once by
//! [`CookieOptions::validate`], which admits only names and attribute values
//! that cannot break out of their place in a `Set-Cookie` header, so nothing
//! can be injected through them. The ID written is always the 22 base64url
//! characters of a [`SessionId`]; IDs read back are accepted only if
//! [`SessionId::parse`] accepts them.

use crate::error::{self, Error, Result};
use crate::state::SessionId;

/// The prefix [`CookieOptions::host_prefix`] adds to the name.
pub const HOST_PREFIX: &str = "__Host-";

/// Longest attribute value (Path, Domain) browsers accept (RFC 6265bis: 1024).
pub const MAX_ATTRIBUTE_LEN: usize = 1024;

/// Longest cookie name accepted, counting the `__Host-` prefix
/// [`CookieOptions::host_prefix`] adds: name and value together may be at
/// most 4096 bytes (RFC 6265bis), and the value is a 22-character ID.
pub const MAX_NAME_LEN: usize = 4096 - crate::state::ID_LEN;

/// Largest `Max-Age`: 400 days, the cap RFC 6265bis tells browsers to apply.
pub const MAX_AGE_LIMIT_SECONDS: u32 = 400 * 24 * 60 * 60;

/// The `Expires` date that, with `Max-Age=0`, deletes a cookie.
const EPOCH_EXPIRES: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// When the cookie carries the `Secure` attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Secure {
    /// Only on responses to HTTPS requests (default).
    #[default]
    Auto,
    /// Always (use this behind a TLS-terminating proxy).
    Always,
    /// Never (plain-HTTP development only).
    Never,
}

/// The cookie's `SameSite` attribute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SameSite {
    /// `SameSite=Lax` (default): sent on top-level navigations from other sites.
    #[default]
    Lax,
    /// `SameSite=Strict`: never sent on requests started by other sites.
    Strict,
    /// `SameSite=None`: sent on all cross-site requests; browsers require
    /// `Secure` with it, so [`Secure::Never`] is rejected (and with
    /// [`Secure::Auto`] the cookie is refused on plain HTTP).
    None,
    /// No `SameSite` attribute: the browser's own default applies (Lax in
    /// current browsers). For clients that mishandle `SameSite=None`.
    Omit,
}

impl SameSite {
    /// The attribute's value, or `None` for [`SameSite::Omit`].
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            SameSite::Lax => Some("Lax"),
            SameSite::Strict => Some("Strict"),
            SameSite::None => Some("None"),
            SameSite::Omit => None,
        }
    }
}

/// How the session cookie is named and which attributes it carries.
/// `CookieOptions::default()` gives `ASPSESSIONID=<id>; Path=/; HttpOnly;
/// SameSite=Lax`, plus `Secure` on HTTPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieOptions {
    /// The cookie's name, an RFC 6265 token (default `ASPSESSIONID`). Names
    /// beginning `__Host-` or `__Secure-` are rejected: use `host_prefix`.
    pub name: String,
    /// The `Path` attribute (default `/`).
    pub path: String,
    /// When `Secure` is sent (default [`Secure::Auto`]).
    pub secure: Secure,
    /// The `SameSite` attribute (default [`SameSite::Lax`]).
    pub same_site: SameSite,
    /// Prefix the name with `__Host-` (default `false`): browsers then accept
    /// the cookie only with `Secure`, `Path=/` and no `Domain`, so no other
    /// host or path can set or shadow it. Requires `path == "/"`, no
    /// `domain` and `secure != Never` (with `Auto`, browsers refuse the
    /// cookie on plain HTTP: no session there, rather than a weak one).
    /// Without it, a cookie of the same name that a sibling subdomain or a
    /// plain-HTTP page planted may come first in the request and name a
    /// session of the planter's: recommended wherever the site is
    /// HTTPS-only.
    pub host_prefix: bool,
    /// The `Domain` attribute (default `None`: only the host that set it).
    /// Not an IP address nor a public suffix (`com`, `co.uk`,
    /// `github.io`): browsers refuse such cookies.
    pub domain: Option<String>,
    /// The `Max-Age` attribute, seconds (default `None`: a browser-session
    /// cookie, gone when the browser closes). 1 ..= 400 days. The value
    /// stays the ID; every response to a request that renews a session
    /// gives its cookie again ([`Request::end`](super::Request::end)).
    pub max_age_seconds: Option<u32>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            name: "ASPSESSIONID".to_string(),
            path: "/".to_string(),
            secure: Secure::Auto,
            same_site: SameSite::Lax,
            host_prefix: false,
            domain: None,
            max_age_seconds: None,
        }
    }
}

impl CookieOptions {
    /// Checks every field; the first bad one is `E_INVALID_OPTION` with a
    /// detail naming it. Options that pass cannot inject text into a
    /// `Set-Cookie` header.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::new(error::E_INVALID_OPTION, what));
        if !is_token(&self.name) {
            return bad(format!(
                "cookie name {:?} must be a non-empty RFC 6265 token \
                 (no spaces, controls or separators like ;,=\")",
                self.name
            ));
        }
        if self.cookie_name().len() > MAX_NAME_LEN {
            return bad(format!(
                "cookie name must be at most {MAX_NAME_LEN} bytes \
                 (with the __Host- prefix, when host_prefix adds it)"
            ));
        }
        if has_reserved_prefix(&self.name) {
            return bad(format!(
                "cookie name {:?} must not begin with __Host- or __Secure- \
                 (set host_prefix instead)",
                self.name
            ));
        }
        if !is_valid_path(&self.path) {
            return bad(format!(
                "cookie path {:?} must begin with '/' and hold only visible ASCII \
                 without ';' (percent-encode the rest), at most {MAX_ATTRIBUTE_LEN} bytes",
                self.path
            ));
        }
        if let Some(domain) = &self.domain {
            if !is_valid_domain(domain) {
                return bad(format!(
                    "cookie domain {domain:?} must be a host name: dot-separated labels \
                     of letters, digits and inner '-' (no leading or trailing dot)"
                ));
            }
            if let Some(why) = unusable_domain(domain) {
                return bad(format!("cookie domain {domain:?} {why}"));
            }
        }
        if self.host_prefix {
            if self.path != "/" {
                return bad("cookie host_prefix requires path \"/\"".to_string());
            }
            if self.domain.is_some() {
                return bad("cookie host_prefix requires no domain".to_string());
            }
            if self.secure == Secure::Never {
                return bad("cookie host_prefix requires secure Auto or Always".to_string());
            }
        }
        if self.same_site == SameSite::None && self.secure == Secure::Never {
            return bad("cookie same_site None requires secure Auto or Always".to_string());
        }
        if let Some(age) = self.max_age_seconds {
            if age == 0 || age > MAX_AGE_LIMIT_SECONDS {
                return bad(format!(
                    "cookie max_age_seconds must be 1..={MAX_AGE_LIMIT_SECONDS} (400 days)"
                ));
            }
        }
        Ok(())
    }

    /// The name the cookie is sent and looked up under: `name`, with
    /// `__Host-` in front when `host_prefix` is set.
    pub fn cookie_name(&self) -> String {
        if self.host_prefix {
            format!("{HOST_PREFIX}{}", self.name)
        } else {
            self.name.clone()
        }
    }

    /// Whether a response to a request over HTTPS (`https`) or not carries
    /// `Secure`.
    pub fn is_secure(&self, https: bool) -> bool {
        match self.secure {
            Secure::Always => true,
            Secure::Never => false,
            Secure::Auto => https,
        }
    }

    /// Whether `name` (bytes of a request cookie's name) is this cookie's name.
    fn name_matches(&self, name: &[u8]) -> bool {
        if self.host_prefix {
            name.strip_prefix(HOST_PREFIX.as_bytes()) == Some(self.name.as_bytes())
        } else {
            name == self.name.as_bytes()
        }
    }
}

/// Most IDs [`find_session_ids_bytes`] collects from one header.
pub const MAX_PRESENTED_IDS: usize = 8;

/// The session ID in a `Cookie` request header: the first value under our
/// name (compared exactly, case-sensitively) that is a well-formed
/// [`SessionId`]. Values that are not (another application's cookie of the
/// same name, junk, a tampered ID) are skipped, not fatal.
///
/// Tolerates what real headers hold: spaces or tabs around pairs, names and
/// values; double-quoted values; empty values; pairs without `=`; repeated
/// names; text that is not ASCII. Never panics. A request may carry several
/// `Cookie` fields: pass them joined with `"; "` (RFC 9113 §8.2.3) or with
/// `", "` (as Apache httpd and other servers join repeated headers). Pairs
/// split at `;` are searched first; then, after the IDs those hold, pairs
/// split at `,` as well (which no session ID, and no RFC 6265 cookie value,
/// contains). So an ID smuggled after a comma inside another cookie's value
/// (`pref=x,ASPSESSIONID=…`, where a site echoes input into a cookie) comes
/// after every ID of the client's own cookies and never wins over a live
/// one, while the live ID of a second joined header
/// (`ASPSESSIONID=<stale>; x=1, ASPSESSIONID=<live>`) is still offered.
pub fn find_session_id(cookie_header: &str, opts: &CookieOptions) -> Option<SessionId> {
    find_session_id_bytes(cookie_header.as_bytes(), opts)
}

/// [`find_session_id`] for a header as raw bytes: bytes that are not UTF-8
/// (another cookie's Latin-1 value, say) make only their own pair unusable.
pub fn find_session_id_bytes(cookie_header: &[u8], opts: &CookieOptions) -> Option<SessionId> {
    find_session_ids_bytes(cookie_header, opts)
        .into_iter()
        .next()
}

/// Every well-formed ID under our name, in the order the header gives them,
/// each once, at most [`MAX_PRESENTED_IDS`]; the first is
/// [`find_session_id_bytes`]'s, and the same rules apply (the IDs of pairs
/// split at `;` first, then those found only when `,` splits too). A
/// client may hold several
/// cookies of one name (other paths, an older one a browser sends first):
/// the caller takes the first its store holds.
pub fn find_session_ids_bytes(cookie_header: &[u8], opts: &CookieOptions) -> Vec<SessionId> {
    let mut ids = Vec::new();
    ids_in_pairs(cookie_header, |b| b == b';', opts, &mut ids);
    ids_in_pairs(cookie_header, |b| b == b';' || b == b',', opts, &mut ids);
    ids
}

/// Adds to `ids` the well-formed IDs under our name in the pairs `at`
/// delimits that it does not hold yet, up to [`MAX_PRESENTED_IDS`] in all.
fn ids_in_pairs(
    cookie_header: &[u8],
    at: impl Fn(u8) -> bool,
    opts: &CookieOptions,
    ids: &mut Vec<SessionId>,
) {
    for pair in cookie_header.split(|&b| at(b)) {
        if ids.len() == MAX_PRESENTED_IDS {
            break;
        }
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (name, value) = (trim_ows(&pair[..eq]), trim_ows(&pair[eq + 1..]));
        if !opts.name_matches(name) {
            continue;
        }
        let value = match value {
            [b'"', inner @ .., b'"'] => inner,
            v => v,
        };
        let id = std::str::from_utf8(value)
            .ok()
            .and_then(|v| SessionId::parse(v).ok());
        if let Some(id) = id.filter(|id| !ids.contains(id)) {
            ids.push(id);
        }
    }
}

/// The `Set-Cookie` header value that gives the client `id`, e.g.
/// `ASPSESSIONID=<id>; Path=/; HttpOnly; SameSite=Lax`. `https`: whether
/// the request came over HTTPS (for [`Secure::Auto`]).
///
/// Attributes, in this order when present: `Path`, `Domain`, `Max-Age`,
/// `Secure`, `HttpOnly` (always), `SameSite`. `opts` must have passed
/// [`CookieOptions::validate`]; its fields are written as they are.
pub fn set_cookie(opts: &CookieOptions, id: &SessionId, https: bool) -> String {
    build(opts, id.encode().as_str(), https, false)
}

/// The `Set-Cookie` header value that deletes the cookie: an empty value with
/// the same `Path`, `Domain`, `Secure` and `SameSite` as [`set_cookie`]
/// writes, `Max-Age=0` and an `Expires` in 1970.
pub fn clear_cookie(opts: &CookieOptions, https: bool) -> String {
    build(opts, "", https, true)
}

fn build(opts: &CookieOptions, value: &str, https: bool, clear: bool) -> String {
    let mut out = String::with_capacity(96 + opts.name.len() + opts.path.len());
    if opts.host_prefix {
        out.push_str(HOST_PREFIX);
    }
    out.push_str(&opts.name);
    out.push('=');
    out.push_str(value);
    out.push_str("; Path=");
    out.push_str(&opts.path);
    if let Some(domain) = &opts.domain {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
    if clear {
        out.push_str("; Max-Age=0; Expires=");
        out.push_str(EPOCH_EXPIRES);
    } else if let Some(age) = opts.max_age_seconds {
        out.push_str("; Max-Age=");
        out.push_str(&age.to_string());
    }
    if opts.is_secure(https) {
        out.push_str("; Secure");
    }
    out.push_str("; HttpOnly");
    if let Some(same_site) = opts.same_site.as_str() {
        out.push_str("; SameSite=");
        out.push_str(same_site);
    }
    out
}

/// Optional whitespace (space, tab) removed from both ends.
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// RFC 6265 / RFC 2616 token: one or more US-ASCII characters that are
/// neither controls nor separators.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

/// `__Host-` and `__Secure-` (case-insensitively, as browsers compare them)
/// are reserved for `host_prefix`.
fn has_reserved_prefix(name: &str) -> bool {
    ["__Host-", "__Secure-"].iter().any(|p| {
        name.as_bytes()
            .get(..p.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(p.as_bytes()))
    })
}

/// A cookie `Path`: `/` then visible ASCII other than `;`.
fn is_valid_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= MAX_ATTRIBUTE_LEN
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b';')
}

/// A host name: labels of 1..=63 letters, digits and inner hyphens, joined by
/// single dots, at most 253 bytes in all.
fn is_valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Why browsers would drop a cookie with `Domain=domain` (a host name
/// [`is_valid_domain`] accepts) on every host but `domain` itself, where
/// leaving the domain out does the same; `None` if they keep it.
///
/// An IP address (a name ending in a number, which browsers parse as
/// IPv4: `127.0.0.1`, `10.1`, `0x7f.1`) has no subdomains. A public
/// suffix (`com`, `co.uk`, `github.io`; any single label, by the list's
/// default rule) is refused by browsers (RFC 6265 §5.3 step 5), or a cookie
/// for it would reach every site under it.
fn unusable_domain(domain: &str) -> Option<&'static str> {
    let domain = domain.to_ascii_lowercase();
    let last = domain.rsplit('.').next().unwrap_or_default();
    let hex = |h: &str| h.bytes().all(|b| b.is_ascii_hexdigit());
    if last.bytes().all(|b| b.is_ascii_digit()) || last.strip_prefix("0x").is_some_and(hex) {
        Some(
            "is an IP address: browsers set such a cookie only for that address, \
             as they do a cookie without a domain (leave domain unset)",
        )
    } else if psl::suffix(domain.as_bytes()).is_some_and(|s| s.as_bytes() == domain.as_bytes()) {
        Some(
            "is a public suffix (on the Public Suffix List, as com, co.uk and \
             github.io are): browsers refuse cookies for it, so no session would \
             stick; use the site's own domain (example.co.uk) or leave domain unset",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> SessionId {
        SessionId::generate().unwrap()
    }

    fn opts() -> CookieOptions {
        CookieOptions::default()
    }

    #[test]
    fn defaults() {
        let o = opts();
        o.validate().unwrap();
        assert_eq!(o.cookie_name(), "ASPSESSIONID");
        assert_eq!(o.path, "/");
        assert_eq!(o.secure, Secure::Auto);
        assert_eq!(o.same_site, SameSite::Lax);
        assert!(!o.host_prefix);
        assert_eq!(o.domain, None);
        assert_eq!(o.max_age_seconds, None);
        assert!(o.is_secure(true));
        assert!(!o.is_secure(false));
    }

    #[test]
    fn bad_options_are_rejected_naming_the_field() {
        type Case = (fn(&mut CookieOptions), &'static str);
        let cases: Vec<Case> = vec![
            (|o| o.name = String::new(), "name"),
            (|o| o.name = "a;b".into(), "name"),
            (|o| o.name = "a=b".into(), "name"),
            (|o| o.name = "a b".into(), "name"),
            (|o| o.name = "a\r\nSet-Cookie: x".into(), "name"),
            (|o| o.name = "a\"b".into(), "name"),
            (|o| o.name = "a,b".into(), "name"),
            (|o| o.name = "a\tb".into(), "name"),
            (|o| o.name = "a\0b".into(), "name"),
            (|o| o.name = "sessión".into(), "name"),
            (|o| o.name = "a/b".into(), "name"),
            (|o| o.name = "x".repeat(MAX_NAME_LEN + 1), "name"),
            (|o| o.name = "__Host-ID".into(), "name"),
            (|o| o.name = "__secure-ID".into(), "name"),
            (|o| o.path = String::new(), "path"),
            (|o| o.path = "app".into(), "path"),
            (|o| o.path = "/; Domain=evil.com".into(), "path"),
            (|o| o.path = "/\r\nSet-Cookie: x=y".into(), "path"),
            (|o| o.path = "/a b".into(), "path"),
            (|o| o.path = "/a\x7f".into(), "path"),
            (|o| o.path = "/é".into(), "path"),
            (
                |o| o.path = format!("/{}", "a".repeat(MAX_ATTRIBUTE_LEN)),
                "path",
            ),
            (|o| o.domain = Some(String::new()), "domain"),
            (|o| o.domain = Some("example.com; Secure".into()), "domain"),
            (|o| o.domain = Some("example.com\r\n".into()), "domain"),
            (|o| o.domain = Some(".example.com".into()), "domain"),
            (|o| o.domain = Some("example.com.".into()), "domain"),
            (|o| o.domain = Some("a..b".into()), "domain"),
            (|o| o.domain = Some("-a.com".into()), "domain"),
            (|o| o.domain = Some("a-.com".into()), "domain"),
            (|o| o.domain = Some("exa_mple.com".into()), "domain"),
            (|o| o.domain = Some("a".repeat(64)), "domain"),
            (|o| o.domain = Some("bücher.de".into()), "domain"),
            (
                |o| {
                    o.host_prefix = true;
                    o.path = "/app".into();
                },
                "host_prefix",
            ),
            (
                |o| {
                    o.host_prefix = true;
                    o.domain = Some("example.com".into());
                },
                "host_prefix",
            ),
            (
                |o| {
                    o.host_prefix = true;
                    o.secure = Secure::Never;
                },
                "host_prefix",
            ),
            (
                |o| {
                    o.same_site = SameSite::None;
                    o.secure = Secure::Never;
                },
                "same_site",
            ),
            (|o| o.max_age_seconds = Some(0), "max_age_seconds"),
            (
                |o| o.max_age_seconds = Some(MAX_AGE_LIMIT_SECONDS + 1),
                "max_age_seconds",
            ),
        ];
        for (i, (f, field)) in cases.into_iter().enumerate() {
            let mut o = opts();
            f(&mut o);
            let e = o.validate().unwrap_err();
            assert_eq!(e.code(), error::E_INVALID_OPTION, "case {i}");
            assert!(e.detail().contains(field), "case {i}: {}", e.detail());
        }
    }

    /// A public suffix or an IP address as the domain would set a cookie
    /// browsers refuse: a configuration error, naming the reason.
    #[test]
    fn public_suffixes_and_ip_addresses_are_no_cookie_domain() {
        let domain = |d: &str| {
            CookieOptions {
                domain: Some(d.into()),
                ..opts()
            }
            .validate()
        };
        for (d, why) in [
            ("com", "public suffix"),
            ("COM", "public suffix"),
            ("co.uk", "public suffix"),
            ("Co.Uk", "public suffix"),
            ("github.io", "public suffix"),
            ("xn--55qx5d.cn", "public suffix"),
            ("localhost", "public suffix"),
            ("127.0.0.1", "IP address"),
            ("10.1", "IP address"),
            ("192.168.0.0x1", "IP address"),
            ("0X7F.1", "IP address"),
        ] {
            let e = domain(d).expect_err(d);
            assert_eq!(e.code(), error::E_INVALID_OPTION, "{d}");
            assert!(e.detail().contains(why), "{d}: {}", e.detail());
            assert!(e.detail().contains("domain"), "{d}: {}", e.detail());
        }
        for d in [
            "example.co.uk",
            "www.example.co.uk",
            "example.com",
            "user.github.io",
            "intranet.corp",
            "host1.example",
            "1x.example.com",
        ] {
            domain(d).unwrap_or_else(|e| panic!("{d}: {e}"));
        }
    }

    /// Name and value together must fit browsers' 4096 bytes, and the
    /// `__Host-` prefix is part of the name they count.
    #[test]
    fn the_host_prefix_counts_towards_the_name_limit() {
        let longest = CookieOptions {
            name: "x".repeat(MAX_NAME_LEN - HOST_PREFIX.len()),
            host_prefix: true,
            ..opts()
        };
        longest.validate().unwrap();
        let id = id();
        assert_eq!(
            set_cookie(&longest, &id, true)
                .split(';')
                .next()
                .unwrap()
                .len(),
            4096 + 1
        );
        let over = CookieOptions {
            name: "x".repeat(MAX_NAME_LEN),
            ..longest
        };
        let e = over.validate().unwrap_err();
        assert_eq!(e.code(), error::E_INVALID_OPTION);
        assert!(e.detail().contains("name"), "{}", e.detail());
    }

    #[test]
    fn good_options_are_accepted() {
        type Case = fn(&mut CookieOptions);
        let cases: Vec<Case> = vec![
            |o| o.name = "ASP.NET_SessionId".into(),
            |o| o.name = "sid!#$%&'*+-.^_`|~09".into(),
            |o| o.name = "_Host-x".into(),
            |o| o.path = "/search/(S)/~user%20x".into(),
            |o| o.domain = Some("example.com".into()),
            |o| o.domain = Some("a-b.c0.example".into()),
            |o| o.domain = Some("example.co.uk".into()),
            |o| o.domain = Some(format!("{}.com", "a".repeat(63))),
            |o| {
                o.host_prefix = true;
                o.secure = Secure::Always;
            },
            |o| o.host_prefix = true,
            |o| o.same_site = SameSite::None,
            |o| {
                o.same_site = SameSite::None;
                o.secure = Secure::Always;
            },
            |o| o.same_site = SameSite::Strict,
            |o| {
                o.same_site = SameSite::Omit;
                o.secure = Secure::Never;
            },
            |o| o.max_age_seconds = Some(1),
            |o| o.max_age_seconds = Some(MAX_AGE_LIMIT_SECONDS),
        ];
        for (i, f) in cases.into_iter().enumerate() {
            let mut o = opts();
            f(&mut o);
            o.validate().unwrap_or_else(|e| panic!("case {i}: {e}"));
        }
    }

    #[test]
    fn set_cookie_default_and_secure() {
        let id = id();
        let o = opts();
        assert_eq!(
            set_cookie(&o, &id, false),
            format!("ASPSESSIONID={id}; Path=/; HttpOnly; SameSite=Lax")
        );
        assert_eq!(
            set_cookie(&o, &id, true),
            format!("ASPSESSIONID={id}; Path=/; Secure; HttpOnly; SameSite=Lax")
        );
        let always = CookieOptions {
            secure: Secure::Always,
            ..opts()
        };
        assert!(set_cookie(&always, &id, false).contains("; Secure;"));
        let never = CookieOptions {
            secure: Secure::Never,
            ..opts()
        };
        assert!(!set_cookie(&never, &id, true).contains("Secure"));
    }

    #[test]
    fn set_cookie_all_attributes() {
        let id = id();
        let o = CookieOptions {
            name: "sid".into(),
            path: "/search".into(),
            secure: Secure::Always,
            same_site: SameSite::Strict,
            host_prefix: false,
            domain: Some("example.com".into()),
            max_age_seconds: Some(3600),
        };
        o.validate().unwrap();
        assert_eq!(
            set_cookie(&o, &id, false),
            format!(
                "sid={id}; Path=/search; Domain=example.com; Max-Age=3600; Secure; \
                 HttpOnly; SameSite=Strict"
            )
        );
        let omit = CookieOptions {
            same_site: SameSite::Omit,
            ..o.clone()
        };
        assert!(set_cookie(&omit, &id, true).ends_with("; HttpOnly"));
        let none = CookieOptions {
            same_site: SameSite::None,
            ..o
        };
        assert!(set_cookie(&none, &id, true).ends_with("; Secure; HttpOnly; SameSite=None"));
    }

    #[test]
    fn host_prefix_names_the_cookie() {
        let id = id();
        let o = CookieOptions {
            host_prefix: true,
            secure: Secure::Always,
            ..opts()
        };
        o.validate().unwrap();
        assert_eq!(o.cookie_name(), "__Host-ASPSESSIONID");
        assert_eq!(
            set_cookie(&o, &id, true),
            format!("__Host-ASPSESSIONID={id}; Path=/; Secure; HttpOnly; SameSite=Lax")
        );
        assert_eq!(
            find_session_id(&format!("__Host-ASPSESSIONID={id}"), &o),
            Some(id)
        );
        // The unprefixed cookie (settable by any subdomain or over HTTP) is ignored.
        assert_eq!(find_session_id(&format!("ASPSESSIONID={id}"), &o), None);
        assert_eq!(
            find_session_id(&format!("__host-ASPSESSIONID={id}"), &o),
            None
        );
        // And the prefixed one is not ours when host_prefix is off.
        assert_eq!(
            find_session_id(&format!("__Host-ASPSESSIONID={id}"), &opts()),
            None
        );
    }

    #[test]
    fn clear_cookie_expires_with_the_same_attributes() {
        let o = CookieOptions {
            path: "/app".into(),
            domain: Some("example.com".into()),
            max_age_seconds: Some(60),
            same_site: SameSite::Strict,
            ..opts()
        };
        assert_eq!(
            clear_cookie(&o, true),
            "ASPSESSIONID=; Path=/app; Domain=example.com; Max-Age=0; \
             Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Strict"
        );
        assert_eq!(
            clear_cookie(&opts(), false),
            "ASPSESSIONID=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; \
             HttpOnly; SameSite=Lax"
        );
        let hp = CookieOptions {
            host_prefix: true,
            ..opts()
        };
        assert!(clear_cookie(&hp, true).starts_with("__Host-ASPSESSIONID=; Path=/;"));
        assert_eq!(find_session_id("ASPSESSIONID=", &opts()), None);
    }

    #[test]
    fn finds_the_id_among_other_cookies() {
        let id = id();
        let o = opts();
        for header in [
            format!("ASPSESSIONID={id}"),
            format!("ASPSESSIONID={id}; "),
            format!("a=1; ASPSESSIONID={id}; b=2"),
            format!("a=1;ASPSESSIONID={id};b=2"),
            format!("  a=1 ;  ASPSESSIONID = {id}  ; b=2  "),
            format!("\ta=1;\tASPSESSIONID=\t{id}\t"),
            format!("ASPSESSIONID=\"{id}\""),
            format!("x; y; =; ==; ;;; ASPSESSIONID={id}"),
            format!("ASPSESSIONID=; ASPSESSIONID={id}"),
            format!("ASPSESSIONID=garbage; ASPSESSIONID={id}"),
            format!("ASPSESSIONID=\"\"; ASPSESSIONID=\"; ASPSESSIONID={id}"),
            format!("ASPSESSIONID={id}x; ASPSESSIONID={id}"),
            format!("ASPSESSIONID=\"{id}; ASPSESSIONID={id}"),
            format!("ünï=cödé; 名前=値; ASPSESSIONID=😀; ASPSESSIONID={id}"),
            format!("a=\"x;y\"; ASPSESSIONID={id}"),
            format!("ASPSESSIONID={id}; ASPSESSIONID=AAAAAAAAAAAAAAAAAAAAAA"),
            format!("aspsessionid=AAAAAAAAAAAAAAAAAAAAAA; ASPSESSIONID={id}"),
            format!("XASPSESSIONID=AAAAAAAAAAAAAAAAAAAAAA; ASPSESSIONID={id}"),
            format!("ASPSESSIONIDX=AAAAAAAAAAAAAAAAAAAAAA; ASPSESSIONID={id}"),
        ] {
            assert_eq!(find_session_id(&header, &o), Some(id), "{header:?}");
        }
    }

    #[test]
    fn no_id_when_none_is_valid() {
        let id = id();
        let o = opts();
        let text = id.to_string();
        for header in [
            String::new(),
            ";".into(),
            "=".into(),
            "ASPSESSIONID".into(),
            "ASPSESSIONID=".into(),
            "ASPSESSIONID=\"".into(),
            "ASPSESSIONID=\"\"".into(),
            format!("aspsessionid={id}"),
            format!("ASPSESSIONIDX={id}"),
            format!("X-ASPSESSIONID={id}"),
            format!("ASPSESSIONID={}", &text[..21]),
            format!("ASPSESSIONID={id}{id}"),
            format!("ASPSESSIONID=\"{id}"),
            format!("ASPSESSIONID='{id}'"),
            format!("ASPSESSIONID={}", text.replace(|_: char| true, "é")),
            format!("ASPSESSIONID = \"{id} \""),
            format!("ASPSESSIONID={id}\r\nX: y"),
            format!("ASPSESSIONID={}", "A".repeat(10_000)),
            "ASPSESSIONID=aaaaaaaaaaaaaaaaaaaa+a".into(),
            "ASPSESSIONID=aaaaaaaaaaaaaaaaaaaa;a".into(),
        ] {
            assert_eq!(find_session_id(&header, &o), None, "{header:?}");
        }
    }

    #[test]
    fn headers_joined_with_commas() {
        let id = id();
        let o = opts();
        for header in [
            format!("a=1, ASPSESSIONID={id}"),
            format!("a=1; b=2, ASPSESSIONID={id}; c=3"),
            format!("a=1,ASPSESSIONID={id},b=2"),
            format!("ASPSESSIONID=garbage, ASPSESSIONID={id}"),
            format!("a=\"x,y\", ASPSESSIONID={id}"),
            format!("ASPSESSIONID={id}, ASPSESSIONID_search=AAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            assert_eq!(find_session_id(&header, &o), Some(id), "{header:?}");
        }
        // A comma inside what would be the ID ends it: never a longer ID.
        assert_eq!(
            find_session_id(&format!("ASPSESSIONID={id},x"), &o),
            Some(id)
        );
        assert_eq!(find_session_id(&format!("ASPSESSIONID=x,{id}"), &o), None);
    }

    #[test]
    fn an_id_smuggled_after_a_comma_loses_to_the_clients_own() {
        let own = id();
        let smuggled = SessionId::generate().unwrap();
        let o = opts();
        // Another cookie's value (a site echoing input into it) carries an
        // ID after a comma, before the client's own session cookie.
        for header in [
            format!("pref=x,ASPSESSIONID={smuggled}; ASPSESSIONID={own}"),
            format!("pref=\"x,ASPSESSIONID={smuggled}\"; ASPSESSIONID={own}"),
            format!("a=1; pref=x, ASPSESSIONID={smuggled}; b=2; ASPSESSIONID={own}"),
        ] {
            assert_eq!(find_session_id(&header, &o), Some(own), "{header:?}");
        }
        // With no cookie of its own, a comma-joined one is still found
        // (repeated headers joined with ", ").
        assert_eq!(
            find_session_id(&format!("pref=x, ASPSESSIONID={smuggled}"), &o),
            Some(smuggled)
        );
    }

    #[test]
    fn every_id_in_order_each_once_at_most_eight() {
        let o = opts();
        let ids: Vec<SessionId> = (0..10).map(|_| id()).collect();
        let (a, b) = (ids[0], ids[1]);
        let found = |h: String| find_session_ids_bytes(h.as_bytes(), &o);
        assert_eq!(
            found(format!("ASPSESSIONID={a}; x=1; ASPSESSIONID={b}")),
            [a, b]
        );
        assert_eq!(
            found(format!(
                "ASPSESSIONID={b}; ASPSESSIONID={a}; ASPSESSIONID={b}"
            )),
            [b, a]
        );
        assert_eq!(found(format!("ASPSESSIONID={a}, ASPSESSIONID={b}")), [a, b]);
        // IDs found only by splitting at `,` come after every `;` pair's.
        assert_eq!(
            found(format!("pref=x,ASPSESSIONID={b}; ASPSESSIONID={a}")),
            [a, b]
        );
        assert_eq!(
            found(format!("ASPSESSIONID={a}; x=1, ASPSESSIONID={b}")),
            [a, b]
        );
        // ... and never push one of those past the eighth.
        let semi: Vec<String> = ids[..MAX_PRESENTED_IDS]
            .iter()
            .map(|i| format!("ASPSESSIONID={i}"))
            .collect();
        assert_eq!(
            found(format!("x=1, ASPSESSIONID={}; {}", ids[9], semi.join("; "))),
            ids[..MAX_PRESENTED_IDS]
        );
        let all: Vec<String> = ids.iter().map(|i| format!("ASPSESSIONID={i}")).collect();
        assert_eq!(found(all.join("; ")), ids[..MAX_PRESENTED_IDS]);
        assert_eq!(found("junk".into()), []);
    }

    #[test]
    fn long_headers() {
        let id = id();
        let o = opts();
        let mut header = String::new();
        while header.len() < 10 * 1024 {
            header.push_str("tracking_cookie_name=some-long-value-here-xyz; junk; ");
        }
        assert_eq!(find_session_id(&header, &o), None);
        header.push_str(&format!("ASPSESSIONID={id}"));
        assert_eq!(find_session_id(&header, &o), Some(id));
        let huge = ";".repeat(100_000) + &"=".repeat(100_000) + &" ".repeat(100_000);
        assert_eq!(find_session_id(&huge, &o), None);
        let spaces = format!(
            "{}ASPSESSIONID={id}{}",
            " ".repeat(10_000),
            " ".repeat(10_000)
        );
        assert_eq!(find_session_id(&spaces, &o), Some(id));
    }

    #[test]
    fn raw_bytes_that_are_not_utf8() {
        let id = id();
        let o = opts();
        let mut header = b"lang=caf\xe9; \xff\xfe=\x80; ASPSESSIONID=\xc3; ".to_vec();
        header.extend_from_slice(format!("ASPSESSIONID={id}").as_bytes());
        assert_eq!(find_session_id_bytes(&header, &o), Some(id));
        assert_eq!(find_session_id_bytes(b"\xff\xff\xff", &o), None);
        assert_eq!(find_session_id_bytes(b"ASPSESSIONID=\xff", &o), None);
    }

    #[test]
    fn every_byte_in_every_place_is_handled() {
        let id = id();
        let o = opts();
        for b in 0u8..=255 {
            let c = [b];
            let header = [
                &c[..],
                b"ASPSESSIONID=",
                &c[..],
                id.to_string().as_bytes(),
                &c[..],
            ]
            .concat();
            // Only optional whitespace is stripped from around a name or value.
            let expected = matches!(b, b' ' | b'\t').then_some(id);
            assert_eq!(
                find_session_id_bytes(&header, &o),
                expected,
                "byte {b:#04x}"
            );
            let header = [b"ASPSESSIONID=", id.to_string().as_bytes(), &c[..]].concat();
            let expected = matches!(b, b' ' | b'\t' | b';' | b',').then_some(id);
            assert_eq!(
                find_session_id_bytes(&header, &o),
                expected,
                "byte {b:#04x}"
            );
        }
    }

    #[test]
    fn round_trip_through_set_cookie() {
        let o = CookieOptions {
            name: "sid".into(),
            host_prefix: true,
            max_age_seconds: Some(600),
            ..opts()
        };
        o.validate().unwrap();
        for _ in 0..100 {
            let id = id();
            let set = set_cookie(&o, &id, true);
            // A browser sends back only name=value, the part before the first ';'.
            let pair = set.split(';').next().unwrap();
            assert_eq!(find_session_id(pair, &o), Some(id));
            assert!(!set.contains(['\r', '\n', '\0']));
        }
    }
}
