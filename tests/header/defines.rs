//! The `#define`s of `include/sess.h`, rendered from the Rust constants
//! they mirror (so the header cannot disagree with the library). This is
//! the header generator's, not the library's: nothing here ships.
//!
//! Every macro is valid C and C++ without casts (C++ `-Wold-style-cast`):
//! a result code is an `int` literal of the HRESULT's value, with its usual
//! unsigned hexadecimal spelling in a comment.

use std::fmt::Write;

use sess::error;
use sess::ffi::codepage::ENCODE_QUESTION_MARK;
use sess::ffi::collate::COMPARE_FLAGS;
use sess::ffi::host_error::ERROR_MESSAGE_MAX;
use sess::ffi::session::{MODE_CUSTOM, MODE_INPROC, MODE_LMDB, MODE_REDIS, OPEN_READONLY};
use sess::ffi::session_state::{COOKIE_MODE_USE_COOKIES, COOKIE_MODE_USE_URI};
use sess::ffi::store::{
    STORE_EXCLUSIVE, STORE_EXISTS, STORE_EXPIRED, STORE_LOCKED, STORE_NOT_FOUND, STORE_OK,
};
use sess::ffi::web::{
    REQUEST_CREATE, SAMESITE_LAX, SAMESITE_NONE, SAMESITE_OMIT, SAMESITE_STRICT, SECURE_ALWAYS,
    SECURE_AUTO, SECURE_NEVER, USE_EXCLUSIVE, USE_OFF, USE_READONLY,
};
use sess::locale::{LOCALE_SYSTEM_DEFAULT, LOCALE_USER_DEFAULT};
use sess::state::ID_LEN;
use sess::variant::{flags, vt};

/// A result code as a C `int` expression needing no cast: e.g. 0x80004003
/// is `(-0x7FFFBFFD)`; `INT32_MIN` (no positive literal) is
/// `(-0x7FFFFFFF - 1)`.
pub fn code_literal(code: i32) -> String {
    match code {
        i32::MIN => "(-0x7FFFFFFF - 1)".to_string(),
        c if c < 0 => format!("(-0x{:X})", c.unsigned_abs()),
        c => c.to_string(),
    }
}

