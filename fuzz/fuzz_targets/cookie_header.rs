//! The `Cookie` request header parser: any bytes, under the default and a
//! `__Host-` cookie name. Every session ID it finds was in the header, at
//! most `MAX_PRESENTED_IDS` of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::web::cookie::{find_session_ids_bytes, MAX_PRESENTED_IDS};
use sess::web::CookieOptions;

fuzz_target!(|header: &[u8]| {
    let plain = CookieOptions::default();
    let host = CookieOptions {
        host_prefix: true,
        ..CookieOptions::default()
    };
    for opts in [&plain, &host] {
        let ids = find_session_ids_bytes(header, opts);
        assert!(ids.len() <= MAX_PRESENTED_IDS);
        for id in ids {
            let text = id.encode();
            let needle = text.as_str().as_bytes();
            assert!(header.windows(needle.len()).any(|w| w == needle));
        }
    }
});
