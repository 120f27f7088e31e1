//! OLE Automation dates: a `DATE` is an `f64` counting days since 1899-12-30.
//!
//! The integer part is the day and the fraction the time of day. For negative
//! dates the day counts backwards but the time still runs forward from
//! midnight: -1.25 is 1899-12-29 06:00:00, not 1899-12-28 18:00:00. The
//! calendar is the proleptic Gregorian one, from 100-01-01 to 9999-12-31.

/// The first day a `DATE` can hold, 100-01-01.
pub const MIN_DAY: f64 = -657_434.0;
/// The last day a `DATE` can hold, 9999-12-31.
pub const MAX_DAY: f64 = 2_958_465.0;

/// Days from 1970-01-01 back to the OLE epoch, 1899-12-30.
const OLE_EPOCH_UNIX_DAYS: i64 = -25_569;
const SECONDS_PER_DAY: f64 = 86_400.0;
/// Half a second, in days.
const HALF_SECOND: f64 = 0.5 / SECONDS_PER_DAY;

/// A calendar date and a time of day to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year, 100 ..= 9999.
    pub year: i32,
    /// Month, 1 ..= 12.
    pub month: u32,
    /// Day of the month, from 1.
    pub day: u32,
    /// Hour, 0 ..= 23.
    pub hour: u32,
    /// Minute, 0 ..= 59.
    pub minute: u32,
    /// Second, 0 ..= 59.
    pub second: u32,
}

/// Whether `date` is a `DATE` OLE accepts: its day is 100-01-01 ..= 9999-12-31
/// (so -657434.5, noon on 100-01-01, is in range; NaN is not).
pub fn in_range(date: f64) -> bool {
    date > MIN_DAY - 1.0 && date < MAX_DAY + 1.0
}

/// The calendar date and time of `date`, rounded to the nearest second as
/// `VarUdateFromDate` does (a half second rounds up, carrying into the next
/// day), but only where the serial moved half a second away from zero stays
/// within -657435.0 ..= 2958465.0; elsewhere the time is truncated to the
/// second. That is Microsoft's own `VarUdateFromDate` (OLE Automation's
/// source as published in the SSCLI), whose guard keeps the rounding from
/// carrying a date out of the range: 9999-12-31 23:59:59.9 is 23:59:59 on
/// 9999-12-31, never 10000-01-01 (as Wine's rewrite gives), and 100-01-01's
/// last half second stays on 100-01-01. `None` when `date` is out of range.
pub fn to_parts(date: f64) -> Option<DateTime> {
    if !in_range(date) {
        return None;
    }
    let day = date.trunc();
    let time = (date - day).abs() * SECONDS_PER_DAY;
    let moved = date
        + if date > 0.0 {
            HALF_SECOND
        } else {
            -HALF_SECOND
        };
    let rounds = (MIN_DAY - 1.0..=MAX_DAY).contains(&moved);
    let mut seconds = if rounds { time.round() } else { time.floor() } as u32;
    let mut unix_days = day as i64 + OLE_EPOCH_UNIX_DAYS;
    if seconds >= 86_400 {
        seconds -= 86_400;
        unix_days += 1;
    }
    let (year, month, day) = civil_from_days(unix_days);
    Some(DateTime {
        year,
        month,
        day,
        hour: seconds / 3600,
        minute: seconds / 60 % 60,
        second: seconds % 60,
    })
}

/// The `DATE` of a calendar date and time; `None` when a field is out of its
/// range (including days a month does not have and years outside 100 ..= 9999).
pub fn from_parts(parts: &DateTime) -> Option<f64> {
    let DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    } = *parts;
    let valid = (100..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let day = (days_from_civil(year, month, day) - OLE_EPOCH_UNIX_DAYS) as f64;
    let time = f64::from(hour * 3600 + minute * 60 + second) / SECONDS_PER_DAY;
    // The time runs forward from midnight, so it moves a negative date down.
    Some(if day < 0.0 { day - time } else { day + time })
}

