//! The Session object through the Rust API: lazy creation, OnStart/OnEnd,
//! Abandon, expiry on an injected clock, read-only units, static objects,
//! limits, and no lost updates under contention.

#[path = "common/counted.rs"]
mod counted;
#[path = "common/hooked.rs"]
mod hooked;
#[path = "common/stored.rs"]
mod stored;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use counted::counted;
use hooked::{Hooked, Hooks};
use sess::app::{App, AppOptions, StaticObject};
use sess::clock::ManualClock;
use sess::error;
use sess::store::LockMode;
use sess::variant::{SafeArray, Variant};
use stored::{stored, stored_with};

const MIN: u64 = 60_000;

fn app_with_clock(clock: &Arc<ManualClock>, f: impl FnOnce(&mut AppOptions)) -> App {
    let mut o = AppOptions {
        expiry_interval: None,
        clock: Some(clock.clone()),
        ..AppOptions::default()
    };
    f(&mut o);
    App::new(o).unwrap()
}

#[test]
fn a_new_session_is_stored_only_when_written() {
    let clock = Arc::new(ManualClock::new(0));
    let app = app_with_clock(&clock, |_| {});
    let s = app.create_session().unwrap();
    assert!(s.is_new_session());
    let id = s.id().to_string();
    s.close().unwrap();
    assert_eq!(app.session_count().unwrap(), 0);
    assert_eq!(
        app.open_session(&id, LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_SESSION_NOT_FOUND
    );

    let id = stored_with(&app, &[("Pi", Variant::R8(3.25))]);
    assert_eq!(app.session_count().unwrap(), 1);
    let s = app.open_session(&id, LockMode::Shared).unwrap();
    assert!(!s.is_new_session());
    assert_eq!(s.get("PI"), Some(&Variant::R8(3.25)));
}

#[test]
fn unknown_and_malformed_ids_are_never_adopted() {
    let app = App::new(AppOptions::default()).unwrap();
    let fresh = sess::state::SessionId::generate().unwrap().to_string();
    assert_eq!(
        app.open_session(&fresh, LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(
        app.open_session("../etc", LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_INVALID_SESSION_ID
    );
    assert_eq!(app.session_count().unwrap(), 0);
}

#[test]
fn on_start_runs_first_and_on_end_sees_the_contents() {
    let clock = Arc::new(ManualClock::new(0));
    type Ended = Vec<(String, Option<Variant>)>;
    let ended: Arc<Mutex<Ended>> = Arc::default();
    let log = ended.clone();
    // What regenerating the ID in OnEnd gives (an ending session keeps it).
    let regenerated: Arc<Mutex<Vec<Option<i32>>>> = Arc::default();
    let regen = regenerated.clone();
    let app = app_with_clock(&clock, |o| {
        o.on_start = Some(Arc::new(|s| s.set("started", Variant::bool(true))));
        o.on_end = Some(Arc::new(move |s| {
            log.lock()
                .unwrap()
                .push((s.id().to_string(), s.get("user").cloned()));
            let rc = s.regenerate_id().err().map(|e| e.code());
            regen.lock().unwrap().push(rc);
        }));
    });
    // OnStart makes the session exist even without a write by the page.
    let s = app.create_session().unwrap();
    assert_eq!(s.get("started"), Some(&Variant::bool(true)));
    let idle = s.id().to_string();
    s.close().unwrap();
    assert_eq!(app.session_count().unwrap(), 1);

    // Abandon: values readable until the end of the unit, then OnEnd.
    let mut s = app.open_session(&idle, LockMode::Exclusive).unwrap();
    s.set("user", Variant::bstr("Gertrude")).unwrap();
    s.abandon();
    assert_eq!(s.get("user"), Some(&Variant::bstr("Gertrude")));
    assert!(ended.lock().unwrap().is_empty());
    s.close().unwrap();
    assert_eq!(
        ended.lock().unwrap().as_slice(),
        &[(idle.clone(), Some(Variant::bstr("Gertrude")))]
    );
    assert_eq!(
        app.open_session(&idle, LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_SESSION_NOT_FOUND
    );

    // Timeout: OnEnd runs once when the host sweeps after 20 minutes.
    let timed = stored_with(&app, &[("user", Variant::bstr("David"))]);
    clock.advance(20 * MIN - 1);
    assert_eq!(app.expire().unwrap(), 0);
    clock.advance(1);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(app.expire().unwrap(), 0);
    assert_eq!(ended.lock().unwrap().len(), 2);
    assert_eq!(
        ended.lock().unwrap()[1],
        (timed, Some(Variant::bstr("David")))
    );
    assert_eq!(
        regenerated.lock().unwrap().as_slice(),
        &[Some(error::E_WRONG_STATE); 2]
    );
}

#[test]
fn timeout_slides_and_absolute_lifetime_caps_it() {
    let clock = Arc::new(ManualClock::new(1_000));
    let ends = Arc::new(AtomicUsize::new(0));
    let e = ends.clone();
    let app = app_with_clock(&clock, |o| {
        o.absolute_timeout_minutes = 30;
        o.on_end = Some(Arc::new(move |_| {
            e.fetch_add(1, Ordering::SeqCst);
        }));
    });
    let mut s = app.create_session().unwrap();
    s.set_timeout(5).unwrap();
    s.set("x", Variant::I4(1)).unwrap();
    let id = s.id().to_string();
    s.close().unwrap();
    // Each visit within 5 minutes keeps it alive...
    for _ in 0..7 {
        clock.advance(4 * MIN);
        app.open_session(&id, LockMode::Shared)
            .unwrap()
            .close()
            .unwrap();
        assert_eq!(app.expire().unwrap(), 0);
    }
    // ...until the absolute lifetime (30 min from creation) ends it anyway,
    // 2 minutes after the last visit (28 min) although Timeout is 5.
    clock.advance(2 * MIN);
    assert_eq!(
        app.open_session(&id, LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(
        ends.load(Ordering::SeqCst),
        1,
        "OnEnd ran when the lookup found it expired"
    );
    assert_eq!(app.expire().unwrap(), 0);
}

/// A request that waited for its session's lock judges the absolute
/// lifetime by the clock when it gets the lock, not when it asked: a
/// session whose lifetime ran out during the wait is not handed out
/// (exclusively it is ended on the way, read-only left to the sweep). It
/// used to be, up to the lock timeout past its end.
#[test]
fn a_lock_wait_does_not_outlive_the_absolute_lifetime() {
    for mode in [LockMode::Exclusive, LockMode::Shared] {
        let clock = Arc::new(ManualClock::new(0));
        let ends = Arc::new(AtomicUsize::new(0));
        let e = ends.clone();
        let app = app_with_clock(&clock, |o| {
            o.default_timeout_minutes = 60;
            o.absolute_timeout_minutes = 30;
            o.lock_timeout = Duration::from_secs(60);
            o.on_end = Some(Arc::new(move |_| {
                e.fetch_add(1, Ordering::SeqCst);
            }));
        });
        let id = stored(&app);
        clock.advance(29 * MIN);
        let held = app.open_session(&id, LockMode::Exclusive).unwrap();
        let waited = std::thread::scope(|sc| {
            let waiter = sc.spawn(|| app.open_session(&id, mode).map(drop));
            // The waiter has read the clock once it waits.
            while app.stats().lock_waits == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            clock.advance(2 * MIN); // 31 min: past the absolute lifetime
            held.close().unwrap();
            waiter.join().unwrap()
        });
        assert_eq!(
            waited.err().map(|e| e.code()),
            Some(error::E_SESSION_NOT_FOUND),
            "{mode:?}"
        );
        let swept = app.expire().unwrap();
        assert_eq!(
            (ends.load(Ordering::SeqCst), app.stats().sessions_timed_out),
            (1, 1),
            "{mode:?}: ended once, by the lookup or by the sweep ({swept})"
        );
        assert_eq!(app.session_count().unwrap(), 0);
    }
}

#[test]
fn properties_validate_and_keep_their_value_on_error() {
    let app = App::new(AppOptions {
        max_timeout_minutes: 1440,
        ..AppOptions::default()
    })
    .unwrap();
    let mut s = app.create_session().unwrap();
    assert_eq!(s.timeout(), 20);
    assert_eq!(
        s.set_timeout(1441).unwrap_err().code(),
        error::E_INVALID_TIMEOUT
    );
    assert_eq!(
        s.set_timeout(0).unwrap_err().code(),
        error::E_INVALID_TIMEOUT
    );
    assert_eq!(s.timeout(), 20);
    assert_eq!(
        s.set_lcid(0x12345).unwrap_err().code(),
        error::E_INVALID_LCID
    );
    s.set_lcid(1036).unwrap();
    assert_eq!(
        s.set_codepage(12345).unwrap_err().code(),
        error::E_INVALID_CODEPAGE
    );
    s.set_codepage(950).unwrap();
    let id = s.id().to_string();
    s.close().unwrap();
    let s = app.open_session(&id, LockMode::Shared).unwrap();
    assert_eq!((s.lcid(), s.codepage()), (1036, 950));
}

#[test]
fn read_only_units_share_and_refuse_writes() {
    let app = App::new(AppOptions {
        lock_timeout: Duration::from_millis(100),
        ..AppOptions::default()
    })
    .unwrap();
    let id = stored_with(&app, &[("a", Variant::I4(1))]);
    let mut r1 = app.open_session(&id, LockMode::Shared).unwrap();
    let r2 = app.open_session(&id, LockMode::Shared).unwrap();
    assert!(r1.is_readonly());
    assert_eq!(
        r1.set("a", Variant::I4(2)).unwrap_err().code(),
        error::E_READONLY
    );
    assert_eq!(r1.remove_all().unwrap_err().code(), error::E_READONLY);
    assert_eq!(r1.set_timeout(5).unwrap_err().code(), error::E_READONLY);
    assert_eq!(
        app.open_session(&id, LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_LOCK_TIMEOUT
    );
    drop((r1, r2));
    let s = app.open_session(&id, LockMode::Exclusive).unwrap();
    assert_eq!(s.get("a"), Some(&Variant::I4(1)));
}

#[test]
fn arrays_are_stored_by_value() {
    let app = App::new(AppOptions::default()).unwrap();
    let mut s = app.create_session().unwrap();
    let names: Vec<Variant> = ["Chris", "Julie", "Vlad", "Kelly"]
        .iter()
        .map(|n| Variant::bstr(n))
        .collect();
    s.set(
        "arystrUserNames",
        Variant::Array(Box::new(SafeArray::from(names))),
    )
    .unwrap();
    let mut copy = s.get("arystrUserNames").cloned().unwrap();
    if let Variant::Array(a) = &mut copy {
        a.set(1, Variant::bstr("Mark")).unwrap();
    }
    let second = |s: &sess::app::Session| match s.get("arystrUserNames") {
        Some(Variant::Array(a)) => a.get(1).unwrap(),
        _ => panic!("array expected"),
    };
    assert_eq!(
        second(&s),
        Variant::bstr("Julie"),
        "the copy is independent"
    );
    s.set("arystrUserNames", copy).unwrap();
    assert_eq!(second(&s), Variant::bstr("Mark"));
}

/// Contents keys are one key whatever their case, for letters whose
/// lowercase forms differ but whose uppercase is the same (as ASP.NET's
/// invariant case-insensitive comparer takes them): Greek final sigma
/// (the lowercase spelling of "ΟΔΟΣ" is "οδος"), long s, dotless i, the
/// micro sign. Sharp s stays one letter (no full case folding).
#[test]
fn contents_keys_match_across_every_case_form() {
    let clock = Arc::new(ManualClock::new(0));
    let app = app_with_clock(&clock, |_| {});
    let mut s = app.create_session().unwrap();
    for (stored, asked) in [
        ("ΟΔΟΣ", "οδος"),
        ("Σοφία", "ςοφία"),
        ("ſession", "SESSION"),
        ("Iğdır", "ığdır"),
        ("µs", "Μs"),
    ] {
        s.set(stored, Variant::bstr(stored)).unwrap();
        assert_eq!(s.get(asked), Some(&Variant::bstr(stored)), "{asked}");
        s.set(asked, Variant::I4(1)).unwrap();
        assert_eq!(s.contents().find(asked), s.contents().find(stored));
    }
    assert_eq!(s.count(), 5, "each pair is one key");
    assert_eq!(s.get("Strasse"), None);
    // Past eight items the Contents find keys through a hash index.
    for i in 0..8 {
        s.set(&format!("filler{i}"), Variant::I4(i)).unwrap();
    }
    assert_eq!(s.get("ΟΔΟς"), Some(&Variant::I4(1)));
    assert!(s.remove("οδοσ").unwrap());
    assert_eq!(s.get("ΟΔΟΣ"), None);
    s.discard().unwrap();
}

/// StaticObjects' names compare as Contents keys do, a character at a
/// time ("ΟΔΟΣ", "οδοσ" and "οδος" are one name; "ΟΔΟ" is another).
#[test]
fn static_object_names_compare_as_contents_keys() {
    let clock = Arc::new(ManualClock::new(0));
    let freed = Arc::new(AtomicUsize::new(0));
    let f = freed.clone();
    let app = app_with_clock(&clock, |o| {
        o.static_objects = vec![StaticObject {
            name: "ΟΔΟΣ".into(),
            factory: Arc::new(move || Ok(counted(&f))),
        }];
    });
    let mut s = app.create_session().unwrap();
    s.set("ΟΔΟΣ", Variant::I4(1)).unwrap();
    for name in ["ΟΔΟΣ", "οδοσ", "Οδοσ", "οδος", "ΟΔΟ"] {
        assert_eq!(
            s.static_index(name).is_some(),
            s.get(name).is_some(),
            "{name}"
        );
    }
    assert_eq!(s.static_index("οδοσ"), Some(0));
    s.discard().unwrap();
}

/// An application on a manual clock with one static object `name`,
/// counting the instances its factory made and those released.
fn app_with_static(name: &str) -> (App, Arc<ManualClock>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let clock = Arc::new(ManualClock::new(0));
    let made = Arc::new(AtomicUsize::new(0));
    let freed = Arc::new(AtomicUsize::new(0));
    let (m, f) = (made.clone(), freed.clone());
    let app = app_with_clock(&clock, |o| {
        o.static_objects = vec![StaticObject {
            name: name.into(),
            factory: Arc::new(move || {
                m.fetch_add(1, Ordering::SeqCst);
                Ok(counted(&f))
            }),
        }];
    });
    (app, clock, made, freed)
}

#[test]
fn static_objects_are_made_once_per_session_and_released_at_its_end() {
    let (app, clock, made, freed) = app_with_static("AppInfo1");
    let mut s = app.create_session().unwrap();
    assert_eq!(s.static_count(), 1);
    assert_eq!(s.static_key_at(0).unwrap(), "AppInfo1");
    assert_eq!(s.static_index("appinfo1"), Some(0));
    let a = s.static_object_at(0).unwrap();
    let b = s.static_object_at(0).unwrap();
    assert_eq!(a, b);
    assert_eq!(made.load(Ordering::SeqCst), 1);
    assert_eq!(
        s.static_object_at(1).unwrap_err().code(),
        error::DISP_E_BADINDEX
    );
    let id = s.id().to_string();
    s.close().unwrap();
    assert_eq!(
        app.session_count().unwrap(),
        1,
        "using a static object creates the session"
    );
    drop((a, b));
    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    s.static_object_at(0).unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 1, "once per session");
    s.close().unwrap();
    assert_eq!(freed.load(Ordering::SeqCst), 0);
    clock.advance(20 * MIN);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(
        freed.load(Ordering::SeqCst),
        1,
        "released when the session ended"
    );
}

/// A static object first used by a unit of work that is discarded (the
/// request failed) is undone with the unit's other changes: the session
/// keeps no instance, the discarded one is released once when the unit
/// ends, and the next unit's first use makes a fresh one.
#[test]
fn a_discarded_unit_keeps_no_static_object() {
    let (app, clock, made, freed) = app_with_static("Cart");
    let id = stored(&app);
    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    drop(s.static_object_at(0).unwrap());
    assert_eq!(freed.load(Ordering::SeqCst), 0, "the session holds it");
    s.discard().unwrap();
    assert_eq!(freed.load(Ordering::SeqCst), 1, "released when undone");
    // The same once the unit's undo records gave way to a copy of the
    // session (see `a_long_unit_of_work_keeps_replaced_objects...`),
    // made before the object or after it.
    for made_first in [false, true] {
        let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
        let rewrite = |s: &mut sess::app::Session| {
            for i in 0..200 {
                s.set("big", Variant::bstr(&i.to_string().repeat(500)))
                    .unwrap();
            }
        };
        if made_first {
            drop(s.static_object_at(0).unwrap());
            rewrite(&mut s);
        } else {
            rewrite(&mut s);
            drop(s.static_object_at(0).unwrap());
        }
        s.discard().unwrap();
    }
    assert_eq!(
        (made.load(Ordering::SeqCst), freed.load(Ordering::SeqCst)),
        (3, 3)
    );
    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    assert!(s.get("big").is_none());
    drop(s.static_object_at(0).unwrap());
    assert_eq!(made.load(Ordering::SeqCst), 4, "a fresh instance");
    s.close().unwrap();
    clock.advance(20 * MIN);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(freed.load(Ordering::SeqCst), 4, "each released once");
}

/// A read-only unit of work on the in-process store uses a static object
/// no writing unit has made yet as one on a shared store does: it makes
/// its own, once, released when it ends, and leaves the session none
/// (it used to be `E_READONLY`); the instance a writing unit made is the
/// one it finds after.
#[test]
fn a_read_only_unit_makes_its_own_static_object_until_the_session_has_one() {
    let (app, _clock, made, freed) = app_with_static("Cart");
    let count = |n: &AtomicUsize| n.load(Ordering::SeqCst);
    let id = stored(&app);
    for end_by_discard in [false, true] {
        let mut s = app.open_session(&id, LockMode::Shared).unwrap();
        let first = s.static_object_at(0).unwrap();
        assert_eq!(first, s.static_object_at(0).unwrap(), "once per unit");
        drop(first);
        if end_by_discard {
            s.discard().unwrap();
        } else {
            s.close().unwrap();
        }
        assert_eq!(count(&made), count(&freed), "released at the unit's end");
    }
    assert_eq!(count(&made), 2, "the session kept none");
    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    let kept = s.static_object_at(0).unwrap();
    s.close().unwrap();
    let mut s = app.open_session(&id, LockMode::Shared).unwrap();
    assert_eq!(s.static_object_at(0).unwrap(), kept, "the session's own");
    s.close().unwrap();
    assert_eq!((count(&made), count(&freed)), (3, 2));
}

/// A first use of a static object whose factory fails creates no session,
/// as a refused write creates none: nothing is stored, no cookie is worth
/// sending, and no Session_OnEnd runs for a session that never began.
#[test]
fn a_failing_static_object_factory_creates_no_session() {
    let clock = Arc::new(ManualClock::new(0));
    let ends = Arc::new(AtomicUsize::new(0));
    let e = ends.clone();
    let app = app_with_clock(&clock, |o| {
        o.static_objects = vec![StaticObject {
            name: "AppInfo1".into(),
            factory: Arc::new(|| Err(sess::error::Error::new(error::E_FAIL, "no component"))),
        }];
        o.on_end = Some(Arc::new(move |_| {
            e.fetch_add(1, Ordering::SeqCst);
        }));
    });
    let mut s = app.create_session().unwrap();
    assert_eq!(s.static_object_at(0).unwrap_err().code(), error::E_FAIL);
    assert!(!s.is_stored());
    s.close().unwrap();
    assert_eq!(app.session_count().unwrap(), 0);
    clock.advance(20 * MIN);
    assert_eq!(app.expire().unwrap(), 0);
    assert_eq!(ends.load(Ordering::SeqCst), 0);
}

#[test]
fn limits_give_clear_errors() {
    let app = App::new(AppOptions {
        max_sessions: 2,
        max_items: 2,
        max_value_bytes: 16,
        max_key_bytes: 4,
        ..AppOptions::default()
    })
    .unwrap();
    for _ in 0..2 {
        let mut s = app.create_session().unwrap();
        s.set("k", Variant::I4(1)).unwrap();
    }
    let mut s = app.create_session().unwrap();
    assert_eq!(
        s.set("k", Variant::I4(1)).unwrap_err().code(),
        error::E_TOO_MANY_SESSIONS
    );
    assert_eq!(s.get("k"), None, "nothing changed");
    drop(s);
    assert_eq!(app.session_count().unwrap(), 2);

    let app = App::new(AppOptions {
        max_items: 2,
        max_value_bytes: 16,
        max_key_bytes: 4,
        ..AppOptions::default()
    })
    .unwrap();
    let mut s = app.create_session().unwrap();
    assert_eq!(
        s.set("toolong", Variant::I4(1)).unwrap_err().code(),
        error::E_BAD_KEY
    );
    assert_eq!(
        s.set("big", Variant::bstr(&"x".repeat(17)))
            .unwrap_err()
            .code(),
        error::E_VALUE_TOO_LARGE
    );
    assert_eq!(
        app.session_count().unwrap(),
        0,
        "a refused write creates no session"
    );
    s.set("a", Variant::I4(1)).unwrap();
    s.set("b", Variant::I4(1)).unwrap();
    assert_eq!(
        s.set("c", Variant::I4(1)).unwrap_err().code(),
        error::E_TOO_MANY_ITEMS
    );
    assert_eq!(s.count(), 2);
}

#[test]
fn no_lost_updates_16_threads_by_10000_increments() {
    let app = Arc::new(
        App::new(AppOptions {
            lock_timeout: Duration::from_secs(60),
            ..AppOptions::default()
        })
        .unwrap(),
    );
    let id = stored_with(&app, &[("count", Variant::I4(0))]);
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (app, id) = (app.clone(), id.clone());
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
                    let n = match s.get("count") {
                        Some(Variant::I4(n)) => *n,
                        other => panic!("unexpected {other:?}"),
                    };
                    s.set("count", Variant::I4(n + 1)).unwrap();
                    s.close().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = app.open_session(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("count"), Some(&Variant::I4(160_000)));
}

#[test]
fn app_end_runs_on_end_for_every_session() {
    let ends = Arc::new(AtomicUsize::new(0));
    let e = ends.clone();
    let app = App::new(AppOptions {
        on_end: Some(Arc::new(move |_| {
            e.fetch_add(1, Ordering::SeqCst);
        })),
        ..AppOptions::default()
    })
    .unwrap();
    for _ in 0..3 {
        let mut s = app.create_session().unwrap();
        s.set("k", Variant::Null).unwrap();
    }
    drop(app);
    assert_eq!(ends.load(Ordering::SeqCst), 3);
}

/// A session still open when its application is released keeps working
/// and is dropped without Session_OnEnd when it closes (as
/// `sess_app_release` says: the host may have freed what its handler
/// uses), also when it was abandoned or was new and is discarded.
#[test]
fn sessions_open_at_app_end_are_dropped_without_on_end() {
    let ends = Arc::new(AtomicUsize::new(0));
    let e = ends.clone();
    let app = App::new(AppOptions {
        expiry_interval: None,
        on_start: Some(Arc::new(|_| Ok(()))),
        on_end: Some(Arc::new(move |_| {
            e.fetch_add(1, Ordering::SeqCst);
        })),
        ..AppOptions::default()
    })
    .unwrap();
    let id = stored(&app);
    let mut abandoned = app.open_session(&id, LockMode::Exclusive).unwrap();
    let mut fresh = app.create_session().unwrap();
    drop(app);
    assert_eq!(ends.load(Ordering::SeqCst), 0, "both were in use");
    abandoned.set("k", Variant::I4(2)).unwrap();
    abandoned.abandon();
    abandoned.close().unwrap();
    fresh.set("k", Variant::I4(3)).unwrap();
    fresh.discard().unwrap();
    assert_eq!(ends.load(Ordering::SeqCst), 0);
}

/// An application on `clock` without an expiry thread, holding at most
/// `max_sessions`, and the IDs Session_OnEnd was given.
fn full_app(clock: &Arc<ManualClock>, max_sessions: usize) -> (App, Arc<Mutex<Vec<String>>>) {
    let ended: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = ended.clone();
    let app = app_with_clock(clock, |o| {
        o.max_sessions = max_sessions;
        o.on_end = Some(Arc::new(move |s| {
            log.lock().unwrap().push(s.id().to_string())
        }));
    });
    (app, ended)
}

/// A store at `max_sessions` whose sessions are past their deadline but
/// not swept (no expiry thread) does not refuse a new session: its first
/// write ends those due first, on the calling thread, as a sweep would
/// (Session_OnEnd once each, counted as timed out), skipping the one that
/// thread holds rather than waiting for it. With nothing due, it refuses.
#[test]
fn a_full_store_ends_what_is_due_before_refusing() {
    let clock = Arc::new(ManualClock::new(0));
    let (app, ended) = full_app(&clock, 3);
    let ids: Vec<String> = (0..3).map(|_| stored(&app)).collect();
    let held = app.open_session(&ids[0], LockMode::Exclusive).unwrap();
    clock.advance(21 * MIN);

    stored(&app);
    let mut ends = ended.lock().unwrap().clone();
    let mut due = ids[1..].to_vec();
    ends.sort();
    due.sort();
    assert_eq!(ends, due);
    assert_eq!(app.stats().sessions_timed_out, 2);
    held.close().unwrap();

    stored(&app);
    let mut s = app.create_session().unwrap();
    assert_eq!(
        s.set("k", Variant::I4(1)).unwrap_err().code(),
        error::E_TOO_MANY_SESSIONS
    );
    assert!(!s.is_stored());
    assert_eq!(
        (app.session_count().unwrap(), ended.lock().unwrap().len()),
        (3, 2)
    );
}

/// Runs `meanwhile` once, the first time the in-process store refuses a
/// new session as full: what another thread does between that refusal and
/// the refused request's own attempt to make room.
#[derive(Default)]
struct WhenFull {
    meanwhile: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Hooks for WhenFull {
    fn after_insert(&self, inserted: &error::Result<bool>) {
        if matches!(inserted, Err(e) if e.code() == error::E_TOO_MANY_SESSIONS) {
            let meanwhile = self.meanwhile.lock().unwrap().take();
            if let Some(f) = meanwhile {
                f();
            }
        }
    }
}

/// A new session refused by a full store while another thread (the expiry
/// thread) sweeps the expired sessions that filled it is stored once its
/// own look for due sessions finds them gone: the room is there. It used
/// to be refused (`E_TOO_MANY_SESSIONS`) because its own sweep ended none.
#[test]
fn a_full_store_admits_a_session_another_threads_sweep_made_room_for() {
    let clock = Arc::new(ManualClock::new(0));
    let store = Arc::new(Hooked::new(WhenFull::default()));
    let (app, ended) = {
        let store = store.clone();
        let ended: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = ended.clone();
        let app = app_with_clock(&clock, |o| {
            o.max_sessions = 2;
            o.store = sess::app::StoreConfig::Custom(store);
            o.on_end = Some(Arc::new(move |s| {
                log.lock().unwrap().push(s.id().to_string())
            }));
        });
        (app, ended)
    };
    stored(&app);
    stored(&app);
    clock.advance(21 * MIN);
    let sweeper = app.clone();
    *store.hooks.meanwhile.lock().unwrap() = Some(Box::new(move || {
        let swept = std::thread::spawn(move || sweeper.expire().unwrap());
        assert_eq!(swept.join().unwrap(), 2, "the other thread's sweep");
    }));

    let mut s = app.create_session().unwrap();
    s.set("k", Variant::I4(1))
        .expect("the store has room once the sweep ended the two");
    assert!(s.is_stored());
    s.close().unwrap();
    assert!(
        store.hooks.meanwhile.lock().unwrap().is_none(),
        "it was refused once"
    );
    let st = app.stats();
    assert_eq!(
        (
            st.sessions_current,
            st.sessions_total,
            st.sessions_timed_out,
            ended.lock().unwrap().len()
        ),
        (Some(1), 3, 2, 2)
    );
}

/// An application on `clock` whose expiry thread sweeps every `interval`,
/// holding one stored session, and the count of its Session_OnEnd calls.
fn swept_app(clock: Arc<dyn sess::clock::Clock>, interval: Duration) -> (App, Arc<AtomicUsize>) {
    let ends = Arc::new(AtomicUsize::new(0));
    let e = ends.clone();
    let app = App::new(AppOptions {
        expiry_interval: Some(interval),
        clock: Some(clock),
        on_end: Some(Arc::new(move |_| {
            e.fetch_add(1, Ordering::SeqCst);
        })),
        ..AppOptions::default()
    })
    .unwrap();
    stored(&app);
    (app, ends)
}

/// Waits until `done()` (polling; 30 s at most, for a busy machine).
fn wait_until(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_expiry_thread_ends_sessions_without_a_host_call() {
    let clock = Arc::new(ManualClock::new(0));
    let (app, ends) = swept_app(clock.clone(), Duration::from_millis(10));
    clock.advance(20 * MIN);
    wait_until(|| ends.load(Ordering::SeqCst) > 0);
    assert_eq!(ends.load(Ordering::SeqCst), 1);
    assert_eq!(app.session_count().unwrap(), 0);
}

/// A clock that panics when told to (a host's clock, or anything a sweep
/// calls, with a bug).
struct PanickyClock {
    now: std::sync::atomic::AtomicU64,
    panics: AtomicUsize,
}

impl sess::clock::Clock for PanickyClock {
    fn now_ms(&self) -> u64 {
        let left = self.panics.load(Ordering::SeqCst);
        if left > 0 {
            self.panics.store(left - 1, Ordering::SeqCst);
            panic!("the clock failed");
        }
        self.now.load(Ordering::SeqCst)
    }
}

/// A sweep that panics is a failed sweep, not the end of the expiry
/// thread: the next one still ends sessions.
#[test]
fn the_expiry_thread_survives_a_panicking_sweep() {
    let clock = Arc::new(PanickyClock {
        now: std::sync::atomic::AtomicU64::new(0),
        panics: AtomicUsize::new(0),
    });
    let (_app, ends) = swept_app(clock.clone(), Duration::from_millis(5));
    // Only the expiry thread reads the clock now: its next sweep panics.
    clock.panics.store(1, Ordering::SeqCst);
    wait_until(|| clock.panics.load(Ordering::SeqCst) == 0);
    assert_eq!(clock.panics.load(Ordering::SeqCst), 0, "a sweep ran");
    clock.now.store(21 * MIN, Ordering::SeqCst);
    wait_until(|| ends.load(Ordering::SeqCst) > 0);
    assert_eq!(ends.load(Ordering::SeqCst), 1, "a later sweep ended it");
}

/// A Session_OnEnd on the expiry thread that lets go of the last handle
/// of its application: the application ends there (Session_OnEnd for the
/// sessions left), and its expiry thread ends after the handler returns
/// rather than waiting for itself.
#[test]
fn the_last_handle_dropped_in_on_end_on_the_expiry_thread_ends_the_app() {
    let clock = Arc::new(ManualClock::new(0));
    let slot: Arc<Mutex<Option<App>>> = Arc::default();
    let (ends, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (held, e, d) = (slot.clone(), ends.clone(), dropped.clone());
    let app = App::new(AppOptions {
        expiry_interval: Some(Duration::from_millis(10)),
        clock: Some(clock.clone()),
        on_end: Some(Arc::new(move |_| {
            e.fetch_add(1, Ordering::SeqCst);
            let last = held.lock().unwrap().take();
            if last.is_some() {
                drop(last);
                d.fetch_add(1, Ordering::SeqCst);
            }
        })),
        ..AppOptions::default()
    })
    .unwrap();
    let mut s = app.create_session().unwrap();
    s.set("k", Variant::I4(1)).unwrap();
    s.set_timeout(1).unwrap();
    s.close().unwrap();
    stored_with(&app, &[("k", Variant::I4(2))]);
    *slot.lock().unwrap() = Some(app);
    // The first session expires; the second ends with the application,
    // inside the drop, so the drop returning is the last thing to happen.
    clock.advance(MIN);
    wait_until(|| dropped.load(Ordering::SeqCst) >= 1);
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the drop returned");
    assert_eq!(ends.load(Ordering::SeqCst), 2);
}

/// A Session_OnEnd on the expiry thread that lets go of the last handle
/// while the same sweep holds more expired sessions (claimed: out of the
/// store, so the release's own sweep of the store cannot see them): the
/// release ends them before it returns, each once, and once the drop has
/// returned (the application is released) no Session_OnEnd runs.
#[test]
fn a_release_inside_a_sweeps_on_end_ends_the_rest_of_its_batch_first() {
    let clock = Arc::new(ManualClock::new(0));
    let slot: Arc<Mutex<Option<App>>> = Arc::default();
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ends, late) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (held, r, e, l) = (slot.clone(), released.clone(), ends.clone(), late.clone());
    let app = App::new(AppOptions {
        expiry_interval: Some(Duration::from_millis(10)),
        clock: Some(clock.clone()),
        on_end: Some(Arc::new(move |_| {
            if r.load(Ordering::SeqCst) {
                l.fetch_add(1, Ordering::SeqCst);
            }
            e.fetch_add(1, Ordering::SeqCst);
            // Not held across the drop, which runs this handler again.
            let last = held.lock().unwrap().take();
            if let Some(last) = last {
                drop(last);
                r.store(true, Ordering::SeqCst);
            }
        })),
        ..AppOptions::default()
    })
    .unwrap();
    for _ in 0..5 {
        stored(&app);
    }
    *slot.lock().unwrap() = Some(app);
    clock.advance(21 * MIN);
    wait_until(|| released.load(Ordering::SeqCst));
    // Give the sweep time to go on with its batch, as it used to.
    std::thread::sleep(Duration::from_millis(100));
    assert!(released.load(Ordering::SeqCst));
    assert_eq!(
        (ends.load(Ordering::SeqCst), late.load(Ordering::SeqCst)),
        (5, 0),
        "every session ends once, none after the application's release"
    );
}

/// The application released while another thread's new session is
/// making room (ending a batch of expired sessions it claimed, its first
/// Session_OnEnd running): the release waits for that thread to end the
/// whole batch, so every claimed session ends once and none after the
/// release has returned.
#[test]
fn a_release_waits_for_another_threads_batch_to_end() {
    let clock = Arc::new(ManualClock::new(0));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let started_tx = Mutex::new(started_tx);
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ends, late) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, e, l) = (released.clone(), ends.clone(), late.clone());
    let app = app_with_clock(&clock, |o| {
        o.max_sessions = 3;
        o.on_end = Some(Arc::new(move |_| {
            if e.fetch_add(1, Ordering::SeqCst) == 0 {
                started_tx.lock().unwrap().send(()).unwrap();
                std::thread::sleep(Duration::from_millis(200));
            }
            if r.load(Ordering::SeqCst) {
                l.fetch_add(1, Ordering::SeqCst);
            }
        }));
    });
    for _ in 0..3 {
        stored(&app);
    }
    clock.advance(21 * MIN);
    let mut fresh = app.create_session().unwrap();
    let maker = std::thread::spawn(move || {
        fresh.set("k", Variant::I4(1)).unwrap();
        fresh.close().unwrap();
    });
    started_rx.recv().unwrap();
    drop(app);
    released.store(true, Ordering::SeqCst);
    maker.join().unwrap();
    assert_eq!(
        (ends.load(Ordering::SeqCst), late.load(Ordering::SeqCst)),
        (3, 0),
        "every claimed session ends once, before the release returns"
    );
}

/// A Session_OnEnd running on another thread (a unit of work that
/// abandoned its session) when the application is released: the release
/// returns only once that handler has, so none runs after it.
#[test]
fn the_release_waits_for_a_session_on_end_running_elsewhere() {
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let late = Arc::new(AtomicUsize::new(0));
    let (r, l) = (released.clone(), late.clone());
    let started_tx = Mutex::new(started_tx);
    let app = App::new(AppOptions {
        expiry_interval: None,
        on_end: Some(Arc::new(move |_| {
            started_tx.lock().unwrap().send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            if r.load(Ordering::SeqCst) {
                l.fetch_add(1, Ordering::SeqCst);
            }
        })),
        ..AppOptions::default()
    })
    .unwrap();
    let id = stored(&app);
    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    s.abandon();
    let closer = std::thread::spawn(move || s.close().unwrap());
    started_rx.recv().unwrap();
    drop(app);
    released.store(true, Ordering::SeqCst);
    closer.join().unwrap();
    assert_eq!(
        late.load(Ordering::SeqCst),
        0,
        "Session_OnEnd was still running when the release returned"
    );
}

#[test]
fn a_failed_request_keeps_nothing() {
    let ends = Arc::new(AtomicUsize::new(0));
    let e = ends.clone();
    let app = App::new(AppOptions {
        on_end: Some(Arc::new(move |_| {
            e.fetch_add(1, Ordering::SeqCst);
        })),
        ..AppOptions::default()
    })
    .unwrap();
    let id = stored_with(&app, &[("a", Variant::I4(1)), ("b", Variant::I4(2))]);

    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    s.set("a", Variant::bstr("changed")).unwrap();
    s.remove("b").unwrap();
    s.set("c", Variant::I4(3)).unwrap();
    s.set_timeout(3).unwrap();
    s.discard().unwrap();

    let s = app.open_session(&id, LockMode::Shared).unwrap();
    let items: Vec<_> = s
        .contents()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
    assert_eq!(
        items,
        [
            ("a".to_owned(), Variant::I4(1)),
            ("b".to_owned(), Variant::I4(2))
        ]
    );
    assert_eq!(s.timeout(), 20);
    drop(s);

    // A new session whose first request fails is not kept.
    let mut s = app.create_session().unwrap();
    s.set("x", Variant::I4(1)).unwrap();
    let new_id = s.id().to_string();
    s.discard().unwrap();
    assert_eq!(
        app.open_session(&new_id, LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(app.session_count().unwrap(), 1);
    assert_eq!(ends.load(Ordering::SeqCst), 1, "it was stored, so it ends");
}

/// A unit of work dropped while its thread panics (a page that failed
/// half-way) keeps none of its changes, as `discard` does: the session it
/// opened is as it was, and unlocked; the new session it stored is not
/// kept (Session_OnEnd runs for it, since it was stored).
#[test]
fn a_unit_dropped_by_a_panic_keeps_nothing() {
    let ends = Arc::new(AtomicUsize::new(0));
    let e = ends.clone();
    let app = App::new(AppOptions {
        expiry_interval: None,
        on_end: Some(Arc::new(move |_| {
            e.fetch_add(1, Ordering::SeqCst);
        })),
        ..AppOptions::default()
    })
    .unwrap();
    let id = stored_with(&app, &[("a", Variant::I4(1))]);

    let mut fresh_id = String::new();
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
        s.set("a", Variant::bstr("half-way")).unwrap();
        s.set("b", Variant::I4(2)).unwrap();
        let mut fresh = app.create_session().unwrap();
        fresh.set("x", Variant::I4(1)).unwrap();
        fresh_id = fresh.id().to_string();
        panic!("the page failed");
    }));
    assert!(failed.is_err(), "the panic went on");

    let s = app.open_session(&id, LockMode::Exclusive).unwrap();
    let items: Vec<_> = s
        .contents()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
    assert_eq!(items, [("a".to_owned(), Variant::I4(1))]);
    drop(s);
    assert_eq!(
        app.open_session(&fresh_id, LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(app.session_count().unwrap(), 1);
    assert_eq!(ends.load(Ordering::SeqCst), 1, "the new one ended");
}

/// A unit of work that rewrites values many times (its undo records give
/// way to a copy of the session: see `state::journal`) still keeps the
/// objects it replaced until it ends, as `sess_contents_remove` promises
/// (an object's last Release never comes inside a call on the session),
/// and undoing restores the session exactly.
#[test]
fn a_long_unit_of_work_keeps_replaced_objects_to_its_end_and_undoes_exactly() {
    let app = App::new(AppOptions {
        expiry_interval: None,
        ..AppOptions::default()
    })
    .unwrap();
    let id = stored_with(
        &app,
        &[
            ("k", Variant::I4(1)),
            ("big", Variant::bstr(&"x".repeat(1000))),
        ],
    );

    let freed = Arc::new(AtomicUsize::new(0));
    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    const N: usize = 2000;
    for i in 0..N {
        s.set("k", Variant::Unknown(counted(&freed))).unwrap();
        s.set("big", Variant::bstr(&i.to_string().repeat(500)))
            .unwrap();
        s.set_timeout(1 + (i % 50) as i64).unwrap();
    }
    s.remove("big").unwrap();
    s.set("new", Variant::I4(7)).unwrap();
    assert_eq!(
        freed.load(Ordering::SeqCst),
        0,
        "replaced objects are let go when the unit ends"
    );
    s.discard().unwrap();
    assert_eq!(freed.load(Ordering::SeqCst), N, "all let go after undo");

    let s = app.open_session(&id, LockMode::Shared).unwrap();
    let items: Vec<_> = s
        .contents()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect();
    assert_eq!(
        items,
        [
            ("k".to_owned(), Variant::I4(1)),
            ("big".to_owned(), Variant::bstr(&"x".repeat(1000)))
        ]
    );
    assert_eq!(s.timeout(), 20);
    drop(s);
    assert_eq!(app.memory_used(), 1 + 8 + 3 + 1000, "the budget as before");
}

#[test]
fn regenerate_keeps_the_contents_under_a_new_id() {
    let app = App::new(AppOptions::default()).unwrap();
    let old = stored_with(&app, &[("user", Variant::bstr("Arthur"))]);

    let mut s = app.open_session(&old, LockMode::Exclusive).unwrap();
    s.regenerate_id().unwrap();
    assert!(s.is_regenerated());
    let new = s.id().to_string();
    assert_ne!(new, old);
    s.close().unwrap();
    assert_eq!(
        app.open_session(&old, LockMode::Exclusive)
            .err()
            .unwrap()
            .code(),
        error::E_SESSION_NOT_FOUND
    );
    let s = app.open_session(&new, LockMode::Shared).unwrap();
    assert_eq!(s.get("USER"), Some(&Variant::bstr("Arthur")));
    assert_eq!(app.session_count().unwrap(), 1);
    drop(s);

    // Before anything is stored, regenerating only renames the pending session.
    let mut s = app.create_session().unwrap();
    let first = s.id();
    s.regenerate_id().unwrap();
    assert!(s.id() != first);
    assert!(!s.is_stored());
}

/// A session that moves to a new ID is one session throughout: while one
/// request regenerates its ID over and over, a store one short of
/// `max_sessions` still takes another request's new session every time.
#[test]
fn a_regenerate_takes_no_other_sessions_place() {
    let app = App::new(AppOptions {
        expiry_interval: None,
        max_sessions: 2,
        ..AppOptions::default()
    })
    .unwrap();
    let id = stored(&app);
    let done = std::sync::atomic::AtomicBool::new(false);
    let refused = std::thread::scope(|sc| {
        sc.spawn(|| {
            let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
            for _ in 0..20_000 {
                s.regenerate_id().unwrap();
            }
            s.close().unwrap();
            done.store(true, Ordering::SeqCst);
        });
        let mut refused = 0;
        while !done.load(Ordering::SeqCst) {
            let mut s = app.create_session().unwrap();
            match s.set("k", Variant::I4(1)) {
                Ok(()) => s.discard().unwrap(),
                Err(e) => {
                    assert_eq!(e.code(), error::E_TOO_MANY_SESSIONS);
                    refused += 1;
                }
            }
        }
        refused
    });
    assert_eq!(refused, 0, "new sessions refused while the store held one");
    assert_eq!(app.session_count().unwrap(), 1);
}

#[test]
fn value_text_reads_values_as_text_under_the_session_lcid() {
    let app = App::new(AppOptions::default()).unwrap();
    let mut s = app.create_session().unwrap();
    s.set("Pi", Variant::R8(3.5)).unwrap();
    s.set("flag", Variant::bool(true)).unwrap();
    s.set("when", Variant::Date(36525.75)).unwrap();
    s.set("obj", Variant::Null).unwrap();
    assert_eq!(s.value_text("pi").unwrap().as_deref(), Some("3.5"));
    assert_eq!(s.value_text("flag").unwrap().as_deref(), Some("True"));
    assert_eq!(
        s.value_text("when").unwrap().as_deref(),
        Some("12/31/1999 6:00:00 PM")
    );
    assert_eq!(s.value_text("missing").unwrap(), None);
    assert_eq!(
        s.value_text("obj").unwrap_err().code(),
        error::DISP_E_TYPEMISMATCH
    );
    // LCID 0 means the application's default (en-US here).
    s.set_lcid(0).unwrap();
    assert_eq!(s.effective_lcid(), 0x0409);
}

/// A new session's first write that another request's write pushes past
/// the memory budget, after its own check passed, stores no session: two
/// threads race for a budget with room for one value.
#[test]
fn a_write_refused_by_the_budget_meanwhile_stores_no_session() {
    let app = App::new(AppOptions {
        expiry_interval: None,
        max_session_bytes: 200,
        memory_budget_bytes: 200,
        ..AppOptions::default()
    })
    .unwrap();
    let value = Variant::bstr(&"x".repeat(149)); // + a 1-byte key: 150 bytes
    let kept = AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for _ in 0..2 {
            sc.spawn(|| {
                for _ in 0..5_000 {
                    let mut s = app.create_session().unwrap();
                    match s.set("v", value.clone()) {
                        Ok(()) => {}
                        Err(e) => {
                            assert_eq!(e.code(), error::E_MEMORY_BUDGET);
                            if s.is_stored() {
                                kept.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                    s.discard().unwrap();
                }
            });
        }
    });
    assert_eq!(
        kept.load(Ordering::SeqCst),
        0,
        "refused writes stored sessions"
    );
    assert_eq!(app.session_count().unwrap(), 0);
}

#[test]
fn session_bytes_and_the_memory_budget_are_bounded() {
    let clock = Arc::new(ManualClock::new(0));
    let app = app_with_clock(&clock, |o| {
        o.max_session_bytes = 100;
        o.memory_budget_bytes = 150;
    });
    let forty = Variant::bstr(&"x".repeat(39)); // + a 1-byte key: 40 bytes
    let mut s = app.create_session().unwrap();
    s.set("a", forty.clone()).unwrap();
    s.set("b", forty.clone()).unwrap();
    assert_eq!(
        s.set("c", forty.clone()).unwrap_err().code(),
        error::E_SESSION_TOO_LARGE
    );
    assert_eq!((s.count(), app.memory_used()), (2, 80));
    let id = s.id().to_string();
    s.close().unwrap();

    // A new session whose first write passes the budget is never stored.
    let mut t = app.create_session().unwrap();
    t.set("a", forty.clone()).unwrap();
    let too_much = Variant::bstr(&"y".repeat(39));
    assert_eq!(
        t.set("b", too_much).unwrap_err().code(),
        error::E_MEMORY_BUDGET
    );
    t.close().unwrap();
    let mut u = app.create_session().unwrap();
    assert_eq!(
        u.set("big", Variant::bstr(&"z".repeat(40)))
            .unwrap_err()
            .code(),
        error::E_MEMORY_BUDGET
    );
    drop(u);
    assert_eq!((app.session_count().unwrap(), app.memory_used()), (2, 120));

    // A failed request's writes give their bytes back on rollback.
    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    s.remove("a").unwrap();
    s.set("b", Variant::I4(1)).unwrap();
    assert_eq!(app.memory_used(), 40 + 9);
    s.discard().unwrap();
    assert_eq!(app.memory_used(), 120);

    // Expiry ends both sessions and frees every byte.
    clock.advance(21 * MIN);
    assert_eq!(app.expire().unwrap(), 2);
    assert_eq!(app.memory_used(), 0);
}
