//! An application: its options, its store, Session_OnStart / Session_OnEnd and
//! the expiry that ends timed-out sessions.

mod anchors;
mod ending;
mod options;
mod session;
mod stats;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

pub use options::{AppOptions, Factory, OnEnd, OnStart, StaticObject, StoreConfig};
pub use session::Session;
pub use stats::AppStats;

use crate::clock::Clock;
use crate::error::{self, Error, Result};
use crate::fork;
use crate::state::{Limits, MemoryBudget, SessionData, SessionId};
use crate::store::{Lease, LockMode, Lookup, SessionStore, StoreMode};
use anchors::Anchors;
use ending::Ending;
use stats::Counters;

/// Sessions an expiry sweep claims, then ends, at a time (and the most a
/// new session's first write ends to make room in a full store).
const EXPIRY_BATCH: usize = 64;

/// What sessions share: the application's settings and store.
pub(crate) struct AppInner {
    opts: AppOptions,
    limits: Limits,
    /// What in-process sessions' Contents hold, against the budget.
    budget: Arc<MemoryBudget>,
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
    counters: Counters,
    /// The threads ending sessions now, which the release waits for, and
    /// whether the application was released.
    ending: Ending,
}

impl AppInner {
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// When a session last touched at `now_ms` expires (saturating: the
    /// creation time comes from the store, which may hold any number).
    fn deadline(&self, lease: &Lease, now_ms: u64) -> u64 {
        let minutes = |m: u32| u64::from(m).saturating_mul(60_000);
        let sliding = now_ms.saturating_add(minutes(lease.data().timeout_minutes()));
        match self.opts.absolute_timeout_minutes {
            0 => sliding,
            abs => sliding.min(lease.created_ms().saturating_add(minutes(abs))),
        }
    }

    /// Whether `lease`'s absolute lifetime (if the application sets one)
    /// has run out by the clock now. A store judges a lookup's deadline by
    /// the clock read before the lookup, which may have waited for the lock
    /// meanwhile (up to the lock timeout): the holder's release slid the
    /// sliding deadline past that wait, but never the absolute one. One
    /// clock read per open, only with an absolute lifetime set.
    fn outlived(&self, lease: &Lease) -> bool {
        match self.opts.absolute_timeout_minutes {
            0 => false,
            abs => {
                let end = lease
                    .created_ms()
                    .saturating_add(u64::from(abs).saturating_mul(60_000));
                end <= self.now_ms()
            }
        }
    }

    /// Runs Session_OnEnd for a session the store has removed, then lets it go
    /// (which releases its objects). After the application's release it is
    /// let go without Session_OnEnd (the host may have freed what the
    /// handler uses): a unit of work that ends later. The release waits
    /// for a Session_OnEnd running on another thread.
    fn end(self: &Arc<Self>, lease: Lease) {
        if self.opts.on_end.is_none() {
            return;
        }
        let Some(_entered) = self.ending.enter() else {
            return;
        };
        self.on_end(lease);
    }

    /// Runs Session_OnEnd for `lease` on a thread noted in `ending` (so
    /// the release waits for it, or runs it), then lets the session go:
    /// its objects are let go before the release can return.
    fn on_end(self: &Arc<Self>, lease: Lease) {
        let Some(on_end) = self.opts.on_end.clone() else {
            return;
        };
        let mut s = Session::ending(anchors::anchor(self.clone()), lease);
        // The host's code, and so the Release of the session's objects
        // after it: a fork need not wait for them (`fork::host`).
        fork::host(|| {
            // A panicking handler must not take the sweeper or a request down.
            let _ = catch_unwind(AssertUnwindSafe(|| on_end(&mut s)));
            drop(s.take_ended());
        });
    }

