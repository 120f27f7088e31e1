//! `make install PREFIX=<dir>` ships libsess like a C library: a C program
//! builds against the installed copy with nothing but
//! `pkg-config --cflags --libs sess`, linked shared (recording the SONAME
//! `libsess.so.0`) and static, and runs.
//!
//! Paths with spaces, a staged (`DESTDIR`) and multiarch install, and
//! `make uninstall` are covered too, and the symbols the installed
//! `libsess.so` and the Apache module built from the installed `libsess.a`
//! export: the header's, nothing else.
//!
//! The install reuses this test run's build (`PROFILE=dev` for `cargo test`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
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

/// `make -C <repo> <args> PROFILE=… TARGET_DIR=…`, reusing this test run's
/// build.
fn make(args: &[String]) {
    let profile = if lib_dir().ends_with("release") {
        "release"
    } else {
        "dev"
    };
    run(Command::new("make")
        .arg("-C")
        .arg(root())
        .args(args)
        .arg(format!("PROFILE={profile}"))
        .arg(format!(
            "TARGET_DIR={}",
            lib_dir().parent().unwrap().display()
        )))
    .unwrap();
}

/// Every file and symbolic link under `dir` (directories left out).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// `readelf -d` of `file`.
fn dynamic_section(file: &Path) -> String {
    run(Command::new("readelf").arg("-d").arg(file)).unwrap()
}

