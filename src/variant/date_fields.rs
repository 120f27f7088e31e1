//! `VarDateFromStr`'s generic grammar, for text that is not in the locale's
//! own date layout: up to six numbers and month names (English and the
//! locale's own, full or abbreviated), each marked by the
//! separator that follows it (`:` or `.` time, `-` `/` or the locale's date
//! separator date, space and `,` nothing), AM/PM designators; which numbers
//! are the time follows from where the time separators are, and the date
//! fields take the first order, in Windows' sequence of preferences, that
//! makes a valid date.

use std::time::{SystemTime, UNIX_EPOCH};

use super::date::{self, DateTime};
use crate::locale::{date_names, DateNames, LocaleInfo};

/// The field is followed by a time separator.
const TIME_SEP: u8 = 0x01;
/// The field is followed by a date separator.
const DATE_SEP: u8 = 0x02;
/// The field is a month name.
const MONTH: u8 = 0x04;
/// An AM designator follows the field.
const AM: u8 = 0x08;
/// A PM designator follows the field.
const PM: u8 = 0x10;

/// Most fields a date and time can have.
const MAX_FIELDS: usize = 6;

/// English month names (full or their first three letters), accepted in
/// every locale beside the locale's own ([`date_names`]).
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// English day names (and the locale's own), read and ignored.
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The locale's preferred field order (Windows' `iDate`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum DateOrder {
    /// Month, day, year.
    Mdy,
    /// Day, month, year.
    Dmy,
    /// Year, month, day.
    Ymd,
}

/// The numbers and marks read from the text.
#[derive(Default)]
struct Fields {
    values: [u32; MAX_FIELDS],
    flags: [u8; MAX_FIELDS],
    count: usize,
    /// AM or PM, wherever it was written.
    designator: u8,
}

impl Fields {
    fn has_designator(&self, i: usize) -> bool {
        self.flags.get(i).is_some_and(|f| f & (AM | PM) != 0)
    }

    fn any_designator(&self, range: std::ops::Range<usize>) -> bool {
        range.into_iter().any(|i| self.has_designator(i))
    }

    fn push(&mut self, value: u32, flags: u8) -> Option<()> {
        if self.count == MAX_FIELDS {
            return None;
        }
        self.values[self.count] = value;
        self.flags[self.count] = flags;
        self.count += 1;
        Some(())
    }

    /// Marks the last field with `flag` (a separator or designator after it).
    fn mark_last(&mut self, flag: u8) -> Option<()> {
        let last = self.count.checked_sub(1)?;
        self.flags[last] |= flag;
        Some(())
    }
}

/// Reads `text` with the generic grammar under the locale's date order and
/// date separator; `None` when it is not a date or time Windows accepts.
pub(super) fn parse(
    text: &str,
    loc: &LocaleInfo,
    order: DateOrder,
    date_sep: Option<char>,
) -> Option<f64> {
    let fields = tokenize(text, loc, date_sep)?;
    let (time, date_start, date_count) = split_time(&fields)?;
    let (year, month, day) = make_date(&fields, date_start, date_count, order)?;
    let (mut hour, minute, second) = time;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if hour < 12 && fields.designator == PM {
        hour += 12;
    } else if hour == 12 && fields.designator == AM {
        hour = 0;
    }
    date::from_parts(&DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// Splits the text into fields.
fn tokenize(text: &str, loc: &LocaleInfo, date_sep: Option<char>) -> Option<Fields> {
    let mut f = Fields::default();
    let mut date_seps = 0;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        let last_char = after.is_empty();
        if c.is_ascii_digit() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let value = rest[..digits].parse::<u32>().unwrap_or(u32::MAX);
            f.push(value, 0)?;
            rest = &rest[digits..];
            continue;
        }
        if c.is_alphabetic() {
            rest = word(rest, loc, &mut f)?;
            continue;
        }
        match c {
            ':' | '.' if f.count == 0 || last_char => return None,
            ':' | '.' if Some(c) == date_sep => {
                date_seps += 1;
                if date_seps > 2 {
                    return None;
                }
                f.mark_last(DATE_SEP)?;
            }
            ':' | '.' => f.mark_last(TIME_SEP)?,
            '-' | '/' => {
                date_seps += 1;
                if date_seps > 2 || f.count == 0 || last_char {
                    return None;
                }
                f.mark_last(DATE_SEP)?;
            }
            ',' if last_char => return None,
            ',' => {}
            c if c.is_whitespace() => {}
            _ => return None,
        }
        rest = after;
    }
    let lone_number = f.count == 1 && f.designator == 0;
    (f.count > 0 && !lone_number).then_some(f)
}

