//! Storing a session in one unit of work, as many tests begin: included by
//! the Rust API harnesses (`#[path = "common/stored.rs"] mod stored;`).

// Each test binary uses only some of these.
#![allow(dead_code)]

use sess::app::App;
use sess::variant::Variant;

/// Creates a session, sets `items` on it (in order) and closes it, so it is
/// stored; its ID.
pub fn stored_with(app: &App, items: &[(&str, Variant)]) -> String {
    let mut s = app.create_session().unwrap();
    for (name, value) in items {
        s.set(name, value.clone()).unwrap();
    }
    let id = s.id().to_string();
    s.close().unwrap();
    id
}

/// A stored session holding `k` = 1; its ID.
pub fn stored(app: &App) -> String {
    stored_with(app, &[("k", Variant::I4(1))])
}
