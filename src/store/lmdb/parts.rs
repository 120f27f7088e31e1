//! A store's sessions spread over several LMDB environments ("parts") by
//! their key hash, so that writers to different parts commit at once: LMDB
//! admits one write transaction per environment, and every save is one.
//!
//! Layout of a directory (fixed when it is first opened):
//! - **Parted** (`libsess-lmdb 3`): [`PARTS`] environments, the first in
//!   the directory itself, the others in `part-1` … `part-3`, each with
//!   its own lock table and wake-up words, each mapping a quarter of
//!   `map_size`. A session lives in the part its key hash's last byte
//!   picks; a part is today's whole store for its sessions, so every
//!   guarantee that holds per session (locks, owner checks, the claim that
//!   gives Session_OnEnd once) holds as before.
//! - **Single** (`libsess-lmdb 2`, the layout before parts): one
//!   environment in the directory. A directory written in it stays so; a
//!   new one is single too when its map is too small to split.
//!
//! The layout is chosen, and the first environment made and marked, under
//! an exclusive lock on the directory (`flock`, see [`environments`]): two
//! processes starting on a new directory with different map sizes would
//! otherwise each choose their own, and the loser's part directories
//! would stay behind, empty, making every later open fail. Besides, the
//! part directories are made before the first environment, so a
//! directory that has a `data.mdb` and no `part-1` is a single one,
//! whichever process looks, even one of a version without the lock; and
//! a parted directory with a `data.mdb` and a part directory missing lost
//! that part (removed, or left out of a copy): refused (`E_STORE_CORRUPT`),
//! not given an empty one.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::env::{no_access, Shared};
use super::provider::LmdbProvider;
use super::LmdbOptions;
use crate::error::{self, Error, Result};
use crate::store::custom::{rename_in_two_steps, BlobBuf, BlobList, Provider, Status};
use crate::store::LockMode;

/// Environments of a parted directory.
pub(super) const PARTS: usize = 4;

/// The smallest map a part of a new directory gets: a smaller `map_size`
/// makes a single directory.
const MIN_PART_MAP: usize = 16 << 20;

/// The format a single directory's environment is marked with.
pub(super) const SINGLE: &[u8] = b"libsess-lmdb 2";
/// The format every environment of a parted directory is marked with.
pub(super) const PARTED: &[u8] = b"libsess-lmdb 3";

/// How long opening a directory waits for another opener's lock on it
/// (held for the milliseconds an open takes, or, by the first process
/// to open it since all closed it, for the check of its data files:
/// seconds for a million sessions read from disk, see `verify.rs`; one
/// held longer is a process stopped or hung, or a forked child that
/// inherited it).
const LAYOUT_PATIENCE: Duration = Duration::from_secs(60);

/// Opens the environments of `opts.dir` (laying a new directory out), each
/// with its options, for sessions of up to `max_session_bytes`. The
/// directory is locked meanwhile, so no other process or thread lays it
/// out differently.
pub(super) fn environments(
    opts: &LmdbOptions,
    max_session_bytes: usize,
) -> Result<Vec<(LmdbOptions, Shared)>> {
    let _deciding = lock(&opts.dir)?;
    let (parts, format) = layout(opts)?;
    parts
        .into_iter()
        .map(|part| {
            let env = Shared::open(&part, format, max_session_bytes)?;
            Ok((part, env))
        })
        .collect()
}

/// An exclusive `flock` on the directory `dir` itself (freed when the
/// file is dropped): waits up to [`LAYOUT_PATIENCE`] for another holder.
fn lock(dir: &Path) -> Result<File> {
    use std::os::fd::AsRawFd;
    let file = File::open(dir).map_err(|e| no_access(dir, e))?;
    let start = Instant::now();
    loop {
        // SAFETY: `file` is open for the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(file);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::EWOULDBLOCK) if start.elapsed() < LAYOUT_PATIENCE => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Some(libc::EWOULDBLOCK) => {
                return Err(Error::new(
                    error::E_STORE_UNAVAILABLE,
                    format!(
                        "lmdb directory {}: another process has held it locked for \
                         {} s while opening it",
                        dir.display(),
                        LAYOUT_PATIENCE.as_secs()
                    ),
                ))
            }
            _ => return Err(no_access(dir, e)),
        }
    }
}

