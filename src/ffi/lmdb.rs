//! `sess_lmdb_options`: keeping an application's sessions in an LMDB
//! directory shared by the processes of one machine, from C.

use std::ffi::c_char;
use std::mem::size_of;
use std::time::Duration;

use super::versioned::{self, Versioned};
use super::{bytes, sess_result, text, CBool};
use crate::error::Result;
use crate::store::lmdb::LmdbOptions;

/// Where and how an application keeps its sessions in an LMDB directory
/// that every worker process of the machine opens (kept across restarts).
/// Fill with `sess_lmdb_options_init` (every default), set `path`, and
/// point `sess_app_options.lmdb` at it; strings are copied by
/// `sess_app_create`. `struct_size` versions the struct as for
/// `sess_app_options` (this is its first version: a newer header's larger
/// struct is taken as the header's preamble says).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sess_lmdb_options {
    /// `sizeof(sess_lmdb_options)` as the caller knows it.
    pub struct_size: u32,
    /// How long a session lock lives if its holder never releases it (a
    /// crashed process), ms (default 120000; 100 ..= 86400000, 24 h):
    /// after this another request may take the session, and the holder's
    /// save is refused (`SESS_E_LOCK_TIMEOUT`).
    pub lock_ttl_ms: u32,
    /// The directory holding the store's files: absolute, existing and
    /// writable, on a local file system (required). Missing or not
    /// writable: `SESS_E_STORE_ACCESS` from `sess_app_create`; a damaged or
    /// foreign file there: `SESS_E_STORE_CORRUPT`, also from later calls
    /// (and an emptied or removed `data.mdb` while its `sess-locks` shows
    /// it was in use). The first process to open the directory after
    /// every process closed it checks each `data.mdb`'s pages before LMDB
    /// reads them (LMDB trusts them: damaged ones would crash it), so a
    /// file damaged meanwhile (a crash, a copy, a failing disk) is
    /// `SESS_E_STORE_CORRUPT` naming the file and page; damage done while
    /// processes have it open (another program writing the file) is not
    /// detected and may still crash them. Then stop the directory's
    /// processes and restore it from a backup or remove it (its sessions
    /// are lost).
    pub path: *const c_char,
    /// The application's name in the directory (NULL: empty): applications
    /// sharing a directory need different names (at most 64 bytes).
    pub name: *const c_char,
    /// Largest size of the data files together in bytes (default 1 GiB;
    /// at least 1048576, 1 MiB, else `SESS_E_INVALID_OPTION` from
    /// `sess_app_create`). A directory created with 64 MiB or more keeps its
    /// sessions in four files of a quarter each (so that writes to
    /// different ones run at once), a session in the one its ID picks.
    /// Each file's length is its share at once, but its disk space is
    /// allocated as sessions need it (tens of MiB ahead). Past it, or with
    /// no disk space left, saves fail with `SESS_E_STORE_FULL` and nothing
    /// is written; new sessions and saves are refused a little short of
    /// it, leaving the map's last free pages (tens of them: 100 to 300
    /// KiB, by the depth of its trees) to the expiry sweeps and Abandons
    /// that free room, so a full store takes sessions again as its
    /// sessions end. Processes sharing a directory may give different sizes
    /// (a server restarted with a larger one while its old workers still
    /// serve): a process maps each file at least at the length it finds
    /// (the largest map of the processes using it), and once another
    /// process, with a larger map, has stored past this one's map, this one
    /// maps the files at the larger size and goes on. The applications of
    /// one process on a directory share its map, at the largest size they
    /// ask for. A size this process cannot map, or larger than its file system allows a file to be, is
    /// `SESS_E_INVALID_OPTION` from `sess_app_create` (the files left as
    /// they were).
    pub map_size: u64,
    /// A secret shared by the processes (16 bytes or more; `id_secret_len`
    /// of them), or NULL: with it, Session_OnEnd run by any process's
    /// sweeper sees the real SessionID (stored masked); without, a stand-in.
    pub id_secret: *const u8,
    /// Length of `id_secret`.
    pub id_secret_len: usize,
    /// Flush every write to disk before returning (default false: writes
    /// survive process crashes and are flushed at each expiry sweep). One
    /// application asking for it makes every write of its process to the
    /// directory durable (the process's applications on a directory share
    /// one LMDB environment).
    pub durable: CBool,
}

fn lmdb_defaults() -> sess_lmdb_options {
    let d = LmdbOptions::new("");
    sess_lmdb_options {
        struct_size: size_of::<sess_lmdb_options>() as u32,
        lock_ttl_ms: u32::try_from(d.lock_ttl.as_millis()).unwrap_or(u32::MAX),
        path: std::ptr::null(),
        name: std::ptr::null(),
        map_size: d.map_size as u64,
        id_secret: std::ptr::null(),
        id_secret_len: 0,
        durable: d.durable.into(),
    }
}

/// Fills `*opts` with the defaults and sets `struct_size`.
/// It writes this library's whole struct: C and C++ callers reach
/// `sess_lmdb_options_init_sized` through the header's `sess_lmdb_options_init`
/// macro instead (see "Versioned structs" at the top).
#[no_mangle]
pub unsafe extern "C" fn sess_lmdb_options_init(opts: *mut sess_lmdb_options) -> sess_result {
    // SAFETY: NULL or writable per the contract.
    unsafe { versioned::init(opts, "opts") }
}

/// As `sess_lmdb_options_init`, for the caller's struct of `size` bytes (its
/// `sizeof`): nothing is written past it (see "Versioned structs" at the
/// top).
#[no_mangle]
pub unsafe extern "C" fn sess_lmdb_options_init_sized(
    opts: *mut sess_lmdb_options,
    size: usize,
) -> sess_result {
    // SAFETY: NULL or writable for `size` bytes per the contract.
    unsafe { versioned::init_sized(opts, size, "opts") }
}

