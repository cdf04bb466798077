//! What the load generator saw: every request's outcome and latency, aggregated.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// How one request ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer; `degraded` when a fallback produced it.
    Answered {
        /// Whether the body said `"degraded": true`.
        degraded: bool,
    },
    /// A non-2xx answer in the standard error format.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The body's `error_code` (`UNKNOWN` when the body was not the standard format).
        code: String,
    },
    /// No answer before the client gave up (deadline plus grace).
    NoAnswer,
    /// The connection failed (refused, reset).
    Transport,
    /// Not sent: the generator's own in-flight bound was full.
    NotSent,
}

/// Aggregated results of a run (or of one second of it).
#[derive(Debug, Clone)]
pub struct Tally {
    /// Requests started.
    pub requests: u64,
    /// Answered (any status) within the deadline.
    pub within_deadline: u64,
    /// 2xx answers.
    pub answered: u64,
    /// 2xx answers a fallback produced.
    pub degraded: u64,
    /// Non-2xx answers and failures by error code (`NO_ANSWER`, `TRANSPORT`, `NOT_SENT` for those
    /// without a body).
    pub errors: BTreeMap<String, u64>,
    /// Latency of every answered request, in microseconds.
    pub latency: Histogram<u64>,
    /// Latency of refusals (503 and 429), in microseconds.
    pub refusal_latency: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            requests: 0,
            within_deadline: 0,
            answered: 0,
            degraded: 0,
            errors: BTreeMap::new(),
            latency: histogram(),
            refusal_latency: histogram(),
        }
    }
}

/// Microseconds from 1 µs to 10 minutes, 3 significant digits.
#[allow(clippy::expect_used)] // constant, valid bounds (the unit tests build one)
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

impl Tally {
    /// Adds one request.
    pub fn record(&mut self, outcome: &Outcome, latency: Duration, deadline: Duration) {
        self.requests += 1;
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let answered_at_all = matches!(outcome, Outcome::Answered { .. } | Outcome::Refused { .. });
        if answered_at_all {
            self.latency.saturating_record(micros);
            if latency <= deadline {
                self.within_deadline += 1;
            }
        }
        match outcome {
            Outcome::Answered { degraded } => {
                self.answered += 1;
                self.degraded += u64::from(*degraded);
            }
            Outcome::Refused { status, code } => {
                if matches!(status, 429 | 503) {
                    self.refusal_latency.saturating_record(micros);
                }
                *self.errors.entry(code.clone()).or_default() += 1;
            }
            Outcome::NoAnswer => *self.errors.entry("NO_ANSWER".to_owned()).or_default() += 1,
            Outcome::Transport => *self.errors.entry("TRANSPORT".to_owned()).or_default() += 1,
            Outcome::NotSent => *self.errors.entry("NOT_SENT".to_owned()).or_default() += 1,
        }
    }

    /// Adds another tally to this one.
    pub fn merge(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.within_deadline += other.within_deadline;
        self.answered += other.answered;
        self.degraded += other.degraded;
        for (code, n) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.refusal_latency.add(&other.refusal_latency);
    }

    /// Share of 2xx answers.
    pub fn availability(&self) -> f64 {
        share(self.answered, self.requests)
    }

    /// A latency quantile in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

/// `part / whole`, 1.0 for an empty whole (nothing failed).
pub(crate) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_add_up() {
        let mut t = Tally::default();
        let deadline = Duration::from_secs(1);
        t.record(
            &Outcome::Answered { degraded: false },
            Duration::from_millis(10),
            deadline,
        );
        t.record(
            &Outcome::Answered { degraded: true },
            Duration::from_millis(20),
            deadline,
        );
        t.record(
            &Outcome::Refused {
                status: 503,
                code: "DEPENDENCY_ERROR".into(),
            },
            Duration::from_millis(2),
            deadline,
        );
        t.record(
            &Outcome::Answered { degraded: false },
            Duration::from_secs(3),
            deadline,
        );
        t.record(&Outcome::NoAnswer, Duration::from_secs(2), deadline);
        assert_eq!(
            (t.requests, t.answered, t.degraded, t.within_deadline),
            (5, 3, 1, 3)
        );
        assert_eq!(t.errors["DEPENDENCY_ERROR"], 1);
        assert_eq!(t.errors["NO_ANSWER"], 1);
        assert!((t.availability() - 0.6).abs() < 1e-9);
        assert!(t.quantile_ms(0.5) >= 10.0 && t.quantile_ms(0.5) <= 20.1);
        let mut sum = Tally::default();
        sum.merge(&t);
        sum.merge(&t);
        assert_eq!(sum.requests, 10);
    }
}
