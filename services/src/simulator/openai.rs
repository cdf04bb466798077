//! The OpenAI-compatible routes: `POST /v1/chat/completions` (JSON or server-sent events) and
//! `POST /v1/embeddings`.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::SimState;
use super::faults::{Fate, draw, retry_after};
use super::text;

#[derive(Deserialize)]
struct ChatRequest {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<Message>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Deserialize)]
struct Message {
    role: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct EmbeddingsRequest {
    input: Input,
    #[serde(default)]
    model: Option<String>,
}

/// An error in OpenAI's shape: `{"error": {"message", "type", "code"}}`.
pub(crate) fn error(status: StatusCode, kind: &str, message: &str, retry: Option<u64>) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "code": status.as_u16()}});
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}

/// Whether the request carries the configured key (always, when none is configured).
pub(crate) fn authorized(state: &SimState, headers: &HeaderMap) -> bool {
    let Some(key) = &state.config.api_key else {
        return true;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let x_api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    bearer == Some(key.as_str()) || x_api_key == Some(key.as_str())
}

/// The fate's error answer, or `None` to answer normally.
fn refusal(state: &SimState, headers: &HeaderMap, fate: Fate) -> Option<Response> {
    if !authorized(state, headers) || fate == Fate::Unauthorized {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Incorrect API key provided",
            None,
        ));
    }
    match fate {
        Fate::Error(status) => {
            let kind = if status == StatusCode::TOO_MANY_REQUESTS {
                "rate_limit_exceeded"
            } else {
                "server_error"
            };
            Some(error(
                status,
                kind,
                "The server had an error",
                retry_after(state),
            ))
        }
        _ => None,
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) async fn chat(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fate = draw(&state).await;
    if let Some(response) = refusal(&state, &headers, fate) {
        return response;
    }
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &e.to_string(),
                None,
            );
        }
    };
    let prompt = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or("", |m| m.content.as_str());
    let prompt_tokens: u64 = request
        .messages
        .iter()
        .map(|m| text::tokens(&m.content))
        .sum();
    let answer = text::reply(prompt);
    let model = request.model.unwrap_or_else(|| state.config.model.clone());
    let Fate::Answer { malformed, cut } = fate else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "unexpected",
            None,
        );
    };
    let completion_tokens = text::tokens(&answer);
    if request.stream {
        let usage = request
            .stream_options
            .is_some_and(|o| o.include_usage)
            .then(|| {
                json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens})
            });
        return stream(model, answer, cut, malformed, usage);
    }
    if malformed {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"choices\": [",
        )
            .into_response();
    }
    axum::Json(json!({
        "id": format!("chatcmpl-sim-{}", now_secs()),
        "object": "chat.completion",
        "created": now_secs(),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }))
    .into_response()
}

/// The answer as chunks; with `usage` (asked by `stream_options.include_usage`), a last chunk
/// with no choices carries it, as OpenAI sends it.
fn stream(
    model: String,
    answer: String,
    cut: bool,
    malformed: bool,
    usage: Option<Value>,
) -> Response {
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({"id": "chatcmpl-sim", "object": "chat.completion.chunk", "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let mut events: Vec<Result<Event, Infallible>> = Vec::new();
    events.push(Ok(
        Event::default().data(chunk(json!({"role": "assistant"}), None))
    ));
    for (i, piece) in text::chunks(&answer).into_iter().enumerate() {
        if malformed && i == 1 {
            events.push(Ok(Event::default().data("{\"choices\": [")));
        }
        events.push(Ok(
            Event::default().data(chunk(json!({"content": piece}), None))
        ));
        if cut && i == 0 {
            let err = json!({"error": {"message": "stream interrupted", "type": "server_error"}});
            events.push(Ok(Event::default().data(err.to_string())));
            return Sse::new(futures::stream::iter(events)).into_response();
        }
    }
    events.push(Ok(Event::default().data(chunk(json!({}), Some("stop")))));
    if let Some(usage) = usage {
        let last = json!({"id": "chatcmpl-sim", "object": "chat.completion.chunk", "model": model,
                          "choices": [], "usage": usage});
        events.push(Ok(Event::default().data(last.to_string())));
    }
    events.push(Ok(Event::default().data("[DONE]")));
    Sse::new(futures::stream::iter(events)).into_response()
}

pub(crate) async fn embeddings(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fate = draw(&state).await;
    if let Some(response) = refusal(&state, &headers, fate) {
        return response;
    }
    let request: EmbeddingsRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                &e.to_string(),
                None,
            );
        }
    };
    if matches!(
        fate,
        Fate::Answer {
            malformed: true,
            ..
        }
    ) {
        return (StatusCode::OK, "not json").into_response();
    }
    let inputs = match request.input {
        Input::One(text) => vec![text],
        Input::Many(texts) => texts,
    };
    let dimension = state.config.embedding_dimension;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            json!({"object": "embedding", "index": index, "embedding": embed(text, dimension)})
        })
        .collect();
    let tokens: u64 = inputs.iter().map(|t| text::tokens(t)).sum();
    axum::Json(json!({
        "object": "list",
        "data": data,
        "model": request.model.unwrap_or_else(|| state.config.model.clone()),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response()
}

/// A deterministic unit vector derived from the text's bytes (FNV-1a per position).
fn embed(text: &str, dimension: usize) -> Vec<f32> {
    let mut v = vec![0f32; dimension.max(1)];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, b) in text.bytes().enumerate() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
        let slot = (h as usize ^ i) % v.len();
        v[slot] += if h & 1 == 0 { 1.0 } else { -1.0 };
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
