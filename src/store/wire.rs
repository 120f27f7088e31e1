//! The serialised form of a session for stores outside the process:
//! MessagePack (self-describing, standard), versioned, restricted to the
//! VARIANT types. Objects are not serialisable and say so. The decoder
//! rejects truncated, oversized, too deeply nested or type-confused input.
//!
//! # Format version 1
//! - A value is tagged with its type's name: `"Empty"` and `"Null"` are
//!   that string; any other is a one-entry map from the name to the
//!   payload: `{"I2": int}`, `{"I4": int}`, `{"R4": float 32}`,
//!   `{"R8": float 64}`, `{"Cy": int}` (the 64-bit scaled integer),
//!   `{"Date": float 64}`, `{"Bstr": str}`, `{"Error": int}`,
//!   `{"Bool": bool}` (`VARIANT_TRUE`/`VARIANT_FALSE`), `{"BoolShort": int}`
//!   (any other `VT_BOOL`), `{"I1" | "UI1" | "UI2" | "UI4" | "I8" | "UI8":
//!   int}`, `{"Array": [values]}` (`VT_ARRAY | VT_VARIANT`), `{"Bytes":
//!   bin}` (`VT_ARRAY | VT_UI1`; added without a new version, as nothing
//!   else changed: releases before it refuse such a value as unknown).
//! - A session is the array `[1, created ms, Timeout minutes, LCID,
//!   CodePage, [[key, value], ...]]` (Contents in order).
//!
//! Written and read with `rmp`'s MessagePack primitives, without serde:
//! byte for byte what rmp-serde wrote from the serde-derived form of
//! earlier releases (integers, lengths and strings in their shortest form;
//! the tests compare the two), so a session saved unchanged stays unchanged
//! across the upgrade; read straight from the bytes into a [`SessionData`],
//! borrowing keys from the input; an integer or float of any width whose
//! value fits is accepted.

use num_traits::FromPrimitive;
use rmp::decode::{self, Bytes};
use rmp::{encode, Marker};

use crate::error::{self, Error, Result};
use crate::state::{Journal, Limits, SessionData};
use crate::variant::{Items, SafeArray, Variant, MAX_ARRAY_DEPTH, VARIANT_FALSE, VARIANT_TRUE};

/// The format version written; readers reject others.
pub const VERSION: u8 = 1;

fn not_serializable() -> Error {
    Error::new(
        error::E_NOT_SERIALIZABLE,
        "objects (VT_UNKNOWN / VT_DISPATCH) cannot leave their process",
    )
}

fn too_long(n: usize) -> Error {
    Error::new(
        error::E_FAIL,
        format!("cannot serialise the session: a length of {n} does not fit MessagePack"),
    )
}

/// Writing to a `Vec` cannot fail: `rmp`'s writers return `io::Result`s
/// only for writers that can.
fn infallible<T, E: std::fmt::Debug>(r: std::result::Result<T, E>) -> T {
    r.expect("writing to a Vec cannot fail")
}

/// Appends an unsigned integer in its shortest MessagePack form.
pub(crate) fn put_uint(out: &mut Vec<u8>, v: u64) {
    infallible(encode::write_uint(out, v));
}

/// Appends a signed integer in its shortest MessagePack form (a
/// non-negative one as unsigned, as rmp writes it).
fn put_sint(out: &mut Vec<u8>, v: i64) {
    infallible(encode::write_sint(out, v));
}

/// A length as MessagePack's 32-bit lengths take it.
fn len32(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| too_long(n))
}

/// Appends an array header for `n` elements.
pub(crate) fn put_array_len(out: &mut Vec<u8>, n: usize) -> Result<()> {
    infallible(encode::write_array_len(out, len32(n)?));
    Ok(())
}

/// Appends a string.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) -> Result<()> {
    len32(s.len())?;
    infallible(encode::write_str(out, s));
    Ok(())
}

/// Opens a tagged value: a one-entry map and the type's name.
fn put_tag(out: &mut Vec<u8>, name: &str) {
    infallible(encode::write_map_len(out, 1));
    infallible(encode::write_str(out, name));
}

