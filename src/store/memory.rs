//! The in-process store: a sharded hash table of per-session reader/writer
//! locks, with expiry kept in per-shard buckets of deadlines.
//!
//! - Lookup: hash the ID with a per-store random seed (foldhash's quality
//!   hash: a few ns; the entry found is checked against the full ID, and
//!   only the server's own random IDs are ever inserted), pick a shard,
//!   find the key in its table (`table`: one cache miss at a million
//!   sessions), clone the session's `Arc` under the shard mutex, then lock
//!   the session itself. Waiters on a session lock are parked and woken, never
//!   polled; the wait is bounded.
//! - Expiry: each session is registered in the bucket of the second its
//!   deadline falls in. Touching a session only moves its deadline (an
//!   atomic store); when its bucket comes due, a session whose deadline moved
//!   on is re-registered at the new deadline. A sweep therefore visits only
//!   the buckets that are due: O(sessions due), never all sessions.

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use foldhash::quality::SeedableRandomState;
use foldhash::SharedSeed;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lock_api::{ArcRwLockReadGuard, ArcRwLockWriteGuard};
use parking_lot::{Mutex, MutexGuard, RawRwLock, RwLock};
use smallvec::SmallVec;

mod table;

use table::{KeyTable, SlotHint};

use super::{lock_timeout, Held, Lease, LockMode, Lookup, SessionStore, StoreMode};
use crate::error::{self, Error, Result};
use crate::state::{SessionData, SessionId};

const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
/// Most expired sessions claimed under one hold of a shard's mutex.
const CLAIMS_PER_LOCK: usize = 64;

/// Whether an entry is visible in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Prepared, not yet inserted.
    Pending,
    /// In the table.
    Live,
    /// Removed (expired or abandoned); a late lookup must not use it.
    Dead,
}

/// One session as the store keeps it.
pub(super) struct Entry {
    pub(super) id: SessionId,
    pub(super) created_ms: u64,
    pub(super) data: SessionData,
    state: State,
    /// Expiry deadline; atomic so shared (read-only) holders can slide it.
    deadline_ms: AtomicU64,
    /// The second of this entry's current expiry registration (seconds of
    /// the clock fit 32 bits for 136 years; later deadlines saturate).
    bucket: u32,
}

type Slot = Arc<RwLock<Entry>>;

/// A lock on one entry, exclusive or shared.
pub(super) enum Guard {
    Write(ArcRwLockWriteGuard<RawRwLock, Entry>),
    Read(ArcRwLockReadGuard<RawRwLock, Entry>),
}

impl Guard {
    pub(super) fn entry(&self) -> &Entry {
        match self {
            Guard::Write(g) => g,
            Guard::Read(g) => g,
        }
    }

    pub(super) fn entry_mut(&mut self) -> Option<&mut Entry> {
        match self {
            Guard::Write(g) => Some(g),
            Guard::Read(_) => None,
        }
    }

    pub(super) fn lock_mode(&self) -> LockMode {
        match self {
            Guard::Write(_) => LockMode::Exclusive,
            Guard::Read(_) => LockMode::Shared,
        }
    }
}

#[derive(Default)]
struct Shard {
    map: KeyTable<Slot>,
    /// Expiry registrations: second → keys registered for it (up to two
    /// in the tree's own node, as a site that starts under two sessions a
    /// second per shard has them: no heap block for a bucket then).
    wheel: BTreeMap<u32, SmallVec<[u64; 2]>>,
}

impl Shard {
    fn register(&mut self, key: u64, bucket: u32) {
        self.wheel.entry(bucket).or_default().push(key);
    }

    /// Moves up to `room` keys registered in due buckets, oldest first,
    /// into `batch`: from as many buckets as it takes (a backlog may hold a
    /// session or two per second), whose keys' lines are loaded together
    /// first.
    fn gather_due(
        &mut self,
        now_s: u32,
        room: usize,
        batch: &mut SmallVec<[u64; CLAIMS_PER_LOCK]>,
    ) {
        let mut ahead = 0;
        for keys in self.wheel.range(..=now_s).map(|(_, keys)| keys) {
            if ahead >= room {
                break;
            }
            ahead += keys.len();
            if keys.spilled() {
                prefetch_lines(keys.as_ptr().cast(), size_of_val(keys.as_slice()));
            }
        }
        let mut room = room;
        while room > 0 {
            let Some(mut due) = self.wheel.first_entry() else {
                break;
            };
            if *due.key() > now_s {
                break;
            }
            let keys = due.get_mut();
            let rest = keys.len().saturating_sub(room);
            room -= keys.len() - rest;
            batch.extend(keys.drain(rest..));
            if keys.is_empty() {
                due.remove();
            }
        }
    }
}

