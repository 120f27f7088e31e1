//! `sess_app`: an application and its options.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use super::handle::{self, lend, sess_app, sess_session};
use super::host_error::call_host;
use super::store::sess_store_vtbl;
use super::versioned::{self, Versioned};
use super::{boundary, put, put_required, sess_result, text};
use crate::app::{App, AppOptions, Factory, OnEnd, OnStart, Session, StaticObject, StoreConfig};
use crate::clock::Clock;
use crate::error::{self as err, Error, Result};
use crate::variant::{Object, Unknown};

/// Session_OnStart: runs when a session is created, before the host sees it.
/// The handler may read and write the session but must not close it. A
/// failure code cancels the session and is returned by `sess_session_create`
/// (with the message `sess_error_set` gave it, if any).
#[allow(non_camel_case_types)]
pub type sess_on_start_fn =
    Option<unsafe extern "C" fn(context: *mut c_void, session: *mut sess_session) -> sess_result>;

/// Session_OnEnd: runs when a session times out, is abandoned, or (with
/// the in-process store) the application is released. The contents are readable; the handle is the
/// library's (do not close it) and is valid only during the call. It runs
/// on the thread that ended the session (a request, the expiry thread, or
/// the caller of `sess_app_expire` / `sess_app_release`). It runs once per
/// session, in one process; across a crash at most once: with a shared
/// store (Redis, LMDB), a process killed after its expiry removed a
/// session from the store and before the handler returned loses that
/// session's Session_OnEnd (no other process runs it).
#[allow(non_camel_case_types)]
pub type sess_on_end_fn =
    Option<unsafe extern "C" fn(context: *mut c_void, session: *mut sess_session)>;

/// Makes one instance of a session-scope static object: stores an owned
/// (AddRef'd) reference in `*out` and returns `SESS_S_OK`, or a failure code
/// (which `sess_error_set` may give a message). A success with `*out` left
/// NULL fails the call that needed the object with `SESS_E_POINTER`.
#[allow(non_camel_case_types)]
pub type sess_static_factory_fn = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        name: *const c_char,
        out: *mut *mut Unknown,
    ) -> sess_result,
>;

/// A clock: milliseconds that never decrease, from a fixed origin (any one
/// in-process; with a shared store every process must read the same time,
/// e.g. milliseconds since 1970).
#[allow(non_camel_case_types)]
pub type sess_clock_fn = Option<unsafe extern "C" fn(context: *mut c_void) -> u64>;

/// A session-scope static object declaration (GLOBAL.ASA's
/// `<OBJECT RUNAT=Server SCOPE=Session ID=name>`). The name is copied at
/// `sess_app_create`; `context` must stay valid while the application lives.
/// A session keeps its instance in the in-process store (a read-only unit
/// of work that finds none there makes its own); a shared store (Redis,
/// LMDB, a host's) keeps no objects, so there each unit of work that uses
/// it makes its own, released when that unit of work ends.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sess_static_object_decl {
    /// The object's name (UTF-8, NUL-terminated).
    pub name: *const c_char,
    /// Makes a session's instance on first use.
    pub factory: sess_static_factory_fn,
    /// Passed to `factory`.
    pub context: *mut c_void,
}

