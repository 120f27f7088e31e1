//! `VariantChangeTypeEx`: a value converted to another variant type.
//!
//! The rules are Windows' as Wine's oleaut32 tests record them
//! (`dlls/oleaut32/tests/vartype.c`, `variant.c`): banker's rounding to
//! integers, `DISP_E_OVERFLOW` when a value does not fit, `DISP_E_TYPEMISMATCH`
//! when no conversion exists. Objects are never asked for their value
//! property, so an object converts only to `VT_EMPTY`, `VT_NULL` and (from
//! `VT_DISPATCH`) `VT_UNKNOWN`.

use super::text::{self, BoolText, Number};
use super::{check_vt, date, vt, Items, SafeArray, Variant};
use crate::error::{self, Error, Result};
use crate::locale::{locale_info, LocaleInfo};

/// `VariantChangeTypeEx` flags, with COM's values. `change_type` refuses
/// any other bit with `E_INVALIDARG`, Windows' `VARIANT_CALENDAR_THAI` and
/// `VARIANT_USE_NLS` included (this library does not implement them).
pub mod flags {
    /// Do not coerce an object through its value property. Objects are never
    /// coerced that way here; as in Windows, the flag also makes `VT_DISPATCH` → `VT_EMPTY`/`VT_NULL` a type mismatch.
    pub const VARIANT_NOVALUEPROP: u16 = 0x01;
    /// `VT_BOOL` → `VT_BSTR` gives `True`/`False` in English
    /// (without it, `-1`/`0`).
    pub const VARIANT_ALPHABOOL: u16 = 0x02;
    /// The locale's own settings rather than the user's. No effect: there are
    /// no user overrides here.
    pub const VARIANT_NOUSEROVERRIDE: u16 = 0x04;
    /// Dates in the Hijri calendar. Not supported and ignored (as in Wine's
    /// oleaut32): dates are always Gregorian.
    pub const VARIANT_CALENDAR_HIJRI: u16 = 0x08;
    /// Booleans as the locale's words, to and from text.
    pub const VARIANT_LOCALBOOL: u16 = 0x10;
    /// Dates in the Gregorian calendar whatever the locale's default
    /// calendar (th-TH's Thai Buddhist, ar-SA's Hijri). Dates here are always
    /// Gregorian, so with this flag they are also Windows' exactly.
    pub const VARIANT_CALENDAR_GREGORIAN: u16 = 0x40;
}

/// Converts `src` to the type `target` under the locale `lcid`, with
/// `VariantChangeTypeEx` semantics:
///
/// - same type: a (deep) copy; an array converts to no other type but for
///   `VT_ARRAY | VT_UI1` ↔ `VT_BSTR` (the string's UTF-8 bytes; bytes that
///   are not UTF-8 are a mismatch), as Windows converts bytes and strings;
/// - `VT_EMPTY` becomes 0, `""`, False or date 0; `VT_NULL` converts only to
///   itself; as in Windows, every other value but `VT_ERROR` (objects
///   included) converts to `VT_EMPTY` and `VT_NULL`;
/// - to integers: banker's rounding (2.5 → 2, 3.5 → 4), `DISP_E_OVERFLOW` out
///   of range; as in Windows, a `VT_BOOL` is its stored SHORT cast to the
///   target like a C cast (`VARIANT_TRUE` → `VT_UI1` 255, a non-canonical
///   128 → `VT_I1` -128, 256 → `VT_UI1` 0; a TRUE stored as 1 is 1 as every
///   number, date and currency) and a signed/unsigned integer of the same
///   width is reinterpreted (`VT_I1` -1 → `VT_UI1` 255);
/// - to text, under the locale's separators and patterns: `VT_R8` with up to
///   15 significant digits (`0.333333333333333`, `1E+16`; `0,5` under
///   fr-FR), no digit grouping, `VT_R4` up to 7, `VT_CY` up to 4 decimals,
///   dates as the locale's short date and time (`12/31/1999 6:00:00 PM`,
///   `31.12.1999 18:00:00` under de-DE; date alone at midnight, time alone
///   on day 0; to the nearest second, but never past 9999-12-31 23:59:59,
///   as Microsoft's `VarUdateFromDate` rounds), `VT_BOOL` as its
///   SHORT (`-1`, `0`, `1`) unless `VARIANT_ALPHABOOL` (English words) or
///   `VARIANT_LOCALBOOL` (the locale's words) ask for words;
/// - from text (read, as `VarXxxFromStr` reads it, up to the string's first
///   NUL: `"12\0x"` → 12): numbers with spaces, signs, parentheses, the locale's
///   digit-group and decimal separators (`1.234,5` under de-DE), its
///   currency symbol, an exponent or `&H`/`&O`; booleans as `True`/`False`
///   (with `VARIANT_LOCALBOOL` also the locale's words) or a number; dates
///   and times as `VarDateFromStr` reads them (the locale's layout, else
///   Windows' generic grammar: English month names, times before or after
///   the date, the first field order that makes a valid date);
/// - to `VT_DATE`: `DISP_E_OVERFLOW` outside 100-01-01 ..= 9999-12-31;
/// - `VT_ERROR` converts only to itself; nothing converts to `VT_ERROR` or
///   `VT_DISPATCH` (that needs `QueryInterface`, which is not called);
///   `VT_DISPATCH` → `VT_UNKNOWN` keeps the same object;
/// - flag bits other than the `flags` module's: `E_INVALIDARG`;
/// - `target` not a type a [`Variant`] holds: `DISP_E_BADVARTYPE`
///   (`VT_VARIANT` alone: `DISP_E_TYPEMISMATCH`, as in Windows);
/// - an LCID Windows does not define: `E_INVALID_LCID`; 0,
///   `LOCALE_USER_DEFAULT` and `LOCALE_SYSTEM_DEFAULT` read as en-US (pass
///   `locale::resolve_lcid(lcid, app_default)` to use an application
///   default); see [`locale_info`] for LCIDs without data of their own.
///
/// One deliberate difference: `VT_CY` → `VT_I8` rounds half to even like every
/// other conversion, where Windows' `VarI8FromCy` subtracts one from every
/// negative amount (-1 → -2).
pub fn change_type(src: &Variant, lcid: u32, flags: u16, target: u16) -> Result<Variant> {
    const KNOWN: u16 = flags::VARIANT_NOVALUEPROP
        | flags::VARIANT_ALPHABOOL
        | flags::VARIANT_NOUSEROVERRIDE
        | flags::VARIANT_CALENDAR_HIJRI
        | flags::VARIANT_LOCALBOOL
        | flags::VARIANT_CALENDAR_GREGORIAN;
    if flags & !KNOWN != 0 {
        return Err(Error::new(
            error::E_INVALIDARG,
            format!("unknown change_type flags {:#x}", flags & !KNOWN),
        ));
    }
    let from = src.vt();
    if target == vt::VARIANT {
        return Err(mismatch(from, target));
    }
    check_vt(target)?;
    let loc = locale_info(lcid)?;
    if from == target {
        return Ok(src.clone());
    }
    let is_array = |t: u16| t & vt::ARRAY != 0;
    if is_array(from) || is_array(target) {
        return bytes_and_text(src, target);
    }
    if flags & flags::VARIANT_NOVALUEPROP != 0 && from == vt::DISPATCH && target != vt::UNKNOWN {
        return Err(mismatch(from, target));
    }
    match (target, src) {
        (vt::EMPTY, Variant::Null | Variant::Error(_)) => Err(mismatch(from, target)),
        (vt::EMPTY, _) => Ok(Variant::Empty),
        (vt::NULL, Variant::Error(_)) => Err(mismatch(from, target)),
        (vt::NULL, _) => Ok(Variant::Null),
        (vt::UNKNOWN, Variant::Dispatch(object)) => Ok(Variant::Unknown(object.clone())),
        (vt::BSTR, _) => to_text(src, loc, flags).map(|s| Variant::Bstr(s.into())),
        _ => {
            let value = Scalar::of(src).ok_or_else(|| mismatch(from, target))?;
            match target {
                vt::R4 => to_r4(value, loc).map(Variant::R4),
                vt::R8 => to_r8(value, loc).map(Variant::R8),
                vt::CY => check_i8_for_cy(src)
                    .and_then(|()| to_cy(value, loc))
                    .map(Variant::Cy),
                vt::DATE => to_date(value, loc).map(Variant::Date),
                vt::BOOL => to_bool(value, loc, flags).map(Variant::bool),
                _ => match IntType::of(target) {
                    Some(t) => to_integer(value, t, loc).map(|v| t.make(v)),
                    None => Err(mismatch(from, target)),
                },
            }
        }
    }
}

