//! Session stores, following ASP.NET's provider contract so that every store
//! can keep it: get-exclusive / get-shared (data plus a lock), create
//! (uninitialised, then insert-if-absent), set-and-release, remove, and an
//! expiry notification path that hands expired sessions back for OnEnd.

mod memory;

use std::time::Duration;

pub use memory::MemoryStore;

use crate::error::Result;
use crate::session::{SessionData, SessionId};

/// Where an application keeps its sessions (ASP.NET's `SessionStateMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// In this process (the default).
    InProc,
}

/// How a unit of work holds a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Read-write; one holder at a time.
    Exclusive,
    /// Read-only; many holders at once, never saved.
    Shared,
}

/// A session's data locked for one unit of work. Dropping it unlocks.
pub struct Lease(memory::Guard);

impl Lease {
    /// The session's ID.
    pub fn id(&self) -> SessionId {
        self.0.entry().id
    }

    /// When the session was created (clock milliseconds).
    pub fn created_ms(&self) -> u64 {
        self.0.entry().created_ms
    }

    /// The session's data.
    pub fn data(&self) -> &SessionData {
        &self.0.entry().data
    }

    /// The data for writing, or `None` for a shared (read-only) lease.
    pub fn data_mut(&mut self) -> Option<&mut SessionData> {
        self.0.entry_mut().map(|e| &mut e.data)
    }

    /// How the session is held.
    pub fn lock_mode(&self) -> LockMode {
        self.0.lock_mode()
    }
}

/// The outcome of looking a session up.
pub enum Lookup {
    /// The session, locked as asked.
    Found(Lease),
    /// No live session has that ID.
    NotFound,
    /// The session's time ran out: the store removed it and hands it back,
    /// still locked, for Session_OnEnd.
    Expired(Lease),
}

/// A session store. All methods are safe to call from many threads.
pub trait SessionStore: Send + Sync {
    /// Which kind of store this is.
    fn mode(&self) -> StoreMode;

    /// get-exclusive / get-shared: finds `id` and locks it, waiting at most
    /// `wait` for the lock (`E_LOCK_TIMEOUT` past that).
    fn get(&self, id: &SessionId, mode: LockMode, wait: Duration, now_ms: u64) -> Result<Lookup>;

    /// create-uninitialised, step one: a new session's data, locked
    /// exclusively, not yet visible to anyone.
    fn prepare(&self, id: SessionId, data: SessionData, now_ms: u64) -> Lease;

    /// create-uninitialised, step two: makes a prepared session visible with
    /// expiry `deadline_ms` if its ID is free (create-if-absent, so a
    /// collision can never attach two users to one session) and the store
    /// holds fewer than `max_sessions` (else `E_TOO_MANY_SESSIONS`).
    /// `Ok(false)`: the ID is taken; the caller picks another.
    fn insert(&self, lease: &mut Lease, deadline_ms: u64, max_sessions: usize) -> Result<bool>;

    /// Moves a stored session held exclusively to `new_id` in one step: the
    /// old ID is dead when this returns and `lease` holds the new one.
    /// `Ok(false)`: `new_id` is taken and nothing changed.
    fn regenerate(&self, lease: &mut Lease, new_id: SessionId, deadline_ms: u64) -> Result<bool>;

    /// set-and-release: keeps the data, sets the expiry to `deadline_ms` and
    /// unlocks.
    fn release(&self, lease: Lease, deadline_ms: u64) -> Result<()>;

    /// Removes a session held exclusively (Abandon); returns it still locked
    /// for Session_OnEnd.
    fn remove(&self, lease: Lease) -> Result<Lease>;

    /// Expiry notification: removes every session whose deadline is at or
    /// before `now_ms` and is not in use, appending them (locked) to `out`.
    /// Costs O(sessions due), never a scan of all sessions.
    fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>);

    /// Removes every session (application end), appending them to `out`.
    fn drain(&self, out: &mut Vec<Lease>);

    /// Number of stored sessions.
    fn count(&self) -> usize;
}
