//! [`EndpointConfig`]: one `[[<section>.endpoints]]` entry, and the checks every pipeline's
//! endpoint list passes at start.
//!
//! ```toml
//! [[sentiment.endpoints]]
//! name = "replica-a"          # optional; default `endpoint-<index>` (unique within the list)
//! url = "http://10.0.0.5:8080/models/sentiment"
//! timeout_ms = 2000           # per attempt (also the read timeout); default 2000
//! tier = 0                    # failover order: lower tiers first; default 0
//! api_key_env = "HF_TOKEN"    # optional: sent as `Authorization: Bearer $HF_TOKEN`
//! ```

use std::collections::HashSet;
use std::time::Duration;

use bulwark_runtime::pool::MAX_ENDPOINTS;
use serde::{Deserialize, Serialize};

/// Default per-attempt timeout of an endpoint.
pub const DEFAULT_TIMEOUT_MS: u64 = 2_000;

/// Longest per-attempt timeout accepted (10 minutes).
pub const MAX_TIMEOUT_MS: u64 = 600_000;

/// One upstream endpoint of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The endpoint's name in `/status` and metrics (`<pool>/<name>`); default `endpoint-<index>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Longest one attempt may take, in milliseconds (also the client's read timeout).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Failover order: every endpoint of tier 0 is tried before any of tier 1, and so on.
    #[serde(default)]
    pub tier: u32,
    /// Name of an environment variable holding a bearer token for this endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

impl EndpointConfig {
    /// An endpoint at `url` with the defaults (tier 0, 2 s, no name, no key).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            name: None,
            url: url.into(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            tier: 0,
            api_key_env: None,
        }
    }

    /// The same endpoint in `tier`.
    #[must_use]
    pub fn tier(mut self, tier: u32) -> Self {
        self.tier = tier;
        self
    }

    /// The same endpoint with another per-attempt timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The same endpoint named `name`.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Its name: the configured one, or `endpoint-<index>` for the `index`-th entry.
    pub fn name_at(&self, index: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("endpoint-{index}"))
    }

    /// The per-attempt timeout.
    pub fn attempt_timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// An endpoint entry that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config value for `{key}`: {problem}")]
pub struct InvalidEndpoint {
    /// The offending key, e.g. `sentiment.endpoints[1].url`.
    pub key: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Checks the `[[<section>.endpoints]]` list: at most [`MAX_ENDPOINTS`] entries, absolute
/// http(s) URLs, timeouts in 1..=[`MAX_TIMEOUT_MS`], unique names without `/`, non-empty key
/// variable names.
pub fn validate(section: &str, endpoints: &[EndpointConfig]) -> Result<(), InvalidEndpoint> {
    validate_list(&format!("{section}.endpoints"), endpoints)
}

/// [`validate`] for a list at any key (`response.providers`): an offending field is named
/// `<list>[i].<field>`.
pub fn validate_list(list: &str, endpoints: &[EndpointConfig]) -> Result<(), InvalidEndpoint> {
    let invalid = |key: String, problem: String| InvalidEndpoint { key, problem };
    if endpoints.len() > MAX_ENDPOINTS {
        return Err(invalid(
            list.to_owned(),
            format!("at most {MAX_ENDPOINTS} endpoints, got {}", endpoints.len()),
        ));
    }
    let mut names = HashSet::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        let key = |field: &str| format!("{list}[{i}].{field}");
        check_url(&endpoint.url).map_err(|problem| invalid(key("url"), problem.to_owned()))?;
        if !(1..=MAX_TIMEOUT_MS).contains(&endpoint.timeout_ms) {
            return Err(invalid(
                key("timeout_ms"),
                format!("must be between 1 and {MAX_TIMEOUT_MS}"),
            ));
        }
        let name = endpoint.name_at(i);
        if name.is_empty() || name.contains('/') || name.chars().any(char::is_control) {
            return Err(invalid(
                key("name"),
                "must be non-empty, without `/` or control characters".to_owned(),
            ));
        }
        if !names.insert(name) {
            return Err(invalid(
                key("name"),
                "another endpoint has this name".to_owned(),
            ));
        }
        if endpoint.api_key_env.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(key("api_key_env"), "must not be empty".to_owned()));
        }
    }
    Ok(())
}

/// Why `url` is not an absolute http(s) URL with a host.
fn check_url(url: &str) -> Result<(), &'static str> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a valid absolute URL")?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL");
    }
    if !parsed.has_host() {
        return Err("must name a host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials (use api_key_env)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(endpoints: &[EndpointConfig]) -> Result<(), String> {
        validate("s", endpoints).map_err(|e| e.to_string())
    }

    #[test]
    fn good_entries_pass() {
        let list = [
            EndpointConfig::new("http://127.0.0.1:9000/models/x"),
            EndpointConfig::new("https://api.example.com/v1").tier(1),
        ];
        assert_eq!(check(&list), Ok(()));
        assert_eq!(list[1].name_at(1), "endpoint-1");
    }

    #[test]
    fn bad_entries_name_their_key() {
        let err = check(&[EndpointConfig::new("ftp://x")]).unwrap_err();
        assert!(err.contains("s.endpoints[0].url"), "{err}");
        let err = check(&[
            EndpointConfig::new("http://a"),
            EndpointConfig::new("http://a").timeout(Duration::ZERO),
        ])
        .unwrap_err();
        assert!(err.contains("s.endpoints[1].timeout_ms"), "{err}");
        let err = check(&[
            EndpointConfig::new("http://a").named("x"),
            EndpointConfig::new("http://b").named("x"),
        ])
        .unwrap_err();
        assert!(err.contains("s.endpoints[1].name"), "{err}");
        let err = check(&[EndpointConfig::new("http://user:pw@a")]).unwrap_err();
        assert!(err.contains("credentials"), "{err}");
        assert!(check(&[EndpointConfig::new("not a url")]).is_err());
    }
}
