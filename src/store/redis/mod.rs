//! The Redis store: sessions shared by a web farm, Redis Cluster compatible.
//!
//! - **One key per session** (see `keys.rs`): a hash under a hash of the
//!   session ID, never the ID, holding its items and its own fields (see
//!   `codec.rs`), the lock among them. What a session costs in Redis is
//!   bounded by the sessions, never by the traffic: a request leaves no key
//!   behind (an Abandon leaves the removed session's lock mark, and a
//!   claim for Session_OnEnd the claimed session, for the tombstone TTL:
//!   the retry budget plus one op timeout).
//! - **The SessionID in Session_OnEnd.** No form of the ID is stored unless
//!   `RedisOptions::id_secret` is set (the same in every process), and then
//!   only masked under it; the sweeper of any process unmasks it. Without a
//!   secret, a session ended by the sweeper shows a stand-in ID derived
//!   from its key hash (never a working cookie); a session ended by Abandon,
//!   or found expired by a request, always shows its real ID.
//! - **One round trip per phase.** A read-only request is one `HGETALL`
//!   (no script: the client checks the deadline, and finds no lock held;
//!   a lock lease it finds is judged by the server, one more round trip
//!   while a writer holds the session or a crashed one's lease is left);
//!   the other
//!   phases are each one Lua script run with EVALSHA (see `scripts/`;
//!   a writing request's two as functions of a library, FCALL, where the
//!   server has functions: `scripts.rs`):
//!   acquire-exclusive (read and lock with an owner token and an expiry),
//!   create-if-absent, save-and-release (only the changed fields, only while
//!   the lock is still ours), remove, regenerate, and the sweeper's claim.
//!   A read-only request costs one round trip, a writing request two; a
//!   read-only request whose session's deadline is due to slide (at most
//!   once per `expiry_refresh_interval`, or per half its Timeout if that is
//!   less) one more.
//! - **Waiting for a lock polls**: a request that finds the session locked
//!   tries again after 1 ms, doubling up to 20 ms with jitter, until the
//!   application's lock timeout (`E_LOCK_TIMEOUT`). A read-only request
//!   waits only for a writer; a writer does not wait for readers (they hold
//!   nothing and never save). A lock expires `lock_ttl` after it was taken,
//!   by the Redis server's clock (so a crashed holder's lock frees); its
//!   holder's late save is then refused.
//! - **Expiry and Session_OnEnd** in every process: each session's deadline
//!   is its field `E`, set exactly by every save; each bucket's sorted set
//!   indexes the sessions by a deadline no later than that (a save touches
//!   it only to move it earlier, or to file the session again where the
//!   index lacks it, as a read's slide does: deleted by hand, every
//!   session of it neither saved nor slid again before it expires ends
//!   without Session_OnEnd).
//!   [`SessionStore::take_expired`] sweeps only while this process holds
//!   the farm-wide sweeper lease (a key with a TTL); each
//!   session the index shows due is claimed atomically if `E` says so (read,
//!   and renamed to a key named with the claim's token, which expires after
//!   the tombstone TTL), so exactly one process runs its Session_OnEnd, with
//!   its final contents, and re-indexed at `E` otherwise. A request that
//!   finds its session expired claims it the same way. A claim retried
//!   after a lost or late reply finds the session under its token and ends
//!   it all the same. Index members that name no session of their bucket
//!   (unreadable, or another bucket's) are dropped by the sweep that reads
//!   them. A session's data outlives
//!   its deadline, and any lock held on it, by `grace` (a Redis TTL) for
//!   the sweeper to find.
//! - **Counting** (`max_sessions`, see `count.rs`): the expiry indexes'
//!   sizes, summed (one script on one server; one call per bucket in a
//!   cluster) by the sweeper thread every 5 s and by an insert that finds
//!   the figure older than 30 s, plus this process's own inserts and
//!   removals since, and its inserts under way, each holding a place (so
//!   this process's concurrent inserts cannot pass the limit together). A
//!   count's reply, however late, forgets none of this process's inserts:
//!   the figure errs only upwards, by what this process did while one
//!   count was under way, until the next count. The limit is farm-wide and
//!   approximate: other processes' inserts since the last count are not
//!   seen (5 s with the sweeper thread running), so a farm may pass it by
//!   what they stored meanwhile.
//! - **Application end** leaves the sessions in Redis: the farm's other
//!   processes go on serving them ([`SessionStore::drain`] does nothing).
//! - **Faults**: see `conn.rs`: bounded timeouts, a retry budget per call,
//!   `E_STORE_UNAVAILABLE` past it, reconnection when Redis returns; a
//!   server out of memory is `E_STORE_FULL` (nothing written; a refused
//!   save still unlocks the session), still read
//!   (a read-only request's slide is then skipped), and still
//!   swept (the sweeper lease, a new key, is then refused and gone
//!   without: the atomic claim alone makes each session end once); a server
//!   whose `maxmemory-policy` may evict any key (`allkeys-*`: an expiry
//!   index evicted, its sessions would end without Session_OnEnd) is
//!   refused, every call failing with `E_STORE_UNAVAILABLE` saying why,
//!   until the policy is changed. A call that gives up after its script
//!   was sent (a hung server runs it when it wakes) leaves its lock
//!   *unsettled*: this process remembers the token and releases that lock
//!   if still its own, when a request of its own finds the session locked
//!   and at its sweeper's next turn, so the session is not held for
//!   `lock_ttl` by a request that is gone; an expired session such a
//!   call claimed is ended there, with Session_OnEnd, if that sweep
//!   comes within the tombstone TTL of the script's run (the claimed
//!   copy's life; the default `expiry_interval`, 1 s, is well within the
//!   default 4 s): a process that sweeps less often loses that
//!   Session_OnEnd. The
//!   lock field keeps its last holder's token once released (and the
//!   next holder keeps it in `P`), so a script retried after a lost reply
//!   recognises its own effect instead of reporting a lost lock.
//! - **Regenerate** moves the session to an ID whose key hash falls in the
//!   same bucket (one slot, one atomic script): about 256 ID draws.
//! - **Clocks**: each judges what it is fit for. Session deadlines (`E`,
//!   the expiry index, the absolute lifetime) are the application clock's
//!   milliseconds (`AppOptions::clock`: the wall clock by default, which
//!   the farm's machines must agree on; tests and hosts move it to end
//!   sessions), as in every store. Lock leases are the Redis server's:
//!   judged by the one server that holds the session (`TIME`, read inside
//!   the scripts, which Redis 5 and later allow before writes), so a
//!   process whose clock runs ahead cannot break a live lock, nor one
//!   behind keep a dead one; an injected clock does not move them. A new
//!   lease's end is placed by this process's estimate of that server's
//!   clock (`server_clock.rs`: one `TIME` every 10 s, not one per request;
//!   in a cluster each script reads its node's clock), and a save asks the
//!   server to judge its own lease only once it may be near its end. Redis
//!   TTLs are relative (deadline − now + grace; while locked, at least the
//!   lease + grace), so they need no agreement of clocks either.

