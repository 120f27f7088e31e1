//! Build script: gives the shared library its SONAME, `libsess.so.<major>`,
//! so programs linked against it record that name and keep working across
//! compatible updates (the `make install` symlinks follow the convention).
//!
//! (The header is not made here: its `#define`s are rendered from the
//! library's own constants, which a build script cannot see before the
//! crate is compiled; `SESS_UPDATE_HEADER=1 cargo test --test header`
//! regenerates it, and that test fails on any drift.)
//!
//! The benchmark executables export their `sess_*` symbols: `abi_cycle`
//! loads a C object whose calls resolve to the bench's own library.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd"
    ) {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsess.so.{major}");
        println!("cargo:rustc-link-arg-benches=-Wl,--export-dynamic-symbol=sess_*");
    }
}