/// The environments `opts.dir` holds (making a new directory's parts):
/// each one's options, and the format they are marked with. Only under
/// the directory's [`lock`].
fn layout(opts: &LmdbOptions) -> Result<(Vec<LmdbOptions>, &'static [u8])> {
    let dir = &opts.dir;
    let part_dir = |i: usize| dir.join(format!("part-{i}"));
    // `data.mdb` looked for first: a parted directory has its `part-1`
    // before its `data.mdb`, so a `data.mdb` seen then has its `part-1` by
    // the second look, even if another process made both in between (in
    // the other order, that process's parts could be taken for single).
    let made = dir.join("data.mdb").exists();
    #[cfg(test)]
    tests::between_looks();
    let single = !part_dir(1).is_dir() && (made || opts.map_size / PARTS < MIN_PART_MAP);
    if single {
        return Ok((vec![opts.clone()], SINGLE));
    }
    // All of them, also when `part-1` is there: a process that stopped
    // while making them left the rest to make. Not once `data.mdb` is
    // made (they all were before it): one missing then was removed, with
    // its sessions.
    for i in 1..PARTS {
        if made && !part_dir(i).is_dir() {
            return Err(part_missing(dir, i));
        }
        make_dir(&part_dir(i), dir)?;
    }
    // Whole 64 KiB units: a multiple of any page size LMDB uses.
    let map_size = (opts.map_size / PARTS) & !0xFFFF;
    let parts = (0..PARTS)
        .map(|i| LmdbOptions {
            dir: if i == 0 { dir.clone() } else { part_dir(i) },
            map_size,
            ..opts.clone()
        })
        .collect();
    Ok((parts, PARTED))
}

/// `E_STORE_CORRUPT`: the parted directory `dir` has no part `i`.
fn part_missing(dir: &Path, i: usize) -> Error {
    Error::new(
        error::E_STORE_CORRUPT,
        format!(
            "{}: part-{i} is missing, but the directory's sessions are kept in \
             {PARTS} parts (it was removed; its sessions are lost): restore the \
             directory from a backup, or remove its files to start afresh",
            dir.display()
        ),
    )
}

/// Makes the part directory `part` of `dir` (one made already is fine).
fn make_dir(part: &Path, dir: &Path) -> Result<()> {
    match std::fs::create_dir(part) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && part.is_dir() => Ok(()),
        Err(e) => Err(no_access(dir, e)),
    }
}

/// The provider contract over the parts of one directory: each request
/// goes to its session's part; sweeps and counts visit every part.
pub(super) struct Parts {
    parts: Vec<LmdbProvider>,
    /// The part the next sweep starts with (each gets its turn first).
    next_sweep: AtomicUsize,
}

impl Parts {
    /// The provider over `parts` (at least one), in their order on disk.
    pub(super) fn new(parts: Vec<LmdbProvider>) -> Parts {
        assert!(!parts.is_empty(), "a store has at least one part");
        Parts {
            parts,
            next_sweep: AtomicUsize::new(0),
        }
    }

    /// The part of `key` (a key hash in hex): its last byte picks it. A
    /// malformed key goes to the first part, which refuses it.
    fn part(&self, key: &str) -> &LmdbProvider {
        let last = key
            .get(30..)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .unwrap_or(0);
        &self.parts[usize::from(last) % self.parts.len()]
    }
}

impl Provider for Parts {
    fn get(
        &self,
        key: &str,
        mode: LockMode,
        token: u64,
        now_ms: u64,
        out: &mut BlobBuf,
    ) -> Result<Status> {
        self.part(key).get(key, mode, token, now_ms, out)
    }

    /// The session limit counts every part's sessions; two creations in
    /// different parts at once may each find room for the last one (the
    /// store then holds at most `PARTS - 1` more than `max_sessions`).
    fn create(
        &self,
        key: &str,
        token: u64,
        now_ms: u64,
        deadline_ms: u64,
        max_sessions: u64,
        blob: &[u8],
    ) -> Result<Status> {
        let part = self.part(key);
        let mut room = max_sessions;
        if max_sessions != u64::MAX {
            for other in self.parts.iter().filter(|p| !std::ptr::eq(*p, part)) {
                room = room.saturating_sub(other.count()?);
            }
        }
        part.create(key, token, now_ms, deadline_ms, room, blob)
    }

    fn set_and_release(
        &self,
        key: &str,
        token: u64,
        deadline_ms: u64,
        blob: Option<&[u8]>,
    ) -> Result<Status> {
        self.part(key)
            .set_and_release(key, token, deadline_ms, blob)
    }

    fn release(&self, key: &str, token: u64) -> Result<Status> {
        self.part(key).release(key, token)
    }

    fn pause(&self, key: &str, pause: Duration) {
        self.part(key).pause(key, pause);
    }

    fn remove(&self, key: &str, token: u64) -> Result<Status> {
        self.part(key).remove(key, token)
    }

