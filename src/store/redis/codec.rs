//! A session as the fields of its Redis hash, what a unit of work loaded,
//! and what it changed.
//!
//! Fields: one per Contents item, named by its key lowercased the way
//! Contents compares keys, its value in the [`wire`](crate::store::wire)
//! form; and the session's own fields, named by ASCII capitals (which no
//! lowercased key holds): `M` MessagePack `[created ms, Timeout minutes,
//! lcid, codepage, [the Contents keys in order, as spelled]]`, `E` the
//! deadline (clock ms), `L` the lock and `P` its previous holder's mark
//! (see `scripts/lib/lock.lua`), `K` the masked session ID (only with an
//! `id_secret`). Capitalised fields this
//! version does not know are left alone. Everything read back is checked
//! (sizes, types, the application's limits): bad data is an error, never a
//! panic.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::state::{Journal, Limits, SessionData};
use crate::store::wire::{self, put_array_len, put_str, put_uint, Reader};

/// The fields of one hash, as a script returned them.
pub(super) type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// The meta field.
pub(super) const META: &[u8] = b"M";
/// The deadline field.
pub(super) const DEADLINE: &[u8] = b"E";
/// The lock field.
pub(super) const LOCK: &[u8] = b"L";
/// The masked ID field.
pub(super) const MASKED_ID: &[u8] = b"K";

/// Writes the field of a Contents item into `out` (cleared first): its key
/// lowercased per character (so the same field ⇒ `same_key`; keys
/// `same_key` calls one may differ in lowercase, "σ" and "ς", but a
/// session holds one of them). Kept as earlier versions name fields, so
/// sessions they stored read back.
fn put_item_field(out: &mut Vec<u8>, key: &str) {
    out.clear();
    if key.is_ascii() {
        out.extend(key.bytes().map(|b| b.to_ascii_lowercase()));
    } else {
        let mut utf8 = [0u8; 4];
        for c in key.chars().flat_map(char::to_lowercase) {
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
}

/// The field of a Contents item (see [`put_item_field`]).
#[cfg(test)]
fn item_field(key: &str) -> Vec<u8> {
    let mut field = Vec::new();
    put_item_field(&mut field, key);
    field
}

/// Whether `name` is one of the session's own fields (not an item).
fn is_own(name: &[u8]) -> bool {
    name.first().is_some_and(u8::is_ascii_uppercase)
}

/// What a unit of work loaded (or last saved), to tell what it changed.
#[derive(Debug, Default, Clone)]
pub(super) struct Snapshot {
    /// Item field → its value's bytes.
    items: Items,
    /// The `M` field's bytes.
    meta: Vec<u8>,
}

/// Item field → value bytes, under a seeded fast hash (fields are short).
type Items = HashMap<Vec<u8>, Vec<u8>, foldhash::fast::RandomState>;

/// Field writes and deletions that turn one snapshot into another.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// Fields to set: (name, value).
    pub(super) set: Fields,
    /// Fields to delete.
    pub(super) del: Vec<Vec<u8>>,
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    wire::from_store(wire::corrupt(what), "Redis")
}

/// A decimal number field: 1 to 19 digits, nothing else (as the scripts
/// read `E`: see `deadline` in `scripts/lib/claim.lua`).
pub(super) fn number(bytes: &[u8], what: &str) -> Result<u64> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|s| s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| corrupt(format!("field {what} is not a number")))
}

/// The largest encoded value accepted for a value limit of `max_value_bytes`
/// (the wire form tags every element, so it is larger than the payload).
fn max_encoded(limits: &Limits) -> usize {
    limits
        .max_value_bytes
        .saturating_mul(4)
        .saturating_add(1 << 16)
}

/// A session decoded from its fields.
pub(super) struct Decoded {
    pub(super) data: SessionData,
    pub(super) created_ms: u64,
    /// The deadline (`E`).
    pub(super) deadline_ms: u64,
    /// The masked ID field, if present.
    pub(super) masked_id: Option<Vec<u8>>,
    pub(super) snapshot: Snapshot,
}

/// Whether a session's `L` field holds a lease (`token:expiry`, the expiry
/// 1 to 19 digits after the first `:`, as the scripts' `lock_expiry` reads
/// it), which may be a lock still held: only the server's clock, which
/// every lease is judged by, can tell. Free, absent and garbled are not.
pub(super) fn has_lease(fields: &Fields) -> bool {
    let Some((_, l)) = fields.iter().find(|(n, _)| n == LOCK) else {
        return false;
    };
    let Some(colon) = l.iter().position(|&b| b == b':') else {
        return false;
    };
    let digits = &l[colon + 1..];
    (1..=19).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
}

