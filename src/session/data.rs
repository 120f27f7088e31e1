//! What a store keeps for one session: Contents, instantiated static objects
//! and the per-session properties, with the rules that validate them.

use super::contents::Contents;
use crate::error::{self, Error, Result};
use crate::locale;
use crate::variant::{Object, Variant};

/// The application-wide rules a session's data is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest Timeout a session may set, in minutes.
    pub max_timeout_minutes: u32,
    /// Most Contents items in one session.
    pub max_items: usize,
    /// Largest value, as [`Variant::payload_bytes`] counts it.
    pub max_value_bytes: usize,
    /// Longest Contents key, in UTF-8 bytes.
    pub max_key_bytes: usize,
}

/// One session's state.
#[derive(Debug)]
pub struct SessionData {
    /// The Contents collection.
    pub contents: Contents,
    /// Static objects instantiated so far, by declaration index.
    statics: Vec<Option<Object>>,
    timeout_minutes: u32,
    lcid: u32,
    codepage: u32,
}

impl SessionData {
    /// Empty data with the application's defaults (already validated).
    pub fn new(timeout_minutes: u32, lcid: u32, codepage: u32) -> SessionData {
        SessionData {
            contents: Contents::default(),
            statics: Vec::new(),
            timeout_minutes,
            lcid,
            codepage,
        }
    }

    /// Timeout in minutes.
    pub fn timeout_minutes(&self) -> u32 {
        self.timeout_minutes
    }

    /// Sets Timeout after checking 1 ..= `limits.max_timeout_minutes`;
    /// on error the value is unchanged.
    pub fn set_timeout_minutes(&mut self, minutes: i64, limits: &Limits) -> Result<()> {
        self.timeout_minutes = check_timeout(minutes, limits.max_timeout_minutes)?;
        Ok(())
    }

    /// The session's LCID.
    pub fn lcid(&self) -> u32 {
        self.lcid
    }

    /// Sets the LCID if Windows defines it; on error the value is unchanged.
    pub fn set_lcid(&mut self, lcid: u32) -> Result<()> {
        self.lcid = locale::check_lcid(lcid)?;
        Ok(())
    }

    /// The session's code page.
    pub fn codepage(&self) -> u32 {
        self.codepage
    }

    /// Sets the code page if an encoder serves it; on error it is unchanged.
    pub fn set_codepage(&mut self, cp: u32) -> Result<()> {
        self.codepage = locale::check_codepage(cp)?;
        Ok(())
    }

    /// Stores `value` under `name` after checking the key, the value's size
    /// and (for a new key) the item count; on error nothing changes.
    pub fn set_value(&mut self, name: &str, value: Variant, limits: &Limits) -> Result<()> {
        self.check_set(name, &value, limits)?;
        self.contents.set(name, value);
        Ok(())
    }

    /// Checks what [`SessionData::set_value`] checks, changing nothing.
    pub fn check_set(&self, name: &str, value: &Variant, limits: &Limits) -> Result<()> {
        check_key(name, limits)?;
        check_value(value, limits)?;
        if !self.contents.contains(name) && self.contents.len() >= limits.max_items {
            return Err(Error::new(
                error::E_TOO_MANY_ITEMS,
                format!("the session already holds {} items", limits.max_items),
            ));
        }
        Ok(())
    }

    /// Replaces the value at `index` after checking its size.
    pub fn set_value_at(&mut self, index: usize, value: Variant, limits: &Limits) -> Result<()> {
        check_value(&value, limits)?;
        if self.contents.set_index(index, value) {
            Ok(())
        } else {
            Err(bad_index(index, self.contents.len()))
        }
    }

    /// The instantiated static object at declaration `index`, if any.
    pub fn static_object(&self, index: usize) -> Option<&Object> {
        self.statics.get(index).and_then(Option::as_ref)
    }

    /// Records the instance of the static object at declaration `index`.
    pub fn set_static_object(&mut self, index: usize, obj: Object) {
        if self.statics.len() <= index {
            self.statics.resize_with(index + 1, || None);
        }
        self.statics[index] = Some(obj);
    }
}

