//! The Redis-mode request cycle: libsess against a raw ceiling and against
//! PHP's native sessions on phpredis, in one run, on a private
//! `redis-server` this bench starts (and kills) on a free loopback port. It
//! never touches 127.0.0.1:6379.
//!
//! 1. **Redis memory per session.** libsess builds N sessions (10,000; each
//!    "user" 16-char BSTR, "count" I4, "cart" R8) in database 1, PHP the
//!    same N in database 0 (its default): `used_memory` before and after,
//!    ÷ N, each database with its own key table, the clients' connections
//!    opened first. libsess's figure is taken at once and again after the
//!    lock tombstone TTL (what a request leaves behind has gone by then),
//!    PHP's too; and the floor for one key per session: N keys named like
//!    libsess's, each with a TTL and a 1-byte value (database 2).
//! 2. **Round trips per request, counted.** With `MONITOR` open (it tells
//!    the commands a client sent from those a Lua script ran, `[0 lua]`)
//!    and `INFO commandstats` read before and after (which counts both
//!    alike), each request kind runs a number of times on one thread; the
//!    bench prints the commands sent per request and those run inside
//!    scripts, checks that the two sources agree, and asserts libsess's
//!    1 (read-only) and 2 (writing) round trips.
//! 3. **Throughput at 8 client threads**, uniformly random sessions, for:
//!    - `libsess-write`: `App` on `StoreConfig::Redis` (pool of 8, no
//!      expiry thread): open exclusive → 3 gets → set count + 1 → close;
//!    - `ceiling-write`: the `redis` crate directly, one connection per
//!      thread, on a copy of the same hashes: EVALSHA (SET NX PX lock +
//!      HGETALL), then EVALSHA (owner check, HSET one field, DEL the lock);
//!    - `php-write`: one long-running `php` CLI worker per thread
//!      (`common/php_session_worker.php`, driven over a pipe):
//!      session_id / session_start / read 3 items / count + 1 /
//!      session_write_close, phpredis locking on, strict mode, lazy write;
//!    - `libsess-read`: open shared → 3 gets → close; `ceiling-read`:
//!      EVALSHA HGETALL; `php-read`: session_start(read_and_close);
//!    - diagnostics `raw+lib-write` / `raw+lib-read`: the raw client running
//!      libsess's own scripts (acquire.lua + save.lua) and read (HGETALL +
//!      the lock check) with the arguments libsess passes, which splits
//!      the gap into server-side work and client-side library work.
//!
//!    Each round runs every contender for a fixed time, in a rotated order;
//!    the summary gives medians over rounds and the median of the per-round
//!    ratios, plus CPU per cycle: the clients (this process: getrusage; the
//!    PHP workers: /proc) and the server (`INFO cpu`), and the CPU others
//!    used meanwhile (/proc/stat), since the server and the clients share
//!    the machine; and the server's time per cycle by command (`INFO
//!    commandstats` usec), and the keys and memory the traffic left behind.
//! 4. **Checks**: the sum of every session's "count" equals the writing
//!    cycles run, for libsess (asserted: no lost update) and for PHP
//!    (reported); then a hot session: 8 clients × 250 increments of one
//!    session's count at once, through libsess (asserted: nothing lost) and
//!    through PHP with its lock waiting up to 2 s, with phpredis's default
//!    10 retries, and without locking (reported).
//!
//! `cargo bench --bench redis_cycle` runs it (about 3 minutes);
//! `cargo bench --bench redis_cycle -- --test`, `SESS_BENCH_QUICK=1` or a
//! run without `--bench` (`cargo test --all-targets`) is a quick sanity run
//! (1,000 sessions, one short round). Overrides: `SESS_BENCH_SESSIONS`,
//! `SESS_BENCH_ROUNDS`, `SESS_BENCH_SECS` (per contender per round),
//! `SESS_BENCH_THREADS`, `SESS_BENCH_HOT` (increments per client on the hot
//! session), `SESS_BENCH_ONLY` (comma-separated contender names, e.g.
//! `libsess-write`, for profiling). `SESS_BENCH_WHATIF=1` adds
//! `noslide-write`: the raw client running save.lua without the expiry
//! slide (no `E`, no PEXPIRE), to show what an exactly sliding expiry
//! costs. Without `php` and its redis extension the PHP contenders are
//! skipped with a message.

#[path = "common/php_peer.rs"]
mod php_peer;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::{Script, Value};
use sess::app::{App, AppOptions, StoreConfig};
use sess::state::ID_LEN;
use sess::store::{LockMode, RedisOptions};
use sess::variant::Variant;

use php_peer::{Locking, Worker};
use redis_server::RedisServer;

/// The 16-character string stored under "user" (as in request_cycle.rs).
const USER: &str = "user@example.com";
const DEFAULT_THREADS: usize = 8;
/// Lock TTL and grace the raw contenders pass (libsess's defaults).
const LOCK_TTL_MS: u64 = 120_000;
const GRACE_MS: u64 = 600_000;
/// libsess's default tombstone: retry_budget (3 s) + op_timeout (1 s).
const TOMBSTONE_MS: u64 = 4_000;
/// A session's Timeout (the default, 20 minutes).
const TIMEOUT_MS: u64 = 20 * 60_000;

type IdText = [u8; ID_LEN];

fn id_str(id: &IdText) -> &str {
    std::str::from_utf8(id).expect("session IDs are ASCII")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn connect(url: &str) -> redis::Connection {
    let con = redis::Client::open(url)
        .expect("url")
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect to the private redis-server");
    con.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    con
}

fn info(con: &mut redis::Connection, section: &str) -> String {
    redis::cmd("INFO").arg(section).query(con).expect("INFO")
}

/// `INFO commandstats` as command → (calls, usec).
fn command_stats(con: &mut redis::Connection) -> BTreeMap<String, (u64, u64)> {
    info(con, "commandstats")
        .lines()
        .filter_map(|l| {
            let (name, stats) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let field = |k: &str| -> Option<u64> {
                stats
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(k))?
                    .parse()
                    .ok()
            };
            Some((name.to_owned(), (field("calls=")?, field("usec=")?)))
        })
        .fold(BTreeMap::new(), |mut m, (name, (calls, usec))| {
            // A subcommand (`script|load`) under its command, as MONITOR
            // names it.
            let name = name.split('|').next().unwrap_or_default().to_owned();
            let e: &mut (u64, u64) = m.entry(name).or_default();
            *e = (e.0 + calls, e.1 + usec);
            m
        })
}

