//! Conversions as Windows' oleaut32 records them (Wine's conformance tests,
//! `dlls/oleaut32/tests/vartype.c`): a `VARIANT_BOOL` converts as the SHORT
//! it stores, and currency's limits.

use sess::error;
use sess::variant::{change_type, flags, vt, Variant};

fn conv(v: &Variant, target: u16) -> Result<Variant, i32> {
    change_type(v, 0x0409, 0, target).map_err(|e| e.code())
}

/// `VarXxFromBool(value)` for every numeric target: (stored SHORT,
/// expected), from `test_VarI1FromBool` … `test_VarUI8FromBool`,
/// `COMMON_TYPETEST` (a TRUE stored as 1 is 1 everywhere) and the wrap of
/// a C cast.
#[test]
fn bool_to_numbers_uses_the_stored_short() {
    let table: &[(i16, Variant)] = &[
        // VarI1FromBool wraps: 128 → -128, -129 → 127.
        (128, Variant::I1(-128)),
        (-129, Variant::I1(127)),
        (127, Variant::I1(127)),
        (1, Variant::I1(1)),
        (-1, Variant::I1(-1)),
        // VarUI1FromBool: -1 → 255, 256 → 0.
        (-1, Variant::UI1(255)),
        (256, Variant::UI1(0)),
        (255, Variant::UI1(255)),
        (1, Variant::UI1(1)),
        (1, Variant::I2(1)),
        (-32768, Variant::I2(-32768)),
        (-1, Variant::UI2(65535)),
        (32767, Variant::UI2(32767)),
        (1, Variant::I4(1)),
        (-32768, Variant::I4(-32768)),
        (-1, Variant::UI4(u32::MAX)),
        (1, Variant::UI4(1)),
        (1, Variant::I8(1)),
        (-32768, Variant::I8(-32768)),
        // VarUI8FromBool: EXPECTI8(i) for every SHORT, i.e. sign-extended.
        (-1, Variant::UI8(u64::MAX)),
        (-32768, Variant::UI8((-32768i64) as u64)),
        (1, Variant::UI8(1)),
        (1, Variant::R4(1.0)),
        (-1, Variant::R4(-1.0)),
        (1, Variant::R8(1.0)),
        (300, Variant::R8(300.0)),
        (1, Variant::Date(1.0)),
        (-1, Variant::Date(-1.0)),
        (1, Variant::Cy(10_000)),
        (-1, Variant::Cy(-10_000)),
        (0, Variant::UI8(0)),
        (0, Variant::Cy(0)),
    ];
    for (short, expected) in table {
        assert_eq!(
            conv(&Variant::Bool(*short), expected.vt()).as_ref(),
            Ok(expected),
            "Bool({short})"
        );
    }
}

#[test]
fn bool_to_text_and_back() {
    let text = |short: i16, f: u16| {
        change_type(&Variant::Bool(short), 0x0409, f, vt::BSTR)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    };
    // Without ALPHABOOL/LOCALBOOL a boolean is text as the VT_I2 it is.
    assert_eq!(text(1, 0), "1");
    assert_eq!(text(-1, 0), "-1");
    assert_eq!(text(0, 0), "0");
    assert_eq!(text(256, 0), "256");
    // VarBstrFromBool: anything but VARIANT_FALSE is True.
    assert_eq!(text(-1, flags::VARIANT_ALPHABOOL), "True");
    assert_eq!(text(1, flags::VARIANT_ALPHABOOL), "True");
    assert_eq!(text(0, flags::VARIANT_ALPHABOOL), "False");
    // The other direction: any non-zero value is VARIANT_TRUE.
    for (from, to) in [
        (Variant::I2(1), -1),
        (Variant::UI1(2), -1),
        (Variant::R8(0.5), -1),
        (Variant::I4(0), 0),
        (Variant::bstr("1"), -1),
        (Variant::bstr("True"), -1),
        (Variant::bstr("0"), 0),
    ] {
        assert_eq!(conv(&from, vt::BOOL), Ok(Variant::Bool(to)), "{from:?}");
    }
    // BOOL → BOOL is a copy: the stored SHORT stays (COMMON_TYPETEST).
    assert_eq!(conv(&Variant::Bool(1), vt::BOOL), Ok(Variant::Bool(1)));
}

