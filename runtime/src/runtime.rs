//! [`Runtime`]: the root of a Bulwark actor tree and the place where dependencies are registered.
//!
//! ```
//! use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError};
//! use bulwark_runtime::policy::Policy;
//! use bulwark_runtime::runtime::Runtime;
//!
//! struct Upper;
//! impl Dependency for Upper {
//!     type Request = String;
//!     type Response = String;
//!     async fn call(&self, req: String, _: &CallContext) -> Result<String, DependencyError> {
//!         Ok(req.to_uppercase())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let runtime = Runtime::builder()
//!     .dependency("upper", Upper, Policy::default())
//!     .build()
//!     .await
//!     .unwrap();
//! let upper = runtime.handle::<Upper>("upper").unwrap();
//! let out = upper.call("hi".to_owned(), CallContext::untracked()).await.unwrap();
//! assert_eq!(out, "HI");
//! runtime.shutdown().await;
//! # }
//! ```

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::clock::Clock;
use crate::dependency::{
    Controls, Dependency, DependencyHandle, DependencySnapshot, DurationHistogram, MetricsScope,
    PolicyUpdateError, Shared,
};
use crate::fallback::FallbackChain;
use crate::guard::{Guard, NoTarget};
use crate::policy::Policy;
use crate::registry::{KeyedDependency, KeyedOptions};
use crate::supervision::{Supervision, SupervisionSnapshot};

/// Why the runtime could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// A dependency with this name is already registered.
    #[error("dependency '{0}' is already registered")]
    Duplicate(String),
    /// No dependency with this name (or not of the requested type).
    #[error("no dependency '{name}' of type {type_name}")]
    NotFound {
        /// The name asked for.
        name: String,
        /// The type asked for.
        type_name: &'static str,
    },
    /// The policy's settings are invalid.
    #[error("invalid policy for '{name}'")]
    InvalidPolicy {
        /// The dependency.
        name: String,
        /// What is wrong.
        #[source]
        source: PolicyUpdateError,
    },
    /// The supervision tree refused to start an actor.
    #[error("supervision failed")]
    Supervision(
        #[from]
        #[source]
        bulwark_supervisors::SupervisorError,
    ),
    /// A child expected to be a supervisor is not one.
    #[error("'{0}' is not a supervisor")]
    NotASupervisor(String),
    /// A keyed family holds its maximum number of keys and every one is in use (pinned by a
    /// live handle), so no new key can be added.
    #[error("keyed dependency '{family}' is full: {max_keys} keys, all in use")]
    KeyedFamilyFull {
        /// The family.
        family: String,
        /// Its bound.
        max_keys: usize,
    },
}

/// The `dependency` and `endpoint` labels of a duration histogram.
type HistogramKey = (Arc<str>, Option<Arc<str>>);

struct Registered {
    shared: Arc<Shared>,
    handle: Box<dyn Any + Send + Sync>,
}

pub(crate) struct RuntimeInner {
    pub(crate) clock: Clock,
    pub(crate) supervision: Supervision,
    dependencies: RwLock<BTreeMap<String, Registered>>,
    /// One duration histogram per `dependency` (and `endpoint`) label set (a keyed family shares
    /// one), rendered at scrape time.
    histograms: std::sync::Mutex<BTreeMap<HistogramKey, Arc<DurationHistogram>>>,
}

/// The running Bulwark runtime: a supervision tree with one actor per dependency.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("dependencies", &self.dependency_names())
            .finish()
    }
}

type Registration = Box<
    dyn FnOnce(Runtime) -> futures::future::BoxFuture<'static, Result<(), RuntimeError>> + Send,
>;

/// Configures and starts a [`Runtime`].
#[must_use]
pub struct RuntimeBuilder {
    clock: Clock,
    registrations: Vec<Registration>,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("dependencies", &self.registrations.len())
            .finish()
    }
}

impl RuntimeBuilder {
    /// The clock for breakers, budgets and durations. Use [`Clock::tokio`] in tests that pause
    /// tokio's time; the default is the fast clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Registers a dependency; fetch its handle with [`Runtime::handle`] after `build`.
    pub fn dependency<D: Dependency>(
        self,
        name: impl Into<String>,
        dependency: D,
        policy: Policy,
    ) -> Self {
        self.register(name.into(), dependency, policy, None)
    }

