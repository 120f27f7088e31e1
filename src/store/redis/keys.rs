//! Redis key names. A session's key holds a hash of its ID, never the ID
//! (the cookie value), and shares a Redis Cluster hash tag with the expiry
//! index of its bucket, so one script can update both:
//!
//! - `<prefix>{<b>}:<H>` — the session (a hash: its items and the fields
//!   `M`, `E`, `L`, `K`, see `codec.rs`); its lock is the field `L`, so a
//!   session costs one key whatever the traffic;
//! - `<prefix>{<b>}:<H>:c:<token>` — a session just claimed for
//!   Session_OnEnd (renamed there by the claim with this token), kept for
//!   the tombstone TTL so that a claim retried after a lost reply gets it
//!   again;
//! - `<prefix>{<b>}:exp` — the bucket's expiry index (a sorted set: the 16
//!   bytes of each session's key hash → a deadline no later than its `E`);
//! - `<prefix>sweeper` — the farm-wide sweeper lease.
//!
//! H is the hex of the first 16 bytes of SHA-256(ID bytes); the bucket b is
//! H's first two hex digits, so 256 buckets spread over a cluster's slots.

use crate::store::remote::KeyHash;

/// Number of expiry buckets (one hash tag each).
pub(super) const BUCKETS: usize = 256;

/// The names of one session's keys.
#[derive(Clone, Debug)]
pub(super) struct SessionKeys {
    /// The key hash's 16 bytes (its expiry index member).
    pub(super) member: [u8; 16],
    /// The session's hash.
    pub(super) data: String,
    /// The bucket's expiry index.
    pub(super) exp: String,
}

impl SessionKeys {
    /// Where the claim with `token` moves the session (same hash slot).
    pub(super) fn claimed(&self, token: &str) -> String {
        format!("{}:c:{token}", self.data)
    }
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
        let hex = h.hex();
        SessionKeys {
            data: format!("{}{{{}}}:{hex}", self.prefix, &hex[..2]),
            exp: self.exp(h.bucket()),
            member: *h.as_bytes(),
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

/// The key hash an expiry index member names: its 16 bytes (or, from an
/// index an earlier version wrote, their 32 hex digits).
pub(super) fn member_hash(m: &[u8]) -> Option<KeyHash> {
    match <[u8; 16]>::try_from(m) {
        Ok(bytes) => Some(KeyHash::from_bytes(bytes)),
        Err(_) => KeyHash::parse(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::SessionId;

    #[test]
    fn keys_share_a_tag_and_hide_the_id() {
        let id = SessionId::generate().unwrap();
        let h = KeyHash::of(&id);
        let k = Keys::new("sess:app:").session(&h);
        let tag = format!("{{{}}}", &h.hex()[..2]);
        for key in [&k.data, &k.exp, &k.claimed("7")] {
            assert!(key.starts_with("sess:app:"));
            assert!(key.contains(&tag));
            assert!(!key.contains(&id.to_string()));
        }
        assert_eq!(k.exp, Keys::new("sess:app:").exp(h.bucket()));
        assert_eq!(member_hash(&k.member), Some(h));
        assert_eq!(member_hash(h.hex().as_bytes()), Some(h));
        assert_eq!(member_hash(b"short"), None);
    }
}
