//! The request-cycle benchmark: libsess against moka and a DashMap floor.
//!
//! Every contender holds the same resident sessions (1,000,000 by default),
//! each with the same three Contents items, and runs the same request cycle:
//! take the next pre-generated (uniformly random) 22-character session ID,
//! open that session exclusively, read "user", "count" and "cart", write
//! count + 1, close. Timings are wall time per cycle across all worker
//! threads (so two threads ideally halve it); see BENCHMARKS.md.
//!
//! Before criterion's groups run, the bench prints the resident bytes per
//! session of each contender, measured with the counting allocator below.
//!
//! `cargo bench --bench request_cycle` runs it for real;
//! `cargo bench --bench request_cycle -- --test` (and `cargo test
//! --all-targets`) run every benchmark once on 10,000 sessions.
//! `SESS_BENCH_SESSIONS=N` overrides the number of sessions.
//!
//! `SESS_BENCH_SCALING=1` runs the scaling mode instead: the same contenders
//! and cycle at 10,000, 100,000, 1,000,000 and 10,000,000 sessions (the
//! peers up to 1,000,000), timed without criterion in interleaved rounds
//! (the median reported), with the resident bytes per session at each size.
//! A size that does not fit in the memory available is skipped with a
//! message; `SESS_BENCH_SIZES=10000,100000` picks the sizes.

#[path = "common/args.rs"]
mod args;
#[path = "common/frozen_contents.rs"]
mod frozen_contents;
#[path = "common/peer.rs"]
mod peer;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use dashmap::DashMap;
use moka::sync::Cache;
use parking_lot::Mutex;
use peer::{payload, PeerData, Slot};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sess::app::{App, AppOptions};
use sess::state::{SessionData, ID_LEN};

use frozen_contents::Contents;
use sess::store::LockMode;
use sess::variant::Variant;

// ---------------------------------------------------------------------------
// Counting allocator: live bytes and blocks, only while counting is on (so
// the timed cycles pay a single relaxed load per allocation, nothing shared).

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Requested bytes live (allocated minus freed while counting).
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
/// Blocks live.
static LIVE_BLOCKS: AtomicI64 = AtomicI64::new(0);
/// What glibc's malloc spends on the live blocks (estimate, see `chunk`).
static LIVE_CHUNK_BYTES: AtomicI64 = AtomicI64::new(0);
/// Calls to alloc / alloc_zeroed / realloc.
static ALLOC_CALLS: AtomicI64 = AtomicI64::new(0);

/// glibc malloc's footprint for a request of `n` bytes on 64-bit Linux: an
/// 8-byte header, 16-byte granularity, 32 bytes at least; mmap'd blocks
/// (128 KiB and up by default) take whole pages plus a 16-byte header.
fn chunk(n: usize) -> i64 {
    let c = if n >= 128 * 1024 {
        (n + 16).div_ceil(4096) * 4096
    } else {
        ((n + 8 + 15) & !15).max(32)
    };
    c as i64
}

fn on_alloc(n: usize) {
    LIVE_BYTES.fetch_add(n as i64, Relaxed);
    LIVE_BLOCKS.fetch_add(1, Relaxed);
    LIVE_CHUNK_BYTES.fetch_add(chunk(n), Relaxed);
    ALLOC_CALLS.fetch_add(1, Relaxed);
}

