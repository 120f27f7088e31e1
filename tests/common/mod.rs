//! Helpers shared by the test harnesses that build C programs against
//! `include/sess.h` and this build's `libsess.a` (`tests/c_examples.rs`,
//! `tests/http_demo.rs`).

// Each harness uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// C99 with warnings as errors, as every example is built.
pub const CFLAGS: &[&str] = &["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"];

/// Libraries `libsess.a` needs beside itself.
pub const LIBS: &[&str] = &["-lpthread", "-ldl", "-lm"];

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding this build's `libsess.a` (target/<profile>).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// This build's `libsess.a`, brought up to date first: `cargo test` builds
/// the library only as an rlib, so the static library is built here (once
/// per test binary) with the same profile.
pub fn static_lib() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = lib_dir();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "--lib", "--manifest-path"])
                .arg(root().join("Cargo.toml"))
                .arg("--target-dir")
                .arg(dir.parent().expect("target/<profile>"));
            if dir.file_name().is_some_and(|p| p == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build --lib");
            assert!(status.success(), "cargo build --lib failed");
            let lib = dir.join("libsess.a");
            assert!(lib.exists(), "{} was not built", lib.display());
            lib
        })
        .clone()
}

/// Where built C programs go: target/<profile>/c-examples.
pub fn out_dir() -> PathBuf {
    let d = lib_dir().join("c-examples");
    std::fs::create_dir_all(&d).expect("create the output directory");
    d
}

/// A path in [`out_dir`] named `stem` that no other call of this process
/// (nor another process) returns: `<stem>-<pid>-<n>`.
pub fn fresh_out_path(stem: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    out_dir().join(format!("{stem}-{}-{n}", std::process::id()))
}

/// The C compiler: `$CC`, else `cc`.
pub fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// Runs `cmd` to completion: its stdout and stderr on success, or an error
/// naming the command, its exit status and its output.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{cmd:?} failed ({}):\n{text}", out.status))
    }
}

/// Compiles `src` (a C file) with [`CFLAGS`] against `include/` and
/// `libsess.a` into [`out_dir`]; the executable's path.
pub fn build(src: &Path) -> Result<PathBuf, String> {
    let exe = out_dir().join(src.file_stem().expect("a file name"));
    build_to(src, &exe)?;
    Ok(exe)
}

/// [`build`], replacing the executable atomically: it is linked under a
/// name of this process's, then renamed into place, so another test run
/// starting the old one at the same moment never finds a half-written file.
pub fn build_replacing(src: &Path) -> Result<PathBuf, String> {
    let name = src.file_stem().expect("a file name").to_string_lossy();
    let exe = out_dir().join(&*name);
    let tmp = out_dir().join(format!("{name}.{}.tmp", std::process::id()));
    let built = build_to(src, &tmp).and_then(|()| {
        std::fs::rename(&tmp, &exe)
            .map_err(|e| format!("rename {} to {}: {e}", tmp.display(), exe.display()))
    });
    if built.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    built.map(|()| exe)
}

fn build_to(src: &Path, exe: &Path) -> Result<(), String> {
    run(Command::new(cc())
        .args(CFLAGS)
        .arg("-I")
        .arg(root().join("include"))
        .arg("-o")
        .arg(exe)
        .arg(src)
        .arg(static_lib())
        .args(LIBS))?;
    Ok(())
}
