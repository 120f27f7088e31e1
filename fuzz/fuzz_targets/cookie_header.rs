//! The `Cookie` request header parser: any bytes, under the default and a
//! `__Host-` cookie name. A session ID it finds was in the header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::web::cookie::find_session_id_bytes;
use sess::web::CookieOptions;

fuzz_target!(|header: &[u8]| {
    let plain = CookieOptions::default();
    let host = CookieOptions {
        host_prefix: true,
        ..CookieOptions::default()
    };
    for opts in [&plain, &host] {
        if let Some(id) = find_session_id_bytes(header, opts) {
            let text = id.encode();
            let needle = text.as_str().as_bytes();
            assert!(header.windows(needle.len()).any(|w| w == needle));
        }
    }
});
