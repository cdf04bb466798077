//! The breaker state the actor publishes and handles read without a message.
//!
//! The actor is the only writer of the breaker's state. After every transition it publishes what
//! callers need to decide admission on their own: the state, how many half-open trial permits are
//! left, and when an open circuit will let a trial through (for `Retry-After`). A handle admits with
//! one atomic load in the common case, so an open circuit rejects without touching a mailbox.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::breaker::State;
use crate::clock::Moment;

/// How a call was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// An ordinary call (closed, disabled or metrics-only circuit).
    Normal,
    /// A half-open trial call; its outcome decides whether the circuit closes.
    Trial,
}

/// The refusal: which state refused and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) state: State,
    pub(crate) retry_after: Option<Duration>,
}

/// Published breaker state (read-mostly: kept apart from per-call counters).
#[derive(Debug)]
pub(crate) struct Gate {
    state: AtomicU8,
    trial_permits: AtomicU32,
    open_until: AtomicU64,
    /// The actor's latest reading of the clock (every drain, at least every housekeeping tick):
    /// refusals compute `Retry-After` from it instead of reading the clock themselves.
    coarse_now: AtomicU64,
    slow_call_nanos: AtomicU64,
}

impl Gate {
    pub(crate) fn new(state: State, slow_call: Duration) -> Self {
        Self {
            state: AtomicU8::new(state.gauge()),
            trial_permits: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            coarse_now: AtomicU64::new(0),
            slow_call_nanos: AtomicU64::new(nanos(slow_call)),
        }
    }

    /// Decides admission from the published state. A refusal's `retry_after` is computed from the
    /// actor's coarse clock (accurate to a housekeeping tick, 250 ms; `Retry-After` is whole
    /// seconds on the wire), so refusing never reads the clock.
    #[inline]
    pub(crate) fn admit(&self) -> Result<Admission, Refused> {
        let state = State::from_gauge(self.state.load(Ordering::Acquire)).unwrap_or(State::Closed);
        match state {
            State::Closed | State::Disabled | State::MetricsOnly => Ok(Admission::Normal),
            State::HalfOpen => {
                let taken =
                    self.trial_permits
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| p.checked_sub(1));
                match taken {
                    Ok(_) => Ok(Admission::Trial),
                    Err(_) => Err(Refused {
                        state,
                        retry_after: None,
                    }),
                }
            }
            State::Open | State::ForcedOpen => {
                let until = Moment::from_nanos(self.open_until.load(Ordering::Relaxed));
                let now = Moment::from_nanos(self.coarse_now.load(Ordering::Relaxed));
                let retry_after =
                    (state == State::Open).then(|| until.saturating_duration_since(now));
                Err(Refused { state, retry_after })
            }
        }
    }

    /// The state handles currently see.
    pub(crate) fn state(&self) -> State {
        State::from_gauge(self.state.load(Ordering::Acquire)).unwrap_or(State::Closed)
    }

    /// Whether a call of `duration` counts as slow.
    #[inline]
    pub(crate) fn is_slow(&self, duration_nanos: u64) -> bool {
        duration_nanos >= self.slow_call_nanos.load(Ordering::Relaxed)
    }

    /// Publishes a new state (actor only). Permits and the open deadline are written before the
    /// state, so a handle that sees the new state also sees them.
    pub(crate) fn publish(&self, state: State, trial_permits: u32, open_until: Option<Moment>) {
        self.trial_permits.store(trial_permits, Ordering::Release);
        self.open_until
            .store(open_until.map_or(0, Moment::as_nanos), Ordering::Release);
        self.state.store(state.gauge(), Ordering::Release);
    }

    /// Records the actor's latest clock reading (actor only).
    pub(crate) fn set_coarse_now(&self, now: Moment) {
        self.coarse_now.fetch_max(now.as_nanos(), Ordering::Relaxed);
    }

    /// Publishes the slow-call threshold (actor only).
    pub(crate) fn set_slow_call(&self, slow_call: Duration) {
        self.slow_call_nanos
            .store(nanos(slow_call), Ordering::Relaxed);
    }

    /// Hands back a trial permit that was taken but not used (the bulkhead refused the call).
    pub(crate) fn return_trial(&self) {
        if self.state() == State::HalfOpen {
            self.trial_permits.fetch_add(1, Ordering::AcqRel);
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_admits_normally() {
        let gate = Gate::new(State::Closed, Duration::from_secs(1));
        assert_eq!(gate.admit(), Ok(Admission::Normal));
    }

    #[test]
    fn open_refuses_with_retry_after() {
        let gate = Gate::new(State::Closed, Duration::from_secs(1));
        gate.publish(State::Open, 0, Some(Moment::ZERO + Duration::from_secs(30)));
        gate.set_coarse_now(Moment::ZERO + Duration::from_secs(10));
        let refused = gate.admit().unwrap_err();
        assert_eq!(refused.state, State::Open);
        assert_eq!(refused.retry_after, Some(Duration::from_secs(20)));
    }

    #[test]
    fn half_open_hands_out_exactly_its_permits() {
        let gate = Gate::new(State::Closed, Duration::from_secs(1));
        gate.publish(State::HalfOpen, 3, None);
        let admitted = (0..10).filter(|_| gate.admit().is_ok()).count();
        assert_eq!(admitted, 3);
        gate.return_trial();
        assert_eq!(gate.admit(), Ok(Admission::Trial));
    }

    #[test]
    fn forced_open_has_no_retry_after() {
        let gate = Gate::new(State::Closed, Duration::from_secs(1));
        gate.publish(State::ForcedOpen, 0, None);
        assert_eq!(gate.admit().unwrap_err().retry_after, None);
    }
}
