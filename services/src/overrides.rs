//! Per-dependency policy overrides from the config file: `[dependencies.<name>]` holds any part
//! of a [`Policy`] (breaker, bulkhead, retry, timeout, probe) in its TOML form.
//!
//! An override is merged key by key onto the policy the pipeline registered the dependency
//! with — only the keys written change — and applied once every pipeline has registered its
//! dependencies. A name that names no dependency (or, for a pool, the pool's name: then every
//! endpoint `<pool>/<endpoint>` gets it) and an unknown key are refused at start, naming them.
//!
//! ```toml
//! [dependencies."auth.store.primary".breaker]
//! failure_rate_threshold = 25.0
//! reset_timeout = "10s"
//!
//! [dependencies."auth.store.primary".bulkhead]
//! max_wait = "250ms"
//! ```

use std::collections::BTreeMap;

use bulwark_runtime::dependency::ControlError;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::runtime::Runtime;

/// The `[dependencies]` section: dependency (or pool) name → a partial policy.
pub type Overrides = BTreeMap<String, toml::Table>;

/// An override could not be applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OverrideError {
    /// The section names no registered dependency or pool.
    #[error("[dependencies.\"{name}\"] names no dependency; known: {known}")]
    UnknownDependency {
        /// The name in the config file.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// The section has an unknown key or a mistyped value.
    #[error("[dependencies.\"{name}\"] is not a valid policy")]
    InvalidPolicy {
        /// The name in the config file.
        name: String,
        /// What is wrong, naming the key.
        #[source]
        source: toml::de::Error,
    },
    /// The dependency's actor refused the new policy.
    #[error("[dependencies.\"{name}\"] could not be applied")]
    Refused {
        /// The dependency.
        name: String,
        /// Why.
        #[source]
        source: ControlError,
    },
}

/// Checks every override parses as a policy (unknown keys and bad values refused), without a
/// runtime: config files are checked before anything starts.
pub fn validate(overrides: &Overrides) -> Result<(), OverrideError> {
    for (name, table) in overrides {
        merged(&Policy::default(), table).map_err(|source| OverrideError::InvalidPolicy {
            name: name.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Applies every override to the runtime's dependencies; answers the names changed.
pub async fn apply(runtime: &Runtime, overrides: &Overrides) -> Result<Vec<String>, OverrideError> {
    let registered = runtime.dependency_names();
    let mut changed = Vec::new();
    for (name, table) in overrides {
        let prefix = format!("{name}/");
        let targets: Vec<&String> = registered
            .iter()
            .filter(|n| *n == name || n.starts_with(&prefix))
            .collect();
        if targets.is_empty() {
            return Err(OverrideError::UnknownDependency {
                name: name.clone(),
                known: registered.join(", "),
            });
        }
        for target in targets {
            let Some(controls) = runtime.controls(target) else {
                continue;
            };
            let policy = merged(&controls.policy(), table).map_err(|source| {
                OverrideError::InvalidPolicy {
                    name: name.clone(),
                    source,
                }
            })?;
            controls
                .update_policy(policy)
                .await
                .map_err(|source| OverrideError::Refused {
                    name: target.clone(),
                    source,
                })?;
            tracing::info!(dependency = %target, "policy override applied");
            changed.push(target.clone());
        }
    }
    Ok(changed)
}

/// `base` with `table`'s keys written over it, section by section.
fn merged(base: &Policy, table: &toml::Table) -> Result<Policy, toml::de::Error> {
    let mut value = toml::Table::try_from(base).map_err(|e| {
        <toml::de::Error as serde::de::Error>::custom(format!("policy not representable: {e}"))
    })?;
    merge(&mut value, table);
    toml::Value::Table(value).try_into()
}

fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(over_inner))
                if !over_inner.contains_key("kind") =>
            {
                merge(inner, over_inner);
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bulwark_runtime::retry::RetryPolicy;

    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn only_the_written_keys_change() {
        let base = Policy {
            retry: RetryPolicy::builder().max_retries(1).build().unwrap(),
            ..Policy::default()
        };
        let policy = merged(
            &base,
            &table("[breaker]\nreset_timeout = \"7s\"\n[timeout]\nattempt = \"900ms\"\n"),
        )
        .unwrap();
        assert_eq!(policy.breaker.reset_timeout(), Duration::from_secs(7));
        assert_eq!(policy.timeout.attempt, Duration::from_millis(900));
        assert_eq!(
            policy.retry.max_retries(),
            1,
            "the pipeline's retry policy is kept"
        );
        assert_eq!(
            policy.breaker.failure_rate_threshold(),
            base.breaker.failure_rate_threshold()
        );
    }

    #[test]
    fn the_default_policy_round_trips() {
        let base = Policy::default();
        assert_eq!(merged(&base, &toml::Table::new()).unwrap(), base);
    }

    #[test]
    fn unknown_keys_are_refused_naming_them() {
        let overrides: Overrides =
            [("llm".to_owned(), table("[breaker]\nfailure_rate = 10.0\n"))].into();
        let err = validate(&overrides).unwrap_err();
        let text = bulwark_runtime::error::chain(&err).to_string();
        assert!(
            text.contains("llm") && text.contains("failure_rate"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_unknown_dependency_is_refused_and_a_known_one_changes() {
        let runtime = Runtime::builder()
            .guard("llm", Policy::default())
            .build()
            .await
            .unwrap();
        let wrong: Overrides = [("lmm".to_owned(), table("[retry]\nmax_retries = 0\n"))].into();
        let err = apply(&runtime, &wrong).await.unwrap_err();
        assert!(
            err.to_string().contains("lmm") && err.to_string().contains("llm"),
            "{err}"
        );
        let right: Overrides = [("llm".to_owned(), table("[retry]\nmax_retries = 0\n"))].into();
        assert_eq!(
            apply(&runtime, &right).await.unwrap(),
            vec!["llm".to_owned()]
        );
        assert_eq!(
            runtime
                .controls("llm")
                .unwrap()
                .policy()
                .retry
                .max_retries(),
            0
        );
        runtime.shutdown().await;
    }
}
