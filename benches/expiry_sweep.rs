//! Expiry on the in-process store: what a sweep costs per expired session,
//! and how long requests on other sessions stall while one runs.
//!
//! Each round builds an application of N resident sessions (1,000,000 by
//! default) on a manual clock, each with the payload of `request_cycle.rs`,
//! created 1 ms of clock apart; every 10th has a Timeout of 1 minute, the
//! others 20. The clock is then moved past every short deadline and
//! `App::expire` ends the N/10 due sessions (their buckets span the whole
//! build) while the 90 % stay. Rounds alternate:
//! - "alone": the sweep on its own; reported: wall time ÷ sessions ended;
//! - "with requests": another thread runs request cycles (open exclusive →
//!   3 gets → set → close) on uniformly random resident sessions, each
//!   timed on its own; reported: the cycles that overlapped the sweep, and
//!   as a baseline the cycles of an equally long window just before it.
//!
//! `cargo bench --bench expiry_sweep` runs it; `-- --test` (or a run
//! without `--bench`, as `cargo test --all-targets` does) is a quick sanity
//! run of 10,000 sessions and one round of each kind. Overrides:
//! `SESS_BENCH_SESSIONS`, `SESS_BENCH_ROUNDS` (rounds of each kind).

#[path = "common/args.rs"]
mod args;
#[path = "common/latency.rs"]
mod latency;
#[path = "common/workload.rs"]
mod workload;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sess::app::{App, AppOptions};
use sess::clock::{Clock, ManualClock};

use latency::Percentiles;

/// One session in this many is due at the sweep.
const DUE_EVERY: usize = 10;
/// The clock's reading when a build starts (any value works).
const T0: u64 = 1 << 40;
/// Most request cycles one round records (preallocated: recording never
/// allocates while timing).
const MAX_SAMPLES: usize = 1 << 22;

/// An application with resident sessions, some due once the clock moves.
struct Resident {
    app: App,
    clock: Arc<ManualClock>,
    /// The sessions that stay (the request thread's targets).
    staying: Vec<String>,
    /// How many sessions the sweep must end.
    due: usize,
}

fn build(n: usize) -> Resident {
    let clock = Arc::new(ManualClock::new(T0));
    let app = App::new(AppOptions {
        expiry_interval: None,
        max_sessions: n,
        clock: Some(clock.clone()),
        ..AppOptions::default()
    })
    .expect("app");
    // One clock millisecond per session up to 1M: the build spans at most
    // about 1,000 s of clock, well inside the long sessions' 20 minutes.
    let per_ms = n.div_ceil(1_000_000);
    let mut staying = Vec::with_capacity(n);
    let mut due = 0;
    for i in 0..n {
        let mut s = app.create_session().expect("create");
        workload::fill(&mut s);
        if i % DUE_EVERY == 0 {
            s.set_timeout(1).expect("timeout");
            due += 1;
        } else {
            staying.push(s.id().to_string());
        }
        s.close().expect("close");
        if (i + 1) % per_ms == 0 {
            clock.advance(1);
        }
    }
    // Every 1-minute deadline is now at most a minute away; the 20-minute
    // ones are all more than that.
    assert!(clock.now_ms() - T0 < 19 * 60_000);
    Resident {
        app,
        clock,
        staying,
        due,
    }
}

impl Resident {
    /// Moves the clock past the short deadlines, to a whole second (a
    /// sweep ends the sessions due by the last whole second), and sweeps:
    /// the sweep's start and end (checked: exactly the due sessions ended).
    fn sweep(&self) -> (Instant, Instant) {
        let now = self.clock.now_ms();
        self.clock
            .advance((now + 60_000).div_ceil(1000) * 1000 - now);
        let before = self.app.session_count().expect("count");
        let start = Instant::now();
        let ended = self.app.expire().expect("expire");
        let end = Instant::now();
        assert_eq!(ended, self.due, "sessions ended by the sweep");
        let after = self.app.session_count().expect("count");
        assert_eq!(before - after, self.due);
        (start, end)
    }
}

/// A request cycle the request thread timed: start and duration, ns (the
/// start counted from the round's base instant).
type Sample = (u64, u64);

