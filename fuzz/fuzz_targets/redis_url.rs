//! The Redis store's server URLs (`RedisOptions::url`, what a host's
//! `SESS_STORE` / `SessionStore redis://…` hands over): any text. Checking
//! the options never panics, and the URL as the options' `Debug` shows it
//! (what logs and error details carry) holds no password the Redis client
//! would log in with: neither a `user:password@` part nor a Unix socket
//! URL's `?pass=`, however the text is spelled (tabs, newlines, case,
//! percent-escapes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use redis::IntoConnectionInfo;
use sess::store::RedisOptions;

/// The password the Redis client reads from `url`, if any (as
/// `RedisOptions` parses it: an absolute path is a Unix socket).
fn password(url: &str) -> Option<String> {
    let url = url.trim();
    let info = if url.starts_with('/') {
        return None;
    } else {
        url.into_connection_info().ok()?
    };
    info.redis_settings()
        .password()
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
}

/// The text of a Rust string literal as `{:?}` wrote it (`None` if it
/// holds an escape this reader does not know).
fn unescape(lit: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = lit.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            't' => out.push('\t'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            c @ ('\\' | '"' | '\'') => out.push(c),
            'u' => {
                let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let o = RedisOptions {
        url: url.to_owned(),
        ..RedisOptions::default()
    };
    let _ = o.validate();
    let shown = format!("{o:?}");
    let lit = shown
        .strip_prefix("RedisOptions { url: \"")
        .and_then(|s| s.split_once("\", cluster: "))
        .map(|(lit, _)| lit)
        .expect("Debug starts with the url");
    let shown = unescape(lit).expect("a string literal");
    if password(url).is_some() {
        assert_eq!(password(&shown), None, "{url:?} shown as {shown:?}");
    }
});
