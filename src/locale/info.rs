//! The data that shapes VARIANT text for a locale, and how an LCID finds it.
//!
//! Each locale is a row of data in [`LOCALES`](super::LOCALES) (see
//! `data.rs` for the sources); code that formats or parses text reads a
//! [`LocaleInfo`] and never branches on an LCID.

use super::data::{EN_US, LOCALES, SCRIPT_FALLBACKS, SORTED_LCIDS};
use super::{check_lcid, is_default_alias, LCID_EN_US};
use crate::error::Result;

/// How a locale writes numbers, dates, times and booleans (Windows NLS values).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocaleInfo {
    /// The LANGID (low 16 bits of an LCID) this row describes.
    pub langid: u16,
    /// Windows' locale name (`LOCALE_SNAME`), e.g. `en-US`; see
    /// [`lcid_name`] for an LCID's BCP-47 tag.
    pub name: &'static str,
    /// `sDecimal`: the decimal separator.
    pub decimal: &'static str,
    /// `sThousand`: the digit-group separator (accepted when reading numbers).
    pub thousands: &'static str,
    /// `sGrouping`: digit grouping; OLE's number→text never groups, kept for
    /// formatting that does.
    pub grouping: &'static str,
    /// `iNegNumber`: negative number form (1 is `-1.1`); OLE's number→text
    /// always writes a leading sign, kept for formatting that follows it.
    pub negative_number: u8,
    /// `sNegativeSign`.
    pub negative_sign: &'static str,
    /// `sCurrency`: the currency symbol (accepted when reading numbers).
    pub currency: &'static str,
    /// `sList`: the list separator.
    pub list: &'static str,
    /// `sShortDate`: the short date pattern (`d`, `dd`, `M`, `MM`, `yy`,
    /// `yyyy`, `'quoted'` text).
    pub short_date: &'static str,
    /// `sTimeFormat`: the time pattern (`h`/`H`, `mm`, `ss`, `tt`).
    pub time_format: &'static str,
    /// `s1159`: the AM designator (may be empty).
    pub am: &'static str,
    /// `s2359`: the PM designator (may be empty).
    pub pm: &'static str,
    /// oleaut32's localized text for True (`VARIANT_LOCALBOOL`).
    pub true_word: &'static str,
    /// oleaut32's localized text for False (`VARIANT_LOCALBOOL`).
    pub false_word: &'static str,
    /// Where the row's values come from.
    pub source: &'static str,
}

/// The LCID that stands for `lcid`: the default aliases (0,
/// `LOCALE_USER_DEFAULT`, `LOCALE_SYSTEM_DEFAULT`) become `app_default`
/// (en-US if that is itself an alias); any other LCID is itself. Callers
/// with an application default resolve through this before
/// [`locale_info`], [`lcid_name`] or `change_type`.
pub fn resolve_lcid(lcid: u32, app_default: u32) -> u32 {
    match (is_default_alias(lcid), is_default_alias(app_default)) {
        (false, _) => lcid,
        (true, false) => app_default,
        (true, true) => LCID_EN_US,
    }
}

/// The text data for `lcid`.
///
/// An LCID Windows does not define is `E_INVALID_LCID` (from
/// [`check_lcid`]). The default aliases read as en-US (resolve them with
/// [`resolve_lcid`] to use an application default). The sort ID does not
/// matter (0x10407, German phone book, reads as de-DE). An LCID without a
/// row of its own falls back, in this order, to:
/// 1. for Chinese, the row of the same script: zh-Hans and zh read as
///    zh-CN; zh-Hant as zh-TW; zh-MO as zh-HK;
/// 2. the language's `SUBLANG_DEFAULT` locale (primary language ID with
///    sublanguage 1: de-LU → de-DE, es-UY → es-ES traditional sort, en-JM →
///    en-US, ar-EG → ar-SA, sr-Latn-RS → hr-HR, which Windows numbers as the
///    same primary language);
/// 3. the language's first row in the table;
/// 4. en-US.
pub fn locale_info(lcid: u32) -> Result<&'static LocaleInfo> {
    check_lcid(lcid)?;
    if is_default_alias(lcid) {
        return Ok(&EN_US_ROW);
    }
    let langid = (lcid & 0xFFFF) as u16;
    let row = |id: u16| LOCALES.iter().find(|l| l.langid == id);
    let primary = langid & 0x03FF;
    let same_script = SCRIPT_FALLBACKS
        .iter()
        .find(|&&(from, _)| from == langid)
        .and_then(|&(_, to)| row(to));
    Ok(row(langid)
        .or(same_script)
        .or_else(|| row(primary | 0x0400))
        .or_else(|| LOCALES.iter().find(|l| l.langid & 0x03FF == primary))
        .unwrap_or(&EN_US_ROW))
}

/// en-US as a `'static` row.
static EN_US_ROW: LocaleInfo = EN_US;

