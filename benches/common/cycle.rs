//! The request cycle the benchmarks time, through the Rust API: open a
//! session by ID, read "user", "count" and "cart", write `count + 1` (when
//! writing), close; and the sessions it runs on.

use std::hint::black_box;

use sess::app::{App, Session};
use sess::store::LockMode;
use sess::variant::Variant;

/// The 16-character string stored under "user".
pub const USER: &str = "user@example.com";

/// Stores `n` sessions holding "user" (a BSTR), "count" (I4 0) and "cart"
/// (R8); their IDs.
pub fn fill(app: &App, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let mut s = app.create_session().expect("create");
            s.set("user", Variant::bstr(USER)).expect("set");
            s.set("count", Variant::I4(0)).expect("set");
            s.set("cart", Variant::R8(19.99)).expect("set");
            let id = s.id().to_string();
            s.close().expect("close");
            id
        })
        .collect()
}

/// One request cycle on `id`: opened exclusively and `count + 1` written
/// when `write`, else opened read-only; the count read (before the write).
pub fn cycle(app: &App, id: &str, write: bool) -> i32 {
    let mode = if write {
        LockMode::Exclusive
    } else {
        LockMode::Shared
    };
    let mut s = app.open_session(id, mode).expect("a resident session");
    let count = touch(&mut s, write);
    s.close().expect("close");
    count
}

/// What a request does to a session it holds: reads "user", "count" and
/// "cart", and writes `count + 1` when `write`; the count read.
pub fn touch(s: &mut Session, write: bool) -> i32 {
    black_box(s.get("user"));
    let count = match s.get("count") {
        Some(Variant::I4(c)) => *c,
        other => panic!("count is {other:?}"),
    };
    black_box(s.get("cart"));
    if write {
        s.set("count", Variant::I4(count + 1)).expect("set");
    }
    count
}
