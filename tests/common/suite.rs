//! The session test suite every store must pass (in-process, Redis, Redis
//! Cluster, custom, LMDB): the Session object's semantics through the Rust API,
//! with time moved by an injected clock.
//!
//! `suite(make_app)` runs every case; `make_app` turns options the case
//! chose (clock, limits, events) into an application on the store under
//! test, giving each application its own keys.

// Each test binary uses only some of these.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sess::app::{App, AppOptions, Session, StoreConfig};
use sess::clock::{Clock, ManualClock};
use sess::error;
use sess::state::SessionId;
use sess::store::{LockMode, StoreMode};
use sess::variant::{Object, SafeArray, Unknown, UnknownVtbl, Variant};

/// Makes an application on the store under test.
pub type MakeApp<'a> = &'a dyn Fn(AppOptions) -> App;

const MIN: u64 = 60_000;

/// A realistic wall-clock start (shared stores keep epoch milliseconds).
fn clock() -> Arc<ManualClock> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    Arc::new(ManualClock::new(now))
}

/// Options with `clock`, no expiry thread, and a short lock timeout.
fn base(clock: &Arc<ManualClock>) -> AppOptions {
    AppOptions {
        expiry_interval: None,
        clock: Some(clock.clone()),
        lock_timeout: Duration::from_secs(5),
        ..AppOptions::default()
    }
}

/// An application on `store` with no expiry thread and a 10 s lock
/// timeout, then `f`'s changes.
pub fn app_with(store: StoreConfig, f: impl FnOnce(&mut AppOptions)) -> App {
    let mut o = AppOptions {
        expiry_interval: None,
        lock_timeout: Duration::from_secs(10),
        store,
        ..AppOptions::default()
    };
    f(&mut o);
    App::new(o).unwrap()
}

/// Session_OnEnd recorder: (SessionID, contents) of each end.
type Ends = Arc<Mutex<Vec<(String, Vec<(String, Variant)>)>>>;

fn recording(o: &mut AppOptions) -> Ends {
    let ends: Ends = Arc::default();
    let e = ends.clone();
    o.on_end = Some(Arc::new(move |s: &mut Session| {
        let items = s
            .contents()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        e.lock().unwrap().push((s.id().to_string(), items));
    }));
    ends
}

fn items(s: &Session) -> Vec<(String, Variant)> {
    s.contents()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect()
}

/// The error code of `r`, which must be an error.
pub fn code<T>(r: sess::error::Result<T>) -> i32 {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.code(),
    }
}

fn open(app: &App, id: &SessionId, mode: LockMode) -> Session {
    app.open(id, mode).unwrap_or_else(|e| panic!("open: {e:?}"))
}

/// Stores a new session holding `values`; its ID.
pub fn stored(app: &App, values: &[(&str, Variant)]) -> SessionId {
    let mut s = app.create_session().unwrap();
    for (k, v) in values {
        s.set(k, v.clone()).unwrap();
    }
    let id = s.id();
    s.close().unwrap();
    id
}

unsafe extern "C" fn add_ref(_: *mut Unknown) -> u32 {
    2
}
unsafe extern "C" fn release(_: *mut Unknown) -> u32 {
    1
}

/// A minimal COM object's table (AddRef/Release do nothing): refused by a
/// serialising store.
pub static INERT_VTBL: UnknownVtbl = UnknownVtbl {
    query_interface: None,
    add_ref: Some(add_ref),
    release: Some(release),
};

/// A shared store's lock that ran out: a slow request (its lock lasting
/// 400 ms on the store `make` sets) is overtaken by another request that
/// abandons the session; the slow request's save afterwards is refused
/// with `close_code` and writes nothing back.
pub fn slow_request_cannot_resurrect(make: MakeApp<'_>, close_code: i32) {
    let ends = Arc::new(Mutex::new(Vec::new()));
    let e = ends.clone();
    let app = make(AppOptions {
        expiry_interval: None,
        lock_timeout: Duration::from_secs(10),
        on_end: Some(Arc::new(move |s: &mut Session| {
            e.lock().unwrap().push(s.get("x").cloned());
        })),
        ..AppOptions::default()
    });
    let id = stored(&app, &[("x", Variant::I4(1))]);
    let mut slow = app.open(&id, LockMode::Exclusive).unwrap();
    slow.set("x", Variant::I4(2)).unwrap();
    // Another request gets in once the slow one's lock runs out, and
    // abandons the session.
    let mut quick = app.open(&id, LockMode::Exclusive).unwrap();
    assert_eq!(quick.get("x"), Some(&Variant::I4(1)));
    quick.abandon();
    quick.close().unwrap();
    assert_eq!(*ends.lock().unwrap(), vec![Some(Variant::I4(1))]);
    // The slow request saves after the Abandon: refused, nothing written.
    assert_eq!(code(slow.close()), close_code);
    assert_eq!(
        code(app.open(&id, LockMode::Exclusive)),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(app.session_count().unwrap(), 0);
}

/// A named case of the suite.
type Case = (&'static str, fn(MakeApp<'_>));

