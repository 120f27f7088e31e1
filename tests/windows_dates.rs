//! `VarDateFromStr`'s grammar as Windows records it (Wine's conformance
//! test `test_VarDateFromStr`, `dlls/oleaut32/tests/vartype.c`, run against
//! Windows): text to dates under en-US, de-DE and es-ES, and each accepted
//! date back to text and again to the same date.
//!
//! One recorded difference is deliberate: Wine's table was recorded with
//! Windows' old two-digit year window (00–29 → 2000s); this library uses
//! Windows 10 1903's (00–49 → 2000s), so "30 2", "2 30" and "1 2 30" are in
//! 2030 here, "1 2 31" in 2031, "32 2 3" in 2032 and "Jan 35" in 2035.

use std::time::{SystemTime, UNIX_EPOCH};

use sess::error;
use sess::variant::{change_type, vt, Variant};

const EN_US: u32 = 0x0409;
const DE_DE: u32 = 0x0407;
const ES_ES: u32 = 0x0C0A;

fn date_of(text: &str, lcid: u32) -> Result<f64, i32> {
    match change_type(&Variant::bstr(text), lcid, 0, vt::DATE) {
        Ok(Variant::Date(d)) => Ok(d),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code()),
    }
}

/// Days from 1899-12-30 to `year`-`month`-`day`.
fn serial(year: i64, month: i64, day: i64) -> f64 {
    // Days from civil (Howard Hinnant's algorithm), then the OLE epoch.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468 + 25_569) as f64
}

