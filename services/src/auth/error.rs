//! [`AuthError`]: why an auth operation failed, and how each failure reaches the wire.
//!
//! | failure | status | code |
//! | --- | --- | --- |
//! | bad username or password shape | 400 | `VALIDATION_ERROR` (fields named) |
//! | wrong credentials (unknown user or wrong password: same body) | 401 | `AUTH_ERROR` |
//! | missing, malformed, expired, revoked … token | 401 | `AUTH_ERROR` |
//! | valid token without the route's scope | 403 | `AUTH_ERROR` |
//! | username taken | 409 | `RESOURCE_ERROR` |
//! | too many token requests | 429 | `RATE_LIMIT_ERROR` + `Retry-After` |
//! | user store unavailable (registration, uncached login) | 503 | `DEPENDENCY_ERROR` + `Retry-After` |
//! | hashing bulkhead or queue full | 503 | `DEPENDENCY_ERROR` + `Retry-After` |
//! | the request's deadline passed during a store call | 504 | `DEPENDENCY_ERROR` |
//! | signing failed | 500 | `SYSTEM_ERROR` |
//!
//! No message or detail carries a password, hash, token or key: causes stay on the `source()`
//! chain for the log, and those causes never hold input values either.

use std::time::Duration;

use bulwark_runtime::dependency::CallError;
use bulwark_runtime::error::{DependencyFailure, Details, ServiceError};

use super::hasher::pool::PoolFull;
use super::limits::Limited;
use super::tokens::{SignError, TokenError};

/// Why an auth operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Input does not meet the rules; each failing field is named.
    #[error("invalid input")]
    Validation(Details),
    /// Unknown user or wrong password (deliberately indistinguishable).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// No `Authorization: Bearer` token.
    #[error("missing bearer token")]
    MissingToken,
    /// The token was refused.
    #[error("invalid token")]
    Token(#[from] TokenError),
    /// The token is valid but lacks the scope the operation needs.
    #[error("scope '{required}' required")]
    InsufficientScope {
        /// The missing scope.
        required: &'static str,
    },
    /// The username is taken.
    #[error("username already taken")]
    UsernameTaken,
    /// A rate limit refused the request.
    #[error("rate limited")]
    RateLimited(#[from] Limited),
    /// The user store cannot do what is needed now.
    #[error("user store unavailable")]
    StoreUnavailable {
        /// When to try again.
        retry_after: Duration,
        /// The failed or refused call, if one was made.
        #[source]
        source: Option<CallError>,
    },
    /// The password hasher refused or failed the work (its bulkhead is full).
    #[error("password hashing unavailable")]
    Hasher(#[source] CallError),
    /// A token could not be signed.
    #[error("token signing failed")]
    Sign(#[from] SignError),
}

impl AuthError {
    /// A 400 for one field.
    pub fn field(field: &str, problem: &str) -> Self {
        Self::Validation(Details::from([(field.to_owned(), problem.to_owned())]))
    }
}

impl From<AuthError> for ServiceError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Validation(details) => ServiceError::Validation {
                message: "Validation error".to_owned(),
                details,
            },
            AuthError::InvalidCredentials => {
                ServiceError::unauthorized("Invalid username or password")
            }
            AuthError::MissingToken => ServiceError::unauthorized("Missing bearer token"),
            AuthError::Token(e) => ServiceError::unauthorized(match e {
                TokenError::Expired => "Token expired",
                TokenError::Revoked => "Token revoked",
                TokenError::NotYetValid => "Token not valid yet",
                _ => "Invalid token",
            }),
            AuthError::InsufficientScope { required } => {
                ServiceError::forbidden(format!("Token lacks the '{required}' scope"))
            }
            AuthError::UsernameTaken => ServiceError::conflict("Username already taken"),
            AuthError::RateLimited(limited) => ServiceError::RateLimited {
                message: "Too many token requests".to_owned(),
                retry_after: limited.retry_after,
            },
            // The request's own deadline ran out: a 504, like any call past its deadline.
            AuthError::StoreUnavailable {
                source: Some(timeout @ CallError::Timeout { .. }),
                ..
            } => ServiceError::from(timeout),
            AuthError::StoreUnavailable {
                retry_after,
                source,
            } => ServiceError::Dependency {
                message: "User store unavailable".to_owned(),
                failure: DependencyFailure::Unavailable,
                details: Details::from([("dependency".to_owned(), "auth.store".to_owned())]),
                retry_after: Some(retry_after.max(Duration::from_secs(1))),
                source: source.map(|e| Box::new(e) as _),
            },
            // Every hashing thread busy and the queue full: overload, not a broken hasher.
            AuthError::Hasher(e @ CallError::Failed { .. }) if hasher_queue_full(&e) => {
                ServiceError::Dependency {
                    message: "Password hashing busy".to_owned(),
                    failure: DependencyFailure::Unavailable,
                    details: Details::from([(
                        "dependency".to_owned(),
                        super::hasher::HASHER_DEPENDENCY.to_owned(),
                    )]),
                    retry_after: Some(Duration::from_secs(1)),
                    source: Some(Box::new(e)),
                }
            }
            AuthError::Hasher(e) => ServiceError::from(e),
            AuthError::Sign(e) => ServiceError::system(e),
        }
    }
}

/// Whether the hasher refused the work because its queue was full.
fn hasher_queue_full(error: &CallError) -> bool {
    matches!(error, CallError::Failed { last, .. } if last.cause().is::<PoolFull>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_hashing_queue_is_overload_and_a_passed_deadline_a_timeout() {
        use bulwark_runtime::dependency::{DependencyError, StopReason};
        use bulwark_runtime::retry::GiveUpReason;

        let full = ServiceError::from(AuthError::Hasher(CallError::Failed {
            dependency: "auth.hasher".into(),
            attempts: 3,
            reason: StopReason::Policy(GiveUpReason::MaxRetries),
            last: DependencyError::transient(PoolFull).not_delivered(),
        }));
        assert_eq!(
            (full.status(), full.code().as_str()),
            (503, "DEPENDENCY_ERROR")
        );
        assert!(full.retry_after().is_some());
        let late = ServiceError::from(AuthError::StoreUnavailable {
            retry_after: Duration::from_secs(1),
            source: Some(CallError::Timeout {
                dependency: "auth.store.primary".into(),
                attempts: 1,
            }),
        });
        assert_eq!(
            (late.status(), late.code().as_str()),
            (504, "DEPENDENCY_ERROR")
        );
    }

    #[test]
    fn statuses_and_codes() {
        let status = |e: AuthError| {
            let s = ServiceError::from(e);
            (s.status(), s.code().as_str())
        };
        assert_eq!(status(AuthError::InvalidCredentials), (401, "AUTH_ERROR"));
        assert_eq!(status(TokenError::BadSignature.into()), (401, "AUTH_ERROR"));
        assert_eq!(
            status(AuthError::InsufficientScope { required: "read" }),
            (403, "AUTH_ERROR")
        );
        assert_eq!(status(AuthError::UsernameTaken), (409, "RESOURCE_ERROR"));
        assert_eq!(
            status(AuthError::field("username", "x")),
            (400, "VALIDATION_ERROR")
        );
        let unavailable = ServiceError::from(AuthError::StoreUnavailable {
            retry_after: Duration::from_secs(5),
            source: None,
        });
        assert_eq!(unavailable.status(), 503);
        assert_eq!(unavailable.retry_after_secs(), Some(5));
    }
}
