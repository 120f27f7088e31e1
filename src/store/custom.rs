//! Custom stores: sessions kept by a store the host supplies (ASP.NET's
//! custom session-state provider), for instance in its own database.
//!
//! The host implements [`Provider`], a small contract over opaque blobs and
//! lock tokens that any key-value store with atomic updates can keep;
//! [`CustomStore`] turns it into a [`SessionStore`]: it hashes IDs into keys,
//! (de)serialises sessions, mints lock tokens, waits for locks with backoff,
//! and hands expired sessions to Session_OnEnd. The C surface's
//! `sess_store_vtbl` is one [`Provider`] (in `ffi::store`); Rust hosts can
//! implement the trait directly.
//!
//! # The contract a provider keeps
//! Per key the provider stores: the blob, a deadline (clock milliseconds)
//! and a lock (an owner token, 0 for none, and when it was taken).
//! - `get` exclusive: if the key is absent → [`Status::NotFound`]; if its
//!   deadline is at or before `now_ms` → either [`Status::NotFound`] (leave
//!   it to `claim_expired`) or, if no other request holds it, remove it and
//!   return its blob with [`Status::Expired`] (the library runs
//!   Session_OnEnd); if another token holds a live lock (not stale by the
//!   provider's lock TTL) → [`Status::Locked`] (the library waits and asks
//!   again); otherwise write the blob, take the lock for `token` (since
//!   `now_ms`), [`Status::Done`].
//! - `get` shared: the same without taking a lock; while another holds a
//!   live lock it reports [`Status::Locked`] (readers wait for writers, as
//!   in-process and in Redis), and an expired session is
//!   [`Status::NotFound`].
//! - `create`: insert-if-absent, locked for `token` → [`Status::Done`], or
//!   [`Status::Exists`] if the key is taken. The provider may refuse with
//!   `E_TOO_MANY_SESSIONS` when it holds `max_sessions`.
//! - `set_and_release`: if `token` holds the lock: store the blob (`None`:
//!   keep the stored one), set the deadline, unlock → [`Status::Done`];
//!   absent → [`Status::NotFound`]; another token or none →
//!   [`Status::Locked`]. Nothing is written unless `token` holds the lock.
//! - `release`: unlock if `token` holds the lock, writing nothing.
//! - `remove`: delete the key if `token` holds the lock (Abandon).
//! - `rename` (regenerate; optional): move a session held by `token` to a
//!   free key in one transaction where the provider can, for the keys
//!   `same_place` accepts; the default creates the new key, then removes
//!   the old.
//! - `reset_timeout`: set the deadline of a stored key, no lock needed (a
//!   read-only request slides the expiry).
//! - `claim_expired`: remove up to `max` sessions whose deadline is at or
//!   before `now_ms` and that are not locked (or whose lock is stale), adding
//!   each one's final blob to the list, each exactly once even with several
//!   processes sweeping: claim and remove atomically. A session whose blob
//!   the full list refuses must be left in place (the next sweep claims
//!   it); one whose blob is too large for the list ever to take (stored
//!   under larger limits) may be removed without Session_OnEnd, and
//!   reported as an error once the others are claimed.
//!   Every blob in the list when it returns gets Session_OnEnd, even if
//!   it fails: a claim that failed (its transaction aborted) must take its
//!   blobs back out ([`BlobList::truncate`]).
//! - `count`: how many sessions are stored.
//!
//! Failures are `Err` with a code; `E_STORE_UNAVAILABLE` says the store is
//! down. The error reaches the caller of the library function.
//!
//! # The blob
//! A session is kept as one blob of MessagePack: its key hash (`bin 16`),
//! its ID masked under the store's optional `id_secret` (`bin 16`, or `nil`
//! without a secret: then no form of the ID is stored), then
//! [`wire::encode_session`]. Keys are [`store_key`](super::store_key): a hash, never the ID.
//! Blobs that do not decode, or that belong to another key, are an error
//! (`E_STORE_UNAVAILABLE` with a detail; `E_STORE_CORRUPT` in the LMDB
//! store, whose file is libsess's own), never a panic. A session this
//! application's limits refuse (stored under larger ones), or a blob
//! larger than [`CustomStore::max_blob`], is `E_SESSION_TOO_LARGE`.
//!
//! Sessions outlive the application object: dropping the last [`App`]
//! leaves them in the provider's store (other processes of a farm use
//! them); expired ones are ended by whichever process sweeps.
//!
//! [`App`]: crate::app::App

use std::hash::BuildHasher;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::remote::{self, Attempt, KeyHash, Owner};
use super::{wire, Lease, LockMode, Lookup, OwnedLease, SessionStore, StoreMode};
use crate::error::{self, Error, Result};
use crate::state::{Limits, SessionData, SessionId};

/// What a provider's operation found (its failures are `Err`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done: found (and locked, if asked), created, saved, removed.
    Done,
    /// No such key.
    NotFound,
    /// Another holder has the lock (or the caller's token does not).
    Locked,
    /// `create`: the key is taken.
    Exists,
    /// `get`: the session had expired; the provider removed it and wrote
    /// its final blob.
    Expired,
}

/// A blob a provider writes for the library (the bytes of one session).
#[derive(Debug)]
pub struct BlobBuf {
    bytes: Vec<u8>,
    max: usize,
    /// A write was refused as past `max`.
    too_large: bool,
}

impl BlobBuf {
    /// An empty buffer taking at most `max` bytes.
    pub fn new(max: usize) -> BlobBuf {
        BlobBuf {
            bytes: Vec::new(),
            max,
            too_large: false,
        }
    }

    /// Appends `data` (a blob may be written in pieces). Past the limit:
    /// `E_VALUE_TOO_LARGE`; no memory: `E_OUTOFMEMORY`. Nothing is appended
    /// on error.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        if data.len() > self.max - self.bytes.len() {
            self.too_large = true;
            return Err(Error::new(
                error::E_VALUE_TOO_LARGE,
                format!(
                    "a session blob of more than {} bytes is larger than this \
                     application's sessions can be",
                    self.max
                ),
            ));
        }
        self.bytes
            .try_reserve(data.len())
            .map_err(|_| Error::code_only(error::E_OUTOFMEMORY))?;
        self.bytes.extend_from_slice(data);
        Ok(())
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// The blobs of expired sessions a provider claims for the library.
#[derive(Debug)]
pub struct BlobList {
    blobs: Vec<Vec<u8>>,
    max_each: usize,
    max_count: usize,
}

impl BlobList {
    /// An empty list of at most `max_count` blobs of at most `max_each` bytes.
    pub fn new(max_each: usize, max_count: usize) -> BlobList {
        BlobList {
            blobs: Vec::new(),
            max_each,
            max_count,
        }
    }

    /// Adds one session's blob. A full list (`E_INSUFFICIENT_BUFFER`), a
    /// blob over the limit (`E_VALUE_TOO_LARGE`) or no memory
    /// (`E_OUTOFMEMORY`) is an error, and the provider must then keep that
    /// session.
    pub fn add(&mut self, data: &[u8]) -> Result<()> {
        if self.blobs.len() >= self.max_count {
            return Err(Error::new(
                error::E_INSUFFICIENT_BUFFER,
                format!(
                    "the list already holds the {} blobs asked for",
                    self.max_count
                ),
            ));
        }
        let mut b = BlobBuf::new(self.max_each);
        b.write(data)?;
        self.blobs
            .try_reserve(1)
            .map_err(|_| Error::code_only(error::E_OUTOFMEMORY))?;
        self.blobs.push(b.into_bytes());
        Ok(())
    }

    /// Drops every blob added after the first `len`: a provider whose
    /// claim of their sessions failed (they stay stored, for a later
    /// sweep) must not hand them out.
    pub fn truncate(&mut self, len: usize) {
        self.blobs.truncate(len);
    }

    /// Number of blobs added.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether no blob was added.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }
}

/// A host's session store: see the [module documentation](self) for the
/// contract. Keys are 32 hex digits; a token is never 0. All methods may be
/// called from many threads at once.
pub trait Provider: Send + Sync {
    /// get-exclusive (`mode` exclusive: lock for `token`) or get-shared.
    fn get(
        &self,
        key: &str,
        mode: LockMode,
        token: u64,
        now_ms: u64,
        out: &mut BlobBuf,
    ) -> Result<Status>;

    /// Insert-if-absent, locked for `token` since `now_ms`.
    fn create(
        &self,
        key: &str,
        token: u64,
        now_ms: u64,
        deadline_ms: u64,
        max_sessions: u64,
        blob: &[u8],
    ) -> Result<Status>;

    /// Save (`blob` `None`: unchanged), set the deadline and unlock, if
    /// `token` holds the lock.
    fn set_and_release(
        &self,
        key: &str,
        token: u64,
        deadline_ms: u64,
        blob: Option<&[u8]>,
    ) -> Result<Status>;

    /// Unlock without saving, if `token` holds the lock.
    fn release(&self, key: &str, token: u64) -> Result<Status>;

    /// Waits before `get` tries a session it found locked again: until the
    /// lock of `key` is freed, for `pause` at most. The default sleeps
    /// `pause` (the caller's backoff polls).
    fn pause(&self, key: &str, pause: Duration) {
        let _ = key;
        std::thread::sleep(pause);
    }

    /// Delete, if `token` holds the lock.
    fn remove(&self, key: &str, token: u64) -> Result<Status>;

