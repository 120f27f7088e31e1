//! The header's constants (`SESS_*` macros) and the library version.
//!
//! Constants are rendered from the Rust tables they mirror, so the header
//! cannot disagree with the library; the header test regenerates them.

use std::ffi::c_char;
use std::fmt::Write;

use super::session::{MODE_INPROC, OPEN_READONLY};
use crate::error;
use crate::locale::{LOCALE_SYSTEM_DEFAULT, LOCALE_USER_DEFAULT};
use crate::session::ID_LEN;
use crate::variant::{flags, vt};

/// The library version, NUL-terminated, e.g. "0.1.0" (`SESS_VERSION_STRING`
/// is what the header was generated from). The string is static.
#[no_mangle]
pub extern "C" fn sess_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The `#define`s of `include/sess.h`.
pub fn header_defines() -> String {
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
            "#define SESS_{name} ((sess_result)0x{:08X}) /* {} */",
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
    let _ = writeln!(h, "#define SESS_VARIANT_TRUE ((int16_t)-1)");
    let _ = writeln!(h, "#define SESS_VARIANT_FALSE ((int16_t)0)");

    let _ = writeln!(
        h,
        "\n/* sess_variant_change_type flags (VariantChangeTypeEx's). */"
    );
    for (name, value) in [
        ("NOVALUEPROP", flags::VARIANT_NOVALUEPROP),
        ("ALPHABOOL", flags::VARIANT_ALPHABOOL),
        ("NOUSEROVERRIDE", flags::VARIANT_NOUSEROVERRIDE),
        ("CALENDAR_HIJRI", flags::VARIANT_CALENDAR_HIJRI),
        ("LOCALBOOL", flags::VARIANT_LOCALBOOL),
    ] {
        let _ = writeln!(h, "#define SESS_VARIANT_{name} 0x{value:02X}");
    }

    let _ = writeln!(h, "\n/* Locales meaning \"the application's default\". */");
    let _ = writeln!(
        h,
        "#define SESS_LOCALE_USER_DEFAULT 0x{LOCALE_USER_DEFAULT:04X}"
    );
    let _ = writeln!(
        h,
        "#define SESS_LOCALE_SYSTEM_DEFAULT 0x{LOCALE_SYSTEM_DEFAULT:04X}"
    );

    let _ = writeln!(h, "\n/* sess_session_open flags. */");
    let _ = writeln!(h, "#define SESS_OPEN_READONLY {OPEN_READONLY}");
    let _ = writeln!(h, "\n/* Session state modes (sess_session_mode). */");
    let _ = writeln!(h, "#define SESS_MODE_INPROC {MODE_INPROC}");
    let _ = writeln!(
        h,
        "\n/* Length of a session ID's text (without the NUL). */"
    );
    let _ = writeln!(h, "#define SESS_ID_LEN {ID_LEN}");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_cargo() {
        // SAFETY: sess_version returns a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(sess_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert!(header_defines().contains(&format!(
            "#define SESS_VERSION_STRING \"{}\"",
            env!("CARGO_PKG_VERSION")
        )));
    }

    #[test]
    fn codes_render_as_hex() {
        let h = header_defines();
        assert!(h.contains("#define SESS_E_POINTER ((sess_result)0x80004003)"));
        assert!(h.contains("#define SESS_DISP_E_BADINDEX ((sess_result)0x8002000B)"));
        assert!(h.contains("#define SESS_VT_ARRAY 0x2000"));
    }
}
