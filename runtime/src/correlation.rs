//! Correlation IDs.
//!
//! A [`CorrelationId`] is taken from an incoming `X-Correlation-ID` header (or a broker message
//! header) when it is 1–128 printable ASCII characters; anything else is replaced by a fresh
//! UUID v7, so IDs sort by creation time in logs. It travels with each call in a
//! [`CallContext`](crate::dependency::CallContext).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::timestamp::context::{ContextV7, ThreadLocalContext};
use uuid::{Timestamp, Uuid};

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
    ///
    /// Each thread keeps its own v7 counter (IDs made on one thread sort in creation order; IDs
    /// of different threads sort by millisecond and stay unique through their random bits).
    /// uuid's `now_v7` shares one mutex-guarded counter between all threads, which every request
    /// of every worker would contend for.
    pub fn generate() -> Self {
        thread_local! {
            static V7: ContextV7 = const { ContextV7::new() };
        }
        let uuid = Uuid::new_v7(Timestamp::now(ThreadLocalContext::new(&V7)));
        // Encoded on the stack and copied once into the shared string (no formatter, no
        // intermediate `String`).
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid.hyphenated().encode_lower(&mut text);
        Self(Repr::Shared(Arc::from(&*text)))
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
