//! A Redis store's session hash, overwritten with any fields (what another
//! process, an older or newer version, or damage could leave): the
//! session's items, `M`, `E`, `L` and the rest are replaced by fields
//! parsed from the input, then the session is opened read-only and for
//! writing, saved, and swept. Every open either works or fails with
//! `E_STORE_UNAVAILABLE` (what the codec's checks give) or
//! `E_SESSION_NOT_FOUND` (no `M`, or an `E` already past): never a panic,
//! a hang, a huge allocation, or another error. Needs the Redis server at
//! 127.0.0.1:6379 (skips each input without it); keys live under a prefix
//! of their own and are deleted afterwards.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sess::app::{App, AppOptions, StoreConfig};
use sess::error;
use sess::store::{LockMode, RedisOptions};
use sess::variant::Variant;

const URL: &str = "redis://127.0.0.1:6379/0";

/// This process's application and its own key prefix; `None` without a
/// server.
fn app() -> Option<&'static (App, String)> {
    static APP: OnceLock<Option<(App, String)>> = OnceLock::new();
    APP.get_or_init(|| {
        redis::Client::open(URL).ok()?.get_connection().ok()?;
        let prefix = format!("fuzz-hash:{}:", std::process::id());
        let app = App::new(AppOptions {
            expiry_interval: None,
            lock_timeout: Duration::from_millis(200),
            store: StoreConfig::Redis(RedisOptions {
                url: URL.into(),
                key_prefix: prefix.clone(),
                ..RedisOptions::default()
            }),
            ..AppOptions::default()
        })
        .expect("an application on Redis");
        Some((app, prefix))
    })
    .as_ref()
}

/// Field name/value pairs: the input split at 0xFF bytes (never in the
/// short names and values that matter), names and values alternating.
fn fields(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut parts = data.split(|&b| b == 0xFF);
    let mut out = Vec::new();
    while let (Some(n), Some(v)) = (parts.next(), parts.next()) {
        out.push((n.to_vec(), v.to_vec()));
    }
    out
}

fn expect_served_or_refused<T>(r: sess::error::Result<T>, what: &str) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(
                [error::E_STORE_UNAVAILABLE, error::E_SESSION_NOT_FOUND].contains(&e.code()),
                "{what}: {e}"
            );
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((app, prefix)) = app() else {
        return;
    };
    let mut con = redis::Client::open(URL).unwrap().get_connection().unwrap();
    let mut s = app.create_session().expect("a new session");
    s.set("a", Variant::I4(1)).unwrap();
    let id = s.id();
    s.close().expect("saved");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}{{*}}:*"))
        .query(&mut con)
        .unwrap();
    let key = keys
        .iter()
        .find(|k| k.len() == prefix.len() + 37)
        .expect("the session's hash");
    let (keep, rest) = data.split_first().unwrap_or((&0, &[]));
    // Keep some of the session's own fields (bit 0: M, 1: E, 2: L), so
    // that inputs reach past the first check.
    let mut del = redis::cmd("HDEL");
    del.arg(key).arg("a");
    for (bit, f) in [(1, "M"), (2, "E"), (4, "L")] {
        if keep & bit == 0 {
            del.arg(f);
        }
    }
    let _: i64 = del.query(&mut con).unwrap();
    for (n, v) in fields(rest) {
        let _: i64 = redis::cmd("HSET")
            .arg(key)
            .arg(n)
            .arg(v)
            .query(&mut con)
            .unwrap();
    }
    for mode in [LockMode::Shared, LockMode::Exclusive] {
        if let Some(mut s) = expect_served_or_refused(app.open(&id, mode), "open") {
            if mode == LockMode::Exclusive {
                let _ = s.set("b", Variant::I4(2));
            }
            expect_served_or_refused(s.close(), "close");
        }
    }
    let _ = app.expire();
    // Everything under the prefix: the session, its index, the sweeper's
    // lease.
    let all: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut con)
        .unwrap();
    let _: i64 = redis::cmd("DEL").arg(&all).query(&mut con).unwrap();
});
