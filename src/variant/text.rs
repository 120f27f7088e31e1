//! Values as text and text as values, as OLE's `VariantChangeTypeEx` does it
//! (oleaut32's `VarBstrFrom*` and `Var*FromStr`).
//!
//! Everything a locale decides comes from a [`LocaleInfo`]: separators, the
//! date and time patterns, AM/PM, the words for True and False. Behaviours
//! follow Windows as Wine's oleaut32 tests record it (`dlls/oleaut32/tests/
//! vartype.c`); where this module is deliberately stricter, the item says so.

use std::fmt::Write as _;

use super::date::{self, DateTime};
use super::date_fields::{self, expand_year, DateOrder};
use crate::error::{self, Error, Result};
use crate::locale::LocaleInfo;

/// Significant digits of `VT_R8` text (oleaut32 prints `%.15G`).
const R8_DIGITS: usize = 15;
/// Significant digits of `VT_R4` text (`%.7G`).
const R4_DIGITS: usize = 7;

/// `VT_R8` as text: up to 15 significant digits, no digit grouping, the
/// locale's decimal separator; exponent form (`1E+16`, `5.6789E-12`) from
/// 1e15 up and for small numbers whose plain form would need more than 15
/// decimals; -0 is `0`; infinities and NaN are `INF`, `-INF`, `NAN` (the
/// C runtime's `%G` words).
pub fn format_r8(value: f64, loc: &LocaleInfo) -> String {
    format_real(value, R8_DIGITS, loc)
}

/// `VT_R4` as text: as [`format_r8`] with 7 significant digits.
pub fn format_r4(value: f32, loc: &LocaleInfo) -> String {
    format_real(f64::from(value), R4_DIGITS, loc)
}

/// oleaut32's `%.*G` with its own rule for small numbers: the `%G` exponent
/// form is kept for a negative exponent only if the plain form would need
/// more than `sig` decimals.
fn format_real(value: f64, sig: usize, loc: &LocaleInfo) -> String {
    if value.is_nan() {
        return "NAN".into();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-INF" } else { "INF" }.into();
    }
    if value == 0.0 {
        return "0".into();
    }
    let (mut digits, exp) = significant_digits(value.abs(), sig);
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    let sig = sig as i64;
    let n = digits.len() as i64;
    let exponent_form = if exp < -4 {
        -exp + (n - 2).max(0) >= sig
    } else {
        exp >= sig
    };
    let mut out = String::new();
    if value < 0.0 {
        out.push_str(loc.negative_sign);
    }
    let push_digits =
        |out: &mut String, ds: &[u8]| out.extend(ds.iter().map(|&d| char::from(b'0' + d)));
    if exponent_form {
        let (first, rest) = digits.split_first().unwrap_or((&0, &[]));
        push_digits(&mut out, std::slice::from_ref(first));
        if !rest.is_empty() {
            out.push_str(loc.decimal);
            push_digits(&mut out, rest);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "E{sign}{:02}", exp.abs());
    } else if exp < 0 {
        out.push('0');
        out.push_str(loc.decimal);
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        push_digits(&mut out, &digits);
    } else {
        let int_len = (exp + 1) as usize;
        let (int, frac) = digits.split_at(int_len.min(digits.len()));
        push_digits(&mut out, int);
        out.extend(std::iter::repeat_n('0', int_len - int.len()));
        if !frac.is_empty() {
            out.push_str(loc.decimal);
            push_digits(&mut out, frac);
        }
    }
    out
}

/// The first `sig` significant decimal digits of `value` (> 0), rounded half
/// away from zero as the C runtime's `printf` does, and the decimal exponent
/// of the first digit.
fn significant_digits(value: f64, sig: usize) -> (Vec<u8>, i64) {
    // 40 guard digits tell an exact decimal tie (rounded up, as MSVC's printf
    // does; Rust would round it to even) from a double merely close to one.
    let text = format!("{:.*e}", sig + 39, value);
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let mut exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let round_up = digits.get(sig).is_some_and(|&d| d >= 5);
    digits.truncate(sig);
    if round_up {
        let mut carry = true;
        for d in digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            digits.insert(0, 1);
            digits.truncate(sig);
            exp += 1;
        }
    }
    (digits, exp)
}

/// `VT_CY` (the amount × 10,000) as text: up to 4 decimals, trailing zeros
/// trimmed (`12.5`, `3`, `-0.0001`), the locale's decimal separator.
pub fn format_cy(cy: i64, loc: &LocaleInfo) -> String {
    let abs = cy.unsigned_abs();
    let mut out = String::new();
    if cy < 0 {
        out.push_str(loc.negative_sign);
    }
    let _ = write!(out, "{}", abs / 10_000);
    let frac = abs % 10_000;
    if frac != 0 {
        out.push_str(loc.decimal);
        let _ = write!(out, "{:04}", frac);
        while out.ends_with('0') {
            out.pop();
        }
    }
    out
}

/// How a `VT_BOOL` becomes text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolText {
    /// `-1` / `0` (the stored SHORT): `VariantChangeType` without `VARIANT_ALPHABOOL` or
    /// `VARIANT_LOCALBOOL` converts the boolean as the `VT_I2` it is.
    Numeric,
    /// `True` / `False` in English (`VARIANT_ALPHABOOL`).
    English,
    /// The locale's words (`VARIANT_LOCALBOOL`, also with `VARIANT_ALPHABOOL`).
    Local,
}

/// A boolean as text. `value` is the stored `VARIANT_BOOL`: numerically it is that SHORT
/// (`-1`, `0`, or a non-canonical `1`); as words any non-zero value is
/// True (`VarBstrFromBool`).
pub fn format_bool(value: i16, style: BoolText, loc: &LocaleInfo) -> String {
    match (style, value != 0) {
        (BoolText::Numeric, _) => return value.to_string(),
        (BoolText::English, true) => "True",
        (BoolText::English, false) => "False",
        (BoolText::Local, true) => loc.true_word,
        (BoolText::Local, false) => loc.false_word,
    }
    .into()
}

