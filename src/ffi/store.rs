//! `sess_store_vtbl`: a session store the host supplies as C callbacks
//! (ASP.NET's custom session-state provider), plugged in with
//! `sess_app_options.store`.
//!
//! The callbacks are [`Provider`]'s contract (see `store::custom`), in C:
//! keys are NUL-terminated hex text, blobs cross as bytes. Blobs the library
//! passes in are borrowed for the call; blobs the host hands back are copied
//! in through a `sess_buffer` / `sess_buffer_list` the library lends. Those
//! carry their own function pointer beside the exported `sess_buffer_write`
//! / `sess_buffer_list_add`, so a store module built apart from libsess (a
//! plugin loaded at run time) needs no link-time symbol of it.

use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::host_error::{call_host, HostResult};
use super::versioned::{self, Versioned};
use super::{boundary, bytes, deref_mut, optional_bytes, sess_result};
use crate::error::{self as err, Error, Result};
use crate::state::Limits;
use crate::store::custom::{rename_in_two_steps, BlobBuf, BlobList, Provider, Status};
use crate::store::{CustomStore, LockMode};

/// `get` flag: take the lock (get-exclusive); without it, get-shared.
pub const STORE_EXCLUSIVE: u32 = 1;

/// Callback outcome: done (found / created / saved / removed).
pub const STORE_OK: i32 = 0;
/// Callback outcome: no such key (`SESS_S_FALSE`'s value).
pub const STORE_NOT_FOUND: i32 = 1;
/// Callback outcome: another holder has the lock, or the caller's token does
/// not hold it.
pub const STORE_LOCKED: i32 = 2;
/// Callback outcome (`create`): the key is taken.
pub const STORE_EXISTS: i32 = 3;
/// Callback outcome (`get`): the session had expired; the host removed it and
/// wrote its final blob (the library runs Session_OnEnd).
pub const STORE_EXPIRED: i32 = 4;

/// A blob the library lends a store callback to copy one session's bytes
/// into. Valid only during that call.
#[repr(C)]
pub struct sess_buffer {
    /// Appends `len` bytes at `data` (the blob may be written in pieces):
    /// the same as `sess_buffer_write(buffer, data, len)`.
    pub write: Option<
        unsafe extern "C" fn(
            buffer: *mut sess_buffer,
            data: *const c_void,
            len: usize,
        ) -> sess_result,
    >,
    /// The library's; do not use.
    pub internal: *mut c_void,
}

/// The list of expired sessions' blobs the library lends `list_expired`.
/// Valid only during that call.
#[repr(C)]
pub struct sess_buffer_list {
    /// Adds one session's blob: the same as
    /// `sess_buffer_list_add(list, data, len)`.
    pub add: Option<
        unsafe extern "C" fn(
            list: *mut sess_buffer_list,
            data: *const c_void,
            len: usize,
        ) -> sess_result,
    >,
    /// The library's; do not use.
    pub internal: *mut c_void,
    /// Takes back every blob added after the first `len` (their claim
    /// failed: the host keeps those sessions): the same as
    /// `sess_buffer_list_truncate(list, len)`.
    pub truncate:
        Option<unsafe extern "C" fn(list: *mut sess_buffer_list, len: usize) -> sess_result>,
}

/// `get`: finds `key` and copies its blob into `out_blob` →
/// `SESS_STORE_OK`. With `SESS_STORE_EXCLUSIVE` in `flags` it also takes the
/// lock for `lock_token`; without it (read-only) it takes none. Either way,
/// while another token holds a live lock (not stale by the host's lock TTL,
/// judged against `now_ms`) → `SESS_STORE_LOCKED`: the library waits and
/// asks again until the application's lock timeout, then fails with
/// `SESS_E_LOCK_TIMEOUT`. Absent → `SESS_STORE_NOT_FOUND`. Expired (deadline
/// at or before `now_ms`) → `SESS_STORE_NOT_FOUND` (left for
/// `list_expired`), or, for an exclusive get only, the host may remove it,
/// copy its final blob and return `SESS_STORE_EXPIRED` (the library runs
/// Session_OnEnd). Copy the blob before taking the lock, so a failed copy
/// leaves no lock behind. `key` is borrowed for the call.
#[allow(non_camel_case_types)]
pub type sess_store_get_fn = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        key: *const c_char,
        flags: u32,
        lock_token: u64,
        now_ms: u64,
        out_blob: *mut sess_buffer,
    ) -> sess_result,
