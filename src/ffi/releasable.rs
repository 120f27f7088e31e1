//! The handles a `*_release` function ends (`sess_app`, `sess_site`), and
//! the host code their calls and releases run: a Session_OnEnd (or
//! Session_OnStart) may call back with the very handle.
//!
//! - A call with a handle whose release is ending it is `E_WRONG_STATE`,
//!   never served by a value in mid-drop; a release then is a no-op.
//! - A release from host code that a call on the same handle runs, on this
//!   thread (a Session_OnEnd of `sess_app_expire`), is deferred: the value
//!   ends when that call returns, never under it.
//!
//! Calls on other threads racing a release break the handle's contract
//! (not used after its release), as ever. The calls in flight are kept per
//! thread, so a call writes no shared cache line.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::{addr_of, addr_of_mut, NonNull};
use std::sync::atomic::{AtomicU8, Ordering};

use super::handle::{take, Boxed};
use super::null;
use crate::error::{self as err, Error, Result};

/// Not being released.
const LIVE: u8 = 0;
/// Released from host code a call on the handle runs: ends when the call
/// returns.
const DEFERRED: u8 = 1;
/// Being ended (or about to be, by the call returning).
const ENDING: u8 = 2;

thread_local! {
    /// The handles with a call in flight on this thread, innermost last.
    static IN_FLIGHT: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Whether this thread has a call in flight on the handle at `addr`.
fn in_flight(addr: usize) -> bool {
    IN_FLIGHT
        .try_with(|f| f.borrow().contains(&addr))
        .unwrap_or(false)
}

/// What a released handle points to: its value, and where its release is.
/// Reached field by field, so that a refused call touches nothing the
/// release is dropping.
pub(crate) struct Releasable<T> {
    value: ManuallyDrop<T>,
    state: AtomicU8,
}

impl<T> Releasable<T> {
    /// A handle's value, not being released.
    pub(crate) fn new(value: T) -> Releasable<T> {
        Releasable {
            value: ManuallyDrop::new(value),
            state: AtomicU8::new(LIVE),
        }
    }
}

/// The handle's state, reached alone.
///
/// # Safety
/// `h` must be a live handle for `'a`.
unsafe fn state<'a, T>(h: *const Releasable<T>) -> &'a AtomicU8 {
    // SAFETY: per the caller.
    unsafe { &*addr_of!((*h).state) }
}

/// Drops the value and frees the handle.
///
/// # Safety
/// `h` a handle from `Box`, its state set to `ENDING` by the caller (so
/// nothing else reaches the value), ended once.
unsafe fn end<C: Boxed<RustType = Releasable<T>>, T>(h: *mut Releasable<T>) {
    // SAFETY: per the caller; the box's fields need no drop after.
    unsafe {
        ManuallyDrop::drop(&mut *addr_of_mut!((*h).value));
        drop(take(h.cast::<C>()));
    }
}

/// A call on a released handle's value, in flight until this drops (see
/// the module's documentation).
pub(crate) struct Live<'a, C: Boxed<RustType = Releasable<T>>, T> {
    handle: NonNull<Releasable<T>>,
    _use: PhantomData<(&'a mut T, *const C)>,
}

impl<C: Boxed<RustType = Releasable<T>>, T> Deref for Live<'_, C, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: not ended while the call is in flight.
        unsafe { &*addr_of!((*self.handle.as_ptr()).value) }
    }
}

impl<C: Boxed<RustType = Releasable<T>>, T> DerefMut for Live<'_, C, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `deref`; only for a handle the contract keeps
        // unaliased for the call (a site while applications are added).
        unsafe { &mut *addr_of_mut!((*self.handle.as_ptr()).value) }
    }
}

impl<C: Boxed<RustType = Releasable<T>>, T> Drop for Live<'_, C, T> {
    fn drop(&mut self) {
        let h = self.handle.as_ptr();
        let addr = h as usize;
        let _ = IN_FLIGHT.try_with(|f| {
            let mut f = f.borrow_mut();
            if let Some(i) = f.iter().rposition(|&a| a == addr) {
                f.remove(i);
            }
        });
        // SAFETY: live until ended, which only this thread does from here.
        let state = unsafe { state(h) };
        // A load first: the common case writes no shared cache line.
        if state.load(Ordering::Acquire) != DEFERRED || in_flight(addr) {
            // Not released, or an outer call on this thread ends it.
            return;
        }
        if state
            .compare_exchange(DEFERRED, ENDING, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            // SAFETY: the outermost call on the handle returned after its
            // release was deferred; the state is ENDING.
            unsafe { end::<C, T>(h) };
        }
    }
}

/// The value behind a handle argument, for the call: NULL is `E_POINTER`
/// naming `what`, a released handle `E_WRONG_STATE`.
///
/// # Safety
/// `p` must be NULL or a live handle of its type.
pub(crate) unsafe fn live<'a, C, T>(p: *const C, what: &str) -> Result<Live<'a, C, T>>
where
    C: Boxed<RustType = Releasable<T>>,
{
    let handle = NonNull::new(p.cast::<Releasable<T>>().cast_mut()).ok_or_else(|| null(what))?;
    // SAFETY: live per the caller.
    if unsafe { state(handle.as_ptr()) }.load(Ordering::Acquire) != LIVE {
        return Err(Error::new(
            err::E_WRONG_STATE,
            format!(
                "{what} has been released (a Session_OnEnd or Session_OnStart its \
                 release or a call on it ran called back with it)"
            ),
        ));
    }
    let addr = handle.as_ptr() as usize;
    let _ = IN_FLIGHT.try_with(|f| f.borrow_mut().push(addr));
    Ok(Live {
        handle,
        _use: PhantomData,
    })
}

/// The value behind a live handle, for Rust code holding one outside any
/// call (NULL or released: `None`).
///
/// # Safety
/// `p` must be NULL or a live handle of its type.
pub(crate) unsafe fn peek<'a, C, T>(p: *const C) -> Option<&'a T>
where
    C: Boxed<RustType = Releasable<T>>,
{
    let h = p.cast::<Releasable<T>>();
    // SAFETY: NULL or live per the caller; the fields reached alone.
    unsafe {
        if h.is_null() || state(h).load(Ordering::Acquire) != LIVE {
            return None;
        }
        Some(&*addr_of!((*h).value))
    }
}

/// A `*_release` function's body: ends the value and frees the handle, or,
/// from host code a call on the handle runs on this thread, leaves that
/// to the call's return. NULL, or a handle already released, is a no-op.
///
/// # Safety
/// `p` must be NULL or a live handle of its type, released once (but
/// from host code its own release runs).
pub(crate) unsafe fn release<C, T>(p: *mut C)
where
    C: Boxed<RustType = Releasable<T>>,
{
    let h = p.cast::<Releasable<T>>();
    if h.is_null() {
        return;
    }
    let next = if in_flight(h as usize) {
        DEFERRED
    } else {
        ENDING
    };
    // SAFETY: live per the caller.
    let state = unsafe { state(h) };
    if state
        .compare_exchange(LIVE, next, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
        && next == ENDING
    {
        // SAFETY: the state is ENDING: every other call is refused.
        unsafe { end::<C, T>(h) };
    }
}
