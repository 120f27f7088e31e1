//! The Redis store's settings, with bounded defaults, checked once when the
//! application is created.

use std::fmt;
use std::time::Duration;

use crate::error::{self, Error, Result};

/// Where and how an application keeps its sessions in Redis.
///
/// `RedisOptions::default()` is a single server at `redis://127.0.0.1:6379/0`
/// with the defaults listed on each field. Processes that serve one
/// application (a web farm) must use the same `url`, `key_prefix` and
/// `id_secret`; applications that share one Redis database must use
/// different `key_prefix`es.
///
/// The server must be Redis 5 or later, and should run with
/// `maxmemory-policy noeviction` (full: `E_STORE_FULL`). One that may evict
/// any key (`allkeys-*`) is refused: every call fails with
/// `E_STORE_UNAVAILABLE` saying why (a server that hides its configuration
/// is not checked). Under `volatile-*`, a full server evicts whole
/// sessions, which end without Session_OnEnd.
#[derive(Clone)]
pub struct RedisOptions {
    /// The server: `redis://[user:password@]host[:port][/db]`,
    /// `rediss://…` (TLS), `redis+unix:///path/to/socket[?db=N]`,
    /// `unix:///path/to/socket`, or an absolute socket path. With `cluster`,
    /// one seed node of the cluster. A `protocol=resp3` query is taken and
    /// ignored: the store always speaks RESP2. A database number below 0,
    /// or other than 0 for a cluster (which has only database 0), is
    /// `E_INVALID_OPTION`.
    pub url: String,
    /// Whether `url` (and `cluster_nodes`) name nodes of a Redis Cluster
    /// (default false). Implied by a non-empty `cluster_nodes`.
    pub cluster: bool,
    /// More seed nodes of the cluster, tried after `url` (default none).
    pub cluster_nodes: Vec<String>,
    /// Prefix of every key this application writes (default `"sess:"`).
    /// Give each application sharing a Redis database its own, for example
    /// `"sess:/shop:"`. It may not contain `{` or `}` (the keys' Cluster hash
    /// tags follow it) nor control characters; at most 128 bytes.
    pub key_prefix: String,
    /// Longest wait for one connection to open, TLS and login included
    /// (default 2 s).
    pub connect_timeout: Duration,
    /// Longest wait for one reply (default 1 s).
    pub op_timeout: Duration,
    /// Total time one store call may spend retrying after connection
    /// failures and timeouts before it gives up with `E_STORE_UNAVAILABLE`
    /// (default 3 s). A server out of memory (`maxmemory` reached under a
    /// policy that evicts nothing) fails a write at once with
    /// `E_STORE_FULL`. Waiting for a session's lock is not counted here: that
    /// is the application's `lock_timeout`.
    pub retry_budget: Duration,
    /// How long a session lock lives if its holder never releases it (a
    /// crashed process), by the Redis server's clock (the farm's machines
    /// need not agree on the time; an injected application clock does not
    /// move it): after this another request may take the session, and the
    /// old holder's save is refused (default 120 s).
    pub lock_ttl: Duration,
    /// A read-only request slides the session's expiry only if that moves it
    /// by at least this much (or by half the session's Timeout, if that is
    /// less: a read always leaves the session at least half its Timeout), so
    /// read-mostly sessions are not rewritten on every request (default
    /// 60 s).
    pub expiry_refresh_interval: Duration,
    /// How long a session's data outlives its deadline (and a lock held on
    /// it) in Redis (a Redis TTL),
    /// so the sweeper can still read it for Session_OnEnd; data no sweeper
    /// claimed in that time is dropped by Redis without OnEnd
    /// (default 10 min).
    pub grace: Duration,
    /// Most connections open at once; a call waits (within its retry budget)
    /// for a free one (default 16).
    pub pool_size: usize,
    /// A farm-wide secret (16 bytes or more, the same in every process) under
    /// which the session ID is stored masked (HMAC-SHA-256 keystream) so that
    /// Session_OnEnd run by the sweeper of any process sees the real
    /// SessionID. `None` (default): no form of the ID is stored at all, and a
    /// session ended by the sweeper shows a stand-in SessionID derived from
    /// its key hash (never a valid cookie); abandoned sessions and sessions
    /// found expired by a request still show their real ID.
    pub id_secret: Option<Vec<u8>>,
    /// For `rediss://`: the PEM root certificate(s) to trust instead of the
    /// system's store (a private CA). `None` (default): the system's roots.
    pub tls_root_cert_pem: Option<Vec<u8>>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            url: "redis://127.0.0.1:6379/0".into(),
            cluster: false,
            cluster_nodes: Vec::new(),
            key_prefix: "sess:".into(),
            connect_timeout: Duration::from_secs(2),
            op_timeout: Duration::from_secs(1),
            retry_budget: Duration::from_secs(3),
            lock_ttl: Duration::from_secs(120),
            expiry_refresh_interval: Duration::from_secs(60),
            grace: Duration::from_secs(600),
            pool_size: 16,
            id_secret: None,
            tls_root_cert_pem: None,
        }
    }
}

