//! The benchmarks' session payload and request cycle (see BENCHMARKS.md):
//! three Contents items, and one request that opens a session, reads them
//! and (when writing) counts the visit.

use std::hint::black_box;

use sess::app::{App, Session};
use sess::store::LockMode;
use sess::variant::Variant;

/// The 16-character string stored under "user".
pub const USER: &str = "user@example.com";

/// Writes the payload: "user" (a 16-character BSTR), "count" (I4 0) and
/// "cart" (R8).
pub fn fill(s: &mut Session) {
    s.set("user", Variant::bstr(USER)).expect("set");
    s.set("count", Variant::I4(0)).expect("set");
    s.set("cart", Variant::R8(19.99)).expect("set");
}

/// Reads the payload and, if `write`, sets "count" to count + 1; returns
/// the count read.
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

/// One request on session `id`: opened exclusively to write, or shared
/// (read-only) to read; [`touch`]ed; closed. Returns the count read.
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