/// `VT_DATE` as text: the locale's short date and time patterns joined by a
/// space (`12/31/1999 6:00:00 PM`), rounded to the nearest second as
/// [`date::to_parts`] does (`23:59:59.6` is the next day's midnight; never
/// past the range: 9999-12-31's last half second is `12/31/9999 11:59:59 PM`,
/// as Microsoft's `VarUdateFromDate` gives). A date whose time is exactly midnight is the date
/// alone (`12/31/1999`); one on day 0 (1899-12-30) is the time alone
/// (`3:04:05 PM`, `12:00:00 AM` for 0.0).
/// Outside 100-01-01 ..= 9999-12-31 (or NaN) it is `E_INVALIDARG`, as
/// `VarBstrFromDate` returns.
pub fn format_date(value: f64, loc: &LocaleInfo) -> Result<String> {
    let parts = date::to_parts(value).ok_or_else(|| {
        Error::new(
            error::E_INVALIDARG,
            format!("{value} is not a date between 100-01-01 and 9999-12-31"),
        )
    })?;
    let day = value.trunc();
    let time_only = day == 0.0;
    let date_only = !time_only && (value - day).abs() < 1e-12;
    let mut out = String::new();
    if !time_only {
        format_pattern(loc.short_date, &parts, loc, &mut out);
    }
    if !date_only {
        if !out.is_empty() {
            out.push(' ');
        }
        format_pattern(loc.time_format, &parts, loc, &mut out);
    }
    Ok(out)
}

/// Writes `parts` by an NLS date or time pattern: `d`/`dd`, `M`/`MM`,
/// `y`/`yy`/`yyyy`, `h`/`hh` (12-hour), `H`/`HH`, `m`/`mm`, `s`/`ss`, `t`/`tt`,
/// `'quoted'` text. Name forms (`ddd`, `MMM`) need names the locale data does
/// not have yet and print as two-digit numbers.
fn format_pattern(pattern: &str, parts: &DateTime, loc: &LocaleInfo, out: &mut String) {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            for q in chars.by_ref() {
                if q == '\'' {
                    break;
                }
                out.push(q);
            }
            continue;
        }
        if !matches!(c, 'd' | 'M' | 'y' | 'h' | 'H' | 'm' | 's' | 't') {
            out.push(c);
            continue;
        }
        let mut count = 1;
        while chars.next_if_eq(&c).is_some() {
            count += 1;
        }
        let width = count.min(2);
        match c {
            'd' => push_number(out, parts.day, width),
            'M' => push_number(out, parts.month, width),
            'y' if count >= 3 => push_number(out, parts.year.unsigned_abs(), 1),
            'y' => push_number(out, parts.year.unsigned_abs() % 100, width),
            'h' => push_number(out, (parts.hour + 11) % 12 + 1, width),
            'H' => push_number(out, parts.hour, width),
            'm' => push_number(out, parts.minute, width),
            's' => push_number(out, parts.second, width),
            _ => {
                let designator = if parts.hour < 12 { loc.am } else { loc.pm };
                if count == 1 {
                    out.extend(designator.chars().next());
                } else {
                    out.push_str(designator);
                }
            }
        }
    }
}

/// Writes `n` zero-padded to `width` digits.
fn push_number(out: &mut String, n: u32, width: usize) {
    let _ = write!(out, "{n:0width$}");
}

/// A number read from text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Number {
    /// A decimal number, exactly as written.
    Decimal(Decimal),
    /// The value of a `&H` (hexadecimal) or `&O` (octal) literal: a bit pattern.
    Bits(u64),
}

/// An exact decimal: `±digits × 10^exponent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    /// Significant digits (0 ..= 9), without leading or trailing zeros;
    /// empty for zero.
    digits: Vec<u8>,
    exponent: i64,
}

/// Largest magnitude [`Decimal::rounded`] represents: 10^30.
const MAX_ROUNDED: i128 = 1_000_000_000_000_000_000_000_000_000_000;

impl Decimal {
    /// The value × 10^`scale` rounded half to even (banker's rounding, as
    /// oleaut32 rounds), or `None` when its magnitude passes 10^30.
    pub fn rounded(&self, scale: u32) -> Option<i128> {
        let n = self.digits.len() as i64;
        // Digits before the decimal point once scaled (may be <= 0 or > n).
        let int_len = n + self.exponent + i64::from(scale);
        if n == 0 || int_len < 0 {
            return Some(0);
        }
        if int_len > 31 {
            return None;
        }
        let digit = |i: i64| {
            usize::try_from(i)
                .ok()
                .and_then(|i| self.digits.get(i))
                .copied()
        };
        let mut value: i128 = 0;
        for i in 0..int_len {
            value = value * 10 + i128::from(digit(i).unwrap_or(0));
        }
        if let Some(first) = digit(int_len) {
            // Digits are trimmed, so anything after `first` is non-zero.
            let more = int_len + 1 < n;
            if first > 5 || (first == 5 && (more || value % 2 == 1)) {
                value += 1;
            }
        }
        if value > MAX_ROUNDED {
            return None;
        }
        Some(if self.negative { -value } else { value })
    }

    /// The nearest `f64` (infinite when too large, 0 when too small).
    pub fn to_f64(&self) -> f64 {
        let sign = if self.negative { -1.0 } else { 1.0 };
        // The decimal exponent of the leading digit, plus one.
        let magnitude = self.exponent + self.digits.len() as i64;
        if self.digits.is_empty() || magnitude < -400 {
            return 0.0;
        }
        if magnitude > 400 {
            return sign * f64::INFINITY;
        }
        // 800 digits decide any f64 rounding; a sticky 1 stands for the rest
        // (which is not zero: the digits carry no trailing zeros).
        const KEEP: usize = 800;
        let kept = &self.digits[..self.digits.len().min(KEEP)];
        let mut text = String::with_capacity(KEEP + 24);
        text.extend(kept.iter().map(|&d| char::from(b'0' + d)));
        let mut exponent = self.exponent + (self.digits.len() - kept.len()) as i64;
        if kept.len() < self.digits.len() {
            text.push('1');
            exponent -= 1;
        }
        let _ = write!(text, "e{exponent}");
        text.parse::<f64>().map_or(f64::NAN, |x| sign * x)
    }
}

impl Number {
    /// The value as an `f64`: a decimal rounded to nearest (`DISP_E_OVERFLOW`
    /// beyond `f64`'s range); a `&H`/`&O` literal as a 32-bit two's-complement
    /// integer (`&HFFFFFFFF` is -1), `DISP_E_OVERFLOW` when wider.
    pub fn to_f64(&self) -> Result<f64> {
        let value = match self {
            Number::Decimal(d) => Some(d.to_f64()).filter(|x| x.is_finite()),
            Number::Bits(bits) => u32::try_from(*bits).ok().map(|b| f64::from(b as i32)),
        };
        value.ok_or_else(|| Error::new(error::DISP_E_OVERFLOW, "the number is out of range"))
    }
}

