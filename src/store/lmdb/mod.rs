//! The LMDB store: sessions shared by every worker process of one machine
//! and kept across restarts, in a memory-mapped LMDB file, with no server.
//!
//! It is a [`Provider`](super::custom::Provider) (`provider.rs`) under the
//! same core as host-supplied stores ([`CustomStore`]): keys are the
//! session's [`KeyHash`](super::remote::KeyHash), never its ID; values are
//! one blob in the [`wire`](super::wire) format (objects refused); a
//! waiter for a lock sleeps until the holder frees it, in any process
//! (a futex in a shared file, `wakes.rs`), for its bounded, jittered
//! backoff pause at most.
//!
//! - **Locks** are words of a table shared by the processes (`locks.rs`):
//!   taken and freed with a compare-and-swap, no LMDB transaction. A lock
//!   records when its lease ends: when it was taken plus its holder's
//!   `lock_ttl`, so every process judges it by its holder's (applications
//!   sharing a directory, even processes, may set different ones). Past
//!   that it is stale (its holder crashed or hung): another request may
//!   take the session, and the old holder's save is then refused. The
//!   first process to open the directory while no other has it open frees
//!   every lock (their holders are gone: a restart waits out no lease).
//!   Read-only requests hold no lock (LMDB reads are consistent
//!   snapshots); they wait only for a writer, and slide the expiry only
//!   when that moves it by 10 s or more.
//!   Such a slide (or an exclusive request's that changed nothing) is
//!   queued in the process and written with others in one
//!   write transaction, within a second (`slides.rs`); it is queued only
//!   while the session's stored deadline is at least 5 s away, so no
//!   process ends a session whose slide is still queued. A process killed
//!   with slides queued loses them (those sessions keep their earlier
//!   deadline). A slide, queued or written at once, moves only the
//!   deadline the request read: a save since (a shorter Timeout) stands.
//! - **Saves** happen only while the saver's token holds the lock, its
//!   lease has not ended (by the application's clock; past it another
//!   request may take the lock at any moment: `E_LOCK_TIMEOUT`, nothing
//!   written, as in the Redis store) and the session exists: no lost
//!   update, no resurrection after Abandon.
//! - **Expiry**: an index ordered by deadline (`deadline ‖ hash`); a sweep
//!   reads only its due prefix. Each expired session is claimed (read and
//!   deleted) in one write transaction, so no two processes run its
//!   Session_OnEnd, and one does, with its final contents, unless it is
//!   killed between the commit and the handler (a crash loses those
//!   sessions' Session_OnEnd: they are gone from the store, never ended
//!   twice); the sweep takes the session's
//!   lock in that transaction (freed after it commits), so it never claims
//!   a session a live request holds, even one that took the lock after
//!   the sweep looked (its clock behind the sweep's). A session too large for the
//!   sweeping application's limits (stored under larger ones) is removed
//!   without Session_OnEnd and reported (`E_SESSION_TOO_LARGE`, once the
//!   rest are claimed) rather than left to stop every sweep at it.
//! - **Processes**: LMDB serialises writers across processes with a robust
//!   mutex (a writer killed mid-transaction loses only that transaction);
//!   every process opening the directory sees every live session.
//! - **Faults**: a full map or disk is `E_STORE_FULL` (the transaction is
//!   aborted, or never begun: nothing written; the files are written
//!   through memory maps, with their disk space allocated ahead, see
//!   `space.rs` and `env.rs`, so a full disk is never SIGBUS). A write
//!   that adds data (a new session, a save, a rename, a slide) is refused
//!   a little short of a full map: the map's last free pages, a reserve
//!   sized by the depth of its trees (100 to 300 KiB), are left to
//!   sweeps and removals (Abandon), which free room, a sweep claiming in
//!   one transaction only as many sessions as leave the next one its
//!   pages. LMDB reuses a page freed by a commit only two commits later,
//!   so a write that took the map's last pages left every later one, a
//!   sweep's deletes too, failing for good: expired sessions never ended,
//!   new ones never taken (`Room` in `env.rs`). Likewise, a damaged
//!   or foreign file, or an LMDB environment that is not empty and not marked
//!   as libsess's (another program's), is `E_STORE_CORRUPT`; a missing or
//!   unwritable directory, or one whose file system cannot allocate space
//!   ahead (`fallocate`), `E_STORE_ACCESS` at application creation
//!   (`E_STORE_UNAVAILABLE` if another opener holds the directory's lock,
//!   `parts.rs`, for 60 s). A lock table an earlier version wrote
//!   (`sesslck1`) is converted by the first process to open the directory
//!   while no other has it open, and refused (`E_STORE_CORRUPT`, saying
//!   what to do) while one has (`locks.rs`). A `data.mdb` that is empty
//!   or missing while the directory's `sess-locks` shows it was in use
//!   (truncated or removed) is refused too (`E_STORE_CORRUPT`), not taken
//!   for a new store, as is a parted directory missing a part's directory.
//!   A data file removed or replaced while this process has it open is
//!   found by its next sweep, or by its first transaction a second or more
//!   after the last look (a `stat`); from then on the process's transactions on
//!   it are `E_STORE_UNAVAILABLE` (restart it), rather than a store of its
//!   own, apart from the processes started since.
//!
//!   LMDB trusts its file: it checks no checksums and follows the
//!   offsets and page numbers it reads, so a damaged `data.mdb` (bit
//!   flips from a failing disk, a copy taken mid-write) would crash the
//!   process inside LMDB (SIGSEGV or SIGABRT). The first process to open
//!   an environment since every process closed it (it takes LMDB's lock
//!   on `lock.mdb` exclusively) checks every page in use first
//!   (`verify.rs`): damage is `E_STORE_CORRUPT` naming the file and page,
//!   at application creation. Later openers trust that check: the file
//!   has been written only by LMDB since. Damage done while processes
//!   have the directory open (another program writing the file) is not
//!   detected and can still crash them. A damaged session record LMDB
//!   hands back is caught (`E_STORE_CORRUPT`; a sweep drops it without
//!   Session_OnEnd). Keep the directory on a sound local disk, written by
//!   libsess only. After such an error or crash: stop every process using
//!   the directory, then restore the directory from a backup or remove it
//!   (its sessions are lost: their users start new ones).
//! - **Parts**: a new directory's sessions are spread over four LMDB
//!   environments (the directory's and three in subdirectories) by key
//!   hash (`parts.rs`): LMDB admits one write transaction per environment,
//!   so saves of sessions in different parts commit at once. Each part is
//!   all of the above for its sessions; sweeps and counts visit every
//!   part. A directory written before parts stays one environment.
//! - One LMDB environment per directory per process (LMDB's rule): the
//!   applications of one process that name the same directory share it,
//!   each with its own databases (by `name`). It closes in whichever
//!   thread lets go of its last reference (the slides flusher's, right
//!   after a flush, if the last application went meanwhile); an
//!   application created on the directory during that close waits for it
//!   (30 s at most) and opens the directory anew.
//!   A forked child must not use its parent's store (`E_STORE_UNAVAILABLE`;
//!   letting go of a request it inherited frees none of the parent's locks):
//!   an application it creates opens the directory anew (after closing the
//!   child's copy of the inherited environment, see `env.rs`).

