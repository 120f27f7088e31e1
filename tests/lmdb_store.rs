//! The LMDB store: the shared session suite, and the machine-local
//! properties — several OS processes sharing sessions, a crashed lock
//! holder, applications with different lock TTLs sharing lock slots,
//! Abandon racing a slow request, restarts, racing sweepers, sessions too
//! large for the sweeper's limits, a full map, a reader killed inside its
//! transaction, the disk space of the files
//! mapped shared, damaged files, foreign
//! environments and bad directories, lock tables of the earlier format,
//! applications created in a forked child, a child's hands off its
//! parent's locks, a fork while Session_OnEnd waits for the forking
//! thread, objects refused.
//!
//! Every test uses its own directory under the system's temporary
//! directory (removed at the end). Child processes are this test binary
//! run again with `SESS_CHILD_ROLE` set.

#[path = "common/child.rs"]
mod child;
#[path = "common/counted.rs"]
mod counted;
#[path = "common/damaged_store.rs"]
mod damaged_store;
#[path = "common/suite.rs"]
mod suite;
#[path = "common/temp_dir.rs"]
mod temp_dir;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sess::app::{App, AppOptions, StoreConfig};
use sess::clock::ManualClock;
use sess::error;
use sess::state::SessionId;
use sess::store::lmdb::LmdbOptions;
use sess::store::remote::KeyHash;
use sess::store::{LockMode, StoreMode};
use sess::variant::{Object, Unknown, Variant};

use child::{await_line, env, spawn_child, wait_bounded};
use damaged_store::{fuzz_input, split_fuzz_input, use_a_damaged_store, DAMAGE_NOW, SECRET};
use suite::{app_with, code, stored, INERT_VTBL};
use temp_dir::TempDir;

fn lmdb_opts(dir: &Path) -> LmdbOptions {
    LmdbOptions {
        lock_ttl: Duration::from_secs(30),
        id_secret: Some(SECRET.to_vec()),
        ..LmdbOptions::new(dir)
    }
}

/// An application on the LMDB store in `dir` with no expiry thread.
fn app_on(lmdb: LmdbOptions, f: impl FnOnce(&mut AppOptions)) -> App {
    app_with(StoreConfig::Lmdb(lmdb), f)
}

// ---- child processes -------------------------------------------------------

/// A sweeping child's application at `SESS_CHILD_NOW`, and what its
/// Session_OnEnd saw: each ended session's "n" (and its ID, if `with_id`).
fn ending_app(lmdb: LmdbOptions, with_id: bool) -> (App, Arc<Mutex<Vec<String>>>) {
    let clock = Arc::new(ManualClock::new(env("SESS_CHILD_NOW").parse().unwrap()));
    let ends = Arc::new(Mutex::new(Vec::new()));
    let e = ends.clone();
    let app = app_on(lmdb, |o| {
        o.clock = Some(clock);
        o.on_end = Some(Arc::new(move |s| {
            let Some(Variant::I4(n)) = s.get("n").cloned() else {
                panic!("OnEnd without contents")
            };
            let line = if with_id {
                format!("{n} {}", s.id())
            } else {
                n.to_string()
            };
            e.lock().unwrap().push(line);
        }));
    });
    (app, ends)
}

fn child_env(dir: &Path, lock_ttl_ms: u64) -> Vec<(&'static str, String)> {
    vec![
        ("SESS_CHILD_DIR", dir.display().to_string()),
        ("SESS_CHILD_LOCK_TTL", lock_ttl_ms.to_string()),
    ]
}

