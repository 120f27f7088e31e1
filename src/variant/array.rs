//! One-dimensional, zero-based arrays of variants (`VT_ARRAY | VT_VARIANT`).

use super::{Variant, MAX_ARRAY_DEPTH};
use crate::error::{self, Error, Result};

/// A SAFEARRAY-like array of variants; its length is fixed at creation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SafeArray {
    items: Vec<Variant>,
}

/// Longest array (16M elements, 384 MiB of variants): larger requests are
/// refused rather than risking the process.
pub const MAX_ARRAY_LEN: usize = 1 << 24;

impl SafeArray {
    /// An array of `len` `VT_EMPTY` elements; longer than [`MAX_ARRAY_LEN`]
    /// or more than memory allows is `E_OUTOFMEMORY`, never an abort.
    pub fn new(len: usize) -> Result<SafeArray> {
        let too_big = || {
            Error::new(
                error::E_OUTOFMEMORY,
                format!("an array of {len} elements is too large (at most {MAX_ARRAY_LEN})"),
            )
        };
        if len > MAX_ARRAY_LEN {
            return Err(too_big());
        }
        let mut items = Vec::new();
        items.try_reserve_exact(len).map_err(|_| too_big())?;
        items.resize(len, Variant::Empty);
        Ok(SafeArray { items })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The element at `index`, or `DISP_E_BADINDEX`.
    pub fn get(&self, index: usize) -> Result<&Variant> {
        self.items
            .get(index)
            .ok_or_else(|| bad_index(index, self.len()))
    }

    /// Replaces the element at `index`, or `DISP_E_BADINDEX`.
    pub fn set(&mut self, index: usize, value: Variant) -> Result<()> {
        let len = self.len();
        let slot = self
            .items
            .get_mut(index)
            .ok_or_else(|| bad_index(index, len))?;
        *slot = value;
        Ok(())
    }

    /// Deep copies of `values`, in order, into this array from `index` on
    /// (`ICollection.CopyTo(array, index)`), with .NET's argument rules:
    /// `index` past the end is `DISP_E_BADINDEX`
    /// (`ArgumentOutOfRangeException`); too few elements from `index` to
    /// the end is `E_INVALIDARG` (`ArgumentException`), as is a value that
    /// would nest arrays deeper than [`MAX_ARRAY_DEPTH`]. On error nothing
    /// is written.
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
        for (slot, v) in self.items[index..].iter_mut().zip(values) {
            *slot = v.clone();
        }
        Ok(())
    }

    /// The elements in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Variant> {
        self.items.iter()
    }
}

impl From<Vec<Variant>> for SafeArray {
    fn from(items: Vec<Variant>) -> Self {
        SafeArray { items }
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
        assert_eq!(a.get(0), Ok(&Variant::Empty));
        assert_eq!(a.get(1), Ok(&Variant::I4(1)));
        assert_eq!(a.get(2), Ok(&Variant::bstr("two")));
        assert_eq!(a.get(3), Ok(&Variant::Empty));
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
}