mod env;
mod locks;
mod parts;
mod provider;
mod slides;
mod space;
mod verify;
mod wakes;
mod words;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::custom::CustomStore;
use super::StoreMode;
use crate::clock::Clock;
use crate::error::{self, Error, Result};
use crate::state::Limits;

/// Where and how an application keeps its sessions in an LMDB directory
/// shared by the processes of one machine.
///
/// Every process serving one application must use the same `dir`, `name`
/// and `id_secret`; applications sharing a directory need different
/// `name`s.
#[derive(Clone)]
pub struct LmdbOptions {
    /// The directory holding the store's files (LMDB's `data.mdb` and
    /// `lock.mdb`; the lock table `sess-locks` and the wake-up words
    /// `sess-wakes`; the same in `part-1` … `part-3`, made there when the
    /// map is split): absolute, existing and writable (no default). It must
    /// be on a local file system that allocates disk space ahead of use
    /// (`fallocate`), such as ext4, xfs, btrfs or tmpfs: one that cannot
    /// (ext4 without extents, most network and FUSE file systems) is
    /// refused (`E_STORE_ACCESS`), since a full disk could not be reported
    /// there. The lock table and wake-up words (8 MiB per part) have their
    /// space allocated when made.
    pub dir: PathBuf,
    /// The application's name in the directory (default empty): the
    /// applications sharing a directory must have different names (at most
    /// 64 bytes; at most 40 applications per directory).
    pub name: String,
    /// Largest size of the data files together in bytes (default 1 GiB; at
    /// least 1 MiB, else `E_INVALID_OPTION`). A directory created with 64 MiB
    /// or more keeps its sessions in four files of a quarter each (so that
    /// writes to different ones run at once; see `parts.rs`), a session in the
    /// one its key picks. Each file's length is its share at once, but its disk
    /// space is allocated as sessions need it (tens of MiB ahead). Past it, or
    /// with no disk space left, saves fail with `E_STORE_FULL` and nothing is
    /// written; new sessions and saves are refused a little short of it,
    /// leaving the map's last free pages (tens of them: 100 to 300 KiB, by
    /// the depth of its trees) to the expiry sweeps and Abandons that free
    /// room, so a full store takes sessions again as its sessions end (in a
    /// split directory, each file keeps its own). Whether a new directory is
    /// split is up to the first process to open it. Processes sharing a
    /// directory may give different sizes (a server restarted with a larger
    /// one while its old workers still serve): a
    /// process maps each file at least at the length it finds (the largest map
    /// of the processes using it), and once another process, with a larger map,
    /// has stored past this one's map, this one maps the files at the larger
    /// size and goes on (see `env.rs`). The applications of one process on a
    /// directory share its map, at the largest size they ask for. A size this
    /// process cannot map, or larger than its file system allows a file to be,
    /// is `E_INVALID_OPTION` at application creation (the files left as they
    /// were).
    pub map_size: usize,
    /// How long a session lock lives if its holder never releases it (a
    /// crashed process): after this another request may take the session,
    /// and the holder's save is refused (`E_LOCK_TIMEOUT`; default 120 s).
    /// Each lock keeps the lease it was taken with, so the
    /// applications sharing a directory (and its processes) may set
    /// different ones; at most 24 h (as Redis's `lock_ttl`).
    pub lock_ttl: Duration,
    /// A secret (16 bytes or more, the same in every process) under which
    /// the session ID is stored masked, so Session_OnEnd of a session the
    /// sweeper ended sees the real SessionID (default none: a stand-in ID).
    pub id_secret: Option<Vec<u8>>,
    /// Flush every write to disk before it returns (default false: writes
    /// survive any process crash, and are flushed at each expiry sweep; a
    /// power loss may lose the last ones). The applications of one process
    /// on a directory share its environment: one asking for this makes
    /// the process's writes to the directory durable, its other
    /// applications' too.
    pub durable: bool,
}