>;

/// `create`: inserts `key` with the blob (`blob_len` bytes, borrowed for the
/// call) and `deadline_ms` if the key is absent, locked for `lock_token`
/// since `now_ms` → `SESS_STORE_OK`; a taken key → `SESS_STORE_EXISTS`. The
/// host may refuse with `SESS_E_TOO_MANY_SESSIONS` when it holds
/// `max_sessions` sessions.
#[allow(non_camel_case_types)]
pub type sess_store_create_fn = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        key: *const c_char,
        lock_token: u64,
        now_ms: u64,
        deadline_ms: u64,
        max_sessions: u64,
        blob: *const c_void,
        blob_len: usize,
    ) -> sess_result,
>;

/// `set_and_release`: if `lock_token` holds `key`'s lock: stores the blob
/// (borrowed for the call; `blob` NULL: the session is unchanged, keep the
/// stored one), sets `deadline_ms`, unlocks → `SESS_STORE_OK`. Absent →
/// `SESS_STORE_NOT_FOUND`; locked by another token or not locked →
/// `SESS_STORE_LOCKED`; in both cases nothing is written.
#[allow(non_camel_case_types)]
pub type sess_store_set_fn = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        key: *const c_char,
        lock_token: u64,
        deadline_ms: u64,
        blob: *const c_void,
        blob_len: usize,
    ) -> sess_result,
>;

/// `release` (unlock without saving) and `remove` (delete: Abandon): act
/// only if `lock_token` holds `key`'s lock → `SESS_STORE_OK`; else
/// `SESS_STORE_NOT_FOUND` / `SESS_STORE_LOCKED` and nothing changes.
#[allow(non_camel_case_types)]
pub type sess_store_key_fn = Option<
    unsafe extern "C" fn(context: *mut c_void, key: *const c_char, lock_token: u64) -> sess_result,
>;

/// `reset_timeout`: sets a stored session's deadline without its data or
/// lock (a read-only request slides the expiry) → `SESS_STORE_OK`, or
/// `SESS_STORE_NOT_FOUND`.
#[allow(non_camel_case_types)]
pub type sess_store_reset_fn = Option<
    unsafe extern "C" fn(context: *mut c_void, key: *const c_char, deadline_ms: u64) -> sess_result,
>;

/// `list_expired`: claims up to `max` sessions whose deadline is at or
/// before `now_ms` and that are not locked (or whose lock is stale): for
/// each, adds its final blob to `out` (`sess_buffer_list_add`) and, if that
/// succeeded, removes it. Each expired session must be claimed exactly once,
/// even with several processes sweeping. Returns `SESS_STORE_OK` (the
/// library asks again when it got `max`). Every blob in `out` when it
/// returns gets Session_OnEnd, even if it fails: a removal that failed
/// (or a transaction that did not commit) must take its blobs back out
/// with `sess_buffer_list_truncate`, the sessions staying stored.
#[allow(non_camel_case_types)]
pub type sess_store_list_expired_fn = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        now_ms: u64,
        max: usize,
        out: *mut sess_buffer_list,
    ) -> sess_result,
>;

/// `rename` (regenerate_id): moves the session `old_key`, whose lock
/// `lock_token` holds, to `new_key`: stores it there with the blob
/// (borrowed for the call) and `deadline_ms`, locked for `lock_token` since
/// `now_ms`, and deletes `old_key` → `SESS_STORE_OK`. `new_key` taken →
/// `SESS_STORE_EXISTS`; `old_key` absent → `SESS_STORE_NOT_FOUND`; its lock
/// not held by `lock_token` → `SESS_STORE_LOCKED`; in those cases nothing
/// changes. Do both in one transaction, so that no process (and no crash)
/// sees the session under both keys or neither.
#[allow(non_camel_case_types)]
pub type sess_store_rename_fn = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        old_key: *const c_char,
        new_key: *const c_char,
        lock_token: u64,
        now_ms: u64,
        deadline_ms: u64,
        blob: *const c_void,
        blob_len: usize,
    ) -> sess_result,
>;

/// `count`: the number of stored sessions, in `*out_count`.
#[allow(non_camel_case_types)]
pub type sess_store_count_fn =
    Option<unsafe extern "C" fn(context: *mut c_void, out_count: *mut u64) -> sess_result>;

