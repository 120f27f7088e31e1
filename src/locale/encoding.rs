//! Text in a session's code page: encoding response bodies from UTF-8 and
//! decoding request bytes to UTF-8, through `encoding_rs` (with
//! `user_defined`'s characters where Windows' double-byte code pages map
//! bytes it does not, or maps otherwise), or the single-byte tables of
//! `single_byte` for the code pages `encoding_rs` does not serve as Windows
//! defines them.
use encoding_rs::{Encoding, UTF_8};

use super::check_codepage;
use super::single_byte::{self, SingleByte};
use super::user_defined::{self, UserDefined};
use crate::error::Result;

/// UTF-16, little-endian (Windows code page 1200).
const CP_UTF16LE: u32 = 1200;
/// UTF-16, big-endian (Windows code page 1201).
const CP_UTF16BE: u32 = 1201;
/// Bytes [`encode`] writes per encoder call (any encoder's longest output
/// for one character fits many times over).
const ENCODE_CHUNK: usize = 4096;

/// Code pages whose `charset` name in Windows (`Encoding.WebName`, what
/// IIS sends) differs from the WHATWG name `encoding_rs` gives them.
const WINDOWS_CHARSETS: &[(u32, &str)] = &[(936, "gb2312"), (949, "ks_c_5601-1987")];

/// What to write for a character the code page cannot hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unmappable {
    /// An HTML numeric character reference, `&#12354;` (ASP's behaviour for
    /// HTML output; the default).
    #[default]
    HtmlReference,
    /// A `?`.
    QuestionMark,
}

/// What converts a code page's text.
enum Codec {
    /// An `encoding_rs` encoding. UTF-16 code pages answer
    /// `UTF_16LE`/`UTF_16BE`, whose encoders `encoding_rs` does not
    /// provide: [`encode`] handles them itself.
    Whatwg(&'static Encoding),
    /// One of `single_byte`'s tables.
    SingleByte(SingleByte),
}

/// The codec behind a code page (`E_INVALID_CODEPAGE` if none).
fn codec(cp: u32) -> Result<Codec> {
    check_codepage(cp)?;
    Ok(match single_byte::lookup(cp) {
        Some(table) => Codec::SingleByte(table),
        None => Codec::Whatwg(codepage::to_encoding(cp as u16).unwrap_or(UTF_8)),
    })
}

/// The `charset` name for a `Content-Type` header (e.g. `Shift_JIS`,
/// `gb2312` for 936, `ks_c_5601-1987` for 949, as IIS names them).
pub fn charset(cp: u32) -> Result<&'static str> {
    Ok(match codec(cp)? {
        Codec::Whatwg(enc) => WINDOWS_CHARSETS
            .iter()
            .find(|&&(n, _)| n == cp)
            .map_or(enc.name(), |&(_, name)| name),
        Codec::SingleByte(table) => table.charset,
    })
}

/// Writes what `unmappable` says for a character the code page cannot hold.
fn push_unmappable(out: &mut Vec<u8>, c: char, unmappable: Unmappable) {
    match unmappable {
        Unmappable::HtmlReference => out.extend(format!("&#{};", c as u32).bytes()),
        Unmappable::QuestionMark => out.push(b'?'),
    }
}

/// `text` in code page `cp`.
pub fn encode(cp: u32, text: &str, unmappable: Unmappable) -> Result<Vec<u8>> {
    let enc = match codec(cp)? {
        Codec::Whatwg(enc) => enc,
        Codec::SingleByte(table) => {
            let mut out = Vec::with_capacity(text.len());
            for c in text.chars() {
                match table.encode_char(c) {
                    Some(b) => out.push(b),
                    None => push_unmappable(&mut out, c, unmappable),
                }
            }
            return Ok(out);
        }
    };
    match cp {
        CP_UTF16LE => return Ok(text.encode_utf16().flat_map(u16::to_le_bytes).collect()),
        CP_UTF16BE => return Ok(text.encode_utf16().flat_map(u16::to_be_bytes).collect()),
        _ => {}
    }
    if enc == UTF_8 {
        return Ok(text.as_bytes().to_vec());
    }
    let mut out = Vec::with_capacity(text.len() + 16);
    let Some(area) = user_defined::lookup(cp) else {
        encode_run(enc, None, text, &mut out, unmappable);
        return Ok(out);
    };
    // The code page's characters `encoding_rs` lacks are written here (it
    // would take long to find them missing: Big5 searches its whole table);
    // the text between them goes through `encoding_rs`.
    let mut done = 0;
    for (at, c) in text.char_indices() {
        if let Some(bytes) = area.encode(c) {
            encode_run(enc, Some(area), &text[done..at], &mut out, unmappable);
            out.extend_from_slice(&bytes);
            done = at + c.len_utf8();
        }
    }
    encode_run(enc, Some(area), &text[done..], &mut out, unmappable);
    Ok(out)
}

