//! Single-byte code pages that `encoding_rs` (the WHATWG set) does not
//! serve as Windows defines them: ISO 8859-1 and -9 (WHATWG maps their
//! labels to windows-1252 and windows-1254, whose 0x80–0x9F differ), US-ASCII,
//! and the OEM (DOS) code pages, from the `oem_cp` crate's tables.

use oem_cp::code_table::{DECODING_TABLE_CP_MAP, ENCODING_TABLE_CP_MAP};
use oem_cp::code_table_type::TableType;
use oem_cp::OEMCPHashMap;

/// How a code page's bytes map to characters.
enum Table {
    /// ISO 8859-1 (byte N is U+00N), with the listed bytes replaced.
    Latin1(&'static [(u8, char)]),
    /// US-ASCII: bytes 0x00–0x7F only.
    Ascii,
    /// An OEM code page: ASCII below 0x80, `oem_cp`'s tables above.
    Oem(&'static TableType, &'static OEMCPHashMap<char, u8>),
}

/// A single-byte code page: its `charset` name and its table.
pub(super) struct SingleByte {
    /// The name Windows gives the code page for `Content-Type`
    /// (`Encoding.WebName`).
    pub charset: &'static str,
    table: Table,
}

/// ISO 8859-9 (Latin-5, Turkish): ISO 8859-1 with six Turkish letters.
const ISO_8859_9: &[(u8, char)] = &[
    (0xD0, 'Ğ'),
    (0xDD, 'İ'),
    (0xDE, 'Ş'),
    (0xF0, 'ğ'),
    (0xFD, 'ı'),
    (0xFE, 'ş'),
];

/// The OEM code pages served, with Windows' charset names.
pub(super) const OEM_CODE_PAGES: &[(u16, &str)] = &[
    (437, "IBM437"),
    (720, "DOS-720"),
    (737, "ibm737"),
    (775, "ibm775"),
    (850, "ibm850"),
    (852, "ibm852"),
    (855, "IBM855"),
    (857, "ibm857"),
    (858, "IBM00858"),
    (860, "IBM860"),
    (861, "ibm861"),
    (862, "DOS-862"),
    (863, "IBM863"),
    (864, "IBM864"),
    (865, "IBM865"),
    (866, "cp866"),
    (869, "ibm869"),
];

/// The single-byte table for `cp`, if this module serves it.
pub(super) fn lookup(cp: u32) -> Option<SingleByte> {
    let (charset, table) = match cp {
        20127 => ("us-ascii", Table::Ascii),
        28591 => ("iso-8859-1", Table::Latin1(&[])),
        28599 => ("iso-8859-9", Table::Latin1(ISO_8859_9)),
        _ => {
            let &(oem, charset) = OEM_CODE_PAGES.iter().find(|&&(n, _)| u32::from(n) == cp)?;
            let table = Table::Oem(
                DECODING_TABLE_CP_MAP.get(&oem)?,
                ENCODING_TABLE_CP_MAP.get(&oem)?,
            );
            (charset, table)
        }
    };
    Some(SingleByte { charset, table })
}

impl SingleByte {
    /// The character byte `b` stands for (`None` if the code page leaves it
    /// undefined).
    pub fn decode_byte(&self, b: u8) -> Option<char> {
        match &self.table {
            Table::Latin1(changed) => Some(
                changed
                    .iter()
                    .find(|&&(byte, _)| byte == b)
                    .map_or(char::from(b), |&(_, c)| c),
            ),
            Table::Ascii | Table::Oem(..) if b < 0x80 => Some(char::from(b)),
            Table::Ascii => None,
            Table::Oem(decode, _) => decode.decode_char_checked(b),
        }
    }

    /// The byte for `c` (`None` if the code page cannot hold it).
    pub fn encode_char(&self, c: char) -> Option<u8> {
        match &self.table {
            Table::Latin1(changed) => match changed.iter().find(|&&(_, ch)| ch == c) {
                Some(&(byte, _)) => Some(byte),
                None => u8::try_from(c)
                    .ok()
                    .filter(|b| changed.iter().all(|&(byte, _)| byte != *b)),
            },
            Table::Ascii => u8::try_from(c).ok().filter(u8::is_ascii),
            Table::Oem(_, encode) => oem_cp::encode_char_checked(c, encode),
        }
    }

    /// `bytes` as UTF-8; undefined bytes become U+FFFD.
    pub fn decode(&self, bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|&b| self.decode_byte(b).unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes and characters as Windows' tables (and the Unicode
    /// consortium's mapping files) give them.
    #[test]
    fn windows_tables_in_both_directions() {
        for (cp, byte, ch) in [
            (28591, 0x80, '\u{80}'),
            (28591, 0xE9, 'é'),
            (28591, 0xFF, 'ÿ'),
            (28599, 0xDD, 'İ'),
            (28599, 0xFD, 'ı'),
            (28599, 0xE9, 'é'),
            (20127, 0x41, 'A'),
            (437, 0x82, 'é'),
            (437, 0xE3, 'π'),
            (437, 0xDB, '█'),
            (437, 0xB3, '│'),
            (850, 0x82, 'é'),
            (850, 0x9D, 'Ø'),
            (850, 0xD5, 'ı'),
            (858, 0xD5, '€'),
            (852, 0xA5, 'ą'),
            (866, 0x80, 'А'),
            (866, 0xF0, 'Ё'),
            (737, 0x80, 'Α'),
            (862, 0x80, 'א'),
        ] {
            let t = lookup(cp).unwrap();
            assert_eq!(t.decode_byte(byte), Some(ch), "cp {cp} byte {byte:#x}");
            assert_eq!(t.encode_char(ch), Some(byte), "cp {cp} {ch:?}");
        }
    }

    #[test]
    fn what_each_code_page_cannot_hold() {
        for (cp, ch) in [
            (28591, '€'),
            (28591, 'Ğ'),
            (28599, 'Ð'), // 0xD0 is Ğ in Latin-5
            (28599, '€'),
            (20127, 'é'),
            (437, '€'),
            (850, '€'),
            (866, 'é'),
        ] {
            assert_eq!(lookup(cp).unwrap().encode_char(ch), None, "cp {cp} {ch:?}");
        }
        assert_eq!(lookup(20127).unwrap().decode(b"a\x80"), "a\u{FFFD}");
        assert!(lookup(1252).is_none() && lookup(874).is_none());
    }
}