/// Reads a number as `VarParseNumFromStr` does with `NUMPRS_STD`: spaces,
/// a sign (`-1`, `1-`), parentheses for negative (`(1)`), the currency symbol
/// (`$1`, `1$`; after the number it may repeat, `$11$$`, as Windows accepts),
/// digit-group separators after the first digit (`1,234.5`),
/// the decimal separator, an exponent (`1.5E-7`, or `1.5D-7` as VB writes a
/// double's), `&H`/`&O` literals; the
/// whole text must be used. Separators, sign and currency symbol are the
/// locale's (`1.234,5` is 1234.5 under de-DE); where the locale groups digits
/// with a space-like character (U+00A0 in fr-FR), a plain space and U+202F
/// group digits too, as Windows accepts; `-` is a sign in every locale. Anything else is `DISP_E_TYPEMISMATCH`;
/// a `&H`/`&O` literal wider than 64 bits is `DISP_E_OVERFLOW`.
///
/// Stricter than Windows: a sign on a `&H`/`&O` literal is a mismatch (Wine's
/// oleaut32 drops it), and nothing may follow an exponent's digits but
/// trailing symbols.
pub fn parse_number(text: &str, loc: &LocaleInfo) -> Result<Number> {
    let mismatch = || {
        Error::new(
            error::DISP_E_TYPEMISMATCH,
            format!("{text:?} is not a number"),
        )
    };
    let mut s = Scanner::new(text);
    let (mut plus, mut minus, mut currency, mut parens) = (false, false, false, false);
    let mut in_fraction = false;
    loop {
        if s.eat(loc.decimal) {
            in_fraction = true;
            break;
        }
        if s.skip_space() {
            continue;
        }
        if s.starts_with(loc.thousands) {
            return Err(mismatch());
        }
        if !plus && s.eat("+") {
            plus = true;
        } else if !minus && eat_minus(&mut s, loc) {
            minus = true;
        } else if !currency && eat_currency(&mut s, loc) {
            currency = true;
        } else if !parens && s.eat("(") {
            parens = true;
        } else {
            break;
        }
    }
    let radix = if currency || in_fraction {
        10
    } else if s.eat_ci("&H") {
        16
    } else if s.eat_ci("&O") {
        8
    } else {
        10
    };
    let (mut number, any_digit) = if radix == 10 {
        read_decimal(&mut s, loc, in_fraction, currency)?
    } else {
        read_bits(&mut s, radix)?
    };
    let (mut trailing_plus, mut trailing_minus, mut closed) = (false, false, false);
    loop {
        if radix == 10 && eat_group(&mut s, loc) || s.skip_space() {
            continue;
        }
        if !plus && !trailing_plus && s.eat("+") {
            trailing_plus = true;
        } else if !minus && !trailing_minus && eat_minus(&mut s, loc) {
            trailing_minus = true;
        } else if parens && !closed && s.eat(")") {
            closed = true;
        } else if radix != 10 || !eat_currency(&mut s, loc) {
            // (Trailing currency symbols may repeat: Windows takes `$11$$`.)
            break;
        }
    }
    let negative = minus || trailing_minus || closed;
    if !any_digit || !s.at_end() || parens != closed {
        return Err(mismatch());
    }
    match &mut number {
        Number::Decimal(d) => d.negative = negative && !d.digits.is_empty(),
        Number::Bits(_) if negative => return Err(mismatch()),
        Number::Bits(_) => {}
    }
    Ok(number)
}

/// Reads decimal digits, separators and an exponent; returns the number and
/// whether any digit was seen.
fn read_decimal(
    s: &mut Scanner<'_>,
    loc: &LocaleInfo,
    mut in_fraction: bool,
    currency: bool,
) -> Result<(Number, bool)> {
    let mut digits = Vec::new();
    let mut exponent: i64 = 0;
    let mut any_digit = false;
    loop {
        if let Some(d) = s.peek().and_then(|c| c.to_digit(10)) {
            s.bump();
            any_digit = true;
            // Leading zeros carry no digit, only (after the point) a place.
            if d != 0 || !digits.is_empty() {
                digits.push(d as u8);
            }
            if in_fraction {
                exponent -= 1;
            }
            continue;
        }
        if eat_group(s, loc) {
            continue;
        }
        if !in_fraction && s.eat(loc.decimal) {
            in_fraction = true;
            continue;
        }
        // `D` marks an exponent as `E` does (`1D3` is 1000): oleaut32's
        // parser takes either, as VB's `IsNumeric("1D3")` shows.
        if !currency && any_digit && matches!(s.peek(), Some('e' | 'E' | 'd' | 'D')) {
            s.bump();
            exponent = exponent.saturating_add(read_exponent(s, loc)?);
        }
        break;
    }
    // Trailing zeros become exponent, so the digits are minimal.
    while digits.last() == Some(&0) {
        digits.pop();
        exponent += 1;
    }
    let decimal = Decimal {
        negative: false,
        digits,
        exponent,
    };
    Ok((Number::Decimal(decimal), any_digit))
}

/// Reads an exponent's optional sign and digits (at least one).
fn read_exponent(s: &mut Scanner<'_>, loc: &LocaleInfo) -> Result<i64> {
    let negative = if s.eat("+") { false } else { eat_minus(s, loc) };
    let mut value: i64 = 0;
    let mut any = false;
    while let Some(d) = s.peek().and_then(|c| c.to_digit(10)) {
        s.bump();
        any = true;
        value = (value * 10 + i64::from(d)).min(1_000_000_000);
    }
    if !any {
        return Err(Error::new(
            error::DISP_E_TYPEMISMATCH,
            "an exponent needs digits",
        ));
    }
    Ok(if negative { -value } else { value })
}

/// Reads hexadecimal or octal digits into a bit pattern.
fn read_bits(s: &mut Scanner<'_>, radix: u32) -> Result<(Number, bool)> {
    let mut value: u64 = 0;
    let mut any = false;
    while let Some(d) = s.peek().and_then(|c| c.to_digit(radix)) {
        s.bump();
        any = true;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or_else(|| {
                Error::new(error::DISP_E_OVERFLOW, "the literal is wider than 64 bits")
            })?;
    }
    Ok((Number::Bits(value), any))
}

