//! `sess_redis_options`: keeping an application's sessions in Redis (web
//! farms), from C.

use std::ffi::c_char;
use std::time::Duration;

use super::versioned::{self, Versioned};
use super::{optional_bytes, optional_text, sess_result, CBool};
use crate::error::Result;
use crate::store::RedisOptions;

/// Where and how an application keeps its sessions in Redis. Fill with
/// `sess_redis_options_init` (every default), set `url`, and point
/// `sess_app_options.redis` at it; strings are copied by `sess_app_create`.
/// The server must be Redis 5 or later, best with `maxmemory-policy
/// noeviction` (full: `SESS_E_STORE_FULL`); one whose policy may evict any
/// key (`allkeys-*`) is refused: every call fails with
/// `SESS_E_STORE_UNAVAILABLE` saying why.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sess_redis_options {
    /// `sizeof(sess_redis_options)` as the caller knows it.
    pub struct_size: u32,
    /// Longest wait for one connection to open, ms (default 2000).
    pub connect_timeout_ms: u32,
    /// Longest wait for one reply, ms (default 1000).
    pub op_timeout_ms: u32,
    /// Total time one call may spend retrying before it fails with
    /// `SESS_E_STORE_UNAVAILABLE`, ms (default 3000). A server out of
    /// memory fails a write at once with `SESS_E_STORE_FULL`.
    pub retry_budget_ms: u32,
    /// How long a lock lives if its holder never releases it (a crashed
    /// process), ms, by the Redis server's clock (default 120000).
    pub lock_ttl_ms: u32,
    /// Read-only requests slide the expiry only if it moves by this much
    /// (or by half the session's Timeout, if less), ms (default 60000).
    pub expiry_refresh_ms: u32,
    /// How long data outlives its deadline so the sweeper can run
    /// Session_OnEnd with it, ms (default 600000).
    pub grace_ms: u32,
    /// Most connections open at once (default 16).
    pub pool_size: u32,
    /// The server: `redis://[user:password@]host[:port][/db]`,
    /// `rediss://...` (TLS), `redis+unix:///path[?db=N]`, `unix:///path`;
    /// NULL is `redis://127.0.0.1:6379/0`. With `cluster`, a seed node. A
    /// database number below 0 (`redis://host/-1`, `?db=-2`), or other
    /// than 0 with `cluster` (a Redis Cluster has database 0 only), is
    /// `SESS_E_INVALID_OPTION` from `sess_app_create`. The store speaks
    /// RESP2 whatever the URL asks (`?protocol=resp3` is ignored).
    pub url: *const c_char,
    /// Prefix of the application's keys (NULL: `sess:`); applications
    /// sharing a database need different ones. No `{`, `}` or controls.
    pub key_prefix: *const c_char,
    /// A farm-wide secret (16 bytes or more; `id_secret_len` of them), or
    /// NULL (with `id_secret_len` 0; a length without the pointer is
    /// `SESS_E_POINTER`): with it, Session_OnEnd run by any process's sweeper sees the
    /// real SessionID (stored masked); without, a stand-in ID.
    pub id_secret: *const u8,
    /// Length of `id_secret`.
    pub id_secret_len: usize,
    /// `url` names a node of a Redis Cluster.
    pub cluster: CBool,
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn redis_defaults() -> sess_redis_options {
    let d = RedisOptions::default();
    sess_redis_options {
        struct_size: std::mem::size_of::<sess_redis_options>() as u32,
        connect_timeout_ms: ms(d.connect_timeout),
        op_timeout_ms: ms(d.op_timeout),
        retry_budget_ms: ms(d.retry_budget),
        lock_ttl_ms: ms(d.lock_ttl),
        expiry_refresh_ms: ms(d.expiry_refresh_interval),
        grace_ms: ms(d.grace),
        pool_size: u32::try_from(d.pool_size).unwrap_or(u32::MAX),
        url: std::ptr::null(),
        key_prefix: std::ptr::null(),
        id_secret: std::ptr::null(),
        id_secret_len: 0,
        cluster: false.into(),
    }
}

/// Fills `*opts` with the defaults and sets `struct_size`.
/// It writes this library's whole struct: C and C++ callers reach
/// `sess_redis_options_init_sized` through the header's `sess_redis_options_init`
/// macro instead (see "Versioned structs" at the top).
#[no_mangle]
pub unsafe extern "C" fn sess_redis_options_init(opts: *mut sess_redis_options) -> sess_result {
    // SAFETY: NULL or writable per the contract.
    unsafe { versioned::init(opts, "opts") }
}

