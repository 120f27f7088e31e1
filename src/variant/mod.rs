//! The value model: VARIANT-like values held by value.
//!
//! [`Variant`] is the safe Rust form of a COM VARIANT restricted to the types
//! the session contract names. Clone is a deep copy (strings and arrays are
//! copied, objects get `add_ref`), as `VariantCopy` does; drop is `VariantClear`.

mod array;
mod change_type;
pub(crate) mod date;
mod date_fields;
mod object;
mod text;

pub use array::{check_len, Items, SafeArray, MAX_ARRAY_LEN};
pub use change_type::{change_type, flags};
pub use object::{Guid, Object, Unknown, UnknownVtbl, IID_IUNKNOWN};

use crate::error::{self, Error, Result};

/// Variant type tags, with COM's numbers.
pub mod vt {
    /// Nothing (the value of a missing key).
    pub const EMPTY: u16 = 0;
    /// SQL-style null.
    pub const NULL: u16 = 1;
    /// 16-bit signed integer.
    pub const I2: u16 = 2;
    /// 32-bit signed integer.
    pub const I4: u16 = 3;
    /// 32-bit float.
    pub const R4: u16 = 4;
    /// 64-bit float.
    pub const R8: u16 = 5;
    /// Currency: a 64-bit integer scaled by 10,000.
    pub const CY: u16 = 6;
    /// OLE Automation date: days since 1899-12-30 as a double.
    pub const DATE: u16 = 7;
    /// String (UTF-8 in this library).
    pub const BSTR: u16 = 8;
    /// Object (IDispatch).
    pub const DISPATCH: u16 = 9;
    /// SCODE error value.
    pub const ERROR: u16 = 10;
    /// Boolean: VARIANT_TRUE (-1) or VARIANT_FALSE (0).
    pub const BOOL: u16 = 11;
    /// Element type of variant arrays (only with [`ARRAY`]).
    pub const VARIANT: u16 = 12;
    /// Object (IUnknown).
    pub const UNKNOWN: u16 = 13;
    /// 8-bit signed integer.
    pub const I1: u16 = 16;
    /// 8-bit unsigned integer.
    pub const UI1: u16 = 17;
    /// 16-bit unsigned integer.
    pub const UI2: u16 = 18;
    /// 32-bit unsigned integer.
    pub const UI4: u16 = 19;
    /// 64-bit signed integer.
    pub const I8: u16 = 20;
    /// 64-bit unsigned integer.
    pub const UI8: u16 = 21;
    /// Array flag; the library's arrays are `ARRAY | VARIANT`, and
    /// `ARRAY | UI1` for bytes.
    pub const ARRAY: u16 = 0x2000;
    /// By-reference flag: only `invoke`'s arguments take it (a script
    /// passes its variables ByRef), read through their pointer.
    pub const BYREF: u16 = 0x4000;
}

/// A value stored in a session. Clone deep-copies; drop releases.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Variant {
    /// `VT_EMPTY`.
    #[default]
    Empty,
    /// `VT_NULL`.
    Null,
    /// `VT_I2`.
    I2(i16),
    /// `VT_I4`.
    I4(i32),
    /// `VT_R4`.
    R4(f32),
    /// `VT_R8`.
    R8(f64),
    /// `VT_CY`: the amount times 10,000.
    Cy(i64),
    /// `VT_DATE`: days since 1899-12-30; the fraction is the time of day.
    Date(f64),
    /// `VT_BSTR`, as UTF-8.
    Bstr(Box<str>),
    /// `VT_DISPATCH`.
    Dispatch(Object),
    /// `VT_ERROR`: an SCODE.
    Error(i32),
    /// `VT_BOOL`: a `VARIANT_BOOL`, the 16-bit value as stored (canonically
    /// [`VARIANT_TRUE`] or [`VARIANT_FALSE`]; other values are kept, and
    /// convert as the SHORT they are, as in Windows).
    Bool(i16),
    /// `VT_UNKNOWN`.
    Unknown(Object),
    /// `VT_I1`.
    I1(i8),
    /// `VT_UI1`.
    UI1(u8),
    /// `VT_UI2`.
    UI2(u16),
    /// `VT_UI4`.
    UI4(u32),
    /// `VT_I8`.
    I8(i64),
    /// `VT_UI8`.
    UI8(u64),
    /// `VT_ARRAY | VT_VARIANT` or `VT_ARRAY | VT_UI1` (bytes): a
    /// one-dimensional, zero-based array.
    Array(Box<SafeArray>),
}

