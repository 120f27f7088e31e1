//! The changes one unit of work made to a session, kept so they can be
//! undone when the host reports that the request failed ("don't save").
//!
//! In-process sessions are changed in place, so "don't save" means undoing:
//! each change records what it replaced (moved, never copied), and
//! [`Journal::rollback`] replays the records backwards. A unit of work that
//! changes a lot (a loop of writes) would keep every value it replaced, so
//! once the records take [`SLACK_BYTES`] more than the session itself,
//! they give way to one copy of the session as it was (which costs about
//! what they held), and later changes record nothing but the objects they
//! replace: the journal never holds much more than the session. Objects
//! are kept either way, so that their last Release comes when the unit of
//! work ends, never inside a call on the session (a host object's
//! destructor may call back into it).

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
    /// The static object at this declaration index was made.
    StaticMade(usize),
    /// The session as it was before the unit of work: the records it
    /// replaces had grown too large.
    Before(Box<Before>),
}

/// What [`Undo::Before`] holds.
#[derive(Debug)]
pub(crate) struct Before {
    /// The session's Contents and properties before the unit of work.
    pub(super) data: SessionData,
    /// The objects the records held, and those replaced since: kept (not
    /// put back) so that none is released before the unit of work ends.
    pub(super) kept: Vec<Variant>,
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
                | Undo::StaticMade(_)
                | Undo::Before(_) => 0,
            }
    }

    /// Adds a reference to each object the record holds to `kept`.
    fn keep_objects(&self, kept: &mut Vec<Variant>) {
        let objects = |v: &&Variant| v.holds_object();
        match self {
            Undo::Replaced(_, old) | Undo::Removed(_, _, old) => {
                kept.extend(Some(old).filter(objects).cloned());
            }
            Undo::Cleared(all) => kept.extend(all.iter().map(|(_, v)| v).filter(objects).cloned()),
            _ => {}
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
        if let Some(Undo::Before(before)) = &mut self.first {
            // The copy restores the session; objects wait for the end.
            undo.keep_objects(&mut before.kept);
            return;
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
        let mut kept = Vec::new();
        for undo in self.first.iter().chain(&self.rest) {
            undo.keep_objects(&mut kept);
        }
        let mut before = Box::new(Before {
            data: data.unbudgeted_copy(),
            kept,
        });
        // Undoing onto the copy lets go of the values the records replace
        // there; `kept` holds the objects among them.
        self.rollback_onto(&mut before.data);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Limits;

    /// A loop of writes replacing large values leaves one copy of the
    /// session, not every value; rolling back restores the first.
    #[test]
    fn many_replaced_values_give_way_to_one_copy() {
        let limits = Limits {
            max_timeout_minutes: 1440,
            max_items: 8,
            max_value_bytes: 1 << 12,
            max_key_bytes: 8,
            max_session_bytes: 1 << 14,
        };
        let first = Variant::bstr(&"a".repeat(1000));
        let mut d = SessionData::new(20, 1033, 65001);
        d.set_value("big", first.clone(), &limits, &mut Journal::default())
            .unwrap();
        let mut j = Journal::default();
        for i in 0..2000 {
            let v = Variant::bstr(&(i % 10).to_string().repeat(1000));
            d.set_value("big", v, &limits, &mut j).unwrap();
        }
        assert!(matches!(&j.first, Some(Undo::Before(b)) if b.kept.is_empty()));
        assert!(j.rest.is_empty(), "{} records kept", j.rest.len());
        j.rollback(&mut d);
        assert_eq!(d.contents().get("big"), Some(&first));
    }
}
