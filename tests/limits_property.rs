//! The memory budget and the counters under random sequences of units of
//! work (seeded: a failure names its seed and step, and reproduces).

#[path = "common/redis.rs"]
mod redis_env;
#[path = "common/suite.rs"]
mod suite;
#[path = "common/temp_dir.rs"]
mod temp_dir;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sess::app::{App, AppOptions, Session, StaticObject, StoreConfig};
use sess::clock::ManualClock;
use sess::store::lmdb::LmdbOptions;
use sess::store::{LockMode, RedisOptions};
use sess::variant::{Object, SafeArray, Unknown, Variant};
use suite::INERT_VTBL;
use temp_dir::TempDir;

const MIN: u64 = 60_000;

/// An object whose AddRef and Release do nothing (its few bytes leak).
fn inert() -> Object {
    let unknown = Box::leak(Box::new(Unknown { vtbl: &INERT_VTBL }));
    // SAFETY: a live object for the rest of the process.
    unsafe { Object::from_owned(unknown) }.unwrap()
}

/// A random value, sometimes large enough to meet the limits, sometimes
/// an object (refused by a shared store).
fn value(rng: &mut StdRng) -> Variant {
    match rng.random_range(0..7) {
        6 => Variant::Array(Box::new(SafeArray::from(vec![
            Variant::bstr("in an array"),
            Variant::Unknown(inert()),
        ]))),
        0 => Variant::I4(rng.random()),
        1 => Variant::bstr(&"x".repeat(rng.random_range(0..40))),
        2 => Variant::bstr(&"y".repeat(rng.random_range(100..300))),
        3 => Variant::Array(Box::new(SafeArray::from(
            (0..rng.random_range(0..6))
                .map(|i| Variant::bstr(&"z".repeat(i * 10)))
                .collect::<Vec<_>>(),
        ))),
        4 => Variant::Array(Box::new(
            SafeArray::from_bytes(&vec![7; rng.random_range(0..200)]).unwrap(),
        )),
        _ => Variant::Null,
    }
}

/// A few random changes to `s` (errors are fine: the limits refuse some).
fn change(s: &mut Session, rng: &mut StdRng) {
    for _ in 0..rng.random_range(0..8) {
        let key = format!("K{}", rng.random_range(0..10));
        let n = s.count();
        let _ = match rng.random_range(0..10) {
            0..=3 => s.set(&key, value(rng)),
            4 if n > 0 => s.set_at(rng.random_range(0..n + 1), value(rng)),
            5 => s.remove(&key).map(drop),
            6 if n > 0 => s.remove_at(rng.random_range(0..n + 1)),
            7 if rng.random_ratio(1, 4) => s.remove_all(),
            8 => s.set_timeout(rng.random_range(0..40)),
            9 if rng.random_ratio(1, 4) => s.regenerate_id(),
            9 => s.static_object_at(0).map(drop),
            _ => Ok(()),
        };
    }
}

/// The bytes a session counts: keys plus values' payload bytes.
fn size(s: &Session) -> usize {
    s.contents()
        .iter()
        .map(|(k, v)| k.len() + v.payload_bytes())
        .sum()
}

