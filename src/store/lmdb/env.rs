//! Opening an LMDB directory: one environment per directory per process
//! (shared by the applications naming it), each application's databases
//! in it, the format check, the disk reservation ahead of the map's use,
//! the map's reserve for sweeps and removals ([`Room`]), and the mapping
//! of LMDB's failures to result codes.
//!
//! The environment is opened with `MDB_WRITEMAP`: a commit writes into the
//! shared map instead of `pwrite`-ing each dirty page (several times
//! faster). The data file is then sparse up to the map size, and a write
//! into a hole the disk cannot fill would kill the process with SIGBUS.
//! So the file's blocks are reserved (`fallocate`, see `space.rs`) ahead
//! of what LMDB has used: at the start of every write transaction (once
//! it holds LMDB's writer lock, so the file's end cannot move meanwhile),
//! [`Shared::reserve`] keeps at least [`Shared`]'s margin (more than one
//! save can grow the file by) reserved beyond the last used page, each
//! call allocating only what this process has not yet; a transaction that
//! rewrites many records (a flush of slides, a sweep's re-filing) reserves
//! more as it goes, by their sizes ([`Room`]). A full disk is then
//! `E_STORE_FULL` before anything is written; a file system that cannot
//! allocate ahead is refused at application creation (`E_STORE_ACCESS`).
//!
//! Processes may open a directory with different map sizes (a server
//! restarted with a larger `map_size` while its old workers still serve, a
//! tool beside the server). A process maps the data file at least at the
//! length it finds ([`covering_map`]: as long as the largest map of the
//! processes using it), so it never cuts the file short under theirs. A
//! process with a larger map that opens later can grow the data past this
//! process's map: then this process's transactions fail to begin
//! (`MDB_MAP_RESIZED`), and it adopts the larger map
//! ([`Environment::adopt`]) and begins again, once: every transaction (and
//! every other call that reads the map) holds the environment's gate
//! shared, and adopting takes it exclusively, since LMDB unmaps and maps
//! the file anew, and must not while this process has a transaction open
//! on it. No transaction is held across a request (session locks are
//! words of the lock table, not transactions), so a request waits for the
//! adoption at most as long as the longest transaction under way.
//!
//! A forked child must not use an environment its parent opened (LMDB's
//! rule): its inherited applications are refused (`E_STORE_UNAVAILABLE`),
//! and one it creates opens the directory anew, after closing its copy of
//! the inherited environment (see [`Environment::close_inherited`]).

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::ErrorKind;
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, MdbError, RoTxn, RwTxn, WithoutTls};

use super::locks;
use super::provider::{rewrite, State};
use super::slides::{Push, Slide, Slides};
use super::space;
use super::verify;
use super::wakes::{spin_for, Wakes};
use super::LmdbOptions;
use crate::error::{self, Error, Result};

/// The store's databases.
pub(super) type Db = Database<Bytes, Bytes>;

/// An LMDB environment, open once per directory per process.
struct Environment {
    /// LMDB's handle: used only in the process that opened it (see
    /// [`Environment::env`]); closed early only in a forked child (see
    /// [`Environment::close_inherited`]), where it is never used.
    env: Handle,
    /// The fork generation that opened it (a forked child must not use it).
    generation: u32,
    /// The data file, whose blocks [`Shared::reserve`] allocates.
    data: File,
    /// Its path (for messages).
    data_path: PathBuf,
    /// Bytes from the data file's start known to have their blocks.
    reserved: AtomicU64,
    /// The map's free pages when this process's write transaction under
    /// way began ([`Environment::measure`]; its threads write in turn).
    map_free: AtomicU64,
    /// The depth of the deepest tree then.
    map_depth: AtomicU64,
    /// The format it is marked with (see `parts.rs`).
    format: &'static [u8],
    /// LMDB's page size (fixed for the environment).
    page_size: u64,
    /// Taken around this process's write transactions, so its threads
    /// queue on a lock of their own (see [`Environment::turn`]) instead of
    /// all contending for LMDB's cross-process writer mutex.
    writer: parking_lot::Mutex<()>,
    /// Held shared by every transaction of this process on `env` (and every
    /// other call that reads its map), exclusively while it adopts a larger
    /// map ([`Environment::adopt`]). Taken after `writer`, never the other
    /// way round; no thread begins a transaction while it holds one
    /// (adopting would wait for itself). Shared holds are taken with
    /// `read_recursive` all the same: should one ever nest, it does not
    /// queue behind an adopting thread that waits for its outer hold.
    gate: parking_lot::RwLock<()>,
    /// Whether adopting a larger map failed: LMDB unmapped the file and
    /// could not map it again, so `env` must not be used any more.
    unmapped: AtomicBool,
    /// Whether the directory's `data.mdb` is no longer this environment's
    /// file (removed, or replaced by another): see [`Shared::check_file`].
    orphaned: AtomicBool,
    /// When (ms since `opened`) a transaction last looked whether the file
    /// was orphaned (see [`Environment::look_now_and_then`]).
    looked_ms: AtomicU64,
    /// When it was opened: the origin of `looked_ms`.
    opened: Instant,
    /// The directory's shared words: other processes' writes.
    wakes: Wakes,
    /// Read-only requests' deadline slides, queued (see `slides.rs`).
    slides: Arc<Slides>,
    /// Whether it is in [`OPEN`] (one that failed to open never is, and
    /// is dropped while [`OPEN`] is locked).
    registered: AtomicBool,
}

/// How often transactions look whether the data file was orphaned (see
/// [`Environment::look_now_and_then`]; sweeps look every time).
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// What one reservation adds beyond the margin (fewer, larger calls; a
/// parted directory reserves this in each part).
const RESERVE_CHUNK: u64 = 8 << 20;

/// Bytes kept reserved on disk before a flush of queued slides, besides
/// what its records take ([`Room`]): B-tree pages above the leaves, the
/// free list, with room to spare.
const FLUSH_MARGIN: u64 = 16 << 20;

/// The room of a write transaction that rewrites records, or deletes
/// many, or adds any: on disk and in the map.
///
/// On disk, it keeps reserved as it goes ([`shared_reserve`]) its margin,
/// plus what each change it has made or is about to make may add to the
/// file. LMDB rewrites a record in overflow pages (one of about half a page
/// or more) into new pages, so a batch of them can grow the file by the sum
/// of their sizes, however large: no fixed margin holds it.
///
/// In the map, it counts the pages its changes may take from the ones
/// free when it began ([`Environment::measure`]). A write that adds data
/// (a new session, a save, a rename, a slide) is refused (`E_STORE_FULL`,
/// nothing written) rather than take the map's last free pages, the
/// reserve ([`MapRoom::reserve`]) kept for sweeps and removals: LMDB
/// reuses a page freed by commit N only from commit N + 2 on, so a commit
/// that took the last free pages would leave every later write, a sweep's
/// deletes too (which copy pages as well), failing for good, and no
/// expired session could ever be ended. A sweep may use the reserve, but
/// claims in one transaction only as many sessions as leave a one-claim
/// commit's pages for the next ([`Room::claim_fits`]).
///
/// During the transaction LMDB still reports the last used page as of the
/// last commit (no other writer can commit meanwhile), so every step
/// reserves from that same base.
pub(super) struct Room<'e> {
    environment: &'e Environment,
    margin: u64,
    /// What the changes so far may add to the file.
    added: u64,
    /// Whether the changes may not take the map's reserve (a write that
    /// adds data), or may (a sweep).
    keeps_reserve: bool,
    /// The map's free pages when the transaction began.
    map: MapRoom,
    /// The map pages the changes so far may take.
    taken: u64,
}