/// Appends one value's format-version-1 form (objects:
/// `E_NOT_SERIALIZABLE`, with part of the value possibly written).
pub(crate) fn put_value(out: &mut Vec<u8>, v: &Variant) -> Result<()> {
    let int = |out: &mut Vec<u8>, name, x: i64| {
        put_tag(out, name);
        put_sint(out, x);
    };
    let uint = |out: &mut Vec<u8>, name, x: u64| {
        put_tag(out, name);
        put_uint(out, x);
    };
    match v {
        Variant::Empty => put_str(out, "Empty")?,
        Variant::Null => put_str(out, "Null")?,
        Variant::I2(x) => int(out, "I2", (*x).into()),
        Variant::I4(x) => int(out, "I4", (*x).into()),
        Variant::R4(x) => {
            put_tag(out, "R4");
            infallible(encode::write_f32(out, *x));
        }
        Variant::R8(x) | Variant::Date(x) => {
            put_tag(
                out,
                if matches!(v, Variant::R8(_)) {
                    "R8"
                } else {
                    "Date"
                },
            );
            infallible(encode::write_f64(out, *x));
        }
        Variant::Cy(x) => int(out, "Cy", *x),
        Variant::Bstr(s) => {
            put_tag(out, "Bstr");
            put_str(out, s)?;
        }
        Variant::Error(x) => int(out, "Error", (*x).into()),
        Variant::Bool(x @ (VARIANT_TRUE | VARIANT_FALSE)) => {
            put_tag(out, "Bool");
            infallible(encode::write_bool(out, *x == VARIANT_TRUE));
        }
        Variant::Bool(x) => int(out, "BoolShort", (*x).into()),
        Variant::I1(x) => int(out, "I1", (*x).into()),
        Variant::UI1(x) => uint(out, "UI1", (*x).into()),
        Variant::UI2(x) => uint(out, "UI2", (*x).into()),
        Variant::UI4(x) => uint(out, "UI4", (*x).into()),
        Variant::I8(x) => int(out, "I8", *x),
        Variant::UI8(x) => uint(out, "UI8", *x),
        Variant::Array(a) => match a.items() {
            Items::Variants(items) => {
                put_tag(out, "Array");
                put_array_len(out, items.len())?;
                for item in items {
                    put_value(out, item)?;
                }
            }
            Items::Bytes(bytes) => {
                put_tag(out, "Bytes");
                len32(bytes.len())?;
                infallible(encode::write_bin(out, bytes));
            }
        },
        Variant::Dispatch(_) | Variant::Unknown(_) => return Err(not_serializable()),
    }
    Ok(())
}

/// Unreadable session data (`E_STORE_UNAVAILABLE`): what is wrong, in
/// words, never the bytes (they are session contents). [`from_store`]
/// names the store that returned it.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::new(
        error::E_STORE_UNAVAILABLE,
        format!("unreadable session data: {what}"),
    )
}

/// A stored session this application's limits refuse (stored by one
/// with larger limits: lowered since, or a farm's processes configured
/// apart): `E_SESSION_TOO_LARGE`, in every store, never a store failure.
/// `why`: the limit it passes, or where its stored form is too long.
pub(crate) fn over_limits(why: impl std::fmt::Display) -> Error {
    Error::new(
        error::E_SESSION_TOO_LARGE,
        format!(
            "the stored session is larger than this application's limits allow \
             (stored under larger max_session_bytes, max_items, max_value_bytes or \
             max_key_bytes): {why}"
        ),
    )
}

/// The error of an item read back that `SessionData::set_value` refused:
/// a limit passed ([`over_limits`]; an empty key is no writer's, so
/// unreadable), or unreadable data.
pub(crate) fn refused_item(key: &str, e: Error) -> Error {
    match e.code() {
        error::E_SESSION_TOO_LARGE | error::E_TOO_MANY_ITEMS | error::E_VALUE_TOO_LARGE => {
            over_limits(e.detail())
        }
        error::E_BAD_KEY if !key.is_empty() => over_limits(e.detail()),
        _ => corrupt(e.detail()),
    }
}

/// `e` as the error of `store` (say "Redis"): unreadable data says the
/// store returned it; other errors are kept.
pub(crate) fn from_store(e: Error, store: &str) -> Error {
    match e.code() {
        error::E_STORE_UNAVAILABLE => {
            Error::new(e.code(), format!("{store} returned {}", e.detail()))
        }
        _ => e,
    }
}

