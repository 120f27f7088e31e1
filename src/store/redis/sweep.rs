//! Expiry, Session_OnEnd and counting for the Redis store: the farm-wide
//! sweeper lease, the due sessions of every bucket, the atomic claim of
//! each, and the session count behind `max_sessions`.

use std::time::Instant;

use ::redis::{Cmd, Value};

use super::keys::{self, BUCKETS};
use super::ms;
use super::scripts::Call;
use super::{scripts, Held, RedisStore, COUNT_EVERY, SWEEP_BATCH, SWEEP_LEASE};
use crate::error::{self, Error, Result};
use crate::store::remote::{self, KeyHash, Owner};
use crate::store::{Lease, LockMode, OwnedLease};

/// What one sweep (the batches at one clock reading) has yet to look at:
/// the members its fetch of the expiry indexes found due.
pub(super) struct Due {
    now_ms: u64,
    /// (bucket, member), the next one last.
    members: Vec<(usize, Vec<u8>)>,
    /// The first failure, reported once the members run out.
    error: Option<Error>,
}

impl RedisStore {
    /// Claims up to `max` sessions due at `now_ms` if this process holds
    /// the sweeper lease (or Redis is out of memory, and refuses to store
    /// it), appending them to `out` for Session_OnEnd;
    /// `Ok(true)` if it stopped at `max`. Batches at one `now_ms` share
    /// one fetch of the due members, so a session in use is looked at
    /// once per sweep. A session that fails is skipped, and the sweep's
    /// first failure returned with its last batch (the next sweep tries
    /// again).
    pub(super) fn sweep(&self, now_ms: u64, max: usize, out: &mut Vec<Lease>) -> Result<bool> {
        // A refresh of the count behind `max_sessions` only: the calls
        // below report an unreachable Redis.
        let _ = self.tally.figure(COUNT_EVERY, || self.count_now());
        let mut call = Call::new(&self.scripts.lease, &[self.keys.sweeper()]);
        call.arg(self.owner()).arg(ms(SWEEP_LEASE));
        let ours: Result<i64> = self.pool.run("sweeper lease", |c| call.invoke(c));
        let resumed = self.due.lock().take().filter(|d| d.now_ms == now_ms);
        match ours {
            // Redis answers: the locks this process's failed requests may
            // hold go, whoever sweeps, and the sessions they claimed end
            // here, the only process that can name their copies (which
            // live for the tombstone TTL only).
            Ok(1) => self.settle(None, Some(out)),
            Ok(_) => {
                self.settle(None, Some(out));
                return Ok(false); // another process sweeps now
            }
            // The lease is a new key, refused out of memory; ending
            // sessions frees memory, and the claim alone makes each end
            // once: the lease only spares the farm sweeping twice.
            Err(e) if e.code() == error::E_STORE_FULL => self.settle(None, Some(out)),
            Err(e) => return Err(e),
        }
        let mut due = match resumed {
            Some(due) => due,
            None => self.due(now_ms)?,
        };
        let (mut claimed, max) = (0, max.max(1));
        // Members that name no session of their bucket are never claimed:
        // dropped, lest such members fill every sweep.
        let mut junk: Vec<Vec<u8>> = Vec::new();
        let mut junk_bucket = 0;
        while claimed < max {
            let Some((b, m)) = due.members.pop() else {
                break;
            };
            let Some(h) = keys::member_hash(&m).filter(|h| h.bucket() == b) else {
                if b != junk_bucket {
                    self.drop_junk(junk_bucket, &mut junk, &mut due.error);
                    junk_bucket = b;
                }
                junk.push(m);
                continue;
            };
            // An unreadable or unreachable session is skipped; a claimed
            // but unreadable one is gone without Session_OnEnd.
            match self.claim(&h, &m, now_ms) {
                Ok(Some(lease)) => {
                    out.push(lease);
                    claimed += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    due.error.get_or_insert(e);
                }
            }
        }
        self.drop_junk(junk_bucket, &mut junk, &mut due.error);
        if due.members.is_empty() {
            return due.error.map_or(Ok(false), Err);
        }
        *self.due.lock() = Some(due);
        Ok(true)
    }

    /// Removes `junk`, members of bucket `b`'s expiry index, from it; a
    /// failure is kept in `error` if it is the first.
    fn drop_junk(&self, b: usize, junk: &mut Vec<Vec<u8>>, error: &mut Option<Error>) {
        if junk.is_empty() {
            return;
        }
        let exp = self.keys.exp(b);
        let dropped = self.pool.run("sweep", |c| {
            ::redis::cmd("ZREM")
                .arg(&exp)
                .arg(&junk[..])
                .query::<i64>(c)
        });
        if let Err(e) = dropped {
            error.get_or_insert(e);
        }
        junk.clear();
    }