/// `destroy`: the library is done with `context` (see `sess_store_vtbl`).
#[allow(non_camel_case_types)]
pub type sess_store_destroy_fn = Option<unsafe extern "C" fn(context: *mut c_void)>;

/// A session store the host supplies: set `sess_app_options.store` to one.
/// Fill with `sess_store_vtbl_init` (zeroes it and sets `struct_size`), then
/// set `context` and the callbacks. `sess_app_create` copies the struct, so
/// it may be temporary; `context` must stay valid and usable from any thread
/// until `destroy` is called (or, without `destroy`, until the application
/// is released and its last session closed).
///
/// The library calls the callbacks from any thread, several at once. Keys
/// are 32 lowercase hex digits (a hash of the session ID, never the ID);
/// lock tokens are never 0, except the `lock_token` of a read-only `get`
/// (without `SESS_STORE_EXCLUSIVE`), which takes no lock and passes 0;
/// times are milliseconds of the application's clock (wall-clock time
/// unless `sess_app_options.clock` is set). Blobs are opaque bytes for the
/// host to keep as they are.
///
/// Each callback returns a `SESS_STORE_*` outcome (>= 0) or a failure code
/// (< 0), which becomes the result of the library call that needed the
/// store (with the message `sess_error_set` gave it, if any);
/// `SESS_E_STORE_UNAVAILABLE` says the store is down. An outcome the
/// callback's description does not list, or another code >= 0, is
/// `SESS_E_UNEXPECTED` (`release`, called only to give back a lock no
/// longer wanted, has its result ignored). A blob handed back that is not one the library
/// wrote for that key (damaged, cut short, another session's) is
/// `SESS_E_STORE_UNAVAILABLE` with a detail saying what is wrong (never
/// the bytes), and the lock the `get` took is given back. Required: `get`,
/// `create`, `set_and_release`, `release`, `remove`, `reset_timeout`,
/// `list_expired`; optional: `count` (NULL: counts as 0), `destroy`,
/// `rename` (NULL: regenerate_id calls `create` for the new key, then
/// `remove` for the old one).
///
/// Sessions stay in the host's store when the application is released
/// (other processes may share them); expired ones are ended, with
/// Session_OnEnd, by whichever application's expiry claims them.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sess_store_vtbl {
    /// `sizeof(sess_store_vtbl)` as the caller knows it.
    pub struct_size: u32,
    /// Passed to every callback.
    pub context: *mut c_void,
    /// get-exclusive / get-shared.
    pub get: sess_store_get_fn,
    /// Insert-if-absent, locked.
    pub create: sess_store_create_fn,
    /// Save, set the deadline and unlock.
    pub set_and_release: sess_store_set_fn,
    /// Unlock without saving.
    pub release: sess_store_key_fn,
    /// Delete (Abandon).
    pub remove: sess_store_key_fn,
    /// Slide the deadline (read-only requests).
    pub reset_timeout: sess_store_reset_fn,
    /// Claim expired sessions for Session_OnEnd.
    pub list_expired: sess_store_list_expired_fn,
    /// Number of stored sessions, or NULL.
    pub count: sess_store_count_fn,
    /// Called once with `context` when the library no longer uses it: when
    /// the application created with this vtable is gone (released and its
    /// last session closed). Not called if `sess_app_create` fails: the host
    /// still owns `context` then. May be NULL.
    pub destroy: sess_store_destroy_fn,
    /// A secret (`id_secret_len` bytes, 16 or more, the same in every
    /// process sharing the store; copied by `sess_app_create`) under which
    /// each blob keeps the session ID masked (HMAC-SHA-256 keystream), so
    /// Session_OnEnd of a session ended by `list_expired` sees the real
    /// SessionID. NULL (default): no form of the ID is stored, and such a
    /// session shows a stand-in SessionID made of its key (never a valid
    /// cookie); abandoned sessions and sessions a request found expired show
    /// their real ID either way.
    pub id_secret: *const u8,
    /// Length of `id_secret` in bytes.
    pub id_secret_len: usize,
    /// Move a session to a new key in one transaction (regenerate_id), or
    /// NULL.
    pub rename: sess_store_rename_fn,
}

fn empty_vtbl() -> sess_store_vtbl {
    sess_store_vtbl {
        struct_size: std::mem::size_of::<sess_store_vtbl>() as u32,
        context: std::ptr::null_mut(),
        get: None,
        create: None,
        set_and_release: None,
        release: None,
        remove: None,
        reset_timeout: None,
        list_expired: None,
        count: None,
        destroy: None,
        id_secret: std::ptr::null(),
        id_secret_len: 0,
        rename: None,
    }
}

