//! The Redis store: sessions shared by a web farm, Redis Cluster compatible.
//!
//! - **Keys** hold a hash of the session ID, never the ID (see `keys.rs`):
//!   `<prefix>{<b>}:<H>:d` (data hash), `…:l` (lock), `<prefix>{<b>}:exp`
//!   (the bucket's expiry index), all of a session's keys and its bucket's
//!   index in one Redis Cluster slot.
//! - **The SessionID in Session_OnEnd.** No form of the ID is stored unless
//!   `RedisOptions::id_secret` is set (the same in every process), and then
//!   only masked under it; the sweeper of any process unmasks it. Without a
//!   secret, a session ended by the sweeper shows a stand-in ID derived
//!   from its key hash (never a working cookie); a session ended by Abandon,
//!   or found expired by a request, always shows its real ID.
//! - **One round trip per phase.** Each phase is one Lua script run with
//!   EVALSHA (see `scripts/`): acquire-exclusive (lock with an owner token
//!   and a TTL, read, slide the expiry), get-shared (read without locking),
//!   create-if-absent, save-and-release (only the changed fields, only
//!   while the lock is still ours and the data still exists), remove,
//!   regenerate, and the sweeper's claim. A read-only request costs one
//!   round trip, a writing request two.
//! - **Waiting for a lock polls**: a request that finds the session locked
//!   tries again after 1 ms, doubling up to 50 ms with jitter, until the
//!   application's lock timeout (`E_LOCK_TIMEOUT`). A read-only request
//!   waits only for a writer; a writer does not wait for readers (they hold
//!   nothing and never save). A crashed holder's lock frees after `lock_ttl`;
//!   its late save is then refused.
//! - **Expiry and Session_OnEnd** in every process: each bucket's sorted set
//!   indexes deadlines. [`SessionStore::take_expired`] sweeps only while this
//!   process holds the farm-wide sweeper lease (a key with a TTL); each
//!   expired session is claimed (read and deleted) atomically, so exactly
//!   one process runs its Session_OnEnd, with its final contents. A request
//!   that finds its session expired claims it the same way. A session's data
//!   outlives its deadline by `grace` (a Redis TTL) for the sweeper to find.
//! - **Counting** (`max_sessions`): the expiry indexes' sizes, summed (one
//!   script on one server; one call per bucket in a cluster) by the sweeper
//!   thread every 5 s and by an insert that finds the figure older than
//!   30 s, plus this process's own inserts and removals since. The limit is
//!   farm-wide and approximate: other processes' inserts are seen within
//!   5 s (with the sweeper thread running).
//! - **Application end** leaves the sessions in Redis: the farm's other
//!   processes go on serving them ([`SessionStore::drain`] does nothing).
//! - **Faults**: see `conn.rs`: bounded timeouts, a retry budget per call,
//!   `E_STORE_UNAVAILABLE` past it, reconnection when Redis returns. A
//!   finished lock is left as a short-lived tombstone (`d:` + token, for
//!   `retry_budget + op_timeout`) so that a script retried after a lost reply
//!   recognises its own effect instead of reporting a lost lock.
//! - **Regenerate** moves the session to an ID whose key hash falls in the
//!   same bucket (one slot, one atomic script): about 256 ID draws.
//! - **Clocks**: deadlines are the application clock's milliseconds (wall
//!   clock by default, shared by the farm); Redis TTLs are set relative
//!   (deadline − now + grace), so Redis' own clock need not agree.

mod codec;
mod conn;
mod keys;
mod options;
mod scripts;
mod sweep;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::Value;
use parking_lot::Mutex;

pub use options::RedisOptions;

use self::codec::{Fields, Snapshot};
use self::conn::Pool;
use self::keys::{KeyHash, Keys, SessionKeys};
use self::scripts::Scripts;
use super::{Lease, LockMode, Lookup, OwnedLease, SessionStore, StoreMode};
use crate::clock::Clock;
use crate::error::{self, Error, Result};
use crate::session::{Limits, SessionData, SessionId};

/// How long a sweeper lease lasts without renewal.
const SWEEP_LEASE: Duration = Duration::from_secs(5);
/// Most expired sessions one sweep takes from one bucket.
const SWEEP_BATCH: usize = 500;
/// How old the session count may be before an insert refreshes it.
const COUNT_STALE: Duration = Duration::from_secs(30);
/// How often the sweeper refreshes the session count.
const COUNT_EVERY: Duration = Duration::from_secs(5);
/// Lock polling: first pause and longest pause.
const POLL_FIRST: Duration = Duration::from_millis(1);
const POLL_MAX: Duration = Duration::from_millis(50);

