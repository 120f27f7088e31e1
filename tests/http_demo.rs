//! The demo web app (`examples-c/server_demo.c`, specified in
//! `examples-c/DEMO.md`) tested over real HTTP with a real client (ureq).
//!
//!     cargo test --test http_demo
//!
//! The server is built once per test binary like the C examples (C99,
//! warnings as errors, against this build's `libsess.a`); `DEMO_BIN=<path>`
//! runs a server built elsewhere instead. Every test starts its own server
//! on a free 127.0.0.1 port, so the session counts a test reads from
//! `/stats` are its own; a guard kills the server when the test ends, passed
//! or failed (and on Linux the kernel kills it if the test's thread dies
//! first). Cookies are handled here, not by the client, so tests can check
//! their attributes and send crafted ones.

mod common;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Barrier, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ureq::http::HeaderValue;

/// How long a server may take to say `listening on`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest any one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Length of a session ID's text.
const ID_LEN: usize = 22;

// ---------------------------------------------------------------------------
// The server

/// `server_demo`, built once for this test binary (or `$DEMO_BIN`, a server
/// built elsewhere).
fn server_exe() -> &'static PathBuf {
    static EXE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = EXE.get_or_init(|| match std::env::var_os("DEMO_BIN") {
        Some(bin) => Ok(PathBuf::from(bin)),
        None => common::build_replacing(&common::root().join("examples-c/server_demo.c")),
    });
    match built {
        Ok(exe) => exe,
        Err(e) => panic!("building examples-c/server_demo.c failed:\n{e}"),
    }
}

/// A port nobody listens on right now (the kernel's choice, released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

/// Where Apache's AddressSanitizer reports go when the tests run it under
/// ASan (`SESS_APACHE_ASAN=<dir>`, set by `scripts/sanitize.sh`, which
/// fails if any appear): the modules are then built instrumented, and
/// Apache (not built so) loads the ASan runtime first through LD_PRELOAD.
fn asan_dir() -> Option<PathBuf> {
    std::env::var_os("SESS_APACHE_ASAN").map(PathBuf::from)
}

/// A command running Apache httpd (under ASan if [`asan_dir`] says so).
fn apache() -> Command {
    let mut cmd = Command::new(apache_exe());
    if let Some(dir) = asan_dir() {
        let runtime = common::run(Command::new(common::cc()).arg("-print-file-name=libasan.so"))
            .expect("the C compiler's ASan runtime");
        cmd.env("LD_PRELOAD", runtime.trim()).env(
            "ASAN_OPTIONS",
            format!(
                "detect_leaks=0:halt_on_error=1:log_path={}",
                dir.join("asan").display()
            ),
        );
    }
    cmd
}

/// Apache httpd's executable (`apache2` on Debian, `httpd` elsewhere).
fn apache_exe() -> PathBuf {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .chain([PathBuf::from("/usr/sbin")])
        .flat_map(|d| [d.join("apache2"), d.join("httpd")])
        .find(|p| p.is_file())
        .expect("Apache httpd (apache2 or httpd) is installed (scripts/install-deps.sh)")
}

/// `hosts/apache/mod_sess.so`, built once for this test binary against
/// this build's `libsess.a` (its Makefile, which asks apxs for Apache's flags).
fn apache_module() -> &'static PathBuf {
    static SO: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = SO.get_or_init(|| apache_make("mod_sess.so"));
    match built {
        Ok(so) => so,
        Err(e) => panic!("building hosts/apache/mod_sess.so failed:\n{e}"),
    }
}

/// `make -C hosts/apache <BUILD>/<target>` against this build's `libsess.a`;
/// the built file.
fn apache_make(target: &str) -> Result<PathBuf, String> {
    let (build, sanitize) = match asan_dir() {
        Some(_) => ("apache-asan", "-fsanitize=address -fno-omit-frame-pointer"),
        None => ("apache", ""),
    };
    let build = common::out_dir().join(build);
    make_in(&build, &common::cc(), sanitize, target)
}

/// `make -C hosts/apache <build>/<target>` with `CC=cc` and
/// `SANITIZE=sanitize`, against this build's `libsess.a`; the built file.
fn make_in(build: &Path, cc: &str, sanitize: &str, target: &str) -> Result<PathBuf, String> {
    let out = build.join(target);
    common::run(
        Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(common::root().join("hosts/apache"))
            .arg(format!("LIB={}", common::static_lib().display()))
            .arg(format!("BUILD={}", build.display()))
            .arg(format!("CC={cc}"))
            .arg(format!("SANITIZE={sanitize}"))
            .arg(&out),
    )
    .map(|_| out)
}

/// mod_sess and the tests' module build with clang too (`cc` on FreeBSD
/// and macOS), warnings as errors (APR's own macros subtract from NULL,
/// which clang warns about).
#[test]
fn apache_modules_build_with_clang() {
    if Command::new("clang").arg("--version").output().is_err() {
        eprintln!("skipped: no clang");
        return;
    }
    let build = common::out_dir().join(format!("apache-clang-{}", std::process::id()));
    for target in ["mod_sess.so", "ext/mod_stream_test.so"] {
        if let Err(e) = make_in(&build, "clang", "", target) {
            let _ = std::fs::remove_dir_all(&build);
            panic!("{e}");
        }
    }
    let _ = std::fs::remove_dir_all(&build);
}

/// Which server a test runs against.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Host {
    /// `examples-c/server_demo.c`.
    Demo,
    /// Apache httpd (mpm_event) serving the same pages through
    /// `hosts/apache/mod_sess`: the in-process store, one child.
    ApacheInProcess,
    /// The same, with sessions in the local Redis and several children.
    ApacheRedis,
    /// The same, with sessions in an LMDB directory (a fresh one per
    /// server, removed after it) and several children.
    ApacheLmdb,
}

impl Host {
    /// Whether the host's store is shared by several processes, whose
    /// read-only requests hold no lock (Redis, LMDB): a writer goes first.
    fn readers_hold_no_lock(self) -> bool {
        matches!(self, Host::ApacheRedis | Host::ApacheLmdb)
    }
}

/// The local Redis the tests share (never flushed: tests use their own key
/// prefixes, deleted afterwards).
const REDIS_URL: &str = "redis://127.0.0.1:6379/0";

/// An Apache server's own files: its configuration and run directory.
struct ApacheRun {
    dir: PathBuf,
    /// The Redis key prefix to delete when it stops (one it made up).
    own_prefix: Option<String>,
    /// The LMDB directory to remove when it stops (one it made up).
    own_lmdb: Option<PathBuf>,
}

/// A running server on 127.0.0.1; stopped when dropped.
struct Demo {
    child: Child,
    port: u16,
    /// Everything it printed (stdout and stderr), for failure messages.
    output: Arc<Mutex<String>>,
    agent: ureq::Agent,
    host: Host,
    apache: Option<ApacheRun>,
}

impl Demo {
    /// Starts a demo server; a few tries, in case another process took the
    /// port between our finding it free and the server binding it.
    fn start() -> Demo {
        Demo::start_with(&[])
    }

    /// As [`Demo::start`], with extra environment variables.
    fn start_with(env: &[(&str, &str)]) -> Demo {
        Demo::start_on(Host::Demo, env)
    }

    /// Starts a server of `host`, `env` passed to it (the demo) or to the
    /// configuration generator `hosts/apache/conf.sh` (Apache).
    fn start_on(host: Host, env: &[(&str, &str)]) -> Demo {
        let mut errors = String::new();
        for attempt in 1..=3 {
            match Demo::try_start(host, env) {
                Ok(demo) => return demo,
                Err(e) => {
                    let _ = writeln!(errors, "attempt {attempt}: {e}");
                }
            }
        }
        panic!("the {host:?} server did not start:\n{errors}");
    }

    fn try_start(host: Host, env: &[(&str, &str)]) -> Result<Demo, String> {
        let port = free_port();
        let (mut cmd, apache) = match host {
            Host::Demo => {
                let mut cmd = Command::new(server_exe());
                cmd.envs(env.iter().copied()).env("PORT", port.to_string());
                (cmd, None)
            }
            Host::ApacheInProcess | Host::ApacheRedis | Host::ApacheLmdb => {
                let (cmd, run) = Demo::apache_command(host, env, port)?;
                (cmd, Some(run))
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_this_thread(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| format!("spawn {cmd:?}: {e}"))?;
        let output = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        // Both pipes are drained until the server exits, so a chatty server
        // never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let out = Arc::clone(&output);
        thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).into_owned();
                if line.contains("listening on") {
                    let _ = ready_tx.send(());
                }
                append(&out, &line);
            }
        });
        let stderr = child.stderr.take().expect("piped stderr");
        let out = Arc::clone(&output);
        thread::spawn(move || {
            for line in BufReader::new(stderr).split(b'\n') {
                let Ok(line) = line else { break };
                append(&out, &String::from_utf8_lossy(&line));
            }
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        let mut demo = Demo {
            child,
            port,
            output,
            agent,
            host,
            apache,
        };
        let ready = if demo.apache.is_some() {
            demo.wait_for_apache()
        } else {
            // Disconnected (stdout closed: the server exited) ends the wait early.
            ready_rx
                .recv_timeout(STARTUP_TIMEOUT)
                .map_err(|e| format!("no `listening on` line on stdout ({e})"))
        };
        match ready {
            Ok(()) => Ok(demo),
            Err(e) => {
                let status = demo.child.try_wait();
                Err(format!(
                    "{e} with PORT={port}; exit status: {status:?}; output:\n{}",
                    demo.output()
                ))
            }
        }
    }

    /// Apache in the foreground with a configuration `hosts/apache/conf.sh`
    /// writes for `port` (the one `make -C hosts/apache run` uses), in its
    /// own process group so that stopping it reaches its children.
    fn apache_command(
        host: Host,
        env: &[(&str, &str)],
        port: u16,
    ) -> Result<(Command, ApacheRun), String> {
        use std::os::unix::process::CommandExt;
        let dir = common::fresh_out_path("apache-run");
        let mut conf = Command::new(common::root().join("hosts/apache/conf.sh"));
        conf.arg(&dir)
            .arg(port.to_string())
            .arg(apache_module())
            .env_remove("SESS_STORE")
            .env("ERROR_LOG", "/dev/stderr")
            .envs(env.iter().copied());
        let mut own_prefix = None;
        if host == Host::ApacheRedis {
            if !env.iter().any(|(k, _)| *k == "SESS_STORE") {
                conf.env("SESS_STORE", REDIS_URL);
            }
            if !env.iter().any(|(k, _)| *k == "SESS_KEY_PREFIX") {
                let prefix = format!("sess:apachetest:{}:{}:", std::process::id(), made_up_id());
                conf.env("SESS_KEY_PREFIX", &prefix);
                own_prefix = Some(prefix);
            }
        }
        let mut own_lmdb = None;
        if host == Host::ApacheLmdb && !env.iter().any(|(k, _)| *k == "SESS_STORE") {
            // conf.sh makes it (and gives it to the children's user).
            let run = dir.file_name().expect("a run's name").to_string_lossy();
            let lmdb = std::env::temp_dir().join(format!("libsess-{run}-lmdb-{}", made_up_id()));
            conf.env("SESS_STORE", format!("lmdb://{}", lmdb.display()));
            own_lmdb = Some(lmdb);
        }
        let run = ApacheRun {
            dir,
            own_prefix,
            own_lmdb,
        };
        if let Err(e) = common::run(&mut conf) {
            if let Some(lmdb) = &run.own_lmdb {
                let _ = std::fs::remove_dir_all(lmdb);
            }
            return Err(e);
        }
        let mut cmd = apache();
        cmd.arg("-f")
            .arg(run.dir.join("httpd.conf"))
            .arg("-DFOREGROUND")
            .process_group(0);
        Ok((cmd, run))
    }

    /// Waits until Apache answers (it prints nothing when ready): any
    /// status will do (a test may have made its store unreachable).
    fn wait_for_apache(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("apache exited ({status})"));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return match self.agent.get(self.url("/stats")).call() {
                    Ok(_) => Ok(()),
                    Err(e) => Err(format!("GET /stats: {e}")),
                };
            }
            thread::sleep(Duration::from_millis(50));
        }
        Err("apache did not listen in time".into())
    }

    /// The PIDs of Apache's children (its worker processes).
    fn apache_children(&self) -> Vec<i32> {
        let parent = self.child.id().to_string();
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| {
                let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                // pid (comm) state ppid ...: comm may hold spaces, not ')'.
                let after = &stat[stat.rfind(')')? + 2..];
                let ppid = after.split(' ').nth(1)?;
                (ppid == parent).then_some(pid)
            })
            .collect()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What the server printed so far.
    fn output(&self) -> String {
        self.output.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Whether the server prints `text` within 10 s: its output arrives
    /// through a pipe, and a line logged as a response ends may come after
    /// the response itself.
    fn prints(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.output().contains(text) {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// GET `path` with an optional `Cookie` header.
    fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        let headers: Vec<(&str, &[u8])> = cookie
            .map(|c| ("Cookie", c.as_bytes()))
            .into_iter()
            .collect();
        self.get_with(path, &headers)
    }

    /// GET `path` with these extra headers (values as raw bytes).
    fn get_with(&self, path: &str, headers: &[(&str, &[u8])]) -> Resp {
        let mut req = self.agent.get(self.url(path));
        for (name, value) in headers {
            let value = HeaderValue::from_bytes(value)
                .unwrap_or_else(|e| panic!("header {name}: {value:?} is not sendable: {e}"));
            req = req.header(*name, value);
        }
        let mut resp = req.call().unwrap_or_else(|e| {
            panic!("GET {path} failed: {e}\nserver output:\n{}", self.output())
        });
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        let body = resp
            .body_mut()
            .read_to_vec()
            .unwrap_or_else(|e| panic!("GET {path}: reading the body failed: {e}"));
        Resp {
            what: format!("GET {path}"),
            status,
            headers,
            body,
        }
    }

    /// Sends `request` as it is on a new connection and reads the answer
    /// until the server closes the connection, as it must after an error
    /// (for requests no HTTP client would send).
    fn raw(&self, request: &[u8]) -> String {
        let what = String::from_utf8_lossy(&request[..request.len().min(60)]).into_owned();
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(REQUEST_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(REQUEST_TIMEOUT)).unwrap();
        // The server may answer and close before reading everything: a
        // failed write is not the test's business, the answer is.
        let _ = s.write_all(request);
        let mut buf = Vec::new();
        match s.read_to_end(&mut buf) {
            Ok(_) => {}
            // A reset after the answer arrived still leaves the answer.
            Err(e) if e.kind() == ErrorKind::ConnectionReset && !buf.is_empty() => {}
            Err(e) => panic!(
                "{what:?}: the connection did not close after the answer ({e}); \
                 read so far:\n{}\nserver output:\n{}",
                String::from_utf8_lossy(&buf),
                self.output()
            ),
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// `sessions=<N>` from `<app>stats`.
    fn sessions(&self, app: &str) -> u64 {
        let r = self.get(&format!("{app}stats"), None);
        r.assert_status(200);
        r.number("sessions=")
    }

    /// Proves the server still answers normal requests.
    fn assert_alive(&self, after: &str) {
        let r = self.get("/", None);
        assert_eq!(
            r.status,
            200,
            "after {after}, GET / answered {}: {}",
            r.status,
            r.text()
        );
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if thread::panicking() {
            // What the server (Apache: its error log) said, for the failure.
            eprintln!("--- server output ---\n{}", self.output());
        }
        let Some(run) = &self.apache else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return;
        };
        // SIGTERM: Apache stops its children and exits; whatever is left
        // after a while (the whole process group) gets SIGKILL.
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: plain syscalls on the process (group) this test started.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            thread::sleep(Duration::from_millis(50));
        }
        unsafe { libc::killpg(pid, libc::SIGKILL) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&run.dir);
        if let Some(prefix) = &run.own_prefix {
            delete_keys(prefix);
        }
        if let Some(lmdb) = &run.own_lmdb {
            let _ = std::fs::remove_dir_all(lmdb);
        }
    }
}

fn append(out: &Mutex<String>, line: &str) {
    if let Ok(mut s) = out.lock() {
        s.push_str(line);
        s.push('\n');
    }
}

/// On Linux, the server gets SIGKILL if the thread that started it (the
/// test's) ends without dropping its guard (the test binary was killed).
#[cfg(target_os = "linux")]
fn die_with_this_thread(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_this_thread(_cmd: &mut Command) {}

// ---------------------------------------------------------------------------
// Responses and cookies

/// A response, read whole.
struct Resp {
    what: String,
    status: u16,
    /// Names lowercased, in the order received.
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    fn set_cookies(&self) -> Vec<SetCookie> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .map(|(_, v)| SetCookie::parse(&String::from_utf8_lossy(v)))
            .collect()
    }

    #[track_caller]
    fn assert_status(&self, status: u16) {
        assert_eq!(
            self.status,
            status,
            "{}: status {} (expected {status}); body:\n{}",
            self.what,
            self.status,
            self.text()
        );
    }

    #[track_caller]
    fn assert_contains(&self, needle: &str) {
        let text = self.text();
        assert!(
            text.contains(needle),
            "{}: the body lacks {needle:?}; body:\n{text}",
            self.what
        );
    }

    #[track_caller]
    fn assert_no_set_cookie(&self) {
        let sc = self.set_cookies();
        assert!(
            sc.is_empty(),
            "{}: expected no Set-Cookie, got {:?}",
            self.what,
            sc.iter().map(|c| &c.raw).collect::<Vec<_>>()
        );
    }

    /// The one Set-Cookie this response carries.
    #[track_caller]
    fn the_set_cookie(&self) -> SetCookie {
        let mut sc = self.set_cookies();
        assert_eq!(
            sc.len(),
            1,
            "{}: expected one Set-Cookie, got {:?}; body:\n{}",
            self.what,
            sc.iter().map(|c| &c.raw).collect::<Vec<_>>(),
            self.text()
        );
        sc.remove(0)
    }

    /// The number after `label` (e.g. `count=`) where `label` begins a word.
    #[track_caller]
    fn number(&self, label: &str) -> u64 {
        let text = self.text();
        number_after(&text, label)
            .unwrap_or_else(|| panic!("{}: no {label}<number> in the body:\n{text}", self.what))
    }

    /// `count=<N>`.
    #[track_caller]
    fn count(&self) -> u64 {
        self.number("count=")
    }
}

/// The digits after the first `label` that does not follow a letter, digit
/// or `_`.
fn number_after(text: &str, label: &str) -> Option<u64> {
    let mut from = 0;
    while let Some(i) = text[from..].find(label) {
        let at = from + i;
        let word_start =
            !matches!(text[..at].chars().next_back(), Some(c) if c.is_alphanumeric() || c == '_');
        if word_start {
            let digits: String = text[at + label.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            return digits.parse().ok();
        }
        from = at + label.len();
    }
    None
}

/// A `Set-Cookie` header, parsed.
#[derive(Clone, Debug)]
struct SetCookie {
    raw: String,
    name: String,
    value: String,
    /// Attribute names as sent, with their values if any.
    attrs: Vec<(String, Option<String>)>,
}

impl SetCookie {
    fn parse(raw: &str) -> SetCookie {
        let mut parts = raw.split(';');
        let first = parts.next().unwrap_or_default();
        let (name, value) = first.split_once('=').unwrap_or((first, ""));
        let attrs = parts
            .map(|a| match a.split_once('=') {
                Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
                None => (a.trim().to_owned(), None),
            })
            .collect();
        SetCookie {
            raw: raw.to_owned(),
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attrs,
        }
    }

    /// The attribute named `name` (case-insensitively): `Some(None)` for a
    /// flag like `HttpOnly`.
    fn attr(&self, name: &str) -> Option<Option<&str>> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    fn path(&self) -> &str {
        self.attr("Path").flatten().unwrap_or("/")
    }

    /// Whether this header tells the browser to delete the cookie.
    fn deletes(&self) -> bool {
        self.attr("Max-Age").flatten() == Some("0")
    }

    /// `name=value`, for a `Cookie` header.
    fn pair(&self) -> String {
        format!("{}={}", self.name, self.value)
    }
}

/// A browser's cookie handling, enough for these tests: cookies keyed by
/// name and path, sent to paths under their `Path` (RFC 6265 §5.1.4),
/// deleted by `Max-Age=0`.
#[derive(Default)]
struct Jar {
    cookies: Vec<SetCookie>,
}

impl Jar {
    fn store(&mut self, resp: &Resp) {
        for c in resp.set_cookies() {
            self.cookies
                .retain(|k| !(k.name == c.name && k.path() == c.path()));
            if !c.deletes() {
                self.cookies.push(c);
            }
        }
    }

    /// The `Cookie` header for a request to `path`, if any cookie applies.
    fn header_for(&self, path: &str) -> Option<String> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let mut matching: Vec<&SetCookie> = self
            .cookies
            .iter()
            .filter(|c| path_matches(path, c.path()))
            .collect();
        // Longer paths first, as browsers send them.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path().len()));
        let pairs: Vec<String> = matching.iter().map(|c| c.pair()).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn get(&self, name: &str) -> Option<&SetCookie> {
        self.cookies.iter().find(|c| c.name == name)
    }
}

fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request.as_bytes().get(cookie.len()) == Some(&b'/')))
}

