//! The session count behind `max_sessions`: the farm's sessions as last
//! counted on the server (the expiry indexes' sizes), plus what this
//! process stored and removed since.
//!
//! A count runs on the server while this process goes on storing and
//! removing sessions, and its reply does not say which of those it saw.
//! What completed before the count was sent, it saw; what completed while
//! it was under way is taken as unseen if stored and as seen if removed.
//! So the figure errs only upwards (the limit holds), by at most what this
//! process did during one count, and the next count puts it right. A count
//! that started earlier never replaces one that started later. A store
//! under way holds a place (a [`Reservation`]), so concurrent stores cannot
//! all take the last one. Other processes' stores are seen at the next
//! count.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::Result;

/// What this process knows of the farm's sessions.
#[derive(Default)]
pub(super) struct Tally(Mutex<State>);

#[derive(Default)]
struct State {
    /// The farm's sessions by the count in force.
    total: usize,
    /// When the count in force came back (`None`: none yet).
    at: Option<Instant>,
    /// The count in force's number; counts are numbered as they start.
    seq: u64,
    /// The last number given to a count.
    started: u64,
    /// Sessions this process has stored, and removed, so far.
    stored: u64,
    removed: u64,
    /// `stored` when the count in force was sent: those it saw.
    stored_seen: u64,
    /// `removed` when the count in force came back: those taken as seen.
    removed_seen: u64,
    /// Stores under way.
    reserved: u64,
}

impl State {
    /// The farm's sessions as this process reckons them.
    fn figure(&self) -> usize {
        let mine = (self.stored - self.stored_seen + self.reserved) as usize;
        let gone = (self.removed - self.removed_seen) as usize;
        self.total.saturating_add(mine).saturating_sub(gone)
    }
}

/// A place held for a session being stored: freed when dropped, unless
/// [`Reservation::stored`] says the session was stored.
pub(super) struct Reservation<'a>(&'a Tally);

impl Reservation<'_> {
    /// The session was stored: it counts from now on as this process's.
    pub(super) fn stored(self) {
        self.0 .0.lock().stored += 1;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.0 .0.lock().reserved -= 1;
    }
}

impl Tally {
    /// Counts the farm's sessions now with `count`, and takes the result
    /// unless a count that started later has already come back.
    pub(super) fn count(&self, count: impl FnOnce() -> Result<usize>) -> Result<usize> {
        let (seq, stored_seen) = {
            let mut s = self.0.lock();
            s.started += 1;
            (s.started, s.stored)
        };
        let total = count()?;
        let mut s = self.0.lock();
        if seq > s.seq {
            s.total = total;
            s.at = Some(Instant::now());
            s.seq = seq;
            s.stored_seen = stored_seen;
            s.removed_seen = s.removed;
        }
        Ok(total)
    }

    /// The farm's sessions as this process reckons them, counted anew first
    /// (with `count`) if the count in force is older than `max_age`.
    pub(super) fn figure(
        &self,
        max_age: Duration,
        count: impl FnOnce() -> Result<usize>,
    ) -> Result<usize> {
        let stale = self.0.lock().at.is_none_or(|t| t.elapsed() >= max_age);
        if stale {
            self.count(count)?;
        }
        Ok(self.0.lock().figure())
    }

    /// A place for one more session, if the figure (see [`Tally::figure`])
    /// with the stores under way is below `max`; `None` if not.
    pub(super) fn reserve(
        &self,
        max: usize,
        max_age: Duration,
        count: impl FnOnce() -> Result<usize>,
    ) -> Result<Option<Reservation<'_>>> {
        self.figure(max_age, count)?;
        let mut s = self.0.lock();
        if s.figure() >= max {
            return Ok(None);
        }
        s.reserved += 1;
        Ok(Some(Reservation(self)))
    }

    /// This process removed a session (or claimed one for Session_OnEnd).
    pub(super) fn removed(&self) {
        self.0.lock().removed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts never older than this are not counted again.
    const FRESH: Duration = Duration::from_secs(3600);

    fn unused() -> Result<usize> {
        panic!("counted again")
    }

    /// Stores `n` sessions (within a limit of 100).
    fn store(t: &Tally, n: usize) {
        for _ in 0..n {
            t.reserve(100, FRESH, unused).unwrap().unwrap().stored();
        }
    }

    #[test]
    fn stores_while_a_count_is_under_way_are_not_forgotten() {
        let t = Tally::default();
        assert_eq!(t.count(|| Ok(5)).unwrap(), 5);
        // The count runs on the server before two stores; its reply comes
        // after them.
        let late = t.count(|| {
            store(&t, 2);
            Ok(5)
        });
        assert_eq!(late.unwrap(), 5);
        assert_eq!(t.figure(FRESH, unused).unwrap(), 7);
        // Had it seen them, the figure is two too high until the next count.
        t.count(|| {
            store(&t, 2);
            Ok(9)
        })
        .unwrap();
        assert_eq!(t.figure(FRESH, unused).unwrap(), 11);
        t.count(|| Ok(9)).unwrap();
        assert_eq!(t.figure(FRESH, unused).unwrap(), 9);
    }

    #[test]
    fn removals_while_a_count_is_under_way_count_once() {
        let t = Tally::default();
        t.count(|| Ok(3)).unwrap();
        t.removed();
        assert_eq!(t.figure(FRESH, unused).unwrap(), 2);
        // The count saw the removal above, and the one made meanwhile.
        t.count(|| {
            t.removed();
            Ok(1)
        })
        .unwrap();
        assert_eq!(t.figure(FRESH, unused).unwrap(), 1);
        // One it did not see leaves the figure one too high, till the next.
        t.count(|| {
            t.removed();
            Ok(1)
        })
        .unwrap();
        assert_eq!(t.figure(FRESH, unused).unwrap(), 1);
        t.count(|| Ok(0)).unwrap();
        assert_eq!(t.figure(FRESH, unused).unwrap(), 0);
    }

    #[test]
    fn a_count_started_earlier_never_replaces_a_later_one() {
        let t = Tally::default();
        t.count(|| Ok(3)).unwrap();
        t.count(|| {
            store(&t, 1);
            t.count(|| Ok(4)).unwrap();
            Ok(3)
        })
        .unwrap();
        assert_eq!(t.figure(FRESH, unused).unwrap(), 4);
    }

    #[test]
    fn stores_under_way_hold_their_places() {
        let t = Tally::default();
        t.count(|| Ok(1)).unwrap();
        let first = t.reserve(3, FRESH, unused).unwrap().unwrap();
        let second = t.reserve(3, FRESH, unused).unwrap().unwrap();
        assert!(t.reserve(3, FRESH, unused).unwrap().is_none(), "full");
        drop(first); // not stored: its place is free again
        let third = t.reserve(3, FRESH, unused).unwrap().unwrap();
        second.stored();
        third.stored();
        assert_eq!(t.figure(FRESH, unused).unwrap(), 3);
        assert!(t.reserve(3, FRESH, unused).unwrap().is_none());
    }

    #[test]
    fn an_old_count_is_counted_again_and_a_failure_reported() {
        let t = Tally::default();
        let fail = || Err(crate::error::Error::code_only(crate::error::E_FAIL));
        assert!(t.figure(FRESH, fail).is_err(), "never counted");
        assert_eq!(t.figure(FRESH, || Ok(2)).unwrap(), 2);
        assert_eq!(t.figure(Duration::ZERO, || Ok(6)).unwrap(), 6);
        assert!(t.reserve(10, Duration::ZERO, fail).is_err());
    }
}
