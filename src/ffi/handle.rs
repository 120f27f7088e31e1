//! The C handle types and who owns what they point to.
//!
//! Each opaque C type (`sess_app`, `sess_session`, ...) is a marker declared
//! here with its C documentation; `Castable` ties it to the Rust value
//! behind the pointer. Two kinds of ownership, in the spirit of rustls-ffi:
//! - *boxed* (`Boxed`): the caller owns the handle; the library allocated
//!   it (`hand_out`) and its release/close/end function frees it (`take`);
//! - *borrowed*: the library lends a handle for a while (a session given to
//!   an event handler, or owned by a request): usable, never freed by the
//!   caller. Only sessions are ever lent, so the distinction lives in
//!   `SessionHandle`, which every `sess_session *` points to.
//!
//! (rustls-ffi's third kind, *shared* through an `Arc`, is not needed: an
//! application is already shared inside, its clones refer to one state.)

use std::cell::Cell;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::{addr_of, addr_of_mut, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::null;
pub(crate) use super::releasable::{live, release, Releasable};
use crate::app::{App, Session};
use crate::error::{self as err, Error, Result};
use crate::variant::SafeArray;
use crate::web::{EndError, Outcome, Request, Site};

/// A C handle type and the Rust value its pointers point to.
pub(crate) trait Castable {
    /// What a `*mut Self` points to.
    type RustType;
}

/// A handle the caller owns: made by [`hand_out`], freed by [`take`].
pub(crate) trait Boxed: Castable {}

/// The value behind a handle argument: NULL → `E_POINTER` naming `what`.
///
/// # Safety
/// `p` must be NULL or a live handle of its type, not used mutably elsewhere
/// for the returned lifetime.
pub(crate) unsafe fn get<'a, C: Castable>(p: *const C, what: &str) -> Result<&'a C::RustType> {
    // SAFETY: a live handle points to its RustType, per the caller.
    unsafe { p.cast::<C::RustType>().as_ref() }.ok_or_else(|| null(what))
}

/// As [`get`], for changing the value.
///
/// # Safety
/// As [`get`], and unaliased for the returned lifetime.
pub(crate) unsafe fn get_mut<'a, C: Castable>(
    p: *mut C,
    what: &str,
) -> Result<&'a mut C::RustType> {
    // SAFETY: a live handle points to its RustType, per the caller.
    unsafe { p.cast::<C::RustType>().as_mut() }.ok_or_else(|| null(what))
}

/// Boxes `value` as a new handle the caller owns and writes it to `*out`
/// (`E_POINTER` if `out` is NULL, and `value` is dropped).
///
/// # Safety
/// `out` must be NULL or writable.
pub(crate) unsafe fn hand_out<C: Boxed>(out: *mut *mut C, value: C::RustType) -> Result<()> {
    // SAFETY: forwarded to the caller.
    unsafe { hand_out_box(out, Box::new(value)) }
}

/// As [`hand_out`], for a value already boxed.
///
/// # Safety
/// As [`hand_out`].
pub(crate) unsafe fn hand_out_box<C: Boxed>(
    out: *mut *mut C,
    value: Box<C::RustType>,
) -> Result<()> {
    if out.is_null() {
        return Err(null("out"));
    }
    let p = Box::into_raw(value).cast::<C>();
    // SAFETY: non-NULL and writable per the caller.
    unsafe { out.write(p) };
    Ok(())
}

/// Takes back a handle the caller owned, to free it (`None` for NULL).
///
/// # Safety
/// `p` must be NULL or a handle from [`hand_out`], taken once.
pub(crate) unsafe fn take<C: Boxed>(p: *mut C) -> Option<Box<C::RustType>> {
    // SAFETY: made by Box::into_raw in hand_out, per the caller.
    (!p.is_null()).then(|| unsafe { Box::from_raw(p.cast::<C::RustType>()) })
}

/// An application: its options, its session store and its events.
/// Thread-safe. Made by `sess_app_create`, freed by `sess_app_release`; a
/// site it was added to keeps its own reference. A call with the handle
/// made after `sess_app_release` (by a Session_OnEnd the release runs) is
/// `SESS_E_WRONG_STATE`; a release there is a no-op. A release by host
/// code that a call with the handle runs (a Session_OnEnd of
/// `sess_app_expire`, a Session_OnStart of `sess_session_create`) takes
/// effect when that call returns.
#[allow(non_camel_case_types)]
pub struct sess_app {
    _private: [u8; 0],
}

impl Castable for sess_app {
    type RustType = Releasable<App>;
}

impl Boxed for sess_app {}

