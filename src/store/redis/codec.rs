//! A session as the fields of its Redis hash, what a unit of work loaded,
//! and what it changed.
//!
//! Fields: `c` created ms, `t` Timeout minutes, `a` absolute-lifetime cap ms
//! (0: none), `p` MessagePack `[lcid, codepage]`, `o` MessagePack array of
//! the Contents keys in order (original spelling), `k` the masked session ID
//! (only with an `id_secret`), and `i:<key lowercased>` one value each in
//! the [`wire`](crate::store::wire) form. Everything read back is checked
//! (sizes, types, the application's limits): bad data is an error, never a
//! panic.

use serde::de::DeserializeOwned;
use std::collections::HashMap;

use crate::error::{self, Error, Result};
use crate::state::{Journal, Limits, SessionData};
use crate::store::wire::{self, encode};

/// The fields of one hash, as a script returned them.
pub(super) type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// The key of a Contents item's field: `i:` and the key lowercased the way
/// Contents compares keys (per character, so `same_key` ⇔ same field).
pub(super) fn item_field(key: &str) -> Vec<u8> {
    let mut f = Vec::with_capacity(key.len() + 2);
    f.extend_from_slice(b"i:");
    if key.is_ascii() {
        f.extend(key.bytes().map(|b| b.to_ascii_lowercase()));
    } else {
        let folded: String = key.chars().flat_map(char::to_lowercase).collect();
        f.extend_from_slice(folded.as_bytes());
    }
    f
}

/// What a unit of work loaded (or last saved), to tell what it changed.
#[derive(Debug, Default, Clone)]
pub(super) struct Snapshot {
    /// Item field → its value's bytes.
    items: HashMap<Vec<u8>, Vec<u8>>,
    /// The keys in order, as spelled.
    order: Vec<String>,
    timeout: u32,
    props: (u32, u32),
}

/// Field writes and deletions that turn one snapshot into another.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// Fields to set: (name, value).
    pub(super) set: Fields,
    /// Fields to delete.
    pub(super) del: Vec<Vec<u8>>,
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::new(
        error::E_STORE_UNAVAILABLE,
        format!("Redis returned unreadable session data: {what}"),
    )
}

/// Decodes field `what`: exactly its bytes, at most `max_len` of them.
fn decode<T: DeserializeOwned>(bytes: &[u8], max_len: usize, what: &str) -> Result<T> {
    wire::decode(bytes, max_len).map_err(|e| corrupt(format!("field {what}: {}", e.detail())))
}

fn number(bytes: &[u8], what: &str) -> Result<u64> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|s| s.len() <= 20)
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
    /// The masked ID field, if present.
    pub(super) masked_id: Option<Vec<u8>>,
    pub(super) snapshot: Snapshot,
}

/// Decodes a session's fields, checking them against `limits`.
pub(super) fn decode_session(fields: Fields, limits: &Limits) -> Result<Decoded> {
    if fields.len() > limits.max_items.saturating_add(8) {
        return Err(corrupt("too many fields"));
    }
    let (mut created, mut timeout, mut props, mut order, mut masked_id) =
        (None, None, None, None, None);
    let mut items: HashMap<Vec<u8>, Vec<u8>> = HashMap::with_capacity(fields.len());
    for (name, value) in fields {
        match name.as_slice() {
            b"c" => created = Some(number(&value, "c")?),
            b"t" => timeout = Some(number(&value, "t")?),
            b"a" => {
                number(&value, "a")?;
            }
            b"p" => props = Some(decode::<(u32, u32)>(&value, 32, "p")?),
            b"o" => {
                let max = limits
                    .max_items
                    .saturating_mul(limits.max_key_bytes.saturating_add(5))
                    .saturating_add(16);
                order = Some(decode::<Vec<String>>(&value, max, "o")?);
            }
            b"k" => masked_id = Some(value),
            n if n.starts_with(b"i:") => {
                items.insert(name, value);
            }
            _ => {} // a field a later version added
        }
    }
    let missing = |f: &str| corrupt(format!("field {f} is missing"));
    let created_ms = created.ok_or_else(|| missing("c"))?;
    let timeout = timeout.ok_or_else(|| missing("t"))?;
    let (lcid, codepage) = props.ok_or_else(|| missing("p"))?;
    let order = order.ok_or_else(|| missing("o"))?;
    if order.len() != items.len() {
        return Err(corrupt("the key order does not match the items"));
    }
    let mut data = SessionData::new(1, 0, 0);
    let journal = &mut Journal::default();
    data.set_timeout_minutes(timeout.min(u32::MAX.into()) as i64, limits, journal)
        .and_then(|()| data.set_lcid(lcid, journal))
        .and_then(|()| data.set_codepage(codepage, journal))
        .map_err(|e| corrupt(e.detail().to_owned()))?;
    let max_len = max_encoded(limits);
    for key in &order {
        let bytes = items
            .get(&item_field(key))
            .ok_or_else(|| corrupt(format!("no value for key {key:?}")))?;
        let value = wire::decode_value(bytes, max_len)?;
        data.set_value(key, value, limits, journal)
            .map_err(|e| corrupt(e.detail().to_owned()))?;
    }
    if data.contents().len() != order.len() {
        return Err(corrupt("the key order repeats a key"));
    }
    Ok(Decoded {
        data,
        created_ms,
        masked_id,
        snapshot: Snapshot {
            items,
            order,
            timeout: timeout as u32,
            props: (lcid, codepage),
        },
    })
}

