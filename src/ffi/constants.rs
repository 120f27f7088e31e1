//! The library version. (The header's `SESS_*` macros are rendered from
//! the Rust constants they mirror by the header generator, tests/header.rs:
//! no header-making code ships in the library.)

use std::ffi::c_char;

/// The library version, NUL-terminated, e.g. "0.1.0" (`SESS_VERSION_STRING`
/// is what the header was generated from). The string is static.
#[no_mangle]
pub extern "C" fn sess_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_cargo() {
        // SAFETY: sess_version returns a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(sess_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
