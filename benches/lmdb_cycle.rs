//! The request cycle on the LMDB store, against the in-process store and
//! the Redis store in the same run.
//!
//! Each contender holds N resident sessions (1,000,000 by default; the
//! Redis one at most `SESS_BENCH_REDIS_MAX`, default 100,000, on a private
//! `redis-server` this bench starts), each with "user" (a 16-char BSTR),
//! "count" (I4) and "cart" (R8). A cycle is the request cycle of
//! `request_cycle.rs` on uniformly random IDs: `open_session(id,
//! Exclusive)` → 3 `get` → `set("count", count + 1)` → `close()`
//! ("write"), or the same opened read-only without the set ("read"). Each
//! is timed at 1 and 2 threads for `SESS_BENCH_SECS` (default 3), and the
//! LMDB write cycle also in 2 processes (this bench run again, one thread
//! each). Reported: ns per cycle (wall time ÷ cycles, all threads), the
//! ratios, and the LMDB data files' bytes per session. The run ends by
//! checking that the LMDB sessions' counts sum to the write cycles run.
//!
//! Like for like: a read-only request slides its session's deadline only
//! when that moves it by 10 s or more on LMDB (fixed in the store), so the
//! Redis store runs with `expiry_refresh_interval` 10 s here (its default
//! is 60 s): both pay for the slide as often.
//!
//! `cargo bench --bench lmdb_cycle` runs it; `-- --test` (or a run without
//! `--bench`, as `cargo test --all-targets` does) is a quick sanity run of
//! 10,000 sessions. Overrides: `SESS_BENCH_SESSIONS`, `SESS_BENCH_SECS`,
//! `SESS_BENCH_REDIS_MAX`.
//!
//! To profile one LMDB figure alone, run it as the 2-process figure's
//! worker on a kept directory (a copy of a run's, `ids.txt` included):
//! `SESS_BENCH_ROLE=lmdb-worker SESS_BENCH_DIR=dir SESS_BENCH_SECS=5`, with
//! `SESS_BENCH_CYCLE=read` for the read cycle, `SESS_BENCH_THREADS=2`, or
//! `SESS_BENCH_CYCLE=mixed` (with 2 threads or more: the first writes, the
//! others read; each kind's cycles on stderr).

#[path = "common/cycle.rs"]
mod cycle;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The LMDB store's slide threshold (`REFRESH_MS` in its provider), given
/// to the Redis store as its `expiry_refresh_interval`.
const REFRESH: Duration = Duration::from_secs(10);

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sess::app::{App, AppOptions, StoreConfig};
use sess::store::lmdb::LmdbOptions;
use sess::store::RedisOptions;

use cycle::{cycle, fill};
use redis_server::RedisServer;

fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn options(n: usize, store: StoreConfig) -> AppOptions {
    AppOptions {
        expiry_interval: None,
        max_sessions: n.max(1),
        store,
        ..AppOptions::default()
    }
}

fn lmdb_options(dir: &Path, n: usize) -> LmdbOptions {
    LmdbOptions {
        map_size: (n * 4096).max(1 << 30),
        ..LmdbOptions::new(dir)
    }
}

/// The cycles [`timed`] ran, by its writing and its reading threads, and
/// its wall time in seconds.
struct Run {
    writes: u64,
    reads: u64,
    wall: f64,
}

impl Run {
    /// Wall time ÷ cycles (all threads), ns.
    fn ns(&self) -> f64 {
        ns(self.writes + self.reads, self.wall)
    }
}

/// Runs cycles on `threads` threads for `secs`: the first `writers` of
/// them write, the others read.
fn timed(app: &App, ids: &[String], writers: usize, threads: usize, secs: f64) -> Run {
    let stop = AtomicBool::new(false);
    let (writes, reads) = (AtomicU64::new(0), AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|sc| {
        for t in 0..threads {
            let stop = &stop;
            let write = t < writers;
            let total = if write { &writes } else { &reads };
            sc.spawn(move || {
                let mut rng = StdRng::seed_from_u64(t as u64 + 1);
                let mut n = 0u64;
                while !stop.load(Relaxed) {
                    cycle(app, &ids[rng.random_range(0..ids.len())], write);
                    n += 1;
                }
                total.fetch_add(n, Relaxed);
            });
        }
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Relaxed);
    });
    Run {
        writes: writes.load(Relaxed),
        reads: reads.load(Relaxed),
        wall: start.elapsed().as_secs_f64(),
    }
}

fn ns(cycles: u64, wall: f64) -> f64 {
    wall * 1e9 / cycles.max(1) as f64
}

/// The worker of the 2-process run: one thread of write cycles on the
/// directory and IDs its parent names; prints its cycles and wall seconds.
fn worker() {
    let dir = PathBuf::from(std::env::var("SESS_BENCH_DIR").expect("dir"));
    let secs: f64 = env_num("SESS_BENCH_SECS").expect("secs");
    let ids: Vec<String> = std::fs::read_to_string(dir.join("ids.txt"))
        .expect("ids")
        .lines()
        .map(str::to_owned)
        .collect();
    let store = StoreConfig::Lmdb(lmdb_options(&dir, ids.len()));
    let app = App::new(options(ids.len(), store)).expect("app");
    // For profiling one figure alone: the read cycle, more threads, or
    // one writing thread beside reading ones.
    let threads = env_num("SESS_BENCH_THREADS").unwrap_or(1);
    let writers = match std::env::var("SESS_BENCH_CYCLE").as_deref() {
        Ok("read") => 0,
        Ok("mixed") => 1,
        _ => threads,
    };
    let run = timed(&app, &ids, writers, threads, secs);
    if (1..threads).contains(&writers) {
        eprintln!(
            "writing: {} cycles; reading: {} cycles",
            run.writes, run.reads
        );
    }
    println!("{} {}", run.writes + run.reads, run.wall);
}

