//! The code page encoder and decoder: any text into every supported code
//! page, both unmappable-character modes. Unicode code pages round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::locale::encoding::{decode, encode, Unmappable};
use sess::locale::CODE_PAGES;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let cp = CODE_PAGES[usize::from(selector) % CODE_PAGES.len()];
    let mode = if selector & 0x80 != 0 {
        Unmappable::QuestionMark
    } else {
        Unmappable::HtmlReference
    };
    let bytes = encode(cp, &text, mode).expect("a supported code page");
    let back = decode(cp, &bytes).expect("a supported code page");
    if matches!(cp, 1200 | 1201 | 65001) {
        assert_eq!(back, text);
    }
    let _ = decode(cp, rest);
});
