//! Opening the configured stores and registering each on the runtime as its own dependency.

use std::path::Path;
use std::time::Duration;

use bulwark_runtime::breaker::{BreakerConfig, WindowKind};
use bulwark_runtime::bulkhead::{BulkheadConfig, ClassLimits};
use bulwark_runtime::chaos::{Chaos, FaultControl};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::RetryPolicy;
use bulwark_runtime::runtime::{Runtime, RuntimeError};
use bulwark_runtime::timeout::TimeoutPolicy;

use super::replicated::{StoreHandle, StoreRole, UserStores};
use super::{OpenMode, PoolSettings, StoreDependency, StoreError, open};
use crate::auth::config::StoreConfig;

/// The stores could not be opened or registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A store could not be opened (the primary must be reachable at start: migrations).
    #[error("cannot open user store {role}")]
    Open {
        /// `auth.store.primary`, `auth.store.replica.0`, …
        role: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The runtime refused the dependency.
    #[error("cannot register user store {role}")]
    Register {
        /// Which store.
        role: String,
        /// Why.
        #[source]
        source: RuntimeError,
    },
}

/// The default guard policy of a user store: a short count window that trips after a handful of
/// failures (a database is either there or not), a 5 s open state, probes every second, one
/// quick retry, and attempts bounded well below a login's patience.
pub fn default_store_policy() -> Policy {
    let breaker = BreakerConfig::builder()
        .window(WindowKind::Count { size: 20 })
        .minimum_calls(5)
        .failure_rate_threshold(50.0)
        .slow_call_duration(Duration::from_secs(1))
        .reset_timeout(Duration::from_secs(5))
        .half_open_permits(2)
        .build()
        .unwrap_or_default();
    let bulkhead = BulkheadConfig::builder()
        .critical(ClassLimits {
            max_concurrent: 32,
            max_queue: 64,
        })
        .non_critical(ClassLimits {
            max_concurrent: 16,
            max_queue: 32,
        })
        .max_wait(Duration::from_millis(500))
        .build()
        .unwrap_or_default();
    let retry = RetryPolicy::builder()
        .max_retries(1)
        .build()
        .unwrap_or_default();
    let timeout = TimeoutPolicy::with_attempt(Duration::from_secs(2))
        .and_then(|t| t.with_total(Duration::from_secs(3)))
        .unwrap_or_default();
    Policy {
        breaker,
        bulkhead,
        retry,
        timeout,
        ..Policy::default()
    }
}

impl UserStores {
    /// Opens the configured primary (migrating it) and replicas, and registers each on
    /// `runtime` under its role's name with `policy` (default: [`default_store_policy`]).
    /// With `faults`, every store is wrapped in the runtime's fault injector under that control
    /// (chaos experiments break the real store this way).
    pub async fn connect(
        runtime: &Runtime,
        config: &StoreConfig,
        data_dir: &Path,
        policy: Option<Policy>,
        faults: Option<&FaultControl>,
    ) -> Result<Self, ConnectError> {
        let policy = policy.unwrap_or_else(default_store_policy);
        let pool = PoolSettings {
            max_connections: config.pool_size(),
            acquire_timeout: config.acquire_wait(),
        };
        let primary_url = config.primary(data_dir);
        let primary = register(
            runtime,
            StoreRole::Primary,
            &primary_url,
            OpenMode::Primary,
            pool,
            &policy,
            faults,
        )
        .await?;
        let mut replicas = Vec::with_capacity(config.replica_urls.len());
        for (i, url) in config.replica_urls.iter().enumerate() {
            let role = StoreRole::Replica(i);
            replicas.push(
                register(runtime, role, url, OpenMode::Replica, pool, &policy, faults).await?,
            );
        }
        Ok(Self::new(primary, replicas))
    }
}

async fn register(
    runtime: &Runtime,
    role: StoreRole,
    url: &str,
    mode: OpenMode,
    pool: PoolSettings,
    policy: &Policy,
    faults: Option<&FaultControl>,
) -> Result<Box<dyn StoreHandle>, ConnectError> {
    let name = role.dependency_name();
    let store = open(url, mode, pool)
        .await
        .map_err(|source| ConnectError::Open {
            role: name.clone(),
            source,
        })?;
    tracing::info!(dependency = %name, backend = store.backend(), "user store opened");
    let dependency = StoreDependency::new(store);
    let registered = match faults {
        None => runtime
            .add(name.clone(), dependency, policy.clone())
            .await
            .map(|handle| Box::new(handle) as Box<dyn StoreHandle>),
        Some(control) => runtime
            .add(
                name.clone(),
                Chaos::with_control(dependency, control.clone()),
                policy.clone(),
            )
            .await
            .map(|handle| Box::new(handle) as Box<dyn StoreHandle>),
    };
    registered.map_err(|source| ConnectError::Register { role: name, source })
}