mod codec;
mod conn;
mod count;
mod keys;
mod options;
mod scripts;
mod server_clock;
mod sources;
mod sweep;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::redis::Value;

pub use options::RedisOptions;

use self::codec::{Decoded, Fields, Snapshot};
use self::conn::Pool;
use self::keys::{Keys, SessionKeys};
use self::scripts::{Call, Scripts};
use self::server_clock::ServerClock;
use super::remote::{self, Attempt, KeyHash, Owner};
use super::{Lease, LockMode, Lookup, OwnedLease, SessionStore, StoreMode};
use crate::clock::Clock;
use crate::error::{self, Error, Result};
use crate::state::{Limits, SessionData, SessionId};

/// How long a sweeper lease lasts without renewal.
const SWEEP_LEASE: Duration = Duration::from_secs(5);
/// Most expired sessions one sweep takes from one bucket.
const SWEEP_BATCH: usize = 500;
/// How old the session count may be before an insert refreshes it.
const COUNT_STALE: Duration = Duration::from_secs(30);
/// How often the sweeper refreshes the session count.
const COUNT_EVERY: Duration = Duration::from_secs(5);
/// Most unsettled locks remembered (the oldest go first; their leases end
/// with `lock_ttl` anyway).
const MAX_UNSETTLED: usize = 1024;

/// A call that gave up, whose script may still have run (see
/// [`RedisStore::unsettle`]).
struct Unsettled {
    keys: SessionKeys,
    token: String,
    /// Whether the call could have claimed an expired session for
    /// Session_OnEnd (an acquire, or the sweeper's claim: moved to
    /// `keys.claimed(token)`).
    claims: bool,
    /// The process that made the call: a child made by `fork()` inherits
    /// the list, and leaves its parent's calls to the parent.
    owner: Owner,
}

/// What a Redis lease carries besides its data.
struct Held {
    h: KeyHash,
    keys: SessionKeys,
    /// The lock's owner token (this lease's, even for a shared lease).
    token: String,
    /// When the request that took the lock was sent (and the estimate of
    /// the server's clock it placed the lease by was read): the lease ends
    /// no sooner than `lock_ttl` after this, give or take the estimate's
    /// error, by the server's clock.
    locked_at: Instant,
    /// The deadline `E` as this lease read or last wrote it (the expiry
    /// index is no later).
    deadline_ms: u64,
    /// What was loaded or last written, to save only what changed.
    snapshot: Snapshot,
    /// Whether the session is in Redis (false until a prepared one is
    /// inserted, and after it is removed).
    stored: bool,
    /// The process whose lock it is.
    owner: Owner,
}

