//! Expiry, Session_OnEnd and counting for the Redis store: the farm-wide
//! sweeper lease, the due sessions of every bucket, the atomic claim of
//! each, and the session count behind `max_sessions`.

use std::time::Instant;

use ::redis::{Cmd, Value};

use super::keys::{self, BUCKETS};
use super::ms;
use super::scripts::Call;
use super::{scripts, Held, RedisStore, COUNT_EVERY, SWEEP_BATCH, SWEEP_LEASE};
use crate::error::Result;
use crate::store::remote::{self, KeyHash};
use crate::store::{Lease, LockMode, OwnedLease};

impl RedisStore {
    /// Ends what is due at `now_ms` if this process holds the sweeper
    /// lease: every claimed session is appended to `out` for Session_OnEnd.
    /// Failures are skipped (the next sweep tries again).
    pub(super) fn sweep(&self, now_ms: u64, out: &mut Vec<Lease>) -> Result<()> {
        // A refresh of the count behind `max_sessions` only: the calls
        // below report an unreachable Redis.
        let _ = self.tally.figure(COUNT_EVERY, || self.count_now());
        let mut call = Call::new(&self.scripts.lease, &[self.keys.sweeper()]);
        call.arg(&self.owner).arg(ms(SWEEP_LEASE));
        let ours: Result<i64> = self.pool.run("sweeper lease", |c| call.invoke(c));
        if ours? != 1 {
            return Ok(()); // another process sweeps now
        }
        let mut first_error = None;
        for (b, members) in self.due(now_ms)?.into_iter().enumerate() {
            let mut junk = Vec::new();
            for m in members {
                // A member that names no session of this bucket is never
                // claimed: dropped, lest such members fill every batch.
                let Some(h) = keys::member_hash(&m).filter(|h| h.bucket() == b) else {
                    junk.push(m);
                    continue;
                };
                // An unreadable or unreachable session is skipped (and its
                // failure reported once the others are claimed); a claimed
                // but unreadable one is gone without Session_OnEnd.
                match self.claim(&h, &m, now_ms) {
                    Ok(Some(lease)) => out.push(lease),
                    Ok(None) => {}
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if !junk.is_empty() {
                let exp = self.keys.exp(b);
                let dropped = self.pool.run("sweep", |c| {
                    ::redis::cmd("ZREM").arg(&exp).arg(&junk).query::<i64>(c)
                });
                if let Err(e) = dropped {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs `cmd(b)` for every bucket b, one call each (a cluster: a script
    /// may touch one slot only), within one retry budget overall.
    fn each_bucket<T: ::redis::FromRedisValue>(
        &self,
        what: &str,
        cmd: impl Fn(usize) -> Cmd,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(BUCKETS);
        let mut next = 0;
        self.pool.run(what, |c| {
            while next < BUCKETS {
                out.push(cmd(next).query(c)?);
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

    /// The expiry index members due at `now_ms`, bucket by bucket (at most
    /// [`SWEEP_BATCH`] each).
    fn due(&self, now_ms: u64) -> Result<Vec<Vec<Vec<u8>>>> {
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
        Ok(lists)
    }

    /// Claims the expired session `h`, indexed as `member`, for
    /// Session_OnEnd, if it is expired and not in use (one not due yet is
    /// re-indexed at its deadline).
    fn claim(&self, h: &KeyHash, member: &[u8], now_ms: u64) -> Result<Option<Lease>> {
        let k = self.keys.session(h);
        // A claim retried after a lost reply finds the session under this
        // token, where its first run moved it.
        let claimed = k.claimed(&self.token());
        let mut call = Call::new(&self.scripts.claim, &[&k.data, &k.exp, &claimed]);
        call.arg(member).arg(now_ms).arg(self.tombstone_ms);
        let reply: Value = self.pool.run("claim", |c| call.invoke(c))?;
        let (status, fields) = scripts::status_and_fields(reply)?;
        let (1, Some(fields)) = (status, fields) else {
            return Ok(None);
        };
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
        Ok(Some(Lease::copied(OwnedLease {
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
            }),
        })))
    }
}
