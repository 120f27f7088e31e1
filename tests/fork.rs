//! An application created before `fork()` works in the child, as servers
//! that set up before forking their workers need: here on the Redis store,
//! whose pooled connections the child must not share with its parent (the
//! in-process store's case, expiry thread included, is examples-c/host_api.c).
//! Parent and child increment their own counters at the same time; any
//! shared socket would cross their replies.

#[path = "common/redis.rs"]
mod redis_env;
#[path = "common/stored.rs"]
mod stored;

use std::time::Duration;

use sess::app::{App, AppOptions, StoreConfig};
use sess::store::{LockMode, RedisOptions};
use sess::variant::Variant;
use stored::stored_with;

const ROUNDS: i32 = 200;

/// `count = count + 1` on session `id`, `ROUNDS` times.
fn increment(app: &App, id: &str) -> Result<(), String> {
    for _ in 0..ROUNDS {
        let mut s = app
            .open_session(id, LockMode::Exclusive)
            .map_err(|e| e.to_string())?;
        let n = match s.get("count") {
            Some(Variant::I4(n)) => *n,
            other => return Err(format!("count is {other:?}")),
        };
        s.set("count", Variant::I4(n + 1))
            .map_err(|e| e.to_string())?;
        s.close().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A stored session with count 0; its ID.
fn new_counter(app: &App) -> String {
    stored_with(app, &[("count", Variant::I4(0))])
}

fn count(app: &App, id: &str) -> Option<Variant> {
    let s = app.open_session(id, LockMode::Shared).unwrap();
    s.get("count").cloned()
}

#[test]
fn redis_application_made_before_fork_works_in_parent_and_child_at_once() {
    let prefixes = redis_env::Prefixes::new(&[redis_env::SHARED_URL.to_string()], "fork");
    let app = App::new(AppOptions {
        store: StoreConfig::Redis(RedisOptions {
            url: redis_env::SHARED_URL.into(),
            key_prefix: prefixes.fresh(),
            retry_budget: Duration::from_secs(5),
            ..RedisOptions::default()
        }),
        ..AppOptions::default()
    })
    .unwrap();
    // Both sessions are made before the fork: the pool holds a connection.
    let (mine, childs) = (new_counter(&app), new_counter(&app));

    // SAFETY: the child runs only this library's calls and leaves with
    // _exit (no test harness, no destructors of the parent's state).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            increment(&app, &childs).is_ok() && count(&app, &childs) == Some(Variant::I4(ROUNDS))
        }));
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) };
    }
    let parent = increment(&app, &mine);
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    parent.unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed (status {status:#x})"
    );
    assert_eq!(count(&app, &mine), Some(Variant::I4(ROUNDS)));
    assert_eq!(count(&app, &childs), Some(Variant::I4(ROUNDS)));
}

/// A clock the test moves by hand.
struct HandClock(std::sync::atomic::AtomicU64);

