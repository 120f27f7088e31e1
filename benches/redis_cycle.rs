//! The Redis-mode request cycle: libsess against a raw ceiling, in one run,
//! on a private `redis-server` this bench starts (and kills) on a free
//! loopback port. It never touches 127.0.0.1:6379.
//!
//! 1. **Round trips per request, counted.** With `MONITOR` open (it tells
//!    the commands a client sent from those a Lua script ran, `[0 lua]`)
//!    and `INFO commandstats` read before and after (which counts both
//!    alike), each request kind runs a number of times on one thread; the
//!    bench prints the commands sent per request and those run inside
//!    scripts, checks that the two sources agree, and asserts libsess's
//!    1 (read-only) and 2 (writing) round trips.
//! 2. **Throughput at 8 client threads** over N resident sessions (10,000;
//!    each "user" 16-char BSTR, "count" I4, "cart" R8), uniformly random
//!    IDs, for:
//!    - `libsess-write`: `App` on `StoreConfig::Redis` (pool of 8, no
//!      expiry thread): open exclusive → 3 gets → set count + 1 → close;
//!    - `ceiling-write`: the `redis` crate directly, one connection per
//!      thread, on a copy of the same hashes: EVALSHA (SET NX PX lock +
//!      HGETALL), then EVALSHA (owner check, HSET one field, DEL the lock);
//!    - `libsess-read`: open shared → 3 gets → close;
//!    - `ceiling-read`: EVALSHA HGETALL;
//!    - diagnostics `raw+lib-write` / `raw+lib-read`: the raw client of the
//!      ceiling running libsess's own scripts (acquire.lua + save.lua,
//!      shared.lua) with the arguments libsess passes, which splits the gap
//!      into server-side script work and client-side library work.
//!
//!    Each round runs every contender for a fixed time, in a rotated order;
//!    the summary gives medians over rounds and the median of the per-round
//!    libsess ÷ ceiling ratios, plus CPU per cycle: this process (getrusage)
//!    and the server (`INFO cpu`), and the CPU others used meanwhile
//!    (/proc/stat), since the server and the clients share the machine;
//!    and the server's time per cycle by command (`INFO commandstats`
//!    usec: EVALSHA = the commands the scripts ran + Lua and call overhead).
//! 3. **Check**: the sum of every session's "count" equals the libsess
//!    writing cycles run (no lost update).
//!
//! `cargo bench --bench redis_cycle` runs it (about 2 minutes);
//! `cargo bench --bench redis_cycle -- --test`, `SESS_BENCH_QUICK=1` or a
//! run without `--bench` (`cargo test --all-targets`) is a quick sanity run
//! (1,000 sessions, one short round). Overrides: `SESS_BENCH_SESSIONS`,
//! `SESS_BENCH_ROUNDS`, `SESS_BENCH_SECS` (per contender per round),
//! `SESS_BENCH_THREADS`, `SESS_BENCH_ONLY` (comma-separated contender names,
//! e.g. `libsess-write`, for profiling). `SESS_BENCH_WHATIF=1` adds
//! `lean-write` / `lean-read`: the raw client running leaner versions of
//! libsess's scripts (same arguments, replies and data; fewer commands), to
//! show what trimming the scripts would buy.

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

use redis_server::RedisServer;

/// The 16-character string stored under "user" (as in request_cycle.rs).
const USER: &str = "user@example.com";
const DEFAULT_THREADS: usize = 8;
/// Lock TTL and grace the raw contenders pass (libsess's defaults).
const LOCK_TTL_MS: u64 = 120_000;
const GRACE_MS: u64 = 600_000;
/// libsess's default tombstone: retry_budget (3 s) + op_timeout (1 s).
const TOMBSTONE_MS: u64 = 4_000;
/// libsess's default expiry_refresh_interval.
const REFRESH_MS: u64 = 60_000;
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

macro_rules! lib_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("../src/store/redis/scripts/common.lua"),
            include_str!(concat!("../src/store/redis/scripts/", $file))
        ))
    };
}

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

