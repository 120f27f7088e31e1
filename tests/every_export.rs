//! Every export of `include/sess.h` × bad input, generated from the header at
//! test time: for each function and each parameter, a call with that one
//! parameter bad (NULL pointer, invalid UTF-8, a bad `vt`, a length larger
//! than any object, a too-small buffer, an out-of-range scalar) and the rest
//! valid. Each call must return a code the header defines (the exact one
//! where the contract names it: `SESS_E_POINTER` for a NULL handle or out
//! slot), and a failed call must leave its outputs untouched.
//!
//! The header is parsed here, so a new export is covered without editing
//! this file; a parameter whose type and name this file cannot classify
//! fails the test (add it to `classify`), never skipped silently.

mod common;

use std::fmt::Write as _;
use std::process::Command;

use common::{build, out_dir, root, run};

/// One C parameter.
#[derive(Debug, Clone)]
struct Param {
    ty: String,
    name: String,
}

/// One exported function.
#[derive(Debug)]
struct Export {
    ret: String,
    name: String,
    params: Vec<Param>,
}

/// What a call with one bad argument must return.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Exactly this `SESS_` code.
    Code(&'static str),
    /// Some failure code the header defines.
    Failure,
    /// Any code the header defines (the argument may be legal, e.g. an
    /// optional pointer).
    Defined,
    /// `SESS_E_POINTER`, or a success: a pointer that is either required
    /// or optional.
    PointerOrSuccess,
}

/// How one parameter (or a pointer+length pair) is passed.
#[derive(Debug, Clone)]
enum Kind {
    /// A live handle from the fixture (`f.<field>`).
    Handle(&'static str),
    /// A handle only the library makes and no fixture offers (its NULL
    /// case is still run).
    NoValidValue,
    /// `T **out`: receives a handle.
    OutHandle(String),
    /// `T *out_x`: receives a scalar.
    OutScalar(String),
    /// `const T *new_x`: an optional new value.
    InScalar(String, &'static str),
    /// A NUL-terminated string; `lossy`: invalid UTF-8 is replaced, not
    /// refused (`sess_error_set`'s diagnostic text).
    Str {
        valid: &'static str,
        optional: bool,
        lossy: bool,
    },
    /// A pointer and a length (consumes the next parameter).
    Bytes { text: bool, void: bool },
    /// `char *buf, size_t buf_len` (consumes the next parameter).
    Buf,
    /// `const struct sess_variant *`.
    VariantIn,
    /// `struct sess_variant *`.
    VariantOut,
    /// A struct the caller fills (options, request info) or an init target.
    Struct { ty: String, init: Option<String> },
    /// A scalar: its valid value and a bad one with its expectation.
    Scalar(&'static str, Option<(&'static str, Expect)>),
}

/// The header's result-code macros (`SESS_` + every name the library's
/// code table defines; the header test keeps the header in step with it).
fn result_codes() -> Vec<String> {
    sess::error::ALL
        .iter()
        .map(|(name, _)| format!("SESS_{name}"))
        .collect()
}

/// The function prototypes, comments removed and whitespace collapsed.
fn exports(header: &str) -> Vec<Export> {
    let mut text = String::new();
    let mut rest = header;
    while let Some(i) = rest.find("/*") {
        text.push_str(&rest[..i]);
        rest = &rest[rest[i..].find("*/").map_or(rest.len(), |j| i + j + 2)..];
    }
    text.push_str(rest);
    let text: String = text
        .lines()
        .map(str::trim)
        // Preprocessor lines, and C++'s `extern "C" { ... }` around it all.
        .filter(|l| !l.starts_with('#') && !l.starts_with("//"))
        .filter(|&l| l != "extern \"C\" {" && !l.starts_with("}  // extern"))
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Struct and union bodies (their function-pointer fields are no
    // exports) go; what stands between them is declarations.
    let mut top = String::new();
    let mut depth = 0usize;
    for ch in text.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth == 0 => top.push(ch),
            _ => {}
        }
    }
    top.split(';')
        .map(str::trim)
        .filter(|stmt| !stmt.starts_with("typedef") && stmt.contains("sess_"))
        .filter_map(parse_proto)
        .collect()
}

