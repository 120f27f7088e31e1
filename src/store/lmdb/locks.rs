//! Session locks in a table of atomic words shared by every process that
//! opens the directory (the file `sess-locks`, memory-mapped), so taking
//! and freeing a lock is one compare-and-swap instead of an LMDB write
//! transaction.
//!
//! A session's lock is the slot its key hash picks (2^20 slots: sessions
//! that share a slot share a lock, a brief wait at worst; the applications
//! sharing a directory share its table). A slot is 0 when free, else its
//! holder's word: when the lock's lease ends (the low 40 bits of the store
//! clock in milliseconds: when it was taken plus its holder's lease, so
//! 17 years before the comparison wraps) and a 24-bit tag of the holder's
//! token. Every process judges a lock by the lease its holder took it
//! with, whatever its own (`lock_ttl` differs per application, even per
//! process). A lock past its lease is stale: its holder crashed or hung.
//! A word whose lease ends more than [`GARBAGE_MS`] (48 h: the longest
//! lease, plus as much for a clock behind its taker's) ahead is garbage (a
//! damaged table), stale too, never a lock held for years.
//! Breaking a stale lock happens only inside an LMDB write transaction,
//! where every save checks that its lock still holds, so a holder whose
//! lock was broken can never save after the new holder read the session.
//! An expiry sweep takes the lock of each session it claims too, inside
//! its write transaction, and frees it after the commit ([`SweepLocks`]).
//! This process remembers the exact word of each lock it holds, by token
//! and slot (a token changing its session's ID holds two). Waiters sleep
//! until a free wakes them (`wakes.rs`), their pause at most.
//!
//! The table's format is its magic word, `sesslck2`. The format before
//! (`sesslck1`) held when each lock was taken, judged by each reader's own
//! lease: a process of either must never use a table of the other. Older
//! processes refuse a `sesslck2` table; this one converts a `sesslck1`
//! table (every slot freed) when it opens the directory's LMDB environment
//! while no other process has it open ([`opening`], [`convert_old`]), and otherwise
//! refuses it, saying what to do.
//!
//! That first process also frees every slot of a table in this format
//! ([`free_gone`]): with no other process having the environment open, a
//! lock still set is a gone process's (every worker killed, the machine
//! restarted), not to be left to its lease (up to 24 h, longer for a
//! clock set back at the restart).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::wakes::Wakes;
use super::words::SharedWords;
use crate::error::{self, Error, Result};

