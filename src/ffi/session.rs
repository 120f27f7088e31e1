//! `sess_session`: one unit of work (one request) on one session.

use std::ffi::c_char;

use super::handle::{self, sess_app, sess_session, SessionHandle};
use super::variant::{read_arg, sess_variant, store_copy};
use super::{boundary, check_room, put, put_required, sess_result, session, text, write_text};
use crate::app::Session;
use crate::error::{self as err, Error, Result};
use crate::store::{LockMode, StoreMode};
use crate::variant::Variant;

/// `sess_session_open` flag: open read-only (shared with other read-only
/// units; never saved; writes are `SESS_E_READONLY`).
pub const OPEN_READONLY: u32 = 1;

/// `Mode` of an in-process application.
pub const MODE_INPROC: u32 = 1;
/// `Mode` of an application whose sessions are in Redis.
pub const MODE_REDIS: u32 = 2;
/// `Mode` of an application whose sessions are in a host-supplied store
/// (ASP.NET's `SessionStateMode.Custom`).
pub const MODE_CUSTOM: u32 = 4;
/// `Mode` of an application whose sessions are in an LMDB directory shared
/// by the processes of one machine (`sess_lmdb_options`).
pub const MODE_LMDB: u32 = 8;

/// Hands the session `made` (if it was) out in `*out`, for the caller to
/// own. The session goes from `made` into its handle's box in one move:
/// it is a few hundred bytes, and each intermediate copy costs.
///
/// # Safety
/// `out` NULL or writable.
#[inline(always)]
unsafe fn hand_out(out: *mut *mut sess_session, made: Result<Session>) -> Result<sess_result> {
    let mut slot = Box::<SessionHandle>::new_uninit();
    match made {
        Ok(s) => slot.write(SessionHandle::owned(s)),
        Err(e) => return Err(e),
    };
    // SAFETY: written just above.
    let handle = unsafe { slot.assume_init() };
    // SAFETY: forwarded to the caller.
    unsafe { handle::hand_out_box(out, handle) }?;
    Ok(err::S_OK)
}

/// Starts a new session, held exclusively, in `*out` (IsNewSession true).
/// It is stored only when something is written to it, a static object is
/// used, or Session_OnStart exists (which runs before this returns; its
/// failure code is returned and no session is made). The caller owns the
/// handle and ends it with `sess_session_close`.
#[no_mangle]
pub unsafe extern "C" fn sess_session_create(
    app: *mut sess_app,
    out: *mut *mut sess_session,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live application per the contract.
        let app = unsafe { handle::live(app, "app") }?;
        super::require(out, "out")?;
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { hand_out(out, app.create_session()) }
    })
}

/// Opens the stored session `id` in `*out`: exclusively (flags 0) or
/// read-only (`SESS_OPEN_READONLY`). A malformed ID is
/// `SESS_E_INVALID_SESSION_ID`; an unknown, expired or abandoned one is
/// `SESS_E_SESSION_NOT_FOUND` (never adopted: call `sess_session_create`);
/// waiting longer than the lock timeout is `SESS_E_LOCK_TIMEOUT`. A
/// session in a shared store that this application's limits refuse
/// (stored under larger ones) is `SESS_E_SESSION_TOO_LARGE`, and stays
/// stored. Unknown flag bits are `SESS_E_INVALIDARG`. The caller owns the
/// handle.
#[no_mangle]
pub unsafe extern "C" fn sess_session_open(
    app: *mut sess_app,
    id: *const c_char,
    flags: u32,
    out: *mut *mut sess_session,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live application per the contract.
        let app = unsafe { handle::live(app, "app") }?;
        // SAFETY: NUL-terminated per the contract.
        let id = unsafe { text(id, "id") }?;
        super::require(out, "out")?;
        if flags & !OPEN_READONLY != 0 {
            return Err(Error::new(
                err::E_INVALIDARG,
                format!("unknown open flags {flags:#x}"),
            ));
        }
        let mode = if flags & OPEN_READONLY != 0 {
            LockMode::Shared
        } else {
            LockMode::Exclusive
        };
        // SAFETY: checked non-NULL; writable per the contract.
        unsafe { hand_out(out, app.open_session(id, mode)) }
    })
}

/// Ends the unit of work and frees the handle: keeps the changes and slides
/// the expiry, or applies Abandon (removes the session, runs Session_OnEnd;
/// in a read-only unit of work it can fail with `SESS_E_LOCK_TIMEOUT` or
/// `SESS_E_SESSION_NOT_FOUND`, as `sess_abandon` says);
/// unlocks. The handle is freed even when an error is returned. A handle
/// lent by the library (given to Session_OnStart / Session_OnEnd, or by
/// `sess_request_session`) is `SESS_E_WRONG_STATE`, nothing freed. NULL →
/// `SESS_E_POINTER`.
#[no_mangle]
pub unsafe extern "C" fn sess_session_close(s: *mut sess_session) -> sess_result {
    // SAFETY: forwarded from the caller.
    unsafe { end(s, true) }
}

