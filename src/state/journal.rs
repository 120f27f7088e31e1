//! The changes one unit of work made to a session, kept so they can be
//! undone when the host reports that the request failed ("don't save").
//!
//! In-process sessions are changed in place, so "don't save" means undoing:
//! each change records what it replaced (moved, never copied), and
//! [`Journal::rollback`] replays the records backwards. A unit of work that
//! changes a lot (a loop of writes) would keep every value it replaced, so
//! once the records take [`SLACK_BYTES`] more than the session itself,
//! they give way to one copy of the session as it was (which costs about
//! what they held), and later changes record nothing: the journal never
//! holds much more than the session.

use super::{Contents, SessionData};
use crate::variant::Variant;

/// How much more than the session's own size the records may take before
/// the journal keeps a copy of the session instead.
const SLACK_BYTES: usize = 64 << 10;

/// One undoable change.
#[derive(Debug)]
pub(crate) enum Undo {
    /// A new key was appended.
    Appended,
    /// The value at an index was replaced; this is the old one.
    Replaced(usize, Variant),
    /// An item was removed from an index.
    Removed(usize, Box<str>, Variant),
    /// Every item was removed; these were they (boxed: a Contents keeps
    /// its first items inline, and the other records are small).
    Cleared(Box<Contents>),
    /// Timeout had this value.
    Timeout(u32),
    /// LCID had this value.
    Lcid(u32),
    /// CodePage had this value.
    Codepage(u32),
    /// The session was this (its Contents and properties) before the unit
    /// of work: the records it replaces had grown too large.
    Before(Box<SessionData>),
}

impl Undo {
    /// The bytes the record takes: itself, and the keys and values it
    /// keeps (as a session's size counts them).
    fn bytes(&self) -> usize {
        std::mem::size_of::<Undo>()
            + match self {
                Undo::Replaced(_, old) => old.payload_bytes(),
                Undo::Removed(_, key, old) => key.len() + old.payload_bytes(),
                Undo::Cleared(all) => all.iter().map(|(k, v)| k.len() + v.payload_bytes()).sum(),
                Undo::Appended
                | Undo::Timeout(_)
                | Undo::Lcid(_)
                | Undo::Codepage(_)
                | Undo::Before(_) => 0,
            }
    }
}

/// The undo records of one unit of work, oldest first. The first record
/// is kept inline: the common request (one write) allocates nothing.
#[derive(Debug, Default)]
pub struct Journal {
    first: Option<Undo>,
    rest: Vec<Undo>,
    /// The bytes the records take ([`Undo::bytes`]), weighed from the
    /// second record on.
    bytes: usize,
}

impl Journal {
    /// Records `undo`, a change just made to `data`.
    #[inline]
    pub(crate) fn push(&mut self, undo: Undo, data: &SessionData) {
        if self.first.is_none() {
            // The common request's one write: one record holds at most
            // what the limits let one change replace; nothing to weigh.
            self.first = Some(undo);
        } else {
            self.push_more(undo, data);
        }
    }

    /// [`Journal::push`] past the first record: weighs the records and
    /// gives them up for a copy of the session once they outgrow it.
    #[inline(never)]
    fn push_more(&mut self, undo: Undo, data: &SessionData) {
        if matches!(self.first, Some(Undo::Before(_))) {
            return; // the copy restores it
        }
        if self.rest.is_empty() {
            self.bytes = self.first.as_ref().map_or(0, Undo::bytes);
        }
        self.bytes += undo.bytes();
        self.rest.push(undo);
        if self.bytes > data.bytes().saturating_add(SLACK_BYTES) {
            self.compact(data);
        }
    }

    /// Replaces the records by a copy of `data` with them undone.
    #[cold]
    #[inline(never)]
    fn compact(&mut self, data: &SessionData) {
        let mut before = Box::new(data.unbudgeted_copy());
        self.rollback_onto(&mut before);
        self.rest = Vec::new();
        self.first = Some(Undo::Before(before));
    }

    /// Undoes the records onto `data`, newest first, leaving none.
    fn rollback_onto(&mut self, data: &mut SessionData) {
        for undo in self.rest.drain(..).rev().chain(self.first.take()) {
            data.undo(undo);
        }
    }

    /// Undoes every recorded change to `data`.
    pub fn rollback(mut self, data: &mut SessionData) {
        self.rollback_onto(data);
    }
}