impl fmt::Debug for RedisOptions {
    /// Leaves out the URLs' passwords and the ID secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redact(&self.url))
            .field("cluster", &self.cluster)
            .field(
                "cluster_nodes",
                &self
                    .cluster_nodes
                    .iter()
                    .map(|u| redact(u))
                    .collect::<Vec<_>>(),
            )
            .field("key_prefix", &self.key_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("op_timeout", &self.op_timeout)
            .field("retry_budget", &self.retry_budget)
            .field("lock_ttl", &self.lock_ttl)
            .field("expiry_refresh_interval", &self.expiry_refresh_interval)
            .field("grace", &self.grace)
            .field("pool_size", &self.pool_size)
            .field("id_secret", &self.id_secret.as_ref().map(|_| ".."))
            .field("tls_root_cert_pem", &self.tls_root_cert_pem.is_some())
            .finish()
    }
}

/// A URL with any `user:password@` part and any query (where a Unix socket
/// URL's `user=` and `pass=` go) replaced, read as the URL parser reads it:
/// without the tabs and newlines it drops, wherever they are.
fn redact(url: &str) -> String {
    let url: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let url = match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://..@{}", &url[..s], &url[at + 1..]),
        _ => url,
    };
    match url.split_once('?') {
        Some((head, _)) => format!("{head}?.."),
        None => url,
    }
}

/// Most bytes in a key prefix.
const MAX_PREFIX: usize = 128;
/// Bounds every duration option must lie within.
const MIN_MS: Duration = Duration::from_millis(1);
/// (`scripts/lib/lock.lua` takes a lease ending over twice this past the
/// server's clock for damage: keep its `MAX_LEASE` in step.)
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

impl RedisOptions {
    /// Checks every setting; the first bad one is `E_INVALID_OPTION` with a
    /// detail naming it.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::new(error::E_INVALID_OPTION, what));
        if self.url.trim().is_empty() {
            return bad("redis url must not be empty".into());
        }
        for u in std::iter::once(&self.url).chain(&self.cluster_nodes) {
            let db = match self::connection_info(u) {
                Ok(info) => info.redis_settings().db(),
                Err(e) => return bad(format!("redis url {:?}: {}", redact(u), e.detail())),
            };
            if db < 0 || (db > 0 && self.is_cluster()) {
                let only = if self.is_cluster() {
                    "a Redis Cluster has database 0 only"
                } else {
                    "a database number is 0 or more"
                };
                return bad(format!("redis url {:?}: database {db}: {only}", redact(u)));
            }
        }
        if self.key_prefix.is_empty() || self.key_prefix.len() > MAX_PREFIX {
            return bad(format!("key_prefix must be 1..={MAX_PREFIX} bytes"));
        }
        if self
            .key_prefix
            .chars()
            .any(|c| c == '{' || c == '}' || c.is_control())
        {
            return bad("key_prefix may not contain '{', '}' or control characters".into());
        }
        for (name, d) in [
            ("connect_timeout", self.connect_timeout),
            ("op_timeout", self.op_timeout),
            ("retry_budget", self.retry_budget),
            ("lock_ttl", self.lock_ttl),
            ("expiry_refresh_interval", self.expiry_refresh_interval),
            ("grace", self.grace),
        ] {
            if d < MIN_MS || d > MAX_DURATION {
                return bad(format!("{name} must be 1 ms ..= 24 h"));
            }
        }
        if self.pool_size == 0 || self.pool_size > 4096 {
            return bad("pool_size must be 1..=4096".into());
        }
        if self.id_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return bad("id_secret must be at least 16 bytes".into());
        }
        Ok(())
    }

    /// Whether the nodes form a Redis Cluster.
    pub(crate) fn is_cluster(&self) -> bool {
        self.cluster || !self.cluster_nodes.is_empty()
    }
}

