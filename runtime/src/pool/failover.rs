//! One pool call without hedging: pick, call, and on a failure move to another endpoint — within
//! the tier first, then the next tiers — until one answers, the failure is not worth repeating,
//! retries or the retry budget run out, or the deadline passes.
//!
//! What a failed endpoint call means for the next step (one small decision table, [`step`]):
//!
//! | endpoint's error | next |
//! | --- | --- |
//! | circuit open, bulkhead full (never attempted) | another endpoint, free |
//! | unauthorized (401/403: this endpoint refuses our credentials) | another endpoint, free |
//! | transient failure, timeout, panic | another endpoint as a retry: counts against `retry.max_retries` and the failed endpoint's retry budget; only if the request is idempotent or never reached the endpoint |
//! | permanent, rejected request (the caller's fault) | stop: another endpoint would answer the same |
//!
//! No endpoint is tried twice in one call, and no backoff is taken between endpoints (they fail
//! independently). The first attempt runs under the caller's deadline, or the endpoint's own
//! `timeout.total`; later attempts under the pool's deadline (the caller's, or `timeout.total`
//! from the call's start).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::time::Instant;

use crate::clock::Moment;
use crate::dependency::{CallContext, CallError, Dependency, FailureKind};

use super::PoolInner;
use super::error::PoolError;

/// What to do after an endpoint's failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Try another endpoint; the failure costs nothing (the call never ran there).
    Skip,
    /// Try another endpoint as a retry.
    Retry,
    /// Give up with this failure.
    Stop,
}

/// The decision table above.
pub(super) fn step(err: &CallError, ctx: &CallContext) -> Step {
    let repeatable = |may_have_reached: bool| {
        if ctx.is_idempotent() || !may_have_reached {
            Step::Retry
        } else {
            Step::Stop
        }
    };
    match err {
        CallError::CircuitOpen { .. } | CallError::BulkheadFull { .. } => Step::Skip,
        CallError::Failed { last, .. } => match last.kind() {
            FailureKind::Transient => repeatable(last.may_have_reached()),
            FailureKind::Unauthorized => Step::Skip,
            FailureKind::Permanent | FailureKind::RejectedRequest => Step::Stop,
        },
        CallError::Timeout { .. } | CallError::Panicked { .. } => repeatable(true),
    }
}

/// The bookkeeping of one pool call.
pub(super) struct Run {
    /// Endpoints already asked (bit i: endpoint i).
    pub(super) tried: u64,
    /// Endpoint calls made (refusals not counted).
    attempts: u32,
    retries: u32,
    /// When the call began; read lazily (an answer ready at once never needs it).
    start: Option<Moment>,
    deadline: Option<Instant>,
    last: Option<CallError>,
}

/// After a failure: go on (under this deadline), or stop with this error.
pub(super) enum Next {
    Continue(Instant),
    Stop(PoolError),
}

impl Run {
    pub(super) fn new(start: Option<Moment>, deadline: Option<Instant>) -> Self {
        Self {
            tried: 0,
            attempts: 0,
            retries: 0,
            start,
            deadline,
            last: None,
        }
    }

    /// Notes that the call began at `start`, unless known already.
    pub(super) fn began(&mut self, start: Moment) {
        self.start.get_or_insert(start);
    }

    /// The pool's deadline: the caller's, or `timeout.total` from the call's start (now, if the
    /// start was never read: the first attempt ended at its first poll).
    pub(super) fn deadline<D: Dependency>(&mut self, pool: &PoolInner<D>) -> Instant {
        let start = self.start;
        *self.deadline.get_or_insert_with(|| {
            let start = start.unwrap_or_else(|| pool.clock.now());
            pool.clock.to_instant(start + pool.total)
        })
    }

    /// Decides what follows endpoint `i`'s failure `err`.
    pub(super) fn failed<D: Dependency>(
        &mut self,
        pool: &PoolInner<D>,
        i: usize,
        err: CallError,
        ctx: &CallContext,
    ) -> Next {
        if !err.is_rejection() {
            self.attempts += 1;
        }
        match step(&err, ctx) {
            Step::Skip => {}
            Step::Retry => {
                let now = pool.clock.now();
                let budget = &pool.endpoints[i].shared().settings.load().budget;
                if self.retries >= pool.retry.max_retries() || !budget.try_withdraw(now) {
                    return Next::Stop(self.fail(pool, err));
                }
                self.retries += 1;
                pool.metrics.retry();
            }
            Step::Stop => return Next::Stop(self.fail(pool, err)),
        }
        let deadline = self.deadline(pool);
        if Instant::now() >= deadline {
            return Next::Stop(PoolError::Timeout {
                pool: Arc::clone(&pool.name),
                attempts: self.attempts,
                last: Some(err),
            });
        }
        self.last = Some(err);
        Next::Continue(deadline)
    }

