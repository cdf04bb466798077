//! [`Permit`]: the ticket a breaker hands to each call it admits, and what the call reports back.

/// Proof that the breaker admitted a call, and in which round.
///
/// Every state the breaker enters starts a new *round*. A result is applied only to the round
/// that admitted its call: a trial result from an earlier half-open round, or a late result of a
/// call admitted while closed, can never decide the current round. A permit is `Copy`; the
/// breaker cannot tell two copies apart, so report each admitted call exactly once — with
/// [`record`](super::CircuitBreaker::record) when it finished, or
/// [`release`](super::CircuitBreaker::release) when its result says nothing about the dependency
/// (cancelled, or failed through the caller's own fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permit {
    round: u32,
    trial: bool,
}

impl Permit {
    /// A permit of `round`; `trial` for a half-open trial call.
    pub(crate) const fn new(round: u32, trial: bool) -> Self {
        Self { round, trial }
    }

    /// The round that admitted the call.
    pub const fn round(self) -> u32 {
        self.round
    }

    /// Whether the call is a half-open trial, whose result decides the circuit.
    pub const fn is_trial(self) -> bool {
        self.trial
    }
}

/// A call the breaker admitted: its permit, and the transition admitting it caused (Open →
/// HalfOpen when the reset timeout had elapsed).
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    /// The call's ticket.
    pub permit: Permit,
    /// The transition made on the way, if any.
    pub transition: Option<super::Transition>,
}
