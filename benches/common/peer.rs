//! What the peers (moka, DashMap) hold per session: the same data as
//! libsess and libsess's Contents as it was before its compact layout.
//! Needs `USER` (the string stored under "user") and the `frozen_contents`
//! module at the bench's root.

use std::sync::Arc;

use parking_lot::Mutex;
use sess::variant::{Object, Variant};

use crate::frozen_contents::Contents;

/// What a moka / DashMap session holds: the fields of libsess's
/// `SessionData` (with the frozen IndexMap-based Contents and the same
/// scalars), what a typical cache user would store. `SessionData` itself is
/// not used because its only write path records an undo journal (libsess's
/// "don't save"), which neither peer offers; the floor should not pay for it.
pub struct PeerData {
    /// The session's Contents.
    pub contents: Contents,
    _statics: Option<Box<[Option<Object>]>>,
    _timeout_minutes: u32,
    _lcid: u32,
    _codepage: u32,
}

/// A peer's session: shared, locked for a request.
pub type Slot = Arc<Mutex<PeerData>>;

/// The payload libsess's sessions hold, as a peer holds it.
pub fn payload() -> PeerData {
    let mut contents = Contents::default();
    contents.set("user", Variant::bstr(crate::USER));
    contents.set("count", Variant::I4(0));
    contents.set("cart", Variant::R8(19.99));
    PeerData {
        contents,
        _statics: None,
        _timeout_minutes: 20,
        _lcid: 0x0409,
        _codepage: 65001,
    }
}
