//! The Session object as a unit of work sees it: one request's hold on one
//! session, from open (or create) to close.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::AppInner;
use crate::error::{self, Error, Result};
use crate::session::{bad_index, Contents, SessionData, SessionId};
use crate::store::{Lease, LockMode, Lookup, StoreMode};
use crate::variant::{Object, Variant};

/// One unit of work on a session. Values go in and come out by value.
///
/// Changes are kept when the unit ends ([`Session::close`], or drop); Abandon
/// takes effect then too. A handle is used by one thread at a time.
pub struct Session {
    app: Arc<AppInner>,
    lease: Option<Lease>,
    /// Visible in the store (false until the first write of a new session).
    stored: bool,
    is_new: bool,
    abandoned: bool,
    /// Handed to Session_OnEnd: already removed, nothing to commit.
    ending: bool,
    /// Inside Session_OnStart or Session_OnEnd: the handle belongs to the
    /// library and the handler must not close it.
    in_event: bool,
}

impl Session {
    pub(super) fn new(app: Arc<AppInner>, lease: Lease, is_new: bool) -> Session {
        Session {
            app,
            lease: Some(lease),
            stored: !is_new,
            is_new,
            abandoned: false,
            ending: false,
            in_event: false,
        }
    }

    pub(super) fn ending(app: Arc<AppInner>, lease: Lease) -> Session {
        Session {
            app,
            lease: Some(lease),
            stored: true,
            is_new: false,
            abandoned: true,
            ending: true,
            in_event: true,
        }
    }

    fn lease(&self) -> &Lease {
        self.lease
            .as_ref()
            .expect("a live handle always holds its lease")
    }

    fn data(&self) -> &SessionData {
        self.lease().data()
    }

    /// The data for writing: refuses read-only sessions, and stores a new
    /// session first (a write is what creates it).
    fn data_mut(&mut self) -> Result<&mut SessionData> {
        if self.is_readonly() {
            return Err(Error::new(
                error::E_READONLY,
                "the session was opened read-only",
            ));
        }
        self.materialize()?;
        Ok(self
            .lease
            .as_mut()
            .and_then(Lease::data_mut)
            .expect("an exclusive lease gives its data"))
    }