/// The roles a child process plays; a no-op when run as an ordinary test.
#[test]
fn child_process() {
    let Ok(role) = std::env::var("SESS_CHILD_ROLE") else {
        return;
    };
    let mut lmdb = lmdb_opts(Path::new(&env("SESS_CHILD_DIR")));
    lmdb.lock_ttl = Duration::from_millis(env("SESS_CHILD_LOCK_TTL").parse().unwrap());
    match role.as_str() {
        "incr" => {
            let app = app_on(lmdb, |o| o.lock_timeout = Duration::from_secs(60));
            let id = SessionId::parse(&env("SESS_CHILD_ID")).unwrap();
            let n: usize = env("SESS_CHILD_N").parse().unwrap();
            let threads: usize = env("SESS_CHILD_THREADS").parse().unwrap();
            std::thread::scope(|sc| {
                for _ in 0..threads {
                    sc.spawn(|| {
                        for _ in 0..n {
                            let mut s = app.open(&id, LockMode::Exclusive).unwrap();
                            let Some(Variant::I4(v)) = s.get("n").cloned() else {
                                panic!("no counter")
                            };
                            s.set("n", Variant::I4(v + 1)).unwrap();
                            s.close().unwrap();
                        }
                    });
                }
            });
        }
        "hold" => {
            let app = app_on(lmdb, |_| {});
            let id = SessionId::parse(&env("SESS_CHILD_ID")).unwrap();
            let _held = app.open(&id, LockMode::Exclusive).unwrap();
            println!("HELD");
            std::thread::sleep(Duration::from_secs(60)); // killed long before
        }
        "create" => {
            // Stores sessions and exits: a restart for whoever opens next.
            let clock = Arc::new(ManualClock::new(env("SESS_CHILD_NOW").parse().unwrap()));
            let app = app_on(lmdb, |o| o.clock = Some(clock));
            for (i, timeout) in [(1, 20), (2, 20), (3, 1)] {
                let mut s = app.create_session().unwrap();
                s.set_timeout(timeout).unwrap();
                s.set("n", Variant::I4(i)).unwrap();
                println!("{i} {}", s.id());
                s.close().unwrap();
            }
            println!("DONE");
        }
        "sweep" => {
            let (app, ends) = ending_app(lmdb, true);
            println!("READY");
            // Start together: wait for the go file.
            let go = PathBuf::from(env("SESS_CHILD_GO"));
            let t = Instant::now();
            while !go.exists() && t.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(2));
            }
            while app.session_count().unwrap() > 0 && t.elapsed() < Duration::from_secs(30) {
                app.expire().unwrap();
            }
            for line in ends.lock().unwrap().iter() {
                println!("END {line}");
            }
            println!("DONE");
        }
        "sweep-once" => {
            // One sweep at SESS_CHILD_NOW: the sessions it ended, and how
            // many are left.
            let (app, ends) = ending_app(lmdb, false);
            app.expire().unwrap();
            for line in ends.lock().unwrap().iter() {
                println!("END {line}");
            }
            println!("LEFT {}", app.session_count().unwrap());
            println!("DONE");
        }
        "fork" => {
            // An application made before fork(): the child makes its own.
            let app = app_on(lmdb.clone(), |_| {});
            let id = SessionId::parse(&env("SESS_CHILD_ID")).unwrap();
            let n = |app: &App| app.open(&id, LockMode::Shared).unwrap().get("n").cloned();
            assert_eq!(n(&app), Some(Variant::I4(1)));
            // SAFETY: this process runs no other thread of the library;
            // the child runs only this library's calls and leaves with
            // _exit (no test harness, no destructors of the parent's state).
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    forked_child(app, &id, lmdb)
                }));
                if let Ok(Err(e)) = &ok {
                    eprintln!("the forked child: {e}");
                }
                // SAFETY: ends the child at once.
                unsafe { libc::_exit(if matches!(ok, Ok(Ok(()))) { 0 } else { 1 }) };
            }
            assert_eq!(await_forked(pid), Some(0), "the forked child failed");
            // The parent's application works on, and sees the child's save.
            assert_eq!(n(&app), Some(Variant::I4(2)));
            let mut s = app.open(&id, LockMode::Exclusive).unwrap();
            s.set("n", Variant::I4(3)).unwrap();
            s.close().unwrap();
            assert_eq!(app.session_count().unwrap(), 2);
            println!("DONE");
        }
        "fork-held" => {
            // A request holds a session (changed) and another (unchanged,
            // just read) when the process forks: the child lets go of its
            // copies of both, as a host's cleanup after fork() would.
            let app = app_on(lmdb.clone(), |_| {});
            let ids: Vec<SessionId> = ["SESS_CHILD_ID", "SESS_CHILD_ID2"]
                .iter()
                .map(|k| SessionId::parse(&env(k)).unwrap())
                .collect();
            let mut changed = app.open(&ids[0], LockMode::Exclusive).unwrap();
            changed.set("n", Variant::I4(5)).unwrap();
            let read = app.open(&ids[1], LockMode::Exclusive).unwrap();
            assert_eq!(read.get("n"), Some(&Variant::I4(1)));
            // SAFETY: as in the "fork" role: no other library thread; the
            // child leaves with _exit.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let refused = |r: sess::error::Result<()>| matches!(r, Err(e) if e.code() == error::E_STORE_UNAVAILABLE);
                    refused(changed.close()) && refused(read.close())
                }));
                // SAFETY: ends the child at once.
                unsafe { libc::_exit(if matches!(ok, Ok(true)) { 0 } else { 1 }) };
            }
            let exit = await_forked(pid);
            // The parent's locks still hold: another request waits them out.
            let other = app_on(lmdb.clone(), |o| {
                o.lock_timeout = Duration::from_millis(200)
            });
            for id in &ids {
                match other.open(id, LockMode::Exclusive) {
                    Ok(_) => panic!("the forked child freed its parent's lock"),
                    Err(e) => assert_eq!(e.code(), error::E_LOCK_TIMEOUT, "{e}"),
                }
            }
            // The child's closes were refused (its application is its
            // parent's).
            assert_eq!(exit, Some(0), "the forked child's closes were not refused");
            // And the parent's requests end as they would have.
            changed.close().unwrap();
            read.close().unwrap();
            assert_eq!(
                other.open(&ids[0], LockMode::Shared).unwrap().get("n"),
                Some(&Variant::I4(5))
            );
            println!("DONE");
        }
        "fork-during-on-end" => {
            // The expiry thread runs a Session_OnEnd that needs a lock the
            // host's thread holds while it forks (as Python's GIL is held
            // across os.fork()).
            let host = Arc::new(Mutex::new(()));
            let (entered, in_on_end) = std::sync::mpsc::channel();
            let entered = Mutex::new(entered);
            let clock = Arc::new(ManualClock::new(1_000_000));
            let needs = host.clone();
            let app = app_on(lmdb, |o| {
                o.clock = Some(clock.clone());
                o.expiry_interval = Some(Duration::from_millis(10));
                o.on_end = Some(Arc::new(move |_| {
                    let _ = entered.lock().unwrap().send(());
                    drop(needs.lock().unwrap());
                }));
            });
            stored(&app, &[("n", Variant::I4(1))]);
            let held = host.lock().unwrap();
            clock.advance(3_600_000);
            in_on_end.recv_timeout(Duration::from_secs(30)).unwrap();
            // SAFETY: the child only leaves, with _exit.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                // SAFETY: ends the child at once.
                unsafe { libc::_exit(0) };
            }
            drop(held);
            assert_eq!(await_forked(pid), Some(0), "the forked child failed");
            println!("DONE");
        }
        "grow" => {
            // Stores MAP_SESSIONS large sessions with `SESS_CHILD_MAP` as
            // its map size, printing each one's ID; with `SESS_CHILD_GO`,
            // once told (its application open: its disk space allocated
            // ahead).
            lmdb.map_size = env("SESS_CHILD_MAP").parse().unwrap();
            let app = app_on(lmdb, |_| {});
            if let Ok(go) = std::env::var("SESS_CHILD_GO") {
                println!("READY");
                let t = Instant::now();
                while !Path::new(&go).exists() && t.elapsed() < Duration::from_secs(60) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            for id in store_large(&app) {
                println!("ID {id}");
            }
            println!("DONE");
        }
        "adopt" => {
            // Opens the directory with `SESS_CHILD_MAP` as its map size,
            // then, once told, reads the sessions another process stored
            // meanwhile: its RESULT line says how it went.
            lmdb.map_size = env("SESS_CHILD_MAP").parse().unwrap();
            let app = app_on(lmdb, |_| {});
            let before = stored(&app, &[("n", Variant::I4(-1))]);
            println!("READY");
            let go = PathBuf::from(env("SESS_CHILD_GO"));
            let t = Instant::now();
            while !go.exists() && t.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let ids = std::fs::read_to_string(env("SESS_CHILD_IDS")).unwrap();
            let ids: Vec<SessionId> = ids.lines().map(|l| SessionId::parse(l).unwrap()).collect();
            match read_large(&app, &ids, &before) {
                Ok(()) => println!("RESULT OK"),
                Err(e) => println!("RESULT ERROR {:#x} {}", e.code(), e.detail()),
            }
        }
        "read-and-die" => {
            // Opens the directory's environment as any LMDB program does,
            // and stays inside a read transaction until it is killed: its
            // reader slot is left behind.
            let mut o = heed::EnvOpenOptions::new().read_txn_without_tls();
            let map: usize = env("SESS_CHILD_MAP").parse().unwrap();
            o.map_size(map).max_dbs(81).max_readers(1024);
            // SAFETY: the directory's files are LMDB's; this process only
            // reads them.
            let env = unsafe { o.open(&lmdb.dir) }.unwrap();
            let _txn = env.read_txn().unwrap();
            println!("READING");
            std::thread::sleep(Duration::from_secs(60)); // killed long before
        }
        "damaged" => {
            // Everything a server does with a store: its RESULT line says
            // how it went (a crash prints none).
            let ids = std::fs::read_to_string(env("SESS_CHILD_IDS")).unwrap();
            let ids: Vec<SessionId> = ids.lines().map(|l| SessionId::parse(l).unwrap()).collect();
            match use_a_damaged_store(lmdb, &ids) {
                Ok(found) => println!("RESULT OK {found}/{} found", ids.len()),
                Err(e) => println!("RESULT ERROR {:#x} {}", e.code(), e.detail()),
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

/// Waits for the child `pid` this process forked (60 s at most: then
/// kills it): its exit code (`None`: it did not exit).
fn await_forked(pid: libc::pid_t) -> Option<i32> {
    let mut status = 0;
    let t = Instant::now();
    // SAFETY: polls the child forked by the caller.
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        if t.elapsed() > Duration::from_secs(60) {
            // SAFETY: kills the child forked by the caller, which hangs.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the forked child hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status))
}

/// In a child forked from a process whose application `inherited` has the
/// directory open: that one is refused; one the child creates works (also
/// once `inherited` is gone), saving `n` = 2 in `id` and storing one more
/// session.
fn forked_child(inherited: App, id: &SessionId, lmdb: LmdbOptions) -> Result<(), String> {
    let c = code(inherited.open(id, LockMode::Shared));
    if c != error::E_STORE_UNAVAILABLE {
        return Err(format!("the inherited application gave {c:#x}"));
    }
    let mine = App::new(AppOptions {
        expiry_interval: None,
        store: StoreConfig::Lmdb(lmdb),
        ..AppOptions::default()
    })
    .map_err(|e| format!("create: {e}"))?;
    let mut s = mine
        .open(id, LockMode::Exclusive)
        .map_err(|e| format!("open: {e}"))?;
    if s.get("n") != Some(&Variant::I4(1)) {
        return Err(format!("n is {:?}", s.get("n")));
    }
    s.set("n", Variant::I4(2)).map_err(|e| e.to_string())?;
    s.close().map_err(|e| format!("save: {e}"))?;
    drop(inherited);
    let mut s = mine.create_session().map_err(|e| e.to_string())?;
    s.set("m", Variant::I4(1)).map_err(|e| e.to_string())?;
    s.close().map_err(|e| format!("create a session: {e}"))?;
    match mine.session_count() {
        Ok(2) => Ok(()),
        other => Err(format!("count: {other:?}")),
    }
}

// ---- the shared suite ------------------------------------------------------

#[test]
fn suite_lmdb() {
    let dirs = Mutex::new(Vec::new());
    suite::suite(&|mut o| {
        let dir = TempDir::new("suite");
        o.store = StoreConfig::Lmdb(lmdb_opts(dir.path()));
        dirs.lock().unwrap().push(dir);
        App::new(o).unwrap()
    });
}

#[test]
fn sessions_stored_under_larger_limits_are_too_large() {
    let dir = TempDir::new("larger");
    suite::stored_under_larger_limits(&|mut o| {
        o.store = StoreConfig::Lmdb(lmdb_opts(dir.path()));
        App::new(o).unwrap()
    });
}

// ---- machine-local properties ----------------------------------------------

#[test]
fn four_processes_two_threads_40000_increments() {
    let dir = TempDir::new("incr");
    let app = app_on(lmdb_opts(dir.path()), |_| {});
    let id = stored(&app, &[("n", Variant::I4(0))]);
    let t = Instant::now();
    let mut children: Vec<Child> = (0..4)
        .map(|_| {
            let mut e = child_env(dir.path(), 30_000);
            e.push(("SESS_CHILD_ID", id.to_string()));
            e.push(("SESS_CHILD_N", "5000".into()));
            e.push(("SESS_CHILD_THREADS", "2".into()));
            spawn_child("incr", &e)
        })
        .collect();
    for c in &mut children {
        assert!(wait_bounded(c, Duration::from_secs(120)).success());
    }
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.mode(), StoreMode::Lmdb);
    assert_eq!(s.get("n"), Some(&Variant::I4(40_000)));
    eprintln!(
        "40,000 increments by 4 processes x 2 threads: {:?}",
        t.elapsed()
    );
}

#[test]
fn a_killed_holders_lock_frees_after_its_lease() {
    let dir = TempDir::new("kill");
    // Long enough that the impatient waiter's attempts end before it,
    // even on a busy machine.
    let ttl = Duration::from_millis(3000);
    let mut lmdb = lmdb_opts(dir.path());
    lmdb.lock_ttl = ttl;
    let app = app_on(lmdb.clone(), |_| {});
    let id = stored(&app, &[("x", Variant::I4(1))]);
    let mut e = child_env(dir.path(), ttl.as_millis() as u64);
    e.push(("SESS_CHILD_ID", id.to_string()));
    let mut child = spawn_child("hold", &e);
    await_line(&mut child, "HELD", Duration::from_secs(20));
    child.kill().unwrap(); // SIGKILL: the lock is never released
    let killed = Instant::now();
    let _ = child.wait();
    // A waiter whose lock timeout is shorter than what is left of the
    // lease gets the documented code...
    let impatient = app_on(lmdb.clone(), |o| {
        o.lock_timeout = Duration::from_millis(200)
    });
    assert_eq!(
        code(impatient.open(&id, LockMode::Exclusive)),
        error::E_LOCK_TIMEOUT
    );
    assert_eq!(
        code(impatient.open(&id, LockMode::Shared)),
        error::E_LOCK_TIMEOUT
    );
    // ...a patient one proceeds once the lease has passed.
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    let waited = killed.elapsed();
    assert!(
        waited <= ttl + Duration::from_millis(1000),
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
fn the_first_process_to_open_the_directory_frees_the_locks_of_processes_gone() {
    // A holder with the longest lease is killed while no other process has
    // the directory open (a restart: every worker killed, or the machine
    // crashed; a clock set back at the reboot would stretch the lease too).
    let dir = TempDir::new("restart-locks");
    let lmdb = lmdb_opts(dir.path());
    let id = stored(&app_on(lmdb.clone(), |_| {}), &[("x", Variant::I4(1))]);
    let mut e = child_env(dir.path(), 24 * 3600 * 1000);
    e.push(("SESS_CHILD_ID", id.to_string()));
    let mut child = spawn_child("hold", &e);
    await_line(&mut child, "HELD", Duration::from_secs(20));
    child.kill().unwrap(); // SIGKILL: the lock is never released
    let _ = child.wait();
    // The first process to open it again knows no process holds a lock:
    // the session is free at once, not after 24 h.
    let app = app_on(lmdb, |o| o.lock_timeout = Duration::from_secs(2));
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("x", Variant::I4(2)).unwrap();
    s.close().unwrap();
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("x"),
        Some(&Variant::I4(2))
    );
}

/// The lock slot of `id` in an LMDB lock table (as `locks.rs` picks it:
/// the key hash's first 8 bytes, 2^20 slots).
fn lock_slot(id: &SessionId) -> u64 {
    let h = KeyHash::of(id);
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap()) & ((1 << 20) - 1)
}

#[test]
fn a_short_lock_ttl_does_not_break_a_longer_ones_lock() {
    // Two applications in one directory, one environment (a small map), so
    // one lock table: a 60 s and a 100 ms lock_ttl (as the Apache module
    // sets them per <Location>).
    let dir = TempDir::new("ttls");
    let long_opts = LmdbOptions {
        name: "/long".into(),
        map_size: 8 << 20,
        lock_ttl: Duration::from_secs(60),
        ..lmdb_opts(dir.path())
    };
    let short_opts = LmdbOptions {
        name: "/short".into(),
        lock_ttl: Duration::from_millis(100),
        ..long_opts.clone()
    };
    let long = app_on(long_opts, |_| {});
    let short = app_on(short_opts, |o| o.lock_timeout = Duration::from_millis(1500));
    // Sessions of the long one, and an ID whose lock slot one of them has.
    let by_slot: HashMap<u64, SessionId> = (0..2048)
        .map(|i| {
            let id = stored(&long, &[("n", Variant::I4(i))]);
            (lock_slot(&id), id)
        })
        .collect();
    let (held, probe) = loop {
        let probe = SessionId::generate().unwrap();
        if let Some(held) = by_slot.get(&lock_slot(&probe)) {
            break (*held, probe);
        }
    };
    let mut s = long.open(&held, LockMode::Exclusive).unwrap();
    // The short one waits for the lock its whole lock_timeout (they share
    // it): it does not take it for stale after its own 100 ms.
    let t = Instant::now();
    assert_eq!(
        code(short.open(&probe, LockMode::Exclusive)),
        error::E_LOCK_TIMEOUT
    );
    assert!(
        t.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    // The holder still holds it: its save goes through.
    s.set("n", Variant::I4(-1)).unwrap();
    s.close().unwrap();
    assert_eq!(
        long.open(&held, LockMode::Shared).unwrap().get("n"),
        Some(&Variant::I4(-1))
    );
    assert_eq!(
        code(short.open(&probe, LockMode::Exclusive)),
        error::E_SESSION_NOT_FOUND
    );
}

/// The lock tables under `dir` (the directory's and its parts').
fn lock_tables(dir: &Path) -> Vec<PathBuf> {
    data_files(dir)
        .iter()
        .map(|f| f.with_file_name("sess-locks"))
        .collect()
}

/// Marks the lock tables `tables` with the format before (locks recorded
/// when they were taken, judged by each reader's lock_ttl).
fn mark_old(tables: &[PathBuf]) {
    for t in tables {
        let f = std::fs::File::options().write(true).open(t).unwrap();
        f.write_all_at(b"sesslck1", 0).unwrap();
    }
}

/// Whether every table of `tables` is in this version's format.
fn all_converted(tables: &[PathBuf]) -> bool {
    tables.iter().all(|t| {
        let mut magic = [0u8; 8];
        std::fs::File::open(t)
            .unwrap()
            .read_exact_at(&mut magic, 0)
            .unwrap();
        &magic == b"sesslck2"
    })
}

#[test]
fn lock_tables_of_the_earlier_format_are_converted_once_no_process_uses_them() {
    let dir = TempDir::new("old-locks");
    let lmdb = lmdb_opts(dir.path());
    let id = stored(&app_on(lmdb.clone(), |_| {}), &[("n", Variant::I4(0))]);
    // Another process has the directory open and holds the session's lock
    // (as a process of the earlier version would) ...
    let mut e = child_env(dir.path(), 30_000);
    e.push(("SESS_CHILD_ID", id.to_string()));
    let mut child = spawn_child("hold", &e);
    await_line(&mut child, "HELD", Duration::from_secs(20));
    // ... in tables of the format before.
    let tables = lock_tables(dir.path());
    assert_eq!(tables.len(), 4, "{tables:?}");
    mark_old(&tables);
    let make = || {
        App::new(AppOptions {
            expiry_interval: None,
            lock_timeout: Duration::from_secs(2),
            store: StoreConfig::Lmdb(lmdb.clone()),
            ..AppOptions::default()
        })
    };
    // In use by another process: refused, saying which file and what to do.
    let e = make().err().expect("an old table in use is refused");
    assert_eq!(e.code(), error::E_STORE_CORRUPT, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("sesslck1") && text.contains("sess-locks"),
        "{text}"
    );
    assert!(text.contains("stop every process"), "{text}");
    child.kill().unwrap();
    let _ = child.wait();
    // No process uses them now: converted, the dead holder's lock freed
    // (not left to its 30 s lease: this waits 2 s at most).
    let app = make().unwrap();
    assert!(all_converted(&tables));
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.set("n", Variant::I4(1)).unwrap();
    s.close().unwrap();
    drop(app);
    // Processes starting at once on tables of the format before: one
    // converts each, the others wait for it (none holds the directory
    // meanwhile), and all work.
    mark_old(&tables);
    let mut children: Vec<Child> = (0..3)
        .map(|_| {
            let mut e = child_env(dir.path(), 30_000);
            e.push(("SESS_CHILD_ID", id.to_string()));
            e.push(("SESS_CHILD_N", "20".into()));
            e.push(("SESS_CHILD_THREADS", "2".into()));
            spawn_child("incr", &e)
        })
        .collect();
    for c in &mut children {
        assert!(wait_bounded(c, Duration::from_secs(120)).success());
    }
    assert!(all_converted(&tables));
    let app = make().unwrap();
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("n"),
        Some(&Variant::I4(121))
    );
}

#[test]
fn a_regenerated_session_stays_in_its_part_and_moves_in_one_step() {
    let dir = TempDir::new("regenerate");
    let app = app_on(lmdb_opts(dir.path()), |_| {});
    assert!(dir.path().join("part-3").is_dir(), "a parted directory");
    // The part a session lives in: its key hash's last byte (`parts.rs`).
    let part = |id: &SessionId| KeyHash::of(id).as_bytes()[15] % 4;
    let mut id = stored(&app, &[("v", Variant::I4(1))]);
    for _ in 0..16 {
        let mut s = app.open(&id, LockMode::Exclusive).unwrap();
        s.regenerate_id().unwrap();
        let new = s.id();
        assert_eq!(part(&new), part(&id));
        s.close().unwrap();
        assert_eq!(app.session_count().unwrap(), 1);
        assert_eq!(
            code(app.open(&id, LockMode::Shared)),
            error::E_SESSION_NOT_FOUND
        );
        id = new;
    }
    assert_eq!(app.open(&id, LockMode::Shared).unwrap().count(), 1);
}

#[test]
fn a_slow_request_cannot_resurrect_an_abandoned_session() {
    let dir = TempDir::new("slow");
    let mut lmdb = lmdb_opts(dir.path());
    lmdb.lock_ttl = Duration::from_millis(400);
    // The slow request's lease has run out: its save finds no session.
    suite::slow_request_cannot_resurrect(
        &|mut o| {
            o.store = StoreConfig::Lmdb(lmdb.clone());
            App::new(o).unwrap()
        },
        error::E_SESSION_NOT_FOUND,
    );
}

#[test]
fn a_restart_keeps_sessions_and_the_first_sweep_ends_the_expired() {
    let dir = TempDir::new("restart");
    let t0 = 1_900_000_000_000u64;
    let mut e = child_env(dir.path(), 30_000);
    e.push(("SESS_CHILD_NOW", t0.to_string()));
    let mut child = spawn_child("create", &e);
    let lines = await_line(&mut child, "DONE", Duration::from_secs(30));
    assert!(wait_bounded(&mut child, Duration::from_secs(30)).success());
    let ids: Vec<(i32, SessionId)> = lines
        .iter()
        .filter_map(|l| {
            // The last two words: the harness may print before them.
            let mut w = l.split_whitespace().rev();
            let (id, n) = (w.next()?, w.next()?);
            Some((n.parse().ok()?, SessionId::parse(id).ok()?))
        })
        .collect();
    assert_eq!(ids.len(), 3, "{lines:?}");
    // This process opens the directory anew, 5 minutes later: the two
    // live sessions are there; the third (Timeout 1) has expired.
    let clock = Arc::new(ManualClock::new(t0 + 5 * 60_000));
    let ends = Arc::new(Mutex::new(Vec::new()));
    let en = ends.clone();
    let app = app_on(lmdb_opts(dir.path()), |o| {
        o.clock = Some(clock.clone());
        o.on_end = Some(Arc::new(move |s| {
            en.lock()
                .unwrap()
                .push((s.id().to_string(), s.get("n").cloned()));
        }));
    });
    assert_eq!(app.session_count().unwrap(), 3);
    assert_eq!(app.expire().unwrap(), 1);
    assert_eq!(
        *ends.lock().unwrap(),
        vec![(ids[2].1.to_string(), Some(Variant::I4(3)))],
        "OnEnd with the real ID (id_secret) and the final contents"
    );
    for (n, id) in &ids[..2] {
        let s = app.open(id, LockMode::Shared).unwrap();
        assert_eq!(s.get("n"), Some(&Variant::I4(*n)));
    }
    assert_eq!(
        code(app.open(&ids[2].1, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
    assert_eq!(app.session_count().unwrap(), 2);
}

#[test]
fn three_processes_racing_to_sweep_end_each_session_once() {
    let dir = TempDir::new("sweep");
    let t0 = 1_900_000_000_000u64;
    let clock = Arc::new(ManualClock::new(t0));
    let app = app_on(lmdb_opts(dir.path()), |o| o.clock = Some(clock.clone()));
    const N: i32 = 300;
    let mut ids = std::collections::HashMap::new();
    for n in 0..N {
        let mut s = app.create_session().unwrap();
        s.set_timeout(1).unwrap();
        s.set("n", Variant::I4(n)).unwrap();
        ids.insert(n, s.id().to_string());
        s.close().unwrap();
    }
    let go = dir.path().join("go");
    let mut children: Vec<Child> = (0..3)
        .map(|_| {
            let mut e = child_env(dir.path(), 30_000);
            e.push(("SESS_CHILD_NOW", (t0 + 2 * 60_000).to_string()));
            e.push(("SESS_CHILD_GO", go.display().to_string()));
            spawn_child("sweep", &e)
        })
        .collect();
    let outs: Vec<_> = children
        .iter_mut()
        .map(|c| {
            let out = c.stdout.take().unwrap();
            std::thread::spawn(move || {
                BufReader::new(out)
                    .lines()
                    .map_while(Result::ok)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    // Let the children open the store, then start them together.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, b"go").unwrap();
    for c in &mut children {
        assert!(wait_bounded(c, Duration::from_secs(60)).success());
    }
    let mut ended = std::collections::HashMap::<i32, usize>::new();
    let mut busy = 0;
    for out in outs {
        let lines = out.join().unwrap();
        let ends: Vec<&String> = lines.iter().filter(|l| l.starts_with("END ")).collect();
        busy += usize::from(!ends.is_empty());
        for l in ends {
            let mut parts = l[4..].split(' ');
            let n: i32 = parts.next().unwrap().parse().unwrap();
            assert_eq!(parts.next(), Some(ids[&n].as_str()), "the real ID");
            *ended.entry(n).or_default() += 1;
        }
    }
    assert_eq!(ended.len(), N as usize, "every session ended");
    assert!(ended.values().all(|&c| c == 1), "each exactly once");
    eprintln!("{busy} of 3 sweepers ended sessions");
    assert_eq!(app.session_count().unwrap(), 0);
}

#[test]
fn a_session_stored_under_larger_limits_does_not_stop_expiry() {
    // One environment (a small map): every session in one expiry index.
    let dir = TempDir::new("too-large");
    let lmdb = LmdbOptions {
        map_size: 8 << 20,
        ..lmdb_opts(dir.path())
    };
    let t0 = 1_900_000_000_000u64;
    let clock = Arc::new(ManualClock::new(t0));
    let roomy = app_on(lmdb.clone(), |o| o.clock = Some(clock.clone()));
    // Due first: a session larger than the limits set later allow.
    let mut s = roomy.create_session().unwrap();
    s.set_timeout(1).unwrap();
    s.set("n", Variant::I4(0)).unwrap();
    s.set("big", Variant::bstr(&"x".repeat(64 << 10))).unwrap();
    s.close().unwrap();
    clock.advance(1000);
    for n in 1..=3 {
        let mut s = roomy.create_session().unwrap();
        s.set_timeout(1).unwrap();
        s.set("n", Variant::I4(n)).unwrap();
        s.close().unwrap();
    }
    drop(roomy);
    // The application with lower limits (a configuration change) ends
    // the others, and reports the one it cannot hand to Session_OnEnd.
    clock.advance(2 * 60_000);
    let ends = Arc::new(Mutex::new(Vec::new()));
    let e = ends.clone();
    let strict = app_on(lmdb, |o| {
        o.clock = Some(clock.clone());
        o.max_items = 8;
        o.max_value_bytes = 1024;
        o.on_end = Some(Arc::new(move |s| {
            e.lock().unwrap().push(s.get("n").cloned());
        }));
    });
    let failed = strict.expire().unwrap_err();
    assert_eq!(failed.code(), error::E_SESSION_TOO_LARGE, "{failed}");
    let mut ended = ends.lock().unwrap().clone();
    ended.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(
        ended,
        vec![
            Some(Variant::I4(1)),
            Some(Variant::I4(2)),
            Some(Variant::I4(3))
        ]
    );
    assert_eq!(strict.session_count().unwrap(), 0);
    assert_eq!(strict.expire().unwrap(), 0);
}

/// What one sweep by another process at `now` does: (its ENDs, LEFT).
fn sweep_elsewhere(dir: &Path, now: u64) -> (Vec<String>, u64) {
    let mut e = child_env(dir, 30_000);
    e.push(("SESS_CHILD_NOW", now.to_string()));
    let mut child = spawn_child("sweep-once", &e);
    let lines = await_line(&mut child, "DONE", Duration::from_secs(30));
    assert!(wait_bounded(&mut child, Duration::from_secs(30)).success());
    let ends = lines
        .iter()
        .filter_map(|l| Some(l.split_once("END ")?.1.to_owned()))
        .collect();
    let left = lines
        .iter()
        .find_map(|l| l.split_once("LEFT ")?.1.trim().parse().ok())
        .expect("LEFT");
    (ends, left)
}

#[test]
fn read_only_slides_are_batched_and_hold_across_processes() {
    let dir = TempDir::new("slides");
    let t0 = 1_900_000_000_000u64;
    let clock = Arc::new(ManualClock::new(t0));
    let app = app_on(lmdb_opts(dir.path()), |o| o.clock = Some(clock.clone()));
    let mut s = app.create_session().unwrap();
    s.set_timeout(1).unwrap(); // deadline t0 + 60 s
    s.set("n", Variant::I4(7)).unwrap();
    let id = s.id();
    s.close().unwrap();
    // A read-only request 30 s on slides the deadline to t0 + 90 s: a
    // slide this process queues for its next batch.
    clock.advance(30_000);
    let read = |app: &App| {
        let s = app.open(&id, LockMode::Shared).unwrap();
        assert_eq!(s.get("n"), Some(&Variant::I4(7)));
        s.close().unwrap();
    };
    read(&app);
    // Another process sweeping before the stored deadline ends nothing.
    assert_eq!(sweep_elsewhere(dir.path(), t0 + 58_000), (vec![], 1));
    // Past the stored deadline, this process still sees its own slide
    // (and slides on, to t0 + 125 s).
    clock.advance(35_000);
    read(&app);
    // Closing writes what is queued; another process sweeping past the
    // first deadlines, then the last, ends the session once, with its
    // contents.
    drop(app);
    assert_eq!(sweep_elsewhere(dir.path(), t0 + 100_000), (vec![], 1));
    assert_eq!(
        sweep_elsewhere(dir.path(), t0 + 125_000),
        (vec!["7".to_owned()], 0)
    );
}

#[test]
fn a_full_map_is_a_clear_error_and_keeps_what_was_stored() {
    let dir = TempDir::new("full");
    let lmdb = LmdbOptions {
        map_size: 1 << 20,
        ..lmdb_opts(dir.path())
    };
    let app = app_on(lmdb, |_| {});
    let big = Variant::bstr(&"x".repeat(8 << 10));
    let mut kept = Vec::new();
    let full = loop {
        let mut s = app.create_session().unwrap();
        // The first write stores the session, with its value: when that
        // is what the map has no room for, no session is stored.
        if let Err(e) = s.set("v", big.clone()) {
            assert!(!s.is_stored());
            assert_eq!(app.session_count().unwrap(), kept.len());
            break e;
        }
        s.set("n", Variant::I4(kept.len() as i32)).unwrap();
        let id = s.id();
        match s.close() {
            Ok(()) => kept.push(id),
            Err(e) => break e,
        }
        assert!(kept.len() < 1000, "the map never filled");
    };
    assert_eq!(full.code(), error::E_STORE_FULL, "{full:?}");
    assert!(kept.len() > 5);
    for (n, id) in kept.iter().enumerate() {
        let s = app.open(id, LockMode::Shared).unwrap();
        assert_eq!(s.get("n"), Some(&Variant::I4(n as i32)));
    }
    // Growing a stored session past the map fails the same way and keeps
    // the session as it was.
    let mut s = app.open(&kept[0], LockMode::Exclusive).unwrap();
    for i in 0..64 {
        s.set(&format!("more{i}"), big.clone()).unwrap();
    }
    assert_eq!(code(s.close()), error::E_STORE_FULL);
    let s = app.open(&kept[0], LockMode::Exclusive).unwrap();
    assert_eq!(s.contents().len(), 2);
    // Freeing space lets saves through again.
    for id in &kept[1..] {
        let mut s = app.open(id, LockMode::Exclusive).unwrap();
        s.abandon();
        s.close().unwrap();
    }
    stored(&app, &[("v", big)]);
}

#[test]
fn damaged_files_and_bad_directories_are_refused_at_creation() {
    let make = |lmdb: LmdbOptions| {
        App::new(AppOptions {
            expiry_interval: None,
            store: StoreConfig::Lmdb(lmdb),
            ..AppOptions::default()
        })
    };
    let dir = TempDir::new("bad");
    let garbage: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(dir.path().join("data.mdb"), &garbage).unwrap();
    assert_eq!(code(make(lmdb_opts(dir.path()))), error::E_STORE_CORRUPT);
    let missing = dir.path().join("missing");
    assert_eq!(code(make(lmdb_opts(&missing))), error::E_STORE_ACCESS);
    let file = dir.path().join("data.mdb");
    assert_eq!(code(make(lmdb_opts(&file))), error::E_STORE_ACCESS);
    // A directory no one may write, not even root.
    assert_eq!(
        code(make(lmdb_opts(Path::new("/proc/self")))),
        error::E_STORE_ACCESS
    );
    assert_eq!(
        code(make(lmdb_opts(Path::new("relative/dir")))),
        error::E_INVALID_OPTION
    );
    let tiny = LmdbOptions {
        map_size: 4096,
        ..lmdb_opts(dir.path())
    };
    assert_eq!(code(make(tiny)), error::E_INVALID_OPTION);
}

/// The smallest map accepted holds a session with a value of tens of KiB,
/// ends it once it expired and takes the next; a smaller one is refused,
/// naming the minimum (a 64 KiB map, once accepted, held one session with
/// a 4 KiB value and, once a sweep had ended it, refused every write).
#[test]
fn the_smallest_map_accepted_takes_new_sessions_after_expiry() {
    let dir = TempDir::new("smallest");
    let clock = Arc::new(ManualClock::new(1_000_000_000));
    let make = |map_size| {
        App::new(AppOptions {
            expiry_interval: None,
            clock: Some(clock.clone()),
            store: StoreConfig::Lmdb(LmdbOptions {
                map_size,
                ..lmdb_opts(dir.path())
            }),
            ..AppOptions::default()
        })
    };
    let e = make((1 << 20) - 1).err().expect("a map under 1 MiB");
    assert_eq!(e.code(), error::E_INVALID_OPTION);
    assert!(e.to_string().contains("1 MiB"), "{e}");
    let app = make(1 << 20).unwrap();
    for kib in [4, 8, 16, 64] {
        stored(&app, &[("v", Variant::bstr(&"x".repeat(kib << 10)))]);
        clock.advance(21 * 60_000);
        assert_eq!(app.expire().unwrap(), 1, "{kib} KiB");
    }
    stored(&app, &[("n", Variant::I4(1))]);
}

/// A map filled until new sessions are refused (`E_STORE_FULL`) never
/// jams: a session is still abandoned; once the rest expire, a sweep ends
/// every one (Session_OnEnd once each) and new sessions are taken again;
/// the file passes the check of the next opening. (LMDB reuses a page
/// freed by a commit only two commits later: a write that took the map's
/// last free pages left every sweep failing for good, in about half of
/// such fills.)
#[test]
fn a_filled_map_ends_every_session_once_and_takes_new_ones() {
    for (map_size, value) in [
        (1 << 20, 200),
        (1 << 20, 1500),
        (1 << 20, 6000),
        (4 << 20, 1500),
        (4 << 20, 20_000),
    ] {
        let what = format!("a {map_size} B map, {value} B values");
        let dir = TempDir::new("filled");
        let clock = Arc::new(ManualClock::new(1_000_000_000));
        let ends = Arc::new(Mutex::new(HashMap::<i32, usize>::new()));
        let lmdb = LmdbOptions {
            map_size,
            ..lmdb_opts(dir.path())
        };
        let make = || {
            let e = ends.clone();
            app_on(lmdb.clone(), |o| {
                o.clock = Some(clock.clone());
                o.on_end = Some(Arc::new(move |s| {
                    let Some(Variant::I4(n)) = s.get("n").cloned() else {
                        panic!("OnEnd without contents")
                    };
                    *e.lock().unwrap().entry(n).or_default() += 1;
                }));
            })
        };
        let app = make();
        let v = Variant::bstr(&"x".repeat(value));
        let mut ids = Vec::new();
        let full = loop {
            let mut s = app.create_session().unwrap();
            let id = s.id();
            let set = s.set("n", Variant::I4(ids.len() as i32));
            if let Err(e) = set
                .and_then(|()| s.set("v", v.clone()))
                .and_then(|()| s.close())
            {
                break e;
            }
            ids.push(id);
        };
        assert_eq!(full.code(), error::E_STORE_FULL, "{what}: {full}");
        assert!(ids.len() > 5, "{what}: {}", ids.len());
        // Those whose first write went through are stored (the last one
        // perhaps without its value).
        let stored_n = app.session_count().unwrap();
        let mut s = app.open(&ids[0], LockMode::Exclusive).unwrap();
        s.abandon();
        s.close().unwrap_or_else(|e| panic!("{what}: abandon: {e}"));
        clock.advance(21 * 60_000);
        let mut swept = 0;
        loop {
            match app.expire() {
                Ok(0) => break,
                Ok(n) => swept += n,
                Err(e) => panic!("{what}: a sweep after {swept}: {e}"),
            }
        }
        let ends = std::mem::take(&mut *ends.lock().unwrap());
        assert_eq!(ends.len(), stored_n, "{what}: every session ended");
        assert!(ends.values().all(|&c| c == 1), "{what}: each once");
        assert_eq!(app.session_count().unwrap(), 0, "{what}");
        stored(&app, &[("n", Variant::I4(-1)), ("v", v)]);
        drop(app);
        // The first opener checks every page (`verify.rs`).
        stored(&make(), &[("n", Variant::I4(-2))]);
    }
}

#[test]
fn a_foreign_lmdb_environment_is_refused_not_adopted() {
    let dir = TempDir::new("foreign");
    {
        // Another program's environment, with a database of its own.
        let mut o = heed::EnvOpenOptions::new();
        o.max_dbs(4);
        // SAFETY: no other environment is open on this directory.
        let env = unsafe { o.open(dir.path()) }.unwrap();
        let mut txn = env.write_txn().unwrap();
        let db: heed::Database<heed::types::Bytes, heed::types::Bytes> =
            env.create_database(&mut txn, Some("accounts")).unwrap();
        db.put(&mut txn, b"alice", b"42").unwrap();
        txn.commit().unwrap();
    }
    let made = App::new(AppOptions {
        expiry_interval: None,
        store: StoreConfig::Lmdb(lmdb_opts(dir.path())),
        ..AppOptions::default()
    });
    let e = made.err().expect("refused");
    assert_eq!(e.code(), error::E_STORE_CORRUPT);
    assert!(
        e.to_string().contains(&*dir.path().to_string_lossy()),
        "{e}"
    );
    // Not marked as a libsess store, its data as it was.
    let mut o = heed::EnvOpenOptions::new();
    o.max_dbs(4);
    // SAFETY: no other environment is open on this directory now.
    let env = unsafe { o.open(dir.path()) }.unwrap();
    let txn = env.read_txn().unwrap();
    let db = |name| -> Option<heed::Database<heed::types::Bytes, heed::types::Bytes>> {
        env.open_database(&txn, Some(name)).unwrap()
    };
    assert!(db("meta").is_none());
    assert_eq!(
        db("accounts").unwrap().get(&txn, b"alice").unwrap(),
        Some(&b"42"[..])
    );
}

#[test]
fn an_application_created_in_a_forked_child_opens_the_directory_anew() {
    let dir = TempDir::new("fork");
    let id = stored(
        &app_on(lmdb_opts(dir.path()), |_| {}),
        &[("n", Variant::I4(1))],
    );
    // A process with an application on the directory forks; its child
    // creates one of its own (see the "fork" role).
    let mut e = child_env(dir.path(), 30_000);
    e.push(("SESS_CHILD_ID", id.to_string()));
    let mut child = spawn_child("fork", &e);
    await_line(&mut child, "DONE", Duration::from_secs(120));
    assert!(wait_bounded(&mut child, Duration::from_secs(60)).success());
    let app = app_on(lmdb_opts(dir.path()), |_| {});
    assert_eq!(
        app.open(&id, LockMode::Shared).unwrap().get("n"),
        Some(&Variant::I4(3))
    );
    assert_eq!(app.session_count().unwrap(), 2);
}

#[test]
fn a_forked_child_letting_go_of_its_parents_sessions_frees_no_lock() {
    let dir = TempDir::new("fork-held");
    let app = app_on(lmdb_opts(dir.path()), |_| {});
    let ids = [0, 1].map(|_| stored(&app, &[("n", Variant::I4(1))]));
    drop(app);
    // See the "fork-held" role.
    let mut e = child_env(dir.path(), 30_000);
    e.push(("SESS_CHILD_ID", ids[0].to_string()));
    e.push(("SESS_CHILD_ID2", ids[1].to_string()));
    let mut child = spawn_child("fork-held", &e);
    await_line(&mut child, "DONE", Duration::from_secs(120));
    assert!(wait_bounded(&mut child, Duration::from_secs(60)).success());
}

#[test]
fn a_fork_while_session_on_end_waits_for_the_forking_thread_does_not_hang() {
    let dir = TempDir::new("fork-on-end");
    // See the "fork-during-on-end" role: its fork() must return.
    let mut child = spawn_child("fork-during-on-end", &child_env(dir.path(), 30_000));
    assert!(wait_bounded(&mut child, Duration::from_secs(30)).success());
}

#[test]
fn the_files_mapped_shared_have_their_disk_blocks() {
    use std::os::unix::fs::MetadataExt;
    // A write through a shared map into a hole the disk cannot fill is
    // SIGBUS: the lock tables and wake-up words are allocated when made.
    let dir = TempDir::new("blocks");
    let app = app_on(lmdb_opts(dir.path()), |_| {});
    let files: Vec<PathBuf> = data_files(dir.path())
        .iter()
        .flat_map(|f| {
            [
                f.with_file_name("sess-locks"),
                f.with_file_name("sess-wakes"),
            ]
        })
        .collect();
    assert_eq!(files.len(), 8, "four parts");
    for file in &files {
        let meta = std::fs::metadata(file).unwrap();
        assert!(
            meta.blocks() * 512 >= meta.len(),
            "{}: {} of {} bytes allocated",
            file.display(),
            meta.blocks() * 512,
            meta.len()
        );
    }
    drop(app);
}

#[test]
fn a_removed_part_directory_is_refused_not_made_anew() {
    let dir = TempDir::new("part-removed");
    let app = app_on(lmdb_opts(dir.path()), |_| {});
    for i in 0..40 {
        stored(&app, &[("i", Variant::I4(i))]);
    }
    drop(app);
    // A part's directory removed (or left out of a copy), with its
    // sessions and its lock table: the directory was laid out in parts,
    // so it is missing, not to be made anew (its sessions silently lost).
    std::fs::remove_dir_all(dir.path().join("part-2")).unwrap();
    let e = App::new(AppOptions {
        expiry_interval: None,
        store: StoreConfig::Lmdb(lmdb_opts(dir.path())),
        ..AppOptions::default()
    })
    .err()
    .expect("a directory missing a part is refused");
    assert_eq!(e.code(), error::E_STORE_CORRUPT, "{e}");
    assert!(e.to_string().contains("part-2"), "{e}");
    assert!(!dir.path().join("part-2").exists(), "not made anew");
}

/// The data files under `dir` (the directory's and its parts').
fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![dir.join("data.mdb")];
    for entry in std::fs::read_dir(dir).unwrap() {
        let part = entry.unwrap().path().join("data.mdb");
        if part.exists() {
            files.push(part);
        }
    }
    files
}

#[test]
fn new_directories_spread_sessions_over_parts_and_single_ones_stay_single() {
    // A new directory with room to split: four environments.
    let dir = TempDir::new("parts");
    let app = app_on(lmdb_opts(dir.path()), |o| o.max_sessions = 40);
    let ids: Vec<SessionId> = (0..40)
        .map(|i| stored(&app, &[("i", Variant::I4(i))]))
        .collect();
    let sizes: Vec<u64> = data_files(dir.path())
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .collect();
    assert_eq!(sizes, vec![(1 << 30) / 4; 4], "a quarter of the map each");
    // The limit counts every part's sessions.
    assert_eq!(app.session_count().unwrap(), 40);
    let mut one_more = app.create_session().unwrap();
    assert_eq!(
        code(one_more.set("i", Variant::I4(40))),
        error::E_TOO_MANY_SESSIONS
    );
    one_more.discard().unwrap();
    // Every session is found again, in whichever part it went to, by
    // another process too.
    for (i, id) in ids.iter().enumerate() {
        let s = app.open(id, LockMode::Shared).unwrap();
        assert_eq!(s.get("i"), Some(&Variant::I4(i as i32)));
    }
    drop(app);
    let again = app_on(lmdb_opts(dir.path()), |_| {});
    assert_eq!(again.session_count().unwrap(), 40);
    // A part opened as a directory of its own is refused, not taken for an
    // empty store (here while this process has it open as a part).
    let alone = App::new(AppOptions {
        expiry_interval: None,
        store: StoreConfig::Lmdb(lmdb_opts(&dir.path().join("part-2"))),
        ..AppOptions::default()
    });
    assert_eq!(code(alone), error::E_STORE_CORRUPT);
    drop(again);
    // Each part holds some of the sessions (40 uniform keys miss one of
    // four parts with probability 4 × 0.75^40 ≈ 4e-5).
    let per_part: Vec<usize> = data_files(dir.path())
        .iter()
        .map(|f| {
            let mut o = heed::EnvOpenOptions::new();
            o.max_dbs(8);
            // SAFETY: no environment is open on this directory now.
            let env = unsafe { o.open(f.parent().unwrap()) }.unwrap();
            let txn = env.read_txn().unwrap();
            let db: heed::Database<heed::types::Bytes, heed::types::Bytes> =
                env.open_database(&txn, Some("sessions:")).unwrap().unwrap();
            db.len(&txn).unwrap() as usize
        })
        .collect();
    assert_eq!(per_part.iter().sum::<usize>(), 40, "{per_part:?}");
    assert!(per_part.iter().all(|&n| n > 0), "{per_part:?}");

    // A directory whose parts were being made when their maker stopped
    // (`part-1` only) gets the rest.
    let half = TempDir::new("half");
    std::fs::create_dir(half.path().join("part-1")).unwrap();
    let id = stored(
        &app_on(lmdb_opts(half.path()), |_| {}),
        &[("i", Variant::I4(1))],
    );
    assert_eq!(data_files(half.path()).len(), 4);
    assert!(app_on(lmdb_opts(half.path()), |_| {})
        .open(&id, LockMode::Shared)
        .is_ok());

    // A directory first written with a map too small to split is one
    // environment, and stays one when opened with a larger map.
    let small = TempDir::new("single");
    let lmdb = LmdbOptions {
        map_size: 8 << 20,
        ..lmdb_opts(small.path())
    };
    let id = stored(&app_on(lmdb, |_| {}), &[("i", Variant::I4(7))]);
    let grown = app_on(lmdb_opts(small.path()), |_| {});
    assert_eq!(
        grown.open(&id, LockMode::Shared).unwrap().get("i"),
        Some(&Variant::I4(7))
    );
    assert_eq!(data_files(small.path()).len(), 1);
}

/// How many sessions [`store_large`] stores: 100 MiB, spread over the
/// parts, past a quarter of a 64 MiB map in each.
const MAP_SESSIONS: i32 = 400;

/// Stores [`MAP_SESSIONS`] sessions of 256 KiB each in `app` (`n` = their
/// number): their IDs.
fn store_large(app: &App) -> Vec<SessionId> {
    let big = Variant::bstr(&"m".repeat(256 << 10));
    (0..MAP_SESSIONS)
        .map(|i| stored(app, &[("n", Variant::I4(i)), ("v", big.clone())]))
        .collect()
}

/// Reads the sessions [`store_large`] stored (`ids`), from four threads
/// at once, then `mine` (stored by `app`'s process before them), counts
/// them, and stores one more.
fn read_large(app: &App, ids: &[SessionId], mine: &SessionId) -> sess::error::Result<()> {
    std::thread::scope(|sc| {
        let readers: Vec<_> = (0..4)
            .map(|t| {
                sc.spawn(move || -> sess::error::Result<()> {
                    for (i, id) in ids.iter().enumerate().skip(t).step_by(4) {
                        let s = app.open(id, LockMode::Shared)?;
                        assert_eq!(s.get("n"), Some(&Variant::I4(i as i32)));
                        s.close()?;
                    }
                    Ok(())
                })
            })
            .collect();
        readers.into_iter().try_for_each(|r| r.join().unwrap())
    })?;
    let s = app.open(mine, LockMode::Exclusive)?;
    assert_eq!(s.get("n"), Some(&Variant::I4(-1)));
    s.close()?;
    assert_eq!(app.session_count()?, ids.len() + 1);
    let mut s = app.create_session()?;
    s.set("n", Variant::I4(0))?;
    s.close()
}

#[test]
fn processes_with_different_map_sizes_adopt_the_largest() {
    let small = 64usize << 20;
    let large = 256usize << 20;
    // This process has the smaller map; another, with a larger one, stores
    // more than it can map.
    let dir = TempDir::new("map-grown");
    let lmdb = LmdbOptions {
        map_size: small,
        ..lmdb_opts(dir.path())
    };
    let app = app_on(lmdb, |_| {});
    let mine = stored(&app, &[("n", Variant::I4(-1))]);
    let mut e = child_env(dir.path(), 30_000);
    e.push(("SESS_CHILD_MAP", large.to_string()));
    let mut child = spawn_child("grow", &e);
    let lines = await_line(&mut child, "DONE", Duration::from_secs(120));
    assert!(wait_bounded(&mut child, Duration::from_secs(30)).success());
    let ids: Vec<SessionId> = lines
        .iter()
        .filter_map(|l| l.split_once("ID ").map(|(_, id)| id))
        .map(|id| SessionId::parse(id).unwrap())
        .collect();
    assert_eq!(ids.len(), MAP_SESSIONS as usize);
    if let Err(e) = read_large(&app, &ids, &mine) {
        panic!("the smaller map's process: {e}");
    }
    drop(app);

    // The other way round: this process has the larger map, and grows the
    // store past the map of another that opened the directory first.
    let dir = TempDir::new("map-grows");
    let mut e = child_env(dir.path(), 30_000);
    e.push(("SESS_CHILD_MAP", small.to_string()));
    let go = dir.path().join("go");
    let ids_file = dir.path().join("ids");
    e.push(("SESS_CHILD_GO", go.display().to_string()));
    e.push(("SESS_CHILD_IDS", ids_file.display().to_string()));
    let mut child = spawn_child("adopt", &e);
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    assert!(lines.any(|l| l.unwrap().ends_with("READY")));
    let lmdb = LmdbOptions {
        map_size: large,
        ..lmdb_opts(dir.path())
    };
    let ids = store_large(&app_on(lmdb, |_| {}));
    write_ids(&ids_file, &ids);
    std::fs::write(&go, "").unwrap();
    assert!(wait_bounded(&mut child, Duration::from_secs(120)).success());
    let result: Vec<String> = lines.map_while(|l| l.ok()).collect();
    assert!(
        result.iter().any(|l| l.ends_with("RESULT OK")),
        "the smaller map's process: {result:?}"
    );
}

#[test]
fn a_process_opening_with_a_smaller_map_does_not_cut_the_files_short() {
    // A process with a larger map has its disk space allocated ahead when
    // one with a smaller map opens the directory:
    // the files stay as long as the larger map (LMDB sets a file's length
    // to its opener's map), so the first goes on storing past the
    // smaller map, and the second reads what it stored.
    let dir = TempDir::new("map-kept");
    let go = dir.path().join("go");
    let mut e = child_env(dir.path(), 30_000);
    e.push(("SESS_CHILD_MAP", (256usize << 20).to_string()));
    e.push(("SESS_CHILD_GO", go.display().to_string()));
    let mut child = spawn_child("grow", &e);
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines().map_while(|l| l.ok());
    assert!(lines.any(|l| l.ends_with("READY")));
    // Each data file's length, and the bytes of disk space it has.
    let lengths = || {
        use std::os::unix::fs::MetadataExt;
        data_files(dir.path())
            .iter()
            .map(|f| std::fs::metadata(f).unwrap())
            .map(|m| (m.len(), m.blocks() * 512))
            .collect::<Vec<_>>()
    };
    let before = lengths();
    let lmdb = LmdbOptions {
        map_size: 64 << 20,
        ..lmdb_opts(dir.path())
    };
    let app = app_on(lmdb, |_| {});
    let mine = stored(&app, &[("n", Variant::I4(-1))]);
    let after = lengths();
    let kept = before.iter().zip(&after);
    assert!(
        kept.into_iter().all(|(b, a)| a.0 == b.0 && a.1 >= b.1),
        "the files were cut short: {before:?}, then {after:?}"
    );
    std::fs::write(&go, "").unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(120));
    assert!(status.success(), "the larger map's process: {status:?}");
    let ids: Vec<SessionId> = lines
        .filter_map(|l| {
            l.split_once("ID ")
                .map(|(_, id)| SessionId::parse(id).unwrap())
        })
        .collect();
    assert_eq!(ids.len(), MAP_SESSIONS as usize);
    if let Err(e) = read_large(&app, &ids, &mine) {
        panic!("the smaller map's process: {e}");
    }
}

#[test]
fn no_record_holds_a_cookie_and_processes_share_one_environment() {
    let dir = TempDir::new("keys");
    let lmdb = LmdbOptions {
        id_secret: None,
        ..lmdb_opts(dir.path())
    };
    let app = app_on(lmdb, |_| {});
    let ids: Vec<SessionId> = (0..20)
        .map(|i| stored(&app, &[("i", Variant::I4(i))]))
        .collect();
    // The records are in the data files' first pages (one file per part);
    // the rest (up to the map size) is space reserved for growth, all zeros.
    let files = data_files(dir.path());
    assert_eq!(files.len(), 4, "{files:?}");
    let mut data = Vec::new();
    for file in files {
        let mut head = Vec::new();
        std::fs::File::open(file)
            .unwrap()
            .take(4 << 20)
            .read_to_end(&mut head)
            .unwrap();
        data.extend(head);
    }
    let contains = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
    for id in &ids {
        assert!(!contains(id.to_string().as_bytes()), "the ID's text");
        assert!(!contains(id.as_bytes()), "the ID's bytes");
    }
    // Two applications on one directory in one process share it.
    let twin = app_on(lmdb_opts(dir.path()), |_| {});
    assert_eq!(twin.session_count().unwrap(), 20);
    assert_eq!(
        twin.open(&ids[3], LockMode::Shared).unwrap().get("i"),
        Some(&Variant::I4(3))
    );
    // Another application in the same directory has sessions of its own.
    let other = app_on(
        LmdbOptions {
            name: "/other".into(),
            ..lmdb_opts(dir.path())
        },
        |_| {},
    );
    assert_eq!(other.session_count().unwrap(), 0);
    assert_eq!(
        code(other.open(&ids[3], LockMode::Shared)),
        error::E_SESSION_NOT_FOUND
    );
    stored(&other, &[]);
    stored(&other, &[("x", Variant::I4(1))]);
    assert_eq!(
        (
            other.session_count().unwrap(),
            twin.session_count().unwrap()
        ),
        (1, 20)
    );
}

#[test]
fn objects_stay_in_their_process() {
    let dir = TempDir::new("objects");
    let app = app_on(lmdb_opts(dir.path()), |_| {});
    let mut unknown = Unknown { vtbl: &INERT_VTBL };
    // SAFETY: a static object whose AddRef/Release do nothing.
    let obj = unsafe { Object::from_owned(&mut unknown) }.unwrap();
    let mut s = app.create_session().unwrap();
    let e = s.set("obj", Variant::Unknown(obj)).unwrap_err();
    assert_eq!(e.code(), error::E_NOT_SERIALIZABLE);
    s.set("x", Variant::I4(1)).unwrap();
    let id = s.id();
    s.close().unwrap();
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.contents().len(), 1);
}

/// A session-scope static object is not kept with a session in a shared
/// store (objects stay in their process): each unit of work that uses it
/// makes its own, as StaticObject's doc says.
#[test]
fn a_static_object_is_made_by_each_unit_of_work_that_uses_it() {
    let dir = TempDir::new("statics");
    let mut unknown = Unknown { vtbl: &INERT_VTBL };
    let ptr = &raw mut unknown as usize;
    let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let m = made.clone();
    let app = app_on(lmdb_opts(dir.path()), |o| {
        o.static_objects = vec![sess::app::StaticObject {
            name: "Cart".into(),
            factory: Arc::new(move || {
                m.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // SAFETY: `unknown` outlives the application; its
                // AddRef/Release do nothing.
                unsafe { Object::from_owned(ptr as *mut Unknown) }
            }),
        }];
    });
    let mut s = app.create_session().unwrap();
    s.static_object_at(0).unwrap();
    s.static_object_at(0).unwrap();
    let id = s.id();
    s.close().unwrap();
    assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
    let mut s = app.open(&id, LockMode::Exclusive).unwrap();
    s.static_object_at(0).unwrap();
    s.close().unwrap();
    assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 2);
    drop(app);
}

/// A read-only unit of work uses a static object as a writing one does:
/// a shared store keeps no instance with the session, so it makes its
/// own, once, released when it ends (it used to be `E_READONLY`, "not
/// instantiated yet", for every read-only request: none ever is there).
#[test]
fn a_read_only_unit_of_work_makes_its_own_static_object() {
    let dir = TempDir::new("statics-ro");
    let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let freed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (m, f) = (made.clone(), freed.clone());
    let app = app_on(lmdb_opts(dir.path()), |o| {
        o.static_objects = vec![sess::app::StaticObject {
            name: "Cart".into(),
            factory: Arc::new(move || {
                m.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(counted::counted(&f))
            }),
        }];
    });
    let id = stored(&app, &[("k", Variant::I4(1))]);
    let count =
        |n: &Arc<std::sync::atomic::AtomicUsize>| n.load(std::sync::atomic::Ordering::SeqCst);
    let mut s = app.open(&id, LockMode::Shared).unwrap();
    let first = s.static_object_at(0).unwrap();
    let again = s.static_object_at(0).unwrap();
    assert_eq!(first.as_ptr(), again.as_ptr(), "made once per unit of work");
    assert_eq!(s.static_index("CART"), Some(0));
    drop((first, again));
    assert_eq!(
        (count(&made), count(&freed)),
        (1, 0),
        "held to the unit's end"
    );
    s.close().unwrap();
    assert_eq!((count(&made), count(&freed)), (1, 1));
    // Discarded too: the instance goes with the unit.
    let mut s = app.open(&id, LockMode::Shared).unwrap();
    s.static_object_at(0).unwrap();
    s.discard().unwrap();
    assert_eq!((count(&made), count(&freed)), (2, 2));
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.contents().len(), 1, "nothing written");
    drop(s);
    drop(app);
}

#[test]
fn a_damaged_record_is_store_corrupt_and_its_bytes_stay_out_of_the_message() {
    let dir = TempDir::new("damaged");
    let lmdb = LmdbOptions {
        map_size: 1 << 20, // one environment: one data.mdb
        ..lmdb_opts(dir.path())
    };
    let clock = Arc::new(ManualClock::new(1_900_000_000_000));
    let app = app_on(lmdb, |o| o.clock = Some(clock.clone()));
    let text = format!("dmg{}", "y".repeat(5000));
    let id = stored(&app, &[("big", Variant::bstr(&text))]);
    // A bit flip in the value: its string is no longer UTF-8.
    let path = dir.path().join("data.mdb");
    let bytes = std::fs::read(&path).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let mut flips = 0;
    for at in bytes
        .windows(8)
        .enumerate()
        .filter(|(_, w)| w == b"dmgyyyyy")
    {
        file.write_at(&[0xFF], at.0 as u64 + 3).unwrap();
        flips += 1;
    }
    assert!(flips > 0);
    let short_and_blind = |e: &sess::error::Error| {
        assert_eq!(e.code(), error::E_STORE_CORRUPT, "{e}");
        assert!(e.detail().len() < 200, "{e}");
        assert!(
            e.detail()
                .starts_with("the LMDB store returned unreadable session data: "),
            "{e}"
        );
        assert!(
            !e.detail().contains("yyy") && !e.detail().contains("121"),
            "{e}"
        );
    };
    short_and_blind(&app.open(&id, LockMode::Exclusive).err().unwrap());
    clock.advance(21 * 60_000);
    short_and_blind(&app.expire().unwrap_err());
}

#[test]
fn lock_ttl_is_at_most_24_hours() {
    let dir = TempDir::new("ttl-bound");
    let with = |ttl| LmdbOptions {
        lock_ttl: ttl,
        ..lmdb_opts(dir.path())
    };
    assert!(with(Duration::from_secs(24 * 3600)).validate().is_ok());
    let e = with(Duration::from_secs(24 * 3600 + 1))
        .validate()
        .unwrap_err();
    assert_eq!(e.code(), error::E_INVALID_OPTION, "{e}");
    assert!(e.detail().contains("lock_ttl"), "{e}");
}

#[test]
fn a_read_only_slide_keeps_a_concurrent_writers_shorter_timeout() {
    let dir = TempDir::new("slidewriter");
    let t0 = 1_900_000_000_000u64;
    let clock = Arc::new(ManualClock::new(t0));
    let app = app_on(lmdb_opts(dir.path()), |o| o.clock = Some(clock.clone()));
    let mut s = app.create_session().unwrap();
    s.set_timeout(20).unwrap();
    s.set("n", Variant::I4(1)).unwrap();
    let id = s.id();
    s.close().unwrap();
    // 3 s before the deadline (a read-only slide that near it is written
    // at once, not queued), a read-only request reads the session; a
    // writer then sets Timeout = 1 minute and saves before the reader ends.
    clock.advance(20 * 60_000 - 3_000);
    let reader = app.open(&id, LockMode::Shared).unwrap();
    let mut w = app.open(&id, LockMode::Exclusive).unwrap();
    w.set_timeout(1).unwrap();
    w.close().unwrap();
    reader.close().unwrap();
    // The writer's deadline stands: the session ends a minute after it.
    clock.advance(2 * 60_000);
    assert_eq!(
        code(app.open(&id, LockMode::Shared)),
        error::E_SESSION_NOT_FOUND,
        "the stale read's 20-minute slide undid the writer's Timeout"
    );
    assert_eq!(app.expire().unwrap(), 1);
}

#[test]
fn a_new_sessions_lock_lasts_its_lease_from_when_it_is_stored() {
    let dir = TempDir::new("newlock");
    let clock = Arc::new(ManualClock::new(1_900_000_000_000));
    let app = app_on(lmdb_opts(dir.path()), |o| {
        o.clock = Some(clock.clone());
        o.lock_timeout = Duration::from_millis(300);
    });
    // A request makes a session, works for 40 s (past the 30 s lock_ttl),
    // then writes to it first: stored, and locked, from now.
    let mut s = app.create_session().unwrap();
    clock.advance(40_000);
    s.set("n", Variant::I4(1)).unwrap();
    let id = s.id();
    // Another request for it (its cookie is out) waits for that lock.
    clock.advance(1_000);
    assert_eq!(
        code(app.open(&id, LockMode::Exclusive)),
        error::E_LOCK_TIMEOUT,
        "the lock was taken already stale"
    );
    s.close().unwrap();
    let s = app.open(&id, LockMode::Shared).unwrap();
    assert_eq!(s.get("n"), Some(&Variant::I4(1)));
}

// ---- damaged data files ------------------------------------------------------

/// A closed store of `n` sessions in `dir` (one environment: one
/// `data.mdb`): a third with a 1-minute timeout, some large enough for
/// overflow pages, some abandoned (freed pages); their IDs. Returns the
/// IDs and how many of the sessions are stored (not abandoned).
fn store_to_damage(dir: &Path, n: i32) -> (Vec<SessionId>, usize) {
    let clock = Arc::new(ManualClock::new(DAMAGE_NOW));
    let app = app_on(damaged_store::options(dir), |o| o.clock = Some(clock));
    let (mut ids, mut stored) = (Vec::new(), 0);
    for i in 0..n {
        let mut s = app.create_session().unwrap();
        s.set("n", Variant::I4(i)).unwrap();
        if i % 3 == 0 {
            s.set_timeout(1).unwrap();
        }
        if i % 100 == 0 {
            s.set("big", Variant::bstr(&"b".repeat(5000))).unwrap();
        }
        if i % 7 == 0 {
            s.abandon();
        } else {
            stored += 1;
        }
        ids.push(s.id());
        s.close().unwrap();
    }
    (ids, stored)
}

/// Writes `ids` one a line to `path` (for a child's `SESS_CHILD_IDS`).
fn write_ids(path: &Path, ids: &[SessionId]) {
    let lines: String = ids.iter().map(|id| format!("{id}\n")).collect();
    std::fs::write(path, lines).unwrap();
}

/// Runs a child that uses the store in `dir` (see `use_a_damaged_store`):
/// its RESULT line (without the word), or how it died (a signal, a panic).
fn use_in_a_child(dir: &Path, ids: &Path) -> String {
    use std::os::unix::process::ExitStatusExt;
    let mut envs = child_env(dir, 30_000);
    envs.push(("SESS_CHILD_IDS", ids.display().to_string()));
    let mut c = spawn_child("damaged", &envs);
    let status = wait_bounded(&mut c, Duration::from_secs(120));
    let mut out = String::new();
    c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let result = out
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|r| r.1));
    match (status.signal(), result) {
        (Some(signal), _) => format!("DIED of signal {signal}"),
        (None, Some(result)) if status.success() => result.to_owned(),
        _ => format!("DIED: exit {:?}, printed {out:?}", status.code()),
    }
}

/// The few fields of an LMDB data file the damage aims at (LMDB 0.9's
/// 64-bit format: a 16-byte page header, 8-byte node headers).
struct DataFile {
    bytes: Vec<u8>,
    page: usize,
}

impl DataFile {
    fn read(path: &Path) -> DataFile {
        let bytes = std::fs::read(path).unwrap();
        let page = u32::from_le_bytes(bytes[40..44].try_into().unwrap()) as usize;
        DataFile { bytes, page }
    }

    fn u16(&self, at: usize) -> usize {
        u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]).into()
    }

    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.bytes[at..at + 8].try_into().unwrap())
    }

    /// The offset of the meta page LMDB picks (the larger transaction ID).
    fn meta(&self) -> usize {
        let txnid = |m: usize| self.u64(m + 16 + 128);
        if txnid(self.page) > txnid(0) {
            self.page
        } else {
            0
        }
    }

    /// The used size: up to the picked meta's last page.
    fn used(&self) -> usize {
        (self.u64(self.meta() + 16 + 120) as usize + 1) * self.page
    }

    /// The offsets of page `pgno`'s nodes.
    fn nodes(&self, pgno: u64) -> Vec<usize> {
        let p = pgno as usize * self.page;
        let n = (self.u16(p + 12) - 16) / 2;
        (0..n).map(|i| p + self.u16(p + 16 + 2 * i)).collect()
    }

    /// A node's key.
    fn key(&self, node: usize) -> &[u8] {
        &self.bytes[node + 8..node + 8 + self.u16(node + 6)]
    }

    /// The root page of the named database `name`.
    fn root_of(&self, name: &[u8]) -> u64 {
        let main_root = self.u64(self.meta() + 16 + 72 + 40);
        let node = self
            .nodes(main_root)
            .into_iter()
            .find(|&n| self.key(n) == name);
        let node = node.expect("the named database");
        self.u64(node + 8 + name.len() + 40)
    }

    /// The branch and leaf pages of the tree under `root`.
    fn tree(&self, root: u64) -> (Vec<u64>, Vec<u64>) {
        let (mut branches, mut leaves) = (Vec::new(), Vec::new());
        let mut todo = vec![root];
        while let Some(pgno) = todo.pop() {
            let p = pgno as usize * self.page;
            if self.u16(p + 10) & 1 == 0 {
                leaves.push(pgno);
                continue;
            }
            branches.push(pgno);
            for node in self.nodes(pgno) {
                let child = self.u16(node) | self.u16(node + 2) << 16 | self.u16(node + 4) << 32;
                todo.push(child as u64);
            }
        }
        (branches, leaves)
    }
}