    /// Moves the session `old` (locked for `token`) to the free key `new`,
    /// locked for `token` since `now_ms`, with `blob` and `deadline_ms`:
    /// [`Status::Done`] (the old key is gone and its lock freed),
    /// [`Status::Exists`] if `new` is taken, or [`Status::NotFound`] /
    /// [`Status::Locked`] if `old` is gone or `token` lost its lock; nothing
    /// changes unless `Done`. The default is [`rename_in_two_steps`]: a
    /// failure or a crash between its steps can leave both keys (or, if
    /// `remove` fails after it removed, neither). A
    /// provider that can move a session in one transaction should, for
    /// the pairs [`Provider::same_place`] accepts.
    fn rename(
        &self,
        old: &str,
        new: &str,
        token: u64,
        now_ms: u64,
        deadline_ms: u64,
        blob: &[u8],
    ) -> Result<Status> {
        rename_in_two_steps(self, old, new, token, now_ms, deadline_ms, blob)
    }

    /// Whether `a` and `b` are kept in the same place (one transaction can
    /// change both): a regenerated session's new key is drawn so that it
    /// is with the old one. The default: every pair is.
    fn same_place(&self, a: &str, b: &str) -> bool {
        let _ = (a, b);
        true
    }

    /// Set the deadline of a stored session (no lock).
    fn reset_timeout(&self, key: &str, deadline_ms: u64) -> Result<Status>;

    /// Claim (remove) up to `max` expired sessions not in use, adding their
    /// blobs to `out`.
    fn claim_expired(&self, now_ms: u64, max: usize, out: &mut BlobList) -> Result<()>;

    /// Number of stored sessions.
    fn count(&self) -> Result<u64>;
}

/// [`Provider::rename`] as `create` of `new` then `remove` of `old` (and
/// `remove` of `new` again if that fails): two steps, for a provider that
/// has no transaction over both keys. Between them the provider holds the
/// session twice: a creation it refuses as full meanwhile is asked again
/// after the move if it is this process's, not if it is another's.
pub fn rename_in_two_steps<P: Provider + ?Sized>(
    provider: &P,
    old: &str,
    new: &str,
    token: u64,
    now_ms: u64,
    deadline_ms: u64,
    blob: &[u8],
) -> Result<Status> {
    // The session is counted already: it moves, it does not add one.
    match provider.create(new, token, now_ms, deadline_ms, u64::MAX, blob)? {
        Status::Done => {}
        Status::Exists => return Ok(Status::Exists),
        s => return Err(odd("create", s)),
    }
    let removed = provider.remove(old, token);
    if !matches!(removed, Ok(Status::Done)) {
        let _ = provider.remove(new, token);
    }
    removed
}

/// Expired sessions claimed per provider call.
const CLAIM_BATCH: usize = 64;
/// Most provider calls per sweep (so a provider that never runs dry cannot
/// hold the sweeper forever).
const CLAIM_ROUNDS: usize = 1024;

/// Most key hashes each of [`Ended`]'s two generations holds.
const ENDED_KEPT: usize = 4096;

/// Most sweeps kept open at once (see [`Sweeps`]).
const OPEN_SWEEPS: usize = 16;

/// A sweep: the batches the application claims with one reading of its
/// clock (`now_ms`).
struct Sweep {
    now_ms: u64,
    /// Provider calls so far ([`CLAIM_ROUNDS`] at most).
    rounds: usize,
}

/// The sweeps that stopped at their batch's size with more perhaps due, by
/// their clock reading (several run at once: the expiry thread's, a host's
/// `expire`, a new session making room; the oldest of more than
/// [`OPEN_SWEEPS`] is forgotten, as one nobody went on with), and the first
/// blob of any sweep that did not decode or came back, not reported yet:
/// the next sweep to end reports it (after the others are claimed).
#[derive(Default)]
struct Sweeps {
    open: Vec<Sweep>,
    unreported: Option<Error>,
}

impl Sweeps {
    /// The open sweep of `now_ms` (taken out), or a new one.
    fn take(&mut self, now_ms: u64) -> Sweep {
        match self.open.iter().position(|s| s.now_ms == now_ms) {
            Some(i) => self.open.remove(i),
            None => Sweep { now_ms, rounds: 0 },
        }
    }

    /// Keeps `sweep` open for its next batch.
    fn keep(&mut self, sweep: Sweep) {
        if self.open.len() == OPEN_SWEEPS {
            self.open.remove(0);
        }
        self.open.push(sweep);
    }
}

/// The key hashes of the sessions this store's sweeps handed out for
/// Session_OnEnd, shared by every sweep of the process (the expiry
/// thread's, a host's `expire`, a new session making room) and checked
/// under its mutex: a session a provider returns again (it must remove
/// what it claims), in this sweep, a later one or one running beside it,
/// is not ended twice. Two generations of at most [`ENDED_KEPT`] each, the
/// newer first: once the newer is full the older is forgotten, and a
/// session returned again moves to the newer, so a provider that keeps a
/// session keeps it remembered while the memory stays bounded.
#[derive(Default)]
struct Ended([std::collections::HashSet<[u8; 16]>; 2]);

impl Ended {
    /// Notes session `h` as handed out: false if it was already.
    fn first(&mut self, h: &KeyHash) -> bool {
        let [newer, older] = &mut self.0;
        let h = *h.as_bytes();
        if newer.contains(&h) {
            return false;
        }
        let again = older.remove(&h);
        if newer.len() >= ENDED_KEPT {
            *older = std::mem::take(newer);
        }
        newer.insert(h);
        !again
    }
}

/// The regenerates under way in this process. A provider without a
/// `rename` of its own moves a session in two steps
/// ([`rename_in_two_steps`]), holding it under both keys for a moment: a
/// creation the provider refuses as full meanwhile asks again once no
/// move is under way, so a move never takes another session's place.
#[derive(Default)]
struct Moves {
    begun: AtomicU64,
    ended: AtomicU64,
    /// Held shared by each move, exclusively by a creation asking again.
    quiet: parking_lot::RwLock<()>,
}

impl Moves {
    /// Runs `rename` as a move.
    fn run<T>(&self, rename: impl FnOnce() -> T) -> T {
        /// Counts the move ended, also when the provider panics.
        struct Ended<'a>(&'a AtomicU64);
        impl Drop for Ended<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let _moving = self.quiet.read();
        self.begun.fetch_add(1, Ordering::SeqCst);
        let _ended = Ended(&self.ended);
        rename()
    }

    /// Runs `create`, and once more when no move is under way if it was
    /// refused as full while a move may have been.
    fn create(&self, create: impl Fn() -> Result<Status>) -> Result<Status> {
        let ended = self.ended.load(Ordering::SeqCst);
        match create() {
            Err(e)
                if e.code() == error::E_TOO_MANY_SESSIONS
                    && self.begun.load(Ordering::SeqCst) != ended =>
            {
                let _quiet = self.quiet.write();
                create()
            }
            created => created,
        }
    }
}

/// A [`SessionStore`] over a host's [`Provider`].
pub struct CustomStore {
    provider: Arc<dyn Provider>,
    mode: StoreMode,
    limits: Limits,
    max_blob: usize,
    id_secret: Option<Vec<u8>>,
    /// The code of a blob that does not decode: `E_STORE_UNAVAILABLE` from
    /// a host's store, `E_STORE_CORRUPT` from a file of libsess's own.
    unreadable: error::HResult,
    lock_waits: super::LockWaits,
    tokens: Tokens,
    sweeps: parking_lot::Mutex<Sweeps>,
    ended: parking_lot::Mutex<Ended>,
    moves: Moves,
}

impl CustomStore {
    /// A store over `provider`, reading sessions back under `limits` (the
    /// application's: [`AppOptions`](crate::app::AppOptions) gives them).
    pub fn new(provider: Arc<dyn Provider>, limits: Limits) -> CustomStore {
        CustomStore {
            provider,
            mode: StoreMode::Custom,
            max_blob: max_blob(&limits),
            limits,
            id_secret: None,
            unreadable: error::E_STORE_UNAVAILABLE,
            lock_waits: super::LockWaits::default(),
            tokens: Tokens::new(),
            sweeps: parking_lot::Mutex::default(),
            ended: parking_lot::Mutex::default(),
            moves: Moves::default(),
        }
    }

    /// Keeps the session ID in each blob masked under `secret` (16 bytes or
    /// more, the same in every process sharing the store; else
    /// `E_INVALID_OPTION`), so Session_OnEnd of a session the sweeper ended
    /// sees the real SessionID. Without a secret (the default) no form of the
    /// ID is stored, and such a session shows a stand-in SessionID made of
    /// its key hash (never a valid cookie); abandoned sessions and sessions a
    /// request found expired show their real ID either way.
    pub fn with_id_secret(mut self, secret: &[u8]) -> Result<CustomStore> {
        if secret.len() < 16 {
            return Err(Error::new(
                error::E_INVALID_OPTION,
                "id_secret must be at least 16 bytes",
            ));
        }
        self.id_secret = Some(secret.to_vec());
        Ok(self)
    }

