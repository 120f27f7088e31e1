//! The Redis store against real Redis: the shared session suite (also run
//! in-process, and on a private three-master Redis Cluster), and the web-farm
//! properties — several OS processes sharing sessions, crashed lock holders,
//! Abandon racing a slow request, concurrent regenerate, Redis going away
//! and coming back, keys that never hold a cookie, racing sweepers, and the
//! round trips each request costs.
//!
//! The shared server is 127.0.0.1:6379 (`.ci/run` starts it); fault tests
//! start private `redis-server`s on other loopback ports. Every test uses
//! its own key prefix and deletes its keys; every wait is bounded. Child
//! processes are this test binary run again with `SESS_CHILD_ROLE` set.

#[path = "common/child.rs"]
mod child;
#[path = "common/redis.rs"]
mod redis_env;
#[path = "common/suite.rs"]
mod suite;
#[path = "common/temp_dir.rs"]
mod temp_dir;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis_env::{cmd, connect, Prefixes, Server, SHARED_URL};
use sess::app::{App, AppOptions, StoreConfig};
use sess::clock::ManualClock;
use sess::error;
use sess::state::SessionId;
use sess::store::{LockMode, RedisOptions};
use sess::variant::Variant;

use child::{await_line, env, spawn_child, wait_bounded};
use suite::{app_with, code, stored};
use temp_dir::TempDir;

const SECRET: &[u8] = b"a farm-wide test secret, 32 byte";

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Redis options for tests: `url`, `prefix`, shortish bounds.
fn redis_opts(url: &str, prefix: String) -> RedisOptions {
    RedisOptions {
        url: url.into(),
        key_prefix: prefix,
        retry_budget: Duration::from_secs(2),
        lock_ttl: Duration::from_secs(30),
        ..RedisOptions::default()
    }
}

/// An application on Redis with no expiry thread.
fn app_on(redis: RedisOptions, f: impl FnOnce(&mut AppOptions)) -> App {
    app_with(StoreConfig::Redis(redis), f)
}

// ---- child processes -------------------------------------------------------

/// The roles a child process plays; a no-op when run as an ordinary test.
#[test]
fn child_process() {
    let Ok(role) = std::env::var("SESS_CHILD_ROLE") else {
        return;
    };
    let mut redis = redis_opts(&env("SESS_CHILD_URL"), env("SESS_CHILD_PREFIX"));
    redis.lock_ttl = Duration::from_millis(env("SESS_CHILD_LOCK_TTL").parse().unwrap());
    redis.id_secret = Some(SECRET.to_vec());
    match role.as_str() {
        "incr" => {
            let app = app_on(redis, |o| o.lock_timeout = Duration::from_secs(60));
            let id = SessionId::parse(&env("SESS_CHILD_ID")).unwrap();
            let n: usize = env("SESS_CHILD_N").parse().unwrap();
            for _ in 0..n {
                let mut s = app.open(&id, LockMode::Exclusive).unwrap();
                let Some(Variant::I4(v)) = s.get("n").cloned() else {
                    panic!("no counter")
                };
                s.set("n", Variant::I4(v + 1)).unwrap();
                s.close().unwrap();
            }
        }
        "hold" => {
            let app = app_on(redis, |_| {});
            let id = SessionId::parse(&env("SESS_CHILD_ID")).unwrap();
            let _held = app.open(&id, LockMode::Exclusive).unwrap();
            println!("HELD");
            std::thread::sleep(Duration::from_secs(60)); // killed long before
        }
        "sweep" => {
            let url = env("SESS_CHILD_URL");
            let prefix = env("SESS_CHILD_PREFIX");
            let tally = Arc::new(Mutex::new(connect(&url)));
            let clock = Arc::new(ManualClock::new(env("SESS_CHILD_NOW").parse().unwrap()));
            let app = app_on(redis, |o| {
                o.clock = Some(clock);
                o.on_end = Some(Arc::new(move |s| {
                    let Some(Variant::I4(n)) = s.get("n").cloned() else {
                        panic!("OnEnd without contents")
                    };
                    let mut con = tally.lock().unwrap();
                    let n = n.to_string();
                    let _: i64 = cmd(&mut con, &["HINCRBY", &format!("{prefix}ends"), &n, "1"]);
                    let _: i64 = cmd(
                        &mut con,
                        &["HSET", &format!("{prefix}ids"), &n, &s.id().to_string()],
                    );
                }));
            });
            let t = Instant::now();
            while app.session_count().unwrap() > 0 && t.elapsed() < Duration::from_secs(30) {
                app.expire().unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

fn child_env(url: &str, prefix: &str, lock_ttl_ms: u64) -> Vec<(&'static str, String)> {
    vec![
        ("SESS_CHILD_URL", url.to_owned()),
        ("SESS_CHILD_PREFIX", prefix.to_owned()),
        ("SESS_CHILD_LOCK_TTL", lock_ttl_ms.to_string()),
    ]
}

// ---- the shared suite ------------------------------------------------------

#[test]
fn suite_in_process() {
    suite::suite(&|o| App::new(o).unwrap());
}

#[test]
fn suite_redis() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "suite");
    suite::suite(&|mut o| {
        o.store = StoreConfig::Redis(redis_opts(SHARED_URL, prefixes.fresh()));
        App::new(o).unwrap()
    });
}

#[test]
fn sessions_stored_under_larger_limits_are_too_large() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "larger");
    let prefix = prefixes.fresh();
    suite::stored_under_larger_limits(&|mut o| {
        o.store = StoreConfig::Redis(redis_opts(SHARED_URL, prefix.clone()));
        App::new(o).unwrap()
    });
}

#[test]
fn suite_redis_cluster() {
    if let Err(why) = redis_env::cluster_supported() {
        eprintln!("SKIPPED: Redis Cluster test: {why}");
        return;
    }
    let cluster = redis_env::Cluster::start().expect("a local three-master cluster");
    let urls = cluster.urls();
    let prefixes = Prefixes::new(&urls, "cluster");
    let opts = |prefix: String| RedisOptions {
        cluster: true,
        cluster_nodes: urls[1..].to_vec(),
        ..redis_opts(&urls[0], prefix)
    };
    suite::suite(&|mut o| {
        o.store = StoreConfig::Redis(opts(prefixes.fresh()));
        App::new(o).unwrap()
    });
    // Sessions spread over the masters; each one's keys share a slot.
    let prefix = prefixes.fresh();
    let app = app_on(opts(prefix.clone()), |_| {});
    for i in 0..40 {
        stored(&app, &[("i", Variant::I4(i))]);
    }
    let per_node: Vec<usize> = urls
        .iter()
        .map(|u| redis_env::session_keys(u, &prefix).len())
        .collect();
    assert_eq!(per_node.iter().sum::<usize>(), 40, "{per_node:?}");
    assert!(
        per_node.iter().filter(|&&n| n > 0).count() >= 2,
        "keys on one node only: {per_node:?}"
    );
}

// ---- web-farm properties ---------------------------------------------------

#[test]
fn two_processes_10000_increments() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "incr");
    let prefix = prefixes.fresh();
    let app = app_on(redis_opts(SHARED_URL, prefix.clone()), |_| {});
    let id = stored(&app, &[("n", Variant::I4(0))]);
    let t = Instant::now();
    let mut children: Vec<Child> = (0..2)
        .map(|_| {
            let mut e = child_env(SHARED_URL, &prefix, 30_000);
            e.push(("SESS_CHILD_ID", id.to_string()));
            e.push(("SESS_CHILD_N", "5000".into()));
            spawn_child("incr", &e)
        })
        .collect();
    for c in &mut children {
        assert!(wait_bounded(c, Duration::from_secs(120)).success());
    }
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("n"), Some(&Variant::I4(10_000)));
    eprintln!("10,000 increments by 2 processes: {:?}", t.elapsed());
}

#[test]
fn traffic_leaves_no_keys_behind() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "leftover");
    let prefix = prefixes.fresh();
    let app = app_on(redis_opts(SHARED_URL, prefix.clone()), |_| {});
    let ids: Vec<SessionId> = (0..10)
        .map(|_| stored(&app, &[("n", Variant::I4(0))]))
        .collect();
    assert_eq!(
        redis_env::session_keys(SHARED_URL, &prefix).len(),
        10,
        "one key per session"
    );
    let mut before = redis_env::keys_under(SHARED_URL, &prefix);
    before.sort();
    std::thread::scope(|sc| {
        for t in 0..4 {
            let (app, ids) = (&app, &ids);
            sc.spawn(move || {
                for i in 0..250 {
                    let id = &ids[(t + i) % ids.len()];
                    let mut s = app.open(id, LockMode::Exclusive).unwrap();
                    let Some(Variant::I4(n)) = s.get("n").cloned() else {
                        panic!("no counter")
                    };
                    s.set("n", Variant::I4(n + 1)).unwrap();
                    s.close().unwrap();
                    app.open(id, LockMode::Shared).unwrap().close().unwrap();
                }
            });
        }
    });
    // Straight away: no lock key or mark per request, waiting to expire.
    let mut after = redis_env::keys_under(SHARED_URL, &prefix);
    after.sort();
    assert_eq!(after, before, "1,000 writing requests left keys behind");
    let total: i32 = ids
        .iter()
        .map(
            |id| match app.open(id, LockMode::Shared).unwrap().get("n") {
                Some(Variant::I4(n)) => *n,
                other => panic!("{other:?}"),
            },
        )
        .sum();
    assert_eq!(total, 1000);
}

#[test]
fn a_killed_holders_lock_frees_after_its_ttl() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "kill");
    let prefix = prefixes.fresh();
    // Long enough that the impatient waiter's attempts end before it,
    // even on a busy machine.
    let ttl = Duration::from_millis(3000);
    let mut redis = redis_opts(SHARED_URL, prefix.clone());
    redis.lock_ttl = ttl;
    let app = app_on(redis.clone(), |_| {});
    let id = stored(&app, &[("x", Variant::I4(1))]);
    let mut e = child_env(SHARED_URL, &prefix, ttl.as_millis() as u64);
    e.push(("SESS_CHILD_ID", id.to_string()));
    let mut child = spawn_child("hold", &e);
    await_line(&mut child, "HELD", Duration::from_secs(20));
    child.kill().unwrap(); // SIGKILL: the lock is never released
    let killed = Instant::now();
    let _ = child.wait();
    // A waiter whose lock timeout is shorter than what is left of the TTL
    // gets the documented code...
    let impatient = app_on(redis.clone(), |o| {
        o.lock_timeout = Duration::from_millis(200)
    });
    assert_eq!(
        code(impatient.open(&id, LockMode::Exclusive)),
        error::E_LOCK_TIMEOUT
    );
    // ...a patient one proceeds once the TTL has passed.
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    let waited = killed.elapsed();
    assert!(
        waited <= ttl + Duration::from_millis(500),
        "waited {waited:?}"
    );
    s.set("x", Variant::I4(2)).unwrap();
    s.close().unwrap();
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("x"),
        Some(&Variant::I4(2))
    );
}

#[test]
fn a_save_after_the_lock_ttl_is_refused() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "late");
    let mut redis = redis_opts(SHARED_URL, prefixes.fresh());
    redis.lock_ttl = Duration::from_millis(500);
    let app = app_on(redis, |o| o.lock_timeout = Duration::from_secs(30));
    let id = stored(&app, &[("x", Variant::I4(1))]);
    let mut late = app.open(&id, LockMode::Exclusive).unwrap();
    late.set("x", Variant::I4(2)).unwrap();
    // A reader waits for the writer until its lock runs out; nobody takes
    // the lock.
    app.open(&id, LockMode::Shared).unwrap().close().unwrap();
    assert_eq!(code(late.close()), error::E_LOCK_TIMEOUT);
    let s = app.open(&id, LockMode::Exclusive).unwrap();
    assert_eq!(s.get("x"), Some(&Variant::I4(1)), "nothing was saved");
}