/// The one conversion to or from an array (Windows' `VARIANT_CoerceArray`:
/// `BstrFromVector`, `VectorFromBstr`): an array of bytes to a string and
/// a string to an array of bytes, the string's bytes as they are (UTF-8
/// here; bytes that are not UTF-8 are a mismatch).
fn bytes_and_text(src: &Variant, target: u16) -> Result<Variant> {
    let no = || mismatch(src.vt(), target);
    match (src, target) {
        (Variant::Array(a), vt::BSTR) => match a.items() {
            Items::Bytes(bytes) => std::str::from_utf8(bytes).map(Variant::bstr).map_err(|_| {
                Error::new(
                    error::DISP_E_TYPEMISMATCH,
                    "VT_ARRAY|VT_UI1 to VT_BSTR: the bytes are not UTF-8 text",
                )
            }),
            Items::Variants(_) => Err(no()),
        },
        (Variant::Bstr(s), t) if t == vt::ARRAY | vt::UI1 => Ok(Variant::Array(Box::new(
            SafeArray::from_bytes(s.as_bytes())?,
        ))),
        _ => Err(no()),
    }
}

/// A source value that can become a number, a date or a boolean.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    /// An integer and its width in bits (0 for `VT_EMPTY`).
    Int(i128, u32),
    /// A `VARIANT_BOOL`'s stored SHORT.
    Bool(i16),
    /// `VT_R4`, `VT_R8` or `VT_DATE`.
    Float(f64),
    Cy(i64),
    /// A `VT_BSTR`'s text before its first NUL.
    Text(&'a str),
}

impl<'a> Scalar<'a> {
    fn of(v: &'a Variant) -> Option<Self> {
        Some(match v {
            Variant::Empty => Scalar::Int(0, 0),
            Variant::I1(x) => Scalar::Int(i128::from(*x), 8),
            Variant::UI1(x) => Scalar::Int(i128::from(*x), 8),
            Variant::I2(x) => Scalar::Int(i128::from(*x), 16),
            Variant::UI2(x) => Scalar::Int(i128::from(*x), 16),
            Variant::I4(x) => Scalar::Int(i128::from(*x), 32),
            Variant::UI4(x) => Scalar::Int(i128::from(*x), 32),
            Variant::I8(x) => Scalar::Int(i128::from(*x), 64),
            Variant::UI8(x) => Scalar::Int(i128::from(*x), 64),
            Variant::Bool(b) => Scalar::Bool(*b),
            Variant::R4(x) => Scalar::Float(f64::from(*x)),
            Variant::R8(x) | Variant::Date(x) => Scalar::Float(*x),
            Variant::Cy(c) => Scalar::Cy(*c),
            // VarXxxFromStr read an OLECHAR string: up to the first NUL.
            Variant::Bstr(s) => Scalar::Text(s.split('\0').next().unwrap_or_default()),
            Variant::Null
            | Variant::Error(_)
            | Variant::Dispatch(_)
            | Variant::Unknown(_)
            | Variant::Array(_) => return None,
        })
    }
}

/// An integer variant type: its tag, width and signedness.
#[derive(Clone, Copy)]
struct IntType {
    tag: u16,
    bits: u32,
    signed: bool,
}

impl IntType {
    fn of(tag: u16) -> Option<Self> {
        let (bits, signed) = match tag {
            vt::I1 => (8, true),
            vt::UI1 => (8, false),
            vt::I2 => (16, true),
            vt::UI2 => (16, false),
            vt::I4 => (32, true),
            vt::UI4 => (32, false),
            vt::I8 => (64, true),
            vt::UI8 => (64, false),
            _ => return None,
        };
        Some(IntType { tag, bits, signed })
    }

    fn min(self) -> i128 {
        if self.signed {
            -(1 << (self.bits - 1))
        } else {
            0
        }
    }

    fn max(self) -> i128 {
        if self.signed {
            (1 << (self.bits - 1)) - 1
        } else {
            (1 << self.bits) - 1
        }
    }

    /// `v`'s low bits read as this type (two's complement).
    fn wrap(self, v: i128) -> i128 {
        let low = v & ((1 << self.bits) - 1);
        if low > self.max() {
            low - (1 << self.bits)
        } else {
            low
        }
    }

