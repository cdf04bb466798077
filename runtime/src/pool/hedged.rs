//! One pool call with hedging (see [`Hedging`](super::Hedging) for the why).
//!
//! The call's endpoint attempts run side by side in one `FuturesUnordered`: the first attempt at
//! once, a hedge when the timer fires (if the cap allows and an untried endpoint is usable), a
//! retry on another endpoint when an attempt fails (as in `failover.rs`). The first success
//! returns and drops the rest — cancelling them is safe: each holds only RAII permits. Every
//! attempt runs under the same deadline, so the call ends by it.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::time::Sleep;

use crate::clock::Moment;
use crate::dependency::{CallContext, CallError, Dependency};

use super::PoolInner;
use super::error::PoolError;
use super::failover::{Next, Run};
use super::hedge::HedgeState;

/// What woke the hedged call.
enum Event<T> {
    /// An attempt ended (`None`: none is running).
    Finished(Option<T>),
    /// The hedge delay passed.
    HedgeDue,
}

impl<D: Dependency> PoolInner<D> {
    /// One endpoint attempt, tagged with its endpoint and start.
    fn attempt(
        &self,
        i: usize,
        req: D::Request,
        ctx: CallContext,
    ) -> impl Future<Output = (usize, Moment, Result<D::Response, CallError>)> + '_ {
        let began = self.clock.now();
        let handle = &self.endpoints[i].handle;
        async move { (i, began, handle.call(req, ctx).await) }
    }

    /// A call that may be hedged.
    pub(super) async fn call_hedged(
        &self,
        req: D::Request,
        ctx: CallContext,
        hedging: &HedgeState,
    ) -> Result<D::Response, PoolError> {
        let start = self.clock.now();
        hedging.request(start);
        let mut run = Run::new(Some(start), ctx.deadline());
        let ctx = ctx.with_deadline_at_most(run.deadline(self));
        let priority = ctx.priority();

        let Some(first) = self.pick(run.tried, priority) else {
            return Err(run.exhausted(self));
        };
        run.tried |= 1 << first;
        let mut running = FuturesUnordered::new();
        running.push(self.attempt(first, req.clone(), ctx.clone()));
        let mut hedged: u64 = 0;
        let mut hedges = 0;
        // Armed only once the attempts were polled and are pending, so an answer that is ready at
        // once costs no timer.
        let mut timer = pin!(None::<Sleep>);
        let mut hedge_pending = true;

        loop {
            let event = std::future::poll_fn(|cx| {
                if let Poll::Ready(finished) = running.poll_next_unpin(cx) {
                    return Poll::Ready(Event::Finished(finished));
                }
                if hedge_pending {
                    if timer.is_none() {
                        timer.set(Some(tokio::time::sleep(hedging.delay())));
                    }
                    if let Some(sleep) = timer.as_mut().as_pin_mut()
                        && sleep.poll(cx).is_ready()
                    {
                        return Poll::Ready(Event::HedgeDue);
                    }
                }
                Poll::Pending
            })
            .await;
            match event {
                Event::Finished(None) => return Err(run.exhausted(self)),
                Event::Finished(Some((i, began, Ok(response)))) => {
                    hedging.latency.record(self.clock.now() - began);
                    if hedged & (1 << i) != 0 {
                        hedging.won();
                    }
                    return Ok(response);
                }
                Event::Finished(Some((i, _, Err(err)))) => {
                    if let Next::Stop(err) = run.failed(self, i, err, &ctx) {
                        return Err(err);
                    }
                    match self.pick(run.tried, priority) {
                        Some(next) => {
                            run.tried |= 1 << next;
                            running.push(self.attempt(next, req.clone(), ctx.clone()));
                        }
                        None if running.is_empty() => return Err(run.exhausted(self)),
                        // Another attempt is still running: it may yet answer.
                        None => {}
                    }
                }
                Event::HedgeDue => {
                    timer.set(None);
                    hedge_pending = false;
                    let Some(next) = self.pick(run.tried, priority) else {
                        continue;
                    };
                    if !hedging.try_hedge(self.clock.now()) {
                        continue;
                    }
                    run.tried |= 1 << next;
                    hedged |= 1 << next;
                    hedges += 1;
                    self.metrics.hedge();
                    tracing::debug!(
                        pool = %self.name,
                        endpoint = %self.endpoints[next].name,
                        correlation_id = %ctx.correlation_id(),
                        "hedging"
                    );
                    running.push(self.attempt(next, req.clone(), ctx.clone()));
                    hedge_pending = hedges < hedging.config_max_hedges();
                }
            }
        }
    }
}
