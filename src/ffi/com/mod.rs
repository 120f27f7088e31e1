//! The Session as COM-style objects, for hosts that call it the way COM
//! clients do (X++'s `interface()`, a late-bound script host): the Session
//! (ASP's `ISessionObject`), its Contents and StaticObjects collections
//! (`IVariantDictionary`) and their enumerators (`IEnumVARIANT`).
//!
//! Each object is a pointer to a vtable whose first entries are IUnknown's,
//! then (but for the enumerator) IDispatch's, then the interface's own
//! methods in the ASP type library's order. References are counted
//! atomically; the object frees itself when the count reaches zero.
//!
//! An object reaches its session through the handle it came from and that
//! handle's `Liveness`: once the unit of work has ended (session closed or
//! discarded, request ended, event handler returned), every call but
//! QueryInterface/AddRef/Release answers `SESS_E_OBJECT_DETACHED`. Objects
//! follow the handle's threading rule: one thread at a time (AddRef and
//! Release excepted).

mod args;
pub mod dictionary;
pub mod dispatch;
pub mod enumerator;
pub mod session_object;

use std::ffi::c_void;
use std::sync::atomic::{fence, AtomicU32, Ordering};

use super::handle::{self, sess_session, Liveness};
use super::variant::{check_clearable, sess_variant, store};
use super::{boundary, deref, null, sess_result};
use crate::app::Session;
use crate::error::{self as err, Error, Result};
use crate::variant::{Guid, Unknown, Variant, IID_IUNKNOWN};

/// A GUID from its `uuid` form (the registry spelling).
const fn guid(u: uuid::Uuid) -> Guid {
    let v = u.as_u128();
    Guid {
        data1: (v >> 96) as u32,
        data2: (v >> 80) as u16,
        data3: (v >> 64) as u16,
        data4: (v as u64).to_be_bytes(),
    }
}

/// IID_IUnknown, {00000000-0000-0000-C000-000000000046}: every object
/// answers it.
#[no_mangle]
pub static SESS_IID_IUNKNOWN: Guid = IID_IUNKNOWN;

/// IID_IDispatch, {00020400-0000-0000-C000-000000000046}: the Session and
/// dictionary objects answer it (get_ids_of_names / invoke).
#[no_mangle]
pub static SESS_IID_IDISPATCH: Guid = guid(uuid::uuid!("00020400-0000-0000-C000-000000000046"));

/// IID_IEnumVARIANT, {00020404-0000-0000-C000-000000000046}: the
/// enumerators (sess_enum_variant) answer it.
#[no_mangle]
pub static SESS_IID_IENUMVARIANT: Guid = guid(uuid::uuid!("00020404-0000-0000-C000-000000000046"));

/// IID_ISessionObject, {D97A6DA0-A865-11cf-83AF-00A0C90C2BD8} (asp.tlb): the
/// Session object (sess_session_object) answers it.
#[no_mangle]
pub static SESS_IID_ISESSIONOBJECT: Guid =
    guid(uuid::uuid!("D97A6DA0-A865-11cf-83AF-00A0C90C2BD8"));

/// IID_IVariantDictionary, {4A7DEB90-B069-11D0-B373-00A0C90C2BD8}
/// (asp.tlb): the Contents and StaticObjects objects
/// (sess_variant_dictionary) answer it.
#[no_mangle]
pub static SESS_IID_IVARIANTDICTIONARY: Guid =
    guid(uuid::uuid!("4A7DEB90-B069-11D0-B373-00A0C90C2BD8"));

/// One object as allocated: the C-visible head (its vtable pointer) first,
/// then the reference count and the object's state.
#[repr(C)]
pub(crate) struct Com<H, T> {
    head: H,
    refs: AtomicU32,
    inner: T,
}

impl<H, T> Com<H, T> {
    /// A new object with one reference, as the C pointer to its head.
    pub(crate) fn create(head: H, inner: T) -> *mut H {
        let b = Box::new(Com {
            head,
            refs: AtomicU32::new(1),
            inner,
        });
        Box::into_raw(b).cast()
    }

    /// The state of the object at `p`.
    ///
    /// # Safety
    /// `p` must be NULL or a live object of this type.
    pub(crate) unsafe fn inner<'a>(p: *mut H) -> Result<&'a T>
    where
        H: 'a,
        T: 'a,
    {
        // SAFETY: a live object of this type starts with its head.
        Ok(&unsafe { deref(p.cast::<Self>().cast_const(), "object") }?.inner)
    }
}

/// A reference count this high only comes from references never released
/// (no host holds 2^31): from there the count sticks at [`STUCK`] and the
/// object is never freed, rather than wrap to 0 and be freed while held.
const MAX_REFS: u32 = 1 << 31;

/// Where a count past [`MAX_REFS`] is pinned (halfway to overflow, so racing
/// calls cannot carry it round).
const STUCK: u32 = MAX_REFS + (MAX_REFS >> 1);

/// IUnknown::AddRef for every object type; returns the new count (0 for
/// NULL).
///
/// # Safety
/// `p` must be NULL or a live object of type `Com<H, T>`.
pub(crate) unsafe extern "C" fn add_ref<H, T>(p: *mut H) -> u32 {
    // SAFETY: per the caller.
    let Some(o) = (unsafe { p.cast::<Com<H, T>>().as_ref() }) else {
        return 0;
    };
    let before = o.refs.fetch_add(1, Ordering::Relaxed);
    if before >= MAX_REFS {
        o.refs.store(STUCK, Ordering::Relaxed);
        return STUCK;
    }
    before + 1
}

