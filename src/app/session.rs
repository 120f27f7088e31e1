//! The Session object as a unit of work sees it: one request's hold on one
//! session, from open (or create) to close.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::anchors::Anchor;
use super::stats::Counters;
use super::AppInner;
use crate::error::{self, Error, Result};
use crate::state::{bad_index, check_timeout, same_key, Contents, Journal, SessionData, SessionId};
use crate::store::{Lease, LockMode, Lookup, StoreMode};
use crate::variant::{flags, vt, Object, Variant};

/// Attempts at finding a free ID before giving up (a taken ID needs a 64-bit
/// keyed-hash collision: it practically never happens even once).
const ID_ATTEMPTS: usize = 4;

/// One unit of work on a session. Values go in and come out by value.
///
/// [`Session::close`] (or drop) keeps the changes; [`Session::discard`]
/// undoes them ("the request failed: don't save"), and so does a drop
/// while the thread panics (a request that failed half-way). Abandon takes
/// effect then. A handle is used by one thread at a time.
pub struct Session {
    /// The application, through the opening thread's handle on it.
    app: Anchor<AppInner>,
    lease: Option<Lease>,
    /// How to undo this unit's changes.
    journal: Journal,
    /// Visible in the store (false until the first write of a new session).
    stored: bool,
    is_new: bool,
    abandoned: bool,
    /// The ID was changed by [`Session::regenerate_id`].
    regenerated: bool,
    /// Handed to Session_OnEnd: already removed, nothing to commit.
    ending: bool,
    /// The static objects a read-only unit of work made for itself (it
    /// writes none into the session), by declaration index; released when
    /// the unit of work ends.
    unit_statics: Vec<Option<Object>>,
}

impl Session {
    pub(super) fn new(app: Anchor<AppInner>, lease: Lease, is_new: bool) -> Session {
        Session {
            app,
            lease: Some(lease),
            journal: Journal::default(),
            stored: !is_new,
            is_new,
            abandoned: false,
            regenerated: false,
            ending: false,
            unit_statics: Vec::new(),
        }
    }

    pub(super) fn ending(app: Anchor<AppInner>, lease: Lease) -> Session {
        let mut s = Session::new(app, lease, false);
        s.abandoned = true;
        s.ending = true;
        s
    }

    fn lease(&self) -> &Lease {
        self.lease
            .as_ref()
            .expect("a live handle always holds its lease")
    }

    fn data(&self) -> &SessionData {
        self.lease().data()
    }

    /// The data for writing and the journal recording the changes: refuses
    /// read-only sessions, and stores a new session first (a write is what
    /// creates it).
    fn write(&mut self) -> Result<(&mut SessionData, &mut Journal)> {
        // A session not yet stored is new, so held exclusively: storing it
        // first cannot get past the read-only check below.
        self.materialize()?;
        match self.lease.as_mut().and_then(Lease::data_mut) {
            Some(data) => Ok((data, &mut self.journal)),
            None => Err(Error::new(
                error::E_READONLY,
                "the session was opened read-only",
            )),
        }
    }

    /// Moves a not-yet-stored session's data under a new ID.
    fn rename_pending(&mut self, id: SessionId) {
        let mut old = self.lease.take().expect("lease");
        let data = old.take_data().expect("a new session is held exclusively");
        self.lease = Some(self.app.store.prepare(id, data, self.app.now_ms()));
    }

    /// Makes a new session visible in the store (create-if-absent; a taken ID
    /// gets a fresh one; a full store first ends what is due).
    #[inline]
    pub(super) fn materialize(&mut self) -> Result<()> {
        if self.stored {
            return Ok(());
        }
        self.store_new()
    }

    /// [`Session::materialize`] for a session not stored yet.
    fn store_new(&mut self) -> Result<()> {
        for _ in 0..ID_ATTEMPTS {
            let inserted = match self.insert() {
                Err(e) if e.code() == error::E_TOO_MANY_SESSIONS => self.insert_in_room(),
                r => r,
            };
            if self.app.counters.check(inserted)? {
                self.stored = true;
                return Ok(());
            }
            self.rename_pending(SessionId::generate()?);
        }
        Err(Error::new(
            error::E_FAIL,
            "could not find a free session ID",
        ))
    }

    /// The store's insert of this new session: `Ok(false)` if its ID is
    /// taken.
    fn insert(&mut self) -> Result<bool> {
        let app = &self.app;
        let lease = self.lease.as_mut().expect("lease");
        let now = app.now_ms();
        let deadline = app.deadline(lease, now);
        app.store
            .insert(lease, now, deadline, app.opts.max_sessions)
    }