/// The server's `used_memory` (bytes) and the keys in the current database.
fn memory_and_keys(con: &mut redis::Connection) -> (i64, i64) {
    let used = info(con, "memory")
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory");
    let keys: i64 = redis::cmd("DBSIZE").query(con).expect("DBSIZE");
    (used, keys)
}

/// The server's CPU seconds (user + system, all threads).
fn server_cpu(con: &mut redis::Connection) -> f64 {
    let text = info(con, "cpu");
    let get = |k: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    get("used_cpu_sys:") + get("used_cpu_user:")
}

/// This process's CPU seconds (user + system).
fn process_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// The machine's busy and stolen CPU seconds so far (/proc/stat).
fn machine_cpu() -> (f64, f64) {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let Some(line) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().map(str::to_owned))
    else {
        return (0.0, 0.0);
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0.0) / hz;
    // user nice system idle iowait irq softirq steal
    (at(0) + at(1) + at(2) + at(5) + at(6), at(7))
}

// ---------------------------------------------------------------------------
// Scripts.

/// libsess's scripts, as its Redis store builds them.
#[path = "../src/store/redis/sources.rs"]
mod sources;

/// The ceiling's load phase: take the lock, read the hash.
/// KEYS: data, lock. ARGV: token, lock ttl ms. {1, fields} or {2}: locked.
const CEIL_LOAD: &str = "\
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2}
end
return {1, redis.call('HGETALL', KEYS[1])}";

/// The ceiling's save phase: only while the lock is ours, write one field
/// and unlock. KEYS: data, lock. ARGV: token, field, value. 1 or 0.
const CEIL_SAVE: &str = "\
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('DEL', KEYS[2])
return 1";

/// The ceiling's read-only request. KEYS: data.
const CEIL_READ: &str = "return redis.call('HGETALL', KEYS[1])";

/// What-if (`SESS_BENCH_WHATIF=1`): save.lua without the expiry slide (no
/// PEXPIRE; the client sends no `E`), same arguments otherwise: what an
/// exact sliding expiry costs a writing request.
const NOSLIDE_SAVE: &str = "\
local l = redis.call('HGET', KEYS[1], 'L')
if l == ARGV[1] then
  return 1
end
if not l then
  return -2
end
if string.sub(l, 1, #ARGV[1] + 1) ~= ARGV[1] .. ':' then
  return -1
end
local last = 6 + 2 * tonumber(ARGV[6])
redis.call('HSET', KEYS[1], unpack(ARGV, 7, last))
return 1";

struct Scripts {
    ceil_load: Script,
    ceil_save: Script,
    ceil_read: Script,
    lib_acquire: Script,
    lib_save: Script,
    noslide_save: Script,
    /// SHA-1 → name, libsess's other scripts included.
    names: Vec<(String, &'static str)>,
}

impl Scripts {
    fn new() -> Scripts {
        let s = Scripts {
            ceil_load: Script::new(CEIL_LOAD),
            ceil_save: Script::new(CEIL_SAVE),
            ceil_read: Script::new(CEIL_READ),
            lib_acquire: Script::new(sources::ACQUIRE),
            lib_save: Script::new(sources::SAVE),
            noslide_save: Script::new(NOSLIDE_SAVE),
            names: Vec::new(),
        };
        let mut names: Vec<(String, &'static str)> = vec![
            (s.ceil_load.get_hash().into(), "ceiling load"),
            (s.ceil_save.get_hash().into(), "ceiling save"),
            (s.ceil_read.get_hash().into(), "ceiling read"),
            (s.lib_acquire.get_hash().into(), "acquire.lua"),
            (s.lib_save.get_hash().into(), "save.lua"),
            (s.noslide_save.get_hash().into(), "no-slide save"),
        ];
        for (script, name) in [
            (Script::new(sources::CREATE), "create.lua"),
            (Script::new(sources::RELEASE), "release.lua"),
            (Script::new(sources::SLIDE), "slide.lua"),
            (Script::new(sources::COUNT), "count.lua"),
            (Script::new(sources::READ), "read.lua"),
            (Script::new(sources::REMOVE), "remove.lua"),
            (Script::new(sources::REGENERATE), "regenerate.lua"),
            (Script::new(sources::CLAIM), "claim.lua"),
            (Script::new(sources::LEASE), "lease.lua"),
            (Script::new(sources::DUE), "due.lua"),
        ] {
            names.push((script.get_hash().into(), name));
        }
        Scripts { names, ..s }
    }

    fn name_of(&self, sha: &str) -> &'static str {
        self.names
            .iter()
            .find(|(h, _)| h == sha)
            .map_or("(phpredis's unlock)", |(_, n)| n)
    }
}

// ---------------------------------------------------------------------------
// The workload.

/// One session's keys: libsess's (for the raw+lib contenders) and the
/// ceiling's copy.
struct Keys {
    data: String,
    exp: String,
    member: Vec<u8>,
    ceil_data: String,
    ceil_lock: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    LibWrite,
    CeilWrite,
    RawWrite,
    PhpWrite,
    LibRead,
    CeilRead,
    RawRead,
    PhpRead,
    NoSlideWrite,
}

const KINDS: [Kind; 9] = [
    Kind::LibWrite,
    Kind::CeilWrite,
    Kind::RawWrite,
    Kind::PhpWrite,
    Kind::LibRead,
    Kind::CeilRead,
    Kind::RawRead,
    Kind::PhpRead,
    Kind::NoSlideWrite,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::LibWrite => "libsess-write",
            Kind::CeilWrite => "ceiling-write",
            Kind::RawWrite => "raw+lib-write",
            Kind::PhpWrite => "php-write",
            Kind::LibRead => "libsess-read",
            Kind::CeilRead => "ceiling-read",
            Kind::RawRead => "raw+lib-read",
            Kind::PhpRead => "php-read",
            Kind::NoSlideWrite => "noslide-write",
        }
    }

    /// Whether it runs on the raw client.
    fn is_raw(self) -> bool {
        matches!(
            self,
            Kind::CeilWrite | Kind::RawWrite | Kind::CeilRead | Kind::RawRead | Kind::NoSlideWrite
        )
    }

    /// Whether it runs on the PHP workers.
    fn is_php(self) -> bool {
        matches!(self, Kind::PhpWrite | Kind::PhpRead)
    }
}

/// What one request runs on: libsess's own pool, a raw connection, or a
/// PHP worker.
enum Via<'a> {
    Lib,
    Raw(&'a mut redis::Connection),
    Php(&'a mut Worker),
}

impl Via<'_> {
    /// The same client, lent again.
    fn again(&mut self) -> Via<'_> {
        match self {
            Via::Lib => Via::Lib,
            Via::Raw(c) => Via::Raw(c),
            Via::Php(w) => Via::Php(w),
        }
    }
}