/// Whether `sep` is a space or a no-break space (U+00A0, U+202F).
fn is_space_like(sep: &str) -> bool {
    matches!(sep, " " | "\u{a0}" | "\u{202f}")
}

/// Consumes a digit-group separator: the locale's, or any space-like one
/// where the locale's is space-like.
fn eat_group(s: &mut Scanner<'_>, loc: &LocaleInfo) -> bool {
    s.eat(loc.thousands)
        || is_space_like(loc.thousands)
            && [' ', '\u{a0}', '\u{202f}'].iter().any(|&c| s.eat_char(c))
}

/// Consumes the locale's negative sign, or `-`.
fn eat_minus(s: &mut Scanner<'_>, loc: &LocaleInfo) -> bool {
    s.eat(loc.negative_sign) || s.eat("-")
}

/// Consumes the locale's currency symbol, also without its surrounding
/// spaces (pt-BR's is `R$ `).
fn eat_currency(s: &mut Scanner<'_>, loc: &LocaleInfo) -> bool {
    s.eat(loc.currency) || s.eat(loc.currency.trim())
}

/// Reads a boolean as `VarBoolFromStr` does: `True`/`False` in English in any
/// case; with `local_words` (`VARIANT_LOCALBOOL`) also the locale's words;
/// `#TRUE#`/`#FALSE#` exactly; otherwise a number (non-zero is True).
pub fn parse_bool(text: &str, loc: &LocaleInfo, local_words: bool) -> Result<bool> {
    if local_words && eq_ignore_case(text, loc.true_word) {
        return Ok(true);
    }
    if local_words && eq_ignore_case(text, loc.false_word) {
        return Ok(false);
    }
    if eq_ignore_case(text, "True") || text == "#TRUE#" {
        return Ok(true);
    }
    if eq_ignore_case(text, "False") || text == "#FALSE#" {
        return Ok(false);
    }
    match parse_number(text, loc) {
        Ok(n) => Ok(n.to_f64()? != 0.0),
        Err(e) if e.code() == error::DISP_E_TYPEMISMATCH => Err(Error::new(
            error::DISP_E_TYPEMISMATCH,
            format!("{text:?} is not a boolean"),
        )),
        Err(e) => Err(e),
    }
}

/// Case-insensitive comparison by Unicode upper case (which, unlike lower
/// case, equates Greek `σ`/`ς` and Turkish `ı`/`I`).
fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_uppercase)
        .eq(b.chars().flat_map(char::to_uppercase))
}

/// Which field of a date a number is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Day,
    Month,
    Year,
}

/// How a short date pattern lays out a date: the field order, the text
/// between the fields and the text after the last one, each without its
/// quotes and surrounding spaces (`yyyy. MM. dd.` → year, month, day;
/// `.`, `.`; `.`).
struct DateLayout {
    order: [Field; 3],
    separators: [String; 2],
    tail: String,
}

/// The layout of a short date pattern; month/day/year with `/` when the
/// pattern lacks a field.
fn date_layout(pattern: &str) -> DateLayout {
    let mut order = Vec::with_capacity(3);
    // Literal text before the first field, between fields and after the last.
    let mut literals = vec![String::new()];
    let mut quoted = false;
    let mut last_field = None;
    for c in pattern.chars() {
        if c == '\'' {
            quoted = !quoted;
            last_field = None;
            continue;
        }
        let field = match c {
            'd' if !quoted => Some(Field::Day),
            'M' if !quoted => Some(Field::Month),
            'y' if !quoted => Some(Field::Year),
            _ => None,
        };
        match field {
            Some(f) if last_field == Some(f) => {}
            Some(f) if !order.contains(&f) => {
                order.push(f);
                literals.push(String::new());
                last_field = Some(f);
            }
            Some(_) => last_field = None,
            None => {
                last_field = None;
                if let Some(text) = literals.last_mut() {
                    text.push(c);
                }
            }
        }
    }
    match (order.as_slice(), literals.as_slice()) {
        (&[a, b, c], [_, first, second, tail]) => DateLayout {
            order: [a, b, c],
            separators: [first.trim().to_string(), second.trim().to_string()],
            tail: tail.trim().to_string(),
        },
        _ => DateLayout {
            order: [Field::Month, Field::Day, Field::Year],
            separators: ["/".to_string(), "/".to_string()],
            tail: String::new(),
        },
    }
}

/// The time separators: `:` and the one the locale's time pattern uses
/// (`.` for it-IT's `H.mm.ss`).
fn time_separators(pattern: &str) -> [char; 2] {
    let own = pattern
        .chars()
        .find(|&c| !c.is_alphanumeric() && !c.is_whitespace() && c != '\'')
        .unwrap_or(':');
    [':', own]
}

/// Reads a date and/or time as `VarDateFromStr` does.
///
/// First the way the locale writes it: a date in the locale's field order
/// and with its separators (`12/31/1999` for en-US, `31.12.1999` for de-DE,
/// `1999. 12. 31.` for hu-HU; `/` and `-` separate in every locale),
/// optionally followed by a time; or a time alone. A time is `h:mm[:ss]`
/// (`:` or the locale's own time separator) with the locale's AM/PM
/// designator before or after it (`오후 6:00`, `6:00 PM`), or `a`/`p` after
/// it, or an hour with a designator. A year-first date with a 3- or 4-digit
/// year (`2013-05-14`) is read as year-month-day in every locale.
///
/// Text that does not read that way goes through Windows' generic grammar
/// (`date_fields`): English month names (`2 Jan 1970`, `Jan-35`), `.` as a
/// time separator where it is not the locale's date separator (`2.5` is
/// 2:05), a time before the date, dates without a year (this year), two
/// numbers that are no day and month read as month and year, and a date
/// invalid in the locale's order read in the first order that makes it
/// valid (`31/12/1999` and `02.13.1970` under de-DE).
///
/// Two-digit years 0–49 are 2000–2049 and 50–99 are 1950–1999 (Windows 10
/// 1903 and later).
pub fn parse_date(text: &str, loc: &LocaleInfo) -> Result<f64> {
    let layout = date_layout(loc.short_date);
    parse_in_layout(text, loc, &layout).or_else(|e| {
        let order = match layout.order[0] {
            Field::Month => DateOrder::Mdy,
            Field::Day => DateOrder::Dmy,
            Field::Year => DateOrder::Ymd,
        };
        let mut sep = layout.separators[0].chars();
        let date_sep = sep.next().filter(|_| sep.next().is_none());
        date_fields::parse(text, loc, order, date_sep).ok_or(e)
    })
}