/// Runs `steps` random units of work for each seed on an application
/// with tight limits made by `store`, checking after each that the budget
/// holds exactly what the stored sessions do (nothing with a shared store)
/// and that the counters balance; then every session expires, and the
/// budget and the count of sessions are back to 0.
fn random_units_of_work(seeds: u64, steps: usize, mut store: impl FnMut() -> StoreConfig) {
    for seed in 0..seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let store = store();
        let shared = !matches!(store, StoreConfig::InProc);
        // Any millisecond: a sweep ends a session the moment its deadline
        // passes, whatever the second's fraction.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
            + seed * 137 % 1000;
        let clock = Arc::new(ManualClock::new(now));
        let mut app_opts = AppOptions {
            clock: Some(clock.clone()),
            expiry_interval: None,
            lock_timeout: Duration::from_millis(10),
            max_items: 6,
            max_value_bytes: 256,
            max_key_bytes: 4,
            max_session_bytes: 600,
            memory_budget_bytes: 1000,
            max_sessions: 8,
            store,
            ..AppOptions::default()
        };
        let fail_start = Arc::new(AtomicBool::new(false));
        let fail = fail_start.clone();
        app_opts.on_start = Some(Arc::new(move |s: &mut Session| {
            s.set("S", Variant::bstr("started"))?;
            match fail.load(Ordering::Relaxed) {
                true => Err(sess::error::Error::new(sess::error::E_FAIL, "refused")),
                false => Ok(()),
            }
        }));
        // Session_OnEnd writes to the ending session too.
        app_opts.on_end = Some(Arc::new(|s: &mut Session| {
            let _ = s.set("E", Variant::bstr("ended"));
            let _ = s.remove_at(0);
        }));
        app_opts.static_objects = vec![StaticObject {
            name: "Obj".into(),
            factory: Arc::new(|| Ok(inert())),
        }];
        let app = App::new(app_opts).unwrap();
        let mut ids: Vec<String> = Vec::new();
        for step in 0..steps {
            let at = format!("seed {seed} step {step}");
            let mut s = match rng.random_range(0..10) {
                0..=2 => {
                    fail_start.store(rng.random_ratio(1, 8), Ordering::Relaxed);
                    match app.create_session() {
                        Ok(s) => s,
                        Err(_) => continue,
                    }
                }
                3 => {
                    clock.advance(rng.random_range(0..30) * MIN);
                    app.expire().unwrap();
                    continue;
                }
                _ if ids.is_empty() => continue,
                _ => {
                    let id = &ids[rng.random_range(0..ids.len())];
                    let mode = match rng.random_ratio(1, 5) {
                        true => LockMode::Shared,
                        false => LockMode::Exclusive,
                    };
                    match app.open_session(id, mode) {
                        Ok(s) => s,
                        Err(_) => continue,
                    }
                }
            };
            change(&mut s, &mut rng);
            if rng.random_ratio(1, 5) {
                s.abandon();
                change(&mut s, &mut rng);
            }
            let id = s.id().to_string();
            if !ids.contains(&id) {
                ids.push(id);
            }
            if rng.random_ratio(1, 4) {
                s.discard().unwrap();
            } else {
                s.close().unwrap();
            }
            ids.retain(|id| app.open_session(id, LockMode::Shared).is_ok());
            let held: usize = ids
                .iter()
                .map(|id| size(&app.open_session(id, LockMode::Shared).unwrap()))
                .sum();
            assert_eq!(app.memory_used(), if shared { 0 } else { held }, "{at}");
            let st = app.stats();
            assert_eq!(st.sessions_current, Some(ids.len() as u64), "{at}");
            assert_eq!(
                st.sessions_current.unwrap(),
                st.sessions_total - st.sessions_timed_out - st.sessions_abandoned,
                "{at}: {st:?}"
            );
        }
        clock.advance(100_000 * MIN);
        app.expire().unwrap();
        let st = app.stats();
        assert_eq!((app.memory_used(), st.sessions_current), (0, Some(0)));
        assert_eq!(
            st.sessions_total,
            st.sessions_timed_out + st.sessions_abandoned,
            "seed {seed}: {st:?}"
        );
    }
}

#[test]
fn in_process_budget_and_counters_follow_random_units_of_work() {
    random_units_of_work(40, 300, || StoreConfig::InProc);
}

#[test]
fn redis_counters_follow_random_units_of_work() {
    let prefixes = redis_env::Prefixes::new(&[redis_env::SHARED_URL.to_owned()], "limits");
    random_units_of_work(4, 150, || {
        StoreConfig::Redis(RedisOptions {
            url: redis_env::SHARED_URL.into(),
            key_prefix: prefixes.fresh(),
            ..RedisOptions::default()
        })
    });
}

#[test]
fn lmdb_counters_follow_random_units_of_work() {
    let dirs: Vec<TempDir> = (0..4).map(|_| TempDir::new("limits")).collect();
    let mut next = dirs.iter();
    random_units_of_work(4, 150, || {
        StoreConfig::Lmdb(LmdbOptions::new(next.next().unwrap().path()))
    });
}

