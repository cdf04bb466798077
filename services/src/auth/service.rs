//! [`AuthService`]: register, log in, validate — and keep people working when the user store is
//! down.
//!
//! **Degraded mode.** When no store can answer reads (every circuit open, or every store's last
//! health ping failed):
//! - token validation goes on (it never needs the store), but grants only the `read` scope and
//!   says `degraded: true`;
//! - logins work for users whose verified credential is in the [`CredentialCache`] (an argon2
//!   hash, kept `credential_cache_ttl`); other logins answer 503 — the service cannot tell a
//!   wrong password from a right one without the store, and must not claim either;
//! - registration answers 503 `DEPENDENCY_ERROR` with `Retry-After` (also when only the primary
//!   is down: writes need it), without spending a hash on a request that cannot be stored.
//!
//! Recovery needs no restart: store probes close the circuits, the health ping clears its flag,
//! and the next request sees the store again.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::chaos::FaultControl;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::runtime::Runtime;
use serde::Serialize;

use super::cache::CredentialCache;
use super::config::{AuthConfig, InvalidAuthConfig};
use super::error::AuthError;
use super::hasher::{HasherError, PasswordHasher};
use super::input::{Credentials, Username};
use super::limits::LoginLimits;
use super::scope::{READ, Scopes};
use super::store::{ConnectError, ReadSource, StoredHash, UserRecord, UserStores};
use super::tokens::{AccessToken, KeyError, KeyRing, TokenService, TokenSettings, WallClock};

/// How often the rate limiters forget fresh keys.
const RETAIN_INTERVAL: Duration = Duration::from_secs(60);

/// The auth service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthStartError {
    /// The `[auth]` settings are invalid.
    #[error(transparent)]
    Config(#[from] InvalidAuthConfig),
    /// The user stores could not be opened or registered.
    #[error("cannot start the user stores")]
    Stores(#[from] ConnectError),
    /// The signing keys could not be loaded or created.
    #[error("cannot load the signing keys")]
    Keys(#[from] KeyError),
    /// The hasher could not start.
    #[error("cannot start the password hasher")]
    Hasher(#[from] HasherError),
}

/// `POST /v1/auth/register` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RegisteredUser {
    /// The (lowercased) username.
    pub username: String,
    /// Granted scopes, space-separated.
    #[schema(value_type = String)]
    pub scope: Scopes,
}

/// `POST /v1/auth/token` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The bearer token.
    #[serde(serialize_with = "expose_token")]
    #[schema(value_type = String)]
    pub access_token: AccessToken,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// Scopes in the token, space-separated.
    #[schema(value_type = String)]
    pub scope: Scopes,
    /// `true` when the login was checked against a cached credential (store unavailable).
    pub degraded: bool,
}

fn expose_token<S: serde::Serializer>(token: &AccessToken, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(token.expose())
}

/// Who a valid token speaks for: `GET /v1/auth/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Principal {
    /// The username.
    pub username: String,
    /// Scopes granted now (only `read` while degraded).
    #[schema(value_type = String)]
    pub scope: Scopes,
    /// `true` while the user store is unavailable.
    pub degraded: bool,
}

/// Readiness of the auth pipeline: degraded is not down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthReadiness {
    /// Reads and writes possible.
    Ready,
    /// Some store is unavailable: validation goes on (read-only while reads are impossible),
    /// logins from cache, registrations refused.
    Degraded,
}

/// Health of the auth pipeline, for `/readyz` and `/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuthHealth {
    /// Overall.
    pub readiness: AuthReadiness,
    /// Some store can answer reads.
    pub can_read: bool,
    /// The primary can take writes.
    pub can_write: bool,
}

struct Inner {
    config: AuthConfig,
    stores: UserStores,
    hasher: PasswordHasher,
    tokens: TokenService,
    credentials: CredentialCache,
    limits: LoginLimits,
}

