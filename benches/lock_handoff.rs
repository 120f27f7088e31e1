//! Lock hand-off on one hot session: two threads take turns holding it
//! exclusively, and each turn measures the time from the holder's release
//! to the waiter running.
//!
//! A turn: the waiter announces itself and calls `open_session(id,
//! Exclusive)`, which blocks; the holder, once it sees the announcement,
//! keeps the session `SESS_BENCH_HOLD_US` more (default 200 µs, so the
//! waiter is parked, as behind a real request), reads the payload and
//! writes count + 1, notes the time and calls `close`. The sample is from
//! that note to the moment the waiter's `open_session` returns. The former
//! holder waits until the waiter holds the session before it queues again,
//! so it cannot take the lock back first.
//!
//! Contenders, interleaved round by round: libsess's in-process store,
//! libsess's LMDB store (`StoreConfig::Lmdb`, default options; its waiters
//! poll), and a bare `parking_lot::Mutex` (the floor: what waking a parked
//! thread costs on this machine). Each runs with the two players pinned to
//! two CPUs (the waiter is woken on another CPU) and to one (it runs when
//! the releasing thread gives the CPU up): left to the scheduler, a run
//! lands in either case, and the two differ by an order of magnitude.
//! Reported per round and as the median of rounds: p50, p99, p99.9 and max
//! of the hand-offs. Each run ends by checking that the count equals the
//! turns taken (no lost update).
//!
//! `cargo bench --bench lock_handoff` runs it; `-- --test` (or a run
//! without `--bench`, as `cargo test --all-targets` does) is a quick sanity
//! run. Overrides: `SESS_BENCH_ROUNDS`, `SESS_BENCH_HANDOFFS` (per round;
//! LMDB a tenth), `SESS_BENCH_HOLD_US`.

#[path = "common/args.rs"]
mod args;
#[path = "common/cycle.rs"]
mod cycle;
#[path = "common/latency.rs"]
mod latency;

use std::sync::atomic::{AtomicU64, Ordering::Acquire, Ordering::Release};
use std::time::{Duration, Instant};

use sess::app::{App, AppOptions, Session, StoreConfig};
use sess::store::lmdb::LmdbOptions;
use sess::store::LockMode;

use latency::Percentiles;

/// What the two players share.
struct Turns {
    /// The last turn whose waiter announced itself.
    waiting: AtomicU64,
    /// The last turn whose player holds (or held) the lock.
    holding: AtomicU64,
    /// When the last holder released, ns since `base`.
    released: AtomicU64,
    base: Instant,
}

impl Turns {
    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }
}