impl Room<'_> {
    /// A room keeping `margin` bytes reserved on disk; `keeps_reserve`:
    /// whether it may not take the map's reserve.
    fn new(environment: &Environment, margin: u64, keeps_reserve: bool) -> Room<'_> {
        let map = environment.map_room();
        Room {
            environment,
            margin,
            added: 0,
            keeps_reserve,
            map,
            // The pages any commit copies once, whatever it changes.
            taken: map.per_commit(),
        }
    }

    /// Keeps room for one more rewrite, or a new record, of `len` bytes
    /// (its new length): call before it. Counted: the overflow pages it may
    /// take (its bytes and the 16-byte page header, in whole pages); on
    /// disk, its leaf's copy and a page above (the pages further up are the
    /// margin's), in the map a claim's pages ([`MapRoom::per_claim`]: the
    /// paths of both trees, which a new session, a rename or a re-filing
    /// changes too).
    pub(super) fn record(&mut self, len: usize) -> Result<()> {
        let pages = self.overflow_pages(len);
        self.grow(pages + self.map.per_claim(), pages + 2)
    }

    /// Keeps room for one more claim (two deletes) or a re-filing's index
    /// move: call before it. Counted: on disk, both B-tree leaves and a
    /// sibling of each; in the map, [`MapRoom::per_claim`].
    pub(super) fn claim(&mut self) -> Result<()> {
        self.grow(self.map.per_claim(), 4)
    }

    /// The overflow pages of a record of `len` bytes.
    fn overflow_pages(&self, len: usize) -> u64 {
        (len as u64)
            .saturating_add(16)
            .div_ceil(self.environment.page_size)
    }

    /// Counts `map` more pages the transaction may take in the map (see
    /// [`MapRoom`]; `E_STORE_FULL` if it keeps the reserve and they would
    /// take it) and keeps `disk` more reserved on disk.
    fn grow(&mut self, map: u64, disk: u64) -> Result<()> {
        self.taken = self.taken.saturating_add(map);
        if self.keeps_reserve && self.taken.saturating_add(self.map.reserve()) > self.map.free {
            return Err(Error::new(
                error::E_STORE_FULL,
                "LMDB store: the map is full (its last free pages are kept for the \
                 sweeps and removals that free room; raise map_size; nothing was \
                 written)",
            ));
        }
        self.added = self
            .added
            .saturating_add(disk.saturating_mul(self.environment.page_size));
        shared_reserve(self.environment, self.margin.saturating_add(self.added))
    }

    /// Whether a sweep may make one more change, a claim (`record` 0) or
    /// the re-filing of a record of `record` bytes, in this transaction:
    /// whether it would still leave the pages of a commit of one claim for
    /// the next (the pages this one frees are reusable only from the
    /// commit after that).
    pub(super) fn claim_fits(&self, record: usize) -> bool {
        let n = match record {
            0 => 0,
            len => self.overflow_pages(len),
        };
        let after = self.taken.saturating_add(n + self.map.per_claim());
        after.saturating_add(self.map.one_claim()) <= self.map.free
    }
}

/// The map pages free as a write transaction begins, and the depth of the
/// deepest tree: what [`Room`] sizes the reserve by.
#[derive(Clone, Copy)]
pub(super) struct MapRoom {
    /// Pages free past the last used one and on LMDB's free list. Some of
    /// these only the commit after the next may reuse (freed by the last
    /// one): counted all the same, since what this transaction's commit
    /// does not take is what the next one can have.
    free: u64,
    /// The depth of the deepest tree (the main database's, the sessions'
    /// and expiry indexes of every application).
    depth: u64,
}

impl MapRoom {
    /// The pages any commit may copy once: the main database's path (it
    /// records each changed tree's root) and the free list's (its path,
    /// and two pages for the records of what the commit frees and reuses).
    fn per_commit(self) -> u64 {
        2 * self.depth + 2
    }

    /// The pages one claim may copy: in each of the two trees it changes
    /// (the sessions and the expiry index), the path to the record, and at
    /// each level a sibling that a merge or a split touches.
    fn per_claim(self) -> u64 {
        4 * self.depth
    }

    /// The pages of a commit of one claim (or one removal).
    fn one_claim(self) -> u64 {
        self.per_commit() + self.per_claim()
    }

    /// The pages a write that adds data leaves free: two commits of one
    /// claim. The first after it can use only what it leaves; the second,
    /// that less what the first took, plus what this write freed; the
    /// third, what the first freed (its copies' originals, the claimed
    /// session's pages: about what it took), and so on, a sweep freeing
    /// room as it goes. With trees 2 deep (most 1 MiB maps'), 28 pages
    /// (112 KiB of 4 KiB pages); 3 deep, 40; 5 deep (maps of GiBs), 64.
    fn reserve(self) -> u64 {
        2 * self.one_claim()
    }
}

/// Below how many bytes left past the last used page (when the map has
/// at least this much left at its end, no write needs more) a write
/// transaction counts the pages on LMDB's free list too.
const COUNT_BELOW: u64 = FLUSH_MARGIN;

/// The depth assumed while the map has more than [`COUNT_BELOW`] left at
/// its end (trees are not measured then): what a map of tens of GiB has.
const ASSUMED_DEPTH: u64 = 6;

/// A transaction (`T`: [`RoTxn`] or [`RwTxn`]) and the shared hold on its
/// environment's gate that it keeps while open (see [`Environment::begin`]).
pub(super) struct Gated<'e, T> {
    /// Dropped first (fields drop in order): aborted, then the gate freed.
    txn: T,
    _gate: parking_lot::RwLockReadGuard<'e, ()>,
}

impl<T> std::ops::Deref for Gated<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.txn
    }
}

impl<T> std::ops::DerefMut for Gated<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.txn
    }
}

impl Gated<'_, RwTxn<'_>> {
    /// Commits the write transaction, then frees the gate.
    pub(super) fn commit(self) -> heed::Result<()> {
        self.txn.commit()
    }
}

/// An [`Environment`]'s LMDB handle, which a forked child may close early.
struct Handle {
    env: UnsafeCell<ManuallyDrop<Env<WithoutTls>>>,
    /// The descriptor of `lock.mdb` that [`locks::opening`] locked: kept
    /// while `env` is open, since closing it would drop LMDB's `fcntl`
    /// locks on the file, and closed after it ([`Handle::close`], or
    /// early by [`Environment::close_inherited`]).
    lock_file: Mutex<Option<File>>,
    /// Whether `env` was closed (early only in a forked child).
    closed: AtomicBool,
}

impl Handle {
    /// Closes the environment, then the descriptor of `lock.mdb` (nothing
    /// if closed already): called only by its holder's last reference.
    fn close(&mut self) {
        if !std::mem::replace(self.closed.get_mut(), true) {
            // SAFETY: dropped once (`closed` says it was not), and `self`
            // is held exclusively by its owner, which is going: nothing
            // reads `env` after.
            unsafe { ManuallyDrop::drop(self.env.get_mut()) }
        }
        drop(
            self.lock_file
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.close();
    }
}

// SAFETY: `env` is read only through `Environment::env`, which refuses in
// any process but the one that opened it, and dropped early only by
// `Environment::close_inherited`, which acts only in another one (a forked
// child: a process's fork generation does not change once it runs, and a
// child's differs from every ancestor's), once (`closed`): never both in
// one process. `Env` itself is `Send + Sync`.
unsafe impl Sync for Handle {}

/// The numbers of this process's applications (keys of queued slides).
static APPS: AtomicU32 = AtomicU32::new(0);

/// One application's databases in an open environment.
pub(super) struct Shared {
    environment: Arc<Environment>,
    /// This application's number in the process.
    app: u32,
    /// Key hash (16 bytes) → the session's record (see `provider.rs`).
    pub(super) sessions: Db,
    /// Deadline (8 bytes, big-endian) ‖ key hash → nothing.
    pub(super) expiry: Db,
    /// Bytes kept reserved on disk beyond the last used page: more than
    /// one transaction can add (two largest sessions, plus B-tree pages).
    margin: u64,
}

/// Most applications (sets of databases) one directory holds.
const MAX_APPS: u32 = 40;

/// An environment this process opened, and the fork generation that
/// opened it (an entry of [`OPEN`]).
type Opened = (Weak<Environment>, u32);

/// The environments this process has open, by canonical directory. An
/// entry stays until its environment is closed ([`forget`]), after its
/// last reference went.
static OPEN: Mutex<Option<HashMap<PathBuf, Opened>>> = Mutex::new(None);

/// Notified when an environment was closed and left [`OPEN`].
static CLOSED: Condvar = Condvar::new();

/// How long opening a directory waits for this process's environment of
/// it to close (its slides written, LMDB's handle closed: milliseconds).
const CLOSE_PATIENCE: Duration = Duration::from_secs(30);

/// How many times an opener waited for an environment to close.
#[cfg(test)]
static WAITS: AtomicU32 = AtomicU32::new(0);

impl Shared {
    /// The databases of application `opts.name` in `opts.dir`, in the
    /// environment this process has open there or a new one (created on
    /// first use, checked to be marked with `format`: what the `meta`
    /// database's `format` key holds, see `parts.rs`).
    pub(super) fn open(
        opts: &LmdbOptions,
        format: &'static [u8],
        max_session_bytes: usize,
    ) -> Result<Shared> {
        let environment = Environment::get(opts, format)?;
        let margin = (max_session_bytes as u64).saturating_mul(4) + (4 << 20);
        let shared = |sessions, expiry| Shared {
            environment: environment.clone(),
            app: APPS.fetch_add(1, Ordering::Relaxed),
            sessions,
            expiry,
            margin,
        };
        let env = environment.env()?;
        let mut wtxn = environment.write_txn("open")?;
        shared_reserve(&environment, margin)?;
        let mut db = |what: &str| {
            let name = format!("{what}:{}", opts.name);
            env.create_database::<Bytes, Bytes>(&mut wtxn, Some(&name))
                .map_err(|e| match e {
                    heed::Error::Mdb(MdbError::DbsFull) => Error::new(
                        error::E_STORE_FULL,
                        format!("one LMDB directory holds at most {MAX_APPS} applications"),
                    ),
                    e => fail(e, "open"),
                })
        };
        let (sessions, expiry) = (db("sessions")?, db("expiry")?);
        wtxn.commit().map_err(|e| fail(e, "open"))?;
        Ok(shared(sessions, expiry))
    }