/// Runs every case.
pub fn suite(make_app: MakeApp<'_>) {
    let cases: &[Case] = &[
        ("contents_round_trip_in_order", contents_round_trip_in_order),
        ("keys_are_case_insensitive", keys_are_case_insensitive),
        ("types_round_trip", types_round_trip),
        ("remove_shifts_later_items", remove_shifts_later_items),
        (
            "abandon_runs_on_end_with_contents",
            abandon_runs_on_end_with_contents,
        ),
        ("creation_is_lazy", creation_is_lazy),
        ("read_only_units_share", read_only_units_share),
        (
            "read_only_abandon_follows_a_new_id",
            read_only_abandon_follows_a_new_id,
        ),
        ("lock_waits_time_out", lock_waits_time_out),
        ("expiry_runs_on_end_once", expiry_runs_on_end_once),
        (
            "absolute_lifetime_caps_sliding",
            absolute_lifetime_caps_sliding,
        ),
        (
            "regenerate_moves_the_contents",
            regenerate_moves_the_contents,
        ),
        ("discard_keeps_nothing", discard_keeps_nothing),
        ("limits_and_properties", limits_and_properties),
        ("session_bytes_at_the_limit", session_bytes_at_the_limit),
        (
            "a_full_store_ends_what_is_due_first",
            a_full_store_ends_what_is_due_first,
        ),
        (
            "making_room_ends_one_batch_at_most",
            making_room_ends_one_batch_at_most,
        ),
    ];
    for (name, case) in cases {
        let t = Instant::now();
        case(make_app);
        eprintln!("suite: {name} ok ({} ms)", t.elapsed().as_millis());
    }
}

fn contents_round_trip_in_order(make: MakeApp<'_>) {
    let app = make(base(&clock()));
    let mut s = app.create_session().unwrap();
    assert!(s.is_new_session());
    s.set("First", Variant::I4(1)).unwrap();
    s.set("second", Variant::bstr("two")).unwrap();
    s.set("THIRD", Variant::R8(3.5)).unwrap();
    let id = s.id();
    s.close().unwrap();
    let s = open(&app, &id, LockMode::Exclusive);
    assert!(!s.is_new_session());
    assert_eq!(
        items(&s),
        vec![
            ("First".to_owned(), Variant::I4(1)),
            ("second".to_owned(), Variant::bstr("two")),
            ("THIRD".to_owned(), Variant::R8(3.5)),
        ]
    );
    assert_eq!(s.count(), 3);
    assert_eq!(s.item_at(1).unwrap().0, "second");
    assert_eq!(code(s.item_at(3)), error::DISP_E_BADINDEX);
    assert_eq!(s.get("missing"), None);
    s.close().unwrap();
    assert_eq!(app.session_count().unwrap(), 1);
}

fn keys_are_case_insensitive(make: MakeApp<'_>) {
    let app = make(base(&clock()));
    let id = stored(
        &app,
        &[("UserName", Variant::bstr("ann")), ("Ω", Variant::I2(1))],
    );
    let mut s = open(&app, &id, LockMode::Exclusive);
    assert_eq!(s.get("username"), Some(&Variant::bstr("ann")));
    assert_eq!(s.get("ω"), Some(&Variant::I2(1)));
    s.set("USERNAME", Variant::bstr("bob")).unwrap();
    s.close().unwrap();
    let s = open(&app, &id, LockMode::Shared);
    assert_eq!(s.count(), 2);
    assert_eq!(s.item_at(0).unwrap(), ("UserName", &Variant::bstr("bob")));
    assert_eq!(s.get("uSeRnAmE"), Some(&Variant::bstr("bob")));
}

