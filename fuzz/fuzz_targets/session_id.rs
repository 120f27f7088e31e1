//! The session ID parser: any text. A parsed ID encodes to text that
//! parses back to the same ID.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::state::SessionId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = SessionId::parse(text) {
        let again = SessionId::parse(id.encode().as_str()).expect("an encoded ID parses");
        assert_eq!(again, id);
    }
});
