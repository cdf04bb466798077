//! [`TimeoutPolicy`]: a dependency's own time limits.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A timeout setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTimeout {
    /// A timeout was zero.
    #[error("timeout.{field} must be greater than zero")]
    Zero {
        /// The offending field.
        field: &'static str,
    },
}

/// Time limits of one dependency. Seed defaults: connect 2 s, read 5 s, each attempt 7 s
/// (connect + read), no overall limit beyond the caller's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTimeoutPolicy")]
pub struct TimeoutPolicy {
    /// Longest a single attempt may take.
    #[serde(with = "humantime_serde")]
    pub attempt: Duration,
    /// Connect timeout for network clients built for this dependency.
    #[serde(with = "humantime_serde")]
    pub connect: Duration,
    /// Read timeout for network clients built for this dependency.
    #[serde(with = "humantime_serde")]
    pub read: Duration,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawTimeoutPolicy {
    #[serde(with = "humantime_serde")]
    attempt: Duration,
    #[serde(with = "humantime_serde")]
    connect: Duration,
    #[serde(with = "humantime_serde")]
    read: Duration,
}

impl Default for RawTimeoutPolicy {
    fn default() -> Self {
        let d = TimeoutPolicy::default();
        Self {
            attempt: d.attempt,
            connect: d.connect,
            read: d.read,
        }
    }
}

impl TryFrom<RawTimeoutPolicy> for TimeoutPolicy {
    type Error = InvalidTimeout;
    fn try_from(raw: RawTimeoutPolicy) -> Result<Self, Self::Error> {
        Self::new(raw.attempt, raw.connect, raw.read)
    }
}

impl TimeoutPolicy {
    /// Validated constructor: every timeout must be positive.
    pub fn new(
        attempt: Duration,
        connect: Duration,
        read: Duration,
    ) -> Result<Self, InvalidTimeout> {
        for (field, value) in [("attempt", attempt), ("connect", connect), ("read", read)] {
            if value.is_zero() {
                return Err(InvalidTimeout::Zero { field });
            }
        }
        Ok(Self {
            attempt,
            connect,
            read,
        })
    }

    /// Only the attempt timeout changed from the defaults.
    pub fn with_attempt(attempt: Duration) -> Result<Self, InvalidTimeout> {
        let d = Self::default();
        Self::new(attempt, d.connect, d.read)
    }
}

impl Default for TimeoutPolicy {
    fn default() -> Self {
        Self {
            attempt: Duration::from_secs(7),
            connect: Duration::from_secs(2),
            read: Duration::from_secs(5),
        }
    }
}