/// Reads a date and/or time in the locale's own layout.
fn parse_in_layout(text: &str, loc: &LocaleInfo, layout: &DateLayout) -> Result<f64> {
    let mismatch = || {
        Error::new(
            error::DISP_E_TYPEMISMATCH,
            format!("{text:?} is not a date or time"),
        )
    };
    let time_seps = time_separators(loc.time_format);
    let mut s = Scanner::new(text);
    s.skip_space();
    let mut parts = DateTime {
        year: 1899,
        month: 12,
        day: 30,
        hour: 0,
        minute: 0,
        second: 0,
    };
    let lead = designator(&mut s, loc);
    s.skip_space();
    let first = s.number().ok_or_else(mismatch)?;
    if lead.is_none() && read_date(&mut s, first, layout, &mut parts).ok_or_else(mismatch)? {
        if s.skip_space() && !s.at_end() {
            let lead = designator(&mut s, loc);
            s.skip_space();
            let hour = s.number().ok_or_else(mismatch)?;
            read_time(&mut s, hour.0, lead, time_seps, loc, &mut parts).ok_or_else(mismatch)?;
        }
    } else {
        read_time(&mut s, first.0, lead, time_seps, loc, &mut parts).ok_or_else(mismatch)?;
    }
    s.skip_space();
    if !s.at_end() {
        return Err(mismatch());
    }
    date::from_parts(&parts).ok_or_else(mismatch)
}

/// Reads the rest of a date whose first number is `first`: `Some(false)`
/// when no date separator follows (the number starts a time), `Some(true)`
/// with the fields set in `parts`, `None` when the date is malformed.
fn read_date(
    s: &mut Scanner<'_>,
    first: (u32, usize),
    layout: &DateLayout,
    parts: &mut DateTime,
) -> Option<bool> {
    let [own_first, own_second] = &layout.separators;
    // The locale's separators, or `/` or `-` used twice.
    let second_separator = if !own_first.is_empty() && s.eat(own_first) {
        own_second.as_str()
    } else if s.eat_char('/') {
        "/"
    } else if s.eat_char('-') {
        "-"
    } else {
        return Some(false);
    };
    s.skip_space();
    let second = s.number()?;
    if second_separator.is_empty() || !s.eat(second_separator) {
        return None;
    }
    s.skip_space();
    let third = s.number()?;
    if !layout.tail.is_empty() {
        let mut after = *s;
        after.skip_space();
        if after.eat(&layout.tail) {
            *s = after;
        }
    }
    let order = if first.1 >= 3 {
        [Field::Year, Field::Month, Field::Day]
    } else {
        layout.order
    };
    for (field, (value, _)) in order.into_iter().zip([first, second, third]) {
        match field {
            Field::Day => parts.day = value,
            Field::Month => parts.month = value,
            Field::Year => parts.year = expand_year(value),
        }
    }
    Some(true)
}

/// Consumes the locale's AM or PM designator: `Some(true)` for PM.
fn designator(s: &mut Scanner<'_>, loc: &LocaleInfo) -> Option<bool> {
    if s.eat_ci(loc.am) {
        Some(false)
    } else if s.eat_ci(loc.pm) {
        Some(true)
    } else {
        None
    }
}

/// Reads the rest of a time after its hour into `parts`; `lead` is a
/// designator written before the time. `None` when it is not a valid time.
fn read_time(
    s: &mut Scanner<'_>,
    hour: u32,
    lead: Option<bool>,
    separators: [char; 2],
    loc: &LocaleInfo,
    parts: &mut DateTime,
) -> Option<()> {
    let mut minute = None;
    let mut second = 0;
    let eat_separator = |s: &mut Scanner<'_>| separators.iter().any(|&c| s.eat_char(c));
    if eat_separator(s) {
        minute = Some(s.number()?.0);
        if eat_separator(s) {
            second = s.number()?.0;
        }
    }
    s.skip_space();
    let pm = match lead {
        Some(pm) => Some(pm),
        None => designator(s, loc).or_else(|| {
            if s.eat_ci("a") {
                Some(false)
            } else if s.eat_ci("p") {
                Some(true)
            } else {
                None
            }
        }),
    };
    if minute.is_none() && pm.is_none() {
        return None;
    }
    let minute = minute.unwrap_or(0);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    parts.hour = match pm {
        Some(true) if hour < 12 => hour + 12,
        Some(false) if hour == 12 => 0,
        _ => hour,
    };
    parts.minute = minute;
    parts.second = second;
    Some(())
}

