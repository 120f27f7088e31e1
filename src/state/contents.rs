//! The Contents collection: ordered items, keys compared case-insensitively
//! with their original spelling kept, index access in insertion order.

use std::hash::{BuildHasher, Hash, Hasher};

use indexmap::{Equivalent, IndexMap};

use crate::variant::Variant;

/// A key as stored: original spelling; hashed and compared case-insensitively.
#[derive(Debug, Clone)]
struct Key(Box<str>);

/// A key as looked up (borrowed).
#[repr(transparent)]
struct KeyRef(str);

impl KeyRef {
    fn new(s: &str) -> &KeyRef {
        // SAFETY: KeyRef is a repr(transparent) wrapper around str.
        unsafe { &*(s as *const str as *const KeyRef) }
    }
}

/// Feeds the UTF-8 bytes of `s` lowercased into `h`, in fixed 64-byte
/// chunks, so two keys that [`same_key`] calls equal always hash equal
/// (e.g. "k" and KELVIN SIGN, which lowercases to "k").
fn hash_folded<H: Hasher>(s: &str, h: &mut H) {
    let mut buf = [0u8; 64];
    let mut n = 0;
    let mut push = |b: u8, h: &mut H| {
        buf[n] = b;
        n += 1;
        if n == buf.len() {
            h.write(&buf);
            n = 0;
        }
    };
    if s.is_ascii() {
        for b in s.bytes() {
            push(b.to_ascii_lowercase(), h);
        }
    } else {
        let mut utf8 = [0u8; 4];
        for c in s.chars().flat_map(char::to_lowercase) {
            for &b in c.encode_utf8(&mut utf8).as_bytes() {
                push(b, h);
            }
        }
    }
    h.write(&buf[..n]);
    h.write_u8(0xFF);
}

/// Whether `a` and `b` are the same key (case-insensitive).
fn same_key(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        hash_folded(&self.0, h);
    }
}
impl Hash for KeyRef {
    fn hash<H: Hasher>(&self, h: &mut H) {
        hash_folded(&self.0, h);
    }
}
impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        same_key(&self.0, &other.0)
    }
}
impl Eq for Key {}
impl Equivalent<Key> for KeyRef {
    fn equivalent(&self, key: &Key) -> bool {
        same_key(&self.0, &key.0)
    }
}

/// Ordered, case-insensitive name → value collection (ASP's Contents).
#[derive(Debug, Clone, Default)]
pub struct Contents {
    map: IndexMap<Key, Variant, FoldState>,
}

/// The hasher for Contents: foldhash with a per-process random seed.
#[derive(Debug, Clone, Copy, Default)]
struct FoldState;

impl BuildHasher for FoldState {
    type Hasher = foldhash::fast::FoldHasher<'static>;
    fn build_hasher(&self) -> Self::Hasher {
        static SEED: std::sync::OnceLock<foldhash::fast::RandomState> = std::sync::OnceLock::new();
        SEED.get_or_init(foldhash::fast::RandomState::default)
            .build_hasher()
    }
}

impl Contents {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value stored under `name` (any case).
    pub fn get(&self, name: &str) -> Option<&Variant> {
        self.map.get(KeyRef::new(name))
    }

