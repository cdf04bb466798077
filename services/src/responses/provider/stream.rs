//! [`TokenStream`]: the rest of a provider's stream, after its first token.

use std::sync::{Arc, Mutex, PoisonError};

use bulwark_runtime::http::HttpDependency;
use serde_json::Value;

use super::error::ProviderError;
use super::sse::SseDecoder;
use super::{StreamStep, Usage, anthropic, openai};
use crate::responses::config::ProviderKind;
use crate::responses::usage;

struct State {
    response: reqwest::Response,
    decoder: SseDecoder,
    kind: ProviderKind,
    usage: Usage,
    /// Text read ahead of the caller (the first token).
    first: Option<String>,
    /// Bytes read so far, and the most allowed.
    read: usize,
    limit: usize,
    done: bool,
}

/// A provider's stream whose first token has arrived: [`next`](Self::next) yields the text
/// pieces, in order, then `None` at the stream's end (its usage counted then), or one error.
pub struct TokenStream {
    provider: Arc<str>,
    // Only there to make the stream `Sync`, as a dependency's answer must be; never locked
    // (`next` takes `&mut self` and uses `get_mut`).
    state: Mutex<State>,
}

impl std::fmt::Debug for TokenStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStream")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl TokenStream {
    /// Reads `response` up to its first token; a failure or an end before it is an error (the
    /// pool then asks the next provider). The whole stream may be at most `limit` bytes.
    pub(super) async fn open(
        provider: Arc<str>,
        kind: ProviderKind,
        response: reqwest::Response,
        limit: usize,
    ) -> Result<Self, ProviderError> {
        let mut state = State {
            response,
            decoder: SseDecoder::new(limit),
            kind,
            usage: Usage::default(),
            first: None,
            read: 0,
            limit,
            done: false,
        };
        match state.next().await {
            Some(Ok(text)) => state.first = Some(text),
            Some(Err(err)) => return Err(err),
            None => return Err(ProviderError::StreamEnded),
        }
        Ok(Self {
            provider,
            state: Mutex::new(state),
        })
    }

    /// The provider streaming.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The next piece of text; `None` once the provider marked the end (usage is counted then).
    pub async fn next(&mut self) -> Option<Result<String, ProviderError>> {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(first) = state.first.take() {
            return Some(Ok(first));
        }
        let next = state.next().await;
        if next.is_none() {
            usage::record(&self.provider, state.usage);
        }
        next
    }
}

impl State {
    async fn next(&mut self) -> Option<Result<String, ProviderError>> {
        if self.done {
            return None;
        }
        let step = self.step().await;
        if !matches!(step, Some(Ok(_))) {
            self.done = true;
        }
        step
    }

    async fn step(&mut self) -> Option<Result<String, ProviderError>> {
        loop {
            match self.decoder.next_event() {
                Err(err) => return Some(Err(ProviderError::LineTooLong(err))),
                Ok(Some(event)) => {
                    let step = match self.kind {
                        ProviderKind::Openai => openai::step(&event.data, &mut self.usage),
                        ProviderKind::Anthropic => anthropic::step(&event.data, &mut self.usage),
                    };
                    match step {
                        Ok(StreamStep::Text(text)) => return Some(Ok(text)),
                        Ok(StreamStep::Skip) => continue,
                        Ok(StreamStep::End) => return None,
                        Err(err) => return Some(Err(err)),
                    }
                }
                Ok(None) => {}
            }
            let buffer = self.decoder.buffer();
            let before = buffer.len();
            match HttpDependency::<Value, Value>::read_chunk(&mut self.response, buffer).await {
                Ok(true) => {
                    self.read += buffer.len() - before;
                    if self.read > self.limit {
                        return Some(Err(ProviderError::Http(
                            bulwark_runtime::http::HttpError::BodyTooLarge {
                                limit: self.limit,
                                declared: None,
                            },
                        )));
                    }
                }
                Ok(false) => return Some(Err(ProviderError::StreamEnded)),
                Err(err) => return Some(Err(ProviderError::Http(err))),
            }
        }
    }
}
