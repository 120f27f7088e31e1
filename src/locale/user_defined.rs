//! What Windows' code pages map that `encoding_rs` does not map the same
//! way, as Microsoft's code page data files have it (Wine's
//! `libs/port/c_874.c` … `c_1257.c` are generated from them):
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
//!   U+F8F7), 950's 0x80 and 0xFF (U+0080, U+F8F8); and the bytes the
//!   single-byte 874, 1253, 1255 and 1257 leave undefined (private use
//!   characters from U+F88D to U+F8FD), which WHATWG's tables lack.
//! - 936's pairs that GB18030 (`encoding_rs`'s GBK) gave characters which
//!   GBK had as private use ones: 0xA2E3, 0xA3A0, 0xA6D9–A6DF, 0xA6EC–A6ED,
//!   0xA6F3, 0xA8BC, 0xA8BF, 0xA989–A995 and 0xFE50–FEA0 are private use
//!   characters in Windows' 936; and GB18030's four-byte sequences, which
//!   936 does not have (a lead byte and a digit are a pair it leaves
//!   undefined).

use std::iter;
use std::ops::RangeInclusive;

use smallvec::SmallVec;

/// A code page's characters that `encoding_rs` lacks.
pub(super) struct UserDefined {
    /// Single bytes and the characters they stand for.
    singles: &'static [(u8, char)],
    /// The pairs mapped to private use characters: the user-defined areas
    /// (and 936's pairs where GB18030 has other characters).
    blocks: &'static [Block],
    /// Set where `encoding_rs` reads the user-defined pairs as other
    /// characters: the length of the code page's sequence at the start of
    /// the bytes given, so that those pairs can be found first.
    shadowed_by: Option<fn(&[u8]) -> usize>,
    /// Trail bytes that make a pair the code page leaves undefined where
    /// `encoding_rs` reads them as the start of a longer sequence (936:
    /// GB18030's four-byte sequences): read as one U+FFFD, as Windows reads
    /// such a pair as one default character.
    undefined_trails: Option<RangeInclusive<u8>>,
}

/// Lead bytes that share their trail bytes: each lead with each trail,
/// lead by lead, from private use character `first` on.
struct Block {
    /// The character of the first lead with the first trail.
    first: u32,
    /// The lead bytes, in order.
    leads: RangeInclusive<u8>,
    /// The trail bytes, in order.
    trails: &'static [RangeInclusive<u8>],
}

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
        first: 0xE000,
        leads: 0xF0..=0xF9,
        trails: &[0x40..=0x7E, 0x80..=0xFC],
    }],
    shadowed_by: None,
    undefined_trails: None,
};

/// GBK (936): one single byte, and the private use characters at pairs
/// GB18030 gave other characters (its user-defined areas are left to
/// `encoding_rs`, which maps them as Windows does).
const CP936: UserDefined = UserDefined {
    singles: &[(0xFF, '\u{F8F5}')],
    blocks: &[
        Block {
            first: 0xE76C,
            leads: 0xA2..=0xA2,
            trails: &[0xE3..=0xE3],
        },
        Block {
            first: 0xE5E5,
            leads: 0xA3..=0xA3,
            trails: &[0xA0..=0xA0],
        },
        Block {
            first: 0xE78D,
            leads: 0xA6..=0xA6,
            trails: &[0xD9..=0xDF],
        },
        Block {
            first: 0xE794,
            leads: 0xA6..=0xA6,
            trails: &[0xEC..=0xED],
        },
        Block {
            first: 0xE796,
            leads: 0xA6..=0xA6,
            trails: &[0xF3..=0xF3],
        },
        Block {
            first: 0xE7C7,
            leads: 0xA8..=0xA8,
            trails: &[0xBC..=0xBC],
        },
        Block {
            first: 0xE7C8,
            leads: 0xA8..=0xA8,
            trails: &[0xBF..=0xBF],
        },
        Block {
            first: 0xE7E7,
            leads: 0xA9..=0xA9,
            trails: &[0x89..=0x95],
        },
        Block {
            first: 0xE815,
            leads: 0xFE..=0xFE,
            trails: &[0x50..=0x7E, 0x80..=0xA0],
        },
    ],
    shadowed_by: Some(gbk_sequence_len),
    undefined_trails: Some(0x30..=0x39),
};

