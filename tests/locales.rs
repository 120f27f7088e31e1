//! VARIANT text under every locale with data: per-locale tables of
//! number, currency, date and boolean text in both directions, round trips
//! under every row and fallback LCID, the data checked against the `lcid`
//! crate's MS-LCID table, LCID and code page validation.
//!
//! The expected texts are what Windows' `VariantChangeTypeEx` prints for
//! the row's NLS values (`src/locale/data.rs`): the short date and the long
//! time pattern, the decimal separator without grouping. The rows were
//! cross-checked against CLDR (ICU4X's compiled data, Latin digits,
//! Gregorian calendar): decimal separators agree for every row but ms-MY
//! (Windows `,`, CLDR `.`), en-ZA and fr-CH (Windows `.`, CLDR `,`) and
//! fa-IR (Windows keeps `٫` with ASCII digits, CLDR pairs it with Persian
//! digits); the day/month/year order agrees for every row but en-CA and
//! zh-SG (Windows d/m/y, CLDR y-m-d), pl-PL and lv-LV (Windows 7 y-m-d,
//! CLDR d-m-y). That check (`locales_cldr.rs`) needs ICU4X's data and is
//! not part of this file.

use sess::error;
use sess::locale::{
    check_codepage, check_lcid, lcid_name, locale_info, resolve_lcid, CODE_PAGES, LOCALES,
    SORTED_LCIDS,
};
use sess::variant::{change_type, flags, vt, Variant};

/// One locale's texts for fixed values.
struct Case {
    lcid: u32,
    /// `VT_R8` -1234.5.
    r8: &'static str,
    /// `VT_CY` 12.5.
    cy: &'static str,
    /// 1999-12-31 18:00:00.
    date_time: &'static str,
    /// 2000-01-02 (midnight: the date alone).
    date: &'static str,
    /// 06:05:09 on day 0 (the time alone).
    time: &'static str,
    /// True and False with `VARIANT_LOCALBOOL`.
    words: (&'static str, &'static str),
    /// 1234.5 with the locale's digit grouping (accepted when reading).
    grouped: &'static str,
}