    /// Registers a closure guard; fetch it with [`Runtime::guard`] after `build`.
    pub fn guard(mut self, name: impl Into<String>, policy: Policy) -> Self {
        let name = name.into();
        self.registrations.push(Box::new(move |rt: Runtime| {
            Box::pin(async move { rt.add_guard(name, policy).await.map(|_| ()) })
        }));
        self
    }

    /// Registers a dependency with a fallback chain for [`DependencyHandle::call_or_fallback`].
    pub fn dependency_with_fallback<D: Dependency>(
        self,
        name: impl Into<String>,
        dependency: D,
        policy: Policy,
        fallback: FallbackChain<D::Request, D::Response>,
    ) -> Self {
        self.register(name.into(), dependency, policy, Some(fallback))
    }

    fn register<D: Dependency>(
        mut self,
        name: String,
        dependency: D,
        policy: Policy,
        fallback: Option<FallbackChain<D::Request, D::Response>>,
    ) -> Self {
        self.registrations.push(Box::new(move |rt: Runtime| {
            Box::pin(async move {
                rt.add_inner(name, dependency, policy, fallback)
                    .await
                    .map(|_| ())
            })
        }));
        self
    }

    /// Starts the root supervisor and every registered dependency's actor.
    pub async fn build(self) -> Result<Runtime, RuntimeError> {
        crate::dependency::describe_metrics();
        let supervision = Supervision::start().await?;
        let runtime = Runtime {
            inner: Arc::new(RuntimeInner {
                clock: self.clock,
                supervision,
                dependencies: RwLock::new(BTreeMap::new()),
                histograms: std::sync::Mutex::new(BTreeMap::new()),
            }),
        };
        for registration in self.registrations {
            registration(runtime.clone()).await?;
        }
        Ok(runtime)
    }
}

/// What `/status` shows about the runtime.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeSnapshot {
    /// Every dependency and guard, by name.
    pub dependencies: Vec<DependencySnapshot>,
    /// The live supervision tree.
    pub supervision: SupervisionSnapshot,
}

