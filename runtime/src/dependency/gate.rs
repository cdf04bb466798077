//! The breaker state the actor publishes and handles read without a message.
//!
//! The actor is the only writer of the breaker's state. After every transition it publishes what
//! callers need to decide admission on their own: the state, the round, how many half-open trial
//! permits are left, and when an open circuit will let a trial through (for `Retry-After`). State,
//! round and permits share one atomic word, so a trial permit is taken (and given back) with one
//! compare-and-swap that also checks it still belongs to the current round. A handle admits with
//! one atomic load in the common case, so an open circuit rejects without touching a mailbox.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::breaker::{Permit, State};
use crate::clock::Moment;

/// The refusal: which state refused and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) state: State,
    pub(crate) retry_after: Option<Duration>,
}

const STATE_SHIFT: u32 = 56;
const PERMITS_SHIFT: u32 = 32;
const PERMITS_MASK: u64 = (1 << 24) - 1;

/// State (8 bits), trial permits left (24 bits) and round (32 bits) in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Word(u64);

impl Word {
    fn new(state: State, permits: u32, round: u32) -> Self {
        let permits = u64::from(permits).min(PERMITS_MASK);
        Self(
            (u64::from(state.gauge()) << STATE_SHIFT)
                | (permits << PERMITS_SHIFT)
                | u64::from(round),
        )
    }

    fn state(self) -> State {
        // The state byte is only ever written from a `State`.
        State::from_gauge((self.0 >> STATE_SHIFT) as u8).unwrap_or(State::Closed)
    }

    fn permits(self) -> u64 {
        (self.0 >> PERMITS_SHIFT) & PERMITS_MASK
    }

    fn round(self) -> u32 {
        self.0 as u32
    }
}

/// Published breaker state (read-mostly: kept apart from per-call counters).
#[derive(Debug)]
pub(crate) struct Gate {
    word: AtomicU64,
    open_until: AtomicU64,
    /// The actor's latest reading of the clock (every drain, at least every housekeeping tick):
    /// refusals compute `Retry-After` from it instead of reading the clock themselves.
    coarse_now: AtomicU64,
    slow_call_nanos: AtomicU64,
}

impl Gate {
    pub(crate) fn new(state: State, round: u32, slow_call: Duration) -> Self {
        Self {
            word: AtomicU64::new(Word::new(state, 0, round).0),
            open_until: AtomicU64::new(0),
            coarse_now: AtomicU64::new(0),
            slow_call_nanos: AtomicU64::new(nanos(slow_call)),
        }
    }

    /// Decides admission from the published state. A refusal's `retry_after` is computed from the
    /// actor's coarse clock (accurate to a housekeeping tick, 250 ms; `Retry-After` is whole
    /// seconds on the wire), so refusing never reads the clock.
    #[inline]
    pub(crate) fn admit(&self) -> Result<Permit, Refused> {
        let word = Word(self.word.load(Ordering::Acquire));
        match word.state() {
            State::Closed | State::Disabled | State::MetricsOnly => {
                Ok(Permit::new(word.round(), false))
            }
            State::HalfOpen => self.take_trial(word),
            state @ (State::Open | State::ForcedOpen) => {
                let until = Moment::from_nanos(self.open_until.load(Ordering::Relaxed));
                let now = Moment::from_nanos(self.coarse_now.load(Ordering::Relaxed));
                let retry_after =
                    (state == State::Open).then(|| until.saturating_duration_since(now));
                Err(Refused { state, retry_after })
            }
        }
    }

    #[cold]
    fn take_trial(&self, mut word: Word) -> Result<Permit, Refused> {
        loop {
            if word.state() != State::HalfOpen {
                // The actor published a verdict meanwhile: decide again from it.
                return self.admit();
            }
            if word.permits() == 0 {
                return Err(Refused {
                    state: State::HalfOpen,
                    retry_after: None,
                });
            }
            let taken = Word(word.0 - (1 << PERMITS_SHIFT));
            match self.word.compare_exchange_weak(
                word.0,
                taken.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(Permit::new(word.round(), true)),
                Err(current) => word = Word(current),
            }
        }
    }

