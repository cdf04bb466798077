//! The sentiment routes: `POST /v1/sentiment` and `POST /v1/sentiment/batch`.
//!
//! Thin: each handler takes the request's context and body in the standard extractors, calls
//! [`SentimentService`] and answers its errors in the standard format. A model outage is never
//! an error here: the answer is the rule-based one, `degraded: true`, with a 200.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::ServiceError;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::analyzer::Label;
use super::input::texts_schema;
use super::service::{Sentiment, SentimentService, Source};
use crate::gateway::{ApiError, ApiJson, RequestContext};

/// The sentiment routes' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(analyze, analyze_batch),
    components(schemas(
        SentimentRequest,
        SentimentResponse,
        BatchRequest,
        BatchResponse,
        Sentiment,
        Label,
        Source
    )),
    tags((name = "sentiment", description = "Sentiment of texts: model endpoints with failover, a rule-based fallback"))
)]
pub struct SentimentApi;

/// The routes, over any application state.
pub fn routes<S: Clone + Send + Sync + 'static>(sentiment: SentimentService) -> Router<S> {
    Router::new()
        .route("/v1/sentiment", post(analyze))
        .route("/v1/sentiment/batch", post(analyze_batch))
        .with_state(sentiment)
}

/// `POST /v1/sentiment` body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SentimentRequest {
    /// 1 to 10,000 characters once surrounding whitespace is removed.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub text: String,
}

/// `POST /v1/sentiment` answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SentimentResponse {
    /// The class.
    pub label: Label,
    /// Confidence in the class, in `[0, 1]`.
    pub score: f64,
    /// Where the answer came from.
    pub source: Source,
    /// `true` when the rule-based fallback answered.
    pub degraded: bool,
    /// The request's correlation ID.
    pub correlation_id: String,
}

/// `POST /v1/sentiment/batch` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 256 texts, each 1 to 10,000 characters once trimmed.
    #[schema(schema_with = texts_schema)]
    pub texts: Vec<String>,
}

/// `POST /v1/sentiment/batch` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchResponse {
    /// One result per text, in order.
    pub results: Vec<Sentiment>,
    /// `true` when any result came from the fallback.
    pub degraded: bool,
    /// The request's correlation ID.
    pub correlation_id: String,
}

/// `POST /v1/sentiment`.
#[utoipa::path(
    post,
    path = "/v1/sentiment",
    tag = "sentiment",
    request_body = SentimentRequest,
    responses(
        (status = 200, description = "The sentiment (from the model, the cache, or the rule-based fallback with degraded: true)", body = SentimentResponse),
    )
)]
pub async fn analyze(
    State(sentiment): State<SentimentService>,
    RequestContext(ctx): RequestContext,
    ApiJson(request): ApiJson<SentimentRequest>,
) -> Result<Json<SentimentResponse>, ApiError> {
    let id = ctx.correlation_id().clone();
    answer(sentiment, ctx, request)
        .await
        .map(Json)
        .map_err(|error| ApiError::new(error, id))
}

/// The answer of `POST /v1/sentiment` and of the `bulwark.v1.sentiment` subject.
pub async fn answer(
    sentiment: SentimentService,
    ctx: CallContext,
    request: SentimentRequest,
) -> Result<SentimentResponse, ServiceError> {
    let answer = sentiment.analyze(&ctx, &request.text).await?;
    Ok(SentimentResponse {
        label: answer.label,
        score: answer.score,
        source: answer.source,
        degraded: answer.degraded,
        correlation_id: ctx.correlation_id().to_string(),
    })
}

/// `POST /v1/sentiment/batch`.
#[utoipa::path(
    post,
    path = "/v1/sentiment/batch",
    tag = "sentiment",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One result per text, model calls batched", body = BatchResponse),
    )
)]
pub async fn analyze_batch(
    State(sentiment): State<SentimentService>,
    RequestContext(ctx): RequestContext,
    ApiJson(request): ApiJson<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    let id = ctx.correlation_id().clone();
    match sentiment.analyze_batch(&ctx, &request.texts).await {
        Ok(results) => Ok(Json(BatchResponse {
            degraded: results.iter().any(|r| r.degraded),
            results,
            correlation_id: id.to_string(),
        })),
        Err(error) => Err(ApiError::new(ServiceError::from(error), id)),
    }
}