/// What-if (`SESS_BENCH_WHATIF=1`): acquire.lua with fewer commands, same
/// arguments and replies, same data. Not-found comes from an empty HGETALL
/// (no EXISTS); no HMGET; no slide at acquire (the save slides anyway, and
/// the data outlives a held lock: grace > lock_ttl). 4 commands, not 8.
const LEAN_ACQUIRE: &str = "\
local v = redis.call('GET', KEYS[2])
if v and v ~= ARGV[2] and string.sub(v, 1, 2) ~= 'd:' then
  return {2}
end
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {0}
end
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[4]) then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {3, fields}
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return {1, fields}";

/// What-if: save.lua with PEXPIRE's reply as the existence test (no
/// EXISTS). 5 commands, not 6.
const LEAN_SAVE: &str = "\
local v = redis.call('GET', KEYS[2])
if v == 'd:' .. ARGV[2] then
  return 1
end
if v ~= ARGV[2] then
  return -1
end
if redis.call('PEXPIRE', KEYS[1], ARGV[4]) == 0 then
  redis.call('DEL', KEYS[2])
  return -2
end
local last = 6 + 2 * tonumber(ARGV[6])
if last >= 7 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 7, last))
end
if #ARGV > last then
  redis.call('HDEL', KEYS[1], unpack(ARGV, last + 1, #ARGV))
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('SET', KEYS[2], 'd:' .. ARGV[2], 'PX', ARGV[5])
return 1";

/// What-if: shared.lua reading `t` and `a` from the HGETALL reply (no
/// EXISTS, no HMGET). 3 commands, not 5 (plus the throttled slide).
const LEAN_SHARED: &str = "\
local v = redis.call('GET', KEYS[2])
if v and string.sub(v, 1, 2) ~= 'd:' then
  return {2}
end
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  return {0}
end
local now = tonumber(ARGV[2])
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if score and tonumber(score) <= now then
  return {3}
end
local t, a
for i = 1, #fields, 2 do
  if fields[i] == 't' then t = tonumber(fields[i + 1]) end
  if fields[i] == 'a' then a = tonumber(fields[i + 1]) end
end
if t and t >= 1 then
  local d = now + t * 60000
  if a and a > 0 and a < d then d = a end
  if not score or d - tonumber(score) >= tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[3], string.format('%d', d), ARGV[1])
    redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(1, d - now + tonumber(ARGV[3]))))
  end
end
return {1, fields}";

struct Scripts {
    ceil_load: Script,
    ceil_save: Script,
    ceil_read: Script,
    lib_acquire: Script,
    lib_save: Script,
    lib_shared: Script,
    lean_acquire: Script,
    lean_save: Script,
    lean_shared: Script,
    /// SHA-1 → name, libsess's other scripts included.
    names: Vec<(String, &'static str)>,
}

impl Scripts {
    fn new() -> Scripts {
        let s = Scripts {
            ceil_load: Script::new(CEIL_LOAD),
            ceil_save: Script::new(CEIL_SAVE),
            ceil_read: Script::new(CEIL_READ),
            lib_acquire: lib_script!("acquire.lua"),
            lib_save: lib_script!("save.lua"),
            lib_shared: lib_script!("shared.lua"),
            lean_acquire: Script::new(LEAN_ACQUIRE),
            lean_save: Script::new(LEAN_SAVE),
            lean_shared: Script::new(LEAN_SHARED),
            names: Vec::new(),
        };
        let mut names: Vec<(String, &'static str)> = vec![
            (s.ceil_load.get_hash().into(), "ceiling load"),
            (s.ceil_save.get_hash().into(), "ceiling save"),
            (s.ceil_read.get_hash().into(), "ceiling read"),
            (s.lib_acquire.get_hash().into(), "acquire.lua"),
            (s.lib_save.get_hash().into(), "save.lua"),
            (s.lib_shared.get_hash().into(), "shared.lua"),
            (s.lean_acquire.get_hash().into(), "lean acquire"),
            (s.lean_save.get_hash().into(), "lean save"),
            (s.lean_shared.get_hash().into(), "lean shared"),
        ];
        for (script, name) in [
            (lib_script!("create.lua"), "create.lua"),
            (lib_script!("release.lua"), "release.lua"),
            (lib_script!("count.lua"), "count.lua"),
        ] {
            names.push((script.get_hash().into(), name));
        }
        Scripts { names, ..s }
    }

