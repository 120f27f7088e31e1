//! The LMDB store's records and the provider contract over them.
//!
//! Per session, under its key hash (16 bytes), in `sessions`: one record,
//! its [`State`] (deadline and the deadline its expiry index entry is
//! under: two u64, little-endian, clock milliseconds) followed by its blob,
//! so a lookup is one B-tree search. Locks are not records: they are words
//! of the shared [`LockTable`], taken and freed without a transaction.
//!
//! `expiry`: deadline (u64 big-endian, so keys sort by deadline) ‖ key
//! hash → empty; the sweep reads only its due prefix. Each session has one
//! entry, at or before its deadline: sliding the deadline later leaves the
//! entry where it is (no index write per request), and a sweep that finds
//! an entry due whose session's deadline moved on re-files it there — as
//! the in-process store's expiry wheel does.
//!
//! A request cycle is therefore: take the lock (one compare-and-swap), read
//! the session (a read transaction), save it and slide its deadline (one
//! write transaction, serialised across processes; none if nothing
//! changed and the deadline moved by less than [`REFRESH_MS`]), free the
//! lock. A read-only cycle is one read transaction; its slide is queued
//! and written in a batch with others (`slides.rs`).

use std::cell::Cell;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use heed::{PutFlags, RoTxn, RwTxn, WithoutTls};

use super::env::{fail, Db, Room, Shared};
use super::locks::{LockTable, Take};
use super::slides::HORIZON_MS;
use crate::clock::Clock;
use crate::error::{self, Error, Result};
use crate::store::custom::{BlobBuf, BlobList, Provider, Status};
use crate::store::remote::KeyHash;
use crate::store::LockMode;

/// The head of a session's record.
#[derive(Clone, Copy)]
pub(super) struct State {
    pub(super) deadline: u64,
    /// The deadline of its expiry index entry (at most `deadline`).
    pub(super) indexed: u64,
}

impl State {
    /// Its length in bytes.
    pub(super) const LEN: usize = 16;

    /// The state at the head of a record (`E_STORE_CORRUPT` if too short).
    pub(super) fn parse(bytes: &[u8]) -> Result<State> {
        let bytes: &[u8; State::LEN] = bytes
            .get(..State::LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                Error::new(
                    error::E_STORE_CORRUPT,
                    "LMDB store: a session's record is damaged",
                )
            })?;
        let u = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        Ok(State {
            deadline: u(0),
            indexed: u(1),
        })
    }

    /// Its bytes, as at the head of a record.
    pub(super) fn bytes(&self) -> [u8; State::LEN] {
        let mut b = [0u8; State::LEN];
        b[..8].copy_from_slice(&self.deadline.to_le_bytes());
        b[8..].copy_from_slice(&self.indexed.to_le_bytes());
        b
    }
}

/// A request that changed nothing slides the expiry only if that moves it
/// by this much (a session's Timeout is a minute or more).
pub(super) const REFRESH_MS: u64 = 10_000;

/// The expiry index key of a session.
fn due_key(deadline: u64, h: &[u8; 16]) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..8].copy_from_slice(&deadline.to_be_bytes());
    k[8..].copy_from_slice(h);
    k
}