/// The targeted damages: what each breaks, and the file's bytes after it.
fn targeted_damages(f: &DataFile) -> Vec<(&'static str, Vec<u8>)> {
    let (branches, leaves) = f.tree(f.root_of(b"sessions:"));
    assert!(!branches.is_empty(), "a tree of one page");
    let branch = branches[0] as usize * f.page;
    let leaf = leaves[leaves.len() / 2] as usize * f.page;
    let fullest = *leaves.iter().max_by_key(|&&l| f.nodes(l).len()).unwrap();
    let nodes = f.nodes(leaves[leaves.len() / 2]);
    let node = nodes[nodes.len() / 2];
    let big = leaves
        .iter()
        .flat_map(|&l| f.nodes(l))
        .find(|&n| f.u16(n + 4) == 1)
        .expect("a record in overflow pages");
    let at = |what, offset: usize, bytes: &[u8]| {
        let mut b = f.bytes.clone();
        b[offset..offset + bytes.len()].copy_from_slice(bytes);
        (what, b)
    };
    vec![
        at("a leaf's record size", node, &[0xFF; 4]),
        at("an overflow record's size", big, &[0xFF; 4]),
        at("a leaf node's offset", leaf + 16 + 2, &[0xFC, 0x0F]),
        at("a leaf's key size", node + 6, &[0xFF, 0xFF]),
        at("a leaf's mp_lower", leaf + 12, &[0xFE, 0x0F]),
        at("a leaf's mp_upper", leaf + 14, &[0xFF, 0xFF]),
        at("a branch with one child", branch + 12, &[18, 0]),
        at(
            "a branch's child page past the last",
            f.nodes(branches[0])[1],
            &[0xFF; 6],
        ),
        at(
            "a branch's child page: itself",
            f.nodes(branches[0])[1],
            &branches[0].to_le_bytes()[..6],
        ),
        at(
            "the main database's root: a meta page",
            f.meta() + 16 + 72 + 40,
            &1u64.to_le_bytes(),
        ),
        // The fullest: a leaf holding as many entries as the main
        // database's record counts (3), and no overflow record, would be
        // a main database of plain records, so a foreign environment's
        // (refused as such, with the same code but naming no page).
        at(
            "the main database's root: a leaf of another",
            f.meta() + 16 + 72 + 40,
            &fullest.to_le_bytes(),
        ),
    ]
}

