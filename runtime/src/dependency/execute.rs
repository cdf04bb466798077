//! The guarded call: breaker → bulkhead → attempt under a deadline → outcome → retry decision.
//!
//! This is the hot path. On a successful call to a healthy dependency it does: one unit of the
//! task's cooperative budget, one atomic load of the published breaker state, two clock reads,
//! one settings load, one admission and one release on the bulkhead, the attempt (polled once
//! before any timer is armed), and three relaxed atomic adds on the calling thread's own stripe
//! (histogram bucket, histogram sum, success count) — no allocation, no lock and no message to
//! the actor. An open circuit is refused after the first load.
//!
//! Every call ends by its deadline: the context's, or the policy's `timeout.total` counted from
//! admission. The deadline is only computed when the call must wait (a queued bulkhead slot, an
//! attempt not ready at its first poll, a retry), so calls that never wait never read tokio's
//! clock.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use tokio::time::Instant;
use tracing::Instrument;

use crate::bulkhead::{BulkheadPermit, LimitSample, Priority};
use crate::clock::{Clock, Moment};
use crate::retry::{GiveUpReason, RetryDecision, RetryableFailure};
use crate::timeout::lazy_timeout;

use super::actor::DependencyMsg;
use super::context::CallContext;
use super::error::{CallError, StopReason};
use super::failure::{DependencyError, FailureKind};
use super::metrics::CallOutcomeLabel;
use super::permit::{CallPermit, Origin, Verdict};
use super::shared::Shared;

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

/// Counts a call whose future was dropped before it ended.
struct Tally<'a> {
    shared: &'a Shared,
    done: bool,
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.metrics.call(CallOutcomeLabel::Cancelled);
        }
    }
}

/// Spends one unit of the task's cooperative budget, like every tokio resource: a loop of calls
/// that are all ready at once (refused, or answered from memory) still yields to the scheduler
/// when the budget runs out, so timers and other tasks on the worker keep running.
#[inline]
async fn spend_coop_budget() {
    std::future::poll_fn(|cx| {
        tokio::task::coop::poll_proceed(cx).map(|restore| {
            restore.made_progress();
            // Committed: its drop would only re-check that; it owns nothing.
            std::mem::forget(restore);
        })
    })
    .await;
}

/// The call's deadline, computed only when first needed: the context's, else `total` after
/// `start`.
struct CallDeadline {
    total: Duration,
    start: Moment,
    resolved: Option<Instant>,
}

impl CallDeadline {
    fn get(&mut self, clock: &Clock, ctx: &CallContext) -> Instant {
        let Self {
            total,
            start,
            resolved,
        } = self;
        *resolved.get_or_insert_with(|| {
            ctx.deadline().unwrap_or_else(|| {
                let elapsed = clock.now().saturating_duration_since(*start);
                Instant::now() + total.saturating_sub(elapsed)
            })
        })
    }
}

/// Why waiting for a bulkhead slot ended without one.
enum NoSlot {
    Full,
    Deadline,
}

