//! What a job is: its id, its status, and its row as stored.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A job's id: a UUID v7 (time-ordered), written in lowercase hyphenated form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(uuid::Uuid);

impl JobId {
    /// A new id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7())
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A string that is not a job id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a job id (expected a UUID)")]
pub struct MalformedJobId;

impl FromStr for JobId {
    type Err = MalformedJobId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::try_parse(s)
            .map(Self)
            .map_err(|_| MalformedJobId)
    }
}

impl Serialize for JobId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Accepted and stored, waiting for a worker.
    Queued,
    /// A worker holds it.
    Running,
    /// Finished; its results are stored.
    Done,
    /// Given up on; its error is stored.
    Failed,
}

impl JobStatus {
    /// The status as stored and as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// The status of its stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// Whether the job will change no more.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Its id.
    pub id: JobId,
    /// The caller's idempotency key, if any.
    pub idempotency_key: Option<String>,
    /// Hash of the input, to tell a repeated request from a different one under the same key.
    pub request_hash: String,
    /// The texts (already checked and trimmed).
    pub texts: Vec<String>,
    /// The correlation ID of the request that queued it (carried into the worker's logs).
    pub correlation_id: String,
    /// When it was accepted, Unix milliseconds.
    pub created_at_ms: i64,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// Its id.
    pub id: JobId,
    /// Where it is.
    pub status: JobStatus,
    /// Hash of its input.
    pub request_hash: String,
    /// Results (a JSON array, one per text) once done.
    pub results: Option<serde_json::Value>,
    /// Why it failed, once failed.
    pub error: Option<String>,
    /// Tries so far (claims by a worker).
    pub attempts: u32,
    /// How many times a result was written: 1 for a done job, never more.
    pub completed_count: u32,
    /// When it was accepted, Unix milliseconds.
    pub created_at_ms: i64,
    /// When it last changed, Unix milliseconds.
    pub updated_at_ms: i64,
}

/// A job a worker has claimed: the lease is `attempt`, which every later write must present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Its id.
    pub id: JobId,
    /// Its texts.
    pub texts: Vec<String>,
    /// Which try this is (1 for the first); fences the worker's writes.
    pub attempt: u32,
    /// The correlation ID of the request that queued it.
    pub correlation_id: String,
}

/// The time now in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_garbage_is_refused() {
        let id = JobId::generate();
        assert_eq!(id.to_string().parse::<JobId>(), Ok(id));
        assert_eq!("nope".parse::<JobId>(), Err(MalformedJobId));
        assert_eq!("".parse::<JobId>(), Err(MalformedJobId));
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Failed,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        assert!(JobStatus::Done.is_final() && !JobStatus::Running.is_final());
    }
}
