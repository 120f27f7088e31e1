//! The changes one unit of work made to a session, kept so they can be
//! undone when the host reports that the request failed ("don't save").
//!
//! In-process sessions are changed in place, so "don't save" means undoing:
//! each change records what it replaced (moved, never copied), and
//! [`Journal::rollback`] replays the records backwards.

use super::{Contents, SessionData};
use crate::variant::Variant;

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
}

/// The undo records of one unit of work, oldest first. The first record
/// is kept inline: the common request (one write) allocates nothing.
#[derive(Debug, Default)]
pub struct Journal {
    first: Option<Undo>,
    rest: Vec<Undo>,
}

impl Journal {
    pub(crate) fn push(&mut self, undo: Undo) {
        if self.first.is_none() {
            self.first = Some(undo);
        } else {
            self.rest.push(undo);
        }
    }

    /// Undoes every recorded change to `data`, newest first.
    pub fn rollback(self, data: &mut SessionData) {
        for undo in self.rest.into_iter().rev().chain(self.first) {
            data.undo(undo);
        }
    }
}