#[test]
fn lock_leases_are_judged_by_the_servers_clock_not_the_apps() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "skew");
    let prefix = prefixes.fresh();
    let now = now_ms();
    // Three servers of a farm whose clocks disagree by a minute or an hour
    // (session deadlines, 20 minutes away, are not in question).
    let app_at = |clock_ms: u64, lock_timeout: Duration| {
        app_on(redis_opts(SHARED_URL, prefix.clone()), |o| {
            o.clock = Some(Arc::new(ManualClock::new(clock_ms)));
            o.lock_timeout = lock_timeout;
        })
    };
    let holder = app_at(now, Duration::from_secs(10));
    let ahead = app_at(now + 60_000, Duration::from_millis(300));
    let behind = app_at(now - 3_600_000, Duration::from_secs(30));
    let id = stored(&holder, &[("x", Variant::I4(1))]);
    // A clock a minute ahead does not break a live 30 s lock...
    let mut held = holder.open(&id, LockMode::Exclusive).unwrap();
    held.set("x", Variant::I4(2)).unwrap();
    for mode in [LockMode::Exclusive, LockMode::Shared] {
        assert_eq!(
            code(ahead.open(&id, mode)),
            error::E_LOCK_TIMEOUT,
            "a clock 60 s ahead ignored a live lock ({mode:?})"
        );
    }
    held.close().expect("the lock was not broken");
    // ...and a clock an hour behind does not keep a dead one: a holder
    // killed with a 500 ms lock frees the session within the lock timeout.
    let mut e = child_env(SHARED_URL, &prefix, 500);
    e.push(("SESS_CHILD_ID", id.to_string()));
    let mut child = spawn_child("hold", &e);
    await_line(&mut child, "HELD", Duration::from_secs(20));
    child.kill().unwrap();
    let _ = child.wait();
    let mut s = behind
        .open(&id, LockMode::Exclusive)
        .expect("a clock an hour behind kept a dead lock");
    assert_eq!(s.get("x"), Some(&Variant::I4(2)));
    s.set("x", Variant::I4(3)).unwrap();
    s.close().unwrap();
}

#[test]
fn a_slow_request_cannot_resurrect_an_abandoned_session() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "slow");
    let prefix = prefixes.fresh();
    let mut redis = redis_opts(SHARED_URL, prefix.clone());
    redis.lock_ttl = Duration::from_millis(400);
    // The slow request's lock TTL has run out: its save is refused as a
    // lost lock.
    suite::slow_request_cannot_resurrect(
        &|mut o| {
            o.store = StoreConfig::Redis(redis.clone());
            App::new(o).unwrap()
        },
        error::E_LOCK_TIMEOUT,
    );
    let data_keys = redis_env::stored_sessions(SHARED_URL, &prefix);
    assert!(data_keys.is_empty(), "resurrected: {data_keys:?}");
}

#[test]
fn concurrent_regenerate_leaves_exactly_one_new_id() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "regen");
    let prefix = prefixes.fresh();
    let app = app_on(redis_opts(SHARED_URL, prefix.clone()), |_| {});
    let old = stored(&app, &[("v", Variant::I4(7))]);
    let results: Vec<sess::error::Result<SessionId>> = std::thread::scope(|sc| {
        let run = || {
            let mut s = app.open(&old, LockMode::Exclusive)?;
            s.regenerate_id()?;
            std::thread::sleep(Duration::from_millis(50));
            let id = s.id();
            s.close()?;
            Ok(id)
        };
        let a = sc.spawn(run);
        let b = sc.spawn(run);
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let new: Vec<&SessionId> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(new.len(), 1, "exactly one regenerate succeeds");
    let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(loser.code(), error::E_SESSION_NOT_FOUND);
    assert_eq!(
        code(app.open(&old, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
    let s = app.open(new[0], LockMode::Shared).unwrap();
    assert_eq!(s.get("v"), Some(&Variant::I4(7)));
    assert_eq!(redis_env::session_keys(SHARED_URL, &prefix).len(), 1);
}

/// One timed call of the load in [`redis_down_then_back`].
struct Call {
    start: Instant,
    took: Duration,
    code: i32,
}

#[test]
fn count_and_expiry_report_a_redis_that_is_down() {
    let mut server = Server::start(&[]);
    let fast = RedisOptions {
        retry_budget: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(100),
        op_timeout: Duration::from_millis(100),
        ..redis_opts(&server.url(), redis_env::unique_prefix("count-down"))
    };
    let app = app_on(fast.clone(), |_| {});
    let swept = app_on(fast, |o| {
        o.expiry_interval = Some(Duration::from_millis(50))
    });
    assert_eq!(app.session_count().unwrap(), 0);
    assert_eq!(app.expire().unwrap(), 0);
    assert!(swept.expiry_error().is_none());
    server.kill();
    let down = error::E_STORE_UNAVAILABLE;
    assert_eq!(app.session_count().unwrap_err().code(), down);
    assert_eq!(app.expire().unwrap_err().code(), down);
    // The expiry thread records its failure (generous wait: a loaded machine).
    let deadline = Instant::now() + Duration::from_secs(20);
    while swept.expiry_error().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(swept.expiry_error().map(|e| e.code()), Some(down));
}

#[test]
fn redis_down_then_back() {
    let mut server = Server::start(&[]);
    let budget = Duration::from_millis(1000);
    let redis = RedisOptions {
        retry_budget: budget,
        connect_timeout: Duration::from_millis(200),
        op_timeout: Duration::from_millis(200),
        ..redis_opts(&server.url(), redis_env::unique_prefix("down"))
    };
    let app = app_on(redis, |_| {});
    let calls = Mutex::new(Vec::<Call>::new());
    let stop = AtomicBool::new(false);
    let timed = |f: &mut dyn FnMut() -> sess::error::Result<()>| -> bool {
        let start = Instant::now();
        let r = f();
        let code = r.as_ref().err().map_or(0, |e| e.code());
        calls.lock().unwrap().push(Call {
            start,
            took: start.elapsed(),
            code,
        });
        r.is_ok()
    };
    let work = || {
        while !stop.load(Ordering::Relaxed) {
            let mut s = app.create_session().unwrap();
            if !timed(&mut || s.set("n", Variant::I4(1))) {
                continue;
            }
            let id = s.id();
            let mut s = Some(s);
            if !timed(&mut || s.take().map_or(Ok(()), |s| s.close())) {
                continue;
            }
            let mut s = None;
            if !timed(&mut || {
                s = Some(app.open(&id, LockMode::Exclusive)?);
                Ok(())
            }) {
                continue;
            }
            let mut s = s;
            if let Some(s) = s.as_mut() {
                let _ = s.set("n", Variant::I4(2));
            }
            if !timed(&mut || s.take().map_or(Ok(()), |s| s.close())) {
                continue;
            }
            timed(&mut || app.open(&id, LockMode::Shared).map(drop));
        }
    };
    let marks = std::thread::scope(|sc| {
        for _ in 0..3 {
            sc.spawn(work);
        }
        std::thread::sleep(Duration::from_millis(300));
        server.kill();
        let killed = Instant::now();
        std::thread::sleep(Duration::from_millis(2500));
        let restarting = Instant::now();
        server.restart();
        let back = Instant::now();
        std::thread::sleep(Duration::from_millis(1500));
        server.signal("STOP"); // hung, not gone: replies time out
        let stopping = Instant::now();
        std::thread::sleep(Duration::from_millis(2500));
        let resuming = Instant::now();
        server.signal("CONT");
        let resumed = Instant::now();
        std::thread::sleep(Duration::from_millis(1500));
        stop.store(true, Ordering::Relaxed);
        [killed, restarting, back, stopping, resuming, resumed]
    });
    let [killed, restarting, back, stopping, resuming, resumed] = marks;
    let calls = calls.into_inner().unwrap();
    // Up to 300 ms late: a thread's wake-up on a machine whose two cores
    // are busy (the budget is checked before each retry's pause).
    let (lo, hi) = (budget.mul_f64(0.9), budget + Duration::from_millis(300));
    for (down, up, what) in [
        (killed, restarting, "killed"),
        (stopping, resuming, "paused"),
    ] {
        let during: Vec<&Call> = calls
            .iter()
            .filter(|c| c.start >= down && c.start + c.took <= up)
            .collect();
        assert!(during.len() >= 3, "{what}: too few calls while down");
        for c in &during {
            assert_eq!(c.code, error::E_STORE_UNAVAILABLE, "{what}");
            assert!(
                c.took >= lo && c.took <= hi,
                "{what}: a call took {:?} (budget {budget:?})",
                c.took
            );
        }
        eprintln!(
            "Redis {what}: {} calls failed with E_STORE_UNAVAILABLE in {:?}..{:?}",
            during.len(),
            during.iter().map(|c| c.took).min().unwrap(),
            during.iter().map(|c| c.took).max().unwrap()
        );
    }
    // Calls made once the server is back succeed, in the same process.
    for (since, what) in [(back, "restarted"), (resumed, "resumed")] {
        let after: Vec<&Call> = calls
            .iter()
            .filter(|c| c.start >= since + Duration::from_millis(100))
            .filter(|c| since != back || c.start + c.took < stopping)
            .collect();
        assert!(!after.is_empty(), "{what}: no calls after recovery");
        let failed: Vec<(i32, Duration)> = after
            .iter()
            .filter(|c| c.code != 0)
            .map(|c| (c.code, c.start - since))
            .collect();
        let failed = {
            eprintln!("{what}: failures {failed:x?}");
            failed.len()
        };
        assert_eq!(
            failed,
            0,
            "{what}: {failed} of {} calls failed",
            after.len()
        );
    }
}

#[test]
fn no_key_or_value_holds_a_cookie() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "scan");
    let prefix = prefixes.fresh();
    let mut redis = redis_opts(SHARED_URL, prefix.clone());
    redis.id_secret = Some(SECRET.to_vec());
    let app = app_on(redis, |_| {});
    let ids: Vec<String> = (0..40)
        .map(|i| stored(&app, &[("i", Variant::I4(i)), ("s", Variant::bstr("text"))]).to_string())
        .collect();
    let raw: Vec<[u8; 16]> = ids
        .iter()
        .map(|t| *SessionId::parse(t).unwrap().as_bytes())
        .collect();
    // Every key in the database (a full SCAN), not just ours.
    let all = redis_env::keys_under(SHARED_URL, "");
    assert!(all.len() >= 40);
    for key in &all {
        for id in &ids {
            assert!(!key.contains(id.as_str()), "key {key} holds a cookie");
        }
    }
    // Nor any value of ours.
    let mut con = connect(SHARED_URL);
    let ours = redis_env::keys_under(SHARED_URL, &prefix);
    for key in &ours {
        let kind: String = cmd(&mut con, &["TYPE", key]);
        let blobs: Vec<Vec<u8>> = match kind.as_str() {
            "hash" => cmd(&mut con, &["HGETALL", key]),
            "zset" => cmd(&mut con, &["ZRANGE", key, "0", "-1"]),
            "string" => vec![cmd(&mut con, &["GET", key])],
            other => panic!("unexpected key type {other}"),
        };
        for blob in &blobs {
            for (id, bytes) in ids.iter().zip(&raw) {
                assert!(
                    !blob.windows(id.len()).any(|w| w == id.as_bytes())
                        && !blob.windows(16).any(|w| w == bytes),
                    "{key} holds a session ID"
                );
            }
        }
    }
}

#[test]
fn three_processes_racing_to_sweep_end_each_session_once() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "sweep");
    let prefix = prefixes.fresh();
    let mut redis = redis_opts(SHARED_URL, prefix.clone());
    redis.id_secret = Some(SECRET.to_vec());
    let start = now_ms();
    let clock = Arc::new(ManualClock::new(start));
    let app = app_on(redis, |o| o.clock = Some(clock.clone()));
    const N: i32 = 60;
    let ids: Vec<String> = (0..N)
        .map(|n| {
            let mut s = app.create_session().unwrap();
            s.set_timeout(1).unwrap();
            s.set("n", Variant::I4(n)).unwrap();
            let id = s.id().to_string();
            s.close().unwrap();
            id
        })
        .collect();
    // A live session stays: its deadline is after the sweepers' clock.
    let mut live = app.create_session().unwrap();
    live.set_timeout(60).unwrap();
    live.set("n", Variant::I4(-1)).unwrap();
    let live_id = live.id();
    live.close().unwrap();
    let mut sweepers: Vec<Child> = (0..3)
        .map(|_| {
            let mut e = child_env(SHARED_URL, &prefix, 30_000);
            e.push(("SESS_CHILD_NOW", (start + 2 * 60_000).to_string()));
            spawn_child("sweep", &e)
        })
        .collect();
    // The live session keeps the count above zero: stop the sweepers by
    // ending it once the others are gone.
    let t = Instant::now();
    while app.session_count().unwrap() > 1 && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut s = app.open(&live_id, LockMode::Exclusive).unwrap();
    s.abandon();
    s.close().unwrap();
    for c in &mut sweepers {
        assert!(wait_bounded(c, Duration::from_secs(60)).success());
    }
    let mut con = connect(SHARED_URL);
    let ends: Vec<(i32, u32)> = cmd(&mut con, &["HGETALL", &format!("{prefix}ends")]);
    let mut seen: Vec<i32> = ends.iter().map(|(n, _)| *n).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "every session ended");
    assert!(ends.iter().all(|(_, c)| *c == 1), "exactly once: {ends:?}");
    let shown: Vec<(i32, String)> = cmd(&mut con, &["HGETALL", &format!("{prefix}ids")]);
    for (n, id) in shown {
        assert_eq!(id, ids[n as usize], "OnEnd saw the real SessionID");
    }
}

