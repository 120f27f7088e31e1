//! Typed variant setters and getters: `sess_variant_set_i4(&v, 42)` instead
//! of writing `vt` and the union by hand, and `sess_variant_get_i4(&v, &n)`,
//! which converts whatever `v` holds by `sess_variant_change_type`'s rules.

use super::variant::{read_arg, sess_variant, store};
use super::{boundary, put_required, sess_result};
use crate::error::{self as err, Error};
use crate::variant::{self, date, vt, Variant};

/// Defines `sess_variant_set_<name>`: clears `v` and stores the value.
macro_rules! setter {
    ($fn:ident, $ty:ty, $variant:ident, $doc:literal) => {
        #[doc = concat!("Sets `v` (initialised; cleared first) to ", $doc, ".")]
        #[no_mangle]
        pub unsafe extern "C" fn $fn(v: *mut sess_variant, value: $ty) -> sess_result {
            boundary(|| {
                // SAFETY: per the contract, v is NULL or initialised.
                unsafe { store(v, Variant::$variant(value)) }?;
                Ok(err::S_OK)
            })
        }
    };
}

setter!(sess_variant_set_i2, i16, I2, "a `SESS_VT_I2`");
setter!(sess_variant_set_i4, i32, I4, "a `SESS_VT_I4`");
setter!(sess_variant_set_i8, i64, I8, "a `SESS_VT_I8`");
setter!(sess_variant_set_ui1, u8, UI1, "a `SESS_VT_UI1`");
setter!(sess_variant_set_ui4, u32, UI4, "a `SESS_VT_UI4`");
setter!(sess_variant_set_ui8, u64, UI8, "a `SESS_VT_UI8`");
setter!(sess_variant_set_r8, f64, R8, "a `SESS_VT_R8`");
setter!(
    sess_variant_set_bool,
    bool,
    Bool,
    "a `SESS_VT_BOOL` (stored as `SESS_VARIANT_TRUE` or `SESS_VARIANT_FALSE`)"
);
setter!(
    sess_variant_set_cy,
    i64,
    Cy,
    "a `SESS_VT_CY`: `value` is the amount times 10,000 (12.5 is 125000)"
);

/// Sets `v` (initialised; cleared first) to a `SESS_VT_DATE`: days since
/// 1899-12-30, the fraction the time of day. A date outside 100-01-01 ...
/// 9999-12-31 (or NaN) is `SESS_E_INVALIDARG` with `v` untouched.
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_date(v: *mut sess_variant, value: f64) -> sess_result {
    boundary(|| {
        if !date::in_range(value) {
            return Err(Error::new(
                err::E_INVALIDARG,
                format!("date {value} is outside 100-01-01 ... 9999-12-31"),
            ));
        }
        // SAFETY: per the contract, v is NULL or initialised.
        unsafe { store(v, Variant::Date(value)) }?;
        Ok(err::S_OK)
    })
}

/// Sets `v` (initialised; cleared first) to `SESS_VT_NULL` (SQL's NULL, not
/// empty: `sess_variant_clear` makes it `SESS_VT_EMPTY`).
#[no_mangle]
pub unsafe extern "C" fn sess_variant_set_null(v: *mut sess_variant) -> sess_result {
    boundary(|| {
        // SAFETY: per the contract, v is NULL or initialised.
        unsafe { store(v, Variant::Null) }?;
        Ok(err::S_OK)
    })
}

/// Converts `*v` to `target` as `sess_variant_change_type` does with LCID 0
/// (en-US text) and no flags.
///
/// # Safety
/// `v` NULL or an initialised variant.
unsafe fn convert(v: *const sess_variant, target: u16) -> crate::error::Result<Variant> {
    // SAFETY: per the caller.
    let value = unsafe { read_arg(v, "v") }?;
    variant::change_type(&value, 0, 0, target)
}

/// Defines `sess_variant_get_<name>`: converts and writes `*out`.
macro_rules! getter {
    ($fn:ident, $ty:ty, $tag:expr, $variant:ident, $doc:literal) => {
        #[doc = concat!(
                    "Writes `v`'s value as ", $doc, " to `*out`, converted as \
             `sess_variant_change_type` does (LCID 0: en-US text; no flags): \
             `SESS_DISP_E_OVERFLOW` if it does not fit, `SESS_DISP_E_TYPEMISMATCH` \
             if it cannot convert (`SESS_VT_EMPTY` is 0; `SESS_VT_NULL` is a \
             mismatch). `*out` is written only on success."
                )]
        #[no_mangle]
        pub unsafe extern "C" fn $fn(v: *const sess_variant, out: *mut $ty) -> sess_result {
            boundary(|| {
                // SAFETY: per the contract, v is NULL or initialised.
                let Variant::$variant(x) = (unsafe { convert(v, $tag) }?) else {
                    unreachable!("change_type returns the type asked for")
                };
                // SAFETY: per the contract, out is NULL or writable.
                unsafe { put_required(out, x, "out") }?;
                Ok(err::S_OK)
            })
        }
    };
}

getter!(sess_variant_get_i2, i16, vt::I2, I2, "an `int16_t`");
getter!(sess_variant_get_i4, i32, vt::I4, I4, "an `int32_t`");
getter!(sess_variant_get_i8, i64, vt::I8, I8, "an `int64_t`");
getter!(sess_variant_get_ui1, u8, vt::UI1, UI1, "a `uint8_t`");
getter!(sess_variant_get_ui4, u32, vt::UI4, UI4, "a `uint32_t`");
getter!(sess_variant_get_ui8, u64, vt::UI8, UI8, "a `uint64_t`");
getter!(sess_variant_get_r8, f64, vt::R8, R8, "a `double`");
getter!(sess_variant_get_bool, bool, vt::BOOL, Bool, "a `bool`");
getter!(
    sess_variant_get_cy,
    i64,
    vt::CY,
    Cy,
    "currency (the amount times 10,000)"
);
getter!(
    sess_variant_get_date,
    f64,
    vt::DATE,
    Date,
    "a date (days since 1899-12-30)"
);

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
