//! [`CircuitBreaker`]: the pure state machine. Every method is handed `now`; nothing here reads
//! a clock, sleeps, locks or allocates after construction (except when reconfigured).

use std::time::Duration;

use crate::clock::Moment;

use super::config::BreakerConfig;
use super::error::InvariantViolation;
use super::state::{BreakerSnapshot, CallOutcome, Rejected, State, Transition, TransitionReason};
use super::window::{Counts, Window};

/// Bookkeeping of one half-open episode; all zero outside HalfOpen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Trial {
    /// Permits of this episode (the config's `half_open_permits` when it began).
    permits: u32,
    /// Trial calls admitted.
    acquired: u32,
    /// Trial calls reported.
    reported: u32,
    /// Of which failed.
    failed: u32,
    /// Of which slow.
    slow: u32,
}

/// A circuit breaker: a pure, synchronous state machine over a sliding window.
///
/// See the [module documentation](super) for the semantics.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: State,
    window: Window,
    /// When the current state was entered.
    since: Moment,
    /// Open only: when trial calls will be let through.
    open_until: Option<Moment>,
    /// Openings since the circuit was last closed; ≥ 1 exactly in Open and HalfOpen.
    consecutive_opens: u32,
    trial: Trial,
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
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Current settings.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Asks to start a call.
    ///
    /// Closed, Disabled, MetricsOnly: admitted. Open: refused with `retry_after` until the
    /// (possibly backed-off) reset timeout has elapsed, then the breaker moves to HalfOpen and
    /// admits the call as a trial (the transition is returned). HalfOpen: at most
    /// `half_open_permits` trial calls in total are admitted. ForcedOpen: refused.
    pub fn try_acquire(&mut self, now: Moment) -> Result<Option<Transition>, Rejected> {
        match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => Ok(None),
            State::ForcedOpen => Err(Rejected {
                state: State::ForcedOpen,
                retry_after: None,
            }),
            State::Open => {
                let until = self.open_until.unwrap_or(now);
                if now < until {
                    return Err(Rejected {
                        state: State::Open,
                        retry_after: Some(until - now),
                    });
                }
                let transition = self.half_open(now);
                self.trial.acquired += 1;
                Ok(Some(transition))
            }
            State::HalfOpen => {
                if self.trial.acquired < self.trial.permits {
                    self.trial.acquired += 1;
                    Ok(None)
                } else {
                    Err(Rejected {
                        state: State::HalfOpen,
                        retry_after: None,
                    })
                }
            }
        }
    }

    /// Records the result of a finished call that was admitted earlier.
    ///
    /// Closed: into the window; once the window holds the minimum number of calls, the circuit
    /// opens if the failure rate reaches `failure_rate_threshold` or the slow-call rate reaches
    /// `slow_call_rate_threshold` (slow: `duration >= slow_call_duration`, success or not).
    /// HalfOpen: counts as a trial result if a trial is outstanding (otherwise ignored); once
    /// every permit has reported, or enough trials failed that a threshold is certainly
    /// reached, the circuit opens again (reset timeout grown per [`ResetBackoff`]) or closes
    /// (window cleared, backoff reset). MetricsOnly: into the window, never a transition.
    /// Open, ForcedOpen, Disabled: ignored.
    ///
    /// [`ResetBackoff`]: super::ResetBackoff
    pub fn record(&mut self, now: Moment, outcome: CallOutcome) -> Option<Transition> {
        let failed = !outcome.success;
        let slow = outcome.duration >= self.config.slow_call_duration();
        match self.state {
            State::Closed => {
                self.window.record(now, failed, slow);
                self.check_rates(now)
            }
            State::MetricsOnly => {
                self.window.record(now, failed, slow);
                None
            }
            State::HalfOpen => {
                if self.trial.reported >= self.trial.acquired {
                    return None;
                }
                self.trial.reported += 1;
                self.trial.failed += u32::from(failed);
                self.trial.slow += u32::from(slow);
                self.judge_trials(now)
            }
            State::Open | State::ForcedOpen | State::Disabled => None,
        }
    }

    /// Time-driven work without a call: Open → HalfOpen once the reset timeout has elapsed;
    /// a time-based window forgets the buckets that slid out.
    pub fn poll(&mut self, now: Moment) -> Option<Transition> {
        self.window.expire(now);
        match (self.state, self.open_until) {
            (State::Open, Some(until)) if now >= until => Some(self.half_open(now)),
            _ => None,
        }
    }

    /// When [`poll`](Self::poll) will next have a transition to make (the Open → HalfOpen
    /// instant), for the owner's timer.
    pub fn next_deadline(&self) -> Option<Moment> {
        match self.state {
            State::Open => self.open_until,
            _ => None,
        }
    }

    /// Trial permits still available in HalfOpen; 0 in every other state.
    pub fn half_open_permits_left(&self) -> u32 {
        match self.state {
            State::HalfOpen => self.trial.permits - self.trial.acquired,
            _ => 0,
        }
    }

    /// Refuses every call until [`reset`](Self::reset).
    pub fn force_open(&mut self, now: Moment) -> Option<Transition> {
        self.manual(State::ForcedOpen, TransitionReason::ForcedOpen, now)
    }

    /// Admits every call and records nothing until [`reset`](Self::reset).
    pub fn disable(&mut self, now: Moment) -> Option<Transition> {
        self.manual(State::Disabled, TransitionReason::Disabled, now)
    }

    /// Admits every call and records outcomes without ever tripping, until
    /// [`reset`](Self::reset). Coming from Closed the window is kept; otherwise it starts empty.
    pub fn metrics_only(&mut self, now: Moment) -> Option<Transition> {
        if self.state != State::Closed {
            self.window.clear(now);
        }
        self.manual(State::MetricsOnly, TransitionReason::MetricsOnly, now)
    }

    /// Back to Closed with an empty window and no backoff, from any state (the window is
    /// cleared even when already Closed, though that is no transition).
    pub fn reset(&mut self, now: Moment) -> Option<Transition> {
        self.window.clear(now);
        self.consecutive_opens = 0;
        self.manual(State::Closed, TransitionReason::Reset, now)
    }

    /// New settings at run time. The state is kept; an open circuit keeps its reopening
    /// instant and a half-open episode keeps its number of permits (the new values apply from
    /// the next opening or episode). The window is rebuilt when its kind or size changed (a
    /// count window keeps its newest calls); no transition happens until the next call.
    pub fn reconfigure(&mut self, config: BreakerConfig, now: Moment) {
        if !self.window.is_kind(config.window()) {
            self.window = self.window.rebuilt(config.window(), now);
        }
        self.config = config;
    }

    /// What the breaker looks like at `now` (rates are `None` below the minimum of calls).
    pub fn snapshot(&self, now: Moment) -> BreakerSnapshot {
        let Counts {
            calls,
            failed,
            slow,
        } = self.window.counts_at(now);
        let enough = calls >= u64::from(self.config.effective_minimum_calls());
        BreakerSnapshot {
            state: self.state,
            calls: saturate(calls),
            failed: saturate(failed),
            slow: saturate(slow),
            failure_rate: enough.then(|| percent(failed, calls)),
            slow_call_rate: enough.then(|| percent(slow, calls)),
            open_until: self.next_deadline(),
            consecutive_opens: self.consecutive_opens,
            half_open_in_flight: self.trial.acquired - self.trial.reported,
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
    fn open(&mut self, reason: TransitionReason, now: Moment) -> Transition {
        self.consecutive_opens = self.consecutive_opens.saturating_add(1);
        let timeout: Duration = self.config.reset_timeout_for(self.consecutive_opens);
        let transition = self.enter(State::Open, reason, now);
        self.open_until = Some(now + timeout);
        transition
    }

    /// Open → HalfOpen with a fresh episode.
    fn half_open(&mut self, now: Moment) -> Transition {
        let waited = now.saturating_duration_since(self.since);
        let transition = self.enter(
            State::HalfOpen,
            TransitionReason::ResetTimeoutElapsed { waited },
            now,
        );
        self.trial.permits = self.config.half_open_permits();
        transition
    }

    /// An operator's command: no transition when already there.
    fn manual(&mut self, to: State, reason: TransitionReason, now: Moment) -> Option<Transition> {
        if self.state == to {
            return None;
        }
        self.consecutive_opens = 0;
        Some(self.enter(to, reason, now))
    }

    /// Moves to `to`, clearing what belonged to the state left.
    fn enter(&mut self, to: State, reason: TransitionReason, now: Moment) -> Transition {
        let from = self.state;
        self.state = to;
        self.since = now;
        self.open_until = None;
        self.trial = Trial::default();
        Transition {
            from,
            to,
            reason,
            at: now,
        }
    }
}
