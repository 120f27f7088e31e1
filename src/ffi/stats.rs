//! `sess_app_stats`: an application's counters for operators (what ASP's
//! and ASP.NET's performance counters give), in a versioned struct.

use super::handle::{self, sess_app};
use super::{boundary, deref_mut, sess_result};
use crate::app::{App, AppStats};
use crate::error::{self as err, Error};

/// An application's counters (`sess_app_stats`), all since it was created.
/// Fill `struct_size` with `sess_app_stats_init` (later versions only add
/// fields at the end). With the in-process store and no session open, they
/// balance: `sessions_current` = `sessions_total` - `sessions_timed_out` -
/// `sessions_abandoned`, also while an expiry sweep runs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct sess_app_counters {
    /// `sizeof(sess_app_counters)` as the caller knows it.
    pub struct_size: u32,
    /// Zero.
    pub reserved: u32,
    /// Sessions stored now (for a shared store: the farm's); UINT64_MAX
    /// when the store cannot count them now (`sess_app_stats` then returns
    /// `SESS_S_FALSE`; a failure with `SESS_E_STORE_UNAVAILABLE` counts in
    /// `store_errors`).
    pub sessions_current: u64,
    /// Sessions created by this application: new sessions stored by a
    /// unit of work that ended keeping them (closed, abandoned or not). A
    /// new session discarded (`sess_session_discard`, a failed request: the
    /// client gets no cookie), or whose `on_start` failed, is not counted.
    pub sessions_total: u64,
    /// Sessions ended because their Timeout passed.
    pub sessions_timed_out: u64,
    /// Sessions ended by Abandon.
    pub sessions_abandoned: u64,
    /// Requests that found their session locked and waited.
    pub lock_waits: u64,
    /// Requests that gave up waiting (`SESS_E_LOCK_TIMEOUT`).
    pub lock_timeouts: u64,
    /// Store calls that failed with `SESS_E_STORE_UNAVAILABLE`.
    pub store_errors: u64,
}

/// Zeroes `*stats` and sets `struct_size`. It writes this library's whole
/// struct: C and C++ callers reach `sess_app_stats_init_sized` through the
/// header's `sess_app_stats_init` macro instead (see "Versioned structs"
/// at the top).
#[no_mangle]
pub unsafe extern "C" fn sess_app_stats_init(stats: *mut sess_app_counters) -> sess_result {
    boundary(|| {
        let value = sess_app_counters {
            struct_size: std::mem::size_of::<sess_app_counters>() as u32,
            ..Default::default()
        };
        // SAFETY: NULL or writable.
        unsafe { super::put_required(stats, value, "stats") }?;
        Ok(err::S_OK)
    })
}

/// As `sess_app_stats_init`, for the caller's struct of `size` bytes (its
/// `sizeof`): zeroes those bytes only and sets `struct_size` to `size`. A
/// size smaller than the first counter's end, or more than 256 bytes past
/// this library's struct, is `SESS_E_INVALID_OPTION`, nothing written.
#[no_mangle]
pub unsafe extern "C" fn sess_app_stats_init_sized(
    stats: *mut sess_app_counters,
    size: usize,
) -> sess_result {
    boundary(|| {
        super::require(stats, "stats")?;
        let smallest = first_counter_end();
        let largest = std::mem::size_of::<sess_app_counters>() + super::versioned::MAX_GROWTH;
        if !(smallest..=largest).contains(&size) {
            return Err(Error::new(
                err::E_INVALID_OPTION,
                format!("size is {size}; it must be {smallest} to {largest}"),
            ));
        }
        let out = stats.cast::<u8>();
        // SAFETY: writable for `size` bytes per the contract; size >= 8.
        unsafe {
            std::ptr::write_bytes(out, 0, size);
            out.cast::<u32>().write_unaligned(size as u32);
        }
        Ok(err::S_OK)
    })
}

/// The smallest `struct_size` of `sess_app_counters`: up to its first
/// counter.
fn first_counter_end() -> usize {
    std::mem::offset_of!(sess_app_counters, sessions_total)
}

/// Writes `app`'s counters to `*stats`, whose `struct_size` (set by
/// `sess_app_stats_init`) says how many fields the caller has: only those
/// are written. A `struct_size` smaller than the first counter's end is
/// `SESS_E_INVALID_OPTION`. With the store down the counters are still
/// written: `sessions_current` is then UINT64_MAX and the result
/// `SESS_S_FALSE`.
#[no_mangle]
pub unsafe extern "C" fn sess_app_stats(
    app: *const sess_app,
    stats: *mut sess_app_counters,
) -> sess_result {
    // SAFETY: as this function's contract.
    unsafe { write_stats(app, stats, App::stats) }
}

/// As `sess_app_stats`, with the application's own counters only: it does
/// not ask the store for its count of sessions, so it never waits on the
/// store and counts no store error (`sess_app_stats` counts one each time
/// a store that is down cannot count). `sessions_current` is UINT64_MAX and
/// the result `SESS_S_FALSE`. For a host that reads the counters often, a
/// metrics publisher every second, say.
#[no_mangle]
pub unsafe extern "C" fn sess_app_stats_own(
    app: *const sess_app,
    stats: *mut sess_app_counters,
) -> sess_result {
    // SAFETY: as this function's contract.
    unsafe { write_stats(app, stats, App::own_stats) }
}

/// `sess_app_stats`' body, the counters read by `read`.
///
/// # Safety
/// `app` is NULL or a live application; `stats` is NULL or writable for
/// its `struct_size` bytes.
unsafe fn write_stats(
    app: *const sess_app,
    stats: *mut sess_app_counters,
    read: fn(&App) -> AppStats,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live application.
        let app = unsafe { handle::live(app, "app") }?;
        let out = stats.cast::<u32>();
        // SAFETY: NULL or writable for at least struct_size bytes, which
        // comes first.
        let size = *unsafe { deref_mut(out, "stats") }? as usize;
        let first = first_counter_end();
        if size < first {
            return Err(Error::new(
                err::E_INVALID_OPTION,
                format!("stats->struct_size is {size}; it must be at least {first}"),
            ));
        }
        let s = read(&app);
        let full = sess_app_counters {
            struct_size: size as u32,
            reserved: 0,
            sessions_current: s.sessions_current.unwrap_or(u64::MAX),
            sessions_total: s.sessions_total,
            sessions_timed_out: s.sessions_timed_out,
            sessions_abandoned: s.sessions_abandoned,
            lock_waits: s.lock_waits,
            lock_timeouts: s.lock_timeouts,
            store_errors: s.store_errors,
        };
        // Whole counters only, as many as the caller's struct holds.
        let n = size.min(std::mem::size_of::<sess_app_counters>()) / 8 * 8;
        // SAFETY: the caller's struct is writable for `size` >= n bytes.
        unsafe {
            std::ptr::copy_nonoverlapping((&raw const full).cast::<u8>(), stats.cast::<u8>(), n)
        };
        Ok(if s.sessions_current.is_some() {
            err::S_OK
        } else {
            err::S_FALSE
        })
    })
}
