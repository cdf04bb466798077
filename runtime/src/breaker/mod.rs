//! Circuit breaker: a pure state machine that stops calling a dependency that is failing, and
//! finds out by itself when it has recovered.
//!
//! # Why pure
//!
//! [`CircuitBreaker`] holds no clock, no lock, no task: every method is handed the current
//! [`Moment`](crate::clock::Moment) and returns what changed. The dependency actor owns one and
//! is its single writer; it publishes the state to its handles, arms a timer at
//! [`next_deadline`](CircuitBreaker::next_deadline) and feeds outcomes in. Being a plain value,
//! the breaker is tested on invented timelines (no sleeping, no flakiness), property-tested over
//! random sequences of operations, and survives an actor restart by simply being kept.
//!
//! # States
//!
//! ```text
//!            rate >= threshold                 reset timeout elapsed
//!  Closed ─────────────────────────▶ Open ─────────────────────────▶ HalfOpen
//!    ▲        (window >= minimum)      ▲   (try_acquire or poll)        │
//!    │                                 └──────── trials failed ─────────┤
//!    └────────────────────────────────────────── trials succeeded ──────┘
//!
//!  ForcedOpen (refuse all), Disabled (admit all, record nothing), MetricsOnly (admit all,
//!  record, never trip): entered by force_open / disable / metrics_only, left by reset.
//!  Operators may also move to Open, HalfOpen or Closed by hand (transition_to_*).
//! ```
//!
//! Every change is a [`Transition`] carrying its [`TransitionReason`] — which rate crossed which
//! threshold over how many calls — so logs and events explain themselves.
//!
//! # Windows
//!
//! Rates are computed over a sliding window ([`WindowKind`]): the last N calls (a ring of one
//! byte per call), or the calls of the last T split into buckets (a ring of per-bucket sums,
//! rotated by `now`; a whole bucket is forgotten at once, so the resolution is `T / buckets`).
//! Both keep running sums: recording is O(1) and allocation-free. A call is *slow* when it lasted
//! at least `slow_call_duration`, whether it succeeded or not; a dependency that answers ever
//! more slowly trips the breaker through the slow-call rate before it starts timing out.
//!
//! # Why `minimum_calls`
//!
//! One failure out of one call is a 100 % failure rate. Rates are neither computed nor shown
//! (snapshot rates are `None`) until the window holds `minimum_calls` calls, so a quiet
//! dependency is not cut off by a single error. For a count window the minimum applied is
//! `min(minimum_calls, size)`: a window that can never hold the minimum would otherwise never
//! trip, and refusing such a config would make the seed minimum (20) a trap for small windows.
//! A time window applies `minimum_calls` as is.
//!
//! # Permits and rounds
//!
//! Every admitted call gets a [`Permit`], and every state the breaker enters starts a new
//! *round* that permits carry. A call reports exactly once: [`record`](CircuitBreaker::record)
//! with its outcome, or [`release`](CircuitBreaker::release) when its result says nothing about
//! the dependency (the call was cancelled, or failed through the caller's fault). Results are
//! matched by ticket, never by position: a permit of another round is stale, so a slow trial
//! that outlives a reopening, or a late result of a call admitted while closed, cannot decide the
//! current round.
//!
//! # Half-open
//!
//! Once the reset timeout has elapsed, the next [`try_acquire`](CircuitBreaker::try_acquire) (or
//! [`poll`](CircuitBreaker::poll), so an idle dependency is probed too) moves to HalfOpen, where
//! `half_open_permits` trial calls are admitted per round — not "at a time": a trial that
//! finished does not free its permit, so the verdict rests on a known number of calls; a trial
//! that was released (cancelled, or ignored) does give its place back, so a round can never wedge
//! on permits that will not report. The trials are judged against the same two thresholds: as
//! soon as enough have failed (or were slow) that the rate over all permits certainly reaches a
//! threshold, the circuit reopens without waiting for the rest; when every permit has reported
//! below both thresholds, it closes with an empty window. Five permits (the seed) let one unlucky
//! error through at the 50 % threshold while a dead dependency is re-detected after three failed
//! trials; one permit would make recovery a coin toss on flaky dependencies. With
//! `max_wait_in_half_open` set, a round that has no verdict by then reopens the circuit
//! (Resilience4j's setting of the same name). The window is cleared on entering HalfOpen,
//! ForcedOpen and Disabled, so a snapshot shows the current round's figures.
//!
//! # Reset backoff
//!
//! A dependency that stays down is otherwise hit by a burst of trials every `reset_timeout`.
//! With a [`ResetBackoff`], the n-th consecutive opening lasts
//! `reset_timeout × multiplierⁿ⁻¹`, capped at `max`; a successful trial or a reset starts over.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use bulwark_runtime::breaker::{BreakerConfig, CallOutcome, CircuitBreaker, State, WindowKind};
//! use bulwark_runtime::clock::Moment;
//!
//! let config = BreakerConfig::builder()
//!     .window(WindowKind::Count { size: 10 })
//!     .minimum_calls(4)
//!     .failure_rate_threshold(50.0)
//!     .reset_timeout(Duration::from_secs(30))
//!     .half_open_permits(2)
//!     .build()?;
//! let mut now = Moment::ZERO;
//! let mut breaker = CircuitBreaker::new(config, now);
//! let ok = CallOutcome::success(Duration::from_millis(20));
//! let err = CallOutcome::failure(Duration::from_millis(20));
//!
//! // Two successes, then two failures: 50 % over 4 calls trips it.
//! for outcome in [ok, ok, err] {
//!     let permit = breaker.try_acquire(now).unwrap().permit;
//!     assert!(breaker.record(now, permit, outcome).is_none());
//! }
//! let permit = breaker.try_acquire(now).unwrap().permit;
//! let trip = breaker.record(now, permit, err).unwrap();
//! assert_eq!(trip.to, State::Open);
//! println!("{trip}"); // closed -> open: failure rate 50.0% reached the 50% threshold over 4 calls
//!
//! // Refused, with the time left, until the reset timeout has elapsed.
//! now = now + Duration::from_secs(10);
//! let refused = breaker.try_acquire(now).unwrap_err();
//! assert_eq!(refused.retry_after, Some(Duration::from_secs(20)));
//!
//! // Then two trial calls decide. A cancelled trial gives its place back.
//! now = now + Duration::from_secs(20);
//! let first = breaker.try_acquire(now).unwrap();
//! assert_eq!(first.transition.unwrap().to, State::HalfOpen);
//! let cancelled = breaker.try_acquire(now).unwrap().permit;
//! assert!(breaker.try_acquire(now).is_err(), "two trials per round");
//! breaker.release(cancelled);
//! let second = breaker.try_acquire(now).unwrap().permit;
//! breaker.record(now, first.permit, ok);
//! assert_eq!(breaker.record(now, second, ok).unwrap().to, State::Closed);
//! // A late result of the earlier round changes nothing.
//! assert!(breaker.record(now, permit, err).is_none());
//! # Ok::<(), bulwark_runtime::breaker::InvalidConfig>(())
//! ```

mod config;
mod error;
mod machine;
mod operator;
mod permit;
mod state;
mod window;

#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub use config::{
    BreakerConfig, BreakerConfigBuilder, MAX_HALF_OPEN_PERMITS, MAX_WINDOW_SLOTS, ResetBackoff,
    WindowKind,
};
pub use error::{InvalidConfig, InvariantViolation};
pub use machine::CircuitBreaker;
pub use permit::{Admitted, Permit};
pub use state::{BreakerSnapshot, CallOutcome, Rejected, State, Transition, TransitionReason};
