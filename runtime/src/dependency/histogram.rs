//! `bulwark_call_duration_seconds`: a fixed-bucket histogram owned by the dependency, recorded on
//! the caller's path without allocation and rendered in Prometheus text format at scrape time.
//!
//! A `metrics` histogram behind the Prometheus exporter costs ≈ 41 ns per `record` here and
//! allocates a block every 64 records; this one costs one bucket search and two relaxed atomic
//! adds on the caller's own stripe. The price: the series is rendered by
//! [`Runtime::render_metrics`](crate::runtime::Runtime::render_metrics), which the gateway appends
//! to the exporter's output, rather than by the installed `metrics` recorder.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

use super::striped::{STRIPES, stripe};

/// Upper bounds of the buckets, in seconds (Prometheus' defaults, extended down to 100 µs for
/// in-process dependencies and up to 30 s for LLM calls).
pub const BUCKETS_SECONDS: [f64; 15] = [
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];

const fn to_nanos(secs: f64) -> u64 {
    (secs * 1e9) as u64
}

const BOUNDS_NANOS: [u64; 15] = {
    let mut out = [0u64; 15];
    let mut i = 0;
    while i < 15 {
        out[i] = to_nanos(BUCKETS_SECONDS[i]);
        i += 1;
    }
    out
};

/// One stripe: a count per bucket (+Inf last) and the sum of durations.
#[derive(Debug, Default)]
struct Stripe {
    buckets: [AtomicU64; 16],
    sum_nanos: AtomicU64,
}

/// A duration histogram.
#[derive(Debug, Default)]
pub(crate) struct DurationHistogram([CachePadded<Stripe>; STRIPES]);

impl DurationHistogram {
    #[inline]
    pub(crate) fn record(&self, nanos: u64) {
        let bucket = BOUNDS_NANOS.iter().position(|b| nanos <= *b).unwrap_or(15);
        let s = &self.0[stripe()];
        s.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        s.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Total count per bucket (non-cumulative) and the sum in nanoseconds.
    fn read(&self) -> ([u64; 16], u64) {
        let mut counts = [0u64; 16];
        let mut sum = 0u64;
        for s in &self.0 {
            for (c, b) in counts.iter_mut().zip(&s.buckets) {
                *c += b.load(Ordering::Relaxed);
            }
            sum = sum.wrapping_add(s.sum_nanos.load(Ordering::Relaxed));
        }
        (counts, sum)
    }

    /// Appends this histogram's series for `dependency` (and `endpoint`, for an endpoint of a
    /// pool) in Prometheus text format.
    pub(crate) fn render(
        &self,
        name: &str,
        dependency: &str,
        endpoint: Option<&str>,
        out: &mut String,
    ) {
        let (counts, sum) = self.read();
        let mut label = escape(dependency);
        if let Some(endpoint) = endpoint {
            label.push_str("\",endpoint=\"");
            label.push_str(&escape(endpoint));
        }
        let mut cumulative = 0u64;
        for (i, count) in counts.iter().enumerate() {
            cumulative += count;
            let le = BUCKETS_SECONDS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{dependency=\"{label}\",le=\"{le}\"}} {cumulative}"
            );
        }
        #[allow(clippy::cast_precision_loss)]
        let sum_secs = sum as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{dependency=\"{label}\"}} {sum_secs}");
        let _ = writeln!(out, "{name}_count{{dependency=\"{label}\"}} {cumulative}");
    }
}

/// Escapes a label value (backslash, quote, newline) for the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_sum_is_seconds() {
        let h = DurationHistogram::default();
        h.record(50_000); // 50 µs
        h.record(2_000_000); // 2 ms
        h.record(60_000_000_000); // 60 s: +Inf only
        let mut out = String::new();
        h.render("x", "dep\"1", None, &mut out);
        assert!(
            out.contains("x_bucket{dependency=\"dep\\\"1\",le=\"0.0001\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("x_bucket{dependency=\"dep\\\"1\",le=\"0.0025\"} 2\n"));
        assert!(out.contains("x_bucket{dependency=\"dep\\\"1\",le=\"30\"} 2\n"));
        assert!(out.contains("x_bucket{dependency=\"dep\\\"1\",le=\"+Inf\"} 3\n"));
        assert!(out.contains("x_count{dependency=\"dep\\\"1\"} 3\n"));
        assert!(
            out.contains("x_sum{dependency=\"dep\\\"1\"} 60.00205\n"),
            "{out}"
        );
    }

    #[test]
    fn an_endpoint_is_a_second_label() {
        let h = DurationHistogram::default();
        h.record(1_000);
        let mut out = String::new();
        h.render("x", "model", Some("a"), &mut out);
        assert!(
            out.contains("x_count{dependency=\"model\",endpoint=\"a\"} 1\n"),
            "{out}"
        );
    }
}