/// `test_VarCyFromI8` / `test_VarCyFromUI8` / `test_VarCyFromR8` and the
/// currency to integer limits.
#[test]
fn currency_limits() {
    const OVERFLOW: i32 = error::DISP_E_OVERFLOW;
    let table: &[(Variant, Result<i64, i32>)] = &[
        (Variant::I8(-922_337_203_685_477), Err(OVERFLOW)),
        (
            Variant::I8(-922_337_203_685_476),
            Ok(-9_223_372_036_854_760_000),
        ),
        (Variant::I8(-1), Ok(-10_000)),
        (Variant::I8(0), Ok(0)),
        (Variant::I8(1), Ok(10_000)),
        (
            Variant::I8(922_337_203_685_476),
            Ok(9_223_372_036_854_760_000),
        ),
        (Variant::I8(922_337_203_685_477), Err(OVERFLOW)),
        (Variant::I8(i64::MAX), Err(OVERFLOW)),
        (Variant::I8(i64::MIN), Err(OVERFLOW)),
        (Variant::UI8(0), Ok(0)),
        (
            Variant::UI8(922_337_203_685_476),
            Ok(9_223_372_036_854_760_000),
        ),
        (
            Variant::UI8(922_337_203_685_477),
            Ok(9_223_372_036_854_770_000),
        ),
        (Variant::UI8(922_337_203_685_478), Err(OVERFLOW)),
        (Variant::I4(i32::MIN), Ok(i64::from(i32::MIN) * 10_000)),
        (Variant::UI4(u32::MAX), Ok(i64::from(u32::MAX) * 10_000)),
        (Variant::R8(-4_611_686_018_427_388_416.1), Err(OVERFLOW)),
        (Variant::R8(4_611_686_018_427_387_648.0), Err(OVERFLOW)),
        (Variant::R8(-1.0), Ok(-10_000)),
        (Variant::R8(1.00009), Ok(10_001)),
        (Variant::R8(-0.00005), Ok(0)),
    ];
    for (from, expected) in table {
        assert_eq!(
            conv(from, vt::CY),
            expected.map(Variant::Cy),
            "{from:?} → CY"
        );
    }
    // And back: the largest amounts convert to I8 and R8.
    assert_eq!(
        conv(&Variant::Cy(9_223_372_036_854_760_000), vt::I8),
        Ok(Variant::I8(922_337_203_685_476))
    );
    assert_eq!(
        conv(&Variant::Cy(i64::MAX), vt::I4),
        Err(OVERFLOW),
        "CY → I4 out of range"
    );
    assert_eq!(conv(&Variant::Cy(-15_000), vt::I2), Ok(Variant::I2(-2)));
}

/// `VarR4FromR8` refuses only what no float holds: Wine's (vartype.c)
/// overflows past `R4_MAX`, 3.402823567797336e38 (variant.h), which is
/// `FLT_MAX` plus just under half a float step, so a double that rounds
/// to `FLT_MAX` (3.4028235e38, `FLT_MAX` as 8 digits write it) converts
/// to it, and one at the halfway point, which rounds to infinity,
/// overflows.
#[test]
fn r8_to_r4_overflows_only_past_the_largest_float() {
    let halfway = f64::from(f32::MAX) + 2f64.powi(103);
    for x in [3.402_823_5e38, f64::from(f32::MAX), halfway - 2f64.powi(76)] {
        for (v, r4) in [(x, f32::MAX), (-x, f32::MIN)] {
            assert_eq!(conv(&Variant::R8(v), vt::R4), Ok(Variant::R4(r4)), "{v:e}");
        }
    }
    for x in [halfway, 3.5e38, f64::INFINITY] {
        for v in [x, -x] {
            assert_eq!(
                conv(&Variant::R8(v), vt::R4),
                Err(error::DISP_E_OVERFLOW),
                "{v:e}"
            );
        }
    }
}

/// `test_VarParseNumFromStrEn/Fr/Misc` (vartest.c): after the number the
/// locale's currency symbol may repeat (`$11$$`, `€12€€`, `zł2złzł`), even
/// after a leading one; before it, only once (`$$11`).
#[test]
fn trailing_currency_symbols_repeat() {
    const MISMATCH: i32 = error::DISP_E_TYPEMISMATCH;
    let table: &[(&str, u32, Result<i64, i32>)] = &[
        ("$11$$", 0x0409, Ok(110_000)),
        ("11$$", 0x0409, Ok(110_000)),
        ("$11$", 0x0409, Ok(110_000)),
        ("$$11", 0x0409, Err(MISMATCH)),
        ("\u{20ac}12\u{20ac}\u{20ac}", 0x040C, Ok(120_000)),
        ("z\u{142}2z\u{142}z\u{142}", 0x0415, Ok(20_000)),
    ];
    for &(text, lcid, expected) in table {
        let got = change_type(&Variant::bstr(text), lcid, 0, vt::CY).map_err(|e| e.code());
        assert_eq!(got, expected.map(Variant::Cy), "{text:?} under {lcid:#x}");
    }
}