impl sess_app {
    /// The application behind a handle, for Rust code that holds one (NULL,
    /// or a handle being released: `None`).
    ///
    /// # Safety
    /// `p` must be NULL or a live handle from `sess_app_create`.
    pub unsafe fn app<'a>(p: *const sess_app) -> Option<&'a App> {
        // SAFETY: forwarded to the caller.
        unsafe { super::releasable::peek(p) }
    }
}

/// A site: applications by virtual path, where requests begin. Thread-safe
/// once every application is added. Made by `sess_site_create`, freed by
/// `sess_site_release`. A call with the handle made after
/// `sess_site_release` (by a Session_OnEnd the release runs) is
/// `SESS_E_WRONG_STATE`; a release there is a no-op. A release by host
/// code that a call with the site runs (a Session_OnStart of
/// `sess_request_begin`) takes effect when that call returns.
#[allow(non_camel_case_types)]
pub struct sess_site {
    _private: [u8; 0],
}

impl Castable for sess_site {
    type RustType = Releasable<Site>;
}

impl Boxed for sess_site {}

/// A request in progress: holds its session (if any) until
/// `sess_request_end`, which frees it. Used by one thread at a time. A call
/// on it made while another call on it, or on the session handle it lent,
/// runs (host code calling back in, such as Session_OnStart or a static
/// object's factory) is `SESS_E_WRONG_STATE` and changes nothing.
#[allow(non_camel_case_types)]
pub struct sess_request {
    _private: [u8; 0],
}

impl Castable for sess_request {
    type RustType = RequestHandle;
}

impl Boxed for sess_request {}

/// One unit of work on one session, used by one thread at a time. A handle
/// from `sess_session_create` / `sess_session_open` is the caller's:
/// `sess_session_close` or `sess_session_discard` ends and frees it. A
/// handle the library lends (to Session_OnStart / Session_OnEnd for the
/// call, or by `sess_request_session` until `sess_request_end`) is ended by
/// the library: closing it is `SESS_E_WRONG_STATE`. A call on a handle or
/// its objects made while another call on them runs (host code the call
/// runs, such as a static object's factory or an object's AddRef or
/// Release, calling back in) is `SESS_E_WRONG_STATE` and changes nothing;
/// the running call completes. (Session_OnStart and Session_OnEnd are
/// lent a handle of their own: their calls on it are not refused.)
#[allow(non_camel_case_types)]
pub struct sess_session {
    _private: [u8; 0],
}

impl Castable for sess_session {
    type RustType = SessionHandle;
}

impl Boxed for sess_session {}

impl sess_session {
    /// The session behind a handle (owned or lent), for Rust code given one
    /// (NULL: `None`).
    ///
    /// # Safety
    /// `p` must be NULL or a live session handle, used by this thread only,
    /// and not while a library call on it runs (from a callback the call
    /// makes).
    pub unsafe fn session<'a>(p: *mut sess_session) -> Option<&'a mut Session> {
        let p = p.cast::<SessionHandle>();
        if p.is_null() {
            return None;
        }
        // SAFETY: forwarded to the caller.
        unsafe { &mut *addr_of_mut!((*p).of) }.session().ok()
    }
}

/// A SAFEARRAY-like array of variants; its length is fixed at creation.
/// Made by `sess_array_create`; the caller frees it with
/// `sess_array_destroy` unless a variant owns it.
#[allow(non_camel_case_types)]
pub struct sess_array {
    _private: [u8; 0],
}

impl Castable for sess_array {
    type RustType = SafeArray;
}

impl Boxed for sess_array {}

/// What a `sess_session *` points to: a session the caller owns, or one the
/// library lends, and the liveness shared with objects made from the handle.
pub(crate) struct SessionHandle {
    of: Holder,
    live: LiveCell,
    /// A [`Call`] on the handle is running.
    busy: Cell<bool>,
}

/// Who holds the session a handle reaches.
// The owned session is held inline: the handle is boxed once already.
#[allow(clippy::large_enum_variant)]
enum Holder {
    /// From `sess_session_create` / `_open`: the caller ends it.
    Owned(Session),
    /// Lent to an event handler for the call.
    Lent(NonNull<Session>),
    /// Lent by a request: its session, until the request ends.
    OfRequest(NonNull<RequestHandle>),
    /// Taken out to be ended ([`Call::take_owned`]); the handle is freed
    /// next.
    Ended,
}

/// Whether a session handle still exists: objects that outlive a call on
/// the handle (the COM objects) keep one and check it before each use.
#[derive(Clone)]
pub(crate) struct Liveness(Arc<AtomicBool>);

