//! Session IDs: 128 bits from the OS CSPRNG, written as 22 URL-safe characters.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{self, Error, Result};

/// The base64url alphabet, in the order of the values.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The value of each base64url character; [`INVALID`] for the others.
const DECODE: [u8; 256] = {
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
    /// Decoded without the general base64 engine (every request parses its
    /// ID, and the engine costs as much as the store lookup): the first 16
    /// characters in one SSE2 vector on x86_64 (by table elsewhere), the
    /// last 6 by table.
    pub fn parse(text: &str) -> Result<SessionId> {
        let invalid = || Error::new(error::E_INVALID_SESSION_ID, "not a well-formed session ID");
        let text: &[u8; ID_LEN] = text.as_bytes().try_into().map_err(|_| invalid())?;
        decode(text).map(SessionId).ok_or_else(invalid)
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

/// The 16 bytes of 22 canonical base64url characters, or `None`.
///
/// Four characters carry three bytes: the first 16 characters the first 12
/// bytes, the last 6 the other 4 and 4 bits that must be zero (the
/// canonical form).
#[inline(always)]
fn decode(text: &[u8; ID_LEN]) -> Option<[u8; 16]> {
    let (first, rest) = text.split_at(16);
    let head = head(first.try_into().expect("16 of 22 characters"))?;
    let tail = fold_table(rest);
    if tail < 0 || tail & 0x0F != 0 {
        return None;
    }
    // Valid characters fold to 36 bits: 32 are left.
    Some((head | (tail >> 4) as u128).to_be_bytes())
}

/// The bits of base64url characters (at most 10), the first character's
/// the highest, by table; negative if any is outside the alphabet.
#[inline(always)]
fn fold_table(chars: &[u8]) -> i64 {
    // [`INVALID`] as an `i8` is -128: every bit from the 7th up is set,
    // and the shifts keep the sign bit set from there on.
    chars
        .iter()
        .fold(0, |n, &c| n << 6 | i64::from(DECODE[usize::from(c)] as i8))
}

/// The 96 bits of 16 base64url characters in the top of a `u128`, by
/// table; `None` if any is outside the alphabet. The portable [`head`].
#[cfg(any(test, miri, not(target_arch = "x86_64")))]
#[inline(always)]
fn head_table(chars: &[u8; 16]) -> Option<u128> {
    let (a, b) = chars.split_at(8);
    let half = |chars| u128::try_from(fold_table(chars)).ok();
    Some(half(a)? << 80 | half(b)? << 32)
}

#[cfg(any(miri, not(target_arch = "x86_64")))]
use head_table as head;

/// [`head_sse2`], where it is compiled.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline(always)]
fn head(chars: &[u8; 16]) -> Option<u128> {
    // SAFETY: SSE2 is in every x86_64 target's baseline.
    unsafe { head_sse2(chars) }
}

/// [`head_table`] in one SSE2 vector (in every x86_64 target's baseline).
///
/// Each character is tested against the alphabet's five ranges (a byte
/// of 0x80 or more is negative, below every range) and gets its range's
/// offset to its value (none: invalid); the values are then packed
/// pairwise: 6+6 bits in 16-bit lanes, 12+12 in 32-bit lanes, 24+24 in
/// 64-bit lanes, which are then moved into place by whole bytes.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[target_feature(enable = "sse2")]
#[inline]
fn head_sse2(chars: &[u8; 16]) -> Option<u128> {
    use std::arch::x86_64::*;
    // SAFETY: `chars` is 16 readable bytes; the load is unaligned.
    let c = unsafe { _mm_loadu_si128(chars.as_ptr().cast()) };
    // `lo..lo + len` moved to the bottom of the signed range, then one
    // comparison.
    let range = |lo: u8, len: u8| {
        let x = _mm_add_epi8(c, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
        _mm_cmpgt_epi8(_mm_set1_epi8(0x80u8.wrapping_add(len) as i8), x)
    };
    let is = |ch: u8| _mm_cmpeq_epi8(c, _mm_set1_epi8(ch as i8));
    // A range's offset (never zero) in its lanes.
    let offset =
        |m: __m128i, from: u8, to: u8| _mm_and_si128(m, _mm_set1_epi8(to.wrapping_sub(from) as i8));
    let offsets = _mm_or_si128(
        _mm_or_si128(
            _mm_or_si128(
                offset(range(b'A', 26), b'A', 0),
                offset(range(b'a', 26), b'a', 26),
            ),
            _mm_or_si128(
                offset(range(b'0', 10), b'0', 52),
                offset(is(b'-'), b'-', 62),
            ),
        ),
        offset(is(b'_'), b'_', 63),
    );
    if _mm_movemask_epi8(_mm_cmpeq_epi8(offsets, _mm_setzero_si128())) != 0 {
        return None;
    }
    let v = _mm_add_epi8(c, offsets);
    let v = _mm_or_si128(
        _mm_slli_epi16(_mm_and_si128(v, _mm_set1_epi16(0xFF)), 6),
        _mm_srli_epi16(v, 8),
    );
    let v = _mm_madd_epi16(v, _mm_set1_epi32(0x0001_1000));
    let v = _mm_or_si128(
        _mm_srli_epi64(_mm_slli_epi64(v, 32), 8),
        _mm_srli_epi64(v, 32),
    );
    // The first 48 bits to bits 80..128, the others to 32..80.
    let v = _mm_or_si128(
        _mm_slli_si128::<10>(v),
        _mm_slli_si128::<4>(_mm_unpackhi_epi64(v, _mm_setzero_si128())),
    );
    let lane = |v| u128::from(_mm_cvtsi128_si64(v) as u64);
    Some(lane(_mm_unpackhi_epi64(v, v)) << 64 | lane(v))
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

    /// The decoder (with whichever [`head`] is compiled) agrees with the
    /// base64 engine on every ID it is given, on every one-character
    /// change of them, and on them with non-ASCII characters (bytes of
    /// 0x80 or more) written over some of theirs.
    #[test]
    fn parse_agrees_with_the_base64_engine() {
        let engine = |t: &str| {
            let mut b = [0u8; 16];
            match (t.len(), URL_SAFE_NO_PAD.decode_slice(t, &mut b)) {
                (ID_LEN, Ok(16)) => Some(b),
                _ => None,
            }
        };
        let check = |t: &str| {
            assert_eq!(SessionId::parse(t).ok().map(|id| id.0), engine(t), "{t:?}");
        };
        for _ in 0..64 {
            let text = SessionId::generate().unwrap().to_string();
            check(&text);
            for at in 0..ID_LEN {
                for c in (0..=127u8).map(char::from) {
                    let mut t = text.clone();
                    t.replace_range(at..=at, c.encode_utf8(&mut [0; 4]));
                    check(&t);
                }
                for c in ["\u{80}", "é", "\u{7FF}", "€", "\u{FFFF}", "𝄞"] {
                    if at + c.len() <= ID_LEN {
                        let mut t = text.clone();
                        t.replace_range(at..at + c.len(), c);
                        check(&t);
                    }
                }
            }
        }
    }

    /// The SSE2 head agrees with the table's on every byte at every place
    /// in valid heads, and on heads of random bytes drawn mostly from the
    /// alphabet.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    #[test]
    fn head_sse2_agrees_with_the_table() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let check = |chars: &[u8; 16]| assert_eq!(head(chars), head_table(chars), "{chars:?}");
        let mut valid = [0u8; 16];
        for _ in 0..256 {
            valid.fill_with(|| ALPHABET[rng.random_range(0..64)]);
            check(&valid);
            for at in 0..16 {
                for c in 0..=255 {
                    let mut chars = valid;
                    chars[at] = c;
                    check(&chars);
                }
            }
        }
        let mut chars = [0u8; 16];
        for _ in 0..100_000 {
            chars.fill_with(|| match rng.random_range(0..16) {
                0 => rng.random(),
                _ => ALPHABET[rng.random_range(0..64)],
            });
            check(&chars);
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