/// The Redis session store: sessions shared by a web farm, Redis Cluster
/// compatible, made with [`RedisOptions`] (usually through
/// `StoreConfig::Redis`).
///
/// - One key per session (a hash, the lock inside it): Redis memory grows
///   with the sessions, not with the traffic. Keys hold SHA-256 of the
///   session ID, never the cookie value; the ID itself is stored only
///   masked, and only with an `id_secret`.
/// - A read-only request costs one round trip (a plain `HGETALL`), a
///   writing request two (Lua functions, FCALL, on Redis 7; else scripts,
///   EVALSHA). Saves write only what
///   changed, and only while the request still owns the lock (no lost
///   update, no resurrection after Abandon).
/// - Lock waits poll (1 ms doubling to 20 ms, jittered) until the
///   application's lock timeout; a crashed holder's lock frees after
///   `lock_ttl`, by the Redis server's clock (session deadlines are the
///   application clock's).
/// - Session_OnEnd runs once per expired session, in whichever process's
///   sweeper claims it (one sweeper at a time across the farm); at most
///   once across a crash: a process killed after its claim and before the
///   handler ran loses those sessions' Session_OnEnd (only it knows the
///   claim's token).
///   Without an `id_secret` such a session shows a stand-in SessionID.
/// - Redis down: `E_STORE_UNAVAILABLE` once a call's retry budget is spent;
///   calls succeed again as soon as Redis is back. Redis out of memory:
///   `E_STORE_FULL`, nothing written; read-only requests go on (a deadline
///   due to slide keeps its old value), and so do sweeps (without the
///   lease), freeing memory as sessions expire.
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
    /// How long an Abandon's lock mark and a claimed session's copy live:
    /// long enough for a call retried within its budget to find its own
    /// effect.
    tombstone_ms: u64,
    id_secret: Option<Vec<u8>>,
    clock: Arc<dyn Clock>,
    /// The server's clock as this process estimates it (one server only).
    server_clock: ServerClock,
    /// Whether the servers form a Redis Cluster.
    cluster: bool,
    /// This store instance's random part of every lock token, and of its
    /// name in the sweeper lease.
    nonce: u64,
    next_token: AtomicU64,
    /// The process ID, and the fork generation it was read in (getpid is a
    /// system call; a child made by `fork()` reads its own).
    pid: AtomicU64,
    lock_waits: super::LockWaits,
    tally: count::Tally,
    /// The sweep under way, between its batches.
    due: parking_lot::Mutex<Option<sweep::Due>>,
    /// Locks this process may hold for requests that already failed: each
    /// call that gave up with `E_STORE_UNAVAILABLE` after perhaps sending
    /// its script (see [`RedisStore::unsettle`]).
    unsettled: parking_lot::Mutex<Vec<Unsettled>>,
    /// Whether `unsettled` may hold any (read without its lock).
    any_unsettled: std::sync::atomic::AtomicBool,
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
        "the session's lock expired (lock_ttl), and may have been taken \
         meanwhile; nothing was saved",
    )
}

fn gone() -> Error {
    Error::new(
        error::E_SESSION_NOT_FOUND,
        "the session ended while this request held it; nothing was saved",
    )
}

/// The lease's state (`E_STORE_UNAVAILABLE` in a child forked since it
/// was taken).
fn held(o: &mut OwnedLease) -> Result<&mut Held> {
    let st = o.state.downcast_mut::<Held>().ok_or_else(foreign)?;
    st.owner.check()?;
    Ok(st)
}