/// Ends the caller's handle `s`, keeping the changes or not, and frees it.
///
/// # Safety
/// `s` NULL or a live handle from `sess_session_create`/`_open`, ended once.
// Inlined into close and discard, each with its own `keep`.
#[inline(always)]
unsafe fn end(s: *mut sess_session, keep: bool) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle per the contract. A lent handle,
        // or one a call is running on, is refused before anything is freed.
        let mut call = unsafe { handle::Call::enter(s) }?;
        let session = call.take_owned()?;
        // The call runs on while the session ends: host code the ending
        // runs that calls back into the handle is refused.
        let ended = if keep {
            session.close()
        } else {
            session.discard()
        };
        drop(call);
        // SAFETY: a handle the caller owns (taken above), ended once.
        drop(unsafe { handle::take(s) });
        ended.map(|()| err::S_OK)
    })
}

/// Ends the unit of work without keeping its changes (the request failed)
/// and frees the handle: the changes are undone, a new session is not kept;
/// Abandon and a regenerated ID still take effect. Lent handles and NULL as
/// for `sess_session_close`.
#[no_mangle]
pub unsafe extern "C" fn sess_session_discard(s: *mut sess_session) -> sess_result {
    // SAFETY: forwarded from the caller.
    unsafe { end(s, false) }
}

/// Gives the session a new ID, keeping its contents; the old ID is dead at
/// once (call it at login, against session fixation). A web request sends
/// the new cookie when it ends; in a cookieless application the host
/// redirects to the new URL (`sess_request_url_id_outdated`). Read-only:
/// `SESS_E_READONLY`; in
/// Session_OnEnd: `SESS_E_WRONG_STATE`.
#[no_mangle]
pub unsafe extern "C" fn sess_session_regenerate_id(s: *mut sess_session) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        unsafe { session(s) }?.regenerate_id()?;
        Ok(err::S_OK)
    })
}

/// Writes the SessionID (22 URL-safe characters) to `buf`.
#[no_mangle]
pub unsafe extern "C" fn sess_session_id(
    s: *mut sess_session,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle per the contract.
        let id = unsafe { session(s) }?.id().encode();
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(id.as_str(), buf, buf_len, out_len) }
    })
}

/// `*out` receives whether this unit of work created the session
/// (IsNewSession).
#[no_mangle]
pub unsafe extern "C" fn sess_session_is_new(s: *mut sess_session, out: *mut bool) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle; out NULL or writable.
        unsafe { put_required(out, session(s)?.is_new_session(), "out") }?;
        Ok(err::S_OK)
    })
}

/// `*out` receives whether the session was opened read-only (IsReadOnly).
#[no_mangle]
pub unsafe extern "C" fn sess_session_is_readonly(
    s: *mut sess_session,
    out: *mut bool,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle; out NULL or writable.
        unsafe { put_required(out, session(s)?.is_readonly(), "out") }?;
        Ok(err::S_OK)
    })
}

/// `*out` receives whether Abandon was called (true inside Session_OnEnd).
#[no_mangle]
pub unsafe extern "C" fn sess_session_is_abandoned(
    s: *mut sess_session,
    out: *mut bool,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle; out NULL or writable.
        unsafe { put_required(out, session(s)?.is_abandoned(), "out") }?;
        Ok(err::S_OK)
    })
}

/// `*out` receives the store mode (Mode): `SESS_MODE_INPROC`,
/// `SESS_MODE_REDIS`, `SESS_MODE_CUSTOM` or `SESS_MODE_LMDB`.
#[no_mangle]
pub unsafe extern "C" fn sess_session_mode(s: *mut sess_session, out: *mut u32) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mode = match unsafe { session(s) }?.mode() {
            StoreMode::InProc => MODE_INPROC,
            StoreMode::Redis => MODE_REDIS,
            StoreMode::Custom => MODE_CUSTOM,
            StoreMode::Lmdb => MODE_LMDB,
        };
        // SAFETY: NULL or writable.
        unsafe { put_required(out, mode, "out") }?;
        Ok(err::S_OK)
    })
}

