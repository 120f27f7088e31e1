//! `sess_enum_variant`: COM's `IEnumVARIANT` over a collection's keys, the
//! object For Each walks (`For Each key In Session.Contents`).
//!
//! The keys are a snapshot taken when the enumerator is made (clones share
//! it), so changing the collection while enumerating is safe; the
//! enumerator still answers `SESS_E_OBJECT_DETACHED` once the unit of work
//! has ended.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::super::variant::{check_clearable, sess_variant, store};
use super::super::{boundary, null, put, sess_result};
use super::{add_ref, new_into, release, Com, Target};
use crate::error::{self as err, Result};
use crate::variant::{Guid, Variant};

/// An enumerator object (C callers call through `vtbl`).
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_enum_variant {
    /// The object's methods.
    pub vtbl: *const sess_enum_variant_vtbl,
}

/// The methods of a `sess_enum_variant`, in `IEnumVARIANT`'s vtable order
/// (IUnknown's, then Next, Skip, Reset, Clone). Each takes the object
/// itself first. After the unit of work has ended, next, skip, reset and
/// clone return `SESS_E_OBJECT_DETACHED`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct sess_enum_variant_vtbl {
    /// IUnknown: `*out` receives the object AddRef'd for
    /// `SESS_IID_IUNKNOWN` and `SESS_IID_IENUMVARIANT`; anything else is
    /// NULL and `SESS_E_NOINTERFACE`.
    pub query_interface: unsafe extern "C" fn(
        object: *mut sess_enum_variant,
        iid: *const Guid,
        out: *mut *mut c_void,
    ) -> sess_result,
    /// IUnknown: adds a reference; returns the new count.
    pub add_ref: unsafe extern "C" fn(object: *mut sess_enum_variant) -> u32,
    /// IUnknown: drops a reference, freeing the object at zero; returns the
    /// new count.
    pub release: unsafe extern "C" fn(object: *mut sess_enum_variant) -> u32,
    /// Next: the next `count` keys (`SESS_VT_BSTR`) into `out[0..count]`
    /// (each initialised; cleared first; the caller owns them);
    /// `*fetched` (may be NULL) receives how many. `SESS_S_OK` if all
    /// `count` came, `SESS_S_FALSE` if the end came first. A bad
    /// `out[i]` (its tag, or an object it holds) is an error with nothing
    /// written.
    pub next: unsafe extern "C" fn(
        object: *mut sess_enum_variant,
        count: u32,
        out: *mut sess_variant,
        fetched: *mut u32,
    ) -> sess_result,
    /// Skip: moves past `count` keys; `SESS_S_FALSE` if the end came first.
    pub skip: unsafe extern "C" fn(object: *mut sess_enum_variant, count: u32) -> sess_result,
    /// Reset: back to the first key.
    pub reset: unsafe extern "C" fn(object: *mut sess_enum_variant) -> sess_result,
    /// Clone: `*out` receives a new enumerator at the same position (the
    /// caller owns it).
    pub clone: unsafe extern "C" fn(
        object: *mut sess_enum_variant,
        out: *mut *mut sess_enum_variant,
    ) -> sess_result,
}

/// An enumerator's state.
pub(crate) struct Enumerator {
    target: Target,
    keys: Arc<[Box<str>]>,
    pos: AtomicUsize,
}

type Obj = Com<sess_enum_variant, Enumerator>;

static VTBL: sess_enum_variant_vtbl = sess_enum_variant_vtbl {
    query_interface,
    add_ref: add_ref::<sess_enum_variant, Enumerator>,
    release: release::<sess_enum_variant, Enumerator>,
    next,
    skip,
    reset,
    clone,
};

/// A new enumerator over `keys` (one reference, the caller's).
pub(crate) fn create(target: Target, keys: Vec<Box<str>>) -> *mut sess_enum_variant {
    make(target, keys.into(), 0)
}

fn make(target: Target, keys: Arc<[Box<str>]>, pos: usize) -> *mut sess_enum_variant {
    let state = Enumerator {
        target,
        keys,
        pos: AtomicUsize::new(pos),
    };
    Obj::create(sess_enum_variant { vtbl: &VTBL }, state)
}

/// A live enumerator.
///
/// # Safety
/// `object` NULL or a live enumerator.
unsafe fn live<'a>(object: *mut sess_enum_variant) -> Result<&'a Enumerator> {
    // SAFETY: per the caller.
    let e = unsafe { Obj::inner(object) }?;
    e.target.check()?;
    Ok(e)
}

unsafe extern "C" fn query_interface(
    object: *mut sess_enum_variant,
    iid: *const Guid,
    out: *mut *mut c_void,
) -> sess_result {
    // SAFETY: the caller's contract.
    unsafe {
        super::query_interface::<_, Enumerator>(
            object,
            iid,
            out,
            &super::SESS_IID_IENUMVARIANT,
            false,
        )
    }
}

unsafe extern "C" fn next(
    object: *mut sess_enum_variant,
    count: u32,
    out: *mut sess_variant,
    fetched: *mut u32,
) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let e = unsafe { live(object) }?;
        if out.is_null() && count > 0 {
            return Err(null("out"));
        }
        let start = e.pos.load(Ordering::Relaxed);
        let batch = e.keys.get(start..).unwrap_or_default();
        let n = batch.len().min(count as usize);
        for i in 0..n {
            // SAFETY: out holds count >= n initialised variants per the contract.
            unsafe { check_clearable(&*out.add(i)) }?;
        }
        let keys: Vec<Variant> = batch[..n].iter().map(|k| Variant::bstr(k)).collect();
        e.pos.store(start + n, Ordering::Relaxed);
        // `e` is not used from here on: clearing an `out[i]` may release
        // this enumerator's last reference.
        for (i, key) in keys.into_iter().enumerate() {
            // SAFETY: out holds count >= n initialised variants per the contract.
            unsafe { store(out.add(i), key) }?;
        }
        // SAFETY: NULL or writable.
        unsafe { put(fetched, n as u32) };
        Ok(if n == count as usize {
            err::S_OK
        } else {
            err::S_FALSE
        })
    })
}

unsafe extern "C" fn skip(object: *mut sess_enum_variant, count: u32) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let e = unsafe { live(object) }?;
        let start = e.pos.load(Ordering::Relaxed);
        let end = start.saturating_add(count as usize);
        e.pos.store(end.min(e.keys.len()), Ordering::Relaxed);
        Ok(if end <= e.keys.len() {
            err::S_OK
        } else {
            err::S_FALSE
        })
    })
}

unsafe extern "C" fn reset(object: *mut sess_enum_variant) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        unsafe { live(object) }?.pos.store(0, Ordering::Relaxed);
        Ok(err::S_OK)
    })
}

unsafe extern "C" fn clone(
    object: *mut sess_enum_variant,
    out: *mut *mut sess_enum_variant,
) -> sess_result {
    boundary(|| {
        // SAFETY: the caller's contract (`out` and `object`).
        unsafe {
            new_into(out, || {
                let e = live(object)?;
                Ok(make(
                    e.target.clone(),
                    Arc::clone(&e.keys),
                    e.pos.load(Ordering::Relaxed),
                ))
            })
        }
    })
}
