//! What a store keeps for one session: Contents, instantiated static objects
//! and the per-session properties, with the rules that validate them.

use std::sync::Arc;

use super::budget::MemoryBudget;
use super::contents::Contents;
use super::journal::{Before, Journal, Undo};
use crate::error::{self, Error, Result};
use crate::locale;
use crate::variant::{Object, Variant, MAX_ARRAY_DEPTH};

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
    /// Largest session: its keys' UTF-8 bytes plus its values'
    /// [`Variant::payload_bytes`].
    pub max_session_bytes: usize,
}

/// One session's state. Every change goes through a method that records
/// how to undo it in the unit of work's [`Journal`].
#[derive(Debug)]
pub struct SessionData {
    contents: Contents,
    /// Static objects instantiated so far, by declaration index (most
    /// sessions have none: no allocation then).
    statics: Option<Box<[Option<Object>]>>,
    timeout_minutes: u32,
    lcid: u32,
    codepage: u32,
    /// Size of the Contents, as [`item_bytes`] counts it.
    bytes: usize,
    /// The memory budget `bytes` is charged to (in-process sessions).
    budget: Option<Arc<MemoryBudget>>,
}

impl SessionData {
    /// Empty data with the application's defaults (already validated).
    pub fn new(timeout_minutes: u32, lcid: u32, codepage: u32) -> SessionData {
        SessionData {
            contents: Contents::default(),
            statics: None,
            timeout_minutes,
            lcid,
            codepage,
            bytes: 0,
            budget: None,
        }
    }

    /// Charges this session's bytes, now and as it changes, to `budget`
    /// (until it is dropped).
    pub fn charge_to(&mut self, budget: Arc<MemoryBudget>) {
        self.resize(0);
        self.budget = Some(budget);
        self.resize(self.contents.iter().map(|(k, v)| item_bytes(k, v)).sum());
    }

    /// The session's size: its keys' UTF-8 bytes plus its values'
    /// [`Variant::payload_bytes`].
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether dropping this data releases objects: an instantiated
    /// static object, or an object among the values.
    pub fn holds_objects(&self) -> bool {
        self.statics.is_some() || self.contents.iter().any(|(_, v)| v.holds_object())
    }

    /// The Contents collection.
    pub fn contents(&self) -> &Contents {
        &self.contents
    }

    /// Timeout in minutes.
    pub fn timeout_minutes(&self) -> u32 {
        self.timeout_minutes
    }

    /// Sets Timeout after checking 1 ..= `limits.max_timeout_minutes`;
    /// on error the value is unchanged.
    pub fn set_timeout_minutes(
        &mut self,
        minutes: i64,
        limits: &Limits,
        journal: &mut Journal,
    ) -> Result<()> {
        let minutes = check_timeout(minutes, limits.max_timeout_minutes)?;
        let old = std::mem::replace(&mut self.timeout_minutes, minutes);
        journal.push(Undo::Timeout(old), self);
        Ok(())
    }

    /// The session's LCID.
    pub fn lcid(&self) -> u32 {
        self.lcid
    }

    /// Sets the LCID if Windows defines it; on error the value is unchanged.
    pub fn set_lcid(&mut self, lcid: u32, journal: &mut Journal) -> Result<()> {
        let lcid = locale::check_lcid(lcid)?;
        let old = std::mem::replace(&mut self.lcid, lcid);
        journal.push(Undo::Lcid(old), self);
        Ok(())
    }

    /// The session's code page.
    pub fn codepage(&self) -> u32 {
        self.codepage
    }

    /// Sets the code page if an encoder serves it; on error it is unchanged.
    pub fn set_codepage(&mut self, cp: u32, journal: &mut Journal) -> Result<()> {
        let cp = locale::check_codepage(cp)?;
        let old = std::mem::replace(&mut self.codepage, cp);
        journal.push(Undo::Codepage(old), self);
        Ok(())
    }