/// Copies the damaged data file `bytes` into a fresh directory and uses
/// it in a child: its result.
fn use_damaged(bytes: &[u8], ids: &Path) -> String {
    let dir = TempDir::new("damage-trial");
    std::fs::write(dir.path().join("data.mdb"), bytes).unwrap();
    use_in_a_child(dir.path(), ids)
}

#[test]
fn a_data_file_with_damaged_pages_is_refused_not_a_crash() {
    let made = TempDir::new("damage");
    let ids = made.path().join("ids");
    let store = made.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let (made_ids, stored) = store_to_damage(&store, 2000);
    write_ids(&ids, &made_ids);
    let file = DataFile::read(&store.join("data.mdb"));
    // Undamaged, it serves, every stored session found.
    assert_eq!(
        use_damaged(&file.bytes, &ids),
        format!("OK {stored}/2000 found")
    );
    // Each damage refused when the store is opened, naming the page.
    let refused = format!("ERROR {:#x} ", error::E_STORE_CORRUPT);
    let wrong: Vec<String> = targeted_damages(&file)
        .into_iter()
        .map(|(what, bytes)| format!("{what}: {}", use_damaged(&bytes, &ids)))
        .filter(|r| !(r.contains(&refused) && r.contains("data.mdb: page ")))
        .collect();
    assert!(wrong.is_empty(), "not refused:\n{}", wrong.join("\n"));
}

