//! An application: its options, its store, Session_OnStart / Session_OnEnd and
//! the expiry that ends timed-out sessions.

mod options;
mod session;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

pub use options::{AppOptions, Factory, OnEnd, OnStart, StaticObject, StoreConfig};
pub use session::Session;

use crate::clock::Clock;
use crate::error::{self, Error, Result};
use crate::session::{Limits, MemoryBudget, SessionData, SessionId};
use crate::store::{Lease, LockMode, Lookup, SessionStore, StoreMode};

/// What sessions share: the application's settings and store.
pub(crate) struct AppInner {
    opts: AppOptions,
    limits: Limits,
    /// What in-process sessions' Contents hold, against the budget.
    budget: Arc<MemoryBudget>,
    store: Arc<dyn SessionStore>,
    clock: Arc<dyn Clock>,
}

impl AppInner {
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// When a session last touched at `now_ms` expires.
    fn deadline(&self, lease: &Lease, now_ms: u64) -> u64 {
        let sliding = now_ms + u64::from(lease.data().timeout_minutes()) * 60_000;
        match self.opts.absolute_timeout_minutes {
            0 => sliding,
            abs => sliding.min(lease.created_ms() + u64::from(abs) * 60_000),
        }
    }

    /// Runs Session_OnEnd for a session the store has removed, then lets it go
    /// (which releases its objects).
    fn end(self: &Arc<Self>, lease: Lease) {
        if let Some(on_end) = self.opts.on_end.clone() {
            let mut s = Session::ending(self.clone(), lease);
            // A panicking handler must not take the sweeper or a request down.
            let _ = catch_unwind(AssertUnwindSafe(|| on_end(&mut s)));
        }
    }

    /// Ends every expired session that is not in use; returns how many ended.
    fn expire(self: &Arc<Self>) -> usize {
        let mut due = Vec::new();
        self.store.take_expired(self.now_ms(), &mut due);
        let n = due.len();
        for lease in due {
            self.end(lease);
        }
        n
    }
}

/// An application: sessions, their settings and their events.
///
/// Clones share the application. Dropping the last clone stops the expiry
/// thread and runs Session_OnEnd for every session not in use (ASP's
/// application end); sessions still open keep the shared state alive until
/// they close.
#[derive(Clone)]
pub struct App(Arc<AppHandle>);

/// What the last [`App`] clone shuts down.
struct AppHandle {
    inner: Arc<AppInner>,
    sweeper: Option<Sweeper>,
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
        });
        let sweeper = match inner.opts.expiry_interval {
            Some(every) => Some(Sweeper::start(Arc::downgrade(&inner), every)?),
            None => None,
        };
        Ok(App(Arc::new(AppHandle { inner, sweeper })))
    }

    /// Starts a new session (exclusively held, IsNewSession true). It is
    /// stored only once something is written to it, a static object is used,
    /// or Session_OnStart exists (which then runs before this returns).
    pub fn create_session(&self) -> Result<Session> {
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
        let mut s = Session::new(app.clone(), lease, true);
        if let Some(on_start) = app.opts.on_start.clone() {
            s.materialize()?;
            s.set_lent(true);
            let started =
                catch_unwind(AssertUnwindSafe(|| on_start(&mut s))).unwrap_or_else(|_| {
                    Err(Error::new(error::E_UNEXPECTED, "Session_OnStart panicked"))
                });
            s.set_lent(false);
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
    /// A session found expired is ended (Session_OnEnd) on the way.
    pub fn open_session(&self, id: &str, mode: LockMode) -> Result<Session> {
        let id = SessionId::parse(id)?;
        self.open(&id, mode)
    }

    /// As [`App::open_session`], for an ID already parsed.
    pub fn open(&self, id: &SessionId, mode: LockMode) -> Result<Session> {
        let app = &self.0.inner;
        let not_found = || Error::code_only(error::E_SESSION_NOT_FOUND);
        match app
            .store
            .get(id, mode, app.opts.lock_timeout, app.now_ms())?
        {
            Lookup::Found(lease) => Ok(Session::new(app.clone(), lease, false)),
            Lookup::NotFound => Err(not_found()),
            Lookup::Expired(lease) => {
                app.end(lease);
                Err(not_found())
            }
        }
    }

    /// Ends every expired session now (for hosts that run no library
    /// thread); returns how many ended.
    pub fn expire(&self) -> usize {
        self.0.inner.expire()
    }

    /// Number of stored sessions.
    pub fn session_count(&self) -> usize {
        self.0.inner.store.count()
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
        drop(self.sweeper.take());
        let mut all = Vec::new();
        self.inner.store.drain(&mut all);
        for lease in all {
            self.inner.end(lease);
        }
    }
}

/// The optional library thread that ends expired sessions.
struct Sweeper {
    stop: Arc<(parking_lot::Mutex<bool>, parking_lot::Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Sweeper {
    fn start(app: Weak<AppInner>, every: Duration) -> Result<Sweeper> {
        let stop = Arc::new((parking_lot::Mutex::new(false), parking_lot::Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sess-expiry".into())
            .spawn(move || loop {
                {
                    let mut stopped = signal.0.lock();
                    if !*stopped {
                        signal.1.wait_for(&mut stopped, every);
                    }
                    if *stopped {
                        return;
                    }
                }
                match app.upgrade() {
                    Some(app) => {
                        app.expire();
                    }
                    None => return,
                }
            })
            .map_err(|e| {
                Error::new(
                    error::E_FAIL,
                    format!("cannot start the expiry thread: {e}"),
                )
            })?;
        Ok(Sweeper {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
