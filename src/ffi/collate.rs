//! String order under an LCID (seed 004: the LCID "sets the rules for
//! alphabetizing strings"): `CompareStringEx` for C.

use std::ffi::c_char;

use super::{boundary, put_required, sess_result, text};
use crate::error as err;
use crate::locale::{compare_flags as f, compare_text};

/// The `sess_compare_text` flags rendered into the header (Windows' names
/// and values, with the `SESS_` prefix).
pub const COMPARE_FLAGS: &[(&str, u32)] = &[
    ("NORM_IGNORECASE", f::NORM_IGNORECASE),
    ("NORM_IGNORENONSPACE", f::NORM_IGNORENONSPACE),
    ("NORM_IGNORESYMBOLS", f::NORM_IGNORESYMBOLS),
    ("SORT_DIGITSASNUMBERS", f::SORT_DIGITSASNUMBERS),
    ("LINGUISTIC_IGNORECASE", f::LINGUISTIC_IGNORECASE),
    ("LINGUISTIC_IGNOREDIACRITIC", f::LINGUISTIC_IGNOREDIACRITIC),
    ("SORT_STRINGSORT", f::SORT_STRINGSORT),
    ("NORM_IGNOREKANATYPE", f::NORM_IGNOREKANATYPE),
    ("NORM_IGNOREWIDTH", f::NORM_IGNOREWIDTH),
];

/// Compares the NUL-terminated UTF-8 strings `a` and `b` as
/// CompareStringEx does under `lcid`: `*out` is -1, 0 or 1 (a before, equal
/// to, after b). The order is CLDR's for the LCID's locale (Swedish sorts
/// å, ä, ö after z; German sorts ä with a; 0x10407 is the German phone
/// book; 0, LOCALE_USER_DEFAULT and LOCALE_SYSTEM_DEFAULT are en-US).
/// `flags` is 0 or SESS_NORM_* / SESS_LINGUISTIC_* / SESS_SORT_* with
/// Windows' values: without flags case, accents, kana type and width
/// count (only SESS_NORM_IGNOREKANATYPE and SESS_NORM_IGNOREWIDTH stop the
/// last two), and hyphens and apostrophes are set aside until a last
/// tie-break (word sort; SESS_SORT_STRINGSORT sorts them as symbols;
/// SESS_NORM_IGNORESYMBOLS ignores them with every other symbol). An
/// unknown flag is SESS_E_INVALIDARG; an LCID Windows does not define
/// SESS_E_INVALID_LCID; NULL a, b or out SESS_E_POINTER; invalid UTF-8
/// SESS_E_INVALIDARG.
#[no_mangle]
pub unsafe extern "C" fn sess_compare_text(
    lcid: u32,
    a: *const c_char,
    b: *const c_char,
    flags: u32,
    out: *mut i32,
) -> sess_result {
    boundary(|| {
        // SAFETY: NUL-terminated strings per the contract.
        let (a, b) = unsafe { (text(a, "a")?, text(b, "b")?) };
        let order = compare_text(lcid, a, b, flags)? as i32;
        // SAFETY: out is NULL or writable per the contract.
        unsafe { put_required(out, order, "out") }?;
        Ok(err::S_OK)
    })
}