/// What a Redis lease carries besides its data.
struct Held {
    h: KeyHash,
    /// The lock's owner token (this lease's, even for a shared lease).
    token: String,
    /// What was loaded or last written, to save only what changed.
    snapshot: Snapshot,
    /// Whether the session is in Redis (false until a prepared one is
    /// inserted, and after it is removed).
    stored: bool,
}

#[derive(Default)]
struct Count {
    /// The farm's sessions when last counted.
    total: usize,
    /// This process's inserts minus removals since.
    delta: i64,
    at: Option<Instant>,
}

/// The Redis session store: sessions shared by a web farm, Redis Cluster
/// compatible, made with [`RedisOptions`] (usually through
/// `StoreConfig::Redis`).
///
/// - Keys hold SHA-256 of the session ID, never the cookie value; the ID
///   itself is stored only masked, and only with an `id_secret`.
/// - Each phase is one Lua script (EVALSHA): a read-only request costs one
///   round trip, a writing request two. Saves write only what changed, and
///   only while the request still owns the lock and the session still
///   exists (no lost update, no resurrection after Abandon).
/// - Lock waits poll (1 ms doubling to 50 ms, jittered) until the
///   application's lock timeout; a crashed holder's lock frees after
///   `lock_ttl`.
/// - Session_OnEnd runs exactly once per expired session, in whichever
///   process's sweeper claims it (one sweeper at a time across the farm).
///   Without an `id_secret` such a session shows a stand-in SessionID.
/// - Redis down: `E_STORE_UNAVAILABLE` once a call's retry budget is spent;
///   calls succeed again as soon as Redis is back.
/// - Application end leaves the sessions to the farm ([`SessionStore::drain`]
///   appends nothing); `max_sessions` is checked against an approximate,
///   farm-wide count.
pub struct RedisStore {
    pool: Pool,
    keys: Keys,
    scripts: Scripts,
    limits: Limits,
    absolute_ms: u64,
    lock_ttl_ms: u64,
    grace_ms: u64,
    refresh_ms: u64,
    /// How long a lock tombstone ('d:' + token) lives: long enough for a
    /// call retried within its budget to recognise its own effect.
    tombstone_ms: u64,
    id_secret: Option<Vec<u8>>,
    clock: Arc<dyn Clock>,
    /// Whether the servers form a Redis Cluster.
    cluster: bool,
    /// This store instance's name in lock tokens and the sweeper lease.
    owner: String,
    next_token: AtomicU64,
    lock_waits: super::LockWaits,
    count: Mutex<Count>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `E_UNEXPECTED`: a lease another store made was handed to this one.
fn foreign() -> Error {
    Error::new(error::E_UNEXPECTED, "the lease belongs to another store")
}

fn lock_lost() -> Error {
    Error::new(
        error::E_LOCK_TIMEOUT,
        "the session's lock expired (lock_ttl) and was taken or freed meanwhile; \
         nothing was saved",
    )
}

fn gone() -> Error {
    Error::new(
        error::E_SESSION_NOT_FOUND,
        "the session ended while this request held it; nothing was saved",
    )
}

fn held(o: &mut OwnedLease) -> Result<&mut Held> {
    o.state.downcast_mut::<Held>().ok_or_else(foreign)
}

impl RedisStore {
    /// A store for one application. Opens no connection yet: Redis may be
    /// down now and come up later. `limits` check what is read back;
    /// `absolute_timeout_minutes` (0: none) caps every session's lifetime;
    /// `clock` gives the deadlines' milliseconds.
    pub fn new(
        opts: &RedisOptions,
        limits: Limits,
        absolute_timeout_minutes: u32,
        clock: Arc<dyn Clock>,
    ) -> Result<RedisStore> {
        opts.validate()?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce)
            .map_err(|e| Error::new(error::E_FAIL, format!("the OS random source failed: {e}")))?;
        Ok(RedisStore {
            pool: Pool::new(opts)?,
            keys: Keys::new(&opts.key_prefix),
            scripts: Scripts::new(),
            limits,
            absolute_ms: u64::from(absolute_timeout_minutes) * 60_000,
            lock_ttl_ms: ms(opts.lock_ttl),
            grace_ms: ms(opts.grace),
            refresh_ms: ms(opts.expiry_refresh_interval),
            tombstone_ms: ms(opts.retry_budget + opts.op_timeout),
            id_secret: opts.id_secret.clone(),
            clock,
            cluster: opts.is_cluster(),
            owner: nonce.iter().map(|b| format!("{b:02x}")).collect(),
            next_token: AtomicU64::new(1),
            lock_waits: super::LockWaits::default(),
            count: Mutex::new(Count::default()),
        })
    }