/// Whether `year` is a Gregorian leap year.
fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1 ..= 12) of `year`.
pub(super) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(year: i32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> DateTime {
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    /// Year, month, day, hour, minute, second.
    type Calendar = (i32, u32, u32, u32, u32, u32);

    /// (DATE, calendar) pairs; values from Wine's oleaut32 tests (which
    /// assert what Windows returns) and the OLE epoch's definition.
    const TABLE: &[(f64, Calendar)] = &[
        (0.0, (1899, 12, 30, 0, 0, 0)),
        (1.0, (1899, 12, 31, 0, 0, 0)),
        (2.0, (1900, 1, 1, 0, 0, 0)),
        (0.5, (1899, 12, 30, 12, 0, 0)),
        (-1.0, (1899, 12, 29, 0, 0, 0)),
        (-1.25, (1899, 12, 29, 6, 0, 0)),
        (-1.75, (1899, 12, 29, 18, 0, 0)),
        (365.0, (1900, 12, 30, 0, 0, 0)),
        (365.25, (1900, 12, 30, 6, 0, 0)),
        (1461.5, (1903, 12, 31, 12, 0, 0)),
        (25570.0, (1970, 1, 2, 0, 0, 0)),
        (36525.0, (1999, 12, 31, 0, 0, 0)),
        (36525.75, (1999, 12, 31, 18, 0, 0)),
        (36526.0, (2000, 1, 1, 0, 0, 0)),
        (MIN_DAY, (100, 1, 1, 0, 0, 0)),
        (MAX_DAY, (9999, 12, 31, 0, 0, 0)),
    ];

    #[test]
    fn dates_to_parts_and_back() {
        for &(date, (y, mo, d, h, mi, s)) in TABLE {
            let parts = dt(y, mo, d, h, mi, s);
            assert_eq!(to_parts(date), Some(parts), "{date}");
            assert_eq!(from_parts(&parts), Some(date), "{parts:?}");
        }
    }

    #[test]
    fn formatting_rounds_to_the_nearest_second() {
        // 3.34 and -49192.24 are Wine's VarBstrFromDate cases (8:09:36 and 5:45:36).
        assert_eq!(to_parts(3.34), Some(dt(1900, 1, 2, 8, 9, 36)));
        assert_eq!(to_parts(-49192.24), Some(dt(1765, 4, 24, 5, 45, 36)));
        let half_second = 0.5 / 86_400.0;
        assert_eq!(to_parts(half_second), Some(dt(1899, 12, 30, 0, 0, 1)));
        assert_eq!(to_parts(0.4 / 86_400.0), Some(dt(1899, 12, 30, 0, 0, 0)));
        // Rounding up at 23:59:59.9 carries into the next day.
        let almost = 36525.0 + (86_399.9 / 86_400.0);
        assert_eq!(to_parts(almost), Some(dt(2000, 1, 1, 0, 0, 0)));
    }

    #[test]
    fn range_limits() {
        assert!(in_range(MIN_DAY));
        assert!(in_range(-657_434.5));
        assert!(!in_range(MIN_DAY - 1.0));
        assert!(in_range(MAX_DAY + 0.999_99));
        assert!(!in_range(MAX_DAY + 1.0));
        assert!(!in_range(f64::NAN));
        assert!(!in_range(f64::INFINITY));
        assert_eq!(to_parts(MIN_DAY - 1.0), None);
        assert_eq!(to_parts(f64::NAN), None);
        assert_eq!(
            to_parts(MAX_DAY + 86_399.0 / 86_400.0),
            Some(dt(9999, 12, 31, 23, 59, 59))
        );
    }

    /// Wine's `VarUdateFromDate` (dlls/oleaut32/variant.c) and its
    /// conformance test `test_VarUdateFromDate` (dlls/oleaut32/tests/vartest.c,
    /// run against Windows): the ends of the range and times rounded to the
    /// nearest second.
    #[test]
    fn wine_var_udate_from_date() {
        let table: &[(f64, Calendar)] = &[
            (29221.0, (1980, 1, 1, 0, 0, 0)),
            (33238.0, (1990, 12, 31, 0, 0, 0)),
            (-657_434.0, (100, 1, 1, 0, 0, 0)),
            (2_958_465.0, (9999, 12, 31, 0, 0, 0)),
            (29221.25, (1980, 1, 1, 6, 0, 0)),
            (29221.33333333, (1980, 1, 1, 8, 0, 0)),
            (29221.5, (1980, 1, 1, 12, 0, 0)),
            (29221.9888884444, (1980, 1, 1, 23, 44, 0)),
            (29221.7508765432, (1980, 1, 1, 18, 1, 16)),
        ];
        for &(date, (y, mo, d, h, mi, s)) in table {
            assert_eq!(to_parts(date), Some(dt(y, mo, d, h, mi, s)), "{date}");
        }
        for outside in [-657_435.0, 2_958_466.0] {
            assert_eq!(to_parts(outside), None, "{outside}");
        }
    }

    /// Past 23:59:59.5 the time rounds up into the next day: `VarUdateFromDate`
    /// rounds to the nearest second, rolling the day forward. At the bottom,
    /// the time of a negative DATE counts forward from its day's midnight, so
    /// day -1's last half second rolls forward to day 0.
    #[test]
    fn the_last_half_second_of_a_day_rolls_into_the_next() {
        assert_eq!(at(36525.0, 86_399.6), Some(dt(2000, 1, 1, 0, 0, 0)));
        assert_eq!(at(36525.0, 86_399.4), Some(dt(1999, 12, 31, 23, 59, 59)));
        assert_eq!(at(MIN_DAY, 86_399.4), Some(dt(100, 1, 1, 23, 59, 59)));
        assert_eq!(at(-1.0, 86_399.6), Some(dt(1899, 12, 30, 0, 0, 0)));
    }

    /// The date and `seconds` past its midnight, as a `DATE`.
    fn at(day: f64, seconds: f64) -> Option<DateTime> {
        let time = seconds / 86_400.0;
        to_parts(if day < 0.0 { day - time } else { day + time })
    }

    /// Microsoft's `VarUdateFromDate` (the SSCLI's OLE Automation source)
    /// rounds only when the serial moved half a second away from zero stays
    /// within -657435.0 ..= 2958465.0, and truncates otherwise: no time
    /// rounds past 9999-12-31 23:59:59 (Wine's rewrite gives 10000-01-01), and
    /// 100-01-01's last half second stays on that day.
    #[test]
    fn rounding_never_carries_a_date_out_of_the_range() {
        let last = dt(9999, 12, 31, 23, 59, 59);
        assert_eq!(at(MAX_DAY, 86_399.6), Some(last));
        assert_eq!(at(MAX_DAY, 86_399.999), Some(last));
        assert_eq!(to_parts(2_958_465.999_999_99), Some(last));
        // On the last day (and in the last half second before it) the time
        // is truncated, not rounded.
        assert_eq!(at(MAX_DAY, 3.6), Some(dt(9999, 12, 31, 0, 0, 3)));
        assert_eq!(
            at(MAX_DAY - 1.0, 86_399.6),
            Some(dt(9999, 12, 30, 23, 59, 59))
        );
        assert_eq!(
            at(MAX_DAY - 1.0, 86_399.4),
            Some(dt(9999, 12, 30, 23, 59, 59))
        );
        assert_eq!(at(MAX_DAY - 1.0, 3.6), Some(dt(9999, 12, 30, 0, 0, 4)));
        // The first day's last half second.
        let first = dt(100, 1, 1, 23, 59, 59);
        assert_eq!(at(MIN_DAY, 86_399.6), Some(first));
        assert_eq!(to_parts(-657_434.999_999_99), Some(first));
        assert_eq!(at(MIN_DAY, 3.6), Some(dt(100, 1, 1, 0, 0, 4)));
    }

    #[test]
    fn invalid_parts_are_rejected() {
        for parts in [
            dt(99, 12, 31, 0, 0, 0),
            dt(10_000, 1, 1, 0, 0, 0),
            dt(2000, 0, 1, 0, 0, 0),
            dt(2000, 13, 1, 0, 0, 0),
            dt(2000, 2, 30, 0, 0, 0),
            dt(1900, 2, 29, 0, 0, 0),
            dt(2000, 1, 0, 0, 0, 0),
            dt(2000, 1, 1, 24, 0, 0),
            dt(2000, 1, 1, 0, 60, 0),
            dt(2000, 1, 1, 0, 0, 60),
        ] {
            assert_eq!(from_parts(&parts), None, "{parts:?}");
        }
        assert_eq!(from_parts(&dt(2000, 2, 29, 0, 0, 0)), Some(36585.0));
    }

    #[test]
    fn every_day_round_trips() {
        let mut day = MIN_DAY;
        while day <= MAX_DAY {
            let parts = to_parts(day).unwrap();
            assert_eq!(from_parts(&parts), Some(day));
            day += 97.0;
        }
    }
}