/// A sweep's batches look at a session in use once: more due sessions in
/// use than one batch holds neither stop the sweep nor keep it going.
#[test]
fn a_sweep_passes_over_sessions_in_use_once() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "busysweep");
    let clock = Arc::new(ManualClock::new(now_ms()));
    let app = app_on(redis_opts(SHARED_URL, prefixes.fresh()), |o| {
        o.clock = Some(clock.clone());
    });
    let ids: Vec<SessionId> = (0..100)
        .map(|n| stored(&app, &[("n", Variant::I4(n))]))
        .collect();
    // 70 held (the locks' lease runs by the server's clock), 30 not.
    let held: Vec<_> = ids[..70]
        .iter()
        .map(|id| app.open(id, LockMode::Exclusive).unwrap())
        .collect();
    clock.advance(21 * 60_000);
    assert_eq!(app.expire().unwrap(), 30);
    assert_eq!(app.session_count().unwrap(), 70);
    // Their requests end (sliding their deadlines), and the sessions
    // expire in turn.
    drop(held);
    assert_eq!(app.expire().unwrap(), 0);
    clock.advance(21 * 60_000);
    assert_eq!(app.expire().unwrap(), 70);
    assert_eq!(app.session_count().unwrap(), 0);
}

#[test]
fn swept_sessions_show_a_stand_in_id_without_a_secret() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "standin");
    let clock = Arc::new(ManualClock::new(now_ms()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let app = app_on(redis_opts(SHARED_URL, prefixes.fresh()), |o| {
        o.clock = Some(clock.clone());
        o.on_end = Some(Arc::new(move |s| s2.lock().unwrap().push(s.id())));
    });
    let id = stored(&app, &[("x", Variant::I4(1))]);
    clock.advance(21 * 60_000);
    assert_eq!(app.expire().unwrap(), 1);
    let shown = seen.lock().unwrap()[0];
    assert!(shown != id, "no secret: the real ID is not kept");
    assert_eq!(
        code(app.open(&shown, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
}

#[test]
fn saves_write_only_what_changed_and_reads_refresh_sparingly() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "diff");
    let prefix = prefixes.fresh();
    let clock = Arc::new(ManualClock::new(now_ms()));
    let app = app_on(redis_opts(SHARED_URL, prefix.clone()), |o| {
        o.clock = Some(clock.clone())
    });
    let id = stored(&app, &[("a", Variant::I4(1)), ("b", Variant::I4(2))]);
    let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
    let mut con = connect(SHARED_URL);
    // A request changes only `a`; an outside write to `b` meanwhile
    // survives its save, because `b` is not rewritten.
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("a", Variant::I4(10)).unwrap();
    let marker = sess::store::wire::encode_value(&Variant::I4(99)).unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg(&data)
        .arg("b")
        .arg(&marker)
        .query(&mut con)
        .unwrap();
    s.close().unwrap();
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("a"), Some(&Variant::I4(10)));
    assert_eq!(s.get("b"), Some(&Variant::I4(99)));
    drop(s);
    // Read-only requests slide the expiry (the deadline E and the TTL)
    // only by a minute or more.
    let deadline = |con: &mut redis::Connection| -> (u64, i64) {
        (cmd(con, &["HGET", &data, "E"]), cmd(con, &["PTTL", &data]))
    };
    let (before, _) = deadline(&mut con);
    let _: i64 = cmd(&mut con, &["PEXPIRE", &data, "100000"]);
    clock.advance(30_000);
    app.open(&id, LockMode::Shared).unwrap().close().unwrap();
    let (e, ttl) = deadline(&mut con);
    assert_eq!(e, before, "30 s: not refreshed");
    assert!(ttl <= 100_000, "30 s: TTL left alone");
    clock.advance(40_000);
    app.open(&id, LockMode::Shared).unwrap().close().unwrap();
    let (e, ttl) = deadline(&mut con);
    assert_eq!(e, before + 70_000, "70 s: refreshed");
    assert!(
        ttl > 29 * 60_000,
        "the TTL slid too (deadline + grace): {ttl}"
    );
}

#[test]
fn corrupt_data_is_an_error_and_frees_the_lock() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "corrupt");
    let prefix = prefixes.fresh();
    let app = app_on(redis_opts(SHARED_URL, prefix.clone()), |o| {
        o.lock_timeout = Duration::from_millis(300)
    });
    let id = stored(&app, &[("a", Variant::I4(1))]);
    let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
    let mut con = connect(SHARED_URL);
    for (field, junk) in [("a", &b"\xc1\xc1"[..]), ("M", b"\x93"), ("E", b"later")] {
        let good: Vec<u8> = redis::cmd("HGET")
            .arg(&data)
            .arg(field)
            .query(&mut con)
            .unwrap();
        let _: i64 = redis::cmd("HSET")
            .arg(&data)
            .arg(field)
            .arg(junk)
            .query(&mut con)
            .unwrap();
        for mode in [LockMode::Exclusive, LockMode::Exclusive, LockMode::Shared] {
            // Not E_LOCK_TIMEOUT the second time: the failed load unlocked.
            assert_eq!(
                code(app.open(&id, mode)),
                error::E_STORE_UNAVAILABLE,
                "{field}"
            );
        }
        let _: i64 = redis::cmd("HSET")
            .arg(&data)
            .arg(field)
            .arg(good)
            .query(&mut con)
            .unwrap();
    }
    let s = app.open(&id, LockMode::Exclusive).unwrap();
    assert_eq!(s.get("a"), Some(&Variant::I4(1)));
}

#[test]
fn unix_sockets_bad_options_and_unreachable_servers() {
    let tmp = TempDir::new("unix");
    let sock = tmp.path().join("r.sock");
    let server = Server::start(&["--unixsocket", sock.to_str().unwrap()]);
    for url in [
        format!("redis+unix://{}", sock.display()),
        sock.display().to_string(),
    ] {
        let app = app_on(redis_opts(&url, redis_env::unique_prefix("unix")), |_| {});
        let id = stored(&app, &[("x", Variant::I4(5))]);
        let mut s = app.open(&id, LockMode::Exclusive).unwrap();
        assert_eq!(s.get("x"), Some(&Variant::I4(5)));
        s.abandon();
        s.close().unwrap();
    }
    drop(server);
    // Bad options are refused before anything connects.
    let bad = App::new(AppOptions {
        store: StoreConfig::Redis(RedisOptions {
            key_prefix: "has{brace}".into(),
            ..RedisOptions::default()
        }),
        ..AppOptions::default()
    });
    assert_eq!(code(bad), error::E_INVALID_OPTION);
    // Nothing listens: the app still starts (Redis may come later); calls
    // fail within the budget.
    let budget = Duration::from_millis(500);
    let app = app_on(
        RedisOptions {
            url: "redis://127.0.0.1:1".into(),
            retry_budget: budget,
            ..RedisOptions::default()
        },
        |_| {},
    );
    let t = Instant::now();
    let mut s = app.create_session().unwrap();
    assert_eq!(code(s.set("x", Variant::I4(1))), error::E_STORE_UNAVAILABLE);
    // Within the budget, plus 300 ms for wake-ups on a busy machine.
    let late = budget + Duration::from_millis(300);
    assert!(t.elapsed() <= late, "{:?}", t.elapsed());
    let t = Instant::now();
    assert_eq!(
        code(app.open(&SessionId::generate().unwrap(), LockMode::Shared)),
        error::E_STORE_UNAVAILABLE
    );
    assert!(t.elapsed() >= budget.mul_f64(0.9) && t.elapsed() <= late);
}

#[test]
fn tls_connections() {
    let tmp = TempDir::new("tls");
    let dir = tmp.path();
    let (ca, cert, key) = (dir.join("ca.pem"), dir.join("c.pem"), dir.join("k.pem"));
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let openssl = |args: &str| {
        Command::new("openssl")
            .args(args.split(' '))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    // A private CA, and a server certificate it signed.
    let made = openssl("req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-CA -keyout ca.key -out ca.pem")
        && openssl("req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout k.pem -out r.csr")
        && openssl("x509 -req -in r.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out c.pem");
    if !made {
        eprintln!("SKIPPED: TLS test: openssl could not make a certificate");
        return;
    }
    let tls_port = redis_env::free_port().to_string();
    let (c, k, a) = (
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        ca.to_str().unwrap(),
    );
    let server = Server::start(&[
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        c,
        "--tls-key-file",
        k,
        "--tls-ca-cert-file",
        a,
        "--tls-auth-clients",
        "no",
    ]);
    // The private CA is the root trusted.
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let mut redis = redis_opts(&url, "tls:".into());
    redis.tls_root_cert_pem = Some(std::fs::read(&ca).unwrap());
    let app = app_on(redis, |_| {});
    let id = stored(&app, &[("x", Variant::bstr("over TLS"))]);
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("x"), Some(&Variant::bstr("over TLS")));
    drop(s);
    drop(server);
}

/// A writing request places its lock's lease by the process's estimate of
/// the server's clock (refreshed with one `TIME` every 10 s), and has the
/// server read its clock only to judge a lease it finds, or one that may
/// be near its end.
#[test]
fn writing_requests_do_not_read_the_servers_clock() {
    let server = Server::start(&[]);
    let app = app_on(redis_opts(&server.url(), "clock:".into()), |_| {});
    let id = stored(&app, &[("x", Variant::I4(0))]);
    let mut con = connect(&server.url());
    let time_calls = |con: &mut redis::Connection| {
        redis_env::command_calls(con)
            .into_iter()
            .find(|(name, _)| name == "time")
            .map_or(0, |(_, n)| n)
    };
    let before = time_calls(&mut con);
    for i in 1..=20 {
        let mut s = app.open(&id, LockMode::Exclusive).unwrap();
        s.set("x", Variant::I4(i)).unwrap();
        s.close().unwrap();
    }
    stored(&app, &[("y", Variant::I4(1))]);
    // At most one refresh of the estimate, had 10 s passed (a busy machine).
    let read = time_calls(&mut con) - before;
    assert!(
        read <= 1,
        "21 writing requests read the server's clock {read} times"
    );
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("x"), Some(&Variant::I4(20)));
}

#[test]
fn round_trips_per_request() {
    let server = Server::start(&[]);
    let app = app_on(redis_opts(&server.url(), "rt:".into()), |_| {});
    // Warm up: scripts loaded, session count known.
    let id = stored(&app, &[("x", Variant::I4(1))]);
    let mut s = app
        .open(&stored(&app, &[("y", Variant::I4(0))]), LockMode::Exclusive)
        .unwrap();
    s.abandon();
    s.close().unwrap();
    app.open(&id, LockMode::Exclusive).unwrap().close().unwrap();
    app.open(&id, LockMode::Shared).unwrap().close().unwrap();
    stored(&app, &[("x", Variant::I4(1))]);
    let mut con = connect(&server.url());
    // Redis counts the commands a script runs too; those are not round trips.
    // Writing phases send only EVALSHA (SCRIPT LOAD after NOSCRIPT; ZCARD and
    // ZRANGEBYSCORE only from the sweeper), so everything else counted
    // there ran inside a script.
    const IN_SCRIPTS: &[&str] = &[
        "exists", "hget", "hgetall", "hmget", "hset", "hdel", "zadd", "zrem", "pexpire", "del",
        "rename", "time",
    ];
    let mut measure = |what: &str, f: &dyn Fn()| -> Vec<(String, u64)> {
        let before = redis_env::command_calls(&mut con);
        f();
        let after = redis_env::command_calls(&mut con);
        let mut delta: Vec<(String, u64)> = after
            .iter()
            .filter(|(name, _)| name != "info")
            .filter_map(|(name, n)| {
                let was = before.iter().find(|(b, _)| b == name).map_or(0, |b| b.1);
                (*n > was).then(|| (name.clone(), n - was))
            })
            .collect();
        delta.sort();
        eprintln!("round trips: {what}: commands {delta:?}");
        delta
    };
    let sent = |delta: Vec<(String, u64)>| -> Vec<(String, u64)> {
        delta
            .into_iter()
            .filter(|(name, _)| !IN_SCRIPTS.contains(&name.as_str()))
            .collect()
    };
    // The scripts: EVALSHA; a writing request's acquire and save: FCALL
    // (a function library; the warm-up loaded it).
    let calls = |evalsha: u64, fcall: u64| -> Vec<(String, u64)> {
        [("evalsha", evalsha), ("fcall", fcall)]
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(name, n)| (name.to_owned(), n))
            .collect()
    };
    // A read-only request is one plain command, no script.
    assert_eq!(
        measure("read-only request", &|| {
            let s = app.open(&id, LockMode::Shared).unwrap();
            assert_eq!(s.get("x"), Some(&Variant::I4(1)));
            s.close().unwrap();
        }),
        vec![("hgetall".to_owned(), 1)]
    );
    assert_eq!(
        sent(measure("writing request", &|| {
            let mut s = app.open(&id, LockMode::Exclusive).unwrap();
            s.set("x", Variant::I4(2)).unwrap();
            s.close().unwrap();
        })),
        calls(0, 2)
    );
    assert_eq!(
        sent(measure("request that writes nothing", &|| {
            app.open(&id, LockMode::Exclusive).unwrap().close().unwrap();
        })),
        calls(0, 2)
    );
    assert_eq!(
        sent(measure("new session", &|| {
            stored(&app, &[("y", Variant::I4(1))]);
        })),
        calls(1, 1)
    );
    assert_eq!(
        sent(measure("Abandon", &|| {
            let mut s = app.open(&id, LockMode::Exclusive).unwrap();
            s.abandon();
            s.close().unwrap();
        })),
        calls(1, 1)
    );
    // NOSCRIPT (a restarted or flushed server) reloads the script.
    let _: String = cmd(&mut connect(&server.url()), &["SCRIPT", "FLUSH"]);
    let id = stored(&app, &[("z", Variant::I4(3))]);
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("z"),
        Some(&Variant::I4(3))
    );
}