/// Checks a Timeout in minutes against 1 ..= `max`.
pub fn check_timeout(minutes: i64, max: u32) -> Result<u32> {
    if minutes >= 1 && minutes <= i64::from(max) {
        Ok(minutes as u32)
    } else {
        Err(Error::new(
            error::E_INVALID_TIMEOUT,
            format!("Timeout {minutes} is outside 1..={max} minutes"),
        ))
    }
}

/// `DISP_E_BADINDEX` for `index` in a collection of `len` items.
pub fn bad_index(index: usize, len: usize) -> Error {
    Error::new(
        error::DISP_E_BADINDEX,
        format!("index {index} is out of range (count {len})"),
    )
}

fn check_key(name: &str, limits: &Limits) -> Result<()> {
    if name.is_empty() || name.len() > limits.max_key_bytes {
        return Err(Error::new(
            error::E_BAD_KEY,
            format!(
                "a key must be 1..={} bytes (got {})",
                limits.max_key_bytes,
                name.len()
            ),
        ));
    }
    Ok(())
}

fn check_value(value: &Variant, limits: &Limits) -> Result<()> {
    let bytes = value.payload_bytes();
    if bytes > limits.max_value_bytes {
        return Err(Error::new(
            error::E_VALUE_TOO_LARGE,
            format!(
                "the value is {bytes} bytes; the limit is {}",
                limits.max_value_bytes
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_timeout_minutes: 1440,
        max_items: 3,
        max_value_bytes: 10,
        max_key_bytes: 8,
    };

    #[test]
    fn properties_are_validated_and_unchanged_on_error() {
        let mut d = SessionData::new(20, 1033, 65001);
        assert_eq!(
            d.set_timeout_minutes(0, &LIMITS).unwrap_err().code(),
            error::E_INVALID_TIMEOUT
        );
        assert_eq!(
            d.set_timeout_minutes(1441, &LIMITS).unwrap_err().code(),
            error::E_INVALID_TIMEOUT
        );
        assert_eq!(d.timeout_minutes(), 20);
        d.set_timeout_minutes(5, &LIMITS).unwrap();
        assert_eq!(d.timeout_minutes(), 5);
        assert_eq!(
            d.set_lcid(0xABCD).unwrap_err().code(),
            error::E_INVALID_LCID
        );
        assert_eq!(d.lcid(), 1033);
        d.set_lcid(1036).unwrap();
        assert_eq!(d.lcid(), 1036);
        assert_eq!(
            d.set_codepage(1).unwrap_err().code(),
            error::E_INVALID_CODEPAGE
        );
        assert_eq!(d.codepage(), 65001);
        d.set_codepage(932).unwrap();
        assert_eq!(d.codepage(), 932);
    }

    #[test]
    fn value_limits() {
        let mut d = SessionData::new(20, 1033, 65001);
        let e = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(
            e(d.set_value("", Variant::I4(1), &LIMITS)),
            error::E_BAD_KEY
        );
        assert_eq!(
            e(d.set_value("123456789", Variant::I4(1), &LIMITS)),
            error::E_BAD_KEY
        );
        assert_eq!(
            e(d.set_value("k", Variant::bstr("12345678901"), &LIMITS)),
            error::E_VALUE_TOO_LARGE
        );
        for k in ["a", "b", "c"] {
            d.set_value(k, Variant::I4(1), &LIMITS).unwrap();
        }
        assert_eq!(
            e(d.set_value("d", Variant::I4(1), &LIMITS)),
            error::E_TOO_MANY_ITEMS
        );
        d.set_value("A", Variant::I4(2), &LIMITS).unwrap();
        assert_eq!(d.contents.get("a"), Some(&Variant::I4(2)));
        assert_eq!(
            e(d.set_value_at(3, Variant::I4(1), &LIMITS)),
            error::DISP_E_BADINDEX
        );
        assert_eq!(
            e(d.set_value_at(0, Variant::bstr("12345678901"), &LIMITS)),
            error::E_VALUE_TOO_LARGE
        );
    }
}
