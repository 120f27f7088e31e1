//! Allocating the disk blocks of the files every process maps shared (the
//! data file, the lock table, the wake-up words) before anything writes
//! into them through a map.
//!
//! A write through a shared map into a hole (a block the file does not
//! have yet) makes the kernel allocate the block at the page fault; if the
//! file system has no room, the process gets SIGBUS, not an error code. So
//! the store allocates the blocks first, with `fallocate(2)` (mode 0: the
//! file's bytes are unchanged), where a full disk is `ENOSPC`.
//!
//! Never `posix_fallocate(3)`: where the file system lacks `fallocate`
//! (`EOPNOTSUPP`: ext4 without extents, some FUSE and network file
//! systems), glibc emulates it by reading one byte per block and writing a
//! zero where it read a zero, which races with another process writing
//! that byte through its map, and can zero a live byte. Such a file system
//! cannot give the store its guarantee (a full disk an error, never a
//! crash), so it is refused ([`unsupported`]).

use std::fs::File;
use std::path::Path;

use crate::error::{self, Error};

/// Allocates the blocks of bytes `from..to` of `file` (at `path`), leaving
/// its bytes as they are: nothing to do if `to <= from`. The OS error as it
/// came ([`refused`] says what it means).
pub(super) fn allocate(file: &File, path: &Path, from: u64, to: u64) -> std::io::Result<()> {
    if to <= from {
        return Ok(());
    }
    #[cfg(test)]
    if let Some(rc) = tests::faked(path, from, to) {
        return if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::from_raw_os_error(rc))
        };
    }
    let _ = path;
    let off = |n: u64| libc::off_t::try_from(n).unwrap_or(libc::off_t::MAX);
    let (offset, len) = (off(from), off(to - from));
    loop {
        let rc = call(file, offset, len);
        match rc {
            0 => return Ok(()),
            libc::EINTR => {} // a signal arrived: again
            rc => return Err(std::io::Error::from_raw_os_error(rc)),
        }
    }
}

/// One `fallocate(2)` call: 0 or the error number.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn call(file: &File, offset: libc::off_t, len: libc::off_t) -> i32 {
    use std::os::fd::AsRawFd;
    // SAFETY: `file` is an open file of this process; mode 0 only
    // allocates blocks (the file's bytes are unchanged), never emulated.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, offset, len) } == 0 {
        0
    } else {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    }
}

/// One `posix_fallocate` call (outside Linux: the system's own, not
/// glibc's emulation).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn call(file: &File, offset: libc::off_t, len: libc::off_t) -> i32 {
    use std::os::fd::AsRawFd;
    // SAFETY: `file` is an open file of this process; the call only
    // allocates blocks (the file's bytes are unchanged).
    unsafe { libc::posix_fallocate(file.as_raw_fd(), offset, len) }
}

/// Whether `e` says the file system cannot allocate space ahead.
fn is_unsupported(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::ENOSYS))
        || e.raw_os_error() == Some(libc::ENOTSUP)
}

/// The error for a failed [`allocate`] of the file `path` up to `to`
/// bytes: `E_STORE_FULL` if the disk has no room, `E_STORE_ACCESS`
/// ([`unsupported`]) if its file system cannot allocate ahead, else
/// `otherwise` (`E_STORE_UNAVAILABLE` while the store runs,
/// `E_STORE_ACCESS` opening it).
pub(super) fn refused(path: &Path, to: u64, e: std::io::Error, otherwise: error::HResult) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOSPC | libc::EFBIG | libc::EDQUOT) => Error::new(
            error::E_STORE_FULL,
            format!(
                "LMDB store: the disk has no room to allocate {} up to {to} \
                 bytes (nothing was written)",
                path.display()
            ),
        ),
        _ if is_unsupported(&e) => unsupported(path.parent().unwrap_or(path), &e),
        _ => Error::new(
            otherwise,
            format!(
                "LMDB store: allocating the disk space of {}: {e}",
                path.display()
            ),
        ),
    }
}

/// `E_STORE_ACCESS`: the file system of `dir` cannot allocate space ahead
/// (`e`).
fn unsupported(dir: &Path, e: &std::io::Error) -> Error {
    Error::new(
        error::E_STORE_ACCESS,
        format!(
            "lmdb directory {}: its file system cannot allocate disk space \
             ahead of use (fallocate: {e}), so a full disk could not be \
             reported as an error (a write would crash the process instead): \
             the LMDB store needs a local file system that can, such as ext4, \
             xfs or tmpfs",
            dir.display()
        ),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use std::cell::RefCell;
    use std::path::Path;

    /// What a test hook says of a call: `Some(errno)` (0: success) to fake
    /// its result, `None` to make it.
    type Hook = Box<dyn FnMut(&Path, u64, u64) -> Option<i32>>;

    thread_local! {
        static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
    }

    /// Runs `f` with `hook` seeing (and perhaps faking) every allocation
    /// this thread makes.
    pub(in super::super) fn with_hook<T>(
        hook: impl FnMut(&Path, u64, u64) -> Option<i32> + 'static,
        f: impl FnOnce() -> T,
    ) -> T {
        HOOK.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
        struct Unset;
        impl Drop for Unset {
            fn drop(&mut self) {
                HOOK.with(|h| *h.borrow_mut() = None);
            }
        }
        let _unset = Unset;
        f()
    }

    pub(super) fn faked(path: &Path, from: u64, to: u64) -> Option<i32> {
        HOOK.with(|h| {
            h.borrow_mut()
                .as_mut()
                .and_then(|hook| hook(path, from, to))
        })
    }
}