/// SplitMix64's finaliser: a bijection that spreads its input's bits.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
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
            scripts: Scripts::new(opts.is_cluster()),
            limits,
            absolute_ms: u64::from(absolute_timeout_minutes) * 60_000,
            lock_ttl_ms: ms(opts.lock_ttl),
            grace_ms: ms(opts.grace),
            refresh_ms: ms(opts.expiry_refresh_interval),
            tombstone_ms: ms(opts.retry_budget + opts.op_timeout),
            id_secret: opts.id_secret.clone(),
            clock,
            server_clock: ServerClock::new(),
            cluster: opts.is_cluster(),
            nonce: u64::from_le_bytes(nonce),
            next_token: AtomicU64::new(1),
            pid: AtomicU64::new(0),
            lock_waits: super::LockWaits::default(),
            tally: count::Tally::default(),
            due: parking_lot::Mutex::default(),
            unsettled: parking_lot::Mutex::default(),
            any_unsettled: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// A lock token (decimal, below 2⁶³, so Redis keeps it as an integer)
    /// that no other holder has but by a 2⁻⁶³ chance: a mix of this store's
    /// random nonce, the process (a child made by `fork()` shares the nonce
    /// and the counter) and a count.
    fn token(&self) -> String {
        let n = self.next_token.fetch_add(1, Ordering::Relaxed) & ((1 << 40) - 1);
        let who = self.pid() << 40 | n;
        (mix(self.nonce ^ who) >> 1).max(1).to_string()
    }

    /// This store instance's name in the sweeper lease: its nonce, and the
    /// process (a child made by `fork()` shares the nonce, and is another
    /// sweeper).
    fn owner(&self) -> String {
        format!("{:016x}:{}", self.nonce, self.pid())
    }

    /// This process's ID, read once per fork generation.
    fn pid(&self) -> u64 {
        let generation = u64::from(crate::fork::generation()) + 1;
        let cached = self.pid.load(Ordering::Relaxed);
        if cached >> 32 == generation {
            return cached & 0xFFFF_FFFF;
        }
        let pid = u64::from(std::process::id());
        self.pid.store(generation << 32 | pid, Ordering::Relaxed);
        pid
    }

    /// The data TTL for a deadline: deadline − now + grace.
    fn data_ttl(&self, deadline_ms: u64) -> u64 {
        deadline_ms
            .saturating_sub(self.clock.now_ms())
            .saturating_add(self.grace_ms)
            .max(1)
    }

    /// The least data TTL while a lock is held: the lock's whole lease plus
    /// the grace, so a holder never finds its session dropped from under it
    /// (and, if the holder dies, the sweeper still finds it when the lock
    /// frees).
    fn locked_ttl(&self) -> u64 {
        self.lock_ttl_ms.saturating_add(self.grace_ms)
    }

    /// The server's clock now in ms by this process's estimate (see
    /// `server_clock.rs`; a `TIME` call when it is due for a refresh);
    /// `None` if there is no usable estimate, or the servers form a
    /// cluster (each node has its own clock).
    fn server_now(&self) -> Result<Option<u64>> {
        if self.cluster {
            return Ok(None);
        }
        self.server_clock.now_ms(|| {
            self.pool.run("time", |c| {
                let sent = Instant::now();
                let (secs, micros): (u64, u64) = ::redis::cmd("TIME").query(c)?;
                Ok((sent, Instant::now(), secs * 1000 + micros / 1000))
            })
        })
    }

    /// The end of a lease taken now, in the server's ms by this process's
    /// estimate of its clock; `None`: the script reads the clock.
    fn lease_end(&self) -> Result<Option<u64>> {
        Ok(self
            .server_now()?
            .map(|now| now.saturating_add(self.lock_ttl_ms)))
    }

    /// Whether a lock taken at `locked_at` may have reached its lease's
    /// end by now, by the server's clock: then a save has the server judge
    /// the lease (one `TIME`); before, it checks only that the lock is
    /// still this lease's. The margin covers the estimate of the server's
    /// clock the lease was placed by and the clocks' drift (1 %).
    fn lease_may_have_ended(&self, locked_at: Instant) -> bool {
        let margin = ms(server_clock::ERROR) + self.lock_ttl_ms / 100;
        ms(locked_at.elapsed()).saturating_add(margin) >= self.lock_ttl_ms
    }

    /// The error for a save, move or removal that found no session: its
    /// lock may have run out and the session been ended by whoever took it,
    /// or the session ended while the lock was still this lease's (a server
    /// restarted empty, a key evicted).
    fn lost_or_gone(&self, st: &Held) -> Error {
        if ms(st.locked_at.elapsed()) >= self.lock_ttl_ms {
            lock_lost()
        } else {
            gone()
        }
    }

    /// A lease on a decoded session; `lock`: its token and when it was
    /// taken.
    fn lease(
        &self,
        id: SessionId,
        keys: SessionKeys,
        (token, locked_at): (String, Instant),
        d: Decoded,
        mode: LockMode,
        stored: bool,
    ) -> Lease {
        Lease::copied(OwnedLease {
            id,
            created_ms: d.created_ms,
            data: d.data,
            mode,
            state: Box::new(Held {
                h: KeyHash::from_bytes(keys.member),
                keys,
                token,
                locked_at,
                deadline_ms: d.deadline_ms,
                snapshot: d.snapshot,
                stored,
                owner: Owner::here(),
            }),
        })
    }

    /// Decodes fields a script found: a session must be there.
    fn decode(&self, fields: Fields) -> Result<Decoded> {
        codec::decode_session(fields, &self.limits)?.ok_or_else(|| {
            Error::new(
                error::E_STORE_UNAVAILABLE,
                "Redis returned a session without its fields",
            )
        })
    }

    /// Takes the session exclusively: the acquire script's status and
    /// fields, and when the attempt that gave them was sent.
    fn acquire(
        &self,
        k: &SessionKeys,
        token: &str,
        wait: Duration,
        now_ms: u64,
    ) -> Result<(i64, Option<Fields>, Instant)> {
        // Where an expired session is moved for Session_OnEnd: the call,
        // retried after a lost reply, finds it there.
        let claimed = k.claimed(token);
        remote::wait_for_lock(
            wait,
            now_ms,
            &self.lock_waits,
            |now| {
                let sent = Instant::now();
                let mut call = Call::new(&self.scripts.acquire, &[&k.data, &k.exp, &claimed]);
                call.arg(&k.member[..])
                    .arg(token)
                    .arg(now)
                    .arg(self.lock_ttl_ms)
                    .arg(self.tombstone_ms)
                    .arg(self.locked_ttl())
                    .arg_or_empty(self.lease_end()?);
                let reply: Value = self.pool.run("acquire", |c| call.invoke(c))?;
                Ok(match scripts::status_and_fields(reply)? {
                    // Perhaps by a request of this process that gave up.
                    (2, _) => {
                        self.settle(Some(&k.data), None);
                        Attempt::Locked
                    }
                    (status, fields) => Attempt::Done((status, fields, sent)),
                })
            },
            std::thread::sleep,
        )
    }

    /// Reads the session, waiting while a writer holds it: its fields and
    /// the time they were read at. A plain `HGETALL`; only if `L` holds a
    /// lease does the server judge it (the read script, one more round
    /// trip: its clock is the one every lock is judged by).
    fn read(&self, k: &SessionKeys, wait: Duration, now_ms: u64) -> Result<(Fields, u64)> {
        remote::wait_for_lock(
            wait,
            now_ms,
            &self.lock_waits,
            |now| {
                let reply: Value = self
                    .pool
                    .run("read", |c| ::redis::cmd("HGETALL").arg(&k.data).query(c))?;
                let mut fields = scripts::fields(reply)?;
                if codec::has_lease(&fields) {
                    let call = Call::new(&self.scripts.read, &[&k.data]);
                    let reply: Value = self.pool.run("read", |c| call.invoke(c))?;
                    match scripts::status_and_fields(reply)? {
                        (1, f) => fields = f.unwrap_or_default(),
                        _ => {
                            // Perhaps by a request of this process that
                            // gave up.
                            self.settle(Some(&k.data), None);
                            return Ok(Attempt::Locked);
                        }
                    }
                }
                Ok(Attempt::Done((fields, now)))
            },
            std::thread::sleep,
        )
    }

    /// Moves a read session's deadline on if that moves it by at least the
    /// refresh interval, or half the session's Timeout if that is less, so
    /// a read always leaves the session at least half its Timeout (one more
    /// round trip, at most once per interval). The data's TTL slides with
    /// it, but never below what the lock of a writer that took the session
    /// since the read needs (its lease may be longer than the Timeout).
    /// Best effort against a server out of memory (`E_STORE_FULL`, nothing
    /// written): the read stands, and the session keeps its deadline, as an
    /// ASP.NET read-only request whose slide cannot be written.
    fn slide(&self, k: &SessionKeys, d: &Decoded, now_ms: u64) -> Result<()> {
        let timeout_ms = u64::from(d.data.timeout_minutes()) * 60_000;
        let mut deadline = now_ms + timeout_ms;
        if self.absolute_ms > 0 {
            deadline = deadline.min(d.created_ms.saturating_add(self.absolute_ms));
        }
        let step = self.refresh_ms.min(timeout_ms / 2);
        if deadline < d.deadline_ms.saturating_add(step) {
            return Ok(());
        }
        let ttl = self.data_ttl(deadline);
        let mut call = Call::new(&self.scripts.slide, &[&k.data, &k.exp]);
        call.arg(deadline)
            .arg(ttl)
            .arg(d.deadline_ms)
            .arg(self.grace_ms)
            .arg(&k.member[..]);
        match self.pool.run("slide", |c| call.invoke::<i64>(c)) {
            Err(e) if e.code() != error::E_STORE_FULL => Err(e),
            _ => Ok(()),
        }
    }

    /// Unlocks the session at data key `data` without saving, if `token`
    /// holds it (best effort: used on error paths); whether it did (or
    /// had).
    fn unlock(&self, data: &str, token: &str) -> Result<bool> {
        let mut call = Call::new(&self.scripts.release, &[data]);
        call.arg(token);
        Ok(self.pool.run("release", |c| call.invoke::<i64>(c))? == 1)
    }

    /// Remembers that a call with `token` on `k` failed with `e`: if Redis
    /// was unreachable or hung (`E_STORE_UNAVAILABLE`), the call's script
    /// may still run (a hung server runs it when it wakes), taking or
    /// keeping a lock for a request that is gone, until its `lock_ttl`.
    /// [`RedisStore::settle`] releases it. (Not for a create: see
    /// `insert`.) An acquire or a sweeper's claim (`claims`) may
    /// instead have claimed the session, found expired, for
    /// Session_OnEnd: the sweep then ends it.
    fn unsettle(&self, e: &Error, k: &SessionKeys, token: &str, claims: bool) {
        if e.code() != error::E_STORE_UNAVAILABLE || token.is_empty() {
            return;
        }
        let mut u = self.unsettled.lock();
        if u.len() >= MAX_UNSETTLED {
            u.remove(0);
        }
        u.push(Unsettled {
            keys: k.clone(),
            token: token.to_owned(),
            claims,
            owner: Owner::here(),
        });
        self.any_unsettled.store(true, Ordering::Release);
    }

    /// Releases the unsettled locks (all, or only those on data key
    /// `only`), each if its token still holds it. With `ended` (a sweep,
    /// with the sweeper lease or without), a session an unsettled acquire
    /// claimed is appended there for Session_OnEnd (its claimed copy
    /// deleted); without, such acquires stay for the sweep. Those Redis
    /// could not be asked about stay for the next time. A forked child
    /// drops its parent's: only the parent may release those locks and end
    /// those sessions.
    fn settle(&self, only: Option<&str>, mut ended: Option<&mut Vec<Lease>>) {
        if !self.any_unsettled.load(Ordering::Acquire) {
            return;
        }
        let mine: Vec<Unsettled> = {
            let mut u = self.unsettled.lock();
            let (mine, rest) = std::mem::take(&mut *u)
                .into_iter()
                .filter(|x| x.owner.is_here())
                .partition(|x| only.is_none_or(|o| o == x.keys.data));
            *u = rest;
            self.any_unsettled.store(!u.is_empty(), Ordering::Release);
            mine
        };
        let mut keep = Vec::new();
        let mut left = mine.into_iter();
        while let Some(x) = left.next() {
            let settled = self.unlock(&x.keys.data, &x.token).and_then(|released| {
                if released || !x.claims {
                    return Ok(true);
                }
                match ended.as_deref_mut() {
                    Some(out) => self.end_claimed(&x, out).map(|()| true),
                    None => Ok(false),
                }
            });
            match settled {
                Ok(true) => {}
                Ok(false) => keep.push(x),
                Err(e) if e.code() == error::E_STORE_UNAVAILABLE => {
                    keep.push(x);
                    keep.extend(left);
                    break;
                }
                // Damage (a key of another type): nothing to release.
                Err(_) => {}
            }
        }
        if !keep.is_empty() {
            let mut u = self.unsettled.lock();
            u.extend(keep);
            u.truncate(MAX_UNSETTLED);
            self.any_unsettled.store(true, Ordering::Release);
        }
    }

    /// Ends the session an unsettled acquire `x` claimed, if it did: its
    /// claimed copy (which only this process can name) is read into a
    /// lease appended to `out`, then deleted.
    fn end_claimed(&self, x: &Unsettled, out: &mut Vec<Lease>) -> Result<()> {
        let claimed = x.keys.claimed(&x.token);
        let reply: Value = self
            .pool
            .run("claim", |c| ::redis::cmd("HGETALL").arg(&claimed).query(c))?;
        let fields = scripts::fields(reply)?;
        if fields.is_empty() {
            return Ok(());
        }
        let h = KeyHash::from_bytes(x.keys.member);
        let lease = self.to_end(&h, x.keys.clone(), fields)?;
        // Best effort: the copy expires within seconds anyway.
        let _ = self.pool.run("claim", |c| {
            ::redis::cmd("DEL").arg(&claimed).query::<i64>(c)
        });
        out.push(lease);
        Ok(())
    }

    fn masked_id(&self, h: &KeyHash, id: &SessionId) -> Result<Vec<u8>> {
        match &self.id_secret {
            Some(secret) => Ok(remote::mask_id(secret, h, id.as_bytes())?.to_vec()),
            None => Ok(Vec::new()),
        }
    }
}

