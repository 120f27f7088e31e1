//! Session locks in a table of atomic words shared by every process that
//! opens the directory (the file `sess-locks`, memory-mapped), so taking
//! and freeing a lock is one compare-and-swap instead of an LMDB write
//! transaction.
//!
//! A session's lock is the slot its key hash picks (2^20 slots: sessions
//! that share a slot share a lock, a brief wait at worst). A slot is 0 when
//! free, else its holder's word: when the lock was taken (the low 40 bits
//! of the store clock in milliseconds, so 17 years before the comparison
//! wraps) and a 24-bit tag of the holder's token. A lock older than the
//! lease is stale: its holder crashed or hung. Breaking a stale lock
//! happens only inside an LMDB write transaction, where every save checks
//! that its lock still holds, so a holder whose lock was broken can never
//! save after the new holder read the session. This process remembers the
//! exact word of each lock it holds, by token and slot (a token changing
//! its session's ID holds two). Waiters sleep until a free wakes them
//! (`wakes.rs`), their pause at most.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::wakes::Wakes;
use super::words::SharedWords;
use crate::error::Result;

/// Slots in the table (a power of two).
const SLOTS: usize = 1 << 20;
/// The file's first 8 bytes: its format (all zeros: being created).
const MAGIC: &[u8; 8] = b"sesslck1";
const SINCE_BITS: u32 = 40;
const SINCE_MASK: u64 = (1 << SINCE_BITS) - 1;
const TAG_BITS: u32 = 24;

/// What trying to take a lock found.
pub(super) enum Take {
    /// Taken.
    Taken,
    /// Held by a live lock.
    Busy,
    /// Held by a lock past its lease (this word): break it with
    /// [`LockTable::break_stale`] inside a write transaction.
    Stale(u64),
}

/// The shared lock table and this process's held locks.
pub(super) struct LockTable {
    /// Word 0 the magic, then one per slot.
    words: SharedWords,
    lease_ms: u64,
    /// (token, slot) → the word this process holds that lock with. Looked
    /// up three times per writing request, so hashed with foldhash (seeded
    /// per map) rather than SipHash: it holds only the requests in flight,
    /// so no input can flood it.
    held: Mutex<HashMap<(u64, usize), u64, foldhash::fast::RandomState>>,
    /// Where waiters sleep and frees wake them.
    wakes: Wakes,
}

impl LockTable {
    /// Opens (creating if needed) the table of the directory `dir`.
    pub(super) fn open(dir: &Path, lease_ms: u64) -> Result<LockTable> {
        Ok(LockTable {
            words: SharedWords::open(&dir.join("sess-locks"), "lock table", MAGIC, SLOTS)?,
            lease_ms,
            held: Mutex::new(HashMap::default()),
            wakes: Wakes::open(dir)?,
        })
    }

    /// Slot `i`'s word.
    fn word(&self, i: usize) -> &AtomicU64 {
        self.words.word(i)
    }

    /// The slot of key hash `h`.
    fn slot_of(h: &[u8; 16]) -> usize {
        let x = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
        1 + (x as usize & (SLOTS - 1))
    }

    /// Whether `word` is a lock that holds at `now_ms`.
    fn live(&self, word: u64, now_ms: u64) -> bool {
        if word == 0 {
            return false;
        }
        let age = now_ms.wrapping_sub(word >> TAG_BITS) & SINCE_MASK;
        // A clock that went back shows as a huge age: still held.
        age < self.lease_ms || age >= 1 << (SINCE_BITS - 1)
    }

    /// Whether the lock of `h` is held (by anyone) at `now_ms`.
    pub(super) fn is_held(&self, h: &[u8; 16], now_ms: u64) -> bool {
        self.live(self.word(Self::slot_of(h)).load(Ordering::Acquire), now_ms)
    }

    /// Tries to take the lock of `h` for `token` at `now_ms`.
    pub(super) fn take(&self, h: &[u8; 16], token: u64, now_ms: u64) -> Take {
        let slot = Self::slot_of(h);
        let mine = word_for(token, now_ms);
        match self
            .word(slot)
            .compare_exchange(0, mine, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                self.held.lock().insert((token, slot), mine);
                Take::Taken
            }
            Err(w) if self.live(w, now_ms) => Take::Busy,
            Err(w) => Take::Stale(w),
        }
    }

    /// Takes the lock of `h` for `token` from the stale holder `stale`,
    /// if that is still who holds it. Call only inside an LMDB write
    /// transaction (see the module documentation).
    pub(super) fn break_stale(&self, h: &[u8; 16], stale: u64, token: u64, now_ms: u64) -> bool {
        let slot = Self::slot_of(h);
        let mine = word_for(token, now_ms);
        let taken = self
            .word(slot)
            .compare_exchange(stale, mine, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if taken {
            self.held.lock().insert((token, slot), mine);
        }
        taken
    }

    /// Whether `token` still holds the lock of `h` (not broken as stale).
    /// Saves call this inside their write transaction.
    pub(super) fn holds(&self, h: &[u8; 16], token: u64) -> bool {
        let slot = Self::slot_of(h);
        self.held
            .lock()
            .get(&(token, slot))
            .is_some_and(|&mine| self.word(slot).load(Ordering::Acquire) == mine)
    }

    /// Frees the lock of `h` that `token` holds (nothing if it holds none,
    /// or it was broken meanwhile).
    pub(super) fn free(&self, h: &[u8; 16], token: u64) {
        let slot = Self::slot_of(h);
        if let Some(mine) = self.held.lock().remove(&(token, slot)) {
            let freed =
                self.word(slot)
                    .compare_exchange(mine, 0, Ordering::AcqRel, Ordering::Acquire);
            if freed.is_ok() {
                self.wakes.wake(slot);
            }
        }
    }

    /// Sleeps until the lock of `h` is freed (by any process), for
    /// `pause` at most; at once if it is free.
    pub(super) fn wait_free(&self, h: &[u8; 16], pause: Duration) {
        let slot = Self::slot_of(h);
        self.wakes
            .wait(slot, pause, || self.word(slot).load(Ordering::SeqCst) != 0);
    }
}

