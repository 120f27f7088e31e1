//! Locale data as tables: one row per locale, each with its source.
//!
//! # Sources
//!
//! - **Number, date and time fields** (`sDecimal`, `sThousand`, `sGrouping`,
//!   `iNegNumber`, `sNegativeSign`, `sCurrency`, `sList`, `sShortDate`,
//!   `sTimeFormat`, `s1159`, `s2359`): Windows NLS values as Wine recorded
//!   them in its per-locale files `dlls/kernel32/nls/<abbr>.nls` (the last
//!   revision of each file before Wine moved to generated data; the files
//!   carry Windows Vista/7 fields such as `LOCALE_SNAME` and were kept in step
//!   with later currency changes). One consistent source for every row; the
//!   row's `source` names its file. Two currency symbols there predate the
//!   euro and are replaced by Windows' `€` (named in those rows' `source`).
//!   Every row's `sNegativeSign` is `-` in that source.
//!   Space-like digit-group separators are U+00A0 (no-break space), as in
//!   Windows 7's NLS data; later Windows releases moved some locales (fr-FR)
//!   to U+202F, which parsing accepts too.
//! - **True/False** (`VARIANT_LOCALBOOL`): oleaut32's string resources per
//!   language, as Wine's `dlls/oleaut32/oleaut32_*.rc` hold them (kept in
//!   ReactOS's `dll/win32/oleaut32/lang/`). Languages without such a
//!   resource use English, as oleaut32 does when it has no resource for the
//!   language.
//! - **LCIDs with a sort ID**: MS-LCID 2.2 ("LCID Structure") and Windows'
//!   "Sort Order Identifiers"; the BCP-47 form uses CLDR's collation keyword
//!   (`-u-co-…`) where CLDR has the collation (the mapping ICU4X uses for
//!   Windows locale names).

use super::info::LocaleInfo;

/// U+00A0 NO-BREAK SPACE, Windows' digit-group separator for many locales.
const NBSP: &str = "\u{a0}";

/// oleaut32's True/False words for a language.
type Words = (&'static str, &'static str);

const EN: Words = ("True", "False");
const BG: Words = ("Истина", "Лъжа");
const CS: Words = ("Pravda", "Nepravda");
const DA: Words = ("Sand", "Falsk");
const DE: Words = ("Wahr", "Falsch");
const EL: Words = ("Αληθές", "Ψευδές");
const ES: Words = ("Verdadero", "Falso");
const FR: Words = ("Vrai", "Faux");
const HE: Words = ("אמת", "שקר");
const HU: Words = ("Igaz", "Hamis");
const ID: Words = ("Benar", "Salah");
const IT: Words = ("Vero", "Falso");
const KO: Words = ("진실", "거짓");
const LT: Words = ("Tiesa", "Netiesa");
const NB: Words = ("Sann", "Usann");
const NL: Words = ("Waar", "Onwaar");
const PL: Words = ("Prawda", "Fałsz");
const PT: Words = ("Verdadeiro", "Falso");
const RO: Words = ("Adevărat", "Fals");
const RU: Words = ("Правда", "Ложь");
const SL: Words = ("Da", "Ne");
const SV: Words = ("Sant", "Falskt");
const TH: Words = ("จริง", "ไม่จริง");
const TR: Words = ("Doğru", "Yanlış");
const UK: Words = ("Істина", "Неправда");
const ZH: Words = ("真", "假");

