//! [`CircuitBreaker`]: the pure state machine. Every method is handed `now`; nothing here reads
//! a clock, sleeps, locks or allocates after construction (except when reconfigured).
//! Operator commands (force open, disable, manual transitions, reconfigure) are in `operator.rs`.

use std::time::Duration;

use crate::clock::Moment;

use super::config::BreakerConfig;
use super::error::InvariantViolation;
use super::permit::{Admitted, Permit};
use super::state::{BreakerSnapshot, CallOutcome, Rejected, State, Transition, TransitionReason};
use super::window::{Counts, Window};

/// Bookkeeping of one half-open round; all zero outside HalfOpen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Trial {
    /// Permits of this round (the config's `half_open_permits` when it began).
    pub(super) permits: u32,
    /// Trial calls admitted and not released.
    pub(super) acquired: u32,
    /// Trial calls reported.
    pub(super) reported: u32,
    /// Of which failed.
    pub(super) failed: u32,
    /// Of which slow.
    pub(super) slow: u32,
}

/// A circuit breaker: a pure, synchronous state machine over a sliding window.
///
/// See the [module documentation](super) for the semantics.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    pub(super) config: BreakerConfig,
    pub(super) state: State,
    pub(super) window: Window,
    /// When the current state was entered.
    pub(super) since: Moment,
    /// Open only: when trial calls will be let through.
    pub(super) open_until: Option<Moment>,
    /// Openings since the circuit was last closed; ≥ 1 exactly in Open and HalfOpen.
    pub(super) consecutive_opens: u32,
    pub(super) trial: Trial,
    /// Incremented on every state entered; permits carry it.
    pub(super) round: u32,
    /// Calls refused since the current state was entered.
    pub(super) not_permitted: u64,
}