/// Unified Hangul Code (949): rows 0xC9 and 0xFE of KS X 1001.
const CP949: UserDefined = UserDefined {
    singles: &[(0x80, '\u{80}'), (0xFF, '\u{F8F7}')],
    blocks: &[
        Block {
            first: 0xE000,
            leads: 0xC9..=0xC9,
            trails: &[0xA1..=0xFE],
        },
        Block {
            first: 0xE05E,
            leads: 0xFE..=0xFE,
            trails: &[0xA1..=0xFE],
        },
    ],
    shadowed_by: None,
    undefined_trails: None,
};

/// Big5 (950): 0xFA40–FEFE (U+E000–U+E310), 0x8E40–A0FE (U+E311–U+EEB7),
/// 0x8140–8DFE (U+EEB8–U+F6B0), 0xC6A1–C6FE and 0xC740–C8FE
/// (U+F6B1–U+F848).
const CP950: UserDefined = UserDefined {
    singles: &[(0x80, '\u{80}'), (0xFF, '\u{F8F8}')],
    blocks: &[
        Block {
            first: 0xE000,
            leads: 0xFA..=0xFE,
            trails: BIG5_TRAILS,
        },
        Block {
            first: 0xE311,
            leads: 0x8E..=0xA0,
            trails: BIG5_TRAILS,
        },
        Block {
            first: 0xEEB8,
            leads: 0x81..=0x8D,
            trails: BIG5_TRAILS,
        },
        Block {
            first: 0xF6B1,
            leads: 0xC6..=0xC6,
            trails: &[0xA1..=0xFE],
        },
        Block {
            first: 0xF70F,
            leads: 0xC7..=0xC8,
            trails: BIG5_TRAILS,
        },
    ],
    shadowed_by: Some(big5_sequence_len),
    undefined_trails: None,
};

/// A single-byte code page whose undefined bytes Windows maps to the
/// private use characters `singles` lists.
const fn undefined_bytes(singles: &'static [(u8, char)]) -> UserDefined {
    UserDefined {
        singles,
        blocks: &[],
        shadowed_by: None,
        undefined_trails: None,
    }
}

/// Thai (874): 0xDB–0xDE and 0xFC–0xFF.
const CP874: UserDefined = undefined_bytes(&[
    (0xDB, '\u{F8C1}'),
    (0xDC, '\u{F8C2}'),
    (0xDD, '\u{F8C3}'),
    (0xDE, '\u{F8C4}'),
    (0xFC, '\u{F8C5}'),
    (0xFD, '\u{F8C6}'),
    (0xFE, '\u{F8C7}'),
    (0xFF, '\u{F8C8}'),
]);

/// Greek (1253): 0xAA, 0xD2 and 0xFF.
const CP1253: UserDefined =
    undefined_bytes(&[(0xAA, '\u{F8F9}'), (0xD2, '\u{F8FA}'), (0xFF, '\u{F8FB}')]);

/// Hebrew (1255): 0xD9–0xDF, 0xFB, 0xFC and 0xFF.
const CP1255: UserDefined = undefined_bytes(&[
    (0xD9, '\u{F88D}'),
    (0xDA, '\u{F88E}'),
    (0xDB, '\u{F88F}'),
    (0xDC, '\u{F890}'),
    (0xDD, '\u{F891}'),
    (0xDE, '\u{F892}'),
    (0xDF, '\u{F893}'),
    (0xFB, '\u{F894}'),
    (0xFC, '\u{F895}'),
    (0xFF, '\u{F896}'),
]);

/// Baltic (1257): 0xA1 and 0xA5.
const CP1257: UserDefined = undefined_bytes(&[(0xA1, '\u{F8FC}'), (0xA5, '\u{F8FD}')]);