fn sample_values() -> Vec<(&'static str, Variant)> {
    let inner = SafeArray::from(vec![Variant::I4(1), Variant::bstr("deep")]);
    let outer = SafeArray::from(vec![
        Variant::Array(Box::new(inner)),
        Variant::Null,
        Variant::bool(false),
    ]);
    vec![
        ("empty", Variant::Empty),
        ("null", Variant::Null),
        ("i2", Variant::I2(i16::MIN)),
        ("i4", Variant::I4(-123_456)),
        ("r4", Variant::R4(1.5)),
        ("r8", Variant::R8(-2.25e300)),
        ("cy", Variant::Cy(123_456_789)),
        ("date", Variant::Date(45_000.5)),
        ("bstr", Variant::bstr("naïve 日本語 \u{1F600} \"quoted\"")),
        ("emptystr", Variant::bstr("")),
        ("error", Variant::Error(-2_147_352_572)),
        ("bool", Variant::bool(true)),
        ("i1", Variant::I1(-8)),
        ("ui1", Variant::UI1(255)),
        ("ui2", Variant::UI2(65_535)),
        ("ui4", Variant::UI4(u32::MAX)),
        ("i8", Variant::I8(i64::MIN)),
        ("ui8", Variant::UI8(u64::MAX)),
        ("array", Variant::Array(Box::new(outer))),
    ]
}

fn types_round_trip(make: MakeApp<'_>) {
    let app = make(base(&clock()));
    let values = sample_values();
    let id = stored(&app, &values);
    let s = open(&app, &id, LockMode::Shared);
    for (k, v) in &values {
        assert_eq!(s.get(k), Some(v), "{k}");
    }
    assert_eq!(s.count(), values.len());
}

fn remove_shifts_later_items(make: MakeApp<'_>) {
    let app = make(base(&clock()));
    let id = stored(
        &app,
        &[
            ("strFirstName", Variant::bstr("Arthur")),
            ("strMiddleName", Variant::bstr("Keyton")),
            ("strLastName", Variant::bstr("Weissinger")),
        ],
    );
    let mut s = open(&app, &id, LockMode::Exclusive);
    assert!(s.remove("STRMIDDLENAME").unwrap());
    assert!(!s.remove("nothing").unwrap());
    assert_eq!(s.item_at(1).unwrap().1, &Variant::bstr("Weissinger"));
    s.close().unwrap();
    let mut s = open(&app, &id, LockMode::Exclusive);
    assert_eq!(
        items(&s),
        vec![
            ("strFirstName".to_owned(), Variant::bstr("Arthur")),
            ("strLastName".to_owned(), Variant::bstr("Weissinger")),
        ]
    );
    s.remove_at(0).unwrap();
    s.set("strFirstName", Variant::bstr("A.")).unwrap();
    s.close().unwrap();
    let mut s = open(&app, &id, LockMode::Exclusive);
    let keys: Vec<String> = items(&s).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["strLastName", "strFirstName"]);
    s.remove_all().unwrap();
    s.close().unwrap();
    assert_eq!(open(&app, &id, LockMode::Shared).count(), 0);
}

