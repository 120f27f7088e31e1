//! `sess_variant`: the C form of a value, and its init/clear/copy/convert
//! functions with VariantInit / VariantClear / VariantCopy /
//! VariantChangeTypeEx semantics.

use std::ffi::c_char;

use super::handle::{self, sess_array};
use super::{boundary, deref, deref_mut, require, sess_result};
use crate::error::{self as err, Result};
use crate::variant::{self, check_vt, vt, Object, Unknown, Variant};

/// A variant type tag (`SESS_VT_*`, COM's numbers).
#[allow(non_camel_case_types)]
pub type sess_vartype = u16;

/// A string held by a variant: UTF-8, NUL-terminated, owned by the variant
/// (allocated by the library; free it with `sess_variant_clear`). `len`
/// excludes the NUL. A NULL `ptr` with `len` 0 is the empty string. Both
/// fields are read-only (the block is freed by the size `len` gives): to
/// shorten or replace the text, set a new string (`sess_variant_set_bstr`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sess_bstr {
    /// The bytes, followed by a NUL.
    pub ptr: *mut c_char,
    /// Length in bytes without the NUL.
    pub len: usize,
}

/// The value part of a variant; which field is live depends on `vt`.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(non_snake_case)]
pub union sess_variant_value {
    /// `SESS_VT_I1`.
    pub cVal: i8,
    /// `SESS_VT_UI1`.
    pub bVal: u8,
    /// `SESS_VT_I2`.
    pub iVal: i16,
    /// `SESS_VT_UI2`.
    pub uiVal: u16,
    /// `SESS_VT_I4`.
    pub lVal: i32,
    /// `SESS_VT_UI4`.
    pub ulVal: u32,
    /// `SESS_VT_I8`.
    pub llVal: i64,
    /// `SESS_VT_UI8`.
    pub ullVal: u64,
    /// `SESS_VT_R4`.
    pub fltVal: f32,
    /// `SESS_VT_R8`.
    pub dblVal: f64,
    /// `SESS_VT_BOOL`: `SESS_VARIANT_TRUE` (-1) or `SESS_VARIANT_FALSE` (0).
    pub boolVal: i16,
    /// `SESS_VT_ERROR`.
    pub scode: i32,
    /// `SESS_VT_CY`: the amount times 10,000.
    pub cyVal: i64,
    /// `SESS_VT_DATE`: OLE Automation date (days since 1899-12-30), a day
    /// from 100-01-01 to 9999-12-31; a variant holding any other (or NaN, an
    /// infinity) is `SESS_E_INVALIDARG` wherever the library reads it.
    pub date: f64,
    /// `SESS_VT_BSTR`: owned UTF-8 text.
    pub bstrVal: sess_bstr,
    /// `SESS_VT_ARRAY | SESS_VT_VARIANT`, or `SESS_VT_ARRAY | SESS_VT_UI1`
    /// (bytes): an owned array of that element type.
    pub parray: *mut sess_array,
    /// `SESS_VT_UNKNOWN` / `SESS_VT_DISPATCH`: an object, AddRef'd while held.
    pub punkVal: *mut Unknown,
    /// `SESS_VT_BYREF | t` (an `invoke` argument only): the caller's value
    /// of type `t`, which the variant does not own: a `sess_variant *` for
    /// `SESS_VT_VARIANT`, a `sess_bstr *` for `SESS_VT_BSTR`, a
    /// `sess_unknown **` for an object, a `sess_array **` for an array, a
    /// pointer to the field's type for the others. The value functions
    /// (`sess_variant_clear` among them) refuse the tag with
    /// `SESS_DISP_E_BADVARTYPE`: set `vt` back to `SESS_VT_EMPTY` instead.
    pub byref: *mut std::ffi::c_void,
}

/// A VARIANT: a type tag and a value. 24 bytes on 64-bit targets.
///
/// Initialise with `sess_variant_init` before first use; a variant owns its
/// string, array or object reference until `sess_variant_clear`.
#[repr(C)]
pub struct sess_variant {
    /// The type tag (`SESS_VT_*`).
    pub vt: sess_vartype,
    /// Reserved; 0.
    pub reserved1: u16,
    /// Reserved; 0.
    pub reserved2: u16,
    /// Reserved; 0.
    pub reserved3: u16,
    /// The value.
    pub v: sess_variant_value,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<sess_variant>() == 24);
