//! Code pages as Windows defines them (`MultiByteToWideChar` /
//! `WideCharToMultiByte` tables, the names of `Encoding.WebName`): bytes to
//! text and text to bytes per code page, and the `&#N;` / `?` rule for what
//! a code page cannot hold.

use sess::error;
use sess::locale::encoding::{charset, decode, encode, Unmappable};

/// (code page, bytes, text): each direction gives the other.
const TABLE: &[(u32, &[u8], &str)] = &[
    // ISO 8859-1 is byte N = U+00N, C1 controls included (not windows-1252).
    (28591, b"caf\xE9 \xA9\xFF", "café ©ÿ"),
    (28591, b"\x80\x9F", "\u{80}\u{9F}"),
    (1252, b"\x80\x9F", "€Ÿ"),
    // ISO 8859-9 (Latin-5): Latin-1 with the Turkish letters.
    (28599, b"\xDDstanbul \xFE\xF0", "İstanbul şğ"),
    (28599, b"\x80", "\u{80}"),
    (1254, b"\x80", "€"),
    (20127, b"ASCII ~", "ASCII ~"),
    // OEM code pages.
    (437, b"\x82\xE3\xB3\xDB\x9C", "éπ│█£"),
    (850, b"\x82\x9D\xD5\xB5", "éØıÁ"),
    (858, b"\xD5", "€"),
    (852, b"\xA5\x9F", "ąč"),
    (866, b"\x8F\xE0\xA8\xA2\xA5\xE2", "Привет"),
    (737, b"\x80\x97", "ΑΩ"),
    (862, b"\x80\x9A", "את"),
    (855, b"\xA0", "а"),
    // Shift_JIS's user-defined characters (lead bytes 0xF0–0xF9) are
    // Windows 932's private use U+E000–U+E757, both ways.
    (
        932,
        b"\xF0\x40\xF0\x7E\xF0\x80\xF9\xFC",
        "\u{E000}\u{E03E}\u{E03F}\u{E757}",
    ),
    // Windows 949's: 0xC9A1–C9FE and 0xFEA1–FEFE are U+E000–U+E0BB.
    (
        949,
        b"\xC9\xA1\xC9\xFE\xFE\xA1\xFE\xFE",
        "\u{E000}\u{E05D}\u{E05E}\u{E0BB}",
    ),
    // Windows 950's, where Big5 as browsers read it has HKSCS and ETEN
    // characters: 0xFA40–FEFE, 0x8E40–A0FE, 0x8140–8DFE, 0xC6A1–C8FE are
    // U+E000–U+F848 in that order.
    (
        950,
        b"\xFA\x40\xFE\xFE\x8E\x40\xA0\xFE\x81\x40\x8D\xFE\xC6\xA1\xC6\xFE\xC7\x40\xC8\xFE",
        "\u{E000}\u{E310}\u{E311}\u{EEB7}\u{EEB8}\u{F6B0}\u{F6B1}\u{F70E}\u{F70F}\u{F848}",
    ),
    (950, b"\xA4\xA4\xFA\x40\xA4\xA4", "中\u{E000}中"),
    // Big5 characters next to the user-defined ones stay themselves: 0xC67E
    // and 0xF9D6 (碁) are not user-defined.
    (950, b"\xC6\x7E\xF9\xD6\xFA\x41", "\u{7C72}碁\u{E001}"),
    // Single bytes Windows maps where Shift_JIS, GBK, EUC-KR and Big5 as
    // browsers read them have none.
    (932, b"\xA0\xFD\xFE\xFF", "\u{F8F0}\u{F8F1}\u{F8F2}\u{F8F3}"),
    (936, b"\xFF", "\u{F8F5}"),
    (949, b"a\x80\xFF", "a\u{80}\u{F8F7}"),
    (950, b"a\x80\xFF", "a\u{80}\u{F8F8}"),
    // Windows' 936 is GBK as Microsoft's 936.txt has it (Wine's
    // libs/port/c_936.c, generated from it): private use characters where
    // GB18030, which browsers read for GBK, has others (0xA2E3 €, 0xA3A0
    // U+3000, 0xA6D9 ︐, 0xA8BC ḿ, 0xA989 〾, 0xFE50 ⺁).
    (
        936,
        b"\xA2\xE3\xA3\xA0\xA6\xD9\xA6\xF3\xA8\xBC\xA8\xBF\xA9\x89\xA9\x95\xFE\x50\xFE\xA0",
        "\u{E76C}\u{E5E5}\u{E78D}\u{E796}\u{E7C7}\u{E7C8}\u{E7E7}\u{E7F3}\u{E815}\u{E864}",
    ),
    // Next to them GBK stays itself (0xA2E2 ⑩, 0xA996 〇, 0x80 €, 0xB0A1 啊).
    (936, b"\xA2\xE2\xA9\x96\x80\xB0\xA1", "⑩〇€啊"),
    // The bytes single-byte code pages leave undefined are private use
    // characters in Windows' tables (Wine's libs/port/c_874.c, c_1253.c,
    // c_1255.c, c_1257.c, generated from Microsoft's files), where the
    // WHATWG tables browsers use have none.
    (
        874,
        b"\xDB\xDE\xFC\xFF\xA1",
        "\u{F8C1}\u{F8C4}\u{F8C5}\u{F8C8}ก",
    ),
    (1253, b"\xAA\xD2\xFF\xC1", "\u{F8F9}\u{F8FA}\u{F8FB}Α"),
    (
        1255,
        b"\xD9\xDF\xFB\xFC\xFF\xE0",
        "\u{F88D}\u{F893}\u{F894}\u{F895}\u{F896}א",
    ),
    (1257, b"\xA1\xA5\xC0", "\u{F8FC}\u{F8FD}Ą"),
];

