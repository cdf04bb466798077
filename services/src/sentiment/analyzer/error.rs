//! Errors of the analyzer: a lexicon that cannot be read, a setting out of range.

use thiserror::Error;

/// A lexicon file that cannot be used.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum LexiconError {
    /// A line has no tab between the feature and its valence.
    #[error("lexicon line {line}: expected `feature<TAB>valence`")]
    MissingValence {
        /// 1-based line number.
        line: usize,
    },
    /// The valence column is not a finite number.
    #[error("lexicon line {line}: valence {value:?} is not a finite number")]
    BadValence {
        /// 1-based line number.
        line: usize,
        /// The text found in the valence column.
        value: String,
    },
    /// The feature is longer than the analyzer looks up (see [`MAX_KEY_BYTES`]).
    ///
    /// [`MAX_KEY_BYTES`]: super::MAX_KEY_BYTES
    #[error("lexicon line {line}: feature is {len} bytes long, the limit is {max}")]
    FeatureTooLong {
        /// 1-based line number.
        line: usize,
        /// Its length in bytes after case folding.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The file holds no feature at all.
    #[error("the lexicon is empty")]
    Empty,
}

/// A setting of [`AnalyzerConfig`](super::AnalyzerConfig) out of its range.
#[derive(Debug, Error, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The neutral band must be a finite number in `[0, 1)`.
    #[error("neutral band {0} is outside [0, 1)")]
    NeutralBand(f64),
}
