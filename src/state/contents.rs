//! The Contents collection: ordered items, keys compared case-insensitively
//! with their original spelling kept, index access in insertion order.
//!
//! Laid out for the common session, a handful of short keys: the first
//! [`INLINE`] items sit inside the collection itself (so inside the
//! session's block in the in-process store), keys of up to 15 bytes are
//! stored inline in their item, and a lookup is a linear scan over the
//! items' [`Tag`]s, one word compare per item. Only a collection of more
//! than [`LINEAR_MAX`] items builds a hash index (case-folded keys), kept
//! in step from then on.

use std::hash::{BuildHasher, Hasher};

use ecow::EcoString;
use hashbrown::HashTable;
use smallvec::SmallVec;

use crate::ascii;
use crate::variant::Variant;

/// Items kept inside the collection before it moves them to the heap.
const INLINE: usize = 3;

/// Largest collection searched by a linear scan; a larger one has an index.
const LINEAR_MAX: usize = 8;

/// One item: its key as first spelled, its key's tag, and its value.
#[derive(Debug, Clone)]
struct Item {
    tag: Tag,
    key: EcoString,
    value: Variant,
}

/// A word that two equal keys share: an ASCII key's first 7 bytes
/// lowercased, and its length (saturated) in the top byte. Equal tags mean
/// equal keys for ASCII keys of up to 7 bytes; longer ones are compared in
/// full after their tags match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tag(u64);

impl Tag {
    /// Longest key whose tag is the whole key.
    const EXACT: usize = 7;

    /// The tag of `key`, or `None` if it is not ASCII.
    #[inline]
    fn of(key: &[u8]) -> Option<Tag> {
        let head = ascii::head_word(key);
        ascii::is_ascii_from(key, head).then(|| Tag::from_head(head, key.len()))
    }

    /// The tag of an ASCII key of `len` bytes whose head word is `head`.
    #[inline]
    fn from_head(head: u64, len: usize) -> Tag {
        let len = u64::from(u8::try_from(len).unwrap_or(u8::MAX));
        Tag(lower_ascii(head & (u64::MAX >> 8)) | len << 56)
    }
}

/// Feeds the UTF-8 bytes of `s` folded ([`fold`]) into `h`, in fixed
/// 64-byte chunks, so two keys that [`same_key`] calls equal always hash
/// equal (e.g. "k" and KELVIN SIGN, which lowercases to "k"; "σ" and "ς").
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
        for c in s.chars().flat_map(fold) {
            for &b in c.encode_utf8(&mut utf8).as_bytes() {
                push(b, h);
            }
        }
    }
    h.write(&buf[..n]);
    h.write_u8(0xFF);
}

/// A character as keys compare it: its uppercase (when that is one
/// character) lowercased. So the letters whose lowercase forms differ but
/// whose uppercase is one are one letter, as under ASP.NET's invariant
/// case-insensitive comparer: final and medial sigma ("ς", "σ": "ΟΔΟΣ" is
/// "οδος" in lowercase), long s and "s", dotless i and "i", the micro sign
/// and mu. A letter whose uppercase is several ("ß": "SS") keeps its own
/// lowercase: no full case folding. Folding a lowercased key gives what
/// folding the key gives, so a key lowercased per character (as the Redis
/// store names its fields) is found as its key is.
#[inline]
fn fold(c: char) -> std::char::ToLowercase {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u.to_lowercase(),
        _ => c.to_lowercase(),
    }
}

/// Whether `a` and `b` are the same key (case-insensitive: each character
/// folded by [`fold`], as ASP compares Contents keys; StaticObjects'
/// names too).
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars().flat_map(fold).eq(b.chars().flat_map(fold))
    }
}

/// Whether two ASCII keys are the same key, compared eight bytes at a time.
fn same_ascii_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a.chunks_exact(8), b.chunks_exact(8));
    let word = |c: &[u8]| lower_ascii(u64::from_le_bytes(c.try_into().expect("8 bytes")));
    a.by_ref().zip(b.by_ref()).all(|(x, y)| word(x) == word(y))
        && a.remainder().eq_ignore_ascii_case(b.remainder())
}

