//! The client's estimate of the Redis server's clock, so that the scripts
//! of a writing request need not read `TIME` themselves.
//!
//! Lock leases are the server's clock (see `scripts/lib/lock.lua`). A new
//! lease's end is the server's now plus the lock TTL; reading `TIME` inside
//! the acquire script for it costs about a microsecond of the server's
//! (single) CPU per request. Instead the client estimates the server's
//! now, as NTP does: a `TIME` round trip gives the server's clock at some
//! moment between sending and receiving, so the server's clock is the
//! client's monotonic clock plus an offset known to within half the round
//! trip. A measurement is taken when the estimate is older than
//! [`REFRESH`] (by one caller, the others go on with the old one); one
//! whose round trip took longer than [`MAX_RTT`] is not used.
//!
//! The estimate only ever places the end of a lease being written (by at
//! most its error, [`ERROR`], against a lease of minutes); whether a lease
//! someone else wrote is still held is always the server's own judgement
//! (`TIME`, in the script). A server clock stepped after a measurement
//! misplaces the leases this process writes until the next one: a lease
//! written as already ended lets another request take the lock, and then
//! this request's save is refused (the lock is no longer its), so no update
//! is lost.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::ms;

/// How old an estimate may grow before a caller measures again.
const REFRESH: Duration = Duration::from_secs(10);
/// How old an estimate may grow before it is not used at all (a refresh
/// that keeps failing): the scripts then read `TIME` themselves.
const MAX_AGE: Duration = Duration::from_secs(30);
/// The longest `TIME` round trip whose reply is used.
const MAX_RTT: Duration = Duration::from_millis(20);
/// How far the estimate can be from the server's clock: half the longest
/// round trip used, plus what two clocks can drift apart (500 ppm, far
/// beyond a working quartz's) over [`MAX_AGE`], rounded up.
pub(super) const ERROR: Duration = Duration::from_millis(30);

/// An estimate of one server's clock (module docs).
pub(super) struct ServerClock {
    /// What the client's monotonic milliseconds are counted from.
    base: Instant,
    /// The server's ms minus the client's (since `base`) at the last
    /// measurement.
    offset_ms: AtomicI64,
    /// The client's ms (since `base`) at the last measurement; `u64::MAX`:
    /// none yet.
    measured_ms: AtomicU64,
    /// Who is measuring now: the [`tag`] of the measurer's fork
    /// generation, or 0 for nobody.
    measuring: AtomicU64,
}

/// What [`ServerClock::measuring`] holds while a thread of fork
/// `generation` measures. A child forked while its parent measured finds
/// the parent's tag there, which no thread of its own will clear, and
/// measures as if nobody were.
fn tag(generation: u32) -> u64 {
    u64::from(generation) + 1
}

impl ServerClock {
    pub(super) fn new() -> ServerClock {
        ServerClock {
            base: Instant::now(),
            offset_ms: AtomicI64::new(0),
            measured_ms: AtomicU64::new(u64::MAX),
            measuring: AtomicU64::new(0),
        }
    }

    fn local_ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    /// The server's clock now, in ms, if a usable estimate exists. If it is
    /// due for a refresh, and nobody else is measuring, `measure` runs (a
    /// `TIME` call: when it was sent, when its reply came, the server's
    /// ms); its failure is this call's.
    pub(super) fn now_ms<E>(
        &self,
        measure: impl FnOnce() -> Result<(Instant, Instant, u64), E>,
    ) -> Result<Option<u64>, E> {
        let now = self.local_ms(Instant::now());
        let measured = self.measured_ms.load(Ordering::Acquire);
        let age = now.saturating_sub(measured);
        if (measured == u64::MAX || age >= ms(REFRESH)) && self.start_measuring() {
            let outcome = measure();
            if let Ok((sent, received, server_ms)) = &outcome {
                self.record(*sent, *received, *server_ms);
            }
            self.measuring.store(0, Ordering::Release);
            outcome?;
        }
        Ok(self.estimate(self.local_ms(Instant::now())))
    }

