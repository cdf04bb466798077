//! State of one dependency that outlives its actor.
//!
//! The actor is restarted by its supervisor after a crash; everything here is created once per
//! dependency and handed to every incarnation of the actor in its spawn arguments, so a restart
//! never forgets that the dependency is down. Handles hold the same `Arc`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use crossbeam_utils::CachePadded;
use ractor::ActorRef;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::breaker::{BreakerSnapshot, CircuitBreaker, State, Transition};
use crate::bulkhead::{Bulkhead, BulkheadSnapshot, Priority};
use crate::clock::{Clock, Moment};
use crate::error::Timestamp;
use crate::policy::Policy;
use crate::retry::{RetryBudget, RetryPolicy};
use crate::timeout::TimeoutPolicy;

use super::actor::DependencyMsg;
use super::gate::Gate;
use super::metrics::{DependencyMetrics, MetricsScope};
use super::outcomes::OutcomeSink;

/// Capacity of the outcome ring between callers and the actor.
pub(crate) const OUTCOME_RING: usize = 4096;

/// The ring of one member of a keyed family: a family may hold tens of thousands of keys, each
/// seeing a share of the traffic, and a full ring folds outcomes into counters without losing
/// any. 4,096 slots would cost ≈ 160 KB per key (1.6 GB for 10,000 keys); 128 cost ≈ 5 KB.
pub(crate) const MEMBER_OUTCOME_RING: usize = 128;

/// Transition events kept for slow subscribers (a family member's are fewer: nobody watches
/// thousands of keys one by one).
const TRANSITION_BACKLOG: usize = 256;
const MEMBER_TRANSITION_BACKLOG: usize = 16;

/// The settings callers read on every call, swapped as a whole on a policy update.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: TimeoutPolicy,
    pub(crate) budget: Arc<RetryBudget>,
    /// Longest wait for a bulkhead slot.
    pub(crate) max_wait: Duration,
}

impl Settings {
    pub(crate) fn new(
        policy: &Policy,
        previous: Option<&Settings>,
    ) -> Result<Self, crate::retry::InvalidRetryConfig> {
        let cfg = policy.retry.budget_config();
        let budget = match previous {
            Some(prev) if prev.retry.budget_config() == cfg => Arc::clone(&prev.budget),
            _ => Arc::new(RetryBudget::new(
                cfg.ttl,
                cfg.min_retries_per_sec,
                cfg.retry_ratio,
            )?),
        };
        Ok(Self {
            retry: policy.retry.clone(),
            timeout: policy.timeout,
            budget,
            max_wait: policy.bulkhead.max_wait(),
        })
    }
}

/// The settings every call reads, kept as plain atomics beside the full [`Settings`]: a relaxed
/// load each instead of an `ArcSwap` load on the hot path. Written only on a policy update.
#[derive(Debug)]
pub(crate) struct CallLimits {
    attempt_nanos: AtomicU64,
    total_nanos: AtomicU64,
    max_wait_nanos: AtomicU64,
    max_retries: std::sync::atomic::AtomicU32,
}

/// A snapshot of [`CallLimits`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) attempt: Duration,
    pub(crate) total: Duration,
    pub(crate) max_wait: Duration,
    pub(crate) max_retries: u32,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl CallLimits {
    fn new(settings: &Settings) -> Self {
        let limits = Self {
            attempt_nanos: AtomicU64::new(0),
            total_nanos: AtomicU64::new(0),
            max_wait_nanos: AtomicU64::new(0),
            max_retries: std::sync::atomic::AtomicU32::new(0),
        };
        limits.store(settings);
        limits
    }

    /// Publishes the limits of new settings (actor only).
    pub(crate) fn store(&self, settings: &Settings) {
        self.attempt_nanos
            .store(nanos(settings.timeout.attempt), Ordering::Relaxed);
        self.total_nanos
            .store(nanos(settings.timeout.total), Ordering::Relaxed);
        self.max_wait_nanos
            .store(nanos(settings.max_wait), Ordering::Relaxed);
        self.max_retries
            .store(settings.retry.max_retries(), Ordering::Relaxed);
    }

    /// The limits in force.
    #[inline]
    pub(crate) fn load(&self) -> Limits {
        Limits {
            attempt: Duration::from_nanos(self.attempt_nanos.load(Ordering::Relaxed)),
            total: Duration::from_nanos(self.total_nanos.load(Ordering::Relaxed)),
            max_wait: Duration::from_nanos(self.max_wait_nanos.load(Ordering::Relaxed)),
            max_retries: self.max_retries.load(Ordering::Relaxed),
        }
    }
}

/// A breaker transition as observers see it.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionEvent {
    /// Which dependency.
    pub dependency: Arc<str>,
    /// The transition and its reason.
    #[serde(flatten)]
    pub transition: TransitionView,
}

/// Serializable view of a [`Transition`].
#[derive(Debug, Clone, Serialize)]
pub struct TransitionView {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Why, as a sentence.
    pub reason: String,
    /// When (wall clock, RFC 3339).
    pub at: Timestamp,
}