/// Eight ASCII bytes lowercased at once: each byte in 'A'..='Z' gains
/// 0x20. (No byte carries into the next: every byte is below 0x80 and
/// gains at most 0x3F before its top bit is read.)
fn lower_ascii(x: u64) -> u64 {
    const EACH: u64 = 0x0101_0101_0101_0101;
    let at_least_a = x + 0x3F * EACH; // top bit set where byte >= 'A'
    let above_z = x + 0x25 * EACH; // top bit set where byte > 'Z'
    let upper = at_least_a & !above_z & (0x80 * EACH);
    x | (upper >> 2)
}

/// The hash of a key's case-folded form: foldhash with a per-process
/// random seed.
fn folded_hash(key: &str) -> u64 {
    static SEED: std::sync::OnceLock<foldhash::fast::RandomState> = std::sync::OnceLock::new();
    let mut h = SEED
        .get_or_init(foldhash::fast::RandomState::default)
        .build_hasher();
    hash_folded(key, &mut h);
    h.finish()
}

/// Ordered, case-insensitive name → value collection (ASP's Contents).
#[derive(Debug, Clone, Default)]
pub struct Contents {
    items: SmallVec<[Item; INLINE]>,
    /// Whether some key is not ASCII: while none is, an ASCII name is
    /// compared byte-wise (it may stay true after the last non-ASCII key
    /// leaves).
    non_ascii: bool,
    /// Folded-key hash → item index, once there are more than
    /// [`LINEAR_MAX`] items.
    index: Option<Box<HashTable<usize>>>,
}

impl Contents {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The position of `name` (any case). A short ASCII name among ASCII
    /// keys (the usual case) is one word compared per item, inline; the
    /// rest is out of line.
    #[inline]
    pub(super) fn position(&self, name: &str) -> Option<usize> {
        let b = name.as_bytes();
        if b.len() <= Tag::EXACT && self.index.is_none() && !self.non_ascii {
            let head = ascii::head_word(b);
            if ascii::is_ascii_from(b, head) {
                let tag = Tag::from_head(head, b.len());
                return self.items.iter().position(|it| it.tag == tag);
            }
        }
        self.position_slow(name)
    }

    /// [`Self::position`] for a name longer than a tag holds or not ASCII,
    /// or once the collection has an index or a non-ASCII key.
    #[inline(never)]
    fn position_slow(&self, name: &str) -> Option<usize> {
        if self.index.is_none() && !self.non_ascii {
            let name = name.as_bytes();
            if let Some(tag) = Tag::of(name) {
                // A long ASCII name: equal tags, then the whole keys.
                return self
                    .items
                    .iter()
                    .position(|it| it.tag == tag && same_ascii_key(it.key.as_bytes(), name));
            }
        }
        self.position_by_key(name)
    }

    /// [`Self::position`] through the index, or by comparing whole keys
    /// (a non-ASCII key on either side).
    fn position_by_key(&self, name: &str) -> Option<usize> {
        let items = &self.items;
        match &self.index {
            Some(index) => index
                .find(folded_hash(name), |&i| same_key(&items[i].key, name))
                .copied(),
            None => items.iter().position(|it| same_key(&it.key, name)),
        }
    }

    /// The value stored under `name` (any case).
    pub fn get(&self, name: &str) -> Option<&Variant> {
        self.position(name).map(|i| &self.items[i].value)
    }

    /// Whether `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The index and key (original spelling) of `name` (any case).
    pub fn find(&self, name: &str) -> Option<(usize, &str)> {
        self.position(name).map(|i| (i, &*self.items[i].key))
    }

    /// The key (original spelling) and value at `index` (0-based).
    pub fn get_index(&self, index: usize) -> Option<(&str, &Variant)> {
        self.items.get(index).map(|it| (&*it.key, &it.value))
    }

