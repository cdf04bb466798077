//! Settings of the analyzer, validated when built.

use serde::{Deserialize, Serialize};

use super::error::ConfigError;

/// Settings of an [`Analyzer`](super::Analyzer).
///
/// Deserialises from `{ "neutral_band": 0.05 }` (every field optional), refusing values out of
/// range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig", into = "RawConfig")]
pub struct AnalyzerConfig {
    neutral_band: f64,
}

impl AnalyzerConfig {
    /// VADER's neutral band: compound scores in `(-0.05, 0.05)` are neutral.
    pub const DEFAULT_NEUTRAL_BAND: f64 = 0.05;

    /// The defaults.
    pub const fn new() -> Self {
        Self {
            neutral_band: Self::DEFAULT_NEUTRAL_BAND,
        }
    }

    /// Sets the neutral band: a compound score `c` is positive when `c >= band`, negative when
    /// `c <= -band`, neutral in between. A band of 0 leaves only an exact 0 neutral.
    ///
    /// # Errors
    /// [`ConfigError::NeutralBand`] unless `0 <= band < 1`.
    pub fn with_neutral_band(self, band: f64) -> Result<Self, ConfigError> {
        if band.is_finite() && (0.0..1.0).contains(&band) {
            Ok(Self { neutral_band: band })
        } else {
            Err(ConfigError::NeutralBand(band))
        }
    }

    /// The neutral band.
    pub fn neutral_band(&self) -> f64 {
        self.neutral_band
    }
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// The serialised form, before validation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_band")]
    neutral_band: f64,
}

fn default_band() -> f64 {
    AnalyzerConfig::DEFAULT_NEUTRAL_BAND
}

impl TryFrom<RawConfig> for AnalyzerConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        AnalyzerConfig::new().with_neutral_band(raw.neutral_band)
    }
}

impl From<AnalyzerConfig> for RawConfig {
    fn from(config: AnalyzerConfig) -> Self {
        Self {
            neutral_band: config.neutral_band,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_must_lie_in_zero_to_one() {
        assert_eq!(AnalyzerConfig::default().neutral_band(), 0.05);
        assert!(AnalyzerConfig::new().with_neutral_band(0.0).is_ok());
        assert!(AnalyzerConfig::new().with_neutral_band(0.5).is_ok());
        for bad in [-0.1, 1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                AnalyzerConfig::new().with_neutral_band(bad),
                Err(ConfigError::NeutralBand(_))
            ));
        }
    }

    #[test]
    fn deserialisation_validates() {
        let ok: Result<AnalyzerConfig, _> = serde_json::from_str(r#"{"neutral_band": 0.1}"#);
        assert_eq!(ok.map(|c| c.neutral_band()).ok(), Some(0.1));
        let default: Result<AnalyzerConfig, _> = serde_json::from_str("{}");
        assert_eq!(default.ok(), Some(AnalyzerConfig::new()));
        assert!(serde_json::from_str::<AnalyzerConfig>(r#"{"neutral_band": 2}"#).is_err());
        assert!(serde_json::from_str::<AnalyzerConfig>(r#"{"band": 0.1}"#).is_err());
    }
}