/// A client with a cookie jar on one server.
struct Browser<'a> {
    demo: &'a Demo,
    jar: Jar,
}

impl<'a> Browser<'a> {
    fn new(demo: &'a Demo) -> Browser<'a> {
        Browser {
            demo,
            jar: Jar::default(),
        }
    }

    fn get(&mut self, path: &str) -> Resp {
        let cookie = self.jar.header_for(path);
        let r = self.demo.get(path, cookie.as_deref());
        self.jar.store(&r);
        r
    }
}

/// A well-formed session ID nobody issued: 16 random bytes, base64url.
fn made_up_id() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn is_id(s: &str) -> bool {
    s.len() == ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Starts a session with `/counter` (count=1); its `ASPSESSIONID=<id>` pair.
#[track_caller]
fn new_session(demo: &Demo) -> String {
    let r = demo.get("/counter", None);
    r.assert_status(200);
    assert_eq!(r.count(), 1, "a new session's first /counter");
    let c = r.the_set_cookie();
    assert_eq!(c.name, "ASPSESSIONID");
    c.pair()
}

fn cookie_for(id: &str) -> String {
    format!("ASPSESSIONID={id}")
}

// ---------------------------------------------------------------------------
// Cookies and strict IDs

fn new_session_cookie_is_httponly_lax_path_root_and_not_persistent_or_secure(demo: &Demo) {
    let r = demo.get("/counter", None);
    r.assert_status(200);
    r.assert_contains("count=1");
    let c = r.the_set_cookie();
    assert_eq!(c.name, "ASPSESSIONID", "{}", c.raw);
    assert!(
        is_id(&c.value),
        "the ID is 22 base64url characters: {}",
        c.raw
    );
    // Exactly these attributes: no Secure over http, no Expires/Max-Age (a
    // browser-session cookie), no Domain (host-only).
    assert_eq!(
        c.raw,
        format!("ASPSESSIONID={}; Path=/; HttpOnly; SameSite=Lax", c.value)
    );
    for absent in ["Secure", "Expires", "Max-Age", "Domain"] {
        assert!(c.attr(absent).is_none(), "{absent} in {}", c.raw);
    }
    // Sent once: the next request with it gets none.
    let r = demo.get("/counter", Some(&c.pair()));
    r.assert_status(200);
    assert_eq!(r.count(), 2);
    r.assert_no_set_cookie();
}

fn home_page_shows_the_session_only_when_there_is_one(demo: &Demo) {
    let r = demo.get("/", None);
    r.assert_status(200);
    r.assert_contains("SessionID: (none)");
    r.assert_no_set_cookie();
    let content_type = r.header("content-type").unwrap_or_default();
    assert!(
        content_type.eq_ignore_ascii_case("text/html; charset=utf-8"),
        "Content-Type: {content_type:?}"
    );

    let cookie = new_session(demo);
    let id = cookie.split_once('=').unwrap().1;
    let r = demo.get("/", Some(&cookie));
    r.assert_status(200);
    r.assert_contains(&format!("SessionID: {id}"));
    r.assert_contains("IsNewSession: false");
    r.assert_contains("Timeout: 20");
    r.assert_no_set_cookie();
}

fn strict_mode_never_adopts_1000_unknown_ids(demo: &Demo) {
    let before = demo.sessions("/");
    let mut presented = Vec::with_capacity(1000);
    let mut issued = HashSet::with_capacity(1000);
    for i in 0..1000 {
        let id = made_up_id();
        let r = demo.get("/counter", Some(&cookie_for(&id)));
        r.assert_status(200);
        assert_eq!(
            r.count(),
            1,
            "request {i} with unknown ID {id} continued some session"
        );
        let c = r.the_set_cookie();
        assert_eq!(c.name, "ASPSESSIONID");
        assert!(is_id(&c.value), "{}", c.raw);
        assert_ne!(c.value, id, "request {i}: the unknown ID was adopted");
        assert!(
            issued.insert(c.value.clone()),
            "request {i}: ID {} issued twice",
            c.value
        );
        presented.push(id);
    }
    let after = demo.sessions("/");
    assert_eq!(
        after,
        before + 1000,
        "/stats: {before} sessions before, {after} after 1,000 new ones"
    );
    for (i, id) in presented.iter().enumerate().step_by(20) {
        let r = demo.get("/peek", Some(&cookie_for(id)));
        r.assert_status(200);
        r.assert_contains("no session");
        assert!(
            number_after(&r.text(), "count=").is_none(),
            "presented ID {i} ({id}) has a session: {}",
            r.text()
        );
        r.assert_no_set_cookie();
    }
    assert!(
        presented.iter().all(|id| !issued.contains(id)),
        "an issued ID equals a presented one"
    );
}

fn repeated_cookie_headers_find_the_session(demo: &Demo) {
    // Servers join repeated headers (Apache with ", "): the session's cookie
    // may come in any of them.
    let cookie = new_session(demo);
    let answer = demo.raw(
        format!(
            "GET /peek HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: other=1\r\n\
             Cookie: {cookie}\r\nCookie: last=2\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("count=1"), "{answer}");
    // A well-formed ID the store does not hold, in the first header, does
    // not hide the live one in the second.
    let stale = cookie_for(&made_up_id());
    let answer = demo.raw(
        format!(
            "GET /counter HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {stale}\r\n\
             Cookie: {cookie}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("count=2"), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("set-cookie"),
        "{answer}"
    );
}

/// What a malformed `Cookie` header should lead to on `/counter`.
enum Expect {
    /// The good session goes on (count + 1, no new cookie).
    Continues,
    /// A fresh session (count=1, a new cookie with another ID).
    Fresh,
}

fn malformed_cookies_are_ignored_and_the_server_keeps_serving(demo: &Demo) {
    let good = new_session(demo);
    let good_id = good.split_once('=').unwrap().1.to_owned();
    let big = "A".repeat(4096);
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        ("an empty header", b"".to_vec(), Expect::Fresh),
        ("an empty value", b"ASPSESSIONID=".to_vec(), Expect::Fresh),
        ("a name without =", b"ASPSESSIONID".to_vec(), Expect::Fresh),
        ("empty quotes", b"ASPSESSIONID=\"\"".to_vec(), Expect::Fresh),
        (
            "an unbalanced quote",
            format!("ASPSESSIONID=\"{good_id}").into_bytes(),
            Expect::Fresh,
        ),
        (
            "the good ID in quotes",
            format!("ASPSESSIONID=\"{good_id}\"").into_bytes(),
            Expect::Continues,
        ),
        ("junk", b"ASPSESSIONID=!!not*an(id)".to_vec(), Expect::Fresh),
        ("only separators", b";;; = ;=;".to_vec(), Expect::Fresh),
        (
            "the ID with one character more",
            format!("ASPSESSIONID={good_id}A").into_bytes(),
            Expect::Fresh,
        ),
        (
            "the ID one character short",
            format!("ASPSESSIONID={}", &good_id[1..]).into_bytes(),
            Expect::Fresh,
        ),
        (
            "the name in lowercase",
            format!("aspsessionid={good_id}").into_bytes(),
            Expect::Fresh,
        ),
        (
            "a bad first value and the good second",
            format!("ASPSESSIONID=junk; ASPSESSIONID={good_id}").into_bytes(),
            Expect::Continues,
        ),
        (
            "an empty first value and the good second",
            format!("ASPSESSIONID=; ASPSESSIONID={good_id}").into_bytes(),
            Expect::Continues,
        ),
        (
            "spaces and tabs around the pair",
            format!(" \tASPSESSIONID = {good_id} \t; other=1").into_bytes(),
            Expect::Continues,
        ),
        (
            "non-ASCII (Latin-1) bytes as the value",
            [&b"ASPSESSIONID="[..], &[0xE9; ID_LEN][..]].concat(),
            Expect::Fresh,
        ),
        (
            "non-ASCII (UTF-8) text as the value",
            "ASPSESSIONID=séssion-日本語".as_bytes().to_vec(),
            Expect::Fresh,
        ),
        (
            "another cookie with invalid UTF-8 beside the good one",
            [
                &b"other=\xff\xfe\x80; "[..],
                format!("ASPSESSIONID={good_id}").as_bytes(),
            ]
            .concat(),
            Expect::Continues,
        ),
        (
            "a 4 KB value",
            format!("ASPSESSIONID={big}").into_bytes(),
            Expect::Fresh,
        ),
        (
            "a 4 KB cookie beside the good one",
            format!("big={big}; ASPSESSIONID={good_id}").into_bytes(),
            Expect::Continues,
        ),
    ];
    let mut expected_count = 1;
    for (what, header, expect) in cases {
        let r = demo.get_with("/counter", &[("Cookie", &header)]);
        assert_eq!(
            r.status,
            200,
            "{what}: status {}; body:\n{}",
            r.status,
            r.text()
        );
        match expect {
            Expect::Continues => {
                expected_count += 1;
                assert_eq!(r.count(), expected_count, "{what}: the good session");
                assert!(
                    r.set_cookies().is_empty(),
                    "{what}: a Set-Cookie for a known session: {:?}",
                    r.header("set-cookie")
                );
            }
            Expect::Fresh => {
                assert_eq!(r.count(), 1, "{what}: expected a fresh session");
                let c = r.the_set_cookie();
                assert_eq!(c.name, "ASPSESSIONID", "{what}");
                assert!(is_id(&c.value), "{what}: {}", c.raw);
                assert_ne!(c.value, good_id, "{what}: handed out the good ID");
            }
        }
    }
    demo.assert_alive("the malformed cookies");
    let r = demo.get("/peek", Some(&good));
    assert_eq!(
        r.count(),
        expected_count,
        "the good session after all cases"
    );
}

fn peek_without_a_session_creates_none_and_sends_no_cookie(demo: &Demo) {
    let before = demo.sessions("/");
    for cookie in [None, Some(cookie_for(&made_up_id()))] {
        let r = demo.get("/peek", cookie.as_deref());
        r.assert_status(200);
        r.assert_contains("no session");
        r.assert_contains("readers_at_once=");
        r.assert_no_set_cookie();
    }
    let r = demo.get("/", None);
    r.assert_status(200);
    r.assert_no_set_cookie();
    assert_eq!(demo.sessions("/"), before, "/stats after /peek and /");
}

// ---------------------------------------------------------------------------
// Abandon and regenerate

fn abandon_shows_the_old_value_deletes_the_cookie_and_kills_the_id(demo: &Demo) {
    let cookie = new_session(demo);
    for n in 2..=3 {
        assert_eq!(demo.get("/counter", Some(&cookie)).count(), n);
    }
    let sessions = demo.sessions("/");

    let r = demo.get("/abandon", Some(&cookie));
    r.assert_status(200);
    r.assert_contains("count=3");
    r.assert_contains("abandoned");
    let c = r.the_set_cookie();
    assert_eq!(c.name, "ASPSESSIONID", "{}", c.raw);
    assert_eq!(c.value, "", "a deleting cookie has no value: {}", c.raw);
    assert!(c.deletes(), "no Max-Age=0: {}", c.raw);
    assert_eq!(c.path(), "/", "{}", c.raw);
    assert_eq!(demo.sessions("/"), sessions - 1, "/stats after Abandon");

    let r = demo.get("/peek", Some(&cookie));
    r.assert_status(200);
    r.assert_contains("no session");

    let r = demo.get("/counter", Some(&cookie));
    r.assert_status(200);
    assert_eq!(r.count(), 1, "the abandoned session's count came back");
    let c = r.the_set_cookie();
    assert_ne!(c.pair(), cookie, "the abandoned ID was reused");
}

fn abandon_without_a_session_answers_count_0(demo: &Demo) {
    let r = demo.get("/abandon", None);
    r.assert_status(200);
    r.assert_contains("count=0");
    r.assert_contains("abandoned");
    assert_eq!(demo.sessions("/"), 0);
}

fn regenerate_moves_the_contents_to_a_new_id_and_kills_the_old(demo: &Demo) {
    let old = new_session(demo);
    assert_eq!(demo.get("/counter", Some(&old)).count(), 2);
    let sessions = demo.sessions("/");

    let r = demo.get("/regenerate", Some(&old));
    r.assert_status(200);
    let c = r.the_set_cookie();
    assert_eq!(c.name, "ASPSESSIONID");
    assert!(is_id(&c.value), "{}", c.raw);
    assert_ne!(c.pair(), old, "regenerate kept the ID");
    assert_eq!(
        c.raw,
        format!("ASPSESSIONID={}; Path=/; HttpOnly; SameSite=Lax", c.value)
    );
    r.assert_contains(&format!("regenerated: {}", c.value));
    assert_eq!(demo.sessions("/"), sessions, "regenerate changed /stats");

    let r = demo.get("/peek", Some(&old));
    r.assert_contains("no session");
    let r = demo.get("/counter", Some(&c.pair()));
    r.assert_status(200);
    assert_eq!(r.count(), 3, "the contents under the new ID");
    r.assert_no_set_cookie();
}

// ---------------------------------------------------------------------------
// Locking

fn concurrent_counter_requests_on_one_session_lose_no_update(demo: &Demo) {
    const THREADS: usize = 8;
    const EACH: usize = 100;
    let cookie = new_session(demo);
    let start = Arc::new(Barrier::new(THREADS));
    let results: Vec<Vec<u64>> = thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let (demo, cookie, start) = (&demo, &cookie, Arc::clone(&start));
                s.spawn(move || {
                    start.wait();
                    (0..EACH)
                        .map(|_| {
                            let r = demo.get("/counter", Some(cookie));
                            r.assert_status(200);
                            r.assert_no_set_cookie();
                            r.count()
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a client thread failed"))
            .collect()
    });
    let mut seen: Vec<u64> = results.into_iter().flatten().collect();
    seen.sort_unstable();
    let expected: Vec<u64> = (2..=(1 + THREADS * EACH) as u64).collect();
    assert_eq!(
        seen, expected,
        "each of the 800 increments must see a distinct count"
    );
    assert_eq!(
        demo.get("/peek", Some(&cookie)).count(),
        1 + (THREADS * EACH) as u64
    );
}

fn read_only_requests_share_the_session_and_a_writer_waits_for_them(demo: &Demo) {
    const HOLD_MS: u64 = 500;
    let cookie = new_session(demo);
    let t0 = Instant::now();
    thread::scope(|s| {
        let holders: Vec<_> = (0..4)
            .map(|_| {
                let (demo, cookie) = (&demo, &cookie);
                s.spawn(move || {
                    let r = demo.get(&format!("/peek?hold={HOLD_MS}"), Some(cookie));
                    r.assert_status(200);
                    r.assert_no_set_cookie();
                    (r.count(), r.number("readers_at_once="))
                })
            })
            .collect();

        // Wait (bounded) until a quick reader sees a holder in progress.
        let deadline = t0 + Duration::from_millis(HOLD_MS) - Duration::from_millis(50);
        let mut seen_together = 0;
        while Instant::now() < deadline {
            let r = demo.get("/peek", Some(&cookie));
            r.assert_status(200);
            seen_together = r.number("readers_at_once=");
            if seen_together >= 2 {
                break;
            }
        }

        // A writer now must wait for the shared holders, then go through
        // (in-process; on Redis and LMDB readers hold no lock: a writer
        // goes first).
        let w = demo.get("/counter", Some(&cookie));
        let writer_done = t0.elapsed();
        w.assert_status(200);
        assert_eq!(w.count(), 2, "the writer's increment");

        let results: Vec<(u64, u64)> = holders
            .into_iter()
            .map(|h| h.join().expect("a /peek?hold thread failed"))
            .collect();
        let most = results.iter().map(|&(_, k)| k).max().unwrap_or(0);
        assert!(
            most >= 2 || seen_together >= 2,
            "4 concurrent /peek?hold={HOLD_MS} never ran together: {results:?}, \
             a quick /peek saw readers_at_once={seen_together}"
        );
        if seen_together >= 2 && !demo.host.readers_hold_no_lock() {
            // A holder was in progress when the writer began, so the writer
            // cannot have finished before that holder's hold ended.
            assert!(
                writer_done >= Duration::from_millis(HOLD_MS),
                "the writer finished {writer_done:?} after the readers began, \
                 inside their {HOLD_MS} ms shared hold"
            );
        }
        for (count, _) in &results {
            assert!(*count == 1 || *count == 2, "a reader saw count={count}");
        }
    });
    assert!(
        t0.elapsed() < Duration::from_millis(4 * HOLD_MS),
        "4 holds of {HOLD_MS} ms took {:?}: not in parallel",
        t0.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Applications: nested and cookieless

fn nested_application_has_its_own_cookie_and_contents(demo: &Demo) {
    let mut b = Browser::new(demo);

    let r = b.get("/search/counter");
    r.assert_status(200);
    assert_eq!(r.count(), 1);
    let search = r.the_set_cookie();
    assert_eq!(
        search.raw,
        format!(
            "ASPSESSIONID_search={}; Path=/; HttpOnly; SameSite=Lax",
            search.value
        )
    );
    assert!(is_id(&search.value), "{}", search.raw);

    let r = b.get("/counter");
    assert_eq!(r.count(), 1, "/counter shares /search's session");
    let root = r.the_set_cookie();
    assert_eq!(root.name, "ASPSESSIONID");
    assert_eq!(root.path(), "/");

    // The browser now sends both cookies to /search.
    let r = b.get("/search/counter");
    assert_eq!(r.count(), 2);
    r.assert_no_set_cookie();
    assert_eq!(b.get("/counter").count(), 2);
    // Redirects stay in the application.
    let r = b.get("/search/page1");
    r.assert_status(302);
    assert_eq!(r.header("location").as_deref(), Some("/search/page2"));
    r.assert_no_set_cookie();
    assert_eq!(demo.sessions("/"), 1, "/stats");
    assert_eq!(demo.sessions("/search/"), 1, "/search/stats");

    // Each application knows only its own IDs and its own cookie name.
    let r = demo.get(
        "/search/counter",
        Some(&format!("ASPSESSIONID_search={}", root.value)),
    );
    assert_eq!(r.count(), 1, "/search adopted the root application's ID");
    assert_ne!(r.the_set_cookie().value, root.value);
    let r = demo.get("/counter", Some(&search.pair()));
    assert_eq!(r.count(), 1, "/ used the ASPSESSIONID_search cookie");
}

fn nested_application_keeps_its_subdirectories(demo: &Demo) {
    let mut b = Browser::new(demo);
    assert_eq!(b.get("/search/counter").count(), 1);
    assert_eq!(b.get("/counter").count(), 1);
    // Seed 004: /search/contrib/x belongs to /search, not to /.
    let r = b.get("/search/contrib/counter");
    r.assert_status(200);
    assert_eq!(r.count(), 2, "/search/contrib/counter left /search");
    r.assert_no_set_cookie();
    assert_eq!(b.get("/search/counter").count(), 3);
    assert_eq!(b.get("/counter").count(), 2);
}

/// Every `/cookieless/(S(<id>))/` ID in a page.
fn cookieless_ids(text: &str) -> Vec<String> {
    let marker = "/cookieless/(S(";
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        rest = &rest[i + marker.len()..];
        if let Some(end) = rest.find("))/") {
            ids.push(rest[..end].to_owned());
        }
    }
    ids
}

/// The one ID all of a cookieless page's links carry.
#[track_caller]
fn link_id(r: &Resp) -> String {
    let text = r.text();
    let ids = cookieless_ids(&text);
    assert!(
        !ids.is_empty(),
        "{}: no /cookieless/(S(<id>))/ link in the page:\n{text}",
        r.what
    );
    assert!(
        ids.iter().all(|id| id == &ids[0]),
        "{}: links carry different IDs: {ids:?}",
        r.what
    );
    assert!(is_id(&ids[0]), "{}: not an ID: {:?}", r.what, ids[0]);
    ids[0].clone()
}

fn cookieless_application_carries_the_id_in_links_not_cookies(demo: &Demo) {
    let r = demo.get("/cookieless/counter", None);
    r.assert_status(200);
    assert_eq!(r.count(), 1);
    r.assert_no_set_cookie();
    let id = link_id(&r);

    let r = demo.get(&format!("/cookieless/(S({id}))/counter"), None);
    r.assert_status(200);
    assert_eq!(r.count(), 2, "following the rewritten link");
    r.assert_no_set_cookie();
    assert_eq!(link_id(&r), id, "the links' ID changed");

    let r = demo.get(&format!("/cookieless/(S({id}))/peek"), None);
    assert_eq!(r.count(), 2, "/peek through the URL's ID");

    // A cookie with the ID means nothing to a cookieless application.
    let r = demo.get("/cookieless/counter", Some(&format!("ASPSESSIONID={id}")));
    assert_eq!(r.count(), 1, "a cookie carried a cookieless session");
}

fn cookieless_application_does_not_adopt_a_made_up_url_id(demo: &Demo) {
    let made_up = made_up_id();
    let r = demo.get(&format!("/cookieless/(S({made_up}))/counter"), None);
    r.assert_status(200);
    assert_eq!(r.count(), 1);
    r.assert_no_set_cookie();
    let issued = link_id(&r);
    assert_ne!(issued, made_up, "the made-up URL ID was adopted");
    let r = demo.get(&format!("/cookieless/(S({made_up}))/peek"), None);
    r.assert_contains("no session");
    let r = demo.get(&format!("/cookieless/(S({issued}))/counter"), None);
    assert_eq!(r.count(), 2);
}

// ---------------------------------------------------------------------------
// The seed's pages

/// The `<li>` items of a page that are not navigation links.
fn content_items(page: &str) -> Vec<&str> {
    page.split("<li>")
        .skip(1)
        .filter(|li| !li.starts_with("<a "))
        .map(|li| li.split("</li>").next().unwrap_or(li))
        .collect()
}

fn page1_redirects_to_page2_which_lists_the_three_values(demo: &Demo) {
    let mut b = Browser::new(demo);
    let r = b.get("/page1");
    r.assert_status(302);
    assert_eq!(r.header("location").as_deref(), Some("/page2"));
    assert!(b.jar.get("ASPSESSIONID").is_some(), "no cookie from /page1");

    let r = b.get("/page2");
    r.assert_status(200);
    r.assert_contains("There are 3 items in the Session's Contents collection.");
    let text = r.text();
    assert_eq!(
        content_items(&text),
        [
            "SessionVar1 = Session Variable 1",
            "SessionVar2 = Session Variable 2",
            "SessionVar3 = Session Variable 3"
        ],
        "one <li> per item, in order"
    );
    r.assert_contains(
        "First three by index: Session Variable 1 | Session Variable 2 | Session Variable 3",
    );

    // page2 added AppStatus, which the next visit lists.
    let r = b.get("/page2");
    r.assert_contains("There are 4 items in the Session's Contents collection.");
    r.assert_contains("AppStatus = Page2...InProcess...");
}

fn page1_redirect_in_a_cookieless_application_carries_the_id(demo: &Demo) {
    let r = demo.get("/cookieless/page1", None);
    r.assert_status(302);
    r.assert_no_set_cookie();
    let location = r.header("location").unwrap_or_default();
    let id = location
        .strip_prefix("/cookieless/(S(")
        .and_then(|rest| rest.strip_suffix("))/page2"))
        .unwrap_or_else(|| panic!("Location: {location:?}"));
    assert!(is_id(id), "Location: {location:?}");
    let r = demo.get(&location, None);
    r.assert_status(200);
    r.assert_contains("There are 3 items in the Session's Contents collection.");
}

fn array_page_stores_arrays_by_value(demo: &Demo) {
    let r = demo.get("/array", None);
    r.assert_status(200);
    r.assert_contains("second before: Julie");
    r.assert_contains("second after: Mark");
    r.assert_contains("Contents(0)(0): Chris");
}

// ---------------------------------------------------------------------------
// LCID and CodePage

/// Whether `needle` occurs in `haystack`.
fn has_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn prefs_sends_the_page_in_the_sessions_code_page(demo: &Demo) {
    let mut b = Browser::new(demo);
    let r = b.get("/prefs?lcid=1036&codepage=932");
    r.assert_status(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=Shift_JIS")
    );
    let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&r.body);
    assert!(!had_errors, "the body is not Shift_JIS:\n{text}");
    // The page's sample 日本語 in Shift_JIS (JIS X 0208: 93FA 967B 8CEA),
    // not in UTF-8.
    assert!(
        has_bytes(&r.body, &[0x93, 0xFA, 0x96, 0x7B, 0x8C, 0xEA]),
        "no Shift_JIS 日本語 in the body:\n{text}"
    );
    assert!(
        !has_bytes(&r.body, "日本語".as_bytes()),
        "日本語 was sent as UTF-8"
    );
    // The values as text under LCID 1036 (fr-FR).
    for line in [
        "LCID: 1036",
        "CodePage: 932",
        "number: 1234,5",
        "currency: 1234,5678",
        "date: 31/12/1999 18:30:00",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }

    // Both stay with the session.
    let r = b.get("/prefs");
    r.assert_status(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=Shift_JIS")
    );
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&r.body);
    assert!(text.contains("LCID: 1036"), "{text}");
    assert!(text.contains("CodePage: 932"), "{text}");
}

fn prefs_default_page_is_utf8_and_formats_in_en_us(demo: &Demo) {
    let r = demo.get("/prefs?lcid=1033", None);
    r.assert_status(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=UTF-8")
    );
    r.assert_contains("LCID: 1033");
    r.assert_contains("CodePage: 65001");
    r.assert_contains("number: 1234.5");
    r.assert_contains("currency: 1234.5678");
    r.assert_contains("date: 12/31/1999 6:30:00 PM");
}

fn prefs_rejects_an_invalid_lcid_or_code_page_and_keeps_the_old_one(demo: &Demo) {
    let mut b = Browser::new(demo);
    b.get("/prefs?lcid=1036&codepage=1252").assert_status(200);
    for (bad, says) in [
        ("/prefs?lcid=12345678", "LCID"),
        ("/prefs?lcid=abc", "lcid"),
        ("/prefs?codepage=1", "code page"),
        ("/prefs?codepage=-5", "codepage"),
    ] {
        let r = b.get(bad);
        r.assert_status(400);
        r.assert_contains(says);
    }
    let r = b.get("/prefs");
    r.assert_status(200);
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&r.body);
    assert!(text.contains("LCID: 1036"), "the LCID changed:\n{text}");
    assert!(
        text.contains("CodePage: 1252"),
        "the code page changed:\n{text}"
    );
}

// ---------------------------------------------------------------------------
// Bad requests

#[test]
fn bad_requests_get_4xx_and_the_server_keeps_serving() {
    let demo = Demo::start();
    let cookie = new_session(&demo);

    let huge = "x".repeat(10 * 1024);
    let r = demo.get_with("/", &[("X-Huge", huge.as_bytes())]);
    assert_eq!(r.status, 431, "a 10 KB header: {}", r.text());
    demo.assert_alive("a 10 KB header");

    let r = demo.get("/%zz", None);
    assert_eq!(r.status, 400, "bad percent-encoding: {}", r.text());
    demo.assert_alive("bad percent-encoding");

    let r = demo.get("/nowhere", None);
    assert_eq!(r.status, 404, "an unknown route: {}", r.text());
    demo.assert_alive("an unknown route");

    let cases: [(&str, &[u8], &str); 7] = [
        (
            "bad percent-encoding in the query",
            b"GET /counter?x=%G1 HTTP/1.1\r\nHost: x\r\n\r\n",
            "400",
        ),
        (
            "a NUL in the path",
            b"GET /coun%00ter HTTP/1.1\r\nHost: x\r\n\r\n",
            "400",
        ),
        ("a malformed request line", b"GARBAGE\r\n\r\n", "400"),
        // RFC 9112 3.2: an HTTP/1.1 request without a Host, or with two.
        (
            "an HTTP/1.1 request without Host",
            b"GET /counter HTTP/1.1\r\nCookie: a=1\r\n\r\n",
            "400",
        ),
        (
            "two Host headers",
            b"GET /stats HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n",
            "400",
        ),
        // HTTP/1.0 did not require it.
        (
            "an HTTP/1.0 request without Host",
            b"GET /stats HTTP/1.0\r\n\r\n",
            "200",
        ),
        (
            "a POST",
            b"POST /counter HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            "405",
        ),
    ];
    for (what, request, status) in cases {
        let answer = demo.raw(request);
        let status_line = answer.lines().next().unwrap_or_default();
        assert!(
            status_line.starts_with("HTTP/1.") && status_line.split(' ').nth(1) == Some(status),
            "{what}: expected {status}, got {status_line:?}\n{answer}"
        );
        demo.assert_alive(what);
    }

    // The session survived all of it.
    assert_eq!(demo.get("/counter", Some(&cookie)).count(), 2);
}

/// RFC 9112 3: a request target longer than the server parses is 414
/// (URI Too Long), not 431 (its header fields are small).
#[test]
fn a_request_line_over_8_kib_is_414() {
    let demo = Demo::start();
    let long = "a".repeat(9000);
    let answer = demo.raw(format!("GET /{long} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    assert!(answer.starts_with("HTTP/1.1 414 "), "{answer}");
    demo.assert_alive("a long request line");
}

/// RFC 9112 3.2: a Host that is not `host[:port]` is 400, as a missing
/// one is; an empty one (allowed) or an IP literal is served.
#[test]
fn an_invalid_host_header_is_400() {
    let demo = Demo::start();
    let cases: [(&str, &str); 10] = [
        ("a b", "400"),
        ("x/y", "400"),
        ("user@x", "400"),
        ("x:80a", "400"),
        ("[::1", "400"),
        ("x%zz", "400"),
        ("", "200"),
        ("127.0.0.1:8080", "200"),
        ("[::1]:8080", "200"),
        ("a-b.example", "200"),
    ];
    for (host, status) in cases {
        let answer = demo.raw(
            format!("GET /stats HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "Host: {host:?}: expected {status}, got:\n{answer}"
        );
    }
    demo.assert_alive("invalid Host headers");
}

/// RFC 9112 3.2.2: a server accepts a request target in absolute form
/// (`http://host/path`), serving its path; an `http` URI without a host,
/// with user information, or of another scheme is refused.
#[test]
fn absolute_form_targets_are_served_by_their_path() {
    let demo = Demo::start();
    let cases: [(&str, &str); 8] = [
        ("http://x/stats", "200 sessions=0"),
        (
            "HTTP://127.0.0.1:8080/search/stats?a=1",
            "200 application /search)",
        ),
        ("http://x", "200 application /)"),
        ("http://x?a=1", "200 application /)"),
        ("http:///stats", "400"),
        ("http://:80/stats", "400"),
        ("http://user@x/stats", "400"),
        ("ftp://x/stats", "400"),
    ];
    for (target, expected) in cases {
        let answer = demo.raw(
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let (status, text) = expected.split_once(' ').unwrap_or((expected, ""));
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")) && answer.contains(text),
            "GET {target}: expected {expected:?}, got:\n{answer}"
        );
    }
    demo.assert_alive("absolute-form targets");
}

/// RFC 9110 9.3.2: no answer to a HEAD carries content, an error's neither.
#[test]
fn errors_answering_a_head_request_carry_no_body() {
    let demo = Demo::start();
    let cases: [(&str, &[u8]); 4] = [
        (
            "bad percent-encoding",
            b"HEAD /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        ("no Host", b"HEAD /stats HTTP/1.1\r\n\r\n"),
        (
            "a body over 1 MiB",
            b"HEAD /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n",
        ),
        (
            "an unknown route",
            b"HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
    ];
    for (what, request) in cases {
        let answer = demo.raw(request);
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(
            head.starts_with("HTTP/1.1 4") && body.is_empty(),
            "{what}: {answer}"
        );
    }
    demo.assert_alive("HEAD errors");
}

/// RFC 9110 10.1.1: a client that waits for `100 Continue` before sending
/// its body is told to send it, then answered.
#[test]
fn a_client_expecting_100_continue_is_told_to_send_its_body() {
    let demo = Demo::start();
    let mut s = TcpStream::connect(("127.0.0.1", demo.port)).expect("connect");
    s.set_read_timeout(Some(REQUEST_TIMEOUT)).unwrap();
    s.write_all(
        b"GET /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\
          Expect: 100-continue\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut interim = String::new();
    let mut blank = String::new();
    let read = reader
        .read_line(&mut interim)
        .and_then(|_| reader.read_line(&mut blank));
    assert!(
        read.is_ok() && interim == "HTTP/1.1 100 Continue\r\n" && blank == "\r\n",
        "before the body: {read:?} {interim:?} {blank:?}"
    );
    s.write_all(b"body").unwrap();
    let mut answer = String::new();
    reader.read_to_string(&mut answer).expect("the answer");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("sessions=0"), "{answer}");
}

// ---------------------------------------------------------------------------
// A web farm: two demo processes sharing Redis (127.0.0.1:6379)

/// Deletes every key under `prefix` in the local Redis.
fn delete_keys(prefix: &str) {
    let client = redis::Client::open("redis://127.0.0.1:6379/0").expect("redis URL");
    let mut con = client.get_connection().expect("Redis on 127.0.0.1:6379");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut con)
        .expect("KEYS");
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(keys).query(&mut con).expect("DEL");
    }
}

/// Two servers of `host` on one Redis: a web farm.
fn a_web_farm_of_two_servers_shares_sessions_through_redis(host: Host) {
    let prefix = format!("sess:farmtest:{}:{}:", std::process::id(), made_up_id());
    let env = [
        ("SESS_STORE", REDIS_URL),
        ("SESS_KEY_PREFIX", prefix.as_str()),
    ];
    let (a, b) = (Demo::start_on(host, &env), Demo::start_on(host, &env));
    let cookie = new_session(&a);
    // The cookie one instance issued works on the other; the counter counts
    // across both, and neither sends a new cookie.
    for n in 2..=11 {
        let demo = if n % 2 == 0 { &b } else { &a };
        let r = demo.get("/counter", Some(&cookie));
        r.assert_status(200);
        assert_eq!(
            r.count(),
            n,
            "request {n} alternating between the instances"
        );
        assert!(r.set_cookies().is_empty(), "no new cookie on request {n}");
    }
    // Abandon on one instance ends the session for both.
    b.get("/abandon", Some(&cookie)).assert_status(200);
    assert!(a.get("/peek", Some(&cookie)).text().contains("no session"));
    delete_keys(&prefix);
}

#[test]
fn a_web_farm_of_two_demos_shares_sessions_through_redis() {
    a_web_farm_of_two_servers_shares_sessions_through_redis(Host::Demo);
}

// ---------------------------------------------------------------------------
// Apache httpd with mod_sess

#[test]
fn two_apache_servers_share_sessions_through_redis() {
    a_web_farm_of_two_servers_shares_sessions_through_redis(Host::ApacheRedis);
}

#[test]
fn apache_kill_9_of_a_child_mid_load_loses_no_committed_update() {
    kill_9_of_a_child_mid_load_loses_no_committed_update(Host::ApacheRedis);
}

#[test]
fn apache_lmdb_kill_9_of_a_child_mid_load_loses_no_committed_update() {
    kill_9_of_a_child_mid_load_loses_no_committed_update(Host::ApacheLmdb);
}

/// Apache with several children on a shared store (`host`): one child
/// killed mid-load.
fn kill_9_of_a_child_mid_load_loses_no_committed_update(host: Host) {
    const THREADS: usize = 6;
    const EACH: usize = 60;
    // A killed child's lock lives 2 s (not the default 2 minutes): waiting
    // requests (lock timeout 5 s) then go on.
    let demo = Demo::start_on(host, &[("SESS_LOCK_TTL", "2000")]);
    let cookie = new_session(&demo);
    let children = demo.apache_children();
    assert!(children.len() >= 2, "several children: {children:?}");
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (seen, failed): (Vec<u64>, usize) = thread::scope(|s| {
        let clients: Vec<_> = (0..THREADS)
            .map(|_| {
                let (demo, cookie, done) = (&demo, &cookie, &done);
                s.spawn(move || {
                    let (mut seen, mut failed) = (Vec::new(), 0);
                    for _ in 0..EACH {
                        // A fresh connection each time, so every child serves some.
                        match ureq::get(demo.url("/counter"))
                            .header("Cookie", cookie)
                            .header("Connection", "close")
                            .call()
                        {
                            Ok(mut r) if r.status() == 200 => {
                                let body = r.body_mut().read_to_string().unwrap_or_default();
                                seen.push(number_after(&body, "count=").expect("count="));
                            }
                            _ => failed += 1,
                        }
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    (seen, failed)
                })
            })
            .collect();
        // Mid-load: kill -9 one child.
        while done.load(std::sync::atomic::Ordering::Relaxed) < THREADS * EACH / 3 {
            thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: a plain syscall on a process of the server this test started.
        assert_eq!(
            unsafe { libc::kill(children[0], libc::SIGKILL) },
            0,
            "kill -9"
        );
        clients
            .into_iter()
            .map(|h| h.join().expect("a client thread failed"))
            .fold((Vec::new(), 0), |(mut all, f), (seen, failed)| {
                all.extend(seen);
                (all, f + failed)
            })
    });
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        seen.len(),
        "two responses showed the same count: an update was lost"
    );
    let last = demo.get("/peek", Some(&cookie));
    last.assert_status(200);
    let final_count = last.count();
    // Every count a client saw was committed; requests that died with the
    // child may or may not have been.
    assert!(
        final_count >= sorted.last().copied().unwrap_or(1),
        "final count {final_count} < a count a client saw ({sorted:?})"
    );
    assert!(
        final_count > seen.len() as u64 && final_count - 1 <= (seen.len() + failed) as u64,
        "final count {final_count}: {} answered, {failed} failed",
        seen.len()
    );
    assert!(
        seen.len() >= THREADS * EACH / 2,
        "only {} of {} requests answered ({failed} failed)",
        seen.len(),
        THREADS * EACH
    );
}

/// The HTTP scenarios, each a `#[test]` against the demo and against Apache
/// (the in-process store with one child; Redis and LMDB with several
/// children).
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod demo {
            $(#[test] fn $name() { super::$name(&super::Demo::start()); })*
        }
        mod apache_in_process {
            use super::{Demo, Host};
            $(#[test] fn $name() { super::$name(&Demo::start_on(Host::ApacheInProcess, &[])); })*
        }
        mod apache_redis {
            use super::{Demo, Host};
            $(#[test] fn $name() { super::$name(&Demo::start_on(Host::ApacheRedis, &[])); })*
        }
        mod apache_lmdb {
            use super::{Demo, Host};
            $(#[test] fn $name() { super::$name(&Demo::start_on(Host::ApacheLmdb, &[])); })*
        }
    };
}

scenarios! {
    new_session_cookie_is_httponly_lax_path_root_and_not_persistent_or_secure,
    home_page_shows_the_session_only_when_there_is_one,
    strict_mode_never_adopts_1000_unknown_ids,
    malformed_cookies_are_ignored_and_the_server_keeps_serving,
    repeated_cookie_headers_find_the_session,
    peek_without_a_session_creates_none_and_sends_no_cookie,
    abandon_shows_the_old_value_deletes_the_cookie_and_kills_the_id,
    abandon_without_a_session_answers_count_0,
    regenerate_moves_the_contents_to_a_new_id_and_kills_the_old,
    concurrent_counter_requests_on_one_session_lose_no_update,
    read_only_requests_share_the_session_and_a_writer_waits_for_them,
    nested_application_has_its_own_cookie_and_contents,
    nested_application_keeps_its_subdirectories,
    cookieless_application_carries_the_id_in_links_not_cookies,
    cookieless_application_does_not_adopt_a_made_up_url_id,
    page1_redirects_to_page2_which_lists_the_three_values,
    page1_redirect_in_a_cookieless_application_carries_the_id,
    array_page_stores_arrays_by_value,
    prefs_sends_the_page_in_the_sessions_code_page,
    prefs_default_page_is_utf8_and_formats_in_en_us,
    prefs_rejects_an_invalid_lcid_or_code_page_and_keeps_the_old_one,
}

// ---------------------------------------------------------------------------
// Counters

/// The value of the Prometheus series `name{app="<app>"}` on a `/metrics`
/// page.
fn metric(page: &str, name: &str, app: &str) -> u64 {
    let series = format!("{name}{{app=\"{app}\"}} ");
    page.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series:?} in /metrics:\n{page}"))
}

fn metrics_page_counts_in_prometheus_text_format(demo: &Demo) {
    let page = |demo: &Demo| {
        let r = demo.get("/metrics", None);
        r.assert_status(200);
        r.assert_no_set_cookie();
        let ct = r.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
        r.text()
    };
    let text = page(demo);
    for (name, kind) in [
        ("sess_sessions", "gauge"),
        ("sess_sessions_created_total", "counter"),
        ("sess_sessions_timed_out_total", "counter"),
        ("sess_sessions_abandoned_total", "counter"),
        ("sess_lock_waits_total", "counter"),
        ("sess_lock_timeouts_total", "counter"),
        ("sess_store_errors_total", "counter"),
    ] {
        assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{text}");
        for app in ["/", "/search", "/cookieless"] {
            assert_eq!(metric(&text, name, app), 0, "{name} {app}");
        }
    }
    // Two sessions in "/", one abandoned; one in "/search".
    let a = new_session(demo);
    new_session(demo);
    demo.get("/abandon", Some(&a)).assert_status(200);
    demo.get("/search/counter", None).assert_status(200);
    let text = page(demo);
    assert_eq!(metric(&text, "sess_sessions", "/"), 1);
    assert_eq!(metric(&text, "sess_sessions_created_total", "/"), 2);
    assert_eq!(metric(&text, "sess_sessions_abandoned_total", "/"), 1);
    assert_eq!(metric(&text, "sess_sessions_created_total", "/search"), 1);
    assert_eq!(metric(&text, "sess_sessions", "/cookieless"), 0);
}

/// The demo's per-client connection cap (`MAX_PER_CLIENT`).
const MAX_PER_CLIENT: usize = 16;

/// A connection to the demo from loopback address `source` (e.g.
/// 127.0.0.2: Linux routes all of 127/8 to the loopback interface).
fn connect_from(demo: &Demo, source: [u8; 4]) -> TcpStream {
    use socket2::{Domain, SockAddr, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let from = std::net::SocketAddr::from((source, 0));
    s.bind(&SockAddr::from(from))
        .expect("bind the source address");
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], demo.port));
    s.connect(&SockAddr::from(to)).expect("connect");
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(REQUEST_TIMEOUT)).unwrap();
    s
}

/// Sends a complete GET / and returns the status line.
fn status_line(s: &mut TcpStream) -> String {
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).expect("read");
    line.trim_end().to_owned()
}

#[test]
fn a_client_dribbling_its_header_lines_is_cut_off_at_the_head_deadline() {
    let demo = Demo::start();
    let mut s = TcpStream::connect(("127.0.0.1", demo.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let start = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    // A header line every 500 ms: each restarts a per-read timeout, never
    // the deadline for the whole head (10 s from its first byte).
    let mut answer = Vec::new();
    let mut line = 0;
    while start.elapsed() < Duration::from_secs(60) {
        if s.write_all(format!("X-Slow-{line}: y\r\n").as_bytes())
            .is_err()
        {
            break;
        }
        line += 1;
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
        thread::sleep(Duration::from_millis(400));
    }
    let took = start.elapsed();
    // Never before the deadline; well before a minute even on a loaded
    // machine (the margin is 50 s).
    assert!(
        took >= Duration::from_millis(9_900) && took < Duration::from_secs(60),
        "cut off after {took:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408 "),
        "answer: {answer}"
    );
    demo.assert_alive("a dribbling client");
}

#[test]
fn slow_clients_from_one_address_cannot_lock_others_out() {
    let demo = Demo::start();
    // A hundred connections from one address, each sending half a request
    // and then nothing: the first MAX_PER_CLIENT hold a slot, the rest are
    // told 429 at once.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..100 {
        let mut s = connect_from(&demo, [127, 0, 0, 1]);
        s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        held.push(s);
    }
    // Another client is served at once. The server accepts in order, so by
    // now it has answered every one of the hundred it had to refuse.
    let mut other = connect_from(&demo, [127, 0, 0, 2]);
    assert_eq!(status_line(&mut other), "HTTP/1.1 200 OK");
    for s in &mut held {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut buf = [0u8; 64];
        if let Ok(n) = s.read(&mut buf) {
            if n > 0 {
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                assert!(head.starts_with("HTTP/1.1 429 "), "{head}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 100 - MAX_PER_CLIENT, "connections told 429");
    // The slow clients' address is not served.
    let mut same = connect_from(&demo, [127, 0, 0, 1]);
    assert_eq!(status_line(&mut same), "HTTP/1.1 429 Too Many Requests");
    drop(held);
}

// ---------------------------------------------------------------------------
// Two demo processes on one machine sharing an LMDB directory

#[test]
fn two_demos_on_one_lmdb_directory_share_sessions_and_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!(
        "libsess-demo-lmdb-{}-{}",
        std::process::id(),
        made_up_id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = format!("lmdb://{}", dir.display());
    let env = [("SESS_STORE", store.as_str())];
    let cookie = {
        let (a, b) = (Demo::start_with(&env), Demo::start_with(&env));
        let cookie = new_session(&a);
        for n in 2..=11 {
            let demo = if n % 2 == 0 { &b } else { &a };
            let r = demo.get("/counter", Some(&cookie));
            r.assert_status(200);
            assert_eq!(
                r.count(),
                n,
                "request {n} alternating between the instances"
            );
            assert!(r.set_cookies().is_empty(), "no new cookie on request {n}");
        }
        cookie
    };
    // Both processes gone: a new one on the directory goes on counting.
    let c = Demo::start_with(&env);
    assert_eq!(c.get("/counter", Some(&cookie)).count(), 12);
    // Abandon on it ends the session for every process.
    let d = Demo::start_with(&env);
    d.get("/abandon", Some(&cookie)).assert_status(200);
    assert!(c.get("/peek", Some(&cookie)).text().contains("no session"));
    drop((c, d));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn metrics_page_counts_in_prometheus_text_format_in_the_demo() {
    metrics_page_counts_in_prometheus_text_format(&Demo::start());
}

/// One child (the in-process store). With several, the counters are all
/// children's too: `apache_per_application_counters_are_all_childrens`.
#[test]
fn metrics_page_counts_in_prometheus_text_format_in_apache() {
    let demo = Demo::start_on(Host::ApacheInProcess, &[]);
    metrics_page_counts_in_prometheus_text_format(&demo);
    // And what the module counted over all children.
    let text = demo.get("/metrics", None).text();
    let requests = text
        .lines()
        .find_map(|l| l.strip_prefix("sess_apache_requests_total "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(requests.is_some_and(|n| n >= 4), "{text}");
}

/// The value of an unlabelled (or fully spelled) series on a `/metrics` page.
fn sample(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series:?} in /metrics:\n{page}"))
}

/// Runs `f` while a read-only request (`/peek?hold=`) holds `cookie`'s
/// session for `hold_ms` (from when it is seen in progress: it holds the
/// shared lock), then checks that request's answer.
fn while_a_reader_holds(demo: &Demo, cookie: &str, hold_ms: u64, f: impl FnOnce()) {
    thread::scope(|s| {
        let holder = s.spawn(|| demo.get(&format!("/peek?hold={hold_ms}"), Some(cookie)));
        let deadline = Instant::now() + Duration::from_millis(hold_ms / 2);
        while demo.get("/peek", Some(cookie)).number("readers_at_once=") < 2 {
            assert!(Instant::now() < deadline, "the holder never ran");
        }
        f();
        holder.join().expect("the holder").assert_status(200);
    });
}

/// After one request gave up waiting for `cookie`'s session: the library
/// and the module counted one lock timeout, and the next writer gets the
/// session (its count now 2).
fn one_lock_timeout_counted(demo: &Demo, cookie: &str) {
    let page = demo.get("/metrics", None).text();
    assert_eq!(metric(&page, "sess_lock_timeouts_total", "/"), 1, "{page}");
    assert_eq!(
        sample(
            &page,
            "sess_apache_unavailable_total{cause=\"lock_timeout\"}"
        ),
        1
    );
    assert_eq!(
        demo.get("/counter", Some(cookie)).count(),
        2,
        "the next writer"
    );
}

#[test]
fn apache_answers_503_past_the_lock_timeout_and_counts_it() {
    // Seconds of margin for the writer's 300 ms wait under ASan on a busy
    // machine.
    const HOLD_MS: u64 = 5000;
    let demo = Demo::start_on(Host::ApacheInProcess, &[("SESS_LOCK_TIMEOUT", "300")]);
    let cookie = new_session(&demo);
    while_a_reader_holds(&demo, &cookie, HOLD_MS, || {
        // A writer waits 300 ms for the reader's 5 s hold, then gives up.
        let r = demo.get("/counter", Some(&cookie));
        r.assert_status(503);
        r.assert_no_set_cookie();
    });
    one_lock_timeout_counted(&demo, &cookie);
}

#[test]
fn apache_answers_503_when_the_store_is_down() {
    // A port nobody listens on: Redis is "down" from the start.
    let store = format!("redis://127.0.0.1:{}/0", free_port());
    let demo = Demo::start_on(Host::ApacheRedis, &[("SESS_STORE", &store)]);
    let r = demo.get("/counter", None);
    r.assert_status(503);
    r.assert_no_set_cookie();
    assert!(
        demo.prints("the session store is unavailable"),
        "the error log says why:\n{}",
        demo.output()
    );
    // Store errors are requests' and scrapes', not the children's
    // publishing of their counters every second while the store is down
    // (each publishing asked the store to count, for its whole retry
    // budget, holding the lock a scrape waits on: /metrics timed out).
    let errors = || {
        metric(
            &demo.get("/metrics", None).text(),
            "sess_store_errors_total",
            "/",
        )
    };
    let before = errors();
    thread::sleep(Duration::from_secs(4));
    let after = errors();
    assert!(after - before <= 2, "{before} store errors, then {after}");
}

#[test]
fn apache_answers_400_for_a_path_that_is_not_utf8() {
    let demo = Demo::start_on(Host::ApacheInProcess, &[]);
    for path in ["/%FF", "/counter%C3", "/search/%FFx"] {
        let r = demo.get(path, None);
        r.assert_status(400);
        r.assert_no_set_cookie();
    }
    demo.assert_alive("a path that is not UTF-8");
    let page = demo.get("/metrics", None).text();
    assert_eq!(sample(&page, "sess_apache_failures_total"), 0, "{page}");
    assert!(
        !demo.output().contains("beginning the request"),
        "logged as an error:\n{}",
        demo.output()
    );
}

/// A file of directives for conf.sh to Include (EXTRA_CONF), removed when
/// dropped.
struct ExtraConf(PathBuf);

impl ExtraConf {
    fn new(text: &str) -> ExtraConf {
        let path = common::fresh_out_path("extra").with_extension("conf");
        std::fs::write(&path, text).expect("write the extra configuration");
        ExtraConf(path)
    }

    /// tests/apache/mod_stream_test.c loaded and serving /stream, then `more`.
    fn stream_test(more: &str) -> ExtraConf {
        let so = apache_make("ext/mod_stream_test.so").unwrap_or_else(|e| panic!("{e}"));
        ExtraConf::new(&format!(
            "LoadModule stream_test_module \"{}\"\n<Location /stream>\n    \
             SetHandler sess-stream-test\n</Location>\n{more}",
            so.display()
        ))
    }

    /// `("EXTRA_CONF", <its path>)`, for [`Demo::start_on`].
    fn env(&self) -> (&'static str, &str) {
        ("EXTRA_CONF", self.0.to_str().expect("UTF-8 path"))
    }
}

impl Drop for ExtraConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn apache_streaming_handler_gets_its_cookie_early_and_commits_at_the_end() {
    // tests/apache/mod_stream_test.c at /stream: it flushes a first part
    // (the headers leave), then counts.
    let extra = ExtraConf::stream_test("");
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let r = demo.get("/stream", None);
    r.assert_status(200);
    r.assert_contains("first part");
    r.assert_contains("count=1");
    let c = r.the_set_cookie();
    assert_eq!(c.name, "ASPSESSIONID", "{}", c.raw);
    assert!(is_id(&c.value), "{}", c.raw);
    // Committed when the response ended.
    let r = demo.get("/stream", Some(&c.pair()));
    assert_eq!(r.count(), 2);
    r.assert_no_set_cookie();
    // Abandon after the headers left: the deleting cookie cannot go (the
    // log says so); the ID is dead anyway.
    let r = demo.get("/stream?abandon=1", Some(&c.pair()));
    assert_eq!(r.count(), 3);
    r.assert_no_set_cookie();
    demo.get("/peek", Some(&c.pair()))
        .assert_contains("no session");
    assert!(
        demo.prints("a Set-Cookie after the streamed headers was not sent"),
        "{}",
        demo.output()
    );
}

/// mod_sess.h's `sess_ap_request` given no request (NULL, a caller's
/// mistake) answers NULL, as for a request without session state: the
/// child serving the request does not crash.
#[test]
fn apache_sess_ap_request_of_no_request_is_null() {
    let extra = ExtraConf::stream_test("");
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let r = demo.get("/stream?null=1", None);
    r.assert_status(200);
    r.assert_contains("null=none");
    demo.assert_alive("sess_ap_request(NULL)");
}

/// A method mod_sess's handlers (the demo's pages, /metrics) do not serve
/// is 405 with an Allow naming the ones they do, GET and HEAD (RFC 9110
/// 15.5.6), as the demo server's says.
#[test]
fn apache_405_of_mod_sess_handlers_allows_get_and_head() {
    let demo = Demo::start_on(Host::ApacheInProcess, &[]);
    for path in ["/counter", "/metrics"] {
        let answer = demo.raw(
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            )
            .as_bytes(),
        );
        assert!(answer.starts_with("HTTP/1.1 405 "), "{path}: {answer}");
        let allow: Vec<&str> = answer
            .lines()
            .find_map(|l| l.strip_prefix("Allow: "))
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .collect();
        assert!(
            allow.contains(&"GET") && allow.contains(&"HEAD"),
            "{path}: {answer}"
        );
    }
}

/// What mod_sess logs at startup for an application with the in-process
/// store under an MPM that may run several children.
const SPLIT_WARNING: &str = "keeps its sessions in one child process";

/// A handler that returns a status (Apache then makes the response itself,
/// with the protocol filters only: ap_die) still commits and sends its
/// cookie: the redirect after a login, a 404, a 204. Only 5xx undoes.
#[test]
fn apache_handler_returning_a_status_commits_and_sends_its_cookie() {
    // /stream/doc has a local ErrorDocument: the counters page. The
    // access log shows each request's application note (mod_sess.h), as
    // the response's last request (an ErrorDocument's) has it.
    let log = common::out_dir().join(format!("notes-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let extra = ExtraConf::stream_test(&format!(
        "<Location /stream/doc>\n    ErrorDocument 404 /busy\n</Location>\n\
         <Location /busy>\n    SetHandler sess-metrics\n</Location>\n\
         CustomLog \"{}\" \"%U %{{sess-app}}n\"\n",
        log.display()
    ));
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    // count = 1, Location, `return HTTP_MOVED_TEMPORARILY`.
    let r = demo.get("/stream?status=302", None);
    r.assert_status(302);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/stream?after-redirect"),
        "{:?}",
        r.headers
    );
    let c = r.the_set_cookie();
    assert_eq!(c.name, "ASPSESSIONID", "{}", c.raw);
    let cookie = c.pair();
    let r = demo.get("/stream?after-redirect", Some(&cookie));
    assert_eq!(r.count(), 2, "the redirect's count was committed");
    r.assert_no_set_cookie();
    // A 404 after the handler passed a part of its own (held by mod_sess):
    // committed, and Apache's error page replaces that part.
    let r = demo.get("/stream?status=404&write=1", Some(&cookie));
    r.assert_status(404);
    r.assert_no_set_cookie();
    assert!(!r.text().contains("the handler's own body"), "{}", r.text());
    demo.get("/stream?status=204", Some(&cookie))
        .assert_status(204);
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 5);
    // A 500 undoes (mod_sess.h: status >= 500).
    demo.get("/stream?status=500", Some(&cookie))
        .assert_status(500);
    demo.get("/stream?status=503&write=1", Some(&cookie))
        .assert_status(503);
    // So does the handler's note "sess-failed", whatever the status.
    demo.get("/stream?status=404&failed=1", Some(&cookie))
        .assert_status(404);
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 6);
    // A new session's cookie reaches a 404 too, and that count holds.
    let r = demo.get("/stream?status=404", None);
    r.assert_status(404);
    let c = r.the_set_cookie();
    assert_eq!(demo.get("/stream", Some(&c.pair())).count(), 2);
    // Under a local ErrorDocument (an internal redirect): the same, the
    // error document replacing what the handler passed, and the note (set
    // in the request the redirect came from) still undoing.
    let r = demo.get("/stream/doc?status=404&write=1", None);
    r.assert_status(404);
    r.assert_contains("sess_apache_requests_total");
    assert!(!r.text().contains("the handler's own body"), "{}", r.text());
    let doc = r.the_set_cookie().pair();
    demo.get("/stream/doc?status=404&failed=1", Some(&doc))
        .assert_status(404);
    assert_eq!(demo.get("/stream", Some(&doc)).count(), 2);
    // One child: no warning about sessions split between children.
    assert!(!demo.output().contains(SPLIT_WARNING), "{}", demo.output());
    // The error document's request kept the note of the one it came from.
    drop(demo);
    let logged = std::fs::read_to_string(&log).expect("the access log");
    let _ = std::fs::remove_file(&log);
    let notes: Vec<&str> = logged
        .lines()
        .map(|l| l.split_once(' ').map_or("", |(_, n)| n))
        .collect();
    assert!(logged.lines().any(|l| l == "/stream /"), "{logged}");
    assert!(
        logged
            .lines()
            .filter(|l| l.starts_with("/stream/doc "))
            .count()
            == 2,
        "{logged}"
    );
    assert!(notes.iter().all(|n| *n == "/"), "{logged}");
}

/// An application declared with a trailing `/` (`<Location /shop/>`), a
/// path the library takes without it: its pages are served.
#[test]
fn apache_application_declared_with_a_trailing_slash_serves_its_pages() {
    let extra = ExtraConf::new(
        "<Location /shop/>\n    SessionApplication On\n    SessionState On\n</Location>\n",
    );
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let r = demo.get("/shop/counter", None);
    r.assert_status(200);
    assert_eq!(r.count(), 1);
    let cookie = r.the_set_cookie().pair();
    assert_eq!(demo.get("/shop/counter", Some(&cookie)).count(), 2);
    assert_eq!(demo.sessions("/shop/"), 1);
}

/// The demo's pages (examples-c/demo_pages.h) in a cookieless application
/// at a long path: served, with page1's redirect, the links and the list
/// of applications under the whole path.
#[test]
fn apache_demo_pages_serve_an_application_at_a_long_path() {
    let app = format!("/shop/{}", "b".repeat(600));
    let extra = ExtraConf::new(&format!(
        "<Location {app}>\n    SessionApplication On\n    SessionState On\n    \
         SessionCookieless On\n</Location>\n"
    ));
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let r = demo.get(&format!("{app}/page1"), None);
    r.assert_status(302);
    let location = r.header("location").unwrap_or_default();
    let id = location
        .strip_prefix(&format!("{app}/(S("))
        .and_then(|rest| rest.strip_suffix("))/page2"))
        .unwrap_or_else(|| panic!("not {app}/(S(<id>))/page2: {location:?}"));
    let r = demo.get(&location, None);
    r.assert_status(200);
    r.assert_contains("Session Variable 1");
    r.assert_contains(&format!("href=\"{app}/(S({id}))/counter\""));
    r.assert_contains(&format!("\">{app}/</a>"));
}

/// A document root whose page /inc/page.shtml includes `virtual` (a
/// subrequest, in the main request's unit of work) and then says "page";
/// removed when dropped.
struct IncludePage(PathBuf);

impl IncludePage {
    fn new(virtual_path: &str) -> IncludePage {
        let docs = common::fresh_out_path("apache-docs");
        std::fs::create_dir_all(docs.join("inc")).expect("the document root");
        std::fs::write(
            docs.join("inc/page.shtml"),
            format!("<!--#include virtual=\"{virtual_path}\" -->page\n"),
        )
        .expect("the page");
        IncludePage(docs)
    }

    /// Apache serving /stream (tests/apache/mod_stream_test.c) and this
    /// page through mod_include.
    fn start(&self) -> Demo {
        let libexec = apache_libexec();
        let extra = ExtraConf::stream_test(&format!(
            "LoadModule include_module \"{libexec}/mod_include.so\"\n\
             DocumentRoot \"{}\"\n<Location /inc>\n    SetHandler None\n    \
             SetOutputFilter INCLUDES\n    Options +Includes\n</Location>\n",
            self.0.display()
        ));
        Demo::start_on(Host::ApacheInProcess, &[extra.env()])
    }
}

impl Drop for IncludePage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A handler run in a subrequest (mod_include's `#include virtual`) works in
/// the main request's unit of work: its note "sess-failed" (mod_sess.h),
/// set on the subrequest, undoes that unit's changes too.
#[test]
fn apache_failed_note_of_a_subrequests_handler_undoes() {
    let page = IncludePage::new("/stream?status=404&failed=1");
    let demo = page.start();
    let cookie = demo.get("/stream", None).the_set_cookie().pair();
    let r = demo.get("/inc/page.shtml", Some(&cookie));
    r.assert_status(200);
    r.assert_contains("page");
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 2, "undone");
}

/// A subrequest whose handler answers 500 or more (its status: a script
/// whose Status is 500) failed part of the page after it may have changed
/// the session: the unit of work is undone, as for the main request's own
/// status. mod_include still answers 200 with its error message in place.
#[test]
fn apache_5xx_status_of_a_subrequests_handler_undoes() {
    let page = IncludePage::new("/stream?fail=500");
    let demo = page.start();
    let cookie = demo.get("/stream", None).the_set_cookie().pair();
    let r = demo.get("/inc/page.shtml", Some(&cookie));
    r.assert_status(200);
    r.assert_contains("page");
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 2, "undone");
    // Below 500 the subrequest's changes are committed.
    let page = IncludePage::new("/stream?fail=404");
    let demo = page.start();
    let cookie = demo.get("/stream", None).the_set_cookie().pair();
    demo.get("/inc/page.shtml", Some(&cookie))
        .assert_status(200);
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 3, "committed");
}

/// A large response written in tiny pieces (100 000 brigades of 10 bytes,
/// then through ap_rputs) is held whole (below 1 MiB) and arrives byte for
/// byte, with its Set-Cookie, the session committed.
#[test]
fn apache_large_response_in_tiny_pieces_arrives_intact_and_commits() {
    const PIECES: usize = 100_000;
    let expected: String = (0..PIECES).map(|i| format!("{i:09}\n")).collect();
    let extra = ExtraConf::stream_test("");
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let r = demo.get(&format!("/stream?pieces={PIECES}"), None);
    r.assert_status(200);
    assert!(
        r.body == expected.as_bytes(),
        "{} bytes, not the pieces",
        r.body.len()
    );
    let cookie = r.the_set_cookie().pair();
    let r = demo.get(&format!("/stream?pieces={PIECES}&rputs=1"), Some(&cookie));
    r.assert_status(200);
    assert!(
        r.body == expected.as_bytes(),
        "{} bytes, not the pieces",
        r.body.len()
    );
    r.assert_no_set_cookie();
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 3, "committed");
}

/// A module that fails mid-response passes an error bucket (mod_proxy when
/// its backend breaks): the response is that error, and at 500 or more the
/// session changes are undone, as for a handler that returns the status.
#[test]
fn apache_error_bucket_of_a_5xx_undoes_the_session_changes() {
    let extra = ExtraConf::stream_test("");
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let cookie = demo.get("/stream", None).the_set_cookie().pair();
    let r = demo.get("/stream?error=502", Some(&cookie));
    r.assert_status(502);
    assert!(!r.text().contains("the handler's own body"), "{}", r.text());
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 2, "502 undone");
    // Below 500 it commits.
    demo.get("/stream?error=404", Some(&cookie))
        .assert_status(404);
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 4);
}

/// A lock timeout under a local ErrorDocument: the error page's internal
/// redirect carries the failed start on, and does not wait for the lock a
/// second time.
#[test]
fn apache_error_document_after_a_lock_timeout_does_not_wait_again() {
    // Seconds of margin for the writer's 300 ms wait under ASan on a busy
    // machine.
    const HOLD_MS: u64 = 5000;
    // The error page is the counters page (it needs no session).
    let extra = ExtraConf::new(
        "ErrorDocument 503 /busy\n<Location /busy>\n    SetHandler sess-metrics\n</Location>\n",
    );
    let demo = Demo::start_on(
        Host::ApacheInProcess,
        &[("SESS_LOCK_TIMEOUT", "300"), extra.env()],
    );
    let cookie = new_session(&demo);
    while_a_reader_holds(&demo, &cookie, HOLD_MS, || {
        let r = demo.get("/counter", Some(&cookie));
        r.assert_status(503);
        r.assert_no_set_cookie();
        // The ErrorDocument answered (not Apache's "Additionally, a 503
        // error was encountered while trying to use an ErrorDocument").
        assert_eq!(
            sample(
                &r.text(),
                "sess_apache_unavailable_total{cause=\"lock_timeout\"}"
            ),
            1
        );
    });
    one_lock_timeout_counted(&demo, &cookie);
}

/// `GET <path>` to the virtual host `host` on a new connection: the status
/// and the whole response (headers and body).
fn raw_get(demo: &Demo, host: &str, path: &str, cookie: Option<&str>) -> (u16, String) {
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let text = demo.raw(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{cookie}Connection: close\r\n\r\n")
            .as_bytes(),
    );
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("GET {path} (Host: {host}): no status line:\n{text}"));
    (status, text)
}

/// A virtual host with a mod_sess directive of its own (so a server
/// configuration of its own) but no application uses the main server's
/// applications, the same ones (one site per child): a session begun in
/// one host is found in the other.
#[test]
fn apache_virtual_host_uses_the_main_servers_applications() {
    // The first is the default for every name; vhost.test has a directive.
    let extra = ExtraConf::new(
        "<VirtualHost *>\n    ServerName 127.0.0.1\n</VirtualHost>\n\
         <VirtualHost *>\n    ServerName vhost.test\n    \
         <Location /peek>\n        SessionState ReadOnly\n    </Location>\n</VirtualHost>\n",
    );
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let cookie = new_session(&demo);
    let (status, text) = raw_get(&demo, "vhost.test", "/counter", Some(&cookie));
    assert_eq!(status, 200, "{text}");
    assert_eq!(number_after(&text, "count="), Some(2), "{text}");
    let (status, text) = raw_get(&demo, "vhost.test", "/peek", Some(&cookie));
    assert_eq!(status, 200, "{text}");
    assert_eq!(number_after(&text, "count="), Some(2), "{text}");
    // A new session there, found in the default host.
    let (status, text) = raw_get(&demo, "vhost.test", "/counter", None);
    assert_eq!(status, 200, "{text}");
    let c = SetCookie::parse(
        text.lines()
            .find_map(|l| l.trim_end().strip_prefix("Set-Cookie: "))
            .unwrap_or_else(|| panic!("no Set-Cookie:\n{text}")),
    );
    assert_eq!(demo.get("/counter", Some(&c.pair())).count(), 2);
}

/// `SessionApplication On` at a virtual host's server level (as at the main
/// server's) declares that host's root application, its own.
#[test]
fn apache_virtual_host_declares_its_root_application_at_server_level() {
    let extra = ExtraConf::new(
        "<VirtualHost *>\n    ServerName 127.0.0.1\n</VirtualHost>\n\
         <VirtualHost *>\n    ServerName vhost.test\n    SessionApplication On\n    \
         SessionState On\n</VirtualHost>\n",
    );
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let (status, text) = raw_get(&demo, "vhost.test", "/counter", None);
    assert_eq!(status, 200, "{text}");
    assert_eq!(number_after(&text, "count="), Some(1), "{text}");
    let c = raw_set_cookie(&text).unwrap_or_else(|| panic!("no Set-Cookie:\n{text}"));
    let (status, text) = raw_get(&demo, "vhost.test", "/counter", Some(&c.pair()));
    assert_eq!(status, 200, "{text}");
    assert_eq!(number_after(&text, "count="), Some(2), "{text}");
    // Its own application: the main server's does not know the session.
    assert_eq!(demo.get("/counter", Some(&c.pair())).count(), 1);
}

/// The in-process store under an MPM that may run several children: a
/// warning at startup for each application (there are three).
#[test]
fn apache_in_process_store_with_several_children_warns_at_startup() {
    // Two children of 64 threads at most (conf.sh says one).
    let extra = ExtraConf::new("ServerLimit 2\nMaxRequestWorkers 128\n");
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while demo.output().matches(SPLIT_WARNING).count() < 3 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    let out = demo.output();
    assert_eq!(out.matches(SPLIT_WARNING).count(), 3, "{out}");
    for app in [
        "application /",
        "application /search",
        "application /cookieless",
    ] {
        assert!(
            out.contains(&format!("{app} {SPLIT_WARNING}")),
            "{app}: {out}"
        );
    }
    demo.assert_alive("the warning");
}

/// The in-process store in one child that MaxConnectionsPerChild replaces:
/// each new child starts with no sessions (here, with 1, every request
/// has a child of its own and the count never passes 1), so the startup
/// warning says so, once per application, naming the directive.
#[test]
fn apache_in_process_store_with_max_connections_per_child_warns_at_startup() {
    const RECYCLE_WARNING: &str = "loses its sessions whenever a child process is replaced";
    let extra = ExtraConf::new("MaxConnectionsPerChild 1\nKeepAlive Off\n");
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let pair = new_session(&demo);
    assert_eq!(
        demo.get("/counter", Some(&pair)).count(),
        1,
        "a new child knows no session of the last one's"
    );
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while demo.output().matches(RECYCLE_WARNING).count() < 3 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    let out = demo.output();
    assert_eq!(out.matches(RECYCLE_WARNING).count(), 3, "{out}");
    assert!(out.contains("MaxConnectionsPerChild 1"), "{out}");
    // One child at a time: not the several children's warning.
    assert!(!out.contains(SPLIT_WARNING), "{out}");
}

/// `sess_apache_requests_total` (all children), and an application's
/// counters, survive a graceful restart
/// (SIGUSR1), as Apache's own scoreboard totals do: the children of the
/// new generation count on from what the old ones counted (they did not
/// start again from 0, and what the old ones counted while finishing went
/// nowhere the new ones' /metrics showed).
#[test]
fn apache_requests_counter_survives_a_graceful_restart() {
    let requests = |demo: &Demo| {
        let (status, text) = raw_get(demo, "127.0.0.1", "/metrics", None);
        assert_eq!(status, 200, "{text}");
        text.lines()
            .find_map(|l| l.strip_prefix("sess_apache_requests_total "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no sess_apache_requests_total:\n{text}"))
    };
    let demo = Demo::start_on(Host::ApacheLmdb, &[]);
    let pair = new_session(&demo);
    for _ in 0..4 {
        demo.get("/counter", Some(&pair)).assert_status(200);
    }
    let before = requests(&demo);
    assert!(before >= 5, "{before}");
    let old = demo.apache_children();
    // SAFETY: a signal to the Apache this test started.
    unsafe { libc::kill(demo.child.id() as libc::pid_t, libc::SIGUSR1) };
    let deadline = Instant::now() + Duration::from_secs(20);
    while demo.output().matches("resuming normal operations").count() < 2
        || demo.apache_children().iter().any(|c| old.contains(c))
    {
        assert!(
            Instant::now() < deadline,
            "no graceful restart:\n{}",
            demo.output()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let (status, text) = raw_get(&demo, "127.0.0.1", "/counter", Some(&pair));
    assert_eq!((status, number_after(&text, "count=")), (200, Some(6)));
    let after = requests(&demo);
    assert!(after > before, "{before} before the restart, {after} after");
    // The application's counters too: the old children added theirs as
    // they ended, to the slot the new ones find by its host and path.
    let (status, text) = raw_get(&demo, "127.0.0.1", "/metrics", None);
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        metric(&text, "sess_sessions_created_total", "/"),
        1,
        "{text}"
    );
}

/// With several children, `/metrics`' per-application counters are the
/// server's (all children's), not the answering child's: scraped again and
/// again (each scrape on a connection of its own, so by any child),
/// `sess_sessions_created_total` never goes down and comes to the number
/// of requests that created a session. (Each child counted its own, and a
/// scrape showed the answering child's: 10, 6, 10, 4, 10, which
/// Prometheus takes for counter resets.)
#[test]
fn apache_per_application_counters_are_all_childrens() {
    const SESSIONS: u64 = 30;
    let demo = Demo::start_on(Host::ApacheLmdb, &[]);
    assert!(
        demo.apache_children().len() > 1,
        "{:?}",
        demo.apache_children()
    );
    let scrape = || {
        let (status, text) = raw_get(&demo, "127.0.0.1", "/metrics", None);
        assert_eq!(status, 200, "{text}");
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        metric(body, "sess_sessions_created_total", "/")
    };
    let mut last = 0;
    let mut seen = Vec::new();
    let mut next = |seen: &mut Vec<u64>| {
        let now = scrape();
        seen.push(now);
        assert!(now >= last, "the counter went down: {seen:?}");
        last = now;
        now
    };
    // Each on a connection of its own: the children share them out.
    for _ in 0..SESSIONS {
        let (status, text) = raw_get(&demo, "127.0.0.1", "/counter", None);
        assert_eq!((status, number_after(&text, "count=")), (200, Some(1)));
        next(&mut seen);
    }
    // The other children add theirs within a second or so.
    let deadline = Instant::now() + Duration::from_secs(10);
    while next(&mut seen) != SESSIONS {
        assert!(Instant::now() < deadline, "never {SESSIONS}: {seen:?}");
        thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..30 {
        assert_eq!(next(&mut seen), SESSIONS, "{seen:?}");
    }
}
/// The `Set-Cookie` of a raw response (`raw_get`'s text), if any.
fn raw_set_cookie(text: &str) -> Option<SetCookie> {
    text.lines()
        .find_map(|l| l.trim_end().strip_prefix("Set-Cookie: "))
        .map(SetCookie::parse)
}

/// Apache as `host` with `env` (conf.sh's) whose configuration mod_sess
/// must refuse: `apache2 -t` (apachectl configtest) fails, and so does a
/// start, before it listens, and its log says each of `needles` (`what`
/// names the case in a failure's message). What the start printed.
fn apache_refuses_to_start(
    host: Host,
    env: &[(&str, &str)],
    what: &str,
    needles: &[&str],
) -> String {
    let port = free_port();
    let (mut cmd, run) = Demo::apache_command(host, env, port).unwrap_or_else(|e| panic!("{e}"));
    let conf = run.dir.join("httpd.conf");
    let log = run.dir.join("start.log");
    let file = std::fs::File::create(&log).expect("create the start's log");
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone().expect("the start's log"))
        .stderr(file);
    die_with_this_thread(&mut cmd);
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    // The guard stops the server and removes its files, whatever happens.
    let mut demo = Demo {
        child,
        port,
        output: Arc::default(),
        agent: ureq::Agent::config_builder().build().into(),
        host,
        apache: Some(run),
    };
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // A loaded machine may be slow to get there; a server that listens has
    // accepted the configuration.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = demo.child.try_wait().expect("wait for apache") {
            break status;
        }
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "apache started with this configuration; its log:\n{}",
            read_log()
        );
        assert!(
            Instant::now() < deadline,
            "apache neither started nor exited:\n{}",
            read_log()
        );
        thread::sleep(Duration::from_millis(50));
    };
    let out = read_log();
    assert!(!status.success(), "apache exited with {status}:\n{out}");
    let test = apache()
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .stdin(Stdio::null())
        .output()
        .expect("run apache2 -t");
    let test_out =
        String::from_utf8_lossy(&test.stderr).into_owned() + &String::from_utf8_lossy(&test.stdout);
    assert!(
        !test.status.success(),
        "apache2 -t accepted the configuration ({}):\n{test_out}\nthe start's log:\n{out}",
        test.status
    );
    for line in out.lines().filter(|l| l.contains("mod_sess:")) {
        assert!(
            test_out.contains(line.split("mod_sess:").nth(1).unwrap_or(line).trim()),
            "apache2 -t does not say what the start said ({line}):\n{test_out}"
        );
    }
    for needle in needles {
        assert!(
            out.contains(needle),
            "{what}: {needle:?} is not in the log:\n{out}"
        );
    }
    out
}

/// A cookieless application's `(S(<id>))` segment leaves the URI before
/// Apache's per-location configuration is computed: a `<Location>` under
/// the application denies with and without the segment, and the ID is
/// still found on the other pages.
#[test]
fn apache_cookieless_url_id_does_not_bypass_a_location_under_it() {
    let extra = ExtraConf::new(
        "<Location /cookieless/admin>\n    Require all denied\n</Location>\n\
         <Location /cookieless/off>\n    SessionState Off\n</Location>\n",
    );
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let r = demo.get("/cookieless/counter", None);
    r.assert_status(200);
    let id = link_id(&r);
    for path in [
        "/cookieless/admin/counter".to_owned(),
        format!("/cookieless/(S({}))/admin/counter", made_up_id()),
        format!("/cookieless/(S({id}))/admin/counter"),
        format!("/cookieless/(S({id}))/admin/"),
    ] {
        demo.get(&path, None).assert_status(403);
    }
    // The per-location SessionState sees the same path: Off there (the
    // demo's page then has no session state).
    let r = demo.get(&format!("/cookieless/(S({id}))/off/counter"), None);
    r.assert_status(500);
    r.assert_contains("session state is off");
    // The ID in the URL still finds the session, and the denied requests
    // counted nothing.
    let r = demo.get(&format!("/cookieless/(S({id}))/counter"), None);
    r.assert_status(200);
    assert_eq!(r.count(), 2);
    assert_eq!(link_id(&r), id);
}

/// Where Apache's own modules are (`apxs -q LIBEXECDIR`).
fn apache_libexec() -> String {
    let out = Command::new("apxs")
        .args(["-q", "LIBEXECDIR"])
        .output()
        .expect("apxs -q LIBEXECDIR");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A redirect Apache makes itself from the path without the cookieless
/// ID (mod_alias's `Redirect`, as mod_dir's trailing `/`) keeps the ID in
/// its Location when it stays in the application on this server.
#[test]
fn apache_redirects_within_a_cookieless_application_keep_its_url_id() {
    let libexec = apache_libexec();
    let extra = ExtraConf::new(&format!(
        "LoadModule alias_module \"{libexec}/mod_alias.so\"\n\
         <Location /cookieless/inner>\n    SessionApplication On\n</Location>\n\
         <Location /cookieless/twice>\n    SessionApplication On\n    SessionCookieless On\n</Location>\n\
         Redirect /cookieless/old /cookieless/counter\n\
         Redirect /cookieless/top /cookieless/\n\
         Redirect /cookieless/paren /cookieless/wiki/Foo_(bar)\n\
         Redirect /cookieless/query /cookieless/login?next=/cookieless/(S(x))/y\n\
         Redirect /cookieless/away http://elsewhere.test/cookieless/counter\n\
         Redirect /cookieless/out /search/counter\n\
         Redirect /cookieless/deeper /cookieless/inner/counter\n\
         Redirect /cookieless/home /cookieless\n\
         Redirect /cookieless/upper /Cookieless/counter\n\
         AllowEncodedSlashes NoDecode\n"
    ));
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let r = demo.get("/cookieless/counter", None);
    r.assert_status(200);
    let id = link_id(&r);
    let here = format!("http://127.0.0.1:{}", demo.port);
    for (from, to) in [
        (
            format!("/cookieless/(S({id}))/old"),
            format!("{here}/cookieless/(S({id}))/counter"),
        ),
        (
            format!("/cookieless/(S({id}))/top"),
            format!("{here}/cookieless/(S({id}))/"),
        ),
        (
            format!("/cookieless/(S({id}))/paren"),
            format!("{here}/cookieless/(S({id}))/wiki/Foo_(bar)"),
        ),
        (
            format!("/cookieless/(S({id}))/query"),
            format!("{here}/cookieless/(S({id}))/login?next=/cookieless/(S(x))/y"),
        ),
        // Another application's pages, even under this one's path: no ID.
        (
            format!("/cookieless/(S({id}))/deeper"),
            format!("{here}/cookieless/inner/counter"),
        ),
        // The application's own path, and in other letter case.
        (
            format!("/cookieless/(S({id}))/home"),
            format!("{here}/cookieless/(S({id}))/"),
        ),
        (
            format!("/cookieless/(S({id}))/upper"),
            format!("{here}/Cookieless/(S({id}))/counter"),
        ),
        // A page of the nested application behind this one's segment (a
        // relative link from this one's pages): its cookie's path does not
        // cover that URL, so the client is sent to the URL without it.
        (
            format!("/cookieless/(S({id}))/inner/counter?x=1"),
            format!("{here}/cookieless/inner/counter?x=1"),
        ),
        // Its path encoded as the client sent it: an encoded '/' (kept
        // under AllowEncodedSlashes NoDecode) is not encoded again, nor an
        // encoded '%'; an encoded '?' or ' ' stays encoded.
        (
            format!("/cookieless/(S({id}))/inner/a%2Fb?x=1"),
            format!("{here}/cookieless/inner/a%2Fb?x=1"),
        ),
        (
            format!("/cookieless/(S({id}))/inner/a%252Fb"),
            format!("{here}/cookieless/inner/a%252Fb"),
        ),
        (
            format!("/cookieless/(S({id}))/inner/a%3Fb%20c?x=1"),
            format!("{here}/cookieless/inner/a%3Fb%20c?x=1"),
        ),
        (
            "/cookieless/old".into(),
            format!("{here}/cookieless/counter"),
        ),
        (
            format!("/cookieless/(S({id}))/away"),
            "http://elsewhere.test/cookieless/counter".into(),
        ),
        (
            format!("/cookieless/(S({id}))/out"),
            format!("{here}/search/counter"),
        ),
    ] {
        let r = demo.get(&from, None);
        r.assert_status(302);
        assert_eq!(r.header("location").as_deref(), Some(&to[..]), "{from}");
    }
    // Where the redirect points, the session is found.
    let r = demo.get(&format!("/cookieless/(S({id}))/counter"), None);
    assert_eq!(r.count(), 2);
    // The nested application's own session, by cookie.
    let r = demo.get("/cookieless/inner/counter", None);
    assert_eq!(r.count(), 1);
    let c = r.the_set_cookie();
    assert_eq!(c.name, "ASPSESSIONID_cookieless_inner", "{}", c.raw);
    assert_eq!(
        demo.get("/cookieless/inner/counter", Some(&c.pair()))
            .count(),
        2
    );
    let r = demo.get(&format!("/cookieless/(S({id}))/counter"), None);
    assert_eq!(r.count(), 3);
    // A nested cookieless application finds its own ID behind the outer
    // one's segment: no redirect, its session.
    let r = demo.get("/cookieless/twice/counter", None);
    let text = r.text();
    let twice = text
        .split("/cookieless/twice/(S(")
        .nth(1)
        .and_then(|t| t.split("))/").next())
        .unwrap_or_else(|| panic!("no link with an ID:\n{text}"))
        .to_owned();
    let r = demo.get(
        &format!("/cookieless/(S({id}))/twice/(S({twice}))/counter"),
        None,
    );
    r.assert_status(200);
    assert_eq!(r.count(), 2);
}

/// A handler that redirects internally to a page Apache denies before any
/// handler runs (its fixups, where a unit of work begins, never come):
/// the first request's unit of work still commits with the 403 and sends
/// its cookie, also when a local ErrorDocument (a second internal
/// redirect) answers the 403.
#[test]
fn apache_an_internal_redirect_denied_before_its_handler_still_commits() {
    let extra = ExtraConf::stream_test(
        "<Location /stream/denied>\n    Require all denied\n</Location>\n\
         <Location /stream/denied/doc>\n    ErrorDocument 403 /metrics\n</Location>\n",
    );
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    let r = demo.get("/stream?redirect=1", None);
    r.assert_status(403);
    let cookie = r.the_set_cookie().pair();
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 2);
    let r = demo.get("/stream?redirect=2", Some(&cookie));
    r.assert_status(403);
    r.assert_contains("sess_apache_requests_total");
    assert_eq!(demo.get("/stream", Some(&cookie)).count(), 4);
    let r = demo.get("/stream?redirect=2", None);
    r.assert_status(403);
    let fresh = r.the_set_cookie().pair();
    assert_eq!(demo.get("/stream", Some(&fresh)).count(), 2);
}

/// A handler's plain redirect in a cookieless application carries the
/// session's ID as it is when the response leaves: a new session's, the
/// new one after regenerate_id, none after Abandon; none for a URL ID the
/// unit of work found no session for, and the URL's ID where it did not
/// look it up.
#[test]
fn apache_a_handlers_redirect_in_a_cookieless_application_carries_the_id_it_has_now() {
    let extra = ExtraConf::stream_test(&format!(
        "<Location /stream>\n    SessionApplication On\n    SessionCookieless On\n</Location>\n\
         <Location /stream/off>\n    SessionState Off\n</Location>\n\
         LoadModule rewrite_module \"{}/mod_rewrite.so\"\n\
         RewriteEngine On\n\
         RewriteRule ^/stream/home$ /stream [PT]\n",
        apache_libexec()
    ));
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    // The handler counts, then answers 302 to "/stream?after-redirect".
    let redirect = |path: &str| {
        let r = demo.get(path, None);
        r.assert_status(302);
        r.assert_no_set_cookie();
        r.header("location").unwrap_or_default()
    };
    let id_in = |location: &str| {
        let id = location
            .strip_prefix("/stream/(S(")
            .and_then(|rest| rest.strip_suffix("))/?after-redirect"))
            .unwrap_or_else(|| panic!("no ID in {location:?}"));
        id.to_owned()
    };
    let first = id_in(&redirect("/stream?status=302"));
    assert_eq!(demo.get(&format!("/stream/(S({first}))/"), None).count(), 2);
    let second = id_in(&redirect(&format!(
        "/stream/(S({first}))/?status=302&regenerate=1"
    )));
    assert_ne!(second, first);
    assert_eq!(
        demo.get(&format!("/stream/(S({second}))/"), None).count(),
        4
    );
    assert_eq!(
        demo.get(&format!("/stream/(S({first}))/"), None).count(),
        1,
        "old ID dead"
    );
    let gone = redirect(&format!("/stream/(S({second}))/?status=302&abandon=1"));
    assert_eq!(gone, "/stream?after-redirect");
    // A handler that creates no session: its ID if it has one, none for
    // an ID that names no session (the abandoned one, a made-up one).
    let third = id_in(&redirect("/stream?status=302"));
    assert_eq!(
        id_in(&redirect(&format!("/stream/(S({third}))/?peek=1"))),
        third
    );
    for stale in [second, made_up_id()] {
        assert_eq!(
            redirect(&format!("/stream/(S({stale}))/?peek=1")),
            "/stream?after-redirect",
            "{stale}"
        );
    }
    // Under SessionState Off nothing looked the ID up: it is kept; nor
    // when a rewrite to the application's own path left it out of the
    // path the unit of work began with.
    for path in ["off", "home"] {
        assert_eq!(
            id_in(&redirect(&format!("/stream/(S({third}))/{path}?peek=1"))),
            third,
            "{path}"
        );
    }
}

/// A cookieless application at a path of 512 bytes or more (Apache takes
/// request lines up to 8190 bytes) is served as any other: a handler's
/// redirect within it carries the session's ID, one under an ID that names
/// no session carries none, and the handler sees the note naming the
/// application.
#[test]
fn apache_cookieless_application_at_a_long_path_keeps_its_id_in_redirects() {
    let app = format!("/stream/{}", "a".repeat(600));
    let extra = ExtraConf::stream_test(&format!(
        "<Location {app}>\n    SessionApplication On\n    SessionCookieless On\n</Location>\n"
    ));
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    // The handler counts, then redirects to its own path.
    let r = demo.get(&format!("{app}?status=302&here=1"), None);
    r.assert_status(302);
    let location = r.header("location").unwrap_or_default();
    let with_id = format!("{app}/(S(");
    assert!(
        location.starts_with(&with_id) && location.ends_with("))/"),
        "no ID in {location:?}"
    );
    let r = demo.get(&location, None);
    r.assert_status(200);
    assert_eq!(r.count(), 2);
    r.assert_contains(&format!("app={app}\n"));
    let r = demo.get(&format!("{app}/(S({}))/?peek=1&here=1", made_up_id()), None);
    r.assert_status(302);
    assert_eq!(r.header("location"), Some(format!("{app}/")));
}

/// Two virtual hosts, each with an application at /shop (the demo's pages)
/// on `store`, with `a_more` and `b_more` in their `<Location>`s; the
/// default host is the main server's.
fn two_shops(store: &str, a_more: &str, b_more: &str) -> ExtraConf {
    let shop = |name: &str, more: &str| {
        format!(
            "<VirtualHost *>\n    ServerName {name}\n    <Location /shop>\n        \
             SessionApplication On\n        SessionState On\n        \
             SessionStore {store}\n        {more}\n    </Location>\n</VirtualHost>\n"
        )
    };
    ExtraConf::new(&format!(
        "<VirtualHost *>\n    ServerName 127.0.0.1\n</VirtualHost>\n{}{}",
        shop("a.test", a_more),
        shop("b.test", b_more)
    ))
}

/// On a server whose virtual hosts `a.test` and `b.test` have their own
/// /shop: a session of a.test is not adopted by b.test.
fn shops_keep_their_sessions_apart(demo: &Demo) {
    let (status, text) = raw_get(demo, "a.test", "/shop/counter", None);
    assert_eq!(status, 200, "{text}");
    assert_eq!(number_after(&text, "count="), Some(1), "{text}");
    let c = raw_set_cookie(&text).unwrap_or_else(|| panic!("no Set-Cookie:\n{text}"));
    assert_eq!(c.name, "ASPSESSIONID_shop", "{}", c.raw);
    let (status, text) = raw_get(demo, "a.test", "/shop/counter", Some(&c.pair()));
    assert_eq!(status, 200, "{text}");
    assert_eq!(number_after(&text, "count="), Some(2), "{text}");
    // The same ID at b.test: unknown there, so a new session.
    let (status, text) = raw_get(demo, "b.test", "/shop/counter", Some(&c.pair()));
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        number_after(&text, "count="),
        Some(1),
        "b.test adopted a.test's session:\n{text}"
    );
    let other = raw_set_cookie(&text).unwrap_or_else(|| panic!("no Set-Cookie:\n{text}"));
    assert_ne!(other.value, c.value, "{text}");
    let (_, text) = raw_get(demo, "a.test", "/shop/counter", Some(&c.pair()));
    assert_eq!(number_after(&text, "count="), Some(3), "{text}");
}