fn parse_proto(stmt: &str) -> Option<Export> {
    let open = stmt.find('(')?;
    let head = stmt[..open].trim();
    let name = head.rsplit([' ', '*']).next()?.to_string();
    if !name.starts_with("sess_") || !stmt.ends_with(')') {
        return None;
    }
    let ret = head[..head.len() - name.len()].trim().to_string();
    let args = &stmt[open + 1..stmt.len() - 1];
    let params = if args.trim() == "void" {
        Vec::new()
    } else {
        args.split(',')
            .map(|a| {
                let a = a.trim();
                let split = a.rfind([' ', '*']).expect("a named parameter") + 1;
                Param {
                    ty: a[..split].trim().to_string(),
                    name: a[split..].to_string(),
                }
            })
            .collect()
    };
    Some(Export { ret, name, params })
}

/// How parameter `i` of `e` is passed, or why it cannot be classified.
fn classify(e: &Export, i: usize) -> Result<Kind, String> {
    let p = &e.params[i];
    let next = e.params.get(i + 1);
    let ty = p.ty.replace("const ", "");
    let is_const = p.ty.starts_with("const ");
    let name = p.name.as_str();
    let next_is_len = next.is_some_and(|n| n.ty == "size_t" && n.name.ends_with("len"));
    let handle = |t: &str| -> Option<&'static str> {
        Some(match t {
            "struct sess_app *" => "f.app",
            "struct sess_session *" => "f.s",
            "struct sess_array *" => "f.arr",
            "struct sess_site *" => "f.site",
            "struct sess_request *" => "f.req",
            _ => return None,
        })
    };
    if let Some(field) = handle(&ty) {
        return Ok(Kind::Handle(field));
    }
    if ty == "struct sess_buffer *" || ty == "struct sess_buffer_list *" {
        return Ok(Kind::NoValidValue);
    }
    if let Some(t) = ty.strip_suffix(" **") {
        if t.starts_with("struct sess_") {
            return Ok(Kind::OutHandle(format!("{t} *")));
        }
    }
    // A lent string or run of bytes: `const char **out` / `const uint8_t
    // **out_data` receives a pointer into the library.
    if let Some(t @ ("char *" | "uint8_t *")) = ty.strip_suffix('*') {
        if is_const && name.starts_with("out") {
            return Ok(Kind::OutScalar(format!("const {t}")));
        }
    }
    if ty == "char *" && !is_const && next_is_len {
        return Ok(Kind::Buf);
    }
    if (ty == "char *" || ty == "void *") && is_const && next_is_len {
        return Ok(Kind::Bytes {
            text: matches!(name, "text" | "utf8"),
            void: ty == "void *",
        });
    }
    if ty == "char *" && is_const {
        let (valid, optional, lossy) = match name {
            "message" => ("\"m\"", false, true),
            "name" => ("\"k\"", false, false),
            "id" => ("f.id", false, false),
            "virtual_path" => ("\"/x\"", false, false),
            "url" => ("\"/a\"", false, false),
            "new_text" => ("\"t\"", true, false),
            "a" | "b" => ("\"a\"", false, false),
            _ => return Err(format!("string parameter {name}")),
        };
        return Ok(Kind::Str {
            valid,
            optional,
            lossy,
        });
    }
    if ty == "struct sess_variant *" {
        return Ok(if is_const {
            Kind::VariantIn
        } else {
            Kind::VariantOut
        });
    }
    if let Some(scalar) = ty.strip_suffix(" *") {
        if matches!(
            scalar,
            "size_t"
                | "bool"
                | "uint8_t"
                | "int16_t"
                | "uint32_t"
                | "int32_t"
                | "uint64_t"
                | "int64_t"
                | "double"
                | "sess_result"
                | "sess_vartype"
        ) {
            if is_const && name.starts_with("new_") {
                let valid = match name {
                    "new_minutes" => "30",
                    "new_lcid" => "0x0409",
                    "new_cp" => "65001",
                    _ => return Err(format!("new-value parameter {name}")),
                };
                return Ok(Kind::InScalar(scalar.to_string(), valid));
            }
            if !is_const && name.starts_with("out") {
                return Ok(Kind::OutScalar(scalar.to_string()));
            }
        }
        if scalar.starts_with("struct sess_") {
            let init = format!("{}_init", scalar.trim_start_matches("struct "));
            let init = match scalar {
                "struct sess_app_counters" => Some("sess_app_stats_init".to_string()),
                _ => Some(init),
            };
            return Ok(Kind::Struct {
                ty: scalar.to_string(),
                init,
            });
        }
    }
    let fail = Expect::Failure;
    Ok(Kind::Scalar(
        match (ty.as_str(), name) {
            ("uint32_t", "codepage") => return Ok(Kind::Scalar("65001", Some(("1", fail)))),
            ("uint32_t", "flags") => {
                return Ok(Kind::Scalar("0", Some(("0x80000000u", fail))));
            }
            ("uint16_t", "flags") => {
                return Ok(Kind::Scalar("0", Some(("0x8000", Expect::Defined))));
            }
            ("uint32_t", "lcid") => return Ok(Kind::Scalar("0x0409", Some(("0xABCD", fail)))),
            ("sess_vartype", "vt") => {
                return Ok(Kind::Scalar(
                    "SESS_VT_BSTR",
                    Some(("0x7FFF", Expect::Code("SESS_DISP_E_BADVARTYPE"))),
                ));
            }
            ("size_t", "index") => return Ok(Kind::Scalar("0", Some(("SIZE_MAX", fail)))),
            ("size_t", "len") => return Ok(Kind::Scalar("2", Some(("SIZE_MAX", fail)))),
            // `*_init_sized(p, size)`: the struct is the first argument, `a0`.
            ("size_t", "size") if e.name.ends_with("_init_sized") => {
                return Ok(Kind::Scalar("sizeof a0", Some(("3", fail))));
            }
            ("uint32_t", "session_use") => return Ok(Kind::Scalar("0", Some(("99", fail)))),
            ("sess_result", "code") => {
                return Ok(Kind::Scalar(
                    "SESS_E_FAIL",
                    Some(("0x12345", Expect::Defined)),
                ));
            }
            ("bool", "failed") => "false",
            // The typed setters' values: every value of these types is valid
            // except a date past OLE's range.
            ("double", "value") if e.name.ends_with("_date") => {
                return Ok(Kind::Scalar("1.0", Some(("1e300", fail))));
            }
            (
                "bool" | "uint8_t" | "int16_t" | "uint32_t" | "int32_t" | "uint64_t" | "int64_t"
                | "double",
                "value",
            ) => "1",
            _ => return Err(format!("parameter {} {name}", p.ty)),
        },
        None,
    ))
}

