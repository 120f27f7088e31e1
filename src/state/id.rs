//! Session IDs: 128 bits from the OS CSPRNG, written as 22 URL-safe characters.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{self, Error, Result};

/// The value of each base64url character; [`INVALID`] for the others.
const DECODE: [u8; 256] = {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// [`DECODE`]'s mark for a byte outside the alphabet.
const INVALID: u8 = 0x80;

/// Length of a session ID's text form.
pub const ID_LEN: usize = 22;

/// A session ID: 16 random bytes. Its text form is unpadded base64url.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 16]);

impl SessionId {
    /// A fresh ID from the operating system's CSPRNG.
    pub fn generate() -> Result<SessionId> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::new(error::E_FAIL, format!("the OS random source failed: {e}")))?;
        Ok(SessionId(bytes))
    }

    /// Parses the text form; anything but exactly 22 canonical base64url
    /// characters is `E_INVALID_SESSION_ID` (checked before any store lookup).
    ///
    /// Decoded by a table lookup per character (every request parses its
    /// ID, and the general base64 engine costs as much as the store lookup).
    pub fn parse(text: &str) -> Result<SessionId> {
        let invalid = || Error::new(error::E_INVALID_SESSION_ID, "not a well-formed session ID");
        let text: &[u8; ID_LEN] = text.as_bytes().try_into().map_err(|_| invalid())?;
        let mut bad = 0u8;
        let mut value = |c: u8| {
            let v = DECODE[usize::from(c)];
            bad |= v;
            u32::from(v & 0x3F)
        };
        // Four characters carry three bytes: 20 of them the first 15; the
        // last two carry the 16th byte, and the last one's low 4 bits must
        // be zero (the canonical form).
        let mut bytes = [0u8; 16];
        for (four, three) in text.chunks_exact(4).zip(bytes.chunks_exact_mut(3)) {
            let n = four.iter().fold(0, |n, &c| n << 6 | value(c));
            three.copy_from_slice(&n.to_be_bytes()[1..]);
        }
        let (a, b) = (value(text[20]), value(text[21]));
        if bad & INVALID != 0 || b & 0x0F != 0 {
            return Err(invalid());
        }
        bytes[15] = (a << 2 | b >> 4) as u8;
        Ok(SessionId(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The text form, written into a stack buffer.
    pub fn encode(&self) -> IdText {
        let mut buf = [0u8; ID_LEN];
        let n = URL_SAFE_NO_PAD
            .encode_slice(self.0, &mut buf)
            .expect("16 bytes always encode to 22 characters");
        debug_assert_eq!(n, ID_LEN);
        IdText(buf)
    }
}

/// A session ID's text, without allocation.
#[derive(Clone, Copy)]
pub struct IdText([u8; ID_LEN]);

impl IdText {
    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("base64url is ASCII")
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode().as_str())
    }
}

impl fmt::Debug for SessionId {
    /// Never prints the ID itself: IDs are credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_parse_round_trip() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), ID_LEN);
        assert!(text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(SessionId::parse(&text).unwrap(), a);
    }

    /// The table decoder agrees with the base64 engine on every ID it is
    /// given and on every one-character change of them.
    #[test]
    fn parse_agrees_with_the_base64_engine() {
        let engine = |t: &str| {
            let mut b = [0u8; 16];
            match (t.len(), URL_SAFE_NO_PAD.decode_slice(t, &mut b)) {
                (ID_LEN, Ok(16)) => Some(b),
                _ => None,
            }
        };
        for _ in 0..64 {
            let text = SessionId::generate().unwrap().to_string();
            for at in 0..ID_LEN {
                for c in (0..=255u8).filter(u8::is_ascii) {
                    let mut t = text.clone().into_bytes();
                    t[at] = c;
                    let t = String::from_utf8(t).unwrap();
                    assert_eq!(
                        SessionId::parse(&t).ok().map(|id| id.0),
                        engine(&t),
                        "{t:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn malformed_ids_are_rejected() {
        let good = SessionId::generate().unwrap().to_string();
        let mut noncanonical = good.clone();
        noncanonical.replace_range(21.., "B"); // low bits of the last char must be zero
        for bad in [
            "",
            "short",
            &format!("{good}x"),
            &good.replace(|_: char| true, "é"),
            "../../../../../etc/pass",
            "aaaaaaaaaaaaaaaaaaaa;a",
            "aaaaaaaaaaaaaaaaaaaa\0a",
            "aaaaaaaaaaaaaaaaaaaa+a",
            &noncanonical,
        ] {
            assert_eq!(
                SessionId::parse(bad).unwrap_err().code(),
                error::E_INVALID_SESSION_ID,
                "{bad:?}"
            );
        }
    }
}