/// 1999-12-31 18:00:00.
const DATE_TIME: f64 = 36525.75;
/// 2000-01-02.
const DATE: f64 = 36527.0;
/// 06:05:09.
const TIME: f64 = (6.0 * 3600.0 + 5.0 * 60.0 + 9.0) / 86_400.0;

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { lcid: 0x0409, r8: "-1234.5", cy: "12.5", date_time: "12/31/1999 6:00:00 PM", date: "1/2/2000", time: "6:05:09 AM", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x0809, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "06:05:09", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x0c09, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 6:00:00 PM", date: "2/01/2000", time: "6:05:09 AM", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x1009, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 6:00:00 PM", date: "02/01/2000", time: "6:05:09 AM", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x1409, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 6:00:00 p.m.", date: "2/01/2000", time: "6:05:09 a.m.", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x1809, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "06:05:09", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x1c09, r8: "-1234.5", cy: "12.5", date_time: "1999/12/31 06:00:00 PM", date: "2000/01/02", time: "06:05:09 AM", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x3409, r8: "-1234.5", cy: "12.5", date_time: "12/31/1999 6:00:00 PM", date: "1/2/2000", time: "6:05:09 AM", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x040c, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "06:05:09", words: ("Vrai", "Faux"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0c0c, r8: "-1234,5", cy: "12,5", date_time: "1999-12-31 18:00:00", date: "2000-01-02", time: "06:05:09", words: ("Vrai", "Faux"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x080c, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "2/01/2000", time: "6:05:09", words: ("Vrai", "Faux"), grouped: "1.234,5" },
    Case { lcid: 0x100c, r8: "-1234.5", cy: "12.5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Vrai", "Faux"), grouped: "1'234.5" },
    Case { lcid: 0x0407, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Wahr", "Falsch"), grouped: "1.234,5" },
    Case { lcid: 0x0c07, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Wahr", "Falsch"), grouped: "1.234,5" },
    Case { lcid: 0x0807, r8: "-1234.5", cy: "12.5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Wahr", "Falsch"), grouped: "1'234.5" },
    Case { lcid: 0x1407, r8: "-1234.5", cy: "12.5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Wahr", "Falsch"), grouped: "1'234.5" },
    Case { lcid: 0x0c0a, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "6:05:09", words: ("Verdadero", "Falso"), grouped: "1.234,5" },
    Case { lcid: 0x040a, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "6:05:09", words: ("Verdadero", "Falso"), grouped: "1.234,5" },
    Case { lcid: 0x080a, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 06:00:00 p.m.", date: "02/01/2000", time: "06:05:09 a.m.", words: ("Verdadero", "Falso"), grouped: "1,234.5" },
    Case { lcid: 0x2c0a, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 06:00:00 p.m.", date: "02/01/2000", time: "06:05:09 a.m.", words: ("Verdadero", "Falso"), grouped: "1.234,5" },
    Case { lcid: 0x240a, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 06:00:00 p.m.", date: "02/01/2000", time: "06:05:09 a.m.", words: ("Verdadero", "Falso"), grouped: "1.234,5" },
    Case { lcid: 0x340a, r8: "-1234,5", cy: "12,5", date_time: "31-12-1999 18:00:00", date: "02-01-2000", time: "6:05:09", words: ("Verdadero", "Falso"), grouped: "1.234,5" },
    Case { lcid: 0x280a, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 06:00:00 p.m.", date: "02/01/2000", time: "06:05:09 a.m.", words: ("Verdadero", "Falso"), grouped: "1,234.5" },
    Case { lcid: 0x0410, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18.00.00", date: "02/01/2000", time: "6.05.09", words: ("Vero", "Falso"), grouped: "1.234,5" },
    Case { lcid: 0x0810, r8: "-1234.5", cy: "12.5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Vero", "Falso"), grouped: "1'234.5" },
    Case { lcid: 0x0416, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "2/1/2000", time: "06:05:09", words: ("Verdadeiro", "Falso"), grouped: "1.234,5" },
    Case { lcid: 0x0816, r8: "-1234,5", cy: "12,5", date_time: "31-12-1999 18:00:00", date: "02-01-2000", time: "6:05:09", words: ("Verdadeiro", "Falso"), grouped: "1.234,5" },
    Case { lcid: 0x0413, r8: "-1234,5", cy: "12,5", date_time: "31-12-1999 18:00:00", date: "2-1-2000", time: "6:05:09", words: ("Waar", "Onwaar"), grouped: "1.234,5" },
    Case { lcid: 0x0813, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "2/01/2000", time: "6:05:09", words: ("Waar", "Onwaar"), grouped: "1.234,5" },
    Case { lcid: 0x041d, r8: "-1234,5", cy: "12,5", date_time: "1999-12-31 18:00:00", date: "2000-01-02", time: "06:05:09", words: ("Sant", "Falskt"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x081d, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "2.1.2000", time: "06:05:09", words: ("Sant", "Falskt"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0406, r8: "-1234,5", cy: "12,5", date_time: "31-12-1999 18:00:00", date: "02-01-2000", time: "06:05:09", words: ("Sand", "Falsk"), grouped: "1.234,5" },
    Case { lcid: 0x0414, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Sann", "Usann"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x040b, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "2.1.2000", time: "6:05:09", words: ("True", "False"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0415, r8: "-1234,5", cy: "12,5", date_time: "1999-12-31 18:00:00", date: "2000-01-02", time: "06:05:09", words: ("Prawda", "Fałsz"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0405, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "2.1.2000", time: "6:05:09", words: ("Pravda", "Nepravda"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x041b, r8: "-1234,5", cy: "12,5", date_time: "31. 12. 1999 18:00:00", date: "2. 1. 2000", time: "6:05:09", words: ("True", "False"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x040e, r8: "-1234,5", cy: "12,5", date_time: "1999. 12. 31. 18:00:00", date: "2000. 01. 02.", time: "6:05:09", words: ("Igaz", "Hamis"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0419, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "6:05:09", words: ("Правда", "Ложь"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0422, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "6:05:09", words: ("Істина", "Неправда"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0402, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 г. 18:00:00", date: "02.1.2000 г.", time: "06:05:09", words: ("Истина", "Лъжа"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0418, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Adevărat", "Fals"), grouped: "1.234,5" },
    Case { lcid: 0x041a, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "2.1.2000", time: "6:05:09", words: ("True", "False"), grouped: "1.234,5" },
    Case { lcid: 0x0424, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "2.1.2000", time: "6:05:09", words: ("Da", "Ne"), grouped: "1.234,5" },
    Case { lcid: 0x0427, r8: "-1234,5", cy: "12,5", date_time: "1999.12.31 18:00:00", date: "2000.01.02", time: "06:05:09", words: ("Tiesa", "Netiesa"), grouped: "1.234,5" },
    Case { lcid: 0x0426, r8: "-1234,5", cy: "12,5", date_time: "1999.12.31. 18:00:00", date: "2000.01.02.", time: "6:05:09", words: ("True", "False"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0425, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "2.01.2000", time: "6:05:09", words: ("True", "False"), grouped: "1\u{a0}234,5" },
    Case { lcid: 0x0403, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "06:05:09", words: ("True", "False"), grouped: "1.234,5" },
    Case { lcid: 0x041f, r8: "-1234,5", cy: "12,5", date_time: "31.12.1999 18:00:00", date: "02.01.2000", time: "06:05:09", words: ("Doğru", "Yanlış"), grouped: "1.234,5" },
    Case { lcid: 0x0408, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 6:00:00 μμ", date: "2/1/2000", time: "6:05:09 πμ", words: ("Αληθές", "Ψευδές"), grouped: "1.234,5" },
    Case { lcid: 0x040d, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "06:05:09", words: ("אמת", "שקר"), grouped: "1,234.5" },
    Case { lcid: 0x0401, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 06:00:00 م", date: "02/01/2000", time: "06:05:09 ص", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x0429, r8: "-1234٫5", cy: "12٫5", date_time: "1999/12/31 06:00:00 ب.ظ", date: "2000/01/02", time: "06:05:09 ق.ظ", words: ("True", "False"), grouped: "1٬234٫5" },
    Case { lcid: 0x0439, r8: "-1234.5", cy: "12.5", date_time: "31-12-1999 18:00:00", date: "02-01-2000", time: "06:05:09", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x041e, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 18:00:00", date: "2/1/2000", time: "6:05:09", words: ("จริง", "ไม่จริง"), grouped: "1,234.5" },
    Case { lcid: 0x042a, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 6:00:00 CH", date: "02/01/2000", time: "6:05:09 SA", words: ("True", "False"), grouped: "1.234,5" },
    Case { lcid: 0x0421, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "6:05:09", words: ("Benar", "Salah"), grouped: "1.234,5" },
    Case { lcid: 0x043e, r8: "-1234,5", cy: "12,5", date_time: "31/12/1999 18:00:00", date: "02/01/2000", time: "6:05:09", words: ("True", "False"), grouped: "1.234,5" },
    Case { lcid: 0x0411, r8: "-1234.5", cy: "12.5", date_time: "1999/12/31 18:00:00", date: "2000/01/02", time: "6:05:09", words: ("True", "False"), grouped: "1,234.5" },
    Case { lcid: 0x0412, r8: "-1234.5", cy: "12.5", date_time: "1999-12-31 오후 6:00:00", date: "2000-01-02", time: "오전 6:05:09", words: ("진실", "거짓"), grouped: "1,234.5" },
    Case { lcid: 0x0804, r8: "-1234.5", cy: "12.5", date_time: "1999-12-31 18:00:00", date: "2000-1-2", time: "6:05:09", words: ("真", "假"), grouped: "1,234.5" },
    Case { lcid: 0x1004, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 PM 6:00:00", date: "2/1/2000", time: "AM 6:05:09", words: ("真", "假"), grouped: "1,234.5" },
    Case { lcid: 0x0404, r8: "-1234.5", cy: "12.5", date_time: "1999/12/31 下午 06:00:00", date: "2000/1/2", time: "上午 06:05:09", words: ("真", "假"), grouped: "1,234.5" },
    Case { lcid: 0x0c04, r8: "-1234.5", cy: "12.5", date_time: "31/12/1999 18:00:00", date: "2/1/2000", time: "6:05:09", words: ("真", "假"), grouped: "1,234.5" },
    Case { lcid: 0x007f, r8: "-1234.5", cy: "12.5", date_time: "12/31/1999 18:00:00", date: "01/02/2000", time: "06:05:09", words: ("True", "False"), grouped: "1,234.5" },
];

fn text(value: Variant, lcid: u32, flags: u16) -> String {
    match change_type(&value, lcid, flags, vt::BSTR) {
        Ok(Variant::Bstr(s)) => s.into(),
        other => panic!("{lcid:#x}: {other:?}"),
    }
}

fn read(s: &str, lcid: u32, flags: u16, target: u16) -> Result<Variant, i32> {
    change_type(&Variant::Bstr(s.into()), lcid, flags, target).map_err(|e| e.code())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn date_of(s: &str, lcid: u32) -> Result<f64, i32> {
    match read(s, lcid, 0, vt::DATE)? {
        Variant::Date(d) => Ok(d),
        other => panic!("{other:?}"),
    }
}

fn r8_of(s: &str, lcid: u32) -> Result<f64, i32> {
    match read(s, lcid, 0, vt::R8)? {
        Variant::R8(x) => Ok(x),
        other => panic!("{other:?}"),
    }
}

#[test]
fn there_are_at_least_forty_locales_and_the_issue_lists_them_all() {
    assert!(LOCALES.len() >= 40, "{}", LOCALES.len());
    assert_eq!(CASES.len(), LOCALES.len(), "every row has a case");
    for name in [
        "en-US",
        "en-GB",
        "fr-FR",
        "de-DE",
        "es-ES",
        "es-ES_tradnl",
        "it-IT",
        "pt-BR",
        "pt-PT",
        "nl-NL",
        "sv-SE",
        "da-DK",
        "nb-NO",
        "fi-FI",
        "pl-PL",
        "cs-CZ",
        "hu-HU",
        "ru-RU",
        "uk-UA",
        "tr-TR",
        "el-GR",
        "he-IL",
        "ar-SA",
        "fa-IR",
        "hi-IN",
        "th-TH",
        "vi-VN",
        "id-ID",
        "ms-MY",
        "ja-JP",
        "ko-KR",
        "zh-CN",
        "zh-TW",
        "zh-HK",
    ] {
        assert!(LOCALES.iter().any(|l| l.name == name), "{name}");
    }
}

#[test]
fn rows_agree_with_ms_lcid() {
    // The `lcid` crate's table is MS-LCID's: each row's LANGID is defined,
    // unique, and carries the same name (es-ES's traditional sort and the
    // invariant locale aside, whose Windows names the crate does not use).
    for (i, row) in LOCALES.iter().enumerate() {
        let lcid = u32::from(row.langid);
        assert_eq!(check_lcid(lcid), Ok(lcid), "{}", row.name);
        assert!(
            LOCALES[..i].iter().all(|other| other.langid != row.langid),
            "{} twice",
            row.name
        );
        match row.langid {
            0x040A => assert_eq!(row.name, "es-ES_tradnl"),
            _ => assert_eq!(lcid_name(lcid), Ok(row.name), "{lcid:#x}"),
        }
        assert_eq!(locale_info(lcid).unwrap().name, row.name);
        assert!(
            !row.decimal.is_empty() && row.decimal != row.thousands,
            "{}",
            row.name
        );
        assert!(!row.source.is_empty(), "{}", row.name);
    }
}

#[test]
fn values_to_text_per_locale() {
    for c in CASES {
        let lcid = c.lcid;
        assert_eq!(text(Variant::R8(-1234.5), lcid, 0), c.r8, "{lcid:#x}");
        assert_eq!(text(Variant::R4(-1234.5), lcid, 0), c.r8, "{lcid:#x}");
        assert_eq!(text(Variant::Cy(125_000), lcid, 0), c.cy, "{lcid:#x}");
        assert_eq!(text(Variant::I4(-1234), lcid, 0), "-1234", "{lcid:#x}");
        assert_eq!(
            text(Variant::Date(DATE_TIME), lcid, 0),
            c.date_time,
            "{lcid:#x}"
        );
        assert_eq!(text(Variant::Date(DATE), lcid, 0), c.date, "{lcid:#x}");
        assert_eq!(text(Variant::Date(TIME), lcid, 0), c.time, "{lcid:#x}");
        let local = flags::VARIANT_LOCALBOOL;
        assert_eq!(
            text(Variant::bool(true), lcid, local),
            c.words.0,
            "{lcid:#x}"
        );
        assert_eq!(
            text(Variant::bool(false), lcid, local),
            c.words.1,
            "{lcid:#x}"
        );
        // Without VARIANT_LOCALBOOL: English words or -1/0, in every locale.
        let alpha = flags::VARIANT_ALPHABOOL;
        assert_eq!(text(Variant::bool(true), lcid, alpha), "True", "{lcid:#x}");
        assert_eq!(text(Variant::bool(false), lcid, 0), "0", "{lcid:#x}");
    }
}

#[test]
fn text_to_values_per_locale() {
    for c in CASES {
        let lcid = c.lcid;
        assert_eq!(r8_of(c.r8, lcid), Ok(-1234.5), "{lcid:#x} {:?}", c.r8);
        assert_eq!(
            r8_of(c.grouped, lcid),
            Ok(1234.5),
            "{lcid:#x} {:?}",
            c.grouped
        );
        assert_eq!(
            read(c.cy, lcid, 0, vt::CY),
            Ok(Variant::Cy(125_000)),
            "{lcid:#x}"
        );
        let info = locale_info(lcid).unwrap();
        let with_symbol = format!("{}{}", info.currency, c.cy);
        assert_eq!(
            read(&with_symbol, lcid, 0, vt::CY),
            Ok(Variant::Cy(125_000)),
            "{lcid:#x} {with_symbol:?}"
        );
        for (s, value) in [(c.date_time, DATE_TIME), (c.date, DATE), (c.time, TIME)] {
            let got = date_of(s, lcid);
            assert!(
                got.is_ok_and(|d| close(d, value)),
                "{lcid:#x} {s:?}: {got:?}"
            );
        }
        let local = flags::VARIANT_LOCALBOOL;
        for (word, value) in [(c.words.0, true), (c.words.1, false)] {
            assert_eq!(read(word, lcid, local, vt::BOOL), Ok(Variant::bool(value)));
            let upper = word.to_uppercase();
            assert_eq!(
                read(&upper, lcid, local, vt::BOOL),
                Ok(Variant::bool(value))
            );
        }
        // English words are read in every locale, with or without the flag.
        assert_eq!(read("true", lcid, local, vt::BOOL), Ok(Variant::bool(true)));
        assert_eq!(read("False", lcid, 0, vt::BOOL), Ok(Variant::bool(false)));
        if c.words.0 != "True" {
            // The locale's words only with VARIANT_LOCALBOOL.
            assert_eq!(
                read(c.words.0, lcid, 0, vt::BOOL),
                Err(error::DISP_E_TYPEMISMATCH),
                "{lcid:#x}"
            );
        }
    }
}

#[test]
fn sub_locales_write_as_windows_does_not_as_their_language() {
    // CStr(1234.5) and a date under sub-locales whose formats differ from
    // their language's SUBLANG_DEFAULT locale, which they used to borrow
    // (every row's texts are in CASES).
    for (lcid, number, date) in [
        (0x100C, "1234.5", "31.12.1999 18:00:00"), // fr-CH, not fr-FR's 1234,5
        (0x0810, "1234.5", "31.12.1999 18:00:00"), // it-CH, not it-IT's 1234,5
        (0x1409, "1234.5", "31/12/1999 6:00:00 p.m."), // en-NZ, not en-US's 12/31/1999
        (0x0813, "1234,5", "31/12/1999 18:00:00"), // nl-BE, not nl-NL's 31-12-1999
        (0x2C0A, "1234,5", "31/12/1999 06:00:00 p.m."), // es-AR, not es-ES's 18:00:00
        (0x081D, "1234,5", "31.12.1999 18:00:00"), // sv-FI, not sv-SE's 1999-12-31
        (0x1004, "1234.5", "31/12/1999 PM 6:00:00"), // zh-SG, not zh-CN's 1999-12-31
    ] {
        assert_eq!(text(Variant::R8(1234.5), lcid, 0), number, "{lcid:#x}");
        assert_eq!(text(Variant::Date(DATE_TIME), lcid, 0), date, "{lcid:#x}");
    }
    // Swiss French and Italian group with `'` and read `.` as the decimal
    // separator.
    assert_eq!(r8_of("1'234.5", 0x100C), Ok(1234.5));
    assert_eq!(r8_of("2.5", 0x0810), Ok(2.5));
    assert_eq!(
        read("SFr.12.5", 0x100C, 0, vt::CY),
        Ok(Variant::Cy(125_000))
    );
}

#[test]
fn the_issues_examples() {
    assert_eq!(r8_of("3,14", 1036), Ok(314.0 / 100.0));
    assert_eq!(r8_of("1.234,5", 0x0407), Ok(1234.5));
    assert_eq!(r8_of("1,234.5", 0x0409), Ok(1234.5));
    // With "." grouping digits, "3.14" is 314 under de-DE, as in Windows.
    assert_eq!(r8_of("3.14", 0x0407), Ok(314.0));
    let new_years_eve = 36525.0;
    assert!(date_of("31/12/1999", 0x0809).is_ok_and(|d| close(d, new_years_eve)));
    // Invalid in en-US's order, the date is read in the first order that
    // makes it valid, as Windows does.
    assert!(date_of("31/12/1999", 0x0409).is_ok_and(|d| close(d, new_years_eve)));
    assert!(date_of("12/31/1999", 0x0409).is_ok_and(|d| close(d, new_years_eve)));
    // 1036 formats dates day/month/year (the seed's example).
    assert_eq!(text(Variant::Date(36525.0), 1036, 0), "31/12/1999");
}

#[test]
fn space_like_group_separators() {
    // fr-FR groups with U+00A0; a plain space and U+202F (newer Windows'
    // separator) are read too.
    for s in [
        "1\u{a0}234,5",
        "1 234,5",
        "1\u{202f}234,5",
        " 1 234 567,25 ",
    ] {
        let got = r8_of(s, 0x040C).unwrap();
        assert!(got == 1234.5 || got == 1_234_567.25, "{s:?}: {got}");
    }
    assert_eq!(r8_of("1\u{202f}234", 0x0419), Ok(1234.0));
    // Where the locale groups with something else, a space separates nothing.
    assert_eq!(r8_of("1 234", 0x0409), Err(error::DISP_E_TYPEMISMATCH));
    assert_eq!(r8_of("1 234", 0x0407), Err(error::DISP_E_TYPEMISMATCH));
}

#[test]
fn am_pm_designators_of_the_locale() {
    let six_pm = 0.75;
    for (s, lcid) in [
        ("6:00 PM", 0x0409),
        ("6:00 p.m.", 0x080A),
        ("오후 6:00:00", 0x0412),
        ("6:00 오후", 0x0412),
        ("下午 06:00:00", 0x0404),
        ("6:00:00 午後", 0x0411),
        ("午後 6:00", 0x0411),
        ("6:00:00 μμ", 0x0408),
        ("06:00:00 م", 0x0401),
        ("6:00 odp.", 0x0405),
        ("6:00 du.", 0x040E),
        ("6:00 p", 0x0407),
    ] {
        let got = date_of(s, lcid);
        assert!(
            got.is_ok_and(|d| close(d, six_pm)),
            "{lcid:#x} {s:?}: {got:?}"
        );
    }
    // A locale without designators does not read English ones.
    assert_eq!(date_of("6:00 PM", 0x0407), Err(error::DISP_E_TYPEMISMATCH));
    // Korean writes the designator first; a date comes before it.
    assert!(date_of("1999-12-31 오후 6:00:00", 0x0412).is_ok_and(|d| close(d, DATE_TIME)));
    assert_eq!(
        date_of("오후 1999-12-31", 0x0412),
        Err(error::DISP_E_TYPEMISMATCH)
    );
    assert_eq!(
        date_of("오후 6:00 오후", 0x0412),
        Err(error::DISP_E_TYPEMISMATCH)
    );
}

#[test]
fn date_separators_and_suffixes() {
    let day = 36525.0;
    for (s, lcid) in [
        ("31.12.1999", 0x0407),
        ("31-12-1999", 0x0407),
        ("31/12/1999", 0x0407),
        ("1999. 12. 31.", 0x040E),
        ("1999.12.31", 0x040E),
        ("1999.12.31.", 0x0426),
        ("31.12.1999 г.", 0x0402),
        ("31.12.1999", 0x0402),
        ("31. 12. 1999", 0x041B),
        ("1999-12-31", 0x041D),
        ("1999/12/31", 0x0411),
        ("99/12/31", 0x0411),
        ("31-12-99", 0x0413),
        ("1999-12-31", 0x0409), // year first with four digits: every locale
    ] {
        let got = date_of(s, lcid);
        assert!(got.is_ok_and(|d| close(d, day)), "{lcid:#x} {s:?}: {got:?}");
    }
    // it-IT writes times with dots: both its own and ":" are read.
    for s in ["18.30", "18:30", "18.30.00"] {
        let got = date_of(s, 0x0410);
        assert!(
            got.is_ok_and(|d| close(d, 0.7708333333333334)),
            "{s:?}: {got:?}"
        );
    }
    for (s, lcid) in [
        ("31.12.1999", 0x0409), // "." separates no dates in en-US: a time
        ("12.31.60", 0x0409),   // with 60 seconds
        ("31.12.1999 x.", 0x0402),
    ] {
        assert_eq!(
            date_of(s, lcid),
            Err(error::DISP_E_TYPEMISMATCH),
            "{lcid:#x} {s:?}"
        );
    }
}

#[test]
fn round_trips_under_every_row_sort_and_fallback() {
    let mut lcids: Vec<u32> = LOCALES.iter().map(|l| u32::from(l.langid)).collect();
    lcids.extend(SORTED_LCIDS.iter().map(|s| s.lcid));
    lcids.extend([
        0, 0x0400, 0x0800, 0x1007, 0x380A, 0x2009, 0x4009, 0x0C01, 0x241A, 0x1404, 0x0445,
    ]);
    let numbers = [0.0, -0.5, 1.0 / 3.0, 1e16, -5.6789e-12, 123_456_789.25];
    let dates = [
        0.0,
        0.5,
        1.0,
        36525.75,
        -1.25,
        -657_434.0,
        2_958_465.0 + 86_399.0 / 86_400.0,
        40724.05594907407,
    ];
    for &lcid in &lcids {
        for x in numbers {
            let s = text(Variant::R8(x), lcid, 0);
            let back = r8_of(&s, lcid).unwrap();
            assert!((back - x).abs() <= x.abs() * 1e-14, "{lcid:#x} {s:?}");
        }
        for cy in [0, -1, 125_000, i64::MAX, i64::MIN + 1] {
            let s = text(Variant::Cy(cy), lcid, 0);
            assert_eq!(
                read(&s, lcid, 0, vt::CY),
                Ok(Variant::Cy(cy)),
                "{lcid:#x} {s:?}"
            );
        }
        for d in dates {
            let s = text(Variant::Date(d), lcid, 0);
            let back = date_of(&s, lcid).unwrap();
            assert!((back - d).abs() < 1.0 / 86_400.0, "{lcid:#x} {s:?}: {back}");
        }
        for b in [true, false] {
            for f in [0, flags::VARIANT_ALPHABOOL, flags::VARIANT_LOCALBOOL] {
                let s = text(Variant::bool(b), lcid, f);
                let flags = f & flags::VARIANT_LOCALBOOL;
                assert_eq!(
                    read(&s, lcid, flags, vt::BOOL),
                    Ok(Variant::bool(b)),
                    "{lcid:#x} {s:?}"
                );
            }
        }
    }
}

#[test]
fn no_text_makes_a_conversion_panic_under_any_locale() {
    let texts = [
        "",
        " ",
        "\u{a0}",
        "\u{202f}",
        ".",
        ",",
        "٫",
        "-",
        "'",
        "г.",
        "1999. 12.",
        "오후",
        "오후 ",
        "午後 25:00",
        "tt",
        "31.12.1999 г",
        "1 234,5\u{a0}€",
        "R$ 5",
        "(1 234,5)",
        "1.2.3.4",
        "\u{66b}5",
        "12/31/1999 오전 오후",
        "9999999999/1/1",
        "1/1/4294967296",
    ];
    for row in LOCALES {
        for s in texts {
            for target in [vt::R8, vt::CY, vt::DATE, vt::BOOL, vt::I4] {
                let _ = read(s, u32::from(row.langid), flags::VARIANT_LOCALBOOL, target);
            }
        }
    }
}

#[test]
fn lcids_windows_defines() {
    for lcid in [
        0x0409,
        0x040A,
        0x0C0A,
        0x007F,
        0x7C04,
        0x0001_0407,
        0x0002_0804,
        0x0004_0411,
    ] {
        assert_eq!(check_lcid(lcid), Ok(lcid), "{lcid:#x}");
        assert!(change_type(&Variant::R8(0.5), lcid, 0, vt::BSTR).is_ok());
    }
    for s in SORTED_LCIDS {
        // The language part of every sorted LCID is itself defined.
        assert_eq!(
            check_lcid(s.lcid & 0xFFFF),
            Ok(s.lcid & 0xFFFF),
            "{}",
            s.windows_name
        );
        assert_eq!(lcid_name(s.lcid), Ok(s.bcp47));
    }
    for lcid in [
        0x0C00,      // LOCALE_CUSTOM_DEFAULT
        0x1000,      // LOCALE_CUSTOM_UNSPECIFIED
        0x1400,      // LOCALE_CUSTOM_UI_DEFAULT
        0x0001_0409, // en-US has no alternate sort
        0x0002_0404, // nor zh-TW a stroke sort
        0x0006_0804, // sort ID MS-LCID does not define
        0x0010_0407, // reserved bits
        0x0458,      // reserved (mni-IN)
        0xABCD,
        u32::MAX,
    ] {
        assert_eq!(
            check_lcid(lcid).unwrap_err().code(),
            error::E_INVALID_LCID,
            "{lcid:#x}"
        );
        assert_eq!(
            change_type(&Variant::R8(0.5), lcid, 0, vt::BSTR)
                .unwrap_err()
                .code(),
            error::E_INVALID_LCID,
            "{lcid:#x}"
        );
    }
}

#[test]
fn the_application_default_replaces_the_aliases() {
    let fr = resolve_lcid(0x0400, 0x040C);
    assert_eq!(text(Variant::R8(0.5), fr, 0), "0,5");
    assert_eq!(
        text(Variant::R8(0.5), resolve_lcid(0x0411, 0x040C), 0),
        "0.5"
    );
    assert_eq!(
        text(Variant::R8(0.5), 0x0800, 0),
        "0.5",
        "unresolved: en-US"
    );
}

#[test]
fn code_pages_are_the_issues_list() {
    // Each accepted code page has an encoder in `codepage` + `encoding_rs`,
    // or is one of the single-byte code pages served by `oem_cp`'s tables
    // (the OEM code pages) or the library's own (ISO 8859-1/-9, US-ASCII).
    let single_byte = [
        437, 720, 737, 775, 850, 852, 855, 857, 858, 860, 861, 862, 863, 864, 865, 866, 869, 20127,
    ];
    for &cp in CODE_PAGES {
        assert_eq!(check_codepage(cp), Ok(cp));
        let encoding = u16::try_from(cp)
            .ok()
            .and_then(codepage::to_encoding_no_replacement);
        assert!(encoding.is_some() || single_byte.contains(&cp), "{cp}");
    }
    let issue: Vec<u32> = [874, 932, 936, 949, 950]
        .into_iter()
        .chain(single_byte)
        .chain(1250..=1258)
        .chain([20866, 21866])
        .chain((28591..=28599).chain([28603, 28605]))
        .chain([54936, 65001, 1200, 1201])
        .collect();
    assert_eq!(CODE_PAGES.len(), issue.len());
    assert!(issue.iter().all(|cp| CODE_PAGES.contains(cp)));
    // Everything else is rejected, including numbers `codepage` maps that
    // are not Windows code pages or not on the list.
    for cp in (0..=70_000).filter(|cp| !CODE_PAGES.contains(cp)) {
        assert_eq!(
            check_codepage(cp).unwrap_err().code(),
            error::E_INVALID_CODEPAGE,
            "{cp}"
        );
    }
    for cp in [
        1361,
        10000,
        20932,
        28600,
        28601,
        28604,
        50220,
        51949,
        52936,
        u32::MAX,
    ] {
        assert!(check_codepage(cp).is_err(), "{cp}");
    }
}