/// Busy-waits until `done`, yielding the CPU after a short spin (so a
/// waiting player does not delay the other one sharing its CPU).
fn spin_until(done: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !done() {
        if spins < 100 {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// One player: turns `first`, `first + 2`, ... up to `last`. Turn 0 just
/// takes the lock; every other turn waits for it and records the
/// hand-off, ns.
fn play<H>(
    turns: &Turns,
    first: u64,
    last: u64,
    hold: Duration,
    take: &impl Fn() -> H,
    work: &impl Fn(&mut H),
    give: &impl Fn(H),
) -> Vec<u64> {
    let mut samples = Vec::with_capacity((last / 2 + 1) as usize);
    let mut turn = first;
    while turn <= last {
        let mut held = if turn == 0 {
            take()
        } else {
            // Not before the previous turn's player has the lock.
            spin_until(|| turns.holding.load(Acquire) == turn - 1);
            turns.waiting.store(turn, Release);
            let held = take();
            samples.push(turns.now() - turns.released.load(Acquire));
            held
        };
        turns.holding.store(turn, Release);
        if turn < last {
            spin_until(|| turns.waiting.load(Acquire) == turn + 1);
            let until = Instant::now() + hold;
            spin_until(|| Instant::now() >= until);
        }
        work(&mut held);
        turns.released.store(turns.now(), Release);
        give(held);
        turn += 2;
    }
    samples
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: sched_getaffinity fills the zeroed set it is given; CPU_ISSET
    // reads it within its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Keeps the calling thread on `cpu`.
fn pin(cpu: usize) {
    // SAFETY: the set is zeroed then given one CPU below CPU_SETSIZE;
    // sched_setaffinity(0, ...) applies to the calling thread.
    let pinned = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) == 0
    };
    assert!(pinned, "cannot run on CPU {cpu}");
}

/// `n` hand-offs between two threads (turns 0..=n), the first pinned to
/// `cpus[0]`, the second to `cpus[1]`.
fn handoffs<H>(
    n: u64,
    cpus: [usize; 2],
    hold: Duration,
    take: impl Fn() -> H + Sync,
    work: impl Fn(&mut H) + Sync,
    give: impl Fn(H) + Sync,
) -> Vec<u64> {
    let turns = Turns {
        waiting: AtomicU64::new(u64::MAX),
        holding: AtomicU64::new(u64::MAX),
        released: AtomicU64::new(0),
        base: Instant::now(),
    };
    let (take, work, give) = (&take, &work, &give);
    std::thread::scope(|sc| {
        let players: Vec<_> = (0..2)
            .map(|first| {
                let turns = &turns;
                sc.spawn(move || {
                    pin(cpus[first as usize]);
                    play(turns, first, n, hold, take, work, give)
                })
            })
            .collect();
        players
            .into_iter()
            .flat_map(|p| p.join().expect("player"))
            .collect()
    })
}

/// `n` hand-offs on a fresh session of `app`: the samples, checked (the
/// count is the number of turns), and the lock waits the app counted.
fn on_session(app: &App, n: u64, cpus: [usize; 2], hold: Duration) -> (Vec<u64>, u64) {
    let id = cycle::fill(app, 1).pop().expect("the hot session");
    let waits = app.stats().lock_waits;
    let samples = handoffs(
        n,
        cpus,
        hold,
        || {
            app.open_session(&id, LockMode::Exclusive)
                .expect("the hot session")
        },
        |s: &mut Session| {
            cycle::touch(s, true);
        },
        |s: Session| s.close().expect("close"),
    );
    assert_eq!(cycle::cycle(app, &id, false) as u64, n + 1, "count");
    (samples, app.stats().lock_waits - waits)
}

fn options(store: StoreConfig) -> AppOptions {
    AppOptions {
        expiry_interval: None,
        store,
        ..AppOptions::default()
    }
}

fn main() {
    if args::flag("--list") {
        return;
    }
    let quick = args::quick();
    let rounds: usize = args::env_num("SESS_BENCH_ROUNDS").unwrap_or(if quick { 1 } else { 5 });
    let n: u64 = args::env_num("SESS_BENCH_HANDOFFS").unwrap_or(if quick { 200 } else { 10_000 });
    let hold = Duration::from_micros(args::env_num("SESS_BENCH_HOLD_US").unwrap_or(200));
    let n_lmdb = (n / 10).max(2);
    assert!(
        rounds > 0 && n >= 2,
        "SESS_BENCH_ROUNDS, SESS_BENCH_HANDOFFS"
    );

    let dir = std::env::temp_dir().join(format!("sess-handoff-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let inproc = App::new(options(StoreConfig::InProc)).expect("in-process app");
    let lmdb = App::new(options(StoreConfig::Lmdb(LmdbOptions::new(&dir)))).expect("LMDB app");

    // The players on two CPUs (a cross-CPU wake-up), then both on one.
    let cpus = allowed_cpus();
    let mut placements = Vec::new();
    if let [a, b, ..] = cpus[..] {
        placements.push(("2", [a, b]));
    }
    placements.push(("1", [cpus.first().copied().unwrap_or(0); 2]));

    println!(
        "lock_handoff: {rounds} rounds of {n} hand-offs (LMDB {n_lmdb}), held {} µs after the \
         waiter queues; the players on CPUs {:?}{}",
        hold.as_micros(),
        placements.iter().map(|p| p.1).collect::<Vec<_>>(),
        if quick { "; quick mode" } else { "" }
    );
    println!(
        "\n| round | CPUs | contender | hand-offs | p50 µs | p99 µs | p99.9 µs | max µs \
         | lock waits counted |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    let names = ["libsess in-process", "libsess LMDB", "parking_lot::Mutex"];
    let mut runs: Vec<[Vec<Percentiles>; 3]> =
        placements.iter().map(|_| Default::default()).collect();
    for round in 1..=rounds {
        for ((placement, cpus), runs) in placements.iter().zip(&mut runs) {
            for (c, name) in names.iter().enumerate() {
                let (mut samples, waits) = match c {
                    0 => on_session(&inproc, n, *cpus, hold),
                    1 => on_session(&lmdb, n_lmdb, *cpus, hold),
                    _ => {
                        let m = parking_lot::Mutex::new(0u64);
                        let s = handoffs(n, *cpus, hold, || m.lock(), |g| **g += 1, drop);
                        assert_eq!(*m.lock(), n + 1, "count");
                        (s, 0)
                    }
                };
                let p = Percentiles::of(&mut samples).expect("hand-offs");
                let waits = if c < 2 { waits.to_string() } else { "".into() };
                println!("| {round} | {placement} | {name} | {p} | {waits} |");
                runs[c].push(p);
            }
        }
    }
    println!("\nmedian of {rounds} rounds:\n");
    println!("| CPUs | contender | hand-offs | p50 µs | p99 µs | p99.9 µs | max µs |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for ((placement, _), runs) in placements.iter().zip(&runs) {
        for (name, runs) in names.iter().zip(runs) {
            let p = Percentiles::median(runs).expect("rounds");
            println!("| {placement} | {name} | {p} |");
        }
    }
    drop(lmdb);
    let _ = std::fs::remove_dir_all(&dir);
}
