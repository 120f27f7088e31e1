//! Sleeping less across the processes that open one directory: a file of
//! shared words (`sess-wakes`, memory-mapped): a writer-busy word and 4,096
//! wake-up channels, each a futex word and a count of its sleepers.
//!
//! **Lock waiters.** A waiter counts itself in its lock's channel, reads
//! the channel's sequence word, checks the lock once more and sleeps on the
//! word (up to its pause); a holder that frees a lock whose channel counts
//! waiters bumps the word and wakes them all. Both sides put a full fence
//! between their write and their read (the waiter: its count, then the
//! lock; the holder: the lock, then the count), so a waiter that saw the
//! lock held is always seen by the holder that frees it: no wake-up is
//! lost. Locks that share a channel (1 in [`CHANNELS`]) only cost a
//! spurious wake-up. The pause stays the bound: a lock whose holder crashed
//! is never freed, and its waiters wake at their pause to find it stale, as
//! when polling. A process killed while it sleeps leaves its count behind,
//! so that channel's frees always wake (a system call each), harmless
//! otherwise. Futexes are Linux's; elsewhere a waiter just sleeps its pause.
//!
//! **Writers.** LMDB admits one write transaction at a time, behind a
//! robust mutex whose waiters sleep at once (a wake-up costs tens of µs on
//! a VM, longer than a transaction). A process about to write marks the
//! busy word and clears it after; another first waits on its CPU while the
//! word is marked, a few transactions' worth at most, then goes to LMDB's
//! mutex. The word is only a hint: a process killed while writing leaves
//! it marked until the next write clears it, costing one bounded wait.

use std::path::Path;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::words::SharedWords;
use crate::error::Result;

/// Channels in the file (a power of two).
const CHANNELS: usize = 1 << 12;
/// The file's first 8 bytes: its format (all zeros: being created).
const MAGIC: &[u8; 8] = b"sesswak1";
/// Words after the magic one: the writer-busy word, then a channel (two
/// 32-bit words) per word.
const WORDS: usize = 1 + CHANNELS;
/// How long a writer waits on its CPU for another's write (a few
/// transactions' worth) before it sleeps.
const WRITER_SPIN: Duration = Duration::from_micros(50);

/// The shared words of one directory.
pub(super) struct Wakes {
    words: SharedWords,
}

impl Wakes {
    /// Opens (creating if needed) the shared words of the directory `dir`.
    pub(super) fn open(dir: &Path) -> Result<Wakes> {
        let words = SharedWords::open(&dir.join("sess-wakes"), "wake-up file", MAGIC, WORDS)?;
        Ok(Wakes { words })
    }

    /// The sequence word and the waiter count of the channel of lock
    /// `slot`.
    fn channel(&self, slot: usize) -> (&AtomicU32, &AtomicU32) {
        let [seq, waiters] = self.words.halves(2 + (slot & (CHANNELS - 1)));
        (seq, waiters)
    }

    /// Sleeps until a free of a lock of `slot`'s channel, or for `pause`,
    /// unless `held` (checked after this waiter is counted) says the lock
    /// is free already.
    pub(super) fn wait(&self, slot: usize, pause: Duration, held: impl FnOnce() -> bool) {
        let (seq, waiters) = self.channel(slot);
        waiters.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let seen = seq.load(Ordering::SeqCst);
        if held() {
            sleep_on(seq, seen, pause);
        }
        waiters.fetch_sub(1, Ordering::SeqCst);
    }

    /// The writer-busy word.
    fn busy(&self) -> &AtomicU64 {
        self.words.word(1)
    }

    /// Waits on this CPU while another process marks itself writing (for
    /// [`WRITER_SPIN`] at most), then marks this one: call just before
    /// beginning a write transaction, and [`Self::done_writing`] after it.
    pub(super) fn start_writing(&self) {
        let busy = self.busy();
        let _ = spin_for(|| (busy.load(Ordering::Relaxed) == 0).then_some(()));
        busy.store(1, Ordering::Relaxed);
    }

    /// Clears the writer-busy mark after a write transaction ended.
    pub(super) fn done_writing(&self) {
        self.busy().store(0, Ordering::Relaxed);
    }

    /// Wakes the waiters of `slot`'s channel, if it counts any. Call after
    /// freeing a lock of that slot.
    pub(super) fn wake(&self, slot: usize) {
        fence(Ordering::SeqCst);
        let (seq, waiters) = self.channel(slot);
        if waiters.load(Ordering::SeqCst) != 0 {
            seq.fetch_add(1, Ordering::SeqCst);
            wake_all(seq);
        }
    }
}

/// Tries `attempt` until it gives a value, waiting on this CPU between
/// tries, for [`WRITER_SPIN`] at most (then `None`): for waits of a write
/// transaction's length, shorter than a sleep and a wake-up.
pub(super) fn spin_for<T>(mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    if let Some(v) = attempt() {
        return Some(v);
    }
    let start = Instant::now();
    while start.elapsed() < WRITER_SPIN {
        for _ in 0..32 {
            std::hint::spin_loop();
        }
        if let Some(v) = attempt() {
            return Some(v);
        }
    }
    None
}

/// Sleeps on `word` (shared between processes) while it holds `seen`, for
/// at most `pause`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn sleep_on(word: &AtomicU32, seen: u32, pause: Duration) {
    use rustix::thread::futex;
    let timeout = futex::Timespec {
        tv_sec: i64::try_from(pause.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: pause.subsec_nanos().into(),
    };
    // Woken, timed out, interrupted or the word moved on: the caller
    // tries the lock again in every case.
    let _ = futex::wait(word, futex::Flags::empty(), seen, Some(&timeout));
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn sleep_on(_: &AtomicU32, _: u32, pause: Duration) {
    std::thread::sleep(pause);
}

/// Wakes every sleeper on `word`, in any process.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn wake_all(word: &AtomicU32) {
    use rustix::thread::futex;
    // Nothing to do if it fails: the sleepers wake at their pause.
    // (The count is the kernel's int: i32::MAX means all.)
    let _ = futex::wake(word, futex::Flags::empty(), i32::MAX as u32);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn wake_all(_: &AtomicU32) {}
