//! What Windows' double-byte code pages map that `encoding_rs` does not map
//! the same way, as Microsoft's code page data files have it (Wine's
//! `libs/port/c_932.c` … `c_950.c` are generated from them):
//!
//! - the user-defined characters (EUDC): Windows maps them, in order, to
//!   the private use characters from U+E000 (the ranges of the registry's
//!   `EUDCCodeRange`). 932's (0xF040–0xF9FC) decode through `encoding_rs`
//!   but do not encode; 949's (0xC9A1–C9FE, 0xFEA1–FEFE) do neither; 950's
//!   (0xFA40–FEFE, 0x8E40–A0FE, 0x8140–8DFE, 0xC6A1–C8FE, in that order)
//!   are HKSCS and ETEN characters to `encoding_rs`'s Big5 (WHATWG's), which
//!   Windows' 950 does not have.
//! - a few single bytes `encoding_rs` rejects: 932's 0xA0 and 0xFD–0xFF
//!   (U+F8F0–U+F8F3), 936's 0xFF (U+F8F5), 949's 0x80 and 0xFF (U+0080,
//!   U+F8F7), 950's 0x80 and 0xFF (U+0080, U+F8F8).

use std::iter;
use std::ops::RangeInclusive;

use smallvec::SmallVec;

/// A code page's characters that `encoding_rs` lacks.
pub(super) struct UserDefined {
    /// Single bytes and the characters they stand for.
    singles: &'static [(u8, char)],
    /// The user-defined areas, in the order of their private use characters.
    blocks: &'static [Block],
    /// Set where `encoding_rs` reads the user-defined pairs as other
    /// characters: the length of the code page's sequence at the start of
    /// the bytes given, so that those pairs can be found first.
    shadowed_by: Option<fn(&[u8]) -> usize>,
}

/// Lead bytes that share their trail bytes: each lead with each trail,
/// lead by lead.
struct Block {
    /// The lead bytes, in order.
    leads: RangeInclusive<u8>,
    /// The trail bytes, in order.
    trails: &'static [RangeInclusive<u8>],
}

/// The first private use character.
const FIRST: u32 = 0xE000;

/// Big5's trail bytes.
const BIG5_TRAILS: &[RangeInclusive<u8>] = &[0x40..=0x7E, 0xA1..=0xFE];

/// Shift_JIS (932): 0xF0–0xF9 with Shift_JIS's 188 trail bytes.
const CP932: UserDefined = UserDefined {
    singles: &[
        (0xA0, '\u{F8F0}'),
        (0xFD, '\u{F8F1}'),
        (0xFE, '\u{F8F2}'),
        (0xFF, '\u{F8F3}'),
    ],
    blocks: &[Block {
        leads: 0xF0..=0xF9,
        trails: &[0x40..=0x7E, 0x80..=0xFC],
    }],
    shadowed_by: None,
};

/// GBK (936): one single byte (its user-defined areas are left to
/// `encoding_rs`).
const CP936: UserDefined = UserDefined {
    singles: &[(0xFF, '\u{F8F5}')],
    blocks: &[],
    shadowed_by: None,
};

/// Unified Hangul Code (949): rows 0xC9 and 0xFE of KS X 1001.
const CP949: UserDefined = UserDefined {
    singles: &[(0x80, '\u{80}'), (0xFF, '\u{F8F7}')],
    blocks: &[
        Block {
            leads: 0xC9..=0xC9,
            trails: &[0xA1..=0xFE],
        },
        Block {
            leads: 0xFE..=0xFE,
            trails: &[0xA1..=0xFE],
        },
    ],
    shadowed_by: None,
};

/// Big5 (950): 0xFA40–FEFE (U+E000–U+E310), 0x8E40–A0FE (U+E311–U+EEB7),
/// 0x8140–8DFE (U+EEB8–U+F6B0), 0xC6A1–C6FE and 0xC740–C8FE
/// (U+F6B1–U+F848).
const CP950: UserDefined = UserDefined {
    singles: &[(0x80, '\u{80}'), (0xFF, '\u{F8F8}')],
    blocks: &[
        Block {
            leads: 0xFA..=0xFE,
            trails: BIG5_TRAILS,
        },
        Block {
            leads: 0x8E..=0xA0,
            trails: BIG5_TRAILS,
        },
        Block {
            leads: 0x81..=0x8D,
            trails: BIG5_TRAILS,
        },
        Block {
            leads: 0xC6..=0xC6,
            trails: &[0xA1..=0xFE],
        },
        Block {
            leads: 0xC7..=0xC8,
            trails: BIG5_TRAILS,
        },
    ],
    shadowed_by: Some(big5_sequence_len),
};

/// The characters code page `cp` has beyond `encoding_rs`'s, if any.
pub(super) fn lookup(cp: u32) -> Option<&'static UserDefined> {
    match cp {
        932 => Some(&CP932),
        936 => Some(&CP936),
        949 => Some(&CP949),
        950 => Some(&CP950),
        _ => None,
    }
}

/// The length of the Big5 sequence at the start of `bytes` as WHATWG's
/// decoder delimits it: a lead byte takes the next byte unless that is
/// ASCII (which is read again on its own).
fn big5_sequence_len(bytes: &[u8]) -> usize {
    match bytes {
        [0x81..=0xFE, 0x40..=0x7E | 0x80..=0xFF, ..] => 2,
        _ => 1,
    }
}

impl Block {
    /// Trail bytes per lead byte.
    fn per_lead(&self) -> u32 {
        self.trails
            .iter()
            .map(|r| u32::from(r.end() - r.start()) + 1)
            .sum()
    }

