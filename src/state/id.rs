//! Session IDs: 128 bits from the OS CSPRNG, written as 22 URL-safe characters.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{self, Error, Result};

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
    pub fn parse(text: &str) -> Result<SessionId> {
        let invalid = || Error::new(error::E_INVALID_SESSION_ID, "not a well-formed session ID");
        if text.len() != ID_LEN {
            return Err(invalid());
        }
        let mut bytes = [0u8; 16];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut bytes) {
            Ok(16) => Ok(SessionId(bytes)),
            _ => Err(invalid()),
        }
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
