//! `sess_compare_text`: CompareStringEx's order per LCID and flag, through
//! the C export, as Windows orders the same strings.

use std::ffi::CString;

use sess::error;
use sess::ffi::collate::sess_compare_text;

const NORM_IGNORECASE: u32 = 0x1;
const NORM_IGNORENONSPACE: u32 = 0x2;
const NORM_IGNORESYMBOLS: u32 = 0x4;
const SORT_DIGITSASNUMBERS: u32 = 0x8;
const LINGUISTIC_IGNORECASE: u32 = 0x10;
const SORT_STRINGSORT: u32 = 0x1000;
const NORM_IGNOREKANATYPE: u32 = 0x10000;
const NORM_IGNOREWIDTH: u32 = 0x20000;

fn compare(lcid: u32, a: &str, b: &str, flags: u32) -> Result<i32, i32> {
    let (a, b) = (CString::new(a).unwrap(), CString::new(b).unwrap());
    let mut out = 99;
    // SAFETY: valid strings and out-pointer.
    let hr = unsafe { sess_compare_text(lcid, a.as_ptr(), b.as_ptr(), flags, &mut out) };
    if hr < 0 {
        Err(hr)
    } else {
        Ok(out)
    }
}

/// (LCID, a, b, flags, order of a against b): each row is also checked
/// reversed.
const TABLE: &[(u32, &str, &str, u32, i32)] = &[
    // Swedish: å, ä, ö are letters after z.
    (0x041D, "zebra", "åka", 0, -1),
    (0x041D, "åka", "ära", 0, -1),
    (0x041D, "ära", "öl", 0, -1),
    (0x041D, "öl", "ol", 0, 1),
    // English: the same letters are accented a and o.
    (0x0409, "åka", "zebra", 0, -1),
    (0x0409, "öl", "ol", 0, 1),
    (0x0409, "öl", "om", 0, -1),
    // German: ä sorts with a; the phone book (0x10407) reads it as ae.
    (0x0407, "Äpfel", "Bär", 0, -1),
    (0x0407, "Äpfel", "Apfel", 0, 1),
    (0x0407, "Äpfel", "Apfelsine", 0, -1),
    (0x0407, "Müller", "Muller", 0, 1),
    (0x0407, "Müller", "Mueller", 0, 1),
    (0x10407, "Müller", "Muf", 0, -1),
    (0x0407, "Müller", "Muf", 0, 1),
    // Spanish: ñ is a letter after n; traditional sort (0x040A) also
    // makes ch a letter after c.
    (0x0C0A, "nube", "ñandú", 0, -1),
    (0x0C0A, "ñandú", "ola", 0, -1),
    (0x0C0A, "nz", "ña", 0, -1),
    (0x0409, "nz", "ña", 0, 1),
    (0x0C0A, "cz", "cha", 0, 1),
    (0x040A, "cz", "cha", 0, -1),
    // Case and accents, and the flags that ignore them.
    (0x0409, "a", "A", 0, -1),
    (0x0409, "a", "A", NORM_IGNORECASE, 0),
    (0x0409, "resume", "résumé", 0, -1),
    (0x0409, "resume", "résumé", NORM_IGNORENONSPACE, 0),
    (0x0409, "Resume", "résumé", NORM_IGNORENONSPACE, 1),
    (
        0x0409,
        "Resume",
        "résumé",
        NORM_IGNORENONSPACE | NORM_IGNORECASE,
        0,
    ),
    (0x0409, "Resume", "résumé", NORM_IGNORECASE, -1),
    // Turkish: ignoring case pairs i with I as everywhere, and leaves İ and ı
    // letters of their own (Wine's comparestringex_tests, which record
    // CompareStringEx("tr-TR") on Windows; .NET's Turkish-I problem comes
    // from the NORM_LINGUISTIC_CASING it adds).
    (0x041F, "i", "I", NORM_IGNORECASE, 0),
    (0x041F, "i", "İ", NORM_IGNORECASE, -1),
    (0x041F, "I", "İ", NORM_IGNORECASE, -1),
    (0x041F, "İ", "ı", NORM_IGNORECASE, 1),
    (0x041F, "i", "I", LINGUISTIC_IGNORECASE, 0),
    (0x041F, "i", "İ", LINGUISTIC_IGNORECASE, -1),
    (0x041F, "İ", "ı", LINGUISTIC_IGNORECASE, 1),
    (0x041F, "FILE", "file", NORM_IGNORECASE, 0),
    (0x041F, "İSTANBUL", "istanbul", LINGUISTIC_IGNORECASE, 1),
    (0x0409, "FILE", "file", NORM_IGNORECASE, 0),
    // Word sort sets hyphens and apostrophes aside; string sort does not.
    (0x0409, "coop", "co-op", 0, -1),
    (0x0409, "co-op", "cop", 0, -1),
    (0x0409, "co-op", "coop", SORT_STRINGSORT, -1),
    (0x0409, "can't", "cant", 0, 1),
    // The tie-break counts the marks, whatever their UTF-8 length (the
    // documented "fewer of them first"): one U+2019 (three bytes) is fewer
    // than two ASCII apostrophes, one U+2010 fewer than two hyphens.
    (0x0409, "can\u{2019}t", "can't'", 0, -1),
    (0x0409, "co\u{2010}op", "co-op-", 0, -1),
    // Symbols, digits, kana and width.
    (0x0409, "a.b", "ab", NORM_IGNORESYMBOLS, 0),
    (0x0409, "(555) 123", "555123", NORM_IGNORESYMBOLS, 0),
    // NORM_IGNORESYMBOLS ignores hyphens and apostrophes too, word sort or
    // not (.NET's CompareOptions.IgnoreSymbols, which is this flag:
    // "co-op" equals "coop"); word sort's tie-break on them must not bring
    // them back.
    (0x0409, "co-op", "coop", NORM_IGNORESYMBOLS, 0),
    (0x0409, "can't", "cant", NORM_IGNORESYMBOLS, 0),
    (0x0409, "a-b", "a b", NORM_IGNORESYMBOLS, 0),
    (
        0x0409,
        "Co-op",
        "coop",
        NORM_IGNORESYMBOLS | NORM_IGNORECASE,
        0,
    ),
    (0x0409, "co-op", "cop", NORM_IGNORESYMBOLS, -1),
    (0x0409, "a.b", "ab", 0, -1),
    (0x0409, "file10", "file9", 0, -1),
    (0x0409, "file10", "file9", SORT_DIGITSASNUMBERS, 1),
    (0x0411, "ひらがな", "ヒラガナ", NORM_IGNOREKANATYPE, 0),
    (0x0411, "ひらがな", "ヒラガナ", 0, -1),
    (0x0409, "ＡＢＣ", "ABC", NORM_IGNOREWIDTH, 0),
    (0x0409, "ＡＢＣ", "ABC", 0, 1),
    (0x0411, "ｶﾀｶﾅ", "カタカナ", NORM_IGNOREWIDTH, 0),
    // Kana type and width count unless NORM_IGNOREKANATYPE /
    // NORM_IGNOREWIDTH says otherwise, whatever else is ignored: ignoring
    // accents or symbols does not make hiragana katakana or half-width
    // full-width (they were equal here), nor are half-width katakana the
    // full-width ones without a flag. The normal form sorts first, as ABC
    // before ＡＢＣ.
    (0x0411, "カタカナ", "ｶﾀｶﾅ", 0, -1),
    (0x0411, "ひらがな", "ヒラガナ", NORM_IGNORENONSPACE, -1),
    (0x0411, "ひらがな", "ヒラガナ", NORM_IGNORESYMBOLS, -1),
    (0x0411, "カタカナ", "ｶﾀｶﾅ", NORM_IGNORESYMBOLS, -1),
    (0x0409, "ABC", "ＡＢＣ", NORM_IGNORENONSPACE, -1),
    (0x0411, "カ", "ｶ", NORM_IGNOREKANATYPE, -1),
    (
        0x0411,
        "ひらがな",
        "ヒラガナ",
        NORM_IGNORENONSPACE | NORM_IGNORESYMBOLS | NORM_IGNOREKANATYPE,
        0,
    ),
    (
        0x0409,
        "ABC",
        "ＡＢＣ",
        NORM_IGNORENONSPACE | NORM_IGNOREWIDTH,
        0,
    ),
    (0x0411, "か", "が", NORM_IGNORENONSPACE, 0),
    (0x0411, "ａ！", "ａ", NORM_IGNORESYMBOLS, 0),
    (0x0411, "ア\u{3000}イ", "ア イ", NORM_IGNORESYMBOLS, 0),
    (0x0409, "same", "same", 0, 0),
    (0x0409, "", "a", 0, -1),
];