/// The `#define`s of `include/sess.h`.
pub fn render() -> String {
    let mut h = String::new();
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let minor = env!("CARGO_PKG_VERSION_MINOR");
    let patch = env!("CARGO_PKG_VERSION_PATCH");
    let version = env!("CARGO_PKG_VERSION");
    let _ = writeln!(h, "/* Version of the library this header describes. */");
    let _ = writeln!(h, "#define SESS_VERSION_MAJOR {major}");
    let _ = writeln!(h, "#define SESS_VERSION_MINOR {minor}");
    let _ = writeln!(h, "#define SESS_VERSION_PATCH {patch}");
    let _ = writeln!(h, "#define SESS_VERSION_STRING \"{version}\"\n");

    let _ = writeln!(
        h,
        "/* Result codes (HRESULTs). sess_error_message() describes any code. */"
    );
    for (name, code) in error::ALL {
        let _ = writeln!(
            h,
            "#define SESS_{name} {} /* 0x{:08X}: {} */",
            code_literal(*code),
            *code as u32,
            error::message(*code)
        );
    }

    let _ = writeln!(h, "\n/* Variant type tags (COM's numbers). */");
    let tags: &[(&str, u16)] = &[
        ("EMPTY", vt::EMPTY),
        ("NULL", vt::NULL),
        ("I2", vt::I2),
        ("I4", vt::I4),
        ("R4", vt::R4),
        ("R8", vt::R8),
        ("CY", vt::CY),
        ("DATE", vt::DATE),
        ("BSTR", vt::BSTR),
        ("DISPATCH", vt::DISPATCH),
        ("ERROR", vt::ERROR),
        ("BOOL", vt::BOOL),
        ("VARIANT", vt::VARIANT),
        ("UNKNOWN", vt::UNKNOWN),
        ("I1", vt::I1),
        ("UI1", vt::UI1),
        ("UI2", vt::UI2),
        ("UI4", vt::UI4),
        ("I8", vt::I8),
        ("UI8", vt::UI8),
    ];
    for (name, tag) in tags {
        let _ = writeln!(h, "#define SESS_VT_{name} {tag}");
    }
    let _ = writeln!(h, "#define SESS_VT_ARRAY 0x{:04X}", vt::ARRAY);
    let _ = writeln!(h, "#define SESS_VT_BYREF 0x{:04X}", vt::BYREF);
    let _ = writeln!(h, "#define SESS_VARIANT_TRUE (-1)");
    let _ = writeln!(h, "#define SESS_VARIANT_FALSE 0");

    let flag_defs = [
        ("VARIANT_NOVALUEPROP", flags::VARIANT_NOVALUEPROP),
        ("VARIANT_ALPHABOOL", flags::VARIANT_ALPHABOOL),
        ("VARIANT_NOUSEROVERRIDE", flags::VARIANT_NOUSEROVERRIDE),
        ("VARIANT_CALENDAR_HIJRI", flags::VARIANT_CALENDAR_HIJRI),
        ("VARIANT_LOCALBOOL", flags::VARIANT_LOCALBOOL),
        (
            "VARIANT_CALENDAR_GREGORIAN",
            flags::VARIANT_CALENDAR_GREGORIAN,
        ),
    ]
    .map(|(n, v)| (n, u32::from(v)));
    let sections: [(&str, &[(&str, u32)]); 14] = [
        (
            "sess_variant_change_type flags (VariantChangeTypeEx's)",
            &flag_defs,
        ),
        (
            "Locales meaning \"the application's default\"",
            &[
                ("LOCALE_USER_DEFAULT", LOCALE_USER_DEFAULT),
                ("LOCALE_SYSTEM_DEFAULT", LOCALE_SYSTEM_DEFAULT),
            ],
        ),
        (
            "sess_session_open flags",
            &[("OPEN_READONLY", OPEN_READONLY)],
        ),
        (
            "Session state modes (sess_session_mode)",
            &[
                ("MODE_INPROC", MODE_INPROC),
                ("MODE_REDIS", MODE_REDIS),
                ("MODE_CUSTOM", MODE_CUSTOM),
                ("MODE_LMDB", MODE_LMDB),
            ],
        ),
        (
            "sess_web_options.secure and .same_site",
            &[
                ("SECURE_AUTO", SECURE_AUTO),
                ("SECURE_ALWAYS", SECURE_ALWAYS),
                ("SECURE_NEVER", SECURE_NEVER),
                ("SAMESITE_LAX", SAMESITE_LAX),
                ("SAMESITE_STRICT", SAMESITE_STRICT),
                ("SAMESITE_NONE", SAMESITE_NONE),
                ("SAMESITE_OMIT", SAMESITE_OMIT),
            ],
        ),
        (
            "sess_request_info.session_use (ASP's EnableSessionState)",
            &[
                ("USE_EXCLUSIVE", USE_EXCLUSIVE),
                ("USE_READONLY", USE_READONLY),
                ("USE_OFF", USE_OFF),
            ],
        ),
        (
            "sess_request_session flags",
            &[("REQUEST_CREATE", REQUEST_CREATE)],
        ),
        (
            "sess_codepage_encode flags",
            &[("ENCODE_QUESTION_MARK", ENCODE_QUESTION_MARK)],
        ),
        (
            "sess_compare_text flags (CompareStringEx's values)",
            COMPARE_FLAGS,
        ),
        (
            "sess_request_cookie_mode (ASP.NET's HttpCookieMode values)",
            &[
                ("COOKIE_MODE_USE_URI", COOKIE_MODE_USE_URI),
                ("COOKIE_MODE_USE_COOKIES", COOKIE_MODE_USE_COOKIES),
            ],
        ),
        (
            "sess_store_vtbl get flags",
            &[("STORE_EXCLUSIVE", STORE_EXCLUSIVE)],
        ),
        (
            "sess_store_vtbl callback outcomes (>= 0; failures are < 0 codes)",
            &[
                ("STORE_OK", STORE_OK as u32),
                ("STORE_NOT_FOUND", STORE_NOT_FOUND as u32),
                ("STORE_LOCKED", STORE_LOCKED as u32),
                ("STORE_EXISTS", STORE_EXISTS as u32),
                ("STORE_EXPIRED", STORE_EXPIRED as u32),
            ],
        ),
        (
            "Length of a session ID's text (without the NUL)",
            &[("ID_LEN", ID_LEN as u32)],
        ),
        (
            "Longest message sess_error_set keeps, in bytes",
            &[("ERROR_MESSAGE_MAX", ERROR_MESSAGE_MAX as u32)],
        ),
    ];
    for (comment, defs) in sections {
        let _ = writeln!(h, "\n/* {comment}. */");
        for (name, value) in defs {
            let _ = writeln!(h, "#define SESS_{name} {value}");
        }
    }
    h.push_str(&com());
    h
}

