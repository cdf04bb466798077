//! A rule-based sentiment analyzer: the fallback of the sentiment pipeline, and a library of its
//! own.
//!
//! It follows the method of Hutto & Gilbert, *VADER: A Parsimonious Rule-based Model for
//! Sentiment Analysis of Social Media Text* (ICWSM 2014): a human-rated lexicon of words, slang,
//! initialisms and emoticons with valences on a −4…+4 scale, plus rules measured in that paper —
//! negation, degree modifiers, the contrastive "but", exclamation marks and capitals — and a
//! compound score `x / sqrt(x² + 15)` in `[-1, 1]`. The code is written from the paper, not
//! ported; [`rules`] lists every rule with its effect size and our departures. The lexicon
//! (VADER's, MIT) is embedded in the binary and parsed once per process.
//!
//! Analysing allocates nothing: tokens are slices of the input, lookups fold the token into a
//! stack buffer, and the rules keep a window of the last few tokens and one token of look-ahead
//! instead of a token list (`services/tests/sentiment_alloc.rs` counts the allocations).
//!
//! ```
//! use bulwark_services::sentiment::analyzer::{Analyzer, AnalyzerConfig, Label};
//!
//! let analyzer = Analyzer::default();
//! let happy = analyzer.analyze("The food here is GREAT!!");
//! assert_eq!(happy.label, Label::Positive);
//! assert!(happy.compound > analyzer.analyze("The food here is great").compound);
//!
//! assert_eq!(analyzer.analyze("isn't very good").label, Label::Negative);
//! assert_eq!(
//!     analyzer.analyze("The food was great, but the service was horrible").label,
//!     Label::Negative
//! );
//! assert_eq!(analyzer.analyze("The meeting is at noon.").label, Label::Neutral);
//!
//! // A wider neutral band calls weak sentiment neutral.
//! let strict = Analyzer::new(AnalyzerConfig::new().with_neutral_band(0.5)?);
//! assert_eq!(strict.analyze("It was okay").label, Label::Neutral);
//! # Ok::<(), bulwark_services::sentiment::analyzer::ConfigError>(())
//! ```

mod config;
mod emoji;
mod engine;
mod error;
mod lexicon;
pub mod rules;
mod score;
mod table;
mod tokens;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use config::AnalyzerConfig;
pub use error::{ConfigError, LexiconError};
pub use lexicon::Lexicon;
pub use score::{Analysis, Label};
pub use tokens::MAX_KEY_BYTES;

/// The analyzer: a shared lexicon and its settings. Cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Analyzer {
    lexicon: Arc<Lexicon>,
    config: AnalyzerConfig,
}

impl Analyzer {
    /// An analyzer on the embedded lexicon.
    pub fn new(config: AnalyzerConfig) -> Self {
        Self::with_lexicon(config, Lexicon::embedded())
    }

    /// An analyzer on a lexicon of your own (see [`Lexicon::parse`]).
    pub fn with_lexicon(config: AnalyzerConfig, lexicon: Arc<Lexicon>) -> Self {
        Self { lexicon, config }
    }

    /// The sentiment of `text`. Any input is accepted: empty or blank text is neutral, words
    /// longer than [`MAX_KEY_BYTES`] are neutral, and the time taken is linear in the length.
    pub fn analyze(&self, text: &str) -> Analysis {
        engine::analyze(&self.lexicon, text, self.config.neutral_band())
    }

    /// The settings.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// The lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }
}

impl Default for Analyzer {
    /// An analyzer on the embedded lexicon with the default settings.
    fn default() -> Self {
        Self::new(AnalyzerConfig::default())
    }
}