/// The auth pipeline. Cheap to clone; background tasks (store health pings, limiter upkeep)
/// stop when the last clone is dropped.
#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("stores", &self.inner.stores)
            .field("keys", self.inner.tokens.keys())
            .finish()
    }
}

/// Configures and starts an [`AuthService`].
#[must_use]
#[derive(Debug)]
pub struct AuthServiceBuilder {
    config: AuthConfig,
    data_dir: PathBuf,
    clock: WallClock,
    store_policy: Option<Policy>,
    hasher_policy: Option<Policy>,
    stores: Option<UserStores>,
    store_faults: Option<FaultControl>,
}

impl AuthServiceBuilder {
    /// The data dir (SQLite file, keys). Default `./bulwark-data`.
    pub fn data_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.data_dir = dir.as_ref().to_owned();
        self
    }

    /// The clock tokens are issued and checked against (tests: [`WallClock::manual`]).
    pub fn clock(mut self, clock: WallClock) -> Self {
        self.clock = clock;
        self
    }

    /// The guard policy of every store (default: [`super::store::default_store_policy`]).
    pub fn store_policy(mut self, policy: Policy) -> Self {
        self.store_policy = Some(policy);
        self
    }

    /// The guard policy of the hasher (default: [`super::hasher::default_policy`]).
    pub fn hasher_policy(mut self, policy: Policy) -> Self {
        self.hasher_policy = Some(policy);
        self
    }

    /// Stores registered by the caller (e.g. wrapped in chaos) instead of the configured ones.
    pub fn stores(mut self, stores: UserStores) -> Self {
        self.stores = Some(stores);
        self
    }

    /// Wraps each configured store in the runtime's fault injector under `control`, so a chaos
    /// experiment can break the real stores while the service runs.
    pub fn store_faults(mut self, control: FaultControl) -> Self {
        self.store_faults = Some(control);
        self
    }

    /// Validates the settings, opens and registers the stores and the hasher on `runtime`,
    /// loads (or creates) the signing keys, and starts the background tasks.
    pub async fn start(self, runtime: &Runtime) -> Result<AuthService, AuthStartError> {
        let config = self.config;
        config.validate()?;
        let stores = match self.stores {
            Some(stores) => stores,
            None => {
                UserStores::connect(
                    runtime,
                    &config.store,
                    &self.data_dir,
                    self.store_policy,
                    self.store_faults.as_ref(),
                )
                .await?
            }
        };
        let hasher = PasswordHasher::start(runtime, &config.hasher, self.hasher_policy).await?;
        let keys = KeyRing::open(
            &config.key_dir(&self.data_dir),
            self.clock.now(),
            config.key_rotation.as_secs(),
            (config.token_ttl + config.leeway).as_secs(),
        )?;
        let tokens = TokenService::new(
            keys,
            TokenSettings {
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                ttl: config.token_ttl,
                leeway: config.leeway,
                cache_capacity: config.token_cache_capacity,
            },
            self.clock,
        );
        let inner = Arc::new(Inner {
            credentials: CredentialCache::new(
                config.credential_cache_capacity,
                config.credential_cache_ttl,
            ),
            limits: LoginLimits::new(&config.limits),
            config,
            stores,
            hasher,
            tokens,
        });
        spawn_upkeep(&inner);
        Ok(AuthService { inner })
    }
}

/// Periodic store pings and limiter upkeep; each task ends when the service is dropped.
fn spawn_upkeep(inner: &Arc<Inner>) {
    let weak = Arc::downgrade(inner);
    let interval = inner.config.health_interval;
    tokio::spawn(every(weak.clone(), interval, |inner| async move {
        inner
            .stores
            .check_health(inner.config.health_interval)
            .await;
    }));
    tokio::spawn(every(weak, RETAIN_INTERVAL, |inner| async move {
        inner.limits.retain_recent();
    }));
}

async fn every<F, Fut>(weak: Weak<Inner>, period: Duration, mut work: F)
where
    F: FnMut(Arc<Inner>) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(inner) = weak.upgrade() else { return };
        work(inner).await;
    }
}