    fn check(self, v: i128) -> Result<i128> {
        if (self.min()..=self.max()).contains(&v) {
            Ok(v)
        } else {
            Err(overflow(self.tag))
        }
    }

    /// Banker's rounding, then the range check (NaN overflows).
    fn round_float(self, x: f64) -> Result<i128> {
        if x.is_nan() {
            return Err(overflow(self.tag));
        }
        // Saturating cast: anything that large is out of range anyway.
        self.check(x.round_ties_even() as i128)
    }

    /// A `&H`/`&O` literal's bits, if they fit the width.
    fn take_bits(self, bits: u64) -> Result<i128> {
        if self.bits < 64 && bits >> self.bits != 0 {
            return Err(overflow(self.tag));
        }
        Ok(self.wrap(i128::from(bits)))
    }

    /// The variant of this type holding `v`, which is in range.
    fn make(self, v: i128) -> Variant {
        match self.tag {
            vt::I1 => Variant::I1(v as i8),
            vt::UI1 => Variant::UI1(v as u8),
            vt::I2 => Variant::I2(v as i16),
            vt::UI2 => Variant::UI2(v as u16),
            vt::I4 => Variant::I4(v as i32),
            vt::UI4 => Variant::UI4(v as u32),
            vt::I8 => Variant::I8(v as i64),
            _ => Variant::UI8(v as u64),
        }
    }
}

fn to_integer(value: Scalar<'_>, t: IntType, loc: &LocaleInfo) -> Result<i128> {
    match value {
        Scalar::Int(v, bits) if bits == t.bits => Ok(t.wrap(v)),
        Scalar::Int(v, _) => t.check(v),
        Scalar::Bool(b) => Ok(t.wrap(i128::from(b))),
        Scalar::Float(x) => t.round_float(x),
        Scalar::Cy(c) => t.check(cy_to_integer(c)),
        Scalar::Text(s) => match text::parse_number(s, loc)? {
            Number::Decimal(d) => d
                .rounded(0)
                .map_or_else(|| Err(overflow(t.tag)), |v| t.check(v)),
            Number::Bits(bits) => t.take_bits(bits),
        },
    }
}

/// A currency amount rounded half to even to an integer.
fn cy_to_integer(cy: i64) -> i128 {
    let (q, r) = (i128::from(cy / 10_000), i128::from(cy % 10_000));
    if r.abs() > 5_000 || (r.abs() == 5_000 && q % 2 != 0) {
        q + r.signum()
    } else {
        q
    }
}

fn to_r8(value: Scalar<'_>, loc: &LocaleInfo) -> Result<f64> {
    Ok(match value {
        Scalar::Int(v, _) => v as f64,
        Scalar::Bool(b) => f64::from(b),
        Scalar::Float(x) => x,
        Scalar::Cy(c) => c as f64 / 10_000.0,
        Scalar::Text(s) => text::parse_number(s, loc)?.to_f64()?,
    })
}

fn to_r4(value: Scalar<'_>, loc: &LocaleInfo) -> Result<f32> {
    let x = match value {
        Scalar::Int(v, _) => return Ok(v as f32),
        Scalar::Text(s) => {
            let x = text::parse_number(s, loc)?.to_f64()?;
            // Text that is not zero must be a normal R4 (VarNumFromParseNum).
            if x != 0.0 && x.abs() < f64::from(f32::MIN_POSITIVE) {
                return Err(overflow(vt::R4));
            }
            x
        }
        other => to_r8(other, loc)?,
    };
    // Overflow is what rounds past the largest float (Wine's R4_MAX is
    // FLT_MAX plus just under half a step): 3.4028235e38 is FLT_MAX.
    let r4 = x as f32;
    if r4.is_infinite() {
        return Err(overflow(vt::R4));
    }
    Ok(r4)
}

fn to_cy(value: Scalar<'_>, loc: &LocaleInfo) -> Result<i64> {
    let cy = match value {
        Scalar::Int(v, _) => v.checked_mul(10_000),
        Scalar::Cy(c) => Some(i128::from(c)),
        Scalar::Text(s) => match text::parse_number(s, loc)? {
            Number::Decimal(d) => d.rounded(4),
            bits => float_to_cy(bits.to_f64()?),
        },
        other => float_to_cy(to_r8(other, loc)?),
    };
    cy.and_then(|c| i64::try_from(c).ok())
        .ok_or_else(|| overflow(vt::CY))
}

/// `VarCyFromI8`'s range, which is one narrower than the scaled value
/// needs: Windows rejects a `VT_I8` whose magnitude is at least
/// `i64::MAX / 10_000` (±922337203685477 overflow although ×10,000 they
/// fit; a `VT_UI8` 922337203685477 converts).
fn check_i8_for_cy(src: &Variant) -> Result<()> {
    const LIMIT: i64 = i64::MAX / 10_000;
    match src {
        Variant::I8(x) if x.unsigned_abs() >= LIMIT.unsigned_abs() => Err(overflow(vt::CY)),
        _ => Ok(()),
    }
}

/// `x` × 10,000 rounded half to even; `None` for NaN.
fn float_to_cy(x: f64) -> Option<i128> {
    (!x.is_nan()).then(|| (x * 10_000.0).round_ties_even() as i128)
}

fn to_date(value: Scalar<'_>, loc: &LocaleInfo) -> Result<f64> {
    let x = match value {
        Scalar::Text(s) => return text::parse_date(s, loc),
        other => to_r8(other, loc)?,
    };
    if date::in_range(x) {
        Ok(x)
    } else {
        Err(overflow(vt::DATE))
    }
}

fn to_bool(value: Scalar<'_>, loc: &LocaleInfo, flags: u16) -> Result<bool> {
    Ok(match value {
        Scalar::Int(v, _) => v != 0,
        Scalar::Bool(b) => b != 0,
        Scalar::Float(x) => x != 0.0,
        Scalar::Cy(c) => c != 0,
        Scalar::Text(s) => text::parse_bool(s, loc, flags & flags::VARIANT_LOCALBOOL != 0)?,
    })
}

