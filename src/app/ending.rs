//! The threads ending an application's sessions, which its release waits
//! for, and the sessions their sweeps claimed and have yet to end, which
//! the release ends when a Session_OnEnd of the same thread released it.
//!
//! A sweep claims a batch (the store removes it) before it ends each
//! session; the release's own look at the store cannot see a batch in
//! hand, so the sessions of a batch are kept here until their turn: the
//! release ends this thread's, and waits for other threads' sweeps to end
//! theirs. A claimed session thus always gets Session_OnEnd, once, and none
//! runs after the release has returned. A child forked by a Session_OnEnd
//! leaves the rest of its parent's batch to the parent.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use crate::fork;
use crate::store::Lease;

/// The threads ending sessions now (a Session_OnEnd, or a sweep's batch),
/// and whether the application was released (its last `App` dropped: then
/// none starts, and a unit of work still open ends its session without
/// Session_OnEnd). `std`'s pair, as the sweeper's: a `fork()` must not
/// find parking_lot's process-wide table half-updated.
#[derive(Default)]
pub(super) struct Ending {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    released: bool,
    enders: Vec<Ender>,
}

/// A thread ending sessions of the application.
struct Ender {
    thread: ThreadId,
    /// The fork generation it started in (a child has not the parent's
    /// other threads).
    generation: u32,
    /// Its calls in progress (a Session_OnEnd may end sessions too).
    depth: usize,
    /// Sessions its sweeps claimed and have yet to end.
    due: Vec<Lease>,
}

impl Ender {
    /// In a child forked while this thread was ending sessions (a
    /// Session_OnEnd that forked and returned): counts the thread as the
    /// child's, and gives the sessions its parent's sweeps claimed, which
    /// the parent ends (the child must not end them again).
    fn adopt(&mut self) -> Vec<Lease> {
        let now = fork::generation();
        if self.generation == now {
            return Vec::new();
        }
        self.generation = now;
        std::mem::take(&mut self.due)
    }
}

/// Lets go of the sessions a parent's sweep claimed (see [`Ender::adopt`]),
/// without Session_OnEnd. Their objects' Release is the host's code.
fn forget_inherited(inherited: Vec<Lease>) {
    if !inherited.is_empty() {
        fork::host(|| drop(inherited));
    }
}

impl Ending {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes this thread ending sessions until the guard drops; `None`
    /// once the application is released.
    pub(super) fn enter(&self) -> Option<Entered<'_>> {
        let me = std::thread::current().id();
        let mut state = self.lock();
        if state.released {
            return None;
        }
        match state.enders.iter_mut().find(|e| e.thread == me) {
            Some(e) => e.depth += 1,
            None => state.enders.push(Ender {
                thread: me,
                generation: fork::generation(),
                depth: 1,
                due: Vec::new(),
            }),
        }
        Some(Entered { ending: self, me })
    }

    /// Marks the application released; ends (with `end`) the sessions this
    /// thread's sweeps claimed and have yet to end (a Session_OnEnd of
    /// theirs is releasing it); then waits until the other threads of this
    /// process ending sessions are done (their sweeps end what they
    /// claimed; a unit of work's Session_OnEnd returns). This thread's own
    /// Session_OnEnd cannot be waited for, nor those of threads a `fork()`
    /// left in the parent.
    pub(super) fn release(&self, mut end: impl FnMut(Lease)) {
        let me = std::thread::current().id();
        let mut state = self.lock();
        state.released = true;
        let (inherited, mine) = state
            .enders
            .iter_mut()
            .find(|e| e.thread == me)
            .map(|e| (e.adopt(), std::mem::take(&mut e.due)))
            .unwrap_or_default();
        drop(state);
        forget_inherited(inherited);
        mine.into_iter().for_each(&mut end);
        let generation = fork::generation();
        let mut state = self.lock();
        while state
            .enders
            .iter()
            .any(|e| e.thread != me && e.generation == generation)
        {
            state = self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// This thread ending sessions (see [`Ending::enter`]).
pub(super) struct Entered<'a> {
    ending: &'a Ending,
    me: ThreadId,
}

impl Entered<'_> {
    /// Runs `f` on this thread's record (adopted in a forked child).
    fn mine<T>(&self, f: impl FnOnce(&mut Ender) -> T) -> Option<T> {
        let mut state = self.ending.lock();
        let e = state.enders.iter_mut().find(|e| e.thread == self.me)?;
        let inherited = e.adopt();
        let r = f(e);
        drop(state);
        forget_inherited(inherited);
        Some(r)
    }

    /// Keeps the sessions a sweep claimed (moved out of `due`) where the
    /// release finds them, until [`Entered::next`] hands them out.
    pub(super) fn claim(&self, due: &mut Vec<Lease>) {
        self.mine(|e| e.due.append(due));
    }

    /// The next claimed session to end, if any is left (the release takes
    /// them when a Session_OnEnd of this thread released the application).
    pub(super) fn next(&self) -> Option<Lease> {
        self.mine(|e| e.due.pop()).flatten()
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let mut state = self.ending.lock();
        let mut left = None;
        if let Some(i) = state.enders.iter().position(|e| e.thread == self.me) {
            state.enders[i].depth -= 1;
            if state.enders[i].depth == 0 {
                left = Some(state.enders.swap_remove(i));
            }
        }
        drop(state);
        // Sessions left only when a sweep was cut short (a panic): let go
        // outside the lock.
        drop(left);
        self.ending.done.notify_all();
    }
}
