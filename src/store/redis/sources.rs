//! The Lua source of each script: the helpers it calls (`scripts/lib/`,
//! the lock helpers first: the others call them), then its own file. Only
//! those helpers: Lua makes every `local function` of a script anew on each
//! run. (`benches/redis_cycle.rs` includes this file too, so its raw
//! contenders run exactly these scripts.)

/// Concatenates a script's helpers and its own file.
macro_rules! source {
    ($file:literal $(, $lib:literal)*) => {
        concat!(
            $(include_str!(concat!("scripts/lib/", $lib, ".lua")),)*
            include_str!(concat!("scripts/", $file))
        )
    };
}

/// Read and lock a session (a writing request's first round trip).
pub const ACQUIRE: &str = source!("acquire.lua", "lock", "claim");
/// Read a session a writer may hold, judging its lease.
pub const READ: &str = source!("read.lua", "lock");
/// Move a read session's deadline on.
pub const SLIDE: &str = source!("slide.lua", "lock", "expire");
/// Store a new session, locked.
pub const CREATE: &str = source!("create.lua", "lock", "range");
/// Save the changes and unlock.
pub const SAVE: &str = source!("save.lua", "lock", "range");
/// Unlock without saving.
pub const RELEASE: &str = source!("release.lua", "lock");
/// Remove a session (Abandon).
pub const REMOVE: &str = source!("remove.lua", "lock");
/// Move a session to a new ID.
pub const REGENERATE: &str = source!("regenerate.lua", "lock", "expire");
/// The sweeper's claim of an expired session.
pub const CLAIM: &str = source!("claim.lua", "lock", "claim");
/// The farm-wide sweeper lease.
pub const LEASE: &str = source!("lease.lua");
/// Count the sessions.
pub const COUNT: &str = source!("count.lua");
/// List the sessions due to expire.
pub const DUE: &str = source!("due.lua");
