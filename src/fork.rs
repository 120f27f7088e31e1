//! `fork()` awareness. A child process has only the thread that forked:
//! library threads (the expiry sweeper) and pooled connections shared with
//! the parent must not be used there. A `pthread_atfork` child handler bumps
//! a generation number; what a process owns records the generation it was
//! made in and is remade lazily when the number differs (one relaxed load
//! on the paths that check).
//!
//! The prepare handler also waits for any sweep in progress on another
//! thread to finish (the expiry thread's, or one the host's thread runs),
//! and holds off new ones until the fork is done, so a child never
//! inherits a store lock a sweep held. It does not wait for a
//! Session_OnEnd handler a sweep runs, the Release of the ended sessions'
//! objects, the application's clock or a host store's `list_expired`
//! (`host`): the host's code, which may itself wait for the forking thread
//! (for a lock it holds across `fork()`, as CPython holds its GIL), and
//! the fork would never return. A fork from inside a sweep (a
//! Session_OnEnd on the expiry thread that forks) does not wait for its
//! own: the child goes on with it on the same thread, leaving the sessions
//! the parent's sweep claimed to the parent (`app::ending`). Locks held by
//! the host's own threads at the moment of `fork()` are the host's
//! concern, as with any library: fork while the application is idle (as
//! servers do, before they serve).

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

/// Forks seen by this process's lineage (the child's count is one higher).
static GENERATION: AtomicU32 = AtomicU32::new(0);
/// Sweeps in progress (the low bits), plus [`FORK`] for each fork under
/// way: several threads may fork at once, and sweeps stay held off until
/// the last of them is done.
static SWEEPS: AtomicU32 = AtomicU32::new(0);
/// One fork under way, in [`SWEEPS`].
const FORK: u32 = 1 << 24;
/// The sweeps' part of [`SWEEPS`].
const SWEEPING: u32 = FORK - 1;
static REGISTER: Once = Once::new();

thread_local! {
    /// The sweeps in progress on this thread (counted in [`SWEEPS`] too).
    static MINE: Cell<u32> = const { Cell::new(0) };
}

/// This thread's sweeps in progress (0 while its thread-locals are gone).
fn mine() -> u32 {
    MINE.try_with(Cell::get).unwrap_or(0)
}

/// The current fork generation: it differs from one read before a `fork()`
/// in the child.
pub fn generation() -> u32 {
    REGISTER.call_once(register);
    GENERATION.load(Ordering::Relaxed)
}

#[cfg(unix)]
fn register() {
    extern "C" fn prepare() {
        SWEEPS.fetch_add(FORK, Ordering::Acquire);
        let own = mine();
        while SWEEPS.load(Ordering::Acquire) & SWEEPING > own {
            std::thread::yield_now();
        }
    }
    extern "C" fn parent() {
        SWEEPS.fetch_sub(FORK, Ordering::Release);
    }
    extern "C" fn child() {
        GENERATION.fetch_add(1, Ordering::Relaxed);
        // The forking thread's own sweeps go on in the child.
        SWEEPS.store(mine(), Ordering::Release);
    }
    // SAFETY: the handlers touch only atomics and a const-initialised
    // thread-local (async-signal-safe). Failure (ENOMEM) leaves fork
    // detection off, as on systems without fork.
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
}

#[cfg(not(unix))]
fn register() {}

/// Counts `n` sweeps of this thread in [`SWEEPS`]: at once while it is
/// in one already (a fork under way waits for that one anyway), else once
/// no fork is under way or, without `wait`, not at all while one is
/// (false).
fn join(n: u32, wait: bool) -> bool {
    if mine() > 0 {
        SWEEPS.fetch_add(n, Ordering::Acquire);
        return true;
    }
    let mut s = SWEEPS.load(Ordering::Relaxed);
    loop {
        if s & !SWEEPING != 0 {
            if !wait {
                return false;
            }
            std::thread::yield_now();
            s = SWEEPS.load(Ordering::Relaxed);
            continue;
        }
        match SWEEPS.compare_exchange_weak(s, s + n, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(now) => s = now,
        }
    }
}

/// Runs `f` as a sweep counted by [`join`].
fn counted<T>(f: impl FnOnce() -> T) -> T {
    MINE.with(|m| m.set(m.get() + 1));
    /// Ends the sweep even if `f` unwinds.
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            MINE.with(|m| m.set(m.get() - 1));
            SWEEPS.fetch_sub(1, Ordering::Release);
        }
    }
    let _done = Done;
    f()
}

/// Runs the expiry thread's sweep unless a fork is under way (then
/// `None`): a fork from another thread waits for it to finish.
pub(crate) fn sweep<T>(f: impl FnOnce() -> T) -> Option<T> {
    join(1, false).then(|| counted(f))
}

/// Runs a sweep the host's thread asked for (`App::expire`, a new
/// session making room), after a fork under way: a fork from another
/// thread waits for it to finish.
pub(crate) fn sweep_now<T>(f: impl FnOnce() -> T) -> T {
    join(1, true);
    counted(f)
}

/// Runs the host's code `f` (a Session_OnEnd handler, an object's
/// Release, the clock, a host store's `list_expired`) from inside this
/// thread's sweeps, if any, without holding a fork off meanwhile: it may
/// wait for a lock the forking thread holds. Call only where the sweep
/// holds no store lock (the ended session is no store's any more). Back
/// from it, the sweep waits for a fork under way to finish.
pub(crate) fn host<T>(f: impl FnOnce() -> T) -> T {
    let own = mine();
    if own == 0 {
        return f();
    }
    MINE.with(|m| m.set(0));
    SWEEPS.fetch_sub(own, Ordering::Release);
    /// Back in the sweeps even if `f` unwinds.
    struct Back(u32);
    impl Drop for Back {
        fn drop(&mut self) {
            join(self.0, true);
            MINE.with(|m| m.set(self.0));
        }
    }
    let _back = Back(own);
    f()
}
