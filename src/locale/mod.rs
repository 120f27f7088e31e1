//! Locales and code pages: which LCIDs and code pages exist, and the data that
//! shapes text for a locale.

mod collate;
mod data;
mod date_names;
pub mod encoding;
mod info;
mod single_byte;
mod user_defined;

pub use collate::{compare_flags, compare_text};
pub use data::{SortedLcid, EN_US, LOCALES, SORTED_LCIDS};
pub use date_names::{date_names, DateNames};
pub use info::{lcid_name, locale_info, resolve_lcid, LocaleInfo};

use crate::error::{self, Error, Result};

/// `LOCALE_USER_DEFAULT`: the application's default locale.
pub const LOCALE_USER_DEFAULT: u32 = 0x0400;
/// `LOCALE_SYSTEM_DEFAULT`: the application's default locale.
pub const LOCALE_SYSTEM_DEFAULT: u32 = 0x0800;
/// en-US, the default locale.
pub const LCID_EN_US: u32 = 0x0409;
/// UTF-8, the default code page.
pub const CP_UTF8: u32 = 65001;

/// Accepts an LCID Windows defines (MS-LCID), or one of the default aliases
/// (0, `LOCALE_USER_DEFAULT`, `LOCALE_SYSTEM_DEFAULT`); `E_INVALID_LCID`
/// otherwise. With sort ID 0 the language ID must be one the `lcid` crate
/// (MS-LCID's table) defines, reserved and temporary ones excluded; with
/// another sort ID the LCID must be one of the 14 MS-LCID lists
/// ([`SORTED_LCIDS`]: 0x10407 de-DE phone book, 0x20804 zh-CN stroke, ...).
pub fn check_lcid(lcid: u32) -> Result<u32> {
    let defined = is_default_alias(lcid)
        || <&lcid::LanguageId>::try_from(lcid).is_ok()
        || SORTED_LCIDS.iter().any(|s| s.lcid == lcid);
    if defined {
        Ok(lcid)
    } else {
        Err(Error::new(
            error::E_INVALID_LCID,
            format!("LCID {lcid} ({lcid:#06x}) is not a locale Windows defines"),
        ))
    }
}

/// Whether `lcid` means "the default locale" rather than a locale of its own.
pub fn is_default_alias(lcid: u32) -> bool {
    matches!(lcid, 0 | LOCALE_USER_DEFAULT | LOCALE_SYSTEM_DEFAULT)
}

/// The code pages [`check_codepage`] accepts: Windows code pages that
/// `codepage` + `encoding_rs` or `oem_cp` encode. The OEM (DOS) code pages
/// 437, 720, 737, 775, 850, 852, 855, 857, 858, 860–866 and 869; US-ASCII
/// 20127; Thai 874; Japanese 932 (Shift_JIS);
/// Simplified Chinese 936 (GBK) and 54936 (GB18030); Korean 949; Traditional
/// Chinese 950 (Big5); the Windows ANSI code pages 1250–1258; KOI8-R 20866
/// and KOI8-U 21866; ISO 8859-1 … -9, -13 and -15 (28591–28599, 28603,
/// 28605: the numbers in 28591–28605 Windows defines); UTF-8 65001; UTF-16
/// 1200 (little-endian) and 1201 (big-endian).
pub const CODE_PAGES: &[u32] = &[
    437, 720, 737, 775, 850, 852, 855, 857, 858, 860, 861, 862, 863, 864, 865, 866, 869, 874, 932,
    936, 949, 950, 1200, 1201, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258, 20127, 20866,
    21866, 28591, 28592, 28593, 28594, 28595, 28596, 28597, 28598, 28599, 28603, 28605, 54936,
    65001,
];

/// Accepts a code page of [`CODE_PAGES`]; `E_INVALID_CODEPAGE` for any other
/// number (code pages without an encoder, such as 1361 or 10000, and numbers
/// the `codepage` crate maps but Windows does not define, such as 28600).
pub fn check_codepage(cp: u32) -> Result<u32> {
    if CODE_PAGES.contains(&cp) {
        Ok(cp)
    } else {
        Err(Error::new(
            error::E_INVALID_CODEPAGE,
            format!("code page {cp} is not a code page this library can encode"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcids() {
        for ok in [
            0, 0x0400, 0x0800, 1, 1033, 1036, 1041, 1028, 2057, 0x040A, 0x0C0A,
        ] {
            assert_eq!(check_lcid(ok), Ok(ok), "{ok}");
        }
        for s in SORTED_LCIDS {
            assert_eq!(check_lcid(s.lcid), Ok(s.lcid), "{}", s.windows_name);
        }
        assert_eq!(
            SORTED_LCIDS.len(),
            15,
            "MS-LCID's 14 sorts and es-ES_tradnl"
        );
        for bad in [
            0x0C00,
            0x1000,
            0xFFFF_FFFF,
            0x0001_0000,
            0xABCD,
            0x0001_0409,
            0x0005_0404,
            0x0010_0407,
        ] {
            assert_eq!(
                check_lcid(bad).unwrap_err().code(),
                error::E_INVALID_LCID,
                "{bad}"
            );
        }
    }

    #[test]
    fn codepages() {
        for ok in [
            932, 950, 1252, 65001, 1200, 1201, 28591, 20866, 54936, 874, 28605, 437, 850, 20127,
        ] {
            assert_eq!(check_codepage(ok), Ok(ok), "{ok}");
        }
        for bad in [0, 1, 1361, 10000, 28600, 28604, 50220, 65000, 70000] {
            assert_eq!(
                check_codepage(bad).unwrap_err().code(),
                error::E_INVALID_CODEPAGE,
                "{bad}"
            );
        }
    }
}