    /// Stores `value` under `name` after checking the key, the value's size
    /// and (for a new key) the item count; on error nothing changes.
    pub fn set_value(
        &mut self,
        name: &str,
        value: Variant,
        limits: &Limits,
        journal: &mut Journal,
    ) -> Result<()> {
        let found = self.contents.position(name);
        let after = self.checked_size_after(found, name, &value, limits)?;
        self.grow_to(after, limits)?;
        let undo = match found {
            Some(index) => {
                let old = self.contents.set_index(index, value);
                Undo::Replaced(index, old.expect("the index was just found"))
            }
            None => {
                self.contents.append_new(name, value);
                Undo::Appended
            }
        };
        journal.push(undo, self);
        Ok(())
    }

    /// Checks what [`SessionData::set_value`] checks, changing nothing.
    pub fn check_set(&self, name: &str, value: &Variant, limits: &Limits) -> Result<()> {
        let found = self.contents.position(name);
        let after = self.checked_size_after(found, name, value, limits)?;
        self.check_growth(after, limits)?;
        match &self.budget {
            Some(budget) if after > self.bytes => budget.check(after - self.bytes),
            _ => Ok(()),
        }
    }

    /// The session's size once `name` (at index `found` if present) holds
    /// `value`, after checking the key, the value and the item count (the
    /// size limit is the caller's: [`SessionData::grow_to`] checks it when
    /// growing). A replaced key keeps its original spelling.
    #[inline]
    fn checked_size_after(
        &self,
        found: Option<usize>,
        name: &str,
        value: &Variant,
        limits: &Limits,
    ) -> Result<usize> {
        check_key(name, limits)?;
        let bytes = value_bytes(value, limits)?;
        let after = match found.and_then(|i| self.contents.get_index(i)) {
            Some((_, old)) => self.bytes - old.payload_bytes() + bytes,
            None if self.contents.len() >= limits.max_items => {
                return Err(Error::new(
                    error::E_TOO_MANY_ITEMS,
                    format!("the session already holds {} items", limits.max_items),
                ))
            }
            None => self.bytes + item_bytes(name, value),
        };
        Ok(after)
    }