/// Application options. Fill with `sess_app_options_init` (which sets
/// `struct_size` and every default), then change what you need.
///
/// Versioned by `struct_size` (the rule is at the top of this header).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sess_app_options {
    /// `sizeof(sess_app_options)` as the caller knows it.
    pub struct_size: u32,
    /// Timeout of a new session in minutes (default 20).
    pub default_timeout_minutes: u32,
    /// Largest Timeout a session may set (default 525600, a year). A
    /// session a shared store kept with a larger one (set under a larger
    /// maximum) is read with this one.
    pub max_timeout_minutes: u32,
    /// If non-zero, sessions end this many minutes after they began, however
    /// active (default 0: none).
    pub absolute_timeout_minutes: u32,
    /// Most sessions stored at once (default 1000000). A new session past
    /// it is `SESS_E_TOO_MANY_SESSIONS`, once its first write has ended a
    /// batch of the sessions already past their deadline (as a sweep
    /// would: `on_end`, on that thread) and still finds no room.
    pub max_sessions: u64,
    /// Largest value in bytes (default 1048576; 0 is not "no limit" but
    /// `SESS_E_INVALID_OPTION`).
    pub max_value_bytes: u64,
    /// Most Contents items per session (default 1024).
    pub max_items: u32,
    /// Longest Contents key in UTF-8 bytes (default 255).
    pub max_key_bytes: u32,
    /// Longest wait for a session another request holds, ms (default 10000).
    pub lock_timeout_ms: u32,
    /// How often a library thread ends expired sessions, ms; 0 runs no
    /// thread (call `sess_app_expire` instead). Default 1000.
    pub expiry_interval_ms: u32,
    /// LCID of new sessions (default 0x0409, en-US).
    pub default_lcid: u32,
    /// Code page of new sessions (default 65001, UTF-8).
    pub default_codepage: u32,
    /// Session_OnStart, or NULL.
    pub on_start: sess_on_start_fn,
    /// Session_OnEnd, or NULL.
    pub on_end: sess_on_end_fn,
    /// Passed to `on_start` and `on_end`; must stay valid while the
    /// application lives and be usable from any thread.
    pub event_context: *mut c_void,
    /// Session-scope static objects (`static_object_count` of them), or NULL.
    pub static_objects: *const sess_static_object_decl,
    /// Number of entries in `static_objects`.
    pub static_object_count: usize,
    /// A clock for deadlines, or NULL: the system's monotonic clock with the
    /// in-process store, wall-clock milliseconds since 1970 with a shared or
    /// host-supplied one (tests inject one to move time without sleeping).
    pub clock: sess_clock_fn,
    /// Passed to `clock`.
    pub clock_context: *mut c_void,
    /// A session store the host supplies (`sess_store_vtbl`, copied by
    /// `sess_app_create`), or NULL to keep sessions in this process (the
    /// default). Objects cannot be stored in its sessions
    /// (`SESS_E_NOT_SERIALIZABLE`).
    pub store: *const sess_store_vtbl,
    /// Keep sessions in Redis (`sess_redis_options`, copied by
    /// `sess_app_create`), or NULL. At most one of `store` and `redis`.
    /// Objects cannot be stored in such sessions (`SESS_E_NOT_SERIALIZABLE`).
    pub redis: *const super::redis::sess_redis_options,
    /// Largest session in bytes: its keys' UTF-8 bytes plus its values'
    /// bytes as `max_value_bytes` counts them (default 4194304, 4 MiB). A
    /// write past it fails with `SESS_E_SESSION_TOO_LARGE`, changing nothing.
    pub max_session_bytes: u64,
    /// Most bytes (counted as for `max_session_bytes`) all in-process
    /// sessions may hold together, or 0 for no limit (default 1073741824,
    /// 1 GiB). A write past it fails with `SESS_E_MEMORY_BUDGET`, changing
    /// nothing. Sessions kept in Redis or a host store are not counted.
    pub memory_budget_bytes: u64,
    /// Keep sessions in an LMDB directory shared by the processes of this
    /// machine and kept across restarts (`sess_lmdb_options`, copied by
    /// `sess_app_create`), or NULL. At most one of `store`, `redis` and
    /// `lmdb`. Objects cannot be stored in such sessions
    /// (`SESS_E_NOT_SERIALIZABLE`).
    pub lmdb: *const super::lmdb::sess_lmdb_options,
}

/// A host pointer handed back to host callbacks, possibly on other threads;
/// the options' documentation makes thread-safety the host's promise.
#[derive(Clone, Copy)]
struct HostContext(*mut c_void);
// SAFETY: see above: the host promises the context is usable from any thread.
unsafe impl Send for HostContext {}
// SAFETY: as above.
unsafe impl Sync for HostContext {}

impl HostContext {
    fn get(self) -> *mut c_void {
        self.0
    }
}

struct HostClock(unsafe extern "C" fn(*mut c_void) -> u64, HostContext);

