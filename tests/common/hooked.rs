//! The in-process store with a test's hooks around some of its calls: a
//! store that goes down, or something another thread does at a chosen
//! moment. Every call the hooks leave alone is the in-process store's own.

use std::time::Duration;

use sess::error::Result;
use sess::state::{SessionData, SessionId};
use sess::store::{Lease, LockMode, Lookup, MemoryStore, SessionStore, StoreMode};

/// What a test does around the in-process store's calls; each hook's
/// default does nothing.
pub trait Hooks: Send + Sync {
    /// Runs before each lookup (`get`) and count; an error is the store's
    /// answer instead.
    fn before_lookup(&self) -> Result<()> {
        Ok(())
    }

    /// Sees each `insert`'s result before its caller does.
    fn after_insert(&self, _inserted: &Result<bool>) {}

    /// Runs before each save (`release`) and removal; an error is the
    /// store's answer instead, the lease let go (a store that lost its
    /// connection mid-request).
    fn before_save(&self) -> Result<()> {
        Ok(())
    }
}

/// The in-process store, with `hooks` around its calls.
pub struct Hooked<H> {
    pub inner: MemoryStore,
    pub hooks: H,
}

impl<H: Hooks> Hooked<H> {
    /// A new, empty in-process store with `hooks`.
    pub fn new(hooks: H) -> Self {
        Hooked {
            inner: MemoryStore::new().unwrap(),
            hooks,
        }
    }
}

impl<H: Hooks> SessionStore for Hooked<H> {
    fn mode(&self) -> StoreMode {
        self.inner.mode()
    }
    fn get(&self, id: &SessionId, mode: LockMode, wait: Duration, now_ms: u64) -> Result<Lookup> {
        self.hooks.before_lookup()?;
        self.inner.get(id, mode, wait, now_ms)
    }
    fn prepare(&self, id: SessionId, data: SessionData, now_ms: u64) -> Lease {
        self.inner.prepare(id, data, now_ms)
    }
    fn insert(
        &self,
        lease: &mut Lease,
        now_ms: u64,
        deadline_ms: u64,
        max_sessions: usize,
    ) -> Result<bool> {
        let inserted = self.inner.insert(lease, now_ms, deadline_ms, max_sessions);
        self.hooks.after_insert(&inserted);
        inserted
    }
    fn regenerate(&self, lease: &mut Lease, new_id: SessionId, deadline_ms: u64) -> Result<bool> {
        self.inner.regenerate(lease, new_id, deadline_ms)
    }
    fn release(&self, lease: Lease, deadline_ms: u64) -> Result<()> {
        self.hooks.before_save()?;
        self.inner.release(lease, deadline_ms)
    }
    fn remove(&self, lease: Lease) -> Result<Lease> {
        self.hooks.before_save()?;
        self.inner.remove(lease)
    }
    fn upgrade(&self, shared: Lease, wait: Duration, now: &dyn Fn() -> u64) -> Result<Lookup> {
        self.inner.upgrade(shared, wait, now)
    }
    fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>) -> Result<()> {
        self.inner.take_expired(now_ms, out)
    }
    fn take_expired_batch(&self, now_ms: u64, max: usize, out: &mut Vec<Lease>) -> Result<bool> {
        self.inner.take_expired_batch(now_ms, max, out)
    }
    fn drain(&self, out: &mut Vec<Lease>) {
        self.inner.drain(out)
    }
    fn count(&self) -> Result<usize> {
        self.hooks.before_lookup()?;
        self.inner.count()
    }
    fn lock_waits(&self) -> u64 {
        self.inner.lock_waits()
    }
}