impl sess::clock::Clock for HandClock {
    fn now_ms(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Sessions the child has seen end.
static ENDS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// In a child: stores a session, moves the clock past its Timeout and
/// waits (at most 10 s) for the child's own expiry thread to end it.
fn child_sweeps(app: &App, clock: &HandClock) -> bool {
    use std::sync::atomic::Ordering::SeqCst;
    let mut s = app.create_session().unwrap();
    s.set("x", Variant::I4(1)).unwrap();
    s.close().unwrap();
    clock.0.fetch_add(3 * 60 * 60 * 1000, SeqCst);
    let give_up = std::time::Instant::now() + Duration::from_secs(10);
    while ENDS.load(SeqCst) == 0 {
        if std::time::Instant::now() > give_up {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// Forks while the parent's expiry thread is waiting, waking and sweeping
/// every millisecond, many times over: every child gets an expiry thread
/// of its own that works. (The crash that made the expiry thread wait on
/// `std`'s primitives — a fork while it was inside parking_lot's
/// process-wide waiter table, seen once in examples-c/host_api.c — is too
/// rare to provoke on purpose; this run did not provoke it before the fix.)
#[test]
fn children_forked_at_any_moment_of_the_expiry_thread_get_a_working_one() {
    let clock = std::sync::Arc::new(HandClock(std::sync::atomic::AtomicU64::new(1 << 40)));
    let app = App::new(AppOptions {
        expiry_interval: Some(Duration::from_millis(1)),
        clock: Some(clock.clone()),
        on_end: Some(std::sync::Arc::new(|_| {
            ENDS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })),
        ..AppOptions::default()
    })
    .unwrap();
    for round in 0..100 {
        std::thread::sleep(Duration::from_micros(137 * (round % 11)));
        // SAFETY: the child runs only this library's calls and leaves with
        // _exit (no test harness, no destructors of the parent's state).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                child_sweeps(&app, &clock)
            }));
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) };
        }
        let mut status = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        // SAFETY: polls the child forked above.
        while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
            if std::time::Instant::now() > deadline {
                // SAFETY: kills the child forked above, which hangs.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("round {round}: the child hung");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "round {round}: the child failed (status {status:#x})"
        );
    }
    assert_eq!(ENDS.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// A Session_OnEnd that forks (a handler starting a program, or a host's
/// logger, on the expiry thread): the fork must not wait for the sweep it
/// is part of. It used to spin in the `pthread_atfork` prepare handler
/// for ever, waiting for its own sweep to end.
#[test]
fn a_session_on_end_on_the_expiry_thread_can_fork() {
    let clock = std::sync::Arc::new(HandClock(std::sync::atomic::AtomicU64::new(0)));
    let (tx, rx) = std::sync::mpsc::channel::<libc::pid_t>();
    let tx = std::sync::Mutex::new(tx);
    let app = App::new(AppOptions {
        expiry_interval: Some(Duration::from_millis(5)),
        clock: Some(clock.clone()),
        on_end: Some(std::sync::Arc::new(move |_| {
            // SAFETY: the child only leaves, with _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: ends the child at once.
                unsafe { libc::_exit(0) };
            }
            let _ = tx.lock().unwrap().send(pid);
        })),
        ..AppOptions::default()
    })
    .unwrap();
    let mut s = app.create_session().unwrap();
    s.set("x", Variant::I4(1)).unwrap();
    s.close().unwrap();
    clock
        .0
        .fetch_add(3 * 60 * 60 * 1000, std::sync::atomic::Ordering::SeqCst);
    // Generous for a busy machine; the fork returns in microseconds.
    let Ok(pid) = rx.recv_timeout(Duration::from_secs(60)) else {
        // The expiry thread hangs in fork(): dropping the application
        // would wait for it for ever.
        std::mem::forget(app);
        panic!("fork() in Session_OnEnd on the expiry thread did not return");
    };
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: waits for the child forked by the handler.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
}

/// A handler's gate: `enter` (for the handler to call) says it started
/// and waits until the test sends on, or drops, the sender returned.
fn handler_gate() -> (
    impl Fn() + Send + Sync + 'static,
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::Sender<()>,
) {
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
    let (started_tx, finish_rx) = (
        std::sync::Mutex::new(started_tx),
        std::sync::Mutex::new(finish_rx),
    );
    let enter = move || {
        let _ = started_tx.lock().unwrap().send(());
        let _ = finish_rx.lock().unwrap().recv();
    };
    (enter, started_rx, finish_tx)
}

/// A fork while another thread runs a Session_OnEnd (a unit of work that
/// abandoned its session): the child's release does not wait for that
/// handler, whose thread is not in the child.
#[test]
fn a_child_releases_while_its_parent_runs_a_session_on_end() {
    let (enter, started_rx, finish_tx) = handler_gate();
    let app = App::new(AppOptions {
        expiry_interval: None,
        on_end: Some(std::sync::Arc::new(move |_| enter())),
        ..AppOptions::default()
    })
    .unwrap();
    let id = new_counter(&app);
    let mut s = app.open_session(&id, LockMode::Exclusive).unwrap();
    s.abandon();
    let closer = std::thread::spawn(move || s.close().unwrap());
    started_rx.recv().unwrap();
    // SAFETY: the child runs only this library's calls and leaves with
    // _exit (no test harness, no destructors of the parent's state).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(app);
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(0) };
    }
    let mut status = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // SAFETY: polls the child forked above.
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        if std::time::Instant::now() > deadline {
            // SAFETY: kills the child forked above, which hangs.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            finish_tx.send(()).unwrap();
            panic!("the child's release waited for its parent's Session_OnEnd");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    finish_tx.send(()).unwrap();
    closer.join().unwrap();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
}