/// Two virtual hosts' applications at one path on one Redis with one key
/// prefix would share sessions: Apache refuses to start, naming both and
/// SessionKeyPrefix. With a prefix each, their sessions stay apart.
#[test]
fn apache_virtual_hosts_on_one_redis_need_a_key_prefix_each() {
    let prefix = format!("sess:apachetest:{}:{}:", std::process::id(), made_up_id());
    let same = format!("SessionKeyPrefix {prefix}");
    let extra = two_shops(REDIS_URL, &same, &same);
    let env = [("SESS_KEY_PREFIX", prefix.as_str()), extra.env()];
    apache_refuses_to_start(
        Host::ApacheRedis,
        &env,
        "one prefix",
        &[
            "/shop (virtual host a.test",
            "/shop (virtual host b.test",
            &format!("\"{prefix}_shop:\""),
            "SessionKeyPrefix",
        ],
    );
    let extra = two_shops(
        REDIS_URL,
        &format!("SessionKeyPrefix {prefix}a:"),
        &format!("SessionKeyPrefix {prefix}b:"),
    );
    let demo = Demo::start_on(
        Host::ApacheRedis,
        &[("SESS_KEY_PREFIX", prefix.as_str()), extra.env()],
    );
    shops_keep_their_sessions_apart(&demo);
    drop(demo);
    delete_keys(&prefix);
}

