//! The C ABI's overhead: the request cycle (open a session exclusively by
//! ID, read "user", "count" and "cart", write `count + 1`, close) through
//! `include/sess.h` from C, against the same cycle through the Rust API
//! (`benches/common/cycle.rs`), on the same application and sessions in
//! one run.
//!
//! The C side is `benches/c_abi/cycle.c`, in two forms: the cycle as
//! `sess_value_get` gives values (each a copy into a variant the caller
//! owns), and the cycle without variants: the reads that copy nothing
//! (`sess_value_borrow_bstr`, `sess_value_get_i4`, `sess_value_get_r8`), as
//! the Rust cycle borrows each value, and `sess_value_set_i4`. It is
//! compiled by this bench with
//! `$CC -O2` (default `cc`) into a shared object and loaded with `dlopen`.
//! Its `sess_*` calls resolve to this executable's own copy of the library
//! (`build.rs` exports the benchmarks' `sess_*` symbols), so both
//! contenders run the same machine code on the same store, and the C loop
//! runs inside the shared object: what differs is the C layer alone
//! (argument checks, the panic boundary, the boxed handle, C strings,
//! values copied out into variants) and the calls themselves.
//!
//! For each size (1,000 sessions: cache-resident; 1,000,000) the C
//! application is made by `sess_app_create`, filled through the Rust API
//! on the `App` behind it, and both contenders take IDs from one stream of
//! uniformly random sessions (fixed seed). Each round times all three, in
//! an order that rotates from round to round, for `SESS_BENCH_SECS` each.
//! Reported per C form: the median ns per cycle, the median of the
//! per-round differences (C − Rust) and that difference per call. A size
//! ends by checking that its sessions' counts sum to the cycles run.
//!
//! `cargo bench --bench abi_cycle` runs it; `-- --test` (or a run without
//! `--bench`, as `cargo test --all-targets` does) is a quick sanity run.
//! Overrides: `SESS_BENCH_SIZES` (comma-separated session counts),
//! `SESS_BENCH_ROUNDS` (default 21), `SESS_BENCH_SECS` (default 0.25),
//! `SESS_BENCH_CYCLES` (cycles per contender per round, no calibration:
//! for callgrind).

#[path = "common/cycle.rs"]
mod cycle;

use std::ffi::c_char;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use libloading::os::unix::{Library, Symbol, RTLD_NOW};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sess::app::App;
use sess::ffi::app::sess_app_release;
use sess::ffi::handle::sess_app;

use cycle::{cycle, fill};

/// Library calls in the Rust cycle, each with a C counterpart: open, 3 ×
/// get, set, close.
const CALLS: f64 = 6.0;
/// The C cycles: each form's name, its run function in `cycle.c`, and its
/// calls (the copying form's 6 and the variant's init, get_i4, set_i4 and
/// clear; the other form makes the Rust cycle's 6).
const C_FORMS: [(&str, &[u8], f64); 2] = [
    ("variants", b"c_abi_run\0", 10.0),
    ("no variants", b"c_abi_run_typed\0", 6.0),
];
/// Bytes per ID in the stream: 22 characters, a NUL, padding.
const STRIDE: usize = 24;

type AppCreate = unsafe extern "C" fn(u64) -> *mut sess_app;
type Run = unsafe extern "C" fn(*mut sess_app, *const c_char, usize, usize, usize, u64) -> i64;

fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// `benches/c_abi/cycle.c` built into `dir` as a shared object.
fn build_c(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let so = dir.join("cycle.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args([
            "-std=c99",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
        ])
        .args(["-fPIC", "-shared", "-I"])
        .arg(root.join("include"))
        .arg("-o")
        .arg(&so)
        .arg(root.join("benches/c_abi/cycle.c"))
        .output()
        .unwrap_or_else(|e| panic!("{cc}: {e}"));
    assert!(
        out.status.success(),
        "building cycle.c failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    so
}