    /// Stores `value` under `name`: an existing key (any case) keeps its
    /// position and original spelling; a new key goes last. Returns the
    /// replaced item's index and old value, or `None` if the key is new.
    pub fn set(&mut self, name: &str, value: Variant) -> Option<(usize, Variant)> {
        if let Some(i) = self.position(name) {
            Some((i, std::mem::replace(&mut self.items[i].value, value)))
        } else {
            self.insert(self.items.len(), name.into(), value);
            None
        }
    }

    /// Appends `name`, which the caller has just looked up and not found.
    pub(crate) fn append_new(&mut self, name: &str, value: Variant) {
        debug_assert!(!self.contains(name));
        self.insert(self.items.len(), name.into(), value);
    }

    /// Replaces the value at `index`, returning the old one; `None` if there
    /// is no such index.
    pub fn set_index(&mut self, index: usize, value: Variant) -> Option<Variant> {
        self.items
            .get_mut(index)
            .map(|it| std::mem::replace(&mut it.value, value))
    }

    /// Removes `name`; later items move down one index. Returns the item's
    /// index, key and value.
    pub fn remove(&mut self, name: &str) -> Option<(usize, Box<str>, Variant)> {
        let i = self.position(name)?;
        self.remove_index(i).map(|(k, v)| (i, k, v))
    }

    /// Removes the item at `index`; later items move down one index.
    pub fn remove_index(&mut self, index: usize) -> Option<(Box<str>, Variant)> {
        if index >= self.items.len() {
            return None;
        }
        if let Some(table) = &mut self.index {
            let hash = folded_hash(&self.items[index].key);
            if let Ok(slot) = table.find_entry(hash, |&i| i == index) {
                slot.remove();
            }
            for i in table.iter_mut().filter(|i| **i > index) {
                *i -= 1;
            }
        }
        let item = self.items.remove(index);
        Some((item.key.as_str().into(), item.value))
    }

    /// Puts an item back at `index` (undoing a removal); later items move up.
    pub fn restore(&mut self, index: usize, key: Box<str>, value: Variant) {
        self.insert(index.min(self.items.len()), key.as_ref().into(), value);
    }

    /// Inserts a key not present at `index` (at most the length).
    fn insert(&mut self, index: usize, key: EcoString, value: Variant) {
        // A non-ASCII key's tag is never compared (the scan then compares
        // keys in full).
        let tag = Tag::of(key.as_bytes()).unwrap_or_else(|| {
            self.non_ascii = true;
            Tag(0)
        });
        let hash = self.index.as_ref().map(|_| folded_hash(&key));
        self.items.insert(index, Item { tag, key, value });
        match (&mut self.index, hash) {
            (Some(table), Some(hash)) => {
                for i in table.iter_mut().filter(|i| **i >= index) {
                    *i += 1;
                }
                let items = &self.items;
                table.insert_unique(hash, index, |&i| folded_hash(&items[i].key));
            }
            _ if self.items.len() > LINEAR_MAX => self.build_index(),
            _ => {}
        }
    }

