//! The locale's own month and day names, for reading dates
//! (`VarDateFromStr` accepts `LOCALE_SMONTHNAME*`,
//! `LOCALE_SABBREVMONTHNAME*` and the day names): CLDR's stand-alone wide
//! and abbreviated names, formatted once per locale.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use icu_calendar::cal::Gregorian;
use icu_calendar::Date;
use icu_datetime::fieldsets::{E, M};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_locale_core::Locale;

/// A locale's names, lower-cased, each full and abbreviated (without a
/// trailing `.`).
#[derive(Debug, Default)]
pub struct DateNames {
    /// January first.
    pub months: [(String, String); 12],
    /// Monday first.
    pub days: [(String, String); 7],
}

/// The month names of the Windows locale `name` (`LOCALE_SNAME`, e.g.
/// `de-DE`; a `_sort` suffix is ignored). `None` for the invariant locale
/// or one CLDR has no names for.
pub fn date_names(name: &str) -> Option<Arc<DateNames>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<DateNames>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(name.to_owned())
        .or_insert_with(|| load(name).map(Arc::new))
        .clone()
}

fn load(name: &str) -> Option<DateNames> {
    let tag = name.split('_').next().filter(|t| !t.is_empty())?;
    let locale = Locale::try_from_str(tag).ok()?;
    let prefs = (&locale).into();
    let name_pair = |wide: String, short: String| {
        let short = short.to_lowercase();
        (wide.to_lowercase(), short.trim_end_matches('.').to_owned())
    };
    let wide = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(prefs, M::long()).ok()?;
    let short = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(prefs, M::medium()).ok()?;
    let mut names = DateNames::default();
    for (month, slot) in (1u8..=12).zip(names.months.iter_mut()) {
        let date = Date::try_new_gregorian(2000, month, 1).ok()?;
        *slot = name_pair(
            wide.format(&date).to_string(),
            short.format(&date).to_string(),
        );
    }
    let wide = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(prefs, E::long()).ok()?;
    let short = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(prefs, E::short()).ok()?;
    // 2000-01-03 was a Monday.
    for (day, slot) in (3u8..=9).zip(names.days.iter_mut()) {
        let date = Date::try_new_gregorian(2000, 1, day).ok()?;
        *slot = name_pair(
            wide.format(&date).to_string(),
            short.format(&date).to_string(),
        );
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_per_locale() {
        let de = date_names("de-DE").unwrap();
        assert_eq!(de.months[2].0, "märz");
        assert_eq!(de.months[9].1, "okt");
        assert_eq!(de.days[0].0, "montag");
        assert_eq!(de.days[6].1, "so");
        let fr = date_names("fr-FR").unwrap();
        assert_eq!(fr.months[7].0, "août");
        assert_eq!(fr.months[0].1, "janv");
        assert_eq!(fr.days[4].0, "vendredi");
        assert_eq!(date_names("es-ES_tradnl").unwrap().months[0].0, "enero");
        assert!(date_names("").is_none());
    }
}
