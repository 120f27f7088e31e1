//! Latency samples summed up as percentiles (exact: the samples are sorted,
//! no histogram buckets).

use std::fmt;

/// Percentiles of a set of latencies, in nanoseconds.
#[derive(Clone, Copy, Debug)]
pub struct Percentiles {
    /// How many samples.
    pub n: usize,
    /// The median.
    pub p50: u64,
    /// The 99th percentile.
    pub p99: u64,
    /// The 99.9th percentile.
    pub p999: u64,
    /// The largest.
    pub max: u64,
}

impl Percentiles {
    /// The percentiles of `samples` (sorted in place); `None` if empty.
    pub fn of(samples: &mut [u64]) -> Option<Percentiles> {
        samples.sort_unstable();
        let n = samples.len();
        // The nearest-rank percentile: the smallest sample with at least
        // p of all samples at or below it.
        let at = |p: f64| samples[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        (n > 0).then(|| Percentiles {
            n,
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: samples[n - 1],
        })
    }

    /// The median, over several runs, of each percentile.
    pub fn median(runs: &[Percentiles]) -> Option<Percentiles> {
        let mid = |f: fn(&Percentiles) -> u64| {
            let mut v: Vec<u64> = runs.iter().map(f).collect();
            v.sort_unstable();
            v[(v.len() - 1) / 2]
        };
        (!runs.is_empty()).then(|| Percentiles {
            n: mid(|p| p.n as u64) as usize,
            p50: mid(|p| p.p50),
            p99: mid(|p| p.p99),
            p999: mid(|p| p.p999),
            max: mid(|p| p.max),
        })
    }
}

/// Nanoseconds as µs with two decimals.
pub fn us(ns: u64) -> String {
    format!("{:.2}", ns as f64 / 1000.0)
}

impl fmt::Display for Percentiles {
    /// A Markdown table row's cells: n, then p50, p99, p99.9, max in µs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} | {} | {} | {} | {}",
            self.n,
            us(self.p50),
            us(self.p99),
            us(self.p999),
            us(self.max)
        )
    }
}
