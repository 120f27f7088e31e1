//! The committed header (`include/sess.h`) must be what cbindgen makes from
//! the source now. `SESS_UPDATE_HEADER=1 cargo test --test header` rewrites it.

use std::path::Path;

fn generate() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut config = cbindgen::Config::from_file(Path::new(root).join("cbindgen.toml"))
        .expect("cbindgen.toml parses");
    config.after_includes = Some(format!(
        "\n{}\n/* Declared below; the object vtable refers to it first. */\nstruct sess_unknown;\n",
        sess::ffi::constants::header_defines()
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
