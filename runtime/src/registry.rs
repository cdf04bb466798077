//! Keyed dependencies: a breaker, bulkhead and actor per key, created on demand, evicted when idle
//! and no longer referenced.
//!
//! One upstream is often many: one endpoint per model replica, one credential per tenant, one
//! connection per shard. A single breaker over all of them opens for everyone when one tenant's
//! key is revoked; a breaker per key isolates the failure. [`KeyedDependency`] creates the key's
//! handle on first use (its actor is started under a dynamic supervisor of its own).
//!
//! # A kept handle pins its key
//!
//! A key is *idle* only when no handle to it is alive outside the family (the handle carries a pin
//! that the family counts) and it has not been fetched for the idle period. Keep a handle in a
//! struct, a closure or a per-connection task as long as you like: its key is never evicted under
//! it, so its breaker keeps working (Polly's and Resilience4j's registries never drop a breaker
//! that is still referenced either). Idleness is measured on the runtime's
//! [`Clock`](crate::clock::Clock), so it follows paused time in tests; a background sweep runs
//! every half idle period while the family is alive.
//!
//! # Bounded
//!
//! A family holds at most `max_keys` keys ([`KeyedOptions::max_keys`], default
//! [`DEFAULT_MAX_KEYS`]). When a new key arrives at the bound, the least recently used unpinned
//! keys are evicted (a small batch, so a stream of new keys does not rescan the family each
//! time); when every key is pinned, [`get`](KeyedDependency::get) answers
//! [`RuntimeError::KeyedFamilyFull`] instead of growing.
//!
//! # Metrics
//!
//! Members are labelled by the family's name (`dependency="tenants"`), never by key: 10,000 keys
//! make one set of series. Per-key detail is in [`KeyedDependency::snapshots`].

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use crate::dependency::{CallContext, CallError, Dependency, DependencyHandle, DependencySnapshot};
use crate::policy::Policy;
use crate::runtime::{Runtime, RuntimeError};
use crate::supervision::DynamicSupervisor;

/// Default bound of live keys per family.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

const SHARDS: usize = 16;

type Factory<D> = Arc<dyn Fn(&str) -> D + Send + Sync>;

/// Settings of a keyed family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyedOptions {
    idle: Duration,
    max_keys: usize,
}

impl KeyedOptions {
    /// Keys idle (and unpinned) for `idle` are evicted; at most [`DEFAULT_MAX_KEYS`] keys.
    pub fn new(idle: Duration) -> Self {
        Self {
            idle,
            max_keys: DEFAULT_MAX_KEYS,
        }
    }

    /// The most keys the family holds at once (at least 1).
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }
}

/// Why a keyed call did not produce a response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyedCallError {
    /// The call was made and failed (or was refused by the key's breaker or bulkhead).
    #[error(transparent)]
    Call(#[from] CallError),
    /// The key's dependency could not be created (the family is full, its actor did not start).
    #[error("keyed dependency unavailable")]
    Unavailable(
        #[from]
        #[source]
        RuntimeError,
    ),
}

impl From<KeyedCallError> for crate::error::ServiceError {
    fn from(err: KeyedCallError) -> Self {
        match err {
            KeyedCallError::Call(call) => call.into(),
            KeyedCallError::Unavailable(source) => crate::error::ServiceError::Dependency {
                message: "Dependency unavailable".to_owned(),
                failure: crate::error::DependencyFailure::Unavailable,
                details: crate::error::Details::new(),
                retry_after: None,
                source: Some(Box::new(source)),
            },
        }
    }
}

/// A key's handle (unpinned), its pin and when it was last fetched (nanoseconds on the runtime's
/// clock).
struct Entry<D: Dependency> {
    handle: DependencyHandle<D>,
    pin: Arc<()>,
    last_used: AtomicU64,
}

impl<D: Dependency> Entry<D> {
    /// Whether a handle to this key is alive outside the family.
    fn pinned(&self) -> bool {
        Arc::strong_count(&self.pin) > 1
    }

    fn lend(&self, now: u64) -> DependencyHandle<D> {
        self.last_used.store(now, Ordering::Relaxed);
        self.handle.clone().pinned(Arc::clone(&self.pin))
    }
}