/// A fork while the expiry thread has a batch in hand (its first session
/// in Session_OnEnd, the rest claimed and waiting): the child's release
/// neither waits for that batch, whose thread is not in the child, nor ends
/// its sessions (the parent's sweep does).
#[test]
fn a_child_releases_while_its_parent_ends_a_claimed_batch() {
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let clock = std::sync::Arc::new(HandClock(AtomicU64::new(0)));
    let (enter, started_rx, finish_tx) = handler_gate();
    let app = App::new(AppOptions {
        expiry_interval: Some(Duration::from_millis(5)),
        clock: Some(clock.clone()),
        on_end: Some(std::sync::Arc::new(move |_| {
            CALLS.fetch_add(1, SeqCst);
            enter();
        })),
        ..AppOptions::default()
    })
    .unwrap();
    for _ in 0..3 {
        new_counter(&app);
    }
    clock.0.fetch_add(3 * 60 * 60 * 1000, SeqCst);
    started_rx.recv().unwrap();
    // SAFETY: the child runs only this library's calls and leaves with
    // _exit (no test harness, no destructors of the parent's state).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let before = CALLS.load(SeqCst);
        drop(app);
        let ran = CALLS.load(SeqCst) - before;
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ran == 0 { 0 } else { 1 }) };
    }
    let mut status = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // SAFETY: polls the child forked above.
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        if std::time::Instant::now() > deadline {
            // SAFETY: kills the child forked above, which hangs, and reaps
            // it (its status then says it was killed).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(finish_tx);
    // The release waits for the expiry thread to end its batch.
    drop(app);
    assert_eq!(CALLS.load(SeqCst), 3, "the parent ends its batch");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child hung or ended the parent's batch (status {status:#x})"
    );
}

/// The host's lock that a forking thread holds across `fork()`, as
/// CPython's `os.fork()` holds the GIL, and whether the host's code run
/// by the library waits for it.
struct Gil {
    held: std::sync::atomic::AtomicBool,
    waiting: std::sync::atomic::AtomicBool,
}

