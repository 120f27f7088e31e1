//! One-dimensional, zero-based arrays: of variants (`VT_ARRAY |
//! VT_VARIANT`), or of bytes (`VT_ARRAY | VT_UI1`, how ASP holds binary
//! data).

use super::{vt, Variant, MAX_ARRAY_DEPTH};
use crate::error::{self, Error, Result};

/// A SAFEARRAY-like array of variants or of bytes; its element type and
/// length are fixed at creation.
#[derive(Clone, Debug, PartialEq)]
pub struct SafeArray {
    items: Elements,
}

/// An array's elements, by element type.
#[derive(Clone, Debug, PartialEq)]
enum Elements {
    /// `VT_VARIANT` elements.
    Variants(Vec<Variant>),
    /// `VT_UI1` elements.
    Bytes(Vec<u8>),
}

/// An array's elements, borrowed: what a reader of the array matches on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Items<'a> {
    /// Those of a `VT_ARRAY | VT_VARIANT` array.
    Variants(&'a [Variant]),
    /// Those of a `VT_ARRAY | VT_UI1` array.
    Bytes(&'a [u8]),
}

/// Longest array (16M elements: 384 MiB of variants, 16 MiB of bytes):
/// larger requests are refused rather than risking the process.
pub const MAX_ARRAY_LEN: usize = 1 << 24;

impl Default for SafeArray {
    /// An empty array of variants.
    fn default() -> Self {
        SafeArray::from(Vec::new())
    }
}

impl SafeArray {
    /// An array of `len` `VT_EMPTY` elements; longer than [`MAX_ARRAY_LEN`]
    /// or more than memory allows is `E_OUTOFMEMORY`, never an abort.
    pub fn new(len: usize) -> Result<SafeArray> {
        let mut items = reserve(len)?;
        items.resize(len, Variant::Empty);
        Ok(SafeArray::from(items))
    }

    /// A `VT_ARRAY | VT_UI1` array holding a copy of `bytes`; longer than
    /// [`MAX_ARRAY_LEN`] or more than memory allows is `E_OUTOFMEMORY`.
    pub fn from_bytes(bytes: &[u8]) -> Result<SafeArray> {
        let mut items = reserve(bytes.len())?;
        items.extend_from_slice(bytes);
        Ok(SafeArray {
            items: Elements::Bytes(items),
        })
    }

    /// The element type: [`vt::VARIANT`] or [`vt::UI1`].
    pub fn element_vt(&self) -> u16 {
        match self.items {
            Elements::Variants(_) => vt::VARIANT,
            Elements::Bytes(_) => vt::UI1,
        }
    }

    /// The elements in order.
    pub fn items(&self) -> Items<'_> {
        match &self.items {
            Elements::Variants(items) => Items::Variants(items),
            Elements::Bytes(items) => Items::Bytes(items),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.items {
            Elements::Variants(items) => items.len(),
            Elements::Bytes(items) => items.len(),
        }
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the element at `index` (a byte as a `VT_UI1`), or
    /// `DISP_E_BADINDEX`.
    pub fn get(&self, index: usize) -> Result<Variant> {
        let element = match &self.items {
            Elements::Variants(items) => items.get(index).cloned(),
            Elements::Bytes(items) => items.get(index).map(|&b| Variant::UI1(b)),
        };
        element.ok_or_else(|| bad_index(index, self.len()))
    }

    /// Replaces the element at `index`, or `DISP_E_BADINDEX`; an element of
    /// a byte array takes only a `VT_UI1` (else `DISP_E_TYPEMISMATCH`).
    pub fn set(&mut self, index: usize, value: Variant) -> Result<()> {
        let len = self.len();
        match &mut self.items {
            Elements::Variants(items) => {
                *items.get_mut(index).ok_or_else(|| bad_index(index, len))? = value;
            }
            Elements::Bytes(items) => {
                let slot = items.get_mut(index).ok_or_else(|| bad_index(index, len))?;
                *slot = byte(&value)?;
            }
        }
        Ok(())
    }

    /// Deep copies of `values`, in order, into this array from `index` on
    /// (`ICollection.CopyTo(array, index)`), with .NET's argument rules:
    /// `index` past the end is `DISP_E_BADINDEX`
    /// (`ArgumentOutOfRangeException`); too few elements from `index` to
    /// the end is `E_INVALIDARG` (`ArgumentException`), as is a value that
    /// would nest arrays deeper than [`MAX_ARRAY_DEPTH`]; a byte array
    /// takes only `VT_UI1` values (else `DISP_E_TYPEMISMATCH`, as .NET's
    /// `InvalidCastException`). On error nothing is written.
    pub fn copy_in<'a>(
        &mut self,
        index: usize,
        values: impl ExactSizeIterator<Item = &'a Variant> + Clone,
    ) -> Result<()> {
        let len = self.len();
        if index > len {
            return Err(bad_index(index, len));
        }
        if len - index < values.len() {
            return Err(Error::new(
                error::E_INVALIDARG,
                format!(
                    "{} values do not fit in an array of {len} from index {index}",
                    values.len()
                ),
            ));
        }
        if values.clone().any(|v| v.array_depth() >= MAX_ARRAY_DEPTH) {
            return Err(Error::new(
                error::E_INVALIDARG,
                format!("arrays nest at most {MAX_ARRAY_DEPTH} levels"),
            ));
        }
        match &mut self.items {
            Elements::Variants(items) => {
                for (slot, v) in items[index..].iter_mut().zip(values) {
                    *slot = v.clone();
                }
            }
            Elements::Bytes(items) => {
                let bytes = values.map(byte).collect::<Result<Vec<u8>>>()?;
                items[index..index + bytes.len()].copy_from_slice(&bytes);
            }
        }
        Ok(())
    }
}

impl From<Vec<Variant>> for SafeArray {
    /// A `VT_ARRAY | VT_VARIANT` array of `items`.
    fn from(items: Vec<Variant>) -> Self {
        SafeArray {
            items: Elements::Variants(items),
        }
    }
}

/// `E_OUTOFMEMORY` for an array of more than [`MAX_ARRAY_LEN`] elements,
/// which [`SafeArray::new`] and [`SafeArray::from_bytes`] refuse: for a
/// caller to check a length before it reads what the array would copy.
pub fn check_len(len: usize) -> Result<()> {
    if len > MAX_ARRAY_LEN {
        return Err(too_big(len));
    }
    Ok(())
}

/// An empty vector with room for `len` elements; more than
/// [`MAX_ARRAY_LEN`] or than memory allows is `E_OUTOFMEMORY`.
fn reserve<T>(len: usize) -> Result<Vec<T>> {
    check_len(len)?;
    let mut items = Vec::new();
    items.try_reserve_exact(len).map_err(|_| too_big(len))?;
    Ok(items)
}

/// `E_OUTOFMEMORY` for an array of `len` elements.
fn too_big(len: usize) -> Error {
    Error::new(
        error::E_OUTOFMEMORY,
        format!("an array of {len} elements is too large (at most {MAX_ARRAY_LEN})"),
    )
}

/// The byte a `VT_UI1` holds, for an element of a byte array; any other
/// type is `DISP_E_TYPEMISMATCH`.
fn byte(value: &Variant) -> Result<u8> {
    match value {
        Variant::UI1(b) => Ok(*b),
        other => Err(Error::new(
            error::DISP_E_TYPEMISMATCH,
            format!(
                "an element of a VT_ARRAY|VT_UI1 array is a VT_UI1, not type {}",
                other.vt()
            ),
        )),
    }
}

fn bad_index(index: usize, len: usize) -> Error {
    Error::new(
        error::DISP_E_BADINDEX,
        format!("array index {index} is out of range (length {len})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_in_follows_copy_to_rules() {
        let values = [Variant::I4(1), Variant::bstr("two")];
        let mut a = SafeArray::new(4).unwrap();
        a.copy_in(1, values.iter()).unwrap();
        assert_eq!(a.get(0), Ok(Variant::Empty));
        assert_eq!(a.get(1), Ok(Variant::I4(1)));
        assert_eq!(a.get(2), Ok(Variant::bstr("two")));
        assert_eq!(a.get(3), Ok(Variant::Empty));
        a.copy_in(2, values.iter()).unwrap();
        a.copy_in(4, [].iter()).unwrap();
        let before = a.clone();
        let code = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(code(a.copy_in(3, values.iter())), error::E_INVALIDARG);
        assert_eq!(code(a.copy_in(5, [].iter())), error::DISP_E_BADINDEX);
        let mut deep = Variant::Empty;
        for _ in 0..MAX_ARRAY_DEPTH {
            deep = Variant::Array(Box::new(SafeArray::from(vec![deep])));
        }
        assert_eq!(code(a.copy_in(0, [deep].iter())), error::E_INVALIDARG);
        assert_eq!(a, before, "nothing written on error");
    }

    #[test]
    fn byte_arrays_hold_bytes_and_take_only_ui1() {
        let mut a = SafeArray::from_bytes(b"\x00\xffab").unwrap();
        assert_eq!((a.element_vt(), a.len()), (vt::UI1, 4));
        assert_eq!(a.items(), Items::Bytes(b"\x00\xffab"));
        assert_eq!(a.get(1), Ok(Variant::UI1(255)));
        a.set(2, Variant::UI1(7)).unwrap();
        let code = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(code(a.set(3, Variant::I4(7))), error::DISP_E_TYPEMISMATCH);
        assert_eq!(code(a.set(4, Variant::UI1(7))), error::DISP_E_BADINDEX);
        let values = [Variant::UI1(1), Variant::I2(2)];
        assert_eq!(
            code(a.copy_in(0, values.iter())),
            error::DISP_E_TYPEMISMATCH
        );
        a.copy_in(0, values[..1].iter()).unwrap();
        assert_eq!(a.items(), Items::Bytes(b"\x01\xff\x07b"));
        assert_eq!(a.get(4).unwrap_err().code(), error::DISP_E_BADINDEX);
        assert!(SafeArray::from_bytes(b"").unwrap().is_empty());
        assert_eq!(SafeArray::new(1).unwrap().element_vt(), vt::VARIANT);
    }
}