/// The message about two applications sharing a Redis namespace names
/// the store without the password of its URL (the library's own messages
/// leave it out too): the error log is no place for it.
#[test]
fn apache_shared_namespace_message_leaves_the_redis_password_out() {
    let url = "redis://shopuser:hunter2secret@127.0.0.1:6379/0";
    let extra = two_shops(url, "", "");
    let out = apache_refuses_to_start(
        Host::ApacheInProcess,
        &[extra.env()],
        "",
        &["would share their sessions", "redis://..@127.0.0.1:6379/0"],
    );
    assert!(!out.contains("hunter2secret"), "{out}");
}

/// An LMDB directory this test makes up (conf.sh makes it); removed when
/// dropped.
struct LmdbDir(PathBuf);

impl LmdbDir {
    fn new() -> LmdbDir {
        LmdbDir(std::env::temp_dir().join(format!(
            "libsess-apache-lmdb-{}-{}",
            std::process::id(),
            made_up_id()
        )))
    }

    fn url(&self) -> String {
        format!("lmdb://{}", self.0.display())
    }
}

impl Drop for LmdbDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The same on one LMDB directory, where an application's name is its path
/// unless SessionStoreName says otherwise.
#[test]
fn apache_virtual_hosts_on_one_lmdb_directory_need_a_store_name_each() {
    let dir = LmdbDir::new();
    let url = dir.url();
    let extra = two_shops(&url, "", "");
    apache_refuses_to_start(
        Host::ApacheLmdb,
        &[("SESS_STORE", url.as_str()), extra.env()],
        "one store name",
        &[
            "/shop (virtual host a.test",
            "/shop (virtual host b.test",
            "\"/shop\"",
            "SessionStoreName",
        ],
    );
    let extra = two_shops(&url, "SessionStoreName shop-a", "SessionStoreName shop-b");
    let demo = Demo::start_on(
        Host::ApacheLmdb,
        &[("SESS_STORE", url.as_str()), extra.env()],
    );
    shops_keep_their_sessions_apart(&demo);
}