/// The libraries `FUNCTION LIST` shows on the server behind `con` (each
/// library's entry: `library_name`, its name, ...).
fn libraries(con: &mut redis::Connection) -> Vec<String> {
    let redis::Value::Array(list) = cmd(con, &["FUNCTION", "LIST"]) else {
        panic!("FUNCTION LIST: not an array")
    };
    list.into_iter()
        .filter_map(|library| match library {
            redis::Value::Array(fields) => match &fields[..] {
                [redis::Value::BulkString(k), redis::Value::BulkString(name), ..]
                    if k == b"library_name" =>
                {
                    Some(String::from_utf8(name.clone()).unwrap())
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Increments `x` in session `id` of `app`, `n` times.
fn increment(app: &App, id: &SessionId, n: i32) {
    for _ in 0..n {
        let mut s = app.open(id, LockMode::Exclusive).unwrap();
        let Some(&Variant::I4(x)) = s.get("x") else {
            panic!("no x")
        };
        s.set("x", Variant::I4(x + 1)).unwrap();
        s.close().unwrap();
    }
}

/// How many times each of `names` ran on the server behind `con` (INFO
/// commandstats).
fn calls_of(con: &mut redis::Connection, names: &[&str]) -> Vec<u64> {
    let all = redis_env::command_calls(con);
    names
        .iter()
        .map(|n| all.iter().find(|(c, _)| c == n).map_or(0, |c| c.1))
        .collect()
}

#[test]
fn writing_requests_run_as_functions_loaded_again_after_a_flush() {
    let server = Server::start(&[]);
    let app = app_on(redis_opts(&server.url(), "fn:".into()), |_| {});
    let id = stored(&app, &[("x", Variant::I4(0))]);
    let mut con = connect(&server.url());
    let libs = libraries(&mut con);
    assert_eq!(libs.len(), 1, "{libs:?}");
    let before = calls_of(&mut con, &["fcall", "evalsha"]);
    increment(&app, &id, 5);
    let after = calls_of(&mut con, &["fcall", "evalsha"]);
    assert_eq!((after[0] - before[0], after[1] - before[1]), (10, 0));
    // A flushed (or restarted) server gets the library again.
    let _: String = cmd(&mut con, &["FUNCTION", "FLUSH"]);
    assert!(libraries(&mut con).is_empty());
    increment(&app, &id, 5);
    assert_eq!(libraries(&mut con), libs);
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("x"), Some(&Variant::I4(10)));
}

#[test]
fn a_server_without_functions_or_refusing_them_runs_the_scripts() {
    for disabled in ["FCALL", "FUNCTION"] {
        let server = Server::start(&["--rename-command", disabled, ""]);
        let app = app_on(redis_opts(&server.url(), "nofn:".into()), |_| {});
        let id = stored(&app, &[("x", Variant::I4(0))]);
        increment(&app, &id, 5);
        let mut con = connect(&server.url());
        let before = calls_of(&mut con, &["evalsha"]);
        increment(&app, &id, 5);
        let after = calls_of(&mut con, &["evalsha"]);
        assert_eq!(after[0] - before[0], 10, "{disabled} disabled");
        let s = app.open(&id, LockMode::Shared).unwrap();
        assert_eq!(s.get("x"), Some(&Variant::I4(10)), "{disabled} disabled");
    }
}

// ---- lost replies, hostile data, a full server ------------------------------

/// Session_OnEnd as seen: (SessionID, the item "n").
type Ended = Arc<Mutex<Vec<(SessionId, Option<Variant>)>>>;

/// An application on `redis` with the clock `clock` and the ID secret,
/// recording each Session_OnEnd.
fn recorded(mut redis: RedisOptions, clock: &Arc<ManualClock>) -> (App, Ended) {
    redis.id_secret = Some(SECRET.to_vec());
    let ended: Ended = Arc::default();
    let e = ended.clone();
    let app = app_on(redis, |o| {
        o.clock = Some(clock.clone());
        o.on_end = Some(Arc::new(move |s| {
            e.lock().unwrap().push((s.id(), s.get("n").cloned()));
        }));
    });
    (app, ended)
}

/// The claimed sessions' copies under `prefix` (`<session key>:c:<token>`)
/// and their TTLs: they must be few-second ones, then gone.
fn claimed_copies(prefix: &str) -> Vec<(String, i64)> {
    let mut con = connect(SHARED_URL);
    redis_env::keys_under(SHARED_URL, prefix)
        .into_iter()
        .filter(|k| k.contains(":c:"))
        .map(|k| {
            let ttl: i64 = cmd(&mut con, &["PTTL", &k]);
            (k, ttl)
        })
        .collect()
}

/// Asserts the claimed copies under `prefix` are one, expiring within
/// `tombstone`, and waits (bounded) for it to go.
fn claimed_copy_expires(prefix: &str, tombstone: Duration) {
    let copies = claimed_copies(prefix);
    assert_eq!(copies.len(), 1, "{copies:?}");
    let ttl = copies[0].1;
    assert!(
        ttl > 0 && ttl <= tombstone.as_millis() as i64,
        "the claimed copy's TTL: {ttl} ms"
    );
    let t = Instant::now();
    while !claimed_copies(prefix).is_empty() {
        assert!(t.elapsed() < Duration::from_secs(30), "the copy stays");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_sweepers_claim_whose_reply_is_lost_still_ends_the_session() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "lostclaim");
    let prefix = prefixes.fresh();
    let proxy = redis_env::Proxy::start(6379);
    // A long budget: the claimed copy outlives the checks on a busy machine.
    let redis = RedisOptions {
        op_timeout: Duration::from_millis(500),
        retry_budget: Duration::from_secs(5),
        ..redis_opts(&proxy.url(), prefix.clone())
    };
    let tombstone = redis.retry_budget + redis.op_timeout;
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis, &clock);
    let id = stored(&app, &[("n", Variant::I4(7))]);
    clock.advance(21 * 60_000);
    // The claim ran (the session moved aside), its reply never came; the
    // retried claim finds the session where the first one put it.
    proxy.lose_reply(b"*2\r\n:1\r\n*");
    assert_eq!(app.expire().unwrap(), 1);
    assert!(proxy.fired(), "no claim reply was lost");
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(7)))]);
    assert_eq!(app.expire().unwrap(), 0);
    assert_eq!(app.session_count().unwrap(), 0, "the index entry went");
    assert!(redis_env::session_keys(SHARED_URL, &prefix).is_empty());
    claimed_copy_expires(&prefix, tombstone);
    assert_eq!(ended.lock().unwrap().len(), 1);
}

#[test]
fn a_request_whose_expired_sessions_claim_times_out_still_ends_it() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "lateclaim");
    let prefix = prefixes.fresh();
    let proxy = redis_env::Proxy::start(6379);
    let op_timeout = Duration::from_millis(300);
    let redis = RedisOptions {
        op_timeout,
        retry_budget: Duration::from_secs(5),
        ..redis_opts(&proxy.url(), prefix.clone())
    };
    let tombstone = redis.retry_budget + redis.op_timeout;
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis, &clock);
    let id = stored(&app, &[("n", Variant::I4(8))]);
    clock.advance(21 * 60_000);
    // The request finds its session expired and claims it; the reply comes
    // after the op timeout, so the call is retried.
    proxy.delay_reply(b"*2\r\n:3\r\n*", op_timeout * 3);
    assert_eq!(
        code(app.open(&id, LockMode::Exclusive)),
        error::E_SESSION_NOT_FOUND
    );
    assert!(proxy.fired(), "no claim reply was delayed");
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(8)))]);
    assert_eq!(app.expire().unwrap(), 0);
    assert_eq!(app.session_count().unwrap(), 0, "the index entry went");
    assert_eq!(
        code(app.open(&id, LockMode::Exclusive)),
        error::E_SESSION_NOT_FOUND,
        "not resurrected"
    );
    claimed_copy_expires(&prefix, tombstone);
    assert_eq!(ended.lock().unwrap().len(), 1);
}

#[test]
fn three_sweepers_at_once_and_requests_end_each_session_once() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "sweep3");
    let prefix = prefixes.fresh();
    let start = now_ms();
    let setup = app_on(redis_opts(SHARED_URL, prefix.clone()), |o| {
        o.clock = Some(Arc::new(ManualClock::new(start)))
    });
    const N: i32 = 120;
    let ids: Vec<SessionId> = (0..N)
        .map(|n| {
            let mut s = setup.create_session().unwrap();
            s.set_timeout(1).unwrap();
            s.set("n", Variant::I4(n)).unwrap();
            let id = s.id();
            s.close().unwrap();
            id
        })
        .collect();
    // Three stores (each with its own sweeper identity) and a shared
    // record of every Session_OnEnd.
    let clock = Arc::new(ManualClock::new(start + 2 * 60_000));
    let ends: Arc<Mutex<Vec<i32>>> = Arc::default();
    let apps: Vec<App> = (0..3)
        .map(|_| {
            let e = ends.clone();
            app_on(redis_opts(SHARED_URL, prefix.clone()), |o| {
                o.clock = Some(clock.clone());
                o.on_end = Some(Arc::new(move |s| match s.get("n") {
                    Some(Variant::I4(n)) => e.lock().unwrap().push(*n),
                    other => panic!("OnEnd saw {other:?}"),
                }));
            })
        })
        .collect();
    let done = AtomicBool::new(false);
    let lease = format!("{prefix}sweeper");
    std::thread::scope(|sc| {
        // The sweeper lease is taken away over and over: the three sweep
        // at once.
        sc.spawn(|| {
            let mut con = connect(SHARED_URL);
            while !done.load(Ordering::Relaxed) {
                let _: i64 = cmd(&mut con, &["DEL", &lease]);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        for app in &apps {
            sc.spawn(|| {
                let t = Instant::now();
                while !done.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(60) {
                    app.expire().unwrap();
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        }
        // Requests for the same sessions claim some of them first.
        for (i, app) in apps.iter().enumerate().take(2) {
            let ids = &ids;
            sc.spawn(move || {
                for id in ids.iter().skip(i).step_by(2) {
                    assert_eq!(
                        code(app.open(id, LockMode::Exclusive)),
                        error::E_SESSION_NOT_FOUND
                    );
                }
            });
        }
        let t = Instant::now();
        while ends.lock().unwrap().len() < N as usize && t.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // A last sweep finds nothing to end twice.
        std::thread::sleep(Duration::from_millis(200));
        done.store(true, Ordering::Relaxed);
    });
    let mut seen = ends.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "each ended exactly once");
    assert_eq!(apps[0].session_count().unwrap(), 0);
    assert!(redis_env::stored_sessions(SHARED_URL, &prefix).is_empty());
}

#[test]
fn a_garbled_lock_field_is_no_lock_for_scripts_and_reads_alike() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "badlock");
    let mut con = connect(SHARED_URL);
    let cases = [
        "123:abc",
        "123:",
        "123: 99999999999999",
        "123:+99999999999999",
        "123:1e20",
        "123:999999999999999999999",
        // Digits, but past any lease (lock_ttl is at most a day): damage.
        "123:9999999999999999999",
        "123:100000000000000000",
    ];
    for (n, junk) in (0..).zip(cases) {
        let prefix = prefixes.fresh();
        let clock = Arc::new(ManualClock::new(now_ms()));
        let mut redis = redis_opts(SHARED_URL, prefix.clone());
        redis.retry_budget = Duration::from_millis(500);
        let (app, ended) = recorded(redis, &clock);
        let id = stored(&app, &[("n", Variant::I4(n))]);
        let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
        let _: i64 = cmd(&mut con, &["HSET", &data, "L", junk]);
        // Neither a read-only request nor a writing one waits, nor fails.
        let s = app.open(&id, LockMode::Shared).unwrap();
        assert_eq!(s.get("n"), Some(&Variant::I4(n)), "{junk}");
        drop(s);
        let mut s = app
            .open(&id, LockMode::Exclusive)
            .unwrap_or_else(|e| panic!("L = {junk:?}: {e:?}"));
        s.set("n", Variant::I4(n + 100)).unwrap();
        s.close().unwrap();
        // The sweeper claims it (nobody holds it) and ends it.
        let _: i64 = cmd(&mut con, &["HSET", &data, "L", junk]);
        clock.advance(21 * 60_000);
        assert_eq!(app.expire().unwrap(), 1, "L = {junk:?}");
        assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(n + 100)))]);
    }
}