impl Gil {
    const fn new() -> Gil {
        Gil {
            held: std::sync::atomic::AtomicBool::new(false),
            waiting: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The host's code: waits while the lock is held.
    fn enter(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.held.load(SeqCst) {
            self.waiting.store(true, SeqCst);
        }
        while self.held.load(SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Takes the lock and runs `then`; returns once the host's code waits
    /// for the lock (at most 60 s).
    fn hold_until_waited_for(&self, then: impl FnOnce()) {
        use std::sync::atomic::Ordering::SeqCst;
        self.held.store(true, SeqCst);
        then();
        let give_up = std::time::Instant::now() + Duration::from_secs(60);
        while !self.waiting.load(SeqCst) {
            assert!(
                std::time::Instant::now() < give_up,
                "the library ran no host code"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Forks holding the lock, then lets it go; whether the fork returned
    /// without another thread letting the lock go after 30 s (ending the
    /// deadlock of a fork waiting for the host's code).
    fn fork_holding(&'static self) -> bool {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        let broken: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let (forked_tx, forked_rx) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if forked_rx.recv_timeout(Duration::from_secs(30)).is_err() {
                broken.store(true, SeqCst);
                self.held.store(false, SeqCst);
            }
        });
        // SAFETY: the child only leaves, with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(0) };
        }
        let _ = forked_tx.send(());
        self.held.store(false, SeqCst);
        watchdog.join().unwrap();
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        !broken.load(SeqCst)
    }
}

/// An object whose Release waits for its [`Gil`] (a Python object's does).
#[repr(C)]
struct GilBound {
    base: sess::variant::Unknown,
    refs: std::sync::atomic::AtomicU32,
    gil: &'static Gil,
}

unsafe extern "C" fn gil_add_ref(this: *mut sess::variant::Unknown) -> u32 {
    // SAFETY: `this` is a `GilBound` (its first field), never freed.
    let o = unsafe { &*this.cast::<GilBound>() };
    o.refs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1
}

unsafe extern "C" fn gil_release(this: *mut sess::variant::Unknown) -> u32 {
    // SAFETY: as in `gil_add_ref`.
    let o = unsafe { &*this.cast::<GilBound>() };
    o.gil.enter();
    o.refs.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) - 1
}

static GIL_VTBL: sess::variant::UnknownVtbl = sess::variant::UnknownVtbl {
    query_interface: None,
    add_ref: Some(gil_add_ref),
    release: Some(gil_release),
};

/// A new [`GilBound`] object on `gil` (leaked: its Release may run in a
/// child).
fn gil_bound(gil: &'static Gil) -> sess::variant::Object {
    let o = Box::leak(Box::new(GilBound {
        base: sess::variant::Unknown { vtbl: &GIL_VTBL },
        refs: std::sync::atomic::AtomicU32::new(1),
        gil,
    }));
    // SAFETY: a live object with a valid vtable; its one reference is given.
    unsafe { sess::variant::Object::from_owned(std::ptr::from_mut(o).cast()) }.unwrap()
}

/// Forks, holding `gil`, while the expiry thread releases an object of a
/// session it ended (after that session's Session_OnEnd `on_end`, or with
/// none): the Release is the host's code, which waits for the forking
/// thread, so the fork must not wait for it (it did, for ever).
fn fork_while_the_expiry_thread_releases_an_object(
    gil: &'static Gil,
    on_end: Option<sess::app::OnEnd>,
) {
    let clock = std::sync::Arc::new(HandClock(std::sync::atomic::AtomicU64::new(0)));
    let app = App::new(AppOptions {
        expiry_interval: Some(Duration::from_millis(5)),
        clock: Some(clock.clone()),
        on_end,
        ..AppOptions::default()
    })
    .unwrap();
    let mut s = app.create_session().unwrap();
    s.set("obj", Variant::Unknown(gil_bound(gil))).unwrap();
    s.close().unwrap();
    gil.hold_until_waited_for(|| {
        clock
            .0
            .fetch_add(3 * 60 * 60 * 1000, std::sync::atomic::Ordering::SeqCst);
    });
    assert!(
        gil.fork_holding(),
        "fork() waited for a Release on the expiry thread"
    );
}

#[test]
fn a_fork_does_not_wait_for_a_release_after_session_on_end() {
    static GIL: Gil = Gil::new();
    fork_while_the_expiry_thread_releases_an_object(&GIL, Some(std::sync::Arc::new(|_| {})));
}

#[test]
fn a_fork_does_not_wait_for_a_release_without_session_on_end() {
    static GIL: Gil = Gil::new();
    fork_while_the_expiry_thread_releases_an_object(&GIL, None);
}

/// A clock that is the host's code waiting for a [`Gil`] (a clock in
/// Python needs the GIL).
struct GilClock(&'static Gil);

impl sess::clock::Clock for GilClock {
    fn now_ms(&self) -> u64 {
        self.0.enter();
        1 << 40
    }
}

/// Forks, holding a [`Gil`], while the expiry thread reads a clock that
/// waits for it: the fork must not wait for that clock (it did, for ever).
#[test]
fn a_fork_does_not_wait_for_the_clock_of_a_sweep() {
    static GIL: Gil = Gil::new();
    let _app = App::new(AppOptions {
        expiry_interval: Some(Duration::from_millis(5)),
        clock: Some(std::sync::Arc::new(GilClock(&GIL))),
        ..AppOptions::default()
    })
    .unwrap();
    GIL.hold_until_waited_for(|| {});
    assert!(
        GIL.fork_holding(),
        "fork() waited for the expiry thread's clock"
    );
}

/// A Redis application made before `fork()`: the child is another process
/// for the farm-wide sweeper lease, so it does not sweep while its parent
/// holds the lease (it took the lease as its own, sharing its parent's
/// name in it, and every worker forked from one parent swept the farm).
#[test]
fn a_child_does_not_sweep_under_its_parents_redis_sweeper_lease() {
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
    static ENDED: AtomicU32 = AtomicU32::new(0);
    let prefixes = redis_env::Prefixes::new(&[redis_env::SHARED_URL.to_string()], "fork");
    let prefix = prefixes.fresh();
    let wall_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let clock = std::sync::Arc::new(HandClock(AtomicU64::new(wall_ms as u64)));
    let app = App::new(AppOptions {
        store: StoreConfig::Redis(RedisOptions {
            url: redis_env::SHARED_URL.into(),
            key_prefix: prefix.clone(),
            retry_budget: Duration::from_secs(5),
            ..RedisOptions::default()
        }),
        expiry_interval: None,
        clock: Some(clock.clone()),
        on_end: Some(std::sync::Arc::new(|_| {
            ENDED.fetch_add(1, SeqCst);
        })),
        ..AppOptions::default()
    })
    .unwrap();
    // The parent sweeps, taking the lease, and keeps it as long as the
    // test runs.
    assert_eq!(app.expire().unwrap(), 0);
    let mut con = redis_env::connect(redis_env::SHARED_URL);
    let lease = format!("{prefix}sweeper");
    let kept: i64 = redis_env::cmd(&mut con, &["PEXPIRE", &lease, "600000"]);
    assert_eq!(kept, 1, "the parent's sweep took no lease");

    // SAFETY: the child runs only this library's calls and leaves with
    // _exit (no test harness, no destructors of the parent's state).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            new_counter(&app);
            clock.0.fetch_add(3 * 60 * 60 * 1000, SeqCst);
            matches!(app.expire(), Ok(0)) && ENDED.load(SeqCst) == 0
        }));
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) };
    }
    let mut status = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // SAFETY: polls the child forked above.
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        if std::time::Instant::now() > deadline {
            // SAFETY: kills the child forked above, which hangs.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child hung");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child swept under its parent's lease (status {status:#x})"
    );
}