/// Fills `*vtbl` with NULLs and sets `struct_size`.
/// It writes this library's whole struct: C and C++ callers reach
/// `sess_store_vtbl_init_sized` through the header's `sess_store_vtbl_init`
/// macro instead (see "Versioned structs" at the top).
#[no_mangle]
pub unsafe extern "C" fn sess_store_vtbl_init(vtbl: *mut sess_store_vtbl) -> sess_result {
    // SAFETY: NULL or writable per the contract.
    unsafe { versioned::init(vtbl, "vtbl") }
}

/// As `sess_store_vtbl_init`, for the caller's struct of `size` bytes (its
/// `sizeof`): nothing is written past it (see "Versioned structs" at the
/// top).
#[no_mangle]
pub unsafe extern "C" fn sess_store_vtbl_init_sized(
    vtbl: *mut sess_store_vtbl,
    size: usize,
) -> sess_result {
    // SAFETY: NULL or writable for `size` bytes per the contract.
    unsafe { versioned::init_sized(vtbl, size, "vtbl") }
}

/// Appends `len` bytes at `data` to the blob a store callback is copying
/// out (`data` may be NULL when `len` is 0). The library copies the bytes;
/// the caller keeps `data`. Past the largest blob a session of the
/// application can be → `SESS_E_VALUE_TOO_LARGE`; no memory →
/// `SESS_E_OUTOFMEMORY`; nothing is appended on failure. Use it only on the
/// buffer the library passed to the running callback.
#[no_mangle]
pub unsafe extern "C" fn sess_buffer_write(
    buffer: *mut sess_buffer,
    data: *const c_void,
    len: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or the buffer lent to the running callback.
        let b = unsafe { deref_mut(buffer, "buffer") }?;
        let write = b.write.ok_or_else(|| not_lent("buffer->write"))?;
        // SAFETY: the buffer's own function, with the caller's arguments.
        Ok(unsafe { write(buffer, data, len) })
    })
}

/// Adds one expired session's blob (`len` bytes at `data`, copied; the
/// caller keeps `data`) to the list `list_expired` fills. A full list
/// (`SESS_E_INSUFFICIENT_BUFFER`: `max` reached), a blob over the limit
/// (`SESS_E_VALUE_TOO_LARGE`) or no memory (`SESS_E_OUTOFMEMORY`) is a
/// failure, and the host must then keep that session. Use it only on the
/// list the library passed to the running callback.
#[no_mangle]
pub unsafe extern "C" fn sess_buffer_list_add(
    list: *mut sess_buffer_list,
    data: *const c_void,
    len: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or the list lent to the running callback.
        let l = unsafe { deref_mut(list, "list") }?;
        let add = l.add.ok_or_else(|| not_lent("list->add"))?;
        // SAFETY: the list's own function, with the caller's arguments.
        Ok(unsafe { add(list, data, len) })
    })
}

/// Takes back every blob added to `list` after the first `len` (a
/// `len` at or past the number added takes back none): for a
/// `list_expired` whose removal of their sessions failed, so that they
/// stay stored and get no Session_OnEnd now. Use it only on the list the
/// library passed to the running callback.
#[no_mangle]
pub unsafe extern "C" fn sess_buffer_list_truncate(
    list: *mut sess_buffer_list,
    len: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or the list lent to the running callback.
        let l = unsafe { deref_mut(list, "list") }?;
        let truncate = l.truncate.ok_or_else(|| not_lent("list->truncate"))?;
        // SAFETY: the list's own function, with the caller's arguments.
        Ok(unsafe { truncate(list, len) })
    })
}

/// `E_POINTER` for a buffer or list the library did not lend (a NULL
/// function or `internal`: a zeroed struct, say).
fn not_lent(what: &str) -> Error {
    super::null(&format!(
        "{what} (use only the buffer or list the library passed to the callback)"
    ))
}

unsafe extern "C" fn buffer_write(
    buffer: *mut sess_buffer,
    data: *const c_void,
    len: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or the buffer lent to the running callback.
        let b = unsafe { deref_mut(buffer, "buffer") }?;
        // SAFETY: `internal` is the BlobBuf the library lent with it.
        let sink = unsafe { b.internal.cast::<BlobBuf>().as_mut() }
            .ok_or_else(|| not_lent("buffer->internal"))?;
        // SAFETY: readable for len bytes per the contract.
        sink.write(unsafe { bytes(data.cast(), len, "data") }?)?;
        Ok(err::S_OK)
    })
}

