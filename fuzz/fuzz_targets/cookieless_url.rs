//! The cookieless URL parser and rewriter: an application path and a
//! request path (split at the first NUL). An extracted ID was in the path,
//! and rewriting a URL with it puts it back where `extract` finds it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::web::cookieless::{extract, rewrite};

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
    let _ = rewrite(
        app,
        &sess::state::SessionId::parse("AAAAAAAAAAAAAAAAAAAAAA").unwrap(),
        path,
    );
});