/// SessionStoreMapSize sets the LMDB map: under 64 MiB the directory is
/// one environment whose file is the map's length (the default, 1 GiB, is
/// four parts of 256 MiB).
#[test]
fn apache_lmdb_map_size_is_the_directives() {
    let dir = LmdbDir::new();
    let url = dir.url();
    let demo = Demo::start_on(
        Host::ApacheLmdb,
        &[("SESS_STORE", url.as_str()), ("SESS_MAP_SIZE", "8m")],
    );
    let pair = new_session(&demo);
    assert_eq!(demo.get("/counter", Some(&pair)).count(), 2);
    let data = std::fs::metadata(dir.0.join("data.mdb")).expect("data.mdb");
    assert_eq!(data.len(), 8 << 20);
    assert!(!dir.0.join("part-1").exists(), "an 8 MiB map is not split");
}

/// The LMDB settings the library would refuse only in a child (where the
/// directory is opened) stop Apache at start-up, saying why.
#[test]
fn apache_refuses_lmdb_settings_the_library_refuses() {
    for (host, env, needle) in [
        (
            Host::ApacheLmdb,
            ("SESS_MAP_SIZE", "1023K"),
            "SessionStoreMapSize is at least 1M",
        ),
        (
            Host::ApacheLmdb,
            ("SESS_MAP_SIZE", "4X"),
            "takes a size in bytes",
        ),
        (
            Host::ApacheLmdb,
            ("SESS_MAP_SIZE", "16777216T"),
            "too large",
        ),
        (
            Host::ApacheRedis,
            ("SESS_MAP_SIZE", "1G"),
            "apply to an LMDB store",
        ),
        (
            Host::ApacheLmdb,
            ("SESS_LOCK_TTL", "86400001"),
            "outside LMDB's 100 ..= 86400000 ms",
        ),
    ] {
        apache_refuses_to_start(host, &[env], &format!("{env:?}"), &[needle]);
    }
}

