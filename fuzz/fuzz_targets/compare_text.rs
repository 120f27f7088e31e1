//! `compare_text` (CompareStringEx) under several locales and every flag
//! combination: an order, whatever the text. Each string equals itself,
//! swapping two reverses the answer, and the order is transitive.
#![no_main]

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use sess::locale::{compare_flags as f, compare_text};

/// en-US, tr-TR (its own I and ı), ja-JP (kana and width), German phone
/// book, fr-FR, th-TH, sv-SE, the invariant locale.
const LCIDS: [u32; 8] = [
    0x0409, 0x041F, 0x0411, 0x10407, 0x040C, 0x041E, 0x041D, 0x007F,
];
const FLAGS: [u32; 9] = [
    f::NORM_IGNORECASE,
    f::NORM_IGNORENONSPACE,
    f::NORM_IGNORESYMBOLS,
    f::SORT_DIGITSASNUMBERS,
    f::LINGUISTIC_IGNORECASE,
    f::LINGUISTIC_IGNOREDIACRITIC,
    f::SORT_STRINGSORT,
    f::NORM_IGNOREKANATYPE,
    f::NORM_IGNOREWIDTH,
];

fuzz_target!(|data: &[u8]| {
    let [l, f1, f2, rest @ ..] = data else {
        return;
    };
    let lcid = LCIDS[usize::from(*l) % LCIDS.len()];
    let bits = u16::from_le_bytes([*f1, *f2]);
    let flags = (0..FLAGS.len())
        .filter(|i| bits & (1 << i) != 0)
        .fold(0, |all, i| all | FLAGS[i]);
    // Three strings, split at 0xFF bytes (never in UTF-8).
    let mut parts = rest.split(|&b| b == 0xFF).map(String::from_utf8_lossy);
    let (a, b, c) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let cmp = |x: &str, y: &str| compare_text(lcid, x, y, flags).expect("a known LCID and flags");
    for s in [&a, &b, &c] {
        assert_eq!(cmp(s, s), Ordering::Equal, "{s:?} against itself");
    }
    let (ab, bc, ac) = (cmp(&a, &b), cmp(&b, &c), cmp(&a, &c));
    assert_eq!(cmp(&b, &a), ab.reverse(), "{a:?} {b:?}: not antisymmetric");
    if ab != Ordering::Greater && bc != Ordering::Greater {
        assert_ne!(ac, Ordering::Greater, "{a:?} <= {b:?} <= {c:?} but not {a:?} <= {c:?}");
    }
    if ab == Ordering::Equal && bc == Ordering::Equal {
        assert_eq!(ac, Ordering::Equal, "{a:?} = {b:?} = {c:?} but not {a:?} = {c:?}");
    }
});
