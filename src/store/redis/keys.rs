//! Redis key names. A session's keys hold a hash of its ID, never the ID
//! (the cookie value), and share a Redis Cluster hash tag with the expiry
//! index of their bucket, so one script can update both:
//!
//! - `<prefix>{<b>}:<H>:d` — the session's data (a hash);
//! - `<prefix>{<b>}:<H>:l` — its lock (a string: the owner's token);
//! - `<prefix>{<b>}:exp` — the bucket's expiry index (a sorted set, H → deadline ms);
//! - `<prefix>sweeper` — the farm-wide sweeper lease.
//!
//! H is the hex of the first 16 bytes of SHA-256(ID bytes); the bucket b is
//! H's first two hex digits, so 256 buckets spread over a cluster's slots.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::error::{self, Error, Result};
use crate::state::SessionId;

/// Number of expiry buckets (one hash tag each).
pub(super) const BUCKETS: usize = 256;

/// The key hash of a session: 16 bytes of SHA-256 of its ID.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct KeyHash([u8; 16]);

impl KeyHash {
    /// The hash of `id`.
    pub(super) fn of(id: &SessionId) -> KeyHash {
        let digest = Sha256::digest(id.as_bytes());
        let mut h = [0u8; 16];
        h.copy_from_slice(&digest[..16]);
        KeyHash(h)
    }

    /// Parses the 32 hex digits of a hash (an expiry index member).
    pub(super) fn parse(hex: &[u8]) -> Option<KeyHash> {
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

    /// Its bucket, 0..256.
    pub(super) fn bucket(&self) -> usize {
        self.0[0] as usize
    }

    /// Its 32 lowercase hex digits.
    pub(super) fn hex(&self) -> String {
        hex(&self.0)
    }

    /// A stand-in session ID made of the hash itself: what Session_OnEnd of
    /// a swept session shows when no `id_secret` lets the store keep the ID.
    /// Its SHA-256 is not this hash, so it never opens the session.
    pub(super) fn stand_in_id(&self) -> Result<SessionId> {
        SessionId::parse(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The names of one session's keys.
#[derive(Clone, Debug)]
pub(super) struct SessionKeys {
    /// The key hash, hex (an expiry index member).
    pub(super) member: String,
    /// `…:d`, the data hash.
    pub(super) data: String,
    /// `…:l`, the lock.
    pub(super) lock: String,
    /// The bucket's expiry index.
    pub(super) exp: String,
}

/// Key naming for one application.
#[derive(Clone, Debug)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    /// The keys of the session whose hash is `h`.
    pub(super) fn session(&self, h: &KeyHash) -> SessionKeys {
        let member = h.hex();
        let tagged = format!("{}{{{}}}:", self.prefix, &member[..2]);
        SessionKeys {
            data: format!("{tagged}{member}:d"),
            lock: format!("{tagged}{member}:l"),
            exp: format!("{tagged}exp"),
            member,
        }
    }

    /// The expiry index of bucket `b`.
    pub(super) fn exp(&self, b: usize) -> String {
        format!("{}{{{:02x}}}:exp", self.prefix, b & 0xFF)
    }

    /// The sweeper lease.
    pub(super) fn sweeper(&self) -> String {
        format!("{}sweeper", self.prefix)
    }
}

/// Masks (and unmasks: XOR) a session ID for storage under a farm-wide
/// secret: the keystream is HMAC-SHA-256(secret, "sess-id-mask" ‖ H), unique
/// per session because H is.
pub(super) fn mask_id(secret: &[u8], h: &KeyHash, bytes: &[u8; 16]) -> Result<[u8; 16]> {
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
pub(super) fn unmask_id(secret: &[u8], h: &KeyHash, masked: &[u8]) -> Option<SessionId> {
    let masked: &[u8; 16] = masked.try_into().ok()?;
    let bytes = mask_id(secret, h, masked).ok()?;
    let id = SessionId::parse(&URL_SAFE_NO_PAD.encode(bytes)).ok()?;
    (KeyHash::of(&id) == *h).then_some(id)
}

/// A fresh session ID whose key hash falls in `bucket` (so a regenerated
/// session stays in its Redis Cluster slot): about 256 draws.
pub(super) fn fresh_id_in_bucket(bucket: usize) -> Result<SessionId> {
    for _ in 0..20_000 {
        let id = SessionId::generate()?;
        if KeyHash::of(&id).bucket() == bucket {
            return Ok(id);
        }
    }
    Err(Error::new(
        error::E_FAIL,
        "could not draw a session ID for the same Redis slot",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_a_tag_and_hide_the_id() {
        let id = SessionId::generate().unwrap();
        let h = KeyHash::of(&id);
        let k = Keys::new("sess:app:").session(&h);
        let tag = format!("{{{}}}", &h.hex()[..2]);
        for key in [&k.data, &k.lock, &k.exp] {
            assert!(key.starts_with("sess:app:"));
            assert!(key.contains(&tag));
            assert!(!key.contains(&id.to_string()));
        }
        assert_eq!(k.exp, Keys::new("sess:app:").exp(h.bucket()));
        assert_eq!(KeyHash::parse(h.hex().as_bytes()), Some(h));
        assert_eq!(KeyHash::parse(b"zz"), None);
        assert_eq!(KeyHash::parse(&[b'g'; 32]), None);
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
    fn fresh_ids_stay_in_their_bucket() {
        for b in [0, 7, 255] {
            assert_eq!(KeyHash::of(&fresh_id_in_bucket(b).unwrap()).bucket(), b);
        }
    }
}