/// How each parameter of `e` is passed (`None`: a length its pointer
/// consumed), or the parameters `classify` cannot classify.
fn kinds(e: &Export) -> Result<Vec<Option<Kind>>, Vec<String>> {
    let mut kinds = Vec::new();
    let mut unclassified = Vec::new();
    let mut skip_next = false;
    for i in 0..e.params.len() {
        if std::mem::take(&mut skip_next) {
            kinds.push(None);
            continue;
        }
        match classify(e, i) {
            Ok(k) => {
                skip_next = matches!(k, Kind::Buf | Kind::Bytes { .. });
                kinds.push(Some(k));
            }
            Err(why) => unclassified.push(format!("{}: {why}", e.name)),
        }
    }
    if unclassified.is_empty() {
        Ok(kinds)
    } else {
        Err(unclassified)
    }
}

/// Functions that end the handle they are given, even when they fail (as
/// the header documents), unless it is lent (`SESS_E_WRONG_STATE`) or an
/// output has a bad tag (`SESS_DISP_E_BADVARTYPE`, refused first).
fn consumes(name: &str) -> bool {
    ["_close", "_discard", "_end"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Functions that free their only argument and return nothing: only NULL
/// (a no-op) is passed (a fixture handle would be freed twice).
fn frees(e: &Export) -> bool {
    e.ret == "void" && (e.name.ends_with("_release") || e.name.ends_with("_destroy"))
}

/// The C for one call of `e` with parameter `bad` made bad in `how` way.
struct Case {
    decls: String,
    args: Vec<String>,
    expect: Expect,
    label: String,
    /// C checks that outputs are untouched (run when the call failed).
    untouched: Vec<String>,
    after: String,
}

/// `case`'s `bad` for a call with every argument valid.
const VALID: usize = usize::MAX;

/// Builds the valid arguments of `e`, the bad one at parameter `bad` with
/// variant `how` (0, 1, ... until `None`); `bad` [`VALID`]: none bad. With
/// `probe`, a `char *buf, size_t buf_len` pair and an `out_len` are passed
/// as the C names `buf`, `buf_len` and `out_len` (`probe_fn`'s parameters).
fn case(e: &Export, kinds: &[Option<Kind>], bad: usize, how: usize, probe: bool) -> Option<Case> {
    let mut c = Case {
        decls: String::new(),
        args: Vec::new(),
        expect: Expect::Defined,
        label: String::new(),
        untouched: Vec::new(),
        after: String::new(),
    };
    let mut bad_used = false;
    for (i, kind) in kinds.iter().enumerate() {
        let Some(kind) = kind else { continue }; // a consumed length
        let me = i == bad;
        let mut arg = |c: &mut Case, valid: String, bads: &[(&str, Expect)]| {
            if me {
                if let Some((b, expect)) = bads.get(how) {
                    c.args.push(b.to_string());
                    c.expect = *expect;
                    c.label = format!("{} = {b}", e.params[i].name);
                    bad_used = true;
                    return;
                }
            }
            c.args.push(valid);
        };
        let v = format!("a{i}");
        match kind {
            Kind::Handle(field) => arg(
                &mut c,
                field.to_string(),
                &[("NULL", Expect::Code("SESS_E_POINTER"))],
            ),
            Kind::NoValidValue => {
                if !me {
                    return None; // no valid value: only its own NULL case runs
                }
                arg(
                    &mut c,
                    String::new(),
                    &[("NULL", Expect::Code("SESS_E_POINTER"))],
                )
            }
            Kind::OutHandle(t) => {
                let _ = writeln!(c.decls, "    {t}{v} = ({t})SENT;");
                c.untouched.push(format!("{v} == ({t})SENT"));
                arg(
                    &mut c,
                    format!("&{v}"),
                    &[("NULL", Expect::Code("SESS_E_POINTER"))],
                );
            }
            Kind::OutScalar(_) if probe && e.params[i].name == "out_len" => {
                c.args.push("out_len".to_string());
            }
            Kind::OutScalar(t) => {
                let _ = writeln!(c.decls, "    {t} {v}; memset(&{v}, 0xA5, sizeof {v});");
                let check = format!("is_a5(&{v}, sizeof {v})");
                // A too-small buffer reports the length it needs.
                if !e.params[i].name.ends_with("len") {
                    c.untouched.push(check);
                }
                arg(
                    &mut c,
                    format!("&{v}"),
                    &[("NULL", Expect::PointerOrSuccess)],
                );
            }
            Kind::InScalar(t, valid) => {
                let _ = writeln!(c.decls, "    const {t} {v} = {valid};\n    (void){v};");
                arg(
                    &mut c,
                    format!("&{v}"),
                    &[("NULL", Expect::PointerOrSuccess)],
                );
            }
            Kind::Str {
                valid,
                optional,
                lossy,
            } => {
                let null = if *optional {
                    Expect::Defined
                } else {
                    Expect::Code("SESS_E_POINTER")
                };
                let utf8 = if *lossy {
                    Expect::Defined
                } else {
                    Expect::Code("SESS_E_INVALIDARG")
                };
                arg(
                    &mut c,
                    valid.to_string(),
                    &[("NULL", null), ("\"\\xff\\xfek\"", utf8)],
                );
            }
            Kind::Bytes { text, void } => {
                let cast = if *void { "(const void *)" } else { "" };
                let utf8 = if *text {
                    Expect::Code("SESS_E_INVALIDARG")
                } else {
                    Expect::Defined
                };
                if me {
                    let (p, n, expect) = match how {
                        0 => ("NULL".to_string(), "3", Expect::Code("SESS_E_POINTER")),
                        1 => (format!("{cast}\"\\xff\\xfe\""), "2", utf8),
                        2 => (
                            format!("{cast}\"abc\""),
                            "(size_t)PTRDIFF_MAX + 1",
                            Expect::Failure,
                        ),
                        _ => return None,
                    };
                    c.label = format!("{} = {p}, {n}", e.params[i].name);
                    c.args.push(p);
                    c.args.push(n.to_string());
                    c.expect = expect;
                    bad_used = true;
                } else {
                    c.args.push(format!("{cast}\"abc\""));
                    c.args.push("3".to_string());
                }
            }
            Kind::Buf if probe => {
                c.args.push("buf".to_string());
                c.args.push("buf_len".to_string());
            }
            Kind::Buf => {
                let _ = writeln!(c.decls, "    char {v}[256]; memset({v}, 'Z', sizeof {v});");
                c.untouched.push(format!("{v}[0] == 'Z'"));
                if me {
                    let (p, n, expect) = match how {
                        0 => ("NULL".to_string(), "256", Expect::Code("SESS_E_POINTER")),
                        1 => (v.clone(), "1", Expect::Defined),
                        _ => return None,
                    };
                    c.label = format!("{} = {p}, {n}", e.params[i].name);
                    c.args.push(p);
                    c.args.push(n.to_string());
                    c.expect = expect;
                    bad_used = true;
                } else {
                    c.args.push(v.clone());
                    c.args.push(format!("sizeof {v}"));
                }
            }
            Kind::VariantIn => {
                let _ = writeln!(
                    c.decls,
                    "    sess_variant {v}; sess_variant_init(&{v}); {v}.vt = SESS_VT_I4; {v}.v.lVal = 7;"
                );
                let _ = writeln!(
                    c.decls,
                    "    sess_variant {v}b; memset(&{v}b, 0, sizeof {v}b); {v}b.vt = 0x7FFF;"
                );
                // A string that is not UTF-8, a date past OLE's range.
                let _ = writeln!(
                    c.decls,
                    "    static char {v}x[] = \"\\xff\\xfe\";\n    sess_variant {v}u; memset(&{v}u, 0, sizeof {v}u); {v}u.vt = SESS_VT_BSTR; {v}u.v.bstrVal.ptr = {v}x; {v}u.v.bstrVal.len = 2;"
                );
                let _ = writeln!(
                    c.decls,
                    "    sess_variant {v}d; memset(&{v}d, 0, sizeof {v}d); {v}d.vt = SESS_VT_DATE; {v}d.v.date = 1e300;"
                );
                arg(
                    &mut c,
                    format!("&{v}"),
                    &[
                        ("NULL", Expect::Code("SESS_E_POINTER")),
                        (&format!("&{v}b"), Expect::Code("SESS_DISP_E_BADVARTYPE")),
                        (&format!("&{v}u"), Expect::Code("SESS_E_INVALIDARG")),
                        (&format!("&{v}d"), Expect::Code("SESS_E_INVALIDARG")),
                    ],
                );
            }
            Kind::VariantOut => {
                let _ = writeln!(c.decls, "    sess_variant {v}; sess_variant_init(&{v});");
                let _ = writeln!(
                    c.decls,
                    "    sess_variant {v}b; memset(&{v}b, 0, sizeof {v}b); {v}b.vt = 0x7FFF;"
                );
                if me && how == 1 {
                    c.untouched.push(format!("{v}b.vt == 0x7FFF"));
                } else {
                    c.untouched.push(format!("{v}.vt == SESS_VT_EMPTY"));
                }
                let _ = writeln!(c.after, "    sess_variant_clear(&{v});");
                arg(
                    &mut c,
                    format!("&{v}"),
                    &[
                        ("NULL", Expect::PointerOrSuccess),
                        (&format!("&{v}b"), Expect::Code("SESS_DISP_E_BADVARTYPE")),
                    ],
                );
            }
            Kind::Struct { ty, init } => {
                let _ = writeln!(c.decls, "    {ty} {v}; memset(&{v}, 0, sizeof {v});");
                let is_init = init.as_deref() == Some(e.name.as_str());
                match (init, is_init) {
                    (Some(init), false) => {
                        let _ = writeln!(c.decls, "    {init}(&{v});");
                    }
                    (None, _) => {
                        let _ = writeln!(
                            c.decls,
                            "    fill_{}(&{v}, &f);",
                            ty.trim_start_matches("struct ")
                        );
                    }
                    _ => {}
                }
                arg(
                    &mut c,
                    format!("&{v}"),
                    &[("NULL", Expect::PointerOrSuccess)],
                );
            }
            Kind::Scalar(valid, bad) => {
                let bads: Vec<(&str, Expect)> = bad.iter().copied().collect();
                arg(&mut c, valid.to_string(), &bads);
            }
        }
    }
    (bad_used || bad == VALID).then_some(c)
}

/// Fixture and helpers the generated calls share.
const PRELUDE: &str = r#"/* Generated by tests/every_export.rs from include/sess.h: do not edit. */
#include "sess.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures, calls;
static char sentinel_byte;
#define SENT ((void *)&sentinel_byte)

typedef struct fixture {
    sess_app *app;
    sess_session *s;
    sess_array *arr;
    sess_site *site;
    sess_request *req;
    char id[64];
} fixture;

static void fill_sess_request_info(sess_request_info *ri, const fixture *f)
{
    (void)f;
    memset(ri, 0, sizeof *ri);
    ri->struct_size = (uint32_t)sizeof *ri;
    ri->session_use = SESS_USE_EXCLUSIVE;
    ri->path = "/";
}

/* The fixture's one static object: declared, never made. */
static sess_result no_factory(void *context, const char *name, sess_unknown **out)
{
    (void)context;
    (void)name;
    (void)out;
    return SESS_E_NOTIMPL;
}

static void setup(fixture *f)
{
    static sess_static_object_decl decl = {"Obj", no_factory, NULL};
    sess_app_options o;
    sess_web_options w;
    sess_request_info ri;
    sess_variant v;
    memset(f, 0, sizeof *f);
    sess_app_options_init(&o);
    o.expiry_interval_ms = 0;
    o.lock_timeout_ms = 20;
    o.static_objects = &decl;
    o.static_object_count = 1;
    sess_app_create(&o, &f->app);
    sess_session_create(f->app, &f->s);
    sess_variant_init(&v);
    v.vt = SESS_VT_I4;
    v.v.lVal = 1;
    sess_value_set(f->s, "k", &v);
    sess_session_id(f->s, f->id, sizeof f->id, NULL);
    sess_array_create(2, &f->arr);
    sess_site_create(&f->site);
    sess_web_options_init(&w);
    sess_site_add(f->site, "/", f->app, &w);
    fill_sess_request_info(&ri, f);
    sess_request_begin(f->site, &ri, &f->req);
    if (!f->app || !f->s || !f->arr || !f->site || !f->req) {
        printf("fixture setup failed\n");
        failures++;
    }
}

static void teardown(fixture *f)
{
    sess_variant v;
    sess_variant_init(&v);
    if (f->req)
        sess_request_end(f->req, false, &v);
    sess_variant_clear(&v);
    if (f->s)
        sess_session_close(f->s);
    sess_array_destroy(f->arr);
    sess_site_release(f->site);
    sess_app_release(f->app);
}

static int is_a5(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != 0xA5)
            return 0;
    return 1;
}

static void fail(const char *call, const char *what, sess_result rc)
{
    printf("FAIL %s: %s (returned 0x%08X)\n", call, what, (unsigned)rc);
    failures++;
}

/* The detail of the failure prime() makes: no call under test gives it
   (the bad size tried is 3). */
static char primed[256];

/* Makes a known failure this thread's last error. */
static void prime(void)
{
    sess_app_options o;
    sess_app_options_init_sized(&o, 5);
    sess_error_last(NULL, primed, sizeof primed, NULL);
}

/* After a failure the last error is that failure (its code, a detail);
   after a success it is still prime()'s. */
static void check_last_error(const char *call, sess_result rc)
{
    char detail[4096];
    sess_result code = 0;
    size_t n = 0;
    sess_result got = sess_error_last(&code, detail, sizeof detail, &n);
    if (got != SESS_S_OK)
        fail(call, "sess_error_last failed", got);
    else if (rc < 0 && (code != rc || n == 0 || strcmp(detail, primed) == 0))
        fail(call, "the last error is not this failure", rc);
    else if (rc >= 0 && (code != SESS_E_INVALID_OPTION || strcmp(detail, primed) != 0))
        fail(call, "a success changed the last error", rc);
}
"#;

#[test]
fn every_export_refuses_bad_input_with_a_defined_code_and_untouched_outputs() {
    let header = std::fs::read_to_string(root().join("include/sess.h")).expect("read sess.h");
    let codes = result_codes();
    let exports = exports(&header);
    assert!(exports.len() >= 60, "parsed only {} exports", exports.len());
    assert!(codes.iter().any(|c| c == "SESS_E_POINTER"));

    let mut c = String::from(PRELUDE);
    let _ = writeln!(
        c,
        "\nstatic int defined(sess_result rc)\n{{\n    switch (rc) {{"
    );
    for code in &codes {
        let _ = writeln!(c, "    case {code}:");
    }
    let _ = writeln!(
        c,
        "        return 1;\n    default:\n        return 0;\n    }}\n}}\n"
    );

    let mut unclassified = Vec::new();
    let mut bodies = Vec::new();
    let mut total = 0;
    for e in &exports {
        let kinds = match kinds(e) {
            Ok(kinds) => kinds,
            Err(why) => {
                unclassified.extend(why);
                continue;
            }
        };
        if e.params.is_empty() {
            // sess_version(): a static string.
            let _ = writeln!(
                c,
                "static void t_{0}(void)\n{{\n    calls++;\n    if (!{0}())\n        fail(\"{0}()\", \"returned NULL\", 0);\n}}\n",
                e.name
            );
            bodies.push(format!("t_{}", e.name));
            total += 1;
            continue;
        }
        let mut n = 0;
        let _ = writeln!(c, "static void t_{}(void)\n{{", e.name);
        for bad in std::iter::once(VALID).chain(0..e.params.len()) {
            if frees(e) && bad != 0 {
                continue;
            }
            for how in 0.. {
                if bad == VALID && how > 0 {
                    break;
                }
                let Some(case) = case(e, &kinds, bad, how, false) else {
                    if how > 3 {
                        break;
                    }
                    continue;
                };
                n += usize::from(bad != VALID);
                total += 1;
                let call = format!("{}({})", e.name, case.args.join(", "));
                let what = if bad == VALID {
                    "valid arguments"
                } else {
                    &case.label
                };
                let label = format!("{}: {what}", e.name).replace('"', "\\\"");
                let rc = if e.ret == "void" {
                    ""
                } else {
                    "\n    sess_result rc;"
                };
                let _ = writeln!(c, "  {{\n    fixture f;{rc}\n    setup(&f);");
                c.push_str(&case.decls);
                let _ = writeln!(c, "    prime();\n    calls++;");
                if e.ret == "void" {
                    let _ = writeln!(c, "    {call};");
                } else {
                    let _ = writeln!(c, "    rc = {call};");
                    let _ = writeln!(
                        c,
                        "    if (!defined(rc))\n        fail(\"{label}\", \"an undefined code\", rc);"
                    );
                    match case.expect {
                        Expect::Code(code) => {
                            let _ = writeln!(c, "    if (rc != {code})\n        fail(\"{label}\", \"expected {code}\", rc);");
                        }
                        Expect::Failure => {
                            let _ = writeln!(c, "    if (rc >= 0)\n        fail(\"{label}\", \"expected a failure\", rc);");
                        }
                        Expect::PointerOrSuccess => {
                            let _ = writeln!(c, "    if (rc < 0 && rc != SESS_E_POINTER)\n        fail(\"{label}\", \"expected SESS_E_POINTER or a success\", rc);");
                        }
                        Expect::Defined => {}
                    }
                    for check in &case.untouched {
                        let what =
                            format!("output touched on failure: {check}").replace('"', "\\\"");
                        let _ = writeln!(c, "    if (rc < 0 && !({check}))\n        fail(\"{label}\", \"{what}\", rc);");
                    }
                    // The error functions do not change the last error.
                    if !e.name.starts_with("sess_error_") {
                        let _ = writeln!(c, "    check_last_error(\"{label}\", rc);");
                    }
                    if consumes(&e.name) && bad != 0 {
                        let field = match kinds.first() {
                            Some(Some(Kind::Handle(field))) => *field,
                            _ => panic!("{}: consumes what?", e.name),
                        };
                        // Kept when lent, or when an output it would
                        // write has a bad tag (refused before it acts).
                        let _ = writeln!(
                            c,
                            "    if (rc != SESS_E_WRONG_STATE && rc != SESS_DISP_E_BADVARTYPE)\n        {field} = NULL;"
                        );
                    }
                }
                c.push_str(&case.after);
                let _ = writeln!(c, "    teardown(&f);\n  }}");
            }
        }
        let _ = writeln!(c, "}}\n");
        assert!(n > 0 || frees(e), "{}: no bad-input case generated", e.name);
        bodies.push(format!("t_{}", e.name));
    }
    assert!(
        unclassified.is_empty(),
        "parameters this test cannot classify (teach `classify` about them):\n{}",
        unclassified.join("\n")
    );
    let _ = writeln!(c, "int main(void)\n{{");
    for b in &bodies {
        let _ = writeln!(c, "    {b}();");
    }
    let _ = writeln!(
        c,
        "    printf(\"%d calls, %d failures\\n\", calls, failures);\n    return failures != 0;\n}}"
    );

    let src = out_dir().join("every_export.c");
    std::fs::write(&src, c).expect("write the generated program");
    let exe = build(&src).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&mut Command::new(&exe)).unwrap_or_else(|e| panic!("{e}"));
    println!("{out}");
    assert!(
        out.contains(&format!("{total} calls, 0 failures")) || total == 0,
        "{out}"
    );
}

