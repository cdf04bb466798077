//! Inference pools: several endpoints of one model or provider behind one handle.
//!
//! A [`Pool`] holds endpoints in ordered **tiers** (say, three replicas of a self-hosted model,
//! then a hosted provider as backup). Each endpoint is a full dependency of the runtime — its
//! own actor, breaker, bulkhead, retry budget and metrics (labelled `dependency="<pool>",
//! endpoint="<endpoint>"`, registered as `<pool>/<endpoint>` so `/status` lists it). A call:
//!
//! 1. **Balances** over the first tier's usable endpoints by power of two choices on calls in
//!    flight (`balance.rs`).
//! 2. **Ejects** an endpoint whose circuit is open: it is skipped until its breaker goes
//!    half-open, then it receives only the trial calls its breaker admits, and rejoins when they
//!    succeed. The breaker *is* the outlier detector; no second mechanism to tune.
//! 3. **Retries elsewhere**: a transient failure moves the call to another endpoint (never the
//!    same one twice), within the pool's `retry.max_retries` and the retry budget; a tier whose
//!    endpoints are all ejected or tried hands over to the next tier (**failover**). See
//!    `failover.rs` for the decision table.
//! 4. **Hedges** (opt-in, [`Hedging`]): a call that has not answered after a delay is also sent
//!    to a second endpoint; the first success wins, the other is cancelled; capped at a share of
//!    requests. A call whose context says it is not idempotent is never hedged.
//! 5. Falls back to the pool's [`FallbackChain`] when every endpoint failed
//!    ([`Pool::call_or_fallback`]).
//!
//! Endpoints never retry on their own (the pool registers them with `max_retries = 0`): a retry
//! belongs on another endpoint. Every call is bounded by its deadline — the caller's, or the
//! pool policy's `timeout.total`.
//!
//! ```
//! use bulwark_runtime::pool::Pool;
//! use bulwark_runtime::prelude::*;
//!
//! struct Replica(u32);
//! impl Dependency for Replica {
//!     type Request = String;
//!     type Response = String;
//!     async fn call(&self, req: String, _: &CallContext) -> Result<String, DependencyError> {
//!         Ok(format!("{req} from {}", self.0))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::builder().build().await?;
//! let pool = Pool::builder("model")
//!     .endpoint("a", Replica(1))
//!     .endpoint("b", Replica(2))
//!     .next_tier()
//!     .endpoint("backup", Replica(3))
//!     .build(&runtime)
//!     .await?;
//! let answer = pool.call("hi".to_owned(), CallContext::untracked()).await?;
//! assert!(answer == "hi from 1" || answer == "hi from 2", "the backup tier waits");
//! assert_eq!(runtime.dependency_names(), ["model/a", "model/b", "model/backup"]);
//! runtime.shutdown().await;
//! # Ok(()) }
//! ```

mod balance;
mod builder;
mod error;
mod failover;
mod hedge;
mod hedged;
mod latency;
mod metrics;

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::bulkhead::Priority;
use crate::clock::Clock;
use crate::dependency::{
    Answer, AnswerSource, CallContext, ControlError, Dependency, DependencyHandle,
    DependencySnapshot, Shared, fallback_answer, fallback_cause,
};
use crate::fallback::FallbackChain;
use crate::retry::RetryPolicy;

pub use builder::{MAX_ENDPOINTS, PoolBuilder};
pub use error::{InvalidPool, PoolError};
pub use hedge::{HedgeDelay, HedgeStats, Hedging, InvalidHedging};
pub use metrics::HEDGES_TOTAL;

use balance::Load;
use hedge::HedgeState;

/// One endpoint: a registered dependency.
struct Endpoint<D: Dependency> {
    name: Arc<str>,
    tier: usize,
    handle: DependencyHandle<D>,
}

impl<D: Dependency> Endpoint<D> {
    fn shared(&self) -> &Arc<Shared> {
        self.handle.controls().shared()
    }

    /// Whether the endpoint may take a call now, and how loaded it is.
    #[inline]
    fn load(&self, priority: Priority) -> Option<Load> {
        let shared = self.shared();
        if !shared.gate.is_admitting() {
            return None;
        }
        let bulkhead = &shared.bulkhead;
        let own = bulkhead.in_flight(priority);
        let other = bulkhead.in_flight(match priority {
            Priority::Critical => Priority::NonCritical,
            Priority::NonCritical => Priority::Critical,
        });
        Some(Load {
            full: own >= bulkhead.limits(priority).max_concurrent,
            in_flight: own + other,
        })
    }
}

struct PoolInner<D: Dependency> {
    name: Arc<str>,
    /// Every endpoint, tier after tier.
    endpoints: Vec<Endpoint<D>>,
    /// Each tier's endpoints, as a range of `endpoints`.
    tiers: Vec<Range<usize>>,
    /// Bits of every endpoint.
    all: u64,
    /// Retries across endpoints.
    retry: RetryPolicy,
    /// The deadline of a call whose context sets none.
    total: Duration,
    hedging: Option<HedgeState>,
    fallback: Option<FallbackChain<D::Request, D::Response>>,
    metrics: metrics::PoolMetrics,
    clock: Clock,
}

