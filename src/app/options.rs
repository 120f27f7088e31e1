//! An application's settings, with ASP's defaults, checked once at creation.

use std::sync::Arc;
use std::time::Duration;

use super::Session;
use crate::clock::{Clock, SystemClock, WallClock};
use crate::error::{self, Error, Result};
use crate::locale;
use crate::state::{check_timeout, same_key, Limits, MAX_TIMEOUT_MINUTES};
use crate::store::lmdb::LmdbOptions;
use crate::store::{self, MemoryStore, RedisOptions, RedisStore, SessionStore};
use crate::variant::Object;

/// Session_OnStart: runs when a session is created, before the host sees it;
/// an error discards the new session (no Session_OnEnd: it never started)
/// and is returned to the creator.
pub type OnStart = Arc<dyn Fn(&mut Session) -> Result<()> + Send + Sync>;

/// Session_OnEnd: runs when a session times out, is abandoned or (in the
/// in-process store) the application ends, with its contents readable;
/// once per session, in one process; across a crash at most once: with a
/// shared store (Redis, LMDB), a process killed after its expiry removed a
/// session from the store and before the handler returned loses that
/// session's Session_OnEnd (no other process runs it).
pub type OnEnd = Arc<dyn Fn(&mut Session) + Send + Sync>;

/// Makes one instance of a session-scope static object.
pub type Factory = Arc<dyn Fn() -> Result<Object> + Send + Sync>;

/// A session-scope static object (GLOBAL.ASA's `<OBJECT SCOPE=Session>`):
/// instantiated once per session, on first use. Objects stay in their
/// process: a shared store (Redis, LMDB, a host's) keeps no instance with
/// the session, so there each unit of work that uses it makes its own,
/// released when that unit of work ends.
#[derive(Clone)]
pub struct StaticObject {
    /// The name it is found under (case-insensitive).
    pub name: String,
    /// Makes the session's instance.
    pub factory: Factory,
}

/// Where an application keeps its sessions.
// Built once per application: the Redis variant's size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Default)]
pub enum StoreConfig {
    /// In this process (the default).
    #[default]
    InProc,
    /// Redis, shared by a web farm (see [`RedisOptions`] and
    /// [`RedisStore`]).
    Redis(RedisOptions),
    /// A store the host supplies (ASP.NET's custom session-state provider).
    Custom(Arc<dyn SessionStore>),
    /// An LMDB directory shared by the processes of one machine, kept
    /// across restarts (see [`LmdbOptions`]).
    Lmdb(LmdbOptions),
}

/// Application settings. `AppOptions::default()` gives ASP's defaults.
#[derive(Clone)]
pub struct AppOptions {
    /// Timeout of a new session, minutes (default 20).
    pub default_timeout_minutes: u32,
    /// Largest Timeout a session may set, minutes (default 525,600: a year).
    /// A session a shared store kept with a larger one (set under a larger
    /// maximum) is read with this one.
    pub max_timeout_minutes: u32,
    /// If non-zero, a session ends this many minutes after it began however
    /// active it is (default 0: no absolute lifetime).
    pub absolute_timeout_minutes: u32,
    /// Most sessions stored at once (default 1,000,000). A new session
    /// past it is `E_TOO_MANY_SESSIONS`, once its first write has ended a
    /// batch of the sessions already past their deadline (as a sweep
    /// would: Session_OnEnd, on that thread) and still finds no room.
    pub max_sessions: usize,
    /// Most Contents items in one session (default 1,024).
    pub max_items: usize,
    /// Largest value in bytes (default 1 MiB).
    pub max_value_bytes: usize,
    /// Longest Contents key in UTF-8 bytes (default 255).
    pub max_key_bytes: usize,
    /// Largest session: its keys' UTF-8 bytes plus its values' bytes as
    /// [`max_value_bytes`](Self::max_value_bytes) counts them (default
    /// 4 MiB).
    pub max_session_bytes: usize,
    /// Most bytes (counted as for `max_session_bytes`) all in-process
    /// sessions may hold together; 0: unlimited. Default 1 GiB: thousands
    /// of full-size sessions, hundreds of thousands of typical ones, yet a
    /// flood of large sessions meets a clear error instead of exhausting
    /// the process. Shared stores keep sessions elsewhere: not counted.
    pub memory_budget_bytes: usize,
    /// Longest wait for a session another request holds (default 10 s).
    pub lock_timeout: Duration,
    /// LCID of a new session, also what LCID 0 and the default-locale
    /// aliases mean (default 0x0409, en-US).
    pub default_lcid: u32,
    /// Code page of a new session (default 65001, UTF-8).
    pub default_codepage: u32,
    /// How often a library thread ends expired sessions; `None` runs no
    /// thread and leaves it to [`App::expire`](super::App::expire)
    /// (default every second).
    pub expiry_interval: Option<Duration>,
    /// Session_OnStart.
    pub on_start: Option<OnStart>,
    /// Session_OnEnd.
    pub on_end: Option<OnEnd>,
    /// Session-scope static objects.
    pub static_objects: Vec<StaticObject>,
    /// The time source for deadlines; `None` (default): the system's
    /// monotonic clock in-process, wall-clock time with a shared store
    /// (processes of a farm must agree on deadlines).
    pub clock: Option<Arc<dyn Clock>>,
    /// Where sessions are kept (default in-process).
    pub store: StoreConfig,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            default_timeout_minutes: 20,
            max_timeout_minutes: 525_600,
            absolute_timeout_minutes: 0,
            max_sessions: 1_000_000,
            max_items: 1024,
            max_value_bytes: 1 << 20,
            max_key_bytes: 255,
            max_session_bytes: 4 << 20,
            memory_budget_bytes: 1 << 30,
            lock_timeout: Duration::from_secs(10),
            default_lcid: locale::LCID_EN_US,
            default_codepage: locale::CP_UTF8,
            expiry_interval: Some(Duration::from_secs(1)),
            on_start: None,
            on_end: None,
            static_objects: Vec::new(),
            clock: None,
            store: StoreConfig::InProc,
        }
    }
}