/// Sessions a request holds on Redis when the process forks: the child's
/// ends of its copies (a close, a drop) are refused and touch nothing,
/// since the locks and the saves are the parent's. They used to save the
/// child's copy and free the parent's lock (same token), so another
/// request got in and the parent's own save was refused, its changes lost.
#[test]
fn a_forked_child_cannot_end_its_parents_redis_sessions() {
    let prefixes = redis_env::Prefixes::new(&[redis_env::SHARED_URL.to_string()], "fork");
    let prefix = prefixes.fresh();
    let opts = |lock_timeout| AppOptions {
        store: StoreConfig::Redis(RedisOptions {
            url: redis_env::SHARED_URL.into(),
            key_prefix: prefix.clone(),
            retry_budget: Duration::from_secs(5),
            ..RedisOptions::default()
        }),
        lock_timeout,
        ..AppOptions::default()
    };
    let app = App::new(opts(Duration::from_secs(5))).unwrap();
    let (changed_id, read_id) = (new_counter(&app), new_counter(&app));
    let mut changed = app.open_session(&changed_id, LockMode::Exclusive).unwrap();
    changed.set("count", Variant::I4(1)).unwrap();
    let read = app.open_session(&read_id, LockMode::Exclusive).unwrap();
    // SAFETY: the child runs only this library's calls and leaves with
    // _exit (no test harness, no destructors of the parent's state).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            changed.set("count", Variant::I4(2)).unwrap();
            let e = changed.close().unwrap_err();
            drop(read);
            e.code() == sess::error::E_STORE_UNAVAILABLE && e.detail().contains("fork")
        }));
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    // The parent's locks still hold: another process waits them out.
    let other = App::new(opts(Duration::from_millis(300))).unwrap();
    for id in [&changed_id, &read_id] {
        let e = other.open_session(id, LockMode::Exclusive).err();
        assert_eq!(
            e.map(|e| e.code()),
            Some(sess::error::E_LOCK_TIMEOUT),
            "the child freed its parent's lock"
        );
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child's close was not refused (status {status:#x})"
    );
    changed.close().unwrap();
    read.close().unwrap();
    assert_eq!(count(&other, &changed_id), Some(Variant::I4(1)));
}