    /// Reserves the data file's blocks ahead of LMDB's use (see the module
    /// documentation): call in every write transaction, before it writes
    /// (not before it begins: other processes may commit while it waits
    /// for LMDB's writer lock, growing the file past what it saw).
    pub(super) fn reserve(&self) -> Result<()> {
        shared_reserve(&self.environment, self.margin)
    }

    /// The room of a write transaction that adds data (see [`Room`]):
    /// beyond what [`Shared::reserve`] keeps on disk, and short of the
    /// map's reserve.
    pub(super) fn room(&self) -> Room<'_> {
        Room::new(&self.environment, self.margin, true)
    }

    /// The room of a sweep's write transaction, which may use the map's
    /// reserve (see [`Room::claim_fits`]).
    pub(super) fn sweep_room(&self) -> Room<'_> {
        Room::new(&self.environment, self.margin, false)
    }

    /// This application's number in the process.
    pub(super) fn app(&self) -> u32 {
        self.app
    }

    /// A read transaction (see [`Environment::begin`]).
    pub(super) fn read_txn(&self, op: &str) -> Result<Gated<'_, RoTxn<'_, WithoutTls>>> {
        self.environment.read_txn(op)
    }

    /// A write transaction (see [`Environment::begin`]): begin it holding
    /// [`Shared::writer`].
    pub(super) fn write_txn(&self, op: &str) -> Result<Gated<'_, RwTxn<'_>>> {
        self.environment.write_txn(op)
    }

    /// Flushes what was written to disk.
    pub(super) fn sync(&self) -> Result<()> {
        let e = &self.environment;
        let env = e.env()?;
        let _gate = e.gate.read_recursive();
        e.check_mapped()?;
        env.force_sync().map_err(|err| fail(err, "sync"))
    }

    /// Frees the reader slots of processes killed inside a read
    /// transaction (they would pin old pages forever).
    pub(super) fn clear_stale_readers(&self) -> Result<()> {
        // Reads only `lock.mdb`'s table, not the data file's map: no gate.
        let _ = self.environment.env()?.clear_stale_readers();
        Ok(())
    }

    /// `E_STORE_UNAVAILABLE`, from now on for every transaction of this
    /// process on the environment, if the directory's `data.mdb` is no
    /// longer the file this process has open (the directory or its files
    /// were removed, perhaps made anew): this process would go on alone
    /// in a file no other process opens, its writes lost when it ends,
    /// while processes started since use another store (sessions seen by
    /// some workers and not others, their locks apart). Called by every
    /// sweep (a `stat`), and by a transaction at most every
    /// [`LOOK_EVERY`] (see [`Environment::look_now_and_then`]).
    pub(super) fn check_file(&self) -> Result<()> {
        let e = &self.environment;
        e.look_at_file();
        let _gate = e.gate.read_recursive();
        e.check_mapped()
    }

    /// This process's turn to write: hold it while a write transaction
    /// is open.
    pub(super) fn writer(&self) -> Turn<'_> {
        self.environment.turn()
    }

    /// Queues the slide of session `h` (stored deadline `seen`) to
    /// `deadline`, for the next flush: whether it was queued (else the
    /// caller writes it; no flusher could be started).
    pub(super) fn queue_slide(&self, h: &[u8; 16], seen: u64, deadline: u64) -> Result<bool> {
        let e = &self.environment;
        if !e.slides.open() {
            return Ok(false);
        }
        let slide = Slide {
            sessions: self.sessions,
            seen,
            deadline,
        };
        match e.slides.push((self.app, *h), slide) {
            Push::Queued => Ok(true),
            Push::Flush => e.flush_slides().map(|()| true),
            Push::Start => {
                let weak = Arc::downgrade(e);
                e.slides.flusher(move || match weak.upgrade() {
                    Some(e) => {
                        // Nowhere to report a failure: those sessions keep
                        // their earlier deadline (see `slides.rs`).
                        let _ = e.flush_slides();
                        true
                    }
                    None => false,
                });
                if e.slides.open() {
                    Ok(true)
                } else {
                    e.flush_slides().map(|()| true)
                }
            }
        }
    }

    /// Whether this process has slides queued (or being written).
    pub(super) fn slides_queued(&self) -> bool {
        !self.environment.slides.is_empty()
    }

    /// Writes every slide this process has queued (waiting for a flush
    /// under way to end, so what was queued before the call is written).
    pub(super) fn flush_slides(&self) -> Result<()> {
        self.environment.flush_slides()
    }

    /// `E_STORE_UNAVAILABLE` in a child forked from the process that opened
    /// the environment (LMDB forbids using it there).
    pub(super) fn check_process(&self) -> Result<()> {
        self.environment.env().map(|_| ())
    }

    /// The bytes of the data file LMDB has used and those reserved on disk.
    #[cfg(test)]
    pub(super) fn space(&self) -> (u64, u64) {
        let e = &self.environment;
        let _gate = e.gate.read_recursive();
        let info = e.env().unwrap().info();
        let used = (info.last_page_number as u64 + 1) * e.page_size;
        (used, e.reserved.load(Ordering::Relaxed))
    }

    /// Queues a slide as [`Shared::queue_slide`] does, but starts no
    /// flusher: it waits for [`Shared::flush_slides`].
    #[cfg(test)]
    pub(super) fn queue_unflushed(&self, h: &[u8; 16], seen: u64, deadline: u64) {
        let slide = Slide {
            sessions: self.sessions,
            seen,
            deadline,
        };
        let _ = self.environment.slides.push((self.app, *h), slide);
    }
}

/// Keeps `margin` bytes beyond the last used page of `e`'s data file
/// reserved on disk (up to the map size: the larger one, once this process
/// adopted it): `E_STORE_FULL` if the disk has no room. Only inside a
/// write transaction (it holds the gate, see [`Environment::begin`]).
fn shared_reserve(e: &Environment, margin: u64) -> Result<()> {
    let info = e.env()?.info();
    let used = (info.last_page_number as u64 + 1) * e.page_size;
    let map = info.map_size as u64;
    let want = used.saturating_add(margin).min(map);
    if want <= e.reserved.load(Ordering::Relaxed) {
        return Ok(());
    }
    let target = want.saturating_add(RESERVE_CHUNK).min(map);
    // From what this process allocated already: the pages below are in
    // use, written by every process through its map (`fallocate` leaves
    // them as they are, but there is nothing to do there; see `space.rs`
    // for why never `posix_fallocate`).
    let from = e.reserved.load(Ordering::Relaxed);
    space::allocate(&e.data, &e.data_path, from, target)
        .map_err(|err| space::refused(&e.data_path, target, err, error::E_STORE_UNAVAILABLE))?;
    e.reserved.fetch_max(target, Ordering::Relaxed);
    Ok(())
}

