//! The guarded call: breaker → bulkhead → attempt under a deadline → outcome → retry decision.
//!
//! This is the hot path. On a successful call to a healthy dependency it does: one atomic load of
//! the published breaker state, two clock reads, one settings load, one admission and one release
//! on the bulkhead, the attempt (polled once before any timer is armed), and three relaxed atomic
//! adds on the calling thread's own stripe (histogram bucket, histogram sum, success count) — no
//! allocation, no lock and no message to the actor. An open circuit is refused after the first
//! load.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tracing::Instrument;

use crate::clock::Moment;
use crate::retry::{GiveUpReason, RetryDecision, RetryableFailure};
use crate::timeout::lazy_timeout;

use super::actor::DependencyMsg;
use super::context::CallContext;
use super::error::{CallError, StopReason};
use super::gate::Admission;
use super::metrics::CallOutcomeLabel;
use super::outcomes::{OutcomeRecord, Wake};
use super::shared::Shared;
use super::traits::DependencyError;

/// One attempt against whatever the guard protects: a [`Dependency`](super::Dependency), a tower
/// service, a closure.
pub(crate) trait Attempt<Req> {
    /// A successful attempt's value.
    type Response;
    /// Performs one attempt.
    fn attempt(
        &mut self,
        req: Req,
        ctx: &CallContext,
    ) -> impl Future<Output = Result<Self::Response, DependencyError>>;
}

enum Failure {
    Dependency(DependencyError),
    Timeout,
}

