//! The `[auth]` section of the configuration file: [`AuthConfig`].
//!
//! ```toml
//! [auth]
//! issuer = "bulwark"
//! audience = "bulwark"
//! token_ttl = "15m"                 # lifetime of an access token
//! leeway = "30s"                    # clock skew allowed on exp and nbf
//! credential_cache_ttl = "15m"      # how long a verified credential allows login while the store is down
//! credential_cache_capacity = 100000
//! token_cache_capacity = 100000     # validated tokens remembered (keyed by the token's SHA-256)
//! default_scopes = ["read", "write"]
//! key_dir = "auth/keys"             # relative to the data dir; Ed25519 keys, 0600
//! key_rotation = "30d"              # a key older than this is replaced at start
//! health_interval = "5s"            # how often the stores are pinged
//!
//! [auth.store]
//! primary_url = "sqlite://auth.db"  # default: the SQLite file `auth.db` in the data dir
//! replica_urls = []                 # read replicas (PostgreSQL); reads fail over to the primary
//! max_connections = 8
//! acquire_timeout = "2s"
//!
//! [auth.hasher]
//! memory_kib = 19456                # argon2id m (OWASP: 19 MiB, t = 2, p = 1)
//! iterations = 2
//! parallelism = 1
//! threads = 0                       # 0: one less than the cores, at least 1
//! login_queue = 64                  # verifications waiting for a thread
//! registration_queue = 32           # new hashes waiting for a thread
//! max_wait = "2s"
//!
//! [auth.limits]
//! per_username = { per_minute = 10, burst = 5 }
//! per_address = { per_minute = 60, burst = 20 }
//! failures = { per_minute = 2, burst = 5 }   # failed logins of one username before it is slowed
//! ```
//!
//! [`AuthConfig::validate`] refuses what cannot work; the service refuses to start with it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default lifetime of access tokens and of cached credentials.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);

/// Name of the SQLite file used when no `store.primary_url` is configured.
pub const DEFAULT_SQLITE_FILE: &str = "auth.db";

/// A value of the `[auth]` section that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config value for `{key}`: {problem}")]
pub struct InvalidAuthConfig {
    /// The offending key, e.g. `auth.token_ttl`.
    pub key: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

fn invalid(key: &'static str, problem: &'static str) -> InvalidAuthConfig {
    InvalidAuthConfig { key, problem }
}

/// Settings of the auth pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `iss` of issued tokens; tokens of another issuer are refused.
    pub issuer: String,
    /// `aud` of issued tokens; tokens for another audience are refused.
    pub audience: String,
    /// Lifetime of an access token.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// How long a verified credential (its argon2 hash, never the password) stays usable for
    /// logins while the user store is unavailable.
    #[serde(with = "humantime_serde")]
    pub credential_cache_ttl: Duration,
    /// Most credentials cached.
    pub credential_cache_capacity: u64,
    /// Most validated tokens remembered.
    pub token_cache_capacity: u64,
    /// Scopes a newly registered user gets.
    pub default_scopes: Vec<String>,
    /// Directory of the signing keys, relative to the data dir unless absolute.
    pub key_dir: PathBuf,
    /// Age after which the signing key is replaced at start (older keys keep verifying).
    #[serde(with = "humantime_serde")]
    pub key_rotation: Duration,
    /// How often the stores are pinged to notice an idle store going away.
    #[serde(with = "humantime_serde")]
    pub health_interval: Duration,
    /// The user store.
    pub store: StoreConfig,
    /// Password hashing.
    pub hasher: HasherConfig,
    /// Rate limits on token requests.
    pub limits: LimitsConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "bulwark".to_owned(),
            audience: "bulwark".to_owned(),
            token_ttl: DEFAULT_TTL,
            leeway: Duration::from_secs(30),
            credential_cache_ttl: DEFAULT_TTL,
            credential_cache_capacity: 100_000,
            token_cache_capacity: 100_000,
            default_scopes: vec!["read".to_owned(), "write".to_owned()],
            key_dir: PathBuf::from("auth/keys"),
            key_rotation: Duration::from_secs(30 * 24 * 3600),
            health_interval: Duration::from_secs(5),
            store: StoreConfig::default(),
            hasher: HasherConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

/// Where users live.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` (relative paths are in the data dir) or `postgres://…`; `None`: the
    /// SQLite file [`DEFAULT_SQLITE_FILE`] in the data dir.
    pub primary_url: Option<String>,
    /// Read replicas, tried in turn before the primary.
    pub replica_urls: Vec<String>,
    /// Connections per pool (0: the default, 8).
    pub max_connections: u32,
    /// Longest wait for a pooled connection (0: the default, 2 s).
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl StoreConfig {
    /// Connections per pool, defaults applied.
    pub fn pool_size(&self) -> u32 {
        if self.max_connections == 0 {
            8
        } else {
            self.max_connections
        }
    }

    /// Wait for a pooled connection, defaults applied.
    pub fn acquire_wait(&self) -> Duration {
        if self.acquire_timeout.is_zero() {
            Duration::from_secs(2)
        } else {
            self.acquire_timeout
        }
    }

    /// The primary's URL with the default applied and relative SQLite paths resolved against
    /// `data_dir`.
    pub fn primary(&self, data_dir: &Path) -> String {
        match &self.primary_url {
            Some(url) => resolve_sqlite(url, data_dir),
            None => format!("sqlite://{}", data_dir.join(DEFAULT_SQLITE_FILE).display()),
        }
    }
}

fn resolve_sqlite(url: &str, data_dir: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) if !Path::new(path).is_absolute() => {
            format!("sqlite://{}", data_dir.join(path).display())
        }
        _ => url.to_owned(),
    }
}