/// The characters code page `cp` has beyond `encoding_rs`'s, if any.
pub(super) fn lookup(cp: u32) -> Option<&'static UserDefined> {
    match cp {
        874 => Some(&CP874),
        932 => Some(&CP932),
        936 => Some(&CP936),
        949 => Some(&CP949),
        950 => Some(&CP950),
        1253 => Some(&CP1253),
        1255 => Some(&CP1255),
        1257 => Some(&CP1257),
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

/// The length of the GBK sequence at the start of `bytes` as Windows' 936
/// delimits it: a lead byte takes the next byte if that is a trail byte or
/// a digit (which starts a four-byte sequence to `encoding_rs`, and makes
/// a pair 936 leaves undefined).
fn gbk_sequence_len(bytes: &[u8]) -> usize {
    match bytes {
        [0x81..=0xFE, 0x30..=0x39 | 0x40..=0x7E | 0x80..=0xFE, ..] => 2,
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
        self.blocks.iter().find_map(|block| {
            let index = u32::from(c).checked_sub(block.first)?;
            (index < block.len())
                .then(|| block.bytes(index).map(SmallVec::from_buf))
                .flatten()
        })
    }

    /// The character single byte `b` stands for, if it is one of these.
    pub fn decode_single(&self, b: u8) -> Option<char> {
        self.singles.iter().find(|&&(s, _)| s == b).map(|&(_, c)| c)
    }

    /// The character bytes `lead`, `trail` stand for, if user-defined.
    pub fn decode_pair(&self, lead: u8, trail: u8) -> Option<char> {
        self.blocks.iter().find_map(|block| {
            let index = block.index(lead, trail)?;
            char::from_u32(block.first + index)
        })
    }

    /// The user-defined pairs in `bytes` that `encoding_rs` reads as other
    /// characters, as (offset, private use character), in order, and the
    /// pairs with [`undefined_trails`](Self::undefined_trails) as (offset,
    /// U+FFFD); none for a code page where it reads none of them.
    pub fn shadowed<'a>(&'a self, bytes: &'a [u8]) -> impl Iterator<Item = (usize, char)> + 'a {
        let mut at = 0;
        iter::from_fn(move || {
            let sequence_len = self.shadowed_by?;
            while at < bytes.len() {
                let start = at;
                let len = sequence_len(&bytes[start..]);
                at += len;
                if let &[lead, trail] = &bytes[start..at] {
                    let undefined = self
                        .undefined_trails
                        .as_ref()
                        .filter(|t| t.contains(&trail));
                    let c = undefined.map_or_else(
                        || self.decode_pair(lead, trail),
                        |_| Some(char::REPLACEMENT_CHARACTER),
                    );
                    if let Some(c) = c {
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
        for (cp, first, count) in [
            (932, 0xE000, 1880),
            (949, 0xE000, 188),
            (950, 0xE000, 6217),
            // 936's from 0xA2E3 (U+E76C) to 0xFEA0 (U+E864), where
            // GB18030 has other characters or none.
            (936, 0xE815, 80),
            (936, 0xE7E7, 13),
            (936, 0xE78D, 10),
            (936, 0xE7C7, 2),
            (936, 0xE76C, 1),
            (936, 0xE5E5, 1),
        ] {
            let area = lookup(cp).unwrap();
            for n in 0..count {
                let c = char::from_u32(first + n).unwrap();
                let bytes = area.encode(c).unwrap_or_else(|| panic!("cp {cp} {c:?}"));
                let &[lead, trail] = bytes.as_slice() else {
                    panic!("cp {cp} {c:?}: {bytes:02X?}")
                };
                assert_eq!(area.decode_pair(lead, trail), Some(c), "cp {cp}");
            }
            let past = char::from_u32(first + count).unwrap();
            assert_eq!(area.encode(past), None, "cp {cp}");
            assert_eq!(area.encode('a'), None, "cp {cp}");
        }
        assert_eq!(lookup(932).unwrap().decode_pair(0xF0, 0x7F), None);
        assert_eq!(lookup(949).unwrap().decode_pair(0xC8, 0xA1), None);
        assert_eq!(lookup(950).unwrap().decode_pair(0xC6, 0x7E), None);
        assert_eq!(lookup(950).unwrap().decode_pair(0xF9, 0xFE), None);
        assert_eq!(lookup(936).unwrap().decode_pair(0xFE, 0x7F), None);
        assert_eq!(lookup(936).unwrap().decode_pair(0xA6, 0xE0), None);
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
        // 936: GB18030's 0xA6D9 (U+FE10) is U+E78D; a lead byte and a
        // digit are one undefined pair, a four-byte sequence two.
        let found: Vec<_> = lookup(936)
            .unwrap()
            .shadowed(b"\xA6\xD9a\x81\x30\x81\x30\xB0\xA1")
            .collect();
        assert_eq!(found, [(0, '\u{E78D}'), (3, '\u{FFFD}'), (5, '\u{FFFD}')]);
    }
}
