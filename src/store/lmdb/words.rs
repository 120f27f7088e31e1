//! A file of atomic words that every process opening the directory maps
//! shared (the lock table, the wake-up words): created at its size when
//! missing, its disk blocks allocated (so a full disk is `E_STORE_FULL`
//! at application creation, not SIGBUS at the first write to a page, see
//! `space.rs`), stamped with its format's magic word, refused when it has
//! another size or format. Its words are only ever accessed atomically.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::MmapMut;

use super::space;
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
        // Every block, before anything writes through the map (see
        // `space.rs`): also in a file found made (one an earlier version
        // left sparse; nothing to do in one allocated already).
        space::allocate(&file, path, 0, bytes)
            .map_err(|e| space::refused(path, bytes, e, error::E_STORE_ACCESS))?;
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{FileExt, MetadataExt};
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::store::lmdb::space;

    const WORDS: usize = 1 << 16;
    const MAGIC: &[u8; 8] = b"testwrd1";

    fn dir(what: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("libsess-lmdb-words-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Whether every byte of the file `path` has its disk block.
    fn allocated(path: &Path) -> bool {
        let meta = std::fs::metadata(path).unwrap();
        meta.blocks() * 512 >= meta.len()
    }

    #[test]
    fn a_words_file_has_its_blocks_even_one_left_sparse() {
        let dir = dir("blocks");
        let path = dir.join("new");
        drop(SharedWords::open(&path, "test file", MAGIC, WORDS).unwrap());
        assert!(allocated(&path));
        // An earlier version's file: made at its size, sparse.
        let path = dir.join("sparse");
        let file = File::create(&path).unwrap();
        file.set_len(8 * (WORDS as u64 + 1)).unwrap();
        file.write_all_at(MAGIC, 0).unwrap();
        drop(file);
        let words = SharedWords::open(&path, "test file", MAGIC, WORDS).unwrap();
        assert!(allocated(&path));
        assert_eq!(
            words.word(0).load(Ordering::Relaxed),
            u64::from_le_bytes(*MAGIC)
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_full_or_unfit_file_system_is_an_error_at_open() {
        let dir = dir("unfit");
        for (errno, code) in [
            (libc::ENOSPC, error::E_STORE_FULL),
            (libc::EOPNOTSUPP, error::E_STORE_ACCESS),
        ] {
            let path = dir.join(format!("w{errno}"));
            let e = space::tests::with_hook(
                move |_, _, _| Some(errno),
                || SharedWords::open(&path, "test file", MAGIC, WORDS).err(),
            )
            .expect("refused");
            assert_eq!(e.code(), code, "{errno}: {}", e.detail());
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