    /// How many characters the block holds.
    fn len(&self) -> u32 {
        (u32::from(self.leads.end() - self.leads.start()) + 1) * self.per_lead()
    }

    /// The two bytes of the block's `index`th character (`index` below
    /// [`len`](Self::len)).
    fn bytes(&self, index: u32) -> Option<[u8; 2]> {
        let lead = u8::try_from(index / self.per_lead())
            .ok()
            .and_then(|row| self.leads.start().checked_add(row))?;
        let mut rest = index % self.per_lead();
        for r in self.trails {
            let len = u32::from(r.end() - r.start()) + 1;
            if rest < len {
                // rest < len: the sum stays within the range's bytes.
                return Some([lead, r.start() + rest as u8]);
            }
            rest -= len;
        }
        None
    }

    /// The index in the block of the character `lead`, `trail`, if it is
    /// one of the block's.
    fn index(&self, lead: u8, trail: u8) -> Option<u32> {
        if !self.leads.contains(&lead) {
            return None;
        }
        let row = u32::from(lead - self.leads.start());
        let mut column = 0;
        for r in self.trails {
            if r.contains(&trail) {
                return Some(row * self.per_lead() + column + u32::from(trail - r.start()));
            }
            column += u32::from(r.end() - r.start()) + 1;
        }
        None
    }
}

impl UserDefined {
    /// The bytes of `c`, if it is one of these characters.
    pub fn encode(&self, c: char) -> Option<SmallVec<[u8; 2]>> {
        if let Some(&(b, _)) = self.singles.iter().find(|&&(_, s)| s == c) {
            return Some(SmallVec::from_slice(&[b]));
        }
        let mut index = u32::from(c).checked_sub(FIRST)?;
        for block in self.blocks {
            if index < block.len() {
                return block.bytes(index).map(SmallVec::from_buf);
            }
            index -= block.len();
        }
        None
    }

    /// The character single byte `b` stands for, if it is one of these.
    pub fn decode_single(&self, b: u8) -> Option<char> {
        self.singles.iter().find(|&&(s, _)| s == b).map(|&(_, c)| c)
    }

    /// The character bytes `lead`, `trail` stand for, if user-defined.
    pub fn decode_pair(&self, lead: u8, trail: u8) -> Option<char> {
        let mut first = FIRST;
        for block in self.blocks {
            if let Some(index) = block.index(lead, trail) {
                return char::from_u32(first + index);
            }
            first += block.len();
        }
        None
    }

    /// The user-defined pairs in `bytes` that `encoding_rs` reads as other
    /// characters, as (offset, private use character), in order; none for
    /// a code page where it reads none of them.
    pub fn shadowed<'a>(&'a self, bytes: &'a [u8]) -> impl Iterator<Item = (usize, char)> + 'a {
        let mut at = 0;
        iter::from_fn(move || {
            let sequence_len = self.shadowed_by?;
            while at < bytes.len() {
                let start = at;
                let len = sequence_len(&bytes[start..]);
                at += len;
                if let &[lead, trail] = &bytes[start..at] {
                    if let Some(c) = self.decode_pair(lead, trail) {
                        return Some((start, c));
                    }
                }
            }
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_defined_character_round_trips() {
        for (cp, count) in [(932, 1880), (949, 188), (950, 6217)] {
            let area = lookup(cp).unwrap();
            for n in 0..count {
                let c = char::from_u32(FIRST + n).unwrap();
                let bytes = area.encode(c).unwrap_or_else(|| panic!("cp {cp} {c:?}"));
                let &[lead, trail] = bytes.as_slice() else {
                    panic!("cp {cp} {c:?}: {bytes:02X?}")
                };
                assert_eq!(area.decode_pair(lead, trail), Some(c), "cp {cp}");
            }
            let past = char::from_u32(FIRST + count).unwrap();
            assert_eq!(area.encode(past), None, "cp {cp}");
            assert_eq!(area.encode('a'), None, "cp {cp}");
        }
        assert_eq!(lookup(932).unwrap().decode_pair(0xF0, 0x7F), None);
        assert_eq!(lookup(949).unwrap().decode_pair(0xC8, 0xA1), None);
        assert_eq!(lookup(950).unwrap().decode_pair(0xC6, 0x7E), None);
        assert_eq!(lookup(950).unwrap().decode_pair(0xF9, 0xFE), None);
        assert!(lookup(1252).is_none());
    }

    #[test]
    fn single_bytes_round_trip() {
        for (cp, bytes) in [
            (932, &[0xA0, 0xFD, 0xFE, 0xFF][..]),
            (936, &[0xFF]),
            (949, &[0x80, 0xFF]),
            (950, &[0x80, 0xFF]),
        ] {
            let area = lookup(cp).unwrap();
            for &b in bytes {
                let c = area.decode_single(b).unwrap();
                assert_eq!(area.encode(c).as_deref(), Some(&[b][..]), "cp {cp}");
            }
            assert_eq!(area.decode_single(b'a'), None);
        }
    }

    #[test]
    fn shadowed_pairs_are_found_at_big5_boundaries() {
        let area = lookup(950).unwrap();
        // 中, then 0xFA40; 0xA4 takes 0xFA as its trail, and 0x40 is `@`;
        // 0x81 before a space stands alone.
        let bytes = b"\xA4\xA4\xFA\x40\xA4\xFA\x40\x81 \x81\x40";
        let found: Vec<_> = area.shadowed(bytes).collect();
        assert_eq!(found, [(2, '\u{E000}'), (9, '\u{EEB8}')]);
        assert_eq!(lookup(949).unwrap().shadowed(b"\xC9\xA1").count(), 0);
    }
}
