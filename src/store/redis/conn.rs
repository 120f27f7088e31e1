//! Connections to Redis: a small bounded pool, per-call timeouts and the
//! retry budget.
//!
//! Every store call runs through [`Pool::run`]: it takes a pooled connection
//! (opening one within `connect_timeout` if none is idle), bounds each reply
//! by `op_timeout`, and on a connection failure or timeout (the connection
//! dropped) or a passing server state (LOADING, BUSY with another client's
//! script, TRYAGAIN, CLUSTERDOWN, MASTERDOWN, READONLY) tries again with a
//! short backoff until `retry_budget` has passed; then it fails with `E_STORE_UNAVAILABLE`. Redis out of memory
//! (OOM) is `E_STORE_FULL` at once. No single wait is ever longer than what
//! is left of the budget, so a call never hangs. Once Redis answers again,
//! new connections are opened on demand: the process recovers without a
//! restart.
//!
//! A retried script may already have run on the server (the reply was lost);
//! the scripts are written so that a retry with the same lock or claim
//! token sees its own effect and reports it (see `scripts/`).
//!
//! A new connection first asks the server's `maxmemory-policy` (`CONFIG
//! GET`; a random node of a cluster). An `allkeys-*` policy may evict any
//! key under memory pressure, the expiry indexes (keys without a TTL)
//! among them, and every session such an index held would end without
//! Session_OnEnd: each call on that server then fails at once with
//! `E_STORE_UNAVAILABLE` saying so (the library has no channel for a
//! warning, and these sessions would break its promise silently). A server
//! that refuses to say (managed services often disable `CONFIG`) is used
//! as it is. The policy is asked again on every call until it is fit, so
//! fixing it on the server is enough.

use std::time::{Duration, Instant};

use ::redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use ::redis::{ConnectionLike, ErrorKind, RedisError, ServerErrorKind};
use parking_lot::{Condvar, Mutex};

use super::options::{connection_info, RedisOptions};
use crate::error::{self, Error, Result};

/// The smallest timeout handed to a socket (zero would mean "none").
const MIN_WAIT: Duration = Duration::from_millis(1);
/// The first pause between attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// What connections are opened to.
enum Target {
    Single(::redis::Client),
    Cluster(ClusterClient),
}

/// One open connection.
enum Link {
    Single(::redis::Connection),
    Cluster(Box<ClusterConnection>),
}

/// A connection, the socket timeout last set on it, and whether its
/// server's eviction policy was found fit (or would not be told).
struct Conn {
    link: Link,
    timeout: Option<Duration>,
    vetted: bool,
}

/// `E_STORE_UNAVAILABLE` for a server whose `maxmemory-policy` is `policy`,
/// one that may evict any key.
fn evicting(what: &str, policy: &str) -> Error {
    unavailable(
        what,
        format_args!(
            "the server's maxmemory-policy is {policy}: under memory pressure it \
             may evict any key, the sessions' expiry indexes among them, and the \
             sessions they index would end without Session_OnEnd; set it to \
             noeviction (a full server is then E_STORE_FULL) or a volatile-* policy"
        ),
    )
}

impl Conn {
    /// The connection as the `redis` crate's.
    fn link(&mut self) -> &mut dyn ConnectionLike {
        match &mut self.link {
            Link::Single(c) => c,
            Link::Cluster(c) => &mut **c,
        }
    }

    /// The server's `maxmemory-policy` if it is one that may evict any key
    /// (`allkeys-*`); `None` if it is fit or the server will not say, and
    /// from then on without asking. A failure that may pass if tried again
    /// (the connection's) is the call's.
    fn evicting_policy(&mut self) -> ::redis::RedisResult<Option<String>> {
        if self.vetted {
            return Ok(None);
        }
        let reply: ::redis::RedisResult<Vec<String>> = ::redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query(self.link());
        let policy = match reply {
            Ok(pair) => pair.into_iter().nth(1).unwrap_or_default(),
            Err(e) if classify(&e).0 => return Err(e),
            // Refused (an unknown or forbidden command), or an answer of
            // another shape: the server will not say.
            Err(_) => String::new(),
        };
        if policy.starts_with("allkeys-") {
            return Ok(Some(policy));
        }
        self.vetted = true;
        Ok(None)
    }

