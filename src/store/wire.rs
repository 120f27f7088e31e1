//! The serialised form of a session for stores outside the process:
//! MessagePack (self-describing, standard), versioned, restricted to the
//! VARIANT types. Objects are not serialisable and say so. The decoder
//! rejects truncated, oversized, too deeply nested or type-confused input.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::error::{self, Error, Result};
use crate::state::{Journal, Limits, SessionData};
use crate::variant::{SafeArray, Variant, MAX_ARRAY_DEPTH, VARIANT_FALSE, VARIANT_TRUE};

/// The format version written; readers reject others.
pub const VERSION: u8 = 1;

/// A value as it is written: externally tagged (`{"I4": 5}`), so the bytes
/// say what they hold.
#[derive(Serialize, Deserialize)]
enum Wire {
    Empty,
    Null,
    I2(i16),
    I4(i32),
    R4(f32),
    R8(f64),
    Cy(i64),
    Date(f64),
    Bstr(String),
    Error(i32),
    Bool(bool),
    I1(i8),
    UI1(u8),
    UI2(u16),
    UI4(u32),
    I8(i64),
    UI8(u64),
    Array(Vec<Wire>),
    /// A `VT_BOOL` other than `VARIANT_TRUE`/`VARIANT_FALSE` (canonical ones
    /// are `Bool`, as format version 1 first wrote them).
    BoolShort(i16),
}

/// A whole session as it is written.
#[derive(Serialize, Deserialize)]
struct WireSession {
    /// Format version.
    v: u8,
    /// Created, clock milliseconds.
    c: u64,
    /// Timeout, minutes.
    t: u32,
    /// LCID.
    l: u32,
    /// CodePage.
    p: u32,
    /// Contents, in order: (key, value).
    i: Vec<(String, Wire)>,
}

fn not_serializable() -> Error {
    Error::new(
        error::E_NOT_SERIALIZABLE,
        "objects (VT_UNKNOWN / VT_DISPATCH) cannot leave their process",
    )
}

fn to_wire(v: &Variant) -> Result<Wire> {
    Ok(match v {
        Variant::Empty => Wire::Empty,
        Variant::Null => Wire::Null,
        Variant::I2(x) => Wire::I2(*x),
        Variant::I4(x) => Wire::I4(*x),
        Variant::R4(x) => Wire::R4(*x),
        Variant::R8(x) => Wire::R8(*x),
        Variant::Cy(x) => Wire::Cy(*x),
        Variant::Date(x) => Wire::Date(*x),
        Variant::Bstr(s) => Wire::Bstr(s.to_string()),
        Variant::Error(x) => Wire::Error(*x),
        Variant::Bool(x @ (VARIANT_TRUE | VARIANT_FALSE)) => Wire::Bool(*x == VARIANT_TRUE),
        Variant::Bool(x) => Wire::BoolShort(*x),
        Variant::I1(x) => Wire::I1(*x),
        Variant::UI1(x) => Wire::UI1(*x),
        Variant::UI2(x) => Wire::UI2(*x),
        Variant::UI4(x) => Wire::UI4(*x),
        Variant::I8(x) => Wire::I8(*x),
        Variant::UI8(x) => Wire::UI8(*x),
        Variant::Array(a) => Wire::Array(a.iter().map(to_wire).collect::<Result<_>>()?),
        Variant::Dispatch(_) | Variant::Unknown(_) => return Err(not_serializable()),
    })
}

fn from_wire(w: Wire) -> Variant {
    match w {
        Wire::Empty => Variant::Empty,
        Wire::Null => Variant::Null,
        Wire::I2(x) => Variant::I2(x),
        Wire::I4(x) => Variant::I4(x),
        Wire::R4(x) => Variant::R4(x),
        Wire::R8(x) => Variant::R8(x),
        Wire::Cy(x) => Variant::Cy(x),
        Wire::Date(x) => Variant::Date(x),
        Wire::Bstr(s) => Variant::Bstr(s.into()),
        Wire::Error(x) => Variant::Error(x),
        Wire::Bool(x) => Variant::bool(x),
        Wire::BoolShort(x) => Variant::Bool(x),
        Wire::I1(x) => Variant::I1(x),
        Wire::UI1(x) => Variant::UI1(x),
        Wire::UI2(x) => Variant::UI2(x),
        Wire::UI4(x) => Variant::UI4(x),
        Wire::I8(x) => Variant::I8(x),
        Wire::UI8(x) => Variant::UI8(x),
        Wire::Array(items) => Variant::Array(Box::new(SafeArray::from(
            items.into_iter().map(from_wire).collect::<Vec<_>>(),
        ))),
    }
}