/// Reads a word at the start of `rest` (a month or day name, a designator,
/// or `a`/`p` after a number); the text after it.
fn word<'a>(rest: &'a str, loc: &LocaleInfo, f: &mut Fields) -> Option<&'a str> {
    if let Some((after, name)) = longest_name(rest, date_names(loc.name).as_deref()) {
        if let Name::Month(month) = name {
            f.push(month as u32 + 1, MONTH | DATE_SEP)?;
        }
        return Some(after);
    }
    for (designator, flag) in [(loc.am, AM), (loc.pm, PM)] {
        if designator.is_empty() {
            continue;
        }
        if let Some(after) = strip_prefix_ci(rest, designator) {
            mark_designator(f, flag)?;
            return Some(after);
        }
    }
    let c = rest.chars().next()?;
    let flag = match c.to_ascii_lowercase() {
        'a' => AM,
        'p' => PM,
        _ => return None,
    };
    mark_designator(f, flag)?;
    Some(&rest[1..])
}

/// A month or day name read from the text.
#[derive(Clone, Copy)]
enum Name {
    /// A month, 0 for January.
    Month(usize),
    /// A day of the week (read and ignored).
    Day,
}

/// The longest month or day name that `rest` starts with, of the locale's
/// own (`own`: full or abbreviated) and the English ones (full or their
/// first three letters): the text after it (and after an abbreviation's
/// `.`, as in `janv.`) and which name it is. The longest wins whether it
/// names a month or a day ("Januar" is not "Jan" + "uar", "mardi" is not
/// "Mar" + "di"); of names as long, the locale's own before the English
/// (French "mar." is mardi, not March) and a month before a day (Spanish
/// "mar" is marzo).
fn longest_name<'a>(rest: &'a str, own: Option<&DateNames>) -> Option<(&'a str, Name)> {
    let (own_months, own_days) = own.map_or((&[][..], &[][..]), |n| (&n.months[..], &n.days[..]));
    let (after, name) = own_names(own_months)
        .map(|(n, i)| (n, Name::Month(i)))
        .chain(own_names(own_days).map(|(n, _)| (n, Name::Day)))
        .chain(english_names(&MONTHS).map(|(n, i)| (n, Name::Month(i))))
        .chain(english_names(&DAYS).map(|(n, _)| (n, Name::Day)))
        .filter(|(n, _)| !n.is_empty())
        .filter_map(|(n, name)| Some((strip_prefix_ci(rest, n)?, name)))
        .min_by_key(|(after, _)| after.len())?;
    Some((after.strip_prefix('.').unwrap_or(after), name))
}

/// The locale's names, full and abbreviated, with their index.
fn own_names(names: &[(String, String)]) -> impl Iterator<Item = (&str, usize)> {
    names
        .iter()
        .enumerate()
        .flat_map(|(i, (full, short))| [(full.as_str(), i), (short.as_str(), i)])
}

/// English names, full and their first three letters, with their index.
fn english_names(names: &'static [&'static str]) -> impl Iterator<Item = (&'static str, usize)> {
    names
        .iter()
        .enumerate()
        .flat_map(|(i, &full)| [(full, i), (&full[..3], i)])
}

/// AM/PM after the last number; only one, and never before a number.
fn mark_designator(f: &mut Fields, flag: u8) -> Option<()> {
    if f.designator != 0 {
        return None;
    }
    f.mark_last(flag)?;
    f.designator = flag;
    Some(())
}

/// `text` without `prefix`, compared case-insensitively.
fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let mut chars = text.char_indices();
    for p in prefix.chars() {
        let (_, c) = chars.next()?;
        if !c.to_lowercase().eq(p.to_lowercase()) {
            return None;
        }
    }
    Some(chars.next().map_or("", |(i, _)| &text[i..]))
}

/// Which fields are the time, from where the time separators are: the
/// time (hour, minute, second), the first date field and how many date
/// fields there are (0, 2 or 3). `None` for a layout Windows rejects.
fn split_time(f: &Fields) -> Option<((u32, u32, u32), usize, usize)> {
    let v = &f.values;
    let timed = (0..5).fold(0u8, |m, i| m | ((f.flags[i] & TIME_SEP) << i));
    let n = f.count;
    let am_pm = f.designator != 0;
    match timed {
        // TT, TTDD, TTDDD
        0x1 => {
            let ok = !(n > 3 && f.any_designator(2..5)) && matches!(n, 2 | 4 | 5);
            ok.then(|| ((v[0], v[1], 0), 2, n - 2))
        }
        // TTT, TTTDD, TTTDDD
        0x3 => {
            let ok = !(n > 4 && f.any_designator(3..6)) && matches!(n, 3 | 5 | 6);
            ok.then(|| ((v[0], v[1], v[2]), 3, n - 3))
        }
        // DDTT
        0x4 => (n == 4 && !f.any_designator(0..2)).then_some(((v[2], v[3], 0), 0, 2)),
        // DDDTT
        0x8 => (n == 5 && !f.any_designator(0..3)).then_some(((v[3], v[4], 0), 0, 3)),
        // DDTTT
        0xC => (n == 5 && !f.any_designator(0..2)).then_some(((v[2], v[3], v[4]), 0, 2)),
        // DDDTTT
        0x18 => (!f.any_designator(0..3)).then_some(((v[3], v[4], v[5]), 0, 3)),
        // No time separator: T (with AM/PM), DD, DDD, TDD, DDT, TDDD, DDDT.
        0x0 => match n {
            1 if am_pm => Some(((v[0], 0, 0), 0, 0)),
            2 | 3 if !am_pm => Some(((0, 0, 0), 0, n)),
            3 if f.has_designator(0) => Some(((v[0], 0, 0), 1, 2)),
            3 if f.has_designator(2) => Some(((v[2], 0, 0), 0, 2)),
            4 if f.has_designator(0) => Some(((v[0], 0, 0), 1, 3)),
            4 if f.has_designator(3) => Some(((v[3], 0, 0), 0, 3)),
            _ => None,
        },
        _ => None,
    }
}