    /// Sets the read and write timeouts, unless they are `d` already (two
    /// system calls saved on almost every call).
    fn set_timeouts(&mut self, d: Duration) -> ::redis::RedisResult<()> {
        if self.timeout == Some(d) {
            return Ok(());
        }
        self.timeout = None;
        match &self.link {
            Link::Single(c) => {
                c.set_read_timeout(Some(d))?;
                c.set_write_timeout(Some(d))?;
            }
            Link::Cluster(c) => {
                c.set_read_timeout(Some(d))?;
                c.set_write_timeout(Some(d))?;
            }
        }
        self.timeout = Some(d);
        Ok(())
    }
}

#[derive(Default)]
struct Slots {
    idle: Vec<Conn>,
    /// Connections open, idle or lent.
    open: usize,
    /// The fork generation the connections were opened in: a child made by
    /// `fork()` must not talk on its parent's sockets.
    generation: u32,
}

/// A bounded pool of connections with the call policy described above.
pub(super) struct Pool {
    target: Target,
    slots: Mutex<Slots>,
    freed: Condvar,
    max: usize,
    connect_timeout: Duration,
    /// Replies a new connection waits for in its handshake (AUTH, SELECT),
    /// each up to the connect timeout: the timeout is divided among them.
    handshake_replies: u32,
    op_timeout: Duration,
    budget: Duration,
    /// Whether the connections use TLS (`rediss://`).
    tls: bool,
}

/// Whether `e` may pass if the call is tried again, and whether the
/// connection it happened on must be dropped.
fn classify(e: &RedisError) -> (bool, bool) {
    match e.kind() {
        ErrorKind::Io | ErrorKind::Parse | ErrorKind::ClusterConnectionNotFound => (true, true),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::ReadOnly,
        ) => (true, false),
        ErrorKind::AuthenticationFailed => (false, true),
        // The server closes the connection after the refusal.
        _ if refused_length(e).is_some() => (false, true),
        // Another client's script runs past the server's busy threshold:
        // nothing else runs until it ends or is killed.
        _ if e.code() == Some("BUSY") => (true, false),
        _ => (false, e.is_unrecoverable_error()),
    }
}

/// The private roots to trust for TLS, if configured.
fn tls_certs(o: &RedisOptions) -> Option<::redis::TlsCertificates> {
    o.tls_root_cert_pem
        .as_ref()
        .map(|pem| ::redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        })
}

/// `E_STORE_UNAVAILABLE` for a failed call.
pub(super) fn unavailable(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::new(
        error::E_STORE_UNAVAILABLE,
        format!("Redis {what}: {detail}"),
    )
}

/// What [`refused`] says, to tell its errors apart.
const REFUSED: &str = "argument longer than proto-max-bulk-len";

/// The error of a command the server refused (`Protocol error: invalid
/// bulk length`) because an argument, the longest `bytes` long, is longer
/// than its `proto-max-bulk-len`.
pub(super) fn refused(bytes: usize) -> RedisError {
    RedisError::from((ErrorKind::Client, REFUSED, bytes.to_string()))
}

/// The smallest `proto-max-bulk-len` a server takes (`1mb`).
const MIN_BULK_LEN: usize = 1 << 20;

/// `e`, the connection dropped while a command whose longest argument is
/// `bytes` long was sent. Past the smallest `proto-max-bulk-len`, a server
/// set lower refuses the argument and closes the connection as it arrives,
/// and the client, still sending, may see only the reset: the error (still
/// the connection's, tried again) says so.
pub(super) fn dropped_sending(e: RedisError, bytes: usize) -> RedisError {
    if bytes <= MIN_BULK_LEN {
        return e;
    }
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        format!(
            "{e}, sending a value of {bytes} bytes (encoded): if it happens again, the \
             value may be larger than the server's proto-max-bulk-len; raise \
             proto-max-bulk-len on the server (CONFIG SET proto-max-bulk-len), or \
             store less in one value"
        ),
    ))
}