#[test]
fn random_damage_to_a_data_file_never_crashes() {
    let made = TempDir::new("damage-random");
    let ids = made.path().join("ids");
    let store = made.path().join("store");
    std::fs::create_dir(&store).unwrap();
    write_ids(&ids, &store_to_damage(&store, 2000).0);
    let file = DataFile::read(&store.join("data.mdb"));
    // splitmix64, seeded: the same damages every run.
    let mut seed = 0x5EED_1E55_u64;
    let mut next = move || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let refused = format!("ERROR {:#x}", error::E_STORE_CORRUPT);
    let mut outcomes: HashMap<String, usize> = HashMap::new();
    let mut wrong = Vec::new();
    for trial in 0..200 {
        let mut bytes = file.bytes.clone();
        let r = next();
        // A byte's bits flipped, or a 2- or 8-byte word overwritten.
        let width = [1, 2, 8][(r % 3) as usize];
        let at = (next() as usize % (file.used() - 8)) / width * width;
        let value = next().to_le_bytes();
        if width == 1 {
            bytes[at] ^= value[0] | 1;
        } else {
            bytes[at..at + width].copy_from_slice(&value[..width]);
        }
        let result = use_damaged(&bytes, &ids);
        let words = if result.starts_with("OK ") { 1 } else { 2 };
        let outcome = result.split(' ').take(words).collect::<Vec<_>>().join(" ");
        if outcome != "OK" && outcome != refused {
            wrong.push(format!("trial {trial}, {width} byte(s) at {at}: {result}"));
        }
        *outcomes.entry(outcome).or_default() += 1;
    }
    println!("outcomes of 200 random damages: {outcomes:?}");
    assert!(
        wrong.is_empty(),
        "neither served nor refused:\n{}",
        wrong.join("\n")
    );
}

