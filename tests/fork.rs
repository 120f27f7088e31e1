//! An application created before `fork()` works in the child, as servers
//! that set up before forking their workers need: here on the Redis store,
//! whose pooled connections the child must not share with its parent (the
//! in-process store's case, expiry thread included, is examples-c/host_api.c).
//! Parent and child increment their own counters at the same time; any
//! shared socket would cross their replies.

#[path = "common/redis.rs"]
mod redis_env;

use std::time::Duration;

use sess::app::{App, AppOptions, StoreConfig};
use sess::store::{LockMode, RedisOptions};
use sess::variant::Variant;

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
    let mut s = app.create_session().unwrap();
    s.set("count", Variant::I4(0)).unwrap();
    let id = s.id().to_string();
    s.close().unwrap();
    id
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
