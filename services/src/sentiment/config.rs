//! The `[sentiment]` section of the configuration file: [`SentimentConfig`].
//!
//! ```toml
//! [sentiment]
//! neutral_band = 0.05        # the rule-based analyzer's: |compound| below it is neutral
//! cache_ttl = "10m"          # how long a model answer is reused for the same text (0s: no cache)
//! cache_capacity = 100000    # most texts remembered
//! batch_size = 32            # texts per model request
//! fallback_reserve = "100ms" # time kept back from the request's deadline for the fallback
//!
//! [sentiment.labels]         # model label → positive | negative | neutral, on top of the
//! "very good" = "positive"   # built-in table (matched case-insensitively)
//!
//! [[sentiment.endpoints]]    # Hugging Face text-classification endpoints; none: rule-based only
//! url = "http://127.0.0.1:9000/models/sentiment"
//! timeout_ms = 2000
//! tier = 0
//! ```
//!
//! The built-in label table ([`DEFAULT_LABELS`]) knows `POSITIVE`/`NEGATIVE`/`NEUTRAL` (and
//! `pos`/`neg`/`neu`), the three-class `LABEL_0`/`LABEL_1`/`LABEL_2` convention (negative, neutral,
//! positive, as in the cardiffnlp Twitter models) and the five-star `1 star` … `5 stars` models.
//! A binary model that says `LABEL_0`/`LABEL_1` needs its own `[sentiment.labels]` entries.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::analyzer::{AnalyzerConfig, Label};
use crate::jobs::JobsConfig;
use crate::upstream::{EndpointConfig, InvalidEndpoint, config::validate as validate_endpoints};

/// The built-in label table (keys are matched case-insensitively).
pub const DEFAULT_LABELS: &[(&str, Label)] = &[
    ("positive", Label::Positive),
    ("negative", Label::Negative),
    ("neutral", Label::Neutral),
    ("pos", Label::Positive),
    ("neg", Label::Negative),
    ("neu", Label::Neutral),
    ("label_0", Label::Negative),
    ("label_1", Label::Neutral),
    ("label_2", Label::Positive),
    ("1 star", Label::Negative),
    ("2 stars", Label::Negative),
    ("3 stars", Label::Neutral),
    ("4 stars", Label::Positive),
    ("5 stars", Label::Positive),
];

/// Most texts in one model request.
pub const MAX_BATCH_SIZE: usize = 256;

/// Settings of the sentiment pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SentimentConfig {
    /// Model endpoints (Hugging Face text-classification shape); empty: the rule-based analyzer
    /// serves every request (readiness says degraded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointConfig>,
    /// Model labels → classes, added to (or overriding) [`DEFAULT_LABELS`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Label>,
    /// The rule-based analyzer's neutral band, in `[0, 1)`.
    pub neutral_band: f64,
    /// How long a model answer is reused for the same normalised text; zero turns the cache off.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// Most texts the cache holds.
    pub cache_capacity: u64,
    /// Texts per model request, 1..=256.
    pub batch_size: usize,
    /// Time kept back from the caller's deadline so the fallback can still answer in time.
    #[serde(with = "humantime_serde")]
    pub fallback_reserve: Duration,
    /// Durable jobs (`[sentiment.jobs]`).
    pub jobs: JobsConfig,
}

impl Default for SentimentConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            labels: BTreeMap::new(),
            neutral_band: AnalyzerConfig::DEFAULT_NEUTRAL_BAND,
            cache_ttl: Duration::from_secs(600),
            cache_capacity: 100_000,
            batch_size: 32,
            fallback_reserve: Duration::from_millis(100),
            jobs: JobsConfig::default(),
        }
    }
}

impl SentimentConfig {
    /// Refuses what cannot work, naming the key.
    pub fn validate(&self) -> Result<(), InvalidEndpoint> {
        let invalid = |key: &str, problem: &str| InvalidEndpoint {
            key: format!("sentiment.{key}"),
            problem: problem.to_owned(),
        };
        validate_endpoints("sentiment", &self.endpoints)?;
        if AnalyzerConfig::new()
            .with_neutral_band(self.neutral_band)
            .is_err()
        {
            return Err(invalid("neutral_band", "must be at least 0 and below 1"));
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(invalid("batch_size", "must be between 1 and 256"));
        }
        if self.fallback_reserve > Duration::from_secs(10) {
            return Err(invalid("fallback_reserve", "must be at most 10s"));
        }
        if self.labels.keys().any(|k| k.trim().is_empty()) {
            return Err(invalid("labels", "a label must not be empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_parse_from_an_empty_section() {
        let config: SentimentConfig = toml::from_str("").unwrap();
        assert_eq!(config, SentimentConfig::default());
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn a_full_section_parses() {
        let config: SentimentConfig = toml::from_str(
            r#"
            neutral_band = 0.1
            cache_ttl = "1m"
            [labels]
            "very good" = "positive"
            [[endpoints]]
            url = "http://127.0.0.1:9/models/a"
            timeout_ms = 500
            [[endpoints]]
            url = "http://127.0.0.1:9/models/b"
            tier = 1
            "#,
        )
        .unwrap();
        assert_eq!(config.endpoints.len(), 2);
        assert_eq!(config.endpoints[1].tier, 1);
        assert_eq!(config.labels["very good"], Label::Positive);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        let bad = |text: &str| {
            let config: SentimentConfig = toml::from_str(text).unwrap();
            config.validate().unwrap_err().key
        };
        assert_eq!(bad("neutral_band = 1.0"), "sentiment.neutral_band");
        assert_eq!(bad("batch_size = 0"), "sentiment.batch_size");
        assert_eq!(
            bad("[[endpoints]]\nurl = \"nope\""),
            "sentiment.endpoints[0].url"
        );
        assert!(toml::from_str::<SentimentConfig>("[labels]\nx = \"great\"").is_err());
        assert!(toml::from_str::<SentimentConfig>("endpoint = []").is_err());
    }
}