/// Appends `text` encoded by `enc` (see [`push_encoded`] for `area`).
fn encode_run(
    enc: &'static Encoding,
    area: Option<&UserDefined>,
    text: &str,
    out: &mut Vec<u8>,
    unmappable: Unmappable,
) {
    // Encode through a fixed buffer: each call's work is bounded by what it
    // reads and writes, so text full of unmappable characters (one call
    // each) stays linear. (`encode_from_utf8_to_vec_*` initialises the
    // Vec's whole spare capacity on every call: quadratic here.)
    let mut encoder = enc.new_encoder();
    let mut chunk = [0u8; ENCODE_CHUNK];
    let mut rest = text;
    loop {
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut chunk, true);
        push_encoded(enc, area, &chunk[..written], out, unmappable);
        rest = &rest[read..];
        match result {
            encoding_rs::EncoderResult::InputEmpty => return,
            encoding_rs::EncoderResult::OutputFull => continue,
            encoding_rs::EncoderResult::Unmappable(c) => push_unmappable(out, c, unmappable),
        }
    }
}

/// Appends the whole characters `enc` wrote as `bytes`, except those it
/// wrote into `area`'s user-defined pairs (Big5's HKSCS): the code page does
/// not have them, so they are written as `unmappable` says.
fn push_encoded(
    enc: &'static Encoding,
    area: Option<&UserDefined>,
    bytes: &[u8],
    out: &mut Vec<u8>,
    unmappable: Unmappable,
) {
    let mut done = 0;
    for (at, _) in area.into_iter().flat_map(|area| area.shadowed(bytes)) {
        out.extend_from_slice(&bytes[done..at]);
        let theirs = enc.decode_without_bom_handling(&bytes[at..at + 2]).0;
        for c in theirs.chars() {
            push_unmappable(out, c, unmappable);
        }
        done = at + 2;
    }
    out.extend_from_slice(&bytes[done..]);
}

/// `bytes` in code page `cp`, as UTF-8; malformed sequences become U+FFFD.
pub fn decode(cp: u32, bytes: &[u8]) -> Result<String> {
    Ok(match codec(cp)? {
        Codec::Whatwg(enc) => match user_defined::lookup(cp) {
            Some(area) => decode_with_user_defined(enc, area, bytes),
            None => enc.decode_without_bom_handling(bytes).0.into_owned(),
        },
        Codec::SingleByte(table) => table.decode(bytes),
    })
}

/// `bytes` decoded by `enc` with `area`'s characters: the user-defined
/// pairs `enc` would read as other characters are found first, and the
/// bytes between them go through [`decode_run`].
fn decode_with_user_defined(enc: &'static Encoding, area: &UserDefined, bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut done = 0;
    for (at, c) in area.shadowed(bytes) {
        decode_run(enc, area, &bytes[done..at], &mut out);
        out.push(c);
        done = at + 2;
    }
    decode_run(enc, area, &bytes[done..], &mut out);
    out
}