/// A shard on cache lines of its own, so two cores working on neighbouring
/// shards do not bounce one line between them.
#[repr(align(128))]
#[derive(Default)]
struct PaddedShard {
    lock: Mutex<Shard>,
    /// Where the shard's table slots are, on the next line.
    hint: SlotHint<Slot>,
}

/// The in-process session store (the default).
pub struct MemoryStore {
    shards: Box<[PaddedShard]>,
    hasher: SeedableRandomState,
    count: AtomicUsize,
    lock_waits: super::LockWaits,
    /// The shard where the last batch of expired sessions ended: the next
    /// starts there instead of visiting the swept shards again.
    sweep_from: AtomicUsize,
}

/// The expiry second a deadline is registered under: the first whole second
/// at or after it, so a bucket that is due holds only due deadlines.
fn bucket_of(deadline_ms: u64) -> u32 {
    u32::try_from(deadline_ms.div_ceil(1000)).unwrap_or(u32::MAX)
}

impl MemoryStore {
    /// An empty store with a fresh random hashing seed.
    pub fn new() -> Result<MemoryStore> {
        let seed = getrandom::u64()
            .map_err(|e| Error::new(error::E_FAIL, format!("the OS random source failed: {e}")))?;
        Ok(MemoryStore {
            shards: (0..SHARDS).map(|_| PaddedShard::default()).collect(),
            hasher: SeedableRandomState::with_seed(seed, SharedSeed::global_random()),
            count: AtomicUsize::new(0),
            lock_waits: super::LockWaits::default(),
            sweep_from: AtomicUsize::new(0),
        })
    }

    /// The store key of `id`: a seeded hash, never the ID itself.
    fn key(&self, id: &SessionId) -> u64 {
        self.hasher.hash_one(u128::from_le_bytes(*id.as_bytes()))
    }

    fn shard(&self, key: u64) -> &Mutex<Shard> {
        &self.padded(key).lock
    }

    fn padded(&self, key: u64) -> &PaddedShard {
        // Middle bits: the shard's table uses the low ones.
        &self.shards[(key >> 32) as usize & (SHARDS - 1)]
    }

    /// Waits up to `wait` for the lock on `slot` that another holder has
    /// (counted as a wait unless `wait` is zero: then none is made).
    #[cold]
    #[inline(never)]
    fn wait_for(&self, slot: &Slot, mode: LockMode, wait: Duration) -> Result<Guard> {
        if !wait.is_zero() {
            self.lock_waits.note();
        }
        match mode {
            LockMode::Exclusive => slot.try_write_arc_for(wait).map(Guard::Write),
            LockMode::Shared => slot.try_read_arc_for(wait).map(Guard::Read),
        }
        .ok_or_else(|| lock_timeout(wait))
    }

    /// Claims up to `quota` due sessions of one shard into `out`; returns
    /// how many, and whether the shard may hold more due ones. Entries in
    /// use or touched since are re-registered (through `later`, after the
    /// loop, so a claim always ends, even on a clock past the buckets'
    /// range, where they saturate).
    fn claim_due(
        &self,
        shard: &mut Shard,
        now_ms: u64,
        now_s: u32,
        quota: usize,
        out: &mut Vec<Lease>,
        later: &mut Vec<(u64, u32)>,
    ) -> (usize, bool) {
        let mut claimed = 0;
        // The batch on the stack: a malloc per batch took a fifth of the
        // sweep's time (glibc's malloc sorts the blocks freed before it).
        let mut batch = SmallVec::<[u64; CLAIMS_PER_LOCK]>::new();
        loop {
            shard.gather_due(now_s, quota - claimed, &mut batch);
            if batch.is_empty() {
                break;
            }
            // Three passes, so the misses come together instead of one
            // after another: the table slots, then the entries.
            for &key in &batch {
                shard.map.prefetch(key);
            }
            for &key in &batch {
                if let Some(slot) = shard.map.get(key) {
                    prefetch(slot);
                }
            }
            for key in batch.drain(..) {
                if self.claim(shard, key, now_ms, now_s, out, later) {
                    claimed += 1;
                }
            }
        }
        self.count.fetch_sub(claimed, Ordering::Relaxed);
        for (key, bucket) in later.drain(..) {
            shard.register(key, bucket);
        }
        let more = claimed == quota
            && shard
                .wheel
                .first_key_value()
                .is_some_and(|(&s, _)| s <= now_s);
        (claimed, more)
    }