impl Clock for HostClock {
    fn now_ms(&self) -> u64 {
        // SAFETY: the host supplied the function and its context.
        unsafe { (self.0)(self.1.get()) }
    }
}

fn defaults() -> sess_app_options {
    let d = AppOptions::default();
    sess_app_options {
        struct_size: std::mem::size_of::<sess_app_options>() as u32,
        default_timeout_minutes: d.default_timeout_minutes,
        max_timeout_minutes: d.max_timeout_minutes,
        absolute_timeout_minutes: d.absolute_timeout_minutes,
        max_sessions: d.max_sessions as u64,
        max_value_bytes: d.max_value_bytes as u64,
        max_items: d.max_items as u32,
        max_key_bytes: d.max_key_bytes as u32,
        lock_timeout_ms: d.lock_timeout.as_millis() as u32,
        expiry_interval_ms: d.expiry_interval.map_or(0, |i| i.as_millis() as u32),
        default_lcid: d.default_lcid,
        default_codepage: d.default_codepage,
        on_start: None,
        on_end: None,
        event_context: std::ptr::null_mut(),
        static_objects: std::ptr::null(),
        static_object_count: 0,
        clock: None,
        clock_context: std::ptr::null_mut(),
        store: std::ptr::null(),
        redis: std::ptr::null(),
        max_session_bytes: d.max_session_bytes as u64,
        memory_budget_bytes: d.memory_budget_bytes as u64,
        lmdb: std::ptr::null(),
    }
}

/// Fills `*opts` with the defaults and sets `struct_size`.
/// It writes this library's whole struct: C and C++ callers reach
/// `sess_app_options_init_sized` through the header's `sess_app_options_init`
/// macro instead (see "Versioned structs" at the top).
#[no_mangle]
pub unsafe extern "C" fn sess_app_options_init(opts: *mut sess_app_options) -> sess_result {
    // SAFETY: NULL or writable per the contract.
    unsafe { versioned::init(opts, "opts") }
}

/// As `sess_app_options_init`, for the caller's struct of `size` bytes (its
/// `sizeof`): nothing is written past it (see "Versioned structs" at the
/// top).
#[no_mangle]
pub unsafe extern "C" fn sess_app_options_init_sized(
    opts: *mut sess_app_options,
    size: usize,
) -> sess_result {
    // SAFETY: NULL or writable for `size` bytes per the contract.
    unsafe { versioned::init_sized(opts, size, "opts") }
}

// SAFETY: repr(C), struct_size first; callbacks are Options.
unsafe impl Versioned for sess_app_options {
    const NAME: &'static str = "sess_app_options";
    // First without `store` and `redis`, then without `redis`, then
    // without the size limits, then without `lmdb`.
    const VERSIONS: &'static [usize] = &[
        std::mem::offset_of!(sess_app_options, store),
        std::mem::offset_of!(sess_app_options, redis),
        std::mem::offset_of!(sess_app_options, max_session_bytes),
        std::mem::offset_of!(sess_app_options, lmdb),
        std::mem::size_of::<sess_app_options>(),
    ];
    fn defaults() -> Self {
        defaults()
    }
}

