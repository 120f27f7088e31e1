//! The session suite against a store written in C: the file-per-session
//! store of `examples-c/custom_store_files.c`, built at test time as a
//! shared object (`-DCUSTOM_STORE_NO_MAIN -shared -fPIC`), loaded with
//! libloading, and plugged in the way a C host does it: its
//! `sess_store_vtbl` in `sess_app_options.store`, through `sess_app_create`.
//! The checks then drive the application through the Rust API, so every
//! store call crosses the real C boundary (callbacks, `sess_buffer`,
//! `sess_buffer_list`, result codes) and back. The shared session suite
//! (`tests/common/suite.rs`, also run against in-process and Redis) runs on
//! it too, with the vtable turned into a store by
//! `custom_store_from_vtbl`.

mod common;
#[path = "common/stored.rs"]
mod stored;
#[path = "common/suite.rs"]
mod suite;

use std::ffi::{c_char, c_void, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sess::app::{App, AppOptions, Session, StoreConfig};
use sess::error;
use sess::ffi::app::{sess_app_create, sess_app_options, sess_app_options_init, sess_app_release};
use sess::ffi::handle::{sess_app, sess_session};
use sess::ffi::store::{custom_store_from_vtbl, sess_store_vtbl};
use sess::state::Limits;
use sess::store::{store_key, LockMode};
use sess::variant::{Object, SafeArray, Unknown, Variant};

use common::{cc, out_dir, root, run, CFLAGS};
use stored::stored_with;
use suite::INERT_VTBL;

const MIN: u64 = 60_000;
/// The store's lock TTL in these tests.
const LOCK_TTL_MS: u64 = 60_000;
/// The applications' lock timeout, unless a test says otherwise.
const LOCK_TIMEOUT_MS: u32 = 300;

type OpenFn = unsafe extern "C" fn(*const c_char, u64, *mut sess_store_vtbl) -> i32;
type SetDownFn = unsafe extern "C" fn(*mut c_void, i32);
type DestroyFn = unsafe extern "C" fn(*mut c_void);

/// The C store, built and loaded once per test binary.
struct Plugin {
    open: OpenFn,
    set_down: SetDownFn,
    _lib: libloading::Library,
}

fn plugin() -> &'static Plugin {
    static PLUGIN: OnceLock<Plugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let so = out_dir().join("libcustom_store_files.so");
        run(Command::new(cc())
            .args(CFLAGS)
            .args(["-DCUSTOM_STORE_NO_MAIN", "-shared", "-fPIC", "-I"])
            .arg(root().join("include"))
            .arg("-o")
            .arg(&so)
            .arg(root().join("examples-c/custom_store_files.c"))
            .arg("-lpthread"))
        .expect("the C store builds as a shared object");
        // SAFETY: our own object; its initialisers do nothing.
        let lib = unsafe { libloading::Library::new(&so) }.expect("the C store loads");
        // SAFETY: the symbols have these C signatures (examples-c).
        unsafe {
            Plugin {
                open: *lib.get::<OpenFn>(b"file_store_open\0").unwrap(),
                set_down: *lib.get::<SetDownFn>(b"file_store_set_down\0").unwrap(),
                _lib: lib,
            }
        }
    })
}

/// The store contexts whose `destroy` ran (wrapping the store's own).
static DESTROYED: Mutex<Vec<usize>> = Mutex::new(Vec::new());
static INNER_DESTROY: OnceLock<DestroyFn> = OnceLock::new();

unsafe extern "C" fn counting_destroy(context: *mut c_void) {
    DESTROYED.lock().unwrap().push(context as usize);
    // SAFETY: the store's own destroy, with its context.
    unsafe { INNER_DESTROY.get().unwrap()(context) }
}

/// How many times `destroy` ran for `context` (an address: compare counts
/// taken while the context is alive, as freed ones may have had it).
fn destroyed(context: *mut c_void) -> usize {
    let d = DESTROYED.lock().unwrap();
    d.iter().filter(|&&c| c == context as usize).count()
}

unsafe extern "C" fn read_clock(context: *mut c_void) -> u64 {
    // SAFETY: the fixture's clock, alive as long as its application.
    unsafe { &*(context as *const AtomicU64) }.load(Ordering::SeqCst)
}

/// What Session_OnEnd saw: (SessionID, UserName, Contents.Count).
type Ended = (String, Option<String>, usize);

unsafe extern "C" fn on_end(context: *mut c_void, s: *mut sess_session) {
    // SAFETY: the fixture's log and the handle lent for this call.
    let (log, s) = unsafe {
        (
            &*(context as *const Mutex<Vec<Ended>>),
            sess_session::session(s).unwrap(),
        )
    };
    let user = s
        .get("UserName")
        .and_then(Variant::as_str)
        .map(str::to_owned);
    log.lock()
        .unwrap()
        .push((s.id().to_string(), user, s.count()));
}