/// Appends `bytes` decoded by `enc`, where a malformed sequence that is one
/// of `area`'s single bytes or user-defined pairs becomes its character
/// (others become U+FFFD).
fn decode_run(enc: &'static Encoding, area: &UserDefined, bytes: &[u8], out: &mut String) {
    let mut decoder = enc.new_decoder_without_bom_handling();
    let room = |decoder: &encoding_rs::Decoder, n: usize| {
        decoder
            .max_utf8_buffer_length_without_replacement(n)
            .unwrap_or(n)
    };
    out.reserve(room(&decoder, bytes.len()));
    let mut done = 0;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&bytes[done..], out, true);
        done += read;
        match result {
            encoding_rs::DecoderResult::InputEmpty => return,
            encoding_rs::DecoderResult::OutputFull => {
                out.reserve(room(&decoder, bytes.len() - done).max(4));
            }
            encoding_rs::DecoderResult::Malformed(bad, after) => {
                // The malformed bytes end `after` bytes before what was read.
                let end = done.saturating_sub(usize::from(after));
                let malformed = bytes.get(end.saturating_sub(usize::from(bad))..end);
                let c = match malformed {
                    Some(&[b]) => area.decode_single(b),
                    Some(&[lead, trail]) => area.decode_pair(lead, trail),
                    _ => None,
                };
                out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
}

/// Whether every character of code page `cp` is one byte.
#[cfg(test)]
fn is_single_byte(cp: u32) -> bool {
    match codec(cp).unwrap() {
        Codec::Whatwg(enc) => enc.is_single_byte(),
        Codec::SingleByte(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error;

    #[test]
    fn round_trips_through_the_seed_code_pages() {
        let text = "Session 日本語 — 中文 café";
        for cp in [65001, 1200, 1201, 54936] {
            let bytes = encode(cp, text, Unmappable::HtmlReference).unwrap();
            assert_eq!(decode(cp, &bytes).unwrap(), text, "cp {cp}");
        }
        assert_eq!(
            encode(932, "日本", Unmappable::HtmlReference).unwrap(),
            [0x93, 0xFA, 0x96, 0x7B]
        );
        assert_eq!(
            decode(
                950,
                &encode(950, "中文", Unmappable::HtmlReference).unwrap()
            )
            .unwrap(),
            "中文"
        );
    }

    #[test]
    fn unmappable_characters() {
        assert_eq!(
            encode(1252, "a\u{3042}b", Unmappable::HtmlReference).unwrap(),
            b"a&#12354;b"
        );
        assert_eq!(
            encode(1252, "a\u{3042}b", Unmappable::QuestionMark).unwrap(),
            b"a?b"
        );
        assert_eq!(
            encode(1252, "café", Unmappable::HtmlReference).unwrap(),
            b"caf\xE9"
        );
    }

    #[test]
    fn a_mebibyte_of_unmappable_text() {
        // 1 MiB of HIRAGANA LETTER A into 1252: one encoder stop per
        // character (this was quadratic), and runs of mappable text longer
        // than the encoder's chunk between them.
        let cjk = "\u{3042}".repeat((1 << 20) / 3);
        let html = encode(1252, &cjk, Unmappable::HtmlReference).unwrap();
        assert_eq!(html, "&#12354;".repeat((1 << 20) / 3).as_bytes());
        let marks = encode(1252, &cjk, Unmappable::QuestionMark).unwrap();
        assert_eq!(marks, "?".repeat((1 << 20) / 3).as_bytes());
        let long = "é".repeat(3 * ENCODE_CHUNK);
        let mixed = format!("{long}\u{3042}{long}");
        let mut want = vec![0xE9; 3 * ENCODE_CHUNK];
        want.extend_from_slice(b"?");
        want.extend(vec![0xE9; 3 * ENCODE_CHUNK]);
        assert_eq!(
            encode(1252, &mixed, Unmappable::QuestionMark).unwrap(),
            want
        );
    }

    #[test]
    fn many_user_defined_characters() {
        // One decoder stop per character (malformed to `encoding_rs` in
        // 949, HKSCS to it in 950): linear, and every one found at its
        // place.
        for (cp, pair) in [(949, b"\xC9\xA1"), (950, b"\xFA\x40")] {
            let bytes = pair.repeat(1 << 17);
            let text = decode(cp, &bytes).unwrap();
            assert_eq!(text, "\u{E000}".repeat(1 << 17), "cp {cp}");
            assert_eq!(
                encode(cp, &text, Unmappable::QuestionMark).unwrap(),
                bytes,
                "cp {cp}"
            );
        }
    }

    #[test]
    fn user_defined_characters_change_nothing_else() {
        // Byte soup without the lead bytes of user-defined characters or
        // the extra single bytes decodes as `encoding_rs` alone decodes it,
        // U+FFFD where it does, and so it does between user-defined
        // characters.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        };
        let cases: [(u32, _, &[_], &[u8], &str); 4] = [
            (
                932,
                encoding_rs::SHIFT_JIS,
                &[0xF0..=0xF9, 0xA0..=0xA0, 0xFD..=0xFF],
                b"\xF0\x40",
                "\u{E000}",
            ),
            (
                936,
                encoding_rs::GBK,
                // 936's private use pairs where GB18030 has other
                // characters, and the digits of four-byte sequences.
                &[
                    0xFF..=0xFF,
                    0xA2..=0xA3,
                    0xA6..=0xA6,
                    0xA8..=0xA9,
                    0xFE..=0xFE,
                    0x30..=0x39,
                ],
                b"\xA6\xD9",
                "\u{E78D}",
            ),
            (
                949,
                encoding_rs::EUC_KR,
                &[0xC9..=0xC9, 0xFE..=0xFF, 0x80..=0x80],
                b"\xC9\xA1",
                "\u{E000}",
            ),
            (
                950,
                encoding_rs::BIG5,
                &[0x80..=0xA0, 0xC6..=0xC8, 0xFA..=0xFF],
                b"\xFA\x40",
                "\u{E000}",
            ),
        ];
        for (cp, enc, excluded, pair, pair_text) in cases {
            let mut seen = 0;
            for _ in 0..2000 {
                let mut soup: Vec<u8> = (0..next() % 12)
                    .map(|_| next())
                    .filter(|b| !excluded.iter().any(|r| r.contains(b)))
                    .collect();
                let want = enc.decode_without_bom_handling(&soup).0;
                assert_eq!(decode(cp, &soup).unwrap(), want, "cp {cp} {soup:02X?}");
                seen += want.matches('\u{FFFD}').count();
                // A space ends the soup's last sequence.
                soup.push(b' ');
                let between = [pair, &soup[..], pair].concat();
                let want = enc.decode_without_bom_handling(&soup).0;
                assert_eq!(
                    decode(cp, &between).unwrap(),
                    format!("{pair_text}{want}{pair_text}"),
                    "cp {cp} {between:02X?}"
                );
            }
            assert!(seen > 100, "cp {cp}: only {seen} malformed sequences");
        }
    }

    #[test]
    fn charsets_and_bad_code_pages() {
        assert_eq!(charset(932).unwrap(), "Shift_JIS");
        assert_eq!(charset(950).unwrap(), "Big5");
        assert_eq!(charset(65001).unwrap(), "UTF-8");
        assert_eq!(
            encode(1361, "x", Unmappable::default()).unwrap_err().code(),
            error::E_INVALID_CODEPAGE
        );
        assert_eq!(
            decode(1, b"x").unwrap_err().code(),
            error::E_INVALID_CODEPAGE
        );
    }
}

#[cfg(test)]
mod round_trips {
    use super::*;
    use crate::locale::CODE_PAGES;

    /// Text each multi-byte code page holds entirely.
    fn sample(cp: u32) -> &'static str {
        match cp {
            932 => "Session 日本語 ｶﾅ ①",
            936 | 54936 => "Session 简体中文 — 编码",
            949 => "Session 한국어 세션",
            950 => "Session 繁體中文 會話",
            _ => "Session 日本語 — 中文 한국어 café Ωμέγα ☃ 𝄞",
        }
    }

    #[test]
    fn every_supported_code_page_round_trips() {
        for &cp in CODE_PAGES {
            if is_single_byte(cp) {
                // Every byte the code page defines decodes to one character
                // that encodes back to that byte.
                for b in 0x20u8..=0xFF {
                    let text = decode(cp, &[b]).unwrap();
                    if text == "\u{FFFD}" {
                        continue;
                    }
                    assert_eq!(
                        encode(cp, &text, Unmappable::QuestionMark).unwrap(),
                        [b],
                        "cp {cp} byte {b:#04x} ({text:?})"
                    );
                }
            } else {
                let text = sample(cp);
                let bytes = encode(cp, text, Unmappable::QuestionMark).unwrap();
                assert!(!bytes.contains(&b'?'), "cp {cp} could not hold {text:?}");
                assert_eq!(decode(cp, &bytes).unwrap(), text, "cp {cp}");
            }
        }
    }

    #[test]
    fn unmappable_characters_in_every_single_byte_code_page() {
        for &cp in CODE_PAGES {
            if is_single_byte(cp) {
                // HIRAGANA LETTER A exists in no single-byte code page.
                assert_eq!(
                    encode(cp, "a\u{3042}", Unmappable::HtmlReference).unwrap(),
                    b"a&#12354;",
                    "cp {cp}"
                );
            }
        }
    }
}