/// Copies the value of `name` (case-insensitive) into `*out` (initialised;
/// cleared first). A missing key gives `SESS_VT_EMPTY` and `SESS_S_FALSE`.
/// Keys (here and in every Contents and StaticObjects function) compare
/// each character as its uppercase, when that is one character,
/// lowercased, as ASP.NET's invariant culture does: "ΟΔΟΣ" and "οδος"
/// (final sigma), "ſ" and "s", "ı" and "i", "µ" and "μ" are one key; "ß"
/// is not "SS".
/// The caller owns the copy.
#[no_mangle]
pub unsafe extern "C" fn sess_value_get(
    s: *mut sess_session,
    name: *const c_char,
    out: *mut sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        super::require(out, "out")?;
        let (value, rc) = match s.get(name) {
            Some(v) => (v, err::S_OK),
            None => (&Variant::Empty, err::S_FALSE),
        };
        // SAFETY: out is initialised per the contract.
        unsafe { store_copy(out, value) }?;
        Ok(rc)
    })
}

/// Stores a deep copy of `*value` under `name` (the caller keeps `value`).
/// An existing key (any case) keeps its place and spelling. Errors:
/// `SESS_E_BAD_KEY`, `SESS_E_VALUE_TOO_LARGE`, `SESS_E_TOO_MANY_ITEMS`,
/// `SESS_E_SESSION_TOO_LARGE`, `SESS_E_MEMORY_BUDGET`,
/// `SESS_E_TOO_MANY_SESSIONS` (first write of a new session into a full
/// store: see `max_sessions`),
/// `SESS_E_READONLY`, `SESS_DISP_E_BADVARTYPE`, `SESS_E_NOT_SERIALIZABLE`
/// (an object, in a store other than the in-process one); nothing changes
/// on error.
#[no_mangle]
pub unsafe extern "C" fn sess_value_set(
    s: *mut sess_session,
    name: *const c_char,
    value: *const sess_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        // SAFETY: NULL or initialised per the contract.
        let value = unsafe { read_arg(value, "value") }?;
        s.set(name, value)?;
        Ok(err::S_OK)
    })
}

/// X++'s `valueTxt(name, [text])`: `new_text` non-NULL stores it under
/// `name` as a string (as `sess_value_set` with a BSTR); then `buf` receives
/// the value as text under the session's LCID (VariantChangeTypeEx to
/// BSTR). A missing key gives empty text and `SESS_S_FALSE`; an array of
/// bytes is its bytes read as UTF-8; a value with no text (object, array of
/// variants, Null, bytes that are not UTF-8) is `SESS_DISP_E_TYPEMISMATCH`.
/// `buf` may be NULL with `buf_len` 0 when only setting: then the result is
/// `SESS_S_OK` once stored, and `*out_len` (may be NULL) still receives the
/// length. A
/// `buf` too small for `new_text` is `SESS_E_INSUFFICIENT_BUFFER` before
/// anything is stored.
#[no_mangle]
pub unsafe extern "C" fn sess_value_txt(
    s: *mut sess_session,
    name: *const c_char,
    new_text: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NUL-terminated per the contract.
        let name = unsafe { text(name, "name") }?;
        if !new_text.is_null() {
            // SAFETY: NUL-terminated per the contract.
            let t = unsafe { text(new_text, "new_text") }?;
            if !(buf.is_null() && buf_len == 0) {
                // The text read back is `t` itself. `*out_len` is written
                // only if this fails (else once the call succeeds).
                // SAFETY: the length is not written.
                let room = unsafe { check_room(t.len(), buf, buf_len, std::ptr::null_mut()) };
                if let Err(e) = room {
                    if e.code() == err::E_INSUFFICIENT_BUFFER {
                        // SAFETY: NULL or writable per the contract.
                        unsafe { put(out_len, t.len()) };
                    }
                    return Err(e);
                }
            }
            s.set(name, Variant::bstr(t))?;
        }
        let (value, rc) = match s.value_text(name)? {
            Some(t) => (t, err::S_OK),
            None => (String::new(), err::S_FALSE),
        };
        if !new_text.is_null() && buf.is_null() && buf_len == 0 {
            // SAFETY: NULL or writable.
            unsafe { put(out_len, value.len()) };
            return Ok(rc);
        }
        // SAFETY: the caller's buffer contract.
        unsafe { write_text(&value, buf, buf_len, out_len) }?;
        Ok(rc)
    })
}

/// Timeout in minutes: `new_minutes` non-NULL sets it (1 … the application
/// maximum, else `SESS_E_INVALID_TIMEOUT` and unchanged); `out_minutes`
/// (may be NULL) receives the value in force.
#[no_mangle]
pub unsafe extern "C" fn sess_timeout(
    s: *mut sess_session,
    new_minutes: *const i32,
    out_minutes: *mut i32,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NULL or readable.
        if let Some(&m) = unsafe { new_minutes.as_ref() } {
            s.set_timeout(m.into())?;
        }
        // SAFETY: NULL or writable.
        unsafe { put(out_minutes, i32::try_from(s.timeout()).unwrap_or(i32::MAX)) };
        Ok(err::S_OK)
    })
}

