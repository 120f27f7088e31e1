//! `sess_array`: one-dimensional, zero-based arrays of variants (the value
//! of a `SESS_VT_ARRAY | SESS_VT_VARIANT` variant) or of bytes (of a
//! `SESS_VT_ARRAY | SESS_VT_UI1` one).

use std::ffi::c_void;

use super::handle::{self, sess_array};
use super::variant::{read_arg, sess_variant, sess_vartype, store};
use super::{boundary, put, put_required, require, sess_result};
use crate::error::{self as err, Error};
use crate::variant::{check_len, Items, SafeArray, Variant, MAX_ARRAY_DEPTH};

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
        require(out, "out")?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { handle::hand_out(out, SafeArray::new(len)?) }?;
        Ok(err::S_OK)
    })
}

/// Creates an array of bytes in `*out`, a copy of the `len` bytes at `data`
/// (NULL only with `len` 0): binary data, as ASP holds it. More than
/// 16,777,216 bytes, or more than memory allows, is `SESS_E_OUTOFMEMORY`.
///
/// The caller owns it, as one from `sess_array_create`; a variant holding
/// it is tagged `SESS_VT_ARRAY | SESS_VT_UI1`.
#[no_mangle]
pub unsafe extern "C" fn sess_array_create_bytes(
    data: *const c_void,
    len: usize,
    out: *mut *mut sess_array,
) -> sess_result {
    boundary(|| {
        require(out, "out")?;
        // The limit before the bytes: a longer `len` is never read.
        check_len(len)?;
        // SAFETY: NULL or readable for len bytes per the contract.
        let bytes = unsafe { super::bytes(data.cast(), len, "data") }?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { handle::hand_out(out, SafeArray::from_bytes(bytes)?) }?;
        Ok(err::S_OK)
    })
}

/// The element type, in `*out_vt`: `SESS_VT_VARIANT` for an array from
/// `sess_array_create`, `SESS_VT_UI1` for one of bytes. A variant holding
/// the array is tagged `SESS_VT_ARRAY` with it.
#[no_mangle]
pub unsafe extern "C" fn sess_array_vartype(
    array: *const sess_array,
    out_vt: *mut sess_vartype,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live array per the contract.
        let arr = unsafe { handle::get(array, "array") }?;
        // SAFETY: NULL or writable per the contract.
        unsafe { put_required(out_vt, arr.element_vt(), "out_vt") }?;
        Ok(err::S_OK)
    })
}

/// The bytes of an array of bytes: `*out_data` points to its `*out_len`
/// bytes (NULL when it has none), borrowed from the array: valid until the
/// array is changed or freed. An array of variants is
/// `SESS_DISP_E_TYPEMISMATCH`.
#[no_mangle]
pub unsafe extern "C" fn sess_array_bytes(
    array: *const sess_array,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live array per the contract.
        let arr = unsafe { handle::get(array, "array") }?;
        require(out_data, "out_data")?;
        require(out_len, "out_len")?;
        let Items::Bytes(bytes) = arr.items() else {
            return Err(Error::new(
                err::DISP_E_TYPEMISMATCH,
                "the array holds variants, not bytes",
            ));
        };
        let data = if bytes.is_empty() {
            std::ptr::null()
        } else {
            bytes.as_ptr()
        };
        // SAFETY: both checked non-NULL; writable per the contract.
        unsafe {
            put(out_data, data);
            put(out_len, bytes.len());
        }
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

/// Copies element `index` into `*out` (initialised; cleared first): a byte
/// of an array of bytes as a `SESS_VT_UI1`. A bad index is
/// `SESS_DISP_E_BADINDEX`. The caller owns the copy.
#[no_mangle]
pub unsafe extern "C" fn sess_array_get(
    array: *const sess_array,
    index: usize,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live array per the contract.
        let arr = unsafe { handle::get(array, "array") }?;
        require(out, "out")?;
        let value = arr.get(index)?;
        // SAFETY: out is an initialised variant per the contract.
        unsafe { store(out, value) }?;
        Ok(err::S_OK)
    })
}

/// Copies `value` into element `index` (a deep copy; the caller keeps
/// `value`). A bad index is `SESS_DISP_E_BADINDEX`; arrays nested deeper than
/// 32 levels are `SESS_E_INVALIDARG`; an element of an array of bytes takes
/// only a `SESS_VT_UI1` (else `SESS_DISP_E_TYPEMISMATCH`).
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

#[cfg(test)]
mod tests {
    use std::ptr::{null, null_mut};

