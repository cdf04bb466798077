//! [`CallContext`]: who is calling, until when, how important it is, whether it may be repeated,
//! which attempt this is. It is what travels with a request through the actor tree and into every
//! guarded call (it replaces a separate message envelope).

use std::time::Duration;

use tokio::time::Instant;

use crate::bulkhead::Priority;
use crate::correlation::CorrelationId;

const UNTRACKED: CorrelationId = CorrelationId::from_static("untracked");

/// Everything a guarded call carries besides its request.
#[derive(Debug, Clone)]
pub struct CallContext {
    correlation_id: CorrelationId,
    deadline: Option<Instant>,
    priority: Priority,
    idempotent: bool,
    attempt: u32,
}

impl CallContext {
    /// A non-critical, idempotent call for `correlation_id` with no deadline of its own: the
    /// dependency's `timeout.total` then bounds the whole call (queueing, attempts, backoff).
    pub fn new(correlation_id: CorrelationId) -> Self {
        Self {
            correlation_id,
            deadline: None,
            priority: Priority::NonCritical,
            idempotent: true,
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

    /// Lowers the deadline to `deadline` if that is earlier (never raises it).
    pub fn with_deadline_at_most(mut self, deadline: Instant) -> Self {
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
        self
    }

    /// Sets the priority (bulkhead class).
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Says whether the request may be sent twice without harm (default `true`). A
    /// non-idempotent request (a payment, a message that must not be duplicated) is retried only
    /// after failures that certainly never reached the dependency, unless the policy's
    /// `retry.retry_non_idempotent` allows more.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The request's correlation ID.
    pub fn correlation_id(&self) -> &CorrelationId {
        &self.correlation_id
    }

    /// The caller's deadline, if any. Inside an attempt after a wait or a retry this is the
    /// call's effective deadline (the policy's `timeout.total` when the caller set none).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The bulkhead class.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Whether the request may be repeated without harm.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
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

    /// A tracing span for work done on behalf of this context, carrying its correlation ID.
    pub fn span(&self, name: &'static str) -> tracing::Span {
        tracing::info_span!("work", name, correlation_id = %self.correlation_id)
    }

    pub(crate) fn set_attempt(&mut self, attempt: u32) {
        self.attempt = attempt;
    }

    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }
}