impl<D: Dependency> PoolInner<D> {
    /// The endpoint for the next attempt: power of two choices within the first tier that has a
    /// usable endpoint not yet `tried`.
    #[inline]
    fn pick(&self, tried: u64, priority: Priority) -> Option<usize> {
        let random = balance::random();
        self.tiers.iter().find_map(|tier| {
            let endpoints = &self.endpoints[tier.clone()];
            balance::pick(endpoints.len(), random, |i| {
                let index = tier.start + i;
                if tried & (1 << index) != 0 {
                    return None;
                }
                endpoints[i].load(priority)
            })
            .map(|i| tier.start + i)
        })
    }
}

/// Several endpoints of one model or provider behind one handle (see the [module](self) docs).
/// Cheap to clone.
pub struct Pool<D: Dependency> {
    inner: Arc<PoolInner<D>>,
}

impl<D: Dependency> Clone for Pool<D> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<D: Dependency> std::fmt::Debug for Pool<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.inner.name)
            .field(
                "endpoints",
                &self
                    .inner
                    .endpoints
                    .iter()
                    .map(|e| &e.name)
                    .collect::<Vec<_>>(),
            )
            .field("tiers", &self.inner.tiers.len())
            .field("hedging", &self.inner.hedging.as_ref().map(|h| h.config))
            .finish()
    }
}

/// One endpoint in a [`PoolSnapshot`].
#[derive(Debug, Clone, Serialize)]
pub struct EndpointSnapshot {
    /// The endpoint's name within the pool.
    pub endpoint: Arc<str>,
    /// Its tier (0 first).
    pub tier: usize,
    /// Its breaker, bulkhead and counters (named `<pool>/<endpoint>`).
    pub dependency: DependencySnapshot,
}

/// What `/status` shows about a pool.
#[derive(Debug, Clone, Serialize)]
pub struct PoolSnapshot {
    /// The pool's name.
    pub name: Arc<str>,
    /// Every endpoint, tier after tier.
    pub endpoints: Vec<EndpointSnapshot>,
    /// Hedging counts, when the pool hedges.
    pub hedging: Option<HedgeStats>,
}

impl<D: Dependency> Pool<D> {
    /// A builder for a pool named `name`.
    pub fn builder(name: impl Into<String>) -> PoolBuilder<D> {
        PoolBuilder::new(name.into())
    }

    /// Calls one endpoint — balanced, skipping ejected ones, moving to another endpoint or tier
    /// on a transient failure, hedging when configured — bounded by the call's deadline.
    pub fn call(
        &self,
        req: D::Request,
        ctx: CallContext,
    ) -> impl Future<Output = Result<D::Response, PoolError>> + Send + '_ {
        self.inner.call(req, ctx)
    }

    /// Like [`call`](Self::call), then the pool's fallback chain when every endpoint failed for
    /// a cause the chain handles. A successful answer is remembered for the cache stage.
    pub async fn call_or_fallback(
        &self,
        req: D::Request,
        ctx: CallContext,
    ) -> Result<Answer<D::Response>, PoolError>
    where
        D::Response: Clone,
    {
        let primary = |value| Answer {
            value,
            source: AnswerSource::Primary,
        };
        let Some(chain) = &self.inner.fallback else {
            return self.call(req, ctx).await.map(primary);
        };
        let copy = req.clone();
        let err = match self.call(req, ctx).await {
            Ok(value) => {
                chain.remember(&copy, &value);
                return Ok(primary(value));
            }
            Err(err) => err,
        };
        let cause = match &err {
            PoolError::Timeout { .. } => crate::fallback::FallbackCause::Timeout,
            PoolError::Unavailable { last: None, .. } => {
                crate::fallback::FallbackCause::CircuitOpen
            }
            PoolError::Unavailable {
                last: Some(last), ..
            }
            | PoolError::Failed { last, .. } => fallback_cause(last),
        };
        if !chain.triggers_on(cause) {
            return Err(err);
        }
        let Some(degraded) = chain.recover(&copy, cause) else {
            return Err(err);
        };
        self.inner.metrics.fallback(degraded.source.as_str());
        Ok(fallback_answer(degraded, cause, &self.inner.name))
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Every endpoint's name and handle, tier after tier.
    pub fn endpoints(&self) -> impl Iterator<Item = (&str, &DependencyHandle<D>)> {
        self.inner.endpoints.iter().map(|e| (&*e.name, &e.handle))
    }

    /// The handle of the endpoint named `name`.
    pub fn endpoint(&self, name: &str) -> Option<&DependencyHandle<D>> {
        self.endpoints()
            .find_map(|(n, handle)| (n == name).then_some(handle))
    }

    /// Hedging counts, when the pool hedges.
    pub fn hedge_stats(&self) -> Option<HedgeStats> {
        self.inner.hedging.as_ref().map(HedgeState::stats)
    }

    /// Every endpoint's state.
    pub fn snapshot(&self) -> PoolSnapshot {
        PoolSnapshot {
            name: Arc::clone(&self.inner.name),
            endpoints: self
                .inner
                .endpoints
                .iter()
                .map(|e| EndpointSnapshot {
                    endpoint: Arc::clone(&e.name),
                    tier: e.tier,
                    dependency: e.handle.snapshot(),
                })
                .collect(),
            hedging: self.hedge_stats(),
        }
    }

    /// Waits until every endpoint's actor has applied the outcomes recorded so far (a barrier
    /// for tests and operators; see [`Controls::flush`](crate::dependency::Controls::flush)).
    pub async fn flush(&self) -> Result<(), ControlError> {
        for endpoint in &self.inner.endpoints {
            endpoint.handle.flush().await?;
        }
        Ok(())
    }
}