/// A holder's own lease damaged to an expiry past any lease (digits that
/// overflow Lua's integer format, or ones ending in millennia) is no lock:
/// moving the session refuses as for an expired lock, and neither drops
/// the session (a negative TTL) nor keeps it for ever.
#[test]
fn a_lease_damaged_past_any_lock_ttl_sets_no_wild_ttl() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "wildlease");
    let mut con = connect(SHARED_URL);
    for junk in ["9999999999999999999", "100000000000000000"] {
        let prefix = prefixes.fresh();
        let app = app_on(redis_opts(SHARED_URL, prefix.clone()), |_| {});
        let id = stored(&app, &[("n", Variant::I4(1))]);
        let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
        let mut s = app.open(&id, LockMode::Exclusive).unwrap();
        let l: String = cmd(&mut con, &["HGET", &data, "L"]);
        let token = l.split(':').next().unwrap().to_owned();
        let _: i64 = cmd(&mut con, &["HSET", &data, "L", &format!("{token}:{junk}")]);
        let moved = s.regenerate_id();
        assert_eq!(code(moved), error::E_LOCK_TIMEOUT, "L = {token}:{junk}");
        let ttl: i64 = cmd(&mut con, &["PTTL", &data]);
        assert!(
            0 < ttl && ttl <= 31 * 60_000,
            "L = {token}:{junk}: TTL {ttl}"
        );
        drop(s);
        let s = app.open(&id, LockMode::Exclusive).unwrap();
        assert_eq!(s.get("n"), Some(&Variant::I4(1)), "{junk}");
    }
}

/// An expiry index of the wrong Redis type (damage, or a key someone else
/// wrote) fails each call that would touch it before the call writes
/// anything: Lua does not roll back, and a failure after the first writes
/// would leave a session stored, saved, removed or moved while its caller
/// is told it was not (or an expired one moved aside and lost).
#[test]
fn an_expiry_index_of_the_wrong_type_fails_calls_before_they_write() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "wrongidx");
    let prefix = prefixes.fresh();
    let clock = Arc::new(ManualClock::new(now_ms()));
    let app = app_on(redis_opts(SHARED_URL, prefix.clone()), |o| {
        o.clock = Some(clock.clone())
    });
    let [saved, abandoned, moved, expired] =
        [1, 2, 3, 4].map(|n| stored(&app, &[("n", Variant::I4(n))]));
    let mut con = connect(SHARED_URL);
    for b in 0..256 {
        let exp = format!("{prefix}{{{b:02x}}}:exp");
        let _: () = cmd(&mut con, &["SET", &exp, "not a sorted set"]);
    }
    // Every key but the indexes, with its fields.
    type Hashes = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;
    let all = |con: &mut redis::Connection| -> Hashes {
        let mut keys = redis_env::keys_under(SHARED_URL, &prefix);
        keys.sort();
        keys.into_iter()
            .filter(|k| !k.ends_with(":exp"))
            .map(|k| {
                let mut f: Vec<(Vec<u8>, Vec<u8>)> = cmd(con, &["HGETALL", &k]);
                f.sort();
                (k, f)
            })
            .collect()
    };
    let unavailable = error::E_STORE_UNAVAILABLE;
    // A new session.
    let before = all(&mut con);
    let mut s = app.create_session().unwrap();
    assert_eq!(code(s.set("n", Variant::I4(0))), unavailable);
    drop(s);
    assert!(all(&mut con) == before, "a new session was stored");
    // A save that moves the deadline earlier (the index too).
    let mut s = app.open(&saved, LockMode::Exclusive).unwrap();
    let before = all(&mut con);
    s.set("n", Variant::I4(10)).unwrap();
    s.set_timeout(1).unwrap();
    assert_eq!(code(s.close()), unavailable);
    assert!(all(&mut con) == before, "the save was written");
    // Abandon.
    let mut s = app.open(&abandoned, LockMode::Exclusive).unwrap();
    let before = all(&mut con);
    s.abandon();
    assert_eq!(code(s.close()), unavailable);
    assert!(all(&mut con) == before, "the session was removed");
    // A new ID.
    let mut s = app.open(&moved, LockMode::Exclusive).unwrap();
    let before = all(&mut con);
    assert_eq!(code(s.regenerate_id()), unavailable);
    assert!(all(&mut con) == before, "the session was moved");
    drop(s);
    // An expired session, found by a request.
    clock.advance(21 * 60_000);
    let before = all(&mut con);
    assert_eq!(code(app.open(&expired, LockMode::Exclusive)), unavailable);
    assert!(all(&mut con) == before, "the session was moved aside");
}

/// A deadline field E that is not a plain decimal number (which Lua's
/// `tonumber` would still take: '-5', '1e3', 'inf', ...) is damage alike
/// for every request and the sweeper: no request ends the session for it
/// (it is unreadable: E_STORE_UNAVAILABLE), and the sweeper keeps it
/// indexed, out of its way until its data expires, so a session repaired
/// meanwhile still ends with Session_OnEnd.
#[test]
fn a_damaged_deadline_is_damage_for_requests_and_sweeper_alike() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "baddeadline");
    let mut con = connect(SHARED_URL);
    for junk in [
        "-5", "1e3", "0x10", " 5", "+5", "nan", "inf", "1e400", "later", "",
    ] {
        let prefix = prefixes.fresh();
        let clock = Arc::new(ManualClock::new(now_ms()));
        let (app, ended) = recorded(redis_opts(SHARED_URL, prefix.clone()), &clock);
        let id = stored(&app, &[("n", Variant::I4(1))]);
        let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
        let good: String = cmd(&mut con, &["HGET", &data, "E"]);
        let _: i64 = cmd(&mut con, &["HSET", &data, "E", junk]);
        for mode in [LockMode::Shared, LockMode::Exclusive] {
            assert_eq!(
                code(app.open(&id, mode)),
                error::E_STORE_UNAVAILABLE,
                "E = {junk:?}, {mode:?}"
            );
        }
        clock.advance(21 * 60_000);
        for _ in 0..2 {
            let swept = app.expire();
            assert_eq!(swept.as_ref().ok(), Some(&0), "E = {junk:?}: {swept:?}");
        }
        // Repaired, it ends when its data would have expired.
        let _: i64 = cmd(&mut con, &["HSET", &data, "E", &good]);
        clock.advance(40 * 60_000);
        assert_eq!(app.expire().unwrap(), 1, "E = {junk:?}");
        assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(1)))]);
    }
}

/// One expiry index of the wrong Redis type, or a sweeper lease key of the
/// wrong type, stops neither the sweeping of every other bucket nor the
/// count: one damaged key must not end the farm's sessions without
/// Session_OnEnd. On one server, and on a cluster (a call per bucket).
#[test]
fn keys_of_the_wrong_type_stop_no_sweep_nor_count() {
    let check = |redis: RedisOptions, urls: &[String], set: &dyn Fn(&[&str])| {
        let prefix = redis.key_prefix.clone();
        let clock = Arc::new(ManualClock::new(now_ms()));
        let (app, ended) = recorded(redis, &clock);
        for n in 0..3 {
            stored(&app, &[("n", Variant::I4(n))]);
        }
        // A bucket none of them is in (`<prefix>{<b>}:<hash>`).
        let buckets: Vec<String> = urls
            .iter()
            .flat_map(|u| redis_env::session_keys(u, &prefix))
            .map(|k| k[prefix.len() + 1..prefix.len() + 3].to_owned())
            .collect();
        let b = (0..256)
            .map(|b| format!("{b:02x}"))
            .find(|b| !buckets.contains(b))
            .unwrap();
        set(&["SET", &format!("{prefix}{{{b}}}:exp"), "not a sorted set"]);
        set(&["HSET", &format!("{prefix}sweeper"), "not", "a string"]);
        assert_eq!(app.session_count().unwrap(), 3);
        clock.advance(21 * 60_000);
        assert_eq!(app.expire().unwrap(), 3);
        assert_eq!(ended.lock().unwrap().len(), 3);
        set(&["DEL", &format!("{prefix}{{{b}}}:exp")]);
        set(&["DEL", &format!("{prefix}sweeper")]);
    };
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "wrongtype");
    check(
        redis_opts(SHARED_URL, prefixes.fresh()),
        &[SHARED_URL.to_owned()],
        &|args| {
            let _: redis::Value = cmd(&mut connect(SHARED_URL), args);
        },
    );
    if let Err(why) = redis_env::cluster_supported() {
        eprintln!("SKIPPED: the Redis Cluster half: {why}");
        return;
    }
    let cluster = redis_env::Cluster::start().expect("a local three-master cluster");
    let urls = cluster.urls();
    let prefixes = Prefixes::new(&urls, "wrongtype");
    let opts = RedisOptions {
        cluster: true,
        cluster_nodes: urls[1..].to_vec(),
        ..redis_opts(&urls[0], prefixes.fresh())
    };
    let client = redis::cluster::ClusterClient::new(urls.clone()).unwrap();
    let con = Mutex::new(client.get_connection().unwrap());
    check(opts, &urls, &|args| {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        let _: redis::Value = c.query(&mut *con.lock().unwrap()).unwrap();
    });
}

#[test]
fn junk_in_an_expiry_index_is_dropped_and_starves_no_session() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "junk");
    let prefix = prefixes.fresh();
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis_opts(SHARED_URL, prefix.clone()), &clock);
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
    let bucket = &data[prefix.len() + 1..prefix.len() + 3];
    let exp = format!("{prefix}{{{bucket}}}:exp");
    let other = if bucket == "00" { "01" } else { "00" };
    // 600 members due long ago, none of them a session of this bucket:
    // unreadable ones, another bucket's, and this bucket's in the hex form
    // an earlier version wrote, naming no session.
    let mut con = connect(SHARED_URL);
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(&exp);
    for i in 0..600 {
        let member = match i % 3 {
            0 => format!("junk{i}").into_bytes(),
            1 => {
                let mut m = [i as u8; 16];
                m[0] = u8::from_str_radix(other, 16).unwrap();
                m.to_vec()
            }
            _ => format!("{bucket}{i:030x}").into_bytes(),
        };
        zadd.arg(0).arg(member);
    }
    let _: i64 = zadd.query(&mut con).unwrap();
    clock.advance(21 * 60_000);
    for _ in 0..3 {
        app.expire().unwrap();
    }
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(1)))]);
    let left: i64 = cmd(&mut con, &["ZCARD", &exp]);
    assert_eq!(left, 0, "junk left in the index");
    assert_eq!(app.session_count().unwrap(), 0);
}

#[test]
fn sessions_stored_while_a_count_is_under_way_still_count() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "countrace");
    let proxy = redis_env::Proxy::start(6379);
    // The count's reply is held back, not retried.
    let redis = RedisOptions {
        op_timeout: Duration::from_secs(20),
        retry_budget: Duration::from_secs(30),
        ..redis_opts(&proxy.url(), prefixes.fresh())
    };
    let app = app_on(redis, |o| o.max_sessions = 2);
    assert_eq!(app.session_count().unwrap(), 0);
    // A count runs on the server (none stored yet); its reply comes late,
    // after two sessions are stored.
    proxy.delay_reply(b":0\r\n", Duration::from_secs(3));
    std::thread::scope(|sc| {
        let count = sc.spawn(|| app.session_count());
        let t = Instant::now();
        while !proxy.fired() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(proxy.fired(), "the count was not caught");
        stored(&app, &[("n", Variant::I4(1))]);
        stored(&app, &[("n", Variant::I4(2))]);
        count.join().unwrap().unwrap();
    });
    // The late count does not make the application forget them.
    let mut third = app.create_session().unwrap();
    assert_eq!(
        code(third.set("n", Variant::I4(3))),
        error::E_TOO_MANY_SESSIONS,
        "a third session passed the limit of 2"
    );
    third.close().unwrap();
    assert_eq!(app.session_count().unwrap(), 2);
}

