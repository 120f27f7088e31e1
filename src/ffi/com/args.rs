//! The objects' arguments as script hosts pass them: one by reference
//! (`SESS_VT_BYREF | t`, a VBScript variable passed ByRef) is read through
//! its pointer, as oleaut32's VariantCopyInd does; Nothing (a NULL object)
//! is refused, saying why.

use std::mem::size_of;

use super::super::variant::{read, sess_bstr, sess_variant, write};
use crate::error::{self as err, Error, Result};
use crate::variant::{vt, Variant};

/// Reads an `invoke` argument, through its pointer if it is by reference:
/// a NULL pointer is `E_POINTER`; a pointer to a variant itself by
/// reference `E_INVALIDARG` (VariantCopyInd's rule); a type no variant
/// holds `DISP_E_BADVARTYPE`.
///
/// # Safety
/// `v` an initialised variant; if by reference, its pointer NULL or
/// readable as its type says (see `sess_variant_value::byref`).
pub(crate) unsafe fn read_ind(v: &sess_variant) -> Result<Variant> {
    if v.vt & vt::BYREF == 0 {
        // SAFETY: per the caller.
        return unsafe { read_value(v) };
    }
    let base = v.vt & !vt::BYREF;
    let Some(n) = size(base) else {
        return Err(Error::new(
            err::DISP_E_BADVARTYPE,
            format!("unsupported by-reference variant type {:#06x}", v.vt),
        ));
    };
    // SAFETY: the tag says `byref` is live.
    let p = unsafe { v.v.byref };
    if p.is_null() {
        return Err(Error::new(
            err::E_POINTER,
            format!("a by-reference argument (VT {:#06x}) points nowhere", v.vt),
        ));
    }
    if base == vt::VARIANT {
        // SAFETY: a `sess_variant *` per the caller.
        let target = unsafe { &*p.cast::<sess_variant>() };
        if target.vt & vt::BYREF != 0 {
            return Err(Error::new(
                err::E_INVALIDARG,
                "a by-reference variant argument points at another by-reference variant",
            ));
        }
        // SAFETY: an initialised variant per the caller.
        return unsafe { read_value(target) };
    }
    // The value, copied into a variant that borrows what it holds (never
    // cleared: `read` copies it).
    let mut direct = write(Variant::Empty);
    direct.vt = base;
    // SAFETY: `p` readable for the `n` bytes of its type per the caller;
    // every union field starts at its beginning.
    unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut direct.v).cast::<u8>(), n) };
    // SAFETY: `direct` holds a value of type `base`.
    unsafe { read_value(&direct) }
}

/// Reads a value: VBScript's Nothing (`SESS_VT_DISPATCH` /
/// `SESS_VT_UNKNOWN` holding NULL) is `E_POINTER`, its detail saying why
/// (a session holds live objects only) and what to do instead.
///
/// # Safety
/// `v` an initialised variant.
unsafe fn read_value(v: &sess_variant) -> Result<Variant> {
    // SAFETY: the tag says the object field is live.
    if matches!(v.vt, vt::DISPATCH | vt::UNKNOWN) && unsafe { v.v.punkVal }.is_null() {
        return Err(Error::new(
            err::E_POINTER,
            "Nothing (a NULL SESS_VT_DISPATCH / SESS_VT_UNKNOWN) cannot be stored or \
             used: a session holds live objects only; to drop an item, Remove it",
        ));
    }
    // SAFETY: per the caller.
    unsafe { read(v) }
}

/// A required key or value argument of an object's method (NULL is
/// `E_POINTER`), read as [`read_ind`]: VB passes a variable given to a
/// VARIANT parameter by reference.
///
/// # Safety
/// `v` NULL or a variant as [`read_ind`] takes.
pub(crate) unsafe fn arg(v: *const sess_variant, what: &str) -> Result<Variant> {
    // SAFETY: per the caller.
    unsafe { read_ind(super::super::deref(v, what)?) }
}

/// The size of the value a by-reference pointer of type `base` points at
/// (a variant's for `VT_VARIANT`); `None` for a type no variant holds.
fn size(base: u16) -> Option<usize> {
    Some(match base {
        vt::VARIANT => size_of::<sess_variant>(),
        vt::I1 | vt::UI1 => 1,
        vt::I2 | vt::UI2 | vt::BOOL => 2,
        vt::I4 | vt::UI4 | vt::R4 | vt::ERROR => 4,
        vt::I8 | vt::UI8 | vt::R8 | vt::CY | vt::DATE => 8,
        vt::BSTR => size_of::<sess_bstr>(),
        vt::DISPATCH | vt::UNKNOWN => size_of::<*mut ()>(),
        t if t == vt::ARRAY | vt::VARIANT || t == vt::ARRAY | vt::UI1 => size_of::<*mut ()>(),
        _ => return None,
    })
}
