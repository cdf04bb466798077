//! [`CallContext`]: who is calling, until when, how important it is, which attempt this is.

use std::time::Duration;

use tokio::time::Instant;

use crate::correlation::{CorrelationId, Priority};

const UNTRACKED: CorrelationId = CorrelationId::from_static("untracked");

/// Everything a guarded call carries besides its request.
#[derive(Debug, Clone)]
pub struct CallContext {
    correlation_id: CorrelationId,
    deadline: Option<Instant>,
    priority: Priority,
    attempt: u32,
}

impl CallContext {
    /// A non-critical call for `correlation_id` with no deadline of its own (the dependency's
    /// timeout still bounds every attempt).
    pub fn new(correlation_id: CorrelationId) -> Self {
        Self {
            correlation_id,
            deadline: None,
            priority: Priority::NonCritical,
            attempt: 1,
        }
    }

    /// A context for work that belongs to no request (probes, background jobs, adapters). Shares
    /// one static correlation ID, so creating it never allocates.
    pub fn untracked() -> Self {
        Self::new(UNTRACKED)
    }

    /// Sets an absolute deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Sets the deadline `timeout` from now.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.with_deadline(Instant::now() + timeout)
    }

    /// Sets the priority (bulkhead class).
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The request's correlation ID.
    pub fn correlation_id(&self) -> &CorrelationId {
        &self.correlation_id
    }

    /// The caller's deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The bulkhead class.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Which attempt this is: 1 for the first, 2 for the first retry, …
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Time left before the deadline, `None` without one.
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    pub(crate) fn set_attempt(&mut self, attempt: u32) {
        self.attempt = attempt;
    }
}