static STORE_GIL: Gil = Gil::new();

/// A host store's `list_expired` that needs the host's [`Gil`] (a store
/// written in a language with one, or behind the host's own lock that its
/// `pthread_atfork` handler takes); it finds nothing due.
unsafe extern "C" fn gil_list_expired(
    _: *mut std::ffi::c_void,
    _: u64,
    _: usize,
    _: *mut sess::ffi::store::sess_buffer_list,
) -> i32 {
    STORE_GIL.enter();
    sess::ffi::store::STORE_OK
}

/// The other callbacks of that store: nothing is ever stored.
unsafe extern "C" fn none_get(
    _: *mut std::ffi::c_void,
    _: *const std::ffi::c_char,
    _: u32,
    _: u64,
    _: u64,
    _: *mut sess::ffi::store::sess_buffer,
) -> i32 {
    sess::ffi::store::STORE_NOT_FOUND
}
unsafe extern "C" fn none_create(
    _: *mut std::ffi::c_void,
    _: *const std::ffi::c_char,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    _: *const std::ffi::c_void,
    _: usize,
) -> i32 {
    sess::error::E_STORE_UNAVAILABLE
}
unsafe extern "C" fn none_set(
    _: *mut std::ffi::c_void,
    _: *const std::ffi::c_char,
    _: u64,
    _: u64,
    _: *const std::ffi::c_void,
    _: usize,
) -> i32 {
    sess::ffi::store::STORE_NOT_FOUND
}
unsafe extern "C" fn none_key(_: *mut std::ffi::c_void, _: *const std::ffi::c_char, _: u64) -> i32 {
    sess::ffi::store::STORE_NOT_FOUND
}

/// Forks, holding a [`Gil`], while the expiry thread is in a host store's
/// `list_expired` that waits for it: the callback is the host's code, so
/// the fork must not wait for it (it did, for ever: the sweep it is part
/// of held the fork off).
#[test]
fn a_fork_does_not_wait_for_a_host_stores_list_expired() {
    use sess::ffi::store::{custom_store_from_vtbl, sess_store_vtbl, sess_store_vtbl_init};
    // SAFETY: zeroed, then filled by the init function.
    let mut v: sess_store_vtbl = unsafe { std::mem::zeroed() };
    // SAFETY: a writable vtable.
    assert_eq!(unsafe { sess_store_vtbl_init(&mut v) }, 0);
    v.get = Some(none_get);
    v.create = Some(none_create);
    v.set_and_release = Some(none_set);
    v.release = Some(none_key);
    v.remove = Some(none_key);
    v.reset_timeout = Some(none_key);
    v.list_expired = Some(gil_list_expired);
    let o = AppOptions {
        expiry_interval: Some(Duration::from_millis(5)),
        ..AppOptions::default()
    };
    let limits = sess::state::Limits {
        max_timeout_minutes: o.max_timeout_minutes,
        max_items: o.max_items,
        max_value_bytes: o.max_value_bytes,
        max_key_bytes: o.max_key_bytes,
        max_session_bytes: o.max_session_bytes,
    };
    // SAFETY: the vtable above, whose callbacks keep its contract.
    let store = unsafe { custom_store_from_vtbl(&v, limits) }.unwrap();
    let _app = App::new(AppOptions {
        store: StoreConfig::Custom(std::sync::Arc::new(store)),
        ..o
    })
    .unwrap();
    STORE_GIL.hold_until_waited_for(|| {});
    assert!(
        STORE_GIL.fork_holding(),
        "fork() waited for the host store's list_expired"
    );
}

/// Forks while another thread of the host sweeps (`App::expire`: a host
/// that runs no library thread sweeps on its own timer): the fork waits
/// for that sweep, as for the expiry thread's, so no child inherits a
/// store lock it held. A child used to inherit an in-process shard's lock
/// held by such a sweep, and hang for ever on its first use of that shard.
#[test]
fn a_fork_waits_for_a_sweep_the_host_runs() {
    forks_while_the_host_sweeps(1);
}

