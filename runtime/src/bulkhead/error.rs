//! [`BulkheadRejected`]: why the bulkhead refused a call.

use super::Priority;

/// Why the bulkhead refused a call.
///
/// Displayed as `bulkhead full (critical)` or `bulkhead wait timed out (non_critical)`, so the
/// class that refused is always in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BulkheadRejected {
    /// Every slot and every queue place of the class is taken: refused at once, without waiting.
    #[error("bulkhead full ({priority})")]
    QueueFull {
        /// The class.
        priority: Priority,
    },
    /// The caller's deadline passed while it waited in the queue for a slot.
    #[error("bulkhead wait timed out ({priority})")]
    Timeout {
        /// The class.
        priority: Priority,
    },
}

impl BulkheadRejected {
    /// The class that refused.
    pub fn priority(&self) -> Priority {
        match self {
            Self::QueueFull { priority } | Self::Timeout { priority } => *priority,
        }
    }

    /// Whether the caller waited (and ran out of time) rather than being refused at once.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }
}