const _: () = assert!(std::mem::align_of::<sess_variant>() == 8);

/// A `VT_EMPTY` variant.
const EMPTY: sess_variant = sess_variant {
    vt: vt::EMPTY,
    reserved1: 0,
    reserved2: 0,
    reserved3: 0,
    v: sess_variant_value { ullVal: 0 },
};

/// Reads a C variant into a Rust value: a deep copy (strings copied and
/// checked for UTF-8, arrays copied, objects AddRef'd). A `VT_DATE` outside
/// OLE's range (or NaN), which only a variant built by hand can hold, is
/// `E_INVALIDARG`, as `sess_variant_set_date` refuses it.
///
/// # Safety
/// `v` must be a valid, initialised variant.
pub(crate) unsafe fn read(v: &sess_variant) -> Result<Variant> {
    // SAFETY: per the caller.
    if let Some(value) = unsafe { read_scalar(v) } {
        return match value {
            Variant::Date(d) => checked_date(d),
            value => Ok(value),
        };
    }
    let tag = check_vt(v.vt)?;
    // SAFETY: each arm reads the union field `vt` says is live.
    unsafe {
        Ok(match tag {
            vt::BSTR => Variant::Bstr(read_bstr(v.v.bstrVal)?.into()),
            vt::DISPATCH => Variant::Dispatch(Object::from_borrowed(v.v.punkVal)?),
            vt::UNKNOWN => Variant::Unknown(Object::from_borrowed(v.v.punkVal)?),
            _ => {
                let arr = handle::get(v.v.parray, "the variant's array")?;
                if vt::ARRAY | arr.element_vt() != tag {
                    return Err(err::Error::new(
                        err::E_INVALIDARG,
                        format!(
                            "the variant's type {tag:#06x} is not its array's {:#06x}",
                            vt::ARRAY | arr.element_vt()
                        ),
                    ));
                }
                Variant::Array(Box::new(arr.clone()))
            }
        })
    }
}

/// `value` as a `Variant::Date` if it is in OLE's range (100-01-01 ...
/// 9999-12-31), else `E_INVALIDARG`.
pub(crate) fn checked_date(value: f64) -> Result<Variant> {
    if !variant::date::in_range(value) {
        return Err(err::Error::new(
            err::E_INVALIDARG,
            format!("date {value:?} is outside 100-01-01 ... 9999-12-31"),
        ));
    }
    Ok(Variant::Date(value))
}

/// The value of a C variant that owns nothing (the inverse of [`scalar`]);
/// `None` for a string, object, array or bad tag.
///
/// # Safety
/// `v` must be a valid, initialised variant.
#[inline]
pub(crate) unsafe fn read_scalar(v: &sess_variant) -> Option<Variant> {
    // SAFETY: each arm reads the union field `vt` says is live.
    unsafe {
        Some(match v.vt {
            vt::EMPTY => Variant::Empty,
            vt::NULL => Variant::Null,
            vt::I2 => Variant::I2(v.v.iVal),
            vt::I4 => Variant::I4(v.v.lVal),
            vt::R4 => Variant::R4(v.v.fltVal),
            vt::R8 => Variant::R8(v.v.dblVal),
            vt::CY => Variant::Cy(v.v.cyVal),
            vt::DATE => Variant::Date(v.v.date),
            vt::ERROR => Variant::Error(v.v.scode),
            vt::BOOL => Variant::Bool(v.v.boolVal),
            vt::I1 => Variant::I1(v.v.cVal),
            vt::UI1 => Variant::UI1(v.v.bVal),
            vt::UI2 => Variant::UI2(v.v.uiVal),
            vt::UI4 => Variant::UI4(v.v.ulVal),
            vt::I8 => Variant::I8(v.v.llVal),
            vt::UI8 => Variant::UI8(v.v.ullVal),
            _ => return None,
        })
    }
}

/// # Safety
/// `b.ptr`, if non-NULL, must be readable for `b.len` bytes.
unsafe fn read_bstr<'a>(b: sess_bstr) -> Result<&'a str> {
    // SAFETY: forwarded to the caller.
    unsafe { super::text_n(b.ptr, b.len, "the variant's string") }
}