impl AppOptions {
    /// Checks every setting; the first bad one is `E_INVALID_OPTION` (or the
    /// LCID / code page error) with a detail naming it.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::new(error::E_INVALID_OPTION, what.to_string()));
        if self.max_timeout_minutes == 0 || self.max_timeout_minutes > MAX_TIMEOUT_MINUTES {
            return bad(
                "max_timeout_minutes must be 1..=2147483647 (Timeout is a 32-bit signed value)",
            );
        }
        if self.absolute_timeout_minutes > MAX_TIMEOUT_MINUTES {
            return bad("absolute_timeout_minutes must be 0..=2147483647");
        }
        check_timeout(
            self.default_timeout_minutes.into(),
            self.max_timeout_minutes,
        )
        .map_err(|_| {
            Error::new(
                error::E_INVALID_OPTION,
                "default_timeout_minutes must be 1..=max_timeout_minutes",
            )
        })?;
        if self.max_sessions == 0 || self.max_items == 0 || self.max_key_bytes == 0 {
            return bad("max_sessions, max_items and max_key_bytes must be at least 1");
        }
        if self.max_value_bytes == 0 {
            // Not "no limit" (as a zero memory budget is): every value
            // but Empty would be refused, at each write instead of here.
            return bad("max_value_bytes must be at least 1");
        }
        if self.max_session_bytes == 0 {
            return bad("max_session_bytes must be at least 1");
        }
        if self.memory_budget_bytes != 0 && self.memory_budget_bytes < self.max_session_bytes {
            return bad("memory_budget_bytes must be 0 (unlimited) or at least max_session_bytes");
        }
        if self.expiry_interval.is_some_and(|d| d.is_zero()) {
            return bad("expiry_interval must be positive (or None for no thread)");
        }
        if locale::is_default_alias(self.default_lcid) {
            return bad("default_lcid must be a real locale, not a default alias");
        }
        // The locale's own error (its code, E_INVALID_LCID or
        // E_INVALID_CODEPAGE), naming the option.
        let named =
            |field: &str, e: Error| Error::new(e.code(), format!("{field}: {}", e.detail()));
        locale::check_lcid(self.default_lcid).map_err(|e| named("default_lcid", e))?;
        locale::check_codepage(self.default_codepage).map_err(|e| named("default_codepage", e))?;
        match &self.store {
            StoreConfig::Redis(redis) => redis.validate()?,
            StoreConfig::Lmdb(lmdb) => lmdb.validate()?,
            _ => {}
        }
        for (i, decl) in self.static_objects.iter().enumerate() {
            if decl.name.is_empty() || decl.name.len() > self.max_key_bytes {
                return bad("a static object needs a name of 1..=max_key_bytes bytes");
            }
            let dup = self.static_objects[..i]
                .iter()
                .any(|d| same_key(&d.name, &decl.name));
            if dup {
                return Err(Error::new(
                    error::E_INVALID_OPTION,
                    format!("static object {:?} is declared twice", decl.name),
                ));
            }
        }
        Ok(())
    }

    /// Builds the configured store and the clock that goes with it.
    pub(crate) fn open_store(&self) -> Result<(Arc<dyn SessionStore>, Arc<dyn Clock>)> {
        let shared_clock = || -> Arc<dyn Clock> {
            match &self.clock {
                Some(clock) => clock.clone(),
                None => Arc::new(WallClock),
            }
        };
        let store: Arc<dyn SessionStore> = match &self.store {
            StoreConfig::InProc => Arc::new(MemoryStore::new()?),
            StoreConfig::Redis(redis) => Arc::new(RedisStore::new(
                redis,
                self.limits(),
                self.absolute_timeout_minutes,
                shared_clock(),
            )?),
            StoreConfig::Custom(store) => store.clone(),
            StoreConfig::Lmdb(lmdb) => {
                Arc::new(store::lmdb::open(lmdb, self.limits(), shared_clock())?)
            }
        };
        let clock: Arc<dyn Clock> = match (&self.clock, store.mode().serialises()) {
            (Some(clock), _) => clock.clone(),
            (None, false) => Arc::new(SystemClock),
            (None, true) => Arc::new(WallClock),
        };
        Ok((store, clock))
    }

    /// The limits sessions are checked against.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_timeout_minutes: self.max_timeout_minutes,
            max_items: self.max_items,
            max_value_bytes: self.max_value_bytes,
            max_key_bytes: self.max_key_bytes,
            max_session_bytes: self.max_session_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_options_named() {
        AppOptions::default().validate().unwrap();
        type Case = (fn(&mut AppOptions), i32);
        let cases: Vec<Case> = vec![
            (|o| o.default_timeout_minutes = 0, error::E_INVALID_OPTION),
            (|o| o.max_timeout_minutes = 10, error::E_INVALID_OPTION),
            (
                |o| {
                    o.default_timeout_minutes = u32::MAX;
                    o.max_timeout_minutes = u32::MAX;
                },
                error::E_INVALID_OPTION,
            ),
            (|o| o.max_timeout_minutes = 1 << 31, error::E_INVALID_OPTION),
            (
                |o| o.absolute_timeout_minutes = u32::MAX,
                error::E_INVALID_OPTION,
            ),
            (|o| o.max_sessions = 0, error::E_INVALID_OPTION),
            (|o| o.max_value_bytes = 0, error::E_INVALID_OPTION),
            (|o| o.max_session_bytes = 0, error::E_INVALID_OPTION),
            (|o| o.memory_budget_bytes = 1 << 20, error::E_INVALID_OPTION),
            (
                |o| o.expiry_interval = Some(Duration::ZERO),
                error::E_INVALID_OPTION,
            ),
            (|o| o.default_lcid = 0xABCD, error::E_INVALID_LCID),
            (|o| o.default_lcid = 0, error::E_INVALID_OPTION),
            (|o| o.default_codepage = 1, error::E_INVALID_CODEPAGE),
        ];
        for (i, (f, code)) in cases.into_iter().enumerate() {
            let mut o = AppOptions::default();
            f(&mut o);
            assert_eq!(o.validate().unwrap_err().code(), code, "case {i}");
        }
    }

    /// The detail names the option at fault, the locale's ones too.
    #[test]
    fn a_bad_default_locale_names_its_option() {
        let lcid = AppOptions {
            default_lcid: 0xABCD,
            ..AppOptions::default()
        };
        let e = lcid.validate().unwrap_err();
        assert_eq!(e.code(), error::E_INVALID_LCID);
        assert!(e.detail().starts_with("default_lcid: "), "{}", e.detail());
        let cp = AppOptions {
            default_codepage: 1,
            ..AppOptions::default()
        };
        let e = cp.validate().unwrap_err();
        assert_eq!(e.code(), error::E_INVALID_CODEPAGE);
        assert!(
            e.detail().starts_with("default_codepage: "),
            "{}",
            e.detail()
        );
    }

    #[test]
    fn static_object_names_are_unique() {
        let f: Factory = Arc::new(|| Err(Error::code_only(error::E_NOTIMPL)));
        let o = AppOptions {
            static_objects: vec![
                StaticObject {
                    name: "AppInfo1".into(),
                    factory: f.clone(),
                },
                StaticObject {
                    name: "APPINFO1".into(),
                    factory: f,
                },
            ],
            ..AppOptions::default()
        };
        assert_eq!(o.validate().unwrap_err().code(), error::E_INVALID_OPTION);
    }
}