/// One row: the fields in the order of the NLS names; `sNegativeSign` is
/// `-` for every row.
#[allow(clippy::too_many_arguments)]
const fn nls(
    langid: u16,
    name: &'static str,
    (decimal, thousands, grouping): (&'static str, &'static str, &'static str),
    negative_number: u8,
    currency: &'static str,
    list: &'static str,
    short_date: &'static str,
    time_format: &'static str,
    (am, pm): (&'static str, &'static str),
    (true_word, false_word): Words,
    source: &'static str,
) -> LocaleInfo {
    LocaleInfo {
        langid,
        name,
        decimal,
        thousands,
        grouping,
        negative_number,
        negative_sign: "-",
        currency,
        list,
        short_date,
        time_format,
        am,
        pm,
        true_word,
        false_word,
        source,
    }
}

/// en-US (0x0409), the default locale.
pub const EN_US: LocaleInfo = nls(
    0x0409,
    "en-US",
    (".", ",", "3;0"),
    1,
    "$",
    ",",
    "M/d/yyyy",
    "h:mm:ss tt",
    ("AM", "PM"),
    EN,
    "enu.nls",
);

/// Every locale with data of its own, one row each (64 locales and the
/// invariant locale). Besides each language's main locale, the sub-locales
/// a web application commonly meets have rows of their own where their
/// formats differ from their language's `SUBLANG_DEFAULT` row (en-NZ,
/// fr-CH, es-AR, zh-SG, ...); Wine's files have none for en-IN, en-SG or
/// es-US, which have no row. LCIDs without a row fall back as
/// [`locale_info`](super::locale_info) describes.
#[rustfmt::skip]
pub static LOCALES: &[LocaleInfo] = &[
    EN_US,
    nls(0x0809, "en-GB", (".", ",", "3;0"), 1, "£", ",", "dd/MM/yyyy", "HH:mm:ss", ("AM", "PM"), EN, "eng.nls"),
    nls(0x0C09, "en-AU", (".", ",", "3;0"), 1, "$", ",", "d/MM/yyyy", "h:mm:ss tt", ("AM", "PM"), EN, "ena.nls"),
    nls(0x1009, "en-CA", (".", ",", "3;0"), 1, "$", ",", "dd/MM/yyyy", "h:mm:ss tt", ("AM", "PM"), EN, "enc.nls"),
    nls(0x1409, "en-NZ", (".", ",", "3;0"), 1, "$", ",", "d/MM/yyyy", "h:mm:ss tt", ("a.m.", "p.m."), EN, "enz.nls"),
    nls(0x1809, "en-IE", (".", ",", "3;0"), 1, "€", ",", "dd/MM/yyyy", "HH:mm:ss", ("", ""), EN, "eni.nls"),
    nls(0x1C09, "en-ZA", (".", ",", "3;0"), 1, "R", ",", "yyyy/MM/dd", "hh:mm:ss tt", ("AM", "PM"), EN, "ens.nls"),
    nls(0x3409, "en-PH", (".", ",", "3;0"), 1, "Php", ",", "M/d/yyyy", "h:mm:ss tt", ("AM", "PM"), EN, "enp.nls"),
    nls(0x040C, "fr-FR", (",", NBSP, "3;0"), 1, "€", ";", "dd/MM/yyyy", "HH:mm:ss", ("", ""), FR, "fra.nls"),
    nls(0x0C0C, "fr-CA", (",", NBSP, "3;0"), 1, "$", ";", "yyyy-MM-dd", "HH:mm:ss", ("", ""), FR, "frc.nls"),
    nls(0x080C, "fr-BE", (",", ".", "3;0"), 1, "€", ";", "d/MM/yyyy", "H:mm:ss", ("", ""), FR, "frb.nls"),
    nls(0x100C, "fr-CH", (".", "'", "3;0"), 1, "SFr.", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), FR, "frs.nls"),
    nls(0x0407, "de-DE", (",", ".", "3;0"), 1, "€", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), DE, "deu.nls"),
    nls(0x0C07, "de-AT", (",", ".", "3;0"), 1, "€", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), DE, "dea.nls"),
    nls(0x0807, "de-CH", (".", "'", "3;0"), 1, "SFr.", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), DE, "des.nls"),
    nls(0x1407, "de-LI", (".", "'", "3;0"), 1, "CHF", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), DE, "dec.nls"),
    nls(0x0C0A, "es-ES", (",", ".", "3;0"), 1, "€", ";", "dd/MM/yyyy", "H:mm:ss", ("", ""), ES, "esn.nls"),
    nls(0x040A, "es-ES_tradnl", (",", ".", "3;0"), 1, "€", ";", "dd/MM/yyyy", "H:mm:ss", ("", ""), ES, "esp.nls"),
    nls(0x080A, "es-MX", (".", ",", "3;0"), 1, "$", ",", "dd/MM/yyyy", "hh:mm:ss tt", ("a.m.", "p.m."), ES, "esm.nls"),
    nls(0x2C0A, "es-AR", (",", ".", "3;0"), 1, "$", ",", "dd/MM/yyyy", "hh:mm:ss tt", ("a.m.", "p.m."), ES, "ess.nls"),
    nls(0x240A, "es-CO", (",", ".", "3;0"), 1, "$", ",", "dd/MM/yyyy", "hh:mm:ss tt", ("a.m.", "p.m."), ES, "eso.nls"),
    nls(0x340A, "es-CL", (",", ".", "3;0"), 1, "$", ",", "dd-MM-yyyy", "H:mm:ss", ("", ""), ES, "esl.nls"),
    nls(0x280A, "es-PE", (".", ",", "3;0"), 1, "S/.", ",", "dd/MM/yyyy", "hh:mm:ss tt", ("a.m.", "p.m."), ES, "esr.nls"),
    nls(0x0410, "it-IT", (",", ".", "3;0"), 1, "€", ";", "dd/MM/yyyy", "H.mm.ss", ("", ""), IT, "ita.nls"),
    nls(0x0810, "it-CH", (".", "'", "3;0"), 1, "SFr.", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), IT, "its.nls"),
    nls(0x0416, "pt-BR", (",", ".", "3;0"), 1, "R$ ", ";", "d/M/yyyy", "HH:mm:ss", ("", ""), PT, "ptb.nls"),
    nls(0x0816, "pt-PT", (",", ".", "3;0"), 1, "€", ";", "dd-MM-yyyy", "H:mm:ss", ("", ""), PT, "ptg.nls"),
    nls(0x0413, "nl-NL", (",", ".", "3;0"), 1, "€", ";", "d-M-yyyy", "H:mm:ss", ("", ""), NL, "nld.nls"),
    nls(0x0813, "nl-BE", (",", ".", "3;0"), 1, "€", ";", "d/MM/yyyy", "H:mm:ss", ("", ""), NL, "nlb.nls"),
    nls(0x041D, "sv-SE", (",", NBSP, "3;0"), 1, "kr", ";", "yyyy-MM-dd", "HH:mm:ss", ("", ""), SV, "sve.nls"),
    nls(0x081D, "sv-FI", (",", NBSP, "3;0"), 1, "€", ";", "d.M.yyyy", "HH:mm:ss", ("", ""), SV, "svf.nls"),
    nls(0x0406, "da-DK", (",", ".", "3;0"), 1, "kr", ";", "dd-MM-yyyy", "HH:mm:ss", ("", ""), DA, "dan.nls"),
    nls(0x0414, "nb-NO", (",", NBSP, "3;0"), 1, "kr", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), NB, "nor.nls"),
    nls(0x040B, "fi-FI", (",", NBSP, "3;0"), 1, "€", ";", "d.M.yyyy", "H:mm:ss", ("", ""), EN, "fin.nls"),
    nls(0x0415, "pl-PL", (",", NBSP, "3;0"), 1, "zł", ";", "yyyy-MM-dd", "HH:mm:ss", ("", ""), PL, "plk.nls"),
    nls(0x0405, "cs-CZ", (",", NBSP, "3;0"), 1, "Kč", ";", "d.M.yyyy", "H:mm:ss", ("dop.", "odp."), CS, "csy.nls"),
    nls(0x041B, "sk-SK", (",", NBSP, "3;0"), 1, "€", ";", "d. M. yyyy", "H:mm:ss", ("", ""), EN, "sky.nls (sCurrency: € for the file's pre-2009 Sk)"),
    nls(0x040E, "hu-HU", (",", NBSP, "3;0"), 1, "Ft", ";", "yyyy. MM. dd.", "H:mm:ss", ("de.", "du."), HU, "hun.nls"),
    nls(0x0419, "ru-RU", (",", NBSP, "3;0"), 1, "р.", ";", "dd.MM.yyyy", "H:mm:ss", ("", ""), RU, "rus.nls"),
    nls(0x0422, "uk-UA", (",", NBSP, "3;0"), 1, "грн.", ";", "dd.MM.yyyy", "H:mm:ss", ("", ""), UK, "ukr.nls"),
    nls(0x0402, "bg-BG", (",", NBSP, "3;0"), 1, "лв", ";", "dd.M.yyyy 'г.'", "HH:mm:ss", ("", ""), BG, "bgr.nls"),
    nls(0x0418, "ro-RO", (",", ".", "3;0"), 1, "lei", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), RO, "rom.nls"),
    nls(0x041A, "hr-HR", (",", ".", "3;0"), 2, "kn", ";", "d.M.yyyy", "H:mm:ss", ("", ""), EN, "hrv.nls"),
    nls(0x0424, "sl-SI", (",", ".", "3;0"), 1, "€", ";", "d.M.yyyy", "H:mm:ss", ("", ""), SL, "slv.nls (sCurrency: € for the file's pre-2007 SIT)"),
    nls(0x0427, "lt-LT", (",", ".", "3;0"), 1, "€", ";", "yyyy.MM.dd", "HH:mm:ss", ("", ""), LT, "lth.nls"),
    nls(0x0426, "lv-LV", (",", NBSP, "3;0"), 1, "€", ";", "yyyy.MM.dd.", "H:mm:ss", ("", ""), EN, "lvi.nls"),
    nls(0x0425, "et-EE", (",", NBSP, "3;0"), 1, "€", ";", "d.MM.yyyy", "H:mm:ss", ("EL", "PL"), EN, "eti.nls"),
    nls(0x0403, "ca-ES", (",", ".", "3;0"), 1, "€", ";", "dd/MM/yyyy", "HH:mm:ss", ("", ""), EN, "cat.nls"),
    nls(0x041F, "tr-TR", (",", ".", "3;0"), 1, "₺", ";", "dd.MM.yyyy", "HH:mm:ss", ("", ""), TR, "trk.nls"),
    nls(0x0408, "el-GR", (",", ".", "3;0"), 1, "€", ";", "d/M/yyyy", "h:mm:ss tt", ("πμ", "μμ"), EL, "ell.nls"),
    nls(0x040D, "he-IL", (".", ",", "3;0"), 1, "₪", ",", "dd/MM/yyyy", "HH:mm:ss", ("AM", "PM"), HE, "heb.nls"),
    nls(0x0401, "ar-SA", (".", ",", "3;0"), 3, "ر.س.", ";", "dd/MM/yyyy", "hh:mm:ss tt", ("ص", "م"), EN, "ara.nls (patterns read in the Gregorian calendar)"),
    nls(0x0429, "fa-IR", ("\u{66b}", "\u{66c}", "3;0"), 3, "ریال", "\u{61b}", "yyyy/MM/dd", "hh:mm:ss tt", ("ق.ظ", "ب.ظ"), EN, "far.nls"),
    nls(0x0439, "hi-IN", (".", ",", "3;2;0"), 1, "रु", ",", "dd-MM-yyyy", "HH:mm:ss", ("पूर्वाह्न", "अपराह्न"), EN, "hin.nls"),
    nls(0x041E, "th-TH", (".", ",", "3;0"), 1, "฿", ",", "d/M/yyyy", "H:mm:ss", ("AM", "PM"), TH, "tha.nls (patterns read in the Gregorian calendar)"),
    nls(0x042A, "vi-VN", (",", ".", "3;0"), 1, "₫", ",", "dd/MM/yyyy", "h:mm:ss tt", ("SA", "CH"), EN, "vit.nls"),
    nls(0x0421, "id-ID", (",", ".", "3;0"), 1, "Rp", ";", "dd/MM/yyyy", "H:mm:ss", ("", ""), ID, "ind.nls"),
    nls(0x043E, "ms-MY", (",", ".", "3;0"), 1, "R", ";", "dd/MM/yyyy", "H:mm:ss", ("", ""), EN, "msl.nls"),
    nls(0x0411, "ja-JP", (".", ",", "3;0"), 1, "¥", ",", "yyyy/MM/dd", "H:mm:ss", ("午前", "午後"), EN, "jpn.nls"),
    nls(0x0412, "ko-KR", (".", ",", "3;0"), 1, "₩", ",", "yyyy-MM-dd", "tt h:mm:ss", ("오전", "오후"), KO, "kor.nls"),
    nls(0x0804, "zh-CN", (".", ",", "3;0"), 1, "￥", ",", "yyyy-M-d", "H:mm:ss", ("上午", "下午"), ZH, "chs.nls"),
    nls(0x1004, "zh-SG", (".", ",", "3;0"), 1, "$", ",", "d/M/yyyy", "tt h:mm:ss", ("AM", "PM"), ZH, "zhi.nls"),
    nls(0x0404, "zh-TW", (".", ",", "3;0"), 1, "NT$", ",", "yyyy/M/d", "tt hh:mm:ss", ("上午", "下午"), ZH, "cht.nls"),
    nls(0x0C04, "zh-HK", (".", ",", "3;0"), 1, "HK$", ",", "d/M/yyyy", "H:mm:ss", ("", ""), ZH, "zhh.nls"),
    nls(0x007F, "", (".", ",", "3;0"), 1, "¤", ",", "MM/dd/yyyy", "HH:mm:ss", ("AM", "PM"), EN, "ivl.nls"),
];

