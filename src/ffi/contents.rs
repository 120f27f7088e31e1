//! The Contents collection by index: count, key, item, set, remove,
//! enumerate and copy. Indexes are 0-based; a bad one is
//! `SESS_DISP_E_BADINDEX`.

use std::ffi::c_char;

use super::handle::sess_session;
use super::variant::{read_arg, sess_variant, store, store_copy};
use super::{boundary, put_required, sess_result, session, text, write_text};
use crate::error::{self as err, Error};
use crate::variant::{SafeArray, Variant, MAX_ARRAY_DEPTH};

/// The number of Contents items, in `*out_count` (Count).
#[no_mangle]
pub unsafe extern "C" fn sess_contents_count(
    s: *mut sess_session,
    out_count: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle; out NULL or writable.
        unsafe { put_required(out_count, session(s)?.count(), "out_count") }?;
        Ok(err::S_OK)
    })
}

/// The key (original spelling) of item `index`, written to `buf` (Key).
#[no_mangle]
pub unsafe extern "C" fn sess_contents_key_at(
    s: *mut sess_session,
    index: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        let (key, _) = s.item_at(index)?;
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(key, buf, buf_len, out_len) }
    })
}

/// Copies the value of item `index` into `*out` (initialised; cleared
/// first; Item(index)). The caller owns the copy.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_get_at(
    s: *mut sess_session,
    index: usize,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        super::require(out, "out")?;
        let value = s.item_at(index)?.1;
        // SAFETY: out is initialised per the contract.
        unsafe { store_copy(out, value) }?;
        Ok(err::S_OK)
    })
}

/// Replaces the value of item `index` with a deep copy of `*value`.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_set_at(
    s: *mut sess_session,
    index: usize,
    value: *const sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NULL or initialised.
        let value = unsafe { read_arg(value, "value") }?;
        s.set_at(index, value)?;
        Ok(err::S_OK)
    })
}

/// Removes `name` (case-insensitive); later items move down one index.
/// `SESS_S_FALSE` if there was no such item (Remove). The removed value
/// (an object's reference, too) is released when the unit of work ends: it
/// is kept until then so a failed request can put it back.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_remove(
    s: *mut sess_session,
    name: *const c_char,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        Ok(if s.remove(name)? {
            err::S_OK
        } else {
            err::S_FALSE
        })
    })
}

/// Removes item `index`; later items move down one index (RemoveAt).
#[no_mangle]
pub unsafe extern "C" fn sess_contents_remove_at(
    s: *mut sess_session,
    index: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        unsafe { session(s) }?.remove_at(index)?;
        Ok(err::S_OK)
    })
}

/// Removes every item (RemoveAll / Clear); the session itself stays.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_remove_all(s: *mut sess_session) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        unsafe { session(s) }?.remove_all()?;
        Ok(err::S_OK)
    })
}

/// Enumerates the keys: `*out` (initialised; cleared first) receives a
/// `SESS_VT_ARRAY | SESS_VT_VARIANT` of `SESS_VT_BSTR` keys in order, as
/// `For Each key In Session.Contents` sees them. The caller owns it.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_keys(
    s: *mut sess_session,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        let keys: Vec<Variant> = s.contents().iter().map(|(k, _)| Variant::bstr(k)).collect();
        // SAFETY: NULL or initialised.
        unsafe { store(out, Variant::Array(Box::new(SafeArray::from(keys)))) }?;
        Ok(err::S_OK)
    })
}

/// Copies the values (CopyTo): `*out` (initialised; cleared first) receives
/// a `SESS_VT_ARRAY | SESS_VT_VARIANT` of deep copies in order. The caller
/// owns it. A value already nesting arrays 32 levels deep is
/// `SESS_E_INVALIDARG` (the copy would nest deeper), `*out` unchanged.
#[no_mangle]
pub unsafe extern "C" fn sess_contents_copy(
    s: *mut sess_session,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        if s.contents()
            .iter()
            .any(|(_, v)| v.array_depth() >= MAX_ARRAY_DEPTH)
        {
            return Err(Error::new(
                err::E_INVALIDARG,
                format!("arrays nest at most {MAX_ARRAY_DEPTH} levels: a value is that deep"),
            ));
        }
        let values: Vec<Variant> = s.contents().iter().map(|(_, v)| v.clone()).collect();
        // SAFETY: NULL or initialised.
        unsafe { store(out, Variant::Array(Box::new(SafeArray::from(values)))) }?;
        Ok(err::S_OK)
    })
}

#[cfg(test)]
mod tests {
    use std::ptr::{null, null_mut};

    use super::*;
    use crate::ffi::app::{sess_app_create, sess_app_release};
    use crate::ffi::array::{sess_array_create, sess_array_set};
    use crate::ffi::session::{sess_session_close, sess_session_create, sess_value_set};
    use crate::ffi::variant::{sess_variant_clear, sess_variant_init};
    use crate::variant::vt;

    /// A value nested as deep as arrays may be cannot be copied into one
    /// more array: that array would be deeper than the limit (which a
    /// serialising store then cannot read back).
    #[test]
    fn copying_values_never_nests_arrays_past_the_limit() {
        // SAFETY: handles and variants made here, each freed once.
        unsafe {
            let (mut app, mut s) = (null_mut(), null_mut());
            assert_eq!(sess_app_create(null(), &mut app), err::S_OK);
            assert_eq!(sess_session_create(app, &mut s), err::S_OK);
            // `v` nests MAX_ARRAY_DEPTH arrays.
            let mut v = std::mem::zeroed();
            sess_variant_init(&mut v);
            for _ in 0..MAX_ARRAY_DEPTH {
                let mut arr = null_mut();
                assert_eq!(sess_array_create(1, &mut arr), err::S_OK);
                assert_eq!(sess_array_set(arr, 0, &v), err::S_OK);
                assert_eq!(sess_variant_clear(&mut v), err::S_OK);
                v.vt = vt::ARRAY | vt::VARIANT;
                v.v.parray = arr;
            }
            assert_eq!(sess_value_set(s, c"deep".as_ptr(), &v), err::S_OK);
            assert_eq!(sess_variant_clear(&mut v), err::S_OK);
            let mut out = std::mem::zeroed();
            sess_variant_init(&mut out);
            assert_eq!(sess_contents_copy(s, &mut out), err::E_INVALIDARG);
            assert_eq!(out.vt, vt::EMPTY, "nothing written on failure");
            assert_eq!(sess_session_close(s), err::S_OK);
            sess_app_release(app);
        }
    }
}
