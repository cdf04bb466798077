//! Keyed dependencies: a breaker, bulkhead and actor per key, created on demand, evicted when idle.
//!
//! One upstream is often many: one endpoint per model replica, one credential per tenant, one
//! connection per shard. A single breaker over all of them opens for everyone when one tenant's
//! key is revoked; a breaker per key isolates the failure. [`KeyedDependency`] creates the key's
//! handle on first use (its actor is started under a dynamic supervisor of its own), keeps at most
//! [`DEFAULT_MAX_KEYS`] of them (moka, least recently used first), and evicts a key after it has
//! been idle for the configured time, stopping its actor. Idleness is measured on the runtime's
//! [`Clock`](crate::clock::Clock), so it follows paused time in tests; a background sweep runs every
//! half idle period while the family is alive. Handles are cheap to fetch: fetch one per call
//! rather than keeping it, so an evicted key is re-created fresh on its next use.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::dependency::{CallContext, CallError, Dependency, DependencyHandle};
use crate::policy::Policy;
use crate::runtime::{Runtime, RuntimeError};
use crate::supervision::DynamicSupervisor;

/// Upper bound of live keys per family; beyond it the least recently used key is evicted.
pub const DEFAULT_MAX_KEYS: u64 = 100_000;

type Factory<D> = Arc<dyn Fn(&str) -> D + Send + Sync>;

/// A key's handle and when it was last used (nanoseconds on the runtime's clock).
struct Entry<D: Dependency> {
    handle: DependencyHandle<D>,
    last_used: Arc<AtomicU64>,
}

impl<D: Dependency> Clone for Entry<D> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
            last_used: Arc::clone(&self.last_used),
        }
    }
}

struct Inner<D: Dependency> {
    name: Arc<str>,
    runtime: Runtime,
    factory: Factory<D>,
    policy: Policy,
    idle: Duration,
    cache: moka::sync::Cache<String, Entry<D>>,
    supervisor: DynamicSupervisor,
}

/// A family of dependencies keyed by a string. Cheap to clone.
pub struct KeyedDependency<D: Dependency> {
    inner: Arc<Inner<D>>,
}

impl<D: Dependency> Clone for KeyedDependency<D> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<D: Dependency> std::fmt::Debug for KeyedDependency<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedDependency")
            .field("name", &self.inner.name)
            .field("keys", &self.inner.cache.entry_count())
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
            .eviction_listener(move |key: Arc<String>, _entry, cause| {
                tracing::debug!(key = %key, ?cause, "evicting keyed dependency");
                on_evict.stop_child(&key);
            })
            .build();
        let inner = Arc::new(Inner {
            name: Arc::from(name),
            runtime,
            factory,
            policy,
            idle,
            cache,
            supervisor,
        });
        spawn_sweeper(Arc::downgrade(&inner), idle);
        Ok(Self { inner })
    }

    /// The handle for `key`, created (and its actor started) on first use.
    pub async fn get(&self, key: &str) -> Result<DependencyHandle<D>, RuntimeError> {
        let inner = &self.inner;
        let now = inner.runtime.clock().now().as_nanos();
        if let Some(entry) = inner.cache.get(key) {
            entry.last_used.store(now, Ordering::Relaxed);
            return Ok(entry.handle);
        }
        let mut created = None;
        let entry = inner.cache.entry_by_ref(key).or_try_insert_with(|| {
            let name = format!("{}:{key}", inner.name);
            let (handle, shared) = inner.runtime.new_handle(
                &name,
                (inner.factory)(key),
                inner.policy.clone(),
                None,
            )?;
            created = Some(shared);
            Ok::<_, RuntimeError>(Entry {
                handle,
                last_used: Arc::new(AtomicU64::new(now)),
            })
        });
        let entry = entry
            .map_err(|e| {
                Arc::try_unwrap(e).unwrap_or_else(|e| RuntimeError::Supervision(e.to_string()))
            })?
            .into_value();
        entry.last_used.store(now, Ordering::Relaxed);
        if let Some(shared) = created {
            inner
                .supervisor
                .start_dependency(
                    key.to_owned(),
                    shared,
                    Arc::clone(entry.handle.dependency()),
                )
                .await?;
        }
        Ok(entry.handle)
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
        self.inner.cache.run_pending_tasks();
        self.inner.cache.entry_count()
    }

    /// Whether no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Evicts one key now, stopping its actor.
    pub fn evict(&self, key: &str) {
        self.inner.cache.invalidate(key);
        self.inner.cache.run_pending_tasks();
    }

    /// Evicts every key idle for longer than the idle period now (the background sweep does the
    /// same every half period).
    pub fn run_pending_evictions(&self) {
        self.inner.sweep();
    }

    /// Actors currently running for this family.
    pub async fn live_actors(&self) -> usize {
        self.inner.supervisor.child_count().await
    }
}

impl<D: Dependency> Inner<D> {
    fn sweep(&self) {
        let now = self.runtime.clock().now().as_nanos();
        let idle = u64::try_from(self.idle.as_nanos()).unwrap_or(u64::MAX);
        for (key, entry) in &self.cache {
            if now.saturating_sub(entry.last_used.load(Ordering::Relaxed)) > idle {
                self.cache.invalidate(key.as_str());
            }
        }
        self.cache.run_pending_tasks();
    }
}

/// Sweeps idle keys every half idle period until the family is dropped.
fn spawn_sweeper<D: Dependency>(inner: Weak<Inner<D>>, idle: Duration) {
    let period = (idle / 2).max(Duration::from_millis(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = inner.upgrade() else {
                return;
            };
            inner.sweep();
        }
    });
}