impl Runtime {
    /// A builder with the fast clock and no dependencies.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            clock: Clock::fast(),
            registrations: Vec::new(),
        }
    }

    /// The handle of a registered dependency.
    pub fn handle<D: Dependency>(&self, name: &str) -> Result<DependencyHandle<D>, RuntimeError> {
        let deps = self.read();
        deps.get(name)
            .and_then(|r| r.handle.downcast_ref::<DependencyHandle<D>>())
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound {
                name: name.to_owned(),
                type_name: std::any::type_name::<D>(),
            })
    }

    /// The [`Guard`] registered under `name` (see [`RuntimeBuilder::guard`] and
    /// [`add_guard`](Self::add_guard)).
    pub fn guard(&self, name: &str) -> Result<Guard, RuntimeError> {
        let deps = self.read();
        deps.get(name)
            .and_then(|r| r.handle.downcast_ref::<Guard>())
            .cloned()
            .ok_or_else(|| RuntimeError::NotFound {
                name: name.to_owned(),
                type_name: std::any::type_name::<Guard>(),
            })
    }

    /// The controls (state, snapshot, commands) of any registered dependency or guard, whatever
    /// its type.
    pub fn controls(&self, name: &str) -> Option<Controls> {
        self.read()
            .get(name)
            .map(|r| Controls::new(Arc::clone(&r.shared)))
    }

    /// Registers and starts a dependency while running.
    pub async fn add<D: Dependency>(
        &self,
        name: impl Into<String>,
        dependency: D,
        policy: Policy,
    ) -> Result<DependencyHandle<D>, RuntimeError> {
        self.add_inner(name.into(), dependency, policy, None).await
    }

    /// Registers and starts a dependency with a fallback chain while running.
    pub async fn add_with_fallback<D: Dependency>(
        &self,
        name: impl Into<String>,
        dependency: D,
        policy: Policy,
        fallback: FallbackChain<D::Request, D::Response>,
    ) -> Result<DependencyHandle<D>, RuntimeError> {
        self.add_inner(name.into(), dependency, policy, Some(fallback))
            .await
    }

    /// Registers and starts one endpoint of an inference pool as `<pool>/<endpoint>`, its
    /// series labelled `dependency="<pool>", endpoint="<endpoint>"`.
    pub(crate) async fn add_endpoint<D: Dependency>(
        &self,
        pool: &str,
        endpoint: &str,
        dependency: D,
        policy: Policy,
    ) -> Result<DependencyHandle<D>, RuntimeError> {
        let name = format!("{pool}/{endpoint}");
        if self.read().contains_key(&name) {
            return Err(RuntimeError::Duplicate(name));
        }
        let scope = self.metrics_scope_with(pool, Some(endpoint), true);
        self.start_scoped(name, dependency, policy, None, scope, |h| {
            Box::new(h.clone())
        })
        .await
    }

    /// Registers and starts a closure guard while running (see [`Guard::run`]; also what a
    /// [`GuardLayer`](crate::layer::GuardLayer) is built from).
    pub async fn add_guard(
        &self,
        name: impl Into<String>,
        policy: Policy,
    ) -> Result<Guard, RuntimeError> {
        let name = name.into();
        let handle = self
            .start_registered(name.clone(), NoTarget, policy, None, |h| {
                Box::new(Guard::new(h.controls().clone()))
            })
            .await?;
        Ok(Guard::new(handle.controls().clone()))
    }

    /// A family of dependencies created on demand per key (endpoint, tenant, shard), each with its
    /// own actor, breaker and bulkhead, evicted when idle for `idle` and no handle to it is kept.
    pub async fn keyed<D: Dependency>(
        &self,
        name: impl Into<String>,
        factory: impl Fn(&str) -> D + Send + Sync + 'static,
        policy: Policy,
        idle: std::time::Duration,
    ) -> Result<KeyedDependency<D>, RuntimeError> {
        self.keyed_with(name, factory, policy, KeyedOptions::new(idle))
            .await
    }

    /// Like [`keyed`](Self::keyed), with every option (idle time, maximum number of keys).
    pub async fn keyed_with<D: Dependency>(
        &self,
        name: impl Into<String>,
        factory: impl Fn(&str) -> D + Send + Sync + 'static,
        policy: Policy,
        options: KeyedOptions,
    ) -> Result<KeyedDependency<D>, RuntimeError> {
        KeyedDependency::start(
            self.clone(),
            name.into(),
            Arc::new(factory),
            policy,
            options,
        )
        .await
    }

    pub(crate) async fn add_inner<D: Dependency>(
        &self,
        name: String,
        dependency: D,
        policy: Policy,
        fallback: Option<FallbackChain<D::Request, D::Response>>,
    ) -> Result<DependencyHandle<D>, RuntimeError> {
        self.start_registered(name, dependency, policy, fallback, |h| Box::new(h.clone()))
            .await
    }

    /// Creates a dependency's state, starts its actor and registers it under `name`, stored as
    /// whatever `stored` makes of its handle (the handle itself, or a guard).
    async fn start_registered<D: Dependency>(
        &self,
        name: String,
        dependency: D,
        policy: Policy,
        fallback: Option<FallbackChain<D::Request, D::Response>>,
        stored: impl FnOnce(&DependencyHandle<D>) -> Box<dyn Any + Send + Sync>,
    ) -> Result<DependencyHandle<D>, RuntimeError> {
        if self.read().contains_key(&name) {
            return Err(RuntimeError::Duplicate(name));
        }
        let scope = self.metrics_scope(&name, true);
        self.start_scoped(name, dependency, policy, fallback, scope, stored)
            .await
    }

    /// Like [`start_registered`](Self::start_registered), with the metrics labels given.
    pub(crate) async fn start_scoped<D: Dependency>(
        &self,
        name: String,
        dependency: D,
        policy: Policy,
        fallback: Option<FallbackChain<D::Request, D::Response>>,
        scope: MetricsScope,
        stored: impl FnOnce(&DependencyHandle<D>) -> Box<dyn Any + Send + Sync>,
    ) -> Result<DependencyHandle<D>, RuntimeError> {
        if self.read().contains_key(&name) {
            return Err(RuntimeError::Duplicate(name));
        }
        let (handle, shared) = self.new_handle(&name, dependency, policy, fallback, scope)?;
        self.inner
            .supervision
            .dependencies()
            .start_dependency(
                name.clone(),
                Arc::clone(&shared),
                Arc::clone(handle.dependency()),
            )
            .await?;
        let mut deps = self
            .inner
            .dependencies
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if deps.contains_key(&name) {
            return Err(RuntimeError::Duplicate(name));
        }
        deps.insert(
            name,
            Registered {
                shared,
                handle: stored(&handle),
            },
        );
        Ok(handle)
    }

    /// The metrics labels of a dependency, or of every member of a keyed family (`gauges`
    /// false): one duration histogram per label.
    pub(crate) fn metrics_scope(&self, label: &str, gauges: bool) -> MetricsScope {
        self.metrics_scope_with(label, None, gauges)
    }

    /// The metrics labels of one endpoint of a pool: `dependency` is the pool, `endpoint` the
    /// endpoint (one duration histogram per endpoint).
    pub(crate) fn metrics_scope_with(
        &self,
        label: &str,
        endpoint: Option<&str>,
        gauges: bool,
    ) -> MetricsScope {
        let mut histograms = self
            .inner
            .histograms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let label: Arc<str> = Arc::from(label);
        let endpoint: Option<Arc<str>> = endpoint.map(Arc::from);
        let key = (Arc::clone(&label), endpoint.clone());
        let histogram = Arc::clone(histograms.entry(key).or_default());
        MetricsScope {
            label,
            endpoint,
            histogram,
            gauges,
        }
    }

    pub(crate) fn new_handle<D: Dependency>(
        &self,
        name: &str,
        dependency: D,
        policy: Policy,
        fallback: Option<FallbackChain<D::Request, D::Response>>,
        scope: MetricsScope,
    ) -> Result<(DependencyHandle<D>, Arc<Shared>), RuntimeError> {
        let invalid = |source: PolicyUpdateError| RuntimeError::InvalidPolicy {
            name: name.to_owned(),
            source,
        };
        policy.probe.validate().map_err(|e| invalid(e.into()))?;
        let shared = Shared::new(Arc::from(name), policy, self.inner.clock.clone(), scope)
            .map_err(|e| invalid(e.into()))?;
        let shared = Arc::new(shared);
        let controls = Controls::new(Arc::clone(&shared));
        let handle = DependencyHandle::new(controls, Arc::new(dependency), fallback);
        Ok((handle, shared))
    }

    /// The metrics the runtime keeps itself, in Prometheus text format: the
    /// `bulwark_call_duration_seconds` histogram of every dependency (one per keyed family).
    /// Append this to the `metrics` exporter's output at scrape time.
    pub fn render_metrics(&self) -> String {
        use crate::dependency::metric_names::CALL_DURATION_SECONDS;
        let mut out = format!(
            "# HELP {CALL_DURATION_SECONDS} Duration of each attempt against a dependency\n# TYPE {CALL_DURATION_SECONDS} histogram\n"
        );
        let histograms = self
            .inner
            .histograms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((label, endpoint), histogram) in histograms.iter() {
            histogram.render(CALL_DURATION_SECONDS, label, endpoint.as_deref(), &mut out);
        }
        out
    }

    /// Names of the registered dependencies and guards.
    pub fn dependency_names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Status of every dependency and the supervision tree.
    pub async fn snapshot(&self) -> RuntimeSnapshot {
        let dependencies = self.read().values().map(|r| r.shared.snapshot()).collect();
        RuntimeSnapshot {
            dependencies,
            supervision: self.inner.supervision.snapshot().await,
        }
    }

    /// The runtime's supervision (for nesting further supervisors under it).
    pub fn supervision(&self) -> &Supervision {
        &self.inner.supervision
    }

    /// The clock the runtime measures with.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Stops every actor in reverse start order and waits for the tree to finish.
    pub async fn shutdown(&self) {
        self.inner.supervision.shutdown().await;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Registered>> {
        self.inner
            .dependencies
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
