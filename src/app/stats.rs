//! Counters for operators, as ASP's and ASP.NET's performance counters give
//! them: sessions current and created, timed out, abandoned, lock waits and
//! timeouts, store errors. Each is a relaxed atomic add on a path that is
//! already slow (a session stored, ended, or a call failing), never on a
//! plain read or write of a session.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{self, Error};

/// A snapshot of an application's counters, all since it was created
/// (`sessions_current` and `lock_waits` come from the store: for a shared
/// store, `sessions_current` is the farm's). With the in-process store and
/// no unit of work open, they balance: `sessions_current` =
/// `sessions_total` - `sessions_timed_out` - `sessions_abandoned`, also
/// while a sweep runs (a snapshot waits, at most 200 ms, for a batch the
/// sweep has taken out of the store to be counted timed out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppStats {
    /// Sessions stored now, or `None` when the store cannot count them
    /// now (a failure with `E_STORE_UNAVAILABLE` counts in `store_errors`).
    pub sessions_current: Option<u64>,
    /// Sessions created by this application: new sessions stored by a
    /// unit of work that ended keeping them (closed, abandoned or not). A
    /// new session its unit discards (the request failed: the client gets
    /// no cookie), or whose Session_OnStart failed, is not counted.
    pub sessions_total: u64,
    /// Sessions ended because their Timeout passed.
    pub sessions_timed_out: u64,
    /// Sessions ended by Abandon.
    pub sessions_abandoned: u64,
    /// Requests that found their session locked and waited.
    pub lock_waits: u64,
    /// Requests that gave up waiting (`E_LOCK_TIMEOUT`).
    pub lock_timeouts: u64,
    /// Store calls that failed with `E_STORE_UNAVAILABLE`.
    pub store_errors: u64,
}

/// The application's own counters (the store keeps the rest).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) created: AtomicU64,
    pub(crate) timed_out: AtomicU64,
    pub(crate) abandoned: AtomicU64,
    lock_timeouts: AtomicU64,
    store_errors: AtomicU64,
    /// Sweep batches begun and done (see [`Counters::sweep_batch`]): equal
    /// while no batch is between the store's count and `timed_out`.
    batches_begun: AtomicU64,
    batches_done: AtomicU64,
}

/// How long a snapshot waits for a sweep's batch to be counted before it
/// takes what it reads (a batch is counted microseconds after its claim;
/// this bounds a reader whose sweeping thread stalls, or a host store's
/// claim callback that reads the counters itself).
const BATCH_WAIT: Duration = Duration::from_millis(200);

#[cfg(test)]
thread_local! {
    /// Runs (once) when this thread's snapshot finds a batch in flight.
    pub(crate) static IN_FLIGHT: std::cell::RefCell<Option<Box<dyn FnOnce()>>> =
        const { std::cell::RefCell::new(None) };
}

impl Counters {
    /// Adds `n` to `counter`.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a failed store call by its code; passes the result through.
    pub(crate) fn check<T>(&self, r: crate::error::Result<T>) -> crate::error::Result<T> {
        if let Err(e) = &r {
            self.failed(e);
        }
        r
    }

    fn failed(&self, e: &Error) {
        match e.code() {
            error::E_LOCK_TIMEOUT => Self::add(&self.lock_timeouts, 1),
            error::E_STORE_UNAVAILABLE => Self::add(&self.store_errors, 1),
            _ => {}
        }
    }

    /// Claims a sweep's batch with `claim` (the store lowers its count as
    /// it claims; `claim` gives how many it claimed) and counts them timed
    /// out, marked as one batch in flight for [`Counters::steady`]: two
    /// atomic adds per batch of up to 64 sessions, nothing on a request.
    pub(crate) fn sweep_batch<T>(&self, claim: impl FnOnce() -> (T, u64)) -> T {
        self.batches_begun.fetch_add(1, Ordering::Relaxed);
        // The store's count changes after the mark (see `steady`).
        fence(Ordering::Release);
        let (r, n) = claim();
        Self::add(&self.timed_out, n);
        self.batches_done.fetch_add(1, Ordering::Release);
        r
    }

    /// `read` (the store's count and a snapshot) taken while no sweep's
    /// batch is between the store's count and `timed_out`, so the
    /// in-process counters balance; retried while one is, for at most
    /// [`BATCH_WAIT`].
    pub(crate) fn steady(&self, read: impl Fn() -> AppStats) -> AppStats {
        let mut since = None;
        loop {
            let done = self.batches_done.load(Ordering::Acquire);
            let stats = read();
            // A count `read` saw lowered by a batch comes after its mark.
            fence(Ordering::Acquire);
            if self.batches_begun.load(Ordering::Relaxed) == done {
                return stats;
            }
            #[cfg(test)]
            IN_FLIGHT.with(|h| h.borrow_mut().take().map(|f| f()));
            if since.get_or_insert_with(Instant::now).elapsed() > BATCH_WAIT {
                return stats;
            }
            std::thread::yield_now();
        }
    }

    /// The snapshot, with the store's figures.
    pub(crate) fn snapshot(&self, sessions_current: Option<u64>, lock_waits: u64) -> AppStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AppStats {
            sessions_current,
            sessions_total: get(&self.created),
            sessions_timed_out: get(&self.timed_out),
            sessions_abandoned: get(&self.abandoned),
            lock_waits,
            lock_timeouts: get(&self.lock_timeouts),
            store_errors: get(&self.store_errors),
        }
    }
}