    /// Makes a new session visible in the store (create-if-absent; a taken
    /// ID, which 64-bit store keys make possible but vanishingly rare, gets
    /// a fresh ID).
    pub(super) fn materialize(&mut self) -> Result<()> {
        if self.stored {
            return Ok(());
        }
        let app = self.app.clone();
        for _ in 0..4 {
            let now = app.now_ms();
            let lease = self.lease.as_mut().expect("lease");
            let deadline = app.deadline(lease, now);
            match app.store.insert(lease, deadline, app.opts.max_sessions) {
                Ok(()) => {
                    self.stored = true;
                    return Ok(());
                }
                Err(e) if e.code() == error::E_FAIL => {
                    let fresh = SessionId::generate()?;
                    let mut old = self.lease.take().expect("lease");
                    let data = std::mem::replace(
                        old.data_mut().expect("a new session is held exclusively"),
                        SessionData::new(1, 0, 0),
                    );
                    self.lease = Some(app.store.prepare(fresh, data, now));
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::new(
            error::E_FAIL,
            "could not find a free session ID",
        ))
    }

    /// Drops a new session whose Session_OnStart failed.
    pub(super) fn discard_new(mut self) {
        if let Some(lease) = self.lease.take() {
            if self.stored {
                if let Ok(lease) = self.app.store.remove(lease) {
                    drop(lease);
                }
            }
        }
    }

    /// The SessionID.
    pub fn id(&self) -> SessionId {
        self.lease().id()
    }

    /// Whether this unit of work created the session (IsNewSession).
    pub fn is_new_session(&self) -> bool {
        self.is_new
    }

    /// Whether the session was opened read-only (IsReadOnly).
    pub fn is_readonly(&self) -> bool {
        self.lease().lock_mode() == LockMode::Shared
    }

    /// Whether Abandon was called (or the session is ending).
    pub fn is_abandoned(&self) -> bool {
        self.abandoned
    }

    /// Whether this handle was given to Session_OnEnd.
    pub fn is_ending(&self) -> bool {
        self.ending
    }

    /// Whether an event handler (OnStart / OnEnd) is running on this handle,
    /// which the library owns meanwhile.
    pub fn in_event(&self) -> bool {
        self.in_event
    }

    pub(super) fn set_in_event(&mut self, on: bool) {
        self.in_event = on;
    }

    /// Where the session is stored (Mode).
    pub fn mode(&self) -> StoreMode {
        self.app.store.mode()
    }

    /// The Contents collection, for reading and iteration.
    pub fn contents(&self) -> &Contents {
        &self.data().contents
    }

    /// The value under `name` (any case), if present.
    pub fn get(&self, name: &str) -> Option<&Variant> {
        self.data().contents.get(name)
    }

    /// Stores `value` under `name` (limits checked first; nothing changes on
    /// error).
    pub fn set(&mut self, name: &str, value: Variant) -> Result<()> {
        let limits = self.app.limits;
        if self.is_readonly() {
            return self.data_mut().map(drop);
        }
        self.data().check_set(name, &value, &limits)?;
        self.data_mut()?.set_value(name, value, &limits)
    }

    /// Number of Contents items.
    pub fn count(&self) -> usize {
        self.data().contents.len()
    }

    /// The key and value at `index` (0-based), or `DISP_E_BADINDEX`.
    pub fn item_at(&self, index: usize) -> Result<(&str, &Variant)> {
        let c = &self.data().contents;
        c.get_index(index).ok_or_else(|| bad_index(index, c.len()))
    }

    /// Replaces the value at `index`.
    pub fn set_at(&mut self, index: usize, value: Variant) -> Result<()> {
        let limits = self.app.limits;
        self.check_index(index)?;
        self.data_mut()?.set_value_at(index, value, &limits)
    }

    /// `DISP_E_BADINDEX` unless `index` names an item (checked before any
    /// write, so a failed call never creates a session).
    fn check_index(&self, index: usize) -> Result<()> {
        self.item_at(index).map(drop)
    }

    /// Removes `name`; later items move down. `Ok(false)` if it was absent.
    pub fn remove(&mut self, name: &str) -> Result<bool> {
        if !self.is_readonly() && !self.data().contents.contains(name) {
            return Ok(false);
        }
        Ok(self.data_mut()?.contents.remove(name).is_some())
    }

    /// Removes the item at `index`; later items move down.
    pub fn remove_at(&mut self, index: usize) -> Result<()> {
        self.check_index(index)?;
        self.data_mut()?.contents.remove_index(index);
        Ok(())
    }

    /// Removes every Contents item (RemoveAll / Clear).
    pub fn remove_all(&mut self) -> Result<()> {
        if !self.is_readonly() && self.count() == 0 {
            return Ok(());
        }
        self.data_mut()?.contents.clear();
        Ok(())
    }

    /// Timeout in minutes.
    pub fn timeout(&self) -> u32 {
        self.data().timeout_minutes()
    }

    /// Sets Timeout (1 ..= the application's maximum); unchanged on error.
    pub fn set_timeout(&mut self, minutes: i64) -> Result<()> {
        let limits = self.app.limits;
        crate::session::check_timeout(minutes, limits.max_timeout_minutes)?;
        self.data_mut()?.set_timeout_minutes(minutes, &limits)
    }

    /// The LCID (0 and the default-locale aliases are stored as given).
    pub fn lcid(&self) -> u32 {
        self.data().lcid()
    }

    /// Sets the LCID if Windows defines it; unchanged on error.
    pub fn set_lcid(&mut self, lcid: u32) -> Result<()> {
        crate::locale::check_lcid(lcid)?;
        self.data_mut()?.set_lcid(lcid)
    }

    /// The code page.
    pub fn codepage(&self) -> u32 {
        self.data().codepage()
    }

    /// Sets the code page if an encoder serves it; unchanged on error.
    pub fn set_codepage(&mut self, cp: u32) -> Result<()> {
        crate::locale::check_codepage(cp)?;
        self.data_mut()?.set_codepage(cp)
    }

    /// Marks the session abandoned: the contents stay readable (and
    /// writable) until the unit of work ends; then Session_OnEnd runs and
    /// the session is destroyed.
    pub fn abandon(&mut self) {
        self.abandoned = true;
    }

    /// Number of declared session-scope static objects.
    pub fn static_count(&self) -> usize {
        self.app.opts.static_objects.len()
    }

    /// The name of the static object at `index`.
    pub fn static_key_at(&self, index: usize) -> Result<&str> {
        let decls = &self.app.opts.static_objects;
        decls
            .get(index)
            .map(|d| d.name.as_str())
            .ok_or_else(|| bad_index(index, decls.len()))
    }

    /// The index of the static object `name` (any case), if declared.
    pub fn static_index(&self, name: &str) -> Option<usize> {
        let folded = name.to_lowercase();
        self.app
            .opts
            .static_objects
            .iter()
            .position(|d| d.name.to_lowercase() == folded)
    }

    /// The session's instance of the static object at `index`, made by its
    /// factory on first use (which also stores a new session).
    pub fn static_object_at(&mut self, index: usize) -> Result<Object> {
        let decl = self
            .app
            .opts
            .static_objects
            .get(index)
            .cloned()
            .ok_or_else(|| bad_index(index, self.static_count()))?;
        if let Some(obj) = self.data().static_object(index) {
            return Ok(obj.clone());
        }
        if self.is_readonly() {
            return Err(Error::new(
                error::E_READONLY,
                format!(
                    "static object {:?} is not instantiated yet and the session is read-only",
                    decl.name
                ),
            ));
        }
        self.materialize()?;
        let obj = catch_unwind(AssertUnwindSafe(|| (decl.factory)())).unwrap_or_else(|_| {
            Err(Error::new(
                error::E_UNEXPECTED,
                "a static object factory panicked",
            ))
        })?;
        self.data_mut()?.set_static_object(index, obj.clone());
        Ok(obj)
    }

    /// Ends the unit of work: keeps the changes and slides the expiry, or, if
    /// abandoned, removes the session and runs Session_OnEnd. A new session
    /// nothing was written to is not stored. The lock is released either way.
    pub fn close(mut self) -> Result<()> {
        if self.ending {
            return Err(Error::new(
                error::E_WRONG_STATE,
                "a session given to Session_OnEnd is not closed by the handler",
            ));
        }
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        let Some(lease) = self.lease.take() else {
            return Ok(());
        };
        if self.ending || !self.stored {
            return Ok(());
        }
        let app = &self.app;
        if !self.abandoned {
            let deadline = app.deadline(&lease, app.now_ms());
            return app.store.release(lease, deadline);
        }
        let lease = match lease.lock_mode() {
            LockMode::Exclusive => lease,
            LockMode::Shared => {
                // Abandon from a read-only unit: take the session exclusively.
                let id = lease.id();
                drop(lease);
                match app.store.get(
                    &id,
                    LockMode::Exclusive,
                    app.opts.lock_timeout,
                    app.now_ms(),
                )? {
                    Lookup::Found(l) => l,
                    Lookup::Expired(l) => {
                        app.end(l);
                        return Ok(());
                    }
                    Lookup::NotFound => return Ok(()),
                }
            }
        };
        let lease = app.store.remove(lease)?;
        app.end(lease);
        Ok(())
    }
}

// A unit of work may move between threads (e.g. an event-driven host).
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Session>();
};

impl Drop for Session {
    /// Ends the unit of work as [`Session::close`] does, ignoring errors.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