    /// [`SessionStore::take_expired_batch`] within `sweep`: `Ok(true)`
    /// if it stopped at `max` with more perhaps due. The first blob that did
    /// not decode or came back goes to `bad`.
    fn claim_batch(
        &self,
        sweep: &mut Sweep,
        max: usize,
        out: &mut Vec<Lease>,
        bad: &mut Option<Error>,
    ) -> Result<bool> {
        let now_ms = sweep.now_ms;
        let mut room = max.max(1);
        while sweep.rounds < CLAIM_ROUNDS {
            sweep.rounds += 1;
            let want = room.min(CLAIM_BATCH);
            let mut list = BlobList::new(self.max_blob, want);
            let claimed = catch_unwind(AssertUnwindSafe(|| {
                self.provider.claim_expired(now_ms, want, &mut list)
            }));
            let full = list.len() >= want;
            let mut fresh = false;
            let mut read = Vec::with_capacity(list.len());
            for blob in list.blobs {
                // A blob that does not decode belongs to a session that is
                // gone all the same; it cannot have Session_OnEnd (its
                // failure is returned once the others are claimed).
                match self.decode(&blob, None) {
                    Ok(session) => read.push(session),
                    Err(e) => {
                        fresh = true;
                        bad.get_or_insert(e);
                    }
                }
            }
            let mut ended = self.ended.lock();
            for (h, id, data, created_ms) in read {
                if !ended.first(&h) {
                    bad.get_or_insert_with(|| {
                        Error::new(
                            error::E_UNEXPECTED,
                            format!(
                                "the custom store's claim_expired returned session {} \
                                 twice (it must remove what it claims); it ended once",
                                h.hex()
                            ),
                        )
                    });
                    continue;
                }
                fresh = true;
                room = room.saturating_sub(1);
                let mut hold = self.hold(KeyHash::of(&id), 0);
                hold.stored = false;
                out.push(Lease::copied(OwnedLease {
                    id,
                    created_ms,
                    data,
                    mode: LockMode::Exclusive,
                    state: Box::new(hold),
                }));
            }
            drop(ended);
            match claimed {
                Ok(Ok(())) if full && fresh && room == 0 => return Ok(true),
                Ok(Ok(())) if full && fresh => continue,
                Ok(Ok(())) => break,
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(panicked("list_expired")),
            }
        }
        Ok(false)
    }

    /// The same store reporting `mode` (a provider built into libsess,
    /// whose blobs are in its own file: one that does not decode is
    /// `E_STORE_CORRUPT`).
    pub(crate) fn with_mode(mut self, mode: StoreMode) -> CustomStore {
        self.mode = mode;
        self.unreadable = error::E_STORE_CORRUPT;
        self
    }

    /// The store, as its errors name it.
    fn name(&self) -> &'static str {
        match self.mode {
            StoreMode::Lmdb => "the LMDB store",
            _ => CUSTOM_STORE,
        }
    }

    /// [`decode_as`], a blob that does not decode reported with this
    /// store's code for it.
    fn decode(
        &self,
        blob: &[u8],
        want: Option<(&SessionId, &KeyHash)>,
    ) -> Result<(KeyHash, SessionId, SessionData, u64)> {
        decode_as(
            blob,
            self.max_blob,
            &self.limits,
            want,
            self.id_secret.as_deref(),
        )
        .map_err(|e| match e.code() {
            error::E_STORE_UNAVAILABLE => {
                let e = wire::from_store(e, self.name());
                Error::new(self.unreadable, e.detail())
            }
            _ => e,
        })
    }

    /// The blob of `id` (whose key hash is `h`).
    fn encode(
        &self,
        h: &KeyHash,
        id: &SessionId,
        data: &SessionData,
        created_ms: u64,
    ) -> Result<Vec<u8>> {
        encode_as(h, id, data, created_ms, self.id_secret.as_deref())
    }

    /// The largest blob a session of this application can need.
    pub fn max_blob(&self) -> usize {
        self.max_blob
    }

    /// A lease on a session read back from `bytes`; `hold` goes with it (and
    /// releases the host's lock if decoding fails).
    fn lease(
        &self,
        want: &SessionId,
        buf: BlobBuf,
        mut hold: Hold,
        mode: LockMode,
    ) -> Result<Lease> {
        if buf.too_large {
            // The provider went on without the blob it could not write
            // (`hold`, dropped, gives its lock back).
            return Err(too_large_blob(self.max_blob));
        }
        let bytes = buf.into_bytes();
        let (_, id, data, created_ms) = self.decode(&bytes, Some((want, &hold.h)))?;
        hold.saved = bytes;
        Ok(Lease::copied(OwnedLease {
            id,
            created_ms,
            data,
            mode,
            state: Box::new(hold),
        }))
    }

    /// A hold on the key of hash `h`.
    fn hold(&self, h: KeyHash, token: u64) -> Hold {
        Hold {
            provider: self.provider.clone(),
            key: h.hex(),
            h,
            token,
            stored: true,
            locked: false,
            locked_at: 0,
            saved: Vec::new(),
            owner: Owner::here(),
        }
    }
}

/// A session whose blob is past `max_blob`, larger than a session of
/// this application can be.
fn too_large_blob(max_blob: usize) -> Error {
    wire::over_limits(format!("its blob is over {max_blob} bytes"))
}

/// Generous bound on a session's serialised size under `limits`: each
/// byte a session counts takes at most 2 written (an array's element
/// counts at least 8 and is written in at most 15: a tag and the value),
/// each item at most 64 more (its pair, the key's length, the value's
/// tag), the blob's head under 4 KiB; nor can it be more than
/// `max_items` items of the largest value.
fn max_blob(l: &Limits) -> usize {
    let per_item = l
        .max_value_bytes
        .saturating_mul(2)
        .saturating_add(l.max_key_bytes)
        .saturating_add(64);
    let by_items = l.max_items.saturating_mul(per_item);
    let by_size = l
        .max_session_bytes
        .saturating_mul(2)
        .saturating_add(l.max_items.saturating_mul(64));
    by_items.min(by_size).saturating_add(4096)
}

/// What a copied lease of this store carries: the host's key and lock.
struct Hold {
    provider: Arc<dyn Provider>,
    /// The host's key: [`store_key`](super::store_key) of the session's ID, whose hash is `h`.
    key: String,
    h: KeyHash,
    token: u64,
    /// The session is in the host's store (false while new, and once
    /// removed).
    stored: bool,
    /// This lease holds the host's lock (released on drop if still held).
    locked: bool,
    /// When the lock was taken (clock milliseconds).
    locked_at: u64,
    /// The blob as the host has it, to skip writing an unchanged session.
    saved: Vec<u8>,
    /// The process whose lock it is.
    owner: Owner,
}

impl Drop for Hold {
    /// A lease dropped without set-and-release (an error path, a discarded
    /// unit of work) gives the host's lock back (not a forked child's copy).
    fn drop(&mut self) {
        if self.locked && self.owner.is_here() {
            let provider = &self.provider;
            let _ = catch_unwind(AssertUnwindSafe(|| provider.release(&self.key, self.token)));
        }
    }
}

/// `E_UNEXPECTED`: a lease another store made was handed to this one.
fn foreign() -> Error {
    Error::new(error::E_UNEXPECTED, "the lease belongs to another store")
}

/// The copied lease and its hold (`E_STORE_UNAVAILABLE` in a child forked
/// since it was taken).
fn parts(lease: &mut Lease) -> Result<(&mut SessionId, &SessionData, u64, LockMode, &mut Hold)> {
    let o = lease.as_copied_mut().ok_or_else(foreign)?;
    let hold = o.state.downcast_mut::<Hold>().ok_or_else(foreign)?;
    hold.owner.check()?;
    Ok((&mut o.id, &o.data, o.created_ms, o.mode, hold))
}

/// `E_UNEXPECTED` for a provider that panicked in `op`.
fn panicked(op: &str) -> Error {
    Error::new(
        error::E_UNEXPECTED,
        format!("the custom store's {op} panicked"),
    )
}

/// `E_UNEXPECTED` for a status an operation cannot return.
fn odd(op: &str, status: Status) -> Error {
    Error::new(
        error::E_UNEXPECTED,
        format!("the custom store's {op} returned {status:?}, which it cannot"),
    )
}

/// The error for a save or remove refused because the lock is not ours.
fn lost(op: &str, status: Status) -> Error {
    match status {
        Status::NotFound => Error::new(
            error::E_SESSION_NOT_FOUND,
            format!(
                "{op}: the session was removed (abandoned or expired) while this \
                 request held it; nothing was written"
            ),
        ),
        _ => Error::new(
            error::E_LOCK_TIMEOUT,
            format!(
                "{op}: this request's lock on the session expired (held past \
                 the store's lock TTL) and may have been taken by another \
                 request; nothing was written"
            ),
        ),
    }
}

/// MessagePack `bin 8` of 16 bytes: the header of the key hash and of the
/// masked ID in a blob.
const BIN16: [u8; 2] = [0xC4, 16];
/// MessagePack `nil`: no ID stored.
const NIL: u8 = 0xC0;

/// A session's blob: the key hash (`bin 16`), the ID masked under
/// `id_secret` (`bin 16`; without a secret `nil`: no form of the ID is
/// kept), then [`wire::encode_session`].
pub fn encode(
    id: &SessionId,
    data: &SessionData,
    created_ms: u64,
    id_secret: Option<&[u8]>,
) -> Result<Vec<u8>> {
    encode_as(&KeyHash::of(id), id, data, created_ms, id_secret)
}