/// Arrays of elements that are nothing (empty strings, arrays or byte
/// arrays, arrays nested as deep as allowed) are still that many elements
/// to store: a shared store writes each, so a value the limits let in
/// must read back. (Counted as 0 bytes, 100,000 empty strings passed a
/// 1 KiB value limit and left a Redis session no request could read
/// again; 8,192 chains of 31 arrays passed a 64 KiB one, 2 MB encoded.)
#[test]
fn arrays_of_tiny_elements_meet_the_value_limit_or_read_back() {
    let prefixes = redis_env::Prefixes::new(&[redis_env::SHARED_URL.to_owned()], "limits");
    let dir = TempDir::new("limits");
    let array =
        |n: usize, v: &Variant| Variant::Array(Box::new(SafeArray::from(vec![v.clone(); n])));
    let max = 1 << 16;
    let tiny = [
        Variant::bstr(""),
        array(0, &Variant::Empty),
        Variant::Array(Box::new(SafeArray::from_bytes(&[]).unwrap())),
        (0..31).fold(Variant::Empty, |v, _| array(1, &v)),
    ];
    for store in [
        StoreConfig::InProc,
        StoreConfig::Redis(RedisOptions {
            url: redis_env::SHARED_URL.into(),
            key_prefix: prefixes.fresh(),
            ..RedisOptions::default()
        }),
        StoreConfig::Lmdb(LmdbOptions::new(dir.path())),
    ] {
        let app = App::new(AppOptions {
            max_value_bytes: max,
            max_session_bytes: 2 * max,
            expiry_interval: None,
            store,
            ..AppOptions::default()
        })
        .unwrap();
        let mode = app.mode();
        for t in &tiny {
            let mut s = app.create_session().unwrap();
            let e = s.set("many", array(20_000, t)).unwrap_err();
            assert_eq!(e.code(), sess::error::E_VALUE_TOO_LARGE, "{mode:?}: {e}");
            // As many as 8 bytes each would allow: refused, or stored and
            // read back whole.
            let most = array(max / 8, t);
            if let Err(e) = s.set("most", most.clone()) {
                assert_eq!(e.code(), sess::error::E_VALUE_TOO_LARGE, "{mode:?}: {e}");
                continue;
            }
            let id = s.id().to_string();
            s.close().unwrap();
            let s = app.open_session(&id, LockMode::Shared).unwrap();
            assert_eq!(s.get("most"), Some(&most), "{mode:?}");
        }
    }
}

/// `lock_waits` counts the requests that found their session locked and
/// waited: under a lock timeout of 0 none waits, in any store (the
/// in-process store counted each as a wait).
#[test]
fn a_request_that_may_not_wait_is_no_lock_wait_in_any_store() {
    let prefixes = redis_env::Prefixes::new(&[redis_env::SHARED_URL.to_owned()], "limits");
    let dir = TempDir::new("limits");
    for (what, store) in [
        ("in-process", StoreConfig::InProc),
        (
            "Redis",
            StoreConfig::Redis(RedisOptions {
                url: redis_env::SHARED_URL.into(),
                key_prefix: prefixes.fresh(),
                ..RedisOptions::default()
            }),
        ),
        ("LMDB", StoreConfig::Lmdb(LmdbOptions::new(dir.path()))),
    ] {
        let app = App::new(AppOptions {
            expiry_interval: None,
            lock_timeout: Duration::ZERO,
            store,
            ..AppOptions::default()
        })
        .unwrap();
        let mut s = app.create_session().unwrap();
        s.set("k", Variant::I4(1)).unwrap();
        let id = s.id().to_string();
        s.close().unwrap();
        let held = app.open_session(&id, LockMode::Exclusive).unwrap();
        let Err(e) = app.open_session(&id, LockMode::Exclusive) else {
            panic!("{what}: opened while held");
        };
        assert_eq!(e.code(), sess::error::E_LOCK_TIMEOUT, "{what}: {e:?}");
        let stats = app.stats();
        assert_eq!((stats.lock_waits, stats.lock_timeouts), (0, 1), "{what}");
        held.close().unwrap();
    }
}
