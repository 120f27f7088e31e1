//! The data that shapes VARIANT text for a locale.
//!
//! Each locale is a row of data in [`LOCALES`], with the source of its values
//! named beside it; code that formats or parses text reads a [`LocaleInfo`]
//! and never branches on an LCID.

use super::check_lcid;
use crate::error::Result;

/// How a locale writes numbers, dates, times and booleans (Windows NLS values).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocaleInfo {
    /// The LANGID (low 16 bits of an LCID) this row describes.
    pub langid: u16,
    /// BCP-47 name, e.g. `en-US`.
    pub name: &'static str,
    /// `sDecimal`: the decimal separator.
    pub decimal: &'static str,
    /// `sThousand`: the digit-group separator (accepted when reading numbers).
    pub thousands: &'static str,
    /// `sGrouping`: digit grouping; OLE's number→text never groups, kept for
    /// formatting that does.
    pub grouping: &'static str,
    /// `iNegNumber`: negative number form (1 is `-1.1`); OLE's number→text
    /// always writes a leading `-`, kept for formatting that follows it.
    pub negative_number: u8,
    /// `sNegativeSign`.
    pub negative_sign: &'static str,
    /// `sCurrency`: the currency symbol (accepted when reading numbers).
    pub currency: &'static str,
    /// `sList`: the list separator.
    pub list: &'static str,
    /// `sShortDate`: the short date pattern (`d`, `dd`, `M`, `MM`, `yy`, `yyyy`).
    pub short_date: &'static str,
    /// `sTimeFormat`: the time pattern (`h`/`H`, `mm`, `ss`, `tt`).
    pub time_format: &'static str,
    /// `s1159`: the AM designator.
    pub am: &'static str,
    /// `s2359`: the PM designator.
    pub pm: &'static str,
    /// oleaut32's localized text for True (`VARIANT_LOCALBOOL`).
    pub true_word: &'static str,
    /// oleaut32's localized text for False (`VARIANT_LOCALBOOL`).
    pub false_word: &'static str,
}

/// en-US. Source: Windows NLS locale data for 0x0409 (GetLocaleInfoEx:
/// sDecimal ".", sThousand ",", sGrouping "3;0", iNegNumber 1, sNegativeSign
/// "-", sCurrency "$", sList ",", sShortDate "M/d/yyyy", sTimeFormat
/// "h:mm:ss tt", s1159 "AM", s2359 "PM"); True/False from oleaut32's
/// English string table.
pub static EN_US: LocaleInfo = LocaleInfo {
    langid: 0x0409,
    name: "en-US",
    decimal: ".",
    thousands: ",",
    grouping: "3;0",
    negative_number: 1,
    negative_sign: "-",
    currency: "$",
    list: ",",
    short_date: "M/d/yyyy",
    time_format: "h:mm:ss tt",
    am: "AM",
    pm: "PM",
    true_word: "True",
    false_word: "False",
};

/// Every locale with its own data; others fall back to [`EN_US`].
pub static LOCALES: &[&LocaleInfo] = &[&EN_US];

/// The text data for `lcid`.
///
/// An LCID Windows does not define is `E_INVALID_LCID` (from [`check_lcid`]).
/// The default aliases (0, `LOCALE_USER_DEFAULT`, `LOCALE_SYSTEM_DEFAULT`) and
/// 0x0409 give en-US. Every other valid LCID currently also falls back to
/// en-US: only en-US has data so far; further locales are added as rows of
/// [`LOCALES`] (matched on the LANGID, so sort-order variants share a row).
pub fn locale_info(lcid: u32) -> Result<&'static LocaleInfo> {
    check_lcid(lcid)?;
    let langid = lcid & 0xFFFF;
    Ok(LOCALES
        .iter()
        .copied()
        .find(|l| u32::from(l.langid) == langid)
        .unwrap_or(&EN_US))
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
    fn other_valid_lcids_fall_back_to_en_us() {
        for lcid in [0x0407, 0x040C, 0x0411, 0x0809] {
            assert_eq!(locale_info(lcid).unwrap(), &EN_US, "{lcid:#x}");
        }
    }

    #[test]
    fn invalid_lcid_is_rejected() {
        for lcid in [0x0C00, 0xABCD, 0xFFFF_FFFF] {
            assert_eq!(
                locale_info(lcid).unwrap_err().code(),
                error::E_INVALID_LCID,
                "{lcid:#x}"
            );
        }
    }
}