    /// Claims `key`'s session into `out` (the caller counts it) if it is
    /// due and not in use; otherwise notes in `later` when to look at it
    /// again (if it is still there: a registration may be stale).
    fn claim(
        &self,
        shard: &mut Shard,
        key: u64,
        now_ms: u64,
        now_s: u32,
        out: &mut Vec<Lease>,
        later: &mut Vec<(u64, u32)>,
    ) -> bool {
        let Some(slot) = shard.map.get(key) else {
            return false; // removed meanwhile: a stale registration
        };
        let Some(mut g) = slot.try_write_arc() else {
            // In use: a request holds it. Look again next second.
            later.push((key, now_s.saturating_add(1)));
            return false;
        };
        let deadline = g.deadline_ms.load(Ordering::Relaxed);
        if deadline <= now_ms {
            shard.map.remove(key);
            g.state = State::Dead;
            out.push(Lease::in_place(Guard::Write(g)));
            return true;
        }
        if g.bucket <= now_s {
            // Its registration came due but it was touched since.
            g.bucket = bucket_of(deadline);
            later.push((key, g.bucket));
        }
        // else: a later registration is current; this one is stale.
        false
    }

    /// Makes `g`'s pending entry visible under its ID with expiry
    /// `deadline_ms`, unless its key is taken (then `false`). Counts
    /// nothing: the caller has.
    fn link(&self, g: &mut ArcRwLockWriteGuard<RawRwLock, Entry>, deadline_ms: u64) -> bool {
        let key = self.key(&g.id);
        let padded = self.padded(key);
        let mut shard = padded.lock.lock();
        let added = shard
            .map
            .insert_new(key, ArcRwLockWriteGuard::rwlock(g).clone());
        padded.hint.update(&shard.map);
        if added.is_err() {
            return false;
        }
        let bucket = bucket_of(deadline_ms);
        shard.register(key, bucket);
        drop(shard);
        g.state = State::Live;
        g.bucket = bucket;
        g.deadline_ms.store(deadline_ms, Ordering::Relaxed);
        true
    }