struct Bench {
    app: App,
    ids: Vec<IdText>,
    keys: Vec<Keys>,
    /// One connection per worker thread for the raw contenders.
    conns: Vec<Mutex<redis::Connection>>,
    /// One PHP worker per thread (none if PHP cannot run here), and the
    /// IDs of PHP's sessions.
    php: Vec<Mutex<Worker>>,
    php_ids: Vec<String>,
    scripts: Scripts,
    /// libsess and PHP writing cycles completed (to check the counts at the
    /// end).
    lib_writes: AtomicU64,
    php_writes: AtomicU64,
    /// PHP requests that failed (a lock not taken in time, say).
    php_failures: AtomicU64,
    /// Raw contenders' retries after finding a session locked.
    conflicts: AtomicU64,
    /// `used_memory` and keys once the data is built (for what traffic
    /// leaves behind).
    built: (i64, i64),
}

/// The `count` field's bytes in a flat HGETALL reply.
fn count_field(flat: &[Value]) -> Vec<u8> {
    flat.chunks_exact(2)
        .find_map(|p| match (&p[0], &p[1]) {
            (Value::BulkString(n), Value::BulkString(v)) if n == b"count" => Some(v.clone()),
            _ => None,
        })
        .expect("a count field")
}

/// Whether a flat HGETALL reply shows a lock held at `now` (field `L` =
/// `<token>:<expiry ms>`).
fn locked(flat: &[Value], now: u64) -> bool {
    flat.chunks_exact(2).any(|p| match (&p[0], &p[1]) {
        (Value::BulkString(n), Value::BulkString(v)) if n == b"L" => std::str::from_utf8(v)
            .ok()
            .and_then(|v| v.split_once(':'))
            .and_then(|(_, e)| e.parse::<u64>().ok())
            .is_some_and(|e| e > now),
        _ => false,
    })
}

/// `{status, fields?}` → (status, fields).
fn status(v: Value) -> (i64, Vec<Value>) {
    let Value::Array(mut items) = v else {
        panic!("a script reply that is not an array: {v:?}");
    };
    let fields = match items.len() {
        2 => match items.pop() {
            Some(Value::Array(f)) => f,
            other => panic!("fields: {other:?}"),
        },
        _ => Vec::new(),
    };
    match items.first() {
        Some(Value::Int(s)) => (*s, fields),
        other => panic!("status: {other:?}"),
    }
}

/// One increment by libsess (open exclusive → 3 gets → count + 1 → close).
fn lib_increment(app: &App, id: &str) -> sess::error::Result<()> {
    let mut s = app.open_session(id, LockMode::Exclusive)?;
    black_box(s.get("user"));
    let count = match s.get("count") {
        Some(Variant::I4(c)) => *c,
        other => panic!("count is {other:?}"),
    };
    black_box(s.get("cart"));
    s.set("count", Variant::I4(count + 1))?;
    s.close()
}

impl Bench {
    fn lib_write(&self, i: usize) {
        lib_increment(&self.app, id_str(&self.ids[i])).expect("a writing request");
        self.lib_writes.fetch_add(1, Relaxed);
    }

    fn lib_read(&self, i: usize) {
        let s = self
            .app
            .open_session(id_str(&self.ids[i]), LockMode::Shared)
            .expect("a resident session");
        black_box(s.get("user"));
        black_box(s.get("count"));
        black_box(s.get("cart"));
        s.close().expect("close");
    }

    fn php_write(&self, w: &mut Worker, i: usize) {
        match w.write(&self.php_ids[i]) {
            Ok(_) => self.php_writes.fetch_add(1, Relaxed),
            Err(_) => self.php_failures.fetch_add(1, Relaxed),
        };
    }

    fn php_read(&self, w: &mut Worker, i: usize) {
        if w.read(&self.php_ids[i]).is_err() {
            self.php_failures.fetch_add(1, Relaxed);
        }
    }

    fn ceil_write(&self, con: &mut redis::Connection, token: &str, i: usize) {
        let k = &self.keys[i];
        let fields = loop {
            let v: Value = self
                .scripts
                .ceil_load
                .key(&k.ceil_data)
                .key(&k.ceil_lock)
                .arg(token)
                .arg(LOCK_TTL_MS)
                .invoke(con)
                .expect("ceiling load");
            match status(v) {
                (1, f) => break f,
                (2, _) => self.locked(),
                (s, _) => panic!("ceiling load status {s}"),
            }
        };
        let count = count_field(&fields);
        let ok: i64 = self
            .scripts
            .ceil_save
            .key(&k.ceil_data)
            .key(&k.ceil_lock)
            .arg(token)
            .arg("count")
            .arg(count)
            .invoke(con)
            .expect("ceiling save");
        assert_eq!(ok, 1, "the ceiling lost its lock");
    }

    fn ceil_read(&self, con: &mut redis::Connection, i: usize) {
        let v: Value = self
            .scripts
            .ceil_read
            .key(&self.keys[i].ceil_data)
            .invoke(con)
            .expect("ceiling read");
        black_box(v);
    }

    /// libsess's own scripts and arguments, from the raw client; writes
    /// back the count it read (so the counts stay libsess's). `slide`:
    /// save.lua (the deadline E and the TTL slide), else the no-slide
    /// what-if.
    fn raw_write(&self, con: &mut redis::Connection, token: &str, i: usize, slide: bool) {
        let k = &self.keys[i];
        let now = now_ms();
        let fields = loop {
            let v: Value = self
                .scripts
                .lib_acquire
                .key(&k.data)
                .key(&k.exp)
                .key(format!("{}:c:{token}", k.data))
                .arg(&k.member)
                .arg(token)
                .arg(now)
                .arg(LOCK_TTL_MS)
                .arg(TOMBSTONE_MS)
                .arg(LOCK_TTL_MS + GRACE_MS)
                // The lease's end by libsess's estimate of the server's
                // clock: here, on the same machine, the wall clock.
                .arg(now_ms() + LOCK_TTL_MS)
                .invoke(con)
                .expect("acquire.lua");
            match status(v) {
                (1, f) => break f,
                (2, _) => self.locked(),
                (s, _) => panic!("acquire.lua status {s}"),
            }
        };
        let count = count_field(&fields);
        let deadline = now + TIMEOUT_MS;
        let save = if slide {
            &self.scripts.lib_save
        } else {
            &self.scripts.noslide_save
        };
        let mut inv = save.key(&k.data);
        inv.key(&k.exp)
            .arg(token)
            // The lease far from its end: only the owner is checked.
            .arg("")
            .arg(deadline - now + GRACE_MS)
            .arg("")
            .arg("")
            .arg(if slide { 3 } else { 2 })
            .arg("count")
            .arg(count);
        if slide {
            inv.arg("E").arg(deadline);
        }
        let saved: i64 = inv.arg("L").arg(token).invoke(con).expect("save.lua");
        assert_eq!(saved, 1, "save.lua refused");
    }