fn on_free(n: usize) {
    LIVE_BYTES.fetch_sub(n as i64, Relaxed);
    LIVE_BLOCKS.fetch_sub(1, Relaxed);
    LIVE_CHUNK_BYTES.fetch_sub(chunk(n), Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() && COUNTING.load(Relaxed) {
            on_alloc(l.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() && COUNTING.load(Relaxed) {
            on_alloc(l.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if COUNTING.load(Relaxed) {
            on_free(l.size());
        }
        System.dealloc(p, l)
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, l, new_size);
        if !q.is_null() && COUNTING.load(Relaxed) {
            on_free(l.size());
            on_alloc(new_size);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What was allocated (net) between `counting()` and `Counted::stop`.
struct Counted {
    bytes: i64,
    blocks: i64,
    chunk_bytes: i64,
    alloc_calls: i64,
    rss_kib: i64,
    started: Instant,
    secs: f64,
}

fn counting() -> Counted {
    LIVE_BYTES.store(0, Relaxed);
    LIVE_BLOCKS.store(0, Relaxed);
    LIVE_CHUNK_BYTES.store(0, Relaxed);
    ALLOC_CALLS.store(0, Relaxed);
    let rss_kib = rss_kib();
    COUNTING.store(true, Relaxed);
    Counted {
        bytes: 0,
        blocks: 0,
        chunk_bytes: 0,
        alloc_calls: 0,
        rss_kib,
        started: Instant::now(),
        secs: 0.0,
    }
}

impl Counted {
    fn stop(mut self) -> Counted {
        COUNTING.store(false, Relaxed);
        self.secs = self.started.elapsed().as_secs_f64();
        self.bytes = LIVE_BYTES.load(Relaxed);
        self.blocks = LIVE_BLOCKS.load(Relaxed);
        self.chunk_bytes = LIVE_CHUNK_BYTES.load(Relaxed);
        self.alloc_calls = ALLOC_CALLS.load(Relaxed);
        self.rss_kib = rss_kib() - self.rss_kib;
        self
    }
}

/// Resident set size in KiB (0 where /proc is unavailable).
fn rss_kib() -> i64 {
    proc_kib("/proc/self/status", "VmRSS:").unwrap_or(0)
}

/// The field `name` (e.g. `VmRSS:`) of a /proc file giving kB.
fn proc_kib(file: &str, name: &str) -> Option<i64> {
    std::fs::read_to_string(file).ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    })
}

// ---------------------------------------------------------------------------
// The workload.

/// The 16-character string stored under "user".
const USER: &str = "user@example.com";
/// The greatest number of worker threads; the ID stream has one region each.
const MAX_THREADS: usize = 2;

type IdText = [u8; ID_LEN];

fn id_str(id: &IdText) -> &str {
    std::str::from_utf8(id).expect("session IDs are ASCII")
}

/// The payload's own bytes, counted the same way for every contender: the
/// UTF-8 bytes of the keys plus the heap bytes of the values (the string's).
fn payload_bytes(c: &Contents) -> usize {
    c.iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum()
}

/// The three reads and the write, on data the caller holds locked.
fn touch(d: &mut PeerData) -> i32 {
    let c = &mut d.contents;
    black_box(c.get("user"));
    let count = match c.get("count") {
        Some(Variant::I4(n)) => *n,
        other => panic!("count is {other:?}"),
    };
    black_box(c.get("cart"));
    c.set("count", Variant::I4(count + 1));
    count
}

struct Contenders {
    libsess: App,
    moka: Cache<String, Slot>,
    dashmap: DashMap<String, Slot>,
}

impl Contenders {
    fn libsess(&self, id: &str) -> i32 {
        let mut s = self
            .libsess
            .open_session(id, LockMode::Exclusive)
            .expect("a resident session");
        black_box(s.get("user"));
        let count = match s.get("count") {
            Some(Variant::I4(c)) => *c,
            other => panic!("count is {other:?}"),
        };
        black_box(s.get("cart"));
        s.set("count", Variant::I4(count + 1)).expect("set");
        s.close().expect("close");
        count
    }

    fn moka(&self, id: &str) -> i32 {
        let slot = self.moka.get(id).expect("a resident session");
        let mut d = slot.lock();
        touch(&mut d)
    }

    fn dashmap(&self, id: &str) -> i32 {
        // Clone the Arc and let the shard guard go, as a store must when a
        // session stays locked for a whole request.
        let slot = self
            .dashmap
            .get(id)
            .map(|r| Arc::clone(r.value()))
            .expect("a resident session");
        let mut d = slot.lock();
        touch(&mut d)
    }
}

/// Runs `iters` cycles on each of `threads` workers, worker `t` taking IDs
/// from region `t` of `stream` starting at `*cursor`; returns the wall time
/// divided by `threads`, so criterion's time per iteration is wall time per
/// cycle across all workers.
fn run<F: Fn(&str) -> i32 + Sync>(
    stream: &[IdText],
    cursor: &mut usize,
    threads: usize,
    iters: u64,
    cycle: &F,
) -> Duration {
    let region = stream.len() / MAX_THREADS;
    debug_assert!(region.is_power_of_two());
    let mask = region - 1;
    let start = *cursor;
    *cursor = (start + iters as usize) & mask;
    let work = |ids: &[IdText]| {
        let mut i = start;
        for _ in 0..iters {
            black_box(cycle(id_str(&ids[i])));
            i = (i + 1) & mask;
        }
    };
    if threads == 1 {
        let t0 = Instant::now();
        work(&stream[..region]);
        return t0.elapsed();
    }
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let workers: Vec<_> = stream
            .chunks_exact(region)
            .take(threads)
            .map(|ids| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    let t0 = Instant::now();
                    work(ids);
                    (t0, Instant::now())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let begin = spans.iter().map(|s| s.0).min().expect("a worker");
    let end = spans.iter().map(|s| s.1).max().expect("a worker");
    (end - begin) / threads as u32
}

/// The contenders built, their sessions' IDs, and what each took while
/// being built.
struct Built {
    contenders: Contenders,
    ids: Vec<IdText>,
    resident: Vec<(&'static str, Counted)>,
}

/// Builds `n` sessions in libsess and, if `with_peers`, the same in moka
/// and DashMap (else those stay empty); prints what each takes.
fn build(n: usize, with_peers: bool) -> Built {
    let mut ids: Vec<IdText> = Vec::with_capacity(n);
    let payload_len = payload_bytes(&payload().contents);
    println!("request_cycle: {n} resident sessions per contender; payload {payload_len} bytes");
    println!(
        "  (keys \"user\" \"count\" \"cart\" + the 16-byte string; I4 and R8 have no heap bytes)"
    );
    let (peer, lib) = (size_of::<PeerData>(), size_of::<SessionData>());
    println!("  moka/DashMap hold PeerData ({peer} bytes); libsess SessionData ({lib} bytes)");
    // The peers' session data structure: its inline size plus the heap its
    // Contents take.
    let c = counting();
    let sample = payload();
    let c = c.stop();
    drop(sample);
    let data_bytes = peer as f64 + c.bytes as f64;
    println!(
        "  peers' session data structure: {peer} inline + {} heap in {} blocks = {data_bytes} bytes",
        c.bytes, c.blocks
    );
    println!();

    let c = counting();
    let libsess = App::new(AppOptions {
        expiry_interval: None,
        max_sessions: n.max(1_000_000),
        ..AppOptions::default()
    })
    .expect("app");
    for _ in 0..n {
        let mut s = libsess.create_session().expect("create");
        s.set("user", Variant::bstr(USER)).expect("set");
        s.set("count", Variant::I4(0)).expect("set");
        s.set("cart", Variant::R8(19.99)).expect("set");
        let mut text = [0u8; ID_LEN];
        text.copy_from_slice(s.id().encode().as_str().as_bytes());
        ids.push(text);
        s.close().expect("close");
    }
    let c_lib = c.stop();
    assert_eq!(libsess.session_count().unwrap(), n);

    let peer_ids = if with_peers { &ids[..] } else { &[] };
    let c = counting();
    let moka: Cache<String, Slot> = Cache::builder()
        .max_capacity(n as u64)
        .time_to_idle(Duration::from_secs(20 * 60))
        .build();
    for id in peer_ids {
        moka.insert(id_str(id).to_owned(), Arc::new(Mutex::new(payload())));
    }
    moka.run_pending_tasks();
    let c_moka = c.stop();
    assert_eq!(moka.entry_count(), peer_ids.len() as u64);

    let c = counting();
    let dashmap: DashMap<String, Slot> = DashMap::new();
    for id in peer_ids {
        dashmap.insert(id_str(id).to_owned(), Arc::new(Mutex::new(payload())));
    }
    let c_dash = c.stop();
    assert_eq!(dashmap.len(), peer_ids.len());

    let mut resident = vec![("libsess", c_lib)];
    if with_peers {
        resident.extend([("moka", c_moka), ("dashmap", c_dash)]);
    }

    println!("resident memory per session (net allocations while building {n} sessions / {n}):");
    println!(
        "  {:<8} {:>8} {:>9} {:>9} {:>7} {:>8} {:>9} {:>8} {:>8}",
        "", "bytes", "-payload", "-data", "blocks", "malloc≈", "-payload", "RSS", "build s"
    );
    let per = |x: i64| x as f64 / n as f64;
    for (name, c) in &resident {
        println!(
            "  {:<8} {:>8.1} {:>9.1} {:>9.1} {:>7.2} {:>8.1} {:>9.1} {:>8.1} {:>8.2}",
            name,
            per(c.bytes),
            per(c.bytes) - payload_len as f64,
            per(c.bytes) - data_bytes,
            per(c.blocks),
            per(c.chunk_bytes),
            per(c.chunk_bytes) - payload_len as f64,
            per(c.rss_kib * 1024),
            c.secs,
        );
    }
    println!("  bytes: requested from the allocator; -payload: overhead beyond the payload");
    println!("  ({payload_len}); -data: beyond the peers' session data structure");
    println!("  ({data_bytes}); malloc≈: with glibc's per-block header and rounding, and its");
    println!("  overhead beyond the payload; RSS: resident set growth.");
    println!();

    Built {
        contenders: Contenders {
            libsess,
            moka,
            dashmap,
        },
        ids,
        resident,
    }
}

/// Counts the allocator calls of `cycles` cycles on one thread.
fn probe<F: Fn(&str) -> i32 + Sync>(stream: &[IdText], name: &str, cycles: u64, cycle: F) {
    let c = counting();
    run(stream, &mut 0, 1, cycles, &cycle);
    let c = c.stop();
    println!(
        "  {:<8} {:.3} (net live bytes after: {})",
        name,
        c.alloc_calls as f64 / cycles as f64,
        c.bytes
    );
}

/// One contender at one thread count.
fn bench<F: Fn(&str) -> i32 + Sync>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    stream: &[IdText],
    threads: usize,
    cycle: F,
) {
    let mut cursor = 0;
    g.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| run(stream, &mut cursor, threads, iters, &cycle))
    });
}

/// The random sequence: a fixed-seed stream of uniformly random session
/// indexes, turned into the ID texts a cookie would carry (contiguous, so
/// fetching the next ID is a streaming read, not a cache miss).
fn stream(ids: &[IdText], quick: bool) -> Vec<IdText> {
    let stream_len: usize = if quick { 1 << 16 } else { 1 << 22 };
    let mut rng = StdRng::seed_from_u64(0x5E55_1D5E_ED00_0001);
    (0..stream_len)
        .map(|_| ids[rng.random_range(0..ids.len() as u32) as usize])
        .collect()
}

fn main() {
    let quick = args::quick();
    if std::env::var_os("SESS_BENCH_SCALING").is_some_and(|v| v != "0") {
        return scaling(quick);
    }
    let n: usize =
        args::env_num("SESS_BENCH_SESSIONS").unwrap_or(if quick { 10_000 } else { 1_000_000 });
    assert!(n > 0 && n <= u32::MAX as usize, "SESS_BENCH_SESSIONS");

    let Built {
        contenders, ids, ..
    } = build(n, true);
    let stream = stream(&ids, quick);
    drop(ids);

    // Allocation calls per cycle (and a first pass over the data).
    let probes = if quick { 1_000 } else { 200_000 };
    println!("allocator calls per cycle (1 thread, {probes} cycles):");
    probe(&stream, "libsess", probes, |id| contenders.libsess(id));
    probe(&stream, "moka", probes, |id| contenders.moka(id));
    probe(&stream, "dashmap", probes, |id| contenders.dashmap(id));
    println!();

    let mut crit = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    for threads in 1..=MAX_THREADS {
        let mut g = crit.benchmark_group(if threads == 1 {
            "request_cycle/1_thread".to_string()
        } else {
            format!("request_cycle/{threads}_threads")
        });
        g.throughput(Throughput::Elements(1));
        bench(&mut g, "libsess", &stream, threads, |id| {
            contenders.libsess(id)
        });
        bench(&mut g, "moka", &stream, threads, |id| contenders.moka(id));
        bench(&mut g, "dashmap", &stream, threads, |id| {
            contenders.dashmap(id)
        });
        g.finish();
    }
    crit.final_summary();
}

// ---------------------------------------------------------------------------
// The scaling mode.

/// The scaling mode's sizes.
const SCALING_SIZES: [usize; 4] = [10_000, 100_000, 1_000_000, 10_000_000];
/// The largest size the peers run at.
const PEERS_MAX: usize = 1_000_000;
/// Memory a size needs available, bytes per session, for libsess alone:
/// about 1.5 times what it takes (the IDs, the stream and the tables'
/// growth come on top of the sessions).
const NEED_ALONE: usize = 1_000;
/// The same with the peers.
const NEED_WITH_PEERS: usize = 3_000;
/// The head of the scaling tables.
const SCALING_HEADER: &str =
    "| sessions | contender | ns 1 thread | ns 2 threads | bytes | RSS | load |\n\
                              |---:|---|---:|---:|---:|---:|---:|";

/// ns per cycle of `cycles` cycles per thread of contender `i` (0 libsess,
/// 1 moka, 2 DashMap) at `threads` threads, from `cursor` on.
fn time(
    c: &Contenders,
    i: usize,
    stream: &[IdText],
    cursor: &mut usize,
    threads: usize,
    cycles: u64,
) -> f64 {
    let wall = match i {
        0 => run(stream, cursor, threads, cycles, &|id| c.libsess(id)),
        1 => run(stream, cursor, threads, cycles, &|id| c.moka(id)),
        _ => run(stream, cursor, threads, cycles, &|id| c.dashmap(id)),
    };
    wall.as_nanos() as f64 / cycles as f64
}

/// The request cycle at each of `SCALING_SIZES`: ns per cycle (median of
/// interleaved rounds) and resident bytes per session.
fn scaling(quick: bool) {
    let sizes: Vec<usize> = match std::env::var("SESS_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("SESS_BENCH_SIZES: numbers"))
            .collect(),
        Err(_) if quick => vec![1_000, 10_000],
        Err(_) => SCALING_SIZES.to_vec(),
    };
    let rounds = if quick { 1 } else { 5 };
    let cycles: u64 = if quick { 1 << 10 } else { 1 << 20 };
    println!(
        "request_cycle scaling: at each size, {rounds} rounds of {cycles} cycles per thread for \
         each contender and thread count, interleaved; the median of rounds\n"
    );
    let mut table = Vec::new();
    for n in sizes {
        let with_peers = n <= PEERS_MAX;
        let need = n * if with_peers {
            NEED_WITH_PEERS
        } else {
            NEED_ALONE
        };
        let available = proc_kib("/proc/meminfo", "MemAvailable:").map(|k| k as usize * 1024);
        if let Some(available) = available.filter(|&a| a < need) {
            println!(
                "skipped {n} sessions: they need about {} MiB, {} MiB are available\n",
                need >> 20,
                available >> 20
            );
            continue;
        }
        let Built {
            contenders,
            ids,
            resident,
        } = build(n, with_peers);
        let stream = stream(&ids, quick);
        drop(ids);
        let c = &contenders;
        // A first pass over the data, as the default mode's probe makes.
        for i in 0..resident.len() {
            time(c, i, &stream, &mut 0, 1, cycles);
        }
        let mut ns = vec![[Vec::new(), Vec::new()]; resident.len()];
        let mut cursors = vec![0; resident.len()];
        for _ in 0..rounds {
            for threads in 1..=MAX_THREADS {
                for (i, cursor) in cursors.iter_mut().enumerate() {
                    let t = time(c, i, &stream, cursor, threads, cycles);
                    ns[i][threads - 1].push(t);
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[(v.len() - 1) / 2]
        };
        // Other work on the machine shows here: the 1-minute load average
        // as the timing ends.
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load = load.split_whitespace().next().unwrap_or("?");
        println!("{SCALING_HEADER}");
        for ((name, counted), ns) in resident.iter().zip(&mut ns) {
            let row = format!(
                "| {n} | {name} | {:.0} | {:.0} | {:.0} | {:.0} | {load} |",
                median(&mut ns[0]),
                median(&mut ns[1]),
                counted.bytes as f64 / n as f64,
                (counted.rss_kib * 1024) as f64 / n as f64
            );
            println!("{row}");
            table.push(row);
        }
        println!();
        drop((stream, contenders));
        // Give the freed heap back to the OS, so the next size's resident
        // set growth is its own.
        // SAFETY: malloc_trim only releases free memory of glibc's arenas.
        unsafe { libc::malloc_trim(0) };
    }
    println!(
        "summary: ns per cycle (median of rounds), bytes and RSS growth per session, load \
         average:\n"
    );
    println!("{SCALING_HEADER}");
    for row in table {
        println!("{row}");
    }
}
