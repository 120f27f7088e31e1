//! String order under an LCID: `CompareStringEx`'s meaning and flags on
//! ICU4X's collator (CLDR's root order and the locale's tailoring: Swedish
//! å/ä/ö after z, Spanish ñ after n, German ä with a).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use icu_collator::options::{AlternateHandling, CaseLevel, CollatorOptions, MaxVariable, Strength};
use icu_collator::preferences::CollationNumericOrdering;
use icu_collator::{Collator, CollatorBorrowed, CollatorPreferences};
use icu_locale_core::Locale;
use icu_normalizer::ComposingNormalizerBorrowed;

use super::lcid_name;
use crate::error::{self, Error, Result};

/// `CompareStringEx` flags, with Windows' values.
pub mod compare_flags {
    /// `NORM_IGNORECASE`: a and A are equal, i and I too under every locale
    /// (Turkish's İ and ı stay letters of their own: pairing them with i and
    /// I is `NORM_LINGUISTIC_CASING`, which .NET adds and this library does
    /// not take).
    pub const NORM_IGNORECASE: u32 = 0x0000_0001;
    /// `NORM_IGNORENONSPACE`: accents (non-spacing marks) are ignored: a and
    /// á are equal.
    pub const NORM_IGNORENONSPACE: u32 = 0x0000_0002;
    /// `NORM_IGNORESYMBOLS`: spaces, punctuation and symbols are ignored.
    pub const NORM_IGNORESYMBOLS: u32 = 0x0000_0004;
    /// `SORT_DIGITSASNUMBERS`: runs of digits compare by their numeric value
    /// ("a2" before "a10").
    pub const SORT_DIGITSASNUMBERS: u32 = 0x0000_0008;
    /// `LINGUISTIC_IGNORECASE`: as `NORM_IGNORECASE` (the collator's case
    /// rules are always linguistic).
    pub const LINGUISTIC_IGNORECASE: u32 = 0x0000_0010;
    /// `LINGUISTIC_IGNOREDIACRITIC`: as `NORM_IGNORENONSPACE`.
    pub const LINGUISTIC_IGNOREDIACRITIC: u32 = 0x0000_0020;
    /// `SORT_STRINGSORT`: hyphens and apostrophes sort as symbols, where the
    /// default word sort ignores them but as a last tie-break.
    pub const SORT_STRINGSORT: u32 = 0x0000_1000;
    /// `NORM_IGNOREKANATYPE`: hiragana and katakana are equal.
    pub const NORM_IGNOREKANATYPE: u32 = 0x0001_0000;
    /// `NORM_IGNOREWIDTH`: half-width and full-width forms are equal.
    pub const NORM_IGNOREWIDTH: u32 = 0x0002_0000;
    /// Every flag `compare_text` accepts.
    pub const ALL: u32 = NORM_IGNORECASE
        | NORM_IGNORENONSPACE
        | NORM_IGNORESYMBOLS
        | SORT_DIGITSASNUMBERS
        | LINGUISTIC_IGNORECASE
        | LINGUISTIC_IGNOREDIACRITIC
        | SORT_STRINGSORT
        | NORM_IGNOREKANATYPE
        | NORM_IGNOREWIDTH;
}

use compare_flags::*;

/// Compares `a` and `b` as `CompareStringEx` does under `lcid` with
/// `flags` ([`compare_flags`]): `Less`, `Equal` or `Greater`.
///
/// The order is CLDR's for the LCID's locale ([`lcid_name`]; sorted LCIDs
/// such as 0x10407, German phone book, use their CLDR collation; the
/// default aliases are en-US; the invariant locale is the root order).
/// Without flags case, accents, kana type and width count. The default
/// word sort ignores hyphens and apostrophes except as a last tie-break
/// (the string with fewer of them first); `SORT_STRINGSORT` sorts them as
/// symbols, and `NORM_IGNORESYMBOLS` ignores them as it ignores every
/// symbol ("co-op" equals "coop"). An unknown flag is `E_INVALIDARG`, an
/// LCID Windows does not define `E_INVALID_LCID`.
pub fn compare_text(lcid: u32, a: &str, b: &str, flags: u32) -> Result<Ordering> {
    if flags & !ALL != 0 {
        return Err(Error::new(
            error::E_INVALIDARG,
            format!("unknown comparison flags {:#x}", flags & !ALL),
        ));
    }
    let collator = cached_collator(lcid, flags)?;
    let (a, b) = (fold(a, flags), fold(b, flags));
    // Word sort's last tie-break counts hyphens and apostrophes; where
    // symbols are ignored they count for nothing (the collator ignores them).
    if flags & (SORT_STRINGSORT | NORM_IGNORESYMBOLS) == 0 {
        let ((wa, marks_a), (wb, marks_b)) = (without_word_marks(&a), without_word_marks(&b));
        let order = collator
            .compare(&wa, &wb)
            .then_with(|| marks_a.cmp(&marks_b));
        if order != Ordering::Equal {
            return Ok(order);
        }
    }
    Ok(collator
        .compare(&a, &b)
        .then_with(|| kana_and_width(&a).cmp(&kana_and_width(&b))))
}