// SAFETY: repr(C), struct_size first; the pointers accept any value and
// `durable` any byte (a `CBool`).
unsafe impl Versioned for sess_lmdb_options {
    const NAME: &'static str = "sess_lmdb_options";
    const VERSIONS: &'static [usize] = &[size_of::<sess_lmdb_options>()];
    fn defaults() -> Self {
        lmdb_defaults()
    }
}

/// The Rust options from a caller's struct (validated with the
/// application's options).
///
/// # Safety
/// `o` must be readable for `struct_size` bytes, `path` and `name` NULL or
/// NUL-terminated,
/// `id_secret` NULL or readable for `id_secret_len` bytes.
pub(crate) unsafe fn to_rust(o: *const sess_lmdb_options) -> Result<LmdbOptions> {
    // SAFETY: per the caller.
    let o = unsafe { versioned::read(o, "opts->lmdb") }?;
    if o.path.is_null() {
        return Err(super::null("lmdb->path"));
    }
    // SAFETY: NUL-terminated per the caller.
    let path = unsafe { text(o.path, "lmdb->path") }?;
    let id_secret = if o.id_secret.is_null() && o.id_secret_len == 0 {
        None
    } else {
        // SAFETY: readable for id_secret_len bytes per the caller (NULL
        // with a length is refused).
        Some(unsafe { bytes(o.id_secret.cast(), o.id_secret_len, "lmdb->id_secret") }?.to_vec())
    };
    let name = if o.name.is_null() {
        String::new()
    } else {
        // SAFETY: NUL-terminated per the caller.
        unsafe { text(o.name, "lmdb->name") }?.to_owned()
    };
    Ok(LmdbOptions {
        name,
        map_size: usize::try_from(o.map_size).unwrap_or(usize::MAX),
        lock_ttl: Duration::from_millis(o.lock_ttl_ms.into()),
        id_secret,
        durable: o.durable.get(),
        ..LmdbOptions::new(path)
    })
}

#[cfg(test)]
mod tests {
    use super::super::app::{sess_app_create, sess_app_options, sess_app_options_init};
    use super::super::session::{sess_session_close, sess_session_create, sess_session_mode};
    use super::*;
    use crate::error as err;
    use std::mem::offset_of;

    #[test]
    fn c_bool_fields_take_any_nonzero_byte() {
        let o = versioned::with_byte(
            offset_of!(sess_lmdb_options, durable),
            2,
            |p: *const sess_lmdb_options| {
                // SAFETY: a whole struct; its name and secret NULL.
                let mut o = unsafe { versioned::read(p, "lmdb") }?;
                o.path = c"/tmp".as_ptr();
                // SAFETY: a whole struct, its path NUL-terminated.
                unsafe { to_rust(&o) }
            },
        )
        .unwrap();
        assert!(o.durable, "durable holding 2 reads as true");
    }

    #[test]
    fn applications_on_lmdb_from_c() {
        let dir = std::env::temp_dir().join(format!("libsess-ffi-lmdb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
        let missing = std::ffi::CString::new(dir.join("missing").to_str().unwrap()).unwrap();
        let mut lmdb = lmdb_defaults();
        // SAFETY: writable structs and out-pointers throughout; every
        // handle made is released.
        unsafe {
            assert_eq!(sess_lmdb_options_init(&mut lmdb), err::S_OK);
            let mut opts = std::mem::zeroed::<sess_app_options>();
            assert_eq!(sess_app_options_init(&mut opts), err::S_OK);
            opts.lmdb = &lmdb;
            let mut app = std::ptr::null_mut();
            // No path; a missing directory.
            assert_eq!(sess_app_create(&opts, &mut app), err::E_POINTER);
            lmdb.path = missing.as_ptr();
            opts.lmdb = &lmdb;
            assert_eq!(sess_app_create(&opts, &mut app), err::E_STORE_ACCESS);
            // An older caller's struct ends before `lmdb`: whatever follows
            // it is not read, and the application is in-process.
            opts.struct_size = offset_of!(sess_app_options, lmdb) as u32;
            assert_eq!(sess_app_create(&opts, &mut app), err::S_OK);
            let mode = |app| {
                let (mut s, mut m) = (std::ptr::null_mut(), 0);
                assert_eq!(sess_session_create(app, &mut s), err::S_OK);
                assert_eq!(sess_session_mode(s, &mut m), err::S_OK);
                assert_eq!(sess_session_close(s), err::S_OK);
                m
            };
            assert_eq!(mode(app), super::super::session::MODE_INPROC);
            super::super::app::sess_app_release(app);
            opts.struct_size = size_of::<sess_app_options>() as u32;
            lmdb.path = path.as_ptr();
            opts.lmdb = &lmdb;
            assert_eq!(sess_app_create(&opts, &mut app), err::S_OK);
            assert_eq!(mode(app), super::super::session::MODE_LMDB);
            super::super::app::sess_app_release(app);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lmdb_structs_follow_the_versioned_rule() {
        versioned::check_the_rule::<sess_lmdb_options>();
    }

    #[test]
    fn a_secret_length_needs_its_pointer() {
        let mut o = lmdb_defaults();
        o.path = c"/tmp".as_ptr();
        o.id_secret_len = 16;
        // SAFETY: a whole struct; NULL secret with a length is refused.
        let e = unsafe { to_rust(&o) }.err().unwrap();
        assert_eq!(e.code(), err::E_POINTER);
    }
}