/// argon2id parameters and the hashing pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HasherConfig {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Time cost (passes).
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Hashing threads; 0: one less than the available cores, at least 1, so hashing always
    /// leaves a core to request handling.
    pub threads: u32,
    /// Verifications (logins) that may wait for a thread.
    pub login_queue: u32,
    /// New hashes (registrations) that may wait for a thread.
    pub registration_queue: u32,
    /// Longest wait for a thread; then the request is refused with 503.
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
}

impl Default for HasherConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
            threads: 0,
            login_queue: 64,
            registration_queue: 32,
            max_wait: Duration::from_secs(2),
        }
    }
}

impl HasherConfig {
    /// Hashing threads with the default applied.
    pub fn thread_count(&self) -> u32 {
        if self.threads > 0 {
            return self.threads;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        u32::try_from(cores.saturating_sub(1).max(1)).unwrap_or(1)
    }
}

/// A rate: `per_minute` on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests allowed at once.
    pub burst: u32,
}

/// Rate limits on token requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Token requests per username.
    pub per_username: Rate,
    /// Token requests per client address.
    pub per_address: Rate,
    /// Failed logins per username before that username is slowed to this rate.
    pub failures: Rate,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_username: Rate {
                per_minute: 10,
                burst: 5,
            },
            per_address: Rate {
                per_minute: 60,
                burst: 20,
            },
            failures: Rate {
                per_minute: 2,
                burst: 5,
            },
        }
    }
}

impl AuthConfig {
    /// The key directory, resolved against `data_dir`.
    pub fn key_dir(&self, data_dir: &Path) -> PathBuf {
        if self.key_dir.is_absolute() {
            self.key_dir.clone()
        } else {
            data_dir.join(&self.key_dir)
        }
    }

    /// Refuses values a running service must never hold.
    pub fn validate(&self) -> Result<(), InvalidAuthConfig> {
        if self.issuer.is_empty() {
            return Err(invalid("auth.issuer", "must not be empty"));
        }
        if self.audience.is_empty() {
            return Err(invalid("auth.audience", "must not be empty"));
        }
        let day = Duration::from_secs(24 * 3600);
        if self.token_ttl < Duration::from_secs(1) || self.token_ttl > day {
            return Err(invalid("auth.token_ttl", "must be between 1s and 24h"));
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(invalid("auth.leeway", "must be at most 5m"));
        }
        if self.credential_cache_ttl > day {
            return Err(invalid("auth.credential_cache_ttl", "must be at most 24h"));
        }
        if self.credential_cache_capacity == 0 {
            return Err(invalid(
                "auth.credential_cache_capacity",
                "must be at least 1",
            ));
        }
        if self.token_cache_capacity == 0 {
            return Err(invalid("auth.token_cache_capacity", "must be at least 1"));
        }
        if self
            .default_scopes
            .iter()
            .any(|s| !super::scope::is_valid(s))
        {
            return Err(invalid(
                "auth.default_scopes",
                "scopes are 1-32 characters of a-z, 0-9, ':' and '_'",
            ));
        }
        if self.key_rotation < self.token_ttl {
            return Err(invalid(
                "auth.key_rotation",
                "must be at least auth.token_ttl",
            ));
        }
        if self.health_interval < Duration::from_millis(10)
            || self.health_interval > Duration::from_secs(3600)
        {
            return Err(invalid(
                "auth.health_interval",
                "must be between 10ms and 1h",
            ));
        }
        self.validate_store()?;
        self.validate_hasher()?;
        for (key, rate) in [
            ("auth.limits.per_username", self.limits.per_username),
            ("auth.limits.per_address", self.limits.per_address),
            ("auth.limits.failures", self.limits.failures),
        ] {
            if rate.per_minute == 0 || rate.burst == 0 {
                return Err(invalid(key, "per_minute and burst must be at least 1"));
            }
        }
        Ok(())
    }