/// `VARIANT_TRUE`: the canonical true `VARIANT_BOOL`.
pub const VARIANT_TRUE: i16 = -1;
/// `VARIANT_FALSE`.
pub const VARIANT_FALSE: i16 = 0;

/// Deepest nesting of arrays accepted (deeper input is rejected, which also
/// stops a self-referencing array handed in from C).
pub const MAX_ARRAY_DEPTH: usize = 32;

impl Variant {
    /// The COM type tag.
    pub fn vt(&self) -> u16 {
        match self {
            Variant::Empty => vt::EMPTY,
            Variant::Null => vt::NULL,
            Variant::I2(_) => vt::I2,
            Variant::I4(_) => vt::I4,
            Variant::R4(_) => vt::R4,
            Variant::R8(_) => vt::R8,
            Variant::Cy(_) => vt::CY,
            Variant::Date(_) => vt::DATE,
            Variant::Bstr(_) => vt::BSTR,
            Variant::Dispatch(_) => vt::DISPATCH,
            Variant::Error(_) => vt::ERROR,
            Variant::Bool(_) => vt::BOOL,
            Variant::Unknown(_) => vt::UNKNOWN,
            Variant::I1(_) => vt::I1,
            Variant::UI1(_) => vt::UI1,
            Variant::UI2(_) => vt::UI2,
            Variant::UI4(_) => vt::UI4,
            Variant::I8(_) => vt::I8,
            Variant::UI8(_) => vt::UI8,
            Variant::Array(a) => vt::ARRAY | a.element_vt(),
        }
    }

    /// A canonical boolean: `VARIANT_TRUE` (-1) or `VARIANT_FALSE` (0).
    pub fn bool(value: bool) -> Variant {
        Variant::Bool(if value { VARIANT_TRUE } else { VARIANT_FALSE })
    }

    /// A string value.
    pub fn bstr(s: &str) -> Variant {
        Variant::Bstr(s.into())
    }

    /// The string, if this is a `VT_BSTR`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Variant::Bstr(s) => Some(s),
            _ => None,
        }
    }

    /// Bytes the value occupies for the per-value limit: a string's UTF-8
    /// length, a byte array's length, 8 for anything else but a VARIANT
    /// array: its elements', each at least 8, and 8 more for each array
    /// in it. (So an array of empty strings or arrays, however long or
    /// deep, counts at least about what storing it takes.)
    #[inline]
    pub fn payload_bytes(&self) -> usize {
        match self {
            Variant::Bstr(s) => s.len(),
            Variant::Array(a) => array_payload_bytes(a),
            _ => 8,
        }
    }

    /// Whether the value holds an object, directly or in an array.
    #[inline]
    pub fn holds_object(&self) -> bool {
        match self {
            Variant::Dispatch(_) | Variant::Unknown(_) => true,
            Variant::Array(a) => array_holds_object(a),
            _ => false,
        }
    }

    /// How many arrays deep the value nests (0 for a scalar).
    pub fn array_depth(&self) -> usize {
        match self {
            Variant::Array(a) => match a.items() {
                Items::Variants(items) => {
                    1 + items.iter().map(Variant::array_depth).max().unwrap_or(0)
                }
                Items::Bytes(_) => 1,
            },
            _ => 0,
        }
    }
}

// The array cases of two checks every set makes, out of line (they
// recurse), so the scalar cases inline.