    /// libsess's read, from the raw client: HGETALL, and the lock check.
    fn raw_read(&self, con: &mut redis::Connection, i: usize) {
        loop {
            let flat: Vec<Value> = redis::cmd("HGETALL")
                .arg(&self.keys[i].data)
                .query(con)
                .expect("HGETALL");
            if !locked(&flat, now_ms()) {
                black_box(flat);
                return;
            }
            self.locked();
        }
    }

    /// A raw contender found the session locked: pause as libsess's first
    /// poll does.
    fn locked(&self) {
        self.conflicts.fetch_add(1, Relaxed);
        std::thread::sleep(Duration::from_millis(1));
    }

    /// One request of `kind` on session `i` (`token`: the raw contenders'
    /// lock token).
    fn cycle(&self, kind: Kind, via: Via<'_>, token: &str, i: usize) {
        match (kind, via) {
            (Kind::LibWrite, _) => self.lib_write(i),
            (Kind::LibRead, _) => self.lib_read(i),
            (Kind::CeilWrite, Via::Raw(c)) => self.ceil_write(c, token, i),
            (Kind::CeilRead, Via::Raw(c)) => self.ceil_read(c, i),
            (Kind::RawWrite, Via::Raw(c)) => self.raw_write(c, token, i, true),
            (Kind::NoSlideWrite, Via::Raw(c)) => self.raw_write(c, token, i, false),
            (Kind::RawRead, Via::Raw(c)) => self.raw_read(c, i),
            (Kind::PhpWrite, Via::Php(w)) => self.php_write(w, i),
            (Kind::PhpRead, Via::Php(w)) => self.php_read(w, i),
            (k, _) => panic!("{k:?} got the wrong client"),
        }
    }

    /// Runs `f` with thread `t`'s client for `kind`.
    fn with_client<R>(&self, kind: Kind, t: usize, f: impl FnOnce(Via<'_>) -> R) -> R {
        if kind.is_raw() {
            f(Via::Raw(&mut self.conns[t].lock()))
        } else if kind.is_php() {
            f(Via::Php(&mut self.php[t].lock()))
        } else {
            f(Via::Lib)
        }
    }

    /// The CPU seconds the PHP workers have used.
    fn php_cpu(&self) -> f64 {
        self.php.iter().map(|w| w.lock().cpu_seconds()).sum()
    }

    /// Runs `kind` on `threads` workers for `secs`; cycles and wall seconds.
    fn timed(&self, kind: Kind, threads: usize, secs: f64, seed: u64) -> (u64, f64) {
        let n = self.ids.len();
        let stop = AtomicBool::new(false);
        let barrier = Barrier::new(threads + 1);
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (stop, barrier) = (&stop, &barrier);
                    s.spawn(move || {
                        let mut rng = StdRng::seed_from_u64(seed ^ ((t as u64) << 32));
                        let token = format!("bench-worker-{t}-{seed}");
                        self.with_client(kind, t, |mut via| {
                            let mut cycles = 0u64;
                            barrier.wait();
                            while !stop.load(Relaxed) {
                                let i = rng.random_range(0..n);
                                self.cycle(kind, via.again(), &token, i);
                                cycles += 1;
                            }
                            (cycles, Instant::now())
                        })
                    })
                })
                .collect();
            barrier.wait();
            let t0 = Instant::now();
            std::thread::sleep(Duration::from_secs_f64(secs));
            stop.store(true, Relaxed);
            let done: Vec<(u64, Instant)> = workers
                .into_iter()
                .map(|w| w.join().expect("worker"))
                .collect();
            let end = done.iter().map(|d| d.1).max().expect("a worker");
            (done.iter().map(|d| d.0).sum(), (end - t0).as_secs_f64())
        })
    }
}

// ---------------------------------------------------------------------------
// Building the data.

/// What `after` holds beyond `before`, per session of `n`.
/// Prints what `who`'s `n` sessions take in Redis since `before`: at once
/// and, unless `quick`, once the lock tombstones have expired and the
/// clients' idle buffers are trimmed.
fn print_memory(who: &str, con: &mut redis::Connection, before: (i64, i64), n: usize, quick: bool) {
    println!(
        "  redis memory, {who}, at once: {}",
        per_session(before, memory_and_keys(con), n)
    );
    if !quick {
        std::thread::sleep(Duration::from_millis(TOMBSTONE_MS + 1000));
        println!(
            "  redis memory, {who}, {} s later: {}",
            TOMBSTONE_MS / 1000 + 1,
            per_session(before, memory_and_keys(con), n)
        );
    }
}

fn per_session(before: (i64, i64), after: (i64, i64), n: usize) -> String {
    format!(
        "{:.0} B per session (used_memory delta ÷ {n}), {} keys",
        (after.0 - before.0) as f64 / n as f64,
        after.1 - before.1
    )
}

/// Runs `make(t)` `n` times over `threads` threads (thread t makes its
/// share); the results in order.
fn in_parallel<T: Send>(n: usize, threads: usize, make: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let per = n.div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let make = &make;
                s.spawn(move || {
                    (0..per.min(n.saturating_sub(t * per)))
                        .map(|_| make(t))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("builder"))
            .collect()
    })
}

/// `n` key names shaped as libsess's (`<prefix>{bb}:<32 hex>`).
fn data_keys_like(prefix: &str, n: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..n)
        .map(|_| {
            let hex: String = (0..16)
                .map(|_| format!("{:02x}", rng.random::<u8>()))
                .collect();
            format!("{prefix}{{{}}}:{hex}", &hex[..2])
        })
        .collect()
}

/// A new libsess session holding the three items; its ID.
fn lib_session(app: &App) -> IdText {
    let mut s = app.create_session().expect("create");
    s.set("user", Variant::bstr(USER)).expect("set");
    s.set("count", Variant::I4(0)).expect("set");
    s.set("cart", Variant::R8(19.99)).expect("set");
    let mut text = [0u8; ID_LEN];
    text.copy_from_slice(s.id().encode().as_str().as_bytes());
    s.close().expect("close");
    text
}