#[test]
fn bytes_and_text_both_ways() {
    for &(cp, bytes, text) in TABLE {
        assert_eq!(decode(cp, bytes).unwrap(), text, "decode cp {cp}");
        assert_eq!(
            encode(cp, text, Unmappable::HtmlReference).unwrap(),
            bytes,
            "encode cp {cp}"
        );
    }
}

#[test]
fn unmappable_characters_follow_the_same_rule() {
    for (cp, text, html, question) in [
        (28591, "1 €", "1 &#8364;", "1 ?"),
        (28599, "Ð€", "&#208;&#8364;", "??"),
        (20127, "café", "caf&#233;", "caf?"),
        (437, "¾ €", "&#190; &#8364;", "? ?"),
        (850, "€", "&#8364;", "?"),
        (866, "é", "&#233;", "?"),
        // Past 932's user-defined characters.
        (932, "\u{E758}", "&#59224;", "?"),
        (949, "\u{E0BC}", "&#57532;", "?"),
        (950, "\u{F849}", "&#63561;", "?"),
        // HKSCS and ETEN characters are not in Windows' 950: their bytes
        // are user-defined there.
        (950, "①𠕇", "&#9312;&#132423;", "??"),
        // GB18030's characters at 936's private use pairs are not 936's
        // (its 936.txt maps neither ︐ nor ḿ).
        (936, "︐ḿ", "&#65040;&#7743;", "??"),
    ] {
        assert_eq!(
            encode(cp, text, Unmappable::HtmlReference).unwrap(),
            html.as_bytes(),
            "cp {cp}"
        );
        assert_eq!(
            encode(cp, text, Unmappable::QuestionMark).unwrap(),
            question.as_bytes(),
            "cp {cp}"
        );
    }
    assert_eq!(
        encode(950, "中①中", Unmappable::HtmlReference).unwrap(),
        b"\xA4\xA4&#9312;\xA4\xA4"
    );
    // Bytes a code page leaves undefined decode to U+FFFD.
    assert_eq!(decode(20127, b"a\xE9").unwrap(), "a\u{FFFD}");
    // 936 has no four-byte sequences: Windows reads a lead byte and a
    // digit as one pair it leaves undefined (c_936.c's rows have '?' for
    // trail bytes 0x30-0x39; Wine's mbstowcs_dbcs reads a lead byte with the
    // next one), U+FFFD here; GB18030 (54936) has them.
    assert_eq!(
        decode(936, b"\x81\x30\x81\x30a\x81").unwrap(),
        "\u{FFFD}\u{FFFD}a\u{FFFD}"
    );
    assert_eq!(decode(54936, b"\x81\x30\x81\x30").unwrap(), "\u{80}");
    // Next to 949's user-defined characters, malformed bytes stay U+FFFD.
    assert_eq!(
        decode(949, b"\xC9\x41\xC9\xA1\xFE").unwrap(),
        "\u{FFFD}A\u{E000}\u{FFFD}"
    );
}

#[test]
fn charsets_are_windows_web_names() {
    for (cp, name) in [
        (28591, "iso-8859-1"),
        (28599, "iso-8859-9"),
        (20127, "us-ascii"),
        (437, "IBM437"),
        (850, "ibm850"),
        (866, "cp866"),
        (1252, "windows-1252"),
        (28592, "ISO-8859-2"),
        // Where Windows' name differs from the WHATWG one (GBK, EUC-KR).
        (936, "gb2312"),
        (949, "ks_c_5601-1987"),
    ] {
        assert_eq!(charset(cp).unwrap(), name, "cp {cp}");
    }
    for cp in [1361, 10000, 0] {
        assert_eq!(charset(cp).unwrap_err().code(), error::E_INVALID_CODEPAGE);
    }
}
