//! The in-process store with saves and removals that fail on demand, as a
//! shared store's do when it goes down mid-request: what a request's end
//! then leaves the client.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sess::error::{self, Error, Result};
use sess::state::{SessionData, SessionId};
use sess::store::{Lease, LockMode, Lookup, MemoryStore, SessionStore, StoreMode};

/// [`MemoryStore`] whose `release` and `remove` fail while `failing` is set
/// (the lease is let go, as a store that lost its connection does).
pub struct FailingStore {
    inner: MemoryStore,
    pub failing: AtomicBool,
}

impl FailingStore {
    /// A store that works until `failing` is set.
    pub fn new() -> Arc<FailingStore> {
        Arc::new(FailingStore {
            inner: MemoryStore::new().unwrap(),
            failing: AtomicBool::new(false),
        })
    }

    /// Makes saves and removals fail (`true`) or work again.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn down(&self) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::new(
                error::E_STORE_UNAVAILABLE,
                "the test store is down",
            ));
        }
        Ok(())
    }
}

impl SessionStore for FailingStore {
    fn mode(&self) -> StoreMode {
        self.inner.mode()
    }
    fn get(&self, id: &SessionId, mode: LockMode, wait: Duration, now: u64) -> Result<Lookup> {
        self.inner.get(id, mode, wait, now)
    }
    fn prepare(&self, id: SessionId, data: SessionData, now_ms: u64) -> Lease {
        self.inner.prepare(id, data, now_ms)
    }
    fn insert(&self, l: &mut Lease, now: u64, deadline: u64, max: usize) -> Result<bool> {
        self.inner.insert(l, now, deadline, max)
    }
    fn regenerate(&self, l: &mut Lease, id: SessionId, deadline: u64) -> Result<bool> {
        self.inner.regenerate(l, id, deadline)
    }
    fn release(&self, lease: Lease, deadline_ms: u64) -> Result<()> {
        self.down()?;
        self.inner.release(lease, deadline_ms)
    }
    fn remove(&self, lease: Lease) -> Result<Lease> {
        self.down()?;
        self.inner.remove(lease)
    }
    fn upgrade(&self, shared: Lease, wait: Duration, now: &dyn Fn() -> u64) -> Result<Lookup> {
        self.inner.upgrade(shared, wait, now)
    }
    fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>) -> Result<()> {
        self.inner.take_expired(now_ms, out)
    }
    fn take_expired_batch(&self, now: u64, max: usize, out: &mut Vec<Lease>) -> Result<bool> {
        self.inner.take_expired_batch(now, max, out)
    }
    fn drain(&self, out: &mut Vec<Lease>) {
        self.inner.drain(out)
    }
    fn count(&self) -> Result<usize> {
        self.inner.count()
    }
    fn lock_waits(&self) -> u64 {
        self.inner.lock_waits()
    }
}
