//! Operator commands of the [`CircuitBreaker`]: manual states, manual transitions and new
//! settings at run time. Each one starts a new round, so results of calls admitted before it
//! cannot decide what comes after.

use crate::clock::Moment;

use super::config::BreakerConfig;
use super::machine::CircuitBreaker;
use super::state::{State, Transition, TransitionReason};

impl CircuitBreaker {
    /// Refuses every call until [`reset`](Self::reset) or a manual transition. The window is
    /// cleared.
    pub fn force_open(&mut self, now: Moment) -> Option<Transition> {
        self.manual(State::ForcedOpen, TransitionReason::ForcedOpen, now, true)
    }

    /// Admits every call and records nothing until [`reset`](Self::reset). The window is
    /// cleared.
    pub fn disable(&mut self, now: Moment) -> Option<Transition> {
        self.manual(State::Disabled, TransitionReason::Disabled, now, true)
    }

    /// Admits every call and records outcomes without ever tripping, until
    /// [`reset`](Self::reset). Coming from Closed the window is kept; otherwise it starts empty.
    pub fn metrics_only(&mut self, now: Moment) -> Option<Transition> {
        let clear = self.state != State::Closed;
        self.manual(
            State::MetricsOnly,
            TransitionReason::MetricsOnly,
            now,
            clear,
        )
    }

    /// Back to Closed with an empty window and no backoff, from any state (the window is
    /// cleared even when already Closed, though that is no transition).
    pub fn reset(&mut self, now: Moment) -> Option<Transition> {
        self.window.clear(now);
        self.manual(State::Closed, TransitionReason::Reset, now, true)
    }

    /// An operator opens the circuit, as if it had tripped: refused for the reset timeout of
    /// this consecutive opening, then half-open as usual. No transition when already open.
    pub fn transition_to_open(&mut self, now: Moment) -> Option<Transition> {
        (self.state != State::Open).then(|| self.open(TransitionReason::OpenedByOperator, now))
    }

    /// An operator starts a half-open round now (e.g. after fixing the dependency), without
    /// waiting for the reset timeout. No transition when already half-open.
    pub fn transition_to_half_open(&mut self, now: Moment) -> Option<Transition> {
        (self.state != State::HalfOpen)
            .then(|| self.half_open_because(TransitionReason::HalfOpenedByOperator, now))
    }

    /// An operator closes the circuit: an empty window and no backoff, like a successful
    /// half-open round. No transition when already closed.
    pub fn transition_to_closed(&mut self, now: Moment) -> Option<Transition> {
        if self.state == State::Closed {
            return None;
        }
        self.window.clear(now);
        self.manual(State::Closed, TransitionReason::ClosedByOperator, now, true)
    }

    /// New settings at run time. The state is kept; an open circuit keeps its reopening
    /// instant and a half-open round keeps its number of permits (the new values apply from
    /// the next opening or round). The window is rebuilt when its kind or size changed (a
    /// count window keeps its newest calls); no transition happens until the next call.
    pub fn reconfigure(&mut self, config: BreakerConfig, now: Moment) {
        if !self.window.is_kind(config.window()) {
            self.window = self.window.rebuilt(config.window(), now);
        }
        self.config = config;
    }

    /// A manual state: no transition when already there; forgets the backoff.
    fn manual(
        &mut self,
        to: State,
        reason: TransitionReason,
        now: Moment,
        clear_window: bool,
    ) -> Option<Transition> {
        if self.state == to {
            return None;
        }
        if clear_window {
            self.window.clear(now);
        }
        self.consecutive_opens = 0;
        Some(self.enter(to, reason, now))
    }
}