    /// Ends every expired session that is not in use; returns how many
    /// ended, or the store's failure (after ending what it could claim).
    fn expire(self: &Arc<Self>) -> Result<usize> {
        // The clock may be the host's code (see `fork::host`).
        let now_ms = fork::host(|| self.now_ms());
        let mut due = Vec::with_capacity(EXPIRY_BATCH);
        let mut n = 0;
        loop {
            let (ended, more) = self.expire_batch(now_ms, &mut due);
            n += ended;
            if !more? {
                return Ok(n);
            }
        }
    }

    /// Claims up to [`EXPIRY_BATCH`] sessions expired at `now_ms` and not
    /// in use into `due`, and ends them: how many ended, and whether more
    /// may be due (or the store's failure, after ending what it claimed).
    /// None after the application's release. A release while the batch
    /// is in hand (a Session_OnEnd of it released the application, or
    /// another thread did) ends the rest before it returns, or waits for
    /// this thread to: every session claimed gets Session_OnEnd.
    fn expire_batch(self: &Arc<Self>, now_ms: u64, due: &mut Vec<Lease>) -> (usize, Result<bool>) {
        // A fork from another thread waits for the batch (the expiry
        // thread's, the host's `expire`, a request making room), so no
        // child inherits a store lock it holds.
        fork::sweep_now(|| {
            let Some(sweep) = self.ending.enter() else {
                return (0, Ok(false));
            };
            let claimed = self.counters.sweep_batch(|| {
                let claimed = self.store.take_expired_batch(now_ms, EXPIRY_BATCH, due);
                (claimed, due.len() as u64)
            });
            let n = due.len();
            if self.opts.on_end.is_none() {
                for mut lease in due.drain(..) {
                    // Its objects' Release is the host's code (see `on_end`);
                    // the lease, dropped here, ends in the sweep.
                    if lease.data().holds_objects() {
                        fork::host(|| drop(lease.take_data()));
                    }
                }
            } else {
                sweep.claim(due);
                while let Some(lease) = sweep.next() {
                    self.on_end(lease);
                }
            }
            (n, claimed)
        })
    }

    /// For a store that refused a new session as full: ends one batch of
    /// expired sessions on the calling thread (sessions it holds are in
    /// use, so skipped, not waited for), as the expiry thread would. None
    /// after the application's release (Session_OnEnd would run after the
    /// host let go of it).
    #[cold]
    #[inline(never)]
    fn make_room(self: &Arc<Self>) {
        let (_, claimed) = self.expire_batch(self.now_ms(), &mut Vec::new());
        // Its failure counts; the caller reports the refusal.
        let _ = self.counters.check(claimed);
    }

    /// [`AppInner::expire`] for the expiry thread: a panic (in the store,
    /// the clock) is a failed sweep, not the end of the thread.
    fn sweep(self: &Arc<Self>) -> Result<usize> {
        catch_unwind(AssertUnwindSafe(|| self.expire()))
            .unwrap_or_else(|_| Err(Error::new(error::E_UNEXPECTED, "the sweep panicked")))
    }
}

/// An application: sessions, their settings and their events.
///
/// Clones share the application. Dropping the last clone stops the expiry
/// thread and runs Session_OnEnd for the sessions a sweep has claimed and
/// not ended yet and, with the in-process store, for every session not in
/// use (ASP's application end), after waiting for any Session_OnEnd (or a
/// sweep's batch) running on another thread. A shared store (Redis, LMDB,
/// a host's) keeps its sessions for the other processes: they end when
/// they expire. Sessions still open keep the shared state alive until they
/// close: an in-process one is then dropped, and an abandoned one removed,
/// without Session_OnEnd (what the handler uses may be gone by then: a C
/// host's `event_context`); one in a shared store is saved as usual. Close
/// them first for ASP's order, where every session ends before the
/// application does.
#[derive(Clone)]
pub struct App(Arc<AppHandle>);

/// What the last [`App`] clone shuts down.
struct AppHandle {
    inner: Arc<AppInner>,
    /// What sessions opened here hold on to (see `anchors`).
    anchors: Anchors<AppInner>,
    sweeper: parking_lot::Mutex<Option<Sweeper>>,
    /// The fork generation the sweeper runs in (see [`crate::fork`]).
    sweeper_generation: AtomicU32,
}