impl From<&Transition> for TransitionView {
    fn from(t: &Transition) -> Self {
        Self {
            from: t.from,
            to: t.to,
            reason: t.reason.to_string(),
            at: Timestamp::now(),
        }
    }
}

/// How many recent transitions a snapshot shows.
pub const RECENT_TRANSITIONS: usize = 10;

/// The retry budget's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryBudgetStatus {
    /// Retries the budget would grant now.
    pub available: u64,
    /// Retries refused because the budget was spent, since start.
    pub exhausted_total: u64,
}

/// What `/status` shows about one dependency.
#[derive(Debug, Clone, Serialize)]
pub struct DependencySnapshot {
    /// The dependency's name.
    pub name: Arc<str>,
    /// Breaker state and window rates.
    pub breaker: BreakerSnapshot,
    /// Bulkhead occupancy per class.
    pub bulkhead: BulkheadSnapshot,
    /// How often the owning actor has been restarted.
    pub actor_restarts: u64,
    /// Whether an actor currently owns the dependency.
    pub actor_alive: bool,
    /// The last active probe's result, if any probe ran.
    pub last_probe: Option<ProbeStatus>,
    /// Calls the dependency refused for our credentials (401/403). They open no breaker, so
    /// readiness looks here.
    pub unauthorized: UnauthorizedStatus,
    /// The latest breaker transitions, newest last (at most [`RECENT_TRANSITIONS`]).
    pub recent_transitions: Vec<TransitionView>,
    /// The retry budget.
    pub retry_budget: RetryBudgetStatus,
    /// Half-open trial places free at the published gate. With no call in flight it equals the
    /// breaker's `half_open_permits_left`: a lower figure would be a leaked permit.
    pub trial_permits_free: u64,
}

/// Refused credentials: how often, and when last (nanoseconds on the runtime's clock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UnauthorizedStatus {
    /// Calls refused with 401/403 (or classified unauthorized) since start.
    pub total: u64,
    /// When the last one happened, if any.
    pub last_at_nanos: Option<u64>,
}

/// Result of the latest health probe.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeStatus {
    /// Whether it succeeded.
    pub healthy: bool,
    /// The failure, when it failed.
    pub error: Option<String>,
}

/// Everything one dependency shares between its handles and its actor incarnations.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) name: Arc<str>,
    pub(crate) clock: Clock,
    /// Read on every call; written only on transitions.
    pub(crate) gate: CachePadded<Gate>,
    pub(crate) bulkhead: Bulkhead,
    pub(crate) settings: ArcSwap<Settings>,
    /// What every call reads of `settings`, as atomics.
    pub(crate) limits: CallLimits,
    pub(crate) outcomes: OutcomeSink,
    pub(crate) metrics: DependencyMetrics,
    /// The breaker state machine; only the actor locks it (the lock makes it survive restarts).
    breaker: Mutex<CircuitBreaker>,
    policy: Mutex<Policy>,
    pub(crate) actor: ArcSwapOption<ActorRef<DependencyMsg>>,
    /// How many times an actor has begun starting for this dependency.
    pub(crate) incarnations: AtomicU64,
    /// How many actor starts have completed (published once the new incarnation is reachable).
    pub(crate) started: watch::Sender<u64>,
    pub(crate) last_probe: Mutex<Option<ProbeStatus>>,
    pub(crate) transitions: broadcast::Sender<TransitionEvent>,
    pub(crate) state_tx: watch::Sender<State>,
    unauthorized_total: AtomicU64,
    unauthorized_last: AtomicU64,
    recent: Mutex<std::collections::VecDeque<TransitionView>>,
    pub(crate) budget_exhausted: AtomicU64,
}

