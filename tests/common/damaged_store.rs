//! What a server does with an LMDB store whose data file may be damaged:
//! the workload of the damage tests in `lmdb_store.rs` and of the
//! `lmdb_file` fuzz target, and the fuzz input's layout (the IDs of the
//! file's sessions, then the file).
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sess::app::{App, AppOptions, StoreConfig};
use sess::clock::ManualClock;
use sess::error::{self, Result};
use sess::state::SessionId;
use sess::store::lmdb::LmdbOptions;
use sess::store::LockMode;
use sess::variant::Variant;

/// When the damaged stores' sessions were made, and the workload's now.
pub const DAMAGE_NOW: u64 = 1_900_000_000_000;

/// The ID secret of the LMDB tests' stores (the fuzz seed's sessions are
/// found only under it).
pub const SECRET: &[u8] = b"a machine-wide test secret, 32 b";

/// The options of the damaged stores in `dir`: a 4 MiB map (one
/// environment), 30 s lock leases, [`SECRET`].
pub fn options(dir: &Path) -> LmdbOptions {
    LmdbOptions {
        map_size: 4 << 20,
        lock_ttl: Duration::from_secs(30),
        id_secret: Some(SECRET.to_vec()),
        ..LmdbOptions::new(dir)
    }
}

/// Length of a session ID's text.
const ID_LEN: usize = 22;

/// Opens the store `lmdb` at [`DAMAGE_NOW`], reads each session of `ids`
/// (writing every eighth), stores new sessions, then sweeps five minutes
/// later and counts. Returns how many of `ids` were found (a session not
/// found is no failure: a damaged key may hide it), or the first failure.
pub fn use_a_damaged_store(lmdb: LmdbOptions, ids: &[SessionId]) -> Result<usize> {
    let clock = Arc::new(ManualClock::new(DAMAGE_NOW));
    let app = App::new(AppOptions {
        expiry_interval: None,
        clock: Some(clock.clone()),
        store: StoreConfig::Lmdb(lmdb),
        ..AppOptions::default()
    })?;
    let mut found = 0;
    for (i, id) in ids.iter().enumerate() {
        let exclusive = i % 8 == 0;
        let mode = if exclusive {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        };
        match app.open(id, mode) {
            Ok(mut s) => {
                found += 1;
                let _ = s.get("n").cloned();
                if exclusive {
                    s.set("n", Variant::I4(-1))?;
                }
                s.close()?;
            }
            Err(e) if e.code() == error::E_SESSION_NOT_FOUND => {}
            Err(e) => return Err(e),
        }
    }
    for i in 0..50 {
        let mut s = app.create_session()?;
        s.set("n", Variant::I4(i))?;
        s.close()?;
    }
    clock.advance(5 * 60_000);
    app.expire()?;
    app.session_count()?;
    Ok(found)
}

/// A fuzz input: a byte counting the IDs, the IDs' texts, then the data
/// file's bytes.
pub fn fuzz_input(ids: &[SessionId], file: &[u8]) -> Vec<u8> {
    let n = ids.len().min(255);
    let mut input = vec![n as u8];
    for id in &ids[..n] {
        input.extend_from_slice(id.encode().as_str().as_bytes());
    }
    input.extend_from_slice(file);
    input
}

/// Splits a fuzz input into the IDs that parse and the data file's bytes
/// (an input too short for its count: no IDs, the rest is the file).
pub fn split_fuzz_input(input: &[u8]) -> (Vec<SessionId>, &[u8]) {
    let Some((&n, rest)) = input.split_first() else {
        return (Vec::new(), input);
    };
    let Some((texts, file)) = rest.split_at_checked(n as usize * ID_LEN) else {
        return (Vec::new(), rest);
    };
    let ids = texts
        .chunks(ID_LEN)
        .filter_map(|t| std::str::from_utf8(t).ok())
        .filter_map(|t| SessionId::parse(t).ok())
        .collect();
    (ids, file)
}