/// Parses one server address: a URL the `redis` crate reads, or an absolute
/// Unix socket path. The connection handshake sends no `CLIENT SETINFO`
/// (one reply less to wait for while connecting). The store speaks RESP2
/// whatever the URL asks (`?protocol=resp3`): it reads replies in RESP2's
/// shapes (a hash as a flat list, not RESP3's map), and RESP3 offers it
/// nothing it uses.
pub(super) fn connection_info(url: &str) -> Result<::redis::ConnectionInfo> {
    use ::redis::IntoConnectionInfo;
    let url = url.trim();
    let parsed = if url.starts_with('/') {
        ::redis::ConnectionAddr::Unix(url.into()).into_connection_info()
    } else {
        url.into_connection_info()
    };
    let info = parsed.map_err(|e| Error::new(error::E_INVALID_OPTION, e.to_string()))?;
    let settings = info
        .redis_settings()
        .clone()
        .set_skip_set_lib_name()
        .set_protocol(::redis::ProtocolVersion::RESP2);
    Ok(info.set_redis_settings(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_named() {
        RedisOptions::default().validate().unwrap();
        type Case = fn(&mut RedisOptions);
        let cases: Vec<Case> = vec![
            |o| o.url = String::new(),
            |o| o.url = "http://example".into(),
            |o| o.cluster_nodes = vec!["nope://x".into()],
            |o| o.key_prefix = String::new(),
            |o| o.key_prefix = "a{b}".into(),
            |o| o.key_prefix = "a\nb".into(),
            |o| o.key_prefix = "x".repeat(200),
            |o| o.op_timeout = Duration::ZERO,
            |o| o.retry_budget = Duration::from_secs(100_000),
            |o| o.lock_ttl = Duration::ZERO,
            |o| o.pool_size = 0,
            |o| o.id_secret = Some(vec![1; 8]),
            |o| o.url = "redis://h:1/-1".into(),
            |o| o.url = "redis+unix:///tmp/r.sock?db=-2".into(),
            |o| o.cluster_nodes = vec!["redis://h:1/3".into()],
            |o| {
                o.cluster = true;
                o.url = "redis://h:1/1".into();
            },
        ];
        for (i, f) in cases.into_iter().enumerate() {
            let mut o = RedisOptions::default();
            f(&mut o);
            assert_eq!(
                o.validate().unwrap_err().code(),
                error::E_INVALID_OPTION,
                "case {i}"
            );
        }
        for url in [
            "rediss://h:6380/1",
            "redis+unix:///tmp/r.sock",
            "unix:///tmp/r.sock",
            "/tmp/r.sock",
        ] {
            let o = RedisOptions {
                url: url.into(),
                ..RedisOptions::default()
            };
            o.validate().unwrap();
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let o = RedisOptions {
            url: "redis://user:hunter2@h:1/0".into(),
            id_secret: Some(b"0123456789abcdef-secret".to_vec()),
            ..RedisOptions::default()
        };
        let text = format!("{o:?}");
        assert!(!text.contains("hunter2") && !text.contains("secret\""));
        assert!(!text.contains("0123456789abcdef"));
    }

    #[test]
    fn debug_and_errors_hide_passwords_however_spelled() {
        // Each URL gives the Redis client the password "hunter2": in a Unix
        // socket URL's query, or behind a tab or newline the URL parser
        // drops.
        for url in [
            "redis+unix:///tmp/r.sock?db=1&pass=hunter2",
            "unix:///tmp/r.sock?PASS=x&pass=hunter2",
            "redis:/\t/user:hunter2@h:1/0",
            "redis:\n//:hunter2@h",
        ] {
            let info = connection_info(url).unwrap();
            assert_eq!(info.redis_settings().password(), Some("hunter2"), "{url:?}");
            let o = RedisOptions {
                url: url.into(),
                cluster_nodes: vec![url.into()],
                ..RedisOptions::default()
            };
            let text = format!("{o:?}");
            assert!(!text.contains("hunter2"), "{url:?} shown as {text}");
            // A URL refused after its password is read.
            let o = RedisOptions {
                url: format!("{url}&protocol=9"),
                ..RedisOptions::default()
            };
            if let Err(e) = o.validate() {
                assert!(!e.detail().contains("hunter2"), "{}", e.detail());
            }
        }
    }
}