/// As `sess_redis_options_init`, for the caller's struct of `size` bytes (its
/// `sizeof`): nothing is written past it (see "Versioned structs" at the
/// top).
#[no_mangle]
pub unsafe extern "C" fn sess_redis_options_init_sized(
    opts: *mut sess_redis_options,
    size: usize,
) -> sess_result {
    // SAFETY: NULL or writable for `size` bytes per the contract.
    unsafe { versioned::init_sized(opts, size, "opts") }
}

// SAFETY: repr(C), struct_size first.
unsafe impl Versioned for sess_redis_options {
    const NAME: &'static str = "sess_redis_options";
    const VERSIONS: &'static [usize] = &[std::mem::size_of::<sess_redis_options>()];
    fn defaults() -> Self {
        redis_defaults()
    }
}

/// The Rust options from a caller's struct (validated later, with the
/// application's options).
///
/// # Safety
/// `o` must be readable for `struct_size` bytes, its strings NULL or
/// NUL-terminated, `id_secret` readable for `id_secret_len` bytes.
pub(crate) unsafe fn to_rust(o: *const sess_redis_options) -> Result<RedisOptions> {
    // SAFETY: readable for its struct_size per the caller.
    let o = unsafe { versioned::read(o, "opts->redis") }?;
    let d = RedisOptions::default();
    let millis = |v: u32| Duration::from_millis(v.into());
    Ok(RedisOptions {
        // SAFETY: NULL or NUL-terminated per the caller.
        url: unsafe { optional_text(o.url, "redis->url") }?.map_or(d.url, str::to_owned),
        // SAFETY: as above.
        key_prefix: unsafe { optional_text(o.key_prefix, "redis->key_prefix") }?
            .map_or(d.key_prefix, str::to_owned),
        // SAFETY: NULL or readable for id_secret_len bytes per the caller.
        id_secret: unsafe {
            optional_bytes(o.id_secret.cast(), o.id_secret_len, "redis->id_secret")
        }?
        .map(<[u8]>::to_vec),
        cluster: o.cluster.get(),
        connect_timeout: millis(o.connect_timeout_ms),
        op_timeout: millis(o.op_timeout_ms),
        retry_budget: millis(o.retry_budget_ms),
        lock_ttl: millis(o.lock_ttl_ms),
        expiry_refresh_interval: millis(o.expiry_refresh_ms),
        grace: millis(o.grace_ms),
        pool_size: o.pool_size as usize,
        ..d
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error as err;

    #[test]
    fn a_secret_length_without_the_secret_is_refused() {
        let mut o = redis_defaults();
        o.id_secret_len = 32;
        // SAFETY: `o` is a whole, readable struct.
        let e = unsafe { to_rust(&o) }.unwrap_err();
        assert_eq!(e.code(), err::E_POINTER);
        o.id_secret_len = 0;
        // SAFETY: as above.
        assert_eq!(unsafe { to_rust(&o) }.unwrap().id_secret, None);
    }

    #[test]
    fn c_bool_fields_take_any_nonzero_byte() {
        let offset = std::mem::offset_of!(sess_redis_options, cluster);
        // SAFETY: a whole struct, its strings and secret NULL.
        let o = versioned::with_byte(offset, 2, |p| unsafe { to_rust(p) }).unwrap();
        assert!(o.cluster, "cluster holding 2 reads as true");
    }

    /// What `url`'s documentation says of database numbers holds through
    /// `sess_app_create`.
    #[test]
    fn bad_database_numbers_are_refused_at_creation() {
        use crate::ffi::app::{sess_app_create, sess_app_options, sess_app_options_init};
        let cases = [
            (c"redis://127.0.0.1:1/-1", false),
            (c"redis+unix:///tmp/r.sock?db=-2", false),
            (c"redis://127.0.0.1:1/1", true),
        ];
        for (url, cluster) in cases {
            let mut redis = redis_defaults();
            redis.url = url.as_ptr();
            redis.cluster = cluster.into();
            // SAFETY: zeroed, then initialised by its init function.
            let mut o: sess_app_options = unsafe { std::mem::zeroed() };
            // SAFETY: a writable struct.
            assert_eq!(unsafe { sess_app_options_init(&mut o) }, err::S_OK);
            o.redis = &redis;
            let mut app = std::ptr::null_mut();
            // SAFETY: whole structs, their strings NUL-terminated.
            let rc = unsafe { sess_app_create(&o, &mut app) };
            assert_eq!(rc, err::E_INVALID_OPTION, "{url:?} (cluster {cluster})");
            assert!(app.is_null(), "{url:?}");
        }
    }

    #[test]
    fn redis_options_follow_the_versioned_rule() {
        versioned::check_the_rule::<sess_redis_options>();
    }
}
