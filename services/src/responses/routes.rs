//! `POST /v1/responses`: a JSON answer, or server-sent events with `"stream": true`.
//!
//! Thin like the other routes: the body in the standard extractor, the pipeline's errors in the
//! standard format. A provider outage is never an error here: the template answers, 200.
//!
//! The stream's events, whichever API the provider speaks:
//! - `delta` — `{"text": "…"}`, a piece of the provider's text, as it arrives;
//! - `done` — the whole answer, the same body as without streaming (a template or cached answer
//!   is this single event);
//! - `error` — the standard error JSON (`DEPENDENCY_ERROR`, 502 when the provider's stream broke
//!   off, 504 at the request's deadline), after which the stream ends.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::{DependencyFailure, Details, ServiceError, chain};
use futures::Stream;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::OpenApi;

use super::input::{MAX_CONTEXT_CHARS, MAX_CUSTOMER_ID_CHARS, MAX_MESSAGE_CHARS, ResponseRequest};
use super::intent::Intent;
use super::service::{LiveReply, Reply, ReplyStream, ResponseService, SentimentSummary};
use crate::gateway::{ApiError, ApiJson, RequestContext};
use crate::sentiment::analyzer::Label;

/// The response route's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(respond),
    components(schemas(GenerateRequest, GenerateResponse, SentimentSummary, Intent, Label, Delta, StreamEvent, StreamEventKind)),
    tags((name = "responses", description = "Customer responses: LLM providers with per-provider breakers, failover and hedging; templates as the fallback"))
)]
pub struct ResponsesApi;

/// The route, over any application state.
pub fn routes<S: Clone + Send + Sync + 'static>(responses: ResponseService) -> Router<S> {
    Router::new()
        .route("/v1/responses", post(respond))
        .with_state(responses)
}

/// `POST /v1/responses` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// The customer's message: 1 to 8,000 characters once surrounding whitespace is removed.
    #[schema(min_length = 1, max_length = 8000, pattern = r"\S")]
    pub message: String,
    /// Who wrote it (used in template answers, never sent to a provider).
    #[schema(min_length = 1, max_length = 128)]
    #[serde(default)]
    pub customer_id: Option<String>,
    /// What is known about the case (order, history), up to 8,000 characters.
    #[schema(max_length = 8000)]
    #[serde(default)]
    pub context: Option<String>,
    /// Answer as server-sent events (`delta`, then `done`; `error` if the stream breaks).
    #[serde(default)]
    pub stream: bool,
    /// `false`: do not answer from, nor remember in, the cache.
    #[serde(default = "yes")]
    pub cache: bool,
}

fn yes() -> bool {
    true
}

/// `POST /v1/responses` answer (and the `done` event of a stream).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GenerateResponse {
    /// The text for the customer.
    pub text: String,
    /// The provider that wrote it, or `"template"`.
    pub provider: String,
    /// `true` when the template answered (no provider could).
    pub degraded: bool,
    /// `true` when the text is a provider's earlier answer to the same message.
    pub cached: bool,
    /// The message's sentiment.
    pub sentiment: SentimentSummary,
    /// The message's intent (detected by keywords).
    pub intent: Intent,
    /// The request's correlation ID.
    pub correlation_id: String,
}

impl GenerateResponse {
    fn new(reply: Reply, id: &CorrelationId) -> Self {
        Self {
            text: reply.text,
            provider: reply.provider,
            degraded: reply.degraded,
            cached: reply.cached,
            sentiment: reply.sentiment,
            intent: reply.intent,
            correlation_id: id.to_string(),
        }
    }
}

/// A `delta` event of a stream.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delta {
    /// The next piece of text.
    pub text: String,
}

/// The name of a streamed answer's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamEventKind {
    /// A piece of text: `data` is a [`Delta`].
    Delta,
    /// The whole answer: `data` is a [`GenerateResponse`].
    Done,
    /// The stream broke off: `data` is the standard error JSON.
    Error,
}

/// One server-sent event of a streamed answer, as the OpenAPI document describes each event of
/// `text/event-stream` (OpenAPI 3.1: the schema is one event).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StreamEvent {
    /// What the event is.
    pub event: StreamEventKind,
    /// Its JSON body.
    pub data: String,
}