/// Builds `n` sessions through libsess (database 1) and, if `with_php`,
/// `n` through PHP (database 0), each reporting the Redis memory it took,
/// and the ceiling's copy of libsess's.
fn build(port: u16, n: usize, threads: usize, quick: bool, with_php: bool) -> Bench {
    let url = format!("redis://127.0.0.1:{port}/1");
    let mut con = connect(&url);
    // The default prefix: the server is private and empty.
    let prefix = "sess:".to_owned();
    let ceil_prefix = "ceil:";
    let app = App::new(AppOptions {
        expiry_interval: None,
        store: StoreConfig::Redis(RedisOptions {
            url: url.clone(),
            key_prefix: prefix.clone(),
            pool_size: threads.max(8),
            ..RedisOptions::default()
        }),
        ..AppOptions::default()
    })
    .expect("app");
    // Open the clients' connections first: their buffers are not sessions.
    let before_clients = memory_and_keys(&mut con);
    in_parallel(threads, threads, |_| lib_session(&app));
    let before = memory_and_keys(&mut con);
    println!(
        "libsess's {threads} pooled connections (and {threads} warm-up sessions): {:.0} kB of used_memory",
        (before.0 - before_clients.0) as f64 / 1e3
    );
    let t0 = Instant::now();
    let ids = in_parallel(n, threads, |_| lib_session(&app));
    println!(
        "built {n} sessions through libsess in {:.1} s ({threads} threads)",
        t0.elapsed().as_secs_f64()
    );
    print_memory("libsess", &mut con, before, n, quick);

    // PHP's sessions, in database 0 (phpredis's default).
    let (php, php_ids) = if with_php {
        let workers: Vec<Mutex<Worker>> = (0..threads)
            .map(|_| Mutex::new(Worker::start(port, Locking::Patient)))
            .collect();
        let mut php_con = connect(&format!("redis://127.0.0.1:{port}/0"));
        in_parallel(threads, threads, |t| workers[t].lock().create());
        let before = memory_and_keys(&mut php_con);
        let t0 = Instant::now();
        let ids = in_parallel(n, threads, |t| workers[t].lock().create());
        println!(
            "built {n} sessions through PHP (phpredis) in {:.1} s ({threads} workers)",
            t0.elapsed().as_secs_f64()
        );
        print_memory("PHP", &mut php_con, before, n, quick);
        (workers, ids)
    } else {
        (Vec::new(), Vec::new())
    };

    // The floor for one key per session: a key named as libsess names a
    // session's, with a TTL and a 1-byte value (database 2, then dropped).
    let mut floor_con = connect(&format!("redis://127.0.0.1:{port}/2"));
    let before = memory_and_keys(&mut floor_con);
    for chunk in data_keys_like(&prefix, n).chunks(1000) {
        let mut p = redis::pipe();
        for k in chunk {
            p.cmd("SET")
                .arg(k)
                .arg("x")
                .arg("PX")
                .arg(1_800_000)
                .ignore();
        }
        p.query::<()>(&mut floor_con).expect("SET");
    }
    println!(
        "  the floor, a key with a TTL and a 1-byte value per session: {}",
        per_session(before, memory_and_keys(&mut floor_con), n)
    );
    redis::cmd("FLUSHDB")
        .query::<()>(&mut floor_con)
        .expect("FLUSHDB");

    // The ceiling's copy: the same hashes, field for field, under its keys.
    let data_keys: Vec<String> = {
        let iter: redis::Iter<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter(&mut con)
            .expect("SCAN");
        // `<prefix>{bb}:<32 hex>`, not the expiry indexes.
        let mut v: Vec<String> = iter
            .map(|k| k.expect("a key"))
            .filter(|k| k.len() == prefix.len() + 37)
            .collect();
        v.sort();
        v
    };
    assert_eq!(data_keys.len(), n + threads, "one key per session");
    let mut keys = Vec::with_capacity(n);
    let mut field_bytes = 0usize;
    let mut field_count = 0usize;
    for chunk in data_keys.chunks(500) {
        let mut read = redis::pipe();
        for k in chunk {
            read.cmd("HGETALL").arg(k);
        }
        let hashes: Vec<Vec<Vec<u8>>> = read.query(&mut con).expect("HGETALL");
        let mut write = redis::pipe();
        for (k, flat) in chunk.iter().zip(&hashes) {
            // `<prefix>{bb}:<32 hex>`
            let rest = &k[prefix.len()..];
            let hex = &rest[5..];
            let member = (0..16)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
                .collect();
            let ceil_data = format!("{ceil_prefix}{rest}");
            write.cmd("HSET").arg(&ceil_data).arg(flat).ignore();
            field_bytes += flat.iter().map(Vec::len).sum::<usize>();
            field_count += flat.len() / 2;
            keys.push(Keys {
                data: k.clone(),
                exp: format!("{prefix}{}exp", &rest[..5]),
                member,
                ceil_lock: format!("{ceil_data}:l"),
                ceil_data,
            });
        }
        write.query::<()>(&mut con).expect("HSET");
    }
    println!(
        "  each libsess session: a hash of {:.0} fields, {:.0} bytes of names + values \
         (the ceiling reads a copy under its own keys)",
        field_count as f64 / keys.len() as f64,
        field_bytes as f64 / keys.len() as f64
    );
    let conns = (0..threads).map(|_| Mutex::new(connect(&url))).collect();
    let built = memory_and_keys(&mut con);
    Bench {
        app,
        ids,
        keys,
        conns,
        php,
        php_ids,
        scripts: Scripts::new(),
        lib_writes: AtomicU64::new(0),
        php_writes: AtomicU64::new(0),
        php_failures: AtomicU64::new(0),
        conflicts: AtomicU64::new(0),
        built,
    }
}

// ---------------------------------------------------------------------------
// Counting round trips.

/// A `MONITOR` connection: every command the server runs, with its source
/// (a client address, or `lua` for a command a script ran).
struct Monitor {
    reader: BufReader<TcpStream>,
}

impl Monitor {
    fn open(port: u16) -> Monitor {
        let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("monitor connect");
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        sock.write_all(b"MONITOR\r\n").expect("MONITOR");
        let mut reader = BufReader::new(sock);
        let mut line = String::new();
        reader.read_line(&mut line).expect("MONITOR reply");
        assert_eq!(line.trim_end(), "+OK", "MONITOR");
        Monitor { reader }
    }