/// A round with a request thread: the sweep's ns per session ended, the
/// cycles that overlapped the sweep and those of an equally long window
/// just before it (after `warm_up`).
fn with_requests(r: &Resident, warm_up: Duration) -> (f64, Vec<u64>, Vec<u64>) {
    let stop = AtomicBool::new(false);
    let base = Instant::now();
    let ns = |t: Instant| t.duration_since(base).as_nanos() as u64;
    let (samples, (start, end)) = std::thread::scope(|sc| {
        let requests = sc.spawn(|| {
            let mut rng = StdRng::seed_from_u64(0x5E55_1D5E_ED00_0002);
            let mut samples: Vec<Sample> = Vec::with_capacity(MAX_SAMPLES);
            while !stop.load(Relaxed) && samples.len() < MAX_SAMPLES {
                let id = &r.staying[rng.random_range(0..r.staying.len())];
                let t0 = Instant::now();
                workload::cycle(&r.app, id, true);
                let t1 = Instant::now();
                samples.push((ns(t0), (t1 - t0).as_nanos() as u64));
            }
            samples
        });
        std::thread::sleep(warm_up);
        let sweep = r.sweep();
        std::thread::sleep(Duration::from_millis(10));
        stop.store(true, Relaxed);
        (requests.join().expect("request thread"), sweep)
    });
    let (s0, s1) = (ns(start), ns(end));
    let window = s1 - s0;
    let first = samples.first().map_or(0, |s| s.0);
    let during: Vec<u64> = samples
        .iter()
        .filter(|(t, d)| *t < s1 && t + d > s0)
        .map(|s| s.1)
        .collect();
    let before: Vec<u64> = samples
        .iter()
        .filter(|(t, d)| *t >= s0.saturating_sub(window).max(first) && t + d <= s0)
        .map(|s| s.1)
        .collect();
    assert!(
        samples.last().is_some_and(|s| s.0 > s1),
        "the request thread ran past the sweep"
    );
    (window as f64 / r.due as f64, during, before)
}

fn main() {
    if args::flag("--list") {
        return;
    }
    let quick = args::quick();
    let n: usize =
        args::env_num("SESS_BENCH_SESSIONS").unwrap_or(if quick { 10_000 } else { 1_000_000 });
    let rounds: usize = args::env_num("SESS_BENCH_ROUNDS").unwrap_or(if quick { 1 } else { 5 });
    assert!(
        n >= DUE_EVERY && rounds > 0,
        "SESS_BENCH_SESSIONS, SESS_BENCH_ROUNDS"
    );
    println!(
        "expiry_sweep: {n} resident sessions, {} due at each sweep; {rounds} rounds of each kind{}",
        n.div_ceil(DUE_EVERY),
        if quick { "; quick mode" } else { "" }
    );
    println!(
        "request cycles during the sweep, and before it: n, then p50, p99, p99.9, max in µs\n"
    );
    println!(
        "| round | sweep | ns per session ended | during: n | p50 | p99 | p99.9 | max \
         | before: n | p50 | p99 | p99.9 | max |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");

    let (mut alone, mut shared) = (Vec::new(), Vec::new());
    let (mut during, mut before) = (Vec::new(), Vec::new());
    let mut worst = 0;
    let mut last_sweep = Duration::ZERO;
    for round in 1..=rounds {
        let r = build(n);
        let (start, end) = r.sweep();
        last_sweep = end - start;
        let per = last_sweep.as_nanos() as f64 / r.due as f64;
        alone.push(per);
        println!("| {round} | alone | {per:.0} |{}", " |".repeat(10));
        drop(r);

        let r = build(n);
        // Long enough for a baseline window as long as the sweep (twice
        // the last one alone), after 100 ms of warm-up.
        let warm_up = Duration::from_millis(100) + 2 * last_sweep;
        let (per, mut d, mut b) = with_requests(&r, warm_up);
        worst = worst.max(d.iter().copied().max().unwrap_or(0));
        // A window may hold no cycle at all if the request thread lost its
        // CPU for that long (a busy machine); the row then says so.
        let row = |p: Option<Percentiles>| p.map_or("0 | | | |".to_string(), |p| p.to_string());
        let (d, b) = (Percentiles::of(&mut d), Percentiles::of(&mut b));
        shared.push(per);
        during.extend(d);
        before.extend(b);
        println!(
            "| {round} | with requests | {per:.0} | {} | {} |",
            row(d),
            row(b)
        );
    }

    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[(v.len() - 1) / 2]
    };
    println!(
        "\nmedian of {rounds} rounds: ns per session ended: alone {:.0}, with requests {:.0}",
        median(&mut alone),
        median(&mut shared)
    );
    for (name, runs) in [("during", &during), ("before", &before)] {
        if let Some(p) = Percentiles::median(runs) {
            println!("cycles {name} the sweep ({} rounds): {p}", runs.len());
        }
    }
    println!(
        "worst cycle during any sweep: {:.2} µs; the last sweep alone took {:.1} ms",
        worst as f64 / 1000.0,
        last_sweep.as_secs_f64() * 1000.0
    );
}