    /// [`Session::insert`] again once sessions past their deadline (not
    /// swept yet: no expiry thread, or not since) have ended. Tried again
    /// even when this thread ended none: another thread's sweep (the
    /// expiry thread's) may have claimed them between the refusal and this
    /// look, and the room is there all the same. The store's refusal again
    /// if it is still full.
    #[cold]
    #[inline(never)]
    fn insert_in_room(&mut self) -> Result<bool> {
        self.app.make_room();
        self.insert()
    }

    /// Drops a new session whose Session_OnStart failed (no Session_OnEnd:
    /// it never started).
    pub(super) fn discard_new(mut self) {
        if let Some(lease) = self.lease.take() {
            if self.stored {
                drop(self.app.store.remove(lease));
            }
        }
    }

    /// Takes what a session handed to Session_OnEnd holds, objects
    /// included: its data and the values its handler's changes replaced.
    pub(super) fn take_ended(&mut self) -> (Option<SessionData>, Journal) {
        let data = self.lease.as_mut().and_then(Lease::take_data);
        (data, std::mem::take(&mut self.journal))
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

    /// Whether the session is in the store: false for a new session nothing
    /// has been written to yet (its ID is not worth a cookie).
    pub fn is_stored(&self) -> bool {
        self.stored
    }

    /// Whether Abandon was called (or the session is ending).
    pub fn is_abandoned(&self) -> bool {
        self.abandoned
    }

    /// Whether [`Session::regenerate_id`] gave the session a new ID.
    pub fn is_regenerated(&self) -> bool {
        self.regenerated
    }

    /// Whether this handle was given to Session_OnEnd.
    pub fn is_ending(&self) -> bool {
        self.ending
    }

    /// Where the session is stored (Mode).
    pub fn mode(&self) -> StoreMode {
        self.app.store.mode()
    }

    /// The Contents collection, for reading and iteration.
    pub fn contents(&self) -> &Contents {
        self.data().contents()
    }

    /// The value under `name` (any case), if present.
    pub fn get(&self, name: &str) -> Option<&Variant> {
        self.contents().get(name)
    }

    /// Stores `value` under `name` (limits checked first; nothing changes on
    /// error, and a refused write creates no session).
    pub fn set(&mut self, name: &str, value: Variant) -> Result<()> {
        let limits = self.app.limits;
        self.check_storable(&value)?;
        if !self.stored {
            return self.set_new(name, value);
        }
        let (data, journal) = self.write()?;
        data.set_value(name, value, &limits, journal)
    }

    /// [`Session::set`] on a new session not stored yet: the value goes in
    /// first and the session is stored after, so a write refused by a
    /// limit, by the memory budget (which another request may take between
    /// a check and the write) or by the store creates none.
    fn set_new(&mut self, name: &str, value: Variant) -> Result<()> {
        let limits = self.app.limits;
        let data = self
            .lease
            .as_mut()
            .and_then(Lease::data_mut)
            .expect("a new session is held exclusively");
        // Nothing was written yet (a write stores the session), so the
        // journal holds this write alone.
        data.set_value(name, value, &limits, &mut self.journal)?;
        if let Err(e) = self.materialize() {
            let data = self
                .lease
                .as_mut()
                .and_then(Lease::data_mut)
                .expect("lease");
            std::mem::take(&mut self.journal).rollback(data);
            return Err(e);
        }
        Ok(())
    }

    /// `E_NOT_SERIALIZABLE` for an object bound for a store that serialises
    /// (not on a read-only session: the write refuses it first, as in
    /// every store).
    fn check_storable(&self, value: &Variant) -> Result<()> {
        if value.holds_object() && self.mode().serialises() && !self.is_readonly() {
            return Err(Error::new(
                error::E_NOT_SERIALIZABLE,
                "objects (VT_UNKNOWN / VT_DISPATCH) stay in their process; \
                 this application's sessions live in a shared store",
            ));
        }
        Ok(())
    }

    /// Number of Contents items.
    pub fn count(&self) -> usize {
        self.contents().len()
    }

    /// The key and value at `index` (0-based), or `DISP_E_BADINDEX`.
    pub fn item_at(&self, index: usize) -> Result<(&str, &Variant)> {
        let c = self.contents();
        c.get_index(index).ok_or_else(|| bad_index(index, c.len()))
    }

    /// Replaces the value at `index`.
    pub fn set_at(&mut self, index: usize, value: Variant) -> Result<()> {
        let limits = self.app.limits;
        self.check_storable(&value)?;
        self.item_at(index)?;
        let (data, journal) = self.write()?;
        data.set_value_at(index, value, &limits, journal)
    }

    /// Removes `name`; later items move down. `Ok(false)` if it was absent.
    pub fn remove(&mut self, name: &str) -> Result<bool> {
        if !self.is_readonly() && !self.contents().contains(name) {
            return Ok(false);
        }
        let (data, journal) = self.write()?;
        Ok(data.remove_value(name, journal))
    }

    /// Removes the item at `index`; later items move down.
    pub fn remove_at(&mut self, index: usize) -> Result<()> {
        self.item_at(index)?;
        let (data, journal) = self.write()?;
        data.remove_value_at(index, journal)
    }

    /// Removes every Contents item (RemoveAll / Clear).
    pub fn remove_all(&mut self) -> Result<()> {
        if !self.is_readonly() && self.count() == 0 {
            return Ok(());
        }
        let (data, journal) = self.write()?;
        data.clear_values(journal);
        Ok(())
    }

    /// Timeout in minutes.
    pub fn timeout(&self) -> u32 {
        self.data().timeout_minutes()
    }

    /// Sets Timeout (1 ..= the application's maximum); unchanged on error.
    pub fn set_timeout(&mut self, minutes: i64) -> Result<()> {
        let limits = self.app.limits;
        check_timeout(minutes, limits.max_timeout_minutes)?;
        let (data, journal) = self.write()?;
        data.set_timeout_minutes(minutes, &limits, journal)
    }

    /// The LCID (0 and the default-locale aliases are stored as given).
    pub fn lcid(&self) -> u32 {
        self.data().lcid()
    }

    /// Sets the LCID if Windows defines it; unchanged on error.
    pub fn set_lcid(&mut self, lcid: u32) -> Result<()> {
        crate::locale::check_lcid(lcid)?;
        let (data, journal) = self.write()?;
        data.set_lcid(lcid, journal)
    }

    /// The LCID text conversions use: the session's, or the application's
    /// default when the session's is 0 or a default-locale alias.
    pub fn effective_lcid(&self) -> u32 {
        match self.lcid() {
            l if crate::locale::is_default_alias(l) => self.app.opts.default_lcid,
            l => l,
        }
    }

    /// X++'s `valueTxt(name)`: the value under `name` as text under the
    /// session's LCID (VariantChangeTypeEx to BSTR with VARIANT_LOCALBOOL,
    /// so booleans read as the locale's True/False); `None` if absent. An
    /// array of bytes is its bytes read as UTF-8 text; an object, an array
    /// of variants, Null, or bytes that are not UTF-8 have no text:
    /// `DISP_E_TYPEMISMATCH`.
    pub fn value_text(&self, name: &str) -> Result<Option<String>> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let text = crate::variant::change_type(
            value,
            self.effective_lcid(),
            flags::VARIANT_LOCALBOOL,
            vt::BSTR,
        )?;
        Ok(Some(text.as_str().unwrap_or_default().to_owned()))
    }

