//! The cookieless URL parser and rewriter: an application path and a
//! request path (split at the first NUL). An extracted ID was in the path,
//! and rewriting a URL with it puts it back where `extract` finds it;
//! under a normalised application path, `remove` takes out exactly what
//! `rewrite` put in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::web::cookieless::{extract, remove, rewrite};
use sess::web::paths::normalize_virtual_path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (app, path) = text.split_once('\0').unwrap_or(("/", &text));
    if let Some((id, rest)) = extract(app, path) {
        assert!(path.contains(id.encode().as_str()));
        let again = rewrite(app, &id, &rest);
        if again != rest {
            let (found, _) = extract(app, &again).expect("a rewritten URL carries its ID");
            assert_eq!(found, id);
        }
    }
    let id = sess::state::SessionId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let with = rewrite(app, &id, path);
    // Under an application's path as a site holds it (normalised; one
    // that looks like a marker itself aside), `remove` takes out exactly
    // the segment `rewrite` wrote.
    if let Ok(app) = normalize_virtual_path(app) {
        let bare = remove(&app, &with);
        if with != path && !app.to_ascii_lowercase().contains("(s(") {
            let marker = format!("(S({}))/", id.encode().as_str());
            let expected = with.replacen(&marker, "", 1);
            // ... but never a `//host` URL.
            let expected = match expected.trim_start_matches('/') {
                rest if app == "/" && expected.starts_with("//") => format!("/{rest}"),
                _ => expected,
            };
            assert_eq!(bare, expected);
            assert!(!bare.starts_with("//"));
        }
    }
});