#[test]
fn installed_library_builds_a_c_program_with_pkg_config_alone() {
    let prefix = lib_dir().join(format!("install-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    make(&["install".into(), format!("PREFIX={}", prefix.display())]);

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

/// A prefix and a `DESTDIR` with spaces in them, and a multiarch libdir:
/// `make install` (run twice, as a reinstall does) writes only under the
/// staging directory, its `sess.pc` names the final prefix (its spaces
/// escaped, as pkg-config reads them), a C++ program builds against the
/// moved-into-place copy with pkg-config's flags as a shell reads them, and
/// `make uninstall` removes every file the install wrote.
#[test]
fn install_stages_and_uninstalls_under_paths_with_spaces() {
    let base = lib_dir().join(format!("install-spaces-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let prefix = base.join("final prefix");
    let libdir = prefix.join("lib/x86_64-linux-gnu");
    let destdir = base.join("stage dir");
    let dirs = [
        format!("PREFIX={}", prefix.display()),
        format!("LIBDIR={}", libdir.display()),
    ];
    let staged = |p: &Path| PathBuf::from(format!("{}{}", destdir.display(), p.display()));
    for _ in 0..2 {
        let mut args = vec![
            "install".to_owned(),
            format!("DESTDIR={}", destdir.display()),
        ];
        args.extend(dirs.clone());
        make(&args);
    }

    let mut written = files_under(&base);
    written.sort();
    let expected: Vec<PathBuf> = {
        let mut e = vec![staged(&prefix.join("include/sess.h"))];
        e.extend(
            [
                "libsess.a".to_owned(),
                "libsess.so".to_owned(),
                format!("libsess.so.{}", env!("CARGO_PKG_VERSION_MAJOR")),
                format!("libsess.so.{}", env!("CARGO_PKG_VERSION")),
                "pkgconfig/sess.pc".to_owned(),
            ]
            .map(|f| staged(&libdir.join(f))),
        );
        e.sort();
        e
    };
    assert_eq!(written, expected, "the staged install wrote elsewhere");
    let pc = std::fs::read_to_string(staged(&libdir.join("pkgconfig/sess.pc"))).unwrap();
    assert!(
        !pc.contains("stage\\ dir"),
        "sess.pc names the staging directory:\n{pc}"
    );
    assert!(pc.contains("final\\ prefix/include"), "{pc}");

    std::fs::rename(staged(&prefix), &prefix).unwrap();
    let src = base.join("app.cpp");
    std::fs::write(
        &src,
        "#include <sess.h>\n#include <cstdio>\n#include <cstring>\n\
         int main() { std::puts(sess_version()); \
         return std::strcmp(sess_version(), SESS_VERSION_STRING) != 0; }\n",
    )
    .unwrap();
    let exe = base.join("app");
    // pkg-config's output is meant for a shell (or make) to split.
    run(Command::new("sh")
        .arg("-c")
        .arg(r#"eval "set -- $(pkg-config --cflags --libs sess)" && exec "${CXX:-c++}" -std=c++11 -Wall -Wextra -Werror -pedantic -o "$EXE" "$SRC" "$@""#)
        .env("PKG_CONFIG_PATH", libdir.join("pkgconfig"))
        .env_remove("PKG_CONFIG_LIBDIR")
        .env("EXE", &exe)
        .env("SRC", &src)
        .current_dir(&base))
    .unwrap();
    let out = run(Command::new(&exe).env("LD_LIBRARY_PATH", &libdir)).unwrap();
    assert_eq!(out.trim(), env!("CARGO_PKG_VERSION"));

    let mut args = vec!["uninstall".to_owned()];
    args.extend(dirs);
    make(&args);
    assert_eq!(files_under(&prefix), Vec::<PathBuf>::new());

    let _ = std::fs::remove_dir_all(&base);
}

/// The symbols `include/sess.h` declares: its functions and its `extern
/// const` data (the interface IDs).
fn declared_symbols() -> BTreeSet<String> {
    let header = std::fs::read_to_string(root().join("include/sess.h")).unwrap();
    let mut names = BTreeSet::new();
    for line in header.lines() {
        if let Some(data) = line.strip_prefix("extern const ") {
            let name = data.trim_end_matches(';').rsplit(' ').next().unwrap();
            names.insert(name.to_owned());
        } else if line.starts_with(|c: char| c.is_ascii_lowercase())
            && !line.starts_with("typedef")
            && line.contains('(')
        {
            let name = line.split('(').next().unwrap().rsplit([' ', '*']).next();
            names.insert(name.unwrap().to_owned());
        }
    }
    names
}

/// Asserts that `so` exports `expected`: names none missing, none extra.
fn assert_exports(so: &Path, expected: &BTreeSet<String>) {
    let exported = exported_symbols(so);
    let missing: Vec<_> = expected.difference(&exported).collect();
    let extra: Vec<_> = exported.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{}: missing {missing:?}, extra {extra:?}",
        so.display()
    );
}

/// The dynamic symbols `so` defines.
fn exported_symbols(so: &Path) -> BTreeSet<String> {
    let out = run(Command::new("nm").args(["-D", "--defined-only"]).arg(so)).unwrap();
    out.lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(str::to_owned)
        .collect()
}

/// The installed `libsess.so` exports exactly the header's symbols (none of
/// Rust's runtime nor of the C code inside, LMDB's or ring's); mod_sess,
/// built against the installed `libsess.a`, exports them too, for the
/// modules loaded after it, beside its module record.
#[test]
fn installed_library_and_apache_module_export_the_header_and_nothing_else() {
    let base = lib_dir().join(format!("install-symbols-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let prefix = base.join("prefix");
    make(&["install".into(), format!("PREFIX={}", prefix.display())]);
    let declared = declared_symbols();
    assert!(declared.contains("sess_app_create"), "{declared:?}");
    assert!(declared.contains("SESS_IID_IDISPATCH"), "{declared:?}");

    let so = prefix.join(format!("lib/libsess.so.{}", env!("CARGO_PKG_VERSION")));
    assert_exports(&so, &declared);

    let module = base.join("apache/mod_sess.so");
    run(Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(root().join("hosts/apache"))
        .arg(format!("LIB={}", prefix.join("lib/libsess.a").display()))
        .arg(format!("BUILD={}", base.join("apache").display()))
        .arg(&module))
    .unwrap();
    let mut expected = declared;
    expected.insert("sess_module".to_owned());
    assert_exports(&module, &expected);

    let _ = std::fs::remove_dir_all(&base);
}