    /// The code page.
    pub fn codepage(&self) -> u32 {
        self.data().codepage()
    }

    /// Sets the code page if an encoder serves it; unchanged on error.
    pub fn set_codepage(&mut self, cp: u32) -> Result<()> {
        crate::locale::check_codepage(cp)?;
        let (data, journal) = self.write()?;
        data.set_codepage(cp, journal)
    }

    /// Marks the session abandoned: the contents stay readable (and
    /// writable) until the unit of work ends; then Session_OnEnd runs and
    /// the session is destroyed, by [`Session::discard`] too (after its
    /// changes are undone). A read-only unit takes the session
    /// exclusively as it ends ([`SessionStore::upgrade`](crate::store::SessionStore::upgrade)):
    /// `E_LOCK_TIMEOUT` past the lock timeout (not abandoned), and, with a
    /// shared store, `E_SESSION_NOT_FOUND` if the ID names no session any
    /// more (it ended, or another request gave it a new ID meanwhile).
    pub fn abandon(&mut self) {
        self.abandoned = true;
    }

    /// Gives the session a new ID, keeping its contents, and kills the old
    /// ID at once (use it at login against session fixation). A failed
    /// request does not bring the old ID back. `E_WRONG_STATE` in
    /// Session_OnEnd.
    pub fn regenerate_id(&mut self) -> Result<()> {
        if self.is_readonly() {
            return Err(Error::new(
                error::E_READONLY,
                "a read-only session cannot change its ID",
            ));
        }
        if self.ending {
            return Err(Error::new(
                error::E_WRONG_STATE,
                "a session that is ending (in Session_OnEnd) keeps its ID",
            ));
        }
        for _ in 0..ID_ATTEMPTS {
            let fresh = SessionId::generate()?;
            if !self.stored {
                self.rename_pending(fresh);
                self.regenerated = true;
                return Ok(());
            }
            let app = &self.app;
            let lease = self.lease.as_mut().expect("lease");
            let deadline = app.deadline(lease, app.now_ms());
            if app
                .counters
                .check(app.store.regenerate(lease, fresh, deadline))?
            {
                self.regenerated = true;
                return Ok(());
            }
        }
        Err(Error::new(
            error::E_FAIL,
            "could not find a free session ID",
        ))
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

    /// The index of the static object `name` (any case, compared as
    /// Contents keys are), if declared.
    pub fn static_index(&self, name: &str) -> Option<usize> {
        self.app
            .opts
            .static_objects
            .iter()
            .position(|d| same_key(&d.name, name))
    }

    /// The session's instance of the static object at `index`, made by its
    /// factory on first use (which also stores a new session; a factory
    /// that fails stores none). A unit of work that is discarded undoes the
    /// making: its instance is let go when it ends, and the next use makes
    /// another. A read-only unit that finds no instance with the session
    /// makes its own, released when it ends (with a shared store, which
    /// keeps none with the session, every unit of work makes its own).
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
        // A read-only unit makes its own: it cannot write one into the
        // session.
        let own = self.is_readonly();
        if let Some(Some(obj)) = self.unit_statics.get(index).filter(|_| own) {
            return Ok(obj.clone());
        }
        // Made before a new session is stored: a failing factory leaves
        // none behind (a full store then releases the new instance).
        let obj = catch_unwind(AssertUnwindSafe(|| (decl.factory)())).unwrap_or_else(|_| {
            Err(Error::new(
                error::E_UNEXPECTED,
                "a static object factory panicked",
            ))
        })?;
        if own {
            if self.unit_statics.len() <= index {
                self.unit_statics.resize_with(index + 1, || None);
            }
            self.unit_statics[index] = Some(obj.clone());
            return Ok(obj);
        }
        let (data, journal) = self.write()?;
        data.set_static_object(index, obj.clone(), journal);
        Ok(obj)
    }