/// Wine's safearray.c, run on Windows: `test_SafeArrayChangeTypeEx` (an
/// array of bytes to a string) and `test_safearray` (an empty string to an
/// array of bytes). Windows converts bytes to a string and a string to bytes
/// (`VARIANT_CoerceArray`: `BstrFromVector` / `VectorFromBstr`, the
/// string's bytes as they are); here strings are UTF-8, so the bytes are
/// UTF-8 text (bytes that are not are a type mismatch). Only arrays of
/// bytes: an array of variants has no text, and neither kind converts to
/// VT_EMPTY or VT_NULL.
#[test]
fn bytes_and_text_convert_both_ways() {
    use sess::variant::SafeArray;
    let bytes = |b: &[u8]| Variant::Array(Box::new(SafeArray::from_bytes(b).unwrap()));
    let bytes_vt = vt::ARRAY | vt::UI1;
    assert_eq!(
        conv(&bytes(b"Hello World"), vt::BSTR),
        Ok(Variant::bstr("Hello World"))
    );
    assert_eq!(
        conv(&bytes("h\u{e9}\0x".as_bytes()), vt::BSTR),
        Ok(Variant::bstr("h\u{e9}\0x")),
        "every byte, NULs included"
    );
    assert_eq!(conv(&bytes(b""), vt::BSTR), Ok(Variant::bstr("")));
    assert_eq!(
        conv(&bytes(b"\xff\xfe"), vt::BSTR),
        Err(error::DISP_E_TYPEMISMATCH),
        "not UTF-8"
    );
    // test_safearray: an empty BSTR → VT_UI1|VT_ARRAY is S_OK.
    assert_eq!(conv(&Variant::bstr(""), bytes_vt), Ok(bytes(b"")));
    assert_eq!(
        conv(&Variant::bstr("h\u{e9}\0x"), bytes_vt),
        Ok(bytes("h\u{e9}\0x".as_bytes()))
    );
    // Nothing else converts to or from an array.
    let variants = Variant::Array(Box::new(SafeArray::from(vec![Variant::bstr("a")])));
    assert_eq!(conv(&variants, vt::BSTR), Err(error::DISP_E_TYPEMISMATCH));
    assert_eq!(
        conv(&Variant::bstr("a"), vt::ARRAY | vt::VARIANT),
        Err(error::DISP_E_TYPEMISMATCH)
    );
    for target in [vt::EMPTY, vt::NULL, vt::I4, vt::UI1] {
        assert_eq!(
            conv(&bytes(b"1"), target),
            Err(error::DISP_E_TYPEMISMATCH),
            "{target}"
        );
    }
    for v in [Variant::I4(1), Variant::UI1(1), Variant::Empty] {
        assert_eq!(conv(&v, bytes_vt), Err(error::DISP_E_TYPEMISMATCH), "{v:?}");
    }
}

/// `VarParseNumFromStr` takes `D` as well as `E` for the exponent (Microsoft's
/// own oleaut32 parser, `numprs.cpp` as published in the SSCLI: "Base-10
/// exponent may be specified with E or D"; VB's `IsNumeric("1D3")` is True
/// and `CDbl("1D3")` is 1000). A `D` without exponent digits is no number.
#[test]
fn d_marks_an_exponent_as_e_does() {
    let table: &[(&str, Variant)] = &[
        ("1D3", Variant::R8(1000.0)),
        ("1d3", Variant::R8(1000.0)),
        ("1.5D-2", Variant::R8(0.015)),
        ("-2.5d+1", Variant::R8(-25.0)),
        ("2D2", Variant::I4(200)),
        ("1D4", Variant::Cy(100_000_000)),
        ("1D2", Variant::bool(true)),
        ("1E3", Variant::R8(1000.0)),
    ];
    for (text, expected) in table {
        assert_eq!(
            conv(&Variant::bstr(text), expected.vt()).as_ref(),
            Ok(expected),
            "{text:?}"
        );
    }
    for text in ["1D", "D3", "1D+", "1DD3", "1E3D2"] {
        assert_eq!(
            conv(&Variant::bstr(text), vt::R8),
            Err(error::DISP_E_TYPEMISMATCH),
            "{text:?}"
        );
    }
}