    /// `E_SESSION_TOO_LARGE` if growing to `after` bytes passes the limit.
    fn check_growth(&self, after: usize, limits: &Limits) -> Result<()> {
        if after > self.bytes && after > limits.max_session_bytes {
            return Err(Error::new(
                error::E_SESSION_TOO_LARGE,
                format!(
                    "the session would hold {after} bytes; the limit is {}",
                    limits.max_session_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Checks growing to `after` bytes against the session limit and takes
    /// the growth from the budget; shrinking gives bytes back. On error
    /// nothing changed.
    fn grow_to(&mut self, after: usize, limits: &Limits) -> Result<()> {
        self.check_growth(after, limits)?;
        if let Some(budget) = self.budget.as_ref().filter(|_| after > self.bytes) {
            budget.take(after - self.bytes)?;
            self.bytes = after;
        }
        self.resize(after);
        Ok(())
    }

    /// Sets the size to `after`, charging or returning the difference
    /// whatever the limits (undo restores what was there).
    fn resize(&mut self, after: usize) {
        // An unchanged size leaves the budget alone: its counter is shared
        // by every thread, and even adding 0 would take its cache line.
        if let Some(budget) = &self.budget {
            if after > self.bytes {
                budget.force(after - self.bytes);
            } else if after < self.bytes {
                budget.give_back(self.bytes - after);
            }
        }
        self.bytes = after;
    }

    /// Replaces the value at `index` after checking its size.
    pub fn set_value_at(
        &mut self,
        index: usize,
        value: Variant,
        limits: &Limits,
        journal: &mut Journal,
    ) -> Result<()> {
        let bytes = value_bytes(&value, limits)?;
        let (_, old) = self
            .contents
            .get_index(index)
            .ok_or_else(|| bad_index(index, self.contents.len()))?;
        self.grow_to(self.bytes - old.payload_bytes() + bytes, limits)?;
        let old = self
            .contents
            .set_index(index, value)
            .expect("the index was just found");
        journal.push(Undo::Replaced(index, old), self);
        Ok(())
    }

    /// Removes `name` (any case); later items move down. False if absent.
    pub fn remove_value(&mut self, name: &str, journal: &mut Journal) -> bool {
        match self.contents.remove(name) {
            Some((index, key, old)) => {
                self.resize(self.bytes - item_bytes(&key, &old));
                journal.push(Undo::Removed(index, key, old), self);
                true
            }
            None => false,
        }
    }

    /// Removes the item at `index`; later items move down.
    pub fn remove_value_at(&mut self, index: usize, journal: &mut Journal) -> Result<()> {
        let (key, old) = self
            .contents
            .remove_index(index)
            .ok_or_else(|| bad_index(index, self.contents.len()))?;
        self.resize(self.bytes - item_bytes(&key, &old));
        journal.push(Undo::Removed(index, key, old), self);
        Ok(())
    }

    /// Removes every Contents item.
    pub fn clear_values(&mut self, journal: &mut Journal) {
        if !self.contents.is_empty() {
            self.resize(0);
            let all = Box::new(std::mem::take(&mut self.contents));
            journal.push(Undo::Cleared(all), self);
        }
    }

    /// A copy of the Contents, static objects and properties, charged to
    /// no budget (what the journal keeps of the session as it was).
    pub(super) fn unbudgeted_copy(&self) -> SessionData {
        SessionData {
            contents: self.contents.clone(),
            statics: self.statics.clone(),
            timeout_minutes: self.timeout_minutes,
            lcid: self.lcid,
            codepage: self.codepage,
            bytes: self.bytes,
            budget: None,
        }
    }

    /// Takes back the Contents, static objects and properties of `before`
    /// (a copy made by [`SessionData::unbudgeted_copy`]), whatever the
    /// limits.
    pub(super) fn restore(&mut self, mut before: SessionData) {
        self.resize(before.bytes);
        self.contents = std::mem::take(&mut before.contents);
        self.statics = before.statics.take();
        self.timeout_minutes = before.timeout_minutes;
        self.lcid = before.lcid;
        self.codepage = before.codepage;
    }

    /// Applies one undo record.
    pub(super) fn undo(&mut self, undo: Undo) {
        let sized = |(k, v): (&str, &Variant)| item_bytes(k, v);
        match undo {
            Undo::Appended => {
                let last = self.contents.len().saturating_sub(1);
                let gone = self.contents.get_index(last).map_or(0, sized);
                self.resize(self.bytes - gone);
                self.contents.pop();
            }
            Undo::Replaced(index, old) => {
                let after = old.payload_bytes();
                if let Some(new) = self.contents.set_index(index, old) {
                    self.resize(self.bytes - new.payload_bytes() + after);
                }
            }
            Undo::Removed(index, key, old) => {
                self.resize(self.bytes + item_bytes(&key, &old));
                self.contents.restore(index, key, old);
            }
            Undo::Cleared(all) => {
                self.resize(all.iter().map(sized).sum());
                self.contents = *all;
            }
            Undo::Timeout(t) => self.timeout_minutes = t,
            Undo::Lcid(l) => self.lcid = l,
            Undo::Codepage(c) => self.codepage = c,
            Undo::StaticMade(index) => {
                if let Some(slot) = self.statics.as_deref_mut().and_then(|s| s.get_mut(index)) {
                    *slot = None;
                }
            }
            Undo::Before(before) => {
                let Before { data, kept } = *before;
                self.restore(data);
                drop(kept); // after the session is whole again
            }
        }
    }

    /// The instantiated static object at declaration `index`, if any.
    pub fn static_object(&self, index: usize) -> Option<&Object> {
        self.statics.as_deref()?.get(index)?.as_ref()
    }

    /// Records the instance of the static object at declaration `index`,
    /// made by this unit of work (undone with its other changes: the
    /// instance is let go and the next use makes another).
    pub fn set_static_object(&mut self, index: usize, obj: Object, journal: &mut Journal) {
        let mut slots = self.statics.take().map(Vec::from).unwrap_or_default();
        if slots.len() <= index {
            slots.resize_with(index + 1, || None);
        }
        slots[index] = Some(obj);
        self.statics = Some(slots.into_boxed_slice());
        journal.push(Undo::StaticMade(index), self);
    }
}

/// The largest Timeout any application allows: Timeout is a 32-bit signed
/// value (and deadlines in milliseconds stay far inside 64 bits).
pub const MAX_TIMEOUT_MINUTES: u32 = i32::MAX as u32;

impl Drop for SessionData {
    fn drop(&mut self) {
        self.resize(0);
    }
}

/// What one Contents item counts towards its session's size.
fn item_bytes(key: &str, value: &Variant) -> usize {
    key.len() + value.payload_bytes()
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

/// `E_BAD_KEY` unless `name` is 1 ..= `max_key_bytes` bytes.
#[inline]
fn check_key(name: &str, limits: &Limits) -> Result<()> {
    if name.is_empty() || name.len() > limits.max_key_bytes {
        return Err(bad_key(name, limits));
    }
    Ok(())
}

#[cold]
fn bad_key(name: &str, limits: &Limits) -> Error {
    Error::new(
        error::E_BAD_KEY,
        format!(
            "a key must be 1..={} bytes (got {})",
            limits.max_key_bytes,
            name.len()
        ),
    )
}

/// The payload bytes of `value`, or `E_VALUE_TOO_LARGE` past the limit
/// (`E_INVALIDARG` for arrays nested past [`MAX_ARRAY_DEPTH`]).
#[inline]
fn value_bytes(value: &Variant, limits: &Limits) -> Result<usize> {
    if matches!(value, Variant::Array(_)) && value.array_depth() > MAX_ARRAY_DEPTH {
        return Err(too_deep());
    }
    let bytes = value.payload_bytes();
    if bytes > limits.max_value_bytes {
        return Err(too_large(bytes, limits));
    }
    Ok(bytes)
}

/// `E_INVALIDARG` for arrays nested deeper than a store reads back (the
/// Rust API can build them; C's array functions refuse to).
#[cold]
fn too_deep() -> Error {
    Error::new(
        error::E_INVALIDARG,
        format!("arrays nest at most {MAX_ARRAY_DEPTH} levels"),
    )
}

#[cold]
fn too_large(bytes: usize, limits: &Limits) -> Error {
    Error::new(
        error::E_VALUE_TOO_LARGE,
        format!(
            "the value is {bytes} bytes; the limit is {}",
            limits.max_value_bytes
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_timeout_minutes: 1440,
        max_items: 3,
        max_value_bytes: 10,
        max_key_bytes: 8,
        max_session_bytes: 64,
    };

    #[test]
    fn properties_are_validated_and_unchanged_on_error() {
        let mut d = SessionData::new(20, 1033, 65001);
        let j = &mut Journal::default();
        let code = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(
            code(d.set_timeout_minutes(0, &LIMITS, j)),
            error::E_INVALID_TIMEOUT
        );
        assert_eq!(
            code(d.set_timeout_minutes(1441, &LIMITS, j)),
            error::E_INVALID_TIMEOUT
        );
        assert_eq!(d.timeout_minutes(), 20);
        d.set_timeout_minutes(5, &LIMITS, j).unwrap();
        assert_eq!(d.timeout_minutes(), 5);
        assert_eq!(code(d.set_lcid(0xABCD, j)), error::E_INVALID_LCID);
        assert_eq!(d.lcid(), 1033);
        d.set_lcid(1036, j).unwrap();
        assert_eq!(d.lcid(), 1036);
        assert_eq!(code(d.set_codepage(1, j)), error::E_INVALID_CODEPAGE);
        assert_eq!(d.codepage(), 65001);
        d.set_codepage(932, j).unwrap();
        assert_eq!(d.codepage(), 932);
    }

    /// Arrays nested deeper than a store's reader accepts are refused
    /// where they come in (a shared store would save them and then fail
    /// to read the whole session back).
    #[test]
    fn arrays_nested_past_the_limit_are_refused() {
        let nested = |depth: usize| {
            (0..depth).fold(Variant::Empty, |v, _| {
                Variant::Array(Box::new(crate::variant::SafeArray::from(vec![v])))
            })
        };
        // Room for the levels (8 bytes each): only the depth is refused.
        let limits = Limits {
            max_value_bytes: 1024,
            max_session_bytes: 1024,
            ..LIMITS
        };
        let mut d = SessionData::new(20, 1033, 65001);
        let j = &mut Journal::default();
        d.set_value("deep", nested(MAX_ARRAY_DEPTH), &limits, j)
            .unwrap();
        let e = d
            .set_value("deeper", nested(MAX_ARRAY_DEPTH + 1), &limits, j)
            .unwrap_err();
        assert_eq!(e.code(), error::E_INVALIDARG, "{e}");
        let e = d
            .set_value_at(0, nested(MAX_ARRAY_DEPTH + 1), &limits, j)
            .unwrap_err();
        assert_eq!(e.code(), error::E_INVALIDARG, "{e}");
        assert_eq!(d.contents().len(), 1);
        assert_eq!(d.contents().get("deep"), Some(&nested(MAX_ARRAY_DEPTH)));
    }

    /// Each element of an array counts at least what a number does (an
    /// array in it 8 more): an array of empty strings or empty arrays,
    /// however long, is not 0 bytes to the value and session limits and
    /// the memory budget.
    #[test]
    fn tiny_array_elements_still_count() {
        let many =
            |v: Variant| Variant::Array(Box::new(crate::variant::SafeArray::from(vec![v; 1000])));
        let empty_array = Variant::Array(Box::new(crate::variant::SafeArray::from(vec![])));
        let mut d = SessionData::new(20, 1033, 65001);
        let j = &mut Journal::default();
        for tiny in [Variant::bstr(""), Variant::bstr("x"), empty_array] {
            let e = d.set_value("k", many(tiny), &LIMITS, j).unwrap_err();
            assert_eq!(e.code(), error::E_VALUE_TOO_LARGE, "{e}");
        }
        let budget = Arc::new(MemoryBudget::new(0));
        d.charge_to(budget.clone());
        let roomy = Limits {
            max_value_bytes: 1 << 20,
            max_session_bytes: 1 << 20,
            ..LIMITS
        };
        d.set_value("k", many(Variant::bstr("")), &roomy, j)
            .unwrap();
        assert_eq!((d.bytes(), budget.used()), (1 + 8000, 1 + 8000));
    }

    #[test]
    fn value_limits() {
        let mut d = SessionData::new(20, 1033, 65001);
        let j = &mut Journal::default();
        let e = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(
            e(d.set_value("", Variant::I4(1), &LIMITS, j)),
            error::E_BAD_KEY
        );
        assert_eq!(
            e(d.set_value("123456789", Variant::I4(1), &LIMITS, j)),
            error::E_BAD_KEY
        );
        let big = Variant::bstr("12345678901");
        assert_eq!(
            e(d.set_value("k", big.clone(), &LIMITS, j)),
            error::E_VALUE_TOO_LARGE
        );
        for k in ["a", "b", "c"] {
            d.set_value(k, Variant::I4(1), &LIMITS, j).unwrap();
        }
        assert_eq!(
            e(d.set_value("d", Variant::I4(1), &LIMITS, j)),
            error::E_TOO_MANY_ITEMS
        );
        d.set_value("A", Variant::I4(2), &LIMITS, j).unwrap();
        assert_eq!(d.contents().get("a"), Some(&Variant::I4(2)));
        assert_eq!(
            e(d.set_value_at(3, Variant::I4(1), &LIMITS, j)),
            error::DISP_E_BADINDEX
        );
        assert_eq!(
            e(d.set_value_at(0, big, &LIMITS, j)),
            error::E_VALUE_TOO_LARGE
        );
    }

    #[test]
    fn session_size_limit_and_budget() {
        let limits = Limits {
            max_session_bytes: 30,
            ..LIMITS
        };
        let budget = Arc::new(MemoryBudget::new(40));
        let mut d = SessionData::new(20, 1033, 65001);
        d.charge_to(budget.clone());
        let j = &mut Journal::default();
        let e = |r: Result<()>| r.unwrap_err().code();
        d.set_value("a", Variant::bstr("0123456789"), &limits, j)
            .unwrap();
        d.set_value("b", Variant::bstr("0123456789"), &limits, j)
            .unwrap();
        assert_eq!((d.bytes(), budget.used()), (22, 22));
        // 22 + 1 + 8 = 31 > 30: refused, nothing changed.
        assert_eq!(
            e(d.set_value("c", Variant::I4(1), &limits, j)),
            error::E_SESSION_TOO_LARGE
        );
        assert_eq!(
            e(d.check_set("c", &Variant::I4(1), &limits)),
            error::E_SESSION_TOO_LARGE
        );
        assert_eq!(
            e(d.set_value_at(0, Variant::bstr("0123456789x"), &limits, j)),
            error::E_VALUE_TOO_LARGE
        );
        assert!(d.contents().get("c").is_none());
        assert_eq!((d.bytes(), budget.used()), (22, 22));
        // Replacing with something smaller fits (a key's bytes count once).
        d.set_value("A", Variant::I4(1), &limits, j).unwrap();
        assert_eq!((d.bytes(), budget.used()), (20, 20));
        // A second session: 20 + 21 > 40 is past the budget.
        let mut other = SessionData::new(20, 1033, 65001);
        other.charge_to(budget.clone());
        other
            .set_value("x", Variant::bstr("0123456789"), &limits, j)
            .unwrap();
        assert_eq!(
            e(other.set_value("y", Variant::bstr("012345678"), &limits, j)),
            error::E_MEMORY_BUDGET
        );
        assert_eq!(
            e(other.check_set("y", &Variant::bstr("012345678"), &limits)),
            error::E_MEMORY_BUDGET
        );
        assert_eq!((other.bytes(), budget.used()), (11, 31));
        // Removing gives bytes back; dropping a session gives back the rest.
        assert!(d.remove_value("b", j));
        assert_eq!(budget.used(), 20);
        other
            .set_value("y", Variant::bstr("012345678"), &limits, j)
            .unwrap();
        drop(other);
        assert_eq!(budget.used(), 9);
        d.clear_values(j);
        assert_eq!((d.bytes(), budget.used()), (0, 0));
    }

    #[test]
    fn rollback_restores_the_size() {
        let budget = Arc::new(MemoryBudget::new(0));
        let mut d = SessionData::new(20, 1033, 65001);
        d.charge_to(budget.clone());
        let setup = &mut Journal::default();
        d.set_value("a", Variant::bstr("xyz"), &LIMITS, setup)
            .unwrap();
        d.set_value("b", Variant::I4(2), &LIMITS, setup).unwrap();
        assert_eq!(d.bytes(), 4 + 9);
        let mut j = Journal::default();
        d.set_value("A", Variant::bstr("longer"), &LIMITS, &mut j)
            .unwrap();
        d.set_value("c", Variant::Null, &LIMITS, &mut j).unwrap();
        d.set_value_at(1, Variant::bstr(""), &LIMITS, &mut j)
            .unwrap();
        assert!(d.remove_value("a", &mut j));
        d.clear_values(&mut j);
        d.set_value("z", Variant::I2(9), &LIMITS, &mut j).unwrap();
        j.rollback(&mut d);
        assert_eq!((d.bytes(), budget.used()), (13, 13));
        drop(d);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn rollback_restores_everything_a_unit_changed() {
        let mut d = SessionData::new(20, 1033, 65001);
        let setup = &mut Journal::default();
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            d.set_value(k, Variant::I4(v), &LIMITS, setup).unwrap();
        }
        let before: Vec<(String, Variant)> = d
            .contents()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();

        let mut j = Journal::default();
        d.set_value("B", Variant::bstr("x"), &LIMITS, &mut j)
            .unwrap();
        assert!(d.remove_value("a", &mut j));
        d.set_value("new", Variant::Null, &LIMITS, &mut j).unwrap();
        d.set_value_at(0, Variant::bool(true), &LIMITS, &mut j)
            .unwrap();
        d.remove_value_at(1, &mut j).unwrap();
        d.clear_values(&mut j);
        d.set_value("z", Variant::I2(9), &LIMITS, &mut j).unwrap();
        d.set_timeout_minutes(5, &LIMITS, &mut j).unwrap();
        d.set_lcid(1036, &mut j).unwrap();
        d.set_codepage(932, &mut j).unwrap();
        j.rollback(&mut d);

        let after: Vec<(String, Variant)> = d
            .contents()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        assert_eq!(after, before);
        assert_eq!(
            (d.timeout_minutes(), d.lcid(), d.codepage()),
            (20, 1033, 65001)
        );
    }

    /// Any mix of changes, few or many (past the journal's compaction
    /// into a copy), undoes to the session exactly as it was, its size
    /// and budget included.
    #[test]
    fn rollback_of_many_changes_restores_everything() {
        let limits = Limits {
            max_items: 64,
            max_value_bytes: 1 << 20,
            max_key_bytes: 16,
            max_session_bytes: 1 << 24,
            ..LIMITS
        };
        let snapshot = |d: &SessionData| {
            let items: Vec<(String, Variant)> = d
                .contents()
                .iter()
                .map(|(k, v)| (k.to_owned(), v.clone()))
                .collect();
            (
                items,
                d.timeout_minutes(),
                d.lcid(),
                d.codepage(),
                d.bytes(),
            )
        };
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for changes in [1, 2, 63, 64, 65, 66, 200, 3000] {
            let budget = Arc::new(MemoryBudget::new(0));
            let mut d = SessionData::new(20, 1033, 65001);
            d.charge_to(budget.clone());
            let setup = &mut Journal::default();
            for k in 0..10 {
                let v = Variant::bstr(&"v".repeat(k * 300));
                d.set_value(&format!("Key{k}"), v, &limits, setup).unwrap();
            }
            let before = snapshot(&d);
            let used = budget.used();
            let mut j = Journal::default();
            for _ in 0..changes {
                let key = format!("KEY{}", next(14));
                let len = d.contents().len();
                match next(9) {
                    0..=2 => {
                        let v = Variant::bstr(&"w".repeat(next(5000)));
                        d.set_value(&key, v, &limits, &mut j).unwrap();
                    }
                    3 if len > 0 => {
                        let v = Variant::I4(next(100) as i32);
                        d.set_value_at(next(len), v, &limits, &mut j).unwrap();
                    }
                    4 => drop(d.remove_value(&key, &mut j)),
                    5 if len > 0 => d.remove_value_at(next(len), &mut j).unwrap(),
                    6 if next(20) == 0 => d.clear_values(&mut j),
                    7 => {
                        let t = 1 + next(1000) as i64;
                        d.set_timeout_minutes(t, &limits, &mut j).unwrap();
                    }
                    _ => d.set_lcid([1033, 1036, 1041][next(3)], &mut j).unwrap(),
                }
            }
            j.rollback(&mut d);
            assert!(snapshot(&d) == before, "after {changes} changes");
            assert_eq!(budget.used(), used, "after {changes} changes");
        }
    }
}