impl AuthService {
    /// A builder with `config`.
    pub fn builder(config: AuthConfig) -> AuthServiceBuilder {
        AuthServiceBuilder {
            config,
            data_dir: PathBuf::from(crate::config::DEFAULT_DATA_DIR),
            clock: WallClock::System,
            store_policy: None,
            hasher_policy: None,
            stores: None,
            store_faults: None,
        }
    }

    /// Creates a user with the default scopes.
    pub async fn register(
        &self,
        ctx: &CallContext,
        credentials: &Credentials,
    ) -> Result<RegisteredUser, AuthError> {
        let inner = &*self.inner;
        let username = credentials
            .check_for_registration()
            .map_err(AuthError::Validation)?;
        if !inner.stores.can_write() {
            return Err(self.store_unavailable(None));
        }
        let hash = inner
            .hasher
            .hash(&credentials.password, ctx)
            .await
            .map_err(AuthError::Hasher)?;
        let scopes = Scopes::new(&inner.config.default_scopes);
        let user = Arc::new(UserRecord {
            id: uuid::Uuid::now_v7().to_string(),
            username: username.as_str().to_owned(),
            password_hash: hash.clone(),
            scopes: scopes.clone(),
            created_at_ms: chrono_ms(),
        });
        let ctx = ctx.clone().with_priority(Priority::NonCritical);
        match inner.stores.insert(user, &ctx).await {
            Ok(Ok(())) => {
                inner
                    .credentials
                    .remember(username.as_str(), hash, scopes.clone());
                tracing::info!(username = %username, "user registered");
                Ok(RegisteredUser {
                    username: username.as_str().to_owned(),
                    scope: scopes,
                })
            }
            Ok(Err(_duplicate)) => Err(AuthError::UsernameTaken),
            Err(e) => Err(self.store_unavailable(Some(e))),
        }
    }

    /// Checks credentials and issues a token. `client` is the caller's address, for its rate
    /// limit.
    pub async fn login(
        &self,
        ctx: &CallContext,
        credentials: &Credentials,
        client: Option<IpAddr>,
    ) -> Result<TokenResponse, AuthError> {
        let inner = &*self.inner;
        if credentials.password.is_out_of_bounds() {
            return Err(AuthError::field("password", "must be 1-1024 characters"));
        }
        // A name that could never be registered cannot log in; the rules are public, so
        // answering at once tells nothing about who exists.
        let username =
            Username::parse(&credentials.username).map_err(|_| AuthError::InvalidCredentials)?;
        inner.limits.check(username.as_str(), client)?;
        let ctx = ctx.clone().with_priority(Priority::Critical);
        let (hash, scopes, degraded) = self.lookup(&username, &ctx).await?;
        let verified = inner
            .hasher
            .verify(&credentials.password, hash.as_ref(), &ctx)
            .await
            .map_err(AuthError::Hasher)?;
        let (Some(hash), true) = (hash, verified) else {
            inner.limits.record_failure(username.as_str());
            tracing::info!(username = %username, degraded, "login refused: invalid credentials");
            return Err(AuthError::InvalidCredentials);
        };
        if !degraded {
            inner
                .credentials
                .remember(username.as_str(), hash, scopes.clone());
        }
        let issued = inner.tokens.issue(username.as_str(), &scopes)?;
        tracing::info!(username = %username, degraded, "login succeeded");
        Ok(TokenResponse {
            access_token: issued.token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: issued.claims.scope,
            degraded,
        })
    }