    fn reset_timeout(&self, key: &str, deadline_ms: u64) -> Result<Status> {
        self.part(key).reset_timeout(key, deadline_ms)
    }

    /// In one transaction when both keys are in one part (`same_place`);
    /// across parts, in two steps.
    fn rename(
        &self,
        old: &str,
        new: &str,
        token: u64,
        now_ms: u64,
        deadline_ms: u64,
        blob: &[u8],
    ) -> Result<Status> {
        let part = self.part(old);
        if std::ptr::eq(part, self.part(new)) {
            part.rename(old, new, token, now_ms, deadline_ms, blob)
        } else {
            rename_in_two_steps(self, old, new, token, now_ms, deadline_ms, blob)
        }
    }

    /// Keys in one part, where that part moves a session between them in
    /// one transaction.
    fn same_place(&self, a: &str, b: &str) -> bool {
        let part = self.part(a);
        std::ptr::eq(part, self.part(b)) && part.same_place(a, b)
    }

    /// Every part in turn (from a different one each sweep) until `out`
    /// holds `max`; a part that fails does not stop the others' sweeps (the
    /// first failure is returned after them).
    fn claim_expired(&self, now_ms: u64, max: usize, out: &mut BlobList) -> Result<()> {
        let n = self.parts.len();
        let first = self.next_sweep.fetch_add(1, Ordering::Relaxed);
        let mut failed = None;
        for i in 0..n {
            if out.len() >= max {
                break;
            }
            let part = &self.parts[(first + i) % n];
            if let Err(e) = part.claim_expired(now_ms, max, out) {
                failed.get_or_insert(e);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    fn count(&self) -> Result<u64> {
        self.parts
            .iter()
            .try_fold(0u64, |n, p| Ok(n.saturating_add(p.count()?)))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    thread_local! {
        /// What runs between [`layout`]'s two looks at a directory.
        static BETWEEN: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
    }

    pub(super) fn between_looks() {
        if let Some(f) = BETWEEN.with(|b| b.borrow_mut().take()) {
            f();
        }
    }

    /// Another process lays out and opens a new directory between this
    /// one's two looks at it: this one finds the same layout.
    #[test]
    fn a_directory_laid_out_between_the_looks_is_seen_as_it_was_made() {
        let dir = std::env::temp_dir().join(format!("libsess-lmdb-parts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let opts = LmdbOptions::new(&dir);
        let other = opts.clone();
        BETWEEN.with(|b| {
            *b.borrow_mut() = Some(Box::new(move || {
                let (parts, format) = layout(&other).unwrap();
                assert_eq!(format, PARTED);
                // The first part's environment: its `data.mdb`.
                let env = super::super::env::Shared::open(&parts[0], format, 1 << 20);
                drop(env.unwrap());
            }))
        });
        let (parts, format) = layout(&opts).unwrap();
        assert!(BETWEEN.with(|b| b.borrow().is_none()), "the other ran");
        assert!(dir.join("data.mdb").exists());
        assert_eq!(format, PARTED);
        assert_eq!(parts.len(), PARTS);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Another opener (a thread here: two opens' `flock`s exclude each
    /// other as two processes' do) whose map is too small to split starts
    /// on a new directory while this one lays it out in parts: it waits,
    /// then opens the parts. Without the lock it made a single directory
    /// in the meantime, and this open failed on its format mark.
    #[test]
    fn an_opener_with_another_map_size_waits_for_the_layout_and_follows_it() {
        let dir = std::env::temp_dir().join(format!("libsess-lmdb-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let opts = LmdbOptions::new(&dir);
        let small = LmdbOptions {
            map_size: 16 << 20,
            ..opts.clone()
        };
        let (tx, rx) = std::sync::mpsc::channel();
        BETWEEN.with(|b| {
            *b.borrow_mut() = Some(Box::new(move || {
                let other = std::thread::spawn(move || {
                    environments(&small, 1 << 20).map(|envs| envs.len())
                });
                // Time for it to lay the directory out, were it not locked.
                std::thread::sleep(Duration::from_millis(200));
                tx.send(other).unwrap();
            }))
        });
        let envs = environments(&opts, 1 << 20).unwrap();
        assert_eq!(envs.len(), PARTS);
        // Kept open until the other is done: in one process it then shares
        // them (heed refuses to open an environment being closed with other
        // options; two processes have no such limit).
        let other = rx.recv().unwrap().join().unwrap();
        drop(envs);
        assert_eq!(other.unwrap(), PARTS, "the other opener follows the layout");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