/// IUnknown::Release for every object type: frees the object when the last
/// reference goes; returns the new count (0 for NULL). A count stuck past
/// [`MAX_REFS`] stays there.
///
/// # Safety
/// `p` must be NULL or a live object of type `Com<H, T>` on which the
/// caller holds a reference.
pub(crate) unsafe extern "C" fn release<H, T>(p: *mut H) -> u32 {
    let p = p.cast::<Com<H, T>>();
    // SAFETY: per the caller.
    let Some(o) = (unsafe { p.as_ref() }) else {
        return 0;
    };
    let before = o.refs.fetch_sub(1, Ordering::Release);
    if before >= MAX_REFS {
        o.refs.store(STUCK, Ordering::Relaxed);
        return STUCK;
    }
    if before == 1 {
        fence(Ordering::Acquire);
        // SAFETY: the last reference: made by Box in Com::create, freed once.
        drop(unsafe { Box::from_raw(p) });
    }
    before - 1
}

/// IUnknown::QueryInterface for an object whose interfaces are IUnknown,
/// `own` and (if `dispatch`) IDispatch: `*out` receives the object
/// AddRef'd, or NULL and `SESS_E_NOINTERFACE`.
///
/// # Safety
/// `p` NULL or a live `Com<H, T>`; `iid` NULL or readable; `out` NULL or
/// writable.
pub(crate) unsafe fn query_interface<H, T>(
    p: *mut H,
    iid: *const Guid,
    out: *mut *mut c_void,
    own: &Guid,
    dispatch: bool,
) -> sess_result {
    boundary(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        // SAFETY: writable per the caller.
        unsafe { out.write(std::ptr::null_mut()) };
        // SAFETY: per the caller.
        let iid = unsafe { deref(iid, "iid") }?;
        // SAFETY: per the caller.
        unsafe { Com::<H, T>::inner(p) }?;
        if *iid == IID_IUNKNOWN || iid == own || (dispatch && *iid == SESS_IID_IDISPATCH) {
            // SAFETY: a live object of this type.
            unsafe { add_ref::<H, T>(p) };
            // SAFETY: writable per the caller.
            unsafe { out.write(p.cast()) };
            Ok(err::S_OK)
        } else {
            Err(Error::new(
                err::E_NOINTERFACE,
                "the object does not implement that interface",
            ))
        }
    })
}

/// A getter's tail: `f`'s value into `*out` (initialised; cleared first)
/// and its code; a NULL `out` is refused before `f` runs.
///
/// # Safety
/// `out` NULL or an initialised variant.
pub(crate) unsafe fn get_into(
    out: *mut sess_variant,
    f: impl FnOnce() -> Result<(Variant, sess_result)>,
) -> Result<sess_result> {
    if out.is_null() {
        return Err(null("out"));
    }
    // Before `f` acts (a static object is made on first use).
    // SAFETY: initialised per the caller.
    unsafe { check_clearable(&*out) }?;
    let (value, rc) = f()?;
    // SAFETY: initialised per the caller.
    unsafe { store(out, value) }?;
    Ok(rc)
}

/// Hands a new object to the caller: `*out` receives what `make` creates
/// (its one reference, now the caller's); a NULL `out` is refused before
/// `make` runs.
///
/// # Safety
/// `out` NULL or writable.
pub(crate) unsafe fn new_into<T>(
    out: *mut *mut T,
    make: impl FnOnce() -> Result<*mut T>,
) -> Result<sess_result> {
    if out.is_null() {
        return Err(null("out"));
    }
    let obj = make()?;
    // SAFETY: checked writable per the caller.
    unsafe { out.write(obj) };
    Ok(err::S_OK)
}

/// Where an object's calls go: the session handle it came from, while that
/// handle lives.
#[derive(Clone)]
pub(crate) struct Target {
    session: *mut sess_session,
    live: Liveness,
}

impl Target {
    /// The target for the handle `s`.
    ///
    /// # Safety
    /// `s` must be NULL or a live session handle used by this thread.
    pub(crate) unsafe fn new(s: *mut sess_session) -> Result<Target> {
        // SAFETY: per the caller.
        let live = unsafe { handle::Call::enter(s) }?.liveness();
        Ok(Target { session: s, live })
    }

    /// Runs `f` on the session, or `E_OBJECT_DETACHED` once its unit of
    /// work has ended, or `E_WRONG_STATE` while another call on the handle
    /// or its objects runs (see [`handle::Call`]).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Session) -> Result<R>) -> Result<R> {
        if !self.live.is_live() {
            return Err(Error::new(
                err::E_OBJECT_DETACHED,
                "this object's session handle has ended (closed, discarded, request \
                 ended or event handler returned): get a new one from the next handle",
            ));
        }
        // SAFETY: live means the handle is unfreed; objects share the
        // handle's one-thread-at-a-time rule.
        f(&mut *unsafe { handle::Call::enter(self.session) }?.session()?)
    }

    /// `E_OBJECT_DETACHED` once the unit of work has ended.
    pub(crate) fn check(&self) -> Result<()> {
        self.with(|_| Ok(()))
    }
}

/// An owned object reference as a `VT_DISPATCH` / `VT_UNKNOWN` value.
///
/// # Safety
/// `p` must be a live object whose one reference the caller gives up.
pub(crate) unsafe fn adopt<H>(p: *mut H) -> Result<crate::variant::Object> {
    // SAFETY: per the caller: a COM object with IUnknown's vtable first.
    unsafe { crate::variant::Object::from_owned(p.cast::<Unknown>()) }
}

#[cfg(test)]
mod tests;