/// Runs a guarded call to completion.
pub(crate) async fn execute<Req, A>(
    shared: &Shared,
    mut ctx: CallContext,
    req: Req,
    target: &mut A,
) -> Result<A::Response, CallError>
where
    Req: Clone,
    A: Attempt<Req>,
{
    let clock = &shared.clock;
    // Admission first: an open circuit is refused before the clock, the settings or the budget are
    // touched.
    let mut admission = admit(shared)?;
    let start = clock.now();
    let (attempt_timeout, max_retries) = {
        let settings = shared.settings.load();
        (settings.timeout.attempt, settings.retry.max_retries())
    };
    let mut req = Some(req);
    let mut attempt: u32 = 1;
    let mut now = start;
    loop {
        if attempt > 1 {
            admission = admit(shared)?;
        }
        let priority = ctx.priority();
        let (permit, attempt_start) = match shared.bulkhead.try_acquire(priority) {
            Some(permit) => (permit, now),
            None => match shared.bulkhead.acquire(priority, ctx.deadline()).await {
                Ok(permit) => (permit, clock.now()),
                Err(_) => {
                    if admission == Admission::Trial {
                        shared.gate.return_trial();
                    }
                    shared.metrics.bulkhead_rejected(priority);
                    shared.metrics.call(CallOutcomeLabel::BulkheadFull);
                    return Err(CallError::BulkheadFull {
                        dependency: Arc::clone(&shared.name),
                        priority,
                    });
                }
            },
        };

        let last_chance = attempt > max_retries;
        let this_req = if last_chance { req.take() } else { req.clone() };
        let Some(this_req) = this_req else {
            // Unreachable: the request is moved only into the last attempt, after which the
            // decision below never retries (`!last_chance`).
            return Err(CallError::Timeout {
                dependency: Arc::clone(&shared.name),
                attempts: attempt - 1,
            });
        };
        ctx.set_attempt(attempt);
        let span = tracing::debug_span!(
            "attempt",
            dependency = %shared.name,
            attempt,
            correlation_id = %ctx.correlation_id()
        );
        let deadline = || {
            let own = tokio::time::Instant::now() + attempt_timeout;
            ctx.deadline().map_or(own, |d| d.min(own))
        };
        let result = lazy_timeout(
            AssertUnwindSafe(target.attempt(this_req, &ctx))
                .catch_unwind()
                .instrument(span),
            deadline,
        )
        .await;
        let end = clock.now();
        drop(permit);

        let failure = match result {
            Ok(Ok(Ok(response))) => {
                record(shared, attempt_start, end, true, admission, attempt == 1);
                return Ok(response);
            }
            Ok(Ok(Err(err))) => Failure::Dependency(err),
            Err(_elapsed) => Failure::Timeout,
            Ok(Err(panic)) => {
                record(shared, attempt_start, end, false, admission, attempt == 1);
                shared.metrics.call(CallOutcomeLabel::Panic);
                report_panic(shared, panic_message(panic.as_ref()));
                return Err(CallError::Panicked {
                    dependency: Arc::clone(&shared.name),
                });
            }
        };
        record(shared, attempt_start, end, false, admission, attempt == 1);

        let retryable = match &failure {
            Failure::Dependency(err) => RetryableFailure {
                transient: err.is_transient(),
                retry_after: err.retry_after(),
            },
            Failure::Timeout => RetryableFailure {
                transient: true,
                retry_after: None,
            },
        };
        let settings = shared.settings.load_full();
        let decision = settings.retry.decide(attempt, retryable, ctx.time_left());
        let stop = match decision {
            RetryDecision::Retry { delay } if !last_chance && settings.budget.try_withdraw(end) => {
                shared.metrics.retry();
                tracing::debug!(
                    dependency = %shared.name,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    correlation_id = %ctx.correlation_id(),
                    "retrying"
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
                now = clock.now();
                continue;
            }
            RetryDecision::Retry { .. } if last_chance => {
                StopReason::Policy(GiveUpReason::MaxRetries)
            }
            RetryDecision::Retry { .. } => StopReason::BudgetExhausted,
            RetryDecision::GiveUp(reason) => StopReason::Policy(reason),
        };
        return Err(match failure {
            Failure::Timeout => {
                shared.metrics.call(CallOutcomeLabel::Timeout);
                CallError::Timeout {
                    dependency: Arc::clone(&shared.name),
                    attempts: attempt,
                }
            }
            Failure::Dependency(last) => {
                shared.metrics.call(CallOutcomeLabel::Failure);
                CallError::Failed {
                    dependency: Arc::clone(&shared.name),
                    attempts: attempt,
                    reason: stop,
                    last,
                }
            }
        });
    }
}

/// Checks the published breaker state; a refusal is counted and returned as the call's error.
#[inline]
fn admit(shared: &Shared) -> Result<Admission, CallError> {
    shared.gate.admit().map_err(|refused| {
        shared.metrics.refused();
        CallError::CircuitOpen {
            dependency: Arc::clone(&shared.name),
            state: refused.state,
            retry_after: refused.retry_after,
        }
    })
}

/// Reports an attempt: its duration to the histogram, its outcome to the actor. A fast success of
/// an ordinary call is one striped counter add; anything the breaker must look at individually (a
/// failure, a slow call, a half-open trial) goes through the ring and wakes the actor.
#[inline]
fn record(
    shared: &Shared,
    start: Moment,
    end: Moment,
    success: bool,
    admission: Admission,
    first_attempt: bool,
) {
    let duration_nanos = end.as_nanos().saturating_sub(start.as_nanos());
    shared.metrics.duration.record(duration_nanos);
    let slow = shared.gate.is_slow(duration_nanos);
    if success && !slow && admission == Admission::Normal {
        shared.outcomes.success();
        return;
    }
    let rec = OutcomeRecord {
        at: end,
        duration_nanos,
        success,
        admission,
        first_attempt,
    };
    if shared.outcomes.push(rec, slow, true) == Wake::Yes {
        shared.wake_actor();
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// A panic in the dependency's code means its client state is suspect: the owning actor fails on
/// purpose so its supervisor restarts it (and it calls `Dependency::reset`).
fn report_panic(shared: &Shared, message: String) {
    tracing::error!(dependency = %shared.name, panic = %message, "dependency panicked during a call");
    if let Some(actor) = shared.actor.load().as_ref() {
        let _ = actor.cast(DependencyMsg::DependencyPanicked(message));
    }
}
