//! Objects held in values: the IUnknown binary interface and a counted
//! reference to one.
//!
//! A session stores objects (`VT_UNKNOWN`, `VT_DISPATCH`) by reference, as COM
//! does: storing one calls `add_ref`, dropping the stored value calls `release`.
//! The layout is IUnknown's, so a real COM object's pointer fits, and a C host
//! can implement an object with a three-entry vtable.

use std::ffi::c_void;
use std::ptr::NonNull;

use crate::error::{self, Error, HResult, Result};

/// A COM interface identifier (IID), laid out as Windows' `GUID`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Guid {
    /// First 32 bits.
    pub data1: u32,
    /// Next 16 bits.
    pub data2: u16,
    /// Next 16 bits.
    pub data3: u16,
    /// Last 64 bits, as bytes.
    pub data4: [u8; 8],
}

/// `IID_IUnknown`, {00000000-0000-0000-C000-000000000046}.
pub const IID_IUNKNOWN: Guid = Guid {
    data1: 0,
    data2: 0,
    data3: 0,
    data4: [0xC0, 0, 0, 0, 0, 0, 0, 0x46],
};

/// IUnknown's vtable: the first three entries of every COM interface.
#[repr(C)]
pub struct UnknownVtbl {
    /// Returns in `*out` an AddRef'd pointer to the interface `iid`, or
    /// `E_NOINTERFACE` and NULL.
    pub query_interface: Option<
        unsafe extern "C" fn(
            object: *mut Unknown,
            iid: *const Guid,
            out: *mut *mut c_void,
        ) -> HResult,
    >,
    /// Adds a reference; returns the new count (for diagnostics only).
    pub add_ref: Option<unsafe extern "C" fn(object: *mut Unknown) -> u32>,
    /// Drops a reference; the object frees itself at zero. Returns the new count.
    pub release: Option<unsafe extern "C" fn(object: *mut Unknown) -> u32>,
}

/// An object: a pointer to its vtable pointer, as every COM object starts.
#[repr(C)]
pub struct Unknown {
    /// The object's vtable; `add_ref` and `release` must not be NULL.
    pub vtbl: *const UnknownVtbl,
}

/// A counted reference to an object: clone calls `add_ref`, drop calls `release`.
///
/// Sessions move between threads (one request, then the next), so an object
/// stored in a session must be free-threaded: callable from any thread.
pub struct Object(NonNull<Unknown>);

// SAFETY: the contract for stored objects (documented on `sess_unknown`) is
// that they are free-threaded, as ASP requires of session-scope objects.
unsafe impl Send for Object {}
// SAFETY: as above; `Object` itself only calls add_ref/release, which COM
// requires to be thread-safe for free-threaded objects.
unsafe impl Sync for Object {}

impl Object {
    /// Takes a new reference to the object at `ptr` (calls `add_ref`).
    ///
    /// # Safety
    /// `ptr`, if non-NULL, must point to a live object whose vtable pointer is
    /// NULL or valid.
    pub unsafe fn from_borrowed(ptr: *mut Unknown) -> Result<Object> {
        let obj = Self::check(ptr)?;
        // SAFETY: checked above: non-NULL object with a non-NULL add_ref.
        unsafe { ((*(*ptr).vtbl).add_ref.unwrap_unchecked())(ptr) };
        Ok(obj)
    }

    /// Adopts a reference the caller already owns (no `add_ref`).
    ///
    /// # Safety
    /// As [`Object::from_borrowed`]; and one reference is transferred.
    pub unsafe fn from_owned(ptr: *mut Unknown) -> Result<Object> {
        // SAFETY: forwarded to the caller.
        unsafe { Self::check(ptr) }
    }

    /// # Safety
    /// As [`Object::from_borrowed`].
    unsafe fn check(ptr: *mut Unknown) -> Result<Object> {
        let Some(nn) = NonNull::new(ptr) else {
            return Err(Error::new(error::E_POINTER, "object pointer is NULL"));
        };
        // SAFETY: the caller guarantees `ptr` points to a live object.
        let vtbl = unsafe { (*ptr).vtbl };
        if vtbl.is_null() {
            return Err(Error::new(error::E_POINTER, "object has a NULL vtable"));
        }
        // SAFETY: the caller guarantees a non-NULL vtable is valid.
        let vt = unsafe { &*vtbl };
        if vt.add_ref.is_none() || vt.release.is_none() {
            return Err(Error::new(
                error::E_INVALIDARG,
                "object vtable lacks add_ref or release",
            ));
        }
        Ok(Object(nn))
    }

    /// The raw pointer, still owned by `self`.
    pub fn as_ptr(&self) -> *mut Unknown {
        self.0.as_ptr()
    }

    /// Gives up ownership of one reference, returning the raw pointer.
    pub fn into_raw(self) -> *mut Unknown {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    fn vtbl(&self) -> &UnknownVtbl {
        // SAFETY: checked non-NULL and valid at construction; the object is
        // alive while we hold a reference.
        unsafe { &*(*self.0.as_ptr()).vtbl }
    }
}

impl Clone for Object {
    fn clone(&self) -> Self {
        // SAFETY: add_ref checked non-NULL at construction; we hold a reference.
        unsafe { (self.vtbl().add_ref.unwrap_unchecked())(self.0.as_ptr()) };
        Object(self.0)
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: release checked non-NULL at construction; we give back the
        // reference we hold.
        unsafe { (self.vtbl().release.unwrap_unchecked())(self.0.as_ptr()) };
    }
}

impl PartialEq for Object {
    /// Identity, as COM compares interface pointers.
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Object({:p})", self.0)
    }
}