    /// Builds the hash index over every item.
    fn build_index(&mut self) {
        let items = &self.items;
        let mut table = HashTable::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            table.insert_unique(folded_hash(&it.key), i, |&j| folded_hash(&items[j].key));
        }
        self.index = Some(Box::new(table));
    }

    /// Removes the last item (undoing an append).
    pub fn pop(&mut self) {
        if let Some(last) = self.items.len().checked_sub(1) {
            self.remove_index(last);
        }
    }

    /// Removes every item.
    pub fn clear(&mut self) {
        *self = Contents::default();
    }

    /// Items in order: (key, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Variant)> {
        self.items.iter().map(|it| (&*it.key, &it.value))
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

    /// Every operation gives the same answers with and without the hash
    /// index (more than `LINEAR_MAX` items), checked against a plain model.
    #[test]
    fn indexed_and_linear_agree_with_a_model() {
        let mut c = Contents::default();
        let mut model: Vec<(String, i32)> = Vec::new();
        let check = |c: &Contents, model: &[(String, i32)]| {
            assert_eq!(c.len(), model.len());
            for (i, (k, v)) in model.iter().enumerate() {
                assert_eq!(c.get_index(i), Some((k.as_str(), &Variant::I4(*v))));
                assert_eq!(c.find(&k.to_uppercase()), Some((i, k.as_str())));
            }
            assert!(!c.contains("absent"));
        };
        for round in 0..3 {
            for i in 0..20 {
                let k = format!("Item{i}");
                c.set(&k, Variant::I4(i + round));
                match model.iter_mut().find(|(m, _)| *m == k) {
                    Some(slot) => slot.1 = i + round,
                    None => model.push((k, i + round)),
                }
                check(&c, &model);
            }
            // Remove from the middle, the front and the end; put one back.
            let (i, k, v) = c.remove("ITEM7").unwrap();
            assert_eq!(
                (i, &*k),
                (model.iter().position(|m| m.0 == "Item7").unwrap(), "Item7")
            );
            let removed = model.remove(i);
            check(&c, &model);
            c.remove_index(0);
            model.remove(0);
            c.pop();
            model.pop();
            check(&c, &model);
            c.restore(i, k, v);
            model.insert(i, removed);
            check(&c, &model);
            if round == 1 {
                c.clear();
                model.clear();
                check(&c, &model);
            }
        }
        // A non-ASCII key in an indexed collection: KELVIN SIGN finds "k".
        c.set("k", s("kelvin"));
        assert_eq!(c.get("\u{212A}"), Some(&s("kelvin")));
        c.set("Été", s("summer"));
        assert_eq!(c.get("éTÉ"), Some(&s("summer")));
    }

    #[test]
    fn words_lowercase_like_bytes() {
        let all: Vec<u8> = (0..0x80).collect();
        for chunk in all.chunks(8) {
            let x = u64::from_le_bytes(chunk.try_into().unwrap());
            let want: Vec<u8> = chunk.iter().map(u8::to_ascii_lowercase).collect();
            assert_eq!(lower_ascii(x).to_le_bytes(), want[..]);
        }
        assert!(same_ascii_key(b"SessionVariable1", b"sessionvariABLE1"));
        assert!(!same_ascii_key(b"SessionVariable1", b"sessionvariABLE2"));
        assert!(!same_ascii_key(b"Session[ariable", b"Session{ariable"));
        // Tags saturate at 255 bytes: lengths 256 and 264 share one.
        let (long, longer) = ("k".repeat(256), "K".repeat(264));
        assert_eq!(Tag::of(long.as_bytes()), Tag::of(longer.as_bytes()));
        assert!(!same_ascii_key(long.as_bytes(), longer.as_bytes()));
        let mut c = Contents::default();
        c.set(&long, Variant::I4(1));
        assert_eq!(c.get(&longer), None);
        assert_eq!(c.get(&long.to_uppercase()), Some(&Variant::I4(1)));
        assert_eq!(Tag::of(b"CoUnT"), Tag::of(b"count"));
        assert_eq!(
            Tag::of("Straße".as_bytes()),
            None,
            "only ASCII keys have tags"
        );
        assert_ne!(Tag::of(b"count"), Tag::of(b"count\0"), "the length counts");
        assert_ne!(Tag::of(b"counter"), Tag::of(b"countes"));
        assert_eq!(
            Tag::of(b"LongerKey1"),
            Tag::of(b"longerkey2"),
            "only a filter"
        );
        // Keys whose tags match are told apart by the whole key.
        let mut c = Contents::default();
        c.set("LongerKey1", Variant::I4(1));
        c.set("LongerKey2", Variant::I4(2));
        assert_eq!(c.get("longerkey2"), Some(&Variant::I4(2)));
        assert_eq!(c.get("LONGERKEY1"), Some(&Variant::I4(1)));
        assert_eq!(c.get("longerkey3"), None);
    }

    /// A stored non-ASCII key is found by an ASCII name in a small
    /// collection too (the byte-wise fast path must not skip it).
    #[test]
    fn ascii_name_finds_a_non_ascii_key() {
        let mut c = Contents::default();
        c.set("\u{212A}ey", s("v"));
        assert_eq!(c.get("KEY"), Some(&s("v")));
        assert_eq!(c.find("key").map(|f| f.1), Some("\u{212A}ey"));
    }
}
