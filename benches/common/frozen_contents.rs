//! The peers' Contents: libsess's Contents as it was before its compact
//! layout (an `IndexMap` with boxed keys, hashed and compared case-folded),
//! frozen here so that moka and DashMap keep holding what a typical cache
//! user would store and the ratios measure libsess's own layout, not a
//! speed-up every contender shares. Only what the peers call is kept.

use std::hash::{BuildHasher, Hash, Hasher};

use indexmap::{Equivalent, IndexMap};
use sess::variant::Variant;

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

/// Feeds the UTF-8 bytes of `s` lowercased into `h` in 64-byte chunks.
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

/// The hasher: foldhash with a per-process random seed.
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

/// Ordered, case-insensitive name → value collection.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    map: IndexMap<Key, Variant, FoldState>,
}

impl Contents {
    /// The value stored under `name` (any case).
    pub fn get(&self, name: &str) -> Option<&Variant> {
        self.map.get(KeyRef::new(name))
    }

    /// Stores `value` under `name` (an existing key keeps its place).
    pub fn set(&mut self, name: &str, value: Variant) {
        if let Some(slot) = self.map.get_mut(KeyRef::new(name)) {
            *slot = value;
        } else {
            self.map.insert(Key(name.into()), value);
        }
    }

    /// Items in order: (key, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Variant)> {
        self.map.iter().map(|(k, v)| (&*k.0, v))
    }
}
