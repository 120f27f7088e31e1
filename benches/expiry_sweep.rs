//! Expiry on the in-process store: what a sweep costs per expired session,
//! and how long requests on other sessions stall while one runs.
//!
//! Each round builds an application of N resident sessions (1,000,000 by
//! default) on a manual clock, each with the payload of `request_cycle.rs`,
//! created 1 ms of clock apart; every 10th has a Timeout of 1 minute, the
//! others 20. The clock is then moved past every short deadline and
//! `App::expire` ends the N/10 due sessions (their buckets span the whole
//! build) while the 90 % stay. Each round runs, in turn:
//! - "alone": the sweep on its own; reported: wall time ÷ sessions ended;
//! - "with requests": the same while another thread runs request cycles
//!   (open exclusive → 3 gets → set → close) on uniformly random resident
//!   sessions, each timed on its own; reported: the cycles that overlapped
//!   the sweep and, as a baseline, those of an equally long window just
//!   before it. Each cycle is marked if its thread was preempted (an
//!   involuntary context switch, from `getrusage(RUSAGE_THREAD)` after the
//!   cycle, untimed) or slept waiting (a voluntary one: a parked lock wait),
//!   so the machine's share of the tail can be told from the library's;
//! - "floor": the same sessions' data (`PeerData`) in a DashMap, the due
//!   ones removed by key and dropped, the least any store does per expired
//!   session (find, unlink, free).
//!
//! `cargo bench --bench expiry_sweep` runs it; `-- --test` (or a run
//! without `--bench`, as `cargo test --all-targets` does) is a quick sanity
//! run of 10,000 sessions and one round. Overrides: `SESS_BENCH_SESSIONS`,
//! `SESS_BENCH_ROUNDS`.

#[path = "common/args.rs"]
mod args;
#[path = "common/cycle.rs"]
mod cycle;
#[path = "common/frozen_contents.rs"]
mod frozen_contents;
#[path = "common/latency.rs"]
mod latency;
#[path = "common/peer.rs"]
mod peer;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sess::app::{App, AppOptions};
use sess::clock::{Clock, ManualClock};
use sess::state::SessionId;
use sess::store::LockMode;

use cycle::USER; // what peer.rs stores
use latency::{us, Percentiles};
use peer::Slot;

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
    let mut made = 0;
    while made < n {
        let ids = cycle::fill(&app, per_ms.min(n - made));
        for id in ids {
            if made % DUE_EVERY == 0 {
                let mut s = app
                    .open_session(&id, LockMode::Exclusive)
                    .expect("just made");
                s.set_timeout(1).expect("timeout");
                s.close().expect("close");
                due += 1;
            } else {
                staying.push(id);
            }
            made += 1;
        }
        clock.advance(1);
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

/// This thread's voluntary and involuntary context switches so far.
fn switches() -> (i64, i64) {
    // SAFETY: getrusage fills the zeroed struct it is given; RUSAGE_THREAD
    // is valid on Linux.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut u);
        (u.ru_nvcsw, u.ru_nivcsw)
    }
}

/// A request cycle the request thread timed.
struct Sample {
    /// Its start, ns from the round's base instant.
    start: u64,
    /// Its duration, ns.
    ns: u64,
    /// Its thread was preempted (since the previous cycle ended).
    preempted: bool,
    /// Its thread slept waiting (a parked lock wait).
    waited: bool,
}

/// The request cycles of one window.
struct Window {
    /// All its cycles.
    all: Option<Percentiles>,
    /// The cycles whose thread was not preempted.
    unpreempted: Option<Percentiles>,
    /// How many cycles were preempted.
    preempted: usize,
    /// How many cycles slept waiting.
    waited: usize,
}

impl Window {
    fn of<'a>(samples: impl Iterator<Item = &'a Sample>) -> Window {
        let (mut all, mut unpreempted) = (Vec::new(), Vec::new());
        let (mut preempted, mut waited) = (0, 0);
        for s in samples {
            all.push(s.ns);
            preempted += usize::from(s.preempted);
            waited += usize::from(s.waited);
            if !s.preempted {
                unpreempted.push(s.ns);
            }
        }
        Window {
            all: Percentiles::of(&mut all),
            unpreempted: Percentiles::of(&mut unpreempted),
            preempted,
            waited,
        }
    }

    /// A table row's cells (see `main`'s header).
    fn row(&self) -> String {
        let (p, u) = (self.all, self.unpreempted);
        format!(
            "{} | {} | {} | {} | {} | {} | {} | {} | {}",
            p.map_or(0, |p| p.n),
            self.preempted,
            self.waited,
            p.map_or("".into(), |p| us(p.p50)),
            p.map_or("".into(), |p| us(p.p99)),
            p.map_or("".into(), |p| us(p.p999)),
            p.map_or("".into(), |p| us(p.max)),
            u.map_or("".into(), |p| us(p.p999)),
            u.map_or("".into(), |p| us(p.max)),
        )
    }

    /// The median of each figure over rounds.
    fn median(runs: &[Window]) -> Window {
        let all: Vec<_> = runs.iter().filter_map(|w| w.all).collect();
        let unpreempted: Vec<_> = runs.iter().filter_map(|w| w.unpreempted).collect();
        Window {
            all: Percentiles::median(&all),
            unpreempted: Percentiles::median(&unpreempted),
            preempted: median(runs.iter().map(|w| w.preempted as f64).collect()) as usize,
            waited: median(runs.iter().map(|w| w.waited as f64).collect()) as usize,
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 2]
}

