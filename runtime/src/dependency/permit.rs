//! [`CallPermit`]: an admitted attempt's ticket, which reports its result exactly once.
//!
//! Admission takes a [`Permit`] from the published gate (a half-open trial takes one of the
//! round's places). The permit is then *owned* by the attempt: it reports success, failure or
//! "ignored" exactly once, and if it is dropped without reporting — the caller's future was
//! dropped during the bulkhead wait or the attempt (a client disconnect, a caller's own timeout, a
//! `select!`), or the bulkhead refused the call — it reports "cancelled", which gives a trial's
//! place back. A half-open circuit can therefore never wait for a result that will never come.

use crate::breaker::Permit;
use crate::clock::Moment;

use super::gate::Refused;
use super::outcomes::{OutcomeRecord, Pushed, Wake};
use super::shared::Shared;

/// What an attempt's result means for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It succeeded.
    Success,
    /// It failed in a way that counts against the dependency.
    Failure,
    /// It says nothing about the dependency (the caller's fault, refused credentials).
    Ignored,
}

/// Who made the attempt: a caller (counted in `bulwark_calls_total`) or the actor's probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A call's attempt; `first` when it is the call's first.
    Call {
        /// Whether this is the call's first attempt (a request for the retry budget).
        first: bool,
    },
    /// A health probe run by the owning actor.
    Probe,
}

/// An admitted attempt's ticket.
#[derive(Debug)]
#[must_use = "dropping the permit reports the attempt as cancelled"]
pub(crate) struct CallPermit<'a> {
    shared: &'a Shared,
    permit: Permit,
    reported: bool,
}

impl<'a> CallPermit<'a> {
    /// Admission from the published gate.
    #[inline]
    pub(crate) fn admit(shared: &'a Shared) -> Result<Self, Refused> {
        shared.gate.admit().map(|permit| Self {
            shared,
            permit,
            reported: false,
        })
    }

    /// The breaker's ticket.
    pub(crate) fn permit(&self) -> Permit {
        self.permit
    }

    /// Reports the attempt's result. A fast success of an ordinary call is one striped add;
    /// anything the breaker must look at individually (a failure, a slow call, a trial, a probe)
    /// goes through the outcome ring and wakes the actor. An ignored result gives a trial's place
    /// back and records nothing for the breaker.
    #[inline]
    pub(crate) fn report(mut self, start: Moment, end: Moment, verdict: Verdict, origin: Origin) {
        self.reported = true;
        let shared = self.shared;
        let duration_nanos = end.as_nanos().saturating_sub(start.as_nanos());
        if origin != Origin::Probe {
            shared.metrics.duration.record(duration_nanos);
        }
        let success = match verdict {
            Verdict::Success => true,
            Verdict::Failure => false,
            Verdict::Ignored => {
                shared.gate.return_trial(self.permit);
                return;
            }
        };
        let slow = shared.gate.is_slow(duration_nanos);
        if success && !slow && !self.permit.is_trial() && origin != Origin::Probe {
            shared.outcomes.success();
            return;
        }
        let record = OutcomeRecord {
            at: end,
            duration_nanos,
            success,
            permit: self.permit,
            first_attempt: origin == Origin::Call { first: true },
            probe: origin == Origin::Probe,
        };
        match shared.outcomes.push(record, slow) {
            Pushed::Queued(Wake::Yes) | Pushed::Folded(Wake::Yes) => shared.wake_actor(),
            Pushed::Queued(Wake::No) | Pushed::Folded(Wake::No) => {}
            // A trial result that cannot be delivered must not hold its place.
            Pushed::Refused => shared.gate.return_trial(self.permit),
        }
    }
}

impl Drop for CallPermit<'_> {
    fn drop(&mut self) {
        if !self.reported {
            self.shared.gate.return_trial(self.permit);
        }
    }
}