/// The `lmdb_file` fuzz target's seed (`fuzz/corpus/lmdb_file/store`): a
/// store of 120 sessions as the damage tests make them (a tree with a
/// branch page, an overflow record, freed pages), in the fuzz input's
/// layout, that this version still serves with every stored session
/// found. `SESS_UPDATE_FUZZ_SEED=1` writes it anew (after a change of the
/// file's format).
#[test]
fn the_lmdb_fuzz_seed_is_a_store_this_version_serves() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/lmdb_file/store");
    if std::env::var_os("SESS_UPDATE_FUZZ_SEED").is_some() {
        let made = TempDir::new("fuzz-seed");
        let (ids, _) = store_to_damage(made.path(), 120);
        let file = DataFile::read(&made.path().join("data.mdb"));
        std::fs::create_dir_all(seed.parent().unwrap()).unwrap();
        std::fs::write(&seed, fuzz_input(&ids, &file.bytes[..file.used()])).unwrap();
    }
    let input = std::fs::read(&seed).expect("the seed (SESS_UPDATE_FUZZ_SEED=1 writes it)");
    let (ids, file) = split_fuzz_input(&input);
    assert_eq!(ids.len(), 120);
    let f = DataFile {
        bytes: file.to_vec(),
        page: 4096,
    };
    assert_eq!(f.used(), file.len(), "the seed holds the used pages");
    assert!(
        !f.tree(f.root_of(b"sessions:")).0.is_empty(),
        "a branch page"
    );
    let dir = TempDir::new("fuzz-seed-use");
    std::fs::write(dir.path().join("data.mdb"), file).unwrap();
    let found = use_a_damaged_store(damaged_store::options(dir.path()), &ids).unwrap();
    assert_eq!(found, 120 - 18, "every session not abandoned found");
}