/// The orders three numbers can make a date in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Mdy,
    Ymd,
    Ydm,
    Dmy,
    /// Month, year, day: only for two numbers read as month and year.
    Myd,
}

/// The order in which Windows tries them.
const TRY_ORDER: [Order; 5] = [Order::Mdy, Order::Ymd, Order::Ydm, Order::Dmy, Order::Myd];

/// The date from `count` date fields at `start`: (year, month, day). With
/// no date fields, day 0 (1899-12-30); with two, the current year, or (if
/// no day and month fit) month and year on the 1st. The locale's order is
/// tried first, then the orders compatible with it, then any other; a month
/// name fixes the month's position.
fn make_date(f: &Fields, start: usize, count: usize, pref: DateOrder) -> Option<(i32, u32, u32)> {
    if count == 0 {
        return Some((1899, 12, 30));
    }
    let v1 = f.values[start];
    let v2 = f.values[start + 1];
    let v3 = if count == 2 {
        current_year()
    } else {
        f.values[start + 2]
    };
    let month_at = |i: usize| i < count && f.flags[start + i] & MONTH != 0;
    let allowed: Vec<Order> = if month_at(0) {
        vec![Order::Mdy]
    } else if month_at(1) {
        let mut o = vec![Order::Dmy];
        if count > 2 {
            o.push(Order::Ymd);
        }
        o
    } else if month_at(2) {
        vec![Order::Ydm]
    } else if count > 2 {
        vec![Order::Mdy, Order::Dmy, Order::Ymd, Order::Ydm]
    } else {
        vec![Order::Mdy, Order::Dmy]
    };
    find_order(&allowed, pref, [v1, v2, v3]).or_else(|| {
        // Two numbers that are no day and month: month and year, on the 1st.
        (count == 2).then(|| find_order(&[Order::Ymd, Order::Myd], pref, [v1, v2, 1]))?
    })
}

/// The first of `allowed`, in Windows' sequence of attempts for the
/// preferred order, that makes `v` a valid date.
fn find_order(allowed: &[Order], pref: DateOrder, v: [u32; 3]) -> Option<(i32, u32, u32)> {
    let preferred = |o: Order| match pref {
        DateOrder::Mdy => o == Order::Mdy,
        DateOrder::Dmy => o == Order::Dmy,
        DateOrder::Ymd => o == Order::Ymd,
    };
    let compatible = |o: Order| match pref {
        DateOrder::Mdy | DateOrder::Ymd => !matches!(o, Order::Dmy | Order::Ydm),
        DateOrder::Dmy => !matches!(o, Order::Mdy | Order::Ymd | Order::Myd),
    };
    let mut left: Vec<Order> = allowed.to_vec();
    for attempt in 0..3 {
        let tries: Vec<Order> = TRY_ORDER
            .into_iter()
            .filter(|o| left.contains(o))
            .filter(|&o| match attempt {
                0 => preferred(o),
                1 => compatible(o),
                _ => true,
            })
            .collect();
        for o in tries {
            let [a, b, c] = v;
            let (year, month, day) = match o {
                Order::Mdy => (c, a, b),
                Order::Ymd => (a, b, c),
                Order::Ydm => (a, c, b),
                Order::Dmy => (c, b, a),
                Order::Myd => (b, a, c),
            };
            if valid_month_day(day, month, year) {
                return Some((expand_year(year), month, day));
            }
            left.retain(|&l| l != o);
        }
    }
    None
}

/// Whether `day` exists in `month` of `year` (as written).
fn valid_month_day(day: u32, month: u32, year: u32) -> bool {
    let year = i32::try_from(year).unwrap_or(i32::MAX);
    (1..=12).contains(&month) && (1..=date::days_in_month(year, month)).contains(&day)
}

/// A year as written: 0–49 → 2000–2049, 50–99 → 1950–1999 (Windows 10
/// 1903 and later's two-digit year window), others as is.
pub(super) fn expand_year(value: u32) -> i32 {
    let year = i32::try_from(value).unwrap_or(i32::MAX);
    match year {
        0..=49 => 2000 + year,
        50..=99 => 1900 + year,
        _ => year,
    }
}

/// This year (UTC), for dates written without one.
fn current_year() -> u32 {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    // 1970-01-01 is OLE day 25569.
    date::to_parts(days as f64 + 25_569.0).map_or(2000, |p| p.year as u32)
}
