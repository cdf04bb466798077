//! Correlation IDs and the message envelope that carries them through actors.
//!
//! A [`CorrelationId`] is taken from an incoming `X-Correlation-ID` header (or a broker message
//! header) when it is 1–128 printable ASCII characters; anything else is replaced by a fresh
//! UUID v7, so IDs sort by creation time in logs. [`Envelope`] wraps a message with its correlation
//! ID, deadline and [`Priority`] on its way through the actor tree.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The HTTP header that carries a correlation ID in and out.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The name of the span field that carries a correlation ID; telemetry copies it onto every log
/// line emitted inside such a span.
pub const CORRELATION_FIELD: &str = "correlation_id";

/// Longest accepted incoming correlation ID, in bytes.
pub const MAX_CORRELATION_LEN: usize = 128;

/// An opaque, cheap-to-clone request identifier.
#[derive(Clone)]
pub struct CorrelationId(Repr);

/// A generated or received ID is shared; a fixed one (background work) costs nothing to clone.
#[derive(Clone)]
enum Repr {
    Shared(Arc<str>),
    Static(&'static str),
}

impl PartialEq for CorrelationId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CorrelationId {}

impl std::hash::Hash for CorrelationId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl CorrelationId {
    /// A fresh UUID v7.
    pub fn generate() -> Self {
        Self(Repr::Shared(Arc::from(uuid::Uuid::now_v7().to_string())))
    }

    /// Accepts `value` when it is a valid correlation ID (1–128 printable ASCII characters, no
    /// spaces or control characters), returning `None` otherwise.
    pub fn parse(value: &str) -> Option<Self> {
        let valid = !value.is_empty()
            && value.len() <= MAX_CORRELATION_LEN
            && value.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(Repr::Shared(Arc::from(value))))
    }

    /// The incoming header value when valid, else a fresh ID.
    pub fn from_header(value: Option<&str>) -> Self {
        value.and_then(Self::parse).unwrap_or_else(Self::generate)
    }

    /// A fixed ID for work that belongs to no request (probes, background jobs). Cloning it never
    /// touches a reference count. The text is not validated: use a literal of printable ASCII.
    pub const fn from_static(value: &'static str) -> Self {
        Self(Repr::Static(value))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Shared(s) => s,
            Repr::Static(s) => s,
        }
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CorrelationId({})", self.as_str())
    }
}

impl Serialize for CorrelationId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CorrelationId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("invalid correlation id"))
    }
}

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

/// A message on its way through the actor tree, with the request's identity and time budget.
#[derive(Debug, Clone)]
pub struct Envelope<T> {
    /// The request this message belongs to.
    pub correlation_id: CorrelationId,
    /// When the answer is no longer useful; `None` means the receiver's own timeout applies.
    pub deadline: Option<Instant>,
    /// Which bulkhead class the work belongs to.
    pub priority: Priority,
    /// The message itself.
    pub payload: T,
}

impl<T> Envelope<T> {
    /// Wraps `payload` with a correlation ID, no deadline and non-critical priority.
    pub fn new(correlation_id: CorrelationId, payload: T) -> Self {
        Self {
            correlation_id,
            deadline: None,
            priority: Priority::NonCritical,
            payload,
        }
    }

    /// Sets the deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Sets the priority.
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Replaces the payload, keeping identity, deadline and priority.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Envelope<U> {
        Envelope {
            correlation_id: self.correlation_id,
            deadline: self.deadline,
            priority: self.priority,
            payload: f(self.payload),
        }
    }

    /// A tracing span carrying the correlation ID, for the work done on this message.
    pub fn span(&self, name: &'static str) -> tracing::Span {
        tracing::info_span!("message", name, correlation_id = %self.correlation_id)
    }
}