/// Slots in the table (a power of two).
const SLOTS: usize = 1 << 20;
/// The file's first 8 bytes: its format (all zeros: being created). Its
/// words hold when their lock's lease ends.
const MAGIC: &[u8; 8] = b"sesslck2";
/// The format before: words held when their lock was taken.
const OLD_MAGIC: &[u8; 8] = b"sesslck1";
const UNTIL_BITS: u32 = 40;
const UNTIL_MASK: u64 = (1 << UNTIL_BITS) - 1;
const TAG_BITS: u32 = 24;
/// The longest lease (24 h, `LmdbOptions::lock_ttl`'s bound, as Redis's).
pub(super) const MAX_LEASE_MS: u64 = 24 * 3600 * 1000;
/// A word whose lease ends further ahead than this is garbage: the longest
/// lease, plus as much again for a clock behind the taker's (another
/// process's, or a request's that read the clock just before another took
/// the lock), which sees a lock's whole lease and more left.
const GARBAGE_MS: u64 = 2 * MAX_LEASE_MS;

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
    /// The lease of the locks this process takes (its `lock_ttl`, at most
    /// [`MAX_LEASE_MS`]); others' locks are judged by their own.
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
        let path = dir.join("sess-locks");
        let words = SharedWords::open(&path, "lock table", MAGIC, SLOTS).map_err(|e| {
            // Not converted (see `convert_old`): in use by another process.
            if magic_of(&path) == Some(*OLD_MAGIC) {
                old_table(&path)
            } else {
                e
            }
        })?;
        Ok(LockTable {
            words,
            lease_ms: lease_ms.min(MAX_LEASE_MS),
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

    /// Whether the key hashes `a` and `b` share a lock (one word guards
    /// both: a session cannot hold one while it takes the other).
    pub(super) fn share_a_lock(a: &[u8; 16], b: &[u8; 16]) -> bool {
        Self::slot_of(a) == Self::slot_of(b)
    }

    /// Whether `word` is a lock that holds at `now_ms`: before the end of
    /// the lease it records (its holder's, not this process's), which is at
    /// most [`GARBAGE_MS`] away.
    fn live(word: u64, now_ms: u64) -> bool {
        if word == 0 {
            return false;
        }
        let left = (word >> TAG_BITS).wrapping_sub(now_ms) & UNTIL_MASK;
        // Past the end shows as 0 or a huge number (wrapped); a clock that
        // went back as more than a lease left: still held, up to
        // GARBAGE_MS (further is no lock's).
        left != 0 && left <= GARBAGE_MS
    }

    /// The word of a lock `token` takes at `now_ms`, for this process's
    /// lease.
    fn word_for(&self, token: u64, now_ms: u64) -> u64 {
        word_for(token, now_ms.wrapping_add(self.lease_ms))
    }

    /// Whether the lock of `h` is held (by anyone) at `now_ms`.
    pub(super) fn is_held(&self, h: &[u8; 16], now_ms: u64) -> bool {
        Self::live(self.word(Self::slot_of(h)).load(Ordering::Acquire), now_ms)
    }

    /// Tries to take the lock of `h` for `token` at `now_ms`.
    pub(super) fn take(&self, h: &[u8; 16], token: u64, now_ms: u64) -> Take {
        let slot = Self::slot_of(h);
        let mine = self.word_for(token, now_ms);
        match self
            .word(slot)
            .compare_exchange(0, mine, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                self.held.lock().insert((token, slot), mine);
                Take::Taken
            }
            Err(w) if Self::live(w, now_ms) => Take::Busy,
            Err(w) => Take::Stale(w),
        }
    }

    /// Takes the lock of `h` for `token` from the stale holder `stale`,
    /// if that is still who holds it. Call only inside an LMDB write
    /// transaction (see the module documentation).
    pub(super) fn break_stale(&self, h: &[u8; 16], stale: u64, token: u64, now_ms: u64) -> bool {
        let slot = Self::slot_of(h);
        let mine = self.word_for(token, now_ms);
        let taken = self
            .word(slot)
            .compare_exchange(stale, mine, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if taken {
            self.held.lock().insert((token, slot), mine);
        }
        taken
    }

    /// Whether `token` still holds the lock of `h` at `now_ms`: not broken
    /// as stale, and its lease not ended (past it another request may take
    /// the lock at any moment, so its holder may no longer write, as in
    /// the Redis store). Saves call this inside their write transaction.
    pub(super) fn holds(&self, h: &[u8; 16], token: u64, now_ms: u64) -> bool {
        let slot = Self::slot_of(h);
        self.held.lock().get(&(token, slot)).is_some_and(|&mine| {
            self.word(slot).load(Ordering::Acquire) == mine && Self::live(mine, now_ms)
        })
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

/// The longest lease of a sweep's locks ([`SweepLocks`]): a sweep holds
/// them only while its write transaction is open, and until it commits no
/// other request or sweep can break them (that happens only inside a write
/// transaction, and LMDB admits one at a time), so their lease matters
/// only once their sweeper was killed inside it. Then they are a dead
/// process's, to be broken soon: the application's `lock_ttl` (120 s by
/// default, up to 24 h) would keep requests carrying those expired
/// sessions' cookies waiting until `E_LOCK_TIMEOUT`, and other processes'
/// sweeps from ending them, that long.
const SWEEP_LEASE_MS: u64 = 5_000;

/// The locks one expiry sweep takes to claim sessions, as a request takes
/// a session's lock before it reads it: a session whose lock is live is
/// left to its holder, and a request that comes after the sweep decided
/// finds the lock taken (it waits, then finds the session gone) instead of
/// reading a snapshot from before the claim. They are no request's: not in
/// this process's held map, so no token of a request can free or use
/// them. Freed when this is dropped: drop it once the sweep's transaction
/// has committed (or aborted), never before.
pub(super) struct SweepLocks<'a> {
    table: &'a LockTable,
    now_ms: u64,
    /// The slot and word of each lock taken.
    taken: Vec<(usize, u64)>,
}

impl LockTable {
    /// The locks a sweep at `now_ms` takes (none yet).
    pub(super) fn sweep(&self, now_ms: u64) -> SweepLocks<'_> {
        SweepLocks {
            table: self,
            now_ms,
            taken: Vec::new(),
        }
    }
}

impl SweepLocks<'_> {
    /// Takes the lock of `h` for the sweep, breaking a stale one (call
    /// only inside the sweep's write transaction): whether the sweep holds
    /// it now (also when it took it already, for a session sharing the
    /// slot); `false` if a live lock holds it.
    pub(super) fn take(&mut self, h: &[u8; 16]) -> bool {
        let slot = LockTable::slot_of(h);
        if self.taken.iter().any(|&(s, _)| s == slot) {
            return true;
        }
        let t = self.table;
        // No request's token (those are never 0); the word is what counts.
        let lease = t.lease_ms.min(SWEEP_LEASE_MS);
        let mine = word_for(0, self.now_ms.wrapping_add(lease));
        let word = t.word(slot);
        let taken = match word.compare_exchange(0, mine, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => true,
            Err(w) if LockTable::live(w, self.now_ms) => false,
            Err(stale) => word
                .compare_exchange(stale, mine, Ordering::AcqRel, Ordering::Acquire)
                .is_ok(),
        };
        if taken {
            self.taken.push((slot, mine));
        }
        taken
    }
}

