//! Opening an LMDB directory: one environment per directory per process
//! (shared by the applications naming it), the format check, and the
//! mapping of LMDB's failures to result codes.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, MdbError, WithoutTls};

use super::LmdbOptions;
use crate::error::{self, Error, Result};

/// The store's databases.
pub(super) type Db = Database<Bytes, Bytes>;

/// What the `meta` database's `format` key holds: this layout's name and
/// version. Another value is another format: refused.
const FORMAT: &[u8] = b"libsess-lmdb 1";

/// An open LMDB environment and the store's databases in it.
pub(super) struct Shared {
    pub(super) env: Env<WithoutTls>,
    /// Key hash (16 bytes) → the session's blob.
    pub(super) sessions: Db,
    /// Key hash → deadline, lock owner and lock time (see `provider.rs`).
    pub(super) state: Db,
    /// Deadline (8 bytes, big-endian) ‖ key hash → nothing.
    pub(super) expiry: Db,
    /// The process that opened it (a forked child must not use it).
    pid: u32,
}

/// The environments this process has open, by canonical directory.
static OPEN: Mutex<Option<HashMap<PathBuf, Weak<Shared>>>> = Mutex::new(None);

impl Shared {
    /// The environment for `opts.dir`: the one this process has open, or a
    /// new one (created on first use, format-checked).
    pub(super) fn open(opts: &LmdbOptions) -> Result<Arc<Shared>> {
        let access = |e: std::io::Error| {
            Error::new(
                error::E_STORE_ACCESS,
                format!("lmdb directory {}: {e}", opts.dir.display()),
            )
        };
        let dir = std::fs::canonicalize(&opts.dir).map_err(access)?;
        if !std::fs::metadata(&dir).map_err(access)?.is_dir() {
            return Err(access(std::io::Error::new(
                ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        let open = open.get_or_insert_with(HashMap::new);
        if let Some(shared) = open.get(&dir).and_then(Weak::upgrade) {
            return Ok(shared);
        }
        let shared = Arc::new(Shared::open_new(&dir, opts)?);
        open.retain(|_, w| w.strong_count() > 0);
        open.insert(dir, Arc::downgrade(&shared));
        Ok(shared)
    }

    fn open_new(dir: &std::path::Path, opts: &LmdbOptions) -> Result<Shared> {
        let mut flags = EnvFlags::NO_READ_AHEAD;
        if !opts.durable {
            flags |= EnvFlags::NO_SYNC;
        }
        let mut o = EnvOpenOptions::new().read_txn_without_tls();
        o.map_size(opts.map_size).max_dbs(8).max_readers(1024);
        // SAFETY: the flags are LMDB's documented ones; NO_SYNC trades
        // durability against power loss only (not process crashes).
        unsafe { o.flags(flags) };
        // SAFETY: this process opens `dir` once (the registry above); the
        // files are LMDB's, changed only through LMDB by every process.
        let env = unsafe { o.open(dir) }.map_err(|e| fail(e, "open"))?;
        // A process killed inside a read transaction leaves its reader slot.
        let _ = env.clear_stale_readers();
        let mut wtxn = env.write_txn().map_err(|e| fail(e, "open"))?;
        let mut db = |name| {
            env.create_database::<Bytes, Bytes>(&mut wtxn, Some(name))
                .map_err(|e| fail(e, "open"))
        };
        let (sessions, state) = (db("sessions")?, db("state")?);
        let (expiry, meta) = (db("expiry")?, db("meta")?);
        match meta.get(&wtxn, b"format").map_err(|e| fail(e, "open"))? {
            Some(f) if f == FORMAT => {}
            Some(f) => {
                return Err(Error::new(
                    error::E_STORE_CORRUPT,
                    format!(
                        "{} holds sessions in format {:?}, not {:?}",
                        dir.display(),
                        String::from_utf8_lossy(f),
                        String::from_utf8_lossy(FORMAT)
                    ),
                ))
            }
            None => meta
                .put(&mut wtxn, b"format", FORMAT)
                .map_err(|e| fail(e, "open"))?,
        }
        wtxn.commit().map_err(|e| fail(e, "open"))?;
        Ok(Shared {
            env,
            sessions,
            state,
            expiry,
            pid: std::process::id(),
        })
    }

    /// `E_STORE_UNAVAILABLE` in a child forked from the process that opened
    /// the environment (LMDB forbids using it there).
    pub(super) fn check_process(&self) -> Result<()> {
        if std::process::id() == self.pid {
            Ok(())
        } else {
            Err(Error::new(
                error::E_STORE_UNAVAILABLE,
                "the LMDB store was opened before this process forked; create \
                 the application in the child",
            ))
        }
    }
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
            | MdbError::Panic,
        ) => error::E_STORE_CORRUPT,
        H::Io(io) if op == "open" => match io.kind() {
            ErrorKind::NotFound
            | ErrorKind::PermissionDenied
            | ErrorKind::ReadOnlyFilesystem
            | ErrorKind::NotADirectory => error::E_STORE_ACCESS,
            _ => error::E_STORE_UNAVAILABLE,
        },
        _ => error::E_STORE_UNAVAILABLE,
    };
    let hint = match code {
        error::E_STORE_FULL => " (raise map_size; nothing was written)",
        _ => "",
    };
    Error::new(code, format!("LMDB store, {op}: {e}{hint}"))
}