/// An LMDB directory the children cannot open (missing; read-only to
/// the children's user) stops Apache at startup and `apache2 -t`, the log
/// naming the application, the directory and the library's code, instead
/// of children whose applications all answer 500.
#[test]
fn apache_refuses_to_start_with_an_lmdb_directory_the_children_cannot_open() {
    use std::os::unix::fs::PermissionsExt;
    let missing = LmdbDir::new();
    let read_only = LmdbDir::new();
    std::fs::create_dir_all(&read_only.0).expect("the read-only directory");
    std::fs::set_permissions(&read_only.0, std::fs::Permissions::from_mode(0o555))
        .expect("chmod 555");
    for dir in [&missing, &read_only] {
        let extra = ExtraConf::new(&format!(
            "<Location /shop>\n    SessionApplication On\n    SessionStore {}\n</Location>\n",
            dir.url()
        ));
        apache_refuses_to_start(
            Host::ApacheInProcess,
            &[extra.env()],
            "",
            &[
                "application /shop (main server",
                &format!("LMDB directory {}", dir.0.display()),
                "0x8004021A",
            ],
        );
    }
}

/// An application's Redis key prefix spells its path one way only: /a/b
/// and /a_b (the path's `/` is `_`, so `_` is `%5F`) keep their sessions
/// apart on one Redis with one SessionKeyPrefix.
#[test]
fn apache_redis_key_prefixes_of_a_b_and_a_underscore_b_differ() {
    let prefix = format!("sess:apachetest:{}:{}:", std::process::id(), made_up_id());
    let app = |path: &str, cookie: &str| {
        format!(
            "<Location {path}>\n    SessionApplication On\n    SessionStore {REDIS_URL}\n    \
             SessionKeyPrefix {prefix}\n    SessionStateCookieName {cookie}\n</Location>\n"
        )
    };
    let extra = ExtraConf::new(&(app("/a/b", "AB") + &app("/a_b", "A_B")));
    let demo = Demo::start_on(
        Host::ApacheRedis,
        &[("SESS_KEY_PREFIX", prefix.as_str()), extra.env()],
    );
    let r = demo.get("/a/b/counter", None);
    r.assert_status(200);
    assert_eq!(r.count(), 1);
    let c = r.the_set_cookie();
    assert_eq!(c.name, "AB", "{}", c.raw);
    assert_eq!(demo.get("/a/b/counter", Some(&c.pair())).count(), 2);
    // /a/b's ID as /a_b's cookie: not adopted.
    let r = demo.get("/a_b/counter", Some(&format!("A_B={}", c.value)));
    r.assert_status(200);
    assert_eq!(r.count(), 1, "/a_b adopted /a/b's session");
    assert_eq!(r.the_set_cookie().name, "A_B");
    let under = |p: &str| {
        let client = redis::Client::open(REDIS_URL).expect("redis URL");
        let mut con = client.get_connection().expect("Redis on 127.0.0.1:6379");
        redis::cmd("KEYS")
            .arg(format!("{p}*"))
            .query::<Vec<String>>(&mut con)
            .expect("KEYS")
    };
    assert!(!under(&format!("{prefix}_a_b:")).is_empty(), "no /a/b keys");
    assert!(
        !under(&format!("{prefix}_a%5Fb:")).is_empty(),
        "no /a_b keys"
    );
    drop(demo);
    delete_keys(&prefix);
}