struct Inner<D: Dependency> {
    name: Arc<str>,
    runtime: Runtime,
    factory: Factory<D>,
    policy: Policy,
    options: KeyedOptions,
    shards: [Mutex<HashMap<String, Entry<D>>>; SHARDS],
    hasher: RandomState,
    len: AtomicUsize,
    /// Serialises the creation of new keys, so the bound holds exactly.
    grow: Mutex<()>,
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
            .field("keys", &self.len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<D: Dependency> KeyedDependency<D> {
    pub(crate) async fn start(
        runtime: Runtime,
        name: String,
        factory: Factory<D>,
        policy: Policy,
        options: KeyedOptions,
    ) -> Result<Self, RuntimeError> {
        let supervisor = runtime
            .supervision()
            .start_dynamic(format!("keyed:{name}"))
            .await?;
        let inner = Arc::new(Inner {
            name: Arc::from(name),
            runtime,
            factory,
            policy,
            options,
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            hasher: RandomState::new(),
            len: AtomicUsize::new(0),
            grow: Mutex::new(()),
            supervisor,
        });
        spawn_sweeper(Arc::downgrade(&inner), options.idle);
        Ok(Self { inner })
    }

    /// The handle for `key`, created (and its actor started) on first use. While the returned
    /// handle (or a clone) is alive, the key is not evicted.
    pub async fn get(&self, key: &str) -> Result<DependencyHandle<D>, RuntimeError> {
        let inner = &self.inner;
        let now = inner.now();
        if let Some(entry) = lock(inner.shard(key)).get(key) {
            return Ok(entry.lend(now));
        }
        let (handle, shared) = {
            let _grow = lock(&inner.grow);
            let shard = lock(inner.shard(key));
            if let Some(entry) = shard.get(key) {
                return Ok(entry.lend(now));
            }
            drop(shard);
            inner.make_room()?;
            let scope = inner.runtime.metrics_scope(&inner.name, false);
            let (handle, shared) = inner.runtime.new_handle(
                &format!("{}:{key}", inner.name),
                (inner.factory)(key),
                inner.policy.clone(),
                None,
                scope,
            )?;
            let entry = Entry {
                handle,
                pin: Arc::new(()),
                last_used: AtomicU64::new(now),
            };
            let lent = entry.lend(now);
            lock(inner.shard(key)).insert(key.to_owned(), entry);
            inner.len.fetch_add(1, Ordering::AcqRel);
            (lent, shared)
        };
        let started = inner
            .supervisor
            .start_dependency(key.to_owned(), shared, Arc::clone(handle.dependency()))
            .await;
        if let Err(err) = started {
            inner.remove(key);
            return Err(err);
        }
        Ok(handle)
    }

    /// Calls the dependency for `key` (fetching its handle, then calling through it).
    pub async fn call(
        &self,
        key: &str,
        req: D::Request,
        ctx: CallContext,
    ) -> Result<D::Response, KeyedCallError> {
        let handle = self.get(key).await?;
        Ok(handle.call(req, ctx).await?)
    }

    /// Live keys.
    pub fn len(&self) -> usize {
        self.inner.len.load(Ordering::Acquire)
    }

    /// Whether no key is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The family's bound.
    pub fn max_keys(&self) -> usize {
        self.inner.options.max_keys
    }

    /// Keys currently pinned by a handle alive outside the family.
    pub fn pinned(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|s| lock(s).values().filter(|e| e.pinned()).count())
            .sum()
    }

    /// Evicts `key` now, stopping its actor — unless a handle to it is alive, in which case
    /// nothing happens. Answers whether it was evicted.
    pub fn evict(&self, key: &str) -> bool {
        let evicted = {
            let mut shard = lock(self.inner.shard(key));
            match shard.get(key) {
                Some(entry) if !entry.pinned() => shard.remove(key).is_some(),
                _ => false,
            }
        };
        if evicted {
            self.inner.forget(key);
        }
        evicted
    }

    /// Evicts every key idle (and unpinned) for longer than the idle period now (the background
    /// sweep does the same every half period).
    pub fn run_pending_evictions(&self) {
        self.inner.sweep();
    }

    /// Actors currently running for this family.
    pub async fn live_actors(&self) -> usize {
        self.inner.supervisor.child_count().await
    }

    /// The status of every live key, by key.
    pub fn snapshots(&self) -> Vec<(String, DependencySnapshot)> {
        let mut all: Vec<(String, DependencySnapshot)> = self
            .inner
            .shards
            .iter()
            .flat_map(|s| {
                lock(s)
                    .iter()
                    .map(|(k, e)| (k.clone(), e.handle.snapshot()))
                    .collect::<Vec<_>>()
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

impl<D: Dependency> Inner<D> {
    fn now(&self) -> u64 {
        self.runtime.clock().now().as_nanos()
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, Entry<D>>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        &self.shards[index]
    }

    /// Called with `grow` held: makes room for one more key by evicting the least recently used
    /// unpinned keys (a batch of 1/64 of the bound), or refuses when every key is pinned.
    fn make_room(&self) -> Result<(), RuntimeError> {
        let max = self.options.max_keys;
        if self.len.load(Ordering::Acquire) < max {
            return Ok(());
        }
        let mut candidates: Vec<(u64, String)> = self
            .shards
            .iter()
            .flat_map(|s| {
                lock(s)
                    .iter()
                    .filter(|(_, e)| !e.pinned())
                    .map(|(k, e)| (e.last_used.load(Ordering::Relaxed), k.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        if candidates.is_empty() {
            return Err(RuntimeError::KeyedFamilyFull {
                family: self.name.to_string(),
                max_keys: max,
            });
        }
        let batch = (max / 64).clamp(1, candidates.len());
        candidates.select_nth_unstable(batch - 1);
        for (_, key) in candidates.into_iter().take(batch) {
            self.evict_if_unpinned(&key);
        }
        Ok(())
    }

    fn evict_if_unpinned(&self, key: &str) {
        let removed = {
            let mut shard = lock(self.shard(key));
            match shard.get(key) {
                Some(entry) if !entry.pinned() => shard.remove(key).is_some(),
                _ => false,
            }
        };
        if removed {
            self.forget(key);
        }
    }

    /// Removes `key` whatever its pins (its actor failed to start).
    fn remove(&self, key: &str) {
        if lock(self.shard(key)).remove(key).is_some() {
            self.forget(key);
        }
    }

    /// Accounts for a removed key and stops its actor.
    fn forget(&self, key: &str) {
        self.len.fetch_sub(1, Ordering::AcqRel);
        tracing::debug!(family = %self.name, key, "evicting keyed dependency");
        self.supervisor.stop_child(key);
    }

    fn sweep(&self) {
        let now = self.now();
        let idle = u64::try_from(self.options.idle.as_nanos()).unwrap_or(u64::MAX);
        let stale: Vec<String> = self
            .shards
            .iter()
            .flat_map(|s| {
                lock(s)
                    .iter()
                    .filter(|(_, e)| {
                        !e.pinned()
                            && now.saturating_sub(e.last_used.load(Ordering::Relaxed)) > idle
                    })
                    .map(|(k, _)| k.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        for key in stale {
            self.evict_if_unpinned(&key);
        }
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
