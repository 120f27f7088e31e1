//! Session stores, following ASP.NET's provider contract so that every store
//! can keep it: get-exclusive / get-shared (data plus a lock), create
//! (uninitialised, then insert-if-absent), set-and-release, remove, and an
//! expiry notification path that hands expired sessions back for OnEnd.

pub mod custom;
pub mod lmdb;
mod memory;
mod redis;
pub mod remote;
pub mod wire;

use std::any::Any;
use std::time::Duration;

pub use self::redis::{RedisOptions, RedisStore};
pub use custom::CustomStore;
pub use memory::MemoryStore;

use crate::error::Result;
use crate::state::{SessionData, SessionId};

/// The key a shared store keeps session `id` under: its
/// [`KeyHash`](remote::KeyHash) as 32 lowercase hex digits. Never the ID
/// (the cookie value) itself, so a listing of the store's keys reveals no
/// usable cookie.
pub fn store_key(id: &SessionId) -> String {
    remote::KeyHash::of(id).hex()
}

/// `E_LOCK_TIMEOUT`: the session stayed locked by another unit of work for
/// all of `wait` (every store's wording).
fn lock_timeout(wait: Duration) -> crate::error::Error {
    crate::error::Error::new(
        crate::error::E_LOCK_TIMEOUT,
        format!(
            "the session stayed locked by another request for {} ms",
            wait.as_millis()
        ),
    )
}

/// Where an application keeps its sessions (ASP.NET's `SessionStateMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// In this process (the default): values are held as they are.
    InProc,
    /// In Redis, shared by a web farm: values are serialised.
    Redis,
    /// In a store the host supplies: values are serialised.
    Custom,
    /// In an LMDB directory shared by the processes of one machine: values
    /// are serialised.
    Lmdb,
}

impl StoreMode {
    /// Whether values leave the process (so objects cannot be stored).
    pub fn serialises(self) -> bool {
        self != StoreMode::InProc
    }
}

/// How a unit of work holds a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Read-write; one holder at a time.
    Exclusive,
    /// Read-only; many holders at once, never saved.
    Shared,
}

/// A session's data held for one unit of work: in place (in-process store,
/// locked) or copied out of a shared store (with that store's lock token).
/// Dropping an in-place lease unlocks it.
pub struct Lease(Held);

enum Held {
    InPlace(memory::Guard),
    /// Boxed: it carries a whole `SessionData`, and an in-place lease (the
    /// default store's) should not move that many bytes with every
    /// `Session`.
    Copied(Box<OwnedLease>),
}

/// A session's data copied out of a store that keeps it elsewhere.
pub struct OwnedLease {
    /// The session's ID.
    pub id: SessionId,
    /// When the session was created (clock milliseconds).
    pub created_ms: u64,
    /// The data, owned by this unit of work.
    pub data: SessionData,
    /// How the session is held.
    pub mode: LockMode,
    /// What the store needs to save or release it (lock token, what was
    /// loaded); only that store reads it.
    pub state: Box<dyn Any + Send>,
}

impl Lease {
    /// A lease on data copied out of a store.
    pub fn copied(lease: OwnedLease) -> Lease {
        Lease(Held::Copied(Box::new(lease)))
    }

    fn in_place(guard: memory::Guard) -> Lease {
        Lease(Held::InPlace(guard))
    }

    /// The copied lease, if this is one (for the store that made it).
    pub fn into_copied(self) -> Option<OwnedLease> {
        match self.0 {
            Held::Copied(o) => Some(*o),
            Held::InPlace(_) => None,
        }
    }

    /// The copied lease, borrowed, if this is one.
    pub fn as_copied_mut(&mut self) -> Option<&mut OwnedLease> {
        match &mut self.0 {
            Held::Copied(o) => Some(o),
            Held::InPlace(_) => None,
        }
    }

    /// The session's ID.
    pub fn id(&self) -> SessionId {
        match &self.0 {
            Held::InPlace(g) => g.entry().id,
            Held::Copied(o) => o.id,
        }
    }

    /// When the session was created (clock milliseconds).
    pub fn created_ms(&self) -> u64 {
        match &self.0 {
            Held::InPlace(g) => g.entry().created_ms,
            Held::Copied(o) => o.created_ms,
        }
    }

    /// The session's data.
    pub fn data(&self) -> &SessionData {
        match &self.0 {
            Held::InPlace(g) => &g.entry().data,
            Held::Copied(o) => &o.data,
        }
    }

    /// The data for writing, or `None` for a shared (read-only) lease.
    pub fn data_mut(&mut self) -> Option<&mut SessionData> {
        match &mut self.0 {
            Held::InPlace(g) => g.entry_mut().map(|e| &mut e.data),
            Held::Copied(o) => (o.mode == LockMode::Exclusive).then_some(&mut o.data),
        }
    }