/// Turns C options into Rust ones, copying names and wrapping callbacks.
///
/// # Safety
/// `static_objects` must be readable for `static_object_count` entries.
unsafe fn to_rust(o: &sess_app_options) -> Result<AppOptions> {
    let mut r = AppOptions {
        default_timeout_minutes: o.default_timeout_minutes,
        max_timeout_minutes: o.max_timeout_minutes,
        absolute_timeout_minutes: o.absolute_timeout_minutes,
        max_sessions: usize::try_from(o.max_sessions).unwrap_or(usize::MAX),
        max_items: o.max_items as usize,
        max_value_bytes: usize::try_from(o.max_value_bytes).unwrap_or(usize::MAX),
        max_key_bytes: o.max_key_bytes as usize,
        max_session_bytes: usize::try_from(o.max_session_bytes).unwrap_or(usize::MAX),
        memory_budget_bytes: usize::try_from(o.memory_budget_bytes).unwrap_or(usize::MAX),
        lock_timeout: Duration::from_millis(o.lock_timeout_ms.into()),
        default_lcid: o.default_lcid,
        default_codepage: o.default_codepage,
        expiry_interval: (o.expiry_interval_ms != 0)
            .then(|| Duration::from_millis(o.expiry_interval_ms.into())),
        ..AppOptions::default()
    };
    let ctx = HostContext(o.event_context);
    if let Some(f) = o.on_start {
        let on_start: OnStart = Arc::new(move |s: &mut Session| {
            // SAFETY: the host's callback, given a handle valid for the call.
            let started = lend(s, |h| call_host(|| unsafe { f(ctx.get(), h) }));
            if started.rc < 0 {
                Err(started.error("Session_OnStart failed"))
            } else {
                Ok(())
            }
        });
        r.on_start = Some(on_start);
    }
    if let Some(f) = o.on_end {
        let on_end: OnEnd = Arc::new(move |s: &mut Session| {
            // Through `call_host`, though it reports nothing: a message it
            // records is its own, never the failure of a callback it runs
            // within (a Session_OnStart that ended expired sessions).
            lend(s, |h| {
                // SAFETY: the host's callback, given a handle valid for the call.
                call_host(|| unsafe {
                    f(ctx.get(), h);
                    err::S_OK
                })
            });
        });
        r.on_end = Some(on_end);
    }
    if o.static_object_count > 0 {
        if o.static_objects.is_null() {
            return Err(super::null("opts->static_objects"));
        }
        let most = isize::MAX as usize / std::mem::size_of::<sess_static_object_decl>();
        if o.static_object_count > most {
            // No array is this large: a garbage count, refused before a
            // slice is formed over it.
            return Err(Error::new(
                err::E_INVALIDARG,
                format!(
                    "opts->static_object_count {} is larger than any array",
                    o.static_object_count
                ),
            ));
        }
        // SAFETY: readable for the count per the contract.
        let decls = unsafe { std::slice::from_raw_parts(o.static_objects, o.static_object_count) };
        for d in decls {
            // SAFETY: NUL-terminated per the contract.
            let name = unsafe { text(d.name, "a static object's name") }?.to_owned();
            let f = d
                .factory
                .ok_or_else(|| super::null("a static object's factory"))?;
            let c_name = std::ffi::CString::new(name.clone()).expect("read up to its NUL");
            let dctx = HostContext(d.context);
            let factory: Factory = Arc::new(move || {
                let mut p: *mut Unknown = std::ptr::null_mut();
                // SAFETY: the host's factory with its context and our out slot.
                let made = call_host(|| unsafe { f(dctx.get(), c_name.as_ptr(), &mut p) });
                if made.rc < 0 {
                    return Err(made.error("a static object factory failed"));
                }
                // SAFETY: the factory hands over one reference in `p`.
                unsafe { Object::from_owned(p) }.map_err(|e| {
                    // The factory's fault, not the caller's arguments.
                    Error::new(
                        e.code(),
                        format!(
                            "the factory of static object {:?} succeeded without a usable \
                             object: {}",
                            c_name.to_string_lossy(),
                            e.detail()
                        ),
                    )
                })
            });
            r.static_objects.push(StaticObject { name, factory });
        }
    }
    if let Some(f) = o.clock {
        r.clock = Some(Arc::new(HostClock(f, HostContext(o.clock_context))));
    }
    Ok(r)
}

