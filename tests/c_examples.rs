//! The C surface tested from C: every program in `examples-c/` is compiled
//! against `include/sess.h` and `libsess.a` as C99 with warnings as errors,
//! then run; each program checks its own results and exits non-zero on a
//! failed check. The header also compiles as C++.
//!
//! `SESS_VALGRIND=1` runs each program under valgrind, failing on any error
//! or any definitely lost byte (CI does this).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{build, out_dir, root, run};

/// The test programs: every `examples-c/*.c` but the long-running ones.
fn programs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("examples-c"))
        .expect("examples-c exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .filter(|p| {
            let name = p.file_stem().unwrap().to_string_lossy();
            !name.starts_with("bench") && !name.starts_with("server")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn c_examples_build_and_pass() {
    let progs = programs();
    assert!(progs.len() >= 6, "expected the C examples, found {progs:?}");
    let valgrind = std::env::var_os("SESS_VALGRIND").is_some();
    let mut failures = Vec::new();
    for src in &progs {
        let result = build(src).and_then(|exe| {
            if valgrind {
                run(Command::new("valgrind")
                    .args([
                        "--quiet",
                        "--error-exitcode=99",
                        "--leak-check=full",
                        "--errors-for-leak-kinds=definite",
                        "--show-leak-kinds=definite",
                    ])
                    .arg(format!(
                        "--suppressions={}",
                        root().join("examples-c/valgrind.supp").display()
                    ))
                    .arg(&exe))
            } else {
                run(&mut Command::new(&exe))
            }
        });
        match result {
            Ok(out) => println!("== {} ok\n{out}", src.display()),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn header_compiles_as_cpp_with_the_layout_asserted() {
    let src = out_dir().join("header_check.cpp");
    std::fs::write(
        &src,
        "#include \"sess.h\"\n\
         static_assert(sizeof(sess_variant) == 24, \"sess_variant is 24 bytes\");\n\
         static_assert(alignof(sess_variant) == 8, \"sess_variant is 8-aligned\");\n\
         int main() { sess_variant v; sess_variant_init(&v); return sess_variant_clear(&v); }\n",
    )
    .unwrap();
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    run(Command::new(cxx)
        .args([
            "-std=c++11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
            "-I",
        ])
        .arg(root().join("include"))
        .arg(&src))
    .unwrap();
}