impl SessionStore for RedisStore {
    fn mode(&self) -> StoreMode {
        StoreMode::Redis
    }

    fn get(&self, id: &SessionId, mode: LockMode, wait: Duration, now_ms: u64) -> Result<Lookup> {
        let k = self.keys.session(&KeyHash::of(id));
        if mode == LockMode::Shared {
            let (fields, now) = self.read(&k, wait, now_ms)?;
            let Some(d) = codec::decode_session(fields, &self.limits)? else {
                return Ok(Lookup::NotFound);
            };
            if d.deadline_ms <= now {
                // Expired: ended by the sweeper or the next writer.
                return Ok(Lookup::NotFound);
            }
            self.slide(&k, &d, now)?;
            let lease = self.lease(*id, k, (String::new(), Instant::now()), d, mode, true);
            return Ok(Lookup::Found(lease));
        }
        let token = self.token();
        let (status, fields, locked_at) = self
            .acquire(&k, &token, wait, now_ms)
            .inspect_err(|e| self.unsettle(e, &k, &token, true))?;
        match (status, fields) {
            (1, Some(fields)) => match self.decode(fields) {
                Ok(d) => Ok(Lookup::Found(self.lease(
                    *id,
                    k,
                    (token, locked_at),
                    d,
                    mode,
                    true,
                ))),
                Err(e) => {
                    let _ = self.unlock(&k.data, &token);
                    Err(e)
                }
            },
            (3, Some(fields)) => {
                self.tally.removed();
                Ok(match self.decode(fields) {
                    Ok(d) => {
                        Lookup::Expired(self.lease(*id, k, (token, locked_at), d, mode, false))
                    }
                    // Removed, but unreadable: no Session_OnEnd.
                    Err(_) => Lookup::NotFound,
                })
            }
            (0, _) => Ok(Lookup::NotFound),
            (s, _) => Err(Error::new(
                error::E_STORE_UNAVAILABLE,
                format!("Redis gave an unexpected lock status {s}"),
            )),
        }
    }