/// Most collators kept; past that the cache starts over (a host uses a few
/// locales and flag sets; this bounds one that cycles through them all).
const CACHED_COLLATORS: usize = 64;

/// The collator for (`lcid`, `flags`), built once and kept: building one
/// costs several times a comparison.
fn cached_collator(lcid: u32, flags: u32) -> Result<Arc<CollatorBorrowed<'static>>> {
    type Cache = Mutex<HashMap<(u32, u32), Arc<CollatorBorrowed<'static>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(lcid, flags))
    {
        return Ok(Arc::clone(c));
    }
    let built = Arc::new(collator(lcid, flags)?);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= CACHED_COLLATORS {
        map.clear();
    }
    Ok(Arc::clone(map.entry((lcid, flags)).or_insert(built)))
}

/// The collator for `lcid`'s locale with the options `flags` ask for.
fn collator(lcid: u32, flags: u32) -> Result<CollatorBorrowed<'static>> {
    let tag = lcid_name(lcid)?;
    let locale = if tag.is_empty() {
        Locale::UNKNOWN
    } else {
        Locale::try_from_str(tag).map_err(|e| {
            Error::new(
                error::E_INVALID_LCID,
                format!("LCID {lcid:#x} ({tag}) has no collation locale: {e}"),
            )
        })?
    };
    let mut prefs = CollatorPreferences::from(&locale);
    if flags & SORT_DIGITSASNUMBERS != 0 {
        prefs.numeric_ordering = Some(CollationNumericOrdering::True);
    }
    let ignore_case = flags & (NORM_IGNORECASE | LINGUISTIC_IGNORECASE) != 0;
    let ignore_accents = flags & (NORM_IGNORENONSPACE | LINGUISTIC_IGNOREDIACRITIC) != 0;
    let mut options = CollatorOptions::default();
    // Case is folded before comparing (`fold`), so ignoring it needs no
    // level of its own; ignoring accents is the primary level, plus the
    // case level when case still counts. Otherwise every level counts up
    // to the quaternary, where CLDR's Japanese order tells hiragana from
    // katakana (symbols ignored by NORM_IGNORESYMBOLS would come back
    // there: that stops at the tertiary).
    options.strength = Some(if ignore_accents {
        Strength::Primary
    } else if flags & NORM_IGNORESYMBOLS != 0 {
        Strength::Tertiary
    } else {
        Strength::Quaternary
    });
    if ignore_accents && !ignore_case {
        options.case_level = Some(CaseLevel::On);
    }
    if flags & NORM_IGNORESYMBOLS != 0 {
        options.alternate_handling = Some(AlternateHandling::Shifted);
        options.max_variable = Some(MaxVariable::Symbol);
    }
    Collator::try_new(prefs, options).map_err(|e| {
        Error::new(
            error::E_FAIL,
            format!("no collation data for LCID {lcid:#x}: {e}"),
        )
    })
}