/// The checks of one string-out export, called through its `probe_<name>`
/// (the fixture's valid arguments, and the caller's `buf`, `buf_len` and
/// `out_len`): `buf` NULL with `buf_len` 0 asks the length (a failure
/// `SESS_E_INSUFFICIENT_BUFFER`, or a success where the header says so);
/// a buffer of exactly that length (no room for the NUL) is
/// `SESS_E_INSUFFICIENT_BUFFER`, the length reported again and nothing
/// written; one byte more succeeds with the text, its NUL and nothing past
/// them; `out_len` NULL is allowed.
const CHECK_BUF: &str = r#"
typedef sess_result (*probe_fn)(fixture f, char *buf, size_t buf_len, size_t *out_len);

static int all_z(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != 'Z')
            return 0;
    return 1;
}

static void check_buf(const char *name, probe_fn call)
{
    fixture f;
    char buf[512];
    size_t need = 99999, len = 99999;
    sess_result rc, full;
    setup(&f);
    calls++;
    rc = call(f, NULL, 0, &need);
    if ((rc < 0 && rc != SESS_E_INSUFFICIENT_BUFFER) || need == 99999) {
        fail(name, "buf NULL, buf_len 0: no length needed", rc);
        goto out;
    }
    if (need + 2 > sizeof buf) {
        fail(name, "the text is too long for this test", rc);
        goto out;
    }
    memset(buf, 'Z', sizeof buf);
    rc = call(f, buf, need, &len);
    if (!(rc == SESS_E_INSUFFICIENT_BUFFER || (need == 0 && rc >= 0)))
        fail(name, "no room for the NUL: expected SESS_E_INSUFFICIENT_BUFFER", rc);
    if (rc < 0 && len != need)
        fail(name, "too small: *out_len is not the length needed", rc);
    if (rc < 0 && !all_z(buf, sizeof buf))
        fail(name, "too small: buf was written", rc);
    memset(buf, 'Z', sizeof buf);
    len = 99999;
    full = call(f, buf, need + 1, &len);
    if (full < 0)
        fail(name, "a buffer of the length needed and its NUL was refused", full);
    else if (len != need || buf[need] != 0 || memchr(buf, 0, need) || !all_z(buf + need + 1, sizeof buf - need - 1))
        fail(name, "*out_len, the text and its NUL do not agree", full);
    memset(buf, 'Z', sizeof buf);
    rc = call(f, buf, sizeof buf, NULL);
    if (rc != full || buf[need] != 0)
        fail(name, "out_len NULL: not the same result", rc);
out:
    teardown(&f);
}
"#;

