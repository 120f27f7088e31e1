//! The core shared by the stores that keep sessions outside this process
//! (Redis, custom, LMDB): the key hash a session is stored under (never
//! its ID), the ID masked for Session_OnEnd under an `id_secret`, the
//! stand-in ID of a swept session, the wait for a lock held elsewhere, and
//! the process a lease's lock belongs to.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::LockWaits;
use crate::error::{self, Error, Result};
use crate::state::SessionId;

/// The process a lease of a shared store was taken in (its fork
/// generation): a child made by `fork()` holds a copy of its parent's lock
/// token, which must neither save over nor free the parent's lock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner(u32);

impl Owner {
    /// This process.
    pub(crate) fn here() -> Owner {
        Owner(crate::fork::generation())
    }

    /// Whether this process took the lease (not a child forked since).
    pub(crate) fn is_here(self) -> bool {
        self.0 == crate::fork::generation()
    }

    /// `Ok` in the process that took the lease; in a child forked since,
    /// `E_STORE_UNAVAILABLE`.
    pub(crate) fn check(self) -> Result<()> {
        if self.is_here() {
            return Ok(());
        }
        Err(Error::new(
            error::E_STORE_UNAVAILABLE,
            "the session was opened before this process forked: its lock and \
             its save are the parent's, and nothing was written (open it \
             anew in the child)",
        ))
    }
}

/// The key hash of a session: the first 16 bytes of SHA-256 of its ID's 16
/// raw bytes. Stores key sessions by it, so a listing of a store's keys
/// reveals no usable cookie.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KeyHash([u8; 16]);

impl KeyHash {
    /// The hash of `id`.
    pub fn of(id: &SessionId) -> KeyHash {
        let digest = Sha256::digest(id.as_bytes());
        let mut h = [0u8; 16];
        h.copy_from_slice(&digest[..16]);
        KeyHash(h)
    }

    /// A hash from its 16 bytes (as a store read them back).
    pub fn from_bytes(bytes: [u8; 16]) -> KeyHash {
        KeyHash(bytes)
    }

    /// Its 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses the 32 hex digits of a hash.
    pub fn parse(hex: &[u8]) -> Option<KeyHash> {
        if hex.len() != 32 {
            return None;
        }
        let mut h = [0u8; 16];
        for (i, pair) in hex.chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16);
            h[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Some(KeyHash(h))
    }

    /// Its bucket, 0..256 (its first byte).
    pub fn bucket(&self) -> usize {
        self.0[0] as usize
    }

    /// Its 32 lowercase hex digits.
    pub fn hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push(DIGITS[(b >> 4) as usize] as char);
            s.push(DIGITS[(b & 15) as usize] as char);
        }
        s
    }

    /// A stand-in session ID made of the hash itself: what Session_OnEnd of
    /// a swept session shows when no `id_secret` lets the store keep the ID.
    /// Its SHA-256 is not this hash, so it never opens the session.
    pub fn stand_in_id(&self) -> Result<SessionId> {
        id_from_bytes(self.0)
    }
}

/// `id` if its key hash passes `fits`, else a fresh ID whose hash does
/// (drawn at random; `fits` should pass one hash in a few hundred at
/// most): a regenerated session's new ID, kept where its store can move
/// the session in one step (`place` names that for the error).
pub fn id_that_fits(
    id: SessionId,
    fits: impl Fn(&KeyHash) -> bool,
    place: &str,
) -> Result<SessionId> {
    if fits(&KeyHash::of(&id)) {
        return Ok(id);
    }
    for _ in 0..20_000 {
        let id = SessionId::generate()?;
        if fits(&KeyHash::of(&id)) {
            return Ok(id);
        }
    }
    Err(Error::new(
        error::E_FAIL,
        format!("could not draw a session ID for {place}"),
    ))
}

/// The session ID whose raw bytes are `bytes`.
fn id_from_bytes(bytes: [u8; 16]) -> Result<SessionId> {
    SessionId::parse(&URL_SAFE_NO_PAD.encode(bytes))
}

/// Masks (and unmasks: XOR) a session ID for storage under a secret shared
/// by every process using the store: the keystream is
/// HMAC-SHA-256(secret, "sess-id-mask" ‖ H), unique per session because H is.
pub fn mask_id(secret: &[u8], h: &KeyHash, bytes: &[u8; 16]) -> Result<[u8; 16]> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .map_err(|_| Error::new(error::E_INVALID_OPTION, "id_secret is unusable"))?;
    mac.update(b"sess-id-mask");
    mac.update(&h.0);
    let stream = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = bytes[i] ^ stream[i];
    }
    Ok(out)
}

/// The session ID from its masked form, if it belongs to `h` (a wrong
/// secret or a damaged field gives `None`).
pub fn unmask_id(secret: &[u8], h: &KeyHash, masked: &[u8]) -> Option<SessionId> {
    let masked: &[u8; 16] = masked.try_into().ok()?;
    let id = id_from_bytes(mask_id(secret, h, masked).ok()?).ok()?;
    (KeyHash::of(&id) == *h).then_some(id)
}

/// First pause between two tries at a session locked elsewhere.
const PAUSE_FIRST: Duration = Duration::from_millis(1);
/// Longest pause between two tries.
const PAUSE_MAX: Duration = Duration::from_millis(20);

/// What one try at a lock found.
pub enum Attempt<T> {
    /// The try is over: the lock was taken, or there is nothing to lock.
    Done(T),
    /// Another holder has the lock: try again later.
    Locked,
}