#[cfg(test)]
impl SweepLocks<'_> {
    /// Leaves the locks taken held, as a sweeper killed inside its
    /// transaction does (its memory goes; the shared words stay).
    pub(super) fn leave_held(mut self) {
        self.taken.clear();
    }
}

impl Drop for SweepLocks<'_> {
    fn drop(&mut self) {
        for &(slot, mine) in &self.taken {
            let freed = self.table.word(slot).compare_exchange(
                mine,
                0,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            if freed.is_ok() {
                self.table.wakes.wake(slot);
            }
        }
    }
}

/// The slot word of a lock held by `token` until `until_ms` (never 0).
fn word_for(token: u64, until_ms: u64) -> u64 {
    let tag = (token ^ (token >> TAG_BITS) ^ (token >> (2 * TAG_BITS))) & ((1 << TAG_BITS) - 1);
    ((until_ms & UNTIL_MASK) << TAG_BITS) | tag.max(1)
}

/// Whether `dir` holds a lock table that was made (its format written):
/// the directory's LMDB environment was in use.
pub(super) fn table_made(dir: &Path) -> bool {
    matches!(magic_of(&dir.join("sess-locks")), Some(m) if m == *MAGIC || m == *OLD_MAGIC)
}

/// The first 8 bytes of the file `path`, if it has them.
fn magic_of(path: &Path) -> Option<[u8; 8]> {
    let mut magic = [0u8; 8];
    File::open(path).ok()?.read_exact_at(&mut magic, 0).ok()?;
    Some(magic)
}

/// `E_STORE_CORRUPT`: the table `path` is in the format before, and in use.
fn old_table(path: &Path) -> Error {
    let dir = path.parent().unwrap_or(path);
    Error::new(
        error::E_STORE_CORRUPT,
        format!(
            "{} is the lock table of an earlier libsess (format sesslck1, whose \
             locks this version reads differently), and another process has \
             {} open (one of that version): stop every process using the \
             directory, then start again (the first to open it converts the \
             table; no session is lost)",
            path.display(),
            dir.display()
        ),
    )
}

/// How long [`opening`] waits for another process's exclusive lock on
/// `lock.mdb` (held while LMDB initialises the file for a first opener;
/// libsess's first openers, which check the data file meanwhile, queue on
/// the directory's lock instead, see `parts.rs`).
const OPENING_PATIENCE: Duration = Duration::from_secs(10);

/// This process's part in opening a directory's LMDB environment (see
/// [`opening`]).
pub(super) struct Opening {
    /// A descriptor of `lock.mdb` holding a lock on its byte 0: keep it
    /// open as long as the environment (closing any descriptor of the file
    /// drops every `fcntl` lock this process holds on it, LMDB's too).
    pub(super) lock_file: File,
    /// Whether no other process has the environment open: this one is the
    /// first since every process closed it, and none can open it until
    /// this one has (the lock is exclusive until LMDB shares it).
    pub(super) first: bool,
}

