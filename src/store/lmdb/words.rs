//! A file of atomic words that every process opening the directory maps
//! shared (the lock table, the wake-up words): created at its size when
//! missing, stamped with its format's magic word, refused when it has
//! another size or format. Its words are only ever accessed atomically.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::MmapMut;

use crate::error::{self, Error, Result};

/// A mapped file of 64-bit words: word 0 its magic, then `len` more.
pub(super) struct SharedWords {
    map: MmapMut,
    len: usize,
}

impl SharedWords {
    /// Opens (creating if needed) `path`, `what` for messages, holding
    /// `len` words after the magic word `magic`.
    pub(super) fn open(
        path: &Path,
        what: &str,
        magic: &[u8; 8],
        len: usize,
    ) -> Result<SharedWords> {
        let fail = |op: &str, e: std::io::Error| {
            Error::new(
                error::E_STORE_ACCESS,
                format!("lmdb {what} {}: {op}: {e}", path.display()),
            )
        };
        let foreign = || {
            Error::new(
                error::E_STORE_CORRUPT,
                format!("{} is not a libsess {what}", path.display()),
            )
        };
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| fail("open", e))?;
        let bytes = 8 * (len as u64 + 1);
        match file.metadata().map_err(|e| fail("stat", e))?.len() {
            0 => file.set_len(bytes).map_err(|e| fail("size", e))?,
            n if n == bytes => {}
            _ => return Err(foreign()),
        }
        // SAFETY: the file is only ever changed through this mapping's
        // atomic words, by every process (the protocols of its users).
        let map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| fail("map", e))?;
        let words = SharedWords { map, len };
        let magic = u64::from_le_bytes(*magic);
        match words
            .word(0)
            .compare_exchange(0, magic, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Ok(words),
            Err(m) if m == magic => Ok(words),
            Err(_) => Err(foreign()),
        }
    }

    /// Word `i` (0: the magic word).
    pub(super) fn word(&self, i: usize) -> &AtomicU64 {
        assert!(i <= self.len);
        // SAFETY: the mapping is 8 × (len + 1) bytes from a page-aligned
        // start, lives as long as `self`, and is only accessed atomically.
        unsafe { &*self.map.as_ptr().cast::<AtomicU64>().add(i) }
    }

    /// Word `i` as two 32-bit words (a futex's size), low address first.
    pub(super) fn halves(&self, i: usize) -> &[AtomicU32; 2] {
        assert!(i <= self.len);
        // SAFETY: as in `word`: 8 bytes inside the mapping, 8-aligned.
        unsafe { &*self.map.as_ptr().cast::<[AtomicU32; 2]>().add(i) }
    }
}