impl Liveness {
    /// Whether the handle is still there (not ended, freed or taken back).
    pub(crate) fn is_live(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The handle's side of its [`Liveness`]: cleared when the handle goes away
/// (closed, discarded, its request ended, its event handler returned).
#[derive(Default)]
struct LiveCell(Option<Arc<AtomicBool>>);

impl LiveCell {
    /// The liveness (one cell, shared by every object made from the handle).
    fn get(&mut self) -> Liveness {
        let cell = self
            .0
            .get_or_insert_with(|| Arc::new(AtomicBool::new(true)));
        Liveness(Arc::clone(cell))
    }
}

impl Drop for LiveCell {
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            cell.store(false, Ordering::Release);
        }
    }
}

/// A call on a session handle (a `sess_*` function or one of its objects'
/// calls), running until this drops. Meanwhile another call on the handle,
/// made by host code the call runs (a static object's factory, an object's
/// AddRef or Release), is `E_WRONG_STATE`: the session is never reached
/// twice at once (the handle is used by one thread at a time, so a plain
/// `Cell` marks the call).
/// The handle is reached field by field, never as a whole, so a refused
/// call does not touch the session the running one holds.
pub(crate) struct Call<'a> {
    handle: NonNull<SessionHandle>,
    _handle: PhantomData<&'a mut SessionHandle>,
}

impl<'a> Call<'a> {
    /// Begins a call on the handle `p`: NULL is `E_POINTER`, a handle with
    /// a call running is `E_WRONG_STATE`.
    ///
    /// # Safety
    /// `p` must be NULL or a live session handle, used by this thread only,
    /// for `'a`.
    pub(crate) unsafe fn enter(p: *mut sess_session) -> Result<Call<'a>> {
        let handle = NonNull::new(p.cast::<SessionHandle>()).ok_or_else(|| null("session"))?;
        // SAFETY: live per the caller.
        if unsafe { Call::busy(handle.as_ptr()) }.replace(true) {
            return Err(Error::new(
                err::E_WRONG_STATE,
                "a call on this session handle or its objects is already running (host \
                 code it ran, such as a static object's factory or an object's AddRef \
                 or Release, called back in): call again after it returns",
            ));
        }
        Ok(Call {
            handle,
            _handle: PhantomData,
        })
    }

    /// The handle's flag, reached alone.
    ///
    /// # Safety
    /// `handle` must be live for `'b`.
    unsafe fn busy<'b>(handle: *const SessionHandle) -> &'b Cell<bool> {
        // SAFETY: per the caller.
        unsafe { &*addr_of!((*handle).busy) }
    }

    /// The handle's liveness (one cell, shared by every object made from it).
    pub(crate) fn liveness(&mut self) -> Liveness {
        // SAFETY: a live handle, in this call only.
        unsafe { &mut *addr_of_mut!((*self.handle.as_ptr()).live) }.get()
    }

    /// Takes the caller's session out of the handle to end it (a handle
    /// the library lent is `E_WRONG_STATE`: its lender ends it), and
    /// detaches the handle's objects. The
    /// call still runs while the session ends, so host code the ending
    /// runs (a replaced object's last Release) that calls back into the
    /// handle is refused; the handle is freed after the call.
    pub(crate) fn take_owned(&mut self) -> Result<Session> {
        // SAFETY: a live handle, in this call only.
        let of = unsafe { &mut *addr_of_mut!((*self.handle.as_ptr()).of) };
        of.check_owned()?;
        // SAFETY: as above; the old cell's drop clears the liveness.
        drop(std::mem::take(unsafe {
            &mut *addr_of_mut!((*self.handle.as_ptr()).live)
        }));
        match std::mem::replace(of, Holder::Ended) {
            Holder::Owned(s) => Ok(s),
            _ => unreachable!("checked above"),
        }
    }

    /// The session, held until the call ends.
    pub(crate) fn session(self) -> Result<InSession<'a>> {
        // SAFETY: a live handle, in this call only, for `'a`.
        let of = unsafe { &mut *addr_of_mut!((*self.handle.as_ptr()).of) };
        Ok(InSession {
            session: of.session()?,
            _call: self,
        })
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        // SAFETY: live for the call (see `enter`).
        unsafe { Call::busy(self.handle.as_ptr()) }.set(false);
    }
}

/// The session a running [`Call`] holds.
pub(crate) struct InSession<'a> {
    session: &'a mut Session,
    _call: Call<'a>,
}

impl Deref for InSession<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session
    }
}

impl DerefMut for InSession<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session
    }
}

impl SessionHandle {
    fn new(of: Holder) -> SessionHandle {
        SessionHandle {
            of,
            live: LiveCell::default(),
            busy: Cell::new(false),
        }
    }