/// `POST /v1/responses`.
#[utoipa::path(
    post,
    path = "/v1/responses",
    tag = "responses",
    request_body = GenerateRequest,
    responses(
        (status = 200, description = "The response (from a provider, the cache, or the template with degraded: true); with \"stream\": true, server-sent events: `delta` ({\"text\"}), then `done` (this body), or `error` (the standard error)",
         content(
            (GenerateResponse = "application/json"),
            (StreamEvent = "text/event-stream"),
         )),
    )
)]
pub async fn respond(
    State(responses): State<ResponseService>,
    RequestContext(ctx): RequestContext,
    ApiJson(body): ApiJson<GenerateRequest>,
) -> Result<Response, ApiError> {
    let id = ctx.correlation_id().clone();
    if !body.stream {
        return match answer(responses, ctx, body).await {
            Ok(answer) => Ok(Json(answer).into_response()),
            Err(error) => Err(ApiError::new(error, id)),
        };
    }
    let request = ResponseRequest::from(body);
    match responses.respond_stream(&ctx, &request).await {
        Ok(stream) => Ok(Sse::new(events(stream, id, ctx.deadline()))
            .keep_alive(KeepAlive::default())
            .into_response()),
        Err(error) => Err(ApiError::new(ServiceError::from(error), id)),
    }
}

/// The whole answer of `POST /v1/responses` and of the `bulwark.v1.responses` subject (which
/// answers `"stream": true` requests whole: a reply subject takes one message).
pub async fn answer(
    responses: ResponseService,
    ctx: CallContext,
    body: GenerateRequest,
) -> Result<GenerateResponse, ServiceError> {
    let request = ResponseRequest::from(body);
    match responses.respond(&ctx, &request).await {
        Ok(reply) => Ok(GenerateResponse::new(reply, ctx.correlation_id())),
        Err(error) => Err(ServiceError::from(error)),
    }
}

impl From<GenerateRequest> for ResponseRequest {
    fn from(body: GenerateRequest) -> Self {
        Self {
            message: body.message,
            customer_id: body.customer_id,
            context: body.context,
            use_cache: body.cache,
        }
    }
}

/// The events of a streamed answer, bounded by the request's deadline.
fn events(
    stream: ReplyStream,
    id: CorrelationId,
    deadline: Option<Instant>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    enum Relay {
        Live(Box<LiveReply>, String),
        Whole(Reply),
        Over,
    }
    let start = match stream {
        ReplyStream::Whole(reply) => Relay::Whole(reply),
        ReplyStream::Live(live) => Relay::Live(live, String::new()),
    };
    futures::stream::unfold(start, move |relay| {
        let id = id.clone();
        async move {
            match relay {
                Relay::Over => None,
                Relay::Whole(reply) => Some((done(reply, &id), Relay::Over)),
                Relay::Live(mut live, mut text) => {
                    let next = match deadline {
                        Some(at) => tokio::time::timeout_at(at, live.tokens.next())
                            .await
                            .map_err(|_| ()),
                        None => Ok(live.tokens.next().await),
                    };
                    match next {
                        Ok(Some(Ok(piece))) => {
                            text.push_str(&piece);
                            let event = json_event("delta", &Delta { text: piece });
                            Some((event, Relay::Live(live, text)))
                        }
                        Ok(None) => Some((done(live.finish(text), &id), Relay::Over)),
                        Ok(Some(Err(err))) => {
                            tracing::warn!(
                                correlation_id = %id,
                                provider = %live.reply.provider,
                                error = %chain(&err),
                                "response provider's stream broke off; error event sent"
                            );
                            let error = stream_error(
                                DependencyFailure::BadGateway,
                                "Provider stream failed",
                                &live.reply.provider,
                            );
                            Some((error_event(&error, &id), Relay::Over))
                        }
                        Err(()) => {
                            let error = stream_error(
                                DependencyFailure::Timeout,
                                "Request deadline exceeded",
                                &live.reply.provider,
                            );
                            Some((error_event(&error, &id), Relay::Over))
                        }
                    }
                }
            }
        }
    })
}

fn stream_error(failure: DependencyFailure, message: &str, provider: &str) -> ServiceError {
    let mut details = Details::new();
    details.insert("provider".to_owned(), provider.to_owned());
    ServiceError::Dependency {
        message: message.to_owned(),
        failure,
        details,
        retry_after: None,
        source: None,
    }
}

fn done(reply: Reply, id: &CorrelationId) -> Result<Event, Infallible> {
    json_event("done", &GenerateResponse::new(reply, id))
}

fn error_event(error: &ServiceError, id: &CorrelationId) -> Result<Event, Infallible> {
    json_event("error", &error.to_response(id))
}

fn json_event(name: &str, body: &impl Serialize) -> Result<Event, Infallible> {
    // These bodies are plain structs of strings and numbers: serialising cannot fail.
    let data = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    Ok(Event::default().event(name).data(data))
}

// The schema attributes of `GenerateRequest` repeat these limits as literals (utoipa takes no
// constants there): changing one without the other fails the build.
const _: () = assert!(MAX_MESSAGE_CHARS == 8000 && MAX_CONTEXT_CHARS == 8000);
const _: () = assert!(MAX_CUSTOMER_ID_CHARS == 128);
