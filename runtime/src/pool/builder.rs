//! [`PoolBuilder`]: endpoints in tiers, the policy, hedging and the fallback chain.

use std::collections::HashSet;
use std::sync::Arc;

use crate::dependency::{Dependency, DependencyHandle};
use crate::fallback::FallbackChain;
use crate::policy::Policy;
use crate::retry::RetryPolicy;
use crate::runtime::Runtime;

use super::error::InvalidPool;
use super::hedge::{HedgeState, Hedging};
use super::metrics::{self, PoolMetrics};
use super::{Endpoint, Pool, PoolInner};

/// Endpoints a pool holds at most (a call remembers the endpoints it tried in one word).
pub const MAX_ENDPOINTS: usize = 64;

struct Planned<D> {
    name: String,
    dependency: D,
    policy: Option<Policy>,
}

/// Builds a [`Pool`]: endpoints are added to the current tier; [`next_tier`](Self::next_tier)
/// starts the next one.
#[must_use]
pub struct PoolBuilder<D: Dependency> {
    name: String,
    policy: Policy,
    tiers: Vec<Vec<Planned<D>>>,
    hedging: Option<Hedging>,
    fallback: Option<FallbackChain<D::Request, D::Response>>,
}

impl<D: Dependency> std::fmt::Debug for PoolBuilder<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tiers: Vec<Vec<&str>> = self
            .tiers
            .iter()
            .map(|t| t.iter().map(|e| e.name.as_str()).collect())
            .collect();
        f.debug_struct("PoolBuilder")
            .field("name", &self.name)
            .field("tiers", &tiers)
            .field("hedging", &self.hedging)
            .finish_non_exhaustive()
    }
}

impl<D: Dependency> PoolBuilder<D> {
    pub(super) fn new(name: String) -> Self {
        Self {
            name,
            policy: Policy::default(),
            tiers: vec![Vec::new()],
            hedging: None,
            fallback: None,
        }
    }

    /// The policy of every endpoint added without its own, and of the pool itself: its
    /// `retry.max_retries` and retry budget govern retries on *other* endpoints, its
    /// `timeout.total` bounds a call whose context has no deadline. (Endpoints are registered
    /// with `max_retries = 0`.)
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Adds an endpoint to the current tier, with the pool's policy.
    pub fn endpoint(self, name: impl Into<String>, dependency: D) -> Self {
        self.add(name.into(), dependency, None)
    }

    /// Adds an endpoint to the current tier with its own policy (its breaker, bulkhead, adaptive
    /// limit and timeouts; its retries are still turned off).
    pub fn endpoint_with_policy(
        self,
        name: impl Into<String>,
        dependency: D,
        policy: Policy,
    ) -> Self {
        self.add(name.into(), dependency, Some(policy))
    }

    fn add(mut self, name: String, dependency: D, policy: Option<Policy>) -> Self {
        if let Some(tier) = self.tiers.last_mut() {
            tier.push(Planned {
                name,
                dependency,
                policy,
            });
        }
        self
    }

    /// Starts the next tier: its endpoints are used only while no endpoint of an earlier tier
    /// can take the call (all ejected, full or already tried by this call).
    pub fn next_tier(mut self) -> Self {
        if self.tiers.last().is_some_and(|t| !t.is_empty()) {
            self.tiers.push(Vec::new());
        }
        self
    }

    /// Hedges slow calls (see [`Hedging`]).
    pub fn hedging(mut self, hedging: Hedging) -> Self {
        self.hedging = Some(hedging);
        self
    }

    /// The chain [`Pool::call_or_fallback`] tries when every endpoint failed.
    pub fn fallback(mut self, chain: FallbackChain<D::Request, D::Response>) -> Self {
        self.fallback = Some(chain);
        self
    }

    /// Validates, registers every endpoint with `runtime` (as `<pool>/<endpoint>`) and returns
    /// the pool. Endpoints registered before a failure stay registered.
    pub async fn build(self, runtime: &Runtime) -> Result<Pool<D>, InvalidPool> {
        let Self {
            name,
            policy,
            mut tiers,
            hedging,
            fallback,
        } = self;
        tiers.retain(|t| !t.is_empty());
        let count: usize = tiers.iter().map(Vec::len).sum();
        if count == 0 {
            return Err(InvalidPool::NoEndpoints(name));
        }
        if count > MAX_ENDPOINTS {
            return Err(InvalidPool::TooManyEndpoints {
                pool: name,
                count,
                max: MAX_ENDPOINTS,
            });
        }
        let mut seen = HashSet::new();
        for endpoint in tiers.iter().flatten() {
            if !seen.insert(endpoint.name.as_str()) {
                return Err(InvalidPool::DuplicateEndpoint {
                    pool: name.clone(),
                    endpoint: endpoint.name.clone(),
                });
            }
        }
        let hedging = hedging
            .map(HedgeState::new)
            .transpose()
            .map_err(InvalidPool::Hedging)?;
        metrics::describe();

        let mut endpoints = Vec::with_capacity(count);
        let mut ranges = Vec::with_capacity(tiers.len());
        for (tier, planned) in tiers.into_iter().enumerate() {
            let start = endpoints.len();
            for endpoint in planned {
                let own = endpoint.policy.unwrap_or_else(|| policy.clone());
                let handle =
                    register(runtime, &name, &endpoint.name, endpoint.dependency, own).await?;
                endpoints.push(Endpoint {
                    name: Arc::from(endpoint.name),
                    tier,
                    handle,
                });
            }
            ranges.push(start..endpoints.len());
        }
        let all = if count == MAX_ENDPOINTS {
            u64::MAX
        } else {
            (1u64 << count) - 1
        };
        Ok(Pool {
            inner: Arc::new(PoolInner {
                metrics: PoolMetrics::new(&name),
                name: Arc::from(name),
                endpoints,
                tiers: ranges,
                all,
                retry: policy.retry,
                total: policy.timeout.total,
                hedging,
                fallback,
                clock: runtime.clock().clone(),
            }),
        })
    }
}

/// Registers one endpoint, its own retries turned off (the pool retries on other endpoints).
async fn register<D: Dependency>(
    runtime: &Runtime,
    pool: &str,
    endpoint: &str,
    dependency: D,
    mut policy: Policy,
) -> Result<DependencyHandle<D>, InvalidPool> {
    policy.retry = RetryPolicy::builder()
        .max_retries(0)
        .budget(*policy.retry.budget_config())
        .build()
        .map_err(InvalidPool::Retry)?;
    runtime
        .add_endpoint(pool, endpoint, dependency, policy)
        .await
        .map_err(InvalidPool::Runtime)
}