fn to_text(src: &Variant, loc: &LocaleInfo, flags: u16) -> Result<String> {
    Ok(match src {
        Variant::Empty => String::new(),
        Variant::Bstr(s) => s.to_string(),
        Variant::Bool(b) => {
            let style = if flags & flags::VARIANT_LOCALBOOL != 0 {
                BoolText::Local
            } else if flags & flags::VARIANT_ALPHABOOL != 0 {
                BoolText::English
            } else {
                BoolText::Numeric
            };
            text::format_bool(*b, style, loc)
        }
        Variant::I1(x) => x.to_string(),
        Variant::UI1(x) => x.to_string(),
        Variant::I2(x) => x.to_string(),
        Variant::UI2(x) => x.to_string(),
        Variant::I4(x) => x.to_string(),
        Variant::UI4(x) => x.to_string(),
        Variant::I8(x) => x.to_string(),
        Variant::UI8(x) => x.to_string(),
        Variant::R4(x) => text::format_r4(*x, loc),
        Variant::R8(x) => text::format_r8(*x, loc),
        Variant::Cy(c) => text::format_cy(*c, loc),
        Variant::Date(d) => text::format_date(*d, loc)?,
        Variant::Null
        | Variant::Error(_)
        | Variant::Dispatch(_)
        | Variant::Unknown(_)
        | Variant::Array(_) => return Err(mismatch(src.vt(), vt::BSTR)),
    })
}

/// COM's name for a type tag, for messages.
fn vt_name(tag: u16) -> &'static str {
    match tag {
        vt::EMPTY => "VT_EMPTY",
        vt::NULL => "VT_NULL",
        vt::I2 => "VT_I2",
        vt::I4 => "VT_I4",
        vt::R4 => "VT_R4",
        vt::R8 => "VT_R8",
        vt::CY => "VT_CY",
        vt::DATE => "VT_DATE",
        vt::BSTR => "VT_BSTR",
        vt::DISPATCH => "VT_DISPATCH",
        vt::ERROR => "VT_ERROR",
        vt::BOOL => "VT_BOOL",
        vt::VARIANT => "VT_VARIANT",
        vt::UNKNOWN => "VT_UNKNOWN",
        vt::I1 => "VT_I1",
        vt::UI1 => "VT_UI1",
        vt::UI2 => "VT_UI2",
        vt::UI4 => "VT_UI4",
        vt::I8 => "VT_I8",
        vt::UI8 => "VT_UI8",
        t if t == vt::ARRAY | vt::VARIANT => "VT_ARRAY|VT_VARIANT",
        t if t == vt::ARRAY | vt::UI1 => "VT_ARRAY|VT_UI1",
        _ => "an unsupported type",
    }
}

fn mismatch(from: u16, to: u16) -> Error {
    Error::new(
        error::DISP_E_TYPEMISMATCH,
        format!("cannot convert {} to {}", vt_name(from), vt_name(to)),
    )
}

