//! A minimal free-threaded COM object counting its references, for tests
//! that check when the library releases the objects a session holds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sess::variant::{Object, Unknown, UnknownVtbl};

#[repr(C)]
struct Counted {
    base: Unknown,
    refs: AtomicUsize,
    freed: Arc<AtomicUsize>,
}

unsafe extern "C" fn add_ref(this: *mut Unknown) -> u32 {
    // SAFETY: `this` is a live Counted.
    let c = unsafe { &*(this as *const Counted) };
    (c.refs.fetch_add(1, Ordering::SeqCst) + 1) as u32
}

unsafe extern "C" fn release(this: *mut Unknown) -> u32 {
    // SAFETY: `this` is a live Counted.
    let c = unsafe { &*(this as *const Counted) };
    let left = c.refs.fetch_sub(1, Ordering::SeqCst) - 1;
    if left == 0 {
        c.freed.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the last reference: made by Box::into_raw in `counted`.
        drop(unsafe { Box::from_raw(this as *mut Counted) });
    }
    left as u32
}

static VTBL: UnknownVtbl = UnknownVtbl {
    query_interface: None,
    add_ref: Some(add_ref),
    release: Some(release),
};

/// A new object holding one reference (the caller's); adds 1 to `freed`
/// when its last reference goes.
pub fn counted(freed: &Arc<AtomicUsize>) -> Object {
    let b = Box::new(Counted {
        base: Unknown { vtbl: &VTBL },
        refs: AtomicUsize::new(1),
        freed: freed.clone(),
    });
    // SAFETY: a fresh object whose one reference is handed over.
    unsafe { Object::from_owned(Box::into_raw(b) as *mut Unknown) }.unwrap()
}
