//! Read-only requests' deadline slides, queued per process and written in
//! batches.
//!
//! A read-only request (or an exclusive one that changed nothing) that
//! moves its session's deadline by
//! [`REFRESH_MS`](super::provider::REFRESH_MS) or more would otherwise pay a
//! write transaction of its own (LMDB admits one writer at a time, across
//! processes). Instead the slide is queued here (key hash → new deadline)
//! and a flusher thread writes the queue in one transaction when it holds
//! [`BATCH`] slides or its oldest is [`FLUSH_AFTER`] old; the process also
//! flushes before it sweeps, when a session it reads looks expired, and
//! when the environment closes.
//!
//! Why no other process can end a session whose slide is queued here: a
//! slide is queued only while the session's stored deadline is at least
//! [`HORIZON_MS`] away (otherwise the request writes it at once), and the
//! queue is flushed within [`FLUSH_AFTER`] (less than the horizon), so the
//! stored deadline has not passed when the slide reaches the file: no sweep
//! (in any process) and no request finds the session expired meanwhile. A
//! process killed (or stopped for longer than the horizon) with slides
//! queued loses them: those sessions keep their earlier deadline, as if
//! the read-only requests had not slid them — never ended twice, never
//! resurrected (a flush only updates a session that still exists). The
//! flush bound is real time and the horizon store-clock time: the
//! guarantee assumes the two advance together (the system clock; not a
//! manual test clock set ahead in another process).
//!
//! A flush writes a slide only if the session's deadline is still the one
//! the request read (`seen`): a save, a remove or another slide written
//! since came from a later request (or one at most the horizon earlier)
//! and stands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::env::Db;

/// A queue this long wakes the flusher. A batch holds LMDB's writer for
/// about 1 µs to 4 µs per slide (each copies its session's B-tree leaf), so
/// writers wait behind it at most about a millisecond.
pub(super) const BATCH: usize = 256;
/// A queue this long is flushed by the request that finds it so (the
/// flusher is behind).
const BACKLOG: usize = 8 * BATCH;
/// The longest a slide stays queued (the flusher's deadline).
pub(super) const FLUSH_AFTER: Duration = Duration::from_secs(1);
/// A slide is queued only if the stored deadline is at least this far
/// (clock milliseconds) after now; more than [`FLUSH_AFTER`], with room
/// for a late flusher.
pub(super) const HORIZON_MS: u64 = 5_000;

/// One queued slide: in `sessions`, the session whose stored deadline was
/// `seen` gets `deadline`.
#[derive(Clone, Copy)]
pub(super) struct Slide {
    pub(super) sessions: Db,
    pub(super) seen: u64,
    pub(super) deadline: u64,
}

/// The queue key: the application's number in this process and the key hash.
pub(super) type Key = (u32, [u8; 16]);

/// What [`Slides::push`] asks of the caller.
pub(super) enum Push {
    /// Queued; nothing to do.
    Queued,
    /// Queued, but no flusher runs yet: start one ([`Slides::flusher`]).
    Start,
    /// Queued, and the queue is past its backlog: flush it now.
    Flush,
}

#[derive(Default)]
struct Queue {
    /// In the order queued (a session may be there more than once).
    pending: Vec<(Key, Slide)>,
    /// When the oldest pending slide was queued.
    since: Option<Instant>,
    /// Whether a flusher thread was started (or could not be: then
    /// requests flush at [`BACKLOG`] and sweeps flush).
    started: bool,
    stop: bool,
    /// Whether slides taken from the queue are being written.
    writing: bool,
}

/// One environment's queue of slides (shared with its flusher thread).
/// Slides taken from the queue are being written while this lives (one
/// writer at a time: the caller holds LMDB's write turn).
pub(super) struct Writing<'a>(&'a Slides);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.queue.lock().writing = false;
    }
}

#[derive(Default)]
pub(super) struct Slides {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl Slides {
    /// Queues `slide` of `key`.
    pub(super) fn push(&self, key: Key, slide: Slide) -> Push {
        let mut q = self.queue.lock();
        q.pending.push((key, slide));
        let n = q.pending.len();
        if q.since.is_none() {
            q.since = Some(Instant::now());
            self.wake.notify_one(); // the flusher's clock starts
        } else if n == BATCH {
            self.wake.notify_one();
        }
        if !q.started {
            q.started = true;
            Push::Start
        } else if n >= BACKLOG {
            Push::Flush
        } else {
            Push::Queued
        }
    }