    fn prepare(&self, id: SessionId, data: SessionData, now_ms: u64) -> Lease {
        let h = KeyHash::of(&id);
        Lease::copied(OwnedLease {
            id,
            created_ms: now_ms,
            data,
            mode: LockMode::Exclusive,
            state: Box::new(Held {
                keys: self.keys.session(&h),
                h,
                token: self.token(),
                locked_at: Instant::now(),
                deadline_ms: 0,
                snapshot: Snapshot::default(),
                stored: false,
                owner: Owner::here(),
            }),
        })
    }

    /// `_now_ms`: unused; the lock's lease starts when the server stores
    /// the session, by its clock.
    fn insert(
        &self,
        lease: &mut Lease,
        _now_ms: u64,
        deadline_ms: u64,
        max_sessions: usize,
    ) -> Result<bool> {
        let o = lease.as_copied_mut().ok_or_else(foreign)?;
        let (id, created_ms) = (o.id, o.created_ms);
        let st = held(o)?;
        if st.stored {
            return Err(Error::new(
                error::E_UNEXPECTED,
                "the session is already stored",
            ));
        }
        let Some(place) = self
            .tally
            .reserve(max_sessions, COUNT_STALE, || self.count_now())?
        else {
            return Err(Error::new(
                error::E_TOO_MANY_SESSIONS,
                format!("the application already holds {max_sessions} sessions"),
            ));
        };
        let masked = self.masked_id(&st.h, &id)?;
        let o = lease.as_copied_mut().ok_or_else(foreign)?;
        let (mut fields, snapshot) = codec::encode_session(
            &o.data,
            created_ms,
            (!masked.is_empty()).then_some(masked.as_slice()),
        )?;
        let st = held(o)?;
        fields.push((
            codec::DEADLINE.to_vec(),
            deadline_ms.to_string().into_bytes(),
        ));
        let ttl = self.data_ttl(deadline_ms).max(self.locked_ttl());
        let k = &st.keys;
        let sent = Instant::now();
        let mut call = Call::new(&self.scripts.create, &[&k.data, &k.exp]);
        call.arg(&k.member[..])
            .arg(&st.token)
            .arg(self.lock_ttl_ms)
            .arg(deadline_ms)
            .arg(ttl)
            .arg_or_empty(self.lease_end()?);
        for (f, v) in &fields {
            call.arg(f).arg(v);
        }
        // A failure leaves nothing unsettled: the unit of work keeps this
        // lease, and its next write inserts again with the same token,
        // finding the session a late create stored as its own.
        let created: i64 = self.pool.run("create", |c| call.invoke(c))?;
        if created != 1 {
            return Ok(false);
        }
        st.stored = true;
        st.locked_at = sent;
        st.deadline_ms = deadline_ms;
        st.snapshot = snapshot;
        place.stored();
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
        let bucket = st.h.bucket();
        let new_id = remote::id_that_fits(new_id, |h| h.bucket() == bucket, "the same Redis slot")?;
        let nh = KeyHash::of(&new_id);
        let new = self.keys.session(&nh);
        let masked = self.masked_id(&nh, &new_id)?;
        let ttl = self.data_ttl(deadline_ms);
        let old = &st.keys;
        let moved: i64 = self.pool.run("regenerate", |c| {
            Call::new(&self.scripts.regenerate, &[&old.data, &old.exp, &new.data])
                .arg(&old.member[..])
                .arg(&new.member[..])
                .arg(&st.token)
                .arg(deadline_ms)
                .arg(ttl)
                .arg(&masked)
                .arg(self.grace_ms)
                .invoke(c)
        })?;
        match moved {
            1 => {
                st.h = nh;
                st.keys = new;
                st.deadline_ms = deadline_ms;
                o.id = new_id;
                Ok(true)
            }
            0 => Ok(false),
            -1 => Err(lock_lost()),
            // Still `stored`: ended elsewhere, not removed by this lease,
            // so a later removal is refused too (no second Session_OnEnd).
            _ => Err(self.lost_or_gone(st)),
        }
    }