fn this_year() -> i64 {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    // Civil year of a day count since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

fn hms(h: f64, m: f64, s: f64) -> f64 {
    (h * 3600.0 + m * 60.0 + s) / 86_400.0
}

fn check(lcid: u32, text: &str, expected: f64) {
    let got = date_of(text, lcid);
    assert!(
        got.is_ok_and(|d| (d - expected).abs() < 1e-8),
        "{lcid:#x} {text:?}: {got:?}, expected {expected}"
    );
    // And back: the date as text reads as the same date.
    let back = change_type(&Variant::Date(expected), lcid, 0, vt::BSTR).unwrap();
    let again = date_of(back.as_str().unwrap(), lcid);
    assert!(
        again.is_ok_and(|d| (d - expected).abs() < 1e-8),
        "{lcid:#x} {back:?}: {again:?}"
    );
}

#[test]
fn times_alone() {
    for (text, value) in [
        ("1 am", hms(1.0, 0.0, 0.0)),
        ("0.1", hms(0.0, 1.0, 0.0)),
        ("0.40", hms(0.0, 40.0, 0.0)),
        ("2.5", hms(2.0, 5.0, 0.0)),
        ("0:1", hms(0.0, 1.0, 0.0)),
        ("0:20", hms(0.0, 20.0, 0.0)),
        ("3:5", hms(3.0, 5.0, 0.0)),
        ("00:00 AM", 0.0),
        ("00:00 a", 0.0),
        ("12:59 AM", hms(0.0, 59.0, 0.0)),
        ("12:59 A", hms(0.0, 59.0, 0.0)),
        ("00:00 pm", 0.5),
        ("00:00 p", 0.5),
        ("12:59 pm", hms(12.0, 59.0, 0.0)),
        ("12:59 p", hms(12.0, 59.0, 0.0)),
        ("13:00 AM", hms(13.0, 0.0, 0.0)),
        ("13:00 PM", hms(13.0, 0.0, 0.0)),
        ("0.1.0", hms(0.0, 1.0, 0.0)),
        ("1.5.2", hms(1.0, 5.0, 2.0)),
    ] {
        check(EN_US, text, value);
    }
}

#[test]
fn dates_and_their_field_orders() {
    let year = this_year();
    let rel = |month, day| serial(year, month, day);
    for (text, value) in [
        // Two numbers: month and day of this year, the one that cannot be
        // a month is the day; neither: month and year on the 1st.
        ("1 2", rel(1, 2)),
        ("2 1", rel(2, 1)),
        ("14 1", rel(1, 14)),
        ("1 14", rel(1, 14)),
        ("30 2", serial(2030, 2, 1)),
        ("2 30", serial(2030, 2, 1)),
        // A month name fixes the month; a number that cannot be the day
        // is the year.
        ("Jan 2", rel(1, 2)),
        ("2 Jan", rel(1, 2)),
        ("Jan 35", serial(2035, 1, 1)),
        ("35 Jan", serial(2035, 1, 1)),
        ("Jan-35", serial(2035, 1, 1)),
        ("35-Jan", serial(2035, 1, 1)),
        ("Jan/35", serial(2035, 1, 1)),
        ("35/Jan", serial(2035, 1, 1)),
        // Three numbers: en-US's month-day-year first, then the others.
        ("1 2 3", 37623.0),
        ("14 2 3", 41673.0),
        ("2 14 3", 37666.0),
        ("2 3 14", 41673.0),
        ("32 2 3", serial(2032, 2, 3)),
        ("2 3 32", serial(2032, 2, 3)),
        ("1 2 29", 47120.0),
        ("1 2 30", serial(2030, 1, 2)),
        ("1 2 31", serial(2031, 1, 2)),
        ("2 January, 1970", 25570.0),
        ("2 January 1970", 25570.0),
        ("2 Jan 1970", 25570.0),
        ("2/Jan/1970", 25570.0),
        ("2-Jan-1970", 25570.0),
        ("1 2 1970", 25570.0),
        ("1/2/1970", 25570.0),
        ("1-2-1970", 25570.0),
        ("13-1-1970", 25581.0),
        ("1970-1-13", 25581.0),
        ("Friday, January 2, 1970", 25570.0),
    ] {
        check(EN_US, text, value);
    }
}

#[test]
fn dates_with_times_in_either_order() {
    let year = this_year();
    for (text, value) in [
        ("3 am 1 2", serial(year, 1, 2) + 0.125),
        ("1 2 3 am", serial(year, 1, 2) + 0.125),
        ("1.2 3 4", serial(year, 3, 4) + hms(1.0, 2.0, 0.0)),
        ("3 4 1.2", serial(year, 3, 4) + hms(1.0, 2.0, 0.0)),
        ("1.2.3 4 5", serial(year, 4, 5) + hms(1.0, 2.0, 3.0)),
        ("1.2 3 4 5", 38415.0 + hms(1.0, 2.0, 0.0)),
        ("1 2 3 4.5", 37623.0 + hms(4.0, 5.0, 0.0)),
        ("1.2.3 4 5 6", 38812.0 + hms(1.0, 2.0, 3.0)),
        ("1 2 3 4.5.6", 37623.0 + hms(4.0, 5.0, 6.0)),
        ("6/30/2011 01:20:34", 40724.0 + hms(1.0, 20.0, 34.0)),
        ("6/30/2011 01:20:34 AM", 40724.0 + hms(1.0, 20.0, 34.0)),
        ("6/30/2011 01:20:34 PM", 40724.0 + hms(13.0, 20.0, 34.0)),
        ("6/30/2011\u{3000}1:20:34", 40724.0 + hms(1.0, 20.0, 34.0)),
        ("2013-05-14 02:04:12", 41408.0 + hms(2.0, 4.0, 12.0)),
    ] {
        check(EN_US, text, value);
    }
}

#[test]
fn the_locales_date_separator() {
    for (lcid, text, value) in [
        (DE_DE, "02.01.1970", 25570.0),
        (DE_DE, "02.13.1970", 25612.0),
        (DE_DE, "02-13-1970", 25612.0),
        (DE_DE, "2020-01-11", 43841.0),
        (DE_DE, "2173-10-14", 100_000.0),
        (DE_DE, "02.01.1970 00:00:00", 25570.0),
        (DE_DE, "31/12/1999", 36525.0),
    ] {
        check(lcid, text, value);
    }
    for (lcid, text) in [
        (EN_US, "02.01.1970"),
        (EN_US, "02.01.1970 00:00:00"),
        (ES_ES, "02.01.1970"),
        (ES_ES, "02.01.1970 00:00:00"),
    ] {
        assert_eq!(
            date_of(text, lcid),
            Err(error::DISP_E_TYPEMISMATCH),
            "{lcid:#x} {text:?}"
        );
    }
}

/// Wine's `BadDateStrings`: Windows rejects every one.
#[test]
fn what_windows_rejects() {
    let bad = [
        "True",
        "False",
        "0.",
        ".0",
        "-1.1",
        "1.1-",
        "1;2;3",
        "1*2*3",
        "1@2@3",
        "1#2#3",
        "(1:2)",
        "<1:2>",
        "1|2|3",
        "0",
        "1",
        "0.60",
        "24.00",
        "0:60",
        "24:00",
        "1 2 am",
        "1 am 2",
        "1.5 2",
        "1 5.2",
        "2 32 3",
        "1 2 am 3",
        "1 2.3 4",
        "1.2.3 4",
        "1 2.3.4",
        "1.2 3.4",
        "1.2.3.4",
        "1 2 3 4",
        "1 am 2 3.4",
        "1 2 am 3.4",
        "1.2 3 am 4",
        "1.2 3 4 am",
        "1.2.3.4.5",
        "1.2.3.4 5",
        "1.2.3 4.5",
        "1.2 3.4.5",
        "1.2 3.4 5",
        "1.2 3 4.5",
        "1 2.3.4.5",
        "1 2.3.4 5",
        "1 2.3 4.5",
        "1 2.3 4 5",
        "1 2 3.4 5",
        "1 2 3 4 5",
        "1.2.3 4 am 5",
        "1.2.3 4 5 am",
        "1.2 3 am 4 5",
        "1.2 3 4 am 5",
        "1.2 3 4 5 am",
        "1 am 2 3.4.5",
        "1 2 am 3.4.5",
        "1 am 2 3 4.5",
        "1 2 am 3 4.5",
        "1 2 3 am 4.5",
        "1.2.3.4.5.6",
        "1.2.3.4.5 6",
        "1.2.3.4 5.6",
        "1.2.3.4 5 6",
        "1.2.3 4.5.6",
        "1.2.3 4.5 6",
        "1.2.3 4 5.6",
        "1.2 3.4.5.6",
        "1.2 3.4.5 6",
        "1.2 3.4 5.6",
        "1.2 3.4 5 6",
        "1.2 3 4.5.6",
        "1.2 3 4.5 6",
        "1.2 3 4 5.6",
        "1.2 3 4 5 6",
        "1 2.3.4.5.6",
        "1 2.3.4.5 6",
        "1 2.3.4 5.6",
        "1 2.3.4 5 6",
        "1 2.3 4.5.6",
        "1 2 3.4 5.6",
        "1 2 3.4 5 6",
        "1 2 3 4.5 6",
        "1 2 3 4 5.6",
        "1 2 3 4 5 6",
        "1 2 am 3 4.5.6",
        "1 2 3 am 4.5.6",
        "32 49",
        "0 49",
        "2013-05-14 02:04:12.017000000",
    ];
    for text in bad {
        assert_eq!(
            date_of(text, EN_US),
            Err(error::DISP_E_TYPEMISMATCH),
            "{text:?}"
        );
    }
}

/// The locale's own month names, full or abbreviated (CLDR's), beside the
/// English ones every locale reads.
#[test]
fn the_locales_month_names() {
    for (lcid, text, value) in [
        (DE_DE, "2. Januar 1970", 25570.0),
        (DE_DE, "13. März 1970", serial(1970, 3, 13)),
        (DE_DE, "13 Mär 1970", serial(1970, 3, 13)),
        (DE_DE, "13 March 1970", serial(1970, 3, 13)),
        (0x040C, "2 janvier 1970", 25570.0),
        (0x040C, "15 août 1970", serial(1970, 8, 15)),
        (0x040C, "2 janv. 1970", 25570.0),
        (ES_ES, "2 enero 1970", 25570.0),
        (ES_ES, "2 ene 1970", 25570.0),
        (0x0410, "2 gennaio 1970", 25570.0),
        (0x0419, "2 янв 1970", 25570.0),
    ] {
        check(lcid, text, value);
    }
}

#[test]
fn day_names_are_read_and_ignored() {
    for (lcid, text) in [
        (EN_US, "Friday, January 2, 1970"),
        (EN_US, "Fri 1/2/1970"),
        (DE_DE, "Freitag, 2. Januar 1970"),
        (0x040C, "vendredi 2 janvier 1970"),
    ] {
        check(lcid, text, 25570.0);
    }
}

/// A day name that begins like an English month ("mardi", "martes",
/// "martedì", "marți" all begin with "mar") is still a day name, read and
/// ignored: the longest name wins whether it is a month's or a day's, and a
/// tie goes to the locale's own names ("mar." is mardi in French, not
/// March). These were refused as March followed by junk.
#[test]
fn day_names_that_begin_like_an_english_month() {
    for (lcid, text) in [
        (0x040C, "mardi 31 décembre 1999"),
        (0x040C, "mar. 31 déc. 1999"),
        (ES_ES, "martes 31 diciembre 1999"),
        (0x0410, "martedì 31 dicembre 1999"),
        (0x0418, "marți 31 decembrie 1999"),
    ] {
        check(lcid, text, serial(1999, 12, 31));
    }
    // A month name still wins where it is the longer or the locale's own.
    check(ES_ES, "2 mar 1970", serial(1970, 3, 2));
    check(0x040C, "2 mars 1970", serial(1970, 3, 2));
    check(EN_US, "Mar 2 1970", serial(1970, 3, 2));
}

/// A date as text (`VarBstrFromDate`) is rounded to the second, but never
/// out of the DATE range: Microsoft's `VarUdateFromDate` (OLE Automation's
/// source as published in the SSCLI) rounds only when the serial moved half a
/// second away from zero stays within -657435.0 ..= 2958465.0 and truncates
/// otherwise. So 9999-12-31 23:59:59.9 is `12/31/9999 11:59:59 PM`, not
/// Wine's `1/1/10000 12:00:00 AM` (a year no DATE can hold, which text →
/// DATE then refuses), and 100-01-01's last half second stays on that day.
#[test]
fn dates_as_text_are_never_rounded_out_of_the_range() {
    let text = |date: f64| match change_type(&Variant::Date(date), EN_US, 0, vt::BSTR) {
        Ok(v) => v.as_str().unwrap().to_string(),
        Err(e) => panic!("{date}: {:#x}", e.code()),
    };
    let last_day = 2_958_465.0;
    let first_day = -657_434.0;
    for date in [
        2_958_465.999_999_99,
        last_day + 86_399.6 / 86_400.0,
        last_day + 86_399.999 / 86_400.0,
    ] {
        assert_eq!(text(date), "12/31/9999 11:59:59 PM", "{date}");
        // The text reads back as a date, within a second.
        let back = date_of(&text(date), EN_US).unwrap();
        assert!((back - date).abs() < 1.0 / 86_400.0, "{date}");
    }
    for date in [-657_434.999_999_99, first_day - 86_399.6 / 86_400.0] {
        assert_eq!(text(date), "1/1/100 11:59:59 PM", "{date}");
    }
    // Elsewhere the last half second of a day still rounds to midnight.
    assert_eq!(text(36_525.0 + 86_399.6 / 86_400.0), "1/1/2000 12:00:00 AM");
    assert_eq!(text(first_day - 3.6 / 86_400.0), "1/1/100 12:00:04 AM");
}
