//! The sentiment job processor: one [`SentimentJobResult`] per text.
//!
//! The service runs jobs through [`SentimentService`] (the model pool, the cache and the
//! rule-based fallback, exactly as `POST /v1/sentiment/batch`); [`RuleBasedSentiment`] runs the
//! rule-based analyzer alone on the blocking pool (a job may hold 256 texts of 10,000
//! characters), for embedders without model endpoints and for the queue's own tests.

use bulwark_runtime::dependency::CallContext;
use serde::Serialize;

use super::processor::{JobProcessor, ProcessError};
use crate::sentiment::analyzer::{Analyzer, Label};
use crate::sentiment::{Sentiment, SentimentService};

/// The sentiment of one text of a job.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SentimentJobResult {
    /// `positive`, `negative` or `neutral`.
    #[schema(value_type = String, example = "positive")]
    pub label: Label,
    /// Confidence in the label, in `[0, 1]` (as `POST /v1/sentiment` answers it).
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
                .map(|text| Sentiment::rule_based(&analyzer.analyze(text)).into())
                .collect()
        })
        .await
        .map_err(|e| ProcessError::transient("Sentiment analysis failed", AnalysisLost(e)))
    }
}

impl JobProcessor for SentimentService {
    type Output = SentimentJobResult;

    async fn process(
        &self,
        ctx: &CallContext,
        texts: &[String],
    ) -> Result<Vec<SentimentJobResult>, ProcessError> {
        // The texts were checked when the job was accepted; a refusal here is permanent.
        let answers = self
            .analyze_batch(ctx, texts)
            .await
            .map_err(|_| ProcessError::permanent("The job's texts cannot be analysed"))?;
        Ok(answers.into_iter().map(SentimentJobResult::from).collect())
    }
}

impl From<Sentiment> for SentimentJobResult {
    fn from(answer: Sentiment) -> Self {
        Self {
            label: answer.label,
            score: answer.score,
            source: answer.source.as_str(),
            degraded: answer.degraded,
        }
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
