//! Latency histograms (HDR, microseconds) and their summaries.

use std::time::Duration;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency recorded without saturating: one hour.
const MAX_US: u64 = 3_600_000_000;

/// An HDR histogram of latencies in microseconds (3 significant digits).
#[derive(Debug, Clone)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Latency {
    /// An empty histogram.
    pub fn new() -> Self {
        Latency {
            hist: Histogram::new_with_bounds(1, MAX_US, 3)
                .expect("1..1h with 3 digits is a valid HDR histogram"),
        }
    }

    /// Records one latency (clamped to 1 µs .. 1 h).
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(MAX_US);
        self.hist.saturating_record(us.clamp(1, MAX_US));
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Latency) -> Result<()> {
        self.hist
            .add(&other.hist)
            .context("merging latency histograms")
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// The summary: count, mean, p50/p99/p999, max.
    pub fn summary(&self) -> Summary {
        let q = |p: f64| {
            if self.hist.is_empty() {
                0
            } else {
                self.hist.value_at_quantile(p)
            }
        };
        Summary {
            count: self.hist.len(),
            mean_us: if self.hist.is_empty() {
                0.0
            } else {
                self.hist.mean()
            },
            p50_us: q(0.5),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: if self.hist.is_empty() {
                0
            } else {
                self.hist.max()
            },
        }
    }

    /// The distribution as `(latency_us, fraction of samples)` points over
    /// logarithmic buckets (each 25 % wider than the last), for plots.
    pub fn distribution(&self) -> Vec<(f64, f64)> {
        let total = self.hist.len();
        if total == 0 {
            return Vec::new();
        }
        let lowest = self.hist.min().max(1);
        self.hist
            .iter_log(lowest, 1.25)
            .map(|v| {
                (
                    v.value_iterated_to() as f64,
                    v.count_since_last_iteration() as f64 / total as f64,
                )
            })
            .collect()
    }
}

impl Default for Latency {
    fn default() -> Self {
        Latency::new()
    }
}

/// What a latency histogram says, in microseconds.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

/// `amount` per second over `secs`, or 0 when no time passed.
pub fn per_second(amount: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        amount / secs
    } else {
        0.0
    }
}

/// `a / b`, or `None` when `b` is zero (a ratio that means nothing).
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

/// Ratios of two summaries' percentiles (`a / b`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SummaryRatio {
    /// p50 ratio.
    pub p50: Option<f64>,
    /// p99 ratio.
    pub p99: Option<f64>,
    /// p999 ratio.
    pub p999: Option<f64>,
}

impl SummaryRatio {
    /// `a / b` percentile by percentile.
    pub fn of(a: &Summary, b: &Summary) -> Self {
        SummaryRatio {
            p50: ratio(a.p50_us as f64, b.p50_us as f64),
            p99: ratio(a.p99_us as f64, b.p99_us as f64),
            p999: ratio(a.p999_us as f64, b.p999_us as f64),
        }
    }
}

/// Counts failures and keeps the first one's text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Failures {
    /// How many.
    pub count: u64,
    /// The first, as text.
    pub first: Option<String>,
}

impl Failures {
    /// Notes one failure.
    pub fn note(&mut self, what: impl std::fmt::Display) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(what.to_string());
        }
    }

    /// Adds `other`'s failures.
    pub fn absorb(&mut self, other: &Failures) {
        self.count += other.count;
        if self.first.is_none() {
            self.first.clone_from(&other.first);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_samples() {
        let mut h = Latency::new();
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        // 3 significant digits: within 0.1 %.
        assert!((49_950..=50_050).contains(&s.p50_us), "{s:?}");
        assert!((98_900..=99_100).contains(&s.p99_us), "{s:?}");
        assert!(s.max_us >= 99_900);
        let dist = h.distribution();
        let total: f64 = dist.iter().map(|(_, f)| f).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn ratios_refuse_a_zero_denominator() {
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(3.0, 2.0), Some(1.5));
        let mut f = Failures::default();
        f.note("first");
        f.note("second");
        assert_eq!(f.count, 2);
        assert_eq!(f.first.as_deref(), Some("first"));
    }
}