/// What an `rmp` read that failed met, in words.
trait Failure {
    /// `expected`: what the read was for ("an integer").
    fn why(&self, expected: &str) -> String;
}

impl<E: decode::RmpReadErr> Failure for decode::ValueReadError<E> {
    fn why(&self, expected: &str) -> String {
        match self {
            decode::ValueReadError::TypeMismatch(_) => format!("{expected} was expected"),
            _ => "it ends early".to_owned(),
        }
    }
}

impl<E: decode::RmpReadErr> Failure for decode::NumValueReadError<E> {
    fn why(&self, expected: &str) -> String {
        match self {
            decode::NumValueReadError::TypeMismatch(_) => format!("{expected} was expected"),
            decode::NumValueReadError::OutOfRange => format!("{expected} is out of range"),
            _ => "it ends early".to_owned(),
        }
    }
}

/// Most elements a [`Reader`] reserves room for before reading them.
const PREALLOCATED: usize = 1024;

/// A bounded MessagePack reader over bytes a store returned (`rmp`'s
/// readers over the bytes left): every read is checked
/// (`E_STORE_UNAVAILABLE` if the bytes end early or hold another type),
/// nothing is allocated but the values it returns.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`, at most `max_len` of them.
    pub(crate) fn new(bytes: &'a [u8], max_len: usize) -> Result<Reader<'a>> {
        if bytes.len() > max_len {
            return Err(corrupt(format!(
                "{} bytes is over the {max_len}-byte limit",
                bytes.len()
            )));
        }
        Ok(Reader { rest: bytes })
    }

    /// Checks that everything was read.
    pub(crate) fn end(&self) -> Result<()> {
        if !self.rest.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(())
    }

    /// Runs one of `rmp`'s readers, for `expected` ("an integer"), on the
    /// bytes left.
    fn read<T, E: Failure>(
        &mut self,
        expected: &str,
        f: impl FnOnce(&mut Bytes<'a>) -> std::result::Result<T, E>,
    ) -> Result<T> {
        let mut rd = Bytes::new(self.rest);
        let v = f(&mut rd).map_err(|e| corrupt(e.why(expected)))?;
        self.rest = rd.remaining_slice();
        Ok(v)
    }

    /// The next value's marker, not consumed.
    fn peek(&self) -> Result<Marker> {
        self.rest
            .first()
            .map(|&b| Marker::from_u8(b))
            .ok_or_else(|| corrupt("it ends early"))
    }

    /// An integer of any MessagePack width, converted to `T` if it fits.
    pub(crate) fn int<T: FromPrimitive>(&mut self) -> Result<T> {
        self.read("an integer", decode::read_int)
    }

    /// A float of either width.
    fn float(&mut self) -> Result<f64> {
        match self.peek()? {
            Marker::F32 => self.read("a number", decode::read_f32).map(f64::from),
            _ => self.read("a number", decode::read_f64),
        }
    }

    fn bool(&mut self) -> Result<bool> {
        self.read("a boolean", decode::read_bool)
    }

    /// A UTF-8 string, borrowed from the input.
    pub(crate) fn str(&mut self) -> Result<&'a str> {
        // What went wrong, never the bytes (they are session contents).
        let (s, rest) = decode::read_str_from_slice(self.rest).map_err(|e| {
            corrupt(match e {
                decode::DecodeStringError::InvalidUtf8(..) => "a string is not UTF-8",
                decode::DecodeStringError::TypeMismatch(_) => "a string was expected",
                _ => "a string ends early",
            })
        })?;
        self.rest = rest;
        Ok(s)
    }

    /// A byte string (MessagePack's bin), borrowed from the input.
    fn bin(&mut self) -> Result<&'a [u8]> {
        let n = self.read("a byte string", decode::read_bin_len)? as usize;
        if n > self.rest.len() {
            return Err(corrupt("bytes end early"));
        }
        let (bytes, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(bytes)
    }

    /// An array's length.
    pub(crate) fn array(&mut self) -> Result<usize> {
        self.read("an array", decode::read_array_len)
            .map(|n| n as usize)
    }

    /// A map's length.
    fn map(&mut self) -> Result<usize> {
        self.read("a map", decode::read_map_len).map(|n| n as usize)
    }

    /// A capacity to reserve for `n` declared elements of at least one
    /// byte each: no more than the bytes left can hold, and at most
    /// [`PREALLOCATED`] (a declared length is not trusted: arrays nested in
    /// arrays would each reserve room for the whole input; more items
    /// than that grow the vector as they are read).
    pub(crate) fn capacity(&self, n: usize) -> usize {
        n.min(self.rest.len()).min(PREALLOCATED)
    }

    /// One value in the format-version-1 form; `depth`: the arrays it is
    /// inside (arrays nest at most [`MAX_ARRAY_DEPTH`] levels).
    pub(crate) fn value(&mut self, depth: usize) -> Result<Variant> {
        if matches!(
            self.peek()?,
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32
        ) {
            return match self.str()? {
                "Empty" => Ok(Variant::Empty),
                "Null" => Ok(Variant::Null),
                _ => Err(corrupt("a value's type is unknown")),
            };
        }
        if self.map()? != 1 {
            return Err(corrupt("a value is not a one-entry map"));
        }
        Ok(match self.str()? {
            "I2" => Variant::I2(self.int()?),
            "I4" => Variant::I4(self.int()?),
            "R4" => Variant::R4(self.float()? as f32),
            "R8" => Variant::R8(self.float()?),
            "Cy" => Variant::Cy(self.int()?),
            "Date" => Variant::Date(self.float()?),
            "Bstr" => Variant::Bstr(self.str()?.into()),
            "Error" => Variant::Error(self.int()?),
            "Bool" => Variant::bool(self.bool()?),
            "BoolShort" => Variant::Bool(self.int()?),
            "I1" => Variant::I1(self.int()?),
            "UI1" => Variant::UI1(self.int()?),
            "UI2" => Variant::UI2(self.int()?),
            "UI4" => Variant::UI4(self.int()?),
            "I8" => Variant::I8(self.int()?),
            "UI8" => Variant::UI8(self.int()?),
            "Array" => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(corrupt("arrays nested too deeply"));
                }
                let n = self.array()?;
                let mut items = Vec::with_capacity(self.capacity(n));
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Variant::Array(Box::new(SafeArray::from(items)))
            }
            "Bytes" => {
                let bytes = SafeArray::from_bytes(self.bin()?).map_err(|e| corrupt(e.detail()))?;
                Variant::Array(Box::new(bytes))
            }
            _ => return Err(corrupt("a value's type is unknown")),
        })
    }
}