/// Locks a mutex, recovering from poisoning: a panic in the actor must not make the state unusable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(
        name: Arc<str>,
        policy: Policy,
        clock: Clock,
        scope: MetricsScope,
    ) -> Result<Self, crate::retry::InvalidRetryConfig> {
        let now = clock.now();
        let breaker = CircuitBreaker::new(policy.breaker.clone(), now);
        let state = breaker.state();
        let settings = Settings::new(&policy, None)?;
        // Only a keyed family's members go without gauges of their own.
        let member = !scope.gauges;
        let (transitions, _) = broadcast::channel(if member {
            MEMBER_TRANSITION_BACKLOG
        } else {
            TRANSITION_BACKLOG
        });
        let (state_tx, _) = watch::channel(state);
        let metrics = DependencyMetrics::new(scope);
        metrics.state(state);
        let bulkhead = Bulkhead::new(&policy.bulkhead);
        for priority in [Priority::Critical, Priority::NonCritical] {
            metrics.limit(priority, bulkhead.limits(priority).max_concurrent);
        }
        Ok(Self {
            gate: CachePadded::new(Gate::new(
                state,
                breaker.round(),
                policy.breaker.slow_call_duration(),
            )),
            bulkhead,
            limits: CallLimits::new(&settings),
            settings: ArcSwap::from_pointee(settings),
            outcomes: OutcomeSink::new(if member {
                MEMBER_OUTCOME_RING
            } else {
                OUTCOME_RING
            }),
            metrics,
            breaker: Mutex::new(breaker),
            policy: Mutex::new(policy),
            actor: ArcSwapOption::empty(),
            incarnations: AtomicU64::new(0),
            started: watch::channel(0).0,
            last_probe: Mutex::new(None),
            transitions,
            state_tx,
            unauthorized_total: AtomicU64::new(0),
            unauthorized_last: AtomicU64::new(0),
            recent: Mutex::new(std::collections::VecDeque::with_capacity(
                RECENT_TRANSITIONS,
            )),
            budget_exhausted: AtomicU64::new(0),
            clock,
            name,
        })
    }

    /// The breaker state machine (actor use).
    pub(crate) fn breaker(&self) -> MutexGuard<'_, CircuitBreaker> {
        lock(&self.breaker)
    }

    /// The current policy.
    pub(crate) fn policy(&self) -> Policy {
        lock(&self.policy).clone()
    }

    pub(crate) fn set_policy(&self, policy: Policy) {
        *lock(&self.policy) = policy;
    }

    /// Publishes the breaker's state after a transition to handles, metrics and observers.
    ///
    /// Called only on transitions: between them the handles own the gate's half-open trial
    /// permits, and re-publishing the state machine's view would hand out permits twice.
    pub(crate) fn publish(&self, breaker: &CircuitBreaker, t: &Transition) {
        let state = breaker.state();
        self.gate.set_coarse_now(t.at);
        let open_until = (state == State::Open)
            .then(|| breaker.next_deadline())
            .flatten();
        self.gate.publish(
            state,
            breaker.round(),
            breaker.half_open_permits_left(),
            open_until,
        );
        self.metrics.state(state);
        self.metrics.transition(t.from, t.to);
        tracing::info!(
            dependency = %self.name,
            from = t.from.as_str(),
            to = t.to.as_str(),
            reason = %t.reason,
            "circuit transition"
        );
        let view = TransitionView::from(t);
        {
            let mut recent = lock(&self.recent);
            if recent.len() == RECENT_TRANSITIONS {
                recent.pop_front();
            }
            recent.push_back(view.clone());
        }
        let _ = self.transitions.send(TransitionEvent {
            dependency: Arc::clone(&self.name),
            transition: view,
        });
        self.state_tx.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
    }

    /// Asks the actor to drain outcomes; a no-op when no actor is running (the next one drains on
    /// start).
    pub(crate) fn wake_actor(&self) {
        let sent = self
            .actor
            .load()
            .as_ref()
            .is_some_and(|actor| actor.cast(DependencyMsg::Drain).is_ok());
        if !sent {
            self.outcomes.clear_wake();
        }
    }

    /// How often the owning actor has been restarted (starts after the first).
    pub(crate) fn restarts(&self) -> u64 {
        self.incarnations.load(Ordering::Relaxed).saturating_sub(1)
    }

    pub(crate) fn snapshot(&self) -> DependencySnapshot {
        let now = self.clock.now();
        DependencySnapshot {
            name: Arc::clone(&self.name),
            breaker: self.breaker().snapshot(now),
            bulkhead: self.bulkhead.snapshot(),
            actor_restarts: self.restarts(),
            actor_alive: self.actor.load().is_some(),
            last_probe: lock(&self.last_probe).clone(),
            unauthorized: self.unauthorized(),
            recent_transitions: lock(&self.recent).iter().cloned().collect(),
            retry_budget: RetryBudgetStatus {
                available: self.settings.load().budget.available(now),
                exhausted_total: self.budget_exhausted.load(Ordering::Relaxed),
            },
            trial_permits_free: self.gate.trial_permits(),
        }
    }

    /// The breaker's invariants, and the published gate's agreement with it: the gate never
    /// holds more free trial places than the breaker has left in the same round.
    pub(crate) fn check_invariants(&self) -> Result<(), crate::breaker::InvariantViolation> {
        let breaker = self.breaker();
        breaker.check_invariants()?;
        let same_round = self.gate.round() == breaker.round();
        if same_round
            && self.gate.state() == State::HalfOpen
            && self.gate.trial_permits() > u64::from(breaker.half_open_permits_left())
        {
            return Err(crate::breaker::InvariantViolation::new(
                "the gate offers more trial places than the breaker has left",
            ));
        }
        Ok(())
    }

    /// Counts a call refused for our credentials.
    pub(crate) fn note_unauthorized(&self, at: Moment) {
        self.unauthorized_total.fetch_add(1, Ordering::Relaxed);
        self.unauthorized_last
            .fetch_max(at.as_nanos().max(1), Ordering::Relaxed);
    }

    pub(crate) fn unauthorized(&self) -> UnauthorizedStatus {
        let last = self.unauthorized_last.load(Ordering::Relaxed);
        UnauthorizedStatus {
            total: self.unauthorized_total.load(Ordering::Relaxed),
            last_at_nanos: (last > 0).then_some(last),
        }
    }
}
