//! ASP.NET `IHttpSessionState` members that have no ASP counterpart:
//! CookieMode and IsCookieless of a web request's session, CopyTo into a
//! caller's array, and the LCID in effect. (IsSynchronized / SyncRoot have
//! no call: a `sess_session` is a unit of work that holds the session's
//! lock, so access through it is always synchronized.)

use super::handle::{self, sess_array, sess_request, sess_session, RequestCall};
use super::{boundary, put_required, sess_result, session};
use crate::error as err;
use crate::variant::Variant;

/// `sess_request_cookie_mode`: the ID travels in the URL (ASP.NET's
/// `HttpCookieMode.UseUri`).
pub const COOKIE_MODE_USE_URI: u32 = 0;
/// `sess_request_cookie_mode`: the ID travels in a cookie
/// (`HttpCookieMode.UseCookies`).
pub const COOKIE_MODE_USE_COOKIES: u32 = 1;

/// CookieMode: how the request's application carries session IDs, in
/// `*out_mode`: SESS_COOKIE_MODE_USE_URI (cookieless, the ID in the URL) or
/// SESS_COOKIE_MODE_USE_COOKIES, with ASP.NET's HttpCookieMode values.
#[no_mangle]
pub unsafe extern "C" fn sess_request_cookie_mode(
    req: *const sess_request,
    out_mode: *mut u32,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request.
        let mode = if unsafe { RequestCall::enter(req) }?.is_cookieless() {
            COOKIE_MODE_USE_URI
        } else {
            COOKIE_MODE_USE_COOKIES
        };
        // SAFETY: NULL or writable.
        unsafe { put_required(out_mode, mode, "out_mode") }?;
        Ok(err::S_OK)
    })
}

/// IsCookieless: whether the request's session ID is carried in the URL
/// rather than a cookie, in `*out`.
#[no_mangle]
pub unsafe extern "C" fn sess_request_is_cookieless(
    req: *const sess_request,
    out: *mut bool,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live request; out NULL or writable.
        unsafe { put_required(out, RequestCall::enter(req)?.is_cookieless(), "out") }?;
        Ok(err::S_OK)
    })
}

/// CopyTo(array, index): deep copies of the Contents values, in order, into
/// the caller's array `dst` from element `index` on (the elements replaced
/// are cleared; the caller keeps owning `dst`). As ASP.NET's
/// ArgumentExceptions: `index` past the end of `dst` is
/// SESS_DISP_E_BADINDEX; fewer elements from `index` to the end than there
/// are values is SESS_E_INVALIDARG; NULL `dst` is SESS_E_POINTER; an array
/// of bytes takes only SESS_VT_UI1 values (else SESS_DISP_E_TYPEMISMATCH).
/// On error `dst` is unchanged. (sess_contents_copy returns a new array
/// instead.)
#[no_mangle]
pub unsafe extern "C" fn sess_contents_copy_to(
    s: *mut sess_session,
    dst: *mut sess_array,
    index: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        // SAFETY: NULL or a live array the caller owns, not one of the session's.
        let dst = unsafe { handle::get_mut(dst, "dst") }?;
        let values: Vec<&Variant> = s.contents().iter().map(|(_, v)| v).collect();
        dst.copy_in(index, values.iter().copied())?;
        Ok(err::S_OK)
    })
}

/// The LCID in effect for the session's text, in `*out_lcid`: the session's
/// LCID, or, when that is 0, SESS_LOCALE_USER_DEFAULT or
/// SESS_LOCALE_SYSTEM_DEFAULT, the application's default_lcid (which is
/// never an alias), so a host can always print the locale in use.
/// sess_lcid reports the LCID as set (an alias stays an alias, as ASP's
/// Session.LCID does). The code page needs no such call: aliases
/// such as CP_ACP (0) are not accepted, so sess_codepage always reports a
/// concrete code page.
#[no_mangle]
pub unsafe extern "C" fn sess_lcid_effective(
    s: *mut sess_session,
    out_lcid: *mut u32,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle; out NULL or writable.
        unsafe {
            let lcid = session(s)?.effective_lcid();
            put_required(out_lcid, lcid, "out_lcid")
        }?;
        Ok(err::S_OK)
    })
}