    /// Gives back the place of a trial that will not report (cancelled, ignored, or its record
    /// could not be delivered), if its round is still the current half-open round.
    pub(crate) fn return_trial(&self, permit: Permit) {
        if !permit.is_trial() {
            return;
        }
        let _ = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                let word = Word(current);
                let same_round = word.state() == State::HalfOpen && word.round() == permit.round();
                (same_round && word.permits() < PERMITS_MASK)
                    .then(|| current + (1 << PERMITS_SHIFT))
            });
    }

    /// Whether a call would be admitted now — closed (or disabled, metrics-only), or half-open
    /// with a trial permit left — without taking anything: one load, for balancers choosing
    /// among endpoints. The admission itself may still lose a race for the last permit.
    #[inline]
    pub(crate) fn is_admitting(&self) -> bool {
        let word = Word(self.word.load(Ordering::Acquire));
        match word.state() {
            State::Closed | State::Disabled | State::MetricsOnly => true,
            State::HalfOpen => word.permits() > 0,
            State::Open | State::ForcedOpen => false,
        }
    }

    /// The state handles currently see.
    pub(crate) fn state(&self) -> State {
        Word(self.word.load(Ordering::Acquire)).state()
    }

    /// Trial permits free at the gate in the current half-open round (0 in other states).
    pub(crate) fn trial_permits(&self) -> u64 {
        Word(self.word.load(Ordering::Acquire)).permits()
    }

    /// The round handles currently admit into.
    pub(crate) fn round(&self) -> u32 {
        Word(self.word.load(Ordering::Acquire)).round()
    }

    /// Whether a call of `duration` counts as slow.
    #[inline]
    pub(crate) fn is_slow(&self, duration_nanos: u64) -> bool {
        duration_nanos >= self.slow_call_nanos.load(Ordering::Relaxed)
    }

    /// Publishes a new state (actor only). The open deadline is written before the word, so a
    /// handle that sees the new state also sees it.
    pub(crate) fn publish(
        &self,
        state: State,
        round: u32,
        trial_permits: u32,
        open_until: Option<Moment>,
    ) {
        self.open_until
            .store(open_until.map_or(0, Moment::as_nanos), Ordering::Release);
        self.word
            .store(Word::new(state, trial_permits, round).0, Ordering::Release);
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
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> Gate {
        Gate::new(State::Closed, 0, Duration::from_secs(1))
    }

    #[test]
    fn closed_admits_normally_with_the_round() {
        let gate = gate();
        gate.publish(State::Closed, 7, 0, None);
        assert_eq!(gate.admit(), Ok(Permit::new(7, false)));
    }

    #[test]
    fn open_refuses_with_retry_after() {
        let gate = gate();
        gate.publish(
            State::Open,
            1,
            0,
            Some(Moment::ZERO + Duration::from_secs(30)),
        );
        gate.set_coarse_now(Moment::ZERO + Duration::from_secs(10));
        let refused = gate.admit().unwrap_err();
        assert_eq!(refused.state, State::Open);
        assert_eq!(refused.retry_after, Some(Duration::from_secs(20)));
    }

    #[test]
    fn half_open_hands_out_exactly_its_permits() {
        let gate = gate();
        gate.publish(State::HalfOpen, 2, 3, None);
        let permits: Vec<Permit> = (0..10).filter_map(|_| gate.admit().ok()).collect();
        assert_eq!(permits, vec![Permit::new(2, true); 3]);
        gate.return_trial(permits[0]);
        assert_eq!(gate.admit(), Ok(Permit::new(2, true)));
    }

    #[test]
    fn a_trial_of_an_earlier_round_gives_nothing_back() {
        let gate = gate();
        gate.publish(State::HalfOpen, 2, 1, None);
        let old = gate.admit().unwrap();
        gate.publish(State::HalfOpen, 4, 0, None);
        gate.return_trial(old);
        assert_eq!(gate.trial_permits(), 0);
        gate.return_trial(Permit::new(4, false));
        assert_eq!(
            gate.trial_permits(),
            0,
            "an ordinary permit holds no trial place"
        );
    }

    #[test]
    fn admitting_without_taking() {
        let gate = gate();
        assert!(gate.is_admitting());
        gate.publish(State::HalfOpen, 3, 1, None);
        assert!(gate.is_admitting());
        let trial = gate.admit().unwrap();
        assert!(!gate.is_admitting(), "the only trial permit is taken");
        gate.return_trial(trial);
        assert!(gate.is_admitting());
        gate.publish(State::Open, 4, 0, None);
        assert!(!gate.is_admitting());
        gate.publish(State::Disabled, 5, 0, None);
        assert!(gate.is_admitting());
    }

    #[test]
    fn forced_open_has_no_retry_after() {
        let gate = gate();
        gate.publish(State::ForcedOpen, 1, 0, None);
        assert_eq!(gate.admit().unwrap_err().retry_after, None);
    }

    #[test]
    fn concurrent_takers_never_overdraw() {
        let gate = std::sync::Arc::new(gate());
        gate.publish(State::HalfOpen, 9, 100, None);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let gate = std::sync::Arc::clone(&gate);
                std::thread::spawn(move || (0..100).filter(|_| gate.admit().is_ok()).count())
            })
            .collect();
        let taken: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(taken, 100);
    }
}