    /// Takes `g`'s entry out of the table and counts it out.
    fn unlink(&self, g: &mut ArcRwLockWriteGuard<RawRwLock, Entry>) {
        if self.take_out(g) {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Takes `g`'s entry out of the table and marks it dead, counting
    /// nothing; whether it was there (a drain takes out the entries in use
    /// too, leaving them live).
    fn take_out(&self, g: &mut ArcRwLockWriteGuard<RawRwLock, Entry>) -> bool {
        let slot = ArcRwLockWriteGuard::rwlock(g).clone();
        let key = self.key(&g.id);
        let mut there = false;
        if g.state == State::Live {
            let mut shard = self.shard(key).lock();
            if shard.map.get(key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                shard.map.remove(key);
                there = true;
            }
        }
        g.state = State::Dead;
        there
    }
}

/// Starts loading every cache line of `slot`'s block at once. Taking its
/// reference count and then its lock are locked instructions, which wait
/// for each load before them; without this the entry's lines would arrive
/// one dependent miss after another.
#[inline(always)]
fn prefetch(slot: &Slot) {
    // The Arc's two counts sit just before the value.
    let start = Arc::as_ptr(slot).cast::<u8>().wrapping_sub(16);
    prefetch_lines(start, 16 + std::mem::size_of::<RwLock<Entry>>());
}

/// Starts loading the cache lines of the `len > 0` bytes at `start`. Only a
/// hint: nothing is read into the program, and no address faults.
#[inline(always)]
fn prefetch_lines(start: *const u8, len: usize) {
    // (Miri has no prefetch to interpret; it has no caches either.)
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let line = |p: *const u8| {
            // SAFETY: SSE is in every x86_64 target's baseline, and a
            // prefetch reads nothing into the program and never faults,
            // whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) }
        };
        let mut off = 0;
        while off < len {
            line(start.wrapping_add(off));
            off += 64;
        }
        // The last line, when the bytes do not start on a line.
        line(start.wrapping_add(len - 1));
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    let _ = (start, len);
}

/// `E_UNEXPECTED`: a lease another store made was handed to this one.
fn foreign() -> Error {
    Error::new(error::E_UNEXPECTED, "the lease belongs to another store")
}

/// The lock of an in-place lease.
fn guard(lease: Lease) -> Result<Guard> {
    match lease.0 {
        Held::InPlace(g) => Ok(g),
        Held::Copied(_) => Err(foreign()),
    }
}

/// The exclusive lock of an in-place lease.
fn write_guard(lease: &mut Lease) -> Result<&mut ArcRwLockWriteGuard<RawRwLock, Entry>> {
    match &mut lease.0 {
        Held::InPlace(Guard::Write(g)) => Ok(g),
        Held::InPlace(Guard::Read(_)) => Err(Error::new(
            error::E_READONLY,
            "the session is held read-only",
        )),
        Held::Copied(_) => Err(foreign()),
    }
}

impl SessionStore for MemoryStore {
    fn mode(&self) -> StoreMode {
        StoreMode::InProc
    }

    fn get(&self, id: &SessionId, mode: LockMode, wait: Duration, now_ms: u64) -> Result<Lookup> {
        let key = self.key(id);
        let shard = self.padded(key);
        // The slot's line loads while the mutex's line comes from the core
        // that used it last.
        shard.hint.prefetch(key);
        // The session's lock is tried under the shard's mutex (a try cannot
        // deadlock), so an uncontended lookup clones the entry's `Arc` once,
        // into the guard; only a lock held elsewhere is waited for, with
        // the mutex released.
        let tried = {
            let shard = shard.lock.lock();
            let Some(slot) = shard.map.get(key) else {
                return Ok(Lookup::NotFound);
            };
            prefetch(slot);
            match mode {
                LockMode::Exclusive => slot.try_write_arc().map(Guard::Write),
                LockMode::Shared => slot.try_read_arc().map(Guard::Read),
            }
            .ok_or_else(|| slot.clone())
        };
        let guard = match tried {
            Ok(guard) => guard,
            Err(slot) => self.wait_for(&slot, mode, wait)?,
        };
        let e = guard.entry();
        if e.state != State::Live || e.id != *id {
            return Ok(Lookup::NotFound);
        }
        if e.deadline_ms.load(Ordering::Relaxed) > now_ms {
            return Ok(Lookup::Found(Lease::in_place(guard)));
        }
        match guard {
            Guard::Write(mut g) => {
                self.unlink(&mut g);
                Ok(Lookup::Expired(Lease::in_place(Guard::Write(g))))
            }
            // A shared holder cannot remove it; the next sweep will.
            Guard::Read(_) => Ok(Lookup::NotFound),
        }
    }

    fn prepare(&self, id: SessionId, data: SessionData, now_ms: u64) -> Lease {
        let entry = Entry {
            id,
            created_ms: now_ms,
            data,
            state: State::Pending,
            deadline_ms: AtomicU64::new(u64::MAX),
            bucket: u32::MAX,
        };
        Lease::in_place(Guard::Write(Arc::new(RwLock::new(entry)).write_arc()))
    }

    /// `_now_ms`: this store's locks have no lease.
    fn insert(
        &self,
        lease: &mut Lease,
        _now_ms: u64,
        deadline_ms: u64,
        max_sessions: usize,
    ) -> Result<bool> {
        let g = write_guard(lease)?;
        if g.state != State::Pending {
            return Err(Error::new(
                error::E_UNEXPECTED,
                "the session is already stored",
            ));
        }
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                (c < max_sessions).then_some(c + 1)
            })
            .map_err(|_| {
                Error::new(
                    error::E_TOO_MANY_SESSIONS,
                    format!("the application already holds {max_sessions} sessions"),
                )
            })?;
        if !self.link(g, deadline_ms) {
            self.count.fetch_sub(1, Ordering::Relaxed);
            return Ok(false);
        }
        Ok(true)
    }