    /// Takes the data out (leaving empty data behind), or `None` for a
    /// shared (read-only) lease.
    pub fn take_data(&mut self) -> Option<SessionData> {
        self.data_mut()
            .map(|data| std::mem::replace(data, SessionData::new(1, 0, 0)))
    }

    /// How the session is held.
    pub fn lock_mode(&self) -> LockMode {
        match &self.0 {
            Held::InPlace(g) => g.lock_mode(),
            Held::Copied(o) => o.mode,
        }
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
    /// holds fewer than `max_sessions` (else `E_TOO_MANY_SESSIONS`), locked
    /// for the lease since `now_ms` (a lock with a lease, as shared stores'
    /// are, lasts it from now, not from `prepare`: the first write may come
    /// long after). `Ok(false)`: the ID is taken; the caller picks another.
    fn insert(
        &self,
        lease: &mut Lease,
        now_ms: u64,
        deadline_ms: u64,
        max_sessions: usize,
    ) -> Result<bool>;

    /// Moves a stored session held exclusively to `new_id` in one step: the
    /// old ID is dead when this returns and `lease` holds the new one.
    /// `Ok(false)`: `new_id` is taken and nothing changed. A store may move
    /// the session to another fresh ID of its choosing instead (the Redis
    /// store keeps it in its Cluster slot); `lease.id()` tells the ID in
    /// force.
    fn regenerate(&self, lease: &mut Lease, new_id: SessionId, deadline_ms: u64) -> Result<bool>;

    /// set-and-release: keeps the data, sets the expiry to `deadline_ms` and
    /// unlocks.
    fn release(&self, lease: Lease, deadline_ms: u64) -> Result<()>;

    /// Removes a session held exclusively (Abandon); returns it still locked
    /// for Session_OnEnd.
    fn remove(&self, lease: Lease) -> Result<Lease>;

    /// Takes exclusively the session a `shared` lease holds (Abandon in a
    /// read-only unit of work, at its end): lets the shared hold go, reads
    /// `now`, then locks the session as [`SessionStore::get`] would,
    /// waiting at most `wait` (`E_LOCK_TIMEOUT` past that). `NotFound`: the
    /// session has ended (another request's Abandon, its timeout).
    ///
    /// Another request may have moved the session to a new ID meanwhile
    /// (regenerate, at login): a store that follows it there returns it
    /// under that ID (the in-process store: the session keeps its entry).
    /// The default looks the ID up again, and where that finds nothing it
    /// cannot tell a moved session from an ended one, so it says so with
    /// `E_SESSION_NOT_FOUND`, never a silent `NotFound` (an Abandon that
    /// quietly missed a session living on under a new ID would be a
    /// logout lost).
    fn upgrade(&self, shared: Lease, wait: Duration, now: &dyn Fn() -> u64) -> Result<Lookup> {
        let id = shared.id();
        drop(shared);
        match self.get(&id, LockMode::Exclusive, wait, now())? {
            Lookup::NotFound => Err(crate::error::Error::new(
                crate::error::E_SESSION_NOT_FOUND,
                "Abandon was not applied: the session is no longer under its ID (it \
                 ended, or another request gave it a new ID and it lives on under that)",
            )),
            found => Ok(found),
        }
    }

    /// Expiry notification: removes every session whose deadline is at or
    /// before `now_ms` and is not in use, appending them (locked) to `out`.
    /// Costs O(sessions due), never a scan of all sessions. A failure (the
    /// store unreachable, a session it cannot read) is returned after what
    /// could be claimed was appended: those sessions still need ending.
    fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>) -> Result<()>;

    /// [`SessionStore::take_expired`] for at most `max` sessions, so the
    /// caller can end each batch while its entries are still warm in cache
    /// and a store can let requests in between batches. `Ok(true)`: it
    /// stopped at `max` and more may be due. The default claims every due
    /// session in one call (for stores that batch on their own).
    fn take_expired_batch(&self, now_ms: u64, max: usize, out: &mut Vec<Lease>) -> Result<bool> {
        let _ = max;
        self.take_expired(now_ms, out).map(|()| false)
    }

    /// Removes every session (application end), appending them to `out`.
    /// A store shared by a web farm leaves them to the farm instead (they
    /// end when they expire) and appends nothing.
    fn drain(&self, out: &mut Vec<Lease>);

    /// Number of stored sessions (for a shared store: the farm's, possibly
    /// approximate), or why the store cannot say.
    fn count(&self) -> Result<usize>;

    /// Lookups so far that found their session locked and had to wait
    /// (whether or not they got it in time).
    fn lock_waits(&self) -> u64;
}

/// A store's count of lookups that waited for a lock: one relaxed add on
/// the waiting path only.
#[derive(Debug, Default)]
pub(crate) struct LockWaits(std::sync::atomic::AtomicU64);

impl LockWaits {
    /// Counts one lookup that waits.
    pub(crate) fn note(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}