/// The head of `M` (`[created ms, Timeout, lcid, codepage, [keys in
/// order]]`): the four numbers and how many keys follow.
fn meta_head(r: &mut Reader) -> Result<(u64, u32, u32, u32, usize)> {
    if r.array()? != 5 {
        return Err(corrupt("not an array of 5"));
    }
    Ok((r.int()?, r.int()?, r.int()?, r.int()?, r.array()?))
}

/// Decodes a session's fields, checking them against `limits`; `None` if
/// they hold no session (nothing, or the mark a removal leaves).
pub(super) fn decode_session(fields: Fields, limits: &Limits) -> Result<Option<Decoded>> {
    if fields.len() > limits.max_items.saturating_add(8) {
        return Err(wire::over_limits(format!("{} fields", fields.len())));
    }
    let (mut meta, mut deadline, mut masked_id) = (None, None, None);
    let mut items = Items::with_capacity_and_hasher(fields.len(), Default::default());
    for (name, value) in fields {
        match name.as_slice() {
            META => meta = Some(value),
            DEADLINE => deadline = Some(number(&value, "E")?),
            MASKED_ID => masked_id = Some(value),
            n if is_own(n) => {} // L, or a field a later version added
            _ => {
                items.insert(name, value);
            }
        }
    }
    let Some(meta) = meta else {
        return Ok(None);
    };
    let max_meta = limits
        .max_items
        .saturating_mul(limits.max_key_bytes.saturating_add(5))
        .saturating_add(64);
    // Read straight into the session: M's head, then its keys one by one.
    if meta.len() > max_meta {
        return Err(wire::over_limits(format!(
            "field M of {} bytes",
            meta.len()
        )));
    }
    let in_m = |e: Error| corrupt(format!("field M: {}", e.detail()));
    let r = &mut Reader::new(&meta, max_meta).map_err(in_m)?;
    let (created_ms, timeout, lcid, codepage, n) = meta_head(r).map_err(in_m)?;
    let deadline_ms = deadline.ok_or_else(|| corrupt("field E is missing"))?;
    if n != items.len() {
        return Err(corrupt("the key order does not match the items"));
    }
    let bad = |e: Error| corrupt(e.detail());
    let mut data = wire::session_data(timeout, lcid, codepage, limits).map_err(bad)?;
    let max_len = max_encoded(limits);
    let mut field = Vec::new();
    for _ in 0..n {
        let key = r.str().map_err(in_m)?;
        put_item_field(&mut field, key);
        let bytes = items
            .get(field.as_slice())
            .ok_or_else(|| corrupt(format!("no value for key {key:?}")))?;
        if bytes.len() > max_len {
            return Err(wire::over_limits(format!(
                "a value of {} bytes stored",
                bytes.len()
            )));
        }
        let value = wire::decode_value(bytes, max_len).map_err(|e| wire::from_store(e, "Redis"))?;
        data.set_value(key, value, limits, &mut Journal::default())
            .map_err(|e| wire::from_store(wire::refused_item(key, e), "Redis"))?;
    }
    r.end().map_err(in_m)?;
    if data.contents().len() != n {
        return Err(corrupt("the key order repeats a key"));
    }
    Ok(Some(Decoded {
        data,
        created_ms,
        deadline_ms,
        masked_id,
        snapshot: Snapshot { items, meta },
    }))
}

/// Every field of a new session but `E` and `L` (all of it is "changed"),
/// and the snapshot it leaves.
pub(super) fn encode_session(
    data: &SessionData,
    created_ms: u64,
    masked_id: Option<&[u8]>,
) -> Result<(Fields, Snapshot)> {
    let mut fields = changes(&Snapshot::default(), data, created_ms)?.set;
    let mut snapshot = Snapshot::default();
    for (name, value) in &fields {
        if name == META {
            snapshot.meta.clone_from(value);
        } else {
            snapshot.items.insert(name.clone(), value.clone());
        }
    }
    if let Some(k) = masked_id {
        fields.push((MASKED_ID.to_vec(), k.to_vec()));
    }
    Ok((fields, snapshot))
}

