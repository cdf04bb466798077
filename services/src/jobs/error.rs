//! [`JobError`]: why queueing or reading a job failed, and how each failure reaches the wire.
//!
//! | failure | status | code |
//! | --- | --- | --- |
//! | bad body (texts, idempotency key) | 400 | `VALIDATION_ERROR` (fields named) |
//! | malformed job id | 400 | `VALIDATION_ERROR` (`id`) |
//! | unknown job id | 404 | `RESOURCE_ERROR` |
//! | idempotency key reused for different texts | 409 | `RESOURCE_ERROR` |
//! | queue full, or the queue is stopping | 503 | `DEPENDENCY_ERROR` + `Retry-After` |
//! | job store unavailable or failing (circuit open, bulkhead full, errors) | 503 | `DEPENDENCY_ERROR` + `Retry-After` |
//! | job store too slow for the request's deadline | 504 | `DEPENDENCY_ERROR` |
//!
//! No message or detail carries a job's text; causes stay on the `source()` chain for the log.

use std::time::Duration;

use bulwark_runtime::dependency::CallError;
use bulwark_runtime::error::{DependencyFailure, Details, ServiceError};

use super::model::MalformedJobId;

/// The name of the job store's dependency.
pub const STORE_DEPENDENCY: &str = "jobs.store";

/// When a refused client may try again, unless the store's breaker knows better.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Why a job operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The body does not meet the rules; each failing field is named.
    #[error("invalid job request")]
    Validation(Details),
    /// The id in the path is not a job id.
    #[error("malformed job id")]
    MalformedId(#[from] MalformedJobId),
    /// No job has this id (never queued, or deleted after its retention).
    #[error("job not found")]
    NotFound,
    /// The idempotency key belongs to a job with different texts.
    #[error("idempotency key already used for a different request")]
    KeyConflict,
    /// The queue holds `max_queued` jobs already.
    #[error("job queue full ({max_queued} jobs)")]
    QueueFull {
        /// The configured bound.
        max_queued: u64,
    },
    /// The queue is stopping and accepts nothing more.
    #[error("job queue stopping")]
    Stopping,
    /// The job store refused or failed the call.
    #[error("job store call failed")]
    Store(#[source] CallError),
    /// The store answered something the operation cannot use.
    #[error("job store answered an unexpected reply")]
    UnexpectedReply,
}

impl From<JobError> for ServiceError {
    fn from(error: JobError) -> Self {
        match error {
            JobError::Validation(details) => ServiceError::Validation {
                message: "Validation error".to_owned(),
                details,
            },
            JobError::MalformedId(_) => {
                ServiceError::validation_field("id", "must be a job id (a UUID)")
            }
            JobError::NotFound => ServiceError::not_found("Job not found"),
            JobError::KeyConflict => ServiceError::conflict(
                "Idempotency key already used for a request with different texts",
            ),
            JobError::QueueFull { .. } | JobError::Stopping => {
                let reason = if matches!(error, JobError::Stopping) {
                    "stopping"
                } else {
                    "full"
                };
                ServiceError::Dependency {
                    message: format!("Job queue {reason}: try again later"),
                    failure: DependencyFailure::Unavailable,
                    details: Details::from([("dependency".to_owned(), "jobs.queue".to_owned())]),
                    retry_after: Some(RETRY_AFTER),
                    source: Some(Box::new(error)),
                }
            }
            JobError::Store(call) => {
                // The store is local to this service: whatever way it failed, the client's
                // answer is "not now" (503, or 504 for a deadline), never a bad gateway.
                let mut service = ServiceError::from(call);
                if let ServiceError::Dependency {
                    failure,
                    retry_after,
                    ..
                } = &mut service
                    && *failure != DependencyFailure::Timeout
                {
                    *failure = DependencyFailure::Unavailable;
                    retry_after.get_or_insert(RETRY_AFTER);
                }
                service
            }
            JobError::UnexpectedReply => ServiceError::system(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes() {
        let status = |e: JobError| {
            let s = ServiceError::from(e);
            (s.status(), s.code().as_str(), s.retry_after_secs())
        };
        assert_eq!(status(JobError::NotFound), (404, "RESOURCE_ERROR", None));
        assert_eq!(
            status(JobError::MalformedId(MalformedJobId)),
            (400, "VALIDATION_ERROR", None)
        );
        assert_eq!(status(JobError::KeyConflict), (409, "RESOURCE_ERROR", None));
        assert_eq!(
            status(JobError::QueueFull { max_queued: 3 }),
            (503, "DEPENDENCY_ERROR", Some(2))
        );
        assert_eq!(
            status(JobError::Stopping),
            (503, "DEPENDENCY_ERROR", Some(2))
        );
    }
}