/// The deadline an expiry index key files its session under.
fn deadline_of(k: &[u8]) -> u64 {
    k.get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// What a thread's last read-only lookup saw: the session's stored
/// deadline at the store clock's `now_ms` (and when, on this machine's
/// monotonic clock), for the slide at the end of the request.
#[derive(Clone, Copy)]
struct Seen {
    app: u32,
    h: [u8; 16],
    deadline: u64,
    now_ms: u64,
    at: Instant,
}

thread_local! {
    static SEEN: Cell<Option<Seen>> = const { Cell::new(None) };
}

impl Seen {
    /// Remembers a read-only lookup of `h` by application `app`.
    fn remember(app: u32, h: &[u8; 16], deadline: u64, now_ms: u64) {
        let seen = Seen {
            app,
            h: *h,
            deadline,
            now_ms,
            at: Instant::now(),
        };
        SEEN.with(|s| s.set(Some(seen)));
    }

    /// What this thread's last lookup saw, if it was of `h` by `app`.
    fn take(app: u32, h: &[u8; 16]) -> Option<Seen> {
        SEEN.with(Cell::take).filter(|s| s.app == app && s.h == *h)
    }

    /// The store clock now, as of the lookup plus the time since.
    fn now_ms(&self) -> u64 {
        let since = u64::try_from(self.at.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.now_ms.saturating_add(since)
    }
}

/// Rewrites the record of `h` in `db` through the cursor that finds it:
/// one B-tree search, where a lookup and then a put take two. `edit` gets
/// the stored state and returns the new state and blob (`None`: the stored
/// blob, kept), or nothing to leave the record as it is. Returns the
/// stored state, if there is a record (`E_STORE_CORRUPT` if damaged). The
/// transaction's `room` grows by the record first (`env.rs`).
pub(super) fn rewrite<'b>(
    db: &Db,
    txn: &mut RwTxn,
    h: &[u8; 16],
    op: &str,
    room: &mut Room,
    edit: impl FnOnce(State) -> Option<(State, Option<&'b [u8]>)>,
) -> Result<Option<State>> {
    let mut at = db.prefix_iter_mut(txn, &h[..]).map_err(|e| fail(e, op))?;
    let Some(found) = at.next() else {
        return Ok(None);
    };
    let (_, bytes) = found.map_err(|e| fail(e, op))?;
    let st = State::parse(bytes)?;
    let Some((new, blob)) = edit(st) else {
        return Ok(Some(st));
    };
    let kept;
    let blob = match blob {
        Some(blob) => blob,
        None => {
            kept = bytes[State::LEN..].to_vec();
            &kept[..]
        }
    };
    room.record(State::LEN + blob.len())?;
    // SAFETY: `bytes` points into the page this put rewrites and is not
    // read after it (a kept blob was copied out first); the key is the
    // cursor's own. The cursor stands on the record, so LMDB finds it
    // there without searching the tree again.
    unsafe {
        at.put_current_reserved_with_flags(
            PutFlags::empty(),
            &h[..],
            State::LEN + blob.len(),
            |w| {
                w.write_all(&new.bytes())?;
                w.write_all(blob)
            },
        )
    }
    .map_err(|e| fail(e, op))?;
    Ok(Some(st))
}

fn hash(key: &str) -> Result<[u8; 16]> {
    KeyHash::parse(key.as_bytes())
        .map(|h| *h.as_bytes())
        .ok_or_else(|| Error::new(error::E_UNEXPECTED, "LMDB store: a malformed key"))
}

/// The provider contract over one LMDB environment and its lock table.
pub(super) struct LmdbProvider {
    shared: Shared,
    locks: LockTable,
    /// The store's clock (the application's): when a lock's lease ends.
    clock: Arc<dyn Clock>,
}

impl LmdbProvider {
    pub(super) fn new(shared: Shared, locks: LockTable, clock: Arc<dyn Clock>) -> LmdbProvider {
        LmdbProvider {
            shared,
            locks,
            clock,
        }
    }

    /// Whether `token` still holds the lock of `h` and may write: its lease
    /// has not ended (see [`LockTable::holds`]).
    fn holds(&self, h: &[u8; 16], token: u64) -> bool {
        self.locks.holds(h, token, self.clock.now_ms())
    }

    /// Runs `body` in a write transaction, committed if it succeeds.
    fn write<T>(&self, op: &str, body: impl FnOnce(&mut RwTxn) -> Result<T>) -> Result<T> {
        self.shared.check_process()?;
        let _turn = self.shared.writer();
        #[cfg(test)]
        tests::before_write_txn(&self.shared);
        let mut txn = self.shared.write_txn(op)?;
        // Only now, holding LMDB's writer lock: other processes' commits
        // while this one waited for it grew the file past what it saw
        // before (aborted if the disk has no room: nothing written).
        self.shared.reserve()?;
        let out = body(&mut txn).and_then(|out| {
            txn.commit().map_err(|e| fail(e, op))?;
            Ok(out)
        });
        if matches!(&out, Err(e) if e.code() == error::E_STORE_FULL) {
            // A process killed inside a read transaction pins the pages
            // of its snapshot: nothing freed since can be reused, and the
            // map fills. Its slot is freed here (not only by sweeps, which
            // a host may run seldom), so the next write finds the room.
            let _ = self.shared.clear_stale_readers();
        }
        out
    }

    /// Runs `body` in a read transaction.
    fn read<T>(
        &self,
        op: &str,
        body: impl FnOnce(&RoTxn<'_, WithoutTls>) -> Result<T>,
    ) -> Result<T> {
        let txn = self.shared.read_txn(op)?;
        body(&txn)
    }

    /// The record of `h`, if stored: its state and blob.
    fn record<'t>(
        &self,
        txn: &'t RoTxn<'_, WithoutTls>,
        h: &[u8; 16],
        op: &str,
    ) -> Result<Option<(State, &'t [u8])>> {
        match self.shared.sessions.get(txn, h).map_err(|e| fail(e, op))? {
            Some(b) => Ok(Some((State::parse(b)?, &b[State::LEN..]))),
            None => Ok(None),
        }
    }

    /// The state of `h`, if stored.
    fn state(&self, txn: &RoTxn<'_, WithoutTls>, h: &[u8; 16], op: &str) -> Result<Option<State>> {
        Ok(self.record(txn, h, op)?.map(|(st, _)| st))
    }

    /// Moves the expiry index entry of `h` from `indexed` to `deadline` if
    /// that is earlier (a later deadline is the sweep's business).
    fn refile(
        &self,
        txn: &mut RwTxn,
        h: &[u8; 16],
        indexed: u64,
        deadline: u64,
        op: &str,
    ) -> Result<()> {
        if deadline < indexed {
            self.move_due(txn, h, indexed, deadline, op)?;
        }
        Ok(())
    }

    /// Moves the expiry index entry of `h` from deadline `from` to `to`.
    fn move_due(&self, txn: &mut RwTxn, h: &[u8; 16], from: u64, to: u64, op: &str) -> Result<()> {
        let expiry = &self.shared.expiry;
        expiry
            .delete(txn, &due_key(from, h))
            .map_err(|e| fail(e, op))?;
        expiry
            .put(txn, &due_key(to, h), &[])
            .map_err(|e| fail(e, op))?;
        Ok(())
    }

    /// Deletes the session `h` (state `st`).
    fn delete(&self, txn: &mut RwTxn, h: &[u8; 16], st: &State, op: &str) -> Result<()> {
        let s = &self.shared;
        s.expiry
            .delete(txn, &due_key(st.indexed, h))
            .map_err(|e| fail(e, op))?;
        s.sessions.delete(txn, h).map_err(|e| fail(e, op))?;
        Ok(())
    }

    /// Takes the lock of `h` for `token` (breaking a stale one inside a
    /// write transaction): whether it was taken.
    fn lock(&self, h: &[u8; 16], token: u64, now_ms: u64, op: &str) -> Result<bool> {
        // Not in a forked child's inherited application: a process uses the
        // lock table only while it has the environment open (`locks.rs`).
        self.shared.check_process()?;
        match self.locks.take(h, token, now_ms) {
            Take::Taken => Ok(true),
            Take::Busy => Ok(false),
            Take::Stale(word) => {
                self.write(op, |_| Ok(self.locks.break_stale(h, word, token, now_ms)))
            }
        }
    }

    /// The session `h`, whose lock `token` has just taken: `Done` (blob in
    /// `out`), `NotFound`, or `Expired` (claimed: deleted, blob in `out`).
    fn read_locked(&self, h: &[u8; 16], now_ms: u64, out: &mut BlobBuf) -> Result<Status> {
        let mut read = || {
            self.read("acquire", |txn| {
                let Some((st, blob)) = self.record(txn, h, "acquire")? else {
                    return Ok(Some(Status::NotFound));
                };
                if st.deadline <= now_ms {
                    return Ok(None);
                }
                out.write(blob)?;
                Seen::remember(self.shared.app(), h, st.deadline, now_ms);
                Ok(Some(Status::Done))
            })
        };
        let mut live = read()?;
        if live.is_none() && self.flush_own()? {
            live = read()?; // its own queued slide, written
        }
        if let Some(status) = live {
            return Ok(status);
        }
        #[cfg(test)]
        tests::claiming(h);
        // Past its deadline: claimed here (its Session_OnEnd is the
        // caller's), unless a sweep claimed it first, or a read-only
        // request that read it alive slid it since (the lock does not stop
        // that): then it lives on, as a sweep would leave it.
        self.write("acquire", |txn| {
            let Some((st, blob)) = self.record(txn, h, "acquire")? else {
                return Ok(Status::NotFound);
            };
            out.write(blob)?;
            if st.deadline > now_ms {
                Seen::remember(self.shared.app(), h, st.deadline, now_ms);
                return Ok(Status::Done);
            }
            self.delete(txn, h, &st, "acquire")?;
            Ok(Status::Expired)
        })
    }

    /// Writes this process's queued slides, if any: whether there were
    /// (a session that looks expired may have slid: it must see its own
    /// queued slide).
    fn flush_own(&self) -> Result<bool> {
        if !self.shared.slides_queued() {
            return Ok(false);
        }
        self.shared.flush_slides()?;
        Ok(true)
    }

    /// Takes the lock of the new key `h` for `token` inside a write
    /// transaction (where breaking a stale one is safe): whether it did.
    fn take_inside(&self, h: &[u8; 16], token: u64, now_ms: u64) -> bool {
        match self.locks.take(h, token, now_ms) {
            Take::Taken => true,
            Take::Busy => false,
            Take::Stale(word) => self.locks.break_stale(h, word, token, now_ms),
        }
    }

    /// Stores a new session `h`: its record and its expiry index entry.
    fn put_new(
        &self,
        txn: &mut RwTxn,
        h: &[u8; 16],
        deadline_ms: u64,
        blob: &[u8],
        op: &str,
    ) -> Result<()> {
        let s = &self.shared;
        let st = State {
            deadline: deadline_ms,
            indexed: deadline_ms,
        };
        s.expiry
            .put(txn, &due_key(deadline_ms, h), &[])
            .map_err(|e| fail(e, op))?;
        s.sessions
            .put_reserved(txn, h, State::LEN + blob.len(), |w| {
                w.write_all(&st.bytes())?;
                w.write_all(blob)
            })
            .map_err(|e| fail(e, op))
    }

    /// Runs `body` on the session `h` in a write transaction if it exists
    /// (else `NotFound`) and `token` still holds its lock (else `Locked`). The lock is freed after, unless the transaction failed.
    fn owned(
        &self,
        op: &str,
        h: &[u8; 16],
        token: u64,
        body: impl FnOnce(&mut RwTxn, State) -> Result<()>,
    ) -> Result<Status> {
        let status = self.write(op, |txn| {
            let Some(st) = self.state(txn, h, op)? else {
                return Ok(Status::NotFound);
            };
            if !self.holds(h, token) {
                return Ok(Status::Locked);
            }
            body(txn, st)?;
            Ok(Status::Done)
        })?;
        self.locks.free(h, token);
        Ok(status)
    }

    /// Saves the session `h` if it exists (else `NotFound`) and `token`
    /// still holds its lock (else `Locked`): its deadline becomes
    /// `deadline_ms` and its blob `blob` (`None`: kept), in one search
    /// ([`rewrite`]). The lock is freed after, unless the transaction failed.
    fn save(
        &self,
        h: &[u8; 16],
        token: u64,
        deadline_ms: u64,
        blob: Option<&[u8]>,
    ) -> Result<Status> {
        let status = self.write("save", |txn| {
            let holds = self.holds(h, token);
            let slid = |st: State| State {
                deadline: deadline_ms,
                indexed: st.indexed.min(deadline_ms),
            };
            let edit = |st| holds.then(|| (slid(st), blob));
            let room = &mut self.shared.room();
            match rewrite(&self.shared.sessions, txn, h, "save", room, edit)? {
                None => Ok(Status::NotFound),
                Some(_) if !holds => Ok(Status::Locked),
                Some(st) => {
                    self.refile(txn, h, st.indexed, deadline_ms, "save")?;
                    Ok(Status::Done)
                }
            }
        })?;
        self.locks.free(h, token);
        Ok(status)
    }
}

impl Provider for LmdbProvider {
    fn get(
        &self,
        key: &str,
        mode: LockMode,
        token: u64,
        now_ms: u64,
        out: &mut BlobBuf,
    ) -> Result<Status> {
        let h = hash(key)?;
        if mode == LockMode::Shared {
            let mut flushed = false;
            loop {
                let found = self.read("read", |txn| {
                    let Some((st, blob)) = self.record(txn, &h, "read")? else {
                        return Ok(Some(Status::NotFound));
                    };
                    if st.deadline <= now_ms {
                        return Ok(None);
                    }
                    if self.locks.is_held(&h, now_ms) {
                        return Ok(Some(Status::Locked));
                    }
                    out.write(blob)?;
                    Seen::remember(self.shared.app(), &h, st.deadline, now_ms);
                    Ok(Some(Status::Done))
                })?;
                match found {
                    Some(status) => return Ok(status),
                    // Past its stored deadline: its own slide may be queued.
                    None if !flushed && self.flush_own()? => flushed = true,
                    None => return Ok(Status::NotFound),
                }
            }
        }
        if !self.lock(&h, token, now_ms, "acquire")? {
            return Ok(Status::Locked);
        }
        let status = self.read_locked(&h, now_ms, out);
        if !matches!(status, Ok(Status::Done)) {
            self.locks.free(&h, token);
        }
        status
    }

    /// `Exists` also when the new key's lock is held (by a session sharing
    /// its slot): the caller then tries another ID, as for a taken one.
    /// `max_sessions` is what this environment may hold (`parts.rs` gives
    /// it what the other parts leave).
    fn create(
        &self,
        key: &str,
        token: u64,
        now_ms: u64,
        deadline_ms: u64,
        max_sessions: u64,
        blob: &[u8],
    ) -> Result<Status> {
        let h = hash(key)?;
        let created = self.write("create", |txn| {
            let s = &self.shared;
            if self.state(txn, &h, "create")?.is_some() {
                return Ok(Status::Exists);
            }
            if s.sessions.len(txn).map_err(|e| fail(e, "create"))? >= max_sessions {
                return Err(Error::new(
                    error::E_TOO_MANY_SESSIONS,
                    "the LMDB store holds max_sessions sessions already",
                ));
            }
            s.room().record(State::LEN + blob.len())?;
            if !self.take_inside(&h, token, now_ms) {
                return Ok(Status::Exists);
            }
            self.put_new(txn, &h, deadline_ms, blob, "create")?;
            Ok(Status::Done)
        });
        if created.is_err() {
            self.locks.free(&h, token); // nothing was stored
        }
        created
    }

    fn set_and_release(
        &self,
        key: &str,
        token: u64,
        deadline_ms: u64,
        blob: Option<&[u8]>,
    ) -> Result<Status> {
        let h = hash(key)?;
        // Not in a forked child: the lock is its parent's (see `release`).
        self.shared.check_process()?;
        if blob.is_none() {
            // Unchanged: no write unless the deadline moves far enough; a
            // far slide right after this thread read the session (its
            // stored deadline is still the one read: the lock was held
            // since) is queued like a read-only request's.
            let seen = Seen::take(self.shared.app(), &h);
            let stored = match seen {
                Some(seen) => Some(seen.deadline),
                None => self.read("save", |txn| {
                    Ok(self.state(txn, &h, "save")?.map(|st| st.deadline))
                })?,
            };
            let done = match stored {
                None => Some(Status::NotFound),
                Some(_) if !self.holds(&h, token) => Some(Status::Locked),
                Some(d) if deadline_ms < d => None, // shortened: written below
                Some(d) if deadline_ms - d < REFRESH_MS => Some(Status::Done),
                Some(d) if seen.is_some_and(|s| d >= s.now_ms().saturating_add(HORIZON_MS)) => self
                    .shared
                    .queue_slide(&h, d, deadline_ms)?
                    .then_some(Status::Done),
                Some(_) => None, // slid far: written below
            };
            if let Some(status) = done {
                self.locks.free(&h, token);
                return Ok(status);
            }
        }
        self.save(&h, token, deadline_ms, blob)
    }

    fn pause(&self, key: &str, pause: Duration) {
        match hash(key) {
            Ok(h) => self.locks.wait_free(&h, pause),
            Err(_) => std::thread::sleep(pause),
        }
    }

    /// `E_STORE_UNAVAILABLE` in a forked child, freeing nothing: the
    /// locks its inherited requests hold are its parent's, still in use.
    fn release(&self, key: &str, token: u64) -> Result<Status> {
        let h = hash(key)?;
        self.shared.check_process()?;
        let held = self.holds(&h, token);
        self.locks.free(&h, token);
        Ok(if held { Status::Done } else { Status::Locked })
    }

    fn remove(&self, key: &str, token: u64) -> Result<Status> {
        let h = hash(key)?;
        self.owned("remove", &h, token, |txn, st| {
            self.delete(txn, &h, &st, "remove")
        })
    }

    /// Keys whose sessions do not share a lock: a session moves to such a
    /// key in one transaction.
    fn same_place(&self, a: &str, b: &str) -> bool {
        matches!((hash(a), hash(b)), (Ok(a), Ok(b)) if !LockTable::share_a_lock(&a, &b))
    }

    /// In one write transaction: readers and every other process see the
    /// session under one key or the other, never both, and a crash leaves
    /// it under one of them.
    fn rename(
        &self,
        old: &str,
        new: &str,
        token: u64,
        now_ms: u64,
        deadline_ms: u64,
        blob: &[u8],
    ) -> Result<Status> {
        let (h, nh) = (hash(old)?, hash(new)?);
        if LockTable::share_a_lock(&h, &nh) {
            return Ok(Status::Exists); // `same_place` says no to it
        }
        let mut took = false;
        let status = self.write("regenerate", |txn| {
            let Some(st) = self.state(txn, &h, "regenerate")? else {
                return Ok(Status::NotFound);
            };
            if !self.holds(&h, token) {
                return Ok(Status::Locked);
            }
            if self.state(txn, &nh, "regenerate")?.is_some() {
                return Ok(Status::Exists);
            }
            self.shared.room().record(State::LEN + blob.len())?;
            took = self.take_inside(&nh, token, now_ms);
            if !took {
                return Ok(Status::Exists); // its lock slot is in use
            }
            self.delete(txn, &h, &st, "regenerate")?;
            self.put_new(txn, &nh, deadline_ms, blob, "regenerate")?;
            Ok(Status::Done)
        });
        match status {
            // Moved, or the old session lost: its lock is not the caller's
            // any more (as after `remove`).
            Ok(Status::Done | Status::NotFound | Status::Locked) => self.locks.free(&h, token),
            Err(_) if took => self.locks.free(&nh, token), // nothing stored
            _ => {}
        }
        status
    }

    /// Slides the expiry only if that moves it by `REFRESH_MS` or more, so
    /// read-mostly sessions are not rewritten on every request. Right after
    /// this thread read the session, the slide is queued for the next batch
    /// (see `slides.rs`) if the stored deadline is far enough; otherwise
    /// it is written in a transaction of its own. Either way only over the
    /// deadline the request read (otherwise read now): a writer that saved
    /// since (a shorter Timeout, say) set the deadline itself, and a slide
    /// computed from the stale read must not undo it.
    fn reset_timeout(&self, key: &str, deadline_ms: u64) -> Result<Status> {
        let h = hash(key)?;
        self.shared.check_process()?;
        let seen = Seen::take(self.shared.app(), &h);
        let read = match seen {
            Some(seen) => seen.deadline,
            None => match self.read("read", |txn| self.state(txn, &h, "read"))? {
                Some(st) => st.deadline,
                None => return Ok(Status::NotFound),
            },
        };
        if deadline_ms < read.saturating_add(REFRESH_MS) {
            return Ok(Status::Done);
        }
        if seen.is_some_and(|s| read >= s.now_ms().saturating_add(HORIZON_MS))
            && self.shared.queue_slide(&h, read, deadline_ms)?
        {
            return Ok(Status::Done);
        }
        self.write("reset_timeout", |txn| {
            let slid = |st: State| {
                let slid = State {
                    deadline: deadline_ms,
                    ..st
                };
                (st.deadline == read).then_some((slid, None))
            };
            let room = &mut self.shared.room();
            Ok(
                match rewrite(&self.shared.sessions, txn, &h, "reset_timeout", room, slid)? {
                    Some(_) => Status::Done,
                    None => Status::NotFound,
                },
            )
        })
    }

    /// Claims what is due and not locked, in deadline order, until `out`
    /// is full: each one's lock taken inside the transaction (skipped if a
    /// live lock holds it) and freed after the commit. A session `out`
    /// refuses as too large (stored under larger limits: no sweep of this
    /// application could ever hand it out) is removed without
    /// Session_OnEnd, as damaged records are, rather than left to stop
    /// every sweep at it; the sweep then claims the rest and reports them
    /// (`E_SESSION_TOO_LARGE`). In a full map (or on a full disk) it goes
    /// on in smaller transactions; what it hands out is what committed.
    fn claim_expired(&self, now_ms: u64, max: usize, out: &mut BlobList) -> Result<()> {
        let s = &self.shared;
        // Only the due prefix of the index: deadlines at or before now.
        let end = due_key(now_ms, &[0xFF; 16]);
        let due = |txn: &RoTxn<'_, WithoutTls>, limit: usize| -> Result<Vec<Vec<u8>>> {
            let mut due = Vec::new();
            for entry in s.expiry.iter(txn).map_err(|e| fail(e, "sweep"))? {
                let (k, _) = entry.map_err(|e| fail(e, "sweep"))?;
                if k > &end[..] || due.len() >= limit {
                    break;
                }
                due.push(k.to_vec());
            }
            Ok(due)
        };
        s.check_process()?;
        s.check_file()?;
        // This process's queued slides first: none of them is due. A flush
        // that fails (no room on the disk or in the map) loses its slides,
        // whose sessions keep deadlines still ahead (`slides.rs`); it must
        // not stop the sweep, which is what frees room.
        let _ = s.flush_slides();
        s.clear_stale_readers()?;
        // Nothing due (the usual case): no write transaction at all.
        if self.read("sweep", |txn| due(txn, 1))?.is_empty() {
            return Ok(());
        }
        // Sessions too large for `out` (stored under larger limits): ended
        // without Session_OnEnd, reported once the rest are claimed.
        let mut too_large = 0u64;
        // How many entries one transaction may change: no bound (but
        // `max`) until a transaction finds the map (or the disk) full.
        // Deleting needs pages too (LMDB copies each leaf it changes, and
        // reuses a page only two commits after it was freed), more for a
        // batch than a full map has free, and a failed transaction frees
        // nothing: a sweep that retried the whole batch would fail every
        // time, with every expired session kept and no room ever freed.
        // So it halves the batch until one commits, and goes on at that
        // size (each commit's freed pages serving the ones after).
        let mut limit: Option<usize> = None;
        loop {
            let mut too_large_now = 0u64;
            let mut changes = 0usize;
            // Whether the map's room ended the transaction's claims.
            let mut full = false;
            // The locks of the sessions claimed: freed once the transaction
            // has committed (or aborted), when this is dropped.
            let mut locks = self.locks.sweep(now_ms);
            let before = out.len();
            let swept = self.write("sweep", |txn| {
                let mut room = s.sweep_room();
                for k in due(txn, max.saturating_mul(4).max(64))? {
                    if out.len() >= max || limit.is_some_and(|l| changes >= l) {
                        break;
                    }
                    // Past the first change, only while the map would keep the
                    // room of a one-claim commit for the next transaction (the
                    // first change has it: every commit before left it): the
                    // rest are for the next transaction.
                    if changes > 0 && !room.claim_fits(0) {
                        full = true;
                        break;
                    }
                    // Undone below if it writes nothing.
                    changes += 1;
                    room.claim()?;
                    let Ok(h) = <[u8; 16]>::try_from(&k[8.min(k.len())..]) else {
                        // A malformed entry is no session's.
                        s.expiry.delete(txn, &k).map_err(|e| fail(e, "sweep"))?;
                        continue;
                    };
                    let st = match self.state(txn, &h, "sweep") {
                        Ok(Some(st)) => st,
                        // An index entry without its session, or a damaged
                        // state record: the session is unreadable, so it ends
                        // without Session_OnEnd; dropped so sweeps go on.
                        Ok(None) | Err(_) => {
                            s.expiry.delete(txn, &k).map_err(|e| fail(e, "sweep"))?;
                            s.sessions.delete(txn, &h).map_err(|e| fail(e, "sweep"))?;
                            continue;
                        }
                    };
                    if st.indexed != deadline_of(&k) {
                        // Not the session's entry (a stray): dropped.
                        s.expiry.delete(txn, &k).map_err(|e| fail(e, "sweep"))?;
                        continue;
                    }
                    if st.deadline > now_ms {
                        // Slid on since it was filed: filed at its deadline
                        // (its entry is `k`), if the map has the room for its
                        // record's copy (else left for a later sweep: it is
                        // not due, and the claims must not wait for it).
                        let len = self.record(txn, &h, "sweep")?.map_or(0, |(_, b)| b.len());
                        if !room.claim_fits(State::LEN + len) {
                            changes -= 1; // nothing written
                            continue;
                        }
                        self.move_due(txn, &h, st.indexed, st.deadline, "sweep")?;
                        let filed = State {
                            indexed: st.deadline,
                            ..st
                        };
                        rewrite(&s.sessions, txn, &h, "sweep", &mut room, |_| {
                            Some((filed, None))
                        })?;
                        continue;
                    }
                    // Its lock, taken as a request takes it, inside this
                    // transaction: a request that took it first (its clock may
                    // be behind this sweep's, the session alive for it) holds
                    // the session, and one that comes after waits for the
                    // commit, then finds it gone; never a claim under a live
                    // lock (a check of the lock alone would let a request take
                    // it after, and read the session from before the claim).
                    if !locks.take(&h) {
                        changes -= 1; // nothing written
                        continue; // in use: its holder saves or ends it
                    }
                    #[cfg(test)]
                    tests::claiming(&h);
                    let blob = self.record(txn, &h, "sweep")?.map_or(&[][..], |(_, b)| b);
                    match out.add(blob) {
                        Ok(()) => {}
                        // Larger than this application's sessions can be: no
                        // sweep could ever hand it out, and as the first due it
                        // would stop every later one here. Dropped, as a damaged
                        // record is: ended without Session_OnEnd.
                        Err(e) if e.code() == error::E_VALUE_TOO_LARGE => too_large_now += 1,
                        // The list is full (or no memory): it stays, for the
                        // next call.
                        Err(_) => {
                            changes -= 1; // nothing written
                            break;
                        }
                    }
                    self.delete(txn, &h, &st, "sweep")?;
                }
                Ok(())
            });
            drop(locks); // committed, or aborted (`swept` is an error)
            match swept {
                Ok(()) => {
                    too_large += too_large_now;
                    // In smaller transactions: on while they fill up.
                    if (full || limit.is_some_and(|l| changes >= l)) && out.len() < max {
                        continue;
                    }
                    break;
                }
                Err(e) => {
                    // Aborted: those sessions stay, and get no
                    // Session_OnEnd (those of the transactions before
                    // stay claimed, in `out`).
                    out.truncate(before);
                    let half = limit.unwrap_or(max) / 2;
                    if e.code() != error::E_STORE_FULL || half == 0 {
                        return Err(e);
                    }
                    limit = Some(half);
                }
            }
        }
        // Sweeps are where a non-durable store reaches the disk.
        s.sync()?;
        if too_large > 0 {
            return Err(Error::new(
                error::E_SESSION_TOO_LARGE,
                format!(
                    "LMDB store: {too_large} expired session(s) larger than this \
                     application's limits allow (stored under larger \
                     max_session_bytes, max_items, max_value_bytes or max_key_bytes) \
                     were removed without Session_OnEnd"
                ),
            ));
        }
        Ok(())
    }

    fn count(&self) -> Result<u64> {
        self.read("count", |txn| {
            self.shared.sessions.len(txn).map_err(|e| fail(e, "count"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lmdb::parts::SINGLE;
    use crate::store::lmdb::LmdbOptions;

    /// The clock of the providers under test: at 0, before every lease
    /// the tests' locks take ends (their times are passed explicitly).
    fn test_clock() -> Arc<dyn Clock> {
        Arc::new(crate::clock::ManualClock::new(0))
    }

    /// A test's own empty store directory, removed when dropped.
    struct UnitDir(std::path::PathBuf);

    impl UnitDir {
        fn new(what: &str) -> UnitDir {
            let dir = std::env::temp_dir()
                .join(format!("libsess-lmdb-unit-{what}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            UnitDir(dir)
        }
    }

    impl std::ops::Deref for UnitDir {
        type Target = std::path::Path;
        fn deref(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for UnitDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn provider(what: &str) -> (LmdbProvider, UnitDir) {
        let dir = UnitDir::new(what);
        let shared = Shared::open(&LmdbOptions::new(&*dir), SINGLE, 1 << 20).unwrap();
        let locks = LockTable::open(&dir, 1000).unwrap();
        (LmdbProvider::new(shared, locks, test_clock()), dir)
    }

    fn key(i: u8) -> String {
        KeyHash::from_bytes([i; 16]).hex()
    }

    /// What a sweep's test hook does with a session it is about to claim.
    type Claiming = Box<dyn FnMut(&[u8; 16])>;

    thread_local! {
        static CLAIMING: std::cell::RefCell<Option<Claiming>> =
            const { std::cell::RefCell::new(None) };
    }

    /// Called by this thread's sweep with each session it is about to
    /// claim (its lock decided, the session not yet read or deleted), and
    /// by its request that found the session it locked expired, before it
    /// claims it.
    pub(super) fn claiming(h: &[u8; 16]) {
        CLAIMING.with(|c| {
            if let Some(hook) = c.borrow_mut().as_mut() {
                hook(h);
            }
        });
    }

    /// What runs just before a write transaction of this thread begins.
    type BeforeWrite = Box<dyn FnOnce(&Shared)>;

    thread_local! {
        static BEFORE_WRITE: std::cell::RefCell<Option<BeforeWrite>> =
            const { std::cell::RefCell::new(None) };
    }

    /// Called by [`LmdbProvider::write`] just before it begins its write
    /// transaction (where it may wait for other processes' writers).
    pub(super) fn before_write_txn(shared: &Shared) {
        if let Some(f) = BEFORE_WRITE.with(|b| b.borrow_mut().take()) {
            f(shared);
        }
    }

    #[test]
    fn a_write_reserves_for_the_file_as_it_is_when_its_transaction_begins() {
        let (p, _dir) = provider("reserve-late");
        // Other processes, which reserved the same room ahead (their view
        // of the file as old as this one's), commit while this process
        // waits for LMDB's writer lock: the file grows to just short of
        // what was reserved.
        BEFORE_WRITE.with(|b| {
            *b.borrow_mut() = Some(Box::new(|s: &Shared| {
                let record = vec![7u8; 256 << 10];
                for i in 0u32.. {
                    let (used, reserved) = s.space();
                    if used + (768 << 10) >= reserved {
                        break;
                    }
                    let mut txn = s.write_txn("test").unwrap();
                    let mut k = [0x5Au8; 16];
                    k[..4].copy_from_slice(&i.to_le_bytes());
                    s.sessions.put(&mut txn, &k, &record).unwrap();
                    txn.commit().unwrap();
                }
            }))
        });
        // This one's session (1 MiB: the most `provider` allows) goes past
        // it: its pages must have their disk blocks too.
        let blob = vec![9u8; 1 << 20];
        assert_eq!(
            p.create(&key(1), 1, 0, 60_000, u64::MAX, &blob).unwrap(),
            Status::Done
        );
        assert!(
            BEFORE_WRITE.with(|b| b.borrow().is_none()),
            "the others ran"
        );
        let (used, reserved) = p.shared.space();
        assert!(used <= reserved, "used {used} bytes, reserved {reserved}");
    }

    /// Runs `f` with `hook` called by this thread's sweeps at each claim.
    fn with_claiming<T>(hook: impl FnMut(&[u8; 16]) + 'static, f: impl FnOnce() -> T) -> T {
        CLAIMING.with(|c| *c.borrow_mut() = Some(Box::new(hook)));
        let out = f();
        CLAIMING.with(|c| *c.borrow_mut() = None);
        out
    }

    #[test]
    fn a_sweeper_killed_inside_its_transaction_holds_no_lock_for_a_lock_ttl() {
        let (p, dir) = provider("killed-sweeper");
        drop(p);
        // The application's lock_ttl is the default 120 s.
        let p = application(&dir, "", 120_000);
        for i in 1..=2u8 {
            assert_eq!(
                p.create(&key(i), 1, 0, 10_000, 10, &[i]).unwrap(),
                Status::Done
            );
            assert_eq!(p.release(&key(i), 1).unwrap(), Status::Done);
        }
        // A sweep at 20 s takes both sessions' locks inside its write
        // transaction, and its process is killed there: the transaction
        // never commits (LMDB drops it) and the locks are never freed, as
        // `leave_held` leaves them in the shared table.
        let mut locks = p.locks.sweep(20_000);
        {
            let _txn = p.shared.write_txn("test").unwrap();
            assert!(locks.take(&[1; 16]) && locks.take(&[2; 16]));
        }
        locks.leave_held();
        // A few seconds on (nowhere near 120 s), a request for one finds
        // it expired and claims it (its Session_OnEnd is the caller's),
        // rather than waiting for the dead sweeper's lock until it gives
        // up (E_LOCK_TIMEOUT); the next sweep claims the other.
        let mut out = BlobBuf::new(64);
        assert_eq!(
            p.get(&key(1), LockMode::Exclusive, 3, 30_000, &mut out)
                .unwrap(),
            Status::Expired
        );
        let mut list = BlobList::new(64, 10);
        p.claim_expired(30_000, 10, &mut list).unwrap();
        assert_eq!((list.len(), p.count().unwrap()), (1, 0));
    }

    #[test]
    fn a_full_maps_sweep_goes_on_in_smaller_transactions() {
        let (p, _dir) = small_map("full-sweep", 1 << 20, 4096);
        // Sessions until the map is full.
        let (stored, full) = fill(&p, 0, 0, 400);
        let stored = u64::from(stored);
        assert_eq!(full.code(), error::E_STORE_FULL, "{full}");
        assert!(stored > 500, "{stored}");
        // Every one has expired: sweeps end them all (the first claiming
        // a whole batch), which frees the map for new sessions.
        let mut ended = 0;
        for _ in 0..stored {
            let mut list = BlobList::new(1024, 64);
            p.claim_expired(120_000, 64, &mut list).unwrap();
            if list.is_empty() {
                break;
            }
            assert!(ended > 0 || list.len() == 64, "{}", list.len());
            ended += list.len() as u64;
        }
        assert_eq!((ended, p.count().unwrap()), (stored, 0));
        assert_eq!(
            p.create(
                &spread_key(u32::MAX),
                1,
                120_000,
                180_000,
                u64::MAX,
                &[7; 400]
            )
            .unwrap(),
            Status::Done
        );
    }

    /// A provider on a new single-part directory with a map of `map_size`
    /// bytes, for sessions of up to `max_session` bytes.
    fn small_map(what: &str, map_size: usize, max_session: usize) -> (LmdbProvider, UnitDir) {
        let dir = UnitDir::new(what);
        let opts = LmdbOptions {
            map_size,
            ..LmdbOptions::new(&*dir)
        };
        let shared = Shared::open(&opts, SINGLE, max_session).unwrap();
        let locks = LockTable::open(&dir, 1000).unwrap();
        (LmdbProvider::new(shared, locks, test_clock()), dir)
    }

    /// Creates sessions of `value` bytes at `now_ms` (for 60 s), keys `from`…
    /// (spread as hashes spread them), until the map is full: how many
    /// were stored, and the error that stopped them.
    fn fill(p: &LmdbProvider, from: u32, now_ms: u64, value: usize) -> (u32, Error) {
        let blob = vec![7u8; value];
        let mut i = from;
        loop {
            let key = spread_key(i);
            match p.create(&key, 1, now_ms, now_ms + 60_000, u64::MAX, &blob) {
                Ok(Status::Done) => {}
                Ok(other) => panic!("{other:?}"),
                Err(e) => return (i - from, e),
            }
            assert_eq!(p.release(&key, 1).unwrap(), Status::Done);
            i += 1;
        }
    }

    /// Key `i`, spread over the B-tree as key hashes are.
    fn spread_key(i: u32) -> String {
        let mut h = [0u8; 16];
        let x = u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h[..8].copy_from_slice(&x.to_le_bytes());
        h[8..].copy_from_slice(&x.rotate_left(29).to_le_bytes());
        KeyHash::from_bytes(h).hex()
    }

    /// Sweeps at `now_ms` in batches of `batch` until nothing is due: how
    /// many sessions were handed out (each once), or the first failure.
    fn sweep_all(p: &LmdbProvider, now_ms: u64, batch: usize) -> Result<u64> {
        let mut ended = 0;
        loop {
            let mut list = BlobList::new(64 << 10, batch);
            p.claim_expired(now_ms, batch, &mut list)?;
            if list.is_empty() {
                return Ok(ended);
            }
            ended += list.len() as u64;
        }
    }

    /// A map filled to `E_STORE_FULL`, by sessions of any size, never
    /// jams: one is still removed; once the rest expire, sweeps (in
    /// batches of any size) end every one of them exactly once and new
    /// sessions are taken again, round after round; the file then passes
    /// the opening check. (A write that took the map's last free pages
    /// left every sweep failing for good: LMDB reuses a page freed by a
    /// commit only two commits later.)
    #[test]
    fn a_full_map_never_jams_its_sweeps_or_new_sessions() {
        let mut jammed = Vec::new();
        let mut runs = 0;
        let maps = [
            (1 << 20, &[100, 400, 1500, 3000, 5000, 20_000][..]),
            (4 << 20, &[400, 1500, 20_000]),
        ];
        for (map_size, values) in maps {
            for &value in values {
                for batch in [1, 7, 64] {
                    runs += 1;
                    let (p, dir) = small_map("jam", map_size, 64 << 10);
                    // Keys used so far; sessions of the round before still due.
                    let (mut next, mut left) = (0, 0);
                    for round in 0..3u64 {
                        let now = round * 120_000;
                        let what = format!(
                            "{map_size} B map, {value} B values, batches of {batch}, round {round}"
                        );
                        let (stored, full) = fill(&p, next, now, value);
                        assert_eq!(full.code(), error::E_STORE_FULL, "{what}: {full}");
                        // One is abandoned, in the full map.
                        let first = spread_key(next);
                        next += stored;
                        let mut out = BlobBuf::new(64 << 10);
                        let removed = match p.get(&first, LockMode::Exclusive, 2, now, &mut out) {
                            Ok(Status::Done) => p.remove(&first, 2),
                            other => other,
                        };
                        let jam = match sweep_all(&p, now + 60_001, batch) {
                            _ if stored == 0 => Some("no session fitted".to_owned()),
                            _ if !matches!(removed, Ok(Status::Done)) => {
                                Some(format!("abandoning one: {removed:?}"))
                            }
                            Ok(ended) if ended + 1 == u64::from(stored) + left => None,
                            Ok(ended) => Some(format!("{ended} of {stored} - 1 + {left} ended")),
                            Err(e) => Some(format!("the sweep failed: {e}")),
                        };
                        // A new session, due at the next round's sweep.
                        let key = spread_key(u32::MAX - round as u32);
                        let new =
                            p.create(&key, 1, now + 60_001, now + 120_000, u64::MAX, &[1; 100]);
                        let jam = jam.or_else(|| match new {
                            Ok(Status::Done) => None,
                            other => Some(format!("then a new session: {other:?}")),
                        });
                        if let Some(jam) = jam {
                            jammed.push(format!("{what}: {jam}"));
                            break;
                        }
                        left = 1;
                        let _ = p.release(&key, 1);
                    }
                    drop(p);
                    crate::store::lmdb::verify::data_file(&dir).unwrap();
                }
            }
        }
        assert!(
            jammed.is_empty(),
            "{} of {runs} runs jammed:\n{}",
            jammed.len(),
            jammed.join("\n")
        );
    }

    #[test]
    fn an_expired_session_whose_lock_is_held_is_not_claimed() {
        let (p, _dir) = provider("held-expired");
        assert_eq!(
            p.create(&key(1), 1, 0, 10_000, 10, b"a").unwrap(),
            Status::Done
        );
        assert_eq!(p.release(&key(1), 1).unwrap(), Status::Done);
        // A request whose clock read just before the deadline holds it.
        let mut out = BlobBuf::new(64);
        assert_eq!(
            p.get(&key(1), LockMode::Exclusive, 2, 9_999, &mut out)
                .unwrap(),
            Status::Done
        );
        // A sweep whose clock is past the deadline leaves it to its holder.
        let mut list = BlobList::new(64, 10);
        p.claim_expired(10_000, 10, &mut list).unwrap();
        assert!(list.is_empty());
        assert_eq!(
            p.set_and_release(&key(1), 2, 70_000, Some(b"saved"))
                .unwrap(),
            Status::Done
        );
    }

    #[test]
    fn a_sweep_never_claims_a_session_locked_while_it_decides() {
        let (p, _dir) = provider("sweep-race");
        let p = std::sync::Arc::new(p);
        assert_eq!(
            p.create(&key(1), 1, 0, 10_000, 10, b"a").unwrap(),
            Status::Done
        );
        assert_eq!(p.release(&key(1), 1).unwrap(), Status::Done);
        // A request whose clock read 9_999 (the session is alive for it)
        // takes the lock and reads the session while the sweep (its clock
        // at 10_000) is inside its write transaction, between deciding to
        // claim the session and claiming it.
        let got = std::sync::Arc::new(std::sync::Mutex::new(None));
        let (hp, hgot) = (p.clone(), got.clone());
        let hook = move |h: &[u8; 16]| {
            if *h != [1; 16] {
                return;
            }
            let hp = hp.clone();
            let status = std::thread::spawn(move || {
                let mut out = BlobBuf::new(64);
                hp.get(&key(1), LockMode::Exclusive, 2, 9_999, &mut out)
                    .unwrap()
            })
            .join()
            .unwrap();
            *hgot.lock().unwrap() = Some(status);
        };
        let mut list = BlobList::new(64, 10);
        with_claiming(hook, || p.claim_expired(10_000, 10, &mut list)).unwrap();
        let request = got.lock().unwrap().take();
        match request {
            // The request holds the session: the sweep must leave it (the
            // provider contract: only sessions not locked are claimed), and
            // the request's save goes through.
            Some(Status::Done) => {
                assert_eq!(list.len(), 0, "claimed under a live lock");
                assert_eq!(
                    p.set_and_release(&key(1), 2, 70_000, Some(b"saved"))
                        .unwrap(),
                    Status::Done
                );
            }
            // The sweep held the lock: the request waited, and then finds
            // the session ended (it was past its deadline: acceptable).
            Some(Status::Locked) => {
                assert_eq!(list.len(), 1);
                let mut out = BlobBuf::new(64);
                assert_eq!(
                    p.get(&key(1), LockMode::Exclusive, 2, 9_999, &mut out)
                        .unwrap(),
                    Status::NotFound
                );
            }
            other => panic!("the request got {other:?}"),
        }
    }

    #[test]
    fn an_expired_session_slid_before_its_claim_lives_on() {
        let (p, _dir) = provider("slid-claim");
        let p = std::sync::Arc::new(p);
        assert_eq!(
            p.create(&key(1), 1, 0, 10_000, 10, b"a").unwrap(),
            Status::Done
        );
        assert_eq!(p.release(&key(1), 1).unwrap(), Status::Done);
        // A request at 10_000 locks the session and finds it expired; a
        // read-only request that read it alive (before 10_000, its slide
        // then written at once) slides it to 70_000 before the claim.
        let hp = p.clone();
        let hook = move |h: &[u8; 16]| {
            if *h == [1; 16] {
                let hp = hp.clone();
                let slid = std::thread::spawn(move || hp.reset_timeout(&key(1), 70_000));
                assert_eq!(slid.join().unwrap().unwrap(), Status::Done);
            }
        };
        let mut out = BlobBuf::new(64);
        let got = with_claiming(hook, || {
            p.get(&key(1), LockMode::Exclusive, 2, 10_000, &mut out)
        });
        assert_eq!(got.unwrap(), Status::Done, "ended after it slid");
        assert_eq!(out.as_bytes(), b"a");
        assert_eq!(
            p.set_and_release(&key(1), 2, 70_000, Some(b"saved"))
                .unwrap(),
            Status::Done
        );
    }

    #[test]
    fn a_sweep_whose_transaction_fails_hands_out_only_what_it_claimed() {
        let (p, _dir) = provider("sweep-full");
        // More due sessions than the disk room reserved ahead covers: the
        // sweep reserves more as it goes, and the disk is full.
        let n = 700;
        store_raw(&p, n, 8, 1000, 1000);
        let mut list = BlobList::new(64, usize::from(n));
        let full = |_: &std::path::Path, _, _| Some(libc::ENOSPC);
        let swept = crate::store::lmdb::space::tests::with_hook(full, || {
            p.claim_expired(2000, usize::from(n), &mut list)
        });
        // The whole batch's transaction failed: it went on in smaller ones
        // (within the room reserved). What it handed out was claimed, and
        // nothing else: no Session_OnEnd for sessions still stored (the
        // next sweep would end them again).
        let left = p.count().unwrap();
        assert_eq!(list.len() as u64 + left, u64::from(n), "{swept:?}");
        assert!(!list.is_empty(), "{swept:?}");
        let mut list = BlobList::new(64, usize::from(n));
        p.claim_expired(2000, usize::from(n), &mut list).unwrap();
        assert_eq!((list.len() as u64, p.count().unwrap()), (left, 0));
    }

    /// Stores `n` sessions of `len`-byte blobs directly, in one
    /// transaction: deadline `deadline`, filed in the index under
    /// `indexed`. Their key hashes.
    fn store_raw(
        p: &LmdbProvider,
        n: u16,
        len: usize,
        deadline: u64,
        indexed: u64,
    ) -> Vec<[u8; 16]> {
        let s = &p.shared;
        let hs: Vec<[u8; 16]> = (0..n)
            .map(|i| {
                let mut h = [0xA5u8; 16];
                h[..2].copy_from_slice(&i.to_le_bytes());
                h
            })
            .collect();
        let mut record = State { deadline, indexed }.bytes().to_vec();
        record.resize(State::LEN + len, 7);
        let mut txn = s.write_txn("test").unwrap();
        for h in &hs {
            s.sessions.put(&mut txn, h, &record).unwrap();
            s.expiry.put(&mut txn, &due_key(indexed, h), &[]).unwrap();
        }
        txn.commit().unwrap();
        hs
    }

    /// The state stored for `h`.
    fn state_of(p: &LmdbProvider, h: &[u8; 16]) -> Option<(u64, u64)> {
        let txn = p.shared.read_txn("test").unwrap();
        p.state(&txn, h, "test")
            .unwrap()
            .map(|st| (st.deadline, st.indexed))
    }

    /// The deadlines the expiry index files `h` under.
    fn filed(p: &LmdbProvider, h: &[u8; 16]) -> Vec<u64> {
        let txn = p.shared.read_txn("test").unwrap();
        let entries = p.shared.expiry.iter(&txn).unwrap();
        entries
            .map(|e| e.unwrap().0.to_vec())
            .filter(|k| k[8..] == h[..])
            .map(|k| deadline_of(&k))
            .collect()
    }

    #[test]
    fn a_rename_moves_the_session_or_changes_nothing() {
        let (p, _dir) = provider("rename");
        let (a, b, c, d) = (key(1), key(2), key(3), key(4));
        let h = |k: &str| hash(k).unwrap();
        assert_eq!(
            p.create(&a, 7, 1000, 60_000, 10, b"one").unwrap(),
            Status::Done
        );
        assert_eq!(
            p.create(&c, 9, 1000, 60_000, 10, b"three").unwrap(),
            Status::Done
        );
        assert!(matches!(p.locks.take(&h(&d), 99, 1000), Take::Taken));
        // Refused: another token, a stored key, a key whose lock is held,
        // a session that is gone.
        let rename = |old: &str, new: &str, token| {
            p.rename(old, new, token, 1000, 90_000, b"moved").unwrap()
        };
        assert_eq!(rename(&a, &b, 8), Status::Locked);
        assert_eq!(rename(&a, &c, 7), Status::Exists);
        assert_eq!(rename(&a, &d, 7), Status::Exists);
        assert!(matches!(p.locks.take(&h(&b), 7, 1000), Take::Taken));
        assert_eq!(rename(&b, &d, 7), Status::NotFound);
        assert!(
            !p.locks.is_held(&h(&b), 1000),
            "a lost session's lock is freed"
        );
        let shares = KeyHash::from_bytes([[1; 8], [5; 8]].concat().try_into().unwrap()).hex();
        assert!(!p.same_place(&a, &shares) && p.same_place(&a, &b));
        assert_eq!(rename(&a, &shares, 7), Status::Exists);
        assert_eq!(state_of(&p, &h(&shares)), None);
        assert_eq!(state_of(&p, &h(&b)), None);
        assert!(!p.locks.is_held(&h(&b), 1000));
        assert!(p.holds(&h(&a), 7));
        assert_eq!(state_of(&p, &h(&a)), Some((60_000, 60_000)));
        // Moved: the old key's record, index entry and lock are gone.
        assert_eq!(rename(&a, &b, 7), Status::Done);
        assert_eq!(state_of(&p, &h(&a)), None);
        assert!(filed(&p, &h(&a)).is_empty());
        assert!(!p.locks.is_held(&h(&a), 1000));
        assert_eq!(state_of(&p, &h(&b)), Some((90_000, 90_000)));
        assert_eq!(filed(&p, &h(&b)), [90_000]);
        assert!(p.holds(&h(&b), 7));
        assert_eq!(
            p.set_and_release(&b, 7, 90_000, None).unwrap(),
            Status::Done
        );
        let mut out = BlobBuf::new(1024);
        assert_eq!(
            p.get(&b, LockMode::Shared, 0, 2000, &mut out).unwrap(),
            Status::Done
        );
        assert_eq!(out.as_bytes(), b"moved");
        assert_eq!(p.count().unwrap(), 2);
    }

    #[test]
    fn readers_see_a_renamed_session_once_never_twice_or_not_at_all() {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
        let (p, _dir) = provider("rename-seen");
        assert_eq!(
            p.create(&key(1), 7, 1000, 60_000, 10, b"x").unwrap(),
            Status::Done
        );
        let (stop, looks) = (AtomicBool::new(false), AtomicU64::new(0));
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                while !stop.load(Relaxed) {
                    assert_eq!(p.count().unwrap(), 1);
                    looks.fetch_add(1, Relaxed);
                }
            });
            // Stops the reader however this ends (a failed assertion too).
            struct StopOnDrop<'a>(&'a AtomicBool);
            impl Drop for StopOnDrop<'_> {
                fn drop(&mut self) {
                    self.0.store(true, Relaxed);
                }
            }
            let _stop = StopOnDrop(&stop);
            // Between keys 1 and 2, while the reader looks on.
            let (mut at, mut renames) = (1, 0);
            while (renames < 300 || looks.load(Relaxed) < 1000) && !reader.is_finished() {
                let moved = p.rename(&key(at), &key(3 - at), 7, 1000, 60_000, b"x");
                assert_eq!(moved.unwrap(), Status::Done);
                (at, renames) = (3 - at, renames + 1);
            }
        });
    }

    #[test]
    fn a_flush_of_slides_the_disk_has_no_room_for_does_not_stop_expiry() {
        let (p, _dir) = provider("flush-full");
        for (i, deadline) in [(1, 10_000), (2, 100_000)] {
            let created = p.create(&key(i), 1, 0, deadline, 10, b"blob");
            assert_eq!(created.unwrap(), Status::Done);
            assert_eq!(p.release(&key(i), 1).unwrap(), Status::Done);
        }
        // A read-only request slid session 2; then the disk filled up: the
        // flush of that slide before the sweep wants more room than the
        // sweep's claims, which fit in what is reserved already.
        p.shared.queue_unflushed(&[2; 16], 100_000, 200_000);
        let full =
            |path: &std::path::Path, _, _| path.ends_with("data.mdb").then_some(libc::ENOSPC);
        let mut list = BlobList::new(64, 10);
        let swept = crate::store::lmdb::space::tests::with_hook(full, || {
            p.claim_expired(20_000, 10, &mut list)
        });
        // The sweep is what frees room: it goes on, and ends session 1.
        swept.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(state_of(&p, &[1; 16]), None);
        // The slide is lost, as a killed process's: the deadline stays.
        assert_eq!(state_of(&p, &[2; 16]), Some((100_000, 100_000)));
    }

    #[test]
    fn a_batch_of_large_slides_stays_within_the_disk_reserved() {
        let (p, _dir) = provider("slide-room");
        // 600 sessions of 64 KiB, in overflow pages (which a rewrite
        // allocates anew): a flush of their slides rewrites 40 MiB in one
        // transaction, more than any fixed margin reserved ahead.
        let hs = store_raw(&p, 600, 64 << 10, 60_000, 60_000);
        for h in &hs {
            p.shared.queue_unflushed(h, 60_000, 90_000);
        }
        p.shared.flush_slides().unwrap();
        assert_eq!(state_of(&p, &hs[599]), Some((90_000, 60_000)));
        let (used, reserved) = p.shared.space();
        assert!(used <= reserved, "used {used} bytes, reserved {reserved}");
    }

    #[test]
    fn a_sweep_refiling_large_sessions_stays_within_the_disk_reserved() {
        let (p, _dir) = provider("refile-room");
        // 600 sessions of 64 KiB that slid on since they were filed: one
        // sweep re-files (rewrites) them all in one transaction.
        let hs = store_raw(&p, 600, 64 << 10, 90_000, 10_000);
        let mut list = BlobList::new(64, 150);
        p.claim_expired(20_000, 150, &mut list).unwrap();
        assert!(list.is_empty());
        assert_eq!(state_of(&p, &hs[599]), Some((90_000, 90_000)));
        let (used, reserved) = p.shared.space();
        assert!(used <= reserved, "used {used} bytes, reserved {reserved}");
    }

    #[test]
    fn locks_leases_and_owner_checks() {
        let (p, _dir) = provider("locks");
        let mut out = BlobBuf::new(1024);
        assert_eq!(
            p.create(&key(1), 7, 1000, 60_000, 10, b"blob").unwrap(),
            Status::Done
        );
        assert_eq!(
            p.create(&key(1), 8, 1000, 60_000, 10, b"x").unwrap(),
            Status::Exists
        );
        // Held by 7: others wait, readers too, until the lease (1 s) ends.
        assert_eq!(
            p.get(&key(1), LockMode::Exclusive, 8, 1500, &mut out)
                .unwrap(),
            Status::Locked
        );
        assert_eq!(
            p.get(&key(1), LockMode::Shared, 0, 1500, &mut out).unwrap(),
            Status::Locked
        );
        assert_eq!(
            p.set_and_release(&key(1), 8, 9, Some(b"lost")).unwrap(),
            Status::Locked
        );
        assert_eq!(
            p.get(&key(1), LockMode::Exclusive, 8, 2000, &mut out)
                .unwrap(),
            Status::Done
        );
        assert_eq!(out.as_bytes(), b"blob");
        // 7's lease was broken: its save is refused, 8's goes through.
        assert_eq!(
            p.set_and_release(&key(1), 7, 9, Some(b"late")).unwrap(),
            Status::Locked
        );
        assert_eq!(
            p.set_and_release(&key(1), 8, 90_000, Some(b"new")).unwrap(),
            Status::Done
        );
        let mut out = BlobBuf::new(1024);
        assert_eq!(
            p.get(&key(1), LockMode::Shared, 0, 2000, &mut out).unwrap(),
            Status::Done
        );
        assert_eq!(out.as_bytes(), b"new");
        assert_eq!(p.remove(&key(1), 8).unwrap(), Status::Locked);
        assert_eq!(p.count().unwrap(), 1);
        let e = p.create(&key(2), 1, 0, 1, 1, b"x").unwrap_err();
        assert_eq!(e.code(), error::E_TOO_MANY_SESSIONS);
    }

    /// The provider of application `name` on `dir`, whose locks have
    /// `lease_ms` (its `lock_ttl`).
    fn application(dir: &std::path::Path, name: &str, lease_ms: u64) -> LmdbProvider {
        let opts = LmdbOptions {
            name: name.into(),
            ..LmdbOptions::new(dir)
        };
        let shared = Shared::open(&opts, SINGLE, 1 << 20).unwrap();
        LmdbProvider::new(
            shared,
            LockTable::open(dir, lease_ms).unwrap(),
            test_clock(),
        )
    }

    #[test]
    fn applications_with_other_lock_ttls_respect_each_others_locks() {
        let (p, dir) = provider("ttls");
        drop(p);
        // Two applications in one directory (one lock table), with a 120 s
        // and a 1 s lock_ttl, and a session each whose key hashes share a
        // lock slot (it is picked by their first 8 bytes).
        let long = application(&dir, "/long", 120_000);
        let short = application(&dir, "/short", 1_000);
        let mut other = [7u8; 16];
        other[15] = 8;
        let (a, b) = (key(7), KeyHash::from_bytes(other).hex());
        assert_eq!(
            short.create(&b, 1, 0, 900_000, 10, b"b").unwrap(),
            Status::Done
        );
        assert_eq!(short.release(&b, 1).unwrap(), Status::Done);
        assert_eq!(
            long.create(&a, 2, 10_000, 900_000, 10, b"a").unwrap(),
            Status::Done
        );
        // The long lock holds its 120 s for the short application too.
        let mut out = BlobBuf::new(64);
        for now in [12_000, 60_000, 129_999] {
            assert_eq!(
                short
                    .get(&b, LockMode::Exclusive, 3, now, &mut out)
                    .unwrap(),
                Status::Locked,
                "at {now}"
            );
        }
        assert_eq!(
            long.set_and_release(&a, 2, 900_000, Some(b"a2")).unwrap(),
            Status::Done
        );
        // The short lock ends after its 1 s for the long application too.
        assert_eq!(
            short
                .get(&b, LockMode::Exclusive, 4, 200_000, &mut out)
                .unwrap(),
            Status::Done
        );
        assert_eq!(
            long.get(&a, LockMode::Exclusive, 5, 200_999, &mut out)
                .unwrap(),
            Status::Locked
        );
        assert_eq!(
            long.get(&a, LockMode::Exclusive, 5, 201_000, &mut out)
                .unwrap(),
            Status::Done
        );
        assert_eq!(
            short
                .set_and_release(&b, 4, 900_000, Some(b"late"))
                .unwrap(),
            Status::Locked
        );
        assert_eq!(long.release(&a, 5).unwrap(), Status::Done);
    }

    #[test]
    fn a_session_too_large_to_hand_out_does_not_stop_expiry() {
        let (p, _dir) = provider("too-large");
        // Session 1, due first, was stored under larger limits: the list
        // (at most 64 bytes a blob) cannot take it.
        for i in 1..=4u8 {
            let blob = vec![i; if i == 1 { 100 } else { 10 }];
            assert_eq!(
                p.create(&key(i), 9, 0, 1000 * u64::from(i), 10, &blob)
                    .unwrap(),
                Status::Done
            );
        }
        let mut list = BlobList::new(64, 10);
        let e = p.claim_expired(10_000, 10, &mut list).unwrap_err();
        assert_eq!(e.code(), error::E_SESSION_TOO_LARGE);
        assert!(e.detail().contains("1 expired session"), "{}", e.detail());
        assert_eq!(list.len(), 3, "the others are claimed");
        assert_eq!(p.count().unwrap(), 0, "the large one is removed");
        let txn = p.shared.read_txn("test").unwrap();
        assert_eq!(p.shared.expiry.len(&txn).unwrap(), 0);
        drop(txn);
        // A full list still stops a sweep, leaving the rest in place.
        for i in 5..=6u8 {
            assert_eq!(
                p.create(&key(i), 9, 0, 20_000, 10, &[i]).unwrap(),
                Status::Done
            );
        }
        let mut list = BlobList::new(64, 1);
        p.claim_expired(30_000, 10, &mut list).unwrap();
        assert_eq!((list.len(), p.count().unwrap()), (1, 1));
    }

    #[test]
    fn slid_sessions_are_refiled_and_shortened_ones_moved() {
        let (p, _dir) = provider("slide");
        for i in 1..=3u8 {
            assert_eq!(
                p.create(&key(i), 9, 0, 10_000, 10, &[i]).unwrap(),
                Status::Done
            );
        }
        // 1 slides later (no index write), 2 is shortened (moved now), 3 stays.
        assert_eq!(
            p.set_and_release(&key(1), 9, 50_000, None).unwrap(),
            Status::Done
        );
        assert_eq!(
            p.set_and_release(&key(2), 9, 5_000, None).unwrap(),
            Status::Done
        );
        assert_eq!(p.release(&key(3), 9).unwrap(), Status::Done);
        let index_len = |p: &LmdbProvider| {
            let txn = p.shared.read_txn("test").unwrap();
            p.shared.expiry.len(&txn).unwrap()
        };
        let mut list = BlobList::new(64, 10);
        p.claim_expired(6_000, 10, &mut list).unwrap();
        assert_eq!(list.len(), 1, "2, at its shortened deadline");
        let mut list = BlobList::new(64, 10);
        p.claim_expired(20_000, 10, &mut list).unwrap();
        assert_eq!(list.len(), 1, "3; 1 has slid on and is re-filed");
        assert_eq!((p.count().unwrap(), index_len(&p)), (1, 1));
        let mut list = BlobList::new(64, 10);
        p.claim_expired(49_999, 10, &mut list).unwrap();
        assert!(list.is_empty());
        p.claim_expired(50_000, 10, &mut list).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((p.count().unwrap(), index_len(&p)), (0, 0));
    }

    /// The deadline stored for `key(i)` (not counting queued slides).
    fn stored(p: &LmdbProvider, i: u8) -> Option<u64> {
        let txn = p.shared.read_txn("test").unwrap();
        p.state(&txn, &[i; 16], "test")
            .unwrap()
            .map(|st| st.deadline)
    }

    /// A read-only request at `now` that slides `key(i)` to `deadline`.
    fn read_only(p: &LmdbProvider, i: u8, now: u64, deadline: u64) -> Status {
        let mut out = BlobBuf::new(1024);
        let found = p.get(&key(i), LockMode::Shared, 0, now, &mut out).unwrap();
        if found == Status::Done {
            assert_eq!(p.reset_timeout(&key(i), deadline).unwrap(), Status::Done);
        }
        found
    }

    #[test]
    fn read_only_slides_are_queued_and_written_in_batches() {
        let (p, _dir) = provider("queue");
        for i in 1..=6u8 {
            assert_eq!(
                p.create(&key(i), 9, 0, 60_000, 10, &[i]).unwrap(),
                Status::Done
            );
            assert_eq!(p.release(&key(i), 9).unwrap(), Status::Done);
        }
        // Far from its stored deadline: queued, not written yet.
        assert_eq!(read_only(&p, 1, 30_000, 90_000), Status::Done);
        assert_eq!(stored(&p, 1), Some(60_000));
        // A request of this process past the stored deadline sees it.
        assert_eq!(read_only(&p, 1, 70_000, 70_000), Status::Done);
        assert_eq!(stored(&p, 1), Some(90_000));
        // Within the horizon of its stored deadline: written at once.
        assert_eq!(
            read_only(&p, 2, 60_000 - HORIZON_MS + 1, 120_000),
            Status::Done
        );
        assert_eq!(stored(&p, 2), Some(120_000));
        // Queued, then saved by a later request: the save stands; queued,
        // then removed: not resurrected.
        read_only(&p, 3, 30_000, 90_000);
        read_only(&p, 4, 30_000, 90_000);
        let mut out = BlobBuf::new(64);
        assert_eq!(
            p.get(&key(3), LockMode::Exclusive, 5, 31_000, &mut out)
                .unwrap(),
            Status::Done
        );
        assert_eq!(
            p.set_and_release(&key(3), 5, 70_000, Some(b"new")).unwrap(),
            Status::Done
        );
        p.get(&key(4), LockMode::Exclusive, 5, 31_000, &mut out)
            .unwrap();
        assert_eq!(p.remove(&key(4), 5).unwrap(), Status::Done);
        // A sweep writes the queue first: 5's slide keeps it.
        read_only(&p, 5, 30_000, 90_000);
        let mut list = BlobList::new(64, 10);
        p.claim_expired(65_000, 10, &mut list).unwrap();
        assert_eq!(list.len(), 1, "6, whose deadline passed; not 5");
        assert_eq!(
            (stored(&p, 3), stored(&p, 4), stored(&p, 5), stored(&p, 6)),
            (Some(70_000), None, Some(90_000), None)
        );
        // An exclusive request that changed nothing queues its slide too,
        // and frees the lock at once.
        let mut out = BlobBuf::new(64);
        assert_eq!(
            p.get(&key(5), LockMode::Exclusive, 6, 66_000, &mut out)
                .unwrap(),
            Status::Done
        );
        assert_eq!(
            p.set_and_release(&key(5), 6, 126_000, None).unwrap(),
            Status::Done
        );
        assert_eq!(stored(&p, 5), Some(90_000));
        assert_eq!(
            p.get(&key(5), LockMode::Exclusive, 7, 66_000, &mut out)
                .unwrap(),
            Status::Done,
            "the lock is free"
        );
        assert_eq!(p.release(&key(5), 7).unwrap(), Status::Done);
        p.claim_expired(66_000, 10, &mut list).unwrap();
        assert_eq!(stored(&p, 5), Some(126_000));
        // Nothing else calling: the flusher writes a slide (within
        // FLUSH_AFTER; this only waits for it to happen).
        read_only(&p, 5, 70_000, 140_000);
        let t = Instant::now();
        while stored(&p, 5) != Some(140_000) && t.elapsed() < std::time::Duration::from_secs(30) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(stored(&p, 5), Some(140_000));
    }

    /// The blob stored for `key(i)`.
    fn blob(p: &LmdbProvider, i: u8) -> Option<Vec<u8>> {
        let txn = p.shared.read_txn("test").unwrap();
        p.record(&txn, &[i; 16], "test")
            .unwrap()
            .map(|(_, b)| b.to_vec())
    }

    #[test]
    fn rewrites_keep_or_resize_blobs_and_a_flush_skips_damage() {
        let (p, _dir) = provider("rewrite");
        for i in 1..=3u8 {
            let blob = vec![i; 40];
            assert_eq!(
                p.create(&key(i), 9, 0, 60_000, 10, &blob).unwrap(),
                Status::Done
            );
            assert_eq!(p.release(&key(i), 9).unwrap(), Status::Done);
            assert_eq!(read_only(&p, i, 30_000, 90_000), Status::Done);
        }
        // Three slides queued; then 2's record is damaged.
        let s = &p.shared;
        let mut txn = s.write_txn("test").unwrap();
        s.sessions.put(&mut txn, &[2; 16], b"short").unwrap();
        txn.commit().unwrap();
        s.flush_slides().unwrap();
        assert_eq!((stored(&p, 1), stored(&p, 3)), (Some(90_000), Some(90_000)));
        assert_eq!(
            (blob(&p, 1), blob(&p, 3)),
            (Some(vec![1; 40]), Some(vec![3; 40]))
        );
        let txn = s.read_txn("test").unwrap();
        assert_eq!(s.sessions.get(&txn, &[2; 16]).unwrap(), Some(&b"short"[..]));
        drop(txn);
        // A slide written at once keeps the blob.
        assert_eq!(p.reset_timeout(&key(3), 200_000).unwrap(), Status::Done);
        assert_eq!(
            (stored(&p, 3), blob(&p, 3)),
            (Some(200_000), Some(vec![3; 40]))
        );
        // Saves that grow and shrink the record.
        let mut out = BlobBuf::new(4096);
        for (token, len) in [(5u64, 3000usize), (6, 7)] {
            assert_eq!(
                p.get(&key(1), LockMode::Exclusive, token, 31_000, &mut out)
                    .unwrap(),
                Status::Done
            );
            let new = vec![token as u8; len];
            assert_eq!(
                p.set_and_release(&key(1), token, 95_000, Some(&new))
                    .unwrap(),
                Status::Done
            );
            assert_eq!((stored(&p, 1), blob(&p, 1)), (Some(95_000), Some(new)));
        }
        assert_eq!(stored(&p, 3), Some(200_000), "its neighbour untouched");
    }

    #[test]
    fn sweeps_take_only_what_is_due_and_skip_damage() {
        let (p, _dir) = provider("sweep");
        for i in 1..=5u8 {
            let deadline = 1000 * u64::from(i);
            assert_eq!(
                p.create(&key(i), u64::from(i), 0, deadline, 10, &[i])
                    .unwrap(),
                Status::Done
            );
        }
        // Damage session 2's record.
        let s = &p.shared;
        let mut txn = s.write_txn("test").unwrap();
        s.sessions.put(&mut txn, &[2; 16], b"short").unwrap();
        txn.commit().unwrap();
        let mut out = BlobBuf::new(64);
        let e = p
            .get(&key(2), LockMode::Shared, 0, 0, &mut out)
            .unwrap_err();
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        let mut list = BlobList::new(64, 10);
        p.claim_expired(3000, 10, &mut list).unwrap();
        // 1 and 3 are due and ended; 2 was dropped unreadable; 4, 5 wait.
        assert_eq!(list.len(), 2);
        assert_eq!(p.count().unwrap(), 2);
        let mut list = BlobList::new(64, 10);
        p.claim_expired(3000, 10, &mut list).unwrap();
        assert!(list.is_empty());
        p.claim_expired(10_000, 10, &mut list).unwrap();
        assert_eq!((list.len(), p.count().unwrap()), (2, 0));
    }
}