/// [`Variant::payload_bytes`] of an array.
#[inline(never)]
fn array_payload_bytes(a: &SafeArray) -> usize {
    match a.items() {
        Items::Variants(items) => items
            .iter()
            .map(|v| match v {
                Variant::Array(_) => 8 + v.payload_bytes(),
                _ => v.payload_bytes().max(8),
            })
            .sum(),
        Items::Bytes(bytes) => bytes.len(),
    }
}

/// [`Variant::holds_object`] of an array.
#[inline(never)]
fn array_holds_object(a: &SafeArray) -> bool {
    match a.items() {
        Items::Variants(items) => items.iter().any(Variant::holds_object),
        Items::Bytes(_) => false,
    }
}

/// Checks a type tag from outside: `Ok` for every tag a [`Variant`] can have,
/// `DISP_E_BADVARTYPE` otherwise (never a transmute).
pub fn check_vt(tag: u16) -> Result<u16> {
    match tag {
        vt::EMPTY..=vt::BOOL | vt::UNKNOWN | vt::I1..=vt::UI8 => Ok(tag),
        t if t == vt::ARRAY | vt::VARIANT || t == vt::ARRAY | vt::UI1 => Ok(tag),
        t => Err(Error::new(
            error::DISP_E_BADVARTYPE,
            format!("unsupported variant type {t:#06x}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_is_small() {
        assert_eq!(std::mem::size_of::<Variant>(), 24);
    }

    #[test]
    fn vt_tags_round_trip_through_check() {
        let samples = [
            Variant::Empty,
            Variant::Null,
            Variant::I2(1),
            Variant::I4(1),
            Variant::R4(1.0),
            Variant::R8(1.0),
            Variant::Cy(1),
            Variant::Date(1.0),
            Variant::bstr("x"),
            Variant::Error(1),
            Variant::bool(true),
            Variant::I1(1),
            Variant::UI1(1),
            Variant::UI2(1),
            Variant::UI4(1),
            Variant::I8(1),
            Variant::UI8(1),
            Variant::Array(Box::new(SafeArray::new(2).unwrap())),
            Variant::Array(Box::new(SafeArray::from_bytes(b"ab").unwrap())),
        ];
        for v in &samples {
            assert_eq!(check_vt(v.vt()), Ok(v.vt()));
        }
        for bad in [vt::VARIANT, 14, 15, 22, 0x2003, 0x2010, 0x4003, 0xFFFF] {
            assert_eq!(
                check_vt(bad).unwrap_err().code(),
                error::DISP_E_BADVARTYPE,
                "{bad:#x}"
            );
        }
    }

    /// Arrays nested in arrays count 8 a level: a chain of single-element
    /// arrays is not the size of what it ends in.
    #[test]
    fn nested_arrays_count_each_level() {
        let chain = |depth| {
            (0..depth).fold(Variant::Empty, |v, _| {
                Variant::Array(Box::new(SafeArray::from(vec![v])))
            })
        };
        assert_eq!(chain(1).payload_bytes(), 8);
        assert_eq!(chain(31).payload_bytes(), 31 * 8);
        assert_eq!(chain(2).payload_bytes(), chain(1).payload_bytes() + 8);
    }

    #[test]
    fn clone_is_deep() {
        let mut a = SafeArray::new(2).unwrap();
        a.set(0, Variant::bstr("Chris")).unwrap();
        let v = Variant::Array(Box::new(a));
        let mut copy = v.clone();
        if let Variant::Array(arr) = &mut copy {
            arr.set(0, Variant::bstr("Mark")).unwrap();
        }
        match &v {
            Variant::Array(arr) => assert_eq!(arr.get(0).unwrap().as_str(), Some("Chris")),
            _ => unreachable!(),
        }
        assert_eq!(
            v.payload_bytes(),
            8 + 8,
            "in an array, a short string counts 8"
        );
        let bytes = Variant::Array(Box::new(SafeArray::from_bytes(&[0; 300]).unwrap()));
        assert_eq!(
            (bytes.vt(), bytes.payload_bytes()),
            (vt::ARRAY | vt::UI1, 300)
        );
        assert_eq!((bytes.array_depth(), bytes.holds_object()), (1, false));
    }
}
