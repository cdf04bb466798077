//! [`HttpError`]: why one HTTP attempt failed, before it is classified; [`InvalidHttpConfig`]: a
//! client that cannot be built.

use std::time::Duration;

use http::StatusCode;

/// Why one attempt of an [`HttpDependency`](super::HttpDependency) failed. It becomes the cause
/// (`source()`) of the [`DependencyError`](crate::dependency::DependencyError) the guard sees,
/// whose kind says what the failure means (see [`classify`](super::classify)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The request body could not be encoded as JSON (the caller's value is at fault).
    #[error("request body could not be encoded as JSON")]
    Encode(#[source] serde_json::Error),
    /// The request could not be built (an invalid path or header): nothing was sent.
    #[error("request could not be built")]
    InvalidRequest(#[source] reqwest::Error),
    /// No connection could be made (refused, unreachable, DNS, TLS handshake, connect timeout):
    /// the request never reached the dependency.
    #[error("could not connect")]
    Connect(#[source] reqwest::Error),
    /// No byte arrived within the read timeout (`timeout.read`), before or during the body.
    #[error("no answer within the read timeout")]
    Timeout(#[source] reqwest::Error),
    /// The connection failed after the request was sent (reset, closed early).
    #[error("connection failed during the exchange")]
    Transport(#[source] reqwest::Error),
    /// The dependency answered with a status that is not a success.
    #[error("dependency answered {status}")]
    Status {
        /// The status.
        status: StatusCode,
        /// Its `Retry-After`, when it sent a valid one (seconds or HTTP-date).
        retry_after: Option<Duration>,
    },
    /// The connection broke while the body was being read.
    #[error("response body broken off")]
    Body(#[source] reqwest::Error),
    /// The response body is larger than the configured limit; reading stopped there.
    #[error("response body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
        /// The length the server declared (`Content-Length`), if it declared one.
        declared: Option<u64>,
    },
    /// The body is not the JSON the caller expects.
    #[error("response is not the expected JSON (content-type: {})", content_type.as_deref().unwrap_or("none"))]
    Decode {
        /// The response's `Content-Type`, if any.
        content_type: Option<String>,
        /// Where and why decoding failed.
        #[source]
        source: serde_json::Error,
    },
}

/// An HTTP dependency that cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidHttpConfig {
    /// The base URL is not an absolute `http` or `https` URL.
    #[error("invalid base URL '{0}': expected an absolute http:// or https:// URL")]
    BaseUrl(String),
    /// The response size limit is zero.
    #[error("max_response_bytes must be at least 1")]
    ResponseLimit,
    /// A header name or value is invalid.
    #[error("invalid header '{0}'")]
    Header(String),
    /// The TLS configuration could not be built.
    #[error("TLS configuration failed")]
    Tls(#[source] rustls::Error),
    /// reqwest refused the client settings.
    #[error("HTTP client could not be built")]
    Client(#[source] reqwest::Error),
}
