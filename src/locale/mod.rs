//! Locales and code pages: which LCIDs and code pages exist, and the data that
//! shapes text for a locale.

pub mod encoding;
mod info;

pub use info::{locale_info, LocaleInfo, EN_US, LOCALES};

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
/// (0, `LOCALE_USER_DEFAULT`, `LOCALE_SYSTEM_DEFAULT`); `E_INVALID_LCID` otherwise.
pub fn check_lcid(lcid: u32) -> Result<u32> {
    if is_default_alias(lcid) || <&lcid::LanguageId>::try_from(lcid).is_ok() {
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

/// Accepts a Windows code page that a real encoder serves (via `codepage` and
/// `encoding_rs`); `E_INVALID_CODEPAGE` otherwise.
pub fn check_codepage(cp: u32) -> Result<u32> {
    let served = u16::try_from(cp)
        .ok()
        .and_then(codepage::to_encoding_no_replacement)
        .is_some();
    if served {
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
        for ok in [0, 0x0400, 0x0800, 1, 1033, 1036, 1041, 1028, 2057] {
            assert_eq!(check_lcid(ok), Ok(ok), "{ok}");
        }
        for bad in [0x0C00, 0x1000, 0xFFFF_FFFF, 0x0001_0000, 0xABCD] {
            assert_eq!(
                check_lcid(bad).unwrap_err().code(),
                error::E_INVALID_LCID,
                "{bad}"
            );
        }
    }

    #[test]
    fn codepages() {
        for ok in [932, 950, 1252, 65001, 1200, 1201, 28591, 20866] {
            assert_eq!(check_codepage(ok), Ok(ok), "{ok}");
        }
        for bad in [0, 1, 437, 65000, 70000] {
            assert_eq!(
                check_codepage(bad).unwrap_err().code(),
                error::E_INVALID_CODEPAGE,
                "{bad}"
            );
        }
    }
}
