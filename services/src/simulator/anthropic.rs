//! The Anthropic Messages API: `POST /v1/messages` (JSON or server-sent events), with
//! `x-api-key` and `anthropic-version` headers and Anthropic's error shape.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::SimState;
use super::faults::{Fate, draw, retry_after};
use super::openai::authorized;
use super::text;

#[derive(Deserialize)]
struct MessagesRequest {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    system: Option<String>,
    messages: Vec<Message>,
    #[serde(default)]
    stream: bool,
}

#[derive(Deserialize)]
struct Message {
    role: String,
    content: String,
}

/// An error in Anthropic's shape: `{"type": "error", "error": {"type", "message"}}`.
fn error(status: StatusCode, kind: &str, message: &str, retry: Option<u64>) -> Response {
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}

fn error_kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        429 => "rate_limit_error",
        529 => "overloaded_error",
        401 => "authentication_error",
        400 => "invalid_request_error",
        _ => "api_error",
    }
}

pub(crate) async fn messages(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fate = draw(&state).await;
    if !authorized(&state, &headers) || fate == Fate::Unauthorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
            None,
        );
    }
    if headers.get("anthropic-version").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "anthropic-version header is required",
            None,
        );
    }
    if let Fate::Error(status) = fate {
        return error(
            status,
            error_kind(status),
            "simulated failure",
            retry_after(&state),
        );
    }
    let request: MessagesRequest = match serde_json::from_slice(&body) {
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
    let input_tokens = request
        .messages
        .iter()
        .map(|m| text::tokens(&m.content))
        .sum::<u64>()
        + request.system.as_deref().map_or(0, text::tokens);
    let answer = text::reply(prompt);
    let output_tokens = text::tokens(&answer);
    let model = request.model.unwrap_or_else(|| state.config.model.clone());
    let Fate::Answer { malformed, cut } = fate else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "unexpected",
            None,
        );
    };
    if request.stream {
        return stream(&model, &answer, input_tokens, output_tokens, cut);
    }
    if malformed {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"content\": [",
        )
            .into_response();
    }
    axum::Json(json!({
        "id": "msg_sim",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": answer}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }))
    .into_response()
}

fn stream(model: &str, answer: &str, input_tokens: u64, output_tokens: u64, cut: bool) -> Response {
    let event = |name: &str, data: serde_json::Value| {
        Ok::<_, Infallible>(Event::default().event(name).data(data.to_string()))
    };
    let mut events = vec![
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_sim", "type": "message",
                   "role": "assistant", "model": model, "content": [],
                   "usage": {"input_tokens": input_tokens, "output_tokens": 0}}}),
        ),
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    for (i, piece) in text::chunks(answer).into_iter().enumerate() {
        events.push(event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": piece}}),
        ));
        if cut && i == 0 {
            events.push(event(
                "error",
                json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ));
            return Sse::new(futures::stream::iter(events)).into_response();
        }
    }
    events.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
               "usage": {"output_tokens": output_tokens}}),
    ));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    Sse::new(futures::stream::iter(events)).into_response()
}