/// What turns `before` into `data` (created at `created_ms`).
pub(super) fn changes(before: &Snapshot, data: &SessionData, created_ms: u64) -> Result<Changes> {
    let contents = data.contents();
    let mut out = Changes::default();
    // M: [created ms, Timeout, lcid, codepage, [keys in order]].
    let mut meta =
        Vec::with_capacity(24 + contents.iter().map(|(k, _)| k.len() + 1).sum::<usize>());
    put_array_len(&mut meta, 5)?;
    for n in [
        created_ms,
        data.timeout_minutes().into(),
        data.lcid().into(),
        data.codepage().into(),
    ] {
        put_uint(&mut meta, n);
    }
    put_array_len(&mut meta, contents.len())?;
    let (mut field, mut bytes) = (Vec::new(), Vec::new());
    for (key, value) in contents.iter() {
        put_str(&mut meta, key)?;
        put_item_field(&mut field, key);
        bytes.clear();
        wire::put_value(&mut bytes, value)?;
        if before.items.get(field.as_slice()) != Some(&bytes) {
            out.set.push((field.clone(), bytes.clone()));
        }
    }
    // A field is a key lowercased: Contents finds its key by it, and the
    // field stays if it is that key's field now. A key may have been
    // removed and set again spelt otherwise in a way that lowercases
    // otherwise (final and medial sigma, "ΟΔΟΣ" then "οδος": one key, two
    // fields), and the old field must go.
    for f in before.items.keys() {
        let found = std::str::from_utf8(f).ok().and_then(|k| contents.find(k));
        if let Some((_, key)) = found {
            put_item_field(&mut field, key);
            if field == *f {
                continue;
            }
        }
        out.del.push(f.clone());
    }
    if meta != before.meta {
        out.set.push((META.to_vec(), meta));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variant::{SafeArray, Variant};

    const LIMITS: Limits = Limits {
        max_timeout_minutes: 525_600,
        max_items: 16,
        max_value_bytes: 1024,
        max_key_bytes: 32,
        max_session_bytes: 1 << 20,
    };

    fn sample() -> SessionData {
        let mut d = SessionData::new(20, 1036, 932);
        let j = &mut Journal::default();
        d.set_value("Name", Variant::bstr("Zoë"), &LIMITS, j)
            .unwrap();
        d.set_value("count", Variant::I4(3), &LIMITS, j).unwrap();
        let arr = SafeArray::from(vec![Variant::I2(1), Variant::bstr("x")]);
        d.set_value("ΣList", Variant::Array(Box::new(arr)), &LIMITS, j)
            .unwrap();
        d
    }

    /// A stored session's fields: `encode_session`'s, plus E and L.
    fn stored(d: &SessionData, masked: Option<&[u8]>) -> (Fields, Snapshot) {
        let (mut f, snap) = encode_session(d, 42, masked).unwrap();
        f.push((DEADLINE.to_vec(), b"1000".to_vec()));
        f.push((LOCK.to_vec(), b"77".to_vec()));
        (f, snap)
    }

    fn round_trip(fields: Fields) -> Decoded {
        decode_session(fields, &LIMITS).unwrap().expect("a session")
    }

    #[test]
    fn sessions_round_trip_and_unchanged_sessions_write_nothing() {
        let d = sample();
        let (fields, snap) = stored(&d, Some(&[7; 16]));
        assert!(fields.iter().all(|(n, _)| !n.starts_with(b"i:")));
        let back = round_trip(fields);
        assert_eq!((back.created_ms, back.deadline_ms), (42, 1000));
        assert_eq!(back.masked_id.as_deref(), Some(&[7u8; 16][..]));
        let a: Vec<_> = d.contents().iter().collect();
        let b: Vec<_> = back.data.contents().iter().collect();
        assert_eq!(a, b);
        assert_eq!(
            (
                back.data.timeout_minutes(),
                back.data.lcid(),
                back.data.codepage()
            ),
            (20, 1036, 932)
        );
        let c = changes(&back.snapshot, &back.data, 42).unwrap();
        assert!(c.set.is_empty() && c.del.is_empty(), "{c:?}");
        let c = changes(&snap, &d, 42).unwrap();
        assert!(c.set.is_empty() && c.del.is_empty());
        // M is what earlier releases wrote with rmp-serde, byte for byte.
        let c = changes(&Snapshot::default(), &d, 42).unwrap();
        let keys: Vec<&str> = d.contents().iter().map(|(k, _)| k).collect();
        let earlier = rmp_serde::to_vec(&(42u64, 20u32, 1036u32, 932u32, keys)).unwrap();
        assert_eq!(c.set.last(), Some(&(META.to_vec(), earlier)));
    }

    #[test]
    fn only_what_changed_is_written() {
        let mut d = round_trip(stored(&sample(), None).0);
        let j = &mut Journal::default();
        d.data
            .set_value("COUNT", Variant::I4(4), &LIMITS, j)
            .unwrap();
        let c = changes(&d.snapshot, &d.data, 42).unwrap();
        assert_eq!(c.set.len(), 1);
        assert_eq!(c.set[0].0, b"count");
        assert!(c.del.is_empty());
        // Removing shifts the order: the item goes, the meta is rewritten.
        d.data.remove_value("name", j);
        d.data.set_timeout_minutes(5, &LIMITS, j).unwrap();
        let c = changes(&d.snapshot, &d.data, 42).unwrap();
        assert_eq!(c.del, vec![b"name".to_vec()]);
        let names: Vec<_> = c.set.iter().map(|f| f.0.clone()).collect();
        assert_eq!(names, vec![b"count".to_vec(), META.to_vec()]);
        // Only a key no spelling of which is left goes.
        d.data
            .set_value("NAME", Variant::I4(1), &LIMITS, j)
            .unwrap();
        assert!(changes(&d.snapshot, &d.data, 42).unwrap().del.is_empty());
        assert_eq!(item_field("ΣLIST"), item_field("σlist"));
        assert!(!is_own(&item_field("Mixed Case")));
    }

    /// A key removed and set again in a spelling whose lowercase differs
    /// ("ΣLIST", then "ςlist": final sigma, one key) gets its new field,
    /// and its old one goes: a stale field would make the session's
    /// fields outnumber its keys, and it would not read back.
    #[test]
    fn a_key_spelt_anew_leaves_no_stale_field() {
        let mut d = round_trip(stored(&sample(), None).0);
        let j = &mut Journal::default();
        assert!(d.data.remove_value("σlist", j));
        d.data
            .set_value("ςlist", Variant::I4(1), &LIMITS, j)
            .unwrap();
        let c = changes(&d.snapshot, &d.data, 42).unwrap();
        assert_eq!(c.del, vec![item_field("ΣList")]);
        let mut fields = stored(&sample(), None).0;
        fields.retain(|(n, _)| !c.del.contains(n));
        for (n, v) in c.set {
            match fields.iter_mut().find(|f| f.0 == n) {
                Some(f) => f.1 = v,
                None => fields.push((n, v)),
            }
        }
        let back = round_trip(fields);
        assert_eq!(back.data.contents().get("ΣLIST"), Some(&Variant::I4(1)));
    }

    #[test]
    fn locks_read_from_l() {
        let with = |l: &[u8]| vec![(LOCK.to_vec(), l.to_vec())];
        assert!(has_lease(&with(b"12:345")));
        assert!(!has_lease(&with(b"12")));
        assert!(!has_lease(&with(b"12:x")));
        for garbled in [
            &b"12:"[..],
            b"12:345x",
            b"12: 345",
            b"12:+345",
            b"12:1e20",
            b"12:0x10",
            b"12:34:5",
            b"12:12345678901234567890",
        ] {
            assert!(!has_lease(&with(garbled)), "{garbled:?}");
        }
        assert!(has_lease(&with(b":9999999999999999999")));
        assert!(!has_lease(&Vec::new()));
    }

    #[test]
    fn bad_fields_are_errors_and_marks_are_no_session() {
        let (good, _) = stored(&sample(), None);
        let without =
            |name: &[u8]| -> Fields { good.iter().filter(|f| f.0 != name).cloned().collect() };
        let with = |name: &[u8], value: &[u8]| -> Fields {
            let mut f = without(name);
            f.push((name.to_vec(), value.to_vec()));
            f
        };
        let meta =
            |t: u32, keys: &[&str]| rmp_serde::to_vec(&(1u64, t, 1036u32, 932u32, keys)).unwrap();
        let cases: Vec<Fields> = vec![
            without(b"E"),
            without(b"count"),
            with(b"E", b"x"),
            with(b"E", b"+5"),
            with(b"E", b"-5"),
            with(b"E", b""),
            with(b"E", b"10000000000000000000"),
            with(b"M", b"\xc1"),
            with(b"M", &meta(0, &["Name", "count", "ΣList"])),
            with(b"M", &meta(20, &["Name", "name", "count"])),
            with(b"M", &meta(20, &["Name", "count"])),
            with(b"count", b"\xc0\xc0"),
            with(b"count", &vec![0x91; 5000]),
        ];
        for (i, f) in cases.into_iter().enumerate() {
            let e = decode_session(f, &LIMITS).err().expect("an error");
            assert_eq!(e.code(), crate::error::E_STORE_UNAVAILABLE, "case {i}");
        }
        let many: Fields = (0..100)
            .map(|i| (format!("{i}").into_bytes(), vec![0xc0]))
            .collect();
        assert!(decode_session(many, &LIMITS).is_err());
        // A later version's own field is left alone; no M is no session.
        assert!(decode_session(with(b"Zfuture", b"1"), &LIMITS)
            .unwrap()
            .is_some());
        assert!(decode_session(without(b"M"), &LIMITS).unwrap().is_none());
        assert!(decode_session(Vec::new(), &LIMITS).unwrap().is_none());
    }
}
