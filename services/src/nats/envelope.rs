//! What travels around a payload: the headers a request brings (correlation ID, content type,
//! deadline) and those its reply carries back (the same correlation ID, the content type, the
//! node, and for errors `Status` and `Retry-After`).
//!
//! Header names follow HTTP's spelling; NATS headers are case-sensitive, so these are the exact
//! names clients must use.

use std::time::Duration;

use async_nats::HeaderMap;
use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::ServiceError;
use bytes::Bytes;
use serde::Serialize;

use super::codec::{Codec, JSON};

/// The correlation ID: taken when valid (1–128 printable ASCII), else generated; always echoed.
pub const CORRELATION_ID: &str = "Correlation-Id";
/// `application/json` (default) or `application/postcard`.
pub const CONTENT_TYPE: &str = "Content-Type";
/// On error replies only: the HTTP status of the error (`400`, `503`, …).
pub const STATUS: &str = "Status";
/// On error replies that know when to come back: whole seconds.
pub const RETRY_AFTER: &str = "Retry-After";
/// Optional on requests: milliseconds, lowers the request's deadline.
pub const REQUEST_TIMEOUT: &str = "Request-Timeout";
/// On every reply and result: the node that answered.
pub const NODE: &str = "Bulwark-Node";

/// A request's envelope, read from its headers.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The request's correlation ID.
    pub correlation_id: CorrelationId,
    /// How its payload is encoded (and its answer will be), or why that is not known.
    pub codec: Result<Codec, ContentTypeRefused>,
    /// Its deadline, from now.
    pub timeout: Duration,
}

/// A `Content-Type` the adapter does not speak (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentTypeRefused;

impl Envelope {
    /// Reads `headers`; `timeout` is the deadline unless `Request-Timeout` asks for less.
    pub fn read(headers: Option<&HeaderMap>, timeout: Duration) -> Self {
        let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str());
        let correlation_id = CorrelationId::from_header(header(CORRELATION_ID));
        let codec = Codec::from_content_type(header(CONTENT_TYPE)).map_err(|_| ContentTypeRefused);
        let asked = header(REQUEST_TIMEOUT)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis);
        Self {
            correlation_id,
            codec,
            timeout: asked.map_or(timeout, |asked| asked.min(timeout)),
        }
    }

    /// The context of every guarded call the request makes.
    pub fn context(&self, priority: Priority) -> CallContext {
        CallContext::new(self.correlation_id.clone())
            .with_priority(priority)
            .with_timeout(self.timeout)
    }

    /// Decodes the payload with the request's codec (a refused content type is a 400).
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        payload: &[u8],
    ) -> Result<T, ServiceError> {
        match self.codec {
            Ok(codec) => codec.decode(payload),
            Err(ContentTypeRefused) => Err(ServiceError::validation_field(
                "content-type",
                "must be application/json or application/postcard",
            )),
        }
    }
}

/// A reply or result: headers and payload, ready to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its payload.
    pub payload: Bytes,
}

impl Outgoing {
    /// `answer` encoded with the request's codec; an answer that cannot be encoded becomes a 500.
    pub fn answer<T: Serialize>(envelope: &Envelope, node: &str, answer: &T) -> Self {
        let codec = envelope.codec.unwrap_or(Codec::Json);
        match codec.encode(answer) {
            Ok(payload) => {
                let mut headers = base_headers(&envelope.correlation_id, node);
                headers.insert(CONTENT_TYPE, codec.content_type());
                Self { headers, payload }
            }
            Err(error) => Self::error(&ServiceError::system(error), &envelope.correlation_id, node),
        }
    }

    /// `error` in the standard error JSON, with `Status` (and `Retry-After` when known).
    pub fn error(error: &ServiceError, correlation_id: &CorrelationId, node: &str) -> Self {
        crate::gateway::error::log(error);
        let body = error.to_response(correlation_id);
        let payload = serde_json::to_vec(&body)
            .map(Bytes::from)
            .unwrap_or_default();
        let mut headers = base_headers(correlation_id, node);
        headers.insert(CONTENT_TYPE, JSON);
        headers.insert(STATUS, error.status().to_string().as_str());
        if let Some(secs) = error.retry_after_secs() {
            headers.insert(RETRY_AFTER, secs.to_string().as_str());
        }
        Self { headers, payload }
    }
}

fn base_headers(correlation_id: &CorrelationId, node: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CORRELATION_ID, correlation_id.as_str());
    headers.insert(NODE, node);
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_takes_a_valid_id_and_generates_one_otherwise() {
        let mut headers = HeaderMap::new();
        headers.insert(CORRELATION_ID, "abc-1");
        headers.insert(REQUEST_TIMEOUT, "250");
        let envelope = Envelope::read(Some(&headers), Duration::from_secs(10));
        assert_eq!(envelope.correlation_id.as_str(), "abc-1");
        assert_eq!(envelope.timeout, Duration::from_millis(250));
        assert_eq!(envelope.codec, Ok(Codec::Json));
        let fresh = Envelope::read(None, Duration::from_secs(10));
        assert_eq!(fresh.correlation_id.as_str().len(), 36);
        assert_eq!(fresh.timeout, Duration::from_secs(10));
    }

    #[test]
    fn errors_carry_status_and_the_standard_body() {
        let id = CorrelationId::parse("c-9").unwrap();
        let out = Outgoing::error(&ServiceError::validation_field("text", "bad"), &id, "n1");
        assert_eq!(out.headers.get(STATUS).unwrap().as_str(), "400");
        assert_eq!(out.headers.get(CORRELATION_ID).unwrap().as_str(), "c-9");
        let body: serde_json::Value = serde_json::from_slice(&out.payload).unwrap();
        assert_eq!(body["error_code"], "VALIDATION_ERROR");
        assert_eq!(body["correlation_id"], "c-9");
    }
}
