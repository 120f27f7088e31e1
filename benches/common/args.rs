//! What a benchmark reads from its command line and environment.

/// Whether `flag` (e.g. `--list`) is on the command line.
pub fn flag(flag: &str) -> bool {
    std::env::args().any(|a| a == flag)
}

/// Whether to run small and once: criterion's rule, so `cargo test
/// --all-targets` (no `--bench`), `-- --test` and `--list` stay quick.
pub fn quick() -> bool {
    flag("--test") || flag("--list") || !flag("--bench")
}

/// The environment variable `name` parsed, if set and well-formed.
pub fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}