/// The slot word of a lock taken by `token` at `now_ms` (never 0).
fn word_for(token: u64, now_ms: u64) -> u64 {
    let tag = (token ^ (token >> TAG_BITS) ^ (token >> (2 * TAG_BITS))) & ((1 << TAG_BITS) - 1);
    ((now_ms & SINCE_MASK) << TAG_BITS) | tag.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error;

    fn table(what: &str) -> (LockTable, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("libsess-lmdb-locks-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (LockTable::open(&dir, 1000).unwrap(), dir)
    }

    #[test]
    fn leases_breaks_and_owner_checks() {
        let (t, dir) = table("lease");
        let h = [7u8; 16];
        assert!(matches!(t.take(&h, 1, 5_000), Take::Taken));
        assert!(t.is_held(&h, 5_999) && t.holds(&h, 1));
        assert!(matches!(t.take(&h, 2, 5_999), Take::Busy));
        // A clock that went back keeps the lock held.
        assert!(matches!(t.take(&h, 2, 4_000), Take::Busy));
        let Take::Stale(word) = t.take(&h, 2, 6_000) else {
            panic!("past the lease")
        };
        assert!(t.break_stale(&h, word, 2, 6_000));
        // The first holder lost it: not its to check or free.
        assert!(!t.holds(&h, 1) && t.holds(&h, 2));
        t.free(&h, 1);
        assert!(t.is_held(&h, 6_000));
        // A break races with another: only one wins.
        assert!(!t.break_stale(&h, word, 3, 6_000));
        t.free(&h, 2);
        assert!(!t.is_held(&h, 6_000) && !t.holds(&h, 2));
        // A second table on the file (another process) sees the same words.
        let other = LockTable::open(&dir, 1000).unwrap();
        assert!(matches!(t.take(&h, 4, 7_000), Take::Taken));
        assert!(matches!(other.take(&h, 5, 7_000), Take::Busy));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Times `f`.
    fn timed(f: impl FnOnce()) -> Duration {
        let start = std::time::Instant::now();
        f();
        start.elapsed()
    }

    #[test]
    fn a_free_wakes_a_waiter_in_another_process() {
        let (t, dir) = table("wake");
        // Another mapping of the files: what another process has. (A
        // process-private futex would not wake across two mappings.)
        let other = LockTable::open(&dir, 1000).unwrap();
        let h = [9u8; 16];
        let long = Duration::from_secs(30);
        // Free: no wait at all.
        assert!(timed(|| other.wait_free(&h, long)) < long / 3);
        assert!(matches!(t.take(&h, 1, 5_000), Take::Taken));
        // Never freed: the pause bounds the wait.
        let pause = Duration::from_millis(50);
        assert!((pause..long / 3).contains(&timed(|| other.wait_free(&h, pause))));
        // Freed after 100 ms: the waiter wakes then, not at its pause.
        let waited = std::thread::scope(|s| {
            let waiter = s.spawn(|| timed(|| other.wait_free(&h, long)));
            std::thread::sleep(Duration::from_millis(100));
            t.free(&h, 1);
            waiter.join().unwrap()
        });
        assert!(waited < long / 3, "woken after {waited:?}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn no_wake_up_is_lost() {
        // Threads on two mappings hand one lock around; each wait's pause
        // is long, so a lost wake-up shows as a wait that lasted it.
        let (t, dir) = table("handoff");
        let other = LockTable::open(&dir, 60_000).unwrap();
        let h = [3u8; 16];
        let pause = Duration::from_secs(20);
        let longest = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4u64)
                .map(|w| {
                    let table = if w % 2 == 0 { &t } else { &other };
                    s.spawn(move || {
                        let mut longest = Duration::ZERO;
                        for i in 0..300 {
                            let token = (w << 32) | i | 1;
                            while !matches!(table.take(&h, token, 1_000), Take::Taken) {
                                longest = longest.max(timed(|| table.wait_free(&h, pause)));
                            }
                            std::hint::spin_loop();
                            table.free(&h, token);
                        }
                        longest
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap())
                .max()
                .unwrap()
        });
        assert!(longest < pause / 4, "a wait lasted {longest:?}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let (t, dir) = table("foreign");
        drop(t);
        let path = dir.join("sess-locks");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..8].copy_from_slice(b"other v1");
        std::fs::write(&path, &bytes).unwrap();
        let e = LockTable::open(&dir, 1000).err().unwrap();
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        std::fs::write(&path, b"short").unwrap();
        let e = LockTable::open(&dir, 1000).err().unwrap();
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        // The wake-up file is checked as well.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(dir.join("sess-wakes"), b"short").unwrap();
        let e = LockTable::open(&dir, 1000).err().unwrap();
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(e.to_string().contains("wake-up"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
