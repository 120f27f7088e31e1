//! The library's own threads (the expiry sweeper, the LMDB store's slide
//! flusher) start with every asynchronous signal blocked. A signal sent to
//! the process (SIGTERM, SIGHUP, SIGINT, SIGUSR1, ...) then reaches one of
//! the host's threads, never one of ours: a host that blocks signals in
//! its threads to take them with `sigwait` or `signalfd`, or whose handler
//! runs its shutdown (Apache prefork's SIGTERM), keeps them. Signals a
//! fault raises in the thread itself (SIGSEGV, SIGBUS, ...) stay open.

use std::thread::{Builder, JoinHandle};

/// Signals raised by the thread's own fault or call, left unblocked.
#[cfg(not(miri))]
const SYNCHRONOUS: [libc::c_int; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGSYS,
    libc::SIGABRT,
];

/// Spawns `f` on a new thread named `name`, asynchronous signals blocked
/// in it (the calling thread's mask is set back as it was).
pub(crate) fn spawn<F, T>(name: &str, f: F) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let builder = Builder::new().name(name.into());
    #[cfg(not(miri))]
    {
        // SAFETY: a zeroed sigset_t is a valid argument to sigfillset,
        // which initialises it; the masks are this thread's own, set back
        // before returning. A new thread inherits the mask it is made with.
        unsafe {
            let mut blocked: libc::sigset_t = std::mem::zeroed();
            let mut was: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut blocked);
            for s in SYNCHRONOUS {
                libc::sigdelset(&mut blocked, s);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &blocked, &mut was);
            let spawned = builder.spawn(f);
            libc::pthread_sigmask(libc::SIG_SETMASK, &was, std::ptr::null_mut());
            spawned
        }
    }
    #[cfg(miri)]
    builder.spawn(f)
}

#[cfg(test)]
mod tests {
    /// The blocked signals of this process's thread named `name`, from
    /// /proc (`SigBlk`, a hexadecimal mask: bit n-1 is signal n).
    fn blocked_in(name: &str) -> Option<u64> {
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            let dir = task.ok()?.path();
            let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
            if comm.trim_end() == name {
                let status = std::fs::read_to_string(dir.join("status")).ok()?;
                let mask = status.lines().find_map(|l| l.strip_prefix("SigBlk:"))?;
                return u64::from_str_radix(mask.trim(), 16).ok();
            }
        }
        None
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc")]
    fn a_library_thread_blocks_the_hosts_signals_and_not_its_faults() {
        let (started, stop) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        let shared = std::sync::Arc::new((started, stop));
        let inner = shared.clone();
        let t = super::spawn("sess-test-mask", move || {
            inner.0.wait();
            inner.1.wait();
        })
        .unwrap();
        shared.0.wait();
        let mask = blocked_in("sess-test-mask").expect("the thread's status");
        shared.1.wait();
        t.join().unwrap();
        let bit = |s: libc::c_int| 1u64 << (s - 1);
        for s in [
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGUSR1,
            libc::SIGPIPE,
        ] {
            assert_ne!(mask & bit(s), 0, "signal {s} blocked: mask {mask:#x}");
        }
        for s in [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE] {
            assert_eq!(mask & bit(s), 0, "signal {s} open: mask {mask:#x}");
        }
        // The spawning thread's own mask is as it was.
        assert_eq!(blocked_in_self() & bit(libc::SIGTERM), 0);
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc")]
    fn the_expiry_thread_blocks_the_hosts_signals() {
        let app = crate::app::App::new(crate::app::AppOptions {
            expiry_interval: Some(std::time::Duration::from_secs(3600)),
            ..Default::default()
        })
        .unwrap();
        // The thread has started once App::new returns (its phase).
        let mask = blocked_in("sess-expiry").expect("an expiry thread");
        assert_ne!(mask & (1 << (libc::SIGTERM - 1)), 0, "mask {mask:#x}");
        drop(app);
    }

    /// This thread's blocked signals.
    fn blocked_in_self() -> u64 {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let mask = status
            .lines()
            .find_map(|l| l.strip_prefix("SigBlk:"))
            .unwrap();
        u64::from_str_radix(mask.trim(), 16).unwrap()
    }
}