/// One value's bytes (objects: `E_NOT_SERIALIZABLE`).
pub fn encode_value(v: &Variant) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(16 + v.payload_bytes());
    put_value(&mut out, v)?;
    Ok(out)
}

/// A value from its bytes (at most `max_len` of them, no trailing bytes).
pub fn decode_value(bytes: &[u8], max_len: usize) -> Result<Variant> {
    let mut r = Reader::new(bytes, max_len)?;
    let v = r.value(0)?;
    r.end()?;
    Ok(v)
}

/// About how many bytes `data` takes written (room to reserve).
pub(crate) fn size_hint(data: &SessionData) -> usize {
    32 + data.bytes() + 16 * data.contents().len()
}

/// Appends a whole session's bytes to `out`: format version, creation
/// time, properties and Contents in order.
pub(crate) fn put_session(out: &mut Vec<u8>, data: &SessionData, created_ms: u64) -> Result<()> {
    let contents = data.contents();
    put_array_len(out, 6)?;
    put_uint(out, VERSION.into());
    put_uint(out, created_ms);
    put_uint(out, data.timeout_minutes().into());
    put_uint(out, data.lcid().into());
    put_uint(out, data.codepage().into());
    put_array_len(out, contents.len())?;
    for (key, value) in contents.iter() {
        put_array_len(out, 2)?;
        put_str(out, key)?;
        put_value(out, value)?;
    }
    Ok(())
}

/// A whole session's bytes: format version, creation time, properties and
/// Contents in order.
pub fn encode_session(data: &SessionData, created_ms: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(size_hint(data));
    put_session(&mut out, data, created_ms)?;
    Ok(out)
}

