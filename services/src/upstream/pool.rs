//! [`build_pool`]: a runtime [`Pool`] of [`JsonEndpoint`]s from a validated endpoint list.

use std::collections::BTreeMap;

use bulwark_runtime::http::{HttpDependency, InvalidHttpConfig};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::pool::{InvalidPool, Pool};
use bulwark_runtime::runtime::Runtime;
use bulwark_runtime::timeout::{InvalidTimeout, TimeoutPolicy};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::config::EndpointConfig;
use super::endpoint::JsonEndpoint;

/// A pool of configured endpoints could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolStartError {
    /// The endpoint's URL is not usable (checked by [`validate`](super::config::validate) first).
    #[error("endpoint '{endpoint}' has an unusable URL '{url}'")]
    Url {
        /// The endpoint.
        endpoint: String,
        /// Its URL.
        url: String,
    },
    /// The environment variable named by `api_key_env` is not set.
    #[error("endpoint '{endpoint}': environment variable {var} (api_key_env) is not set")]
    MissingApiKey {
        /// The endpoint.
        endpoint: String,
        /// The variable.
        var: String,
    },
    /// The endpoint's timeout cannot work.
    #[error("endpoint '{endpoint}' has an invalid timeout")]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: InvalidTimeout,
    },
    /// The HTTP client could not be built.
    #[error("endpoint '{endpoint}': HTTP client could not be built")]
    Http {
        /// The endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: InvalidHttpConfig,
    },
    /// The pool could not be built or registered.
    #[error("the pool could not be started")]
    Pool(#[from] InvalidPool),
}

/// Where a request to an endpoint goes: `(base URL, path)` from its configured URL.
pub type Target = fn(&reqwest::Url) -> (String, String);

/// The configured URL itself: its origin as the base, its path and query as the path.
pub fn exact_url(url: &reqwest::Url) -> (String, String) {
    let base = url.origin().ascii_serialization();
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    (base, path)
}

/// Registers `endpoints` on `runtime` as the pool `name` (endpoints `name/<endpoint>`), one tier
/// per distinct `tier` value in ascending order. Every endpoint gets `policy` with its own
/// per-attempt and read timeout (`timeout_ms`); `target` says where its requests go.
pub async fn build_pool<B, R>(
    runtime: &Runtime,
    name: &str,
    endpoints: &[EndpointConfig],
    policy: &Policy,
    target: Target,
) -> Result<Pool<JsonEndpoint<B, R>>, PoolStartError>
where
    B: Serialize + Clone + Send + Sync + 'static,
    R: DeserializeOwned + Send + Sync + 'static,
{
    let mut tiers: BTreeMap<u32, Vec<(String, &EndpointConfig)>> = BTreeMap::new();
    for (i, endpoint) in endpoints.iter().enumerate() {
        tiers
            .entry(endpoint.tier)
            .or_default()
            .push((endpoint.name_at(i), endpoint));
    }
    let mut builder = Pool::builder(name).policy(policy.clone());
    for members in tiers.into_values() {
        for (endpoint_name, endpoint) in members {
            let (dependency, own) = endpoint_of(&endpoint_name, endpoint, policy, target)?;
            builder = builder.endpoint_with_policy(endpoint_name, dependency, own);
        }
        builder = builder.next_tier();
    }
    Ok(builder.build(runtime).await?)
}

fn endpoint_of<B, R>(
    name: &str,
    endpoint: &EndpointConfig,
    policy: &Policy,
    target: Target,
) -> Result<(JsonEndpoint<B, R>, Policy), PoolStartError> {
    let url = reqwest::Url::parse(&endpoint.url).map_err(|_| PoolStartError::Url {
        endpoint: name.to_owned(),
        url: endpoint.url.clone(),
    })?;
    let own = attempt_policy(name, endpoint, policy)?;
    let (base, path) = target(&url);
    let mut http = HttpDependency::builder(base).timeouts(&own.timeout);
    if let Some(token) = api_key(name, endpoint)? {
        http = http.bearer_auth(token);
    }
    let http = http.build().map_err(|source| PoolStartError::Http {
        endpoint: name.to_owned(),
        source,
    })?;
    Ok((JsonEndpoint::new(http, path), own))
}

/// `policy` with the endpoint's own per-attempt and read timeout (`timeout_ms`; connect at
/// most that), as every endpoint of a pool is registered.
pub fn attempt_policy(
    name: &str,
    endpoint: &EndpointConfig,
    policy: &Policy,
) -> Result<Policy, PoolStartError> {
    let attempt = endpoint.attempt_timeout();
    let timeouts = TimeoutPolicy::new(attempt, policy.timeout.connect.min(attempt), attempt)
        .and_then(|t| t.with_total(policy.timeout.total))
        .map_err(|source| PoolStartError::Timeout {
            endpoint: name.to_owned(),
            source,
        })?;
    let mut own = policy.clone();
    own.timeout = timeouts;
    Ok(own)
}

/// The endpoint's API key, read from the environment variable its `api_key_env` names (never
/// from the file); `None` when it names none. The value is never logged nor put in an error.
pub fn api_key(name: &str, endpoint: &EndpointConfig) -> Result<Option<String>, PoolStartError> {
    endpoint
        .api_key_env
        .as_ref()
        .map(|var| {
            std::env::var(var).map_err(|_| PoolStartError::MissingApiKey {
                endpoint: name.to_owned(),
                var: var.clone(),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_url_keeps_path_and_query() {
        let url = reqwest::Url::parse("http://127.0.0.1:9/models/x?wait=1").unwrap();
        assert_eq!(
            exact_url(&url),
            (
                "http://127.0.0.1:9".to_owned(),
                "/models/x?wait=1".to_owned()
            )
        );
        let bare = reqwest::Url::parse("https://h").unwrap();
        assert_eq!(exact_url(&bare), ("https://h".to_owned(), "/".to_owned()));
    }
}