fn abandon_runs_on_end_with_contents(make: MakeApp<'_>) {
    let mut o = base(&clock());
    let ends = recording(&mut o);
    let app = make(o);
    let id = stored(&app, &[("a", Variant::I4(1))]);
    let mut s = open(&app, &id, LockMode::Exclusive);
    s.set("b", Variant::I4(2)).unwrap();
    s.abandon();
    assert_eq!(s.get("a"), Some(&Variant::I4(1)), "readable until the end");
    s.close().unwrap();
    {
        let ends = ends.lock().unwrap();
        assert_eq!(ends.len(), 1);
        assert_eq!(ends[0].0, id.to_string());
        assert_eq!(
            ends[0].1,
            vec![("a".into(), Variant::I4(1)), ("b".into(), Variant::I4(2))]
        );
    }
    assert_eq!(
        code(app.open(&id, LockMode::Exclusive)),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(app.session_count().unwrap(), 0);
    assert_eq!(app.expire().unwrap(), 0);
    assert_eq!(ends.lock().unwrap().len(), 1);
}

fn creation_is_lazy(make: MakeApp<'_>) {
    let app = make(base(&clock()));
    let s = app.create_session().unwrap();
    assert_eq!(s.get("x"), None);
    assert!(!s.is_stored());
    let id = s.id();
    s.close().unwrap();
    assert_eq!(app.session_count().unwrap(), 0);
    assert_eq!(
        code(app.open(&id, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
    // A refused write creates nothing either.
    let mut s = app.create_session().unwrap();
    assert_eq!(code(s.set("", Variant::I4(1))), error::E_BAD_KEY);
    assert!(!s.is_stored());
    s.close().unwrap();
    assert_eq!(app.session_count().unwrap(), 0);
}

fn read_only_units_share(make: MakeApp<'_>) {
    let app = make(base(&clock()));
    let id = stored(&app, &[("x", Variant::I4(1))]);
    let mut r1 = open(&app, &id, LockMode::Shared);
    let r2 = open(&app, &id, LockMode::Shared);
    assert!(r1.is_readonly() && r2.is_readonly());
    assert_eq!(r2.get("x"), Some(&Variant::I4(1)));
    assert_eq!(code(r1.set("x", Variant::I4(2))), error::E_READONLY);
    assert_eq!(code(r1.remove("x")), error::E_READONLY);
    assert_eq!(code(r1.set_timeout(5)), error::E_READONLY);
    // An object too: read-only first, in every store (not that a shared
    // store could not keep it).
    static mut INERT: Unknown = Unknown { vtbl: &INERT_VTBL };
    // SAFETY: a static object whose AddRef/Release do nothing.
    let obj = unsafe { Object::from_owned(&raw mut INERT) }.unwrap();
    assert_eq!(
        code(r1.set("o", Variant::Unknown(obj.clone()))),
        error::E_READONLY
    );
    assert_eq!(code(r1.set_at(0, Variant::Unknown(obj))), error::E_READONLY);
    r1.close().unwrap();
    r2.close().unwrap();
    let s = open(&app, &id, LockMode::Exclusive);
    assert_eq!(s.get("x"), Some(&Variant::I4(1)));
    assert_eq!(s.timeout(), 20);
}

type Hook = Box<dyn FnOnce() + Send>;

/// A manual clock that runs a hook once, on the next reading by the thread
/// that armed it: a test's way into the middle of a library call.
struct HookedClock {
    time: ManualClock,
    /// The arming thread and the hook.
    hook: Mutex<Option<(std::thread::ThreadId, Hook)>>,
}

impl HookedClock {
    fn new(start: &ManualClock) -> Arc<HookedClock> {
        Arc::new(HookedClock {
            time: ManualClock::new(start.now_ms()),
            hook: Mutex::default(),
        })
    }

    fn arm(&self, hook: impl FnOnce() + Send + 'static) {
        let me = std::thread::current().id();
        *self.hook.lock().unwrap() = Some((me, Box::new(hook)));
    }

    fn armed(&self) -> bool {
        self.hook.lock().unwrap().is_some()
    }
}

impl Clock for HookedClock {
    fn now_ms(&self) -> u64 {
        let mut hook = self.hook.lock().unwrap();
        if hook
            .as_ref()
            .is_some_and(|(t, _)| *t == std::thread::current().id())
        {
            let (_, run) = hook.take().unwrap();
            drop(hook);
            run();
        }
        self.time.now_ms()
    }
}

/// A read-only unit of work abandons the session, and another request
/// gives the session a new ID (login) just as the first one ends, once it
/// has let its shared hold go and reads the clock to take the session
/// exclusively. The Abandon must reach the session under its new ID
/// (in-process: the session is held by its entry, whatever its ID) or
/// fail with `E_SESSION_NOT_FOUND`, the session intact (shared stores
/// cannot tell a moved session from an ended one): never succeed while the
/// session lives on (it used to: a logout lost).
fn read_only_abandon_follows_a_new_id(make: MakeApp<'_>) {
    let hooked = HookedClock::new(&clock());
    let mut o = base(&clock());
    o.clock = Some(hooked.clone());
    let ends = recording(&mut o);
    let app = make(o);
    let old = stored(&app, &[("user", Variant::bstr("ann"))]);
    let mut r = open(&app, &old, LockMode::Shared);
    r.abandon();
    assert_eq!(r.get("user"), Some(&Variant::bstr("ann")));
    let (tx, rx) = std::sync::mpsc::channel();
    let other = app.clone();
    hooked.arm(move || {
        let login = std::thread::spawn(move || {
            let mut s = other.open(&old, LockMode::Exclusive).unwrap();
            s.regenerate_id().unwrap();
            let new = s.id();
            s.close().unwrap();
            new
        });
        tx.send(login.join().unwrap()).unwrap();
    });
    let closed = r.close();
    assert!(!hooked.armed(), "the close read the clock");
    let new = rx.recv().unwrap();
    match closed {
        Ok(()) => {
            // Abandoned under its new ID, Session_OnEnd seeing it.
            assert_eq!(
                code(app.open(&new, LockMode::Shared)),
                error::E_SESSION_NOT_FOUND,
                "the Abandon succeeded, but the session lives on under its new ID"
            );
            let ends = ends.lock().unwrap().clone();
            assert_eq!(ends.len(), 1);
            assert_eq!(ends[0].0, new.to_string());
            assert_eq!(ends[0].1, vec![("user".into(), Variant::bstr("ann"))]);
            assert_eq!(app.session_count().unwrap(), 0);
        }
        Err(e) => {
            assert_eq!(e.code(), error::E_SESSION_NOT_FOUND, "{e:?}");
            assert!(app.mode() != StoreMode::InProc, "in-process follows it");
            assert!(ends.lock().unwrap().is_empty());
            let s = open(&app, &new, LockMode::Shared);
            assert_eq!(s.get("user"), Some(&Variant::bstr("ann")));
        }
    }
}

fn lock_waits_time_out(make: MakeApp<'_>) {
    // Long enough for the waiter below to outlast a stalled release on a
    // busy machine.
    let mut o = base(&clock());
    o.lock_timeout = Duration::from_millis(1000);
    let app = make(o);
    let id = stored(&app, &[("x", Variant::I4(1))]);
    let held = open(&app, &id, LockMode::Exclusive);
    for mode in [LockMode::Exclusive, LockMode::Shared] {
        let t = Instant::now();
        assert_eq!(code(app.open(&id, mode)), error::E_LOCK_TIMEOUT, "{mode:?}");
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(950) && waited < Duration::from_secs(4),
            "{mode:?} waited {waited:?}"
        );
    }
    held.close().unwrap();
    // Freed: the next request gets it at once, and a waiter is let in.
    let s = open(&app, &id, LockMode::Exclusive);
    std::thread::scope(|sc| {
        let w = sc.spawn(|| {
            app.open(&id, LockMode::Exclusive)
                .map(|s| s.get("x").cloned())
        });
        std::thread::sleep(Duration::from_millis(30));
        s.close().unwrap();
        assert_eq!(w.join().unwrap().unwrap(), Some(Variant::I4(1)));
    });
}

fn expiry_runs_on_end_once(make: MakeApp<'_>) {
    let clock = clock();
    let mut o = base(&clock);
    let ends = recording(&mut o);
    let app = make(o);
    let mut s = app.create_session().unwrap();
    s.set_timeout(1).unwrap();
    s.set("k", Variant::bstr("v")).unwrap();
    let a = s.id();
    s.close().unwrap();
    let mut s = app.create_session().unwrap();
    s.set_timeout(1).unwrap();
    s.set("k", Variant::bstr("w")).unwrap();
    let b = s.id();
    s.close().unwrap();
    // Sliding: a visit at 40 s moves the deadline to 100 s.
    clock.advance(40_000);
    open(&app, &a, LockMode::Exclusive).close().unwrap();
    clock.advance(40_000); // 80 s: b (deadline 60 s) is due, a is not
    assert_eq!(app.expire().unwrap(), 1);
    {
        let ends = ends.lock().unwrap();
        assert_eq!(ends.len(), 1);
        assert_eq!(ends[0].1, vec![("k".into(), Variant::bstr("w"))]);
    }
    assert_eq!(
        code(app.open(&b, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
    // a's deadline (100 s) passes: a lookup finds it expired and ends it...
    clock.advance(21_000);
    assert_eq!(
        code(app.open(&a, LockMode::Exclusive)),
        error::E_SESSION_NOT_FOUND
    );
    // ...exactly once: the sweep finds nothing more.
    assert_eq!(app.expire().unwrap(), 0);
    clock.advance(10 * MIN);
    assert_eq!(app.expire().unwrap(), 0);
    let ends = ends.lock().unwrap();
    assert_eq!(ends.len(), 2, "each session ended exactly once");
    assert_eq!(ends[1].1, vec![("k".into(), Variant::bstr("v"))]);
    assert_eq!(app.session_count().unwrap(), 0);
}

fn absolute_lifetime_caps_sliding(make: MakeApp<'_>) {
    let clock = clock();
    let mut o = base(&clock);
    o.absolute_timeout_minutes = 2;
    let ends = recording(&mut o);
    let app = make(o);
    let id = stored(&app, &[("x", Variant::I4(0))]);
    for i in 1..=2 {
        clock.advance(50_000);
        let mut s = open(&app, &id, LockMode::Exclusive);
        s.set("x", Variant::I4(i)).unwrap();
        s.close().unwrap();
        assert_eq!(app.expire().unwrap(), 0);
    }
    clock.advance(21_000); // 121 s after creation
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(
        ends.lock().unwrap()[0].1,
        vec![("x".into(), Variant::I4(2))]
    );
    assert_eq!(
        code(app.open(&id, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
}

fn regenerate_moves_the_contents(make: MakeApp<'_>) {
    let mut o = base(&clock());
    let ends = recording(&mut o);
    let app = make(o);
    let old = stored(&app, &[("v", Variant::I4(1))]);
    let mut s = open(&app, &old, LockMode::Exclusive);
    s.regenerate_id().unwrap();
    let new = s.id();
    assert!(new != old && s.is_regenerated());
    s.set("w", Variant::I4(2)).unwrap();
    s.close().unwrap();
    assert_eq!(
        code(app.open(&old, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
    let s = open(&app, &new, LockMode::Exclusive);
    assert_eq!(
        items(&s),
        vec![("v".into(), Variant::I4(1)), ("w".into(), Variant::I4(2))]
    );
    s.close().unwrap();
    // A failed request does not bring the old ID back.
    let mut s = open(&app, &new, LockMode::Exclusive);
    s.regenerate_id().unwrap();
    let newer = s.id();
    s.discard().unwrap();
    assert_eq!(
        code(app.open(&new, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(open(&app, &newer, LockMode::Shared).count(), 2);
    assert_eq!(app.session_count().unwrap(), 1);
    assert!(ends.lock().unwrap().is_empty(), "moving is not ending");
}

fn discard_keeps_nothing(make: MakeApp<'_>) {
    let app = make(base(&clock()));
    let id = stored(&app, &[("x", Variant::I4(1)), ("y", Variant::I4(2))]);
    let mut s = open(&app, &id, LockMode::Exclusive);
    s.set("x", Variant::I4(10)).unwrap();
    s.remove("y").unwrap();
    s.set("z", Variant::I4(3)).unwrap();
    s.set_timeout(7).unwrap();
    s.discard().unwrap();
    let s = open(&app, &id, LockMode::Exclusive);
    assert_eq!(
        items(&s),
        vec![("x".into(), Variant::I4(1)), ("y".into(), Variant::I4(2))]
    );
    assert_eq!(s.timeout(), 20);
    s.close().unwrap();
    let mut s = app.create_session().unwrap();
    s.set("a", Variant::I4(1)).unwrap();
    let fresh = s.id();
    s.discard().unwrap();
    assert_eq!(
        code(app.open(&fresh, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(app.session_count().unwrap(), 1);
}

fn limits_and_properties(make: MakeApp<'_>) {
    let mut o = base(&clock());
    o.max_items = 2;
    o.max_value_bytes = 16;
    o.max_key_bytes = 8;
    o.max_sessions = 2;
    o.max_timeout_minutes = 60;
    let app = make(o);
    let mut s = app.create_session().unwrap();
    s.set("a", Variant::I4(1)).unwrap();
    s.set("b", Variant::I4(2)).unwrap();
    assert_eq!(code(s.set("c", Variant::I4(3))), error::E_TOO_MANY_ITEMS);
    assert_eq!(
        code(s.set("a", Variant::bstr(&"x".repeat(17)))),
        error::E_VALUE_TOO_LARGE
    );
    assert_eq!(code(s.set("123456789", Variant::I4(1))), error::E_BAD_KEY);
    assert_eq!(code(s.set_timeout(0)), error::E_INVALID_TIMEOUT);
    assert_eq!(code(s.set_timeout(61)), error::E_INVALID_TIMEOUT);
    assert_eq!(code(s.set_lcid(0xABCD)), error::E_INVALID_LCID);
    assert_eq!(code(s.set_codepage(1)), error::E_INVALID_CODEPAGE);
    s.set_timeout(30).unwrap();
    s.set_lcid(1036).unwrap();
    s.set_codepage(932).unwrap();
    let id = s.id();
    s.close().unwrap();
    let s = open(&app, &id, LockMode::Shared);
    assert_eq!((s.timeout(), s.lcid(), s.codepage()), (30, 1036, 932));
    assert_eq!(
        s.get("a"),
        Some(&Variant::I4(1)),
        "unchanged by the refused write"
    );
    assert_eq!(s.count(), 2);
    s.close().unwrap();
    stored(&app, &[("a", Variant::I4(1))]);
    let mut third = app.create_session().unwrap();
    assert_eq!(
        code(third.set("a", Variant::I4(1))),
        error::E_TOO_MANY_SESSIONS
    );
    assert!(!third.is_stored());
    third.close().unwrap();
    assert_eq!(app.session_count().unwrap(), 2);
}

/// Keys are measured in UTF-8 bytes, values and sessions up to their
/// limits exactly; one byte more is the same code in every store, at the
/// write (never at close), and what was stored reads back whole.
fn session_bytes_at_the_limit(make: MakeApp<'_>) {
    let mut o = base(&clock());
    o.max_key_bytes = 8;
    o.max_value_bytes = 32;
    o.max_session_bytes = 64;
    o.max_items = 8;
    let app = make(o);
    let s32 = Variant::bstr(&"v".repeat(32));
    // A first write over the session limit stores no session.
    let mut s = app.create_session().unwrap();
    assert_eq!(
        code(s.set("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}", Variant::I4(1))),
        error::E_BAD_KEY
    );
    s.set("\u{e9}\u{e9}\u{e9}\u{e9}", s32.clone()).unwrap(); // 8 + 32
    assert_eq!(
        code(s.set("b", Variant::bstr(&"w".repeat(32)))),
        error::E_SESSION_TOO_LARGE
    );
    s.set("b", Variant::bstr(&"w".repeat(23))).unwrap(); // 64 exactly
    assert_eq!(
        code(s.set("c", Variant::bstr(""))),
        error::E_SESSION_TOO_LARGE
    );
    assert_eq!(
        code(s.set("B", Variant::bstr(&"w".repeat(24)))),
        error::E_SESSION_TOO_LARGE
    );
    assert_eq!(
        code(s.set_at(1, Variant::bstr(&"w".repeat(24)))),
        error::E_SESSION_TOO_LARGE
    );
    assert_eq!(
        code(s.set("a", Variant::bstr(&"x".repeat(33)))),
        error::E_VALUE_TOO_LARGE
    );
    let id = s.id();
    s.close().unwrap();
    let mut s = open(&app, &id, LockMode::Exclusive);
    assert_eq!(s.count(), 2);
    assert_eq!(s.get("\u{c9}\u{c9}\u{c9}\u{c9}"), Some(&s32));
    assert_eq!(
        code(s.set("c", Variant::bstr(""))),
        error::E_SESSION_TOO_LARGE
    );
    // Room made by a removal is there to use, in the same unit of work.
    assert!(s.remove("b").unwrap());
    let pair = SafeArray::from(vec![Variant::I4(1), Variant::I4(2)]);
    s.set("c", Variant::Array(Box::new(pair))).unwrap(); // 40 + 17
    s.set("d", Variant::bstr("xxxxxx")).unwrap(); // 64 exactly
    assert_eq!(
        code(s.set("e", Variant::bstr(""))),
        error::E_SESSION_TOO_LARGE
    );
    s.close().unwrap();
    let mut s = open(&app, &id, LockMode::Exclusive);
    assert_eq!(s.count(), 3);
    // After RemoveAll the whole limit is free again.
    s.remove_all().unwrap();
    s.set("a", s32.clone()).unwrap();
    s.set("b", Variant::bstr(&"w".repeat(30))).unwrap();
    s.close().unwrap();
    let s = open(&app, &id, LockMode::Shared);
    assert_eq!(s.count(), 2);
    s.close().unwrap();
}

/// Sessions stored by an application with larger limits, opened by one
/// whose limits refuse them (limits lowered, or a farm's processes
/// configured apart): `E_SESSION_TOO_LARGE` in every shared store,
/// whichever limit they pass and however large their stored form, never
/// a store failure (`E_STORE_UNAVAILABLE`, counted as one); each stays,
/// unlocked, for an application that can hold it. `make` gives
/// applications over one and the same store.
pub fn stored_under_larger_limits(make: MakeApp<'_>) {
    let clock = clock();
    let roomy = make(base(&clock));
    let mut o = base(&clock);
    o.max_session_bytes = 1000;
    o.max_value_bytes = 600;
    o.max_items = 4;
    o.max_key_bytes = 8;
    o.max_timeout_minutes = 60;
    let strict = make(o);
    let x = |n: usize| Variant::bstr(&"x".repeat(n));
    let sessions: Vec<(&str, Vec<(&str, Variant)>)> = vec![
        (
            "session bytes",
            vec![("a", x(500)), ("b", x(500)), ("c", x(500))],
        ),
        ("value bytes", vec![("a", x(20_000))]),
        ("value bytes, stored form", vec![("a", x(100_000))]),
        (
            "items",
            (0..6)
                .map(|i| (["a", "b", "c", "d", "e", "f"][i], Variant::I4(1)))
                .collect(),
        ),
        ("key bytes", vec![("abcdefghij", Variant::I4(1))]),
    ];
    for (what, values) in &sessions {
        let id = stored(&roomy, values);
        for mode in [LockMode::Exclusive, LockMode::Shared] {
            let e = strict.open(&id, mode).err().expect("refused");
            assert_eq!(
                e.code(),
                error::E_SESSION_TOO_LARGE,
                "{what}, {mode:?}: {e}"
            );
        }
        let s = open(&roomy, &id, LockMode::Exclusive);
        assert_eq!(s.count(), values.len(), "{what}");
        s.close().unwrap();
    }
    // A Timeout past the reader's maximum is not a limit a session's
    // size passes: the session is read, its Timeout lowered to that
    // maximum.
    let mut s = roomy.create_session().unwrap();
    s.set_timeout(120).unwrap();
    s.set("a", Variant::I4(1)).unwrap();
    let id = s.id();
    s.close().unwrap();
    for mode in [LockMode::Shared, LockMode::Exclusive] {
        let s = open(&strict, &id, mode);
        assert_eq!((s.timeout(), s.get("a")), (60, Some(&Variant::I4(1))));
        s.close().unwrap();
    }
    assert_eq!(strict.stats().store_errors, 0);
}

/// A store at `max_sessions` whose sessions are past their deadline but
/// not swept yet (no expiry thread) ends them, once each, before it would
/// refuse a new session; with nothing due it refuses.
fn a_full_store_ends_what_is_due_first(make: MakeApp<'_>) {
    let clock = clock();
    let mut o = base(&clock);
    o.max_sessions = 2;
    let ends = recording(&mut o);
    let app = make(o);
    for n in 1..=2 {
        stored(&app, &[("n", Variant::I4(n))]);
    }
    clock.advance(21 * MIN);
    stored(&app, &[("n", Variant::I4(3))]);
    let mut ended: Vec<_> = ends.lock().unwrap().iter().map(|e| e.1.clone()).collect();
    ended.sort_by_key(|items| format!("{items:?}"));
    assert_eq!(
        ended,
        [1, 2].map(|n| vec![("n".to_owned(), Variant::I4(n))])
    );
    stored(&app, &[("n", Variant::I4(4))]);
    let mut s = app.create_session().unwrap();
    assert_eq!(code(s.set("n", Variant::I4(5))), error::E_TOO_MANY_SESSIONS);
    s.close().unwrap();
    assert_eq!(app.expire().unwrap(), 0, "each ended once");
    assert_eq!(ends.lock().unwrap().len(), 2);
}

/// Making room is bounded: a full store ends one sweep's batch (the
/// application's, 64 sessions) on the request's thread, not the whole
/// backlog; the next sweep ends the rest, each session once.
fn making_room_ends_one_batch_at_most(make: MakeApp<'_>) {
    let clock = clock();
    let mut o = base(&clock);
    o.max_sessions = 200;
    let ends = recording(&mut o);
    let app = make(o);
    for n in 0..200 {
        stored(&app, &[("n", Variant::I4(n))]);
    }
    clock.advance(21 * MIN);
    stored(&app, &[("n", Variant::I4(200))]);
    let made_room = ends.lock().unwrap().len();
    assert!((1..=64).contains(&made_room), "{made_room} ended");
    assert_eq!(app.expire().unwrap(), 200 - made_room);
    let mut ended: Vec<_> = ends.lock().unwrap().iter().map(|e| e.1.clone()).collect();
    ended.sort_by_key(|items| format!("{items:?}"));
    ended.dedup();
    assert_eq!(ended.len(), 200, "each ended once");
    assert_eq!(app.session_count().unwrap(), 1);
}