#[test]
fn orders_per_locale_and_flag() {
    for &(lcid, a, b, flags, expected) in TABLE {
        let what = format!("{lcid:#x} {a:?} vs {b:?} flags {flags:#x}");
        assert_eq!(compare(lcid, a, b, flags), Ok(expected), "{what}");
        assert_eq!(
            compare(lcid, b, a, flags),
            Ok(-expected),
            "{what}, reversed"
        );
    }
}

#[test]
fn bad_arguments() {
    assert_eq!(compare(0x0409, "a", "b", 0x100), Err(error::E_INVALIDARG));
    assert_eq!(
        compare(0x0409, "a", "b", 0x4000_0000),
        Err(error::E_INVALIDARG)
    );
    assert_eq!(compare(0xABCD, "a", "b", 0), Err(error::E_INVALID_LCID));
    let a = CString::new("a").unwrap();
    let bad = b"\xFF\0";
    let mut out = 0;
    // SAFETY: NULL and invalid UTF-8 are what is tested; pointers are valid.
    unsafe {
        assert_eq!(
            sess_compare_text(0x0409, std::ptr::null(), a.as_ptr(), 0, &mut out),
            error::E_POINTER
        );
        assert_eq!(
            sess_compare_text(0x0409, a.as_ptr(), a.as_ptr(), 0, std::ptr::null_mut()),
            error::E_POINTER
        );
        assert_eq!(
            sess_compare_text(0x0409, a.as_ptr(), bad.as_ptr().cast(), 0, &mut out),
            error::E_INVALIDARG
        );
    }
    for alias in [0, 0x0400, 0x0800] {
        assert_eq!(compare(alias, "a", "B", 0), Ok(-1));
    }
}
