//! Cross-check of the locale rows against CLDR (ICU4X's compiled data):
//! decimal separators and the day/month/year order of short dates agree
//! where Windows and CLDR agree; the documented exceptions must stay
//! exceptions.

use icu_calendar::cal::Gregorian;
use icu_calendar::Date;
use icu_datetime::fieldsets::YMD;
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_decimal::DecimalFormatter;
use icu_locale_core::Locale;
use sess::locale::LOCALES;

/// Windows' decimal separator differs from CLDR's (with Latin digits, as
/// OLE writes): ms-MY is `,` in Windows, `.` in CLDR; en-ZA and fr-CH are
/// `.` in Windows, `,` in CLDR; fa-IR keeps the Persian `٫` with ASCII
/// digits, where CLDR pairs `٫` with Persian digits.
const DECIMAL_EXCEPTIONS: &[&str] = &["ms-MY", "en-ZA", "fr-CH", "fa-IR"];
/// Windows' short date order differs from CLDR's: en-CA and zh-SG are
/// d/m/y in Windows, y-m-d in CLDR; pl-PL and lv-LV the other way round.
const ORDER_EXCEPTIONS: &[&str] = &["en-CA", "zh-SG", "pl-PL", "lv-LV"];

fn cldr_decimal(locale: &Locale) -> String {
    let latin = Locale::try_from_str(&format!("{locale}-u-nu-latn")).unwrap();
    let f = DecimalFormatter::try_new((&latin).into(), Default::default()).unwrap();
    let text = f.format(&"1234.5".parse().unwrap()).to_string();
    // The separator is what stands between the last two digits.
    let mut chars: Vec<char> = text.chars().collect();
    chars.pop();
    chars
        .iter()
        .rev()
        .take_while(|c| !c.is_numeric())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

fn cldr_order(locale: &Locale) -> String {
    let latin = Locale::try_from_str(&format!("{locale}-u-nu-latn")).unwrap();
    let f = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new((&latin).into(), YMD::short())
        .unwrap();
    let text = f
        .format(&Date::try_new_gregorian(1999, 12, 31).unwrap())
        .to_string();
    let mut fields = [
        ('y', text.find("99")),
        ('m', text.find("12")),
        ('d', text.find("31")),
    ];
    fields.sort_by_key(|f| f.1);
    fields.iter().map(|f| f.0).collect()
}

fn our_order(pattern: &str) -> String {
    let mut order = String::new();
    for c in pattern.chars() {
        let f = match c {
            'y' => 'y',
            'M' => 'm',
            'd' => 'd',
            _ => continue,
        };
        if !order.contains(f) {
            order.push(f);
        }
    }
    order
}

#[test]
fn rows_agree_with_cldr_but_for_the_documented_exceptions() {
    let mut checked = 0;
    for row in LOCALES.iter().filter(|r| !r.name.is_empty()) {
        let tag = row.name.split('_').next().unwrap();
        let locale = Locale::try_from_str(tag).unwrap();
        let decimal_agrees = cldr_decimal(&locale) == row.decimal;
        assert_eq!(
            decimal_agrees,
            !DECIMAL_EXCEPTIONS.contains(&tag),
            "{tag} decimal"
        );
        let order_agrees = cldr_order(&locale) == our_order(row.short_date);
        assert_eq!(
            order_agrees,
            !ORDER_EXCEPTIONS.contains(&tag),
            "{tag} date order"
        );
        checked += 1;
    }
    assert!(checked >= 40);
}
