//! Redis for the tests: the shared server on 127.0.0.1:6379, private
//! `redis-server` processes on other loopback ports (killed, paused and
//! restarted by fault tests), a private three-master Redis Cluster, a
//! proxy that loses or delays a chosen reply, unique key prefixes, and
//! cleanup of every key a test wrote.
//!
//! Everything here talks to 127.0.0.1 only, bounds every wait, and stops
//! the processes it started when dropped.

// Each test binary uses only some of these.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shared server the CI starts.
pub const SHARED_URL: &str = "redis://127.0.0.1:6379/0";

/// A connection to `url`, or a panic naming what is missing.
pub fn connect(url: &str) -> redis::Connection {
    let client = redis::Client::open(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let con = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap_or_else(|e| {
            panic!("cannot reach Redis at {url} ({e}); start redis-server on 127.0.0.1:6379")
        });
    con.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    con
}

/// Runs one command.
pub fn cmd<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
        .unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")))
}

/// A key prefix no other test (or run) uses: `t:<pid>:<n>:<nanos>:<tag>:`.
pub fn unique_prefix(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "t:{}:{}:{nanos}:{tag}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every key under `prefix` on the server at `url` (a full SCAN).
pub fn keys_under(url: &str, prefix: &str) -> Vec<String> {
    let mut con = connect(url);
    let pattern = format!("{}*", glob_escape(prefix));
    let iter: redis::Iter<String> = redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("MATCH")
        .arg(&pattern)
        .arg("COUNT")
        .arg(1000)
        .clone()
        .iter(&mut con)
        .expect("SCAN");
    iter.map(|k| k.expect("a key")).collect()
}

/// The keys under `prefix` that hold one session each (the store's
/// `<prefix>{<b>}:<32 hex>`; not the expiry indexes, the sweeper lease or a
/// test's own keys).
pub fn session_keys(url: &str, prefix: &str) -> Vec<String> {
    keys_under(url, prefix)
        .into_iter()
        .filter(|k| {
            let rest = &k.as_bytes()[prefix.len()..];
            rest.len() == 37
                && rest[0] == b'{'
                && rest[3..5] == *b"}:"
                && rest[5..].iter().all(u8::is_ascii_hexdigit)
        })
        .collect()
}

/// The session keys under `prefix` that hold a session's data (not the
/// few-second mark an Abandon leaves).
pub fn stored_sessions(url: &str, prefix: &str) -> Vec<String> {
    let mut con = connect(url);
    session_keys(url, prefix)
        .into_iter()
        .filter(|k| cmd::<bool>(&mut con, &["HEXISTS", k, "M"]))
        .collect()
}

fn glob_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// Deletes every key under `prefix` on the server at `url`.
pub fn delete_under(url: &str, prefix: &str) {
    let keys = keys_under(url, prefix);
    let mut con = connect(url);
    for chunk in keys.chunks(500) {
        // One key per DEL: keys of a cluster node may span slots.
        for k in chunk {
            let _: i64 = cmd(&mut con, &["DEL", k]);
        }
    }
}

/// Prefixes handed out to applications of one test, deleted (on every
/// listed server) when dropped, even if the test failed.
pub struct Prefixes {
    urls: Vec<String>,
    tag: String,
    used: Mutex<Vec<String>>,
}

impl Prefixes {
    /// Prefixes on the servers `urls` (each node of a cluster).
    pub fn new(urls: &[String], tag: &str) -> Prefixes {
        Prefixes {
            urls: urls.to_vec(),
            tag: tag.into(),
            used: Mutex::new(Vec::new()),
        }
    }

    /// A fresh prefix, remembered for cleanup.
    pub fn fresh(&self) -> String {
        let p = unique_prefix(&self.tag);
        self.used.lock().unwrap().push(p.clone());
        p
    }
}

impl Drop for Prefixes {
    fn drop(&mut self) {
        let used = std::mem::take(&mut *self.used.lock().unwrap_or_else(|e| e.into_inner()));
        for url in &self.urls {
            for p in &used {
                // Cleanup must not panic while a failed test unwinds.
                let _ = std::panic::catch_unwind(|| delete_under(url, p));
            }
        }
    }
}

/// A free loopback port (for a second listener of a server).
pub fn free_port() -> u16 {
    free_port_pair()
}

/// Two free loopback ports `p` and `p + 10000` (a cluster node needs its bus
/// port too).
fn free_port_pair() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id() % 9000;
    for i in 0..2000u32 {
        let p = 21000 + ((seed + NEXT.fetch_add(7, Ordering::Relaxed) + i) % 9000) as u16;
        if TcpListener::bind(("127.0.0.1", p)).is_ok()
            && TcpListener::bind(("127.0.0.1", p + 10000)).is_ok()
        {
            return p;
        }
    }
    panic!("no free loopback port pair");
}

