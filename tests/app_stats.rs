//! The application's counters (`App::stats`, `sess_app_stats`): each moves
//! when, and only when, its event happens.

use std::sync::Arc;
use std::time::Duration;

use sess::app::{App, AppOptions, AppStats};
use sess::clock::ManualClock;
use sess::error;
use sess::store::LockMode;
use sess::variant::Variant;

/// Stores a new session; its ID.
fn stored(app: &App) -> String {
    let mut s = app.create_session().unwrap();
    s.set("k", Variant::I4(1)).unwrap();
    let id = s.id().to_string();
    s.close().unwrap();
    id
}

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
    assert_eq!(app.stats(), AppStats::default());

    // A session never written is never stored: not counted.
    app.create_session().unwrap().close().unwrap();
    let ids: Vec<String> = (0..3).map(|_| stored(&app)).collect();
    let s = app.stats();
    assert_eq!((s.sessions_current, s.sessions_total), (3, 3));

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
    assert_eq!(app.expire(), 1);
    let s = app.stats();
    assert_eq!(
        s,
        AppStats {
            sessions_current: 0,
            sessions_total: 3,
            sessions_timed_out: 2,
            sessions_abandoned: 1,
            lock_waits: 2,
            lock_timeouts: 1,
            store_errors: 0,
        }
    );
}
