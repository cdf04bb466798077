//! The OpenAI-compatible chat completions wire format (`POST {base_url}/chat/completions`):
//! request body, answer, stream chunks (`data: {…}` lines, ended by `data: [DONE]`; usage in the
//! last chunk when `stream_options.include_usage` is set, as OpenAI, vLLM and Ollama do).

use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ProviderError};
use super::{Prompt, StreamStep, Usage};

/// The path appended to the base URL.
pub const PATH: &str = "/chat/completions";

/// The request body.
pub fn body(prompt: &Prompt, model: &str, max_tokens: u32, stream: bool) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ],
        "max_tokens": max_tokens,
        "stream": stream,
    });
    if stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            prompt: u.prompt_tokens,
            completion: u.completion_tokens,
        }
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

/// The text and usage of a completion body.
pub fn parse(body: &[u8]) -> Result<(String, Usage), ProviderError> {
    let completion: Completion =
        serde_json::from_slice(body).map_err(|source| ProviderError::Malformed {
            api: "chat completion",
            source: Some(source),
        })?;
    let text = completion
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .filter(|t| !t.trim().is_empty())
        .ok_or(ProviderError::Malformed {
            api: "chat completion",
            source: None,
        })?;
    Ok((text, completion.usage.map(Usage::from).unwrap_or_default()))
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Delta,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

/// What one stream event says.
pub fn step(data: &str, usage: &mut Usage) -> Result<StreamStep, ProviderError> {
    if data.trim() == "[DONE]" {
        return Ok(StreamStep::End);
    }
    if let Some(error) = ApiError::parse(data.as_bytes()) {
        return Err(ProviderError::StreamError(error));
    }
    let chunk: Chunk = serde_json::from_str(data).map_err(|source| ProviderError::Malformed {
        api: "stream event",
        source: Some(source),
    })?;
    if let Some(wire) = chunk.usage {
        *usage = wire.into();
    }
    let text: String = chunk
        .choices
        .into_iter()
        .filter_map(|c| c.delta.content)
        .collect();
    Ok(if text.is_empty() {
        StreamStep::Skip
    } else {
        StreamStep::Text(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from an OpenAI-compatible server (ids shortened).
    const COMPLETION: &str = r#"{"id":"chatcmpl-9x","object":"chat.completion","created":1733500000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help?","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":7,"total_tokens":26},"system_fingerprint":"fp_0ba0d124f1"}"#;

    #[test]
    fn a_recorded_completion_parses() {
        let (text, usage) = parse(COMPLETION.as_bytes()).unwrap();
        assert_eq!(text, "Hello! How can I help?");
        assert_eq!(
            usage,
            Usage {
                prompt: 19,
                completion: 7
            }
        );
        assert!(parse(b"{\"choices\": [").is_err());
        assert!(parse(br#"{"choices": []}"#).is_err());
    }

    #[test]
    fn recorded_stream_chunks_step_through() {
        let mut usage = Usage::default();
        let role = r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}"#;
        let text = r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}],"usage":null}"#;
        let last = r#"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":7,"total_tokens":26}}"#;
        assert_eq!(step(role, &mut usage).unwrap(), StreamStep::Skip);
        assert_eq!(
            step(text, &mut usage).unwrap(),
            StreamStep::Text("Hello".into())
        );
        assert_eq!(step(last, &mut usage).unwrap(), StreamStep::Skip);
        assert_eq!(usage.completion, 7);
        assert_eq!(step("[DONE]", &mut usage).unwrap(), StreamStep::End);
        let err = r#"{"error":{"message":"stream interrupted","type":"server_error"}}"#;
        assert!(matches!(
            step(err, &mut usage),
            Err(ProviderError::StreamError(_))
        ));
    }
}