/// The BCP-47 tag of `lcid` (MS-LCID's language tag): `fr-FR` for 0x040C,
/// `zh-Hant` for 0x7C04. LCIDs whose sort order is part of their identity
/// carry CLDR's collation keyword (`de-DE-u-co-phonebk` for 0x10407,
/// `es-ES-u-co-trad` for 0x040A); the three sorts CLDR lacks (hu-HU
/// technical, ka-GE modern, invariant mathematical) give the plain tag.
/// The invariant locale's tag is empty, as in Windows. The default aliases
/// give en-US (resolve them with [`resolve_lcid`] first to use an
/// application default); an LCID Windows does not define is
/// `E_INVALID_LCID`.
pub fn lcid_name(lcid: u32) -> Result<&'static str> {
    check_lcid(lcid)?;
    if is_default_alias(lcid) {
        return Ok(EN_US.name);
    }
    if let Some(sorted) = SORTED_LCIDS.iter().find(|s| s.lcid == lcid) {
        return Ok(sorted.bcp47);
    }
    Ok(<&lcid::LanguageId>::try_from(lcid).map_or("", |l| l.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error;
    use crate::locale::{LOCALE_SYSTEM_DEFAULT, LOCALE_USER_DEFAULT};

    #[test]
    fn defaults_and_en_us_give_en_us() {
        for lcid in [0, LOCALE_USER_DEFAULT, LOCALE_SYSTEM_DEFAULT, 0x0409] {
            let info = locale_info(lcid).unwrap();
            assert_eq!(info.name, "en-US", "{lcid:#x}");
            assert_eq!(info.short_date, "M/d/yyyy");
            assert_eq!(info.time_format, "h:mm:ss tt");
        }
    }

    #[test]
    fn resolving_the_default_aliases() {
        for alias in [0, LOCALE_USER_DEFAULT, LOCALE_SYSTEM_DEFAULT] {
            assert_eq!(resolve_lcid(alias, 0x040C), 0x040C);
            assert_eq!(resolve_lcid(alias, 0), LCID_EN_US);
        }
        assert_eq!(resolve_lcid(0x0407, 0x040C), 0x0407);
        assert_eq!(
            resolve_lcid(0xABCD, 0x040C),
            0xABCD,
            "validation is check_lcid's"
        );
        assert_eq!(locale_info(resolve_lcid(0, 0x0411)).unwrap().name, "ja-JP");
    }

    #[test]
    fn rows_are_found_by_langid() {
        for (lcid, name) in [
            (0x0407, "de-DE"),
            (0x040C, "fr-FR"),
            (0x0411, "ja-JP"),
            (0x0809, "en-GB"),
            (0x1409, "en-NZ"),
            (0x100C, "fr-CH"),
            (0x2C0A, "es-AR"),
            (0x1004, "zh-SG"),
            (0x040A, "es-ES_tradnl"),
            (0x0C0A, "es-ES"),
            (0x007F, ""),
        ] {
            assert_eq!(locale_info(lcid).unwrap().name, name, "{lcid:#x}");
        }
    }

    #[test]
    fn fallbacks_follow_the_documented_order() {
        for (lcid, name) in [
            (0x0001_0407, "de-DE"),   // sort ID ignored
            (0x0002_0804, "zh-CN"),   // stroke sort
            (0x0004_0411, "ja-JP"),   // radical/stroke sort
            (0x1007, "de-DE"),        // de-LU: SUBLANG_DEFAULT
            (0x0007, "de-DE"),        // neutral "de"
            (0x380A, "es-ES_tradnl"), // es-UY: SUBLANG_DEFAULT is 0x040A
            (0x2009, "en-US"),        // en-JM
            (0x4009, "en-US"),        // en-IN: no row (no Wine file)
            (0x140C, "fr-FR"),        // fr-LU
            (0x0C01, "ar-SA"),        // ar-EG
            (0x0814, "nb-NO"),        // nn-NO
            (0x241A, "hr-HR"),        // sr-Latn-RS: same primary language
            (0x0004, "zh-CN"),        // zh-Hans
            (0x7C04, "zh-TW"),        // zh-Hant
            (0x1404, "zh-HK"),        // zh-MO
            (0x0445, "en-US"),        // bn-IN: no Bengali row
            (0x0001_007F, ""),        // invariant, mathematical sort
        ] {
            assert_eq!(locale_info(lcid).unwrap().name, name, "{lcid:#x}");
        }
    }

    #[test]
    fn invalid_lcid_is_rejected() {
        for lcid in [0x0C00, 0xABCD, 0xFFFF_FFFF, 0x0001_0409, 0x0010_0407] {
            assert_eq!(
                locale_info(lcid).unwrap_err().code(),
                error::E_INVALID_LCID,
                "{lcid:#x}"
            );
            assert_eq!(
                lcid_name(lcid).unwrap_err().code(),
                error::E_INVALID_LCID,
                "{lcid:#x}"
            );
        }
    }

    #[test]
    fn names() {
        for (lcid, name) in [
            (0x0409, "en-US"),
            (0x040C, "fr-FR"),
            (0x0C0A, "es-ES"),
            (0x040A, "es-ES-u-co-trad"),
            (0x0001_0407, "de-DE-u-co-phonebk"),
            (0x0001_040E, "hu-HU"),
            (0x0003_0404, "zh-TW-u-co-zhuyin"),
            (0x7C04, "zh-Hant"),
            (0x241A, "sr-Latn-RS"),
            (0x007F, ""),
            (0, "en-US"),
        ] {
            assert_eq!(lcid_name(lcid), Ok(name), "{lcid:#x}");
        }
    }
}