    /// Moves the session's entry itself to `new_id`'s key (first under the
    /// new key, then out from under the old one, the entry locked
    /// throughout): a request waiting on it by the old ID finds the ID
    /// changed (`NotFound`), and a read-only unit that holds the entry
    /// still reaches the session by it (see [`SessionStore::upgrade`]).
    fn regenerate(&self, lease: &mut Lease, new_id: SessionId, deadline_ms: u64) -> Result<bool> {
        let g = write_guard(lease)?;
        if g.state != State::Live {
            return Err(Error::new(
                error::E_UNEXPECTED,
                "only a stored session changes its ID",
            ));
        }
        let slot = ArcRwLockWriteGuard::rwlock(g).clone();
        let old_key = self.key(&g.id);
        let new_key = self.key(&new_id);
        // The session is counted already: it moves, it does not add one
        // (counting it in and then out would make a store one short of
        // `max_sessions` refuse another request's new session meanwhile).
        {
            let padded = self.padded(new_key);
            let mut shard = padded.lock.lock();
            let added = shard.map.insert_new(new_key, slot.clone());
            padded.hint.update(&shard.map);
            if added.is_err() {
                return Ok(false);
            }
            let bucket = bucket_of(deadline_ms);
            shard.register(new_key, bucket);
            g.bucket = bucket;
            g.deadline_ms.store(deadline_ms, Ordering::Relaxed);
        }
        let there = {
            let mut shard = self.shard(old_key).lock();
            let there = shard
                .map
                .get(old_key)
                .is_some_and(|s| Arc::ptr_eq(s, &slot));
            if there {
                shard.map.remove(old_key);
            }
            there
        };
        if !there {
            // Drained meanwhile (the application's end): back in, it is
            // one more.
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        g.id = new_id;
        Ok(true)
    }

    fn release(&self, lease: Lease, deadline_ms: u64) -> Result<()> {
        match guard(lease)? {
            Guard::Read(g) => g.deadline_ms.store(deadline_ms, Ordering::Relaxed),
            Guard::Write(mut g) => {
                if g.state != State::Live {
                    return Ok(());
                }
                g.deadline_ms.store(deadline_ms, Ordering::Relaxed);
                let bucket = bucket_of(deadline_ms);
                if bucket < g.bucket {
                    // A shortened Timeout: register earlier; the later
                    // registration becomes stale and is skipped.
                    let key = self.key(&g.id);
                    self.shard(key).lock().register(key, bucket);
                    g.bucket = bucket;
                }
            }
        }
        Ok(())
    }

    fn remove(&self, lease: Lease) -> Result<Lease> {
        match guard(lease)? {
            Guard::Write(mut g) => {
                self.unlink(&mut g);
                Ok(Lease::in_place(Guard::Write(g)))
            }
            Guard::Read(_) => Err(Error::new(
                error::E_READONLY,
                "a session held read-only cannot be removed",
            )),
        }
    }

    /// Locks the entry the shared lease held, whatever ID it has now (a
    /// regenerate moves the entry itself): `NotFound` only once it is dead.
    fn upgrade(&self, shared: Lease, wait: Duration, now: &dyn Fn() -> u64) -> Result<Lookup> {
        let slot = match guard(shared)? {
            Guard::Read(g) => ArcRwLockReadGuard::rwlock(&g).clone(),
            held @ Guard::Write(_) => return Ok(Lookup::Found(Lease::in_place(held))),
        };
        let now_ms = now();
        let mut g = match slot.try_write_arc() {
            Some(g) => g,
            None => match self.wait_for(&slot, LockMode::Exclusive, wait)? {
                Guard::Write(g) => g,
                Guard::Read(_) => unreachable!("an exclusive wait gives a write lock"),
            },
        };
        if g.state != State::Live {
            return Ok(Lookup::NotFound);
        }
        if g.deadline_ms.load(Ordering::Relaxed) > now_ms {
            return Ok(Lookup::Found(Lease::in_place(Guard::Write(g))));
        }
        self.unlink(&mut g);
        Ok(Lookup::Expired(Lease::in_place(Guard::Write(g))))
    }

    fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>) -> Result<()> {
        while self.take_expired_batch(now_ms, CLAIMS_PER_LOCK, out)? {}
        Ok(())
    }

    /// Claims at most `max` due sessions, holding each shard's mutex for
    /// at most `CLAIMS_PER_LOCK` of them, so requests on other sessions
    /// of the shard wait for a few microseconds at most, whatever the
    /// backlog.
    fn take_expired_batch(&self, now_ms: u64, max: usize, out: &mut Vec<Lease>) -> Result<bool> {
        // The bucket `now_ms` itself would be registered under: the one
        // holding the deadlines of this second that passed already (each
        // entry's deadline is checked; the rest stay registered there).
        let now_s = bucket_of(now_ms);
        let max = max.max(1);
        let mut claimed = 0;
        let mut later = Vec::new();
        // Every shard once, from where the last batch stopped.
        let from = self.sweep_from.load(Ordering::Relaxed) % SHARDS;
        for i in (from..SHARDS).chain(0..from) {
            let shard = &self.shards[i];
            loop {
                let quota = (max - claimed).min(CLAIMS_PER_LOCK);
                let mut guard = shard.lock.lock();
                let (n, more) = self.claim_due(&mut guard, now_ms, now_s, quota, out, &mut later);
                // A request parked on this shard gets it now: with a plain
                // unlock the sweep, back a few microseconds later, would
                // take it again first, for up to parking_lot's 0.5 ms
                // fairness interval.
                MutexGuard::unlock_fair(guard);
                claimed += n;
                if claimed == max {
                    self.sweep_from.store(i, Ordering::Relaxed);
                    return Ok(true);
                }
                if !more {
                    break;
                }
            }
        }
        Ok(false)
    }
    fn drain(&self, out: &mut Vec<Lease>) {
        for shard in self.shards.iter() {
            let mut guard = shard.lock.lock();
            guard.wheel.clear();
            for (_, slot) in guard.map.drain() {
                self.count.fetch_sub(1, Ordering::Relaxed);
                if let Some(mut g) = slot.try_write_arc() {
                    g.state = State::Dead;
                    out.push(Lease::in_place(Guard::Write(g)));
                }
            }
            shard.hint.update(&guard.map);
        }
    }