    /// (source, command, first argument) of each line after the one
    /// echoing `begin` and before the one echoing `end`.
    fn between(&mut self, begin: &str, end: &str) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut inside = false;
        loop {
            let mut line = String::new();
            let got = self.reader.read_line(&mut line).expect("MONITOR line");
            assert!(got > 0, "MONITOR closed");
            // +1700000000.123456 [0 127.0.0.1:40882] "evalsha" "…" …
            let Some((src, rest)) = line.split_once(" [").and_then(|(_, r)| r.split_once("] "))
            else {
                continue;
            };
            let source = src.split_once(' ').map_or(src, |s| s.1).to_owned();
            let mut words = rest.trim_end().split("\" \"");
            let cmd = words
                .next()
                .unwrap_or("")
                .trim_matches('"')
                .to_ascii_lowercase();
            let arg = words.next().unwrap_or("").trim_matches('"').to_owned();
            if cmd == "echo" && arg == begin {
                inside = true;
            } else if cmd == "echo" && arg == end {
                return out;
            } else if inside {
                out.push((source, cmd, arg));
            }
        }
    }
}

/// Runs `f` `reqs` times and prints what reached the server per request;
/// returns the client-sent commands per request.
fn count_round_trips(
    bench: &Bench,
    port: u16,
    stats: &mut redis::Connection,
    what: &str,
    reqs: usize,
    f: &dyn Fn(usize),
) -> BTreeMap<String, f64> {
    static MARK: AtomicU64 = AtomicU64::new(0);
    let mark = MARK.fetch_add(1, Relaxed);
    let (begin, end) = (format!("bench-begin-{mark}"), format!("bench-end-{mark}"));
    let mut mon = Monitor::open(port);
    let before = command_stats(stats);
    let _: String = redis::cmd("ECHO").arg(&begin).query(stats).expect("ECHO");
    for i in 0..reqs {
        f(i);
    }
    let _: String = redis::cmd("ECHO").arg(&end).query(stats).expect("ECHO");
    let after = command_stats(stats);
    let lines = mon.between(&begin, &end);

    let mut sent: BTreeMap<String, u64> = BTreeMap::new();
    let mut in_scripts: BTreeMap<String, u64> = BTreeMap::new();
    for (source, cmd, arg) in &lines {
        if source == "lua" {
            *in_scripts.entry(cmd.clone()).or_default() += 1;
        } else {
            let name = if cmd == "evalsha" {
                format!("evalsha {}", bench.scripts.name_of(arg))
            } else {
                cmd.clone()
            };
            *sent.entry(name).or_default() += 1;
        }
    }
    // INFO commandstats counts both kinds; it must agree with MONITOR.
    let mut by_cmd: BTreeMap<String, u64> = BTreeMap::new();
    for (_, cmd, _) in &lines {
        *by_cmd.entry(cmd.clone()).or_default() += 1;
    }
    // Less the two ECHO markers (other clients' ECHOs count: phpredis
    // checks a persistent connection with one).
    let delta: BTreeMap<String, u64> = after
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "monitor"))
        .filter_map(|(name, (calls, _))| {
            let was = before.get(name).map_or(0, |b| b.0) + if name == "echo" { 2 } else { 0 };
            (*calls > was).then(|| (name.clone(), calls - was))
        })
        .collect();
    let agree = delta == by_cmd;
    let per = |m: &BTreeMap<String, u64>| -> String {
        m.iter()
            .map(|(k, v)| format!("{k} {}", fmt_per(*v, reqs)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
    println!("  {what} ({reqs} requests), per request:");
    println!(
        "    sent by the client ({} round trips): {}",
        fmt_per(total(&sent), reqs),
        per(&sent)
    );
    println!(
        "    run inside scripts ({} commands): {}",
        fmt_per(total(&in_scripts), reqs),
        per(&in_scripts)
    );
    println!(
        "    INFO commandstats delta ({} calls): {}{}",
        fmt_per(total(&delta), reqs),
        per(&delta),
        if agree {
            "  [= MONITOR, client + scripts]"
        } else {
            "  [DIFFERS from MONITOR]"
        }
    );
    assert!(
        agree,
        "commandstats and MONITOR disagree: {delta:?} vs {by_cmd:?}"
    );
    sent.into_iter()
        .map(|(k, v)| (k, v as f64 / reqs as f64))
        .collect()
}

fn fmt_per(v: u64, reqs: usize) -> String {
    let x = v as f64 / reqs as f64;
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

// ---------------------------------------------------------------------------
// Throughput rounds.

#[derive(Clone, Default)]
struct Sample {
    cycles: u64,
    /// INFO commandstats: microseconds per command name, this sample.
    usec: BTreeMap<String, u64>,
    per_sec: f64,
    client_us: f64,
    server_us: f64,
    script_us: f64,
    others_cores: f64,
    stolen_cores: f64,
    /// Keys and `used_memory` beyond what was built, at the sample's end.
    extra_keys: i64,
    extra_memory: i64,
}

fn measure(
    bench: &Bench,
    stats: &mut redis::Connection,
    kind: Kind,
    threads: usize,
    secs: f64,
    seed: u64,
) -> Sample {
    // The clients' CPU: this process's, and the PHP workers'.
    let client_cpu = || process_cpu() + bench.php_cpu();
    let (c0, s0, st0, (m0, steal0)) = (
        client_cpu(),
        server_cpu(stats),
        command_stats(stats),
        machine_cpu(),
    );
    let (cycles, wall) = bench.timed(kind, threads, secs, seed);
    let (c1, s1, st1, (m1, steal1)) = (
        client_cpu(),
        server_cpu(stats),
        command_stats(stats),
        machine_cpu(),
    );
    let (mem, keys) = memory_and_keys(stats);
    // Scripts run as EVALSHA, libsess's writing pair as FCALL (functions).
    let usec = |m: &BTreeMap<String, (u64, u64)>| {
        ["evalsha", "fcall"]
            .iter()
            .filter_map(|c| m.get(*c))
            .map(|x| x.1)
            .sum::<u64>()
    };
    let per = |x: f64| x * 1e6 / cycles.max(1) as f64;
    let usec_by_cmd = st1
        .iter()
        .filter_map(|(name, (_, us))| {
            let was = st0.get(name).map_or(0, |b| b.1);
            (*us > was && name != "info").then(|| (name.clone(), us - was))
        })
        .collect();
    Sample {
        cycles,
        usec: usec_by_cmd,
        per_sec: cycles as f64 / wall,
        client_us: per(c1 - c0),
        server_us: per(s1 - s0),
        script_us: (usec(&st1) - usec(&st0)) as f64 / cycles.max(1) as f64,
        others_cores: ((m1 - m0) - (c1 - c0) - (s1 - s0)).max(0.0) / wall,
        stolen_cores: (steal1 - steal0) / wall,
        extra_keys: keys - bench.built.1,
        extra_memory: mem - bench.built.0,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

// ---------------------------------------------------------------------------
// Lost updates on one hot session.

/// `threads` clients each run `per` increments of one session's count at
/// once: prints, and returns, the increments acknowledged, those refused,
/// and the updates lost (acknowledged but not in the final count).
fn hot_run(
    name: &str,
    threads: usize,
    per: usize,
    increment: impl Fn(usize) -> bool + Sync,
    final_count: impl FnOnce() -> i64,
) -> (u64, u64, i64) {
    let ok = AtomicU64::new(0);
    let refused = AtomicU64::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (ok, refused, increment) = (&ok, &refused, &increment);
            s.spawn(move || {
                for _ in 0..per {
                    let counter = if increment(t) { ok } else { refused };
                    counter.fetch_add(1, Relaxed);
                }
            });
        }
    });
    let secs = t0.elapsed().as_secs_f64();
    let (ok, refused) = (ok.into_inner(), refused.into_inner());
    let count = final_count();
    let lost = ok as i64 - count;
    println!(
        "  {name:<46} {ok:>6} acknowledged {refused:>6} refused  final count {count:>6}  \
         lost {lost:>6}  ({secs:.1} s)"
    );
    (ok, refused, lost)
}

/// Many clients incrementing one session: libsess, and PHP with and
/// without its lock. libsess must lose nothing.
fn hot_session(bench: &Bench, port: u16, threads: usize, per: usize, with_php: bool) {
    println!();
    println!(
        "lost updates: {threads} clients × {per} increments of one session's count, at once \
         (lost = acknowledged − final count)"
    );
    let id = lib_session(&bench.app);
    let id = id_str(&id);
    let (_, _, lost) = hot_run(
        "libsess",
        threads,
        per,
        |_| lib_increment(&bench.app, id).is_ok(),
        || {
            let s = bench
                .app
                .open_session(id, LockMode::Shared)
                .expect("the hot session");
            match s.get("count") {
                Some(Variant::I4(c)) => i64::from(*c),
                other => panic!("count is {other:?}"),
            }
        },
    );
    assert_eq!(lost, 0, "libsess lost an update");
    if !with_php {
        return;
    }
    let mut con = connect(&format!("redis://127.0.0.1:{port}/0"));
    for locking in [Locking::Patient, Locking::Defaults, Locking::Off] {
        let workers: Vec<Mutex<Worker>> = (0..threads)
            .map(|_| Mutex::new(Worker::start(port, locking)))
            .collect();
        let id = workers[0].lock().create();
        hot_run(
            locking.name(),
            threads,
            per,
            |t| workers[t].lock().write(&id).is_ok(),
            || php_peer::stored_count(&mut con, &id),
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--list") {
        return;
    }
    let quick = has("--test")
        || !has("--bench")
        || std::env::var("SESS_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let n: usize = env_num("SESS_BENCH_SESSIONS").unwrap_or(if quick { 1_000 } else { 10_000 });
    let rounds: usize = env_num("SESS_BENCH_ROUNDS").unwrap_or(if quick { 1 } else { 7 });
    let secs: f64 = env_num("SESS_BENCH_SECS").unwrap_or(if quick { 0.2 } else { 2.5 });
    let threads: usize = env_num("SESS_BENCH_THREADS").unwrap_or(DEFAULT_THREADS);
    let hot: usize = env_num("SESS_BENCH_HOT").unwrap_or(if quick { 20 } else { 250 });
    assert!(n >= 1 && rounds >= 1 && secs > 0.0 && threads >= 1);
    let only: Option<Vec<String>> = std::env::var("SESS_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect());
    let whatif = std::env::var("SESS_BENCH_WHATIF").is_ok_and(|v| v != "0" && !v.is_empty());
    let no_php = php_peer::unavailable();
    if let Some(why) = &no_php {
        println!("redis_cycle: PHP contenders skipped: {why}");
    }
    let runs = |k: &Kind| (no_php.is_none() || !k.is_php()) && (whatif || *k != Kind::NoSlideWrite);
    let kinds: Vec<Kind> = KINDS
        .into_iter()
        .filter(|k| match &only {
            Some(o) => o.iter().any(|x| x == k.name()),
            None => runs(k),
        })
        .collect();
    let counted: Vec<Kind> = KINDS
        .into_iter()
        .filter(|k| runs(k) || kinds.contains(k))
        .collect();

    let Some(server) = RedisServer::start() else {
        if quick {
            println!("redis_cycle: redis-server is not installed; skipped");
            return;
        }
        panic!("redis_cycle needs redis-server on the PATH");
    };
    let version = info(&mut connect(&server.url()), "server")
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:").map(str::to_owned))
        .unwrap_or_default();
    println!(
        "redis_cycle: private redis-server {version} on 127.0.0.1:{} (no persistence); \
         {n} sessions, {threads} client threads, {} CPUs{}",
        server.port,
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        if quick { "; quick mode" } else { "" }
    );

    let bench = build(server.port, n, threads, quick, no_php.is_none());
    let mut stats = connect(&format!("redis://127.0.0.1:{}/1", server.port));

    // Warm up: connections opened, scripts loaded, count known.
    for t in 0..threads {
        for &kind in &counted {
            bench.with_client(kind, t, |mut via| {
                for i in 0..3 {
                    bench.cycle(kind, via.again(), "bench-warm-up", t + i);
                }
            });
        }
    }
    for &kind in &kinds {
        bench.timed(kind, threads, if quick { 0.05 } else { 0.5 }, 1);
    }

    println!();
    println!("round trips (MONITOR: commands sent by clients vs run by scripts [lua]):");
    let reqs = if quick { 20 } else { 100 };
    let mut rt = BTreeMap::new();
    for &kind in &counted {
        let sent = count_round_trips(&bench, server.port, &mut stats, kind.name(), reqs, &|i| {
            let i = i * 7919 % bench.ids.len();
            bench.with_client(kind, 0, |via| bench.cycle(kind, via, "bench-count", i));
        });
        // libsess refreshes its estimate of the server's clock with one
        // TIME every 10 s per process: not a round trip of a request.
        let per_request = sent.iter().filter(|(cmd, _)| *cmd != "time");
        rt.insert(kind.name(), per_request.map(|(_, n)| n).sum::<f64>());
    }
    assert_eq!(rt["libsess-read"], 1.0, "a read-only request: 1 round trip");
    assert_eq!(rt["libsess-write"], 2.0, "a writing request: 2 round trips");

    println!();
    println!(
        "throughput: {threads} threads, {rounds} round(s) of {secs} s per contender, \
         order rotated each round"
    );
    println!(
        "  {:<16} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "round/kind", "cycles/s", "client µs", "server µs", "script µs", "others", "stolen"
    );
    let mut samples: BTreeMap<&'static str, Vec<Sample>> = BTreeMap::new();
    for r in 0..rounds {
        let mut order = kinds.clone();
        order.rotate_left(r % kinds.len().max(1));
        for kind in order {
            let s = measure(&bench, &mut stats, kind, threads, secs, 1000 + r as u64);
            println!(
                "  {:<16} {:>10.0} {:>10.1} {:>10.1} {:>10.1} {:>8.2} {:>8.2}",
                format!("{} {}", r + 1, kind.name()),
                s.per_sec,
                s.client_us,
                s.server_us,
                s.script_us,
                s.others_cores,
                s.stolen_cores
            );
            samples.entry(kind.name()).or_default().push(s.clone());
        }
    }
    println!("  client/server µs: CPU per cycle (this process and the PHP workers; redis-server:");
    println!(
        "  INFO cpu); script µs: EVALSHA and FCALL time inside redis per cycle; others/stolen:"
    );
    println!("  cores used by other processes / stolen by the hypervisor meanwhile.");

    println!();
    println!("summary (medians over rounds; {threads} threads):");
    println!(
        "  {:<14} {:>10} {:>11} {:>10} {:>10} {:>10} {:>12}",
        "contender",
        "cycles/s",
        "round trips",
        "client µs",
        "server µs",
        "script µs",
        "CPU µs/cycle"
    );
    let med = |k: &str, f: fn(&Sample) -> f64| -> f64 {
        median(
            samples
                .get(k)
                .map_or(Vec::new(), |v| v.iter().map(f).collect()),
        )
    };
    for kind in &kinds {
        let k = kind.name();
        let (c, s) = (med(k, |s| s.client_us), med(k, |s| s.server_us));
        println!(
            "  {:<14} {:>10.0} {:>11} {:>10.1} {:>10.1} {:>10.1} {:>12.1}",
            k,
            med(k, |s| s.per_sec),
            rt.get(k).map_or(String::new(), |x| format!("{x}")),
            c,
            s,
            med(k, |s| s.script_us),
            c + s,
        );
    }
    for (lib, other, label) in [
        ("libsess-write", "ceiling-write", "writing"),
        ("libsess-read", "ceiling-read", "read-only"),
        ("libsess-write", "php-write", "writing, vs PHP"),
        ("libsess-read", "php-read", "read-only, vs PHP"),
        (
            "libsess-write",
            "raw+lib-write",
            "writing, vs libsess's scripts run raw",
        ),
        (
            "libsess-read",
            "raw+lib-read",
            "read-only, vs libsess's read run raw",
        ),
        (
            "raw+lib-write",
            "noslide-write",
            "what-if: the save without the expiry slide",
        ),
    ] {
        let (Some(a), Some(b)) = (samples.get(lib), samples.get(other)) else {
            continue;
        };
        let ratios: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(x, y)| x.per_sec / y.per_sec)
            .collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)));
        let cpu = |v: &Vec<Sample>| median(v.iter().map(|s| s.client_us + s.server_us).collect());
        let server = |v: &Vec<Sample>| median(v.iter().map(|s| s.server_us).collect());
        println!(
            "  {lib} ÷ {other} ({label}): throughput {:.2}× (median of per-round ratios; \
             range {lo:.2}–{hi:.2}); CPU-per-cycle ratio {:.2}×, server-CPU ratio {:.2}×",
            median(ratios),
            cpu(b) / cpu(a),
            server(b) / server(a)
        );
    }
    println!(
        "  raw contenders' lock conflicts (retried after 1 ms): {}",
        bench.conflicts.load(Relaxed)
    );
    if let Some(v) = samples.get(Kind::LibWrite.name()) {
        let worst = v.iter().max_by_key(|s| s.extra_keys).expect("a sample");
        println!(
            "  left behind by libsess-write traffic (at a sample's end, most): {} keys, \
             {:.0} kB of used_memory beyond the built data",
            worst.extra_keys,
            worst.extra_memory as f64 / 1e3
        );
    }

    println!();
    println!("server time per cycle by command (INFO commandstats usec, all rounds; µs):");
    for kind in &kinds {
        let Some(v) = samples.get(kind.name()) else {
            continue;
        };
        let cycles = v.iter().map(|s| s.cycles).sum::<u64>().max(1) as f64;
        let mut total: BTreeMap<&str, u64> = BTreeMap::new();
        for s in v {
            for (name, us) in &s.usec {
                *total.entry(name.as_str()).or_default() += us;
            }
        }
        let eval = (total.remove("evalsha").unwrap_or(0) + total.remove("fcall").unwrap_or(0))
            as f64
            / cycles;
        let all: f64 = total.values().sum::<u64>() as f64 / cycles;
        let mut parts: Vec<(&str, u64)> = total.into_iter().collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        // Where the client sends only EVALSHA and FCALL, the rest of their
        // time is Lua.
        let lua = if eval > 0.0 && !kind.is_php() {
            format!(" = commands + Lua and script calls {:.1}", eval - all)
        } else {
            String::new()
        };
        println!(
            "  {:<14} EVALSHA+FCALL {eval:.1}{lua}; commands {all:.1} ({})",
            kind.name(),
            parts
                .iter()
                .map(|(n, us)| format!("{n} {:.1}", *us as f64 / cycles))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    println!("  (commands: each command's own time, those scripts ran included)");

    // No lost update: every libsess write is in the counts.
    let total: i64 = bench
        .ids
        .iter()
        .map(|id| {
            let s = bench
                .app
                .open_session(id_str(id), LockMode::Shared)
                .expect("a resident session");
            let c = match s.get("count") {
                Some(Variant::I4(c)) => i64::from(*c),
                other => panic!("count is {other:?}"),
            };
            s.close().expect("close");
            c
        })
        .sum();
    let writes = bench.lib_writes.load(Relaxed);
    println!();
    println!("check: sum of the sessions' counts {total} = libsess writing cycles {writes}");
    assert_eq!(total, writes as i64, "an update was lost");
    if !bench.php.is_empty() {
        let mut con = connect(&server.url());
        let total: i64 = bench
            .php_ids
            .iter()
            .map(|id| php_peer::stored_count(&mut con, id))
            .sum();
        println!(
            "       PHP: sum of the sessions' counts {total}, PHP writing cycles acknowledged {} \
             (lost {}), PHP requests refused {}",
            bench.php_writes.load(Relaxed),
            bench.php_writes.load(Relaxed) as i64 - total,
            bench.php_failures.load(Relaxed)
        );
    }
    hot_session(&bench, server.port, threads, hot, !bench.php.is_empty());
    drop(bench);
    drop(server);
}