    /// The user's hash and scopes: from a store, or — when no store can answer — from the
    /// credential cache (`degraded`). `None` hash: no such user (verified against the dummy).
    async fn lookup(
        &self,
        username: &Username,
        ctx: &CallContext,
    ) -> Result<(Option<StoredHash>, Scopes, bool), AuthError> {
        let inner = &*self.inner;
        let name: Arc<str> = Arc::from(username.as_str());
        match inner.stores.find(&name, ctx).await {
            Ok((Some(user), source)) => {
                if source != ReadSource::Primary {
                    tracing::debug!(username = %username, ?source, "user read from a replica");
                }
                Ok((Some(user.password_hash), user.scopes, false))
            }
            Ok((None, _)) => Ok((None, Scopes::default(), false)),
            Err(failed) => match inner.credentials.get(username.as_str()) {
                Some(cached) => {
                    tracing::warn!(
                        username = %username,
                        error = %bulwark_runtime::error::chain(&failed),
                        "user store unavailable: login checked against the cached credential"
                    );
                    Ok((Some(cached.hash), cached.scopes, true))
                }
                None => Err(self.store_unavailable(Some(failed.0))),
            },
        }
    }

    /// Validates a bearer token (no I/O). While no store can answer reads, only `read` is
    /// granted and the principal says `degraded`.
    pub fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let validated = self.inner.tokens.validate(token)?;
        let claims = &validated.claims;
        let degraded = !self.inner.stores.can_read();
        let scope = if degraded {
            claims.scope.restricted_to(&[READ])
        } else {
            claims.scope.clone()
        };
        Ok(Principal {
            username: claims.sub.clone(),
            scope,
            degraded,
        })
    }

    /// Authenticates an `Authorization` header value (`Bearer <token>`) and requires `scope`:
    /// 401 without a valid token, 403 without the scope.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        scope: &'static str,
    ) -> Result<Principal, AuthError> {
        self.authorize_token(authorization.and_then(bearer_token), scope)
    }

    /// [`authorize`](Self::authorize) for a bare token (the broker's `bulwark.v1.auth.validate`).
    pub fn authorize_token(
        &self,
        token: Option<&str>,
        scope: &'static str,
    ) -> Result<Principal, AuthError> {
        let token = token.ok_or(AuthError::MissingToken)?;
        let principal = self.authenticate(token)?;
        if principal.scope.contains(scope) {
            Ok(principal)
        } else {
            Err(AuthError::InsufficientScope { required: scope })
        }
    }

    /// Revokes a token (logout).
    pub fn revoke(&self, token: &str) -> Result<(), AuthError> {
        Ok(self.inner.tokens.revoke(token)?)
    }

    /// Readiness: degraded (not down) while a store is unavailable.
    pub fn health(&self) -> AuthHealth {
        let can_read = self.inner.stores.can_read();
        let can_write = self.inner.stores.can_write();
        AuthHealth {
            readiness: if can_read && can_write {
                AuthReadiness::Ready
            } else {
                AuthReadiness::Degraded
            },
            can_read,
            can_write,
        }
    }

    /// Pings the stores now (the background task does it every `health_interval`).
    pub async fn check_store_health(&self) {
        let timeout = self.inner.config.health_interval;
        self.inner.stores.check_health(timeout).await;
    }

    /// The token service (key rotation, revocation of a subject).
    pub fn tokens(&self) -> &TokenService {
        &self.inner.tokens
    }

    /// The stores (their guards' controls).
    pub fn stores(&self) -> &UserStores {
        &self.inner.stores
    }

    /// The hasher (its guard and pool).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    /// The login limits.
    pub fn limits(&self) -> &LoginLimits {
        &self.inner.limits
    }

    /// The settings in force.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    fn store_unavailable(
        &self,
        source: Option<bulwark_runtime::dependency::CallError>,
    ) -> AuthError {
        let retry_after = match &source {
            Some(bulwark_runtime::dependency::CallError::CircuitOpen {
                retry_after: Some(after),
                ..
            }) => *after,
            _ => self.inner.stores.retry_after(),
        };
        AuthError::StoreUnavailable {
            retry_after,
            source,
        }
    }
}

/// The token of a `Bearer` authorization value (scheme case-insensitive, RFC 7235).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_values() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