/// `text` with the differences `flags` ignore taken out: case (lower-cased),
/// kana type (hiragana as katakana), width (the half-width and full-width
/// forms, U+FF00–U+FFEF and the ideographic space, by their NFKC mapping).
fn fold(text: &str, flags: u32) -> String {
    let mut out = String::with_capacity(text.len());
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    for c in text.chars() {
        let c = if flags & NORM_IGNOREKANATYPE != 0 && is_hiragana(c) {
            char::from_u32(c as u32 + 0x60).unwrap_or(c)
        } else {
            c
        };
        if flags & NORM_IGNOREWIDTH != 0 && matches!(c, '\u{3000}' | '\u{FF00}'..='\u{FFEF}') {
            out.push_str(&nfkc.normalize(c.encode_utf8(&mut [0; 4])));
        } else {
            out.push(c);
        }
    }
    if flags & (NORM_IGNORECASE | LINGUISTIC_IGNORECASE) != 0 {
        out = out.to_lowercase();
    }
    out
}

/// The kana type and width of each kana and width-variant letter or digit
/// (katakana, width form): the last tie-break. CompareStringEx tells
/// hiragana from katakana and the half- and full-width forms from the
/// normal ones unless `NORM_IGNOREKANATYPE` / `NORM_IGNOREWIDTH` ask
/// otherwise (`fold` has then made them alike), but the collator drops those
/// differences with its lower levels (ignoring accents or symbols) and
/// never tells half-width katakana from full-width. Hiragana sort before
/// katakana and normal forms before width forms (ABC before ＡＢＣ), as the
/// collator orders them where it tells them apart. Spaces and symbols are
/// left to the collator (`NORM_IGNORESYMBOLS` ignores `！` and U+3000 too:
/// they are no letters or digits).
fn kana_and_width(text: &str) -> Vec<(bool, bool)> {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .filter_map(|c| {
            let katakana = matches!(
                c,
                '\u{30A1}'..='\u{30FA}' | '\u{30FD}'..='\u{30FE}' | '\u{FF66}'..='\u{FF9D}'
            );
            let width_form = matches!(c, '\u{FF01}'..='\u{FFEF}');
            (katakana || width_form || is_hiragana(c)).then_some((katakana, width_form))
        })
        .collect()
}

/// Hiragana letters and iteration marks that have a katakana twin 0x60 on.
fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}' | '\u{309D}'..='\u{309E}')
}

/// `text` without the hyphens and apostrophes word sort sets aside, and
/// how many there were.
fn without_word_marks(text: &str) -> (String, usize) {
    let mut marks = 0;
    let rest = text
        .chars()
        .filter(|c| {
            let mark = matches!(c, '-' | '\'' | '\u{2010}' | '\u{2011}' | '\u{2019}');
            marks += usize::from(mark);
            !mark
        })
        .collect();
    (rest, marks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn cmp(lcid: u32, a: &str, b: &str, flags: u32) -> Ordering {
        compare_text(lcid, a, b, flags).unwrap()
    }

    #[test]
    fn flags_fold_what_they_name() {
        assert_eq!(fold("ABC", NORM_IGNORECASE), "abc");
        assert_eq!(fold("ひらがな", NORM_IGNOREKANATYPE), "ヒラガナ");
        assert_eq!(fold("ＡＢ１　ｶ", NORM_IGNOREWIDTH), "AB1 カ");
        assert_eq!(without_word_marks("co-op’s"), ("coops".to_string(), 2));
    }

    #[test]
    fn bad_flags_and_lcids() {
        for bad in [0x40, 0x100, 0x0800_0000, 0x8000_0000] {
            assert_eq!(
                compare_text(0x0409, "a", "b", bad).unwrap_err().code(),
                error::E_INVALIDARG,
                "{bad:#x}"
            );
        }
        assert_eq!(
            compare_text(0xABCD, "a", "b", 0).unwrap_err().code(),
            error::E_INVALID_LCID
        );
        assert_eq!(cmp(0x007F, "a", "B", 0), Less, "invariant: root order");
        assert_eq!(cmp(0, "a", "B", 0), Less, "default alias: en-US");
    }

    #[test]
    fn word_sort_and_string_sort() {
        assert_eq!(cmp(0x0409, "coop", "co-op", 0), Less);
        assert_eq!(cmp(0x0409, "co-op", "cop", 0), Less);
        assert_eq!(cmp(0x0409, "co-op", "coop", SORT_STRINGSORT), Less);
        assert_eq!(cmp(0x0409, "co-op", "cop", SORT_STRINGSORT), Less);
    }
}