/// Runs a guarded call to completion, counting it exactly once in `bulwark_calls_total`
/// (as `cancelled` when the future is dropped before it ends).
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
    spend_coop_budget().await;
    // Admission first: an open circuit is refused before the clock, the settings or the budget are
    // touched.
    let mut permit = admit(shared)?;
    // From here on the call is counted once, whichever way it ends (dropped included).
    let mut tally = Tally {
        shared,
        done: false,
    };
    // Whether the caller set a deadline (before the policy's total may be written into `ctx`).
    let caller_deadline = ctx.deadline().is_some();
    let clock = &shared.clock;
    let start = clock.now();
    let limits = shared.limits.load();
    let (attempt_timeout, max_retries, total, max_wait) = (
        limits.attempt,
        limits.max_retries,
        limits.total,
        limits.max_wait,
    );
    let mut deadline = CallDeadline {
        total,
        start,
        resolved: None,
    };
    let mut req = Some(req);
    let mut attempt: u32 = 1;
    let mut now = start;
    loop {
        let priority = ctx.priority();
        let (slot, attempt_start) = match shared.bulkhead.try_acquire(priority) {
            Some(slot) => (slot, now),
            None => {
                match wait_for_slot(shared, priority, deadline.get(clock, &ctx), max_wait).await {
                    Ok(slot) => (slot, clock.now()),
                    Err(reason) => {
                        drop(permit);
                        tally.done = true;
                        return Err(refused_by_bulkhead(shared, priority, reason, attempt));
                    }
                }
            }
        };
        if let Some(d) = deadline.resolved {
            ctx.set_deadline(d);
        }

        let last_chance = attempt > max_retries;
        let Some(this_req) = (if last_chance { req.take() } else { req.clone() }) else {
            // Unreachable: the request is moved only into the last attempt, after which the
            // decision below never retries (`!last_chance`).
            tally.done = true;
            return Err(timed_out(shared, attempt - 1));
        };
        ctx.set_attempt(attempt);
        let span = attempt_span(shared, &ctx, &permit, attempt);
        // Set when the caller's deadline, not the policy's attempt timeout, bounds this attempt.
        let cut_by_caller = AtomicBool::new(false);
        let result = lazy_timeout(
            AssertUnwindSafe(target.attempt(this_req, &ctx))
                .catch_unwind()
                .instrument(span.clone()),
            || {
                let by_policy = Instant::now() + attempt_timeout;
                let by_call = deadline.get(clock, &ctx);
                cut_by_caller.store(caller_deadline && by_call < by_policy, Ordering::Relaxed);
                by_policy.min(by_call)
            },
        )
        .await;
        let end = clock.now();
        if !span.is_disabled() {
            span.record("outcome", attempt_outcome(&result));
        }
        drop(span);
        match limit_sample(&result, attempt_start, end) {
            Some(sample) => slot.measured(sample),
            None => drop(slot),
        }
        let origin = Origin::Call {
            first: attempt == 1,
        };

        let failure = match result {
            Ok(Ok(Ok(response))) => {
                permit.report(attempt_start, end, Verdict::Success, origin);
                tally.done = true;
                return Ok(response);
            }
            Ok(Ok(Err(err))) if !err.kind().counts_against_dependency() => {
                permit.report(attempt_start, end, Verdict::Ignored, origin);
                tally.done = true;
                return Err(ignored(shared, err, attempt, end));
            }
            Ok(Ok(Err(err))) => {
                permit.report(attempt_start, end, Verdict::Failure, origin);
                Failure::Dependency(err)
            }
            // The caller's own deadline ended the attempt before the policy would have: that
            // says nothing about the dependency's health, so the breaker ignores it (a client
            // sending tiny deadlines must not open a circuit every other caller shares).
            Err(_elapsed) if cut_by_caller.load(Ordering::Relaxed) => {
                permit.report(attempt_start, end, Verdict::Ignored, origin);
                tally.done = true;
                return Err(timed_out(shared, attempt));
            }
            Err(_elapsed) => {
                permit.report(attempt_start, end, Verdict::Failure, origin);
                Failure::Timeout
            }
            Ok(Err(panic)) => {
                permit.report(attempt_start, end, Verdict::Failure, origin);
                shared.metrics.call(CallOutcomeLabel::Panic);
                report_panic(shared, crate::error::panic_text(panic.as_ref()));
                tally.done = true;
                return Err(CallError::Panicked {
                    dependency: Arc::clone(&shared.name),
                });
            }
        };

        let retryable = match &failure {
            Failure::Dependency(err) => RetryableFailure {
                transient: err.is_transient(),
                retry_after: err.retry_after(),
                repeat_safe: ctx.is_idempotent() || !err.may_have_reached(),
            },
            Failure::Timeout => RetryableFailure {
                transient: true,
                retry_after: None,
                repeat_safe: ctx.is_idempotent(),
            },
        };
        let time_left = deadline
            .get(clock, &ctx)
            .saturating_duration_since(Instant::now());
        let settings = shared.settings.load_full();
        let decision = settings.retry.decide(attempt, retryable, Some(time_left));
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
                // A retry is admitted again; a refusal ends the call as refused (counted there).
                permit = match admit(shared) {
                    Ok(permit) => permit,
                    Err(refused) => {
                        tally.done = true;
                        return Err(refused);
                    }
                };
                now = clock.now();
                continue;
            }
            RetryDecision::Retry { .. } if last_chance => {
                StopReason::Policy(GiveUpReason::MaxRetries)
            }
            RetryDecision::Retry { .. } => {
                shared.metrics.budget_exhausted();
                shared
                    .budget_exhausted
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                StopReason::BudgetExhausted
            }
            RetryDecision::GiveUp(reason) => StopReason::Policy(reason),
        };
        tally.done = true;
        return Err(match failure {
            Failure::Timeout => timed_out(shared, attempt),
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

/// The span of one attempt (`dependency.attempt`, at `debug`): dependency, attempt number,
/// breaker state at admission, correlation ID, and the outcome once known. Disabled (no subscriber,
/// or filtered out) it costs one callsite check; the breaker state is only read when enabled.
#[inline]
fn attempt_span(
    shared: &Shared,
    ctx: &CallContext,
    permit: &CallPermit<'_>,
    attempt: u32,
) -> tracing::Span {
    let span = tracing::debug_span!(
        "dependency.attempt",
        dependency = %shared.name,
        attempt,
        correlation_id = %ctx.correlation_id(),
        breaker = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    if !span.is_disabled() {
        let state = if permit.permit().is_trial() {
            crate::breaker::State::HalfOpen
        } else {
            shared.gate.state()
        };
        span.record("breaker", state.as_str());
    }
    span
}

/// The `outcome` field of an attempt span.
fn attempt_outcome<T, E>(
    result: &Result<Result<Result<T, DependencyError>, E>, crate::timeout::Elapsed>,
) -> &'static str {
    match result {
        Ok(Ok(Ok(_))) => "success",
        Ok(Ok(Err(err))) if !err.kind().counts_against_dependency() => "rejected_request",
        Ok(Ok(Err(_))) => "failure",
        Err(_elapsed) => "timeout",
        Ok(Err(_panic)) => "panic",
    }
}

/// What an attempt tells an adaptive bulkhead limit: its latency when it succeeded, a drop when
/// it timed out or failed transiently (overload), nothing otherwise (a bad request, a panic).
#[inline]
fn limit_sample<T, E>(
    result: &Result<Result<Result<T, DependencyError>, E>, crate::timeout::Elapsed>,
    start: Moment,
    end: Moment,
) -> Option<LimitSample> {
    let dropped = match result {
        Ok(Ok(Ok(_))) => false,
        Ok(Ok(Err(err))) if err.is_transient() => true,
        Err(_elapsed) => true,
        Ok(_) => return None,
    };
    Some(LimitSample {
        rtt: end.saturating_duration_since(start),
        dropped,
        at: end,
    })
}

/// Checks the published breaker state; a refusal is counted and returned as the call's error.
#[inline]
fn admit(shared: &Shared) -> Result<CallPermit<'_>, CallError> {
    CallPermit::admit(shared).map_err(|refused| {
        shared.metrics.refused();
        CallError::CircuitOpen {
            dependency: Arc::clone(&shared.name),
            state: refused.state,
            retry_after: refused.retry_after,
        }
    })
}

/// Waits in the bulkhead's queue, at most `max_wait` and never past the call's deadline.
async fn wait_for_slot(
    shared: &Shared,
    priority: Priority,
    deadline: Instant,
    max_wait: Duration,
) -> Result<BulkheadPermit<'_>, NoSlot> {
    let until = deadline.min(Instant::now() + max_wait);
    match shared.bulkhead.acquire(priority, Some(until)).await {
        Ok(slot) => Ok(slot),
        Err(refusal) if refusal.is_timeout() && Instant::now() >= deadline => Err(NoSlot::Deadline),
        Err(_) => Err(NoSlot::Full),
    }
}

