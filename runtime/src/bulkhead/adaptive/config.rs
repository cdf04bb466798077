//! [`AdaptiveConfig`]: whether and how a bulkhead class's limit follows measured latency.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which algorithm moves the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdaptiveAlgorithm {
    /// A fixed limit: `max_concurrent` (the default).
    #[default]
    Off,
    /// Gradient2 (Netflix concurrency-limits): the limit follows the ratio of the long-term
    /// average latency to the current one.
    Gradient,
    /// Additive increase, multiplicative decrease: +1 per healthy window, ×0.9 after a window
    /// with a drop (a timeout, a transient failure, or a call slower than the threshold).
    Aimd,
}

impl AdaptiveAlgorithm {
    /// The name used in TOML and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Gradient => "gradient",
            Self::Aimd => "aimd",
        }
    }
}

/// Adaptive-limit settings of a bulkhead (both classes use them, each with its own limit between
/// `floor` and its configured `max_concurrent`). In TOML they sit in `[bulkhead]`:
///
/// ```toml
/// [bulkhead]
/// adaptive = "gradient"        # "off" (default), "gradient" or "aimd"
/// adaptive_floor = 2           # the limit never goes below (default 1)
/// adaptive_window = "1s"       # a window lasts at least this long … (default 1 s)
/// adaptive_min_samples = 10    # … and holds at least this many calls (default 10)
/// adaptive_latency = "5s"      # aimd: a call slower than this counts as a drop (default 5 s)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveConfig {
    /// The algorithm (or off).
    pub algorithm: AdaptiveAlgorithm,
    /// The lowest limit.
    pub floor: u32,
    /// The shortest sampling window; the limit is recomputed once per window.
    pub window: Duration,
    /// Calls a window needs before it counts.
    pub min_samples: u32,
    /// AIMD only: a call slower than this is treated as a drop.
    pub latency_threshold: Duration,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        Self {
            algorithm: AdaptiveAlgorithm::Off,
            floor: 1,
            window: Duration::from_secs(1),
            min_samples: 10,
            latency_threshold: Duration::from_secs(5),
        }
    }
}

impl AdaptiveConfig {
    /// The default settings with `algorithm`.
    pub fn new(algorithm: AdaptiveAlgorithm) -> Self {
        Self {
            algorithm,
            ..Self::default()
        }
    }

    /// Whether the limit adapts at all.
    pub fn is_on(&self) -> bool {
        self.algorithm != AdaptiveAlgorithm::Off
    }
}