/// MessagePack of `value` (what every serialising store writes).
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    rmp_serde::to_vec(value)
        .map_err(|e| Error::new(error::E_FAIL, format!("cannot serialise the session: {e}")))
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::new(
        error::E_STORE_UNAVAILABLE,
        format!("the store returned unreadable session data: {what}"),
    )
}

/// Decodes exactly `bytes` (no trailing bytes), at most `max_len` of them,
/// nesting at most a few levels past [`MAX_ARRAY_DEPTH`]: the one bounded
/// decoder of every serialising store (`E_STORE_UNAVAILABLE` if bad).
pub(crate) fn decode<'de, T: Deserialize<'de>>(bytes: &[u8], max_len: usize) -> Result<T> {
    if bytes.len() > max_len {
        return Err(corrupt(format!(
            "{} bytes is over the {max_len}-byte limit",
            bytes.len()
        )));
    }
    let mut de = rmp_serde::Deserializer::new(Cursor::new(bytes));
    de.set_max_depth(MAX_ARRAY_DEPTH + 8);
    let value = T::deserialize(&mut de).map_err(corrupt)?;
    if de.position() != bytes.len() as u64 {
        return Err(corrupt("trailing bytes"));
    }
    Ok(value)
}

/// One value's bytes (objects: `E_NOT_SERIALIZABLE`).
pub fn encode_value(v: &Variant) -> Result<Vec<u8>> {
    encode(&to_wire(v)?)
}

/// A value from its bytes.
pub fn decode_value(bytes: &[u8], max_len: usize) -> Result<Variant> {
    let v = from_wire(decode(bytes, max_len)?);
    if v.array_depth() > MAX_ARRAY_DEPTH {
        return Err(corrupt("arrays nested too deeply"));
    }
    Ok(v)
}

/// A whole session's bytes: format version, creation time, properties and
/// Contents in order.
pub fn encode_session(data: &SessionData, created_ms: u64) -> Result<Vec<u8>> {
    let items = data
        .contents()
        .iter()
        .map(|(k, v)| Ok((k.to_owned(), to_wire(v)?)))
        .collect::<Result<_>>()?;
    encode(&WireSession {
        v: VERSION,
        c: created_ms,
        t: data.timeout_minutes(),
        l: data.lcid(),
        p: data.codepage(),
        i: items,
    })
}