/// Empty session data with properties read back, each checked as a unit of
/// work's change is (the error of the first that fails), but for a
/// Timeout past `limits.max_timeout_minutes` (set under a larger maximum:
/// lowered since, or a farm's processes configured apart), which is
/// lowered to it: no store failure, and no session lives on longer than
/// the reader allows. A read session's changes are never undone, so each
/// goes to a journal of its own (one record, kept inline: no
/// allocation), as its items do.
pub(crate) fn session_data(
    timeout_minutes: u32,
    lcid: u32,
    codepage: u32,
    limits: &Limits,
) -> Result<SessionData> {
    let mut data = SessionData::new(1, 0, 0);
    let timeout_minutes = timeout_minutes.min(limits.max_timeout_minutes);
    data.set_timeout_minutes(timeout_minutes.into(), limits, &mut Journal::default())?;
    data.set_lcid(lcid, &mut Journal::default())?;
    data.set_codepage(codepage, &mut Journal::default())?;
    Ok(data)
}

/// A whole session from its bytes (at most `max_len` of them, no trailing
/// bytes), checked against `limits` like a session a unit of work builds:
/// (data, creation time). Bad bytes are `E_STORE_UNAVAILABLE`.
pub fn decode_session(bytes: &[u8], max_len: usize, limits: &Limits) -> Result<(SessionData, u64)> {
    let r = &mut Reader::new(bytes, max_len)?;
    if r.array()? != 6 {
        return Err(corrupt("a session is not an array of 6"));
    }
    let version: u8 = r.int()?;
    if version != VERSION {
        return Err(corrupt(format!(
            "format version {version} (this library reads {VERSION})"
        )));
    }
    let created_ms = r.int()?;
    let (timeout, lcid, codepage): (u32, u32, u32) = (r.int()?, r.int()?, r.int()?);
    let bad = |e: Error| corrupt(e.detail());
    let mut data = session_data(timeout, lcid, codepage, limits).map_err(bad)?;
    for _ in 0..r.array()? {
        if r.array()? != 2 {
            return Err(corrupt("an item is not a (key, value) pair"));
        }
        let key = r.str()?;
        let value = r.value(0)?;
        data.set_value(key, value, limits, &mut Journal::default())
            .map_err(|e| refused_item(key, e))?;
    }
    r.end()?;
    Ok((data, created_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Earlier releases' serde-derived form, written with rmp-serde: the
    /// reference the writer must match byte for byte.
    mod reference {
        use serde::{Deserialize, Serialize};

        use crate::variant::{Items, Variant, VARIANT_FALSE, VARIANT_TRUE};

        #[derive(Serialize, Deserialize)]
        pub(super) enum Wire {
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
            BoolShort(i16),
        }

        #[derive(Serialize, Deserialize)]
        pub(super) struct WireSession {
            pub(super) v: u8,
            pub(super) c: u64,
            pub(super) t: u32,
            pub(super) l: u32,
            pub(super) p: u32,
            pub(super) i: Vec<(String, Wire)>,
        }

        pub(super) fn to_wire(v: &Variant) -> Wire {
            match v {
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
                Variant::Array(a) => match a.items() {
                    Items::Variants(items) => Wire::Array(items.iter().map(to_wire).collect()),
                    Items::Bytes(_) => unreachable!("earlier releases had no byte arrays"),
                },
                Variant::Dispatch(_) | Variant::Unknown(_) => unreachable!("no objects here"),
            }
        }
    }
    use reference::{to_wire, Wire, WireSession};

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

    fn array(items: Vec<Variant>) -> Variant {
        Variant::Array(Box::new(SafeArray::from(items)))
    }

    /// Values at every boundary of MessagePack's integer, string and array
    /// forms.
    fn edge_values() -> Vec<Variant> {
        let mut vs = vec![Variant::Empty, Variant::Null, Variant::bool(false)];
        for x in [
            i64::MIN,
            -2_147_483_649,
            -2_147_483_648,
            -32_769,
            -32_768,
            -129,
            -128,
            -33,
            -32,
            -1,
            0,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            4_294_967_295,
            4_294_967_296,
            i64::MAX,
        ] {
            vs.push(Variant::I8(x));
            vs.push(Variant::Cy(x));
            vs.extend(i32::try_from(x).ok().map(Variant::I4));
            vs.extend(i32::try_from(x).ok().map(Variant::Error));
            vs.extend(i16::try_from(x).ok().map(Variant::I2));
            vs.extend(i16::try_from(x).ok().map(Variant::Bool));
            vs.extend(i8::try_from(x).ok().map(Variant::I1));
            vs.extend(u8::try_from(x).ok().map(Variant::UI1));
            vs.extend(u16::try_from(x).ok().map(Variant::UI2));
            vs.extend(u32::try_from(x).ok().map(Variant::UI4));
            vs.extend(u64::try_from(x).ok().map(Variant::UI8));
        }
        vs.push(Variant::UI8(u64::MAX));
        for f in [0.0, -1.5, f64::MAX, f64::NEG_INFINITY] {
            vs.push(Variant::R8(f));
            vs.push(Variant::Date(f));
            vs.push(Variant::R4(f as f32));
        }
        for n in [0, 31, 32, 255, 256, 65_535, 65_536] {
            vs.push(Variant::Bstr("é".repeat(n / 2).into()));
            vs.push(Variant::Bstr("x".repeat(n).into()));
        }
        for n in [0, 15, 16, 65_535, 65_536] {
            vs.push(array(vec![Variant::I2(-1); n]));
        }
        vs.push(array(vec![array(vec![Variant::bstr("a"), Variant::Null])]));
        vs
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
    fn the_bytes_are_those_earlier_releases_wrote_and_read() {
        for v in edge_values() {
            let reference = rmp_serde::to_vec(&to_wire(&v)).unwrap();
            assert_eq!(encode_value(&v).unwrap(), reference, "{v:?}");
            assert_eq!(decode_value(&reference, usize::MAX).unwrap(), v);
        }
        let d = sample();
        let reference = rmp_serde::to_vec(&WireSession {
            v: 1,
            c: 1_733_000_000_000,
            t: 20,
            l: 1036,
            p: 932,
            i: d.contents()
                .iter()
                .map(|(k, v)| (k.to_owned(), to_wire(v)))
                .collect(),
        })
        .unwrap();
        assert_eq!(encode_session(&d, 1_733_000_000_000).unwrap(), reference);
    }

    #[test]
    fn byte_arrays_are_messagepack_bin() {
        for (n, header) in [
            (0, &b"\xc4\x00"[..]),
            (255, b"\xc4\xff"),
            (256, b"\xc5\x01\x00"),
            (65_536, b"\xc6\x00\x01\x00\x00"),
        ] {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let v = Variant::Array(Box::new(SafeArray::from_bytes(&data).unwrap()));
            let bytes = encode_value(&v).unwrap();
            assert_eq!(
                bytes,
                [&b"\x81\xa5Bytes"[..], header, &data].concat(),
                "{n}"
            );
            assert_eq!(decode_value(&bytes, usize::MAX), Ok(v));
            assert!(decode_value(&bytes[..bytes.len() - 1], usize::MAX).is_err());
        }
        // In a session, beside the other types.
        let mut d = sample();
        let blob = Variant::Array(Box::new(SafeArray::from_bytes(b"\x00\xff").unwrap()));
        d.set_value("blob", blob.clone(), &LIMITS, &mut Journal::default())
            .unwrap();
        let (back, _) = decode_session(&encode_session(&d, 1).unwrap(), 1 << 20, &LIMITS).unwrap();
        assert_eq!(back.contents().get("BLOB"), Some(&blob));
    }

    #[test]
    fn any_integer_or_float_width_that_fits_is_read() {
        // {"I4": 5} as int32, {"UI1": 200} as int16, {"R8": 1.5} as float 32.
        let i4 = b"\x81\xa2I4\xd2\x00\x00\x00\x05";
        assert_eq!(decode_value(i4, 64), Ok(Variant::I4(5)));
        let ui1 = b"\x81\xa3UI1\xd1\x00\xc8";
        assert_eq!(decode_value(ui1, 64), Ok(Variant::UI1(200)));
        let r8 = b"\x81\xa2R8\xca\x3f\xc0\x00\x00";
        assert_eq!(decode_value(r8, 64), Ok(Variant::R8(1.5)));
        // Out of range, or the wrong kind, is refused.
        let i2 = b"\x81\xa2I2\xce\x00\x01\x00\x00";
        assert!(decode_value(i2, 64).is_err());
        let ui8 = b"\x81\xa3UI8\xff";
        assert!(decode_value(ui8, 64).is_err());
        let r4 = b"\x81\xa2R4\x01";
        assert!(decode_value(r4, 64).is_err());
    }

    #[test]
    fn a_damaged_value_is_reported_without_its_bytes() {
        let mut d = SessionData::new(20, 1033, 65001);
        let text = "y".repeat(30_000);
        d.set_value(
            "Big",
            Variant::bstr(&text),
            &LIMITS,
            &mut Journal::default(),
        )
        .unwrap();
        d.set_value("Tag", Variant::I4(1), &LIMITS, &mut Journal::default())
            .unwrap();
        let good = encode_session(&d, 1).unwrap();
        let at = good.windows(4).position(|w| w == b"yyyy").unwrap();
        let mut utf8 = good.clone();
        utf8[at] = 0xFF;
        // The tag of the second value, made a long unknown one.
        let tag = good.windows(3).position(|w| w == b"\xa2I4").unwrap();
        let mut unknown = good.clone();
        unknown.splice(
            tag..tag + 3,
            [&[0xDA, 0x00, 0x40][..], &[b'y'; 64]].concat(),
        );
        for bad in [utf8, unknown] {
            let e = decode_session(&bad, 1 << 20, &LIMITS).unwrap_err();
            assert_eq!(e.code(), error::E_STORE_UNAVAILABLE);
            assert!(e.detail().len() < 120, "{}", e.detail());
            assert!(
                !e.detail().contains("yy") && !e.detail().contains("121"),
                "{e:?}"
            );
        }
    }

    #[test]
    fn what_a_read_met_is_said_in_words() {
        let said = |bytes: &[u8]| decode_value(bytes, 64).unwrap_err().detail().to_owned();
        assert_eq!(
            said(b"\x81\xa2I4\xa1x"),
            "unreadable session data: an integer was expected"
        );
        assert_eq!(
            said(b"\x81\xa2I1\xcd\x01\x00"),
            "unreadable session data: an integer is out of range"
        );
        assert_eq!(
            said(b"\x81\xa4Bool\x01"),
            "unreadable session data: a boolean was expected"
        );
        assert_eq!(
            said(b"\x81\xa2R8"),
            "unreadable session data: it ends early"
        );
        let e = from_store(corrupt("it ends early"), "Redis");
        assert_eq!(
            e.detail(),
            "Redis returned unreadable session data: it ends early"
        );
        let other = from_store(not_serializable(), "Redis");
        assert_eq!(other.detail(), not_serializable().detail());
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
        let session = |v, t| WireSession {
            v,
            c: 0,
            t,
            l: 1033,
            p: 65001,
            i: vec![],
        };
        let v2 = rmp_serde::to_vec(&session(2, 20)).unwrap();
        assert!(decode_session(&v2, 1 << 20, &LIMITS).is_err());
        let confused = rmp_serde::to_vec(&("I4", "not a number")).unwrap();
        assert!(decode_value(&confused, 64).is_err());
        for unknown in [
            &b"\xa5Empt_"[..],
            b"\x81\xa2I9\x01",
            b"\x82\xa2I4\x01\xa2I4\x01",
        ] {
            assert!(decode_value(unknown, 64).is_err());
        }
        let bad_props = rmp_serde::to_vec(&session(1, 0)).unwrap();
        assert_eq!(
            decode_session(&bad_props, 1 << 20, &LIMITS)
                .unwrap_err()
                .code(),
            error::E_STORE_UNAVAILABLE
        );
        // Arrays nest at most MAX_ARRAY_DEPTH levels; deeper input is
        // refused before it can exhaust the stack.
        let nested = |levels: usize| {
            let mut deep = Wire::I4(1);
            for _ in 0..levels {
                deep = Wire::Array(vec![deep]);
            }
            rmp_serde::to_vec(&deep).unwrap()
        };
        let v = decode_value(&nested(MAX_ARRAY_DEPTH), 1 << 20).unwrap();
        assert_eq!(v.array_depth(), MAX_ARRAY_DEPTH);
        assert!(decode_value(&nested(MAX_ARRAY_DEPTH + 1), 1 << 20).is_err());
        assert!(decode_value(&nested(200), 1 << 20).is_err());
        // A huge length in few bytes is an error, not an allocation.
        assert!(decode_value(b"\x81\xa5Array\xdd\xff\xff\xff\xff", 64).is_err());
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