#[test]
fn a_server_out_of_memory_is_a_full_store() {
    let server = Server::start(&["--maxmemory-policy", "noeviction"]);
    let redis = RedisOptions {
        retry_budget: Duration::from_secs(5),
        ..redis_opts(&server.url(), redis_env::unique_prefix("oom"))
    };
    let budget = redis.retry_budget;
    let app = app_on(redis, |_| {});
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let mut con = connect(&server.url());
    let mut maxmemory = |v: &str| {
        let _: () = cmd(&mut con, &["CONFIG", "SET", "maxmemory", v]);
    };
    maxmemory("1");
    // Writes fail at once, saying so; reads go on.
    let t = Instant::now();
    let mut s = app.create_session().unwrap();
    let full = s.set("n", Variant::I4(2)).unwrap_err();
    assert_eq!(full.code(), error::E_STORE_FULL, "{full:?}");
    assert!(full.detail().contains("out of memory"), "{full:?}");
    assert!(t.elapsed() < budget / 2, "retried: {:?}", t.elapsed());
    drop(s);
    assert_eq!(
        code(app.open(&id, LockMode::Exclusive)),
        error::E_STORE_FULL
    );
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("n"), Some(&Variant::I4(1)));
    drop(s);
    // Memory back: nothing was left locked or half written.
    maxmemory("0");
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("n", Variant::I4(3)).unwrap();
    s.close().unwrap();
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("n"),
        Some(&Variant::I4(3))
    );
}

/// A value longer than the server's `proto-max-bulk-len` (here its
/// smallest, 1 MB, under an application limit of 3 MiB) fails at once,
/// naming the setting, the value's size and what to do; nothing is
/// written and the session goes on.
#[test]
fn a_value_past_the_servers_proto_max_bulk_len_says_so() {
    let server = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let redis = RedisOptions {
        retry_budget: Duration::from_secs(5),
        ..redis_opts(&server.url(), redis_env::unique_prefix("bulk"))
    };
    let budget = redis.retry_budget;
    let app = app_on(redis, |o| o.max_value_bytes = 3 << 20);
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("big", Variant::bstr(&"x".repeat(2 << 20))).unwrap();
    let t = Instant::now();
    let refused = s.close().unwrap_err();
    assert!(t.elapsed() < budget / 2, "retried: {:?}", t.elapsed());
    assert_eq!(refused.code(), error::E_STORE_UNAVAILABLE, "{refused:?}");
    let detail = refused.detail();
    assert!(
        (2 << 20..(2 << 20) + 16).contains(&size_named(detail)),
        "{detail}"
    );
    for says in [
        "larger than its proto-max-bulk-len",
        "CONFIG SET",
        "store less",
    ] {
        assert!(detail.contains(says), "{says:?} missing: {detail}");
    }
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    assert_eq!(s.get("big"), None, "nothing was written");
    s.set("n", Variant::I4(2)).unwrap();
    s.close().unwrap();
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("n"), Some(&Variant::I4(2)));
}

/// A value so long that the server closes the connection while it is still
/// being sent (the client sees a reset, not the refusal): tried again as
/// any dropped connection, then the error says the value may be larger
/// than the server's `proto-max-bulk-len`.
#[test]
fn a_reset_while_sending_a_long_value_names_proto_max_bulk_len() {
    let server = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let redis = RedisOptions {
        retry_budget: Duration::from_secs(1),
        ..redis_opts(&server.url(), redis_env::unique_prefix("bulk"))
    };
    let app = app_on(redis, |o| {
        o.max_value_bytes = 40 << 20;
        o.max_session_bytes = 40 << 20;
    });
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("big", Variant::bstr(&"x".repeat(32 << 20))).unwrap();
    let failed = s.close().unwrap_err();
    assert_eq!(failed.code(), error::E_STORE_UNAVAILABLE, "{failed:?}");
    let detail = failed.detail();
    assert!(detail.contains("proto-max-bulk-len"), "{detail}");
    assert!(
        (32 << 20..(32 << 20) + 16).contains(&size_named(detail)),
        "{detail}"
    );
}

/// The N of "a value of N bytes" in an error's detail.
fn size_named(detail: &str) -> usize {
    detail
        .split_once("a value of ")
        .and_then(|(_, rest)| rest.split_once(" bytes"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no size: {detail}"))
}

/// Out of memory, a read-only request whose session is due for its slide
/// still reads it: the slide (a write) is best effort, as in ASP.NET, and
/// the session keeps its old deadline. Other failures still surface.
#[test]
fn a_server_out_of_memory_still_serves_reads_due_to_slide() {
    let server = Server::start(&["--maxmemory-policy", "noeviction"]);
    let clock = Arc::new(ManualClock::new(now_ms()));
    let prefix = redis_env::unique_prefix("oomslide");
    let app = app_on(redis_opts(&server.url(), prefix.clone()), |o| {
        o.clock = Some(clock.clone())
    });
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let data = redis_env::session_keys(&server.url(), &prefix).remove(0);
    let mut con = connect(&server.url());
    let deadline = |con: &mut redis::Connection| -> u64 { cmd(con, &["HGET", &data, "E"]) };
    let before = deadline(&mut con);
    let _: () = cmd(&mut con, &["CONFIG", "SET", "maxmemory", "1"]);
    // Five minutes on, the read is due to slide the deadline.
    clock.advance(5 * 60_000);
    let s = app
        .open(&id, LockMode::Shared)
        .unwrap_or_else(|e| panic!("a read failed for want of memory: {e:?}"));
    assert_eq!(s.get("n"), Some(&Variant::I4(1)));
    s.close().unwrap();
    assert_eq!(deadline(&mut con), before, "nothing was written");
    // Memory back: the next read slides it.
    let _: () = cmd(&mut con, &["CONFIG", "SET", "maxmemory", "0"]);
    app.open(&id, LockMode::Shared).unwrap().close().unwrap();
    assert_eq!(deadline(&mut con), before + 5 * 60_000);
    // A slide failing otherwise (the script refused) still fails the read.
    let _: () = cmd(&mut con, &["ACL", "SETUSER", "default", "-evalsha"]);
    clock.advance(5 * 60_000);
    let refused = app.open(&id, LockMode::Shared);
    let _: () = cmd(&mut con, &["ACL", "SETUSER", "default", "+evalsha"]);
    assert_eq!(code(refused), error::E_STORE_UNAVAILABLE);
}

/// Out of memory, the sweeper cannot take its lease (a new key), yet
/// ending sessions is what frees memory: it sweeps without it (the claim
/// alone makes each end once), ending every session due.
#[test]
fn a_server_out_of_memory_still_sweeps() {
    let server = Server::start(&["--maxmemory-policy", "noeviction"]);
    let clock = Arc::new(ManualClock::new(now_ms()));
    let ends = Arc::new(Mutex::new(Vec::new()));
    let e = ends.clone();
    let app = app_on(
        redis_opts(&server.url(), redis_env::unique_prefix("oomsweep")),
        |o| {
            o.clock = Some(clock.clone());
            o.on_end = Some(Arc::new(move |s| {
                e.lock().unwrap().push(s.get("n").cloned())
            }));
        },
    );
    for n in 0..100 {
        stored(&app, &[("n", Variant::I4(n))]);
    }
    let mut con = connect(&server.url());
    let _: () = cmd(&mut con, &["CONFIG", "SET", "maxmemory", "1"]);
    clock.advance(21 * 60_000);
    assert_eq!(app.expire().unwrap(), 100);
    let mut ended = ends.lock().unwrap().clone();
    ended.sort_by_key(|v| format!("{v:?}"));
    ended.dedup();
    assert_eq!(ended.len(), 100, "each ended once, with its contents");
    assert_eq!(app.session_count().unwrap(), 0);
}

#[test]
fn a_server_that_may_evict_any_key_is_refused_saying_why() {
    let server = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let app = app_on(
        redis_opts(&server.url(), redis_env::unique_prefix("evict")),
        |_| {},
    );
    // Every call that reaches the server says what is wrong, at once.
    let mut s = app.create_session().unwrap();
    let refused = s.set("n", Variant::I4(1)).unwrap_err();
    assert_eq!(refused.code(), error::E_STORE_UNAVAILABLE, "{refused:?}");
    for what in ["maxmemory-policy", "allkeys-lru", "Session_OnEnd"] {
        assert!(refused.detail().contains(what), "{refused:?}");
    }
    drop(s);
    assert_eq!(app.session_count().unwrap_err().code(), refused.code());
    // The operator changes the policy: the same application works on.
    let _: () = cmd(
        &mut connect(&server.url()),
        &["CONFIG", "SET", "maxmemory-policy", "volatile-lru"],
    );
    let id = stored(&app, &[("n", Variant::I4(1))]);
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("n"),
        Some(&Variant::I4(1))
    );
    // A server that will not say (CONFIG refused, as managed ones do) is
    // used as it is.
    let hidden = Server::start(&[
        "--maxmemory-policy",
        "allkeys-lru",
        "--rename-command",
        "CONFIG",
        "",
    ]);
    let app = app_on(
        redis_opts(&hidden.url(), redis_env::unique_prefix("evict")),
        |_| {},
    );
    stored(&app, &[("n", Variant::I4(1))]);
}

#[test]
fn reads_keep_a_one_minute_session_alive() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "oneminute");
    let clock = Arc::new(ManualClock::new(now_ms()));
    // The default refresh interval (60 s) is as long as the Timeout.
    let app = app_on(redis_opts(SHARED_URL, prefixes.fresh()), |o| {
        o.clock = Some(clock.clone())
    });
    let mut s = app.create_session().unwrap();
    s.set_timeout(1).unwrap();
    s.set("x", Variant::I4(1)).unwrap();
    let id = s.id();
    s.close().unwrap();
    // A read-only request every 40 s keeps the session (as IIS does): each
    // is within a minute of the one before.
    for i in 1..=4 {
        clock.advance(40_000);
        let s = app
            .open(&id, LockMode::Shared)
            .unwrap_or_else(|e| panic!("read {i}, 40 s after the last: {e:?}"));
        assert_eq!(s.get("x"), Some(&Variant::I4(1)));
    }
}

#[test]
fn a_read_only_slide_keeps_a_concurrent_writers_shorter_timeout() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "slidewriter");
    let prefix = prefixes.fresh();
    let proxy = redis_env::Proxy::start(6379);
    let start = now_ms();
    let clock = Arc::new(ManualClock::new(start));
    let with_clock = |o: &mut AppOptions| o.clock = Some(clock.clone());
    // The reader waits for its held-back reply (no timeout, no retry).
    let slow = RedisOptions {
        op_timeout: Duration::from_secs(20),
        retry_budget: Duration::from_secs(30),
        ..redis_opts(&proxy.url(), prefix.clone())
    };
    let reader = app_on(slow, with_clock);
    let writer = app_on(redis_opts(SHARED_URL, prefix.clone()), with_clock);
    let id = stored(&writer, &[("x", Variant::I4(1))]);
    let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
    let mut con = connect(SHARED_URL);
    let fields: usize = cmd(&mut con, &["HLEN", &data]);
    // Five minutes on, a read-only request is due to slide the deadline.
    clock.advance(5 * 60_000);
    // Its read (the only array reply of that many fields) is held back
    // while a writer shortens the Timeout to one minute.
    proxy.delay_reply(
        format!("*{}\r\n", 2 * fields).as_bytes(),
        Duration::from_secs(5),
    );
    std::thread::scope(|sc| {
        let read = sc.spawn(|| reader.open(&id, LockMode::Shared).map(|s| s.close()));
        let t = Instant::now();
        while !proxy.fired() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(proxy.fired(), "the read was not caught");
        let mut w = writer.open(&id, LockMode::Exclusive).unwrap();
        w.set_timeout(1).unwrap();
        w.close().unwrap();
        read.join().unwrap().unwrap().unwrap();
    });
    let e: u64 = cmd(&mut con, &["HGET", &data, "E"]);
    assert!(
        e <= start + 6 * 60_000,
        "the stale read slid the deadline {} s past the writer's",
        (e - (start + 6 * 60_000)) / 1000
    );
    clock.advance(2 * 60_000);
    assert_eq!(
        code(writer.open(&id, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND,
        "a one-minute session outlived its Timeout"
    );
}

#[test]
fn a_read_only_slide_keeps_a_held_sessions_data_for_its_lock() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "slidelock");
    let prefix = prefixes.fresh();
    let proxy = redis_env::Proxy::start(6379);
    let clock = Arc::new(ManualClock::new(now_ms()));
    let with_clock = |o: &mut AppOptions| o.clock = Some(clock.clone());
    // A lock that may last 10 minutes, on sessions of a one-minute Timeout,
    // and a short grace: the data's TTL while locked is the lock's.
    let lock_ttl = Duration::from_secs(600);
    let opts = |url: &str, op_timeout: Duration| RedisOptions {
        lock_ttl,
        grace: Duration::from_millis(300),
        op_timeout,
        retry_budget: Duration::from_secs(30),
        ..redis_opts(url, prefix.clone())
    };
    // The reader waits for its held-back reply (no timeout, no retry).
    let reader = app_on(opts(&proxy.url(), Duration::from_secs(20)), with_clock);
    let writer = app_on(opts(SHARED_URL, Duration::from_secs(1)), with_clock);
    let mut s = writer.create_session().unwrap();
    s.set_timeout(1).unwrap();
    s.set("x", Variant::I4(1)).unwrap();
    let id = s.id();
    s.close().unwrap();
    let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
    let mut con = connect(SHARED_URL);
    let fields: usize = cmd(&mut con, &["HLEN", &data]);
    // 40 s on, a read-only request is due to slide the deadline; its read
    // is held back while a writer takes the session.
    clock.advance(40_000);
    proxy.delay_reply(
        format!("*{}\r\n", 2 * fields).as_bytes(),
        Duration::from_secs(3),
    );
    let mut w = std::thread::scope(|sc| {
        let read = sc.spawn(|| reader.open(&id, LockMode::Shared).map(|s| s.close()));
        let t = Instant::now();
        while !proxy.fired() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(proxy.fired(), "the read was not caught");
        let w = writer.open(&id, LockMode::Exclusive).unwrap();
        read.join().unwrap().unwrap().unwrap();
        w
    });
    // The slide moved the deadline, but left the data for the lock.
    let ttl: i64 = cmd(&mut con, &["PTTL", &data]);
    assert!(
        ttl > (lock_ttl / 2).as_millis() as i64,
        "the slide cut a held session's data TTL to {ttl} ms, under its {lock_ttl:?} lock"
    );
    w.set("x", Variant::I4(2)).unwrap();
    w.close().unwrap();
    assert_eq!(
        writer.open(&id, LockMode::Shared).unwrap().get("x"),
        Some(&Variant::I4(2))
    );
}