#[test]
fn every_string_out_export_follows_the_buffer_convention() {
    let header = std::fs::read_to_string(root().join("include/sess.h")).expect("read sess.h");
    let mut c = format!("{PRELUDE}{CHECK_BUF}");
    let mut checked = Vec::new();
    for e in exports(&header) {
        let has = |name: &str| e.params.iter().any(|p| p.name == name);
        if !(has("buf") && has("buf_len") && has("out_len")) {
            continue;
        }
        let kinds = kinds(&e).unwrap_or_else(|why| panic!("{}", why.join("\n")));
        let case = case(&e, &kinds, VALID, 0, true).expect("valid arguments");
        let _ = writeln!(
            c,
            "static sess_result probe_{}(fixture f, char *buf, size_t buf_len, size_t *out_len)\n{{\n    sess_result rc;\n    (void)f;\n{}    rc = {}({});\n{}    return rc;\n}}\n",
            e.name,
            case.decls,
            e.name,
            case.args.join(", "),
            case.after
        );
        checked.push(e.name);
    }
    assert!(checked.len() >= 10, "only {checked:?} write text out");
    // The prelude's helpers this program has no use for.
    let _ = writeln!(
        c,
        "int main(void)\n{{\n    (void)is_a5;\n    (void)prime;\n    (void)check_last_error;\n    (void)SENT;"
    );
    for name in &checked {
        let _ = writeln!(c, "    check_buf(\"{name}\", probe_{name});");
    }
    let _ = writeln!(
        c,
        "    printf(\"%d calls, %d failures\\n\", calls, failures);\n    return failures != 0;\n}}"
    );
    let src = out_dir().join("every_export_buffers.c");
    std::fs::write(&src, c).expect("write the generated program");
    let exe = build(&src).unwrap_or_else(|e| panic!("{e}"));
    let out = run(&mut Command::new(&exe)).unwrap_or_else(|e| panic!("{e}"));
    println!("{out}");
    let total = checked.len();
    assert!(out.contains(&format!("{total} calls, 0 failures")), "{out}");
}
