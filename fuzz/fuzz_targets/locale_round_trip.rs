//! Dates and numbers through text under every locale the library knows
//! (`LOCALES`, not only the few `change_type` tries): a date in OLE's
//! range written as text (`VarBstrFromDate`) reads back (`VarDateFromStr`)
//! as the same second wherever the locale's short date writes a 4-digit
//! year; a double written as text reads back as a double that writes the
//! same text (but past 1.79769313486231E+308); and any text read as a date or number under the locale
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::locale::LOCALES;
use sess::variant::{change_type, vt, Variant};

/// Days from 100-01-01 to 9999-12-31, as OLE dates.
const FIRST: f64 = -657_434.0;
const LAST: f64 = 2_958_465.999_988_426;

fuzz_target!(|data: &[u8]| {
    let [l, a, b, c, d, e, f, g, h, text @ ..] = data else {
        return;
    };
    let loc = &LOCALES[usize::from(*l) % LOCALES.len()];
    let lcid = u32::from(loc.langid);
    let bits = u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]);

    // Any text, as a date and as a number.
    let src = Variant::bstr(&String::from_utf8_lossy(text));
    let _ = change_type(&src, lcid, 0, vt::DATE);
    let _ = change_type(&src, lcid, 0, vt::R8);

    // A date to the second, across the whole range.
    let seconds = (bits % ((LAST - FIRST) * 86_400.0) as u64) as f64;
    let date = FIRST + (seconds / 86_400.0);
    let shown = change_type(&Variant::Date(date), lcid, 0, vt::BSTR).expect("a date in range");
    if loc.short_date.contains("yyyy") {
        match change_type(&shown, lcid, 0, vt::DATE) {
            Ok(Variant::Date(back)) => assert!(
                ((back - date) * 86_400.0).abs() < 0.5,
                "{} ({lcid:#06x}): {date} shown as {shown:?} reads back as {back}",
                loc.name
            ),
            other => panic!(
                "{} ({lcid:#06x}): {date} shown as {shown:?}: {other:?}",
                loc.name
            ),
        }
    }

    // A double: its text reads back as one with the same text (but for
    // the few next to the largest, whose 15 digits round up past it: as
    // on Windows, that text overflows).
    let x = f64::from_bits(bits);
    if x.abs() < 1.797_693_134_862_31e308 {
        let shown = change_type(&Variant::R8(x), lcid, 0, vt::BSTR).expect("a double as text");
        let back = change_type(&shown, lcid, 0, vt::R8).unwrap_or_else(|e| {
            panic!("{} ({lcid:#06x}): {x:?} shown as {shown:?}: {e}", loc.name)
        });
        let again = change_type(&back, lcid, 0, vt::BSTR).expect("a double as text");
        assert_eq!(again, shown, "{} ({lcid:#06x}): {x:?}", loc.name);
    }
});
