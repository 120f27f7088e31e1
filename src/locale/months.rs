//! The locale's own month names, for reading dates (`VarDateFromStr`
//! accepts `LOCALE_SMONTHNAME*` and `LOCALE_SABBREVMONTHNAME*`): CLDR's
//! stand-alone wide and abbreviated names, formatted once per locale.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use icu_calendar::cal::Gregorian;
use icu_calendar::Date;
use icu_datetime::fieldsets::M;
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_locale_core::Locale;

/// Month names, lower-cased: index 0 is January; each month's full name
/// and its abbreviation (without a trailing `.`).
pub type MonthNames = [(String, String); 12];

/// The month names of the Windows locale `name` (`LOCALE_SNAME`, e.g.
/// `de-DE`; a `_sort` suffix is ignored). `None` for the invariant locale
/// or one CLDR has no names for.
pub fn month_names(name: &str) -> Option<Arc<MonthNames>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<MonthNames>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(name.to_owned())
        .or_insert_with(|| load(name).map(Arc::new))
        .clone()
}

fn load(name: &str) -> Option<MonthNames> {
    let tag = name.split('_').next().filter(|t| !t.is_empty())?;
    let locale = Locale::try_from_str(tag).ok()?;
    let wide = FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new((&locale).into(), M::long())
        .ok()?;
    let short =
        FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new((&locale).into(), M::medium())
            .ok()?;
    let mut names: MonthNames = Default::default();
    for (month, slot) in (1u8..=12).zip(names.iter_mut()) {
        let date = Date::try_new_gregorian(2000, month, 1).ok()?;
        let full = wide.format(&date).to_string().to_lowercase();
        let abbrev = short.format(&date).to_string().to_lowercase();
        *slot = (full, abbrev.trim_end_matches('.').to_owned());
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_per_locale() {
        let de = month_names("de-DE").unwrap();
        assert_eq!(de[2].0, "märz");
        assert_eq!(de[9].1, "okt");
        let fr = month_names("fr-FR").unwrap();
        assert_eq!(fr[7].0, "août");
        assert_eq!(fr[0].1, "janv");
        assert_eq!(month_names("es-ES_tradnl").unwrap()[0].0, "enero");
        assert!(month_names("").is_none());
    }
}
