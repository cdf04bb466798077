//! [`PasswordHasher`]: argon2id on a bounded pool of its own threads, behind its own bulkhead.
//!
//! Hashing is registered on the runtime as the guard `auth.hasher`: its bulkhead has a class for
//! logins (critical: verifications) and one for registrations (non-critical: new hashes), each
//! with a bounded queue and a maximum wait, so a flood of registrations is refused with 503
//! rather than queued without end, and can never take the slots logins need. Behind the guard,
//! a [`pool::HashPool`] runs at most `threads` hashes at once on its own OS threads
//! (default: one less than the cores), so token validation on tokio's workers always has a
//! core. The guard's breaker is set to metrics-only: a slow hash is load, not a broken
//! dependency, and the bulkhead already sheds it.
//!
//! Unknown users are verified against a dummy hash made with the same parameters at start, so
//! a login for a user that does not exist costs the same time as a wrong password.

pub mod pool;

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use bulwark_runtime::breaker::BreakerConfig;
use bulwark_runtime::bulkhead::{BulkheadConfig, ClassLimits, Priority};
use bulwark_runtime::dependency::{BreakerCommand, CallContext, CallError, DependencyError};
use bulwark_runtime::guard::Guard;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::RetryPolicy;
use bulwark_runtime::runtime::{Runtime, RuntimeError};
use bulwark_runtime::timeout::TimeoutPolicy;

use self::pool::{HashPool, JobPanicked, PoolFull};
use super::config::HasherConfig;
use super::input::Password;
use super::store::StoredHash;

/// The name the hasher's guard is registered under.
pub const HASHER_DEPENDENCY: &str = "auth.hasher";

/// The hasher could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HasherError {
    /// The argon2 parameters are out of argon2's range.
    #[error("invalid argon2 parameters")]
    Params(#[source] argon2::Error),
    /// The hashing threads could not be started.
    #[error("cannot start hashing threads")]
    Threads(#[source] std::io::Error),
    /// The guard could not be registered.
    #[error("cannot register the hasher guard")]
    Runtime(#[source] RuntimeError),
    /// Hashing the dummy password at start failed.
    #[error("cannot compute the dummy hash")]
    Dummy(#[source] CallError),
}

/// A hash computation failed inside the pool (never says which password).
#[derive(Debug, thiserror::Error)]
#[error("argon2 hashing failed")]
struct HashFailed(#[source] argon2::password_hash::Error);

/// The hasher's default guard policy for `config`: one bulkhead class per kind of work sized to
/// the pool, no retries (a refused hash is load, repeating it adds load), a generous attempt
/// timeout (the attempt includes the wait for a thread).
pub fn default_policy(config: &HasherConfig) -> Policy {
    let threads = config.thread_count();
    let bulkhead = BulkheadConfig::builder()
        .critical(ClassLimits {
            max_concurrent: threads,
            max_queue: config.login_queue,
        })
        .non_critical(ClassLimits {
            max_concurrent: threads,
            max_queue: config.registration_queue,
        })
        .max_wait(config.max_wait)
        .build()
        .unwrap_or_default();
    let timeout = TimeoutPolicy::with_attempt(Duration::from_secs(30))
        .and_then(|t| t.with_total(Duration::from_secs(60)))
        .unwrap_or_default();
    Policy {
        breaker: BreakerConfig::default(),
        bulkhead,
        retry: RetryPolicy::disabled(),
        timeout,
        ..Policy::default()
    }
}

/// argon2id hashing and verification.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    guard: Guard,
    pool: Arc<HashPool>,
    dummy: StoredHash,
}

impl PasswordHasher {
    /// Registers the `auth.hasher` guard on `runtime` (with `policy`, or
    /// [`default_policy`]), starts the threads and computes the dummy hash.
    pub async fn start(
        runtime: &Runtime,
        config: &HasherConfig,
        policy: Option<Policy>,
    ) -> Result<Self, HasherError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(HasherError::Params)?;
        let argon = Arc::new(Argon2::new(Algorithm::Argon2id, Version::V0x13, params));
        let threads = config.thread_count();
        let capacity = usize::try_from(threads).unwrap_or(1) * 2 + 1;
        let pool = Arc::new(HashPool::new(threads, capacity).map_err(HasherError::Threads)?);
        let policy = policy.unwrap_or_else(|| default_policy(config));
        let guard = runtime
            .add_guard(HASHER_DEPENDENCY, policy)
            .await
            .map_err(HasherError::Runtime)?;
        // Hashing slowly under load is the bulkhead's business, not the breaker's.
        let _ = guard.command(BreakerCommand::MetricsOnly).await;
        let mut hasher = Self {
            argon,
            guard,
            pool,
            dummy: StoredHash::new(String::new()),
        };
        let mut random = [0u8; 32];
        rand::fill(&mut random);
        let dummy_password = Password::new(hex(&random));
        hasher.dummy = hasher
            .hash(&dummy_password, &CallContext::untracked())
            .await
            .map_err(HasherError::Dummy)?;
        Ok(hasher)
    }

    /// Hashes a new password (registration: the non-critical class).
    pub async fn hash(
        &self,
        password: &Password,
        ctx: &CallContext,
    ) -> Result<StoredHash, CallError> {
        let ctx = ctx.clone().with_priority(Priority::NonCritical);
        self.guard
            .run(ctx, |_| {
                let argon = Arc::clone(&self.argon);
                let password = password.clone();
                let job = self.pool.run(Priority::NonCritical, move || {
                    argon
                        .hash_password(password.expose())
                        .map(|hash| StoredHash::new(hash.to_string()))
                        .map_err(HashFailed)
                });
                async move { unwrap_job(job).await?.map_err(DependencyError::from) }
            })
            .await
    }

    /// Verifies `password` against `hash`, or against the dummy hash when the user is unknown
    /// (`None`: same cost, always `false`). Logins are the critical class.
    pub async fn verify(
        &self,
        password: &Password,
        hash: Option<&StoredHash>,
        ctx: &CallContext,
    ) -> Result<bool, CallError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.dummy).clone();
        let ctx = ctx.clone().with_priority(Priority::Critical);
        let matches = self
            .guard
            .run(ctx, |_| {
                let argon = Arc::clone(&self.argon);
                let password = password.clone();
                let hash = hash.clone();
                let job = self.pool.run(Priority::Critical, move || {
                    match PasswordHash::new(hash.expose()) {
                        Ok(parsed) => argon.verify_password(password.expose(), &parsed).is_ok(),
                        Err(_) => {
                            tracing::warn!("a stored password hash is malformed; login refused");
                            false
                        }
                    }
                });
                async move { unwrap_job(job).await }
            })
            .await?;
        Ok(known && matches)
    }

    /// The hashing threads (tests check that no more than this many hashes ever ran at once).
    pub fn pool(&self) -> &HashPool {
        &self.pool
    }

    /// The guard (`auth.hasher`): state, snapshot, bulkhead figures.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }
}

async fn unwrap_job<T>(
    job: Result<impl Future<Output = Result<T, JobPanicked>>, PoolFull>,
) -> Result<T, DependencyError> {
    match job {
        // Refused before it ran: safe to retry, and says nothing about the hasher's health.
        Err(full) => Err(DependencyError::transient(full).not_delivered()),
        Ok(answer) => answer.await.map_err(DependencyError::permanent),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl From<HashFailed> for DependencyError {
    fn from(e: HashFailed) -> Self {
        DependencyError::permanent(e)
    }
}