    fn count(&self) -> Result<usize> {
        Ok(self.count.load(Ordering::Relaxed))
    }

    fn lock_waits(&self) -> u64 {
        self.lock_waits.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variant::Variant;

    const WAIT: Duration = Duration::from_millis(50);

    fn new_session(store: &MemoryStore, now: u64, deadline: u64) -> SessionId {
        let id = SessionId::generate().unwrap();
        let mut lease = store.prepare(id, SessionData::new(20, 1033, 65001), now);
        assert!(store.insert(&mut lease, 0, deadline, usize::MAX).unwrap());
        store.release(lease, deadline).unwrap();
        id
    }

    fn found(l: Lookup) -> Lease {
        match l {
            Lookup::Found(lease) => lease,
            _ => panic!("expected Found"),
        }
    }

    #[test]
    fn prepared_sessions_are_invisible_until_inserted() {
        let s = MemoryStore::new().unwrap();
        let id = SessionId::generate().unwrap();
        let mut lease = s.prepare(id, SessionData::new(20, 1033, 65001), 0);
        let j = &mut crate::state::Journal::default();
        let limits = crate::state::Limits {
            max_timeout_minutes: 60,
            max_items: 8,
            max_value_bytes: 64,
            max_key_bytes: 8,
            max_session_bytes: 1 << 20,
        };
        let data = lease.data_mut().unwrap();
        data.set_value("a", Variant::I4(1), &limits, j).unwrap();
        assert!(matches!(
            s.get(&id, LockMode::Shared, WAIT, 0).unwrap(),
            Lookup::NotFound
        ));
        assert!(s.insert(&mut lease, 0, 60_000, 10).unwrap());
        s.release(lease, 60_000).unwrap();
        let lease = found(s.get(&id, LockMode::Shared, WAIT, 1).unwrap());
        assert_eq!(lease.data().contents().get("A"), Some(&Variant::I4(1)));
        assert_eq!(s.count().unwrap(), 1);
    }

    #[test]
    fn exclusive_blocks_and_times_out_shared_coexist() {
        let s = MemoryStore::new().unwrap();
        let id = new_session(&s, 0, 60_000);
        let r1 = found(s.get(&id, LockMode::Shared, WAIT, 1).unwrap());
        let r2 = found(s.get(&id, LockMode::Shared, WAIT, 1).unwrap());
        let err = s.get(&id, LockMode::Exclusive, WAIT, 1).err().unwrap();
        assert_eq!(err.code(), error::E_LOCK_TIMEOUT);
        drop((r1, r2));
        let w = found(s.get(&id, LockMode::Exclusive, WAIT, 1).unwrap());
        assert_eq!(
            s.get(&id, LockMode::Shared, WAIT, 1).err().unwrap().code(),
            error::E_LOCK_TIMEOUT
        );
        drop(w);
    }

    /// A request waiting for a held session does not hold its shard: a
    /// session of the same shard opens meanwhile.
    #[test]
    fn a_waiter_leaves_its_shard_free() {
        let s = std::sync::Arc::new(MemoryStore::new().unwrap());
        let shard = |id: &SessionId| (s.key(id) >> 32) as usize & (SHARDS - 1);
        let held = new_session(&s, 0, 60_000);
        let other = std::iter::repeat_with(|| new_session(&s, 0, 60_000))
            .find(|id| shard(id) == shard(&held))
            .unwrap();
        let lease = found(s.get(&held, LockMode::Exclusive, WAIT, 1).unwrap());
        let waiter = {
            let s = s.clone();
            std::thread::spawn(move || {
                s.get(&held, LockMode::Exclusive, Duration::from_secs(60), 1)
                    .map(|l| matches!(l, Lookup::Found(_)))
            })
        };
        while s.lock_waits() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20)); // let it park
        let (tx, rx) = std::sync::mpsc::channel();
        let opener = {
            let s = s.clone();
            std::thread::spawn(move || {
                let opened = s.get(&other, LockMode::Exclusive, WAIT, 1);
                tx.send(opened.map(|l| matches!(l, Lookup::Found(_))))
            })
        };
        // Generous for a loaded machine; the waiter would hold the shard
        // for 60 s.
        let opened = rx.recv_timeout(Duration::from_secs(20));
        drop(lease);
        assert!(
            waiter.join().unwrap().unwrap(),
            "the waiter gets the session"
        );
        opener.join().unwrap().unwrap();
        assert!(opened
            .expect("the other session opened while one waited")
            .unwrap());
    }

    #[test]
    fn max_sessions_is_enforced() {
        let s = MemoryStore::new().unwrap();
        for _ in 0..2 {
            let mut l = s.prepare(
                SessionId::generate().unwrap(),
                SessionData::new(20, 1033, 65001),
                0,
            );
            assert!(s.insert(&mut l, 0, 1000, 2).unwrap());
        }
        let mut l = s.prepare(
            SessionId::generate().unwrap(),
            SessionData::new(20, 1033, 65001),
            0,
        );
        assert_eq!(
            s.insert(&mut l, 0, 1000, 2).unwrap_err().code(),
            error::E_TOO_MANY_SESSIONS
        );
        assert_eq!(s.count().unwrap(), 2);
    }

    /// A deadline that passed is due at once, not at the end of its
    /// second: `App::expire` ends every expired session, and a full store
    /// makes room with them.
    #[test]
    fn a_deadline_is_due_within_its_second() {
        let s = MemoryStore::new().unwrap();
        let a = new_session(&s, 0, 60_500);
        let b = new_session(&s, 0, 60_900);
        let mut out = Vec::new();
        s.take_expired(60_499, &mut out).unwrap();
        assert!(out.is_empty());
        s.take_expired(60_500, &mut out).unwrap();
        assert!(out.len() == 1 && out[0].id() == a, "due at 60.5 s");
        out.clear();
        s.take_expired(60_900, &mut out).unwrap();
        assert!(
            out.len() == 1 && out[0].id() == b,
            "kept registered, due at 60.9 s"
        );
        assert_eq!(s.count().unwrap(), 0);
    }

    #[test]
    fn expiry_visits_only_due_buckets_and_follows_touches() {
        let s = MemoryStore::new().unwrap();
        let a = new_session(&s, 0, 60_000);
        let b = new_session(&s, 0, 120_000);
        let mut out = Vec::new();
        s.take_expired(59_999, &mut out).unwrap();
        assert!(out.is_empty());
        // Touch `a` before it expires: its deadline moves to 150 s.
        let l = found(s.get(&a, LockMode::Exclusive, WAIT, 30_000).unwrap());
        s.release(l, 150_000).unwrap();
        s.take_expired(60_000, &mut out).unwrap();
        assert!(out.is_empty(), "a was touched");
        s.take_expired(120_000, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert!(out[0].id() == b);
        out.clear();
        s.take_expired(150_000, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert!(out[0].id() == a);
        assert_eq!(s.count().unwrap(), 0);
        assert!(s.shards.iter().all(|sh| sh.lock.lock().wheel.is_empty()));
    }

    /// A backlog is claimed in batches of at most `max`, each session once,
    /// with a session in use left for a later sweep.
    #[test]
    fn a_backlog_is_claimed_in_bounded_batches() {
        let s = MemoryStore::new().unwrap();
        // 3,000 sessions over 64 shards: about 47 a shard, in two buckets.
        let ids: Vec<_> = (0..3000)
            .map(|i| new_session(&s, 0, 60_000 + (i % 2) * 1000))
            .collect();
        let busy = found(s.get(&ids[7], LockMode::Shared, WAIT, 1).unwrap());
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut calls = 0;
        while s.take_expired_batch(61_000, 100, &mut out).unwrap() {
            assert_eq!(out.len(), 100, "a full batch");
            calls += 1;
            for l in out.drain(..) {
                assert!(seen.insert(l.id().as_bytes().to_vec()), "claimed twice");
            }
        }
        assert!(out.len() < 100);
        for l in out.drain(..) {
            assert!(seen.insert(l.id().as_bytes().to_vec()), "claimed twice");
        }
        assert_eq!((calls, seen.len()), (29, 2999), "all but the busy one");
        assert_eq!(s.count().unwrap(), 1);
        drop(busy);
        s.take_expired(62_000, &mut out).unwrap();
        assert!(out.len() == 1 && out[0].id() == ids[7]);
    }

    #[test]
    fn expired_session_found_by_lookup_is_handed_back_once() {
        let s = MemoryStore::new().unwrap();
        let a = new_session(&s, 0, 60_000);
        assert!(matches!(
            s.get(&a, LockMode::Shared, WAIT, 60_000).unwrap(),
            Lookup::NotFound
        ));
        assert!(matches!(
            s.get(&a, LockMode::Exclusive, WAIT, 60_000).unwrap(),
            Lookup::Expired(_)
        ));
        assert!(matches!(
            s.get(&a, LockMode::Exclusive, WAIT, 60_000).unwrap(),
            Lookup::NotFound
        ));
        let mut out = Vec::new();
        s.take_expired(61_000, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn busy_sessions_are_not_expired_and_shortened_timeouts_apply() {
        let s = MemoryStore::new().unwrap();
        let a = new_session(&s, 0, 600_000);
        let held = found(s.get(&a, LockMode::Exclusive, WAIT, 1_000).unwrap());
        let mut out = Vec::new();
        s.take_expired(700_000, &mut out).unwrap();
        assert!(out.is_empty(), "in use");
        s.release(held, 60_000).unwrap(); // shortened and already past
        s.take_expired(700_001, &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn regenerate_moves_the_session_and_kills_the_old_id() {
        let s = MemoryStore::new().unwrap();
        let old = new_session(&s, 0, 60_000);
        let mut l = found(s.get(&old, LockMode::Exclusive, WAIT, 1).unwrap());
        let fresh = SessionId::generate().unwrap();
        std::thread::scope(|sc| {
            // A request already waiting on the old session's lock...
            let waiter = sc.spawn(|| s.get(&old, LockMode::Exclusive, Duration::from_secs(5), 2));
            std::thread::sleep(Duration::from_millis(50));
            assert!(s.regenerate(&mut l, fresh, 60_000).unwrap());
            assert!(l.id() == fresh);
            s.release(l, 60_000).unwrap();
            // ...wakes to find it dead.
            assert!(matches!(waiter.join().unwrap().unwrap(), Lookup::NotFound));
        });
        assert!(matches!(
            s.get(&fresh, LockMode::Shared, WAIT, 3).unwrap(),
            Lookup::Found(_)
        ));
        assert_eq!(s.count().unwrap(), 1);
        // Expiry follows the moved session, not the dead one.
        let mut out = Vec::new();
        s.take_expired(60_000, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert!(out[0].id() == fresh);
    }

    #[test]
    fn a_clock_past_the_bucket_range_still_ends_sweeps() {
        let s = MemoryStore::new().unwrap();
        let far = u64::from(u32::MAX) * 1000 + 5_000;
        new_session(&s, far, far + 60_000);
        let mut out = Vec::new();
        s.take_expired(far + 1, &mut out).unwrap();
        assert!(out.is_empty());
        s.take_expired(far + 60_000, &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    /// A session held while the store drains (application end) is no
    /// longer counted; removing it later (Abandon) does not count it out
    /// twice.
    #[test]
    fn a_session_held_through_a_drain_is_counted_out_once() {
        let s = MemoryStore::new().unwrap();
        let a = new_session(&s, 0, 60_000);
        new_session(&s, 0, 60_000);
        let held = found(s.get(&a, LockMode::Exclusive, WAIT, 1).unwrap());
        let mut out = Vec::new();
        s.drain(&mut out);
        assert_eq!((out.len(), s.count().unwrap()), (1, 0));
        drop(s.remove(held).unwrap());
        assert_eq!(s.count().unwrap(), 0);
    }

    #[test]
    fn removed_sessions_are_gone() {
        let s = MemoryStore::new().unwrap();
        let a = new_session(&s, 0, 60_000);
        let l = found(s.get(&a, LockMode::Exclusive, WAIT, 1).unwrap());
        let l = s.remove(l).unwrap();
        assert!(l.id() == a);
        drop(l);
        assert!(matches!(
            s.get(&a, LockMode::Exclusive, WAIT, 2).unwrap(),
            Lookup::NotFound
        ));
        assert_eq!(s.count().unwrap(), 0);
        let mut out = Vec::new();
        s.take_expired(100_000, &mut out).unwrap();
        assert!(out.is_empty());
    }
}
