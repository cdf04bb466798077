//! Keyed dependencies: a breaker, bulkhead and actor per key, created on demand, evicted when idle.
//!
//! One upstream is often many: one endpoint per model replica, one credential per tenant, one
//! connection per shard. A single breaker over all of them opens for everyone when one tenant's
//! key is revoked; a breaker per key isolates the failure. [`KeyedDependency`] creates the key's
//! handle on first use (its actor is started under a dynamic supervisor of its own), keeps at most
//! `max_keys` of them, and evicts a key after it has been idle for the configured time, stopping its
//! actor. Handles are cheap to fetch: fetch one per call rather than keeping it, so an evicted key
//! is re-created fresh on its next use.

use std::sync::Arc;
use std::time::Duration;

use crate::dependency::{CallContext, CallError, Dependency, DependencyHandle};
use crate::policy::Policy;
use crate::runtime::{Runtime, RuntimeError};
use crate::supervision::DynamicSupervisor;

/// Upper bound of live keys per family; beyond it the least recently used key is evicted.
pub const DEFAULT_MAX_KEYS: u64 = 100_000;

type Factory<D> = Arc<dyn Fn(&str) -> D + Send + Sync>;

/// A family of dependencies keyed by a string.
pub struct KeyedDependency<D: Dependency> {
    name: Arc<str>,
    runtime: Runtime,
    factory: Factory<D>,
    policy: Policy,
    cache: moka::sync::Cache<String, DependencyHandle<D>>,
    supervisor: DynamicSupervisor,
}

impl<D: Dependency> Clone for KeyedDependency<D> {
    fn clone(&self) -> Self {
        Self {
            name: Arc::clone(&self.name),
            runtime: self.runtime.clone(),
            factory: Arc::clone(&self.factory),
            policy: self.policy.clone(),
            cache: self.cache.clone(),
            supervisor: self.supervisor.clone(),
        }
    }
}

impl<D: Dependency> std::fmt::Debug for KeyedDependency<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedDependency")
            .field("name", &self.name)
            .field("keys", &self.cache.entry_count())
            .finish()
    }
}

impl<D: Dependency> KeyedDependency<D> {
    pub(crate) async fn start(
        runtime: Runtime,
        name: String,
        factory: Factory<D>,
        policy: Policy,
        idle: Duration,
    ) -> Result<Self, RuntimeError> {
        let supervisor = runtime
            .supervision()
            .start_dynamic(format!("keyed:{name}"))
            .await?;
        let on_evict = supervisor.clone();
        let cache = moka::sync::Cache::builder()
            .max_capacity(DEFAULT_MAX_KEYS)
            .time_to_idle(idle)
            .eviction_listener(move |key: Arc<String>, _handle, cause| {
                tracing::debug!(key = %key, ?cause, "evicting keyed dependency");
                on_evict.stop_child(&key);
            })
            .build();
        Ok(Self {
            name: Arc::from(name),
            runtime,
            factory,
            policy,
            cache,
            supervisor,
        })
    }

    /// The handle for `key`, created (and its actor started) on first use.
    pub async fn get(&self, key: &str) -> Result<DependencyHandle<D>, RuntimeError> {
        if let Some(handle) = self.cache.get(key) {
            return Ok(handle);
        }
        let mut created = None;
        let entry = self.cache.entry_by_ref(key).or_try_insert_with(|| {
            let name = format!("{}:{key}", self.name);
            let (handle, shared) =
                self.runtime
                    .new_handle(&name, (self.factory)(key), self.policy.clone(), None)?;
            created = Some(shared);
            Ok::<_, RuntimeError>(handle)
        });
        let entry = entry.map_err(|e| {
            Arc::try_unwrap(e).unwrap_or_else(|e| RuntimeError::Supervision(e.to_string()))
        })?;
        let handle = entry.into_value();
        if let Some(shared) = created {
            self.supervisor
                .start_dependency(key.to_owned(), shared, Arc::clone(handle.dependency()))
                .await?;
        }
        Ok(handle)
    }

    /// Calls the dependency for `key`.
    pub async fn call(
        &self,
        key: &str,
        req: D::Request,
        ctx: CallContext,
    ) -> Result<Result<D::Response, CallError>, RuntimeError> {
        let handle = self.get(key).await?;
        Ok(handle.call(req, ctx).await)
    }

    /// Live keys (after pending evictions are applied).
    pub fn len(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }

    /// Whether no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Evicts one key now, stopping its actor.
    pub fn evict(&self, key: &str) {
        self.cache.invalidate(key);
        self.cache.run_pending_tasks();
    }

    /// Applies pending idle evictions now (they also happen as keys are used).
    pub fn run_pending_evictions(&self) {
        self.cache.run_pending_tasks();
    }

    /// Actors currently running for this family.
    pub async fn live_actors(&self) -> usize {
        self.supervisor.child_count().await
    }
}