impl App {
    /// Creates an application after checking `opts`.
    pub fn new(opts: AppOptions) -> Result<App> {
        opts.validate()?;
        let (store, clock) = opts.open_store()?;
        let inner = Arc::new(AppInner {
            limits: opts.limits(),
            budget: Arc::new(MemoryBudget::new(opts.memory_budget_bytes)),
            store,
            clock,
            opts,
            counters: Counters::default(),
            ending: Ending::default(),
        });
        let generation = fork::generation();
        let sweeper = match inner.opts.expiry_interval {
            Some(every) => Some(Sweeper::start(Arc::downgrade(&inner), every)?),
            None => None,
        };
        Ok(App(Arc::new(AppHandle {
            anchors: Anchors::new(&inner),
            inner,
            sweeper: parking_lot::Mutex::new(sweeper),
            sweeper_generation: AtomicU32::new(generation),
        })))
    }

    /// In a child made by `fork()` after the application was created, starts
    /// the expiry thread again (the parent's does not exist here). One
    /// relaxed load when nothing forked.
    #[inline]
    fn after_fork(&self) -> Result<()> {
        if self.0.sweeper_generation.load(Ordering::Relaxed) == fork::generation() {
            return Ok(());
        }
        self.restart_sweeper()
    }

    /// [`App::after_fork`] in a child that has not restarted it yet.
    #[cold]
    #[inline(never)]
    fn restart_sweeper(&self) -> Result<()> {
        let h = &self.0;
        let now = fork::generation();
        let mut sweeper = h.sweeper.lock();
        if h.sweeper_generation.load(Ordering::Relaxed) != now {
            if let Some(old) = sweeper.take() {
                let every = old.every;
                old.abandon_thread();
                *sweeper = Some(Sweeper::start(Arc::downgrade(&h.inner), every)?);
            }
            h.sweeper_generation.store(now, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Starts a new session (exclusively held, IsNewSession true). It is
    /// stored only once something is written to it, a static object is used,
    /// or Session_OnStart exists (which then runs before this returns).
    pub fn create_session(&self) -> Result<Session> {
        self.after_fork()?;
        let app = &self.0.inner;
        let mut data = SessionData::new(
            app.opts.default_timeout_minutes,
            app.opts.default_lcid,
            app.opts.default_codepage,
        );
        if app.store.mode() == StoreMode::InProc {
            data.charge_to(app.budget.clone());
        }
        let lease = app
            .store
            .prepare(SessionId::generate()?, data, app.now_ms());
        let mut s = Session::new(self.0.anchors.get(), lease, true);
        if let Some(on_start) = app.opts.on_start.clone() {
            s.materialize()?;
            let started =
                catch_unwind(AssertUnwindSafe(|| on_start(&mut s))).unwrap_or_else(|_| {
                    Err(Error::new(error::E_UNEXPECTED, "Session_OnStart panicked"))
                });
            if let Err(e) = started {
                s.discard_new();
                return Err(e);
            }
        }
        Ok(s)
    }

    /// Opens the existing session `id`: exclusively (read-write) or shared
    /// (read-only, never saved). A malformed ID is `E_INVALID_SESSION_ID`
    /// (the store is not consulted); an unknown, expired or abandoned one is
    /// `E_SESSION_NOT_FOUND` — an ID the store does not hold is never adopted.
    /// A session an exclusive open finds expired is ended (Session_OnEnd)
    /// on the way; a read-only open may leave it to the next sweep instead
    /// (the in-process and Redis stores do: a shared holder cannot remove
    /// it).
    pub fn open_session(&self, id: &str, mode: LockMode) -> Result<Session> {
        let id = SessionId::parse(id)?;
        self.open(&id, mode)
    }

    /// As [`App::open_session`], for an ID already parsed.
    pub fn open(&self, id: &SessionId, mode: LockMode) -> Result<Session> {
        self.after_fork()?;
        let app = &self.0.inner;
        let not_found = || Error::code_only(error::E_SESSION_NOT_FOUND);
        let found = app.store.get(id, mode, app.opts.lock_timeout, app.now_ms());
        match app.counters.check(found)? {
            Lookup::Found(lease) if app.outlived(&lease) => {
                // Its absolute lifetime ran out while this lookup waited
                // for the lock (the store judged it by the clock before
                // the wait): ended as the store ends what it finds expired.
                if lease.lock_mode() == LockMode::Exclusive {
                    let lease = app.counters.check(app.store.remove(lease))?;
                    Counters::add(&app.counters.timed_out, 1);
                    app.end(lease);
                }
                Err(not_found())
            }
            Lookup::Found(lease) => Ok(Session::new(self.0.anchors.get(), lease, false)),
            Lookup::NotFound => Err(not_found()),
            Lookup::Expired(lease) => {
                Counters::add(&app.counters.timed_out, 1);
                app.end(lease);
                Err(not_found())
            }
        }
    }

    /// Ends every expired session now (for hosts that run no library
    /// thread); returns how many ended, or the store's failure (the
    /// sessions it could claim are ended all the same).
    pub fn expire(&self) -> Result<usize> {
        self.0.inner.expire()
    }

    /// Number of stored sessions, or the store's failure.
    pub fn session_count(&self) -> Result<usize> {
        self.0.inner.store.count()
    }

    /// The failure of the expiry thread's last sweep, if it failed (`None`
    /// once a sweep succeeds, and without a thread).
    pub fn expiry_error(&self) -> Option<Error> {
        self.0.sweeper.lock().as_ref()?.last_error.lock().clone()
    }

    /// The application's counters now. They are the application's own, so
    /// they are there even when the store is down; only `sessions_current`
    /// needs the store (`None` if it cannot count: see `session_count`).
    pub fn stats(&self) -> AppStats {
        let inner = &self.0.inner;
        let read = || {
            let current = inner.counters.check(inner.store.count()).ok();
            inner
                .counters
                .snapshot(current.map(|n| n as u64), inner.store.lock_waits())
        };
        match inner.store.mode() {
            // Its counters balance (see `AppStats`): not mid-batch.
            StoreMode::InProc => inner.counters.steady(read),
            // A shared store's count is the farm's: nothing to balance.
            _ => read(),
        }
    }

    /// The application's own counters, without the store's count of
    /// sessions (`sessions_current` is `None`): a read that never waits on
    /// the store nor counts a store error, for a host that reads the
    /// counters often (a metrics publisher, every second, while the store
    /// may be down).
    pub fn own_stats(&self) -> AppStats {
        let inner = &self.0.inner;
        inner.counters.snapshot(None, inner.store.lock_waits())
    }

    /// Bytes the in-process sessions' Contents hold, as the memory budget
    /// counts them (0 with a shared store).
    pub fn memory_used(&self) -> usize {
        self.0.inner.budget.used()
    }

    /// The store mode.
    pub fn mode(&self) -> StoreMode {
        self.0.inner.store.mode()
    }

    /// The options the application was created with.
    pub fn options(&self) -> &AppOptions {
        &self.0.inner.opts
    }
}

impl Drop for AppHandle {
    fn drop(&mut self) {
        if let Some(sweeper) = self.sweeper.get_mut().take() {
            if *self.sweeper_generation.get_mut() != fork::generation() {
                // Started before a fork: its thread is not in this process.
                sweeper.abandon_thread();
            }
        }
        let mut all = Vec::new();
        self.inner.store.drain(&mut all);
        for lease in all {
            self.inner.end(lease);
        }
        self.inner.ending.release(|lease| self.inner.on_end(lease));
    }
}

/// The optional library thread that ends expired sessions.
struct Sweeper {
    /// The thread's phase, set and signalled: running once it started,
    /// stopped to end it. `std`'s futex-based pair, not parking_lot's:
    /// parking_lot queues waiters in one process-wide table, and a `fork()`
    /// while this thread was entering or leaving a wait there would leave
    /// the child that table half-updated. A child never touches this pair
    /// (see [`Sweeper::abandon_thread`]).
    stop: Arc<(std::sync::Mutex<Phase>, std::sync::Condvar)>,
    /// The last sweep's failure (none after a sweep succeeds).
    last_error: Arc<parking_lot::Mutex<Option<Error>>>,
    thread: Option<JoinHandle<()>>,
    every: Duration,
}

/// Where a sweeper's thread is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Starting,
    Running,
    Stopped,
}

impl Sweeper {
    /// Starts the thread and waits until it runs: its start-up (the C
    /// library's, a sanitizer runtime's, which allocate) is then over, so a
    /// `fork()` right after the application is made does not copy it half
    /// done. Sweeps themselves hold a fork off (`fork::sweep`).
    fn start(app: Weak<AppInner>, every: Duration) -> Result<Sweeper> {
        let stop = Arc::new((
            std::sync::Mutex::new(Phase::Starting),
            std::sync::Condvar::new(),
        ));
        let signal = stop.clone();
        let last_error = Arc::new(parking_lot::Mutex::new(None));
        let record = last_error.clone();
        let thread = crate::threads::spawn("sess-expiry", move || {
            let mut phase = signal.0.lock().unwrap_or_else(PoisonError::into_inner);
            if *phase == Phase::Starting {
                *phase = Phase::Running;
                signal.1.notify_all();
            }
            loop {
                let (stopped, _) = signal
                    .1
                    .wait_timeout_while(phase, every, |p| *p != Phase::Stopped)
                    .unwrap_or_else(PoisonError::into_inner);
                if *stopped == Phase::Stopped {
                    return;
                }
                drop(stopped);
                let Some(app) = app.upgrade() else {
                    return;
                };
                fork::sweep(|| *record.lock() = app.sweep().err());
                // Before the phase's lock: the last reference ends
                // the application, whose sweeper takes that lock.
                drop(app);
                phase = signal.0.lock().unwrap_or_else(PoisonError::into_inner);
            }
        })
        .map_err(|e| {
            Error::new(
                error::E_FAIL,
                format!("cannot start the expiry thread: {e}"),
            )
        })?;
        let phase = stop.0.lock().unwrap_or_else(PoisonError::into_inner);
        drop(
            stop.1
                .wait_while(phase, |p| *p == Phase::Starting)
                .unwrap_or_else(PoisonError::into_inner),
        );
        Ok(Sweeper {
            stop,
            last_error,
            thread: Some(thread),
            every,
        })
    }

    /// Lets go of a sweeper whose thread this process does not have (it
    /// was started before a `fork()`): joining it would fail, and waking it
    /// would touch the parent's waiter state. Its few bytes are leaked.
    fn abandon_thread(self) {
        std::mem::forget(self);
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        *self.stop.0.lock().unwrap_or_else(PoisonError::into_inner) = Phase::Stopped;
        self.stop.1.notify_all();
        if let Some(t) = self.thread.take() {
            // Dropped on its own thread (a Session_OnEnd the sweep ran let
            // go of the application's last handle): it ends when the sweep
            // returns and sees the phase; waiting for itself would fail.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::sync::Mutex;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;
    use crate::variant::Variant;

    type Hook = Box<dyn FnOnce() + Send>;

    /// The in-process store, running a hook once right after a sweep's
    /// batch is claimed (the store's count lowered, not yet counted out).
    struct AfterClaim {
        inner: MemoryStore,
        hook: Mutex<Option<Hook>>,
    }

    impl SessionStore for AfterClaim {
        fn mode(&self) -> StoreMode {
            self.inner.mode()
        }
        fn get(&self, id: &SessionId, mode: LockMode, wait: Duration, now: u64) -> Result<Lookup> {
            self.inner.get(id, mode, wait, now)
        }
        fn prepare(&self, id: SessionId, data: SessionData, now_ms: u64) -> Lease {
            self.inner.prepare(id, data, now_ms)
        }
        fn insert(&self, l: &mut Lease, now: u64, deadline: u64, max: usize) -> Result<bool> {
            self.inner.insert(l, now, deadline, max)
        }
        fn regenerate(&self, l: &mut Lease, id: SessionId, deadline: u64) -> Result<bool> {
            self.inner.regenerate(l, id, deadline)
        }
        fn release(&self, lease: Lease, deadline_ms: u64) -> Result<()> {
            self.inner.release(lease, deadline_ms)
        }
        fn remove(&self, lease: Lease) -> Result<Lease> {
            self.inner.remove(lease)
        }
        fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>) -> Result<()> {
            self.inner.take_expired(now_ms, out)
        }
        fn take_expired_batch(&self, now: u64, max: usize, out: &mut Vec<Lease>) -> Result<bool> {
            let more = self.inner.take_expired_batch(now, max, out);
            if let Some(hook) = self.hook.lock().unwrap().take() {
                hook();
            }
            more
        }
        fn drain(&self, out: &mut Vec<Lease>) {
            self.inner.drain(out)
        }
        fn count(&self) -> Result<usize> {
            self.inner.count()
        }
        fn lock_waits(&self) -> u64 {
            self.inner.lock_waits()
        }
    }

    /// What the reader thread below reports.
    enum Seen {
        /// Its snapshot found the batch in flight (and waits for it).
        InFlight,
        Stats(AppStats),
    }

    /// A snapshot taken on another thread while a sweep's batch is between
    /// the store's count and `sessions_timed_out` still balances: it waits
    /// for the batch (it used to be short by the batch: 0 current, 0 timed
    /// out, 3 created). The sweep goes on as soon as the reader has read
    /// (as it did) or found the batch in flight.
    #[test]
    fn stats_taken_mid_sweep_balance() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let store = Arc::new(AfterClaim {
            inner: MemoryStore::new().unwrap(),
            hook: Mutex::new(None),
        });
        let app = App::new(AppOptions {
            clock: Some(clock.clone()),
            expiry_interval: None,
            store: StoreConfig::Custom(store.clone()),
            ..AppOptions::default()
        })
        .unwrap();
        for _ in 0..3 {
            let mut s = app.create_session().unwrap();
            s.set("x", Variant::I4(1)).unwrap();
            s.close().unwrap();
        }
        clock.advance(21 * 60_000);
        let (tx, rx) = mpsc::channel::<Seen>();
        let rx = Arc::new(Mutex::new(rx));
        let reader_app = app.clone();
        let first = Arc::new(Mutex::new(None));
        let (hook_rx, hook_first) = (rx.clone(), first.clone());
        *store.hook.lock().unwrap() = Some(Box::new(move || {
            std::thread::spawn(move || {
                let saw = tx.clone();
                stats::IN_FLIGHT.with(|h| {
                    *h.borrow_mut() = Some(Box::new(move || drop(saw.send(Seen::InFlight))));
                });
                tx.send(Seen::Stats(reader_app.stats())).unwrap();
            });
            let seen = hook_rx.lock().unwrap().recv().unwrap();
            *hook_first.lock().unwrap() = Some(seen);
        }));
        assert_eq!(app.expire().unwrap(), 3);
        let stats = match first.lock().unwrap().take().unwrap() {
            Seen::Stats(s) => s,
            Seen::InFlight => match rx.lock().unwrap().recv().unwrap() {
                Seen::Stats(s) => s,
                Seen::InFlight => unreachable!("reported once"),
            },
        };
        assert_eq!(
            (
                stats.sessions_current,
                stats.sessions_total,
                stats.sessions_timed_out
            ),
            (Some(0), 3, 3),
            "a snapshot mid-sweep: {stats:?}"
        );
    }
}