    /// Whether this caller is the one to measure: nobody of this process
    /// is measuring already.
    fn start_measuring(&self) -> bool {
        let mine = tag(crate::fork::generation());
        let held = self.measuring.load(Ordering::Relaxed);
        held != mine
            && self
                .measuring
                .compare_exchange(held, mine, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// The estimate at the client's `local` ms, if one is fresh enough.
    fn estimate(&self, local: u64) -> Option<u64> {
        let measured = self.measured_ms.load(Ordering::Acquire);
        if measured == u64::MAX || local.saturating_sub(measured) >= ms(MAX_AGE) {
            return None;
        }
        let offset = self.offset_ms.load(Ordering::Relaxed);
        u64::try_from(i128::from(local) + i128::from(offset)).ok()
    }

    /// Takes a measurement: the server read `server_ms` between `sent` and
    /// `received`; taken as at the midpoint, if the round trip was short.
    fn record(&self, sent: Instant, received: Instant, server_ms: u64) {
        let rtt = received.saturating_duration_since(sent);
        if rtt > MAX_RTT {
            return;
        }
        let mid = self.local_ms(sent + rtt / 2);
        let offset = i128::from(server_ms) - i128::from(mid);
        let Ok(offset) = i64::try_from(offset) else {
            return;
        };
        self.offset_ms.store(offset, Ordering::Relaxed);
        self.measured_ms.store(mid, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_follows_the_servers_clock_from_a_measurement() {
        let c = ServerClock::new();
        let sent = Instant::now();
        let server = 1_700_000_000_000;
        let got = c
            .now_ms(|| Ok::<_, ()>((sent, sent + Duration::from_millis(2), server)))
            .unwrap()
            .unwrap();
        // The server's clock at the round trip's midpoint, moved on by the
        // time since (however long a busy machine made it).
        let since = u64::try_from(sent.elapsed().as_millis()).unwrap();
        assert!(
            got + 2 >= server && got <= server + since + 1,
            "{got} vs {server} (+{since} ms)"
        );
        // Fresh: no second measurement.
        let later = c.now_ms(|| -> Result<_, ()> { panic!("measured again") });
        assert!(later.unwrap().unwrap() >= got);
    }

    #[test]
    fn a_slow_round_trip_is_not_used_and_a_failure_is_the_callers() {
        let c = ServerClock::new();
        let sent = Instant::now();
        let slow = c.now_ms(|| Ok::<_, ()>((sent, sent + MAX_RTT * 2, 5)));
        assert_eq!(slow, Ok(None));
        assert_eq!(
            c.now_ms(|| Err::<(Instant, Instant, u64), _>("down")),
            Err("down")
        );
        // Measured again next time (nothing usable yet).
        let ok = c.now_ms(|| Ok::<_, ()>((sent, sent, 1_000_000)));
        assert!(ok.unwrap().is_some());
    }

    #[test]
    fn a_measurement_under_way_holds_off_others_but_not_a_forked_child() {
        let c = ServerClock::new();
        let generation = crate::fork::generation();
        let now = Instant::now();
        c.measuring.store(tag(generation), Ordering::Relaxed);
        let held_off = c.now_ms(|| -> Result<_, ()> { panic!("measured twice at once") });
        assert_eq!(held_off, Ok(None));
        // As in a child forked while its parent measured.
        c.measuring
            .store(tag(generation.wrapping_sub(1)), Ordering::Relaxed);
        let got = c.now_ms(|| Ok::<_, ()>((now, now, 1_000_000)));
        assert!(got.unwrap().is_some());
        assert_eq!(c.measuring.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn an_estimate_too_old_is_not_used() {
        let c = ServerClock::new();
        let long_ago = Instant::now();
        c.record(long_ago, long_ago, 1_000_000);
        let local = c.local_ms(long_ago) + ms(MAX_AGE);
        assert_eq!(c.estimate(local), None);
        assert_eq!(c.estimate(local - 1), Some(1_000_000 + ms(MAX_AGE) - 1));
    }
}