/// [`encode`] given `id`'s key hash `h`.
fn encode_as(
    h: &KeyHash,
    id: &SessionId,
    data: &SessionData,
    created_ms: u64,
    id_secret: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let mut blob = Vec::with_capacity(2 * (BIN16.len() + 16) + wire::size_hint(data));
    blob.extend_from_slice(&BIN16);
    blob.extend_from_slice(h.as_bytes());
    match id_secret {
        Some(secret) => {
            blob.extend_from_slice(&BIN16);
            blob.extend_from_slice(&remote::mask_id(secret, h, id.as_bytes())?);
        }
        None => blob.push(NIL),
    }
    wire::put_session(&mut blob, data, created_ms)?;
    Ok(blob)
}

/// Reads `n` bytes of `blob` at `*at`.
fn take<'a>(blob: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
    let part = blob.get(*at..at.checked_add(n)?)?;
    *at += n;
    Some(part)
}

/// Reads a `bin 16` (`Some`) or a `nil` (`None`) at `*at`.
fn bin16_or_nil(blob: &[u8], at: &mut usize) -> Result<Option<[u8; 16]>> {
    let bad = || wire::corrupt("its header is damaged");
    if blob.get(*at) == Some(&NIL) {
        *at += 1;
        return Ok(None);
    }
    if take(blob, at, 2).ok_or_else(bad)? != BIN16 {
        return Err(bad());
    }
    let bytes = take(blob, at, 16).ok_or_else(bad)?;
    Ok(Some(bytes.try_into().expect("16 bytes")))
}

/// How errors name a store the host provides.
const CUSTOM_STORE: &str = "the custom store";

/// A session from its blob (at most `max_len` bytes), checked against
/// `limits`: (ID, data, creation time). `want`: the session a request
/// asked for (its key hash must match); `None` (a swept session): the ID is
/// unmasked with `id_secret`, or without one is a stand-in made of the key
/// hash (never a valid cookie: its own hash differs).
pub fn decode(
    blob: &[u8],
    max_len: usize,
    limits: &Limits,
    want: Option<&SessionId>,
    id_secret: Option<&[u8]>,
) -> Result<(SessionId, SessionData, u64)> {
    let want = want.map(|id| (id, KeyHash::of(id)));
    let want = want.as_ref().map(|(id, h)| (*id, h));
    decode_as(blob, max_len, limits, want, id_secret)
        .map(|(_, id, data, created)| (id, data, created))
        .map_err(|e| wire::from_store(e, CUSTOM_STORE))
}

/// [`decode`] given the wanted ID's key hash; also returns the blob's key
/// hash.
fn decode_as(
    blob: &[u8],
    max_len: usize,
    limits: &Limits,
    want: Option<(&SessionId, &KeyHash)>,
    id_secret: Option<&[u8]>,
) -> Result<(KeyHash, SessionId, SessionData, u64)> {
    if blob.len() > max_len {
        return Err(wire::corrupt(format!(
            "{} bytes is over the {max_len}-byte limit",
            blob.len()
        )));
    }
    let mut at = 0;
    let h = bin16_or_nil(blob, &mut at)?.ok_or_else(|| wire::corrupt("it has no key hash"))?;
    let h = KeyHash::from_bytes(h);
    let masked = bin16_or_nil(blob, &mut at)?;
    let id = match want {
        Some((_, want)) if *want != h => {
            return Err(wire::corrupt("another session's, under this session's key"))
        }
        Some((want, _)) => *want,
        None => match (masked, id_secret) {
            (Some(m), Some(secret)) => remote::unmask_id(secret, &h, &m).ok_or_else(|| {
                wire::corrupt("the stored ID does not unmask (another id_secret?)")
            })?,
            _ => h.stand_in_id()?,
        },
    };
    let (data, created) = wire::decode_session(&blob[at..], max_len, limits)?;
    Ok((h, id, data, created))
}

/// Where a store's lock tokens come from: no two live holders on one
/// machine share a token, and taking one makes no system call.
struct Tokens {
    /// Random per store (so stores of other machines differ too).
    nonce: u64,
    next: AtomicU64,
    /// The fork generation (high half) and process ID (low half) `next`
    /// counts for.
    process: AtomicU64,
}

impl Tokens {
    fn new() -> Tokens {
        Tokens {
            nonce: std::collections::hash_map::RandomState::new().hash_one(0u64),
            next: AtomicU64::new(0),
            process: AtomicU64::new(0),
        }
    }

    /// A fresh token, never 0: a bijective mix of the nonce, the process ID
    /// (bits 40 and up) and a per-process counter (the low 40 bits), so
    /// tokens of one process, and of two processes, never repeat.
    fn next(&self) -> u64 {
        let generation = u64::from(crate::fork::generation());
        let mut process = self.process.load(Ordering::Relaxed);
        if process == 0 || process >> 32 != generation {
            process = generation << 32 | u64::from(std::process::id());
            self.process.store(process, Ordering::Relaxed);
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed) & ((1 << 40) - 1);
        remote::mix64(self.nonce ^ (process & 0xFFFF_FFFF) << 40 ^ n).max(1)
    }
}

impl SessionStore for CustomStore {
    fn mode(&self) -> StoreMode {
        self.mode
    }

    fn get(&self, id: &SessionId, mode: LockMode, wait: Duration, now_ms: u64) -> Result<Lookup> {
        let h = KeyHash::of(id);
        let key = h.hex();
        let token = match mode {
            LockMode::Exclusive => self.tokens.next(),
            LockMode::Shared => 0,
        };
        remote::wait_for_lock(
            wait,
            now_ms,
            &self.lock_waits,
            |now| {
                let mut buf = BlobBuf::new(self.max_blob);
                let status = self
                    .provider
                    .get(&key, mode, token, now, &mut buf)
                    .map_err(|e| match buf.too_large {
                        true => too_large_blob(self.max_blob),
                        false => e,
                    })?;
                Ok(Attempt::Done(match status {
                    Status::NotFound => Lookup::NotFound,
                    Status::Locked => return Ok(Attempt::Locked),
                    Status::Done => {
                        let mut hold = self.hold(h, token);
                        if mode == LockMode::Exclusive {
                            hold.locked = true;
                            hold.locked_at = now;
                        }
                        Lookup::Found(self.lease(id, buf, hold, mode)?)
                    }
                    Status::Expired => {
                        let mut hold = self.hold(h, token);
                        hold.stored = false;
                        Lookup::Expired(self.lease(id, buf, hold, LockMode::Exclusive)?)
                    }
                    Status::Exists => return Err(odd("get", status)),
                }))
            },
            |pause| self.provider.pause(&key, pause),
        )
    }

    fn prepare(&self, id: SessionId, data: SessionData, now_ms: u64) -> Lease {
        let mut hold = self.hold(KeyHash::of(&id), 0);
        hold.stored = false;
        Lease::copied(OwnedLease {
            id,
            created_ms: now_ms,
            data,
            mode: LockMode::Exclusive,
            state: Box::new(hold),
        })
    }

    fn insert(
        &self,
        lease: &mut Lease,
        now_ms: u64,
        deadline_ms: u64,
        max_sessions: usize,
    ) -> Result<bool> {
        let (id, data, created_ms, _, hold) = parts(lease)?;
        if hold.stored {
            return Err(Error::new(
                error::E_UNEXPECTED,
                "the session is already stored",
            ));
        }
        let blob = self.encode(&hold.h, id, data, created_ms)?;
        let token = self.tokens.next();
        let status = self.moves.create(|| {
            self.provider.create(
                &hold.key,
                token,
                now_ms,
                deadline_ms,
                max_sessions as u64,
                &blob,
            )
        })?;
        match status {
            Status::Done => {
                hold.token = token;
                hold.stored = true;
                hold.locked = true;
                hold.locked_at = now_ms;
                hold.saved = blob;
                Ok(true)
            }
            Status::Exists => Ok(false),
            _ => Err(odd("create", status)),
        }
    }

    fn regenerate(&self, lease: &mut Lease, new_id: SessionId, deadline_ms: u64) -> Result<bool> {
        let (id, data, created_ms, mode, hold) = parts(lease)?;
        if mode != LockMode::Exclusive || !hold.locked {
            return Err(Error::new(
                error::E_UNEXPECTED,
                "only a stored session held exclusively changes its ID",
            ));
        }
        let place = |h: &KeyHash| self.provider.same_place(&hold.key, &h.hex());
        let new_id = remote::id_that_fits(new_id, place, "the same place in the store")?;
        let new_h = KeyHash::of(&new_id);
        let new_key = new_h.hex();
        let blob = self.encode(&new_h, &new_id, data, created_ms)?;
        let status = self.moves.run(|| {
            self.provider.rename(
                &hold.key,
                &new_key,
                hold.token,
                hold.locked_at,
                deadline_ms,
                &blob,
            )
        })?;
        match status {
            Status::Done => {}
            Status::Exists => return Ok(false),
            s @ (Status::NotFound | Status::Locked) => {
                hold.locked = false;
                return Err(lost("regenerate", s));
            }
            s => return Err(odd("rename", s)),
        }
        *id = new_id;
        hold.key = new_key;
        hold.h = new_h;
        hold.saved = blob;
        Ok(true)
    }