/// An LCID whose sort order is part of its identity: Windows' name for it
/// and its BCP-47 tag.
#[derive(Debug)]
pub struct SortedLcid {
    /// The LCID, sort ID included.
    pub lcid: u32,
    /// Windows' locale name (`LCIDToLocaleName`).
    pub windows_name: &'static str,
    /// The BCP-47 tag: CLDR's collation keyword where CLDR has the
    /// collation, else the language tag alone.
    pub bcp47: &'static str,
}

/// Every LCID MS-LCID defines with a non-zero sort ID, plus es-ES's
/// traditional sort (0x040A), whose sort is in its language ID.
#[rustfmt::skip]
pub static SORTED_LCIDS: &[SortedLcid] = &[
    SortedLcid { lcid: 0x0000_040A, windows_name: "es-ES_tradnl", bcp47: "es-ES-u-co-trad" },
    SortedLcid { lcid: 0x0001_007F, windows_name: "x-IV_mathan", bcp47: "" },
    SortedLcid { lcid: 0x0001_0407, windows_name: "de-DE_phoneb", bcp47: "de-DE-u-co-phonebk" },
    SortedLcid { lcid: 0x0001_040E, windows_name: "hu-HU_tchncl", bcp47: "hu-HU" },
    SortedLcid { lcid: 0x0001_0437, windows_name: "ka-GE_modern", bcp47: "ka-GE" },
    SortedLcid { lcid: 0x0002_0804, windows_name: "zh-CN_stroke", bcp47: "zh-CN-u-co-stroke" },
    SortedLcid { lcid: 0x0002_1004, windows_name: "zh-SG_stroke", bcp47: "zh-SG-u-co-stroke" },
    SortedLcid { lcid: 0x0002_1404, windows_name: "zh-MO_stroke", bcp47: "zh-MO-u-co-stroke" },
    SortedLcid { lcid: 0x0003_0404, windows_name: "zh-TW_pronun", bcp47: "zh-TW-u-co-zhuyin" },
    SortedLcid { lcid: 0x0004_0404, windows_name: "zh-TW_radstr", bcp47: "zh-TW-u-co-unihan" },
    SortedLcid { lcid: 0x0004_0411, windows_name: "ja-JP_radstr", bcp47: "ja-JP-u-co-unihan" },
    SortedLcid { lcid: 0x0004_0C04, windows_name: "zh-HK_radstr", bcp47: "zh-HK-u-co-unihan" },
    SortedLcid { lcid: 0x0004_1404, windows_name: "zh-MO_radstr", bcp47: "zh-MO-u-co-unihan" },
    SortedLcid { lcid: 0x0005_0804, windows_name: "zh-CN_phoneb", bcp47: "zh-CN-u-co-phonebk" },
    SortedLcid { lcid: 0x0005_1004, windows_name: "zh-SG_phoneb", bcp47: "zh-SG-u-co-phonebk" },
];

/// Chinese LANGIDs whose data comes from a row of the same script rather
/// than the language's `SUBLANG_DEFAULT` locale (zh-TW):
/// (LANGID, the LANGID of the row used).
pub static SCRIPT_FALLBACKS: &[(u16, u16)] = &[
    (0x0004, 0x0804), // zh-Hans → zh-CN
    (0x7804, 0x0804), // zh → zh-CN
    (0x1404, 0x0C04), // zh-MO → zh-HK
    (0x7C04, 0x0404), // zh-Hant → zh-TW
];
