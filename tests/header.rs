//! The committed header (`include/sess.h`) must be what cbindgen makes from
//! the source now. `SESS_UPDATE_HEADER=1 cargo test --test header` rewrites it.
//! The header compiles as C++17 without old-style casts.

mod common;
#[path = "header/defines.rs"]
mod defines;

use std::path::Path;
use std::process::Command;

fn generate() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut config = cbindgen::Config::from_file(Path::new(root).join("cbindgen.toml"))
        .expect("cbindgen.toml parses");
    config.after_includes = Some(format!(
        "\n{}\n/* Declared below; the object vtable refers to it first. */\nstruct sess_unknown;\n",
        defines::render()
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_matches_the_source() {
    let fresh = generate();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/sess.h");
    if std::env::var_os("SESS_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write include/sess.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/sess.h differs from the Rust source; regenerate it with \
         `SESS_UPDATE_HEADER=1 cargo test --test header` and commit it"
    );
}

#[test]
fn header_declares_the_contract() {
    let h = generate();
    for decl in [
        "typedef int32_t sess_result;",
        "typedef uint16_t sess_vartype;",
        "void sess_variant_init(struct sess_variant *v);",
        "sess_result sess_variant_clear(struct sess_variant *v);",
        "sess_result sess_variant_copy(struct sess_variant *dst, const struct sess_variant *src);",
        "sess_result sess_app_create(const struct sess_app_options *opts, struct sess_app **out);",
        "void sess_app_release(struct sess_app *app);",
        "sess_result sess_session_create(struct sess_app *app, struct sess_session **out);",
        "sess_result sess_session_close(struct sess_session *s);",
        "sess_result sess_abandon(struct sess_session *s);",
    ] {
        assert!(h.contains(decl), "missing: {decl}");
    }
}

#[test]
fn codes_render_as_int_literals_with_their_hex_in_a_comment() {
    let h = defines::render();
    assert!(h.contains("#define SESS_E_POINTER (-0x7FFFBFFD) /* 0x80004003: "));
    assert!(h.contains("#define SESS_DISP_E_BADINDEX (-0x7FFDFFF5) /* 0x8002000B: "));
    assert!(h.contains("#define SESS_S_FALSE 1 /* 0x00000001: "));
    assert!(h.contains("#define SESS_VT_ARRAY 0x2000"));
    assert!(h.contains(&format!(
        "#define SESS_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION")
    )));
    assert_eq!(defines::code_literal(i32::MIN), "(-0x7FFFFFFF - 1)");
    assert!(
        !h.contains(")0x") && !h.contains("(int16_t)"),
        "a cast:\n{h}"
    );
}

/// Every result-code macro, compiled by a C++17 compiler with old-style
/// casts as errors, has the library's value.
#[test]
fn header_is_cpp17_clean_and_the_codes_have_their_values() {
    let mut src = String::from("#include \"sess.h\"\n");
    for (name, code) in sess::error::ALL {
        src.push_str(&format!(
            "static_assert(SESS_{name} == {code}, \"SESS_{name}\");\n\
             static_assert(sizeof(SESS_{name}) == sizeof(sess_result), \"int-sized\");\n"
        ));
    }
    src.push_str(
        "static_assert(SESS_VARIANT_TRUE == -1 && SESS_VARIANT_FALSE == 0, \"bools\");\n\
         int main() { sess_result r = SESS_E_POINTER; return r == SESS_S_OK; }\n",
    );
    let file = common::out_dir().join("header_cpp17.cpp");
    std::fs::write(&file, src).unwrap();
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    common::run(
        Command::new(cxx)
            .args([
                "-std=c++17",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-Wold-style-cast",
                "-pedantic",
                "-fsyntax-only",
                "-I",
            ])
            .arg(common::root().join("include"))
            .arg(&file),
    )
    .unwrap();
}

/// Compiles `tests/abi/sess-abi-0.c` (the ABI of major version 0, frozen
/// by `scripts/abi_baseline.py`) against the header in `include_dir`.
fn check_abi_0(include_dir: &Path) -> Result<String, String> {
    common::run(
        Command::new(common::cc())
            .args([
                "-std=gnu11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-fsyntax-only",
                "-I",
            ])
            .arg(include_dir)
            .arg(common::root().join("tests/abi/sess-abi-0.c")),
    )
}

/// The header only gains: everything the frozen 0.x ABI declared keeps its
/// type, layout and value.
#[test]
fn the_header_keeps_the_abi_of_major_version_0() {
    check_abi_0(&common::root().join("include")).unwrap();
}

/// The frozen ABI's checks catch each kind of breaking change: a member
/// retyped (and the ones after it moved), a parameter losing `const`, a
/// constant's value, a member inserted into a fixed-size struct, a COM
/// method's return type.
#[test]
fn the_abi_check_fails_for_each_kind_of_breaking_change() {
    let header = std::fs::read_to_string(common::root().join("include/sess.h")).unwrap();
    for (from, to, named) in [
        (
            "uint32_t lock_timeout_ms;",
            "uint64_t lock_timeout_ms;",
            "sess_app_options.lock_timeout_ms keeps its type",
        ),
        (
            "sess_result sess_app_create(const struct sess_app_options *opts,",
            "sess_result sess_app_create(struct sess_app_options *opts,",
            "sess_app_create keeps its type",
        ),
        (
            "#define SESS_VT_UI8 21",
            "#define SESS_VT_UI8 22",
            "SESS_VT_UI8 keeps its value",
        ),
        (
            "  uint16_t reserved1;",
            "  uint16_t reserved1;\n  uint16_t added;",
            "sess_variant keeps its size",
        ),
        (
            "uint32_t (*add_ref)(struct sess_unknown *object);",
            "uint64_t (*add_ref)(struct sess_unknown *object);",
            "sess_unknown_vtbl.add_ref keeps its type",
        ),
    ] {
        assert_eq!(header.matches(from).count(), 1, "one {from:?} in sess.h");
        let dir = common::fresh_out_path("abi-broken");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sess.h"), header.replacen(from, to, 1)).unwrap();
        let err = check_abi_0(&dir).expect_err(&format!("{to:?} breaks the ABI"));
        assert!(err.contains(named), "{to:?} should fail {named:?}:\n{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
