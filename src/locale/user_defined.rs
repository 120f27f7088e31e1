//! The user-defined characters (EUDC) of Windows' double-byte code pages
//! that `encoding_rs` does not map as Windows does: Windows maps them, in
//! order, to the private use characters from U+E000 (the ranges of the
//! registry's `EUDCCodeRange`). 932's (0xF040–0xF9FC) decode through
//! `encoding_rs` but do not encode; 949's (0xC9A1–C9FE, 0xFEA1–FEFE) do
//! neither.

use std::ops::RangeInclusive;

/// A code page's user-defined area: each lead byte with each trail byte,
/// lead by lead.
pub(super) struct UserDefined {
    /// The lead bytes, in order.
    leads: &'static [u8],
    /// The trail bytes, in order.
    trails: &'static [RangeInclusive<u8>],
}

/// The first private use character.
const FIRST: u32 = 0xE000;

/// Shift_JIS (932): 0xF0–0xF9 with Shift_JIS's 188 trail bytes.
const CP932: UserDefined = UserDefined {
    leads: &[0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9],
    trails: &[0x40..=0x7E, 0x80..=0xFC],
};

/// Unified Hangul Code (949): rows 0xC9 and 0xFE of KS X 1001.
const CP949: UserDefined = UserDefined {
    leads: &[0xC9, 0xFE],
    trails: &[0xA1..=0xFE],
};

/// The user-defined area of code page `cp`, if this module serves it.
pub(super) fn lookup(cp: u32) -> Option<&'static UserDefined> {
    match cp {
        932 => Some(&CP932),
        949 => Some(&CP949),
        _ => None,
    }
}

impl UserDefined {
    /// Trail bytes per lead byte.
    fn per_lead(&self) -> u32 {
        self.trails
            .iter()
            .map(|r| u32::from(r.end() - r.start()) + 1)
            .sum()
    }

    /// The two bytes of user-defined character `c` (`None` for another).
    pub fn encode(&self, c: char) -> Option<[u8; 2]> {
        let index = u32::from(c).checked_sub(FIRST)?;
        let lead = *self.leads.get((index / self.per_lead()) as usize)?;
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

    /// The character bytes `lead`, `trail` stand for, if user-defined.
    pub fn decode(&self, lead: u8, trail: u8) -> Option<char> {
        let row = self.leads.iter().position(|&b| b == lead)? as u32;
        let mut column = 0;
        for r in self.trails {
            if r.contains(&trail) {
                column += u32::from(trail - r.start());
                return char::from_u32(FIRST + row * self.per_lead() + column);
            }
            column += u32::from(r.end() - r.start()) + 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_defined_character_round_trips() {
        for (cp, count) in [(932, 1880), (949, 188)] {
            let area = lookup(cp).unwrap();
            for n in 0..count {
                let c = char::from_u32(FIRST + n).unwrap();
                let [lead, trail] = area.encode(c).unwrap_or_else(|| panic!("cp {cp} {c:?}"));
                assert_eq!(area.decode(lead, trail), Some(c), "cp {cp}");
            }
            assert_eq!(area.encode(char::from_u32(FIRST + count).unwrap()), None);
            assert_eq!(area.encode('a'), None);
        }
        assert_eq!(lookup(932).unwrap().decode(0xF0, 0x7F), None);
        assert_eq!(lookup(949).unwrap().decode(0xC8, 0xA1), None);
        assert!(lookup(936).is_none());
    }
}