    /// A handle the caller owns.
    pub(crate) fn owned(s: Session) -> SessionHandle {
        SessionHandle::new(Holder::Owned(s))
    }
}

impl Holder {
    /// The session, for any use but ending it.
    fn session(&mut self) -> Result<&mut Session> {
        match self {
            Holder::Owned(s) => Ok(s),
            // SAFETY: a lent session outlives the handler call the handle
            // is given to (the handle lives on the library's stack).
            Holder::Lent(s) => Ok(unsafe { s.as_mut() }),
            // SAFETY: the handle lives inside the request it points to and
            // is freed with it.
            Holder::OfRequest(r) => unsafe { request_of(&mut (*r.as_ptr()).request).session() }
                .ok_or_else(|| Error::new(err::E_UNEXPECTED, "the request has no session")),
            Holder::Ended => Err(Error::new(
                err::E_WRONG_STATE,
                "this session handle is being closed",
            )),
        }
    }

    /// `E_WRONG_STATE` for a session the library lent: its lender ends it.
    fn check_owned(&self) -> Result<()> {
        match self {
            Holder::Owned(_) => Ok(()),
            _ => Err(Error::new(
                err::E_WRONG_STATE,
                "this session handle is lent (event handler or web request): \
                 whoever lent it ends it",
            )),
        }
    }
}

/// Runs a host callback with a handle lending `s` for the call.
pub(crate) fn lend<R>(s: &mut Session, call: impl FnOnce(*mut sess_session) -> R) -> R {
    let mut handle = SessionHandle::new(Holder::Lent(NonNull::from(s)));
    call((&mut handle as *mut SessionHandle).cast())
}

/// What a `sess_request *` points to: the request, and the session handle it
/// lends once the host asks for it (kept until the request ends, so the
/// pointer the host holds stays valid).
pub(crate) struct RequestHandle {
    /// `None` once taken out to be ended ([`RequestCall::end`]); the handle
    /// is freed next.
    request: Option<Request>,
    lent: Option<Box<SessionHandle>>,
    /// A [`RequestCall`] is running.
    busy: Cell<bool>,
}

impl RequestHandle {
    /// A handle for a request just begun.
    pub(crate) fn new(request: Request) -> RequestHandle {
        RequestHandle {
            request: Some(request),
            lent: None,
            busy: Cell::new(false),
        }
    }
}

/// The request of a handle, as taken by a call on it.
fn request_of(of: &mut Option<Request>) -> &mut Request {
    of.as_mut()
        .expect("a request handle's calls are refused while it ends")
}

/// A call on a request handle, running until this drops; derefs to the
/// request. Meanwhile another call on the request, made by host code the
/// call runs (Session_OnStart), is `E_WRONG_STATE`; so is a request call
/// made while a [`Call`] on the session handle it lent runs (the session
/// lives in the request). Reaches the handle field by field, as [`Call`].
pub(crate) struct RequestCall<'a> {
    handle: NonNull<RequestHandle>,
    _handle: PhantomData<&'a mut RequestHandle>,
}

impl<'a> RequestCall<'a> {
    /// Begins a call on the request `p`: NULL is `E_POINTER`, a request
    /// with a call running on it or its session handle is `E_WRONG_STATE`.
    ///
    /// # Safety
    /// `p` must be NULL or a live request handle, used by this thread
    /// only, for `'a`.
    pub(crate) unsafe fn enter(p: *const sess_request) -> Result<RequestCall<'a>> {
        let handle =
            NonNull::new(p.cast::<RequestHandle>().cast_mut()).ok_or_else(|| null("request"))?;
        // SAFETY: live per the caller; each field reached alone.
        let (busy, lent) = unsafe {
            (
                &*addr_of!((*handle.as_ptr()).busy),
                &*addr_of!((*handle.as_ptr()).lent),
            )
        };
        // SAFETY: the lent handle lives while the request does.
        let lent_busy = lent
            .as_ref()
            .is_some_and(|h| unsafe { Call::busy(addr_of!(**h)) }.get());
        if busy.get() || lent_busy {
            return Err(Error::new(
                err::E_WRONG_STATE,
                "a call on this request or its session handle is already running (host \
                 code it ran, such as Session_OnStart or a static object's factory, \
                 called back in): call again after it returns",
            ));
        }
        busy.set(true);
        Ok(RequestCall {
            handle,
            _handle: PhantomData,
        })
    }

    /// The handle lending the request's session (which must exist).
    pub(crate) fn lent_session(&mut self) -> *mut sess_session {
        let this = self.handle;
        // SAFETY: live, in this call only; the field alone.
        let lent = unsafe { &mut *addr_of_mut!((*this.as_ptr()).lent) };
        let handle =
            lent.get_or_insert_with(|| Box::new(SessionHandle::new(Holder::OfRequest(this))));
        addr_of_mut!(**handle).cast()
    }

    /// Ends the request (`Request::end`), the call still running: host code
    /// the ending runs (Session_OnEnd) that calls back into the request or
    /// the session handle it lent is refused. That handle, and every object
    /// made from it, are detached first; the handles are freed after the
    /// call.
    pub(crate) fn end(&mut self, failed: bool) -> std::result::Result<Outcome, EndError> {
        // SAFETY: live, in this call only; the fields alone.
        let (of, lent) = unsafe {
            let p = self.handle.as_ptr();
            (
                &mut *addr_of_mut!((*p).request),
                &mut *addr_of_mut!((*p).lent),
            )
        };
        if let Some(h) = lent {
            // Calls on it are refused from now on (none runs: `enter`
            // checked), and its objects detached.
            let h: *mut SessionHandle = addr_of_mut!(**h);
            // SAFETY: the lent handle lives in the request; its fields alone.
            unsafe {
                Call::busy(h).set(true);
                drop(std::mem::take(&mut *addr_of_mut!((*h).live)));
            }
        }
        of.take()
            .expect("a request handle's calls are refused while it ends")
            .end(failed)
    }
}