    /// A lock token no other holder has: this store's nonce, the process
    /// (a child made by `fork()` shares the nonce and the counter), and a
    /// count.
    fn token(&self) -> String {
        format!(
            "{}.{}:{}",
            self.owner,
            std::process::id(),
            self.next_token.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// The data TTL for a deadline: deadline − now + grace.
    fn data_ttl(&self, deadline_ms: u64) -> u64 {
        deadline_ms
            .saturating_sub(self.clock.now_ms())
            .saturating_add(self.grace_ms)
            .max(1)
    }

    fn count_delta(&self, d: i64) {
        self.count.lock().delta += d;
    }

    /// A lease on loaded fields.
    fn lease(
        &self,
        id: SessionId,
        h: KeyHash,
        token: String,
        fields: Fields,
        mode: LockMode,
        stored: bool,
    ) -> Result<Lease> {
        let d = codec::decode_session(fields, &self.limits)?;
        Ok(Lease::copied(OwnedLease {
            id,
            created_ms: d.created_ms,
            data: d.data,
            mode,
            state: Box::new(Held {
                h,
                token,
                snapshot: d.snapshot,
                stored,
            }),
        }))
    }

    /// One lock attempt: the script's status and the fields.
    fn try_get(
        &self,
        k: &SessionKeys,
        token: &str,
        mode: LockMode,
        now_ms: u64,
    ) -> Result<(i64, Option<Fields>)> {
        let reply: Value = match mode {
            LockMode::Exclusive => self.pool.run("acquire", |c| {
                self.scripts
                    .acquire
                    .key(&k.data)
                    .key(&k.lock)
                    .key(&k.exp)
                    .arg(&k.member)
                    .arg(token)
                    .arg(self.lock_ttl_ms)
                    .arg(now_ms)
                    .arg(self.grace_ms)
                    .invoke(c)
            })?,
            LockMode::Shared => self.pool.run("read", |c| {
                self.scripts
                    .shared
                    .key(&k.data)
                    .key(&k.lock)
                    .key(&k.exp)
                    .arg(&k.member)
                    .arg(now_ms)
                    .arg(self.grace_ms)
                    .arg(self.refresh_ms)
                    .invoke(c)
            })?,
        };
        scripts::status_and_fields(reply)
    }

    /// Unlocks without saving (best effort: used on error paths).
    fn unlock(&self, k: &SessionKeys, token: &str) -> Result<()> {
        self.pool.run("release", |c| {
            self.scripts
                .release
                .key(&k.lock)
                .arg(token)
                .arg(self.tombstone_ms)
                .invoke::<i64>(c)
        })?;
        Ok(())
    }

    fn masked_id(&self, h: &KeyHash, id: &SessionId) -> Result<Vec<u8>> {
        match &self.id_secret {
            Some(secret) => Ok(keys::mask_id(secret, h, id.as_bytes())?.to_vec()),
            None => Ok(Vec::new()),
        }
    }
}

/// A pause of about `d` with ±50% jitter, so pollers spread out.
fn jittered(d: Duration, salt: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos() as u64);
    let mut x = nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    let base = d.as_micros() as u64;
    Duration::from_micros(base / 2 + x % (base.max(1)))
}

impl SessionStore for RedisStore {
    fn mode(&self) -> StoreMode {
        StoreMode::Redis
    }