/// A cursor over text that only ever advances by whole characters.
#[derive(Clone, Copy)]
struct Scanner<'a> {
    rest: &'a str,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner { rest: text }
    }

    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn bump(&mut self) {
        let mut chars = self.rest.chars();
        chars.next();
        self.rest = chars.as_str();
    }

    fn at_end(&self) -> bool {
        self.rest.is_empty()
    }

    fn starts_with(&self, token: &str) -> bool {
        !token.is_empty() && self.rest.starts_with(token)
    }

    /// Consumes `token` if the text continues with it (never an empty token).
    fn eat(&mut self, token: &str) -> bool {
        match self.rest.strip_prefix(token) {
            Some(rest) if !token.is_empty() => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    fn eat_char(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// As [`Scanner::eat`], ignoring case.
    fn eat_ci(&mut self, token: &str) -> bool {
        if token.is_empty() {
            return false;
        }
        let mut chars = self.rest.chars();
        for t in token.chars() {
            match chars.next() {
                Some(c) if c == t || c.to_uppercase().eq(t.to_uppercase()) => {}
                _ => return false,
            }
        }
        self.rest = chars.as_str();
        true
    }

    /// Skips white space (Unicode's); whether any was skipped.
    fn skip_space(&mut self) -> bool {
        let trimmed = self.rest.trim_start();
        let skipped = trimmed.len() != self.rest.len();
        self.rest = trimmed;
        skipped
    }

    /// Reads ASCII digits: the value (saturating) and how many digits.
    fn number(&mut self) -> Option<(u32, usize)> {
        let mut value: u32 = 0;
        let mut count = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.bump();
            value = value.saturating_mul(10).saturating_add(d);
            count += 1;
        }
        (count > 0).then_some((value, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locale::EN_US;

    const US: &LocaleInfo = &EN_US;

    /// A locale with comma decimals, to show the separators come from the data.
    static COMMA: LocaleInfo = LocaleInfo {
        decimal: ",",
        thousands: ".",
        short_date: "dd.MM.yyyy",
        time_format: "HH:mm:ss",
        am: "",
        pm: "",
        true_word: "Wahr",
        false_word: "Falsch",
        ..EN_US
    };

    #[test]
    fn r8_text_matches_windows() {
        // Wine's test_VarBstrFromR8 (en-US), which records Windows' output.
        let table: &[(f64, &str)] = &[
            (0.56789, "0.56789"),
            (5.6789e-2, "0.056789"),
            (5.6789e-5, "0.000056789"),
            (5.6789e-10, "0.00000000056789"),
            (5.6789e-11, "0.000000000056789"),
            (5.6789e-12, "5.6789E-12"),
            (5.6789e-16, "5.6789E-16"),
            (1.0e8, "100000000"),
            (1.0e14, "100000000000000"),
            (999999999999999.0, "999999999999999"),
            (1.0e15, "1E+15"),
            (1.2e15, "1.2E+15"),
            (1.0e16, "1E+16"),
            (1.234e16, "1.234E+16"),
            (0.1 + 0.2, "0.3"),
            (std::f64::consts::PI, "3.14159265358979"),
            (12.345678901234567, "12.3456789012346"),
            (1_234.567_890_123_457, "1234.56789012346"),
            // The brief's cases.
            (1.0 / 3.0, "0.333333333333333"),
            (1.5e-7, "0.00000015"),
            (123456789012345678901.0, "1.23456789012346E+20"),
            (-2.5, "-2.5"),
            (-0.0, "0"),
            (0.0, "0"),
            (1e300, "1E+300"),
            (1e-300, "1E-300"),
            (f64::INFINITY, "INF"),
            (f64::NEG_INFINITY, "-INF"),
            (f64::NAN, "NAN"),
        ];
        for &(value, text) in table {
            assert_eq!(format_r8(value, US), text, "{value:e}");
        }
        assert_eq!(format_r8(0.5, &COMMA), "0,5");
        assert_eq!(format_r8(1.234e16, &COMMA), "1,234E+16");
    }

    #[test]
    fn r4_text_matches_windows() {
        // Wine's test_VarBstrFromR4 (en-US).
        let table: &[(f32, &str)] = &[
            (0.5, "0.5"),
            (0.000005, "0.000005"),
            (1.0e8, "1E+08"),
            (1.0e14, "1E+14"),
            (999999999999999.0, "1E+15"),
            (1.2e15, "1.2E+15"),
            (1.234e16, "1.234E+16"),
            (2.5 / 3.0, "0.8333333"),
            (12.345_679, "12.34568"),
            (1_234.567_9, "1234.568"),
            // 654322.25 exactly: a tie at 7 digits rounds away from zero.
            (654_322.23, "654322.3"),
            (1.0 / 3.0, "0.3333333"),
            (1.5e-7, "1.5E-07"),
            (-0.0, "0"),
        ];
        for &(value, text) in table {
            assert_eq!(format_r4(value, US), text, "{value:e}");
        }
    }

    #[test]
    fn cy_text() {
        // Wine's test_VarBstrFromCy: values are the amount x 10,000.
        let table: &[(i64, &str)] = &[
            (0, "0"),
            (10_000, "1"),
            (15_000, "1.5"),
            (-15_000, "-1.5"),
            (125_000, "12.5"),
            (30_000, "3"),
            (-1, "-0.0001"),
            (9, "0.0009"),
            (12_345, "1.2345"),
            (0xFFFF_FFFF, "429496.7295"),
            (i64::MAX, "922337203685477.5807"),
            (i64::MIN, "-922337203685477.5808"),
        ];
        for &(cy, text) in table {
            assert_eq!(format_cy(cy, US), text, "{cy}");
        }
        assert_eq!(format_cy(9, &COMMA), "0,0009");
    }

    #[test]
    fn bool_text() {
        assert_eq!(format_bool(-1, BoolText::Numeric, US), "-1");
        assert_eq!(format_bool(0, BoolText::Numeric, US), "0");
        assert_eq!(format_bool(1, BoolText::Numeric, US), "1");
        assert_eq!(format_bool(-1, BoolText::English, &COMMA), "True");
        assert_eq!(format_bool(1, BoolText::English, &COMMA), "True");
        assert_eq!(format_bool(0, BoolText::English, &COMMA), "False");
        assert_eq!(format_bool(-1, BoolText::Local, &COMMA), "Wahr");
        assert_eq!(format_bool(0, BoolText::Local, US), "False");
    }

    #[test]
    fn date_text_matches_windows() {
        // Wine's test_VarBstrFromDate plus the date-only/time-only rules.
        let table: &[(f64, &str)] = &[
            (0.0, "12:00:00 AM"),
            (0.5, "12:00:00 PM"),
            (0.25, "6:00:00 AM"),
            (15.0 / 24.0 + 4.0 / 1440.0 + 5.0 / 86_400.0, "3:04:05 PM"),
            (3.34, "1/2/1900 8:09:36 AM"),
            (3339.34, "2/20/1909 8:09:36 AM"),
            (365.0, "12/30/1900"),
            (365.25, "12/30/1900 6:00:00 AM"),
            (1461.0, "12/31/1903"),
            (1461.5, "12/31/1903 12:00:00 PM"),
            (-49192.24, "4/24/1765 5:45:36 AM"),
            (-657_434.0, "1/1/100"),
            (2_958_465.0, "12/31/9999"),
            (36525.0, "12/31/1999"),
            (36525.75, "12/31/1999 6:00:00 PM"),
            (-1.25, "12/29/1899 6:00:00 AM"),
            (-0.5, "12:00:00 PM"),
        ];
        for &(value, text) in table {
            assert_eq!(format_date(value, US).unwrap(), text, "{value}");
        }
        assert_eq!(
            format_date(36525.75, &COMMA).unwrap(),
            "31.12.1999 18:00:00"
        );
        for bad in [-657_435.0, 2_958_466.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                format_date(bad, US).unwrap_err().code(),
                error::E_INVALIDARG,
                "{bad}"
            );
        }
    }

    #[test]
    fn date_text_rounds_to_the_second_across_midnight() {
        // VarBstrFromDate formats what VarUdateFromDate gives: the time
        // rounded to the nearest second, rolling into the next day, but
        // never out of 100-01-01 ..= 9999-12-31 (date::to_parts).
        let table: &[(f64, &str)] = &[
            (36525.0 + 86_399.6 / 86_400.0, "1/1/2000 12:00:00 AM"),
            (36525.0 + 86_399.4 / 86_400.0, "12/31/1999 11:59:59 PM"),
            (2_958_465.999_999_99, "12/31/9999 11:59:59 PM"),
            (2_958_465.0 + 86_399.4 / 86_400.0, "12/31/9999 11:59:59 PM"),
            (-657_434.999_999_99, "1/1/100 11:59:59 PM"),
            (-657_434.0 - 86_399.4 / 86_400.0, "1/1/100 11:59:59 PM"),
            // Day 0 is the time alone, even when it rounds to midnight.
            (-0.999_999_99, "12:00:00 AM"),
            // Day -1 (1899-12-29) at 23:59:59.999 rounds to 1899-12-30
            // 00:00:00 and keeps its date: VarBstrFromDate picks date/time
            // from the unrounded value (whole = ceil(-1.99...) = -1, not 0;
            // partial not within 1e-12) and formats VariantTimeToSystemTime's
            // rolled-forward SYSTEMTIME (Wine's vartype.c / variant.c).
            (-1.999_999_988_42, "12/30/1899 12:00:00 AM"),
        ];
        for &(value, text) in table {
            assert_eq!(format_date(value, US).unwrap(), text, "{value}");
        }
    }

    fn int(text: &str) -> Result<i128> {
        match parse_number(text, US)? {
            Number::Decimal(d) => d
                .rounded(0)
                .ok_or_else(|| Error::code_only(error::DISP_E_OVERFLOW)),
            Number::Bits(b) => Ok(i128::from(b)),
        }
    }

    fn real(text: &str) -> Result<f64> {
        parse_number(text, US)?.to_f64()
    }

    #[test]
    fn numbers_from_text() {
        let table: &[(&str, i128)] = &[
            ("0", 0),
            ("  12  ", 12),
            ("+7", 7),
            ("-128", -128),
            ("12-", -12),
            ("(5)", -5),
            ("$5", 5),
            ("5$", 5),
            ("- 5", -5),
            ("1,234", 1234),
            ("1,2,3,4", 1234),
            ("1,000,", 1000),
            ("007", 7),
            ("1e3", 1000),
            ("1.5E+2", 150),
            ("25E-1", 2),
            // Banker's rounding, as Wine's Var*FromStr tests record.
            ("0.5", 0),
            ("1.5", 2),
            ("2.5", 2),
            ("3.5", 4),
            ("-0.5", 0),
            ("-1.5", -2),
            ("-2.5", -2),
            ("0.6", 1),
            ("-0.6", -1),
            ("2.5000001", 3),
            ("0.05", 0),
            ("0.06", 0),
            ("&HFF", 255),
            ("&hff", 255),
            ("&O17", 15),
            ("&HFFFFFFFFFFFFFFFF", 0xFFFF_FFFF_FFFF_FFFF),
            ("18446744073709551615", 18_446_744_073_709_551_615),
        ];
        for &(text, value) in table {
            assert_eq!(int(text), Ok(value), "{text:?}");
        }
        let reals: &[(&str, f64)] = &[
            ("1,234.5", 1234.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("-0.4", -0.4),
            ("0.1", 0.1),
            ("1.5E-7", 1.5e-7),
            ("1e-94938484", 0.0),
            ("&HFFFFFFFF", -1.0),
            ("&H7FFFFFFF", 2_147_483_647.0),
        ];
        for &(text, value) in reals {
            assert_eq!(real(text), Ok(value), "{text:?}");
        }
        // With "." as the digit-group separator, "1.5" is fifteen.
        assert_eq!(parse_number("1.5", &COMMA).unwrap().to_f64(), Ok(15.0));
        assert_eq!(
            parse_number("1.234,5", &COMMA).unwrap().to_f64(),
            Ok(1234.5)
        );
    }

    #[test]
    fn non_numbers_are_mismatches() {
        for text in [
            "", " ", "abc", "12abc", "1 2", ".", "-", "$", "e5", "1e", "1e+", "1.2.3", ",5", "(5",
            "5)", "--5", "$$1", "&H", "&HG", "&O8", "-&HFF", "&H1,0", "1e5,3", "١٢",
        ] {
            assert_eq!(
                parse_number(text, US).unwrap_err().code(),
                error::DISP_E_TYPEMISMATCH,
                "{text:?}"
            );
        }
    }

    #[test]
    fn number_overflow() {
        assert_eq!(real("1e309").unwrap_err().code(), error::DISP_E_OVERFLOW);
        assert_eq!(
            real("&H100000000").unwrap_err().code(),
            error::DISP_E_OVERFLOW
        );
        assert_eq!(int("1e31").unwrap_err().code(), error::DISP_E_OVERFLOW);
        assert_eq!(
            parse_number("&H10000000000000000", US).unwrap_err().code(),
            error::DISP_E_OVERFLOW
        );
        let Number::Decimal(big) = parse_number("1e1000000000000", US).unwrap() else {
            panic!("decimal expected")
        };
        assert_eq!(big.rounded(0), None);
        assert_eq!(big.to_f64(), f64::INFINITY);
        // A long run of digits with a large negative exponent is still exact.
        let long = format!("{}e-1999995", "1".repeat(2_000_000));
        let Number::Decimal(long) = parse_number(&long, US).unwrap() else {
            panic!("decimal expected")
        };
        assert!((long.to_f64() - 11_111.111_111_111_11).abs() < 1e-9);
    }

    #[test]
    fn scaled_rounding_for_currency() {
        let cy = |t: &str| match parse_number(t, US).unwrap() {
            Number::Decimal(d) => d.rounded(4),
            Number::Bits(_) => None,
        };
        assert_eq!(cy("1.2345"), Some(12_345));
        assert_eq!(cy("1.23455"), Some(12_346));
        assert_eq!(cy("1.23445"), Some(12_344));
        assert_eq!(cy("-0.00005"), Some(0));
        assert_eq!(cy("-0.00009"), Some(-1));
        assert_eq!(cy("922337203685477.5807"), Some(i128::from(i64::MAX)));
    }

    #[test]
    fn booleans_from_text() {
        // Wine's test_VarBoolFromStr.
        for (text, value) in [
            ("True", true),
            ("true", true),
            ("TRUE", true),
            ("False", false),
            ("false", false),
            ("#TRUE#", true),
            ("#FALSE#", false),
            ("0", false),
            ("-1", true),
            ("+1", true),
            ("0.1", true),
            ("0.0", false),
        ] {
            assert_eq!(parse_bool(text, US, false), Ok(value), "{text:?}");
        }
        for text in ["#True#", "On", "Yes", "", " true", "Wahr"] {
            assert_eq!(
                parse_bool(text, US, false).unwrap_err().code(),
                error::DISP_E_TYPEMISMATCH,
                "{text:?}"
            );
        }
        assert_eq!(parse_bool("wahr", &COMMA, true), Ok(true));
        assert_eq!(parse_bool("FALSCH", &COMMA, true), Ok(false));
        assert_eq!(parse_bool("true", &COMMA, true), Ok(true));
        assert!(parse_bool("Wahr", &COMMA, false).is_err());
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn dates_from_text() {
        // Wine's test_VarDateFromStr (en-US) where it falls in the forms read here.
        let table: &[(&str, f64)] = &[
            ("12/31/1999", 36525.0),
            ("12/31/1999 6:00 PM", 36525.75),
            ("12/31/1999 6:00:00 PM", 36525.75),
            ("12/31/1999 18:00", 36525.75),
            ("  12/31/1999  ", 36525.0),
            ("1/2/1970", 25570.0),
            ("1-2-1970", 25570.0),
            ("1970-1-13", 25581.0),
            ("6/30/2011 01:20:34", 40724.05594907407),
            ("6/30/2011 01:20:34 AM", 40724.05594907407),
            ("6/30/2011 01:20:34 PM", 40724.55594907407),
            ("6/30/2011\u{3000}1:20:34", 40724.05594907407),
            ("2013-05-14 02:04:12", 41408.08625000001),
            ("12/31/99", 36525.0),
            ("1/1/0", 36526.0),
            ("12/31/29", 47483.0),
            ("1/1/30", 47484.0),
            ("12/31/49", 54788.0),
            ("1/1/50", 18264.0),
            ("1/1/100", -657_434.0),
            ("12/31/9999", 2_958_465.0),
            ("12/29/1899 6:00", -1.25),
            ("1 am", 1.0 / 24.0),
            ("3:5", 0.1284722222222222),
            ("0:1", 0.0006944444444444445),
            ("00:00 AM", 0.0),
            ("00:00 a", 0.0),
            ("12:59 AM", 0.04097222222222222),
            ("12:59 A", 0.04097222222222222),
            ("00:00 pm", 0.5),
            ("00:00 p", 0.5),
            ("12:59 pm", 0.5409722222222222),
            ("13:00 AM", 0.5416666666666666),
            ("13:00 PM", 0.5416666666666666),
            ("3:04:05 PM", 0.6278356481481481),
            ("6:00PM", 0.75),
        ];
        for &(text, value) in table {
            let got = parse_date(text, US);
            assert!(
                got.as_ref().is_ok_and(|&g| close(g, value)),
                "{text:?}: {got:?}"
            );
        }
        assert!(close(
            parse_date("31.12.1999 18:00", &COMMA).unwrap(),
            36525.75
        ));
    }

    #[test]
    fn bad_dates_are_mismatches() {
        for text in [
            "",
            "abc",
            "True",
            "0",
            "1",
            "36525",
            "24:00",
            "0:60",
            "1:2:60",
            "2/30/2000",
            "1/1/10000",
            "12/31/1999 x",
            "12/31/1999 6",
            "12/31/1999 6:00 QM",
            "12/31/1999 6:00 AM PM",
            "2013-05-14 02:04:12.017",
            "02.01.1970",
        ] {
            assert_eq!(
                parse_date(text, US).unwrap_err().code(),
                error::DISP_E_TYPEMISMATCH,
                "{text:?}"
            );
        }
    }

    #[test]
    fn date_layouts_come_from_the_pattern() {
        use Field::{Day as D, Month as M, Year as Y};
        for (pattern, order, separators, tail) in [
            ("M/d/yyyy", [M, D, Y], ["/", "/"], ""),
            ("dd.MM.yyyy", [D, M, Y], [".", "."], ""),
            ("yyyy. MM. dd.", [Y, M, D], [".", "."], "."),
            ("dd.M.yyyy 'г.'", [D, M, Y], [".", "."], "г."),
            ("yyyy'年'M'月'd'日'", [Y, M, D], ["年", "月"], "日"),
            ("'d' M/y", [M, Y, M], ["/", "/"], ""),
            ("dd/MM", [M, D, Y], ["/", "/"], ""),
        ] {
            let layout = date_layout(pattern);
            if order[2] == M {
                // A pattern without three fields reads as month/day/year.
                assert_eq!(layout.order, [M, D, Y], "{pattern}");
                continue;
            }
            assert_eq!(layout.order, order, "{pattern}");
            assert_eq!(layout.separators, separators.map(String::from), "{pattern}");
            assert_eq!(layout.tail, tail, "{pattern}");
        }
        assert_eq!(time_separators("H.mm.ss"), [':', '.']);
        assert_eq!(time_separators("tt h:mm:ss"), [':', ':']);
    }

    #[test]
    fn text_round_trips() {
        for value in [
            0.0,
            0.5,
            36525.0,
            36525.75,
            -1.25,
            40724.05594907407,
            -657_434.0,
        ] {
            let text = format_date(value, US).unwrap();
            assert!(close(parse_date(&text, US).unwrap(), value), "{text}");
        }
        for value in [1.0 / 3.0, 1234.5, -0.001, 1e16, 5.6789e-12] {
            let text = format_r8(value, US);
            let back = real(&text).unwrap();
            assert!((back - value).abs() <= value.abs() * 1e-14, "{text}");
        }
    }
}