/// The C form of a value that owns nothing (no string, object or array),
/// read straight from `value`, nothing cloned; `None` for one that owns.
#[inline]
pub(crate) fn scalar(value: &Variant) -> Option<sess_variant> {
    let v = match *value {
        Variant::Empty | Variant::Null => sess_variant_value { ullVal: 0 },
        Variant::I2(x) => sess_variant_value { iVal: x },
        Variant::I4(x) => sess_variant_value { lVal: x },
        Variant::R4(x) => sess_variant_value { fltVal: x },
        Variant::R8(x) => sess_variant_value { dblVal: x },
        Variant::Cy(x) => sess_variant_value { cyVal: x },
        Variant::Date(x) => sess_variant_value { date: x },
        Variant::Error(x) => sess_variant_value { scode: x },
        Variant::Bool(b) => sess_variant_value { boolVal: b },
        Variant::I1(x) => sess_variant_value { cVal: x },
        Variant::UI1(x) => sess_variant_value { bVal: x },
        Variant::UI2(x) => sess_variant_value { uiVal: x },
        Variant::UI4(x) => sess_variant_value { ulVal: x },
        Variant::I8(x) => sess_variant_value { llVal: x },
        Variant::UI8(x) => sess_variant_value { ullVal: x },
        Variant::Bstr(_) | Variant::Dispatch(_) | Variant::Unknown(_) | Variant::Array(_) => {
            return None
        }
    };
    Some(sess_variant::of_scalar(value.vt(), v))
}

impl sess_variant {
    /// A variant of type `vt` whose value `v` owns nothing (a number, date,
    /// boolean, error code, Empty or Null): no string, object or array.
    pub(crate) const fn of_scalar(vt: sess_vartype, v: sess_variant_value) -> sess_variant {
        sess_variant { vt, v, ..EMPTY }
    }
}

/// Turns a Rust value into a C variant, handing ownership to it.
pub(crate) fn write(value: Variant) -> sess_variant {
    scalar(&value).unwrap_or_else(|| {
        let vt = value.vt();
        let v = match value {
            Variant::Bstr(s) => sess_variant_value {
                bstrVal: alloc_bstr(&s),
            },
            Variant::Dispatch(o) | Variant::Unknown(o) => sess_variant_value {
                punkVal: o.into_raw(),
            },
            Variant::Array(a) => sess_variant_value {
                parray: Box::into_raw(a).cast(),
            },
            _ => unreachable!("scalars are written above"),
        };
        sess_variant { vt, v, ..EMPTY }
    })
}

fn alloc_bstr(s: &str) -> sess_bstr {
    let mut bytes = Vec::with_capacity(s.len() + 1);
    bytes.extend_from_slice(s.as_bytes());
    bytes.push(0);
    let len = s.len();
    sess_bstr {
        ptr: Box::into_raw(bytes.into_boxed_slice()).cast::<c_char>(),
        len,
    }
}

/// A C copy of `value` (the caller owns it): as `write(value.clone())`,
/// but a scalar is read in place and a string copied once, straight into
/// its C form; only objects (AddRef'd) and arrays go through a clone.
fn write_copy(value: &Variant) -> sess_variant {
    scalar(value).unwrap_or_else(|| match value {
        Variant::Bstr(s) => sess_variant {
            vt: vt::BSTR,
            v: sess_variant_value {
                bstrVal: alloc_bstr(s),
            },
            ..EMPTY
        },
        other => write(other.clone()),
    })
}

/// Whether a variant tagged `tag` owns nothing: a valid tag whose value is
/// in the variant itself (not a string, object or array).
fn owns_nothing(tag: sess_vartype) -> bool {
    matches!(
        tag,
        vt::EMPTY..=vt::DATE | vt::ERROR | vt::BOOL | vt::I1..=vt::UI8
    )
}

/// Writes `new` over the initialised variant at `v` when that owns nothing
/// (so there is nothing to free, and nothing here can fail or panic): the
/// fast path of the setters and of `sess_variant_clear`. False, with `v` untouched, when `v` is NULL or owns
/// something (or has a bad tag): the general path then handles it.
///
/// # Safety
/// `v` must be NULL or point to an initialised variant.
#[inline]
pub(crate) unsafe fn overwrite_scalar(v: *mut sess_variant, new: sess_variant) -> bool {
    // SAFETY: per the caller.
    match unsafe { v.as_mut() } {
        Some(v) if owns_nothing(v.vt) => {
            *v = new;
            true
        }
        _ => false,
    }
}