/// Tries `attempt` until it is done, for a lock held by another process:
/// `pause`s (sleeps, or waits for a wake-up, for at most the time given)
/// 1 ms doubling to 20 ms, each jittered ±50 % so waiters spread
/// out (no spinning), and gives up with `E_LOCK_TIMEOUT` once `wait` has
/// passed; a lookup that has to wait counts once in `waits`. `attempt`
/// gets the clock time `now_ms` moved on by the time
/// waited, so a store judging stale locks by it sees time pass even under
/// a clock that stands still.
pub(crate) fn wait_for_lock<T>(
    wait: Duration,
    now_ms: u64,
    waits: &LockWaits,
    mut attempt: impl FnMut(u64) -> Result<Attempt<T>>,
    mut pause: impl FnMut(Duration),
) -> Result<T> {
    let start = Instant::now();
    let mut backoff = PAUSE_FIRST;
    let mut tries = 0u64;
    loop {
        let waited = start.elapsed();
        let now = now_ms.saturating_add(u64::try_from(waited.as_millis()).unwrap_or(u64::MAX));
        if let Attempt::Done(v) = attempt(now)? {
            return Ok(v);
        }
        let waited = start.elapsed();
        if waited >= wait {
            return Err(super::lock_timeout(wait));
        }
        if tries == 0 {
            waits.note();
        }
        tries += 1;
        pause(jittered(backoff, now ^ tries).min(wait - waited));
        backoff = (backoff * 2).min(PAUSE_MAX);
    }
}

/// MurmurHash3's 64-bit finaliser: a bijection that spreads every input
/// bit over the output (distinct inputs, distinct outputs).
pub(super) fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^ (x >> 33)
}

/// A pause of about `d` with ±50% jitter, so pollers spread out.
fn jittered(d: Duration, salt: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos() as u64);
    let x = mix64(nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let base = d.as_micros() as u64;
    Duration::from_micros(base / 2 + x % (base.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_fit_keep_the_given_one_or_draw_one_that_fits() {
        let id = SessionId::generate().unwrap();
        let same = id_that_fits(id, |_| true, "anywhere").unwrap();
        assert!(same == id);
        for b in [0, 7, 255] {
            let fits = |h: &KeyHash| h.bucket() == b;
            let drawn = id_that_fits(id, fits, "a bucket").unwrap();
            assert_eq!(KeyHash::of(&drawn).bucket(), b);
        }
        let none = id_that_fits(id, |_| false, "nowhere").unwrap_err();
        assert_eq!(none.code(), error::E_FAIL);
        assert!(none.to_string().contains("nowhere"));
    }

    #[test]
    fn hashes_parse_back_and_hide_the_id() {
        let id = SessionId::generate().unwrap();
        let h = KeyHash::of(&id);
        assert_eq!(KeyHash::parse(h.hex().as_bytes()), Some(h));
        assert!(!h.hex().contains(&id.to_string()));
        assert_eq!(KeyHash::parse(b"zz"), None);
        assert_eq!(KeyHash::parse(&[b'g'; 32]), None);
        assert_eq!(KeyHash::from_bytes(*h.as_bytes()), h);
    }

    #[test]
    fn ids_mask_and_unmask_only_with_the_secret() {
        let id = SessionId::generate().unwrap();
        let h = KeyHash::of(&id);
        let secret = b"a farm-wide secret of 32 bytes!!";
        let masked = mask_id(secret, &h, id.as_bytes()).unwrap();
        assert_ne!(&masked, id.as_bytes());
        assert!(unmask_id(secret, &h, &masked) == Some(id));
        assert!(unmask_id(b"another secret, also long enough", &h, &masked).is_none());
        assert!(unmask_id(secret, &h, &masked[..15]).is_none());
        let stand_in = h.stand_in_id().unwrap();
        assert!(KeyHash::of(&stand_in) != h);
    }

    #[test]
    fn jitter_stays_near_the_pause() {
        for salt in 0..100 {
            let j = jittered(Duration::from_millis(10), salt);
            assert!(j >= Duration::from_millis(5) && j < Duration::from_millis(15));
        }
        assert!(jittered(Duration::ZERO, 1) <= Duration::from_micros(1));
    }

    #[test]
    fn waits_back_off_and_time_out() {
        let waits = LockWaits::default();
        let mut tries = 0;
        let got = wait_for_lock(
            Duration::from_secs(5),
            100,
            &waits,
            |now| {
                tries += 1;
                assert!(now >= 100);
                Ok(if tries < 4 {
                    Attempt::Locked
                } else {
                    Attempt::Done(now)
                })
            },
            std::thread::sleep,
        )
        .unwrap();
        assert!(got >= 100 && tries == 4);
        assert_eq!(waits.get(), 1, "one lookup that waited");
        let start = Instant::now();
        let mut tries = 0;
        let e = wait_for_lock(
            Duration::from_millis(60),
            0,
            &waits,
            |_| {
                tries += 1;
                Ok(Attempt::<()>::Locked)
            },
            std::thread::sleep,
        )
        .err()
        .unwrap();
        assert_eq!(e.code(), error::E_LOCK_TIMEOUT);
        assert!(start.elapsed() >= Duration::from_millis(60));
        // Backoff: far fewer tries than a spinning waiter would make.
        assert!(tries < 30, "{tries} tries");
    }
}