    fn get(&self, id: &SessionId, mode: LockMode, wait: Duration, now_ms: u64) -> Result<Lookup> {
        let h = KeyHash::of(id);
        let k = self.keys.session(&h);
        let token = self.token();
        let start = Instant::now();
        let mut pause = POLL_FIRST;
        loop {
            let now = now_ms.saturating_add(ms(start.elapsed()));
            let (status, fields) = self.try_get(&k, &token, mode, now)?;
            match (status, fields, mode) {
                (1, Some(fields), LockMode::Exclusive) => {
                    return match self.lease(*id, h, token.clone(), fields, mode, true) {
                        Ok(lease) => Ok(Lookup::Found(lease)),
                        Err(e) => {
                            let _ = self.unlock(&k, &token);
                            Err(e)
                        }
                    };
                }
                (1, Some(fields), LockMode::Shared) => {
                    return Ok(Lookup::Found(
                        self.lease(*id, h, token, fields, mode, true)?,
                    ));
                }
                (3, Some(fields), LockMode::Exclusive) => {
                    self.count_delta(-1);
                    return Ok(match self.lease(*id, h, token, fields, mode, false) {
                        Ok(lease) => Lookup::Expired(lease),
                        // Removed, but unreadable: no Session_OnEnd.
                        Err(_) => Lookup::NotFound,
                    });
                }
                (0 | 3, _, _) => return Ok(Lookup::NotFound),
                (2, _, _) => {
                    let waited = start.elapsed();
                    if waited >= wait {
                        return Err(Error::new(
                            error::E_LOCK_TIMEOUT,
                            format!(
                                "the session stayed locked by another request for {} ms",
                                wait.as_millis()
                            ),
                        ));
                    }
                    if pause == POLL_FIRST {
                        self.lock_waits.note();
                    }
                    std::thread::sleep(jittered(pause, now).min(wait - waited));
                    pause = (pause * 2).min(POLL_MAX);
                }
                (s, _, _) => {
                    return Err(Error::new(
                        error::E_STORE_UNAVAILABLE,
                        format!("Redis gave an unexpected lock status {s}"),
                    ))
                }
            }
        }
    }

    fn prepare(&self, id: SessionId, data: SessionData, now_ms: u64) -> Lease {
        Lease::copied(OwnedLease {
            id,
            created_ms: now_ms,
            data,
            mode: LockMode::Exclusive,
            state: Box::new(Held {
                h: KeyHash::of(&id),
                token: self.token(),
                snapshot: Snapshot::default(),
                stored: false,
            }),
        })
    }

    fn insert(&self, lease: &mut Lease, deadline_ms: u64, max_sessions: usize) -> Result<bool> {
        let o = lease.as_copied_mut().ok_or_else(foreign)?;
        let (id, created_ms) = (o.id, o.created_ms);
        let st = held(o)?;
        if st.stored {
            return Err(Error::new(
                error::E_UNEXPECTED,
                "the session is already stored",
            ));
        }
        if self.counted(COUNT_STALE)? >= max_sessions {
            return Err(Error::new(
                error::E_TOO_MANY_SESSIONS,
                format!("the application already holds {max_sessions} sessions"),
            ));
        }
        let h = st.h;
        let masked = self.masked_id(&h, &id)?;
        let absolute = match self.absolute_ms {
            0 => 0,
            a => created_ms.saturating_add(a),
        };
        let o = lease.as_copied_mut().ok_or_else(foreign)?;
        let (fields, snapshot) = codec::encode_session(
            &o.data,
            created_ms,
            absolute,
            (!masked.is_empty()).then_some(masked.as_slice()),
        )?;
        let st = held(o)?;
        let k = self.keys.session(&h);
        let ttl = self.data_ttl(deadline_ms);
        let created: i64 = self.pool.run("create", |c| {
            let mut inv = self.scripts.create.key(&k.data);
            inv.key(&k.lock)
                .key(&k.exp)
                .arg(&k.member)
                .arg(&st.token)
                .arg(self.lock_ttl_ms)
                .arg(deadline_ms)
                .arg(ttl);
            for (f, v) in &fields {
                inv.arg(f).arg(v);
            }
            inv.invoke(c)
        })?;
        if created != 1 {
            return Ok(false);
        }
        st.stored = true;
        st.snapshot = snapshot;
        self.count_delta(1);
        Ok(true)
    }