unsafe extern "C" fn list_add(
    list: *mut sess_buffer_list,
    data: *const c_void,
    len: usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or the list lent to the running callback.
        let l = unsafe { deref_mut(list, "list") }?;
        // SAFETY: `internal` is the BlobList the library lent with it.
        let sink = unsafe { l.internal.cast::<BlobList>().as_mut() }
            .ok_or_else(|| not_lent("list->internal"))?;
        // SAFETY: readable for len bytes per the contract.
        sink.add(unsafe { bytes(data.cast(), len, "data") }?)?;
        Ok(err::S_OK)
    })
}

unsafe extern "C" fn list_truncate(list: *mut sess_buffer_list, len: usize) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or the list lent to the running callback.
        let l = unsafe { deref_mut(list, "list") }?;
        // SAFETY: `internal` is the BlobList the library lent with it.
        let sink = unsafe { l.internal.cast::<BlobList>().as_mut() }
            .ok_or_else(|| not_lent("list->internal"))?;
        sink.truncate(len);
        Ok(err::S_OK)
    })
}

/// The callbacks every vtable must set.
struct Callbacks {
    get: unsafe extern "C" fn(*mut c_void, *const c_char, u32, u64, u64, *mut sess_buffer) -> i32,
    create: unsafe extern "C" fn(
        *mut c_void,
        *const c_char,
        u64,
        u64,
        u64,
        u64,
        *const c_void,
        usize,
    ) -> i32,
    set_and_release:
        unsafe extern "C" fn(*mut c_void, *const c_char, u64, u64, *const c_void, usize) -> i32,
    release: unsafe extern "C" fn(*mut c_void, *const c_char, u64) -> i32,
    remove: unsafe extern "C" fn(*mut c_void, *const c_char, u64) -> i32,
    reset_timeout: unsafe extern "C" fn(*mut c_void, *const c_char, u64) -> i32,
    list_expired: unsafe extern "C" fn(*mut c_void, u64, usize, *mut sess_buffer_list) -> i32,
    count: sess_store_count_fn,
    destroy: sess_store_destroy_fn,
    rename: sess_store_rename_fn,
}

/// A host's C store as a [`Provider`].
struct CStore {
    f: Callbacks,
    context: *mut c_void,
    /// Whether dropping calls `destroy` (set once the application exists).
    armed: Arc<AtomicBool>,
}

// SAFETY: the vtable's documentation makes the host promise that `context`
// and the callbacks are usable from any thread, concurrently.
unsafe impl Send for CStore {}
// SAFETY: as above.
unsafe impl Sync for CStore {}

impl Drop for CStore {
    fn drop(&mut self) {
        if self.armed.load(Ordering::Acquire) {
            if let Some(destroy) = self.f.destroy {
                // SAFETY: the host's callback, once, with its context.
                unsafe { destroy(self.context) };
            }
        }
    }
}

// SAFETY: repr(C), struct_size first; callbacks are Options.
unsafe impl Versioned for sess_store_vtbl {
    const NAME: &'static str = "sess_store_vtbl";
    // The smallest: the required callbacks only; then up to `id_secret_len`
    // (before `rename`).
    const VERSIONS: &'static [usize] = &[
        std::mem::offset_of!(sess_store_vtbl, count),
        std::mem::offset_of!(sess_store_vtbl, rename),
        std::mem::size_of::<sess_store_vtbl>(),
    ];
    fn defaults() -> Self {
        empty_vtbl()
    }
}

