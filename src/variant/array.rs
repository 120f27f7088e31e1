//! One-dimensional, zero-based arrays of variants (`VT_ARRAY | VT_VARIANT`).

use super::Variant;
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