/// A store's directive in an application of another store would do
/// nothing (a SessionStoreName on Redis names nothing, a SessionKeyPrefix
/// on LMDB prefixes nothing): it stops Apache at startup, naming it.
#[test]
fn apache_refuses_a_stores_directive_in_an_application_of_another_store() {
    let lmdb = "SessionStore lmdb:///nonexistent-libsess-test-dir";
    let redis = "SessionStore redis://127.0.0.1:6379/0";
    let lmdb_only = "SessionStoreName, SessionStoreMapSize and SessionStoreDurable apply to an \
                     LMDB store";
    let redis_only = "SessionKeyPrefix applies to a Redis store";
    let shared_only = "SessionStoreLockTTL applies to a Redis or LMDB store";
    for (lines, needle) in [
        ("SessionStoreName shop", lmdb_only),
        (&format!("{redis}\n    SessionStoreName shop"), lmdb_only),
        ("SessionStoreDurable On", lmdb_only),
        ("SessionKeyPrefix shop:", redis_only),
        (&format!("{lmdb}\n    SessionKeyPrefix shop:"), redis_only),
        ("SessionStoreLockTTL 5000", shared_only),
    ] {
        let extra = ExtraConf::new(&format!(
            "<Location /shop>\n    SessionApplication On\n    {lines}\n</Location>\n"
        ));
        apache_refuses_to_start(
            Host::ApacheInProcess,
            &[extra.env()],
            lines,
            &["application /shop (main server", needle],
        );
    }
}