    fn release(&self, mut lease: Lease, deadline_ms: u64) -> Result<()> {
        let (id, data, created_ms, mode, hold) = parts(&mut lease)?;
        if !hold.stored {
            return Ok(());
        }
        if mode == LockMode::Shared {
            return match self.provider.reset_timeout(&hold.key, deadline_ms)? {
                Status::Done | Status::NotFound => Ok(()),
                s => Err(odd("reset_timeout", s)),
            };
        }
        let blob = self.encode(&hold.h, id, data, created_ms)?;
        let changed = blob != hold.saved;
        let status = self.provider.set_and_release(
            &hold.key,
            hold.token,
            deadline_ms,
            changed.then_some(blob.as_slice()),
        )?;
        match status {
            Status::Done => {
                hold.locked = false;
                Ok(())
            }
            Status::NotFound | Status::Locked => {
                hold.locked = false;
                Err(lost("save", status))
            }
            _ => Err(odd("set_and_release", status)),
        }
    }

    fn remove(&self, mut lease: Lease) -> Result<Lease> {
        let (_, _, _, mode, hold) = parts(&mut lease)?;
        if mode != LockMode::Exclusive {
            return Err(Error::new(
                error::E_READONLY,
                "a session held read-only cannot be removed",
            ));
        }
        if !hold.stored {
            return Ok(lease);
        }
        let status = self.provider.remove(&hold.key, hold.token)?;
        match status {
            Status::Done => {
                hold.locked = false;
                hold.stored = false;
                Ok(lease)
            }
            Status::NotFound | Status::Locked => {
                hold.locked = false;
                Err(lost("remove", status))
            }
            _ => Err(odd("remove", status)),
        }
    }

    fn take_expired(&self, now_ms: u64, out: &mut Vec<Lease>) -> Result<()> {
        self.take_expired_batch(now_ms, usize::MAX, out).map(|_| ())
    }

    /// Claims up to `max` expired sessions, 64 per provider call. Each
    /// session is handed out once (see `Ended`), whichever sweep claims
    /// it: a blob the provider returns again is dropped and reported
    /// (`E_UNEXPECTED`, when the sweep ends, or the next one if it fails),
    /// and a full batch of nothing
    /// but such repeats ends the sweep (a provider that never removes what
    /// it claims), as do 1,024 provider calls in one sweep (the calls with
    /// one `now_ms`).
    fn take_expired_batch(&self, now_ms: u64, max: usize, out: &mut Vec<Lease>) -> Result<bool> {
        // Out of the mutex while the provider runs (no lock is held across
        // a host's callback); back for the sweep's next batch.
        let mut sweep = self.sweeps.lock().take(now_ms);
        let mut bad = None;
        let more = self.claim_batch(&mut sweep, max, out, &mut bad);
        let mut sweeps = self.sweeps.lock();
        if let Some(e) = bad {
            sweeps.unreported.get_or_insert(e);
        }
        match more {
            Ok(true) => {
                sweeps.keep(sweep);
                Ok(true)
            }
            Ok(false) => sweeps.unreported.take().map_or(Ok(false), Err),
            Err(e) => Err(e),
        }
    }

    /// Nothing: the sessions stay in the host's store for the processes
    /// that share it; expired ones are ended by whoever sweeps.
    fn drain(&self, _out: &mut Vec<Lease>) {}