/// The Rust contender: `iters` cycles from entry `start` of `stream`
/// (a power-of-two length); the sum of the counts read.
#[inline(never)]
fn rust_run(app: &App, stream: &[&str], start: usize, iters: u64) -> i64 {
    let mask = stream.len() - 1;
    let mut i = start;
    let mut sum = 0;
    for _ in 0..iters {
        sum += i64::from(cycle(app, stream[i], true));
        i = (i + 1) & mask;
    }
    sum
}

/// One size's contenders on one application: 0 Rust, then the C forms.
struct Contenders<'a> {
    app: &'a App,
    app_ptr: *mut sess_app,
    c_runs: &'a [Symbol<Run>],
    /// NUL-terminated IDs, `STRIDE` bytes apart (the C stream).
    bytes: &'a [u8],
    /// The same IDs as `&str` into `bytes` (the Rust stream).
    ids: &'a [&'a str],
    /// Each contender's place in the stream, and its cycles run.
    cursor: Vec<usize>,
    cycles: u64,
}

impl Contenders<'_> {
    /// Runs contender `k` (0 Rust, 1 + i `C_FORMS[i]`) for `iters` cycles:
    /// ns per cycle.
    fn time(&mut self, k: usize, iters: u64) -> f64 {
        let mask = self.ids.len() - 1;
        let start = self.cursor[k];
        let t = Instant::now();
        let sum = if k == 0 {
            rust_run(self.app, self.ids, start, iters)
        } else {
            // SAFETY: a live application; `bytes` holds mask + 1 entries
            // of STRIDE bytes, each NUL-terminated.
            let sum = unsafe {
                (self.c_runs[k - 1])(
                    self.app_ptr,
                    self.bytes.as_ptr().cast(),
                    STRIDE,
                    start,
                    mask,
                    iters,
                )
            };
            assert!(sum >= 0, "a C cycle failed");
            sum
        };
        let ns = t.elapsed().as_nanos() as f64 / iters as f64;
        black_box(sum);
        self.cursor[k] = (start + iters as usize) & mask;
        self.cycles += iters;
        ns
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The first and third quartiles of sorted `v` (nearest rank).
fn quartiles(v: &[f64]) -> (f64, f64) {
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.75))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(|_| "?".into(), |s| s.trim().into())
}