/// A fresh directory under target/, removed by whoever made it.
fn fresh_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = out_dir().join(format!(
        "custom-store-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One application on the C file store, created through `sess_app_create`.
struct Fixture {
    app: *mut sess_app,
    context: *mut c_void,
    clock: Arc<AtomicU64>,
    ended: Arc<Mutex<Vec<Ended>>>,
    dir: PathBuf,
    owns_dir: bool,
}

// SAFETY: the application is thread-safe (sess_app's contract).
unsafe impl Sync for Fixture {}

impl Fixture {
    fn new() -> Fixture {
        Fixture::build(None, |_, _| {})
    }

    /// An application on `dir` (a new directory if `None`), with the
    /// options and vtable adjusted by `f`.
    fn build(
        dir: Option<(&Path, &Arc<AtomicU64>)>,
        f: impl FnOnce(&mut sess_app_options, &mut sess_store_vtbl),
    ) -> Fixture {
        let p = plugin();
        let (dir, owns_dir, clock) = match dir {
            Some((d, c)) => (d.to_path_buf(), false, c.clone()),
            None => (
                fresh_dir(),
                true,
                Arc::new(AtomicU64::new(1_700_000_000_000)),
            ),
        };
        let ended = Arc::new(Mutex::new(Vec::new()));
        // SAFETY: zeroed, then filled by the init functions.
        let mut opts: sess_app_options = unsafe { std::mem::zeroed() };
        let mut vtbl: sess_store_vtbl = unsafe { std::mem::zeroed() };
        let c_dir = CString::new(dir.to_str().unwrap()).unwrap();
        // SAFETY: valid out pointers and a NUL-terminated path.
        unsafe {
            assert_eq!(sess_app_options_init(&mut opts), error::S_OK);
            assert_eq!(
                (p.open)(c_dir.as_ptr(), LOCK_TTL_MS, &mut vtbl),
                error::S_OK
            );
        }
        let _ = INNER_DESTROY.set(vtbl.destroy.unwrap());
        vtbl.destroy = Some(counting_destroy);
        opts.clock = Some(read_clock);
        opts.clock_context = Arc::as_ptr(&clock) as *mut c_void;
        opts.expiry_interval_ms = 0;
        opts.lock_timeout_ms = LOCK_TIMEOUT_MS;
        opts.on_end = Some(on_end);
        opts.event_context = Arc::as_ptr(&ended) as *mut c_void;
        f(&mut opts, &mut vtbl);
        opts.store = &vtbl;
        let mut app = std::ptr::null_mut();
        // SAFETY: valid options (the vtable outlives the call: it is copied).
        let rc = unsafe { sess_app_create(&opts, &mut app) };
        assert_eq!(rc, error::S_OK, "sess_app_create");
        Fixture {
            app,
            context: vtbl.context,
            clock,
            ended,
            dir,
            owns_dir,
        }
    }

    /// Another application on the same directory and clock: a second
    /// process of a web farm.
    fn twin(&self, lock_timeout_ms: u32) -> Fixture {
        Fixture::build(Some((&self.dir, &self.clock)), |o, _| {
            o.lock_timeout_ms = lock_timeout_ms
        })
    }

    fn app(&self) -> &App {
        // SAFETY: made by sess_app_create, released only on drop.
        unsafe { sess_app::app(self.app) }.expect("a live application")
    }

    fn advance(&self, ms: u64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    fn set_down(&self, down: bool) {
        // SAFETY: this fixture's store context.
        unsafe { (plugin().set_down)(self.context, down.into()) }
    }

    fn ended(&self) -> Vec<Ended> {
        self.ended.lock().unwrap().clone()
    }

    /// The names of the session records in the directory.
    fn records(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sess"))
            .collect();
        v.sort();
        v
    }

    fn open(&self, id: &str) -> Session {
        self.app().open_session(id, LockMode::Exclusive).unwrap()
    }

    fn open_ro(&self, id: &str) -> Session {
        self.app().open_session(id, LockMode::Shared).unwrap()
    }

    fn open_err(&self, id: &str, mode: LockMode) -> i32 {
        self.app().open_session(id, mode).err().unwrap().code()
    }

    /// A stored session with UserName = `user`; its ID.
    fn session(&self, user: &str) -> String {
        stored_with(self.app(), &[("UserName", Variant::bstr(user))])
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // SAFETY: made by sess_app_create, released once.
        unsafe { sess_app_release(self.app) };
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn text(s: &Session, name: &str) -> Option<String> {
    s.get(name).and_then(Variant::as_str).map(str::to_owned)
}

fn i4(s: &Session, name: &str) -> i32 {
    match s.get(name) {
        Some(Variant::I4(x)) => *x,
        other => panic!("{name} is {other:?}"),
    }
}

fn array(items: Vec<Variant>) -> Variant {
    Variant::Array(Box::new(SafeArray::from(items)))
}

// ---------------------------------------------------------------------------

/// The C store opened on `c_dir`, with the limits of the application `o`
/// makes, as the store configuration of an application.
fn c_store(c_dir: &CString, o: &AppOptions) -> StoreConfig {
    // SAFETY: zeroed, then filled by the store.
    let mut vtbl: sess_store_vtbl = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a writable vtable.
    let rc = unsafe { (plugin().open)(c_dir.as_ptr(), LOCK_TTL_MS, &mut vtbl) };
    assert_eq!(rc, error::S_OK);
    let limits = Limits {
        max_timeout_minutes: o.max_timeout_minutes,
        max_items: o.max_items,
        max_value_bytes: o.max_value_bytes,
        max_key_bytes: o.max_key_bytes,
        max_session_bytes: o.max_session_bytes,
    };
    // SAFETY: the C store's vtable, filled just now.
    let store = unsafe { custom_store_from_vtbl(&vtbl, limits) }.unwrap();
    StoreConfig::Custom(Arc::new(store))
}

#[test]
fn the_shared_session_suite_passes_on_the_c_store() {
    let dirs = Mutex::new(Vec::new());
    suite::suite(&|mut o: AppOptions| {
        let dir = fresh_dir();
        let c_dir = CString::new(dir.to_str().unwrap()).unwrap();
        o.store = c_store(&c_dir, &o);
        dirs.lock().unwrap().push(dir);
        App::new(o).unwrap()
    });
    for d in dirs.into_inner().unwrap() {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn sessions_stored_under_larger_limits_are_too_large_in_the_c_store() {
    let dir = fresh_dir();
    let c_dir = CString::new(dir.to_str().unwrap()).unwrap();
    suite::stored_under_larger_limits(&|mut o: AppOptions| {
        o.store = c_store(&c_dir, &o);
        App::new(o).unwrap()
    });
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_value_type_and_property_survives_the_c_store() {
    let f = Fixture::new();
    let values = vec![
        ("Empty", Variant::Empty),
        ("Null", Variant::Null),
        ("I2", Variant::I2(-2)),
        ("I4", Variant::I4(i32::MIN)),
        ("R4", Variant::R4(1.5)),
        ("R8", Variant::R8(-0.1)),
        ("CY", Variant::Cy(123_456)),
        ("Date", Variant::Date(36525.75)),
        ("Bstr", Variant::bstr("Grüße, 日本")),
        ("Error", Variant::Error(-5)),
        ("Bool", Variant::bool(true)),
        ("I1", Variant::I1(-1)),
        ("UI1", Variant::UI1(255)),
        ("UI2", Variant::UI2(65535)),
        ("UI4", Variant::UI4(u32::MAX)),
        ("I8", Variant::I8(i64::MIN)),
        ("UI8", Variant::UI8(u64::MAX)),
        (
            "Nested",
            array(vec![
                Variant::I4(1),
                array(vec![Variant::bstr("a"), Variant::Null]),
            ]),
        ),
        ("Straße", Variant::bstr("")),
    ];
    let mut s = f.app().create_session().unwrap();
    assert!(s.is_new_session());
    for (k, v) in &values {
        s.set(k, v.clone()).unwrap();
    }
    s.set_timeout(45).unwrap();
    s.set_lcid(1036).unwrap();
    s.set_codepage(932).unwrap();
    let id = s.id().to_string();
    s.close().unwrap();

    let s = f.open(&id);
    assert!(!s.is_new_session());
    assert_eq!(s.count(), values.len());
    for (i, (k, v)) in values.iter().enumerate() {
        assert_eq!(s.item_at(i).unwrap(), (*k, v), "item {i}");
        assert_eq!(s.get(&k.to_lowercase()), Some(v), "{k} in any case");
    }
    assert_eq!((s.timeout(), s.lcid(), s.codepage()), (45, 1036, 932));
    assert_eq!(s.mode(), sess::store::StoreMode::Custom);
    s.close().unwrap();
}

#[test]
fn order_case_and_removal_shifts_are_kept() {
    let f = Fixture::new();
    let mut s = f.app().create_session().unwrap();
    for (k, n) in [("b", 2), ("A", 1), ("c", 3), ("D", 4)] {
        s.set(k, Variant::I4(n)).unwrap();
    }
    s.set("B", Variant::I4(20)).unwrap(); // same key, original spelling kept
    let id = s.id().to_string();
    s.close().unwrap();

    let mut s = f.open(&id);
    let keys: Vec<&str> = (0..s.count()).map(|i| s.item_at(i).unwrap().0).collect();
    assert_eq!(keys, ["b", "A", "c", "D"]);
    assert_eq!(i4(&s, "b"), 20);
    assert!(s.remove("a").unwrap());
    s.remove_at(0).unwrap();
    s.close().unwrap();

    let mut s = f.open(&id);
    let keys: Vec<&str> = (0..s.count()).map(|i| s.item_at(i).unwrap().0).collect();
    assert_eq!(keys, ["c", "D"]);
    s.remove_all().unwrap();
    s.close().unwrap();
    let s = f.open_ro(&id);
    assert_eq!(s.count(), 0);
    assert_eq!(
        f.app().session_count().unwrap(),
        1,
        "RemoveAll keeps the session"
    );
}

#[test]
fn keys_are_hashes_and_no_form_of_the_id_is_stored() {
    let f = Fixture::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut s = f.app().create_session().unwrap();
        s.set("n", Variant::I4(i)).unwrap();
        ids.push(s.id());
        s.close().unwrap();
    }
    let mut want: Vec<String> = ids
        .iter()
        .map(|id| format!("{}.sess", store_key(id)))
        .collect();
    want.sort();
    assert_eq!(f.records(), want);
    for id in &ids {
        let text = id.to_string();
        for name in f.records() {
            assert!(!name.contains(&text));
            let bytes = std::fs::read(f.dir.join(&name)).unwrap();
            assert!(!bytes.windows(16).any(|w| w == id.as_bytes()));
            assert!(!bytes.windows(text.len()).any(|w| w == text.as_bytes()));
        }
    }
    assert_eq!(f.app().session_count().unwrap(), 5);
}

#[test]
fn a_new_session_is_stored_only_when_written_and_discard_undoes() {
    let f = Fixture::new();
    let s = f.app().create_session().unwrap();
    let id = s.id().to_string();
    s.close().unwrap();
    assert!(f.records().is_empty());
    assert_eq!(
        f.open_err(&id, LockMode::Exclusive),
        error::E_SESSION_NOT_FOUND
    );

    let mut s = f.app().create_session().unwrap();
    s.set("x", Variant::I4(1)).unwrap();
    s.discard().unwrap();
    assert!(
        f.records().is_empty(),
        "a discarded new session is not kept"
    );

    let id = f.session("Kept");
    let mut s = f.open(&id);
    s.set("UserName", Variant::bstr("Changed")).unwrap();
    s.set("extra", Variant::I4(1)).unwrap();
    s.discard().unwrap();
    let s = f.open_ro(&id);
    assert_eq!(text(&s, "UserName").as_deref(), Some("Kept"));
    assert!(s.get("extra").is_none());
}

#[test]
fn abandon_runs_on_end_with_the_contents_and_kills_the_id() {
    let f = Fixture::new();
    let id = f.session("Julie");
    let mut s = f.open(&id);
    s.set("intUserAge", Variant::I4(23)).unwrap();
    s.abandon();
    assert_eq!(i4(&s, "intUserAge"), 23, "readable until the unit ends");
    assert!(f.ended().is_empty());
    s.close().unwrap();
    assert_eq!(f.ended(), vec![(id.clone(), Some("Julie".into()), 2)]);
    assert!(f.records().is_empty());
    assert_eq!(
        f.open_err(&id, LockMode::Exclusive),
        error::E_SESSION_NOT_FOUND
    );
    // Abandon from a read-only unit takes the session exclusively to end it.
    let id = f.session("Reader");
    let mut s = f.open_ro(&id);
    s.abandon();
    s.close().unwrap();
    assert_eq!(f.ended().len(), 2);
    assert_eq!(f.app().session_count().unwrap(), 0);
}

#[test]
fn expiry_slides_and_runs_on_end_exactly_once() {
    let f = Fixture::new();
    let short = |user: &str| {
        let mut s = f.app().create_session().unwrap();
        s.set("UserName", Variant::bstr(user)).unwrap();
        s.set_timeout(1).unwrap();
        let id = s.id().to_string();
        s.close().unwrap();
        id
    };
    let slid = short("Slider");
    let idle = short("Idle");
    let long = f.session("Long"); // Timeout 20
    assert_eq!(f.app().expire().unwrap(), 0);

    f.advance(50_000);
    f.open_ro(&slid).close().unwrap(); // a read-only request slides it
    f.advance(20_000);
    assert_eq!(f.app().expire().unwrap(), 1);
    let ended = f.ended();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].1.as_deref(), Some("Idle"));
    // Without an id_secret the sweeper shows a stand-in ID, never the real.
    assert_ne!(ended[0].0, idle);
    assert_eq!(f.app().expire().unwrap(), 0, "exactly once");
    assert_eq!(
        f.open_err(&idle, LockMode::Exclusive),
        error::E_SESSION_NOT_FOUND
    );

    // A request that finds its session expired ends it (with its real ID).
    f.advance(41_000);
    assert_eq!(
        f.open_err(&slid, LockMode::Shared),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(f.ended().len(), 1, "a reader does not remove it");
    assert_eq!(
        f.open_err(&slid, LockMode::Exclusive),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(f.ended()[1], (slid, Some("Slider".into()), 1));
    assert_eq!(f.app().expire().unwrap(), 0);

    f.advance(20 * MIN);
    assert_eq!(f.app().expire().unwrap(), 1);
    assert_eq!(f.ended()[2].1.as_deref(), Some("Long"));
    assert!(f.records().is_empty());
    let _ = long;
}

#[test]
fn with_an_id_secret_swept_sessions_show_their_real_id() {
    let secret = b"a farm-wide secret, 16+ bytes";
    let f = Fixture::build(None, |_, v| {
        v.id_secret = secret.as_ptr();
        v.id_secret_len = secret.len();
    });
    let id = f.session("Masked");
    let raw = sess::state::SessionId::parse(&id).unwrap();
    let bytes = std::fs::read(f.dir.join(f.records()[0].clone())).unwrap();
    assert!(!bytes.windows(16).any(|w| w == raw.as_bytes()));
    f.advance(21 * MIN);
    assert_eq!(f.app().expire().unwrap(), 1);
    assert_eq!(f.ended(), vec![(id, Some("Masked".into()), 1)]);
}

#[test]
fn read_only_units_take_no_lock_wait_for_writers_and_cannot_write() {
    let f = Fixture::new();
    let id = f.session("Reader");
    let mut r1 = f.open_ro(&id);
    let r2 = f.open_ro(&id);
    let mut w = f.open(&id); // readers hold no lock
    w.set("UserName", Variant::bstr("Writer")).unwrap();
    assert!(r1.is_readonly());
    assert_eq!(text(&r2, "UserName").as_deref(), Some("Reader"));
    assert_eq!(
        r1.set("x", Variant::I4(1)).unwrap_err().code(),
        error::E_READONLY
    );
    assert_eq!(r1.regenerate_id().unwrap_err().code(), error::E_READONLY);
    r1.close().unwrap();
    r2.close().unwrap();
    // A reader waits for a writer.
    assert_eq!(f.open_err(&id, LockMode::Shared), error::E_LOCK_TIMEOUT);
    w.close().unwrap();
    assert_eq!(text(&f.open_ro(&id), "UserName").as_deref(), Some("Writer"));
}

#[test]
fn a_held_session_times_out_waiters_and_wakes_them_when_released() {
    let f = Fixture::new();
    let id = f.session("Busy");
    let held = f.open(&id);
    let t = Instant::now();
    assert_eq!(f.open_err(&id, LockMode::Exclusive), error::E_LOCK_TIMEOUT);
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(LOCK_TIMEOUT_MS.into())
            && waited < Duration::from_millis(u64::from(LOCK_TIMEOUT_MS) + 2000),
        "waited {waited:?}"
    );
    // The waiter is another application on the store, patient enough to
    // outlast a release stalled on a busy machine.
    let patient = f.twin(10_000);
    std::thread::scope(|sc| {
        let waiter = sc.spawn(|| {
            let mut s = patient.open(&id);
            s.set("n", Variant::I4(2)).unwrap();
            s.close().unwrap();
        });
        std::thread::sleep(Duration::from_millis(50));
        let mut held = held;
        held.set("n", Variant::I4(1)).unwrap();
        held.close().unwrap();
        waiter.join().unwrap();
    });
    assert_eq!(i4(&f.open_ro(&id), "n"), 2);
}

#[test]
fn two_applications_sharing_the_store_count_exactly() {
    let a = Fixture::new();
    a.app(); // the directory and clock are a's
    let b = a.twin(10_000);
    let a2 = a.twin(10_000);
    let id = stored_with(a.app(), &[("counter", Variant::I4(0))]);
    // A cookie from one instance works on the other.
    assert_eq!(i4(&b.open_ro(&id), "counter"), 0);
    const ROUNDS: i32 = 100;
    std::thread::scope(|sc| {
        for f in [&a2, &b, &a2, &b] {
            let id = &id;
            sc.spawn(move || {
                for _ in 0..ROUNDS {
                    let mut s = f.open(id);
                    let n = i4(&s, "counter");
                    s.set("counter", Variant::I4(n + 1)).unwrap();
                    s.close().unwrap();
                }
            });
        }
    });
    assert_eq!(i4(&a.open_ro(&id), "counter"), 4 * ROUNDS);
    // Releasing one application leaves the sessions to the others.
    drop(b);
    assert_eq!(i4(&a.open_ro(&id), "counter"), 4 * ROUNDS);
}

#[test]
fn regenerate_keeps_the_contents_under_a_new_id() {
    let f = Fixture::new();
    let old = f.session("Mover");
    let mut s = f.open(&old);
    s.regenerate_id().unwrap();
    let new = s.id().to_string();
    assert_ne!(new, old);
    // The old ID is dead at once, even before the unit of work ends.
    assert_eq!(
        f.open_err(&old, LockMode::Shared),
        error::E_SESSION_NOT_FOUND
    );
    s.close().unwrap();
    assert_eq!(
        f.open_err(&old, LockMode::Exclusive),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(text(&f.open(&new), "UserName").as_deref(), Some("Mover"));
    assert_eq!(f.records().len(), 1);
    assert_eq!(
        f.records()[0],
        format!(
            "{}.sess",
            store_key(&sess::state::SessionId::parse(&new).unwrap())
        )
    );
}

#[test]
fn a_store_that_is_down_gives_store_unavailable_and_recovers() {
    let f = Fixture::new();
    let id = f.session("Patient");
    f.set_down(true);
    for mode in [LockMode::Exclusive, LockMode::Shared] {
        assert_eq!(f.open_err(&id, mode), error::E_STORE_UNAVAILABLE);
    }
    let mut s = f.app().create_session().unwrap();
    assert_eq!(
        s.set("x", Variant::I4(1)).unwrap_err().code(),
        error::E_STORE_UNAVAILABLE
    );
    s.close().unwrap();
    // Expiry and counting say the store is down (no hidden 0).
    let down = error::E_STORE_UNAVAILABLE;
    assert_eq!(f.app().expire().unwrap_err().code(), down);
    assert_eq!(f.app().session_count().unwrap_err().code(), down);
    f.set_down(false);
    assert_eq!(f.app().session_count().unwrap(), 1);
    assert_eq!(text(&f.open(&id), "UserName").as_deref(), Some("Patient"));

    // The store fails while a request ends: its save and unlock are lost,
    // so the lock stays, as if the process had died holding it...
    let mut s = f.open(&id);
    s.set("UserName", Variant::bstr("Lost")).unwrap();
    f.set_down(true);
    assert_eq!(s.close().unwrap_err().code(), error::E_STORE_UNAVAILABLE);
    f.set_down(false);
    assert_eq!(f.open_err(&id, LockMode::Exclusive), error::E_LOCK_TIMEOUT);
    // ...until its TTL runs out.
    f.advance(LOCK_TTL_MS);
    assert_eq!(text(&f.open(&id), "UserName").as_deref(), Some("Patient"));
}

#[test]
fn a_corrupt_record_is_an_error_and_releases_the_lock() {
    let f = Fixture::new();
    let id = f.session("Doomed");
    let path = f.dir.join(&f.records()[0]);
    let mut bytes = std::fs::read(&path).unwrap();
    let header = 40; // the C store's record header
    let n = bytes.len();
    bytes[n - 8..].fill(0xC1); // never used in MessagePack
    std::fs::write(&path, &bytes).unwrap();
    for _ in 0..2 {
        assert_eq!(
            f.open_err(&id, LockMode::Exclusive),
            error::E_STORE_UNAVAILABLE,
            "not E_LOCK_TIMEOUT: the failed open gave its lock back"
        );
    }
    // Another session's blob under this key: refused, never adopted.
    let other = f.session("Other");
    let other_path = f.dir.join(format!(
        "{}.sess",
        store_key(&sess::state::SessionId::parse(&other).unwrap())
    ));
    let mut theirs = std::fs::read(&other_path).unwrap();
    let mine = std::fs::read(&path).unwrap();
    theirs[..header].copy_from_slice(&mine[..header]);
    let len = (theirs.len() - header) as u64;
    theirs[32..40].copy_from_slice(&len.to_ne_bytes());
    std::fs::write(&path, &theirs).unwrap();
    let e = f.app().open_session(&id, LockMode::Shared).err().unwrap();
    assert_eq!(e.code(), error::E_STORE_UNAVAILABLE);
    assert!(e.detail().contains("another session"), "{}", e.detail());
}

#[test]
fn objects_stay_in_their_process() {
    let f = Fixture::new();
    let mut unknown = Unknown { vtbl: &INERT_VTBL };
    // SAFETY: a static object whose AddRef/Release do nothing.
    let obj = unsafe { Object::from_owned(&mut unknown) }.unwrap();
    let mut s = f.app().create_session().unwrap();
    let e = s.set("obj", Variant::Unknown(obj.clone())).unwrap_err();
    assert_eq!(e.code(), error::E_NOT_SERIALIZABLE);
    let e = s
        .set("arr", array(vec![Variant::Unknown(obj)]))
        .unwrap_err();
    assert_eq!(e.code(), error::E_NOT_SERIALIZABLE);
    s.close().unwrap();
    assert!(f.records().is_empty());
}

#[test]
fn max_sessions_is_the_stores_to_enforce() {
    let f = Fixture::build(None, |o, _| o.max_sessions = 2);
    f.session("1");
    f.session("2");
    let mut s = f.app().create_session().unwrap();
    assert_eq!(
        s.set("x", Variant::I4(1)).unwrap_err().code(),
        error::E_TOO_MANY_SESSIONS
    );
}

#[test]
fn destroy_runs_once_when_the_application_is_gone() {
    let f = Fixture::new();
    let ctx = f.context;
    let before = destroyed(ctx);
    let id = f.session("Survivor");
    let open = f.open(&id);
    // SAFETY: released once; the fixture forgets its pointer.
    let mut f = f;
    unsafe { sess_app_release(std::mem::replace(&mut f.app, std::ptr::null_mut())) };
    assert_eq!(
        destroyed(ctx),
        before,
        "a session still open uses the store"
    );
    open.close().unwrap();
    assert_eq!(destroyed(ctx), before + 1);
    // The session outlives the application: another one finds it.
    let g = Fixture::build(Some((&f.dir, &f.clock)), |_, _| {});
    assert_eq!(
        text(&g.open_ro(&id), "UserName").as_deref(),
        Some("Survivor")
    );
    assert!(
        g.ended().is_empty() && f.ended().is_empty(),
        "no OnEnd at release"
    );
    drop(g);
    drop(f);
}

#[test]
fn a_refused_vtable_leaves_the_context_to_the_host() {
    let p = plugin();
    let dir = fresh_dir();
    let c_dir = CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: zeroed, then filled.
    let mut opts: sess_app_options = unsafe { std::mem::zeroed() };
    let mut vtbl: sess_store_vtbl = unsafe { std::mem::zeroed() };
    let mut app = std::ptr::null_mut();
    // SAFETY: valid pointers throughout.
    unsafe {
        sess_app_options_init(&mut opts);
        assert_eq!(
            (p.open)(c_dir.as_ptr(), LOCK_TTL_MS, &mut vtbl),
            error::S_OK
        );
        let _ = INNER_DESTROY.set(vtbl.destroy.unwrap());
        vtbl.destroy = Some(counting_destroy);
        let before = destroyed(vtbl.context);
        let mut broken = vtbl;
        broken.remove = None;
        opts.store = &broken;
        assert_eq!(sess_app_create(&opts, &mut app), error::E_POINTER);
        broken = vtbl;
        broken.id_secret = b"short".as_ptr();
        broken.id_secret_len = 5;
        opts.store = &broken;
        assert_eq!(sess_app_create(&opts, &mut app), error::E_INVALID_OPTION);
        broken = vtbl;
        broken.struct_size = 8;
        opts.store = &broken;
        assert_eq!(sess_app_create(&opts, &mut app), error::E_INVALID_OPTION);
        // Options that fail after the store was read: still the host's.
        opts.store = &vtbl;
        opts.default_timeout_minutes = 0;
        assert_eq!(sess_app_create(&opts, &mut app), error::E_INVALID_OPTION);
        assert!(app.is_null());
        assert_eq!(destroyed(vtbl.context), before);
        vtbl.destroy.unwrap()(vtbl.context);
        assert_eq!(destroyed(vtbl.context), before + 1);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn session_on_start_stores_the_session_at_once() {
    unsafe extern "C" fn on_start(_: *mut c_void, s: *mut sess_session) -> i32 {
        // SAFETY: the handle lent for this call.
        let s = unsafe { sess_session::session(s) }.unwrap();
        match s.set("started", Variant::bool(true)) {
            Ok(()) => 0,
            Err(e) => e.code(),
        }
    }
    let f = Fixture::build(None, |o, _| o.on_start = Some(on_start));
    let s = f.app().create_session().unwrap();
    let id = s.id().to_string();
    assert_eq!(f.records().len(), 1, "stored before the host sees it");
    s.close().unwrap();
    assert_eq!(f.open_ro(&id).get("STARTED"), Some(&Variant::bool(true)));
    // OnStart's write failing (store down) cancels the session.
    f.set_down(true);
    assert_eq!(
        f.app().create_session().err().unwrap().code(),
        error::E_STORE_UNAVAILABLE
    );
    f.set_down(false);
    assert_eq!(f.records().len(), 1);
    let _ = f.now();
}

/// A `count` that answers with a request's outcome (here "not found")
/// instead of `SESS_STORE_OK` is an error, not a count of 0.
#[test]
fn a_count_answering_a_request_outcome_is_an_error() {
    unsafe extern "C" fn not_found(_: *mut c_void, out: *mut u64) -> i32 {
        // SAFETY: the library's out slot.
        unsafe { *out = 0 };
        sess::ffi::store::STORE_NOT_FOUND
    }
    let f = Fixture::build(None, |_, v| v.count = Some(not_found));
    let e = f.app().session_count().unwrap_err();
    assert_eq!(e.code(), error::E_UNEXPECTED);
    assert!(e.detail().contains("count"), "{}", e.detail());
}

/// The allocator of this test binary: the system's, noting the largest
/// single allocation a thread asks for while it measures (`largest_in`).
struct Measuring;

thread_local! {
    /// The largest allocation so far on this thread, while measuring.
    static LARGEST: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| {
        if let Some(max) = l.get() {
            l.set(Some(max.max(size)));
        }
    });
}

// SAFETY: the system allocator's calls, passed through unchanged.
unsafe impl std::alloc::GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        note(new);
        // SAFETY: forwarded.
        unsafe { std::alloc::System.realloc(p, layout, new) }
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded.
        unsafe { std::alloc::System.dealloc(p, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Measuring = Measuring;

/// What `f` returns, and the largest single allocation it made on this
/// thread.
fn largest_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(Some(0)));
    let r = f();
    let largest = LARGEST.with(|l| l.take()).unwrap_or(0);
    (r, largest)
}

/// A record whose arrays, nested as deep as they may be, each declare four
/// billion items it does not hold: refused as unreadable, without the
/// decoder reserving room for the declared items at every level (32 times
/// the record's size in `VARIANT`s: gigabytes, and an abort where memory
/// is limited).
#[test]
fn a_record_of_arrays_declaring_billions_of_items_allocates_no_more_than_it_holds() {
    let f = Fixture::new();
    let id = f.session("Target");
    let path = f.dir.join(&f.records()[0]);
    let record = std::fs::read(&path).unwrap();
    // The C store's record header; the blob's key hash (bin 16) and nil.
    let (header, prefix) = (40, 19);
    let mut bytes = record[..header + prefix].to_vec();
    // [1, created 0, Timeout 20, LCID 1033, CodePage 65001, [["k", ...]]]
    bytes.extend_from_slice(&[
        0x96, 1, 0, 20, 0xCD, 0x04, 0x09, 0xCD, 0xFD, 0xE9, 0x91, 0x92, 0xA1, b'k',
    ]);
    for _ in 0..32 {
        // {"Array": array 32 of 0xFFFFFFFF items}
        bytes.extend_from_slice(&[0x81, 0xA5, b'A', b'r', b'r', b'a', b'y', 0xDD]);
        bytes.extend_from_slice(&[0xFF; 4]);
    }
    bytes.resize(bytes.len() + (4 << 20), 0xC0);
    let blob_len = (bytes.len() - header) as u64;
    bytes[32..40].copy_from_slice(&blob_len.to_ne_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let (e, largest) = largest_in(|| f.app().open_session(&id, LockMode::Exclusive).err());
    assert_eq!(e.map(|e| e.code()), Some(error::E_STORE_UNAVAILABLE));
    assert!(
        largest <= 2 * bytes.len(),
        "an allocation of {largest} bytes for a record of {}",
        bytes.len()
    );
}

/// The file store's own `list_expired`, under the test's wrapper.
static INNER_LIST: OnceLock<sess::ffi::store::sess_store_list_expired_fn> = OnceLock::new();
/// The directory of the store whose claims fail.
static UNDO_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// A `list_expired` whose removals fail after it added the blobs (a
/// transaction that did not commit): it takes them back with
/// `sess_buffer_list_truncate` and reports the failure. The sessions stay
/// stored, and get no Session_OnEnd until a sweep that claims them.
#[test]
fn a_claim_that_failed_takes_its_blobs_back() {
    use sess::ffi::store::{sess_buffer_list, sess_buffer_list_truncate};
    unsafe extern "C" fn failing(
        context: *mut c_void,
        now_ms: u64,
        max: usize,
        out: *mut sess_buffer_list,
    ) -> i32 {
        // The store's claim (which removes), undone: the blobs are taken
        // back and the records put back as they were.
        let dir = UNDO_DIR.lock().unwrap().clone().unwrap();
        let saved: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sess"))
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect();
        // SAFETY: the store's own callback with the library's arguments.
        let rc = unsafe { INNER_LIST.get().unwrap().unwrap()(context, now_ms, max, out) };
        assert_eq!(rc, 0);
        for (p, bytes) in saved {
            std::fs::write(p, bytes).unwrap();
        }
        // SAFETY: the list lent to this call.
        assert_eq!(unsafe { sess_buffer_list_truncate(out, 0) }, 0);
        error::E_STORE_UNAVAILABLE
    }
    let f = Fixture::build(None, |_, v| {
        let _ = INNER_LIST.set(v.list_expired);
        v.list_expired = Some(failing);
    });
    *UNDO_DIR.lock().unwrap() = Some(f.dir.clone());
    f.session("Kept");
    f.advance(21 * MIN);
    let e = f.app().expire().unwrap_err();
    assert_eq!(e.code(), error::E_STORE_UNAVAILABLE);
    assert!(f.ended().is_empty(), "no Session_OnEnd for a session kept");
    assert_eq!(f.records().len(), 1);
}

/// Sessions a request holds when the process forks: the child's ends of
/// its copies (a close, a drop) are refused and touch nothing, since the
/// locks and the saves are the parent's. They used to save the child's
/// copy and free the parent's lock (same token), so another request got
/// in and the parent's own save was refused, its changes lost.
#[test]
fn a_forked_child_cannot_end_its_parents_sessions() {
    let f = Fixture::new();
    let (changed_id, read_id) = (f.session("Changed"), f.session("Read"));
    let mut changed = f.open(&changed_id);
    changed.set("UserName", Variant::bstr("Parent")).unwrap();
    let read = f.open(&read_id);
    // SAFETY: the child runs only this library's calls and leaves with
    // _exit (no test harness, no destructors of the parent's state).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            changed.set("UserName", Variant::bstr("Child")).unwrap();
            let e = changed.close().unwrap_err();
            drop(read);
            e.code() == error::E_STORE_UNAVAILABLE && e.detail().contains("fork")
        }));
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    // The parent's locks still hold: another process waits them out.
    let other = f.twin(LOCK_TIMEOUT_MS);
    for id in [&changed_id, &read_id] {
        assert_eq!(
            other.open_err(id, LockMode::Exclusive),
            error::E_LOCK_TIMEOUT,
            "the child freed its parent's lock"
        );
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child's close was not refused (status {status:#x})"
    );
    changed.close().unwrap();
    read.close().unwrap();
    assert_eq!(
        text(&other.open(&changed_id), "UserName").as_deref(),
        Some("Parent")
    );
}