/// Creates an application in `*out` (`opts` NULL: defaults). Bad options →
/// `SESS_E_INVALID_OPTION` (or `SESS_E_INVALID_LCID` / `_CODEPAGE`) with the
/// field named in the last-error detail. Release it with `sess_app_release`.
/// With `opts->store`, the application copies the vtable and takes over its
/// `context` on success (`destroy` runs when the application is gone); on
/// failure the caller keeps it. A vtable missing a required callback →
/// `SESS_E_POINTER`, one of unknown size → `SESS_E_INVALID_OPTION`. An
/// application created before `fork()` works in the child (its expiry
/// thread starts again there on first use); fork while no other thread is
/// using it. A session open across the fork stays the parent's: with a
/// shared store the child's close of its copy is
/// `SESS_E_STORE_UNAVAILABLE` and writes nothing (the lock is the
/// parent's). Not on LMDB: there the child's calls are
/// `SESS_E_STORE_UNAVAILABLE` (create the application after the fork). The
/// in-process store is per process: several worker processes sharing
/// sessions need Redis or LMDB.
#[no_mangle]
pub unsafe extern "C" fn sess_app_create(
    opts: *const sess_app_options,
    out: *mut *mut sess_app,
) -> sess_result {
    boundary(|| {
        super::require(out, "out")?;
        // SAFETY: NULL or a readable options struct per the contract.
        let o = unsafe { versioned::read_or_default(opts, "opts") }?;
        // SAFETY: the static object array per the contract.
        let mut r = unsafe { to_rust(&o) }?;
        let mut destroy_armed = None;
        let stores = [!o.store.is_null(), !o.redis.is_null(), !o.lmdb.is_null()];
        if stores.iter().filter(|&&set| set).count() > 1 {
            return Err(Error::new(
                err::E_INVALID_OPTION,
                "set at most one of opts->store, opts->redis and opts->lmdb",
            ));
        }
        if !o.lmdb.is_null() {
            // SAFETY: a readable sess_lmdb_options per the contract.
            r.store = StoreConfig::Lmdb(unsafe { super::lmdb::to_rust(o.lmdb) }?);
        }
        if !o.redis.is_null() {
            // SAFETY: a readable sess_redis_options per the contract.
            r.store = StoreConfig::Redis(unsafe { super::redis::to_rust(o.redis) }?);
        }
        if !o.store.is_null() {
            // SAFETY: a readable vtable keeping its contract, per the contract.
            let (store, armed) = unsafe { super::store::custom_store(o.store, r.limits()) }?;
            r.store = StoreConfig::Custom(Arc::new(store));
            destroy_armed = Some(armed);
        }
        let app = App::new(r)?;
        // The application owns the host's store context from here on.
        if let Some(armed) = destroy_armed {
            armed.store(true, std::sync::atomic::Ordering::Release);
        }
        // SAFETY: checked non-NULL.
        unsafe { handle::hand_out(out, handle::Releasable::new(app)) }?;
        Ok(err::S_OK)
    })
}

/// Releases an application handle. The application ends when its last
/// handle goes: this one, or that of a site it was added to (see
/// `sess_site_release`); until then it goes on running, Session_OnEnd
/// included. As it ends, its expiry thread stops and, with the
/// in-process store, Session_OnEnd runs for every stored session not in
/// use (a shared store keeps its sessions for the other processes: they
/// end when they expire). Close every session first (ASP's order: every
/// session's OnEnd, then the application's end); a session still open
/// keeps working and, when it closes, is dropped if in-process, saved if
/// in a shared store, and removed if abandoned, without OnEnd: by then the
/// host may have freed `event_context`. A
/// Session_OnEnd running on another thread (a request's abandoned
/// session) is waited for, so none runs once the last release returns
/// (keep `event_context` alive until then): a handler must not wait for
/// the thread that releases. A Session_OnEnd this release runs that calls
/// back with this handle gets `SESS_E_WRONG_STATE` (its lent session
/// handle works).
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sess_app_release(app: *mut sess_app) {
    super::boundary_void(|| {
        // SAFETY: NULL or made by sess_app_create, released once.
        unsafe { handle::release(app) };
        Ok(())
    });
}

/// Ends every expired session now, running Session_OnEnd for each (for
/// hosts that run no library thread). `*out_ended` (may be NULL) receives
/// how many ended. A store failure (e.g. `SESS_E_STORE_UNAVAILABLE`) is
/// returned after the sessions it could claim are ended.
#[no_mangle]
pub unsafe extern "C" fn sess_app_expire(
    app: *const sess_app,
    out_ended: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live application per the contract.
        let n = unsafe { handle::live(app, "app") }?.expire()?;
        // SAFETY: NULL or writable.
        unsafe { put(out_ended, n) };
        Ok(err::S_OK)
    })
}