#[test]
fn a_save_after_the_locks_lease_ended_is_refused_even_if_no_one_took_it() {
    let dir = TempDir::new("late-save");
    let clock = Arc::new(ManualClock::new(DAMAGE_NOW));
    let app = app_on(lmdb_opts(dir.path()), |o| o.clock = Some(clock.clone()));
    let id = stored(&app, &[("n", Variant::I4(1))]);
    let late = |what: &str, end: &dyn Fn(sess::app::Session) -> sess::error::Result<()>| {
        let mut s = app.open(&id, LockMode::Exclusive).unwrap();
        s.set("n", Variant::I4(2)).unwrap();
        // Past the 30 s lock_ttl: another request could have taken it.
        clock.advance(30_001);
        let e = end(s).expect_err(what);
        assert_eq!(e.code(), error::E_LOCK_TIMEOUT, "{what}: {e}");
    };
    late("save", &|s| s.close());
    late("abandon", &|mut s| {
        s.abandon();
        s.close()
    });
    // As in the Redis store: nothing written, the lock freed.
    let s = app.open(&id, LockMode::Exclusive).unwrap();
    assert_eq!(s.get("n"), Some(&Variant::I4(1)));
}

/// A `map_size` larger than the process can map, or than the file system
/// allows one file to be, is refused as an option and harms nothing. LMDB
/// sets the data file's length to its map size before it maps it: where
/// the file system allows that length (tmpfs), the map then failed, the
/// file stayed that long, and every later open, which maps at least the
/// file's length, failed too (`E_STORE_UNAVAILABLE`, "Cannot allocate
/// memory"), whatever its `map_size`: one typo lost the store.
#[test]
fn a_map_size_too_large_to_map_is_refused_and_leaves_the_store_as_it_was() {
    let shm = Path::new("/dev/shm");
    let mut dirs = vec![TempDir::new("huge-map")];
    if shm.is_dir() {
        dirs.push(TempDir::new_in(shm, "huge-map"));
    }
    for dir in &dirs {
        let app = app_on(lmdb_opts(dir.path()), |_| {});
        let id = stored(&app, &[("kept", Variant::I4(7))]);
        drop(app);
        let lengths = || {
            data_files(dir.path())
                .iter()
                .map(|f| f.metadata().unwrap().len())
                .collect::<Vec<_>>()
        };
        let before = lengths();
        for map_size in [1 << 50, usize::MAX] {
            let huge = LmdbOptions {
                map_size,
                ..lmdb_opts(dir.path())
            };
            let e = App::new(AppOptions {
                expiry_interval: None,
                store: StoreConfig::Lmdb(huge),
                ..AppOptions::default()
            })
            .err()
            .expect("refused");
            assert_eq!(
                e.code(),
                error::E_INVALID_OPTION,
                "{}: {e}",
                dir.path().display()
            );
            assert!(e.to_string().contains("map_size"), "{e}");
            assert_eq!(lengths(), before, "{}", dir.path().display());
        }
        let app = app_on(lmdb_opts(dir.path()), |_| {});
        let s = app.open(&id, LockMode::Shared).unwrap();
        assert_eq!(s.get("kept"), Some(&Variant::I4(7)));
    }
}

