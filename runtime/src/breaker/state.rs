//! The breaker's states and the values its state machine takes and gives: call outcomes,
//! transitions with their reasons, rejections and snapshots.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::clock::Moment;

/// State of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Calls pass; outcomes fill the window; the circuit opens when a rate crosses its threshold.
    Closed,
    /// Calls are refused until the reset timeout has elapsed.
    Open,
    /// A limited number of trial calls decide between Closed and Open.
    HalfOpen,
    /// Refused by an operator until [`reset`](super::CircuitBreaker::reset).
    ForcedOpen,
    /// Every call passes and nothing is recorded.
    Disabled,
    /// Every call passes; outcomes are recorded for the rates but never trip the circuit.
    MetricsOnly,
}

impl State {
    /// Every state, in gauge order.
    pub const ALL: [State; 6] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
        State::MetricsOnly,
    ];

    /// The value of the state gauge: closed 0, open 1, half-open 2, forced-open 3, disabled 4,
    /// metrics-only 5.
    pub const fn gauge(self) -> u8 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
            State::Disabled => 4,
            State::MetricsOnly => 5,
        }
    }

    /// The state named by a gauge value, if any.
    pub fn from_gauge(value: u8) -> Option<State> {
        State::ALL.get(usize::from(value)).copied()
    }

    /// The snake_case name used in serde, metric labels and logs (`"half_open"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
            State::MetricsOnly => "metrics_only",
        }
    }

    /// Whether calls are refused outright (open or forced open).
    pub const fn is_open(self) -> bool {
        matches!(self, State::Open | State::ForcedOpen)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of a finished call, as the breaker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOutcome {
    /// Whether the call succeeded. A failure that is not the dependency's fault (the caller's
    /// bad request) is not an outcome: release the permit instead.
    pub success: bool,
    /// How long the call took.
    pub duration: Duration,
}

impl CallOutcome {
    /// A successful call of `duration`.
    pub const fn success(duration: Duration) -> Self {
        Self {
            success: true,
            duration,
        }
    }

    /// A failed call of `duration`.
    pub const fn failure(duration: Duration) -> Self {
        Self {
            success: false,
            duration,
        }
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum TransitionReason {
    /// Closed → Open: the window's failure rate reached its threshold.
    FailureRateExceeded {
        /// Failure rate of the window, percent.
        rate: f64,
        /// The threshold it reached, percent.
        threshold: f64,
        /// Calls in the window.
        calls: u32,
    },
    /// Closed → Open: the window's slow-call rate reached its threshold.
    SlowCallRateExceeded {
        /// Slow-call rate of the window, percent.
        rate: f64,
        /// The threshold it reached, percent.
        threshold: f64,
        /// Calls in the window.
        calls: u32,
    },
    /// Open → HalfOpen: the reset timeout elapsed.
    ResetTimeoutElapsed {
        /// How long the circuit was open.
        #[serde(with = "humantime_serde")]
        waited: Duration,
    },
    /// HalfOpen → Closed: the trial calls stayed under both thresholds.
    TrialsSucceeded {
        /// Failure rate of the trials, percent.
        failure_rate: f64,
        /// Slow-call rate of the trials, percent.
        slow_rate: f64,
    },
    /// HalfOpen → Open: the trial calls reached a threshold.
    TrialsFailed {
        /// Failure rate of the trials reported so far, percent.
        failure_rate: f64,
        /// Slow-call rate of the trials reported so far, percent.
        slow_rate: f64,
    },
    /// HalfOpen → Open: `max_wait_in_half_open` passed without a verdict.
    HalfOpenTimedOut {
        /// How long the circuit was half-open.
        #[serde(with = "humantime_serde")]
        waited: Duration,
    },
    /// An operator opened the circuit.
    OpenedByOperator,
    /// An operator started a half-open round.
    HalfOpenedByOperator,
    /// An operator closed the circuit.
    ClosedByOperator,
    /// An operator forced the circuit open.
    ForcedOpen,
    /// An operator disabled the breaker.
    Disabled,
    /// An operator switched the breaker to metrics-only.
    MetricsOnly,
    /// An operator reset the breaker to Closed.
    Reset,
}

impl fmt::Display for TransitionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionReason::FailureRateExceeded {
                rate,
                threshold,
                calls,
            } => write!(
                f,
                "failure rate {rate:.1}% reached the {threshold}% threshold over {calls} calls"
            ),
            TransitionReason::SlowCallRateExceeded {
                rate,
                threshold,
                calls,
            } => write!(
                f,
                "slow-call rate {rate:.1}% reached the {threshold}% threshold over {calls} calls"
            ),
            TransitionReason::ResetTimeoutElapsed { waited } => {
                write!(f, "reset timeout elapsed after {waited:?} open")
            }
            TransitionReason::TrialsSucceeded {
                failure_rate,
                slow_rate,
            } => write!(
                f,
                "trial calls succeeded (failure rate {failure_rate:.1}%, slow-call rate {slow_rate:.1}%)"
            ),
            TransitionReason::TrialsFailed {
                failure_rate,
                slow_rate,
            } => write!(
                f,
                "trial calls failed (failure rate {failure_rate:.1}%, slow-call rate {slow_rate:.1}%)"
            ),
            TransitionReason::HalfOpenTimedOut { waited } => {
                write!(f, "no verdict after {waited:?} half-open")
            }
            TransitionReason::OpenedByOperator => f.write_str("opened by an operator"),
            TransitionReason::HalfOpenedByOperator => f.write_str("half-opened by an operator"),
            TransitionReason::ClosedByOperator => f.write_str("closed by an operator"),
            TransitionReason::ForcedOpen => f.write_str("forced open by an operator"),
            TransitionReason::Disabled => f.write_str("disabled by an operator"),
            TransitionReason::MetricsOnly => f.write_str("switched to metrics-only by an operator"),
            TransitionReason::Reset => f.write_str("reset by an operator"),
        }
    }
}