    fn name_of(&self, sha: &str) -> &'static str {
        self.names
            .iter()
            .find(|(h, _)| h == sha)
            .map_or("?", |(_, n)| n)
    }
}

// ---------------------------------------------------------------------------
// The workload.

/// One session's keys: libsess's (for the raw+lib contenders) and the
/// ceiling's copy.
struct Keys {
    data: String,
    lock: String,
    exp: String,
    member: String,
    ceil_data: String,
    ceil_lock: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    LibWrite,
    CeilWrite,
    RawWrite,
    LibRead,
    CeilRead,
    RawRead,
    LeanWrite,
    LeanRead,
}

const KINDS: [Kind; 8] = [
    Kind::LibWrite,
    Kind::CeilWrite,
    Kind::RawWrite,
    Kind::LibRead,
    Kind::CeilRead,
    Kind::RawRead,
    Kind::LeanWrite,
    Kind::LeanRead,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::LibWrite => "libsess-write",
            Kind::CeilWrite => "ceiling-write",
            Kind::RawWrite => "raw+lib-write",
            Kind::LibRead => "libsess-read",
            Kind::CeilRead => "ceiling-read",
            Kind::RawRead => "raw+lib-read",
            Kind::LeanWrite => "lean-write",
            Kind::LeanRead => "lean-read",
        }
    }
}

struct Bench {
    app: App,
    ids: Vec<IdText>,
    keys: Vec<Keys>,
    /// One connection per worker thread for the raw contenders.
    conns: Vec<Mutex<redis::Connection>>,
    scripts: Scripts,
    /// libsess writing cycles completed (to check the counts at the end).
    lib_writes: AtomicU64,
    /// Raw contenders' retries after finding a session locked.
    conflicts: AtomicU64,
}