    fn fail<D: Dependency>(&self, pool: &PoolInner<D>, last: CallError) -> PoolError {
        let pool = Arc::clone(&pool.name);
        let attempts = self.attempts;
        match last {
            CallError::Timeout { .. } => PoolError::Timeout {
                pool,
                attempts,
                last: Some(last),
            },
            last => PoolError::Failed {
                pool,
                attempts,
                last,
            },
        }
    }

    /// No endpoint is left to try.
    pub(super) fn exhausted<D: Dependency>(mut self, pool: &PoolInner<D>) -> PoolError {
        match self.last.take() {
            Some(last) if self.attempts > 0 => self.fail(pool, last),
            last => PoolError::Unavailable {
                pool: Arc::clone(&pool.name),
                last,
            },
        }
    }
}

impl<D: Dependency> PoolInner<D> {
    /// A pool call: hedged when the pool hedges and the call is idempotent, else the loop below (kept in this one function,
    /// so the common path nests no further future).
    pub(super) async fn call(
        &self,
        req: D::Request,
        mut ctx: CallContext,
    ) -> Result<D::Response, PoolError> {
        // A request that must not run twice is never hedged.
        if let Some(hedging) = &self.hedging
            && ctx.is_idempotent()
        {
            return self.call_hedged(req, ctx, hedging).await;
        }
        let mut run = Run::new(None, ctx.deadline());
        let mut req = Some(req);
        loop {
            let Some(i) = self.pick(run.tried, ctx.priority()) else {
                return Err(run.exhausted(self));
            };
            run.tried |= 1 << i;
            // The last endpoint there is gets the request itself; the others a copy.
            let this = if run.tried == self.all {
                req.take()
            } else {
                req.clone()
            };
            let Some(this) = this else {
                return Err(run.exhausted(self));
            };
            // Polled once before the clock is read for the call's start (as the guarded call
            // arms its timer): an answer ready at once never needs it.
            let mut call = pin!(self.endpoints[i].handle.call(this, ctx.clone()));
            let result = match std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await
            {
                Poll::Ready(result) => result,
                Poll::Pending => {
                    run.began(self.clock.now());
                    call.await
                }
            };
            let err = match result {
                Ok(response) => return Ok(response),
                Err(err) => err,
            };
            match run.failed(self, i, err, &ctx) {
                Next::Continue(deadline) => ctx = ctx.with_deadline_at_most(deadline),
                Next::Stop(err) => return Err(err),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::State;
    use crate::bulkhead::Priority;
    use crate::dependency::DependencyError;
    use crate::dependency::StopReason;
    use crate::retry::GiveUpReason;

    fn failed(err: DependencyError) -> CallError {
        CallError::Failed {
            dependency: Arc::from("x"),
            attempts: 1,
            reason: StopReason::Policy(GiveUpReason::MaxRetries),
            last: err,
        }
    }

    #[test]
    fn the_decision_table() {
        let ctx = CallContext::untracked();
        let once = CallContext::untracked().idempotent(false);
        let open = CallError::CircuitOpen {
            dependency: Arc::from("x"),
            state: State::Open,
            retry_after: None,
        };
        let full = CallError::BulkheadFull {
            dependency: Arc::from("x"),
            priority: Priority::Critical,
        };
        assert_eq!(step(&open, &once), Step::Skip);
        assert_eq!(step(&full, &once), Step::Skip);
        assert_eq!(
            step(&failed(DependencyError::unauthorized("401")), &once),
            Step::Skip
        );

        let reset = failed(DependencyError::transient("reset"));
        assert_eq!(step(&reset, &ctx), Step::Retry);
        assert_eq!(
            step(&reset, &once),
            Step::Stop,
            "may have reached: not repeated"
        );
        let refused = failed(DependencyError::transient("refused").not_delivered());
        assert_eq!(step(&refused, &once), Step::Retry, "never reached: safe");

        let timeout = CallError::Timeout {
            dependency: Arc::from("x"),
            attempts: 1,
        };
        assert_eq!(step(&timeout, &ctx), Step::Retry);
        assert_eq!(step(&timeout, &once), Step::Stop);

        assert_eq!(
            step(&failed(DependencyError::permanent("bad json")), &ctx),
            Step::Stop
        );
        assert_eq!(
            step(&failed(DependencyError::rejected_request("400")), &ctx),
            Step::Stop
        );
    }
}
