//! `POST /v1/embeddings`: vectors for 1 to 256 texts, from the endpoints or (degraded) the local
//! hashing embedding.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::ServiceError;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use super::service::{Embedding, EmbeddingsService};
use crate::gateway::{ApiError, ApiJson, RequestContext};
use crate::sentiment::input::texts_schema;

/// The embeddings route's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(embed),
    components(schemas(EmbeddingsRequest, EmbeddingsResponse, Embedding)),
    tags((name = "embeddings", description = "Text embeddings: OpenAI-compatible endpoints, a local hashing fallback"))
)]
pub struct EmbeddingsApi;

/// The route, over any application state.
pub fn routes<S: Clone + Send + Sync + 'static>(embeddings: EmbeddingsService) -> Router<S> {
    Router::new()
        .route("/v1/embeddings", post(embed))
        .with_state(embeddings)
}

/// `POST /v1/embeddings` body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsRequest {
    /// 1 to 256 texts, each 1 to 10,000 characters once trimmed.
    #[schema(schema_with = texts_schema)]
    pub input: Vec<String>,
}

/// `POST /v1/embeddings` answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmbeddingsResponse {
    /// One vector per input, in input order.
    pub data: Vec<Embedding>,
    /// The model that made them (`local-hashing-<dimension>` for the fallback).
    pub model: String,
    /// `true` when the local hashing embedding answered.
    pub degraded: bool,
    /// The request's correlation ID.
    pub correlation_id: String,
}

/// `POST /v1/embeddings`.
#[utoipa::path(
    post,
    path = "/v1/embeddings",
    tag = "embeddings",
    request_body = EmbeddingsRequest,
    responses(
        (status = 200, description = "One vector per input (from the local hashing embedding with degraded: true when no endpoint can answer)", body = EmbeddingsResponse),
    )
)]
pub async fn embed(
    State(embeddings): State<EmbeddingsService>,
    RequestContext(ctx): RequestContext,
    ApiJson(request): ApiJson<EmbeddingsRequest>,
) -> Result<Json<EmbeddingsResponse>, ApiError> {
    let id = ctx.correlation_id().clone();
    answer(embeddings, ctx, request)
        .await
        .map(Json)
        .map_err(|error| ApiError::new(error, id))
}

/// The answer of `POST /v1/embeddings` and of the `bulwark.v1.embeddings` subject.
pub async fn answer(
    embeddings: EmbeddingsService,
    ctx: CallContext,
    request: EmbeddingsRequest,
) -> Result<EmbeddingsResponse, ServiceError> {
    let answer = embeddings.embed(&ctx, &request.input).await?;
    Ok(EmbeddingsResponse {
        data: answer.data,
        model: answer.model,
        degraded: answer.degraded,
        correlation_id: ctx.correlation_id().to_string(),
    })
}
