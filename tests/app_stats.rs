//! The application's counters (`App::stats`, `sess_app_stats`): each moves
//! when, and only when, its event happens.

#[path = "common/hooked.rs"]
mod hooked;
#[path = "common/stored.rs"]
mod stored;

use std::sync::Arc;
use std::time::Duration;

use hooked::{Hooked, Hooks};
use sess::app::{App, AppOptions, AppStats};
use sess::clock::ManualClock;
use sess::error;
use sess::store::LockMode;
use sess::variant::Variant;
use stored::stored;

#[test]
fn counters_follow_what_happens() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let app = App::new(AppOptions {
        clock: Some(clock.clone()),
        expiry_interval: None,
        lock_timeout: Duration::from_secs(1),
        ..AppOptions::default()
    })
    .unwrap();
    assert_eq!(
        app.stats(),
        AppStats {
            sessions_current: Some(0),
            ..AppStats::default()
        }
    );

    // A session never written is never stored: not counted.
    app.create_session().unwrap().close().unwrap();
    let ids: Vec<String> = (0..3).map(|_| stored(&app)).collect();
    let s = app.stats();
    assert_eq!((s.sessions_current, s.sessions_total), (Some(3), 3));

    // Abandon.
    let mut s = app.open_session(&ids[0], LockMode::Exclusive).unwrap();
    s.abandon();
    s.close().unwrap();

    // A lock held past the other request's patience: one wait, one timeout.
    let held = app.open_session(&ids[1], LockMode::Exclusive).unwrap();
    let e = app
        .open_session(&ids[1], LockMode::Exclusive)
        .err()
        .unwrap();
    assert_eq!(e.code(), error::E_LOCK_TIMEOUT);
    // A wait that ends in time counts as a wait only.
    std::thread::scope(|sc| {
        let waiter = sc.spawn(|| app.open_session(&ids[1], LockMode::Shared).map(drop));
        // Let go once the waiter is counted (it waits up to 1 s).
        while app.stats().lock_waits < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        held.close().unwrap();
        waiter.join().unwrap().unwrap();
    });
    let s = app.stats();
    assert_eq!(s.sessions_abandoned, 1);
    assert_eq!((s.lock_waits, s.lock_timeouts), (2, 1), "{s:?}");

    // Timeouts: one found expired by a request, the other by a sweep.
    clock.advance(21 * 60_000);
    assert_eq!(
        app.open_session(&ids[1], LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(app.expire().unwrap(), 1);
    let s = app.stats();
    assert_eq!(
        s,
        AppStats {
            sessions_current: Some(0),
            sessions_total: 3,
            sessions_timed_out: 2,
            sessions_abandoned: 1,
            lock_waits: 2,
            lock_timeouts: 1,
            store_errors: 0,
        }
    );
}

/// Fails every lookup while set (a store whose server went away).
#[derive(Default)]
struct Down(std::sync::atomic::AtomicBool);

impl Hooks for Down {
    fn before_lookup(&self) -> sess::error::Result<()> {
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(sess::error::Error::new(
                error::E_STORE_UNAVAILABLE,
                "the store is down",
            ));
        }
        Ok(())
    }
}

#[test]
fn store_errors_are_counted() {
    let store = Arc::new(Hooked::new(Down::default()));
    let app = App::new(AppOptions {
        store: sess::app::StoreConfig::Custom(store.clone()),
        ..AppOptions::default()
    })
    .unwrap();
    let id = stored(&app);
    store
        .hooks
        .0
        .store(true, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..3 {
        let e = app.open_session(&id, LockMode::Shared).err().unwrap();
        assert_eq!(e.code(), error::E_STORE_UNAVAILABLE);
    }
    // The counters are there while the store is down; only the number of
    // stored sessions is not (and asking counts as a store error).
    let s = app.stats();
    assert_eq!(
        (s.store_errors, s.sessions_total, s.sessions_current),
        (4, 1, None)
    );
    // The application's own counters do not ask the store, so reading
    // them (a metrics publisher's, every second) counts no error.
    for _ in 0..3 {
        assert_eq!(
            app.own_stats(),
            AppStats {
                sessions_current: None,
                ..s
            }
        );
    }
    store
        .hooks
        .0
        .store(false, std::sync::atomic::Ordering::Relaxed);
    app.open_session(&id, LockMode::Shared)
        .unwrap()
        .close()
        .unwrap();
    let s = app.stats();
    assert_eq!(
        (s.store_errors, s.sessions_total, s.sessions_current),
        (4, 1, Some(1))
    );
}

/// With the in-process store and no unit of work open, the counters
/// balance: current = created - timed out - abandoned. Checked after each
/// way a session comes and goes, new or not: kept, discarded, abandoned
/// (kept or discarded), dropped by a panic, refused by Session_OnStart,
/// regenerated, found expired by a request, swept.
#[test]
fn the_counters_balance() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let refuse_start = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refuse = refuse_start.clone();
    let app = App::new(AppOptions {
        clock: Some(clock.clone()),
        expiry_interval: None,
        // Stores every new session at once, as a write would.
        on_start: Some(Arc::new(move |_| {
            if refuse.load(std::sync::atomic::Ordering::SeqCst) {
                Err(sess::error::Error::new(error::E_FAIL, "refused"))
            } else {
                Ok(())
            }
        })),
        ..AppOptions::default()
    })
    .unwrap();
    let balanced = |step: &str| {
        let s = app.stats();
        let current = s.sessions_current.unwrap();
        assert_eq!(
            current + s.sessions_timed_out + s.sessions_abandoned,
            s.sessions_total,
            "after {step}: {s:?}"
        );
    };
    let new = || {
        let mut s = app.create_session().unwrap();
        s.set("k", Variant::I4(1)).unwrap();
        s
    };

    let kept = stored(&app);
    balanced("a new session kept");
    new().discard().unwrap();
    balanced("a new session discarded");
    let mut s = new();
    s.abandon();
    s.close().unwrap();
    balanced("a new session abandoned");
    let mut s = new();
    s.abandon();
    s.discard().unwrap();
    balanced("a new session abandoned and discarded");
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _s = new();
        panic!("the page failed");
    }));
    assert!(failed.is_err());
    balanced("a new session dropped by a panic");
    refuse_start.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(app.create_session().err().unwrap().code(), error::E_FAIL);
    refuse_start.store(false, std::sync::atomic::Ordering::SeqCst);
    balanced("Session_OnStart refused a new session");

    let mut s = app.open_session(&kept, LockMode::Exclusive).unwrap();
    s.regenerate_id().unwrap();
    let kept = s.id().to_string();
    s.close().unwrap();
    balanced("a session regenerated");
    let mut s = app.open_session(&kept, LockMode::Exclusive).unwrap();
    s.abandon();
    s.discard().unwrap();
    balanced("a session abandoned by a failed request");
    let (a, b) = (stored(&app), stored(&app));
    let mut s = app.open_session(&a, LockMode::Shared).unwrap();
    s.abandon();
    s.close().unwrap();
    balanced("a session abandoned read-only");

    clock.advance(21 * 60_000);
    assert!(app.open_session(&b, LockMode::Exclusive).is_err());
    balanced("a session found expired");
    stored(&app);
    clock.advance(21 * 60_000);
    assert_eq!(app.expire().unwrap(), 1);
    balanced("a sweep");
    let s = app.stats();
    assert_eq!(
        (
            s.sessions_current,
            s.sessions_total,
            s.sessions_timed_out,
            s.sessions_abandoned
        ),
        (Some(0), 5, 2, 3),
        "created: kept, abandoned, a, b and the swept one"
    );
}
