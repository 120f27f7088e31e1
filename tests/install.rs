//! `make install PREFIX=<dir>` ships libsess like a C library: a C program
//! builds against the installed copy with nothing but
//! `pkg-config --cflags --libs sess`, linked shared (recording the SONAME
//! `libsess.so.0`) and static, and runs.
//!
//! The install reuses this test run's build (`PROFILE=dev` for `cargo test`).

mod common;

use std::path::Path;
use std::process::Command;

use common::{lib_dir, root, run};

/// `pkg-config <args> sess` against the installed prefix, split into
/// arguments.
fn pkg_config(prefix: &Path, args: &[&str]) -> Vec<String> {
    let out = run(Command::new("pkg-config")
        .args(args)
        .arg("sess")
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .env_remove("PKG_CONFIG_LIBDIR"))
    .unwrap();
    out.split_whitespace().map(str::to_owned).collect()
}

/// `readelf -d` of `file`.
fn dynamic_section(file: &Path) -> String {
    run(Command::new("readelf").arg("-d").arg(file)).unwrap()
}

#[test]
fn installed_library_builds_a_c_program_with_pkg_config_alone() {
    let prefix = lib_dir().join(format!("install-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    let profile = if lib_dir().ends_with("release") {
        "release"
    } else {
        "dev"
    };
    run(Command::new("make")
        .arg("-C")
        .arg(root())
        .arg("install")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("PROFILE={profile}"))
        .arg(format!(
            "TARGET_DIR={}",
            lib_dir().parent().unwrap().display()
        )))
    .unwrap();

    let lib = prefix.join("lib");
    for f in [
        "include/sess.h",
        "lib/libsess.a",
        "lib/libsess.so.0.1.0",
        "lib/pkgconfig/sess.pc",
    ] {
        assert!(prefix.join(f).is_file(), "{f} not installed");
    }
    assert_eq!(
        std::fs::read_link(lib.join("libsess.so.0")).unwrap(),
        Path::new("libsess.so.0.1.0")
    );
    assert_eq!(
        std::fs::read_link(lib.join("libsess.so")).unwrap(),
        Path::new("libsess.so.0")
    );
    let soname = dynamic_section(&lib.join("libsess.so.0.1.0"));
    assert!(
        soname.contains("Library soname: [libsess.so.0]"),
        "{soname}"
    );

    let tour = root().join("examples-c/tour.c");
    let cc = common::cc();
    // Shared: records libsess.so.0, found at run time through the loader.
    let shared = prefix.join("tour-shared");
    run(Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&shared)
        .arg(&tour)
        .args(pkg_config(&prefix, &["--cflags", "--libs"])))
    .unwrap();
    let needed = dynamic_section(&shared);
    assert!(
        needed.contains("Shared library: [libsess.so.0]"),
        "{needed}"
    );
    let out = run(Command::new(&shared).env("LD_LIBRARY_PATH", &lib)).unwrap();
    assert!(out.contains("all checks passed"), "{out}");

    // Static: libsess.a and its private libraries (Libs.private).
    let fixed = prefix.join("tour-static");
    run(Command::new(&cc)
        .args(["-static", "-std=c99", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&fixed)
        .arg(&tour)
        .args(pkg_config(&prefix, &["--static", "--cflags", "--libs"])))
    .unwrap();
    assert!(!dynamic_section(&fixed).contains("libsess"));
    let out = run(&mut Command::new(&fixed)).unwrap();
    assert!(out.contains("all checks passed"), "{out}");

    let _ = std::fs::remove_dir_all(&prefix);
}