/// Measures one size; prints its table row.
fn measure(lib: &Library, n: usize, rounds: usize, secs: f64, fixed: Option<u64>) {
    // SAFETY: the signatures of cycle.c's definitions.
    let (create, c_runs) = unsafe {
        (
            lib.get::<AppCreate>(b"c_abi_app_create\0")
                .expect("c_abi_app_create"),
            C_FORMS
                .iter()
                .map(|(_, f, _)| lib.get::<Run>(f).expect("a C cycle"))
                .collect::<Vec<_>>(),
        )
    };
    // SAFETY: cycle.c's function; the handle is released below.
    let app_ptr = unsafe { create(n.max(1_000_000) as u64) };
    assert!(!app_ptr.is_null(), "sess_app_create failed");
    // SAFETY: a live handle from sess_app_create, released after its last use.
    let app = unsafe { sess_app::app(app_ptr) }.expect("an application");
    let t = Instant::now();
    let ids = fill(app, n);
    let filled = t.elapsed().as_secs_f64();

    // Fixed-seed uniformly random sessions, as contiguous ID texts.
    let len = (n * 16).next_power_of_two().clamp(1 << 12, 1 << 22);
    let mut rng = StdRng::seed_from_u64(0x5E55_1D5E_ED00_0002);
    let mut bytes = vec![0u8; len * STRIDE];
    for entry in bytes.chunks_exact_mut(STRIDE) {
        let id = ids[rng.random_range(0..n)].as_bytes();
        entry[..id.len()].copy_from_slice(id);
    }
    let id_len = ids[0].len();
    let stream: Vec<&str> = bytes
        .chunks_exact(STRIDE)
        .map(|e| std::str::from_utf8(&e[..id_len]).expect("ASCII IDs"))
        .collect();
    let mut c = Contenders {
        app,
        app_ptr,
        c_runs: &c_runs,
        bytes: &bytes,
        ids: &stream,
        cursor: (0..=C_FORMS.len())
            .map(|k| k * len / (C_FORMS.len() + 1))
            .collect(),
        cycles: 0,
    };

    // Warm-up and calibration: cycles per round for `secs` each.
    let iters = fixed.unwrap_or_else(|| {
        let probe = 20_000;
        let ns = (0..=C_FORMS.len())
            .map(|k| c.time(k, probe))
            .fold(0.0, f64::max);
        ((secs * 1e9 / ns) as u64).max(1)
    });
    // ns per cycle, per contender and round.
    let k_all = C_FORMS.len() + 1;
    let mut ns = vec![Vec::new(); k_all];
    for r in 0..rounds {
        let mut round = vec![0.0; k_all];
        for j in 0..k_all {
            let k = (r + j) % k_all;
            round[k] = c.time(k, iters);
        }
        for (k, t) in round.into_iter().enumerate() {
            ns[k].push(t);
        }
    }

    // Both contenders counted: the counts sum to the cycles run.
    let cycles = c.cycles;
    let sum: u64 = ids.iter().map(|id| cycle(app, id, false) as u64).sum();
    assert_eq!(sum, cycles, "the sessions' counts vs the cycles run");
    drop(ids);
    // SAFETY: from sess_app_create; `app` is not used after this.
    unsafe { sess_app_release(app_ptr) };

    let r = median(&mut ns[0].clone());
    for (i, (form, _, c_calls)) in C_FORMS.iter().enumerate() {
        let mut diff: Vec<f64> = ns[i + 1].iter().zip(&ns[0]).map(|(c, r)| c - r).collect();
        let (cm, d) = (median(&mut ns[i + 1].clone()), median(&mut diff));
        let (q1, q3) = quartiles(&diff);
        println!(
            "| {n:>9} | {form} | {r:>7.1} | {cm:>7.1} | {d:>6.1} ({q1:.1} … {q3:.1}) | {:>5.1} | {:>5.1} ({c_calls}) | {:.3}× | {iters} × {rounds} | {filled:.1} s |",
            d / CALLS,
            d / c_calls,
            cm / r,
        );
    }
    println!("|           | counts checked: {sum} = the cycles run |");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        return;
    }
    let quick = has("--test") || !has("--bench");
    let sizes: Vec<usize> = std::env::var("SESS_BENCH_SIZES")
        .ok()
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().parse().expect("SESS_BENCH_SIZES"))
                .collect()
        })
        .unwrap_or_else(|| {
            if quick {
                vec![1_000, 10_000]
            } else {
                vec![1_000, 1_000_000]
            }
        });
    let rounds = env_num("SESS_BENCH_ROUNDS").unwrap_or(if quick { 1 } else { 21 });
    let secs: f64 = env_num("SESS_BENCH_SECS").unwrap_or(0.25);
    let fixed = env_num("SESS_BENCH_CYCLES").or(quick.then_some(1_000));
    assert!(
        rounds > 0 && sizes.iter().all(|&n| n > 0),
        "sizes and rounds"
    );

    let dir = std::env::temp_dir().join(format!("sess-abi-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let so = build_c(&dir);
    // SAFETY: cycle.c has no initialisers; RTLD_NOW resolves its sess_*
    // references against this executable at once (or fails here).
    let lib = unsafe { Library::open(Some(&so), RTLD_NOW) }.unwrap_or_else(|e| {
        panic!(
            "loading {}: {e} (are the sess_* symbols exported?)",
            so.display()
        )
    });
    let _ = std::fs::remove_dir_all(&dir);

    println!("abi_cycle: C (sess.h, cc -O2) vs Rust API, one application per size, 1 thread");
    println!("load average before: {}", loadavg());
    println!();
    println!("ns per cycle, medians of the rounds; C − Rust: the median of the per-round differences (quartiles)");
    println!();
    println!(
        "| sessions | C reads | Rust ns | C ns | C − Rust ns | ÷ {CALLS} calls | ÷ C calls | C ÷ Rust | cycles × rounds | fill |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        measure(&lib, n, rounds, secs, fixed);
    }
    println!();
    println!("load average after: {}", loadavg());
}