fn refused_by_bulkhead(
    shared: &Shared,
    priority: Priority,
    reason: NoSlot,
    attempt: u32,
) -> CallError {
    match reason {
        NoSlot::Deadline => timed_out(shared, attempt - 1),
        NoSlot::Full => {
            shared.metrics.bulkhead_rejected(priority);
            shared.metrics.call(CallOutcomeLabel::BulkheadFull);
            CallError::BulkheadFull {
                dependency: Arc::clone(&shared.name),
                priority,
            }
        }
    }
}

fn timed_out(shared: &Shared, attempts: u32) -> CallError {
    shared.metrics.call(CallOutcomeLabel::Timeout);
    CallError::Timeout {
        dependency: Arc::clone(&shared.name),
        attempts,
    }
}

/// A failure the breaker ignores: handed back to the caller at once, never retried.
fn ignored(shared: &Shared, err: DependencyError, attempts: u32, at: Moment) -> CallError {
    let label = match err.kind() {
        FailureKind::Unauthorized => {
            shared.note_unauthorized(at);
            CallOutcomeLabel::Unauthorized
        }
        _ => CallOutcomeLabel::RejectedRequest,
    };
    shared.metrics.call(label);
    CallError::Failed {
        dependency: Arc::clone(&shared.name),
        attempts,
        reason: StopReason::Policy(GiveUpReason::Permanent),
        last: err,
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
