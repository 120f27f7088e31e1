//! The shared stores' wire decoder (values and whole sessions): any bytes.
//! What decodes encodes again, and that decodes too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::state::Limits;
use sess::store::wire::{decode_session, decode_value, encode_session, encode_value};

const MAX: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode_value(data, MAX) {
        let bytes = encode_value(&v).expect("a decoded value encodes");
        decode_value(&bytes, usize::MAX).expect("and decodes again");
    }
    let limits = Limits {
        max_timeout_minutes: 525_600,
        max_items: 1024,
        max_value_bytes: MAX,
        max_key_bytes: 255,
        max_session_bytes: 4 * MAX,
    };
    if let Ok((d, created)) = decode_session(data, MAX, &limits) {
        let bytes = encode_session(&d, created).expect("a decoded session encodes");
        let (again, at) = decode_session(&bytes, usize::MAX, &limits).expect("and decodes again");
        assert_eq!((again.contents().len(), at), (d.contents().len(), created));
        assert_eq!(again.bytes(), d.bytes());
    }
});