/// The longest argument's length, for an error made by [`refused`].
fn refused_length(e: &RedisError) -> Option<usize> {
    if e.kind() != ErrorKind::Client || !e.to_string().starts_with(REFUSED) {
        return None;
    }
    e.detail()?.parse().ok()
}

/// The error of a call that failed with `e`, not to be retried: Redis out
/// of memory (OOM: `maxmemory` reached under a policy that evicts nothing)
/// is `E_STORE_FULL`; anything else, a value longer than the server's
/// `proto-max-bulk-len` among them, `E_STORE_UNAVAILABLE`.
fn failed(what: &str, e: RedisError) -> Error {
    if let Some(bytes) = refused_length(&e) {
        // The server refuses the whole command as it arrives.
        return unavailable(
            what,
            format_args!(
                "the server refused a value of {bytes} bytes (encoded), larger than its \
                 proto-max-bulk-len; nothing was written: raise proto-max-bulk-len on \
                 the server (CONFIG SET proto-max-bulk-len), or store less in one value \
                 (an application max_value_bytes below the server's limit refuses it \
                 before it is sent)"
            ),
        );
    }
    if e.code() != Some("OOM") {
        return unavailable(what, e);
    }
    // Redis refuses a script only at its first write: nothing was written.
    Error::new(
        error::E_STORE_FULL,
        format!(
            "Redis {what}: the server is out of memory (maxmemory reached, \
             and its policy evicts nothing); nothing was written: {e}"
        ),
    )
}

