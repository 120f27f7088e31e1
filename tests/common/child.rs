//! Child processes for the multi-process tests: this test binary run again
//! (its `child_process` test, with `SESS_CHILD_ROLE` set) to play a role,
//! with every wait bounded.

// Each test binary uses only some of these.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// This test binary, run again to play `role` (its `child_process` test).
pub fn spawn_child(role: &str, env: &[(&str, String)]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SESS_CHILD_ROLE", role)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the test binary")
}

/// Waits at most `limit` for `c`; kills it past that.
pub fn wait_bounded(c: &mut Child, limit: Duration) -> ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(status) = c.try_wait().unwrap() {
            return status;
        }
        if t.elapsed() > limit {
            let _ = c.kill();
            let _ = c.wait();
            panic!("a child process ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads `c`'s stdout lines until one ends with `want` (at most `limit`);
/// the lines before it.
pub fn await_line(c: &mut Child, want: &str, limit: Duration) -> Vec<String> {
    let out = c.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let want = want.to_owned();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(out).lines() {
            match line {
                Ok(l) if l.trim_end().ends_with(&want) => {
                    let _ = tx.send(std::mem::take(&mut seen));
                }
                Ok(l) => seen.push(l),
                Err(_) => return,
            }
        }
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("the child never printed the expected line"))
}

/// The environment variable `name` a child was given.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}