/// LCID: `new_lcid` non-NULL sets it (an LCID Windows defines, or 0 /
/// `SESS_LOCALE_USER_DEFAULT` / `SESS_LOCALE_SYSTEM_DEFAULT`; else
/// `SESS_E_INVALID_LCID` and unchanged); `out_lcid` (may be NULL) receives
/// the value in force.
#[no_mangle]
pub unsafe extern "C" fn sess_lcid(
    s: *mut sess_session,
    new_lcid: *const u32,
    out_lcid: *mut u32,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NULL or readable.
        if let Some(&l) = unsafe { new_lcid.as_ref() } {
            s.set_lcid(l)?;
        }
        // SAFETY: NULL or writable.
        unsafe { put(out_lcid, s.lcid()) };
        Ok(err::S_OK)
    })
}

/// CodePage: `new_cp` non-NULL sets it (a code page an encoder serves, e.g.
/// 932, 950, 1252, 65001; else `SESS_E_INVALID_CODEPAGE` and unchanged);
/// `out_cp` (may be NULL) receives the value in force.
#[no_mangle]
pub unsafe extern "C" fn sess_codepage(
    s: *mut sess_session,
    new_cp: *const u32,
    out_cp: *mut u32,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let mut s = unsafe { session(s) }?;
        // SAFETY: NULL or readable.
        if let Some(&cp) = unsafe { new_cp.as_ref() } {
            s.set_codepage(cp)?;
        }
        // SAFETY: NULL or writable.
        unsafe { put(out_cp, s.codepage()) };
        Ok(err::S_OK)
    })
}

/// Abandon: the contents stay readable (and writable) until the unit of
/// work ends, which then removes the session and runs Session_OnEnd; the
/// ID is dead after. It takes effect however the unit ends, by
/// `sess_session_close`, `sess_session_discard` or `sess_request_end`,
/// failed or not (a logout page that fails after it still logs out); a
/// discarded unit's changes are undone first, so Session_OnEnd sees the
/// session as the unit found it.
/// A read-only unit of work's Abandon takes the session exclusively at
/// its close: waiting past the lock timeout is `SESS_E_LOCK_TIMEOUT`, and
/// the session is not abandoned. If another request gave the session a
/// new ID meanwhile (`sess_session_regenerate_id`), the in-process store
/// abandons it under that ID; a shared store (Redis, LMDB, a host's) cannot
/// tell it from a session that ended meanwhile and returns
/// `SESS_E_SESSION_NOT_FOUND` (the session may live on under its new ID):
/// never success while it does.
#[no_mangle]
pub unsafe extern "C" fn sess_abandon(s: *mut sess_session) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        unsafe { session(s) }?.abandon();
        Ok(err::S_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::app::{sess_app_create, sess_app_release};
    use std::ptr::null_mut;

    /// `*out_len` changes only on success or for a buffer too small: a set
    /// refused for another reason (read-only here) leaves it alone.
    #[test]
    fn value_txt_leaves_the_length_alone_when_the_set_is_refused() {
        let (mut app, mut s, mut ro) = (null_mut(), null_mut(), null_mut());
        let mut id = [0 as c_char; 64];
        let mut buf = [0 as c_char; 32];
        let mut len = 999usize;
        // SAFETY: handles made here, released here; buffers writable.
        unsafe {
            assert_eq!(sess_app_create(std::ptr::null(), &mut app), 0);
            assert_eq!(sess_session_create(app, &mut s), 0);
            let t = c"abc".as_ptr();
            assert_eq!(
                sess_value_txt(s, c"k".as_ptr(), t, buf.as_mut_ptr(), 32, &mut len),
                0
            );
            assert_eq!(len, 3);
            assert_eq!(sess_session_id(s, id.as_mut_ptr(), 64, null_mut()), 0);
            assert_eq!(sess_session_close(s), 0);
            assert_eq!(
                sess_session_open(app, id.as_ptr(), OPEN_READONLY, &mut ro),
                0
            );
            len = 999;
            let rc = sess_value_txt(
                ro,
                c"k".as_ptr(),
                c"wxyz".as_ptr(),
                buf.as_mut_ptr(),
                32,
                &mut len,
            );
            assert_eq!((rc, len), (err::E_READONLY, 999));
            // Too small a buffer still reports the length it needs.
            let rc = sess_value_txt(
                ro,
                c"k".as_ptr(),
                c"wxyz".as_ptr(),
                buf.as_mut_ptr(),
                2,
                &mut len,
            );
            assert_eq!((rc, len), (err::E_INSUFFICIENT_BUFFER, 4));
            assert_eq!(sess_session_close(ro), 0);
            sess_app_release(app);
        }
    }
}
