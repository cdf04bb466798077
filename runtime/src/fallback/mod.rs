//! Fallback: what to answer when the primary path cannot.
//!
//! A [`FallbackChain`] is tried in order when a guarded call fails for a cause it handles
//! ([`FallbackCause`]):
//!
//! 1. a **cache** of the last good response for the request's key — with a TTL (checked against
//!    tokio's clock, so exact and deterministic under paused time) and bounded in size (moka);
//! 2. **simplified functions**, in the order added (rule-based sentiment, a template answer, a
//!    local hashing embedding); each may decline with `None`;
//! 3. a **static answer** (graceful degradation: "feature off").
//!
//! The first stage that yields a value wins, and the answer is marked [`Degraded`] with its
//! [`FallbackSource`], so callers and dashboards always know an answer was not the real thing.
//!
//! By default the chain answers rejections (open circuit, full bulkhead), timeouts, exhausted
//! retries and panics, but not permanent failures ([`FallbackCause::Failed`]): a 4xx from the
//! dependency means the *request* is wrong, and a cached or made-up answer to a wrong request
//! would hide the caller's bug. Use [`FallbackChainBuilder::on`] to choose.
//!
//! ```
//! use std::time::Duration;
//! use bulwark_runtime::fallback::{FallbackCause, FallbackChain, FallbackSource};
//!
//! let chain = FallbackChain::<String, String>::builder()
//!     .cache(|req: &String| Some(req.clone()), Duration::from_secs(300), 10_000)
//!     .function("short_only", |req: &String, _cause| {
//!         (req.len() < 5).then(|| req.to_uppercase())
//!     })
//!     .static_value("service degraded, try later".to_owned())
//!     .build();
//!
//! // On success the caller remembers the answer …
//! chain.remember(&"hi".to_owned(), &"hello".to_owned());
//! // … and on a failure the chain handles, the first stage with an answer wins.
//! assert!(chain.triggers_on(FallbackCause::CircuitOpen));
//! let cached = chain.recover(&"hi".to_owned(), FallbackCause::CircuitOpen).unwrap();
//! assert_eq!((cached.value.as_str(), cached.source), ("hello", FallbackSource::Cache));
//! let computed = chain.recover(&"yo".to_owned(), FallbackCause::Timeout).unwrap();
//! assert_eq!((computed.value.as_str(), computed.source.as_str()), ("YO", "short_only"));
//! let fixed = chain.recover(&"a long one".to_owned(), FallbackCause::Timeout).unwrap();
//! assert_eq!(fixed.source, FallbackSource::Static);
//! // A permanent failure (a bad request) is not covered up by default.
//! assert!(!chain.triggers_on(FallbackCause::Failed));
//! ```

mod cache;
mod chain;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use chain::{FallbackChain, FallbackChainBuilder};

/// Why the primary path did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackCause {
    /// The circuit was open.
    CircuitOpen,
    /// The bulkhead was full.
    BulkheadFull,
    /// The deadline passed.
    Timeout,
    /// Transient failures outlasted the retries or the budget.
    RetriesExhausted,
    /// The dependency's code panicked.
    Panicked,
    /// A permanent failure (not handled by default).
    Failed,
}

impl FallbackCause {
    /// Every cause.
    pub const ALL: [FallbackCause; 6] = [
        Self::CircuitOpen,
        Self::BulkheadFull,
        Self::Timeout,
        Self::RetriesExhausted,
        Self::Panicked,
        Self::Failed,
    ];

    /// Position in [`ALL`](Self::ALL).
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The label used in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CircuitOpen => "circuit_open",
            Self::BulkheadFull => "bulkhead_full",
            Self::Timeout => "timeout",
            Self::RetriesExhausted => "retries_exhausted",
            Self::Panicked => "panicked",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for FallbackCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which stage of the chain answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FallbackSource {
    /// The cached last good response.
    Cache,
    /// The named simplified function.
    Function(&'static str),
    /// The static answer.
    Static,
}

impl FallbackSource {
    /// `"cache"`, the function's name, or `"static"`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Cache => "cache",
            Self::Function(name) => name,
            Self::Static => "static",
        }
    }
}

impl fmt::Display for FallbackSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FallbackSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A fallback answer: the value and the stage that produced it. Serializes as
/// `{"value": …, "source": "cache"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Degraded<T> {
    /// The answer.
    pub value: T,
    /// Which stage produced it.
    pub source: FallbackSource,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_the_causes_in_declaration_order() {
        for (i, cause) in FallbackCause::ALL.iter().enumerate() {
            assert_eq!(cause.index(), i);
        }
    }

    #[test]
    fn causes_and_sources_serialize_as_labels() {
        let json = serde_json::to_string(&FallbackCause::RetriesExhausted).unwrap();
        assert_eq!(json, "\"retries_exhausted\"");
        let back: FallbackCause = serde_json::from_str("\"circuit_open\"").unwrap();
        assert_eq!(back, FallbackCause::CircuitOpen);
        let answer = Degraded {
            value: 1,
            source: FallbackSource::Function("rules"),
        };
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"value":1,"source":"rules"}"#
        );
        assert_eq!(FallbackSource::Static.to_string(), "static");
        assert_eq!(FallbackCause::BulkheadFull.to_string(), "bulkhead_full");
    }
}