/// A round with a request thread: the sweep's ns per session ended, the
/// cycles that overlapped the sweep and those of an equally long window
/// just before it (after `warm_up`).
fn with_requests(r: &Resident, warm_up: Duration) -> (f64, Window, Window) {
    let stop = AtomicBool::new(false);
    let base = Instant::now();
    let ns = |t: Instant| t.duration_since(base).as_nanos() as u64;
    let (samples, (start, end)) = std::thread::scope(|sc| {
        let requests = sc.spawn(|| {
            let mut rng = StdRng::seed_from_u64(0x5E55_1D5E_ED00_0002);
            let mut samples: Vec<Sample> = Vec::with_capacity(MAX_SAMPLES);
            let mut last = switches();
            while !stop.load(Relaxed) && samples.len() < MAX_SAMPLES {
                let id = &r.staying[rng.random_range(0..r.staying.len())];
                let t0 = Instant::now();
                cycle::cycle(&r.app, id, true);
                let t1 = Instant::now();
                let now = switches();
                samples.push(Sample {
                    start: ns(t0),
                    ns: (t1 - t0).as_nanos() as u64,
                    preempted: now.1 > last.1,
                    waited: now.0 > last.0,
                });
                last = now;
            }
            samples
        });
        std::thread::sleep(warm_up);
        let sweep = r.sweep();
        std::thread::sleep(Duration::from_millis(10));
        stop.store(true, Relaxed);
        (requests.join().expect("request thread"), sweep)
    });
    assert!(
        samples.last().is_some_and(|s| s.start > ns(end)),
        "the request thread ran past the sweep"
    );
    let (s0, s1) = (ns(start), ns(end));
    let from = s0.saturating_sub(s1 - s0).max(samples[0].start);
    let during = Window::of(
        samples
            .iter()
            .filter(|s| s.start < s1 && s.start + s.ns > s0),
    );
    let before = Window::of(
        samples
            .iter()
            .filter(|s| s.start >= from && s.start + s.ns <= s0),
    );
    ((s1 - s0) as f64 / r.due as f64, during, before)
}

/// The floor: `n` sessions' `PeerData` in a DashMap keyed by their IDs;
/// every 10th removed by key and dropped. ns per session removed.
fn floor(n: usize) -> f64 {
    let map: DashMap<String, Slot> = DashMap::new();
    let mut due = Vec::with_capacity(n.div_ceil(DUE_EVERY));
    for i in 0..n {
        let id = SessionId::generate().expect("an ID").to_string();
        if i % DUE_EVERY == 0 {
            due.push(id.clone());
        }
        map.insert(id, Arc::new(Mutex::new(peer::payload())));
    }
    let start = Instant::now();
    for id in &due {
        drop(map.remove(id).expect("a due session"));
    }
    let took = start.elapsed();
    assert_eq!(map.len(), n - due.len());
    let kept = map.iter().next().expect("sessions stay");
    let kept = kept.value().lock();
    let keys: Vec<_> = kept.contents.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["user", "count", "cart"], "the payload");
    assert!(kept.contents.get("COUNT").is_some());
    took.as_nanos() as f64 / due.len() as f64
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
        "expiry_sweep: {n} resident sessions, {} due at each sweep; {rounds} rounds{}\n",
        n.div_ceil(DUE_EVERY),
        if quick { "; quick mode" } else { "" }
    );

    let (mut alone, mut shared, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    let (mut during, mut before) = (Vec::new(), Vec::new());
    let mut last_sweep = Duration::ZERO;
    for round in 1..=rounds {
        let r = build(n);
        let (start, end) = r.sweep();
        last_sweep = end - start;
        alone.push(last_sweep.as_nanos() as f64 / r.due as f64);
        drop(r);

        let r = build(n);
        // Long enough for a baseline window as long as the sweep (twice
        // the last one alone), after 100 ms of warm-up.
        let warm_up = Duration::from_millis(100) + 2 * last_sweep;
        let (per, d, b) = with_requests(&r, warm_up);
        drop(r);
        shared.push(per);
        during.push(d);
        before.push(b);

        floors.push(floor(n));
        println!(
            "round {round}: ns per session ended: alone {:.0}, with requests {per:.0}, \
             floor {:.0}",
            alone[round - 1],
            floors[round - 1]
        );
    }

    println!(
        "\nns per session ended, median of {rounds} rounds: libsess alone {:.0}, with \
         requests {:.0}; floor (DashMap) {:.0}; the last sweep alone took {:.1} ms",
        median(alone),
        median(shared),
        median(floors),
        last_sweep.as_secs_f64() * 1000.0
    );
    println!("\nrequest cycles, µs; \"unpreempted\": the cycles whose thread kept its CPU\n");
    println!(
        "| round | window | cycles | preempted | waited | p50 | p99 | p99.9 | max \
         | unpreempted p99.9 | unpreempted max |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (d, b)) in during.iter().zip(&before).enumerate() {
        println!("| {} | during the sweep | {} |", i + 1, d.row());
        println!("| {} | before it | {} |", i + 1, b.row());
    }
    println!(
        "| median | during the sweep | {} |",
        Window::median(&during).row()
    );
    println!("| median | before it | {} |", Window::median(&before).row());
}
