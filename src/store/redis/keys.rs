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

use crate::error::{self, Error, Result};
use crate::state::SessionId;
use crate::store::remote::KeyHash;

/// Number of expiry buckets (one hash tag each).
pub(super) const BUCKETS: usize = 256;

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
    }

    #[test]
    fn fresh_ids_stay_in_their_bucket() {
        for b in [0, 7, 255] {
            assert_eq!(KeyHash::of(&fresh_id_in_bucket(b).unwrap()).bucket(), b);
        }
    }
}
