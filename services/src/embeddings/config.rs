//! The `[embeddings]` section of the configuration file: [`EmbeddingsConfig`].
//!
//! ```toml
//! [embeddings]
//! model = "text-embedding-3-small"   # sent as `model` to every endpoint
//! dimension = 256                    # of the local hashing embedding (the fallback)
//! fallback_reserve = "100ms"         # time kept back from the request's deadline for the fallback
//!
//! [[embeddings.endpoints]]           # OpenAI-compatible bases: POST {url}/embeddings
//! url = "http://127.0.0.1:8000/v1"
//! timeout_ms = 5000
//! tier = 0
//! api_key_env = "OPENAI_API_KEY"
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::upstream::{EndpointConfig, InvalidEndpoint, config::validate as validate_endpoints};

/// Largest dimension of the local embedding.
pub const MAX_DIMENSION: usize = 4096;

/// Settings of the embeddings pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingsConfig {
    /// OpenAI-compatible endpoints (base URLs; `/embeddings` is appended); empty: the local
    /// hashing embedding answers every request (readiness says degraded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointConfig>,
    /// The model name sent to the endpoints.
    pub model: String,
    /// Dimension of the local hashing embedding, 1..=4096.
    pub dimension: usize,
    /// Time kept back from the caller's deadline so the fallback can still answer in time.
    #[serde(with = "humantime_serde")]
    pub fallback_reserve: Duration,
}

impl Default for EmbeddingsConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            model: "text-embedding-3-small".to_owned(),
            dimension: 256,
            fallback_reserve: Duration::from_millis(100),
        }
    }
}

impl EmbeddingsConfig {
    /// Refuses what cannot work, naming the key.
    pub fn validate(&self) -> Result<(), InvalidEndpoint> {
        let invalid = |key: &str, problem: &str| InvalidEndpoint {
            key: format!("embeddings.{key}"),
            problem: problem.to_owned(),
        };
        validate_endpoints("embeddings", &self.endpoints)?;
        if !(1..=MAX_DIMENSION).contains(&self.dimension) {
            return Err(invalid("dimension", "must be between 1 and 4096"));
        }
        if self.model.trim().is_empty() {
            return Err(invalid("model", "must not be empty"));
        }
        if self.fallback_reserve > Duration::from_secs(10) {
            return Err(invalid("fallback_reserve", "must be at most 10s"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_named() {
        assert_eq!(EmbeddingsConfig::default().validate(), Ok(()));
        let zero: EmbeddingsConfig = toml::from_str("dimension = 0").unwrap();
        assert_eq!(zero.validate().unwrap_err().key, "embeddings.dimension");
        let parsed: EmbeddingsConfig =
            toml::from_str("model = \"m\"\n[[endpoints]]\nurl = \"http://h/v1\"\n").unwrap();
        assert_eq!(parsed.validate(), Ok(()));
        assert!(toml::from_str::<EmbeddingsConfig>("dimensions = 3").is_err());
    }
}
