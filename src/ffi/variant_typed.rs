//! Typed variant setters and getters: `sess_variant_set_i4(&v, 42)` instead
//! of writing `vt` and the union by hand, and `sess_variant_get_i4(&v, &n)`,
//! which converts whatever `v` holds by `sess_variant_change_type`'s rules.

use super::variant::{
    checked_date, overwrite_scalar, read_arg, replace, scalar, sess_variant, sess_variant_value,
    sess_vartype, store,
};
use super::{boundary, put_required, sess_result};
use crate::error::{self as err, Result};
use crate::variant::{self, date, vt, Variant, VARIANT_FALSE, VARIANT_TRUE};

/// Stores `value`, of type `tag` and owning nothing, in `*v` (NULL, or
/// initialised: cleared first).
///
/// # Safety
/// `v` NULL or an initialised variant; `value`'s live field the one `tag`
/// names.
// The value comes in its C form: a Rust `Variant` here would be dropped
// by a call even on the fast path, which is a tag check and a store.
#[inline(always)]
unsafe fn set(v: *mut sess_variant, tag: sess_vartype, value: sess_variant_value) -> sess_result {
    boundary(|| {
        let new = || sess_variant::of_scalar(tag, value);
        // SAFETY: per the caller.
        if unsafe { overwrite_scalar(v, new()) } {
            return Ok(err::S_OK);
        }
        // SAFETY: per the caller.
        unsafe { replace(v, new) }?;
        Ok(err::S_OK)
    })
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_I2`.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_i2(v: *mut sess_variant, value: i16) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::I2, sess_variant_value { iVal: value }) }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_I4`.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_i4(v: *mut sess_variant, value: i32) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::I4, sess_variant_value { lVal: value }) }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_I8`.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_i8(v: *mut sess_variant, value: i64) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::I8, sess_variant_value { llVal: value }) }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_UI1`.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_ui1(v: *mut sess_variant, value: u8) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::UI1, sess_variant_value { bVal: value }) }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_UI4`.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_ui4(v: *mut sess_variant, value: u32) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::UI4, sess_variant_value { ulVal: value }) }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_UI8`.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_ui8(v: *mut sess_variant, value: u64) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::UI8, sess_variant_value { ullVal: value }) }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_R8`.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_r8(v: *mut sess_variant, value: f64) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::R8, sess_variant_value { dblVal: value }) }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_BOOL` (stored as `SESS_VARIANT_TRUE` or
/// `SESS_VARIANT_FALSE`).
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_bool(v: *mut sess_variant, value: bool) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe {
        set(
            v,
            vt::BOOL,
            sess_variant_value {
                boolVal: if value { VARIANT_TRUE } else { VARIANT_FALSE },
            },
        )
    }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_CY`: `value` is the amount
/// times 10,000 (12.5 is 125000).
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_cy(v: *mut sess_variant, value: i64) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::CY, sess_variant_value { cyVal: value }) }
}

/// Sets `v` (initialised; cleared first) to a `SESS_VT_DATE`: days since
/// 1899-12-30, the fraction the time of day. A date outside 100-01-01 ...
/// 9999-12-31 (or NaN) is `SESS_E_INVALIDARG` with `v` untouched.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_date(v: *mut sess_variant, value: f64) -> sess_result {
    boundary(|| {
        let date = checked_date(value)?;
        // SAFETY: per the contract, v is NULL or initialised.
        unsafe { store(v, date) }?;
        Ok(err::S_OK)
    })
}

/// Sets `v` (initialised; cleared first) to `SESS_VT_NULL` (SQL's NULL, not
/// empty: `sess_variant_clear` makes it `SESS_VT_EMPTY`).
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_null(v: *mut sess_variant) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised.
    unsafe { set(v, vt::NULL, sess_variant_value { ullVal: 0 }) }
}

/// Converts `*v` to `TARGET` (a type whose values own nothing) as
/// `sess_variant_change_type` does with LCID 0 (en-US text) and no flags,
/// and writes the result's union field that `field` reads to `*out`. A
/// value already of type `TARGET` is taken as it is (what `change_type`
/// would return).
///
/// # Safety
/// `v` NULL or an initialised variant; `out` NULL or writable; `field`
/// reads the union field that `TARGET` makes live.
// The type a constant and `field` a type parameter, so that each getter's
// fast path folds to a tag check and a load (no Rust `Variant`, whose drop
// would be a call); the general path is a call.
#[inline(always)]
unsafe fn get<T, const TARGET: u16>(
    v: *const sess_variant,
    out: *mut T,
    field: impl Fn(&sess_variant_value) -> T,
) -> sess_result {
    boundary(|| {
        // The fast path: a value already of the type, to a non-NULL
        // `out`, is read in place; anything else (and a date the reader
        // refuses) takes the general path.
        // SAFETY: per the caller.
        if let (Some(src), false) = (unsafe { v.as_ref() }, out.is_null()) {
            // SAFETY: `date` is live when the tag is DATE.
            if src.vt == TARGET && (TARGET != vt::DATE || date::in_range(unsafe { src.v.date })) {
                // SAFETY: non-NULL and writable per the caller.
                unsafe { out.write(field(&src.v)) };
                return Ok(err::S_OK);
            }
        }
        // SAFETY: per the caller.
        unsafe { convert(v, out, TARGET, field) }
    })
}

/// [`get`]'s general path: `v` converted by `change_type`'s rules.
///
/// # Safety
/// As [`get`], with `target` for `TARGET`.
#[inline(never)]
unsafe fn convert<T>(
    v: *const sess_variant,
    out: *mut T,
    target: u16,
    field: impl Fn(&sess_variant_value) -> T,
) -> Result<sess_result> {
    // SAFETY: per the caller.
    let value = unsafe { read_arg(v, "v") }?;
    let c = scalar_as(&value, 0, 0, target)?;
    // SAFETY: per the caller.
    unsafe { put_required(out, field(&c.v), "out") }?;
    Ok(err::S_OK)
}

/// `value` converted by `change_type`'s rules (`lcid`, `flags`) to
/// `target`, a type whose values own nothing, in its C form.
pub(super) fn scalar_as(
    value: &Variant,
    lcid: u32,
    flags: u16,
    target: u16,
) -> Result<sess_variant> {
    let converted = variant::change_type(value, lcid, flags, target)?;
    let c = scalar(&converted).expect("change_type returns a value of the type asked for");
    debug_assert_eq!(c.vt, target);
    Ok(c)
}

/// Writes `v`'s value as an `int16_t` to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_i2(v: *const sess_variant, out: *mut i16) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::I2 }>(v, out, |u| u.iVal) }
}

/// Writes `v`'s value as an `int32_t` to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_i4(v: *const sess_variant, out: *mut i32) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::I4 }>(v, out, |u| u.lVal) }
}

/// Writes `v`'s value as an `int64_t` to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_i8(v: *const sess_variant, out: *mut i64) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::I8 }>(v, out, |u| u.llVal) }
}

/// Writes `v`'s value as a `uint8_t` to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_ui1(v: *const sess_variant, out: *mut u8) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::UI1 }>(v, out, |u| u.bVal) }
}

/// Writes `v`'s value as a `uint32_t` to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_ui4(
    v: *const sess_variant,
    out: *mut u32,
) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::UI4 }>(v, out, |u| u.ulVal) }
}

/// Writes `v`'s value as a `uint64_t` to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_ui8(
    v: *const sess_variant,
    out: *mut u64,
) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::UI8 }>(v, out, |u| u.ullVal) }
}

/// Writes `v`'s value as a `double` to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_r8(v: *const sess_variant, out: *mut f64) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::R8 }>(v, out, |u| u.dblVal) }
}

/// Writes `v`'s value as a `bool` to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_bool(
    v: *const sess_variant,
    out: *mut bool,
) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::BOOL }>(v, out, |u| u.boolVal != 0) }
}

/// Writes `v`'s value as currency (the amount times 10,000) to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_cy(v: *const sess_variant, out: *mut i64) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::CY }>(v, out, |u| u.cyVal) }
}

/// Writes `v`'s value as a date (days since 1899-12-30) to `*out`, converted as
/// `sess_variant_change_type` does (LCID 0: en-US text; no flags):
/// `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` if
/// it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a mismatch).
/// `*out` is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_get_date(
    v: *const sess_variant,
    out: *mut f64,
) -> sess_result {
    // SAFETY: per the contract, v is NULL or initialised, out NULL or
    // writable; the field read is the one the type makes live.
    unsafe { get::<_, { vt::DATE }>(v, out, |u| u.date) }
}

#[cfg(test)]
mod tests {
    use super::super::variant::{sess_variant_clear, sess_variant_init, sess_variant_set_bstr};
    use super::*;

    fn empty() -> sess_variant {
        let mut v = std::mem::MaybeUninit::uninit();
        // SAFETY: init writes the whole variant.
        unsafe {
            sess_variant_init(v.as_mut_ptr());
            v.assume_init()
        }
    }

    #[test]
    fn setters_write_the_tag_and_the_value() {
        let mut v = empty();
        // SAFETY: v is initialised; each union read matches the tag just set.
        unsafe {
            assert_eq!(sess_variant_set_i4(&mut v, -7), err::S_OK);
            assert_eq!((v.vt, v.v.lVal), (vt::I4, -7));
            assert_eq!(sess_variant_set_i8(&mut v, i64::MIN), err::S_OK);
            assert_eq!((v.vt, v.v.llVal), (vt::I8, i64::MIN));
            assert_eq!(sess_variant_set_bool(&mut v, true), err::S_OK);
            assert_eq!((v.vt, v.v.boolVal), (vt::BOOL, -1));
            assert_eq!(sess_variant_set_cy(&mut v, 125_000), err::S_OK);
            assert_eq!((v.vt, v.v.cyVal), (vt::CY, 125_000));
            assert_eq!(sess_variant_set_null(&mut v), err::S_OK);
            assert_eq!(v.vt, vt::NULL);
            assert_eq!(sess_variant_set_date(&mut v, 45_000.5), err::S_OK);
            assert_eq!((v.vt, v.v.date), (vt::DATE, 45_000.5));
            assert_eq!(sess_variant_set_date(&mut v, f64::NAN), err::E_INVALIDARG);
            assert_eq!((v.vt, v.v.date), (vt::DATE, 45_000.5));
            // A string is freed when a typed value replaces it.
            assert_eq!(sess_variant_set_bstr(&mut v, c"x".as_ptr(), 1), err::S_OK);
            assert_eq!(sess_variant_set_r8(&mut v, 2.5), err::S_OK);
            assert_eq!((v.vt, v.v.dblVal), (vt::R8, 2.5));
            assert_eq!(sess_variant_set_i4(std::ptr::null_mut(), 1), err::E_POINTER);
        }
    }

    #[test]
    fn the_fast_paths_leave_every_edge_to_the_general_path() {
        let mut v = empty();
        let (mut i, mut d) = (5i32, 0f64);
        // SAFETY: v is initialised; the union writes match the tags set.
        unsafe {
            // Of the asked type, but no out: E_POINTER, as before.
            assert_eq!(sess_variant_set_i4(&mut v, 7), err::S_OK);
            assert_eq!(
                sess_variant_get_i4(&v, std::ptr::null_mut()),
                err::E_POINTER
            );
            // Of the asked type: the value as it is, as change_type gives
            // it; but a date past OLE's range (or NaN) is refused as
            // wherever a variant is read, `*out` untouched.
            v.vt = vt::DATE;
            v.v.date = 45_000.25;
            assert_eq!(sess_variant_get_date(&v, &mut d), err::S_OK);
            assert_eq!(d, 45_000.25);
            for bad in [1e9, f64::NAN, f64::NEG_INFINITY] {
                v.v.date = bad;
                assert_eq!(sess_variant_get_date(&v, &mut d), err::E_INVALIDARG);
                assert_eq!(d, 45_000.25);
            }
            // A bad tag is neither overwritten, read nor cleared.
            v.vt = 14;
            v.v.ullVal = 0xDEAD_BEEF;
            assert_eq!(sess_variant_set_i4(&mut v, 1), err::DISP_E_BADVARTYPE);
            assert_eq!(sess_variant_get_i4(&v, &mut i), err::DISP_E_BADVARTYPE);
            assert_eq!(i, 5);
            assert_eq!(sess_variant_clear(&mut v), err::DISP_E_BADVARTYPE);
            assert_eq!((v.vt, v.v.ullVal), (14, 0xDEAD_BEEF));
        }
    }

    #[test]
    fn getters_convert_by_change_type_rules() {
        let mut v = empty();
        let (mut i, mut i2, mut b, mut d) = (0i32, 9i16, false, 0f64);
        // SAFETY: v is initialised; outputs are writable locals.
        unsafe {
            sess_variant_set_bstr(&mut v, c" 42 ".as_ptr(), usize::MAX);
            assert_eq!(sess_variant_get_i4(&v, &mut i), err::S_OK);
            assert_eq!(i, 42);
            assert_eq!(sess_variant_get_r8(&v, &mut d), err::S_OK);
            assert_eq!(d, 42.0);
            assert_eq!(sess_variant_get_bool(&v, &mut b), err::S_OK);
            assert!(b);
            sess_variant_set_r8(&mut v, 2.5);
            assert_eq!(sess_variant_get_i4(&v, &mut i), err::S_OK);
            assert_eq!(i, 2, "banker's rounding, as VariantChangeType");
            sess_variant_set_i4(&mut v, 40_000);
            assert_eq!(sess_variant_get_i2(&v, &mut i2), err::DISP_E_OVERFLOW);
            assert_eq!(i2, 9, "written only on success");
            sess_variant_set_bstr(&mut v, c"abc".as_ptr(), usize::MAX);
            assert_eq!(sess_variant_get_i4(&v, &mut i), err::DISP_E_TYPEMISMATCH);
            sess_variant_set_null(&mut v);
            assert_eq!(sess_variant_get_i4(&v, &mut i), err::DISP_E_TYPEMISMATCH);
            sess_variant_clear(&mut v);
            assert_eq!(sess_variant_get_i4(&v, &mut i), err::S_OK);
            assert_eq!(i, 0);
            assert_eq!(
                sess_variant_get_i4(std::ptr::null(), &mut i),
                err::E_POINTER
            );
            assert_eq!(
                sess_variant_get_i4(&v, std::ptr::null_mut()),
                err::E_POINTER
            );
        }
    }
}