/// The COM objects' part of `include/sess.h`'s preamble: invoke flags,
/// DISPIDs, and forward declarations of the objects (their vtables, which
/// cbindgen emits first, refer to them).
pub fn com() -> String {
    use sess::ffi::com::dispatch::*;
    use sess::ffi::com::{dictionary, session_object};
    let mut h = String::from(
        "\n/* The COM objects, declared below; their vtables refer to them first. */\n\
         struct sess_session_object;\nstruct sess_variant_dictionary;\n\
         struct sess_enum_variant;\nstruct sess_dispatch;\n",
    );
    let sections: [(&str, &[(&str, i64)]); 4] = [
        (
            "invoke flags (the vtables' invoke; COM's DISPATCH_*)",
            &[
                ("DISPATCH_METHOD", DISPATCH_METHOD.into()),
                ("DISPATCH_PROPERTYGET", DISPATCH_PROPERTYGET.into()),
                ("DISPATCH_PROPERTYPUT", DISPATCH_PROPERTYPUT.into()),
                ("DISPATCH_PROPERTYPUTREF", DISPATCH_PROPERTYPUTREF.into()),
            ],
        ),
        (
            "Standard DISPIDs (COM's values)",
            &[
                ("DISPID_VALUE", DISPID_VALUE.into()),
                ("DISPID_UNKNOWN", DISPID_UNKNOWN.into()),
                ("DISPID_PROPERTYPUT", DISPID_PROPERTYPUT.into()),
                ("DISPID_NEWENUM", DISPID_NEWENUM.into()),
            ],
        ),
        (
            "DISPIDs of sess_session_object's members (Value is SESS_DISPID_VALUE)",
            &[
                (
                    "DISPID_SESSION_SESSIONID",
                    session_object::DISPID_SESSION_SESSIONID.into(),
                ),
                (
                    "DISPID_SESSION_TIMEOUT",
                    session_object::DISPID_SESSION_TIMEOUT.into(),
                ),
                (
                    "DISPID_SESSION_ABANDON",
                    session_object::DISPID_SESSION_ABANDON.into(),
                ),
                (
                    "DISPID_SESSION_CODEPAGE",
                    session_object::DISPID_SESSION_CODEPAGE.into(),
                ),
                (
                    "DISPID_SESSION_LCID",
                    session_object::DISPID_SESSION_LCID.into(),
                ),
                (
                    "DISPID_SESSION_STATICOBJECTS",
                    session_object::DISPID_SESSION_STATICOBJECTS.into(),
                ),
                (
                    "DISPID_SESSION_CONTENTS",
                    session_object::DISPID_SESSION_CONTENTS.into(),
                ),
            ],
        ),
        (
            "DISPIDs of sess_variant_dictionary's members (Item is SESS_DISPID_VALUE, \
             _NewEnum SESS_DISPID_NEWENUM)",
            &[
                (
                    "DISPID_DICTIONARY_KEY",
                    dictionary::DISPID_DICTIONARY_KEY.into(),
                ),
                (
                    "DISPID_DICTIONARY_COUNT",
                    dictionary::DISPID_DICTIONARY_COUNT.into(),
                ),
                (
                    "DISPID_DICTIONARY_REMOVE",
                    dictionary::DISPID_DICTIONARY_REMOVE.into(),
                ),
                (
                    "DISPID_DICTIONARY_REMOVEALL",
                    dictionary::DISPID_DICTIONARY_REMOVEALL.into(),
                ),
            ],
        ),
    ];
    for (comment, defs) in sections {
        let _ = writeln!(h, "\n/* {comment}. */");
        for (name, value) in defs {
            let value = if *value < 0 {
                format!("({value})")
            } else {
                value.to_string()
            };
            let _ = writeln!(h, "#define SESS_{name} {value}");
        }
    }
    h
}