/// `part / whole` in percent; 0 for an empty whole.
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Whether `part / whole` reaches `threshold` percent, computed without a division.
fn reaches(part: u64, whole: u64, threshold: f64) -> bool {
    whole > 0 && part as f64 * 100.0 >= threshold * whole as f64
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl CircuitBreaker {
    /// A closed breaker with an empty window.
    pub fn new(config: BreakerConfig, now: Moment) -> Self {
        let window = Window::new(config.window(), now);
        Self {
            config,
            state: State::Closed,
            window,
            since: now,
            open_until: None,
            consecutive_opens: 0,
            trial: Trial::default(),
            round: 0,
            not_permitted: 0,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The current round: incremented on every state entered. Permits of another round are
    /// stale (see [`Permit`]).
    pub fn round(&self) -> u32 {
        self.round
    }

    /// Current settings.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Asks to start a call.
    ///
    /// Closed, Disabled, MetricsOnly: admitted. Open: refused with `retry_after` until the
    /// (possibly backed-off) reset timeout has elapsed, then the breaker moves to HalfOpen and
    /// admits the call as a trial (the transition is returned with the permit). HalfOpen: at
    /// most `half_open_permits` trial calls are admitted per round; a released trial gives its
    /// place back. ForcedOpen: refused. Every refusal counts as not permitted.
    pub fn try_acquire(&mut self, now: Moment) -> Result<Admitted, Rejected> {
        let refused = match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => {
                return Ok(self.admitted(false, None));
            }
            State::ForcedOpen => Rejected {
                state: State::ForcedOpen,
                retry_after: None,
            },
            State::Open => {
                let until = self.open_until.unwrap_or(now);
                if now >= until {
                    let transition = self.half_open(now);
                    self.trial.acquired += 1;
                    return Ok(self.admitted(true, Some(transition)));
                }
                Rejected {
                    state: State::Open,
                    retry_after: Some(until - now),
                }
            }
            State::HalfOpen => {
                if self.trial.acquired < self.trial.permits {
                    self.trial.acquired += 1;
                    return Ok(self.admitted(true, None));
                }
                Rejected {
                    state: State::HalfOpen,
                    retry_after: None,
                }
            }
        };
        self.not_permitted = self.not_permitted.saturating_add(1);
        Err(refused)
    }

    fn admitted(&self, trial: bool, transition: Option<Transition>) -> Admitted {
        Admitted {
            permit: Permit::new(self.round, trial),
            transition,
        }
    }

    /// Whether `permit` belongs to the current round (its result would be applied).
    pub fn is_current(&self, permit: Permit) -> bool {
        permit.round() == self.round
    }

    /// Records the result of a finished call admitted with `permit`.
    ///
    /// A permit of another round is stale and ignored. Closed: into the window; once the window
    /// holds the minimum number of calls, the circuit opens if the failure rate reaches
    /// `failure_rate_threshold` or the slow-call rate reaches `slow_call_rate_threshold` (slow:
    /// `duration >= slow_call_duration`, success or not). HalfOpen: a trial result; once every
    /// permit has reported, or enough trials failed that a threshold is certainly reached, the
    /// circuit opens again (reset timeout grown per [`ResetBackoff`]) or closes (window cleared,
    /// backoff reset). MetricsOnly: into the window, never a transition. Open, ForcedOpen,
    /// Disabled: ignored.
    ///
    /// [`ResetBackoff`]: super::ResetBackoff
    pub fn record(
        &mut self,
        now: Moment,
        permit: Permit,
        outcome: CallOutcome,
    ) -> Option<Transition> {
        if !self.is_current(permit) {
            return None;
        }
        let failed = !outcome.success;
        let slow = outcome.duration >= self.config.slow_call_duration();
        match (self.state, permit.is_trial()) {
            (State::Closed, false) => {
                self.window.record(now, failed, slow);
                self.check_rates(now)
            }
            (State::MetricsOnly, false) => {
                self.window.record(now, failed, slow);
                None
            }
            (State::HalfOpen, true) => {
                if self.trial.reported >= self.trial.acquired {
                    return None;
                }
                self.window.record(now, failed, slow);
                self.trial.reported += 1;
                self.trial.failed += u32::from(failed);
                self.trial.slow += u32::from(slow);
                self.judge_trials(now)
            }
            _ => None,
        }
    }

    /// Lets go of a call admitted with `permit` without judging the dependency by it: the call
    /// was cancelled, or failed through the caller's own fault. A half-open trial of the
    /// current round gives its place back, so another trial can take it; anything else is a
    /// no-op.
    pub fn release(&mut self, permit: Permit) {
        let unreported = self.trial.acquired > self.trial.reported;
        if self.state == State::HalfOpen
            && permit.is_trial()
            && self.is_current(permit)
            && unreported
        {
            self.trial.acquired -= 1;
        }
    }

    /// Counts `n` calls refused outside the state machine (at a published gate), so the
    /// snapshot's `not_permitted` covers every refusal of the current state.
    pub fn count_not_permitted(&mut self, n: u64) {
        self.not_permitted = self.not_permitted.saturating_add(n);
    }

    /// Time-driven work without a call: Open → HalfOpen once the reset timeout has elapsed;
    /// HalfOpen → Open once `max_wait_in_half_open` (when set) has passed without a verdict; a
    /// time-based window forgets the buckets that slid out.
    pub fn poll(&mut self, now: Moment) -> Option<Transition> {
        self.window.expire(now);
        match self.state {
            State::Open if self.open_until.is_some_and(|until| now >= until) => {
                Some(self.half_open(now))
            }
            State::HalfOpen if self.half_open_deadline().is_some_and(|at| now >= at) => {
                let waited = now.saturating_duration_since(self.since);
                Some(self.open(TransitionReason::HalfOpenTimedOut { waited }, now))
            }
            _ => None,
        }
    }

    /// When [`poll`](Self::poll) will next have a transition to make (the Open → HalfOpen
    /// instant, or the end of the half-open wait), for the owner's timer.
    pub fn next_deadline(&self) -> Option<Moment> {
        match self.state {
            State::Open => self.open_until,
            State::HalfOpen => self.half_open_deadline(),
            _ => None,
        }
    }

    fn half_open_deadline(&self) -> Option<Moment> {
        let wait = self.config.max_wait_in_half_open();
        (!wait.is_zero()).then(|| self.since + wait)
    }

    /// Trial permits still available in HalfOpen; 0 in every other state.
    pub fn half_open_permits_left(&self) -> u32 {
        match self.state {
            State::HalfOpen => self.trial.permits - self.trial.acquired,
            _ => 0,
        }
    }

    /// What the breaker looks like at `now`. Closed and MetricsOnly: the window's figures, rates
    /// `None` below the minimum of calls. HalfOpen: the current round's trials, rates once one
    /// has reported. Open: the window that tripped it. ForcedOpen, Disabled: empty.
    pub fn snapshot(&self, now: Moment) -> BreakerSnapshot {
        let Counts {
            calls,
            failed,
            slow,
        } = self.window.counts_at(now);
        let minimum = match self.state {
            State::HalfOpen => 1,
            _ => u64::from(self.config.effective_minimum_calls()),
        };
        let enough = calls >= minimum;
        BreakerSnapshot {
            state: self.state,
            calls: saturate(calls),
            failed: saturate(failed),
            slow: saturate(slow),
            failure_rate: enough.then(|| percent(failed, calls)),
            slow_call_rate: enough.then(|| percent(slow, calls)),
            open_until: self.open_until,
            consecutive_opens: self.consecutive_opens,
            half_open_in_flight: self.trial.acquired - self.trial.reported,
            half_open_permits_left: self.half_open_permits_left(),
            not_permitted: self.not_permitted,
            round: self.round,
        }
    }

    /// Checks the breaker's internal invariants; an error is a bug in the breaker. Meant for
    /// tests and fuzzing: it costs O(window size).
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let fail = |what| Err(InvariantViolation::new(what));
        self.window.check()?;
        if !self.window.is_kind(self.config.window()) {
            return fail("window does not match the configured kind");
        }
        let t = self.trial;
        if self.state == State::HalfOpen {
            if t.permits == 0 || t.acquired > t.permits {
                return fail("half-open admitted more trial calls than its permits");
            }
            if t.reported > t.acquired {
                return fail("half-open counted more trial results than trials admitted");
            }
            if t.reported >= t.permits {
                return fail("half-open heard from every trial but did not decide");
            }
            if t.failed > t.reported || t.slow > t.reported {
                return fail("half-open counted more failed or slow trials than results");
            }
        } else if t != Trial::default() {
            return fail("trial bookkeeping outside half-open");
        }
        match (self.state, self.open_until) {
            (State::Open, None) => return fail("open without a reopening instant"),
            (State::Open, Some(until)) if until < self.since => {
                return fail("open until before it opened");
            }
            (State::Open, _) => {}
            (_, Some(_)) => return fail("reopening instant outside open"),
            (_, None) => {}
        }
        let down = matches!(self.state, State::Open | State::HalfOpen);
        if down != (self.consecutive_opens >= 1) {
            return fail("consecutive openings counted outside open and half-open");
        }
        Ok(())
    }

    /// Closed: opens when the window holds enough calls and a rate reaches its threshold.
    fn check_rates(&mut self, now: Moment) -> Option<Transition> {
        let c = self.window.counts();
        if c.calls < u64::from(self.config.effective_minimum_calls()) {
            return None;
        }
        let failure = self.config.failure_rate_threshold();
        let slow = self.config.slow_call_rate_threshold();
        let reason = if reaches(c.failed, c.calls, failure) {
            TransitionReason::FailureRateExceeded {
                rate: percent(c.failed, c.calls),
                threshold: failure,
                calls: saturate(c.calls),
            }
        } else if reaches(c.slow, c.calls, slow) {
            TransitionReason::SlowCallRateExceeded {
                rate: percent(c.slow, c.calls),
                threshold: slow,
                calls: saturate(c.calls),
            }
        } else {
            return None;
        };
        Some(self.open(reason, now))
    }

    /// HalfOpen: decides once the outcome of the episode is certain.
    fn judge_trials(&mut self, now: Moment) -> Option<Transition> {
        let t = self.trial;
        let permits = u64::from(t.permits);
        // The final rates are over all permits; failures already seen can only add up.
        let failing = reaches(
            u64::from(t.failed),
            permits,
            self.config.failure_rate_threshold(),
        ) || reaches(
            u64::from(t.slow),
            permits,
            self.config.slow_call_rate_threshold(),
        );
        let reported = u64::from(t.reported);
        let failure_rate = percent(u64::from(t.failed), reported);
        let slow_rate = percent(u64::from(t.slow), reported);
        if failing {
            Some(self.open(
                TransitionReason::TrialsFailed {
                    failure_rate,
                    slow_rate,
                },
                now,
            ))
        } else if t.reported >= t.permits {
            self.window.clear(now);
            self.consecutive_opens = 0;
            Some(self.enter(
                State::Closed,
                TransitionReason::TrialsSucceeded {
                    failure_rate,
                    slow_rate,
                },
                now,
            ))
        } else {
            None
        }
    }

    /// Opens the circuit for the reset timeout of this consecutive opening.
    pub(super) fn open(&mut self, reason: TransitionReason, now: Moment) -> Transition {
        self.consecutive_opens = self.consecutive_opens.saturating_add(1);
        let timeout: Duration = self.config.reset_timeout_for(self.consecutive_opens);
        let transition = self.enter(State::Open, reason, now);
        self.open_until = Some(now + timeout);
        transition
    }

    /// Into HalfOpen with a fresh round and an empty window (the snapshot then shows the
    /// round's trials, not the window that tripped the circuit).
    pub(super) fn half_open(&mut self, now: Moment) -> Transition {
        let waited = now.saturating_duration_since(self.since);
        self.half_open_because(TransitionReason::ResetTimeoutElapsed { waited }, now)
    }

    pub(super) fn half_open_because(
        &mut self,
        reason: TransitionReason,
        now: Moment,
    ) -> Transition {
        self.window.clear(now);
        self.consecutive_opens = self.consecutive_opens.max(1);
        let transition = self.enter(State::HalfOpen, reason, now);
        self.trial.permits = self.config.half_open_permits();
        transition
    }

    /// Moves to `to`, starting a new round and clearing what belonged to the state left.
    pub(super) fn enter(&mut self, to: State, reason: TransitionReason, now: Moment) -> Transition {
        let from = self.state;
        self.state = to;
        self.since = now;
        self.open_until = None;
        self.trial = Trial::default();
        self.round = self.round.wrapping_add(1);
        self.not_permitted = 0;
        Transition {
            from,
            to,
            reason,
            at: now,
        }
    }
}