/// An application's setting in a scope that declares no application does
/// nothing (settings are not inherited: SessionStore at server level left
/// every application on the in-process store, each child with its own
/// sessions; SessionTimeout in a <Location> under an application kept the
/// application's): Apache refuses to start, naming the directive and
/// where it is.
#[test]
fn apache_refuses_an_application_setting_outside_an_application() {
    for (conf, needles) in [
        (
            "SessionStore redis://127.0.0.1:6379/0\n",
            &["SessionStore", "line 1", "declares no application"][..],
        ),
        (
            "<Location /search/admin>\n    SessionState On\n    SessionTimeout 5\n</Location>\n",
            &["SessionTimeout", "line 3", "declares no application"][..],
        ),
        (
            "<VirtualHost *>\n    ServerName v.test\n    <Location /shop>\n        \
             SessionStateCookieName SHOP\n    </Location>\n</VirtualHost>\n",
            &[
                "SessionStateCookieName",
                "line 4",
                "declares no application",
            ][..],
        ),
    ] {
        let extra = ExtraConf::new(conf);
        let file = extra.0.to_str().expect("UTF-8 path");
        apache_refuses_to_start(
            Host::ApacheInProcess,
            &[extra.env()],
            conf,
            &[needles, &[file]].concat(),
        );
    }
    // Said with the application, in one scope or the server's: accepted.
    let extra = ExtraConf::new(
        "<Location /shop>\n    SessionTimeout 5\n    SessionApplication On\n</Location>\n",
    );
    let demo = Demo::start_on(Host::ApacheInProcess, &[extra.env()]);
    demo.assert_alive("an application's settings before its SessionApplication");
}

/// A SessionTimeout out of range is reported as Apache reports a bad
/// directive: its name, its range in minutes and its own line (not the
/// library's option name at the SessionApplication's line).
#[test]
fn apache_refuses_a_session_timeout_out_of_range_at_its_line() {
    for timeout in ["0", "525601"] {
        let extra = ExtraConf::new(&format!(
            "<Location /shop>\n    SessionApplication On\n    SessionTimeout {timeout}\n\
             </Location>\n"
        ));
        let file = extra.0.to_str().expect("UTF-8 path");
        apache_refuses_to_start(
            Host::ApacheInProcess,
            &[extra.env()],
            timeout,
            &[
                &format!("line 3 of {file}"),
                "SessionTimeout is 1 to 525600 minutes",
            ],
        );
    }
}

/// What the library refuses in an application's settings stops Apache at
/// startup (and `apache2 -t`), the log naming the application and the
/// problem, instead of every request of the server answering 500.
#[test]
fn apache_refuses_to_start_with_an_application_the_library_refuses() {
    for (conf, needles) in [
        (
            "<Location /shop>\n    SessionApplication On\n    \
             SessionStateCookieDomain .example.com\n</Location>\n",
            &["application /shop", "cookie domain \".example.com\""][..],
        ),
        (
            "<Location /shop>\n    SessionApplication On\n    \
             SessionStateCookieDomain co.uk\n</Location>\n",
            &[
                "application /shop",
                "cookie domain \"co.uk\" is a public suffix",
            ][..],
        ),
        (
            "<Location /search>\n    SessionApplication On\n</Location>\n",
            &[
                "application /search",
                "declared twice",
                "/search (main server",
            ][..],
        ),
        (
            "<Location /shop>\n    SessionApplication On\n    \
             SessionStateCookieName ASPSESSIONID_search\n</Location>\n",
            &["application /shop", "used by another application"][..],
        ),
        // Redis settings: checked without connecting (no Redis needed).
        (
            "<Location /shop>\n    SessionApplication On\n    \
             SessionStore redis://127.0.0.1:notaport/0\n</Location>\n",
            &["application /shop", "redis url"][..],
        ),
        (
            "<Location /shop>\n    SessionApplication On\n    \
             SessionStore redis://127.0.0.1:6379/0\n    \
             SessionStoreLockTTL 90000000\n</Location>\n",
            &["application /shop", "lock_ttl must be 1 ms ..= 24 h"][..],
        ),
        (
            &format!(
                "<Location /shop>\n    SessionApplication On\n    \
                 SessionStore redis://127.0.0.1:6379/0\n    \
                 SessionKeyPrefix {}\n</Location>\n",
                "k".repeat(130)
            ),
            &["application /shop", "key_prefix must be 1..=128 bytes"][..],
        ),
    ] {
        let extra = ExtraConf::new(conf);
        apache_refuses_to_start(Host::ApacheInProcess, &[extra.env()], conf, needles);
    }
}