impl CStore {
    /// The store a vtable describes, with
    /// `destroy` disarmed.
    fn new(v: &sess_store_vtbl) -> Result<CStore> {
        let need = |what: &str| super::null(&format!("opts->store->{what}"));
        Ok(CStore {
            f: Callbacks {
                get: v.get.ok_or_else(|| need("get"))?,
                create: v.create.ok_or_else(|| need("create"))?,
                set_and_release: v.set_and_release.ok_or_else(|| need("set_and_release"))?,
                release: v.release.ok_or_else(|| need("release"))?,
                remove: v.remove.ok_or_else(|| need("remove"))?,
                reset_timeout: v.reset_timeout.ok_or_else(|| need("reset_timeout"))?,
                list_expired: v.list_expired.ok_or_else(|| need("list_expired"))?,
                count: v.count,
                destroy: v.destroy,
                rename: v.rename,
            },
            context: v.context,
            armed: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// The host's result as a status (`odd` positive codes are `E_UNEXPECTED`);
/// a failure carries the message the callback gave it (`sess_error_set`).
fn status(op: &str, host: HostResult) -> Result<Status> {
    Ok(match host.rc {
        STORE_OK => Status::Done,
        STORE_NOT_FOUND => Status::NotFound,
        STORE_LOCKED => Status::Locked,
        STORE_EXISTS => Status::Exists,
        STORE_EXPIRED => Status::Expired,
        err::E_STORE_UNAVAILABLE => {
            return Err(host.error(format!(
                "the custom store's {op} reports the store unavailable"
            )))
        }
        rc if rc < 0 => {
            return Err(host.error(format!(
                "the custom store's {op} failed: {} (0x{:08X})",
                err::message(rc),
                rc as u32
            )))
        }
        rc => {
            return Err(Error::new(
                err::E_UNEXPECTED,
                format!("the custom store's {op} returned {rc}, not a SESS_STORE_* outcome"),
            ))
        }
    })
}

/// A key as C text (keys are hex: no NUL inside).
fn c_key(key: &str) -> Result<CString> {
    CString::new(key).map_err(|_| Error::new(err::E_UNEXPECTED, "a store key holds a NUL"))
}

/// A borrowed blob as `(pointer, length)`.
fn raw(blob: &[u8]) -> (*const c_void, usize) {
    (blob.as_ptr().cast(), blob.len())
}

impl Provider for CStore {
    fn get(
        &self,
        key: &str,
        mode: LockMode,
        token: u64,
        now_ms: u64,
        out: &mut BlobBuf,
    ) -> Result<Status> {
        let key = c_key(key)?;
        let flags = match mode {
            LockMode::Exclusive => STORE_EXCLUSIVE,
            LockMode::Shared => 0,
        };
        let mut buf = sess_buffer {
            write: Some(buffer_write),
            internal: (out as *mut BlobBuf).cast(),
        };
        // SAFETY: the host's callback; the key and buffer live through it.
        let rc = call_host(|| unsafe {
            (self.f.get)(self.context, key.as_ptr(), flags, token, now_ms, &mut buf)
        });
        status("get", rc)
    }

    fn create(
        &self,
        key: &str,
        token: u64,
        now_ms: u64,
        deadline_ms: u64,
        max_sessions: u64,
        blob: &[u8],
    ) -> Result<Status> {
        let key = c_key(key)?;
        let (p, n) = raw(blob);
        // SAFETY: the host's callback; the key and blob live through it.
        let rc = call_host(|| unsafe {
            (self.f.create)(
                self.context,
                key.as_ptr(),
                token,
                now_ms,
                deadline_ms,
                max_sessions,
                p,
                n,
            )
        });
        status("create", rc)
    }

    fn set_and_release(
        &self,
        key: &str,
        token: u64,
        deadline_ms: u64,
        blob: Option<&[u8]>,
    ) -> Result<Status> {
        let key = c_key(key)?;
        let (p, n) = blob.map_or((std::ptr::null(), 0), raw);
        // SAFETY: the host's callback; the key and blob live through it.
        let rc = call_host(|| unsafe {
            (self.f.set_and_release)(self.context, key.as_ptr(), token, deadline_ms, p, n)
        });
        status("set_and_release", rc)
    }

    fn release(&self, key: &str, token: u64) -> Result<Status> {
        let key = c_key(key)?;
        // SAFETY: the host's callback; the key lives through it.
        let rc = call_host(|| unsafe { (self.f.release)(self.context, key.as_ptr(), token) });
        status("release", rc)
    }

    fn remove(&self, key: &str, token: u64) -> Result<Status> {
        let key = c_key(key)?;
        // SAFETY: the host's callback; the key lives through it.
        let rc = call_host(|| unsafe { (self.f.remove)(self.context, key.as_ptr(), token) });
        status("remove", rc)
    }

    fn rename(
        &self,
        old: &str,
        new: &str,
        token: u64,
        now_ms: u64,
        deadline_ms: u64,
        blob: &[u8],
    ) -> Result<Status> {
        let Some(rename) = self.f.rename else {
            return rename_in_two_steps(self, old, new, token, now_ms, deadline_ms, blob);
        };
        let (old, new) = (c_key(old)?, c_key(new)?);
        let (p, n) = raw(blob);
        // SAFETY: the host's callback; the keys and blob live through it.
        let rc = call_host(|| unsafe {
            rename(
                self.context,
                old.as_ptr(),
                new.as_ptr(),
                token,
                now_ms,
                deadline_ms,
                p,
                n,
            )
        });
        status("rename", rc)
    }

    fn reset_timeout(&self, key: &str, deadline_ms: u64) -> Result<Status> {
        let key = c_key(key)?;
        // SAFETY: the host's callback; the key lives through it.
        let rc = call_host(|| unsafe {
            (self.f.reset_timeout)(self.context, key.as_ptr(), deadline_ms)
        });
        status("reset_timeout", rc)
    }

    fn claim_expired(&self, now_ms: u64, max: usize, out: &mut BlobList) -> Result<()> {
        let mut list = sess_buffer_list {
            add: Some(list_add),
            internal: (out as *mut BlobList).cast(),
            truncate: Some(list_truncate),
        };
        // The host's code, run by a sweep that holds no lock of the library
        // across it: a fork need not wait for it (`fork::host`), as it may
        // wait for the forking thread.
        // SAFETY: the host's callback; the list lives through it.
        let rc = crate::fork::host(|| {
            call_host(|| unsafe { (self.f.list_expired)(self.context, now_ms, max, &mut list) })
        });
        match status("list_expired", rc)? {
            Status::Done => Ok(()),
            s => Err(Error::new(
                err::E_UNEXPECTED,
                format!("the custom store's list_expired returned {s:?}"),
            )),
        }
    }

    fn count(&self) -> Result<u64> {
        let Some(count) = self.f.count else {
            return Ok(0);
        };
        let mut n = 0u64;
        // SAFETY: the host's callback with a writable out slot.
        let rc = call_host(|| unsafe { count(self.context, &mut n) });
        match status("count", rc)? {
            Status::Done => Ok(n),
            other => Err(Error::new(
                err::E_UNEXPECTED,
                format!("the custom store's count returned {other:?}, not SESS_STORE_OK"),
            )),
        }
    }
}

/// The store a C vtable describes, for a Rust host or test that holds one:
/// use it as `StoreConfig::Custom(Arc::new(store))` in an application with
/// the same `limits` (`AppOptions`' `max_*` fields). It is what
/// `sess_app_create` builds from `opts->store`; `destroy` runs when the
/// store is dropped, and not if this fails.
///
/// # Safety
/// `vtbl` must be readable for `(*vtbl).struct_size` bytes; its callbacks
/// and context must keep `sess_store_vtbl`'s contract.
pub unsafe fn custom_store_from_vtbl(
    vtbl: *const sess_store_vtbl,
    limits: Limits,
) -> Result<CustomStore> {
    // SAFETY: forwarded to the caller.
    let (store, armed) = unsafe { custom_store(vtbl, limits) }?;
    armed.store(true, Ordering::Release);
    Ok(store)
}

/// A custom store over the host's `vtbl` for an application with `limits`,
/// and the switch that arms its `destroy` (flip it once the application
/// exists: a failed `sess_app_create` leaves `context` to the host).
///
/// # Safety
/// `vtbl` must be readable for `(*vtbl).struct_size` bytes; its callbacks
/// and context must keep the vtable's contract.
pub(crate) unsafe fn custom_store(
    vtbl: *const sess_store_vtbl,
    limits: Limits,
) -> Result<(CustomStore, Arc<AtomicBool>)> {
    // SAFETY: forwarded to the caller.
    let v = unsafe { versioned::read(vtbl, "opts->store") }?;
    let c = CStore::new(&v)?;
    let armed = c.armed.clone();
    let mut store = CustomStore::new(Arc::new(c), limits);
    // SAFETY: NULL or readable for its length per the contract.
    let secret = unsafe {
        optional_bytes(
            v.id_secret.cast(),
            v.id_secret_len,
            "opts->store->id_secret",
        )
    }?;
    if let Some(secret) = secret {
        store = store.with_id_secret(secret)?;
    }
    Ok((store, armed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtables_follow_the_versioned_rule() {
        versioned::check_the_rule::<sess_store_vtbl>();
    }

    #[test]
    fn vtables_are_versioned_and_checked() {
        let mut v = empty_vtbl();
        // SAFETY: `v` is writable.
        assert_eq!(unsafe { sess_store_vtbl_init(&mut v) }, err::S_OK);
        assert_eq!(
            v.struct_size as usize,
            std::mem::size_of::<sess_store_vtbl>()
        );
        let limits = || crate::app::AppOptions::default().limits();
        // SAFETY: readable for its size.
        let e = unsafe { custom_store(&v, limits()) }.err().unwrap();
        assert_eq!(e.code(), err::E_POINTER);
        assert!(e.detail().contains("get"), "{}", e.detail());
        v.struct_size = 4;
        // SAFETY: as above.
        let e = unsafe { custom_store(&v, limits()) }.err().unwrap();
        assert_eq!(e.code(), err::E_INVALID_OPTION);
        // SAFETY: NULL is refused.
        assert_eq!(
            unsafe { sess_store_vtbl_init(std::ptr::null_mut()) },
            err::E_POINTER
        );
    }

    #[test]
    fn host_codes_become_statuses_or_errors() {
        let status = |op, rc| status(op, call_host(|| rc));
        assert_eq!(status("get", STORE_OK), Ok(Status::Done));
        assert_eq!(status("get", STORE_EXPIRED), Ok(Status::Expired));
        assert_eq!(
            status("get", err::E_STORE_UNAVAILABLE).unwrap_err().code(),
            err::E_STORE_UNAVAILABLE
        );
        assert_eq!(status("get", err::E_FAIL).unwrap_err().code(), err::E_FAIL);
        assert_eq!(status("get", 77).unwrap_err().code(), err::E_UNEXPECTED);
    }

    #[test]
    fn buffers_copy_within_their_limit() {
        let mut sink = BlobBuf::new(4);
        let mut b = sess_buffer {
            write: Some(buffer_write),
            internal: (&mut sink as *mut BlobBuf).cast(),
        };
        // SAFETY: the buffer and data live through the calls.
        unsafe {
            assert_eq!(
                sess_buffer_write(&mut b, b"ab".as_ptr().cast(), 2),
                err::S_OK
            );
            assert_eq!(sess_buffer_write(&mut b, std::ptr::null(), 0), err::S_OK);
            assert_eq!(
                sess_buffer_write(&mut b, b"cde".as_ptr().cast(), 3),
                err::E_VALUE_TOO_LARGE
            );
            assert_eq!(
                sess_buffer_write(&mut b, std::ptr::null(), 1),
                err::E_POINTER
            );
            assert_eq!(
                sess_buffer_write(std::ptr::null_mut(), b"a".as_ptr().cast(), 1),
                err::E_POINTER
            );
        }
        assert_eq!(sink.as_bytes(), b"ab");
        let mut blobs = BlobList::new(8, 1);
        let mut l = sess_buffer_list {
            add: Some(list_add),
            internal: (&mut blobs as *mut BlobList).cast(),
            truncate: Some(list_truncate),
        };
        // SAFETY: as above.
        unsafe {
            assert_eq!(
                sess_buffer_list_add(&mut l, b"x".as_ptr().cast(), 1),
                err::S_OK
            );
            assert_eq!(
                sess_buffer_list_add(&mut l, b"y".as_ptr().cast(), 1),
                err::E_INSUFFICIENT_BUFFER
            );
        }
        assert_eq!(blobs.len(), 1);
    }

    #[test]
    fn zeroed_buffers_are_refused_not_called() {
        // SAFETY: all-zero is a valid sess_buffer / sess_buffer_list (NULL
        // function and internal pointers); the calls must refuse them.
        unsafe {
            let mut b: sess_buffer = std::mem::zeroed();
            assert_eq!(
                sess_buffer_write(&mut b, b"a".as_ptr().cast(), 1),
                err::E_POINTER
            );
            b.write = Some(buffer_write);
            assert_eq!(
                sess_buffer_write(&mut b, b"a".as_ptr().cast(), 1),
                err::E_POINTER
            );
            let mut l: sess_buffer_list = std::mem::zeroed();
            assert_eq!(
                sess_buffer_list_add(&mut l, b"a".as_ptr().cast(), 1),
                err::E_POINTER
            );
            l.add = Some(list_add);
            assert_eq!(
                sess_buffer_list_add(&mut l, b"a".as_ptr().cast(), 1),
                err::E_POINTER
            );
        }
    }
}
