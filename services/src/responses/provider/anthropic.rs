//! The Anthropic Messages API wire format (`POST {base_url}/messages` with `x-api-key` and
//! `anthropic-version`): request body, answer, stream events (`message_start` with the input
//! tokens, `content_block_delta` with text, `message_delta` with the output tokens,
//! `message_stop`, `error`, `ping`).

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ProviderError};
use super::{Prompt, StreamStep, Usage};

/// The path appended to the base URL.
pub const PATH: &str = "/messages";

/// The API version sent in `anthropic-version`.
pub const VERSION: &str = "2023-06-01";

/// The request body.
pub fn body(prompt: &Prompt, model: &str, max_tokens: u32, stream: bool) -> Value {
    json!({
        "model": model,
        "system": prompt.system,
        "messages": [{"role": "user", "content": prompt.user}],
        "max_tokens": max_tokens,
        "stream": stream,
    })
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

impl WireUsage {
    fn apply(&self, usage: &mut Usage) {
        if let Some(n) = self.input_tokens {
            usage.prompt = n;
        }
        if let Some(n) = self.output_tokens {
            usage.completion = n;
        }
    }
}

#[derive(Deserialize)]
struct Message {
    content: Vec<Block>,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

/// The text and usage of a message body.
pub fn parse(body: &[u8]) -> Result<(String, Usage), ProviderError> {
    let message: Message =
        serde_json::from_slice(body).map_err(|source| ProviderError::Malformed {
            api: "message",
            source: Some(source),
        })?;
    let text: String = message
        .content
        .into_iter()
        .filter(|b| b.kind == "text")
        .filter_map(|b| b.text)
        .collect();
    if text.trim().is_empty() {
        return Err(ProviderError::Malformed {
            api: "message",
            source: None,
        });
    }
    let mut usage = Usage::default();
    message.usage.apply(&mut usage);
    Ok((text, usage))
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<StartedMessage>,
    #[serde(default)]
    delta: Option<EventDelta>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StartedMessage {
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
struct EventDelta {
    #[serde(default)]
    text: Option<String>,
}

/// What one stream event says (the `data` line carries the event's `type`).
pub fn step(data: &str, usage: &mut Usage) -> Result<StreamStep, ProviderError> {
    let event: Event = serde_json::from_str(data).map_err(|source| ProviderError::Malformed {
        api: "stream event",
        source: Some(source),
    })?;
    match event.kind.as_str() {
        "message_start" => {
            if let Some(message) = event.message {
                message.usage.apply(usage);
            }
            Ok(StreamStep::Skip)
        }
        "content_block_delta" => Ok(match event.delta.and_then(|d| d.text) {
            Some(text) if !text.is_empty() => StreamStep::Text(text),
            _ => StreamStep::Skip,
        }),
        "message_delta" => {
            if let Some(wire) = event.usage {
                wire.apply(usage);
            }
            Ok(StreamStep::Skip)
        }
        "message_stop" => Ok(StreamStep::End),
        "error" => Err(ProviderError::StreamError(
            ApiError::parse(data.as_bytes()).unwrap_or_default(),
        )),
        _ => Ok(StreamStep::Skip),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from the Messages API (ids shortened).
    const MESSAGE: &str = r#"{"id":"msg_01X","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"Hello! How can I help?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":21,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}"#;

    #[test]
    fn a_recorded_message_parses() {
        let (text, usage) = parse(MESSAGE.as_bytes()).unwrap();
        assert_eq!(text, "Hello! How can I help?");
        assert_eq!(
            usage,
            Usage {
                prompt: 21,
                completion: 9
            }
        );
        assert!(parse(br#"{"content": ["#).is_err());
        assert!(parse(br#"{"content": []}"#).is_err());
    }

    #[test]
    fn recorded_stream_events_step_through() {
        let mut usage = Usage::default();
        let events = [
            r#"{"type":"message_start","message":{"id":"msg_01X","type":"message","role":"assistant","content":[],"model":"claude-3-5-haiku-20241022","stop_reason":null,"usage":{"input_tokens":21,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            r#"{"type": "ping"}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello!"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let steps: Vec<StreamStep> = events
            .iter()
            .map(|e| step(e, &mut usage).unwrap())
            .collect();
        assert_eq!(steps[3], StreamStep::Text("Hello!".into()));
        assert_eq!(steps[6], StreamStep::End);
        assert_eq!(
            usage,
            Usage {
                prompt: 21,
                completion: 9
            }
        );
        let err = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert!(matches!(
            step(err, &mut usage),
            Err(ProviderError::StreamError(ApiError { kind: Some(k), .. })) if k == "overloaded_error"
        ));
    }
}