impl Deref for RequestCall<'_> {
    type Target = Request;
    fn deref(&self) -> &Request {
        // SAFETY: live, in this call only; the field alone.
        let of = unsafe { &*addr_of!((*self.handle.as_ptr()).request) };
        of.as_ref()
            .expect("a request handle's calls are refused while it ends")
    }
}

impl DerefMut for RequestCall<'_> {
    fn deref_mut(&mut self) -> &mut Request {
        // SAFETY: live, in this call only; the field alone.
        request_of(unsafe { &mut *addr_of_mut!((*self.handle.as_ptr()).request) })
    }
}

impl Drop for RequestCall<'_> {
    fn drop(&mut self) {
        // SAFETY: live, in this call only; the field alone.
        unsafe { &*addr_of!((*self.handle.as_ptr()).busy) }.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::app::{sess_app_create, sess_app_release};
    use crate::ffi::session::{sess_session_close, sess_session_discard, sess_value_set};
    use crate::ffi::variant::{sess_variant, sess_variant_init};
    use crate::ffi::web::{
        sess_request_begin, sess_request_end, sess_request_info, sess_request_session,
        sess_site_add, sess_site_create, sess_site_release, REQUEST_CREATE, USE_EXCLUSIVE,
    };
    use std::ptr::{null, null_mut};

    #[test]
    fn a_session_lent_by_a_request_cannot_be_ended_by_the_host() {
        // SAFETY: every pointer is a live handle or local made here.
        unsafe {
            let mut app = null_mut();
            assert_eq!(sess_app_create(null(), &mut app), err::S_OK);
            let mut site = null_mut();
            assert_eq!(sess_site_create(&mut site), err::S_OK);
            assert_eq!(sess_site_add(site, c"/".as_ptr(), app, null()), err::S_OK);
            let info = sess_request_info {
                struct_size: std::mem::size_of::<sess_request_info>() as u32,
                session_use: USE_EXCLUSIVE,
                path: c"/".as_ptr(),
                cookie_header: null(),
                cookie_header_len: 0,
                https: false.into(),
            };
            let mut req = null_mut();
            assert_eq!(sess_request_begin(site, &info, &mut req), err::S_OK);
            let mut s = null_mut();
            assert_eq!(sess_request_session(req, REQUEST_CREATE, &mut s), err::S_OK);
            let mut again = null_mut();
            assert_eq!(sess_request_session(req, 0, &mut again), err::S_OK);
            assert_eq!(s, again, "one lent handle per request");
            assert_eq!(sess_session_close(s), err::E_WRONG_STATE);
            assert_eq!(sess_session_discard(s), err::E_WRONG_STATE);
            let mut v: sess_variant = std::mem::zeroed();
            sess_variant_init(&mut v);
            assert_eq!(
                sess_value_set(s, c"k".as_ptr(), &v),
                err::S_OK,
                "still usable"
            );
            let mut cookie: sess_variant = std::mem::zeroed();
            sess_variant_init(&mut cookie);
            assert_eq!(sess_request_end(req, false, &mut cookie), err::S_OK);
            assert_eq!(cookie.vt, crate::variant::vt::BSTR, "the session was kept");
            crate::ffi::variant::sess_variant_clear(&mut cookie);
            sess_site_release(site);
            sess_app_release(app);
        }
    }
}
