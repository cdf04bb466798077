//! Blanket classifications, so a closure guard can use `?` on the errors of common clients:
//! `std::io::Error`, `http::StatusCode` and `reqwest::Error` convert into [`DependencyError`]
//! with the kind their cause implies.

use std::io::ErrorKind;

use super::failure::DependencyError;

/// A status code that is not a success, kept as the cause of a classified failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("dependency answered {0}")]
pub struct StatusError(pub http::StatusCode);

impl From<http::StatusCode> for DependencyError {
    /// Classifies a (non-success) status as [`DependencyError::from_status`] does.
    fn from(status: http::StatusCode) -> Self {
        DependencyError::from_status(status.as_u16(), StatusError(status))
    }
}

impl From<std::io::Error> for DependencyError {
    /// Connection-level trouble (refused, reset, aborted, timed out, broken pipe, unexpected end
    /// of stream) is transient; a refused connection never reached the peer. Everything else
    /// (invalid input or data, permission denied, not found) is permanent.
    fn from(err: std::io::Error) -> Self {
        match err.kind() {
            ErrorKind::ConnectionRefused
            | ErrorKind::AddrNotAvailable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::HostUnreachable => DependencyError::transient(err).not_delivered(),
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotConnected
            | ErrorKind::BrokenPipe
            | ErrorKind::TimedOut
            | ErrorKind::Interrupted
            | ErrorKind::WouldBlock
            | ErrorKind::UnexpectedEof => DependencyError::transient(err),
            _ => DependencyError::permanent(err),
        }
    }
}

impl From<reqwest::Error> for DependencyError {
    /// A status error is classified by its status; a connect error is transient and never
    /// reached the server; a timeout or a broken body (also one reqwest reports as a decode
    /// error) is transient; a body that is not the expected JSON is permanent.
    fn from(err: reqwest::Error) -> Self {
        if let Some(status) = err.status() {
            return DependencyError::from_status(status.as_u16(), err);
        }
        if err.is_connect() {
            DependencyError::transient(err).not_delivered()
        } else if err.is_timeout() || err.is_body() || err.is_request() {
            DependencyError::transient(err)
        } else if err.is_decode() && !is_json_error(&err) {
            // reqwest reports a body broken off mid-read (a reset) as a decode error too.
            DependencyError::transient(err)
        } else {
            DependencyError::permanent(err)
        }
    }
}

/// Whether a decode error comes from the JSON itself rather than from the connection.
fn is_json_error(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if cause.is::<serde_json::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dependency::FailureKind;

    #[test]
    fn io_errors_by_kind() {
        let refused: DependencyError = std::io::Error::from(ErrorKind::ConnectionRefused).into();
        assert!(refused.is_transient() && !refused.may_have_reached());
        let reset: DependencyError = std::io::Error::from(ErrorKind::ConnectionReset).into();
        assert!(reset.is_transient() && reset.may_have_reached());
        let invalid: DependencyError = std::io::Error::from(ErrorKind::InvalidData).into();
        assert_eq!(invalid.kind(), FailureKind::Permanent);
    }

    #[test]
    fn status_codes() {
        let e: DependencyError = http::StatusCode::SERVICE_UNAVAILABLE.into();
        assert!(e.is_transient());
        assert_eq!(
            std::error::Error::source(&e)
                .map(ToString::to_string)
                .as_deref(),
            Some("dependency answered 503 Service Unavailable")
        );
        let e: DependencyError = http::StatusCode::UNPROCESSABLE_ENTITY.into();
        assert_eq!(e.kind(), FailureKind::RejectedRequest);
    }
}