/// An application with a short `grace` (shorter than its `lock_ttl`) and
/// sessions that end a minute after they start; and its Session_OnEnd
/// record.
fn short_grace(prefix: String, clock: &Arc<ManualClock>) -> (App, Ended) {
    let redis = RedisOptions {
        grace: Duration::from_millis(300),
        id_secret: Some(SECRET.to_vec()),
        ..redis_opts(SHARED_URL, prefix)
    };
    let ended: Ended = Arc::default();
    let seen = ended.clone();
    let app = app_on(redis, |o| {
        o.clock = Some(clock.clone());
        o.absolute_timeout_minutes = 1;
        o.on_end = Some(Arc::new(move |s| {
            seen.lock().unwrap().push((s.id(), s.get("n").cloned()));
        }));
    });
    (app, ended)
}

#[test]
fn a_session_held_near_its_end_outlives_the_grace_while_locked() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "heldgrace");
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = short_grace(prefixes.fresh(), &clock);
    let id = stored(&app, &[("n", Variant::I4(1))]);
    // 100 ms before its deadline a request takes the session and moves it
    // to a new ID (which rewrites its data TTL: deadline - now + grace).
    clock.advance(59_900);
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.regenerate_id().unwrap();
    // The request takes longer than that, well within its lock (30 s).
    std::thread::sleep(Duration::from_millis(1500));
    s.set("n", Variant::I4(2)).unwrap();
    let new_id = s.id();
    s.close().expect("the lock was held: the save counts");
    clock.advance(1_100);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(*ended.lock().unwrap(), [(new_id, Some(Variant::I4(2)))]);
}

#[test]
fn a_session_locked_in_its_last_moments_is_kept_for_its_holder() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "lockgrace");
    let prefix = prefixes.fresh();
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = short_grace(prefix.clone(), &clock);
    let id = stored(&app, &[("n", Variant::I4(1))]);
    // 100 ms before its deadline, the data TTL the store gives it:
    // deadline - now + grace.
    clock.advance(59_900);
    let data = redis_env::session_keys(SHARED_URL, &prefix).remove(0);
    // (5 s here, of real time, for the open below to come first.)
    let _: i64 = cmd(&mut connect(SHARED_URL), &["PEXPIRE", &data, "5000"]);
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    // The request takes longer than that, well within its lock (30 s).
    std::thread::sleep(Duration::from_millis(6000));
    s.set("n", Variant::I4(2)).unwrap();
    s.close().expect("the lock was held: the save counts");
    clock.advance(1_100);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(2)))]);
}

/// A save that deletes thousands of items (more than Lua's `unpack` can
/// spread at once) deletes them all, and leaves a session that reads back.
#[test]
fn a_save_that_removes_thousands_of_items_removes_them_all() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "manydel");
    let app = app_on(redis_opts(SHARED_URL, prefixes.fresh()), |o| {
        o.max_items = 20_000;
    });
    let mut s = app.create_session().unwrap();
    for i in 0..9_000 {
        s.set(&format!("k{i}"), Variant::I4(i)).unwrap();
    }
    let id = s.id();
    s.close().unwrap();
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.remove_all().unwrap();
    s.set("kept", Variant::I4(1)).unwrap();
    s.close().expect("the save");
    let s = app
        .open(&id, LockMode::Shared)
        .expect("the session reads back");
    assert_eq!(s.count(), 1);
    assert_eq!(s.get("kept"), Some(&Variant::I4(1)));
}

/// A save whose reply comes too late is retried; meanwhile a waiting
/// request took the lock the save freed. The retry recognises its own
/// save: the request succeeds, its changes kept.
#[test]
fn a_save_retried_after_another_took_the_lock_reports_success() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "latesave");
    let prefix = prefixes.fresh();
    let proxy = redis_env::Proxy::start(6379);
    let op_timeout = Duration::from_millis(300);
    let slow = RedisOptions {
        op_timeout,
        retry_budget: Duration::from_secs(5),
        ..redis_opts(&proxy.url(), prefix.clone())
    };
    let first = app_on(slow, |_| {});
    let next = app_on(redis_opts(SHARED_URL, prefix.clone()), |_| {});
    let id = stored(&first, &[("n", Variant::I4(1))]);
    for waiter_saves in [false, true] {
        let mut s = first.open(&id, LockMode::Exclusive).unwrap();
        let n = match s.get("n") {
            Some(Variant::I4(n)) => *n,
            other => panic!("n: {other:?}"),
        };
        s.set("n", Variant::I4(n + 1)).unwrap();
        std::thread::scope(|sc| {
            // Waits for the lock; takes it as soon as the save frees it.
            let waiter = sc.spawn(|| {
                // It holds the lock past the retry, or saves before it.
                let mut w = next.open(&id, LockMode::Exclusive).unwrap();
                if waiter_saves {
                    w.set("w", Variant::I4(n)).unwrap();
                } else {
                    std::thread::sleep(op_timeout * 2);
                }
                w.close().unwrap();
            });
            std::thread::sleep(Duration::from_millis(50));
            proxy.delay_reply(b":1\r\n", op_timeout * 3);
            let saved = s.close();
            assert!(proxy.fired(), "no save reply was delayed");
            saved.unwrap_or_else(|e| panic!("the save ran, yet: {e:?}"));
            waiter.join().unwrap();
        });
        let s = next.open(&id, LockMode::Shared).unwrap();
        assert_eq!(s.get("n"), Some(&Variant::I4(n + 1)));
    }
}

/// A request whose session Redis lost while it held it (a server restarted
/// empty, a key evicted) is told so the same way whether it saves or
/// abandons: the session is gone, not a lock that ran out.
#[test]
fn a_session_lost_by_a_restarted_redis_is_gone_for_a_save_and_an_abandon_alike() {
    let mut server = Server::start(&[]);
    let app = app_on(
        redis_opts(&server.url(), redis_env::unique_prefix("restart")),
        |_| {},
    );
    let saved = stored(&app, &[("n", Variant::I4(1))]);
    let abandoned = stored(&app, &[("n", Variant::I4(1))]);
    let mut saving = app.open(&saved, LockMode::Exclusive).unwrap();
    let mut abandoning = app.open(&abandoned, LockMode::Exclusive).unwrap();
    server.restart();
    saving.set("n", Variant::I4(2)).unwrap();
    let e = saving.close().unwrap_err();
    assert_eq!(e.code(), error::E_SESSION_NOT_FOUND, "{e}");
    abandoning.abandon();
    let e = abandoning.close().unwrap_err();
    assert_eq!(e.code(), error::E_SESSION_NOT_FOUND, "{e}");
}

/// A request whose lock ran out, and whose session the sweeper then ended,
/// cannot move it to a new ID; abandoning it afterwards must not run
/// Session_OnEnd a second time.
#[test]
fn abandon_after_a_regenerate_that_found_the_session_ended_runs_no_second_on_end() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "regenend");
    let lock_ttl = Duration::from_millis(300);
    let redis = RedisOptions {
        lock_ttl,
        ..redis_opts(SHARED_URL, prefixes.fresh())
    };
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis, &clock);
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let mut slow = app.open(&id, LockMode::Exclusive).unwrap();
    slow.set("n", Variant::I4(2)).unwrap();
    // Its lock runs out (by the server's clock), the session's Timeout too:
    // the sweeper ends it.
    std::thread::sleep(lock_ttl * 2);
    clock.advance(21 * 60_000);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(1)))]);
    assert_eq!(code(slow.regenerate_id()), error::E_LOCK_TIMEOUT);
    slow.abandon();
    let closed = slow.close();
    assert_eq!(ended.lock().unwrap().len(), 1, "Session_OnEnd ran twice");
    assert_eq!(code(closed), error::E_LOCK_TIMEOUT);
}

/// A server running another client's long script answers BUSY to every
/// other command until the script ends or is killed: a passing state, as
/// LOADING is, so a call waits for it within its retry budget instead of
/// failing at once.
#[test]
fn a_server_busy_with_a_long_script_is_waited_for_within_the_budget() {
    let server = Server::start(&["--busy-reply-threshold", "50"]);
    let redis = RedisOptions {
        retry_budget: Duration::from_secs(30),
        ..redis_opts(&server.url(), redis_env::unique_prefix("busy"))
    };
    let app = app_on(redis, |_| {});
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let url = server.url();
    let looping = std::thread::spawn(move || {
        let mut con = connect(&url);
        redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query::<()>(&mut con)
    });
    let mut probe = connect(&server.url());
    let t = Instant::now();
    while redis::cmd("PING")
        .query::<String>(&mut probe)
        .map_or_else(|e| e.code() != Some("BUSY"), |_| true)
    {
        assert!(t.elapsed() < Duration::from_secs(20), "never BUSY");
        std::thread::sleep(Duration::from_millis(10));
    }
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        redis::cmd("SCRIPT").arg("KILL").query::<()>(&mut probe)
    });
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    assert_eq!(s.get("n"), Some(&Variant::I4(1)));
    s.set("n", Variant::I4(2)).unwrap();
    s.close().unwrap();
    killer.join().unwrap().expect("SCRIPT KILL");
    let killed = looping.join().unwrap().unwrap_err();
    assert!(killed.to_string().contains("killed"), "{killed}");
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("n"), Some(&Variant::I4(2)));
}

/// A URL may ask the `redis` crate for RESP3 (`?protocol=resp3`): the
/// store still reads sessions (HGETALL's reply is then a map) and still
/// refuses a server that may evict any key (CONFIG GET's reply, too).
#[test]
fn a_url_asking_for_resp3_serves_every_request() {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "resp3");
    let url = format!("{SHARED_URL}?protocol=resp3");
    let app = app_on(redis_opts(&url, prefixes.fresh()), |_| {});
    let id = stored(&app, &[("x", Variant::I4(5))]);
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("x"), Some(&Variant::I4(5)));
    drop(s);
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("x", Variant::I4(6)).unwrap();
    s.close().unwrap();
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("x"),
        Some(&Variant::I4(6))
    );
    let evicting = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let url = format!("{}/0?protocol=resp3", evicting.url());
    let app = app_on(redis_opts(&url, redis_env::unique_prefix("resp3")), |_| {});
    let mut s = app.create_session().unwrap();
    let refused = s.set("n", Variant::I4(1)).unwrap_err();
    assert_eq!(refused.code(), error::E_STORE_UNAVAILABLE, "{refused:?}");
    assert!(refused.detail().contains("allkeys-lru"), "{refused:?}");
}