impl Pool {
    /// A pool for the servers `o` names; opens nothing yet.
    pub(super) fn new(o: &RedisOptions) -> Result<Pool> {
        let bad = |e: RedisError| Error::new(error::E_INVALID_OPTION, format!("redis: {e}"));
        let tls = std::iter::once(&o.url)
            .chain(&o.cluster_nodes)
            .any(|u| u.trim_start().starts_with("rediss:"));
        if tls {
            // TLS needs a process-wide crypto provider; keep the host's if
            // it installed one.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let mut handshake_replies = 1;
        let target = if o.is_cluster() {
            let nodes = std::iter::once(&o.url)
                .chain(&o.cluster_nodes)
                .map(|u| connection_info(u))
                .collect::<Result<Vec<_>>>()?;
            let mut builder = ClusterClientBuilder::new(nodes);
            if let Some(certs) = tls_certs(o) {
                builder = builder.certs(certs);
            }
            let client = builder
                .connection_timeout(o.connect_timeout)
                .response_timeout(o.op_timeout)
                // Redirections are followed; other failures come back to
                // `run`, which owns the budget.
                .retries(2)
                .min_retry_wait(5)
                .max_retry_wait(50)
                .build()
                .map_err(bad)?;
            Target::Cluster(client)
        } else {
            let info = connection_info(&o.url)?;
            let r = info.redis_settings();
            handshake_replies = 1 + u32::from(r.password().is_some()) + u32::from(r.db() != 0);
            Target::Single(
                match tls_certs(o) {
                    Some(certs) => ::redis::Client::build_with_tls(info, certs),
                    None => ::redis::Client::open(info),
                }
                .map_err(bad)?,
            )
        };
        Ok(Pool {
            target,
            slots: Mutex::new(Slots::default()),
            freed: Condvar::new(),
            max: o.pool_size,
            connect_timeout: o.connect_timeout,
            handshake_replies,
            op_timeout: o.op_timeout,
            budget: o.retry_budget,
            tls,
        })
    }

    /// A connection: an idle one, a new one (if fewer than `max` are open),
    /// or the next one freed before `deadline`.
    fn checkout(&self, deadline: Instant) -> ::redis::RedisResult<Conn> {
        let mut slots = self.slots.lock();
        let generation = crate::fork::generation();
        if slots.generation != generation {
            // Closing the child's copies leaves the parent's connections be.
            *slots = Slots {
                generation,
                ..Slots::default()
            };
        }
        loop {
            if let Some(c) = slots.idle.pop() {
                return Ok(c);
            }
            if slots.open < self.max {
                slots.open += 1;
                break;
            }
            if self.freed.wait_until(&mut slots, deadline).timed_out() {
                return Err(RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("all {} pooled connections stayed busy", self.max),
                )));
            }
        }
        drop(slots);
        // The `redis` crate gives the TCP connect and then each handshake
        // reply up to `wait`: divided so the whole stays within the budget.
        let wait = (self
            .connect_timeout
            .min(deadline.saturating_duration_since(Instant::now()))
            / self.handshake_replies)
            .max(MIN_WAIT);
        let link = match &self.target {
            Target::Single(client) => client.get_connection_with_timeout(wait).map(Link::Single),
            Target::Cluster(client) => client.get_connection().map(|c| Link::Cluster(Box::new(c))),
        };
        let conn = link
            .map(|link| Conn {
                link,
                timeout: None,
                vetted: false,
            })
            .map_err(|e| self.timed_out(e, true));
        if conn.is_err() {
            self.forget();
        }
        conn
    }

    fn checkin(&self, c: Conn) {
        self.slots.lock().idle.push(c);
        self.freed.notify_one();
    }

    /// `e`, or, if it is a timeout, one that says which wait ran out (the
    /// OS says only "Resource temporarily unavailable"): opening a
    /// connection or its first reply (`connecting`; the TLS handshake
    /// comes with it: a `rediss://` URL naming a plain Redis port gets no
    /// answer to it), or a reply.
    fn timed_out(&self, e: RedisError, connecting: bool) -> RedisError {
        if !e.is_timeout() {
            return e;
        }
        let text = if connecting {
            let tls = if self.tls {
                "; with a rediss:// URL, check that the port serves TLS \
                 (a plain Redis port never answers the TLS handshake)"
            } else {
                ""
            };
            format!(
                "no reply while connecting (connect_timeout {} ms, op_timeout {} ms){tls}",
                self.connect_timeout.as_millis(),
                self.op_timeout.as_millis()
            )
        } else {
            format!(
                "no reply in time (op_timeout {} ms)",
                self.op_timeout.as_millis()
            )
        };
        RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, text))
    }

    /// Drops a broken connection's slot.
    fn forget(&self) {
        let mut slots = self.slots.lock();
        slots.open = slots.open.saturating_sub(1);
        drop(slots);
        self.freed.notify_one();
    }

    /// Runs `op` under the call policy (module docs); `what` names the call
    /// in errors.
    pub(super) fn run<T>(
        &self,
        what: &str,
        mut op: impl FnMut(&mut dyn ConnectionLike) -> ::redis::RedisResult<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + self.budget;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let failure = match self.checkout(deadline) {
                Err(e) if !classify(&e).0 => return Err(failed(what, e)),
                Err(e) => e,
                Ok(mut conn) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let outcome = conn
                        .set_timeouts(self.op_timeout.min(left).max(MIN_WAIT))
                        .and_then(|()| conn.evicting_policy())
                        .and_then(|policy| match policy {
                            None => op(conn.link()).map(Ok),
                            Some(policy) => Ok(Err(evicting(what, &policy))),
                        });
                    match outcome {
                        Ok(done) => {
                            self.checkin(conn);
                            return done;
                        }
                        Err(e) => {
                            // Not vetted: its first command (a new one).
                            let e = self.timed_out(e, !conn.vetted);
                            let (retry, broken) = classify(&e);
                            if broken {
                                drop(conn);
                                self.forget();
                            } else {
                                self.checkin(conn);
                            }
                            if !retry {
                                return Err(failed(what, e));
                            }
                            e
                        }
                    }
                }
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(unavailable(
                    what,
                    format_args!(
                        "{failure} (gave up after the {} ms retry budget)",
                        self.budget.as_millis()
                    ),
                ));
            }
            std::thread::sleep(backoff.min(left));
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}