/// Frees what `v` owns and sets it to `VT_EMPTY`; a bad tag is
/// `DISP_E_BADVARTYPE` and leaves `v` untouched.
///
/// # Safety
/// `v` must be a valid variant whose string/array/object (if any) the
/// library allocated or the caller owns a reference to.
#[inline]
pub(crate) unsafe fn clear(v: &mut sess_variant) -> Result<()> {
    if !owns_nothing(v.vt) {
        // SAFETY: per the caller.
        unsafe { free_owned(v) }?;
    }
    *v = EMPTY;
    Ok(())
}

/// Checks that [`clear`] can clear `v` (its tag is good, an object it
/// holds has a usable vtable), without changing it: a call that writes
/// several outputs checks them all first, so that it writes none when one
/// cannot be written.
///
/// # Safety
/// As [`clear`].
pub(crate) unsafe fn check_clearable(v: &sess_variant) -> Result<()> {
    match v.vt {
        // SAFETY: the tag says the object field is live; adopting and
        // giving back the reference leaves its count as it was.
        vt::DISPATCH | vt::UNKNOWN if !unsafe { v.v.punkVal }.is_null() => {
            unsafe { Object::from_owned(v.v.punkVal) }.map(|o| {
                o.into_raw();
            })
        }
        t => check_vt(t).map(drop),
    }
}

/// Frees the string, array or object reference `v` owns; a bad tag is
/// `DISP_E_BADVARTYPE`.
///
/// # Safety
/// As [`clear`].
unsafe fn free_owned(v: &sess_variant) -> Result<()> {
    // SAFETY: each arm frees the union field `vt` says is live, which the
    // variant owns.
    unsafe {
        match v.vt {
            vt::BSTR => {
                let b = v.v.bstrVal;
                if !b.ptr.is_null() {
                    drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                        b.ptr.cast::<u8>(),
                        b.len + 1,
                    )));
                }
            }
            vt::DISPATCH | vt::UNKNOWN => {
                if !v.v.punkVal.is_null() {
                    drop(Object::from_owned(v.v.punkVal)?);
                }
            }
            t if t == vt::ARRAY | vt::VARIANT || t == vt::ARRAY | vt::UI1 => {
                if !v.v.parray.is_null() {
                    drop(handle::take(v.v.parray));
                }
            }
            t => {
                check_vt(t)?;
            }
        }
    }
    Ok(())
}

/// Replaces the initialised variant at `out` with `value` (clearing it
/// first; nothing is written if it cannot be cleared).
///
/// # Safety
/// `out` must be NULL or point to an initialised variant.
pub(crate) unsafe fn store(out: *mut sess_variant, value: Variant) -> Result<()> {
    // SAFETY: forwarded to the caller.
    unsafe { replace(out, || write(value)) }
}

/// Replaces the initialised variant at `out` with a copy of `value`
/// (clearing it first; nothing is written if it cannot be cleared).
///
/// # Safety
/// `out` must be NULL or point to an initialised variant.
pub(crate) unsafe fn store_copy(out: *mut sess_variant, value: &Variant) -> Result<()> {
    // SAFETY: forwarded to the caller.
    unsafe { replace(out, || write_copy(value)) }
}

/// Replaces the initialised variant at `out` with what `new` makes. The new
/// value is made before `out` is cleared, since what it copies may belong
/// to `out` (`sess_array_get(v.parray, i, &v)` unwraps an element of the
/// array `v` holds); if `out` cannot be cleared, the new value is freed and
/// `out` is left as it was.
///
/// # Safety
/// `out` must be NULL or point to an initialised variant.
#[inline]
pub(crate) unsafe fn replace(
    out: *mut sess_variant,
    new: impl FnOnce() -> sess_variant,
) -> Result<()> {
    // SAFETY: per the caller.
    let out = unsafe { deref_mut(out, "out")? };
    let mut made = new();
    // SAFETY: initialised per the caller.
    if let Err(e) = unsafe { clear(out) } {
        // SAFETY: `made` is a variant this library just built.
        let _ = unsafe { clear(&mut made) };
        return Err(e);
    }
    *out = made;
    Ok(())
}