/// A change of state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// State left.
    pub from: State,
    /// State entered.
    pub to: State,
    /// Why.
    pub reason: TransitionReason,
    /// When (serialized as nanoseconds on the breaker's clock).
    #[serde(serialize_with = "moment_nanos")]
    pub at: Moment,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}: {}", self.from, self.to, self.reason)
    }
}

/// Why [`try_acquire`](super::CircuitBreaker::try_acquire) refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit {state}: call not permitted")]
pub struct Rejected {
    /// The state that refused: open, forced open, or half-open with every trial permit taken.
    pub state: State,
    /// When open: time left until trial calls are let through. `None` when unknown (forced
    /// open, or half-open waiting for its trials).
    pub retry_after: Option<Duration>,
}

/// What a breaker looks like at one moment, for status pages and logs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerSnapshot {
    /// Current state.
    pub state: State,
    /// Calls in the window.
    pub calls: u32,
    /// Failed calls in the window.
    pub failed: u32,
    /// Slow calls in the window.
    pub slow: u32,
    /// Failure rate of the window in percent; `None` until it holds the minimum number of calls.
    pub failure_rate: Option<f64>,
    /// Slow-call rate of the window in percent; `None` until it holds the minimum number of calls.
    pub slow_call_rate: Option<f64>,
    /// When open: the moment trial calls will be let through (nanoseconds on the breaker's clock).
    #[serde(serialize_with = "optional_moment_nanos")]
    pub open_until: Option<Moment>,
    /// Openings since the circuit was last closed (drives the reset backoff).
    pub consecutive_opens: u32,
    /// Trial calls admitted and not yet reported.
    pub half_open_in_flight: u32,
    /// Trial calls the current half-open round may still admit.
    pub half_open_permits_left: u32,
    /// Calls refused since the current state was entered.
    pub not_permitted: u64,
    /// The current round (incremented on every state entered).
    pub round: u32,
}

fn moment_nanos<S: Serializer>(m: &Moment, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(m.as_nanos())
}

fn optional_moment_nanos<S: Serializer>(m: &Option<Moment>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.serialize_some(&m.as_nanos()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_round_trips() {
        for state in State::ALL {
            assert_eq!(State::from_gauge(state.gauge()), Some(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert_eq!(State::from_gauge(6), None);
        assert_eq!(State::HalfOpen.gauge(), 2);
    }

    #[test]
    fn reasons_read_as_sentences() {
        let r = TransitionReason::FailureRateExceeded {
            rate: 60.0,
            threshold: 50.0,
            calls: 10,
        };
        assert_eq!(
            r.to_string(),
            "failure rate 60.0% reached the 50% threshold over 10 calls"
        );
        let waited = TransitionReason::ResetTimeoutElapsed {
            waited: Duration::from_secs(30),
        };
        assert_eq!(waited.to_string(), "reset timeout elapsed after 30s open");
        let json = serde_json::to_value(&waited).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"reason": "reset_timeout_elapsed", "waited": "30s"})
        );
    }
}