/// The number of stored sessions, in `*out_count`; the store's failure
/// (e.g. `SESS_E_STORE_UNAVAILABLE`) if it cannot say.
#[no_mangle]
pub unsafe extern "C" fn sess_app_session_count(
    app: *const sess_app,
    out_count: *mut usize,
) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live application per the contract.
        let n = unsafe { handle::live(app, "app") }?.session_count()?;
        // SAFETY: NULL or writable.
        unsafe { put_required(out_count, n, "out_count") }?;
        Ok(err::S_OK)
    })
}

/// How the expiry thread's last sweep went: `SESS_S_OK` if it succeeded (or
/// none has run, or the application runs no thread), else its failure code
/// (e.g. `SESS_E_STORE_UNAVAILABLE`) with the detail as this thread's last
/// error.
#[no_mangle]
pub unsafe extern "C" fn sess_app_expiry_status(app: *const sess_app) -> sess_result {
    boundary(|| {
        // SAFETY: NULL or a live application per the contract.
        match unsafe { handle::live(app, "app") }?.expiry_error() {
            Some(e) => Err(e),
            None => Ok(err::S_OK),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::session::{sess_session_close, sess_session_create};
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn the_expiry_status_is_ok_until_a_sweep_fails() {
        let mut app = std::ptr::null_mut();
        // SAFETY: a handle made and released here.
        unsafe {
            assert_eq!(sess_app_create(std::ptr::null(), &mut app), err::S_OK);
            assert_eq!(sess_app_expiry_status(app), err::S_OK);
            assert_eq!(sess_app_expiry_status(std::ptr::null()), err::E_POINTER);
            sess_app_release(app);
        }
    }

    #[test]
    fn a_static_object_count_larger_than_any_array_is_refused_unread() {
        let mut o = defaults();
        o.static_objects = std::ptr::dangling();
        o.static_object_count = usize::MAX / 2;
        let mut app = std::ptr::null_mut();
        // SAFETY: refused before the array is read.
        assert_eq!(unsafe { sess_app_create(&o, &mut app) }, err::E_INVALIDARG);
        assert!(app.is_null());
    }

    /// What a Session_OnEnd run by `sess_app_release` got back from the
    /// application handle being released.
    struct ReleasedCalls {
        app: *mut sess_app,
        count: sess_result,
        create: sess_result,
        again: usize,
        made: bool,
    }

    impl ReleasedCalls {
        fn new() -> Self {
            ReleasedCalls {
                app: std::ptr::null_mut(),
                count: 0,
                create: 0,
                again: 0,
                made: false,
            }
        }
    }

    /// Stores a new session holding `k` = 1 in `app`.
    ///
    /// # Safety
    /// `app` is a live application handle.
    unsafe fn store_one(app: *mut sess_app) {
        let mut s = std::ptr::null_mut();
        // SAFETY: the caller's live handle; `s` is this call's session.
        unsafe {
            assert_eq!(sess_session_create(app, &mut s), err::S_OK);
            assert_eq!(
                crate::ffi::value_typed::sess_value_set_i4(s, c"k".as_ptr(), 1),
                err::S_OK
            );
            assert_eq!(sess_session_close(s), err::S_OK);
        }
    }

    unsafe extern "C" fn call_the_released_app(context: *mut c_void, _: *mut sess_session) {
        // SAFETY: the test's context, used on this thread only.
        let c = unsafe { &mut *context.cast::<ReleasedCalls>() };
        let mut n = 0;
        let mut s = std::ptr::null_mut();
        // SAFETY: the handle is being released: the calls must refuse it.
        unsafe {
            c.count = sess_app_session_count(c.app, &mut n);
            c.create = sess_session_create(c.app, &mut s);
            sess_app_release(c.app);
        }
        c.again += 1;
        c.made = !s.is_null();
    }

    /// A Session_OnEnd that `sess_app_release` runs and that calls back
    /// with the handle being released is refused (`SESS_E_WRONG_STATE`),
    /// not served by an application in mid-drop (a session it made was
    /// stored after the last OnEnd, never to get its own); a second
    /// release there is a no-op.
    #[test]
    fn the_handle_being_released_refuses_calls_from_its_on_end() {
        let mut c = ReleasedCalls::new();
        let mut o = defaults();
        o.on_end = Some(call_the_released_app);
        let ctx = &raw mut c;
        // Every later access goes through `ctx`, as the handler's does.
        o.event_context = ctx.cast();
        // SAFETY: handles made here; the context outlives the application.
        unsafe {
            assert_eq!(sess_app_create(&o, &mut (*ctx).app), err::S_OK);
            store_one((*ctx).app);
            sess_app_release((*ctx).app);
        }
        assert_eq!(c.again, 1, "OnEnd ran once");
        assert_eq!(c.count, err::E_WRONG_STATE);
        assert_eq!(c.create, err::E_WRONG_STATE);
        assert!(!c.made, "no session handed out");
    }

    /// The test's clock: milliseconds in the `AtomicU64` at `context`.
    unsafe extern "C" fn clock_at(context: *mut c_void) -> u64 {
        // SAFETY: the test's clock, alive while the application is.
        unsafe { &*context.cast::<AtomicU64>() }.load(Ordering::Relaxed)
    }

    unsafe extern "C" fn release_the_app(context: *mut c_void, _: *mut sess_session) {
        // SAFETY: the test's context, used on this thread only.
        let c = unsafe { &mut *context.cast::<ReleasedCalls>() };
        c.again += 1;
        // SAFETY: the handle, released once (later handlers: a no-op).
        unsafe { sess_app_release(c.app) };
    }

    /// A Session_OnEnd that `sess_app_expire` runs may release the
    /// application handle the call came with: the application ends once
    /// the call has (it was freed under the running sweep), every claimed
    /// session still getting its OnEnd.
    #[test]
    fn a_release_from_an_on_end_of_a_call_on_the_handle_waits_for_the_call() {
        let mut c = ReleasedCalls::new();
        let now = AtomicU64::new(0);
        let mut o = defaults();
        o.on_end = Some(release_the_app);
        let ctx = &raw mut c;
        // Every later access goes through `ctx`, as the handler's does.
        o.event_context = ctx.cast();
        o.clock = Some(clock_at);
        o.clock_context = std::ptr::from_ref(&now).cast_mut().cast();
        o.expiry_interval_ms = 0;
        // SAFETY: handles made here; the contexts outlive the application.
        unsafe {
            assert_eq!(sess_app_create(&o, &mut (*ctx).app), err::S_OK);
            for _ in 0..3 {
                store_one((*ctx).app);
            }
            now.store(21 * 60_000, Ordering::Relaxed);
            let mut ended = 0;
            assert_eq!(sess_app_expire((*ctx).app, &mut ended), err::S_OK);
            assert_eq!(ended, 3);
        }
        assert_eq!(c.again, 3, "each session's OnEnd ran once");
    }

    #[test]
    fn option_structs_follow_the_versioned_rule() {
        versioned::check_the_rule::<sess_app_options>();
    }

    #[test]
    fn an_older_struct_keeps_the_defaults_of_what_it_lacks() {
        let mut old = defaults();
        old.default_timeout_minutes = 7;
        old.redis = std::ptr::dangling();
        old.struct_size = std::mem::offset_of!(sess_app_options, redis) as u32;
        // SAFETY: `old` is readable for its full size.
        let o = unsafe { versioned::read(&old, "opts") }.unwrap();
        assert_eq!(o.default_timeout_minutes, 7);
        assert!(o.redis.is_null(), "past struct_size: the default");

        // A caller from before the size limits: they keep their defaults.
        let mut before_limits = defaults();
        before_limits.max_session_bytes = 1;
        before_limits.memory_budget_bytes = 1;
        before_limits.struct_size =
            std::mem::offset_of!(sess_app_options, max_session_bytes) as u32;
        // SAFETY: readable for its full size, more than struct_size.
        let o2 = unsafe { versioned::read(&before_limits, "opts") }.unwrap();
        assert_eq!(
            (o2.max_session_bytes, o2.memory_budget_bytes),
            (4 << 20, 1 << 30)
        );
        assert_eq!(
            o.struct_size as usize,
            std::mem::size_of::<sess_app_options>()
        );
    }
}