/// Sets `*v` to `VT_EMPTY` without reading it (VariantInit). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_init(v: *mut sess_variant) {
    if !v.is_null() {
        // SAFETY: non-NULL; writable per the contract.
        unsafe { v.write(EMPTY) };
    }
}

/// Frees what `v` owns (string, array, object reference) and sets it to
/// `VT_EMPTY` (VariantClear). NULL → `SESS_E_POINTER`; a bad tag →
/// `SESS_DISP_E_BADVARTYPE` with `v` untouched.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_clear(v: *mut sess_variant) -> sess_result {
    boundary(|| {
        // SAFETY: per the contract, v is NULL or an initialised variant.
        if unsafe { overwrite_scalar(v, EMPTY) } {
            return Ok(err::S_OK);
        }
        // SAFETY: as above.
        unsafe { clear(deref_mut(v, "v")?) }?;
        Ok(err::S_OK)
    })
}

/// Deep-copies `src` into `dst` (VariantCopy): `dst` is cleared first,
/// strings and arrays are copied, objects AddRef'd. `dst` must be
/// initialised; `dst == src` is allowed. The caller owns `dst`'s contents.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_copy(
    dst: *mut sess_variant,
    src: *const sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: per the contract, src is NULL or initialised.
        let value = unsafe { read(deref(src, "src")?) }?;
        if dst.cast_const() == src {
            return Ok(err::S_OK);
        }
        // SAFETY: per the contract, dst is NULL or initialised.
        unsafe { store(dst, value) }?;
        Ok(err::S_OK)
    })
}

/// Sets `v` (initialised; cleared first) to a `VT_BSTR` copy of `utf8`:
/// `len` bytes, or up to the NUL when `len` is `SIZE_MAX`. Invalid UTF-8 →
/// `SESS_E_INVALIDARG`. The variant owns the copy.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_bstr(
    v: *mut sess_variant,
    utf8: *const c_char,
    len: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NUL-terminated, or readable for len bytes, per the contract.
        let text = unsafe { super::text_or_n(utf8, len, "utf8") }?;
        // SAFETY: per the contract, v is NULL or initialised.
        unsafe { store(v, Variant::bstr(text)) }?;
        Ok(err::S_OK)
    })
}

/// Converts `src` to type `vt` under locale `lcid` into `dst`
/// (VariantChangeTypeEx). `flags`: `SESS_VARIANT_ALPHABOOL`,
/// `SESS_VARIANT_LOCALBOOL`, `SESS_VARIANT_NOUSEROVERRIDE`,
/// `SESS_VARIANT_NOVALUEPROP`, `SESS_VARIANT_CALENDAR_HIJRI` (ignored: dates
/// are Gregorian), `SESS_VARIANT_CALENDAR_GREGORIAN`; any other bit
/// → `SESS_E_INVALIDARG`. Overflow →
/// `SESS_DISP_E_OVERFLOW`; impossible → `SESS_DISP_E_TYPEMISMATCH`; unknown
/// `vt` → `SESS_DISP_E_BADVARTYPE`. An array converts only to its own type,
/// but for `SESS_VT_ARRAY | SESS_VT_UI1` ↔ `SESS_VT_BSTR`: the string's
/// UTF-8 bytes (bytes that are not UTF-8 → `SESS_DISP_E_TYPEMISMATCH`).
/// `dst` must be initialised and may be `src`; it is written only on success.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_change_type(
    dst: *mut sess_variant,
    src: *const sess_variant,
    lcid: u32,
    flags: u16,
    vt: sess_vartype,
) -> sess_result {
    boundary(|| {
        require(dst, "dst")?;
        // SAFETY: per the contract, src is NULL or initialised.
        let value = unsafe { read(deref(src, "src")?) }?;
        let converted = variant::change_type(&value, lcid, flags, vt)?;
        // SAFETY: per the contract, dst is initialised (it may be src, which
        // we have finished reading).
        unsafe { store(dst, converted) }?;
        Ok(err::S_OK)
    })
}

/// Reads a required variant argument (NULL → `E_POINTER`).
///
/// # Safety
/// `v` must be NULL or an initialised variant.
pub(crate) unsafe fn read_arg(v: *const sess_variant, what: &str) -> Result<Variant> {
    // SAFETY: forwarded to the caller.
    unsafe { read(deref(v, what)?) }
}