fn overflow(to: u16) -> Error {
    Error::new(
        error::DISP_E_OVERFLOW,
        format!("the value is out of range for {}", vt_name(to)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variant::{Object, SafeArray, Unknown, UnknownVtbl};
    use std::sync::atomic::{AtomicU32, Ordering};

    const US: u32 = 0x0409;

    fn conv(v: &Variant, target: u16) -> Result<Variant> {
        change_type(v, US, 0, target)
    }

    fn code(v: &Variant, target: u16) -> i32 {
        match conv(v, target) {
            Ok(got) => panic!("{v:?} -> {target:#x} gave {got:?}"),
            Err(e) => e.code(),
        }
    }

    fn bstr(s: &str) -> Variant {
        Variant::bstr(s)
    }

    #[test]
    fn strings_are_read_to_their_first_nul() {
        // VarI4FromStr and the other VarXxxFromStr take an OLECHAR string:
        // what VariantChangeType gives them ends at the BSTR's first NUL.
        assert_eq!(conv(&bstr("12\0x"), vt::I4), Ok(Variant::I4(12)));
        assert_eq!(conv(&bstr("1.5\0"), vt::R8), Ok(Variant::R8(1.5)));
        assert_eq!(
            conv(&bstr("True\0False"), vt::BOOL),
            Ok(Variant::bool(true))
        );
        assert_eq!(
            conv(&bstr("1/2/2000\0junk"), vt::DATE),
            conv(&bstr("1/2/2000"), vt::DATE)
        );
        assert_eq!(code(&bstr("\u{0}12"), vt::I4), error::DISP_E_TYPEMISMATCH);
        // To text, the string stays whole.
        assert_eq!(conv(&bstr("a\0b"), vt::BSTR), Ok(bstr("a\0b")));
    }

    #[test]
    fn unknown_flags_are_refused() {
        for f in [0x20, 0x80, 0x8000] {
            let e = change_type(&Variant::I4(1), US, f, vt::BSTR).unwrap_err();
            assert_eq!(e.code(), error::E_INVALIDARG, "{f:#x}");
        }
        let all = flags::VARIANT_NOVALUEPROP
            | flags::VARIANT_ALPHABOOL
            | flags::VARIANT_NOUSEROVERRIDE
            | flags::VARIANT_CALENDAR_HIJRI
            | flags::VARIANT_LOCALBOOL
            | flags::VARIANT_CALENDAR_GREGORIAN;
        assert!(change_type(&Variant::I4(1), US, all, vt::BSTR).is_ok());
    }

    #[test]
    fn gregorian_calendar_flag_gives_the_gregorian_dates_every_locale_has() {
        // 1999-12-31 (36525): th-TH's short date, the Gregorian year as
        // Windows gives it with the flag (without it, Windows counts 2542).
        let thai = change_type(
            &Variant::Date(36_525.0),
            0x041E,
            flags::VARIANT_CALENDAR_GREGORIAN,
            vt::BSTR,
        );
        assert_eq!(thai, Ok(bstr("31/12/1999")));
        let back = change_type(
            &bstr("31/12/1999"),
            0x041E,
            flags::VARIANT_CALENDAR_GREGORIAN,
            vt::DATE,
        );
        assert_eq!(back, Ok(Variant::Date(36_525.0)));
    }

    #[test]
    fn bankers_rounding_to_integers() {
        // Wine's Var*FromR8/FromCy/FromDate tests: half to even, both signs.
        for (x, i) in [
            (2.5, 2),
            (3.5, 4),
            (-2.5, -2),
            (0.5, 0),
            (1.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (0.4, 0),
            (0.6, 1),
            (-0.6, -1),
            (127.49, 127),
        ] {
            assert_eq!(conv(&Variant::R8(x), vt::I4), Ok(Variant::I4(i)), "R8 {x}");
            assert_eq!(
                conv(&Variant::R4(x as f32), vt::I2),
                Ok(Variant::I2(i as i16)),
                "R4 {x}"
            );
            assert_eq!(
                conv(&Variant::Date(x), vt::I8),
                Ok(Variant::I8(i64::from(i))),
                "DATE {x}"
            );
            let cy = Variant::Cy((x * 10_000.0) as i64);
            assert_eq!(conv(&cy, vt::I4), Ok(Variant::I4(i)), "CY {x}");
            assert_eq!(
                conv(&cy, vt::I8),
                Ok(Variant::I8(i64::from(i))),
                "CY {x} to I8"
            );
        }
        assert_eq!(conv(&Variant::R8(-128.5), vt::I1), Ok(Variant::I1(-128)));
        assert_eq!(conv(&Variant::R8(-0.5), vt::UI1), Ok(Variant::UI1(0)));
        assert_eq!(
            conv(&Variant::R8(4_294_967_295.49), vt::UI4),
            Ok(Variant::UI4(u32::MAX))
        );
    }

    #[test]
    fn overflow() {
        let table = [
            (Variant::I4(128), vt::I1),
            (Variant::I4(-129), vt::I1),
            (Variant::I4(-1), vt::UI1),
            (Variant::I2(256), vt::UI1),
            (Variant::R8(-1.0), vt::UI1),
            (Variant::R8(-0.51), vt::UI1),
            (Variant::R8(255.5), vt::UI1),
            (Variant::R8(127.5), vt::I1),
            (Variant::R8(-128.51), vt::I1),
            (Variant::UI4(u32::MAX), vt::I2),
            (Variant::I8(i64::MAX), vt::I4),
            (Variant::I4(-1), vt::UI8),
            (Variant::I2(-1), vt::UI4),
            (Variant::R8(1e20), vt::I8),
            (Variant::R8(18_446_744_073_709_551_616.0), vt::UI8),
            (Variant::R8(f64::NAN), vt::I4),
            (Variant::R8(f64::INFINITY), vt::I4),
            (Variant::R8(1e39), vt::R4),
            (Variant::R8(f64::NEG_INFINITY), vt::R4),
            (Variant::I8(922_337_203_685_478), vt::CY),
            (Variant::UI8(u64::MAX), vt::CY),
            (Variant::R8(1e15), vt::CY),
            (Variant::R8(f64::NAN), vt::CY),
            (Variant::R8(3e6), vt::DATE),
            (Variant::R8(-657_435.0), vt::DATE),
            (Variant::R8(f64::NAN), vt::DATE),
            (Variant::I4(2_958_466), vt::DATE),
            (Variant::I4(-657_435), vt::DATE),
            (Variant::Cy(i64::MAX), vt::DATE),
            (Variant::Cy(1_280_000), vt::I1),
            (bstr("128"), vt::I1),
            (bstr("-1"), vt::UI1),
            (bstr("-0.6"), vt::UI1),
            (bstr("4294967296"), vt::UI4),
            (bstr("18446744073709551616"), vt::UI8),
            (bstr("&H100"), vt::UI1),
            (bstr("1e400"), vt::R8),
            (bstr("1e39"), vt::R4),
            (bstr("1e-40"), vt::R4),
            (bstr("922337203685477.5808"), vt::CY),
            (bstr("1e400"), vt::BOOL),
        ];
        for (v, target) in &table {
            assert_eq!(
                code(v, *target),
                error::DISP_E_OVERFLOW,
                "{v:?} -> {target:#x}"
            );
        }
        // Windows' VarCyFromI8 range is one narrower than VarCyFromUI8's.
        assert_eq!(
            code(&Variant::I8(922_337_203_685_477), vt::CY),
            error::DISP_E_OVERFLOW
        );
        assert_eq!(
            conv(&Variant::UI8(922_337_203_685_477), vt::CY),
            Ok(Variant::Cy(9_223_372_036_854_770_000))
        );
        assert_eq!(
            conv(&Variant::I4(2_958_465), vt::DATE),
            Ok(Variant::Date(2_958_465.0))
        );
        assert_eq!(
            conv(&Variant::I4(-657_434), vt::DATE),
            Ok(Variant::Date(-657_434.0))
        );
        assert_eq!(
            conv(&Variant::R8(-657_434.5), vt::DATE),
            Ok(Variant::Date(-657_434.5))
        );
    }

    #[test]
    fn same_width_integers_are_reinterpreted() {
        // Wine's NEGATIVE_TYPETEST: VariantChangeTypeEx casts between the
        // signed and unsigned type of one width without an overflow check.
        let table = [
            (Variant::I1(-1), Variant::UI1(255)),
            (Variant::UI1(255), Variant::I1(-1)),
            (Variant::I2(-1), Variant::UI2(65_535)),
            (Variant::UI2(0x8000), Variant::I2(-32_768)),
            (Variant::I4(-1), Variant::UI4(u32::MAX)),
            (Variant::UI4(0x8000_0000), Variant::I4(i32::MIN)),
            (Variant::I8(-1), Variant::UI8(u64::MAX)),
            (Variant::UI8(u64::MAX), Variant::I8(-1)),
        ];
        for (from, to) in &table {
            assert_eq!(conv(from, to.vt()).as_ref(), Ok(to), "{from:?}");
        }
    }

    #[test]
    fn booleans() {
        // True is VARIANT_TRUE (-1): cast, not checked, into unsigned types
        // (Wine's test_VarUI1FromBool: "conversions from bool overflow").
        let truths = [
            Variant::I1(-1),
            Variant::UI1(255),
            Variant::I2(-1),
            Variant::UI2(65_535),
            Variant::I4(-1),
            Variant::UI4(u32::MAX),
            Variant::I8(-1),
            Variant::UI8(u64::MAX),
            Variant::R4(-1.0),
            Variant::R8(-1.0),
            Variant::Cy(-10_000),
            Variant::Date(-1.0),
            bstr("-1"),
        ];
        for expected in &truths {
            assert_eq!(
                conv(&Variant::bool(true), expected.vt()).as_ref(),
                Ok(expected)
            );
            let zero = conv(&Variant::bool(false), expected.vt()).unwrap();
            assert_eq!(conv(&zero, vt::BOOL), Ok(Variant::bool(false)), "{zero:?}");
            assert_eq!(
                conv(expected, vt::BOOL),
                Ok(Variant::bool(true)),
                "{expected:?}"
            );
        }
        for v in [
            Variant::R8(0.4),
            Variant::Cy(1),
            Variant::UI8(1 << 40),
            Variant::R4(-0.5),
        ] {
            assert_eq!(conv(&v, vt::BOOL), Ok(Variant::bool(true)), "{v:?}");
        }
        for v in [
            Variant::R8(-0.0),
            Variant::Date(0.0),
            Variant::Empty,
            Variant::Cy(0),
        ] {
            assert_eq!(conv(&v, vt::BOOL), Ok(Variant::bool(false)), "{v:?}");
        }
    }

    #[test]
    fn bool_text_follows_the_flags() {
        // Wine's VARIANT_Coerce: without ALPHABOOL/LOCALBOOL a boolean becomes
        // text as the VT_I2 it is; test_VarBoolChangeTypeEx checks the flags.
        let text = |b: bool, f: u16| change_type(&Variant::bool(b), US, f, vt::BSTR);
        assert_eq!(text(true, 0), Ok(bstr("-1")));
        assert_eq!(text(false, 0), Ok(bstr("0")));
        assert_eq!(text(true, flags::VARIANT_ALPHABOOL), Ok(bstr("True")));
        assert_eq!(text(false, flags::VARIANT_ALPHABOOL), Ok(bstr("False")));
        assert_eq!(text(true, flags::VARIANT_LOCALBOOL), Ok(bstr("True")));
        let both = flags::VARIANT_ALPHABOOL | flags::VARIANT_LOCALBOOL;
        assert_eq!(text(false, both), Ok(bstr("False")));
        // Unknown bits are refused; NOUSEROVERRIDE changes nothing.
        assert_eq!(
            text(true, 0xFF00 | flags::VARIANT_ALPHABOOL)
                .unwrap_err()
                .code(),
            error::E_INVALIDARG
        );
        assert_eq!(text(true, flags::VARIANT_NOUSEROVERRIDE), Ok(bstr("-1")));
        assert_eq!(text(true, flags::VARIANT_CALENDAR_HIJRI), Ok(bstr("-1")));
        let read = |s: &str, f: u16| change_type(&bstr(s), US, f, vt::BOOL);
        assert_eq!(read("True", 0), Ok(Variant::bool(true)));
        assert_eq!(
            read("false", flags::VARIANT_LOCALBOOL),
            Ok(Variant::bool(false))
        );
        assert_eq!(read("#TRUE#", 0), Ok(Variant::bool(true)));
        assert_eq!(read("0", 0), Ok(Variant::bool(false)));
        assert_eq!(read("-1", 0), Ok(Variant::bool(true)));
        assert_eq!(
            read("yes", 0).unwrap_err().code(),
            error::DISP_E_TYPEMISMATCH
        );
    }

    #[test]
    fn empty_null_and_error() {
        let zeros = [
            Variant::I1(0),
            Variant::UI1(0),
            Variant::I2(0),
            Variant::UI2(0),
            Variant::I4(0),
            Variant::UI4(0),
            Variant::I8(0),
            Variant::UI8(0),
            Variant::R4(0.0),
            Variant::R8(0.0),
            Variant::Cy(0),
            Variant::Date(0.0),
            Variant::bool(false),
            bstr(""),
            Variant::Null,
        ];
        for zero in &zeros {
            assert_eq!(conv(&Variant::Empty, zero.vt()).as_ref(), Ok(zero));
        }
        assert_eq!(conv(&Variant::Null, vt::NULL), Ok(Variant::Null));
        assert_eq!(conv(&Variant::Error(5), vt::ERROR), Ok(Variant::Error(5)));
        for target in [
            vt::EMPTY,
            vt::I4,
            vt::R8,
            vt::BSTR,
            vt::BOOL,
            vt::DATE,
            vt::CY,
        ] {
            assert_eq!(
                code(&Variant::Null, target),
                error::DISP_E_TYPEMISMATCH,
                "{target}"
            );
        }
        for target in [vt::EMPTY, vt::NULL, vt::I4, vt::BSTR, vt::BOOL] {
            assert_eq!(
                code(&Variant::Error(5), target),
                error::DISP_E_TYPEMISMATCH,
                "{target}"
            );
        }
        for v in [Variant::Empty, Variant::I4(1), bstr("1"), Variant::Null] {
            assert_eq!(code(&v, vt::ERROR), error::DISP_E_TYPEMISMATCH, "{v:?}");
            assert_eq!(code(&v, vt::DISPATCH), error::DISP_E_TYPEMISMATCH, "{v:?}");
            assert_eq!(code(&v, vt::UNKNOWN), error::DISP_E_TYPEMISMATCH, "{v:?}");
        }
        // Every other value converts to VT_EMPTY and VT_NULL (COMMON_TYPETEST).
        for v in [
            Variant::I4(1),
            bstr("x"),
            Variant::R8(1.0),
            Variant::Date(1.0),
            Variant::bool(true),
        ] {
            assert_eq!(conv(&v, vt::EMPTY), Ok(Variant::Empty), "{v:?}");
            assert_eq!(conv(&v, vt::NULL), Ok(Variant::Null), "{v:?}");
        }
    }

    #[test]
    fn text_to_values() {
        let table = [
            ("  12  ", Variant::I4(12)),
            ("-128", Variant::I1(-128)),
            ("255", Variant::UI1(255)),
            ("2.5", Variant::I2(2)),
            ("3.5", Variant::I2(4)),
            ("1,234.5", Variant::R8(1234.5)),
            ("1,234.5", Variant::I4(1234)),
            ("-1.5E-7", Variant::R8(-1.5e-7)),
            ("0.1", Variant::R4(0.1)),
            ("1.2345", Variant::Cy(12_345)),
            ("$1,234.56", Variant::Cy(12_345_600)),
            ("(0.00005)", Variant::Cy(0)),
            ("&HFF", Variant::UI1(255)),
            ("&HFF", Variant::I1(-1)),
            ("&HFFFF", Variant::I2(-1)),
            ("&HFFFFFFFF", Variant::R8(-1.0)),
            ("18446744073709551615", Variant::UI8(u64::MAX)),
            ("-9223372036854775808", Variant::I8(i64::MIN)),
            ("12/31/1999", Variant::Date(36525.0)),
            ("12/31/1999 6:00 PM", Variant::Date(36525.75)),
            ("3:04:05 PM", Variant::Date(54_245.0 / 86_400.0)),
            ("True", Variant::bool(true)),
        ];
        for (text, expected) in &table {
            assert_eq!(
                conv(&bstr(text), expected.vt()).as_ref(),
                Ok(expected),
                "{text:?}"
            );
        }
        for (text, target) in [
            ("abc", vt::I4),
            ("abc", vt::R8),
            ("abc", vt::CY),
            ("abc", vt::BOOL),
            ("", vt::I4),
            ("12abc", vt::I4),
            ("2/30/2000", vt::DATE),
            ("36525", vt::DATE),
            ("abc", vt::DATE),
        ] {
            assert_eq!(
                code(&bstr(text), target),
                error::DISP_E_TYPEMISMATCH,
                "{text:?}"
            );
        }
    }

    #[test]
    fn values_to_text() {
        let table = [
            (Variant::R8(1.0 / 3.0), "0.333333333333333"),
            (Variant::R4(1.0 / 3.0), "0.3333333"),
            (Variant::R8(1e16), "1E+16"),
            (Variant::R8(1.5e-7), "0.00000015"),
            (Variant::R4(1.5e-7), "1.5E-07"),
            (
                Variant::R8(123_456_789_012_345_680_000.0),
                "1.23456789012346E+20",
            ),
            (Variant::Cy(12_345), "1.2345"),
            (Variant::Cy(125_000), "12.5"),
            (Variant::Cy(30_000), "3"),
            (Variant::Cy(-1), "-0.0001"),
            (Variant::Date(36525.0), "12/31/1999"),
            (Variant::Date(0.5), "12:00:00 PM"),
            (Variant::Date(0.0), "12:00:00 AM"),
            (Variant::Date(36525.75), "12/31/1999 6:00:00 PM"),
            (Variant::I1(-128), "-128"),
            (Variant::UI1(255), "255"),
            (Variant::I4(i32::MIN), "-2147483648"),
            (Variant::I8(i64::MIN), "-9223372036854775808"),
            (Variant::UI8(u64::MAX), "18446744073709551615"),
            (Variant::Empty, ""),
            (bstr("as is"), "as is"),
        ];
        for (v, text) in &table {
            assert_eq!(conv(v, vt::BSTR), Ok(bstr(text)), "{v:?}");
        }
        assert_eq!(code(&Variant::Null, vt::BSTR), error::DISP_E_TYPEMISMATCH);
        assert_eq!(
            code(&Variant::Error(1), vt::BSTR),
            error::DISP_E_TYPEMISMATCH
        );
        // VarBstrFromDate's answer for a date out of range.
        assert_eq!(code(&Variant::Date(3e6), vt::BSTR), error::E_INVALIDARG);
    }

    #[test]
    fn numbers_between_floats_currency_and_dates() {
        assert_eq!(conv(&Variant::Cy(15_000), vt::R8), Ok(Variant::R8(1.5)));
        assert_eq!(conv(&Variant::Cy(-6_000), vt::R4), Ok(Variant::R4(-0.6)));
        assert_eq!(conv(&Variant::Cy(15_000), vt::DATE), Ok(Variant::Date(1.5)));
        assert_eq!(
            conv(&Variant::R8(1.000_09), vt::CY),
            Ok(Variant::Cy(10_001))
        );
        assert_eq!(conv(&Variant::R8(0.000_05), vt::CY), Ok(Variant::Cy(0)));
        assert_eq!(conv(&Variant::R8(-0.000_09), vt::CY), Ok(Variant::Cy(-1)));
        assert_eq!(conv(&Variant::I4(-1), vt::CY), Ok(Variant::Cy(-10_000)));
        assert_eq!(
            conv(&Variant::I4(36525), vt::DATE),
            Ok(Variant::Date(36525.0))
        );
        assert_eq!(
            conv(&Variant::Date(36525.75), vt::R8),
            Ok(Variant::R8(36525.75))
        );
        assert_eq!(conv(&Variant::R4(1.5), vt::R8), Ok(Variant::R8(1.5)));
        assert_eq!(
            conv(&Variant::UI8(u64::MAX), vt::R8),
            Ok(Variant::R8(18_446_744_073_709_551_615.0))
        );
        assert_eq!(
            conv(&Variant::I4(16_777_217), vt::R4),
            Ok(Variant::R4(16_777_216.0))
        );
    }

    #[test]
    fn same_type_copies() {
        for v in [
            Variant::Empty,
            Variant::Null,
            Variant::I4(7),
            bstr("abc"),
            Variant::Error(3),
            Variant::Cy(-1),
        ] {
            assert_eq!(conv(&v, v.vt()).as_ref(), Ok(&v));
        }
        let nan = conv(&Variant::R8(f64::NAN), vt::R8).unwrap();
        assert!(matches!(nan, Variant::R8(x) if x.is_nan()));
    }

    #[test]
    fn arrays_convert_only_to_themselves_and_bytes_to_text() {
        let array = Variant::Array(Box::new(SafeArray::from(vec![bstr("a"), Variant::I4(1)])));
        let bytes = Variant::Array(Box::new(SafeArray::from_bytes(b"a").unwrap()));
        let arrays = [vt::ARRAY | vt::VARIANT, vt::ARRAY | vt::UI1];
        for (v, own) in [(&array, arrays[0]), (&bytes, arrays[1])] {
            assert_eq!(conv(v, own).as_ref(), Ok(v));
            for target in [vt::EMPTY, vt::NULL, vt::I4, vt::UI1, vt::BOOL] {
                assert_eq!(code(v, target), error::DISP_E_TYPEMISMATCH, "{target}");
            }
        }
        assert_eq!(code(&array, vt::BSTR), error::DISP_E_TYPEMISMATCH);
        assert_eq!(code(&array, arrays[1]), error::DISP_E_TYPEMISMATCH);
        assert_eq!(code(&bytes, arrays[0]), error::DISP_E_TYPEMISMATCH);
        // Bytes and text, both ways (BstrFromVector / VectorFromBstr).
        assert_eq!(conv(&bytes, vt::BSTR), Ok(bstr("a")));
        assert_eq!(conv(&bstr("a"), arrays[1]).as_ref(), Ok(&bytes));
        assert_eq!(code(&bstr("a"), arrays[0]), error::DISP_E_TYPEMISMATCH);
        for v in [Variant::Empty, Variant::I4(1), Variant::UI1(1)] {
            for target in arrays {
                assert_eq!(code(&v, target), error::DISP_E_TYPEMISMATCH, "{v:?}");
            }
        }
    }

    #[test]
    fn bad_targets_and_locales() {
        for target in [14, 15, 22, 23, 36, vt::ARRAY | vt::I4, 0x4003, 0xFFFF] {
            assert_eq!(
                code(&Variant::I4(1), target),
                error::DISP_E_BADVARTYPE,
                "{target:#x}"
            );
        }
        // VT_VARIANT is a type, but not one a value can be changed to.
        assert_eq!(
            code(&Variant::I4(1), vt::VARIANT),
            error::DISP_E_TYPEMISMATCH
        );
        for lcid in [0xABCD, 0x0C00, 0xFFFF_FFFF] {
            let err = change_type(&Variant::I4(1), lcid, 0, vt::I4).unwrap_err();
            assert_eq!(err.code(), error::E_INVALID_LCID, "{lcid:#x}");
        }
        // The default aliases read as en-US; other LCIDs as themselves.
        for (lcid, text) in [
            (0, "0.5"),
            (0x0400, "0.5"),
            (0x0800, "0.5"),
            (0x040C, "0,5"),
            (0x0407, "0,5"),
            (0x0001_0407, "0,5"),
        ] {
            assert_eq!(
                change_type(&Variant::R8(0.5), lcid, 0, vt::BSTR),
                Ok(bstr(text)),
                "{lcid:#x}"
            );
        }
    }

    #[test]
    fn any_value_to_any_type_returns() {
        let texts = [
            "",
            " ",
            "-",
            "(",
            "&H",
            "&O",
            "1e",
            ".",
            "$",
            "٫",
            "١٢",
            "€5",
            "𝟙",
            "é1",
            "\u{FEFF}1",
            "1/1",
            "1/1/",
            "//",
            "1:",
            "::",
            "12/31/1999\u{3000}",
            "99999999999/1/1",
            "1:99999999999",
            "9999999999999999999999999999999999999999",
            "-0.00000000000000000000000000001e-99999999999",
            "&HFFFFFFFFFFFFFFFF",
            "&O7777777777777777777777",
        ];
        let mut values: Vec<Variant> = texts.iter().map(|t| bstr(t)).collect();
        values.extend([
            Variant::Empty,
            Variant::Null,
            Variant::Error(-1),
            Variant::R8(f64::NAN),
            Variant::R8(f64::MAX),
            Variant::R8(f64::MIN_POSITIVE),
            Variant::R4(f32::MIN),
            Variant::Date(-657_434.999_999),
            Variant::Date(2_958_465.999_999_99),
            Variant::Cy(i64::MIN),
            Variant::I8(i64::MIN),
            Variant::UI8(u64::MAX),
            Variant::bool(true),
        ]);
        let targets = (0..=0x17).chain([vt::ARRAY | vt::VARIANT]);
        for v in &values {
            for target in targets.clone() {
                for f in [0, 0xFFFF] {
                    let _ = change_type(v, US, f, target);
                }
            }
        }
    }

    static REFS: AtomicU32 = AtomicU32::new(1);

    extern "C" fn add_ref(_: *mut Unknown) -> u32 {
        REFS.fetch_add(1, Ordering::SeqCst) + 1
    }

    extern "C" fn release(_: *mut Unknown) -> u32 {
        REFS.fetch_sub(1, Ordering::SeqCst) - 1
    }

    static VTBL: UnknownVtbl = UnknownVtbl {
        query_interface: None,
        add_ref: Some(add_ref),
        release: Some(release),
    };

    #[test]
    fn objects() {
        let mut raw = Unknown { vtbl: &VTBL };
        // SAFETY: `raw` outlives every reference taken below (all are dropped
        // before it), its vtable is valid, and the one initial reference
        // (REFS starts at 1) is handed over.
        let object = unsafe { Object::from_owned(&mut raw) }.unwrap();
        {
            let dispatch = Variant::Dispatch(object.clone());
            let unknown = conv(&dispatch, vt::UNKNOWN).unwrap();
            assert!(matches!(&unknown, Variant::Unknown(o) if *o == object));
            assert_eq!(REFS.load(Ordering::SeqCst), 3);
            assert_eq!(conv(&dispatch, vt::DISPATCH).as_ref(), Ok(&dispatch));
            assert_eq!(conv(&dispatch, vt::EMPTY), Ok(Variant::Empty));
            assert_eq!(conv(&unknown, vt::NULL), Ok(Variant::Null));
            let no_value = flags::VARIANT_NOVALUEPROP;
            let err = change_type(&dispatch, US, no_value, vt::EMPTY).unwrap_err();
            assert_eq!(err.code(), error::DISP_E_TYPEMISMATCH);
            assert!(change_type(&dispatch, US, no_value, vt::UNKNOWN).is_ok());
            for target in [vt::I4, vt::BSTR, vt::BOOL, vt::R8, vt::DATE, vt::ERROR] {
                assert_eq!(
                    code(&dispatch, target),
                    error::DISP_E_TYPEMISMATCH,
                    "{target}"
                );
                assert_eq!(
                    code(&unknown, target),
                    error::DISP_E_TYPEMISMATCH,
                    "{target}"
                );
            }
            assert_eq!(code(&unknown, vt::DISPATCH), error::DISP_E_TYPEMISMATCH);
        }
        drop(object);
        assert_eq!(REFS.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn no_text_makes_a_conversion_panic() {
        // Deterministic noise over the characters parsers care about: every
        // string becomes a value or an error, never a panic.
        const ALPHABET: &[&str] = &[
            "0", "1", "9", "-", "+", ".", ",", " ", "e", "E", "/", ":", "$", "(", ")", "&H", "&O",
            "AM", "PM", "True", "#", "\u{a0}", "é", "\u{212a}", "\t",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let targets = [
            vt::I1,
            vt::UI1,
            vt::I2,
            vt::UI2,
            vt::I4,
            vt::UI4,
            vt::I8,
            vt::UI8,
            vt::R4,
            vt::R8,
            vt::CY,
            vt::DATE,
            vt::BOOL,
            vt::BSTR,
        ];
        for _ in 0..20_000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for k in 0..(seed % 12) {
                text.push_str(ALPHABET[((seed >> (k * 5)) % ALPHABET.len() as u64) as usize]);
            }
            for &t in &targets {
                let _ = conv(&bstr(&text), t);
            }
        }
    }
}