    /// Redis Cluster runs a script on one slot only, so the session moves to
    /// an ID whose key hash falls in its bucket: `new_id` if it does, else a
    /// fresh one drawn so (about 256 draws); `lease.id()` tells which.
    fn regenerate(&self, lease: &mut Lease, new_id: SessionId, deadline_ms: u64) -> Result<bool> {
        let o = lease.as_copied_mut().ok_or_else(foreign)?;
        if o.mode != LockMode::Exclusive {
            return Err(Error::new(
                error::E_READONLY,
                "a read-only session cannot change its ID",
            ));
        }
        let st = held(o)?;
        if !st.stored {
            return Err(Error::new(
                error::E_UNEXPECTED,
                "only a stored session changes its ID",
            ));
        }
        let old = self.keys.session(&st.h);
        let new_id = if KeyHash::of(&new_id).bucket() == st.h.bucket() {
            new_id
        } else {
            keys::fresh_id_in_bucket(st.h.bucket())?
        };
        let nh = KeyHash::of(&new_id);
        let new = self.keys.session(&nh);
        let masked = self.masked_id(&nh, &new_id)?;
        let ttl = self.data_ttl(deadline_ms);
        let token = st.token.clone();
        let moved: i64 = self.pool.run("regenerate", |c| {
            self.scripts
                .regenerate
                .key(&old.data)
                .key(&old.lock)
                .key(&old.exp)
                .key(&new.data)
                .key(&new.lock)
                .arg(&old.member)
                .arg(&new.member)
                .arg(&token)
                .arg(self.lock_ttl_ms)
                .arg(deadline_ms)
                .arg(ttl)
                .arg(self.tombstone_ms)
                .arg(&masked)
                .invoke(c)
        })?;
        match moved {
            1 => {
                o.id = new_id;
                held(o)?.h = nh;
                Ok(true)
            }
            0 => Ok(false),
            -1 => Err(lock_lost()),
            _ => {
                held(o)?.stored = false;
                Err(gone())
            }
        }
    }

    fn release(&self, lease: Lease, deadline_ms: u64) -> Result<()> {
        let mut o = lease.into_copied().ok_or_else(foreign)?;
        let data = std::mem::replace(&mut o.data, SessionData::new(1, 0, 0));
        let mode = o.mode;
        let st = held(&mut o)?;
        if mode == LockMode::Shared || !st.stored {
            // A read-only unit slid the expiry when it read (throttled).
            return Ok(());
        }
        let k = self.keys.session(&st.h);
        let (changes, _) = match codec::changes(&st.snapshot, &data, false) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.unlock(&k, &st.token);
                return Err(e);
            }
        };
        let ttl = self.data_ttl(deadline_ms);
        let saved: i64 = self.pool.run("save", |c| {
            let mut inv = self.scripts.save.key(&k.data);
            inv.key(&k.lock)
                .key(&k.exp)
                .arg(&k.member)
                .arg(&st.token)
                .arg(deadline_ms)
                .arg(ttl)
                .arg(self.tombstone_ms)
                .arg(changes.set.len());
            for (f, v) in &changes.set {
                inv.arg(f).arg(v);
            }
            for f in &changes.del {
                inv.arg(f);
            }
            inv.invoke(c)
        })?;
        match saved {
            1 => Ok(()),
            -1 => Err(lock_lost()),
            _ => Err(gone()),
        }
    }

    fn remove(&self, lease: Lease) -> Result<Lease> {
        let mut o = lease.into_copied().ok_or_else(foreign)?;
        if o.mode != LockMode::Exclusive {
            return Err(Error::new(
                error::E_READONLY,
                "a session held read-only cannot be removed",
            ));
        }
        let st = held(&mut o)?;
        if st.stored {
            let k = self.keys.session(&st.h);
            let removed: i64 = self.pool.run("remove", |c| {
                self.scripts
                    .remove
                    .key(&k.data)
                    .key(&k.lock)
                    .key(&k.exp)
                    .arg(&k.member)
                    .arg(&st.token)
                    .arg(self.tombstone_ms)
                    .invoke(c)
            })?;
            if removed != 1 {
                return Err(lock_lost());
            }
            st.stored = false;
            self.count_delta(-1);
        }
        Ok(Lease::copied(o))
    }

    fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>) {
        self.sweep(now_ms, out);
    }

    /// Does nothing: a Redis application's sessions belong to the farm and
    /// outlive this process (Session_OnEnd runs when they expire).
    fn drain(&self, _out: &mut Vec<Lease>) {}

    /// The farm's sessions, counted now (one pipelined round trip); the last
    /// count if Redis cannot be reached.
    fn count(&self) -> usize {
        match self.refresh_count() {
            Ok(n) => n,
            Err(_) => self.counted(Duration::MAX).unwrap_or(0),
        }
    }

    fn lock_waits(&self) -> u64 {
        self.lock_waits.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_near_the_pause() {
        for salt in 0..100 {
            let j = jittered(Duration::from_millis(10), salt);
            assert!(j >= Duration::from_millis(5) && j < Duration::from_millis(15));
        }
        assert!(jittered(Duration::ZERO, 1) <= Duration::from_micros(1));
    }
}
