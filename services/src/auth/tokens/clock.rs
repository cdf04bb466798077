//! [`WallClock`]: the Unix time tokens are issued and checked against.
//!
//! Token times (`iat`, `nbf`, `exp`) are wall-clock seconds, so they cannot follow tokio's paused
//! clock; tests use [`WallClock::manual`] and move it by hand instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system clock, or a hand-moved one.
#[derive(Debug, Clone, Default)]
pub enum WallClock {
    /// The system's real time.
    #[default]
    System,
    /// A clock that only moves when told to.
    Manual(Arc<AtomicU64>),
}

impl WallClock {
    /// A manual clock at `unix_seconds`.
    pub fn manual(unix_seconds: u64) -> Self {
        Self::Manual(Arc::new(AtomicU64::new(unix_seconds)))
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        match self {
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            Self::Manual(t) => t.load(Ordering::Relaxed),
        }
    }

    /// Moves a manual clock forward (the system clock ignores this).
    pub fn advance(&self, by: Duration) {
        if let Self::Manual(t) = self {
            t.fetch_add(by.as_secs(), Ordering::Relaxed);
        }
    }
}