    /// Whether `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(KeyRef::new(name))
    }

    /// The index and key (original spelling) of `name` (any case).
    pub fn find(&self, name: &str) -> Option<(usize, &str)> {
        self.map
            .get_full(KeyRef::new(name))
            .map(|(i, k, _)| (i, &*k.0))
    }

    /// The key (original spelling) and value at `index` (0-based).
    pub fn get_index(&self, index: usize) -> Option<(&str, &Variant)> {
        self.map.get_index(index).map(|(k, v)| (&*k.0, v))
    }

    /// Stores `value` under `name`: an existing key (any case) keeps its
    /// position and original spelling; a new key goes last. Returns the
    /// replaced item's index and old value, or `None` if the key is new.
    pub fn set(&mut self, name: &str, value: Variant) -> Option<(usize, Variant)> {
        if let Some((index, _, slot)) = self.map.get_full_mut(KeyRef::new(name)) {
            Some((index, std::mem::replace(slot, value)))
        } else {
            self.map.insert(Key(name.into()), value);
            None
        }
    }

    /// Replaces the value at `index`, returning the old one; `None` if there
    /// is no such index.
    pub fn set_index(&mut self, index: usize, value: Variant) -> Option<Variant> {
        self.map
            .get_index_mut(index)
            .map(|(_, slot)| std::mem::replace(slot, value))
    }

    /// Removes `name`; later items move down one index. Returns the item's
    /// index, key and value.
    pub fn remove(&mut self, name: &str) -> Option<(usize, Box<str>, Variant)> {
        self.map
            .shift_remove_full(KeyRef::new(name))
            .map(|(i, k, v)| (i, k.0, v))
    }

    /// Removes the item at `index`; later items move down one index.
    pub fn remove_index(&mut self, index: usize) -> Option<(Box<str>, Variant)> {
        self.map.shift_remove_index(index).map(|(k, v)| (k.0, v))
    }

    /// Puts an item back at `index` (undoing a removal); later items move up.
    pub fn restore(&mut self, index: usize, key: Box<str>, value: Variant) {
        let index = index.min(self.map.len());
        self.map.shift_insert(index, Key(key), value);
    }

    /// Removes the last item (undoing an append).
    pub fn pop(&mut self) {
        self.map.pop();
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Items in order: (key, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Variant)> {
        self.map.iter().map(|(k, v)| (&*k.0, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Variant {
        Variant::bstr(v)
    }

    #[test]
    fn keys_are_case_insensitive_and_keep_spelling() {
        let mut c = Contents::default();
        c.set("SessionVar1", s("a"));
        c.set("SESSIONVAR1", s("b"));
        assert_eq!(c.len(), 1);
        assert_eq!(c.get("sessionvar1"), Some(&s("b")));
        assert_eq!(c.get_index(0).unwrap().0, "SessionVar1");
        c.set("Straße", s("x"));
        assert_eq!(
            c.get("STRASSE"),
            None,
            "full case folding is not ASP's rule"
        );
        assert_eq!(c.get("straße"), Some(&s("x")));
        c.set("ÉTÉ", s("y"));
        c.set("k", s("kelvin"));
        assert_eq!(
            c.get("\u{212A}"),
            Some(&s("kelvin")),
            "KELVIN SIGN lowercases to k"
        );
        assert_eq!(c.get("été"), Some(&s("y")));
    }

    #[test]
    fn remove_shifts_later_indexes() {
        // Seed 004: first/middle/last name; removing the middle shifts "last".
        let mut c = Contents::default();
        c.set("strFirstName", s("Arthur"));
        c.set("strMiddleName", s("Keyton"));
        c.set("strLastName", s("Weissinger"));
        let removed = c.remove("STRMIDDLENAME").unwrap();
        assert_eq!(
            (removed.0, &*removed.1, &removed.2),
            (1, "strMiddleName", &s("Keyton"))
        );
        assert_eq!(c.get_index(0).map(|x| x.1), Some(&s("Arthur")));
        assert_eq!(c.get_index(1).map(|x| x.1), Some(&s("Weissinger")));
        assert!(c.get_index(2).is_none());
        assert_eq!(c.remove_index(0).map(|x| x.1), Some(s("Arthur")));
        assert_eq!(c.get_index(0).unwrap().0, "strLastName");
        assert_eq!(c.set_index(0, s("W")), Some(s("Weissinger")));
        assert_eq!(c.set_index(1, s("nope")), None);
        c.restore(0, "strFirstName".into(), s("Arthur"));
        assert_eq!(c.get_index(0).unwrap().0, "strFirstName");
        assert_eq!(c.get_index(1).unwrap().1, &s("W"));
        c.pop();
        assert_eq!(c.len(), 1);
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn many_keys() {
        let mut c = Contents::default();
        for i in 0..1000 {
            c.set(&format!("Key{i}"), Variant::I4(i));
        }
        for i in (0..1000).step_by(7) {
            assert_eq!(c.get(&format!("kEY{i}")), Some(&Variant::I4(i)));
        }
        let keys: Vec<_> = c.iter().take(3).map(|(k, _)| k.to_owned()).collect();
        assert_eq!(keys, ["Key0", "Key1", "Key2"]);
    }
}