fn main() {
    if std::env::var("SESS_BENCH_ROLE").is_ok_and(|r| r == "lmdb-worker") {
        return worker();
    }
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        return;
    }
    let quick = has("--test") || !has("--bench");
    let n: usize = env_num("SESS_BENCH_SESSIONS").unwrap_or(if quick { 10_000 } else { 1_000_000 });
    let secs: f64 = env_num("SESS_BENCH_SECS").unwrap_or(if quick { 0.2 } else { 3.0 });
    let redis_n = n.min(env_num("SESS_BENCH_REDIS_MAX").unwrap_or(100_000));
    let dir = std::env::temp_dir().join(format!("sess-lmdb-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");

    let t = Instant::now();
    let inproc = App::new(options(n, StoreConfig::InProc)).expect("in-process app");
    let inproc_ids = fill(&inproc, n);
    let lmdb = App::new(options(n, StoreConfig::Lmdb(lmdb_options(&dir, n)))).expect("lmdb app");
    let lmdb_ids = fill(&lmdb, n);
    std::fs::write(dir.join("ids.txt"), lmdb_ids.join("\n")).expect("ids file");
    let server = RedisServer::start();
    let redis = server.as_ref().map(|server| {
        let store = StoreConfig::Redis(RedisOptions {
            url: server.url(),
            pool_size: 8,
            expiry_refresh_interval: REFRESH,
            ..RedisOptions::default()
        });
        let app = App::new(options(redis_n, store)).expect("redis app");
        let ids = fill(&app, redis_n);
        (app, ids)
    });
    // Blocks allocated, not the length: the files are sparse. The data
    // files are the directory's and its parts' (`part-1` …).
    let disk: u64 = std::iter::once(dir.clone())
        .chain(
            (1..)
                .map(|i| dir.join(format!("part-{i}")))
                .take_while(|d| d.is_dir()),
        )
        .filter_map(|d| std::fs::metadata(d.join("data.mdb")).ok())
        .map(|m| m.blocks() * 512)
        .sum();
    println!(
        "lmdb_cycle: {n} sessions in-process and on LMDB, {} on Redis; {secs} s per figure; \
         filled in {:.1} s{}",
        if redis.is_some() { redis_n } else { 0 },
        t.elapsed().as_secs_f64(),
        if quick { "; quick mode" } else { "" }
    );
    println!(
        "LMDB data files: {disk} bytes on disk, {:.0} bytes per session",
        disk as f64 / n as f64
    );

    let mut lmdb_writes = 0u64;
    println!("\n| cycle | threads | in-process ns | LMDB ns | Redis ns | LMDB ÷ in-process | Redis ÷ LMDB |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for write in [true, false] {
        for threads in [1, 2] {
            let writers = if write { threads } else { 0 };
            let a = timed(&inproc, &inproc_ids, writers, threads, secs).ns();
            let run = timed(&lmdb, &lmdb_ids, writers, threads, secs);
            lmdb_writes += run.writes;
            let b = run.ns();
            let r = redis
                .as_ref()
                .map(|(app, ids)| timed(app, ids, writers, threads, secs).ns())
                .unwrap_or(f64::NAN);
            println!(
                "| {} | {threads} | {a:.0} | {b:.0} | {r:.0} | {:.1}× | {:.1}× |",
                if write { "write" } else { "read" },
                b / a,
                r / b
            );
        }
    }

    // Two processes on the directory, one thread each.
    let exe = std::env::current_exe().expect("this bench");
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .env("SESS_BENCH_ROLE", "lmdb-worker")
                .env("SESS_BENCH_DIR", &dir)
                .env("SESS_BENCH_SECS", secs.to_string())
                // The writing cycle on one thread, whatever the caller's
                // profiling settings: the counts check adds its cycles.
                .env_remove("SESS_BENCH_CYCLE")
                .env_remove("SESS_BENCH_THREADS")
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn a worker")
        })
        .collect();
    let (mut cycles, mut wall) = (0u64, 0f64);
    for c in children {
        let out = c.wait_with_output().expect("worker");
        assert!(out.status.success(), "a worker failed");
        let (n, w): (u64, f64) = String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .find_map(|l| {
                let (n, w) = l.trim().split_once(' ')?;
                Some((n.parse().ok()?, w.parse().ok()?))
            })
            .expect("a worker's cycles and wall time");
        cycles += n;
        wall = wall.max(w);
    }
    lmdb_writes += cycles;
    println!(
        "| write | 2 processes × 1 | | {:.0} | | | |",
        ns(cycles, wall)
    );

    // No lost update: the counts sum to the write cycles run.
    let sum: u64 = lmdb_ids
        .iter()
        .map(|id| cycle(&lmdb, id, false) as u64)
        .sum();
    assert_eq!(sum, lmdb_writes, "LMDB counts vs write cycles");
    println!("\nchecked: the LMDB sessions' counts sum to the {lmdb_writes} write cycles run");
    drop(lmdb);
    let _ = std::fs::remove_dir_all(&dir);
}
