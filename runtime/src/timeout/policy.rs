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
/// (connect + read), and 10 s for a whole call whose context sets no deadline (queueing,
/// attempts and backoff included), so no call waits without bound.
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
    /// The deadline of a call whose context sets none, counted from admission.
    #[serde(with = "humantime_serde")]
    pub total: Duration,
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
    #[serde(with = "humantime_serde")]
    total: Duration,
}

impl Default for RawTimeoutPolicy {
    fn default() -> Self {
        let d = TimeoutPolicy::default();
        Self {
            attempt: d.attempt,
            connect: d.connect,
            read: d.read,
            total: d.total,
        }
    }
}

impl TryFrom<RawTimeoutPolicy> for TimeoutPolicy {
    type Error = InvalidTimeout;
    fn try_from(raw: RawTimeoutPolicy) -> Result<Self, Self::Error> {
        Self::new(raw.attempt, raw.connect, raw.read)?.with_total(raw.total)
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
            total: Self::default().total,
        })
    }

    /// The same limits with another `total` (must be greater than zero).
    pub fn with_total(mut self, total: Duration) -> Result<Self, InvalidTimeout> {
        if total.is_zero() {
            return Err(InvalidTimeout::Zero { field: "total" });
        }
        self.total = total;
        Ok(self)
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
            total: Duration::from_secs(10),
        }
    }
}