/// The applications of one process on a directory share its environment:
/// one asking for a larger `map_size` than the one that opened it gets
/// its map (it reached `E_STORE_FULL` at the first application's size).
#[test]
fn a_second_application_asking_for_a_larger_map_gets_it() {
    let dir = TempDir::new("grow");
    let small = app_on(
        LmdbOptions {
            name: "small".into(),
            map_size: 1 << 20,
            ..lmdb_opts(dir.path())
        },
        |_| {},
    );
    let large = app_on(
        LmdbOptions {
            name: "large".into(),
            map_size: 8 << 20,
            ..lmdb_opts(dir.path())
        },
        |_| {},
    );
    let big = Variant::bstr(&"x".repeat(8 << 10));
    let kept: Vec<_> = (0..200)
        .map(|n| {
            let mut s = large.create_session().unwrap();
            s.set("v", big.clone()).unwrap();
            s.set("n", Variant::I4(n)).unwrap();
            let id = s.id();
            s.close().unwrap();
            id
        })
        .collect();
    for (n, id) in kept.iter().enumerate() {
        let s = large.open(id, LockMode::Shared).unwrap();
        assert_eq!(s.get("n"), Some(&Variant::I4(n as i32)));
    }
    // The first application goes on in the larger map.
    stored(&small, &[("v", big)]);
}

#[test]
fn a_reader_killed_inside_its_transaction_does_not_fill_the_map() {
    // One environment (a small map), no expiry thread: the host sweeps
    // when it likes (here: never).
    let dir = TempDir::new("stale-reader");
    let lmdb = LmdbOptions {
        map_size: 1 << 20,
        ..lmdb_opts(dir.path())
    };
    let app = app_on(lmdb.clone(), |_| {});
    let id = stored(&app, &[("n", Variant::I4(0))]);
    let mut e = child_env(dir.path(), 30_000);
    e.push(("SESS_CHILD_MAP", lmdb.map_size.to_string()));
    let mut child = spawn_child("read-and-die", &e);
    await_line(&mut child, "READING", Duration::from_secs(20));
    child.kill().unwrap();
    let _ = child.wait();
    // Saves rewrite the session: the pages each frees are pinned by the
    // dead reader's snapshot unless its slot is cleared.
    let value = Variant::bstr(&"v".repeat(3000));
    let mut failed = Vec::new();
    for n in 1..=1000 {
        let mut s = app.open(&id, LockMode::Exclusive).unwrap();
        s.set("n", Variant::I4(n)).unwrap();
        s.set("v", value.clone()).unwrap();
        if let Err(e) = s.close() {
            failed.push((n, e.code()));
        }
    }
    // The save that finds the map full frees the dead reader's slot: the
    // next ones find the room (without that, every later save failed
    // until a sweep).
    assert!(
        failed.len() <= 1,
        "{} saves failed, the first: {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
}

/// An application on one environment (a small map) in `dir` with a
/// session stored, whose files are then removed (an operator, a cleaner
/// of old temporary files), and a process started since makes a new store
/// there: the application, its session and the new store's.
fn removed_while_in_use(dir: &Path) -> (App, SessionId, SessionId) {
    let lmdb = LmdbOptions {
        map_size: 8 << 20,
        ..lmdb_opts(dir)
    };
    let app = app_on(lmdb, |_| {});
    let id = stored(&app, &[("n", Variant::I4(1))]);
    for f in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut e = child_env(dir, 30_000);
    e.push(("SESS_CHILD_NOW", now.to_string()));
    let mut child = spawn_child("create", &e);
    let lines = await_line(&mut child, "DONE", Duration::from_secs(30));
    assert!(wait_bounded(&mut child, Duration::from_secs(30)).success());
    let theirs = lines
        .iter()
        .find_map(|l| SessionId::parse(l.split_whitespace().last()?).ok())
        .expect("a session of the new store");
    (app, id, theirs)
}

#[test]
fn a_store_whose_files_were_removed_while_in_use_is_refused_not_served_alone() {
    let dir = TempDir::new("removed");
    let (app, id, theirs) = removed_while_in_use(dir.path());
    // This process, alone in the removed file, would serve sessions no
    // other process sees, and lose what it writes when it ends; its next
    // sweep finds the file gone, and from then on it refuses (until it is
    // restarted) rather than answer from a store apart.
    assert_eq!(code(app.expire()), error::E_STORE_UNAVAILABLE);
    assert_eq!(
        code(app.open(&id, LockMode::Shared)),
        error::E_STORE_UNAVAILABLE
    );
    assert_eq!(
        code(app.open(&theirs, LockMode::Exclusive)),
        error::E_STORE_UNAVAILABLE
    );
    let mut s = app.create_session().unwrap();
    assert_eq!(code(s.set("n", Variant::I4(2))), error::E_STORE_UNAVAILABLE);
}

/// A process that does not sweep (no expiry thread, as here, or between
/// sweeps) finds its files removed too: its first transaction a second or
/// more after the last look, rather than serving its orphan until a sweep.
#[test]
fn a_store_whose_files_were_removed_is_refused_without_a_sweep() {
    let dir = TempDir::new("removed-no-sweep");
    let (app, id, _) = removed_while_in_use(dir.path());
    // Past the interval between looks (one second): a lower bound only.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        code(app.open(&id, LockMode::Shared)),
        error::E_STORE_UNAVAILABLE
    );
    let mut s = app.create_session().unwrap();
    assert_eq!(code(s.set("n", Variant::I4(2))), error::E_STORE_UNAVAILABLE);
}