/// Two threads forking at once while the host sweeps: each fork waits for
/// the sweep. The first fork to finish used to let sweeps start again
/// while the second was still under way, whose child then could inherit a
/// shard lock and hang.
#[test]
fn two_forks_at_once_both_wait_for_a_sweep_the_host_runs() {
    forks_while_the_host_sweeps(2);
}

/// `forkers` threads each fork 40 times while another thread sweeps in a
/// loop; each child sweeps once and must not hang.
fn forks_while_the_host_sweeps(forkers: u64) {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let app = App::new(AppOptions {
        expiry_interval: None,
        ..AppOptions::default()
    })
    .unwrap();
    for _ in 0..200 {
        new_counter(&app);
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(SeqCst) {
                app.expire().unwrap();
            }
        });
        let forking: Vec<_> = (0..forkers)
            .map(|t| {
                let (app, stop) = (&app, &stop);
                scope.spawn(move || {
                    for round in 0..40 {
                        let pause = 71 * ((round + 5 * t) % 13);
                        std::thread::sleep(Duration::from_micros(pause));
                        fork_and_sweep_in_child(app, stop, round);
                    }
                })
            })
            .collect();
        let done: Vec<_> = forking.into_iter().map(|t| t.join()).collect();
        stop.store(true, SeqCst);
        for d in done {
            if let Err(panic) = d {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// Forks; the child sweeps `app` once and must exit 0 within 20 s (it
/// hangs if it inherited a lock of its parent's sweep; then `stop` is set
/// and the test fails).
fn fork_and_sweep_in_child(app: &App, stop: &std::sync::atomic::AtomicBool, round: u64) {
    // SAFETY: the child runs only this library's calls and leaves with
    // _exit (no test harness, no destructors of the parent's state).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            matches!(app.expire(), Ok(0))
        }));
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) };
    }
    let mut status = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    // SAFETY: polls the child forked above.
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        if std::time::Instant::now() > deadline {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            // SAFETY: kills the child forked above, which hangs.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("round {round}: the child inherited a lock of its parent's sweep");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "round {round}: the child failed (status {status:#x})"
    );
}

/// A Session_OnEnd that forks, and whose child goes on (returns from the
/// handler, as a handler that forgets to leave, or one that forks to do
/// more work, does): the rest of the batch its parent's sweep claimed is
/// the parent's to end, once, not the child's too. The child used to end
/// it as well: Session_OnEnd ran twice for each of those sessions.
#[test]
fn a_child_forked_by_session_on_end_does_not_end_its_parents_batch() {
    use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering::SeqCst};
    static CALLS: AtomicU32 = AtomicU32::new(0);
    static CHILD: AtomicI32 = AtomicI32::new(0);
    let parent = std::process::id();
    let clock = std::sync::Arc::new(HandClock(AtomicU64::new(0)));
    let app = App::new(AppOptions {
        expiry_interval: None,
        clock: Some(clock.clone()),
        on_end: Some(std::sync::Arc::new(|_| {
            CALLS.fetch_add(1, SeqCst);
            if CALLS.load(SeqCst) == 1 {
                // SAFETY: the child goes on in this library only, and
                // leaves with _exit once the sweep returns.
                let pid = unsafe { libc::fork() };
                assert!(pid >= 0, "fork failed");
                CHILD.store(pid, SeqCst);
            }
        })),
        ..AppOptions::default()
    })
    .unwrap();
    for _ in 0..3 {
        new_counter(&app);
    }
    clock.0.fetch_add(3 * 60 * 60 * 1000, SeqCst);
    let ended = app.expire();
    if std::process::id() != parent {
        // The child: it ran the handler that forked, and no other.
        let ok = CALLS.load(SeqCst) == 1;
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    assert_eq!(ended.unwrap(), 3);
    assert_eq!(CALLS.load(SeqCst), 3, "the parent ends its batch");
    let (pid, mut status) = (CHILD.load(SeqCst), 0);
    // SAFETY: waits for the child forked by the handler.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child ended its parent's claimed sessions too (status {status:#x})"
    );
}