impl Environment {
    /// The environment of `opts.dir` this process has open, or a new one.
    fn get(opts: &LmdbOptions, format: &'static [u8]) -> Result<Arc<Environment>> {
        let access = |e| no_access(&opts.dir, e);
        let dir = std::fs::canonicalize(&opts.dir).map_err(access)?;
        if !std::fs::metadata(&dir).map_err(access)?.is_dir() {
            return Err(access(std::io::Error::new(
                ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        // Dropped after the registry's lock (declared before it): if this
        // is an environment's last reference, closing it takes the lock.
        let _found: Option<Arc<Environment>>;
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        let start = Instant::now();
        loop {
            let entry = open.get_or_insert_with(HashMap::new).get(&dir);
            let generation = crate::fork::generation();
            match entry.map(|(e, g)| (e.upgrade(), *g)) {
                None => break,
                Some((Some(e), _)) if e.generation != generation => {
                    // Opened before this process forked: not to be used here.
                    e.close_inherited();
                    _found = Some(e);
                    break;
                }
                Some((Some(e), _)) if e.format == format => {
                    if opts.durable {
                        e.make_durable()?;
                    }
                    e.grow(opts.map_size)?;
                    return Ok(e);
                }
                Some((Some(e), _)) => {
                    let other = other_format(&dir, e.format, format);
                    _found = Some(e);
                    return Err(other);
                }
                // Being closed by a thread of the parent this process was
                // forked from: not here, never done.
                Some((None, g)) if g != generation => break,
                Some((None, _)) => {
                    // Being closed by the thread that let go of its last
                    // reference (the slides flusher's, after a flush, say):
                    // a second handle on the directory would be refused,
                    // and closing the first would drop this process's
                    // `fcntl` locks on `lock.mdb`, the new one's too.
                    #[cfg(test)]
                    WAITS.fetch_add(1, Ordering::SeqCst);
                    let Some(left) = CLOSE_PATIENCE.checked_sub(start.elapsed()) else {
                        return Err(Error::new(
                            error::E_STORE_UNAVAILABLE,
                            format!(
                                "lmdb directory {}: this process's environment of it \
                                 did not close within {} s",
                                dir.display(),
                                CLOSE_PATIENCE.as_secs()
                            ),
                        ));
                    };
                    open = CLOSED
                        .wait_timeout(open, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
        not_emptied(&dir)?;
        // No environment of this process is open on `dir` (see
        // `locks::opening`): whether another process has one.
        let opening = locks::opening(&dir)?;
        if opening.first {
            // LMDB trusts its file, and damage appears while no process
            // has it open (a crash, a copy, a failing disk): checked
            // before LMDB reads it, while no other process can.
            verify::data_file(&dir)?;
        }
        locks::convert_old(&dir, opening.first)?;
        locks::free_gone(&dir, opening.first)?;
        let e = Arc::new(Environment::open(&dir, opts, format, opening.lock_file)?);
        let entry = (Arc::downgrade(&e), e.generation);
        open.get_or_insert_with(HashMap::new).insert(dir, entry);
        e.registered.store(true, Ordering::Relaxed);
        Ok(e)
    }

    /// Opens the environment of `dir` (`lock_file`: the descriptor of its
    /// `lock.mdb` that [`locks::opening`] locked, kept open as long as the
    /// environment).
    fn open(
        dir: &std::path::Path,
        opts: &LmdbOptions,
        format: &'static [u8],
        lock_file: File,
    ) -> Result<Environment> {
        let mut flags = EnvFlags::NO_READ_AHEAD | EnvFlags::WRITE_MAP;
        if !opts.durable {
            flags |= EnvFlags::NO_SYNC;
        }
        let data_path = dir.join("data.mdb");
        // Not shorter than another process made the file (see
        // `covering_map`): opened under the directory's lock (`parts.rs`),
        // so no other process opens it meanwhile.
        let len = match std::fs::metadata(&data_path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(e) => return Err(fail(heed::Error::Io(e), "open")),
        };
        let map_size = covering_map(len, opts.map_size);
        mappable(dir, map_size)?;
        let mut o = EnvOpenOptions::new().read_txn_without_tls();
        o.map_size(map_size)
            .max_dbs(2 * MAX_APPS + 1)
            .max_readers(1024);
        // SAFETY: the flags are LMDB's documented ones; NO_SYNC trades
        // durability against power loss only (not process crashes);
        // WRITE_MAP's sparse file is reserved ahead of use (`reserve`).
        unsafe { o.flags(flags) };
        // SAFETY: this process opens `dir` once (the registry above); the
        // files are LMDB's, changed only through LMDB by every process.
        let env = unsafe { o.open(dir) }.map_err(|e| fail(e, "open"))?;
        // A process killed inside a read transaction leaves its reader slot.
        let _ = env.clear_stale_readers();
        let data = File::options()
            .read(true)
            .write(true)
            .open(&data_path)
            .map_err(|e| fail(heed::Error::Io(e), "open"))?;
        let page_size = u64::from(env.stat().page_size);
        let environment = Environment {
            env: Handle {
                env: UnsafeCell::new(ManuallyDrop::new(env)),
                lock_file: Mutex::new(Some(lock_file)),
                closed: AtomicBool::new(false),
            },
            format,
            page_size,
            generation: crate::fork::generation(),
            data,
            data_path,
            reserved: AtomicU64::new(0),
            map_free: AtomicU64::new(0),
            map_depth: AtomicU64::new(ASSUMED_DEPTH),
            writer: parking_lot::Mutex::new(()),
            gate: parking_lot::RwLock::new(()),
            unmapped: AtomicBool::new(false),
            orphaned: AtomicBool::new(false),
            looked_ms: AtomicU64::new(0),
            opened: Instant::now(),
            wakes: Wakes::open(dir)?,
            slides: Arc::default(),
            registered: AtomicBool::new(false),
        };
        let env = environment.env()?;
        // Checked first in a read transaction: usually marked already, and
        // a foreign environment is refused before anything is written.
        let rtxn = environment.read_txn("open")?;
        let stamped = marked(env, &rtxn, dir, format)?;
        drop(rtxn);
        if !stamped {
            let mut wtxn = environment.write_txn("open")?;
            // Room for the format record before it is written.
            shared_reserve(&environment, RESERVE_CHUNK)?;
            // Again: another process may have marked it meanwhile.
            if !marked(env, &wtxn, dir, format)? {
                let meta = env
                    .create_database::<Bytes, Bytes>(&mut wtxn, Some("meta"))
                    .map_err(|e| fail(e, "open"))?;
                meta.put(&mut wtxn, b"format", format)
                    .map_err(|e| fail(e, "open"))?;
            }
            wtxn.commit().map_err(|e| fail(e, "open"))?;
        }
        Ok(environment)
    }

    /// Has every later commit of this process on the environment reach
    /// the disk before it returns (clears `MDB_NOSYNC`): for an application
    /// asking for `durable` writes that joins an environment opened
    /// without them (the process's other applications on the directory
    /// then get them too). Call holding [`OPEN`]'s lock (LMDB's flags are
    /// changed by one thread at a time).
    fn make_durable(&self) -> Result<()> {
        let env = self.env()?;
        let no_sync = EnvFlags::NO_SYNC;
        if env.get_flags().map_err(|e| fail(e, "open"))? & no_sync.bits() == 0 {
            return Ok(());
        }
        // No transaction of this process is open meanwhile (each holds the
        // gate shared): none reads the flags as they change.
        let _all = self.gate.write();
        // SAFETY: `MDB_NOSYNC` is one of the flags LMDB changes at any
        // time; no other thread changes them (`OPEN` is locked) or uses the
        // environment meanwhile (the gate).
        unsafe { env.set_flags(no_sync, heed::FlagSetMode::Disable) }.map_err(|e| fail(e, "open"))
    }

    /// The LMDB handle: `E_STORE_UNAVAILABLE` in a child forked from the
    /// process that opened it (LMDB forbids using it there).
    fn env(&self) -> Result<&Env<WithoutTls>> {
        if crate::fork::generation() != self.generation {
            return Err(Error::new(
                error::E_STORE_UNAVAILABLE,
                "the LMDB store was opened before this process forked; create \
                 the application in the child",
            ));
        }
        // SAFETY: in the process that opened it, `env` is never dropped
        // before `self` (see `close_inherited` and the `Sync` impl).
        Ok(unsafe { &**self.env.env.get() })
    }

    /// In a forked child, closes this process's copy of the environment its
    /// parent opened, so that the child can open the directory anew: heed
    /// opens a directory once per process (it refuses a second open while
    /// the first handle lives), and closing the copy after the new one
    /// opened would close a descriptor of `lock.mdb`, dropping the new
    /// one's `fcntl` locks (LMDB's: the sign that a process uses the
    /// environment, and its reader slots'). Closing touches only this
    /// process's memory and descriptors: reader slots are cleared only for
    /// this process's ID (the parent's stay), and `fcntl` locks are not
    /// inherited. The child's inherited applications keep failing
    /// (`E_STORE_UNAVAILABLE`), as before.
    fn close_inherited(&self) {
        if crate::fork::generation() == self.generation
            || self.env.closed.swap(true, Ordering::AcqRel)
        {
            return;
        }
        // SAFETY: this process is not the one that opened it, so
        // `Environment::env` refuses and nothing reads `env` here (no
        // transaction of it is open: the threads that had one are not in
        // this process); `closed` makes this the one drop.
        unsafe { ManuallyDrop::drop(&mut *self.env.env.get()) }
        // Its descriptor of `lock.mdb` too (none of this process's locks
        // is on it yet: `fcntl` locks are not inherited).
        drop(
            self.env
                .lock_file
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }
}

/// The map size for a data file `len` bytes long, at least `floor`: in
/// whole OS pages, not shorter than the file (the largest whole number of
/// pages if that is more than a `usize` holds: no process can map it, see
/// [`mappable`]). With `MDB_WRITEMAP`, LMDB
/// sets the file's length to the map's as it maps it, so the file is as
/// long as the largest map of the processes using it (and holds every
/// page written); a shorter map would cut it short under theirs, dropping
/// the disk space they allocated ahead (`space.rs`) and making their
/// writes past the new end SIGBUS.
fn covering_map(len: u64, floor: usize) -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let page = page.max(1);
    let size = usize::try_from(len).unwrap_or(usize::MAX).max(floor);
    size.checked_next_multiple_of(page)
        .unwrap_or(usize::MAX / page * page)
}

/// `E_INVALID_OPTION` if this process cannot map `size` bytes for the
/// environment of `dir` (more than its address space has room for). LMDB
/// sets the data file's length to its map size before it maps the file
/// (`MDB_WRITEMAP`): where the file system allows that length (tmpfs),
/// a map that then failed left the file that long, and every later open,
/// which maps at least the file's length ([`covering_map`]), failed too,
/// whatever its `map_size`.
fn mappable(dir: &std::path::Path, size: usize) -> Result<()> {
    // SAFETY: a new private anonymous mapping without access, unmapped at
    // once: it reserves address space only, and touches nothing else.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if map != libc::MAP_FAILED {
        // SAFETY: the mapping just made, of `size` bytes, used by nothing.
        unsafe { libc::munmap(map, size) };
        return Ok(());
    }
    Err(Error::new(
        error::E_INVALID_OPTION,
        format!(
            "lmdb directory {}: a map of {size} bytes (its map_size's share, or \
             its data file's length if longer) is more than this process can \
             map: give a smaller map_size",
            dir.display()
        ),
    ))
}

/// Whether the environment `env` is marked with `format` (read in `txn`):
/// `E_STORE_CORRUPT` if it is marked with another, or is not marked but
/// holds something (a named database, a record: another program's), so
/// only an empty environment is ever marked.
fn marked(
    env: &Env<WithoutTls>,
    txn: &RoTxn,
    dir: &std::path::Path,
    format: &[u8],
) -> Result<bool> {
    let meta: Option<Db> = env
        .open_database(txn, Some("meta"))
        .map_err(|e| fail(e, "open"))?;
    if let Some(meta) = meta {
        match meta.get(txn, b"format").map_err(|e| fail(e, "open"))? {
            Some(f) if f == format => return Ok(true),
            Some(f) => return Err(other_format(dir, f, format)),
            None => {}
        }
    }
    let main: Option<Db> = env.open_database(txn, None).map_err(|e| fail(e, "open"))?;
    let empty = match main {
        Some(main) => main.is_empty(txn).map_err(|e| fail(e, "open"))?,
        None => true,
    };
    if empty {
        Ok(false)
    } else {
        Err(Error::new(
            error::E_STORE_CORRUPT,
            format!(
                "{} holds an LMDB environment that is not a libsess store (it \
                 has databases or records of its own and no libsess format \
                 mark): give the LMDB store a directory of its own",
                dir.display()
            ),
        ))
    }
}

/// A turn to write (see [`Environment::turn`]).
pub(super) struct Turn<'a> {
    _thread: parking_lot::MutexGuard<'a, ()>,
    wakes: &'a Wakes,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.wakes.done_writing();
    }
}

impl Environment {
    /// This process's turn to write, marked for the other processes (see
    /// `wakes.rs`): hold it while a write transaction is open. A thread
    /// that finds another of this process's threads writing waits on its
    /// CPU first: a write transaction takes a few µs, less than being put
    /// to sleep and woken (the holder's system call, then the scheduler:
    /// tens of µs on a VM).
    fn turn(&self) -> Turn<'_> {
        let thread = spin_for(|| self.writer.try_lock()).unwrap_or_else(|| self.writer.lock());
        self.wakes.start_writing();
        Turn {
            _thread: thread,
            wakes: &self.wakes,
        }
    }

    /// A read transaction (see [`Environment::begin`]).
    fn read_txn(&self, op: &str) -> Result<Gated<'_, RoTxn<'_, WithoutTls>>> {
        self.begin(op, Env::read_txn)
    }

    /// A write transaction (see [`Environment::begin`]), the map's free
    /// pages measured ([`Environment::measure`]): begin it holding this
    /// process's turn ([`Environment::turn`]), or before the environment
    /// is shared.
    fn write_txn(&self, op: &str) -> Result<Gated<'_, RwTxn<'_>>> {
        let txn = self.begin(op, Env::write_txn)?;
        self.measure(&txn, op)?;
        Ok(txn)
    }

    /// Records the map's free pages and the depth of its deepest tree as
    /// of the last commit, for the [`Room`]s of the write transaction
    /// `txn` just begun (holding LMDB's writer lock: nothing commits
    /// meanwhile). Where the map has more than [`COUNT_BELOW`] left past
    /// the last used page, that is all (LMDB's own record, no system
    /// call): no write needs more. Only nearer its end are the pages of
    /// the trees counted, from their records in the main database (in
    /// memory: a walk of a few records).
    fn measure(&self, txn: &RoTxn, op: &str) -> Result<()> {
        let env = self.env()?;
        let info = env.info();
        let map = info.map_size as u64 / self.page_size;
        let tail = map.saturating_sub(info.last_page_number as u64 + 1);
        let (free, depth) = if tail >= COUNT_BELOW / self.page_size {
            (tail, ASSUMED_DEPTH)
        } else {
            self.count(env, txn, map).map_err(|e| fail(e, op))?
        };
        self.map_free.store(free, Ordering::Relaxed);
        self.map_depth.store(depth, Ordering::Relaxed);
        Ok(())
    }

    /// The free pages of a map of `map` pages and the depth of its
    /// deepest tree, as `txn` sees them: the map less the two meta pages,
    /// the main database's pages and those of the trees it names (their
    /// records, `MDB_db`, are its values: see `verify.rs`), and a bound on
    /// the free list's own pages (its tree cannot be opened to count): 8
    /// bytes a free page's number, its pages half full at least, and its
    /// path.
    fn count(&self, env: &Env<WithoutTls>, txn: &RoTxn, map: u64) -> heed::Result<(u64, u64)> {
        let Some(main) = env.open_database::<Bytes, Bytes>(txn, None)? else {
            return Ok((map, 1));
        };
        let stat = main.stat(txn)?;
        let mut depth = u64::from(stat.depth);
        let mut used = 2 + (stat.branch_pages + stat.leaf_pages + stat.overflow_pages) as u64;
        for entry in main.iter(txn)? {
            let (_, record) = entry?;
            if record.len() == verify::DB_SIZE {
                let db = verify::Db::parse(record);
                depth = depth.max(u64::from(db.depth));
                used += db.branch_pages + db.leaf_pages + db.overflow_pages;
            }
        }
        let listed = map.saturating_sub(used);
        let free_list = (listed * 16).div_ceil(self.page_size) + depth;
        Ok((listed.saturating_sub(free_list), depth.max(1)))
    }

    /// What [`Environment::measure`] found for the write transaction
    /// under way.
    fn map_room(&self) -> MapRoom {
        MapRoom {
            free: self.map_free.load(Ordering::Relaxed),
            depth: self.map_depth.load(Ordering::Relaxed),
        }
    }

    /// Marks the environment orphaned if the directory's `data.mdb` is no
    /// longer its file (removed, or replaced by another): a `stat`.
    fn look_at_file(&self) {
        use std::os::unix::fs::MetadataExt;
        let same = match (std::fs::metadata(&self.data_path), self.data.metadata()) {
            (Ok(path), Ok(open)) => path.dev() == open.dev() && path.ino() == open.ino(),
            (Err(err), _) if err.kind() == ErrorKind::NotFound => false,
            // Not known (a transient failure): judged at the next look.
            _ => true,
        };
        if !same {
            self.orphaned.store(true, Ordering::Relaxed);
        }
    }

    /// [`Environment::look_at_file`], if no thread of the process has in
    /// the last [`LOOK_EVERY`]: so a process that seldom sweeps (or never:
    /// no expiry thread) does not serve an orphaned file for long, at the
    /// cost of a clock reading per transaction and a `stat` a second.
    fn look_now_and_then(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.looked_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= LOOK_EVERY.as_millis() as u64
            && self
                .looked_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.look_at_file();
        }
    }

    /// Begins a transaction with `begin`, holding the gate shared while it
    /// is open. If another process grew the data past this process's map
    /// (`MDB_MAP_RESIZED`), adopts the larger map first and begins again,
    /// once. During `op` (for messages).
    fn begin<'e, T>(
        &'e self,
        op: &str,
        begin: impl Fn(&'e Env<WithoutTls>) -> heed::Result<T>,
    ) -> Result<Gated<'e, T>> {
        let env = self.env()?;
        self.look_now_and_then();
        let mut adopted = false;
        loop {
            let gate = self.gate.read_recursive();
            self.check_mapped()?;
            #[cfg(test)]
            let began = match tests::resized_now() {
                true => Err(heed::Error::Mdb(MdbError::MapResized)),
                false => begin(env),
            };
            #[cfg(not(test))]
            let began = begin(env);
            match began {
                Ok(txn) => return Ok(Gated { txn, _gate: gate }),
                Err(heed::Error::Mdb(MdbError::MapResized)) if !adopted => {
                    let seen = env.info().map_size;
                    drop(gate);
                    self.adopt(env, seen, op)?;
                    adopted = true;
                }
                Err(e) => return Err(fail(e, op)),
            }
        }
    }

    /// Maps the data file at its length ([`covering_map`]), larger than
    /// the `seen` bytes this process mapped (another process's map), unless
    /// another thread did so since `seen` was read. The length, not the
    /// map size LMDB records in the file (what `mdb_env_set_mapsize(env,
    /// 0)` would take): that one is the largest map of a process that has
    /// committed since it opened, and a process with a larger map that has
    /// not yet would see its file cut short under its map.
    fn adopt(&self, env: &Env<WithoutTls>, seen: usize, op: &str) -> Result<()> {
        let _all = self.gate.write();
        self.check_mapped()?;
        if env.info().map_size != seen {
            return Ok(()); // adopted by another thread meanwhile
        }
        self.remap(env, seen, op)
    }

    /// Maps the environment at `map_size` at least, for an application
    /// of this process asking for more than the one that opened it (the
    /// other applications on the directory then have the larger map too).
    /// Call holding [`OPEN`]'s lock.
    fn grow(&self, map_size: usize) -> Result<()> {
        let env = self.env()?;
        let want = covering_map(0, map_size);
        if env.info().map_size >= want {
            return Ok(());
        }
        mappable(self.data_path.parent().unwrap_or(&self.data_path), want)?;
        let _all = self.gate.write();
        self.check_mapped()?;
        self.remap(env, want, "open")
    }

    /// Maps the data file at its length, `floor` bytes at least
    /// ([`covering_map`]). Call holding the gate exclusively.
    fn remap(&self, env: &Env<WithoutTls>, floor: usize, op: &str) -> Result<()> {
        let len = self
            .data
            .metadata()
            .map_err(|e| fail(heed::Error::Io(e), op))?
            .len();
        let size = covering_map(len, floor);
        // SAFETY: no transaction of this process is open on `env`, nor any
        // other call reading its map: each holds the gate shared, and the
        // caller holds it exclusively.
        let resized = unsafe { env.resize(size) };
        resized.map_err(|e| {
            // LMDB may have unmapped the file without mapping it again.
            self.unmapped.store(true, Ordering::Relaxed);
            fail(e, op)
        })
    }

    /// `E_STORE_UNAVAILABLE` once adopting a larger map failed (see
    /// [`Environment::unmapped`]); call holding the gate.
    fn check_mapped(&self) -> Result<()> {
        if self.orphaned.load(Ordering::Relaxed) {
            return Err(orphaned(&self.data_path));
        }
        if !self.unmapped.load(Ordering::Relaxed) {
            return Ok(());
        }
        Err(Error::new(
            error::E_STORE_UNAVAILABLE,
            format!(
                "LMDB store {}: this process could not map the file at the larger \
                 size another process gave it; restart the process",
                self.data_path.display()
            ),
        ))
    }

    /// Writes the queued slides in one write transaction (none in a
    /// forked child: the queue is its parent's). A failed transaction
    /// loses them: those sessions keep their earlier deadlines.
    fn flush_slides(&self) -> Result<()> {
        if self.env().is_err() {
            return Ok(());
        }
        let _turn = self.turn();
        let (_writing, batch) = self.slides.take();
        if batch.is_empty() {
            return Ok(());
        }
        let mut txn = self.write_txn("slide")?;
        // Holding LMDB's writer lock, as `LmdbProvider::write` does.
        shared_reserve(self, FLUSH_MARGIN)?;
        let mut room = Room::new(self, FLUSH_MARGIN, true);
        for ((_, h), slide) in &batch {
            // Only over the deadline the request read: a later write stands.
            let slid = |st: State| {
                let slid = State {
                    deadline: slide.deadline,
                    ..st
                };
                (st.deadline == slide.seen && st.deadline < slide.deadline).then_some((slid, None))
            };
            match rewrite(&slide.sessions, &mut txn, h, "slide", &mut room, slid) {
                // Ended or removed since (not resurrected), or written.
                Ok(_) => {}
                // A damaged record (the sweep drops it) or page: this
                // slide is lost, as a killed process's are; the rest stand.
                Err(e) if e.code() == error::E_STORE_CORRUPT => {}
                Err(e) => return Err(e),
            }
        }
        txn.commit().map_err(|e| fail(e, "slide"))
    }
}

impl Drop for Environment {
    /// Writes the queued slides and ends the flusher (not in a forked
    /// child, which neither owns the queue nor has the thread), closes the
    /// environment (unless a forked child closed it already), then lets
    /// the openers waiting for the close open the directory anew (see
    /// [`Environment::get`]: this runs in whichever thread let go of the
    /// last reference, the slides flusher's too).
    fn drop(&mut self) {
        #[cfg(test)]
        tests::closing(&self.data_path);
        if crate::fork::generation() == self.generation {
            self.slides.stop();
            let _ = self.flush_slides();
        }
        self.env.close();
        if *self.registered.get_mut() {
            forget(self);
        }
    }
}

/// Takes the closed environment `e` out of [`OPEN`] (if its directory's
/// entry is still `e`'s: a forked child may have opened the directory
/// anew) and wakes the openers waiting for it.
fn forget(e: &Environment) {
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if let (Some(open), Some(dir)) = (open.as_mut(), e.data_path.parent()) {
        if open
            .get(dir)
            .is_some_and(|(w, _)| std::ptr::eq(w.as_ptr(), e))
        {
            open.remove(dir);
        }
    }
    CLOSED.notify_all();
}

/// `E_STORE_ACCESS`: the directory `dir` cannot be used (`e` says why).
pub(super) fn no_access(dir: &std::path::Path, e: std::io::Error) -> Error {
    Error::new(
        error::E_STORE_ACCESS,
        format!("lmdb directory {}: {e}", dir.display()),
    )
}

/// `E_STORE_CORRUPT` if `dir`'s data file is missing or empty while its
/// lock table shows the directory was in use: the file was truncated or
/// removed, and its sessions are lost (starting afresh is the operator's
/// call, not a silent one).
fn not_emptied(dir: &std::path::Path) -> Result<()> {
    let emptied = match std::fs::metadata(dir.join("data.mdb")) {
        Ok(m) => m.len() == 0,
        Err(e) => e.kind() == ErrorKind::NotFound,
    };
    if !emptied || !locks::table_made(dir) {
        return Ok(());
    }
    Err(Error::new(
        error::E_STORE_CORRUPT,
        format!(
            "{}: data.mdb is empty or missing, but sess-locks shows the store was \
             in use (the file was truncated or removed; its sessions are lost): \
             restore the directory from a backup, or remove its files to start \
             afresh",
            dir.display()
        ),
    ))
}

/// `E_STORE_UNAVAILABLE`: the data file `path` this process has open was
/// removed from its directory, or replaced (see [`Shared::check_file`]).
fn orphaned(path: &std::path::Path) -> Error {
    Error::new(
        error::E_STORE_UNAVAILABLE,
        format!(
            "LMDB store {}: the file this process has open was removed or replaced \
             while in use (its sessions are no longer the directory's, and \
             processes started since use another store): restart every process \
             using the directory",
            path.display()
        ),
    )
}

/// `E_STORE_CORRUPT`: `dir` holds sessions in format `found`, not `format`.
fn other_format(dir: &std::path::Path, found: &[u8], format: &[u8]) -> Error {
    Error::new(
        error::E_STORE_CORRUPT,
        format!(
            "{} holds sessions in format {:?}, not {:?}",
            dir.display(),
            String::from_utf8_lossy(found),
            String::from_utf8_lossy(format)
        ),
    )
}

/// The result code and detail for an LMDB failure during `op`.
pub(super) fn fail(e: heed::Error, op: &str) -> Error {
    use heed::Error as H;
    let code = match &e {
        H::Mdb(MdbError::MapFull | MdbError::TxnFull) => error::E_STORE_FULL,
        H::Mdb(
            MdbError::Invalid
            | MdbError::VersionMismatch
            | MdbError::Corrupted
            | MdbError::PageNotFound
            | MdbError::Incompatible
            | MdbError::Panic
            // LMDB's "internal errors": a page or a tree it finds in a
            // shape it never writes.
            | MdbError::PageFull
            | MdbError::CursorFull
            // A transaction an earlier failure spoilt: libsess goes on
            // after no failure but a damaged page's (see `claim_expired`).
            | MdbError::BadTxn,
        ) => error::E_STORE_CORRUPT,
        H::Io(io) if op == "open" => match io.kind() {
            // Setting the data file's length to the map size.
            ErrorKind::FileTooLarge => error::E_INVALID_OPTION,
            ErrorKind::NotFound
            | ErrorKind::PermissionDenied
            | ErrorKind::ReadOnlyFilesystem
            | ErrorKind::NotADirectory => error::E_STORE_ACCESS,
            _ => error::E_STORE_UNAVAILABLE,
        },
        _ => error::E_STORE_UNAVAILABLE,
    };
    let hint = match (&e, code) {
        (_, error::E_STORE_FULL) => " (raise map_size; nothing was written)",
        (_, error::E_INVALID_OPTION) => {
            " (map_size is more than the file system allows one file: give a smaller one)"
        }
        (H::Mdb(MdbError::BadTxn), _) => " (after an earlier read failed: the file is damaged)",
        (H::Mdb(MdbError::PageFull | MdbError::CursorFull), _) => " (the file is damaged)",
        (H::Mdb(MdbError::MapResized), _) => {
            " (another process with a larger map_size grew the store again while \
             this one adopted its map: try again)"
        }
        _ => "",
    };
    Error::new(code, format!("LMDB store, {op}: {e}{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lmdb::parts::SINGLE;

    #[test]
    fn a_reservation_allocates_only_what_was_not_reserved() {
        let dir = std::env::temp_dir().join(format!("libsess-lmdb-reserve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // The data file's allocations: (from, to).
        let calls = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let seen = calls.clone();
        let hook = move |path: &std::path::Path, from, to| {
            if path.ends_with("data.mdb") {
                seen.borrow_mut().push((from, to));
            }
            None // made as usual
        };
        space::tests::with_hook(hook, || {
            let shared = Shared::open(&LmdbOptions::new(&dir), SINGLE, 1 << 20).unwrap();
            let record = vec![7u8; 256 << 10];
            for i in 0..1000u32 {
                if calls.borrow().len() >= 3 {
                    break;
                }
                let mut txn = shared.write_txn("test").unwrap();
                shared.reserve().unwrap();
                let mut k = [0u8; 16];
                k[..4].copy_from_slice(&i.to_le_bytes());
                shared.sessions.put(&mut txn, &k, &record).unwrap();
                txn.commit().unwrap();
            }
        });
        // Each from where the one before ended: a reservation never goes
        // over what earlier ones allocated (the pages LMDB uses).
        let calls = calls.borrow();
        assert!(calls.len() >= 3, "{calls:?}");
        assert_eq!(calls[0].0, 0);
        for pair in calls.windows(2) {
            assert_eq!(pair[1].0, pair[0].1, "{calls:?}");
            assert!(pair[1].1 > pair[1].0, "{calls:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_data_file_that_cannot_be_allocated_ahead_is_refused() {
        for (errno, code) in [
            (libc::EOPNOTSUPP, error::E_STORE_ACCESS),
            (libc::ENOSYS, error::E_STORE_ACCESS),
            (libc::ENOSPC, error::E_STORE_FULL),
        ] {
            let dir = std::env::temp_dir()
                .join(format!("libsess-lmdb-unfit-{errno}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let hook =
                move |path: &std::path::Path, _, _| path.ends_with("data.mdb").then_some(errno);
            let e = space::tests::with_hook(hook, || {
                Shared::open(&LmdbOptions::new(&dir), SINGLE, 1 << 20).err()
            })
            .expect("refused at creation");
            assert_eq!(e.code(), code, "{errno}: {}", e.detail());
            let what = if code == error::E_STORE_FULL {
                "no room".to_owned()
            } else {
                format!("{}: its file system cannot allocate", dir.display())
            };
            assert!(e.detail().contains(&what), "{}", e.detail());
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn another_format_is_refused() {
        let dir = std::env::temp_dir().join(format!("libsess-lmdb-format-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let opts = LmdbOptions::new(&dir);
        drop(Shared::open(&opts, SINGLE, 1 << 20).unwrap());
        {
            // A later version's file: its format key says so.
            let mut o = EnvOpenOptions::new().read_txn_without_tls();
            o.max_dbs(8);
            // SAFETY: no other environment is open on `dir` now.
            let env = unsafe { o.open(&dir) }.unwrap();
            let mut txn = env.write_txn().unwrap();
            let meta: Db = env.open_database(&txn, Some("meta")).unwrap().unwrap();
            meta.put(&mut txn, b"format", b"libsess-lmdb 9").unwrap();
            txn.commit().unwrap();
        }
        let e = Shared::open(&opts, SINGLE, 1 << 20).err().unwrap();
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(e.detail().contains("libsess-lmdb 9"), "{}", e.detail());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_data_file_emptied_under_a_used_lock_table_is_refused() {
        let dir = std::env::temp_dir().join(format!("libsess-lmdb-emptied-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let opts = LmdbOptions::new(&dir);
        // A new directory (no lock table yet) opens.
        drop(Shared::open(&opts, SINGLE, 1 << 20).unwrap());
        drop(locks::LockTable::open(&dir, 1000).unwrap());
        for damage in [
            |p: &std::path::Path| std::fs::File::create(p).map(drop),
            |p: &std::path::Path| std::fs::remove_file(p),
        ] {
            damage(&dir.join("data.mdb")).unwrap();
            let e = Shared::open(&opts, SINGLE, 1 << 20).err().unwrap();
            assert_eq!(e.code(), error::E_STORE_CORRUPT, "{e}");
            assert!(e.detail().contains("data.mdb"), "{e}");
        }
        // Removing the lock table too starts afresh, as the error says.
        std::fs::remove_file(dir.join("sess-locks")).unwrap();
        drop(Shared::open(&opts, SINGLE, 1 << 20).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The error after adopting a larger map failed reads as one sentence.
    #[test]
    fn a_failed_adoption_says_so_in_plain_words() {
        let dir =
            std::env::temp_dir().join(format!("libsess-lmdb-unmapped-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let shared = Shared::open(&LmdbOptions::new(&dir), SINGLE, 1 << 20).unwrap();
        shared.environment.unmapped.store(true, Ordering::Relaxed);
        let e = shared.read_txn("test").err().unwrap();
        assert_eq!(e.code(), error::E_STORE_UNAVAILABLE);
        assert!(e.detail().contains("at the larger size"), "{}", e.detail());
        drop(shared);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// An application asking for durable writes that joins the
    /// environment another application of the process opened without
    /// gets them: commits synced before they return (its `durable` was
    /// ignored, the environment left as the first opened it, `MDB_NOSYNC`).
    #[test]
    fn a_durable_application_sharing_a_lazy_ones_environment_gets_durable_writes() {
        let dir = std::env::temp_dir().join(format!("libsess-lmdb-durable-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let no_sync = |shared: &Shared| {
            let flags = shared.environment.env().unwrap().get_flags().unwrap();
            flags & EnvFlags::NO_SYNC.bits() != 0
        };
        let lazy = Shared::open(&LmdbOptions::new(&dir), SINGLE, 1 << 20).unwrap();
        assert!(no_sync(&lazy));
        let durable = LmdbOptions {
            name: "durable".into(),
            durable: true,
            ..LmdbOptions::new(&dir)
        };
        let durable = Shared::open(&durable, SINGLE, 1 << 20).unwrap();
        assert!(
            !no_sync(&durable),
            "the durable application's commits are synced"
        );
        drop((lazy, durable));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The directory whose environment pauses as it closes, in
    /// [`closing`], until another thread waits to open it again or
    /// [`REOPENED`] says it tried.
    static PAUSE: Mutex<Option<PathBuf>> = Mutex::new(None);
    /// Whether the environment of [`PAUSE`] is pausing as it closes.
    static PAUSED: AtomicBool = AtomicBool::new(false);
    /// Whether the test tried to open [`PAUSE`] again.
    static REOPENED: AtomicBool = AtomicBool::new(false);

    /// Polls `done` for 30 s at most.
    fn wait_until(done: impl Fn() -> bool) -> bool {
        let start = std::time::Instant::now();
        while !done() {
            if start.elapsed() > std::time::Duration::from_secs(30) {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        true
    }

    /// Called as the environment of `data_path` starts closing.
    pub(super) fn closing(data_path: &std::path::Path) {
        let pause = PAUSE.lock().unwrap().clone();
        if pause.is_some_and(|dir| data_path.parent() == Some(&*dir)) {
            PAUSED.store(true, Ordering::SeqCst);
            wait_until(|| WAITS.load(Ordering::SeqCst) > 0 || REOPENED.load(Ordering::SeqCst));
        }
    }

    #[test]
    fn an_environment_opened_while_another_thread_closes_it_waits_for_the_close() {
        let dir = std::env::temp_dir().join(format!("libsess-lmdb-reopen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let opts = LmdbOptions::new(&dir);
        let shared = Shared::open(&opts, SINGLE, 1 << 20).unwrap();
        // The slides flusher's reference, taken while it writes: the last
        // one once the application is released.
        let flusher = shared.environment.clone();
        drop(shared);
        *PAUSE.lock().unwrap() = Some(std::fs::canonicalize(&dir).unwrap());
        let closer = std::thread::spawn(move || drop(flusher));
        assert!(wait_until(|| PAUSED.load(Ordering::SeqCst)));
        // The application created again while the flusher closes it.
        let reopened = Shared::open(&opts, SINGLE, 1 << 20);
        REOPENED.store(true, Ordering::SeqCst);
        closer.join().unwrap();
        if let Err(e) = reopened {
            panic!("opened while closing: {e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    thread_local! {
        /// Whether this thread's next transaction fails to begin as if
        /// another process had grown the data past this one's map.
        static RESIZED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Whether the transaction this thread begins now fails so (see
    /// [`RESIZED`]): once.
    pub(super) fn resized_now() -> bool {
        RESIZED.with(|r| r.replace(false))
    }

    #[test]
    fn adopting_a_larger_map_waits_for_the_transactions_under_way() {
        let dir = std::env::temp_dir().join(format!("libsess-lmdb-adopt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let opts = LmdbOptions::new(&dir);
        let shared = Shared::open(&opts, SINGLE, 1 << 20).unwrap();
        let mut txn = shared.write_txn("test").unwrap();
        shared.reserve().unwrap();
        shared.sessions.put(&mut txn, &[1; 16], b"kept").unwrap();
        txn.commit().unwrap();
        let began = AtomicBool::new(false);
        std::thread::scope(|sc| {
            // A request on this thread reads a record (its bytes are in
            // the map) while one on another thread finds the map resized.
            let held = shared.read_txn("test").unwrap();
            let kept = shared.sessions.get(&held, &[1; 16]).unwrap().unwrap();
            let other = sc.spawn(|| {
                RESIZED.with(|r| r.set(true));
                let txn = shared.read_txn("test");
                began.store(true, Ordering::SeqCst);
                let txn = txn?;
                let found = shared.sessions.get(&txn, &[1; 16]).unwrap();
                Ok::<_, Error>(found.map(<[u8]>::to_vec))
            });
            // The other waits for this thread's transaction (the map
            // stays where it is meanwhile)...
            std::thread::sleep(Duration::from_millis(200));
            assert!(!began.load(Ordering::SeqCst));
            assert_eq!(kept, b"kept");
            drop(held);
            // ...then maps the file anew and reads on.
            let read = other.join().unwrap();
            assert_eq!(read.unwrap().as_deref(), Some(&b"kept"[..]));
        });
        // This thread's transactions go on, as do writes.
        let mut txn = shared.write_txn("test").unwrap();
        shared.reserve().unwrap();
        shared.sessions.put(&mut txn, &[2; 16], b"more").unwrap();
        txn.commit().unwrap();
        let txn = shared.read_txn("test").unwrap();
        assert_eq!(
            shared.sessions.get(&txn, &[1; 16]).unwrap(),
            Some(&b"kept"[..])
        );
        assert_eq!(
            shared.sessions.get(&txn, &[2; 16]).unwrap(),
            Some(&b"more"[..])
        );
        drop(txn);
        drop(shared);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_transaction_spoilt_by_a_damaged_page_is_store_corrupt() {
        let e = fail(heed::Error::Mdb(MdbError::BadTxn), "sweep");
        assert_eq!(e.code(), error::E_STORE_CORRUPT, "{e}");
        assert!(e.detail().contains("damaged"), "{e}");
        // What a damaged page the verifier let through made LMDB report.
        for internal in [MdbError::PageFull, MdbError::CursorFull] {
            let e = fail(heed::Error::Mdb(internal), "sweep");
            assert_eq!(e.code(), error::E_STORE_CORRUPT, "{e}");
            assert!(e.detail().contains("damaged"), "{e}");
        }
    }

    /// An LMDB environment in a fresh directory `dir`, made by another
    /// program: `fill` writes into it.
    fn foreign(dir: &std::path::Path, fill: impl FnOnce(&Env<WithoutTls>, &mut heed::RwTxn)) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let mut o = EnvOpenOptions::new().read_txn_without_tls();
        o.max_dbs(8);
        // SAFETY: no other environment is open on `dir`.
        let env = unsafe { o.open(dir) }.unwrap();
        let mut txn = env.write_txn().unwrap();
        fill(&env, &mut txn);
        txn.commit().unwrap();
    }

    #[test]
    fn a_foreign_environment_is_refused_not_adopted() {
        let base =
            std::env::temp_dir().join(format!("libsess-lmdb-foreign-{}", std::process::id()));
        // Another program's named database.
        let dir = base.join("named");
        foreign(&dir, |env, txn| {
            let db: Db = env.create_database(txn, Some("other")).unwrap();
            db.put(txn, b"k", b"v").unwrap();
        });
        let e = Shared::open(&LmdbOptions::new(&dir), SINGLE, 1 << 20)
            .err()
            .unwrap();
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        assert!(
            e.detail().contains(&*dir.to_string_lossy()),
            "{}",
            e.detail()
        );
        {
            // Left as it was: not marked, its record there.
            let mut o = EnvOpenOptions::new().read_txn_without_tls();
            o.max_dbs(8);
            // SAFETY: no other environment is open on `dir` now.
            let env = unsafe { o.open(&dir) }.unwrap();
            let txn = env.read_txn().unwrap();
            let meta: Option<Db> = env.open_database(&txn, Some("meta")).unwrap();
            assert!(meta.is_none());
            let db: Db = env.open_database(&txn, Some("other")).unwrap().unwrap();
            assert_eq!(db.get(&txn, b"k").unwrap(), Some(&b"v"[..]));
        }
        // Records in the main database only.
        let dir = base.join("main");
        foreign(&dir, |env, txn| {
            let db: Db = env.create_database(txn, None).unwrap();
            db.put(txn, b"k", b"v").unwrap();
        });
        let e = Shared::open(&LmdbOptions::new(&dir), SINGLE, 1 << 20)
            .err()
            .unwrap();
        assert_eq!(e.code(), error::E_STORE_CORRUPT);
        // An empty environment is taken for a new store, and marked.
        let dir = base.join("empty");
        foreign(&dir, |_, _| {});
        drop(Shared::open(&LmdbOptions::new(&dir), SINGLE, 1 << 20).unwrap());
        drop(Shared::open(&LmdbOptions::new(&dir), SINGLE, 1 << 20).unwrap());
        let _ = std::fs::remove_dir_all(&base);
    }
}