/// Options that give up on a hung server within a second: a retry budget
/// of 800 ms, 200 ms timeouts.
fn impatient(url: &str, prefix: String) -> RedisOptions {
    RedisOptions {
        retry_budget: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(200),
        op_timeout: Duration::from_millis(200),
        ..redis_opts(url, prefix)
    }
}

/// A server that hangs past a writing request's retry budget runs the
/// request's lock script once it wakes, after the request gave up: the
/// session must not stay locked for `lock_ttl` by a request that is gone
/// ("calls succeed again as soon as Redis is back").
#[test]
fn a_lock_taken_after_its_request_gave_up_is_freed() {
    let server = Server::start(&[]);
    let redis = RedisOptions {
        lock_ttl: Duration::from_secs(60),
        ..impatient(&server.url(), redis_env::unique_prefix("orphan"))
    };
    let app = app_on(redis.clone(), |o| o.lock_timeout = Duration::from_secs(2));
    let id = stored(&app, &[("n", Variant::I4(1))]);
    server.signal("STOP"); // hung, not gone: the request is sent, unanswered
    assert_eq!(
        code(app.open(&id, LockMode::Exclusive)),
        error::E_STORE_UNAVAILABLE
    );
    server.signal("CONT");
    // The first request's lock script has run by now (its connection's
    // bytes were read first) and holds the session for nobody.
    std::thread::sleep(Duration::from_millis(100));
    let mut s = app
        .open(&id, LockMode::Exclusive)
        .unwrap_or_else(|e| panic!("the session stayed locked: {e:?}"));
    assert_eq!(s.get("n"), Some(&Variant::I4(1)));
    s.set("n", Variant::I4(2)).unwrap();
    s.close().unwrap();
    // Another process finds such a lock freed once the failed request's
    // process has swept.
    let other = app_on(redis.clone(), |o| o.lock_timeout = Duration::from_secs(2));
    server.signal("STOP");
    assert_eq!(
        code(app.open(&id, LockMode::Exclusive)),
        error::E_STORE_UNAVAILABLE
    );
    server.signal("CONT");
    std::thread::sleep(Duration::from_millis(100));
    app.expire().unwrap();
    let s = other
        .open(&id, LockMode::Shared)
        .unwrap_or_else(|e| panic!("the session stayed locked: {e:?}"));
    assert_eq!(s.get("n"), Some(&Variant::I4(2)));
}

/// A writing request whose save a full server refuses (`E_STORE_FULL`,
/// nothing written) lets the session go: read-only requests go on reading
/// its last saved contents, as they do out of memory, instead of waiting
/// out the lock of a request that is over; and once memory is back the
/// next writer takes it at once.
#[test]
fn a_save_refused_for_want_of_memory_leaves_the_session_unlocked() {
    let server = Server::start(&["--maxmemory-policy", "noeviction"]);
    let app = app_on(
        redis_opts(&server.url(), redis_env::unique_prefix("oomsave")),
        |o| o.lock_timeout = Duration::from_secs(1),
    );
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let mut con = connect(&server.url());
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("n", Variant::I4(2)).unwrap();
    let _: () = cmd(&mut con, &["CONFIG", "SET", "maxmemory", "1"]);
    assert_eq!(code(s.close()), error::E_STORE_FULL);
    let s = app
        .open(&id, LockMode::Shared)
        .unwrap_or_else(|e| panic!("a read waited for a finished request: {e:?}"));
    assert_eq!(s.get("n"), Some(&Variant::I4(1)));
    drop(s);
    let _: () = cmd(&mut con, &["CONFIG", "SET", "maxmemory", "0"]);
    let mut s = app
        .open(&id, LockMode::Exclusive)
        .unwrap_or_else(|e| panic!("the session stayed locked: {e:?}"));
    s.set("n", Variant::I4(3)).unwrap();
    s.close().unwrap();
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("n"),
        Some(&Variant::I4(3))
    );
}

/// Timeouts say which wait ran out, not the OS's "Resource temporarily
/// unavailable"; a `rediss://` URL naming a plain Redis port (which never
/// answers a TLS handshake) says to check the port.
#[test]
fn timeouts_say_what_timed_out() {
    let server = Server::start(&[]);
    let quick = |url: String| impatient(&url, redis_env::unique_prefix("timeouts"));
    let no_tls = format!("rediss://127.0.0.1:{}/0", server.port);
    let app = app_on(quick(no_tls), |_| {});
    let e = app
        .open(&SessionId::generate().unwrap(), LockMode::Shared)
        .err()
        .unwrap();
    assert_eq!(e.code(), error::E_STORE_UNAVAILABLE);
    for what in ["connect", "TLS", "rediss://"] {
        assert!(e.detail().contains(what), "{e:?}");
    }
    let app = app_on(quick(server.url()), |_| {});
    let id = stored(&app, &[("n", Variant::I4(1))]);
    server.signal("STOP");
    let e = app.open(&id, LockMode::Shared).err().unwrap();
    server.signal("CONT");
    assert_eq!(e.code(), error::E_STORE_UNAVAILABLE);
    assert!(!e.detail().contains("temporarily unavailable"), "{e:?}");
    assert!(e.detail().contains("no reply"), "{e:?}");
}

/// Lets session `id` expire, then opens it while `server` is hung: the
/// request gives up (`E_STORE_UNAVAILABLE`) and its claim of the expired
/// session runs late, when the server wakes.
fn late_claim(server: &Server, app: &App, clock: &ManualClock, id: &SessionId) {
    clock.advance(21 * 60_000);
    server.signal("STOP");
    assert_eq!(
        code(app.open(id, LockMode::Exclusive)),
        error::E_STORE_UNAVAILABLE
    );
    server.signal("CONT");
    std::thread::sleep(Duration::from_millis(100));
}

/// A request that finds its session expired claims it for Session_OnEnd;
/// if it gave up on a hung server whose claim then ran when it woke,
/// the session must still end with Session_OnEnd (here at the process's
/// next sweep), not vanish with its claimed copy.
#[test]
fn an_expired_sessions_claim_run_after_its_request_gave_up_still_ends_it() {
    let server = Server::start(&[]);
    let redis = impatient(&server.url(), redis_env::unique_prefix("lateclaim"));
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis, &clock);
    let id = stored(&app, &[("n", Variant::I4(7))]);
    late_claim(&server, &app, &clock, &id);
    app.expire().unwrap();
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(7)))]);
    app.expire().unwrap();
    assert_eq!(ended.lock().unwrap().len(), 1, "Session_OnEnd ran twice");
}

/// As above, in a process of a farm whose sweeper lease another process
/// holds: only this process can name the claimed copy, which lives for
/// the tombstone TTL (seconds), so its next sweep must end the session
/// even without the lease.
#[test]
fn a_late_claim_ends_in_its_process_while_another_holds_the_sweeper_lease() {
    let server = Server::start(&[]);
    let redis = impatient(&server.url(), redis_env::unique_prefix("lateclaimfarm"));
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis.clone(), &clock);
    let other = app_on(redis, |o| o.clock = Some(clock.clone()));
    let id = stored(&app, &[("n", Variant::I4(7))]);
    assert_eq!(other.expire().unwrap(), 0); // the lease is other's now
    late_claim(&server, &app, &clock, &id);
    app.expire().unwrap();
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(7)))]);
}

/// A session `n` = 7 stored under a fresh prefix named after `what`,
/// then its expiry index deleted (`DEL`): the prefixes (which clean up),
/// the application, its clock, what its Session_OnEnd saw, the ID.
fn stored_then_index_deleted(what: &str) -> (Prefixes, App, Arc<ManualClock>, Ended, SessionId) {
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], what);
    let prefix = prefixes.fresh();
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis_opts(SHARED_URL, prefix.clone()), &clock);
    let id = stored(&app, &[("n", Variant::I4(7))]);
    let indexes: Vec<String> = redis_env::keys_under(SHARED_URL, &prefix)
        .into_iter()
        .filter(|k| k.ends_with(":exp"))
        .collect();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    let _: i64 = cmd(&mut connect(SHARED_URL), &["DEL", &indexes[0]]);
    (prefixes, app, clock, ended, id)
}

/// An expiry index deleted by hand (`DEL`, or a cleaner of keys without
/// a TTL) would leave its sessions to expire by their TTL, without
/// Session_OnEnd: a session saved since is filed in it again, and ends
/// with Session_OnEnd when it expires.
#[test]
fn a_deleted_expiry_index_is_filed_again_by_the_next_save() {
    let (_prefixes, app, clock, ended, id) = stored_then_index_deleted("lostindex");
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("n", Variant::I4(8)).unwrap();
    s.close().unwrap();
    clock.advance(21 * 60_000);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(8)))]);
}

/// The sweeper's claim whose every reply is lost until its retry budget
/// is spent has moved the session aside under the claim's token all the
/// same: the process's next sweep must end it, with Session_OnEnd, while
/// that copy lasts (the tombstone TTL).
#[test]
fn a_sweepers_claim_that_gave_up_still_ends_the_session() {
    let proxy = redis_env::Proxy::start(6379);
    let prefixes = Prefixes::new(&[SHARED_URL.to_owned()], "lostclaims");
    let redis = RedisOptions {
        op_timeout: Duration::from_millis(600),
        ..impatient(&proxy.url(), prefixes.fresh())
    };
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis, &clock);
    let id = stored(&app, &[("n", Variant::I4(7))]);
    clock.advance(21 * 60_000);
    let claimed = b"*2\r\n:1\r\n*";
    let sweeping = AtomicBool::new(true);
    proxy.lose_reply(claimed);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while sweeping.load(Ordering::SeqCst) {
                if proxy.fired() {
                    proxy.lose_reply(claimed);
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        });
        let e = app.expire();
        sweeping.store(false, Ordering::SeqCst);
        assert_eq!(code(e), error::E_STORE_UNAVAILABLE);
    });
    assert!(ended.lock().unwrap().is_empty());
    app.expire().unwrap();
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(7)))]);
}

/// As above for a session only read since: the read that slides its
/// deadline files it again.
#[test]
fn a_deleted_expiry_index_is_filed_again_by_the_next_slide() {
    let (_prefixes, app, clock, ended, id) = stored_then_index_deleted("lostindexread");
    clock.advance(5 * 60_000);
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("n"), Some(&Variant::I4(7)));
    drop(s);
    clock.advance(21 * 60_000);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(7)))]);
}

/// A new session's create that a hung server ran after the request gave
/// up is the unit of work's own: its next write (here after a sweep)
/// finds it stored under its token, keeping its ID, and no second session
/// is stored.
#[test]
fn a_create_run_after_its_write_gave_up_is_kept_by_the_next_write() {
    let server = Server::start(&[]);
    let prefix = redis_env::unique_prefix("latecreate");
    let redis = impatient(&server.url(), prefix.clone());
    let app = app_on(redis, |_| {});
    stored(&app, &[("n", Variant::I4(0))]); // the count is fresh
    let mut s = app.create_session().unwrap();
    let id = s.id();
    server.signal("STOP");
    assert_eq!(code(s.set("n", Variant::I4(1))), error::E_STORE_UNAVAILABLE);
    server.signal("CONT");
    std::thread::sleep(Duration::from_millis(100));
    app.expire().unwrap();
    s.set("n", Variant::I4(2)).unwrap();
    assert_eq!(s.id(), id);
    s.close().unwrap();
    assert_eq!(redis_env::stored_sessions(&server.url(), &prefix).len(), 2);
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("n"),
        Some(&Variant::I4(2))
    );
}

/// A child made by `fork()` after a request of its parent gave up on a
/// hung server inherits the parent's memory of that call; the session
/// its late claim moved aside is the parent's to end: the child's sweep
/// must not run its Session_OnEnd (a parent sweeping meanwhile would run
/// it too), and the parent's sweep ends it once.
#[test]
fn a_forked_childs_sweep_leaves_its_parents_unsettled_claims_alone() {
    let server = Server::start(&[]);
    let redis = impatient(&server.url(), redis_env::unique_prefix("forkclaim"));
    let clock = Arc::new(ManualClock::new(now_ms()));
    let (app, ended) = recorded(redis, &clock);
    let id = stored(&app, &[("n", Variant::I4(7))]);
    late_claim(&server, &app, &clock, &id);
    // SAFETY: the child runs only this library's calls and leaves with
    // _exit (no test harness, no destructors of the parent's state).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let n = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            app.expire()
                .map_or(100, |_| ended.lock().unwrap().len() as i32)
        }));
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(n.unwrap_or(101)) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "the child died: {status:#x}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "the child ran the parent's Session_OnEnd (or failed)"
    );
    // The child may hold the sweeper lease for its few seconds.
    let t = Instant::now();
    while ended.lock().unwrap().is_empty() && t.elapsed() < Duration::from_secs(30) {
        app.expire().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(*ended.lock().unwrap(), [(id, Some(Variant::I4(7)))]);
}