    /// The provider's count, or its failure.
    fn count(&self) -> Result<usize> {
        let n = catch_unwind(AssertUnwindSafe(|| self.provider.count()))
            .unwrap_or_else(|_| Err(panicked("count")))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn lock_waits(&self) -> u64 {
        self.lock_waits.get()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Instant;

    use super::*;
    use crate::store::store_key;

    #[test]
    fn lock_tokens_never_repeat_and_are_never_0() {
        let (a, b) = (Tokens::new(), Tokens::new());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50_000 {
            for t in [a.next(), b.next()] {
                assert!(t != 0 && seen.insert(t), "token {t:#x} repeated");
            }
        }
    }
    use crate::state::Journal;
    use crate::variant::Variant;

    const LIMITS: Limits = Limits {
        max_timeout_minutes: 525_600,
        max_items: 64,
        max_value_bytes: 1 << 16,
        max_key_bytes: 64,
        max_session_bytes: 1 << 20,
    };
    const WAIT: Duration = Duration::from_millis(60);
    const TTL: u64 = 30_000;

    struct Rec {
        blob: Vec<u8>,
        deadline: u64,
        token: u64,
        locked_at: u64,
    }

    /// The contract kept in memory, as a host would keep it in a database.
    #[derive(Default)]
    struct Mock {
        map: Mutex<HashMap<String, Rec>>,
        down: AtomicBool,
        writes: AtomicUsize,
        unchanged: AtomicUsize,
        releases: AtomicUsize,
        /// Keys are in the same place only if their first hex digit is.
        split: AtomicBool,
        /// `claim_expired` removes nothing and repeats each due blob until
        /// the list is full.
        hoard: AtomicBool,
        claims: AtomicUsize,
        /// If set, the first two `claim_expired` calls meet here before
        /// they read the map (two sweeps inside the provider at once).
        meet: Option<std::sync::Barrier>,
        met: AtomicUsize,
        /// Blobs `claim_expired` hands out (once) before the due sessions.
        junk: Mutex<Vec<Vec<u8>>>,
        /// `claim_expired` fills the list with new sessions every time
        /// (a provider that never runs dry).
        endless: AtomicBool,
        /// `create` calls so far (refused ones too).
        creates: AtomicUsize,
        /// If set, the next `remove` meets here first and then waits for
        /// another `create` (a move in two steps caught between them).
        between: Option<std::sync::Barrier>,
        paused: AtomicBool,
    }

    impl Mock {
        fn check(&self) -> Result<()> {
            if self.down.load(Ordering::SeqCst) {
                return Err(Error::code_only(error::E_STORE_UNAVAILABLE));
            }
            Ok(())
        }
        fn locked_by_other(r: &Rec, token: u64, now: u64) -> bool {
            r.token != 0 && r.token != token && now < r.locked_at + TTL
        }
    }

    impl Provider for Mock {
        fn get(
            &self,
            key: &str,
            mode: LockMode,
            token: u64,
            now_ms: u64,
            out: &mut BlobBuf,
        ) -> Result<Status> {
            self.check()?;
            let mut map = self.map.lock().unwrap();
            let Some(r) = map.get_mut(key) else {
                return Ok(Status::NotFound);
            };
            let exclusive = mode == LockMode::Exclusive;
            if r.deadline <= now_ms {
                if !exclusive || Mock::locked_by_other(r, token, now_ms) {
                    return Ok(Status::NotFound);
                }
                out.write(&r.blob)?;
                map.remove(key);
                return Ok(Status::Expired);
            }
            if Mock::locked_by_other(r, token, now_ms) {
                return Ok(Status::Locked);
            }
            out.write(&r.blob)?;
            if exclusive {
                r.token = token;
                r.locked_at = now_ms;
            }
            Ok(Status::Done)
        }

        fn create(
            &self,
            key: &str,
            token: u64,
            now_ms: u64,
            deadline_ms: u64,
            max_sessions: u64,
            blob: &[u8],
        ) -> Result<Status> {
            self.check()?;
            self.creates.fetch_add(1, Ordering::SeqCst);
            let mut map = self.map.lock().unwrap();
            if map.contains_key(key) {
                return Ok(Status::Exists);
            }
            if map.len() as u64 >= max_sessions {
                return Err(Error::code_only(error::E_TOO_MANY_SESSIONS));
            }
            map.insert(
                key.to_owned(),
                Rec {
                    blob: blob.to_vec(),
                    deadline: deadline_ms,
                    token,
                    locked_at: now_ms,
                },
            );
            Ok(Status::Done)
        }

        fn set_and_release(
            &self,
            key: &str,
            token: u64,
            deadline_ms: u64,
            blob: Option<&[u8]>,
        ) -> Result<Status> {
            self.check()?;
            let mut map = self.map.lock().unwrap();
            let Some(r) = map.get_mut(key) else {
                return Ok(Status::NotFound);
            };
            if r.token != token {
                return Ok(Status::Locked);
            }
            match blob {
                Some(b) => {
                    r.blob = b.to_vec();
                    self.writes.fetch_add(1, Ordering::SeqCst);
                }
                None => {
                    self.unchanged.fetch_add(1, Ordering::SeqCst);
                }
            }
            r.deadline = deadline_ms;
            r.token = 0;
            Ok(Status::Done)
        }

        fn release(&self, key: &str, token: u64) -> Result<Status> {
            self.check()?;
            self.releases.fetch_add(1, Ordering::SeqCst);
            let mut map = self.map.lock().unwrap();
            let Some(r) = map.get_mut(key) else {
                return Ok(Status::NotFound);
            };
            if r.token != token {
                return Ok(Status::Locked);
            }
            r.token = 0;
            Ok(Status::Done)
        }

        fn remove(&self, key: &str, token: u64) -> Result<Status> {
            self.check()?;
            if let Some(between) = &self.between {
                if !self.paused.swap(true, Ordering::SeqCst) {
                    let creates = self.creates.load(Ordering::SeqCst);
                    between.wait();
                    let start = Instant::now();
                    while self.creates.load(Ordering::SeqCst) == creates
                        && start.elapsed() < Duration::from_secs(5)
                    {
                        std::thread::yield_now();
                    }
                }
            }
            let mut map = self.map.lock().unwrap();
            match map.get(key) {
                None => Ok(Status::NotFound),
                Some(r) if r.token != token => Ok(Status::Locked),
                Some(_) => {
                    map.remove(key);
                    Ok(Status::Done)
                }
            }
        }

        fn reset_timeout(&self, key: &str, deadline_ms: u64) -> Result<Status> {
            self.check()?;
            let mut map = self.map.lock().unwrap();
            match map.get_mut(key) {
                None => Ok(Status::NotFound),
                Some(r) => {
                    r.deadline = deadline_ms;
                    Ok(Status::Done)
                }
            }
        }

        fn claim_expired(&self, now_ms: u64, max: usize, out: &mut BlobList) -> Result<()> {
            self.check()?;
            if let Some(meet) = &self.meet {
                if self.met.fetch_add(1, Ordering::SeqCst) < 2 {
                    meet.wait();
                }
            }
            let mut map = self.map.lock().unwrap();
            let due: Vec<String> = map
                .iter()
                .filter(|(_, r)| r.deadline <= now_ms && !Mock::locked_by_other(r, 0, now_ms))
                .map(|(k, _)| k.clone())
                .take(max)
                .collect();
            self.claims.fetch_add(1, Ordering::Relaxed);
            for blob in self.junk.lock().unwrap().drain(..) {
                out.add(&blob)?;
            }
            if self.endless.load(Ordering::Relaxed) {
                while out.len() < max {
                    out.add(&encode(&SessionId::generate()?, &data("new"), 0, None)?)?;
                }
                return Ok(());
            }
            if self.hoard.load(Ordering::Relaxed) {
                for k in due.iter().cycle() {
                    if out.add(&map[k].blob).is_err() {
                        break;
                    }
                }
                return Ok(());
            }
            for k in due {
                if out.add(&map[&k].blob).is_ok() {
                    map.remove(&k);
                }
            }
            Ok(())
        }

        fn same_place(&self, a: &str, b: &str) -> bool {
            !self.split.load(Ordering::SeqCst) || a[..1] == b[..1]
        }

        fn count(&self) -> Result<u64> {
            self.check()?;
            Ok(self.map.lock().unwrap().len() as u64)
        }
    }

    fn store() -> (Arc<Mock>, CustomStore) {
        let mock = Arc::new(Mock::default());
        (mock.clone(), CustomStore::new(mock, LIMITS))
    }

    fn data(user: &str) -> SessionData {
        let mut d = SessionData::new(20, 1033, 65001);
        d.set_value(
            "User",
            Variant::bstr(user),
            &LIMITS,
            &mut Journal::default(),
        )
        .unwrap();
        d
    }

    /// A stored session, unlocked, with deadline `deadline`.
    fn stored(s: &CustomStore, user: &str, deadline: u64) -> SessionId {
        let id = SessionId::generate().unwrap();
        let mut lease = s.prepare(id, data(user), 0);
        assert!(s.insert(&mut lease, 0, deadline, usize::MAX).unwrap());
        s.release(lease, deadline).unwrap();
        id
    }

    fn found(l: Lookup) -> Lease {
        match l {
            Lookup::Found(lease) => lease,
            _ => panic!("expected Found"),
        }
    }

    fn user(l: &Lease) -> String {
        l.data()
            .contents()
            .get("user")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The batches of one sweep (one `now_ms`) share what it claimed: a
    /// session handed back in a later batch is not ended again, and the
    /// sweep ends reporting it.
    #[test]
    fn a_sweeps_batches_end_a_session_once() {
        let (mock, s) = store();
        stored(&s, "Ann", 1_000);
        stored(&s, "Bob", 1_000);
        mock.hoard.store(true, Ordering::Relaxed);
        let mut out = Vec::new();
        assert!(s.take_expired_batch(5_000, 1, &mut out).unwrap());
        let e = s.take_expired_batch(5_000, 1, &mut out).unwrap_err();
        assert!(e.detail().contains("twice"), "{e:?}");
        assert_eq!(out.len(), 1);
        let first = user(&out[0]);
        // Without the hoarding, a later sweep gets both (the hoarding
        // provider removed nothing) and hands out only the other: the
        // first ended already, so it is reported, not ended again.
        mock.hoard.store(false, Ordering::Relaxed);
        out.clear();
        let e = s.take_expired_batch(6_000, 64, &mut out).unwrap_err();
        assert!(e.detail().contains("twice"), "{e:?}");
        assert_eq!(out.len(), 1);
        assert_ne!(user(&out[0]), first);
        assert_eq!(mock.map.lock().unwrap().len(), 0);
    }

    #[test]
    fn a_session_claimed_twice_ends_once_and_is_reported() {
        let (mock, s) = store();
        let ids = [stored(&s, "Ann", 1_000), stored(&s, "Bob", 1_000)];
        mock.hoard.store(true, Ordering::Relaxed);
        let mut out = Vec::new();
        let e = s.take_expired(5_000, &mut out).unwrap_err();
        assert_eq!(e.code(), error::E_UNEXPECTED, "{e:?}");
        assert!(e.detail().contains("twice"), "{e:?}");
        let mut users: Vec<String> = out.iter().map(user).collect();
        users.sort();
        assert_eq!(users, ["Ann", "Bob"]);
        // A round of nothing but repeats ends the sweep.
        assert!(mock.claims.load(Ordering::Relaxed) <= 2);
        assert!(ids.iter().all(|id| !e.detail().contains(&id.to_string())));
    }

    /// Two sweeps claiming at once (the expiry thread and a host's
    /// `expire`, or a new session making room) share what was handed out:
    /// a session a hoarding provider gives to both ends once.
    #[test]
    fn concurrent_sweeps_end_a_session_once() {
        let mock = Arc::new(Mock {
            meet: Some(std::sync::Barrier::new(2)),
            ..Mock::default()
        });
        let s = CustomStore::new(mock.clone(), LIMITS);
        stored(&s, "Ann", 1_000);
        mock.hoard.store(true, Ordering::Relaxed);
        let claimed: Vec<Vec<Lease>> = std::thread::scope(|sc| {
            let sweeps: Vec<_> = (0..2)
                .map(|_| {
                    sc.spawn(|| {
                        let mut out = Vec::new();
                        let _ = s.take_expired_batch(5_000, 64, &mut out);
                        out
                    })
                })
                .collect();
            sweeps.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(claimed.iter().map(Vec::len).sum::<usize>(), 1);
    }

    /// A provider that never removes what it claims: the session is ended
    /// once, not once per sweep, whether the next sweep reads the clock
    /// again or not (a new session making room in a full store, again and
    /// again). Each later sweep reports the repeat.
    #[test]
    fn a_session_a_provider_keeps_ends_once_across_sweeps() {
        use crate::app::{App, AppOptions, StoreConfig};
        use crate::clock::ManualClock;

        let (mock, s) = store();
        let clock = Arc::new(ManualClock::new(0));
        let ends = Arc::new(AtomicUsize::new(0));
        let e = ends.clone();
        let app = App::new(AppOptions {
            expiry_interval: None,
            max_sessions: 1,
            store: StoreConfig::Custom(Arc::new(s)),
            clock: Some(clock.clone()),
            on_end: Some(Arc::new(move |_| {
                e.fetch_add(1, Ordering::SeqCst);
            })),
            ..AppOptions::default()
        })
        .unwrap();
        let mut first = app.create_session().unwrap();
        first.set("k", Variant::I4(1)).unwrap();
        first.close().unwrap();
        clock.advance(21 * 60_000);
        mock.hoard.store(true, Ordering::Relaxed);
        for step in [0, 0, 1_000, 0] {
            clock.advance(step);
            let mut s = app.create_session().unwrap();
            let e = s.set("k", Variant::I4(2)).unwrap_err();
            assert_eq!(e.code(), error::E_TOO_MANY_SESSIONS, "{e:?}");
        }
        assert_eq!(ends.load(Ordering::SeqCst), 1, "Session_OnEnd ran again");
        let e = app.expire().unwrap_err();
        assert!(e.detail().contains("twice"), "{e:?}");
        assert_eq!(ends.load(Ordering::SeqCst), 1);
    }

    /// A store with two due sessions and a blob that does not decode, and
    /// the first batch (of 1) of a sweep at 5 s: the blob read, one session
    /// claimed into the list returned.
    fn a_sweep_past_a_bad_blob() -> (Arc<Mock>, CustomStore, Vec<Lease>) {
        let (mock, s) = store();
        stored(&s, "Ann", 1_000);
        stored(&s, "Bob", 1_000);
        mock.junk.lock().unwrap().push(vec![0xC1; 40]);
        let mut out = Vec::new();
        assert!(s.take_expired_batch(5_000, 1, &mut out).unwrap());
        (mock, s, out)
    }

    /// A sweep that stops at its batch's size with a blob that did not
    /// decode, then another sweep (another clock reading) before its next
    /// batch: the failure is still reported, by one of them.
    #[test]
    fn a_bad_blob_is_reported_though_another_sweep_runs_between_batches() {
        let (_mock, s, mut out) = a_sweep_past_a_bad_blob();
        let other = s.take_expired_batch(6_000, 64, &mut out);
        let rest = s.take_expired_batch(5_000, 1, &mut out);
        assert_eq!(out.len(), 2, "both good sessions claimed");
        let failures: Vec<Error> = [other, rest].into_iter().filter_map(|r| r.err()).collect();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].code(), error::E_STORE_UNAVAILABLE);
    }

    /// A sweep that ends with the provider's failure after a blob did not
    /// decode reports the provider's; the blob's is reported by the next
    /// sweep that ends, not lost.
    #[test]
    fn a_bad_blob_is_reported_though_its_sweep_then_fails() {
        let (mock, s, mut out) = a_sweep_past_a_bad_blob();
        mock.down.store(true, Ordering::SeqCst);
        let e = s.take_expired_batch(5_000, 1, &mut out).unwrap_err();
        assert_eq!(e.code(), error::E_STORE_UNAVAILABLE);
        assert!(!e.detail().contains("unreadable"), "the provider's: {e:?}");
        mock.down.store(false, Ordering::SeqCst);
        let e = s.take_expired_batch(6_000, 64, &mut out).unwrap_err();
        assert!(e.detail().contains("unreadable"), "{e:?}");
        assert_eq!(out.len(), 2);
        assert!(s.take_expired_batch(7_000, 64, &mut out).is_ok());
    }

    /// Two sweeps (two clock readings) taking turns against a provider that
    /// never runs dry: each still stops after its 1,024 provider calls.
    #[test]
    fn sweeps_taking_turns_each_stop_at_their_call_limit() {
        let (mock, s) = store();
        mock.endless.store(true, Ordering::Relaxed);
        let mut open = [true, true];
        for _ in 0..2 * CLAIM_ROUNDS {
            for (now, open) in [5_000, 6_000].into_iter().zip(&mut open) {
                if *open {
                    *open = s.take_expired_batch(now, 1, &mut Vec::new()).unwrap();
                }
            }
        }
        assert_eq!(open, [false, false], "a sweep went on past its limit");
        assert_eq!(mock.claims.load(Ordering::Relaxed), 2 * CLAIM_ROUNDS);
    }

    #[test]
    fn a_stored_creation_time_near_the_end_of_time_does_not_overflow() {
        use crate::app::{App, AppOptions, StoreConfig};
        use crate::clock::ManualClock;

        let (_, s) = store();
        let s = Arc::new(s);
        let id = SessionId::generate().unwrap();
        let mut lease = s.prepare(id, data("Ann"), u64::MAX - 5);
        assert!(s.insert(&mut lease, 0, u64::MAX, usize::MAX).unwrap());
        s.release(lease, u64::MAX).unwrap();
        let app = App::new(AppOptions {
            expiry_interval: None,
            absolute_timeout_minutes: 60,
            store: StoreConfig::Custom(s),
            clock: Some(Arc::new(ManualClock::new(1_000))),
            ..AppOptions::default()
        })
        .unwrap();
        let session = app.open(&id, LockMode::Exclusive).unwrap();
        session.close().unwrap();
        assert!(app.open(&id, LockMode::Shared).is_ok());
    }

    #[test]
    fn sessions_round_trip_under_hashed_keys() {
        let (mock, s) = store();
        let id = stored(&s, "Chris", 60_000);
        let keys: Vec<String> = mock.map.lock().unwrap().keys().cloned().collect();
        assert_eq!(keys, vec![store_key(&id)]);
        assert!(!keys[0].contains(&id.to_string()));
        let blob = mock.map.lock().unwrap()[&keys[0]].blob.clone();
        assert!(!blob.windows(16).any(|w| w == id.as_bytes()), "no raw ID");
        let lease = found(s.get(&id, LockMode::Shared, WAIT, 1).unwrap());
        assert_eq!(user(&lease), "Chris");
        assert_eq!(s.count().unwrap(), 1);
        assert_eq!(s.mode(), StoreMode::Custom);
    }

    #[test]
    fn waiters_time_out_and_shared_leases_take_no_lock() {
        let (_, s) = store();
        let id = stored(&s, "A", 60_000);
        let r1 = found(s.get(&id, LockMode::Shared, WAIT, 1).unwrap());
        let r2 = found(s.get(&id, LockMode::Shared, WAIT, 1).unwrap());
        let held = found(s.get(&id, LockMode::Exclusive, WAIT, 1).unwrap());
        drop((r1, r2));
        for mode in [LockMode::Exclusive, LockMode::Shared] {
            let t = Instant::now();
            let e = s.get(&id, mode, WAIT, 1).err().unwrap();
            assert_eq!(e.code(), error::E_LOCK_TIMEOUT);
            assert!(t.elapsed() >= WAIT);
        }
        std::thread::scope(|sc| {
            let waiter = sc.spawn(|| s.get(&id, LockMode::Exclusive, Duration::from_secs(5), 2));
            std::thread::sleep(Duration::from_millis(30));
            s.release(held, 60_000).unwrap();
            assert!(matches!(waiter.join().unwrap().unwrap(), Lookup::Found(_)));
        });
    }

    #[test]
    fn unchanged_sessions_are_not_rewritten() {
        let (mock, s) = store();
        let id = stored(&s, "A", 60_000);
        let writes = mock.writes.load(Ordering::SeqCst);
        let lease = found(s.get(&id, LockMode::Exclusive, WAIT, 1).unwrap());
        s.release(lease, 70_000).unwrap();
        assert_eq!(mock.writes.load(Ordering::SeqCst), writes);
        assert_eq!(mock.unchanged.load(Ordering::SeqCst), 2);
        let mut lease = found(s.get(&id, LockMode::Exclusive, WAIT, 1).unwrap());
        lease
            .data_mut()
            .unwrap()
            .set_value("User", Variant::bstr("B"), &LIMITS, &mut Journal::default())
            .unwrap();
        s.release(lease, 70_000).unwrap();
        assert_eq!(mock.writes.load(Ordering::SeqCst), writes + 1);
        let lease = found(s.get(&id, LockMode::Shared, WAIT, 2).unwrap());
        assert_eq!(user(&lease), "B");
    }

    #[test]
    fn a_dropped_lease_gives_the_lock_back() {
        let (mock, s) = store();
        let id = stored(&s, "A", 60_000);
        let lease = found(s.get(&id, LockMode::Exclusive, WAIT, 1).unwrap());
        drop(lease);
        assert_eq!(mock.releases.load(Ordering::SeqCst), 1);
        found(s.get(&id, LockMode::Exclusive, WAIT, 1).unwrap());
        // Shared leases, and leases whose save went through, release nothing.
        drop(found(s.get(&id, LockMode::Shared, WAIT, 1).unwrap()));
        assert_eq!(mock.releases.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_broken_lock_or_a_removed_session_refuses_the_save() {
        let (mock, s) = store();
        let id = stored(&s, "A", 60_000);
        let mut slow = found(s.get(&id, LockMode::Exclusive, WAIT, 1_000).unwrap());
        slow.data_mut()
            .unwrap()
            .set_value(
                "User",
                Variant::bstr("slow"),
                &LIMITS,
                &mut Journal::default(),
            )
            .unwrap();
        // Past the lock TTL another request breaks the lock and saves.
        let fast = found(s.get(&id, LockMode::Exclusive, WAIT, 1_000 + TTL).unwrap());
        s.release(fast, 90_000).unwrap();
        let e = s.release(slow, 90_000).unwrap_err();
        assert_eq!(e.code(), error::E_LOCK_TIMEOUT);
        let lease = found(s.get(&id, LockMode::Shared, WAIT, 40_000).unwrap());
        assert_eq!(user(&lease), "A", "the slow request wrote nothing");

        // Abandoned meanwhile: the late save does not resurrect it.
        let late = found(
            s.get(&id, LockMode::Exclusive, WAIT, 1_000 + 2 * TTL)
                .unwrap(),
        );
        mock.map.lock().unwrap().clear();
        let e = s.release(late, 90_000).unwrap_err();
        assert_eq!(e.code(), error::E_SESSION_NOT_FOUND);
        assert_eq!(s.count().unwrap(), 0);
    }

    #[test]
    fn expiry_claims_each_session_once_with_its_contents() {
        let (_, s) = store();
        let ids: Vec<SessionId> = (0..150)
            .map(|i| stored(&s, &format!("u{i}"), 60_000))
            .collect();
        let keep = stored(&s, "keep", 600_000);
        let busy = ids[0];
        let held = found(s.get(&busy, LockMode::Exclusive, WAIT, 59_000).unwrap());
        let mut out = Vec::new();
        s.take_expired(60_000, &mut out).unwrap();
        assert_eq!(out.len(), 149, "all but the busy one, over several batches");
        assert!(out
            .iter()
            .all(|l| l.data().contents().get("user").is_some()));
        // Without an id_secret the sweeper shows stand-in IDs, never the real.
        assert!(out.iter().all(|l| !ids.contains(&l.id())));
        out.clear();
        s.take_expired(60_000, &mut out).unwrap();
        assert!(out.is_empty());
        drop(held);
        s.take_expired(60_000, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(s.count().unwrap(), 1);
        assert!(matches!(
            s.get(&keep, LockMode::Shared, WAIT, 60_000).unwrap(),
            Lookup::Found(_)
        ));
    }

    #[test]
    fn with_an_id_secret_the_sweeper_sees_the_real_id() {
        let mock = Arc::new(Mock::default());
        let secret = b"sixteen or more bytes";
        let s = CustomStore::new(mock.clone(), LIMITS)
            .with_id_secret(secret)
            .unwrap();
        let id = stored(&s, "A", 60_000);
        let mut out = Vec::new();
        s.take_expired(60_000, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert!(out[0].id() == id);
        // Another secret cannot unmask it: the blob is dropped, not misread,
        // and the sweep says so.
        let id = stored(&s, "B", 60_000);
        let other = CustomStore::new(mock, LIMITS)
            .with_id_secret(b"another secret of 16+")
            .unwrap();
        out.clear();
        let e = other.take_expired(60_000, &mut out).unwrap_err();
        assert_eq!(e.code(), error::E_STORE_UNAVAILABLE, "{e:?}");
        assert!(out.is_empty());
        assert!(matches!(
            s.get(&id, LockMode::Shared, WAIT, 1).unwrap(),
            Lookup::NotFound
        ));
        assert_eq!(
            CustomStore::new(Arc::new(Mock::default()), LIMITS)
                .with_id_secret(b"short")
                .err()
                .unwrap()
                .code(),
            error::E_INVALID_OPTION
        );
    }

    #[test]
    fn a_request_finding_its_session_expired_gets_it_for_on_end() {
        let (_, s) = store();
        let id = stored(&s, "A", 60_000);
        assert!(matches!(
            s.get(&id, LockMode::Shared, WAIT, 60_000).unwrap(),
            Lookup::NotFound
        ));
        match s.get(&id, LockMode::Exclusive, WAIT, 60_000).unwrap() {
            Lookup::Expired(lease) => {
                assert!(lease.id() == id);
                assert_eq!(user(&lease), "A");
            }
            _ => panic!("expected Expired"),
        }
        assert_eq!(s.count().unwrap(), 0);
    }

    #[test]
    fn regenerate_moves_the_session() {
        let (mock, s) = store();
        let old = stored(&s, "A", 60_000);
        let mut lease = found(s.get(&old, LockMode::Exclusive, WAIT, 1).unwrap());
        let fresh = SessionId::generate().unwrap();
        assert!(s.regenerate(&mut lease, fresh, 60_000).unwrap());
        assert!(lease.id() == fresh);
        // The new key is locked by this unit of work until it ends.
        assert_eq!(
            s.get(&fresh, LockMode::Exclusive, WAIT, 2)
                .err()
                .unwrap()
                .code(),
            error::E_LOCK_TIMEOUT
        );
        s.release(lease, 60_000).unwrap();
        assert!(matches!(
            s.get(&old, LockMode::Shared, WAIT, 2).unwrap(),
            Lookup::NotFound
        ));
        let lease = found(s.get(&fresh, LockMode::Exclusive, WAIT, 2).unwrap());
        assert_eq!(user(&lease), "A");
        // A taken ID changes nothing.
        let other = stored(&s, "B", 60_000);
        let mut lease = lease;
        assert!(!s.regenerate(&mut lease, other, 60_000).unwrap());
        assert!(lease.id() == fresh);
        assert_eq!(mock.map.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_regenerated_session_stays_where_its_provider_can_move_it() {
        let (mock, s) = store();
        mock.split.store(true, Ordering::SeqCst);
        let place = |id: &SessionId| KeyHash::of(id).hex()[..1].to_owned();
        let old = stored(&s, "A", 60_000);
        let mut lease = found(s.get(&old, LockMode::Exclusive, WAIT, 1).unwrap());
        let elsewhere = std::iter::repeat_with(|| SessionId::generate().unwrap())
            .find(|id| place(id) != place(&old))
            .unwrap();
        assert!(s.regenerate(&mut lease, elsewhere, 60_000).unwrap());
        let new = lease.id();
        assert!(new != elsewhere && new != old);
        assert_eq!(place(&new), place(&old));
        s.release(lease, 60_000).unwrap();
        let lease = found(s.get(&new, LockMode::Shared, WAIT, 2).unwrap());
        assert_eq!(user(&lease), "A");
        assert_eq!(mock.map.lock().unwrap().len(), 1);
    }

    #[test]
    fn failures_and_bad_blobs_are_errors_not_panics() {
        let (mock, s) = store();
        let id = stored(&s, "A", 60_000);
        mock.down.store(true, Ordering::SeqCst);
        for mode in [LockMode::Exclusive, LockMode::Shared] {
            assert_eq!(
                s.get(&id, mode, WAIT, 1).err().unwrap().code(),
                error::E_STORE_UNAVAILABLE
            );
        }
        let mut lease = s.prepare(SessionId::generate().unwrap(), data("x"), 0);
        assert_eq!(
            s.insert(&mut lease, 0, 1, 10).unwrap_err().code(),
            error::E_STORE_UNAVAILABLE
        );
        // Counting and claiming expired sessions say so too.
        let mut out = Vec::new();
        assert_eq!(
            s.take_expired(u64::MAX, &mut out).unwrap_err().code(),
            error::E_STORE_UNAVAILABLE
        );
        assert!(out.is_empty());
        assert_eq!(s.count().unwrap_err().code(), error::E_STORE_UNAVAILABLE);
        mock.down.store(false, Ordering::SeqCst);

        // Damaged blobs: every truncation, noise, another session's data.
        let key = store_key(&id);
        let good = mock.map.lock().unwrap()[&key].blob.clone();
        let mut bad: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
        bad.push(vec![0xC1; 40]);
        let other = SessionId::generate().unwrap();
        bad.push(encode(&other, &data("x"), 0, None).unwrap());
        for blob in bad {
            mock.map.lock().unwrap().get_mut(&key).unwrap().blob = blob;
            let e = s.get(&id, LockMode::Exclusive, WAIT, 1).err().unwrap();
            assert_eq!(e.code(), error::E_STORE_UNAVAILABLE, "{e:?}");
            assert_eq!(mock.map.lock().unwrap()[&key].token, 0, "lock given back");
        }
        // A blob over the application's limit is refused as it is written.
        let mut big = BlobBuf::new(4);
        assert_eq!(
            big.write(&[0; 5]).unwrap_err().code(),
            error::E_VALUE_TOO_LARGE
        );
    }

    /// A provider without `rename` moves a session in two steps, holding
    /// it under both keys for a moment: another request's new session,
    /// refused meanwhile by a store one short of `max_sessions`, is asked
    /// again once the move is done, and stored.
    #[test]
    fn a_move_in_two_steps_takes_no_other_sessions_place() {
        let mock = Arc::new(Mock {
            between: Some(std::sync::Barrier::new(2)),
            ..Mock::default()
        });
        let s = CustomStore::new(mock.clone(), LIMITS);
        let old = stored(&s, "A", 60_000);
        let mut lease = found(s.get(&old, LockMode::Exclusive, WAIT, 1).unwrap());
        let between = mock.between.as_ref().unwrap();
        let inserted = std::thread::scope(|sc| {
            let creating = sc.spawn(|| {
                between.wait(); // the session is under both keys now
                let mut new = s.prepare(SessionId::generate().unwrap(), data("B"), 1);
                s.insert(&mut new, 1, 60_000, 2)
            });
            let fresh = SessionId::generate().unwrap();
            assert!(s.regenerate(&mut lease, fresh, 60_000).unwrap());
            creating.join().unwrap()
        });
        assert!(inserted.unwrap(), "refused though the store held one");
        assert_eq!(s.count().unwrap(), 2);
    }

    /// The largest blob a provider may hand back is what a session of the
    /// application can take written, bounded by `max_session_bytes` (not
    /// `max_items` full-size values: about 2 GB by default), and every
    /// session the limits let a unit of work build fits it, even one of
    /// the values whose written form is largest for the bytes they count.
    #[test]
    fn the_largest_blob_follows_the_session_limit() {
        use crate::variant::SafeArray;
        let limits = Limits {
            max_timeout_minutes: 525_600,
            max_items: 1024,
            max_value_bytes: 1 << 20,
            max_key_bytes: 255,
            max_session_bytes: 4 << 20,
        };
        let s = CustomStore::new(Arc::new(Mock::default()), limits)
            .with_id_secret(&[7; 16])
            .unwrap();
        assert!(
            s.max_blob() <= 3 * limits.max_session_bytes,
            "{}",
            s.max_blob()
        );
        let mut big = BlobBuf::new(s.max_blob());
        let e = big.write(&vec![0; s.max_blob() + 1]).unwrap_err();
        assert_eq!(e.code(), error::E_VALUE_TOO_LARGE);
        let arrays = |v: Variant| {
            let n = limits.max_value_bytes / 8;
            Variant::Array(Box::new(SafeArray::from(vec![v; n])))
        };
        let empty = Variant::Array(Box::new(SafeArray::from(vec![])));
        let fillers = [
            Variant::bstr(""),
            Variant::Empty,
            Variant::Bool(5000),
            Variant::Date(0.5),
            empty.clone(),
            arrays(Variant::bstr("12345678")),
            arrays(Variant::Bool(5000)),
            arrays(Variant::Date(0.5)),
            arrays(empty),
        ];
        let id = SessionId::generate().unwrap();
        for filler in fillers {
            let mut d = SessionData::new(20, 1033, 65001);
            for i in 0..limits.max_items {
                let key = format!("{i}");
                if d.set_value(&key, filler.clone(), &limits, &mut Journal::default())
                    .is_err()
                {
                    break;
                }
            }
            let blob = s.encode(&KeyHash::of(&id), &id, &d, u64::MAX).unwrap();
            assert!(
                blob.len() <= s.max_blob(),
                "{} > {}",
                blob.len(),
                s.max_blob()
            );
            s.decode(&blob, None).unwrap();
        }
    }

    #[test]
    fn max_sessions_reaches_the_provider() {
        let (_, s) = store();
        stored(&s, "A", 60_000);
        let mut lease = s.prepare(SessionId::generate().unwrap(), data("B"), 0);
        assert_eq!(
            s.insert(&mut lease, 0, 60_000, 1).unwrap_err().code(),
            error::E_TOO_MANY_SESSIONS
        );
    }
}