    use super::*;
    use crate::ffi::variant::{sess_variant_clear, sess_variant_copy, sess_variant_init};
    use crate::ffi::variant_typed::{sess_variant_set_i4, sess_variant_set_ui1};
    use crate::variant::{vt, MAX_ARRAY_LEN};

    /// An initialised `VT_EMPTY` variant.
    fn empty() -> sess_variant {
        // SAFETY: any bytes are overwritten by the init.
        let mut v: sess_variant = unsafe { std::mem::zeroed() };
        // SAFETY: a writable variant.
        unsafe { sess_variant_init(&mut v) };
        v
    }

    /// A length past the limit is `SESS_E_OUTOFMEMORY`, as documented,
    /// however large (even past any object's size): the bytes are never
    /// read.
    #[test]
    fn byte_arrays_past_the_limit_are_out_of_memory() {
        let data = [0u8; 4];
        for len in [MAX_ARRAY_LEN + 1, isize::MAX as usize, usize::MAX] {
            let mut arr = null_mut();
            // SAFETY: the length is refused before anything is read.
            let rc = unsafe { sess_array_create_bytes(data.as_ptr().cast(), len, &mut arr) };
            assert_eq!(rc, err::E_OUTOFMEMORY, "{len}");
            assert!(arr.is_null());
        }
    }

    #[test]
    fn arrays_of_bytes() {
        // SAFETY: live arrays and initialised variants, each freed once.
        unsafe {
            let mut arr = null_mut();
            let data = b"\x00\xffab";
            assert_eq!(
                sess_array_create_bytes(data.as_ptr().cast(), 4, &mut arr),
                err::S_OK
            );
            let mut tag = 0;
            assert_eq!(sess_array_vartype(arr, &mut tag), err::S_OK);
            assert_eq!(tag, vt::UI1);
            let (mut bytes, mut len) = (null(), 0);
            assert_eq!(sess_array_bytes(arr, &mut bytes, &mut len), err::S_OK);
            assert_eq!(std::slice::from_raw_parts(bytes, len), data);
            let mut e = empty();
            assert_eq!(sess_array_get(arr, 1, &mut e), err::S_OK);
            assert_eq!((e.vt, e.v.bVal), (vt::UI1, 255));
            assert_eq!(sess_variant_set_i4(&mut e, 7), err::S_OK);
            assert_eq!(sess_array_set(arr, 0, &e), err::DISP_E_TYPEMISMATCH);
            assert_eq!(sess_variant_set_ui1(&mut e, 7), err::S_OK);
            assert_eq!(sess_array_set(arr, 0, &e), err::S_OK);
            // The bytes lent before the change are stale: lent again.
            assert_eq!(sess_array_bytes(arr, &mut bytes, &mut len), err::S_OK);
            assert_eq!(std::slice::from_raw_parts(bytes, len), b"\x07\xffab");

            // A variant holding it copies only under its own tag.
            let mut v = empty();
            v.vt = vt::ARRAY | vt::UI1;
            v.v.parray = arr;
            let mut copy = empty();
            assert_eq!(sess_variant_copy(&mut copy, &v), err::S_OK);
            assert_eq!(copy.vt, vt::ARRAY | vt::UI1);
            v.vt = vt::ARRAY | vt::VARIANT;
            assert_eq!(sess_variant_copy(&mut e, &v), err::E_INVALIDARG);
            v.vt = vt::ARRAY | vt::UI1;
            assert_eq!(sess_variant_clear(&mut v), err::S_OK);
            assert_eq!(sess_variant_clear(&mut copy), err::S_OK);

            // Empty, and bad arguments.
            assert_eq!(sess_array_create_bytes(null(), 0, &mut arr), err::S_OK);
            assert_eq!(sess_array_bytes(arr, &mut bytes, &mut len), err::S_OK);
            assert_eq!((bytes, len), (null(), 0));
            sess_array_destroy(arr);
            assert_eq!(sess_array_create_bytes(null(), 1, &mut arr), err::E_POINTER);
            // An array of variants has no bytes.
            assert_eq!(sess_array_create(1, &mut arr), err::S_OK);
            assert_eq!(sess_array_vartype(arr, &mut tag), err::S_OK);
            assert_eq!(tag, vt::VARIANT);
            assert_eq!(
                sess_array_bytes(arr, &mut bytes, &mut len),
                err::DISP_E_TYPEMISMATCH
            );
            sess_array_destroy(arr);
            assert_eq!(sess_variant_clear(&mut e), err::S_OK);
        }
    }
}
