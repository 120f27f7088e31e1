//! Per-thread handles on an application, so that requests on different
//! threads do not share one reference count.
//!
//! A [`Session`](super::Session) keeps its application alive for as long as
//! it lives. If every session cloned the same `Arc`, each request would make
//! two atomic read-modify-writes on one cache line that every thread
//! writes, and with two cores busy that line moves between them twice per
//! request. Instead an application keeps a few handles, each an `Arc`
//! whose reference count is on a line of its own, and a thread always takes
//! the same one.

use std::cell::Cell;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How many handles an application keeps: threads beyond this share them.
const STRIPES: usize = 16;

/// What a session holds: a handle that owns an `Arc` of the application.
pub(crate) type Anchor<T> = Arc<Lined<Arc<T>>>;

/// A value aligned to a 128-byte block (a cache line and the one the
/// hardware prefetcher pairs with it): inside an `Arc`, the reference
/// counts before it get the block to themselves, so two handles allocated
/// side by side do not share a line.
#[repr(align(128))]
pub(crate) struct Lined<T>(T);

impl<T> Deref for Lined<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A handle of its own on `inner`.
pub(crate) fn anchor<T>(inner: Arc<T>) -> Anchor<T> {
    Arc::new(Lined(inner))
}

/// An application's handles, one per stripe of threads.
pub(crate) struct Anchors<T>(Box<[Anchor<T>; STRIPES]>);

impl<T> Anchors<T> {
    /// [`STRIPES`] handles on `inner`.
    pub(crate) fn new(inner: &Arc<T>) -> Anchors<T> {
        Anchors(Box::new(std::array::from_fn(|_| anchor(inner.clone()))))
    }

    /// The calling thread's handle.
    pub(crate) fn get(&self) -> Anchor<T> {
        self.0[thread_stripe() % STRIPES].clone()
    }
}

/// This thread's stripe: threads take stripes in turn as they first ask.
fn thread_stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    STRIPE.with(|s| {
        if s.get() == usize::MAX {
            s.set(NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES);
        }
        s.get()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread always gets the same handle; threads are spread over
    /// several; the handles keep the value alive after the application's
    /// own set is gone.
    #[test]
    fn threads_take_their_own_handle() {
        let inner = Arc::new(7);
        let anchors = Anchors::new(&inner);
        let here = anchors.get();
        assert!(Arc::ptr_eq(&here, &anchors.get()));
        let others: Vec<_> = (0..STRIPES + 1)
            .map(|_| std::thread::scope(|s| s.spawn(|| anchors.get()).join().unwrap()))
            .collect();
        assert!(
            others.iter().any(|o| !Arc::ptr_eq(o, &others[0])),
            "threads spread over the handles"
        );
        // Each handle's block is aligned, so its counts (just before the
        // value) share no line with another handle's.
        for a in anchors.0.iter() {
            assert_eq!(Arc::as_ptr(a) as usize % 128, 0);
        }
        drop(anchors);
        drop(others);
        assert_eq!((***here, Arc::strong_count(&inner)), (7, 2));
    }
}
