//! PHP's native sessions on phpredis, as a peer in the Redis benchmarks:
//! long-running `php` CLI workers (`php_session_worker.php`), each driven
//! over a pipe by one bench thread, one request per line, so process
//! start-up is not measured. Needs Debian's `php-cli` and `php-redis`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The worker script, next to this file.
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/common/php_session_worker.php"
);

/// How a worker's sessions lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locking {
    /// `redis.session.locking_enabled=1`, a waiter retrying every 2 ms for
    /// up to 2 s (`lock_retries=1000`, `lock_wait_time=2000` µs).
    Patient,
    /// Locking with phpredis's default retries: 10 × 2 ms, after which the
    /// request goes on without the lock (and its write is dropped).
    Defaults,
    /// `redis.session.locking_enabled=0`.
    Off,
}

impl Locking {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Locking::Patient => "php (locking, waits up to 2 s)",
            Locking::Defaults => "php (locking, phpredis's default 10 retries)",
            Locking::Off => "php (no locking)",
        }
    }
}

/// Why PHP sessions on phpredis cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    match Command::new("php").arg("-m").output() {
        Err(e) => Some(format!("php is not installed ({e})")),
        Ok(out)
            if !String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l == "redis") =>
        {
            Some("php has no redis extension (apt-get install php-redis)".into())
        }
        Ok(_) => None,
    }
}

/// One `php` worker process.
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Worker {
    /// Starts a worker whose sessions live in database 0 of the server on
    /// loopback `port` (a persistent connection, as PHP-FPM pools use).
    pub fn start(port: u16, locking: Locking) -> Worker {
        let mut cmd = Command::new("php");
        let mut set = |k: &str, v: &str| {
            cmd.arg("-d").arg(format!("{k}={v}"));
        };
        set("session.save_handler", "redis");
        set(
            "session.save_path",
            &format!("\"tcp://127.0.0.1:{port}?persistent=1\""),
        );
        set("session.use_strict_mode", "1");
        set("session.lazy_write", "1");
        set(
            "redis.session.locking_enabled",
            if locking == Locking::Off { "0" } else { "1" },
        );
        set("redis.session.lock_expire", "10");
        if locking == Locking::Patient {
            set("redis.session.lock_retries", "1000");
            set("redis.session.lock_wait_time", "2000");
        }
        let mut child = cmd
            .arg(SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("php");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Worker {
            child,
            stdin,
            stdout,
            line: String::new(),
        }
    }

    /// Sends one request line; its one-line answer.
    pub fn call(&mut self, request: &str) -> &str {
        writeln!(self.stdin, "{request}").expect("write to php");
        self.stdin.flush().expect("flush to php");
        self.line.clear();
        let n = self
            .stdout
            .read_line(&mut self.line)
            .expect("read from php");
        assert!(n > 0, "the php worker exited");
        self.line.trim_end()
    }

    /// Creates a session holding the three items; its ID.
    pub fn create(&mut self) -> String {
        let id = self.call("c").to_owned();
        assert!(!id.is_empty() && !id.starts_with("E "), "php: {id}");
        id
    }

    /// A writing request (count + 1): the count it wrote, or why it failed.
    pub fn write(&mut self, id: &str) -> Result<i64, String> {
        let answer = self.call(&format!("w {id}"));
        answer.parse().map_err(|_| answer.to_owned())
    }

    /// A read-only request; why it failed, if it did.
    pub fn read(&mut self, id: &str) -> Result<(), String> {
        match self.call(&format!("r {id}")) {
            "ok" => Ok(()),
            other => Err(other.to_owned()),
        }
    }

    /// The CPU seconds (user + system) the worker has used.
    pub fn cpu_seconds(&self) -> f64 {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which ends with ')'): utime, stime
        // are the 12th and 13th.
        let after = stat.rsplit_once(')').map_or("", |p| p.1);
        let f: Vec<f64> = after
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / hz
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "q");
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The count PHP stored in session `id`'s serialised data
/// (`…count|i:N;…`), read from Redis.
pub fn stored_count(con: &mut redis::Connection, id: &str) -> i64 {
    let data: String = redis::cmd("GET")
        .arg(format!("PHPREDIS_SESSION:{id}"))
        .query(con)
        .expect("a PHP session");
    data.split("count|i:")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {data:?}"))
}
