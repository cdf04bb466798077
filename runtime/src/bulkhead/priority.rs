//! [`Priority`]: the two bulkhead classes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How important a call is to the service; the bulkhead keeps separate capacity for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Work that must keep flowing (logins, paid requests).
    Critical,
    /// Everything else (batch jobs, analytics, best-effort enrichment).
    #[default]
    NonCritical,
}

impl Priority {
    /// The label used in metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::NonCritical => "non_critical",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
