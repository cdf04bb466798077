//! The `[sentiment.jobs]` section: how many workers, how long the queue may grow, how often a
//! job is tried, and how long finished jobs are kept.
//!
//! ```toml
//! [sentiment.jobs]
//! workers = 2            # jobs processed at once
//! max_queued = 1000      # queued + running jobs at most; over it POST answers 503
//! max_attempts = 3       # tries per job (a crash mid-job counts as one)
//! job_timeout = "60s"    # one try's time limit
//! retry_backoff = "1s"   # wait before a failed try is tried again
//! retention = "24h"      # done and failed jobs (and their idempotency keys) are deleted after
//! shutdown_grace = "5s"  # how long a stop waits for jobs in flight before requeueing them
//! poll_interval = "1s"   # idle workers look for delayed or expired jobs this often
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Most workers a node may run.
pub const MAX_WORKERS: usize = 64;

/// The `[sentiment.jobs]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs processed at once (1..=64).
    pub workers: usize,
    /// Jobs queued or running at most; a full queue refuses new jobs with 503.
    pub max_queued: u64,
    /// Tries per job before it is marked failed (a crash mid-job counts as a try).
    pub max_attempts: u32,
    /// Time limit of one try.
    #[serde(with = "humantime_serde")]
    pub job_timeout: Duration,
    /// Wait before a try that failed transiently is tried again.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// How long done and failed jobs are kept (their idempotency keys with them).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How long a stop waits for jobs in flight before putting them back in the queue.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Idle workers look for delayed jobs and expired leases at least this often.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            max_queued: 1000,
            max_attempts: 3,
            job_timeout: Duration::from_secs(60),
            retry_backoff: Duration::from_secs(1),
            retention: Duration::from_secs(24 * 3600),
            shutdown_grace: Duration::from_secs(5),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// A value of the section is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{key}`: {problem}")]
pub struct InvalidJobsConfig {
    /// The offending key, e.g. `sentiment.jobs.workers`.
    pub key: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl JobsConfig {
    /// Refuses values a running queue must never hold.
    pub fn validate(&self) -> Result<(), InvalidJobsConfig> {
        let invalid = |key, problem| Err(InvalidJobsConfig { key, problem });
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            return invalid("sentiment.jobs.workers", "must be 1 to 64");
        }
        if self.max_queued == 0 || self.max_queued > i64::MAX as u64 {
            return invalid("sentiment.jobs.max_queued", "must be at least 1");
        }
        if self.max_attempts == 0 {
            return invalid("sentiment.jobs.max_attempts", "must be at least 1");
        }
        let positive = [
            ("sentiment.jobs.job_timeout", self.job_timeout),
            ("sentiment.jobs.retention", self.retention),
            ("sentiment.jobs.shutdown_grace", self.shutdown_grace),
            ("sentiment.jobs.poll_interval", self.poll_interval),
        ];
        for (key, value) in positive {
            if value.is_zero() {
                return invalid(key, "must be longer than 0");
            }
        }
        Ok(())
    }

    /// How long a claimed job belongs to its worker: one try's limit plus a margin. A job whose
    /// lease has expired (its worker lost its write, or the store lost the answer) is claimed
    /// again.
    pub fn lease(&self) -> Duration {
        self.job_timeout.saturating_add(Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_refused() {
        assert_eq!(JobsConfig::default().validate(), Ok(()));
        let zero_workers = JobsConfig {
            workers: 0,
            ..JobsConfig::default()
        };
        assert_eq!(
            zero_workers.validate().map_err(|e| e.key),
            Err("sentiment.jobs.workers")
        );
        let no_queue = JobsConfig {
            max_queued: 0,
            ..JobsConfig::default()
        };
        assert!(no_queue.validate().is_err());
        let parsed: JobsConfig = toml::from_str("workers = 4\njob_timeout = \"2s\"\n").unwrap();
        assert_eq!(parsed.workers, 4);
        assert_eq!(parsed.job_timeout, Duration::from_secs(2));
        assert!(toml::from_str::<JobsConfig>("wrokers = 4\n").is_err());
    }
}