    /// Whether no slide is queued or being written.
    pub(super) fn is_empty(&self) -> bool {
        let q = self.queue.lock();
        q.pending.is_empty() && !q.writing
    }

    /// Takes every queued slide, one per session, in key order
    /// (neighbours in the B-tree are written together), to be written
    /// while the returned guard lives. Of a session's slides that saw the
    /// same stored deadline the latest deadline is kept; one that saw
    /// another stored deadline replaces those before it (the session was
    /// written in between).
    pub(super) fn take(&self) -> (Writing<'_>, Vec<(Key, Slide)>) {
        let mut pending = {
            let mut q = self.queue.lock();
            q.since = None;
            q.writing = true;
            std::mem::take(&mut q.pending)
        };
        pending.sort_by_key(|(k, _)| *k); // stable: queue order per key
        pending.dedup_by(|(k, later), (kept_k, kept)| {
            if k != kept_k {
                return false;
            }
            if later.seen == kept.seen {
                kept.deadline = kept.deadline.max(later.deadline);
            } else {
                *kept = *later;
            }
            true
        });
        (Writing(self), pending)
    }

    /// Ends the flusher (at the environment's close).
    pub(super) fn stop(&self) {
        self.queue.lock().stop = true;
        self.wake.notify_all();
    }

    /// Waits until a flush is due: `false` once stopped.
    fn wait_due(&self) -> bool {
        let mut q = self.queue.lock();
        loop {
            if q.stop {
                return false;
            }
            match q.since {
                None => self.wake.wait(&mut q),
                Some(_) if q.pending.len() >= BATCH => return true,
                Some(t) => {
                    let due = t + FLUSH_AFTER;
                    if Instant::now() >= due {
                        return true;
                    }
                    let _ = self.wake.wait_until(&mut q, due);
                }
            }
        }
    }

    /// Starts the flusher thread: it runs `flush` whenever a flush is due,
    /// until [`stop`](Self::stop) or until `flush` returns `false` (the
    /// environment is gone). If the thread cannot start, requests flush
    /// the backlog themselves.
    pub(super) fn flusher(self: &Arc<Self>, mut flush: impl FnMut() -> bool + Send + 'static) {
        let slides = Arc::clone(self);
        let spawned = crate::threads::spawn("sess-lmdb-slides", move || {
            while slides.wait_due() {
                if !flush() {
                    return;
                }
            }
        });
        if spawned.is_err() {
            // No thread: the queue is flushed at its backlog and by sweeps,
            // and nothing bounds how long a slide waits, so queue no more.
            self.queue.lock().stop = true;
        }
    }

    /// Whether slides may be queued (a flusher runs or may be started).
    pub(super) fn open(&self) -> bool {
        !self.queue.lock().stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_merges_per_session_and_sorts() {
        let s = Slides::default();
        let (a, b) = ((0, [2u8; 16]), (0, [1u8; 16]));
        let dir = std::env::temp_dir().join(format!("libsess-slides-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let shared = super::super::env::Shared::open(
            &super::super::LmdbOptions::new(&dir),
            super::super::parts::SINGLE,
            1 << 20,
        )
        .unwrap();
        let slide = |seen, deadline| Slide {
            sessions: shared.sessions,
            seen,
            deadline,
        };
        assert!(matches!(s.push(a, slide(10, 50)), Push::Start));
        assert!(matches!(s.push(a, slide(10, 40)), Push::Queued));
        s.push(b, slide(1, 2));
        let got = |batch: Vec<(Key, Slide)>| {
            batch
                .iter()
                .map(|(k, s)| (*k, s.seen, s.deadline))
                .collect::<Vec<_>>()
        };
        // a: the later deadline of the two that saw 10; b sorts first.
        let (writing, batch) = s.take();
        assert_eq!(got(batch), [(b, 1, 2), (a, 10, 50)]);
        assert!(!s.is_empty(), "being written");
        drop(writing);
        assert!(s.is_empty());
        s.push(a, slide(10, 50));
        s.push(a, slide(20, 30));
        assert_eq!(got(s.take().1), [(a, 20, 30)], "written since: replaced");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
