//! The job routes: `POST /v1/sentiment/jobs` and `GET /v1/sentiment/jobs/{id}`.
//!
//! Thin: each handler checks its input, calls [`JobQueue`] and answers its errors in the
//! standard format. A new job answers 202 with a `Location` to poll; a repeated idempotency key
//! answers 200 with the job it names.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bulwark_runtime::error::{ErrorResponse, ServiceError, Timestamp};
use serde::Serialize;
use utoipa::OpenApi;

use super::error::JobError;
use super::input::JobRequest;
use super::model::{JobId, JobRecord, JobStatus};
use super::queue::{JobQueue, Submitted};
use super::sentiment::SentimentJobResult;
use crate::gateway::{ApiError, ApiJson, NoQuery, RequestContext};

/// The job routes' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(submit, status),
    components(schemas(JobRequest, JobAccepted, JobView, JobStatus, SentimentJobResult)),
    tags((name = "sentiment", description = "Sentiment analysis"))
)]
pub struct JobsApi;

/// The routes, over any application state.
pub fn routes<S: Clone + Send + Sync + 'static>(queue: JobQueue) -> Router<S> {
    Router::new()
        .route("/v1/sentiment/jobs", post(submit))
        .route("/v1/sentiment/jobs/{id}", get(status))
        .with_state(queue)
}

/// `POST /v1/sentiment/jobs` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobAccepted {
    /// The job's id: poll `GET /v1/sentiment/jobs/{job_id}`.
    #[schema(value_type = String, example = "01938f5e-7b1c-7cc2-9d3e-5a4f6b7c8d9e")]
    pub job_id: JobId,
    /// Its status now (`queued` for a new job).
    pub status: JobStatus,
}

/// `GET /v1/sentiment/jobs/{id}` answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    /// The job's id.
    #[schema(value_type = String, example = "01938f5e-7b1c-7cc2-9d3e-5a4f6b7c8d9e")]
    pub job_id: JobId,
    /// `queued`, `running`, `done` or `failed`.
    pub status: JobStatus,
    /// One result per text, in order, once `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<SentimentJobResult>>)]
    pub results: Option<serde_json::Value>,
    /// Why the job failed, once `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Tries so far.
    pub attempts: u32,
    /// When it was accepted (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339, UTC).
    pub updated_at: String,
}

impl From<JobRecord> for JobView {
    fn from(job: JobRecord) -> Self {
        Self {
            job_id: job.id,
            status: job.status,
            results: job.results,
            error: job.error,
            attempts: job.attempts,
            created_at: rfc3339(job.created_at_ms),
            updated_at: rfc3339(job.updated_at_ms),
        }
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| Timestamp::from(t).to_string())
        .unwrap_or_default()
}

fn failure(error: JobError, ctx: &bulwark_runtime::dependency::CallContext) -> ApiError {
    ApiError::new(ServiceError::from(error), ctx.correlation_id().clone())
}

/// `POST /v1/sentiment/jobs`: queues texts for analysis. The job is stored durably before the
/// answer; it survives a crash of the process.
#[utoipa::path(
    post,
    path = "/v1/sentiment/jobs",
    tag = "sentiment",
    request_body = JobRequest,
    responses(
        (status = 202, description = "Queued: poll the job", body = JobAccepted,
            headers(("location" = String, description = "The job's status URL"))),
        (status = 200, description = "The idempotency key names this existing job", body = JobAccepted,
            headers(("location" = String, description = "The job's status URL"))),
        (status = 400, description = "Invalid texts or idempotency key: VALIDATION_ERROR naming each field", body = ErrorResponse),
        (status = 409, description = "Idempotency key already used for different texts: RESOURCE_ERROR", body = ErrorResponse),
        (status = 503, description = "Queue full or job store unavailable: DEPENDENCY_ERROR, with Retry-After", body = ErrorResponse),
    )
)]
pub async fn submit(
    State(queue): State<JobQueue>,
    RequestContext(ctx): RequestContext,
    _: NoQuery,
    ApiJson(request): ApiJson<JobRequest>,
) -> Result<Response, ApiError> {
    let checked = request
        .check()
        .map_err(|details| failure(JobError::Validation(details), &ctx))?;
    let Submitted {
        id,
        status,
        created,
    } = queue
        .submit(&ctx, checked)
        .await
        .map_err(|e| failure(e, &ctx))?;
    let code = if created {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    let location = HeaderValue::from_str(&format!("/v1/sentiment/jobs/{id}"))
        .unwrap_or_else(|_| HeaderValue::from_static("/v1/sentiment/jobs"));
    Ok((
        code,
        [(header::LOCATION, location)],
        Json(JobAccepted { job_id: id, status }),
    )
        .into_response())
}

/// `GET /v1/sentiment/jobs/{id}`: a job's status, with its results once done.
#[utoipa::path(
    get,
    path = "/v1/sentiment/jobs/{id}",
    tag = "sentiment",
    params(("id" = String, Path, description = "The job id answered by POST /v1/sentiment/jobs")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "Malformed job id: VALIDATION_ERROR", body = ErrorResponse),
        (status = 404, description = "Unknown job (or deleted after its retention): RESOURCE_ERROR", body = ErrorResponse),
        (status = 503, description = "Job store unavailable: DEPENDENCY_ERROR, with Retry-After", body = ErrorResponse),
    )
)]
pub async fn status(
    State(queue): State<JobQueue>,
    RequestContext(ctx): RequestContext,
    _: NoQuery,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id: JobId = id
        .parse()
        .map_err(|e| failure(JobError::MalformedId(e), &ctx))?;
    let job = queue.get(&ctx, id).await.map_err(|e| failure(e, &ctx))?;
    Ok(Json(JobView::from(job)))
}