/// A private `redis-server` on a loopback port, without persistence.
pub struct Server {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl Server {
    /// Starts a server (`extra`: more `redis-server` arguments).
    pub fn start(extra: &[&str]) -> Server {
        let dir = std::env::temp_dir().join(unique_prefix("redis").replace(':', "_"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for _ in 0..5 {
            let mut s = Server {
                port: free_port_pair(),
                dir: dir.clone(),
                child: None,
                extra: extra.iter().map(|s| s.to_string()).collect(),
            };
            if s.spawn() {
                return s;
            }
        }
        panic!("redis-server would not start (is it installed?)");
    }

    /// A server for a Redis Cluster node.
    pub fn cluster_node() -> Server {
        Server::start(&["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
    }

    fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let conf = format!("nodes-{port}.conf");
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--protected-mode", "no"])
            .args(["--cluster-config-file", &conf])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let Ok(child) = cmd.spawn() else {
            return false;
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return false; // exited: the port was taken meanwhile
            }
            if self.ping() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut con) = client.get_connection_with_timeout(Duration::from_millis(200)) else {
            return false;
        };
        let _ = con.set_read_timeout(Some(Duration::from_millis(500)));
        redis::cmd("PING").query::<String>(&mut con).is_ok()
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's directory (for a Unix socket path, say).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills it (SIGKILL) and waits for it to go.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (empty: nothing was persisted).
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.spawn() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server would not restart on port {}", self.port);
    }

    /// Sends `signal` (SIGSTOP / SIGCONT) to it.
    pub fn signal(&self, signal: &str) {
        if let Some(c) = &self.child {
            let ok = Command::new("kill")
                .args([&format!("-{signal}"), &c.id().to_string()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "kill -{signal}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A paused server would ignore nothing, but make sure it can die.
        self.signal("CONT");
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A private Redis Cluster of three masters.
pub struct Cluster {
    pub nodes: Vec<Server>,
}

impl Cluster {
    /// Starts and joins three nodes; `Err` with a reason if this
    /// `redis-server` cannot run a cluster.
    pub fn start() -> Result<Cluster, String> {
        let nodes: Vec<Server> = (0..3).map(|_| Server::cluster_node()).collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let cluster = Cluster { nodes };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = cluster.nodes.iter().all(|n| {
                let mut con = connect(&n.url());
                let info: String = cmd(&mut con, &["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            });
            if ready {
                return Ok(cluster);
            }
            if Instant::now() > deadline {
                return Err("the cluster did not become ready in 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every node's URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Server::url).collect()
    }
}

/// Whether this `redis-server` supports `--cluster-enabled`.
pub fn cluster_supported() -> Result<(), String> {
    let out = Command::new("redis-server")
        .arg("--version")
        .output()
        .map_err(|e| format!("redis-server is not installed: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let major = text
        .split("v=")
        .nth(1)
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if major >= 3 {
        Ok(())
    } else {
        Err(format!("redis-server {text} has no cluster support"))
    }
}

/// `INFO commandstats` as (command, calls).
pub fn command_calls(con: &mut redis::Connection) -> Vec<(String, u64)> {
    let info: String = cmd(con, &["INFO", "commandstats"]);
    info.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

/// What the proxy does to the reply it is armed for.
struct Armed {
    /// The start of the reply (a server→client chunk) to catch.
    prefix: Vec<u8>,
    /// `None`: drop it and close the connection (a reply lost on the wire);
    /// `Some(d)`: hold it back `d` first (a reply too late).
    delay: Option<Duration>,
}

/// A loopback TCP proxy to a server that loses or delays one chosen reply.
/// Stops (closing every connection) when dropped.
pub struct Proxy {
    pub port: u16,
    armed: Arc<Mutex<Option<Armed>>>,
    fired: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// A proxy to 127.0.0.1:`upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("a loopback port");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let armed: Arc<Mutex<Option<Armed>>> = Arc::default();
        let fired = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (a, f, s, socks) = (armed.clone(), fired.clone(), stop.clone(), sockets.clone());
        let accept = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let mut list = socks.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                drop(list);
                let up = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(up.0, up.1, None));
                let (a, f) = (a.clone(), f.clone());
                std::thread::spawn(move || pipe(server, client, Some((a, f))));
            }
        });
        Proxy {
            port,
            armed,
            fired,
            stop,
            sockets,
            accept: Some(accept),
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The next reply that starts with `prefix` is lost: dropped, and its
    /// connection closed.
    pub fn lose_reply(&self, prefix: &[u8]) {
        self.arm(prefix, None);
    }

    /// The next reply that starts with `prefix` is held back `delay`.
    pub fn delay_reply(&self, prefix: &[u8], delay: Duration) {
        self.arm(prefix, Some(delay));
    }

    fn arm(&self, prefix: &[u8], delay: Option<Duration>) {
        self.fired.store(false, Ordering::SeqCst);
        *self.armed.lock().unwrap() = Some(Armed {
            prefix: prefix.to_vec(),
            delay,
        });
    }

    /// Whether the armed reply was caught.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

type Trap = (Arc<Mutex<Option<Armed>>>, Arc<AtomicBool>);

/// Copies `from` to `to` until either closes; `trap`: the server→client
/// direction, which catches the armed reply.
fn pipe(mut from: TcpStream, mut to: TcpStream, trap: Option<Trap>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some((armed, fired)) = &trap {
            let mut a = armed.lock().unwrap();
            if a.as_ref().is_some_and(|a| buf[..n].starts_with(&a.prefix)) {
                let caught = a.take().unwrap();
                drop(a);
                fired.store(true, Ordering::SeqCst);
                match caught.delay {
                    None => break,
                    Some(d) => std::thread::sleep(d),
                }
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for s in self
            .sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
