//! The LMDB store on a data file made of any bytes (a seed store's file,
//! damaged): every use of it either works or is refused with
//! `E_STORE_CORRUPT`; never a crash inside LMDB, a hang, or another error
//! (inputs are far too small to fill the 4 MiB map or pass a limit). The
//! input is the IDs of the file's sessions, then the file (see
//! `tests/common/damaged_store.rs`; the seed is checked and rewritten by
//! `tests/lmdb_store.rs`).
#![no_main]

#[path = "../../tests/common/damaged_store.rs"]
mod damaged_store;
#[path = "../../tests/common/temp_dir.rs"]
mod temp_dir;

use damaged_store::{options, split_fuzz_input, use_a_damaged_store};
use libfuzzer_sys::fuzz_target;
use sess::error;
use temp_dir::TempDir;

fuzz_target!(|input: &[u8]| {
    let (ids, file) = split_fuzz_input(input);
    let dir = TempDir::new("fuzz-lmdb");
    std::fs::write(dir.path().join("data.mdb"), file).expect("the data file");
    if let Err(e) = use_a_damaged_store(options(dir.path()), &ids) {
        assert_eq!(
            e.code(),
            error::E_STORE_CORRUPT,
            "neither served nor refused: {e}"
        );
    }
});