    /// Ends the unit of work keeping its changes: slides the expiry, or, if
    /// abandoned, removes the session and runs Session_OnEnd. A new session
    /// nothing was written to is not stored. The lock is released either way.
    pub fn close(mut self) -> Result<()> {
        self.finish(true)
    }

    /// Ends the unit of work without keeping its changes (the request
    /// failed): they are undone; a new session is not kept (Session_OnEnd
    /// runs if it was stored). Abandon and a regenerated ID still take
    /// effect.
    pub fn discard(mut self) -> Result<()> {
        self.finish(false)
    }

    fn finish(&mut self, keep: bool) -> Result<()> {
        let Some(mut lease) = self.lease.take() else {
            return Ok(());
        };
        if self.ending || !self.stored {
            return Ok(());
        }
        if !keep {
            if let Some(data) = lease.data_mut() {
                std::mem::take(&mut self.journal).rollback(data);
            }
            if self.is_new {
                // Never a session the client gets: no counter moves.
                return self.remove_at_end(lease, false);
            }
        } else if self.is_new {
            Counters::add(&self.app.counters.created, 1);
        }
        if self.abandoned {
            return self.remove_at_end(lease, true);
        }
        let app = &self.app;
        let deadline = app.deadline(&lease, app.now_ms());
        app.counters.check(app.store.release(lease, deadline))
    }

    /// Removes the session at the end of its unit of work (abandoned, or new
    /// and discarded) and runs Session_OnEnd (unless the application was
    /// released meanwhile); `abandoned`: it counts as ended by Abandon.
    #[cold]
    #[inline(never)]
    fn remove_at_end(&mut self, lease: Lease, abandoned: bool) -> Result<()> {
        let app = &self.app;
        let lease = match lease.lock_mode() {
            LockMode::Exclusive => lease,
            LockMode::Shared => {
                // Abandon from a read-only unit: take the session
                // exclusively, following it if another request gave it a
                // new ID meanwhile (or failing: never a silent miss).
                let found = app
                    .store
                    .upgrade(lease, app.opts.lock_timeout, &|| app.now_ms());
                match app.counters.check(found)? {
                    Lookup::Found(l) => l,
                    Lookup::Expired(l) => {
                        Counters::add(&app.counters.timed_out, 1);
                        app.end(l);
                        return Ok(());
                    }
                    Lookup::NotFound => return Ok(()),
                }
            }
        };
        let lease = app.counters.check(app.store.remove(lease))?;
        if abandoned {
            Counters::add(&app.counters.abandoned, 1);
        }
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
    /// Ends the unit of work as [`Session::close`] does, ignoring errors;
    /// while the thread panics, as [`Session::discard`] does (ASP.NET's
    /// unhandled error: none of a request's changes are kept when it fails
    /// half-way).
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A second panic leaving a destructor during unwinding would
            // abort the process (a web server's worker).
            let _ = catch_unwind(AssertUnwindSafe(|| self.finish(false)));
        } else {
            let _ = self.finish(true);
        }
    }
}