impl LmdbOptions {
    /// Options for `dir` with every default.
    pub fn new(dir: impl Into<PathBuf>) -> LmdbOptions {
        LmdbOptions {
            dir: dir.into(),
            name: String::new(),
            map_size: 1 << 30,
            lock_ttl: Duration::from_secs(120),
            id_secret: None,
            durable: false,
        }
    }

    /// Checks the options (`E_INVALID_OPTION` naming the field).
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::new(error::E_INVALID_OPTION, what.to_owned()));
        if !self.dir.is_absolute() {
            return bad("lmdb dir must be an absolute path");
        }
        if self.name.len() > 64 || self.name.contains('\0') {
            return bad("lmdb name must be at most 64 bytes, without NUL");
        }
        if self.map_size < MIN_MAP_SIZE {
            return bad("lmdb map_size must be at least 1 MiB (1048576 bytes)");
        }
        if self.lock_ttl < Duration::from_millis(100)
            || self.lock_ttl > Duration::from_millis(locks::MAX_LEASE_MS)
        {
            return bad("lmdb lock_ttl must be 100 ms ..= 24 h");
        }
        if self.id_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return bad("lmdb id_secret must be at least 16 bytes");
        }
        Ok(())
    }
}

/// Smallest accepted map size: room for LMDB's own pages, sessions with
/// values of tens of KiB, and the pages a sweep needs to end them (LMDB
/// reuses a freed page only two commits later). A 64 KiB map, once
/// accepted, could hold one session with a 4 KiB value, and once that
/// had expired refuse every write for good.
const MIN_MAP_SIZE: usize = 1 << 20;

/// Opens the LMDB store `opts` names for an application with `limits`
/// and `clock` (the application's: lock leases end by it): a
/// [`CustomStore`] over the LMDB provider, reporting [`StoreMode::Lmdb`].
pub fn open(opts: &LmdbOptions, limits: Limits, clock: Arc<dyn Clock>) -> Result<CustomStore> {
    opts.validate()?;
    let lease_ms = u64::try_from(opts.lock_ttl.as_millis()).unwrap_or(u64::MAX);
    let parts = parts::environments(opts, limits.max_session_bytes)?
        .into_iter()
        .map(|(part, env)| {
            let locks = locks::LockTable::open(&part.dir, lease_ms)?;
            Ok(provider::LmdbProvider::new(env, locks, clock.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    let provider = parts::Parts::new(parts);
    let store = CustomStore::new(Arc::new(provider), limits).with_mode(StoreMode::Lmdb);
    match &opts.id_secret {
        Some(secret) => store.with_id_secret(secret),
        None => Ok(store),
    }
}