    /// Runs `cmd(b)` for every bucket b, one call each (a cluster: a script
    /// may touch one slot only), within one retry budget overall. A
    /// bucket whose index is of the wrong type (damage) gives
    /// `T::default()`: it stops no sweep or count of the others.
    fn each_bucket<T: ::redis::FromRedisValue + Default>(
        &self,
        what: &str,
        cmd: impl Fn(usize) -> Cmd,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(BUCKETS);
        let mut next = 0;
        self.pool.run(what, |c| {
            while next < BUCKETS {
                out.push(match cmd(next).query(c) {
                    Err(e) if e.code() == Some("WRONGTYPE") => T::default(),
                    reply => reply?,
                });
                next += 1;
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Every bucket's expiry index, as a script's keys.
    fn all_exp_keys(&self) -> Vec<String> {
        (0..BUCKETS).map(|b| self.keys.exp(b)).collect()
    }

    /// Counts the farm's sessions now: one script on one server, one call
    /// per bucket in a cluster.
    pub(super) fn count_now(&self) -> Result<usize> {
        let total: u64 = if self.cluster {
            let sizes: Vec<u64> = self.each_bucket("count", |b| {
                let mut c = ::redis::cmd("ZCARD");
                c.arg(self.keys.exp(b));
                c
            })?;
            sizes.iter().sum()
        } else {
            let keys = self.all_exp_keys();
            let call = Call::new(&self.scripts.count, &keys);
            self.pool.run("count", |c| call.invoke(c))?
        };
        Ok(usize::try_from(total).unwrap_or(usize::MAX))
    }

    /// A sweep of the expiry index members due at `now_ms` (at most
    /// [`SWEEP_BATCH`] per bucket), to be claimed bucket by bucket.
    fn due(&self, now_ms: u64) -> Result<Due> {
        let lists: Vec<Vec<Vec<u8>>> = if self.cluster {
            self.each_bucket("sweep", |b| {
                let mut c = ::redis::cmd("ZRANGEBYSCORE");
                c.arg(self.keys.exp(b))
                    .arg("-inf")
                    .arg(now_ms)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(SWEEP_BATCH);
                c
            })?
        } else {
            let keys = self.all_exp_keys();
            let mut call = Call::new(&self.scripts.due, &keys);
            call.arg(now_ms).arg(SWEEP_BATCH);
            self.pool.run("sweep", |c| call.invoke(c))?
        };
        if lists.len() != BUCKETS {
            return Err(scripts::bad_reply("not one list per bucket"));
        }
        let mut members: Vec<(usize, Vec<u8>)> = lists
            .into_iter()
            .enumerate()
            .flat_map(|(b, list)| list.into_iter().map(move |m| (b, m)))
            .collect();
        members.reverse();
        Ok(Due {
            now_ms,
            members,
            error: None,
        })
    }

    /// Claims the expired session `h`, indexed as `member`, for
    /// Session_OnEnd, if it is expired and not in use (one not due yet is
    /// re-indexed at its deadline).
    fn claim(&self, h: &KeyHash, member: &[u8], now_ms: u64) -> Result<Option<Lease>> {
        let k = self.keys.session(h);
        // A claim retried after a lost reply finds the session under this
        // token, where its first run moved it; one that gave up may have
        // moved it all the same, for this process's next sweep to end.
        let token = self.token();
        let claimed = k.claimed(&token);
        let mut call = Call::new(&self.scripts.claim, &[&k.data, &k.exp, &claimed]);
        call.arg(member).arg(now_ms).arg(self.tombstone_ms);
        let reply: Value = self
            .pool
            .run("claim", |c| call.invoke(c))
            .inspect_err(|e| self.unsettle(e, &k, &token, true))?;
        let (status, fields) = scripts::status_and_fields(reply)?;
        let (1, Some(fields)) = (status, fields) else {
            return Ok(None);
        };
        self.to_end(h, k, fields).map(Some)
    }

    /// A lease for Session_OnEnd on the claimed session `h` (keys `k`),
    /// whose `fields` were read: its real ID if the secret unmasks it,
    /// else a stand-in.
    pub(super) fn to_end(
        &self,
        h: &KeyHash,
        k: super::keys::SessionKeys,
        fields: super::codec::Fields,
    ) -> Result<Lease> {
        self.tally.removed();
        let d = self.decode(fields)?;
        let id = match (&self.id_secret, &d.masked_id) {
            (Some(secret), Some(masked)) => remote::unmask_id(secret, h, masked),
            _ => None,
        };
        let id = match id {
            Some(id) => id,
            None => h.stand_in_id()?,
        };
        Ok(Lease::copied(OwnedLease {
            id,
            created_ms: d.created_ms,
            data: d.data,
            mode: LockMode::Exclusive,
            state: Box::new(Held {
                h: *h,
                keys: k,
                token: String::new(),
                locked_at: Instant::now(),
                deadline_ms: d.deadline_ms,
                snapshot: d.snapshot,
                stored: false,
                owner: Owner::here(),
            }),
        }))
    }
}
