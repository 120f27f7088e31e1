//! `sess_array`: one-dimensional, zero-based arrays of variants (the value
//! of a `SESS_VT_ARRAY | SESS_VT_VARIANT` variant).

use super::handle::{self, sess_array};
use super::variant::{read_arg, sess_variant, store_copy};
use super::{boundary, put_required, sess_result};
use crate::error::{self as err, Error};
use crate::variant::{SafeArray, Variant, MAX_ARRAY_DEPTH};

/// Creates an array of `len` `SESS_VT_EMPTY` elements in `*out`. More than
/// 16,777,216 elements, or more than memory allows, is
/// `SESS_E_OUTOFMEMORY`.
///
/// The caller owns it: free it with `sess_array_destroy`, or hand it to a
/// variant (`vt = SESS_VT_ARRAY | SESS_VT_VARIANT`, `v.parray = array`),
/// which then owns it and frees it in `sess_variant_clear`.
#[no_mangle]
pub unsafe extern "C" fn sess_array_create(len: usize, out: *mut *mut sess_array) -> sess_result {
    boundary(|| {
        super::require(out, "out")?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { handle::hand_out(out, SafeArray::new(len)?) }?;
        Ok(err::S_OK)
    })
}

/// Frees an array the caller owns (not one a variant owns). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sess_array_destroy(array: *mut sess_array) {
    super::boundary_void(|| {
        // SAFETY: NULL or made by sess_array_create and owned by the caller.
        drop(unsafe { handle::take(array) });
        Ok(())
    });
}

/// The number of elements, in `*out_len`.
#[no_mangle]
pub unsafe extern "C" fn sess_array_length(
    array: *const sess_array,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live array per the contract.
        let arr = unsafe { handle::get(array, "array") }?;
        // SAFETY: NULL or writable per the contract.
        unsafe { put_required(out_len, arr.len(), "out_len") }?;
        Ok(err::S_OK)
    })
}

/// Copies element `index` into `*out` (initialised; cleared first). A bad
/// index is `SESS_DISP_E_BADINDEX`. The caller owns the copy.
#[no_mangle]
pub unsafe extern "C" fn sess_array_get(
    array: *const sess_array,
    index: usize,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live array per the contract.
        let arr = unsafe { handle::get(array, "array") }?;
        super::require(out, "out")?;
        let value = arr.get(index)?;
        // SAFETY: out is an initialised variant per the contract.
        unsafe { store_copy(out, value) }?;
        Ok(err::S_OK)
    })
}

/// Copies `value` into element `index` (a deep copy; the caller keeps
/// `value`). A bad index is `SESS_DISP_E_BADINDEX`; arrays nested deeper than
/// 32 levels are `SESS_E_INVALIDARG`.
#[no_mangle]
pub unsafe extern "C" fn sess_array_set(
    array: *mut sess_array,
    index: usize,
    value: *const sess_variant,
) -> sess_result {
    boundary(|| {
        // Read (copied) before the array is borrowed mutably: `value` may
        // hold this very array.
        // SAFETY: NULL or initialised per the contract.
        let v: Variant = unsafe { read_arg(value, "value") }?;
        // SAFETY: NULL or a live array per the contract.
        let arr = unsafe { handle::get_mut(array, "array") }?;
        if v.array_depth() >= MAX_ARRAY_DEPTH {
            return Err(Error::new(
                err::E_INVALIDARG,
                format!("arrays nest at most {MAX_ARRAY_DEPTH} levels"),
            ));
        }
        arr.set(index, v)?;
        Ok(err::S_OK)
    })
}