/// The `i:count` field's bytes in a flat HGETALL reply.
fn count_field(flat: &[Value]) -> Vec<u8> {
    flat.chunks_exact(2)
        .find_map(|p| match (&p[0], &p[1]) {
            (Value::BulkString(n), Value::BulkString(v)) if n == b"i:count" => Some(v.clone()),
            _ => None,
        })
        .expect("an i:count field")
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

impl Bench {
    fn lib_write(&self, i: usize) {
        let mut s = self
            .app
            .open_session(id_str(&self.ids[i]), LockMode::Exclusive)
            .expect("a resident session");
        black_box(s.get("user"));
        let count = match s.get("count") {
            Some(Variant::I4(c)) => *c,
            other => panic!("count is {other:?}"),
        };
        black_box(s.get("cart"));
        s.set("count", Variant::I4(count + 1)).expect("set");
        s.close().expect("close");
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
            .arg("i:count")
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
    /// back the count it read (so the counts stay libsess's).
    fn raw_write(&self, con: &mut redis::Connection, token: &str, i: usize, lean: bool) {
        let (acquire, save) = if lean {
            (&self.scripts.lean_acquire, &self.scripts.lean_save)
        } else {
            (&self.scripts.lib_acquire, &self.scripts.lib_save)
        };
        let k = &self.keys[i];
        let now = now_ms();
        let fields = loop {
            let v: Value = acquire
                .key(&k.data)
                .key(&k.lock)
                .key(&k.exp)
                .arg(&k.member)
                .arg(token)
                .arg(LOCK_TTL_MS)
                .arg(now)
                .arg(GRACE_MS)
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
        let saved: i64 = save
            .key(&k.data)
            .key(&k.lock)
            .key(&k.exp)
            .arg(&k.member)
            .arg(token)
            .arg(deadline)
            .arg(deadline - now + GRACE_MS)
            .arg(TOMBSTONE_MS)
            .arg(1)
            .arg("i:count")
            .arg(count)
            .invoke(con)
            .expect("save.lua");
        assert_eq!(saved, 1, "save.lua refused");
    }

    fn raw_read(&self, con: &mut redis::Connection, i: usize, lean: bool) {
        let shared = if lean {
            &self.scripts.lean_shared
        } else {
            &self.scripts.lib_shared
        };
        let k = &self.keys[i];
        loop {
            let v: Value = shared
                .key(&k.data)
                .key(&k.lock)
                .key(&k.exp)
                .arg(&k.member)
                .arg(now_ms())
                .arg(GRACE_MS)
                .arg(REFRESH_MS)
                .invoke(con)
                .expect("shared.lua");
            match status(v) {
                (1, f) => {
                    black_box(f);
                    return;
                }
                (2, _) => self.locked(),
                (s, _) => panic!("shared.lua status {s}"),
            }
        }
    }

    /// A raw contender found the session locked: pause as libsess's first
    /// poll does.
    fn locked(&self) {
        self.conflicts.fetch_add(1, Relaxed);
        std::thread::sleep(Duration::from_millis(1));
    }

    /// One request of `kind` on session `i` (`con`: the raw contenders'
    /// connection; `token`: their lock token).
    fn cycle(&self, kind: Kind, con: Option<&mut redis::Connection>, token: &str, i: usize) {
        match (kind, con) {
            (Kind::LibWrite, _) => self.lib_write(i),
            (Kind::LibRead, _) => self.lib_read(i),
            (Kind::CeilWrite, Some(c)) => self.ceil_write(c, token, i),
            (Kind::CeilRead, Some(c)) => self.ceil_read(c, i),
            (Kind::RawWrite, Some(c)) => self.raw_write(c, token, i, false),
            (Kind::RawRead, Some(c)) => self.raw_read(c, i, false),
            (Kind::LeanWrite, Some(c)) => self.raw_write(c, token, i, true),
            (Kind::LeanRead, Some(c)) => self.raw_read(c, i, true),
            (k, None) => panic!("{k:?} needs a connection"),
        }
    }

    fn is_raw(kind: Kind) -> bool {
        !matches!(kind, Kind::LibWrite | Kind::LibRead)
    }

    /// Runs `kind` on `threads` workers for `secs`; cycles and wall seconds.
    fn timed(&self, kind: Kind, threads: usize, secs: f64, seed: u64) -> (u64, f64) {
        let n = self.ids.len().min(self.keys.len());
        let stop = AtomicBool::new(false);
        let barrier = Barrier::new(threads + 1);
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (stop, barrier) = (&stop, &barrier);
                    s.spawn(move || {
                        let mut rng = StdRng::seed_from_u64(seed ^ ((t as u64) << 32));
                        let mut guard = Bench::is_raw(kind).then(|| self.conns[t].lock());
                        let token = format!("bench-worker-{t}-{seed}");
                        let mut cycles = 0u64;
                        barrier.wait();
                        while !stop.load(Relaxed) {
                            let i = rng.random_range(0..n);
                            self.cycle(kind, guard.as_deref_mut(), &token, i);
                            cycles += 1;
                        }
                        (cycles, Instant::now())
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

fn build(url: &str, n: usize, threads: usize) -> Bench {
    let prefix = format!("bench:{}:{}:", std::process::id(), now_ms() % 1_000_000_000);
    let ceil_prefix = format!("ceil:{}:", std::process::id());
    let app = App::new(AppOptions {
        expiry_interval: None,
        store: StoreConfig::Redis(RedisOptions {
            url: url.into(),
            key_prefix: prefix.clone(),
            pool_size: threads.max(8),
            ..RedisOptions::default()
        }),
        ..AppOptions::default()
    })
    .expect("app");
    let t0 = Instant::now();
    let ids: Vec<IdText> = std::thread::scope(|s| {
        let per = n.div_ceil(threads);
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let app = &app;
                s.spawn(move || {
                    let count = per.min(n.saturating_sub(t * per));
                    (0..count)
                        .map(|_| {
                            let mut s = app.create_session().expect("create");
                            s.set("user", Variant::bstr(USER)).expect("set");
                            s.set("count", Variant::I4(0)).expect("set");
                            s.set("cart", Variant::R8(19.99)).expect("set");
                            let mut text = [0u8; ID_LEN];
                            text.copy_from_slice(s.id().encode().as_str().as_bytes());
                            s.close().expect("close");
                            text
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("builder"))
            .collect()
    });
    assert_eq!(ids.len(), n);
    println!(
        "built {n} sessions through libsess in {:.1} s ({threads} threads)",
        t0.elapsed().as_secs_f64()
    );

    // The ceiling's copy: the same hashes, field for field, under its keys.
    let mut con = connect(url);
    let data_keys: Vec<String> = {
        let iter: redis::Iter<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(format!("{prefix}*:d"))
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter(&mut con)
            .expect("SCAN");
        let mut v: Vec<String> = iter.map(|k| k.expect("a key")).collect();
        v.sort();
        v
    };
    assert_eq!(data_keys.len(), n, "one data hash per session");
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
            // `<prefix>{bb}:<32 hex>:d`
            let rest = &k[prefix.len()..];
            let member = rest[5..37].to_owned();
            let ceil_data = format!("{ceil_prefix}{rest}");
            let ceil_lock = format!("{}:l", &ceil_data[..ceil_data.len() - 2]);
            write.cmd("HSET").arg(&ceil_data).arg(flat).ignore();
            field_bytes += flat.iter().map(Vec::len).sum::<usize>();
            field_count += flat.len() / 2;
            keys.push(Keys {
                data: k.clone(),
                lock: format!("{}:l", &k[..k.len() - 2]),
                exp: format!("{prefix}{}exp", &rest[..5]),
                member,
                ceil_data,
                ceil_lock,
            });
        }
        write.query::<()>(&mut con).expect("HSET");
    }
    println!(
        "  each session: a hash of {:.0} fields, {:.0} bytes of names + values \
         (the ceiling reads a copy under its own keys)",
        field_count as f64 / n as f64,
        field_bytes as f64 / n as f64
    );
    let conns = (0..threads).map(|_| Mutex::new(connect(url))).collect();
    Bench {
        app,
        ids,
        keys,
        conns,
        scripts: Scripts::new(),
        lib_writes: AtomicU64::new(0),
        conflicts: AtomicU64::new(0),
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
    let delta: BTreeMap<String, u64> = after
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "echo" | "monitor"))
        .filter_map(|(name, (calls, _))| {
            let was = before.get(name).map_or(0, |b| b.0);
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
}

fn measure(
    bench: &Bench,
    stats: &mut redis::Connection,
    kind: Kind,
    threads: usize,
    secs: f64,
    seed: u64,
) -> Sample {
    let (c0, s0, st0, (m0, steal0)) = (
        process_cpu(),
        server_cpu(stats),
        command_stats(stats),
        machine_cpu(),
    );
    let (cycles, wall) = bench.timed(kind, threads, secs, seed);
    let (c1, s1, st1, (m1, steal1)) = (
        process_cpu(),
        server_cpu(stats),
        command_stats(stats),
        machine_cpu(),
    );
    let usec = |m: &BTreeMap<String, (u64, u64)>| m.get("evalsha").map_or(0, |x| x.1);
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
    assert!(n >= 1 && rounds >= 1 && secs > 0.0 && threads >= 1);
    let only: Option<Vec<String>> = std::env::var("SESS_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect());
    let whatif = std::env::var("SESS_BENCH_WHATIF").is_ok_and(|v| v != "0" && !v.is_empty());
    let is_lean = |k: &Kind| matches!(k, Kind::LeanWrite | Kind::LeanRead);
    let kinds: Vec<Kind> = KINDS
        .into_iter()
        .filter(|k| match &only {
            Some(o) => o.iter().any(|x| x == k.name()),
            None => whatif || !is_lean(k),
        })
        .collect();
    let counted: Vec<Kind> = KINDS
        .into_iter()
        .filter(|k| whatif || !is_lean(k) || kinds.contains(k))
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

    let bench = build(&server.url(), n, threads);
    let mut stats = connect(&server.url());

    // Warm up: connections opened, scripts loaded, count known.
    for (t, con) in bench.conns.iter().enumerate() {
        for kind in KINDS {
            let mut con = Bench::is_raw(kind).then(|| con.lock());
            for i in 0..3 {
                bench.cycle(kind, con.as_deref_mut(), "bench-warm-up", t + i);
            }
        }
    }
    for &kind in &kinds {
        bench.timed(kind, threads, if quick { 0.05 } else { 0.5 }, 1);
    }

    println!();
    println!("round trips (MONITOR: commands sent by clients vs run by scripts [lua]):");
    let reqs = if quick { 20 } else { 100 };
    let mut rt = BTreeMap::new();
    {
        let con = bench.conns[0].lock();
        let con = std::cell::RefCell::new(con);
        let token = "bench-count";
        for &kind in &counted {
            let sent =
                count_round_trips(&bench, server.port, &mut stats, kind.name(), reqs, &|i| {
                    let i = i * 7919 % bench.ids.len();
                    if Bench::is_raw(kind) {
                        let mut g = con.borrow_mut();
                        bench.cycle(kind, Some(&mut **g), token, i);
                    } else {
                        bench.cycle(kind, None, token, i);
                    }
                });
            rt.insert(kind.name(), sent.values().sum::<f64>());
        }
    }
    assert_eq!(rt["libsess-read"], 1.0, "a read-only request: 1 round trip");
    assert_eq!(rt["libsess-write"], 2.0, "a writing request: 2 round trips");

    println!();
    println!(
        "throughput: {threads} threads, {rounds} round(s) of {secs} s per contender, \
         order rotated each round"
    );
    println!(
        "  {:<14} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "round/kind", "cycles/s", "client µs", "server µs", "script µs", "others", "stolen"
    );
    let mut samples: BTreeMap<&'static str, Vec<Sample>> = BTreeMap::new();
    for r in 0..rounds {
        let mut order = kinds.clone();
        order.rotate_left(r % kinds.len().max(1));
        for kind in order {
            let s = measure(&bench, &mut stats, kind, threads, secs, 1000 + r as u64);
            println!(
                "  {:<14} {:>10.0} {:>10.1} {:>10.1} {:>10.1} {:>8.2} {:>8.2}",
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
    println!("  client/server µs: CPU per cycle (this process: getrusage; redis-server:");
    println!("  INFO cpu); script µs: EVALSHA time inside redis per cycle; others/stolen:");
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
            med(k, |s| s.client_us + s.server_us),
        );
    }
    for (lib, ceil, label) in [
        ("libsess-write", "ceiling-write", "writing"),
        ("libsess-read", "ceiling-read", "read-only"),
        (
            "libsess-write",
            "raw+lib-write",
            "writing, vs libsess's scripts run raw",
        ),
        (
            "libsess-read",
            "raw+lib-read",
            "read-only, vs libsess's scripts run raw",
        ),
        (
            "lean-write",
            "ceiling-write",
            "what-if: leaner scripts, raw client",
        ),
        (
            "lean-read",
            "ceiling-read",
            "what-if: leaner scripts, raw client",
        ),
    ] {
        let (Some(a), Some(b)) = (samples.get(lib), samples.get(ceil)) else {
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
        println!(
            "  {lib} ÷ {ceil} ({label}): throughput {:.2}× (median of per-round ratios; \
             range {lo:.2}–{hi:.2}); CPU-per-cycle ratio {:.2}×",
            median(ratios),
            cpu(b) / cpu(a)
        );
    }
    println!(
        "  raw contenders' lock conflicts (retried after 1 ms): {}",
        bench.conflicts.load(Relaxed)
    );

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
        let eval = total.remove("evalsha").unwrap_or(0) as f64 / cycles;
        let inside: f64 = total.values().sum::<u64>() as f64 / cycles;
        let mut parts: Vec<(&str, u64)> = total.into_iter().collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        println!(
            "  {:<14} EVALSHA {eval:.1} = commands {inside:.1} ({}) + Lua and script calls {:.1}",
            kind.name(),
            parts
                .iter()
                .map(|(n, us)| format!("{n} {:.1}", *us as f64 / cycles))
                .collect::<Vec<_>>()
                .join(", "),
            eval - inside
        );
    }

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
    drop(bench);
    drop(server);
}