    fn release(&self, lease: Lease, deadline_ms: u64) -> Result<()> {
        let mut o = lease.into_copied().ok_or_else(foreign)?;
        let data = std::mem::replace(&mut o.data, SessionData::new(1, 0, 0));
        let (mode, created_ms) = (o.mode, o.created_ms);
        let st = held(&mut o)?;
        if mode == LockMode::Shared || !st.stored {
            // A read-only unit slid the expiry when it read (throttled).
            return Ok(());
        }
        let k = &st.keys;
        let mut changes = match codec::changes(&st.snapshot, &data, created_ms) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.unlock(&k.data, &st.token);
                return Err(e);
            }
        };
        let set = &mut changes.set;
        set.push((
            codec::DEADLINE.to_vec(),
            deadline_ms.to_string().into_bytes(),
        ));
        set.push((codec::LOCK.to_vec(), st.token.clone().into_bytes()));
        let ttl = self.data_ttl(deadline_ms);
        // A deadline moved earlier (a shorter Timeout) moves the index too.
        let earlier = deadline_ms < st.deadline_ms;
        let judge_lease = if self.lease_may_have_ended(st.locked_at) {
            "1"
        } else {
            ""
        };
        let saved: Result<i64> = self.pool.run("save", |c| {
            let mut call = Call::new(&self.scripts.save, &[&k.data, &k.exp]);
            call.arg(&st.token).arg(judge_lease).arg(ttl);
            if earlier {
                call.arg(deadline_ms);
            } else {
                call.arg("");
            }
            call.arg(&k.member[..]).arg(changes.set.len());
            for (f, v) in &changes.set {
                call.arg(f).arg(v);
            }
            for f in &changes.del {
                call.arg(f);
            }
            call.invoke(c)
        });
        let saved = saved.inspect_err(|e| {
            if e.code() == error::E_STORE_FULL {
                // Refused whole, out of memory: the lock goes all the same
                // (the release deletes it if it cannot mark it), so read-only
                // requests go on reading, as out of memory they do.
                let _ = self.unlock(&k.data, &st.token);
            }
            self.unsettle(e, k, &st.token, false);
        })?;
        match saved {
            1 => Ok(()),
            -1 => Err(lock_lost()),
            _ => Err(self.lost_or_gone(st)),
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
            let k = &st.keys;
            let removed: i64 = self
                .pool
                .run("remove", |c| {
                    Call::new(&self.scripts.remove, &[&k.data, &k.exp])
                        .arg(&k.member[..])
                        .arg(&st.token)
                        .arg(self.tombstone_ms)
                        .invoke(c)
                })
                .inspect_err(|e| self.unsettle(e, k, &st.token, false))?;
            match removed {
                1 => {}
                -1 => return Err(lock_lost()),
                _ => return Err(self.lost_or_gone(st)),
            }
            st.stored = false;
            self.tally.removed();
        }
        Ok(Lease::copied(o))
    }

    fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>) -> Result<()> {
        self.sweep(now_ms, usize::MAX, out).map(|_| ())
    }

    fn take_expired_batch(&self, now_ms: u64, max: usize, out: &mut Vec<Lease>) -> Result<bool> {
        self.sweep(now_ms, max, out)
    }

    /// Does nothing: a Redis application's sessions belong to the farm and
    /// outlive this process (Session_OnEnd runs when they expire).
    fn drain(&self, _out: &mut Vec<Lease>) {}

    /// The farm's sessions, counted now (one pipelined round trip);
    /// `E_STORE_UNAVAILABLE` if Redis cannot be reached.
    fn count(&self) -> Result<usize> {
        self.tally.count(|| self.count_now())
    }

    fn lock_waits(&self) -> u64 {
        self.lock_waits.get()
    }
}