/// A whole session from its bytes, checked against `limits` like a
/// session a unit of work builds: (data, creation time).
pub fn decode_session(bytes: &[u8], max_len: usize, limits: &Limits) -> Result<(SessionData, u64)> {
    let w: WireSession = decode(bytes, max_len)?;
    if w.v != VERSION {
        return Err(corrupt(format!(
            "format version {} (this library reads {VERSION})",
            w.v
        )));
    }
    let mut data = SessionData::new(1, 0, 0);
    let journal = &mut Journal::default();
    data.set_timeout_minutes(w.t.into(), limits, journal)
        .and_then(|()| data.set_lcid(w.l, journal))
        .and_then(|()| data.set_codepage(w.p, journal))
        .map_err(|e| corrupt(e.detail().to_owned()))?;
    for (key, value) in w.i {
        let value = from_wire(value);
        if value.array_depth() > MAX_ARRAY_DEPTH {
            return Err(corrupt("arrays nested too deeply"));
        }
        data.set_value(&key, value, limits, journal)
            .map_err(|e| corrupt(e.detail().to_owned()))?;
    }
    Ok((data, w.c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_timeout_minutes: 525_600,
        max_items: 100,
        max_value_bytes: 1 << 20,
        max_key_bytes: 255,
        max_session_bytes: 1 << 20,
    };

    fn sample() -> SessionData {
        let mut d = SessionData::new(20, 1036, 932);
        let j = &mut Journal::default();
        let names: Vec<Variant> = ["Chris", "Julie"]
            .iter()
            .map(|n| Variant::bstr(n))
            .collect();
        for (k, v) in [
            ("Pi", Variant::R8(3.25)),
            ("count", Variant::I4(-7)),
            ("when", Variant::Date(36525.75)),
            ("money", Variant::Cy(12345)),
            ("flag", Variant::bool(true)),
            ("short", Variant::Bool(1)),
            ("nothing", Variant::Null),
            ("big", Variant::UI8(u64::MAX)),
            ("names", Variant::Array(Box::new(SafeArray::from(names)))),
            ("Straße", Variant::bstr("日本語")),
        ] {
            d.set_value(k, v, &LIMITS, j).unwrap();
        }
        d
    }

    #[test]
    fn sessions_round_trip_in_order() {
        let d = sample();
        let bytes = encode_session(&d, 42).unwrap();
        let (back, created) = decode_session(&bytes, 1 << 20, &LIMITS).unwrap();
        assert_eq!(created, 42);
        assert_eq!(
            (back.timeout_minutes(), back.lcid(), back.codepage()),
            (20, 1036, 932)
        );
        let a: Vec<_> = d.contents().iter().collect();
        let b: Vec<_> = back.contents().iter().collect();
        assert_eq!(a, b);
    }

    #[test]
    fn values_round_trip_and_objects_are_refused() {
        for v in [
            Variant::Empty,
            Variant::I2(-3),
            Variant::R4(1.5),
            Variant::Error(-5),
            Variant::I1(-1),
        ] {
            assert_eq!(decode_value(&encode_value(&v).unwrap(), 64).unwrap(), v);
        }
        assert_eq!(
            encode_value(&Variant::Array(Box::new(SafeArray::from(vec![
                Variant::I4(1)
            ]))))
            .map(|b| b.len() > 2),
            Ok(true)
        );
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        let good = encode_session(&sample(), 1).unwrap();
        // Every truncation fails cleanly.
        for n in 0..good.len() {
            assert!(
                decode_session(&good[..n], 1 << 20, &LIMITS).is_err(),
                "truncated at {n}"
            );
        }
        // Trailing bytes, oversize, wrong version, type confusion.
        let mut trailing = good.clone();
        trailing.push(0xC0);
        assert!(decode_session(&trailing, 1 << 20, &LIMITS).is_err());
        assert!(decode_session(&good, good.len() - 1, &LIMITS).is_err());
        let v2 = rmp_serde::to_vec(&WireSession {
            v: 2,
            c: 0,
            t: 20,
            l: 1033,
            p: 65001,
            i: vec![],
        })
        .unwrap();
        assert!(decode_session(&v2, 1 << 20, &LIMITS).is_err());
        let confused = rmp_serde::to_vec(&("I4", "not a number")).unwrap();
        assert!(decode_value(&confused, 64).is_err());
        let bad_props = rmp_serde::to_vec(&WireSession {
            v: 1,
            c: 0,
            t: 0,
            l: 1033,
            p: 65001,
            i: vec![],
        })
        .unwrap();
        assert_eq!(
            decode_session(&bad_props, 1 << 20, &LIMITS)
                .unwrap_err()
                .code(),
            error::E_STORE_UNAVAILABLE
        );
        // Deep nesting is refused before it can exhaust the stack.
        let mut deep = Wire::I4(1);
        for _ in 0..200 {
            deep = Wire::Array(vec![deep]);
        }
        let bytes = rmp_serde::to_vec(&deep).unwrap();
        assert!(decode_value(&bytes, 1 << 20).is_err());
        // Noise never panics.
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let noise: Vec<u8> = (0..(seed % 64))
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = decode_session(&noise, 1 << 20, &LIMITS);
            let _ = decode_value(&noise, 1 << 20);
        }
    }
}