/// Locks byte 0 of the directory `dir`'s `lock.mdb` (creating the file as
/// LMDB does, 0600) the way LMDB does when it opens an environment:
/// exclusively if no other process has the environment open (this one is
/// the first), else shared. Waits up to [`OPENING_PATIENCE`] while another
/// process holds it exclusively (`E_STORE_UNAVAILABLE` past that).
///
/// Call just before this process opens the environment, while it has it
/// open nowhere (closing a descriptor of `lock.mdb` drops every `fcntl`
/// lock the process holds on the file), then open it and keep
/// [`Opening::lock_file`] as long as the environment.
///
/// Why the answer holds: every process that has the environment open
/// holds a shared `fcntl` lock on byte 0 of `lock.mdb` (LMDB's, taken when
/// it opens the environment and kept until it closes it), and a process
/// uses the directory's files only while it has it open. So the exclusive
/// lock is had only while no other process uses them, and none can open
/// the environment until LMDB, opening it in this process (to which its
/// own lock is no obstacle), turns the lock into its usual shared one: as
/// the only opener, after initialising `lock.mdb` as a first opener does,
/// so the processes that waited find it ready. A shared lock keeps the
/// environment from being had exclusively by another process until this
/// one has opened it.
pub(super) fn opening(dir: &Path) -> Result<Opening> {
    let path = dir.join("lock.mdb");
    let access = |op: &str, e: std::io::Error| {
        Error::new(
            error::E_STORE_ACCESS,
            format!("lmdb lock file {}: {op}: {e}", path.display()),
        )
    };
    let lock_file = {
        use std::os::unix::fs::OpenOptionsExt;
        File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| access("open", e))?
    };
    let start = Instant::now();
    loop {
        for (kind, first) in [(libc::F_WRLCK, true), (libc::F_RDLCK, false)] {
            if lock_byte_0(&lock_file, kind).map_err(|e| access("lock", e))? {
                return Ok(Opening { lock_file, first });
            }
        }
        if start.elapsed() > OPENING_PATIENCE {
            return Err(Error::new(
                error::E_STORE_UNAVAILABLE,
                format!(
                    "lmdb lock file {}: another process has held it exclusively \
                     for {} s (opening the environment)",
                    path.display(),
                    OPENING_PATIENCE.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Converts the lock table of the directory `dir` from the format before
/// (`sesslck1`) to this one, every slot freed, if this process is the
/// `first` to open the directory's environment (see [`opening`]: no other
/// uses the table); refuses it (`E_STORE_CORRUPT`, see [`old_table`]) if
/// another has it open. Nothing to do for a table in this format or none.
/// A process of the earlier version that opens the directory after
/// refuses the converted table (its magic). The earlier version's locks
/// were held by processes that are gone: they are freed.
pub(super) fn convert_old(dir: &Path, first: bool) -> Result<()> {
    let path = dir.join("sess-locks");
    if magic_of(&path) != Some(*OLD_MAGIC) {
        return Ok(());
    }
    if !first {
        return Err(old_table(&path));
    }
    rewrite_old(&path).map_err(|e| {
        Error::new(
            error::E_STORE_ACCESS,
            format!("lmdb lock table {}: convert: {e}", path.display()),
        )
    })
}

/// Frees every slot of the lock table of the directory `dir` (this
/// format) if this process is the `first` to open the directory's
/// environment (see [`opening`]): no other process has it open, so every
/// lock still in the table is a gone process's (killed, or the machine
/// restarted), which would otherwise stand for the rest of its lease (up
/// to 24 h, longer for a clock set back since). Nothing to do for a table
/// of another format or size (refused when opened), or none.
pub(super) fn free_gone(dir: &Path, first: bool) -> Result<()> {
    let path = dir.join("sess-locks");
    if !first || magic_of(&path) != Some(*MAGIC) {
        return Ok(());
    }
    zero_slots(&path).map_err(|e| {
        Error::new(
            error::E_STORE_ACCESS,
            format!(
                "lmdb lock table {}: free the locks of processes gone: {e}",
                path.display()
            ),
        )
    })
}

/// Writes zeros over the slots of the table `path` that are not zero
/// (written over, not truncated: its blocks stay allocated). No other
/// process uses it.
fn zero_slots(path: &Path) -> std::io::Result<()> {
    let file = File::options().read(true).write(true).open(path)?;
    let len = 8 * (SLOTS as u64 + 1);
    if file.metadata()?.len() != len {
        return Ok(());
    }
    let mut chunk = vec![0u8; 1 << 16];
    let zeros = vec![0u8; 1 << 16];
    let mut at = 8;
    while at < len {
        let n = (len - at).min(chunk.len() as u64) as usize;
        file.read_exact_at(&mut chunk[..n], at)?;
        if chunk[..n].iter().any(|&b| b != 0) {
            file.write_all_at(&zeros[..n], at)?;
        }
        at += n as u64;
    }
    Ok(())
}

/// Takes a `kind` (`F_WRLCK`, `F_RDLCK`) `fcntl` lock on byte 0 of `file`
/// (LMDB's lock file) without waiting: whether no other process's lock
/// stood in the way.
fn lock_byte_0(file: &File, kind: libc::c_int) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain `flock` record, all fields set or zero.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind as _;
    lock.l_whence = libc::SEEK_SET as _;
    lock.l_start = 0;
    lock.l_len = 1;
    loop {
        // SAFETY: `file` is open; `lock` lives across the call.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::EACCES | libc::EAGAIN) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// Frees every slot of the old-format table `path` and marks it with this
/// format (the mark last). No other process uses it.
fn rewrite_old(path: &Path) -> std::io::Result<()> {
    let file = File::options().read(true).write(true).open(path)?;
    let len = 8 * (SLOTS as u64 + 1);
    // Written over rather than truncated: a mapping of it (a process of
    // the earlier version on its way out) must not fault.
    let end = file.metadata()?.len().min(len);
    let zeros = vec![0u8; 1 << 16];
    let mut at = 8;
    while at < end {
        let n = (end - at).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    file.set_len(len)?;
    file.write_all_at(MAGIC, 0)
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
        assert!(t.is_held(&h, 5_999) && t.holds(&h, 1, 5_999));
        // Past its lease, its holder may not write (nobody took it yet).
        assert!(!t.holds(&h, 1, 6_000));
        assert!(matches!(t.take(&h, 2, 5_999), Take::Busy));
        // A clock that went back keeps the lock held.
        assert!(matches!(t.take(&h, 2, 4_000), Take::Busy));
        let Take::Stale(word) = t.take(&h, 2, 6_000) else {
            panic!("past the lease")
        };
        assert!(t.break_stale(&h, word, 2, 6_000));
        // The first holder lost it: not its to check or free.
        assert!(!t.holds(&h, 1, 6_000) && t.holds(&h, 2, 6_000));
        t.free(&h, 1);
        assert!(t.is_held(&h, 6_000));
        // A break races with another: only one wins.
        assert!(!t.break_stale(&h, word, 3, 6_000));
        t.free(&h, 2);
        assert!(!t.is_held(&h, 6_000) && !t.holds(&h, 2, 6_000));
        // A second table on the file (another process) sees the same words.
        let other = LockTable::open(&dir, 1000).unwrap();
        assert!(matches!(t.take(&h, 4, 7_000), Take::Taken));
        assert!(matches!(other.take(&h, 5, 7_000), Take::Busy));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_word_whose_lease_ends_past_the_longest_is_garbage_and_breakable() {
        let (t, dir) = table("garbage-word");
        let h = [9u8; 16];
        let slot = LockTable::slot_of(&h);
        // A damaged table: a "lock" ending 2^37 ms (4 years) from now.
        let now = 1_000_000;
        t.word(slot)
            .store(word_for(77, now + (1 << 37)), Ordering::Release);
        assert!(!t.is_held(&h, now));
        let Take::Stale(word) = t.take(&h, 1, now) else {
            panic!("a garbage word is stale")
        };
        assert!(t.break_stale(&h, word, 1, now) && t.holds(&h, 1, now));
        // The longest real lease still holds to its end, also for a
        // clock a longest lease behind; a word ending past that is garbage.
        t.free(&h, 1);
        t.word(slot)
            .store(word_for(78, now + GARBAGE_MS), Ordering::Release);
        assert!(matches!(t.take(&h, 2, now), Take::Busy));
        t.word(slot)
            .store(word_for(79, now + GARBAGE_MS + 1), Ordering::Release);
        assert!(matches!(t.take(&h, 2, now), Take::Stale(_)));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_lock_of_the_longest_lease_holds_for_a_clock_behind_its_takers() {
        let (t, dir) = table("longest-behind");
        drop(t);
        let longest = LockTable::open(&dir, MAX_LEASE_MS).unwrap();
        let other = LockTable::open(&dir, 1000).unwrap();
        let h = [4u8; 16];
        // Taken at 10_000_000 with a 24 h lease; judged by a clock 1 ms
        // behind (a request that read the clock just before), then an hour
        // behind (another process's clock).
        let now = 10_000_000;
        assert!(matches!(longest.take(&h, 1, now), Take::Taken));
        for behind in [1, 3_600_000] {
            assert!(other.is_held(&h, now - behind), "{behind} ms behind");
            assert!(
                matches!(other.take(&h, 2, now - behind), Take::Busy),
                "{behind} ms behind"
            );
            let mut sweep = other.sweep(now - behind);
            assert!(!sweep.take(&h), "{behind} ms behind");
        }
        assert!(longest.holds(&h, 1, now));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_lock_is_judged_by_its_holders_lease() {
        // Two applications sharing the table (as all of a directory's do),
        // one with a 120 s lease, one with 1 s.
        let (long, dir) = table("holders-lease");
        drop(long);
        let long = LockTable::open(&dir, 120_000).unwrap();
        let short = LockTable::open(&dir, 1000).unwrap();
        let (a, b) = ([1u8; 16], [2u8; 16]);
        // The long holder's lock stands its 120 s, whoever looks.
        assert!(matches!(long.take(&a, 1, 10_000), Take::Taken));
        for now in [11_000, 60_000, 129_999] {
            assert!(short.is_held(&a, now), "at {now}");
            assert!(matches!(short.take(&a, 2, now), Take::Busy), "at {now}");
        }
        assert!(long.holds(&a, 1, 129_999));
        let Take::Stale(word) = short.take(&a, 2, 130_000) else {
            panic!("past the holder's lease")
        };
        assert!(short.break_stale(&a, word, 2, 130_000) && !long.holds(&a, 1, 130_000));
        // The short holder's lock ends after its 1 s, also for the long one.
        assert!(matches!(short.take(&b, 3, 200_000), Take::Taken));
        assert!(matches!(long.take(&b, 4, 200_999), Take::Busy));
        assert!(!long.is_held(&b, 201_000));
        assert!(matches!(long.take(&b, 4, 201_000), Take::Stale(_)));
        // A clock that went back keeps it held; a longer lease is capped
        // at the longest.
        assert!(long.is_held(&b, 150_000));
        let forever = LockTable::open(&dir, u64::MAX).unwrap();
        let c = [3u8; 16];
        assert!(matches!(forever.take(&c, 5, 1 << 39), Take::Taken));
        assert!(short.is_held(&c, (1 << 39) + MAX_LEASE_MS - 1));
        assert!(!short.is_held(&c, (1 << 39) + MAX_LEASE_MS));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_old_format_table_is_converted_when_the_directory_is_free() {
        let (t, dir) = table("old");
        let h = [5u8; 16];
        assert!(matches!(t.take(&h, 1, 5_000), Take::Taken));
        drop(t);
        // The earlier version's table, with a lock of a process now gone.
        let path = dir.join("sess-locks");
        let file = File::options().write(true).open(&path).unwrap();
        file.write_all_at(OLD_MAGIC, 0).unwrap();
        drop(file);
        let e = LockTable::open(&dir, 1000).err().unwrap();
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(e.detail().contains("sesslck1"), "{}", e.detail());
        assert!(
            e.detail().contains(&*path.to_string_lossy()),
            "{}",
            e.detail()
        );
        // No process has the directory open: converted, every slot free.
        let opening = opening(&dir).unwrap();
        assert!(opening.first);
        convert_old(&dir, opening.first).unwrap();
        assert_eq!(magic_of(&path), Some(*MAGIC));
        drop(opening);
        let t = LockTable::open(&dir, 1000).unwrap();
        assert!(!t.is_held(&h, 5_001));
        assert!(matches!(t.take(&h, 2, 5_001), Take::Taken));
        // A table in this format is left as it is.
        convert_old(&dir, true).unwrap();
        assert!(t.is_held(&h, 5_001) && t.holds(&h, 2, 5_001));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn only_the_first_opener_frees_every_lock() {
        let (t, dir) = table("gone");
        let h = [6u8; 16];
        assert!(matches!(t.take(&h, 1, 5_000), Take::Taken));
        // Another process has the directory open: its locks stand.
        free_gone(&dir, false).unwrap();
        assert!(t.is_held(&h, 5_001));
        // None has: every lock is a gone process's.
        free_gone(&dir, true).unwrap();
        assert!(!t.is_held(&h, 5_001));
        assert!(matches!(t.take(&h, 2, 5_001), Take::Taken));
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
