//! Word-at-a-time reads of the short texts a request passes (item names,
//! session IDs): loading one to eight bytes as a word with at most two
//! overlapping reads, and the ASCII check built on it.

/// The top bit of each byte of a word.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The first `min(8, len)` bytes of `b` as a little-endian word, zero above
/// them. Short texts take two overlapping reads (no byte loop, no memcpy
/// call); the bytes read twice are the same bytes, so OR-ing is exact.
#[inline]
pub(crate) fn head_word(b: &[u8]) -> u64 {
    if let Some(eight) = b.first_chunk::<8>() {
        return u64::from_le_bytes(*eight);
    }
    let n = b.len();
    if n >= 4 {
        let half = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().expect("4")));
        half(0) | half(n - 4) << ((n - 4) * 8)
    } else if n > 0 {
        // Bytes 0, n/2 and n-1 cover every byte of a 1-, 2- or 3-byte text.
        let byte = |i: usize| u64::from(b[i]) << (i * 8);
        byte(0) | byte(n / 2) | byte(n - 1)
    } else {
        0
    }
}

/// Whether `b` is ASCII: its head word, then (for longer texts) words at 8,
/// 16, … and the last eight bytes, overlapping.
#[inline]
pub(crate) fn is_ascii(b: &[u8]) -> bool {
    is_ascii_from(b, head_word(b))
}

/// [`is_ascii`] for a text whose [`head_word`] the caller already read.
#[inline]
pub(crate) fn is_ascii_from(b: &[u8], head: u64) -> bool {
    let n = b.len();
    let mut any = head;
    if n > 8 {
        let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8"));
        any |= word(n - 8);
        for i in (8..n - 8).step_by(8) {
            any |= word(i);
        }
    }
    any & HIGH == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_word_holds_exactly_the_first_bytes() {
        let text: Vec<u8> = (1..=20).collect();
        for len in 0..=text.len() {
            let b = &text[..len];
            let mut expected = [0u8; 8];
            let n = len.min(8);
            expected[..n].copy_from_slice(&b[..n]);
            assert_eq!(head_word(b), u64::from_le_bytes(expected), "{len}");
        }
    }

    #[test]
    fn the_ascii_check_sees_a_high_byte_anywhere() {
        for len in 0..40 {
            let ascii = vec![b'a'; len];
            assert!(is_ascii(&ascii), "{len}");
            for at in 0..len {
                let mut b = ascii.clone();
                b[at] = 0x80;
                assert!(!is_ascii(&b), "{len} {at}");
            }
        }
    }
}
