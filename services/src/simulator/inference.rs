//! A Hugging Face text-classification endpoint: `POST /models/{model}` with
//! `{"inputs": ["text", …]}` answers one list of `{"label", "score"}` per input, best first.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::SimState;
use super::faults::{Fate, draw, retry_after};
use super::openai::authorized;

#[derive(Deserialize)]
#[serde(untagged)]
enum Inputs {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct ClassifyRequest {
    inputs: Inputs,
}

fn error(status: StatusCode, message: &str, retry: Option<u64>) -> Response {
    let mut response = (status, axum::Json(json!({"error": message}))).into_response();
    if let Some(secs) = retry {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, secs.into());
    }
    response
}

pub(crate) async fn classify(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fate = draw(&state).await;
    if !authorized(&state, &headers) || fate == Fate::Unauthorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "Authorization header is invalid",
            None,
        );
    }
    if let Fate::Error(status) = fate {
        let message = if status == StatusCode::SERVICE_UNAVAILABLE {
            "Model is currently loading"
        } else {
            "simulated failure"
        };
        return error(status, message, retry_after(&state));
    }
    let inputs = match serde_json::from_slice::<ClassifyRequest>(&body) {
        Ok(ClassifyRequest {
            inputs: Inputs::One(text),
        }) => vec![text],
        Ok(ClassifyRequest {
            inputs: Inputs::Many(texts),
        }) => texts,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string(), None),
    };
    if matches!(
        fate,
        Fate::Answer {
            malformed: true,
            ..
        }
    ) {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "[[{\"label\":",
        )
            .into_response();
    }
    let out: Vec<Vec<serde_json::Value>> = inputs
        .iter()
        .map(|text| {
            (state.config.classifier)(text)
                .into_iter()
                .map(|(label, score)| json!({"label": label, "score": score}))
                .collect()
        })
        .collect();
    axum::Json(out).into_response()
}