    fn validate_store(&self) -> Result<(), InvalidAuthConfig> {
        let known = |url: &str| url.starts_with("sqlite:") || url.starts_with("postgres");
        if self.store.primary_url.as_deref().is_some_and(|u| !known(u)) {
            return Err(invalid(
                "auth.store.primary_url",
                "must start with sqlite:// or postgres://",
            ));
        }
        if self.store.replica_urls.iter().any(|u| !known(u)) {
            return Err(invalid(
                "auth.store.replica_urls",
                "must start with sqlite:// or postgres://",
            ));
        }
        if self.store.max_connections > 1000 {
            return Err(invalid(
                "auth.store.max_connections",
                "must be at most 1000",
            ));
        }
        Ok(())
    }

    fn validate_hasher(&self) -> Result<(), InvalidAuthConfig> {
        let h = &self.hasher;
        // argon2's own bounds, and a memory ceiling so a typo cannot take the machine's memory.
        if h.memory_kib < 8 * h.parallelism.max(1) || h.memory_kib > 1024 * 1024 {
            return Err(invalid(
                "auth.hasher.memory_kib",
                "must be between 8 x parallelism and 1 GiB",
            ));
        }
        if h.iterations == 0 || h.iterations > 100 {
            return Err(invalid(
                "auth.hasher.iterations",
                "must be between 1 and 100",
            ));
        }
        if h.parallelism == 0 || h.parallelism > 64 {
            return Err(invalid(
                "auth.hasher.parallelism",
                "must be between 1 and 64",
            ));
        }
        if h.threads > 256 {
            return Err(invalid("auth.hasher.threads", "must be at most 256"));
        }
        if h.login_queue > 100_000 || h.registration_queue > 100_000 {
            return Err(invalid("auth.hasher", "queues must be at most 100000"));
        }
        if h.max_wait.is_zero() || h.max_wait > Duration::from_secs(60) {
            return Err(invalid(
                "auth.hasher.max_wait",
                "must be between 1ms and 60s",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented() {
        let config = AuthConfig::default();
        config.validate().unwrap();
        assert_eq!(config.credential_cache_ttl, Duration::from_secs(900));
        assert_eq!(config.hasher.memory_kib, 19_456);
        let parsed: AuthConfig = toml::from_str("").unwrap();
        assert_eq!(parsed, config);
    }

    #[test]
    fn the_documented_example_parses() {
        let doc = include_str!("config.rs");
        let example: String = doc
            .lines()
            .skip_while(|l| !l.starts_with("//! [auth]"))
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| format!("{}\n", l.trim_start_matches("//!").trim_start()))
            .collect();
        #[derive(Deserialize)]
        struct File {
            auth: AuthConfig,
        }
        let config = toml::from_str::<File>(&example)
            .unwrap_or_else(|e| panic!("{e}\n{example}"))
            .auth;
        config.validate().unwrap();
        assert_eq!(
            config.store.primary_url.as_deref(),
            Some("sqlite://auth.db")
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases: [(&str, &str); 6] = [
            ("token_ttl = \"0s\"", "auth.token_ttl"),
            ("issuer = \"\"", "auth.issuer"),
            ("default_scopes = [\"Read Me\"]", "auth.default_scopes"),
            ("[hasher]\nmemory_kib = 4", "auth.hasher.memory_kib"),
            (
                "[store]\nprimary_url = \"mysql://x\"",
                "auth.store.primary_url",
            ),
            (
                "[limits]\nper_address = { per_minute = 0, burst = 1 }",
                "auth.limits.per_address",
            ),
        ];
        for (text, key) in cases {
            let config: AuthConfig = toml::from_str(text).unwrap();
            assert_eq!(config.validate().unwrap_err().key, key, "{text}");
        }
        assert!(toml::from_str::<AuthConfig>("tokenttl = \"1s\"").is_err());
    }

    #[test]
    fn relative_sqlite_paths_live_in_the_data_dir() {
        let dir = Path::new("/var/lib/bulwark");
        let mut store = StoreConfig::default();
        assert_eq!(store.primary(dir), "sqlite:///var/lib/bulwark/auth.db");
        store.primary_url = Some("sqlite://users.db".to_owned());
        assert_eq!(store.primary(dir), "sqlite:///var/lib/bulwark/users.db");
        store.primary_url = Some("postgres://db/users".to_owned());
        assert_eq!(store.primary(dir), "postgres://db/users");
    }
}
