//! The sentiment job processor: one [`SentimentJobResult`] per text.
//!
//! [`RuleBasedSentiment`] runs the rule-based analyzer on the blocking pool (a job may hold
//! 256 texts of 10,000 characters). When the synchronous pipeline's service lands, it implements
//! [`JobProcessor`] with this same output and replaces this processor where the queue is started.

use bulwark_runtime::dependency::CallContext;
use serde::Serialize;

use super::processor::{JobProcessor, ProcessError};
use crate::sentiment::analyzer::{Analyzer, Label};

/// The sentiment of one text of a job.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SentimentJobResult {
    /// `positive`, `negative` or `neutral`.
    #[schema(value_type = String, example = "positive")]
    pub label: Label,
    /// The compound score in `[-1, 1]`.
    pub score: f64,
    /// What produced it: `model`, `rule_based` or `cache`.
    pub source: &'static str,
    /// `true` when a fallback produced it (the rule-based analyzer is the model pool's fallback).
    pub degraded: bool,
}

/// Sentiment by the rule-based analyzer alone.
#[derive(Debug, Clone, Default)]
pub struct RuleBasedSentiment {
    analyzer: Analyzer,
}

impl RuleBasedSentiment {
    /// A processor on `analyzer`.
    pub fn new(analyzer: Analyzer) -> Self {
        Self { analyzer }
    }
}

/// The blocking task that analyses a job's texts was lost (it panicked or the runtime stopped).
#[derive(Debug, thiserror::Error)]
#[error("sentiment analysis task lost")]
pub struct AnalysisLost(#[source] tokio::task::JoinError);

impl JobProcessor for RuleBasedSentiment {
    type Output = SentimentJobResult;

    async fn process(
        &self,
        _ctx: &CallContext,
        texts: &[String],
    ) -> Result<Vec<SentimentJobResult>, ProcessError> {
        let analyzer = self.analyzer.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || {
            texts
                .iter()
                .map(|text| {
                    let analysis = analyzer.analyze(text);
                    SentimentJobResult {
                        label: analysis.label,
                        score: analysis.compound,
                        source: "rule_based",
                        degraded: true,
                    }
                })
                .collect()
        })
        .await
        .map_err(|e| ProcessError::transient("Sentiment analysis failed", AnalysisLost(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_result_per_text_in_order() {
        let texts = vec!["I love it".to_owned(), "I hate it".to_owned()];
        let results = RuleBasedSentiment::default()
            .process(&CallContext::untracked(), &texts)
            .await
            .unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].label, Label::Positive);
        assert_eq!(results[1].label, Label::Negative);
        assert_eq!(results[0].source, "rule_based");
    }
}