/// Every field of a new session (all of it is "changed"), and the snapshot
/// it leaves. `absolute_ms` is the lifetime cap (0: none).
pub(super) fn encode_session(
    data: &SessionData,
    created_ms: u64,
    absolute_ms: u64,
    masked_id: Option<&[u8]>,
) -> Result<(Fields, Snapshot)> {
    let (changes, snapshot) = changes(&Snapshot::default(), data, true)?;
    let mut fields = changes.set;
    fields.push((b"c".to_vec(), created_ms.to_string().into_bytes()));
    fields.push((b"a".to_vec(), absolute_ms.to_string().into_bytes()));
    if let Some(k) = masked_id {
        fields.push((b"k".to_vec(), k.to_vec()));
    }
    Ok((fields, snapshot))
}

/// What turns `before` into `data` (`all`: every property field, as for a
/// new session), and the snapshot after those changes are saved.
pub(super) fn changes(
    before: &Snapshot,
    data: &SessionData,
    all: bool,
) -> Result<(Changes, Snapshot)> {
    let mut out = Changes::default();
    let mut after = Snapshot {
        items: HashMap::with_capacity(data.contents().len()),
        order: Vec::with_capacity(data.contents().len()),
        timeout: data.timeout_minutes(),
        props: (data.lcid(), data.codepage()),
    };
    for (key, value) in data.contents().iter() {
        let field = item_field(key);
        let bytes = wire::encode_value(value)?;
        if before.items.get(&field) != Some(&bytes) {
            out.set.push((field.clone(), bytes.clone()));
        }
        after.items.insert(field, bytes);
        after.order.push(key.to_owned());
    }
    out.del = before
        .items
        .keys()
        .filter(|f| !after.items.contains_key(*f))
        .cloned()
        .collect();
    if all || after.order != before.order {
        out.set.push((b"o".to_vec(), encode(&after.order)?));
    }
    if all || after.timeout != before.timeout {
        out.set
            .push((b"t".to_vec(), after.timeout.to_string().into_bytes()));
    }
    if all || after.props != before.props {
        out.set.push((b"p".to_vec(), encode(&after.props)?));
    }
    Ok((out, after))
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

    fn round_trip(fields: Fields) -> Decoded {
        decode_session(fields, &LIMITS).unwrap()
    }

    #[test]
    fn sessions_round_trip_and_unchanged_sessions_write_nothing() {
        let d = sample();
        let (fields, snap) = encode_session(&d, 42, 0, Some(&[7; 16])).unwrap();
        let back = round_trip(fields);
        assert_eq!(back.created_ms, 42);
        assert_eq!(back.masked_id.as_deref(), Some(&[7u8; 16][..]));
        let a: Vec<_> = d.contents().iter().collect();
        let b: Vec<_> = back.data.contents().iter().collect();
        assert_eq!(a, b);
        let (c, _) = changes(&back.snapshot, &back.data, false).unwrap();
        assert!(c.set.is_empty() && c.del.is_empty(), "{c:?}");
        let (c, _) = changes(&snap, &d, false).unwrap();
        assert!(c.set.is_empty() && c.del.is_empty());
    }

    #[test]
    fn only_what_changed_is_written() {
        let mut d = round_trip(encode_session(&sample(), 1, 0, None).unwrap().0);
        let j = &mut Journal::default();
        d.data
            .set_value("COUNT", Variant::I4(4), &LIMITS, j)
            .unwrap();
        let (c, after) = changes(&d.snapshot, &d.data, false).unwrap();
        assert_eq!(c.set.len(), 1);
        assert_eq!(c.set[0].0, b"i:count");
        assert!(c.del.is_empty());
        // Removing shifts the order: the item goes, the order is rewritten.
        d.data.remove_value("name", j);
        d.data.set_timeout_minutes(5, &LIMITS, j).unwrap();
        let (c, _) = changes(&after, &d.data, false).unwrap();
        assert_eq!(c.del, vec![b"i:name".to_vec()]);
        let names: Vec<_> = c.set.iter().map(|f| f.0.clone()).collect();
        assert_eq!(names, vec![b"o".to_vec(), b"t".to_vec()]);
        assert_eq!(item_field("ΣLIST"), item_field("σlist"));
    }

    #[test]
    fn bad_fields_are_errors() {
        let (good, _) = encode_session(&sample(), 1, 0, None).unwrap();
        let without =
            |name: &[u8]| -> Fields { good.iter().filter(|f| f.0 != name).cloned().collect() };
        let with = |name: &[u8], value: &[u8]| -> Fields {
            let mut f = without(name);
            f.push((name.to_vec(), value.to_vec()));
            f
        };
        let cases: Vec<Fields> = vec![
            without(b"c"),
            without(b"o"),
            without(b"i:count"),
            with(b"c", b"x"),
            with(b"t", b"0"),
            with(b"t", b"99999999999999999999999"),
            with(b"p", b"\x92\xcd\x12\x34"),
            with(b"p", &rmp_serde::to_vec(&(0xABCDu32, 65001u32)).unwrap()),
            with(b"o", b"\xc1"),
            with(b"o", &rmp_serde::to_vec(&["Name", "name", "x"]).unwrap()),
            with(b"i:count", b"\xc0\xc0"),
            with(b"i:count", &vec![0x91; 5000]),
        ];
        for (i, f) in cases.into_iter().enumerate() {
            let e = decode_session(f, &LIMITS).err().expect("an error");
            assert_eq!(e.code(), error::E_STORE_UNAVAILABLE, "case {i}");
        }
        let many: Fields = (0..100)
            .map(|i| (format!("i:{i}").into_bytes(), vec![0xc0]))
            .collect();
        assert!(decode_session(many, &LIMITS).is_err());
    }
}
