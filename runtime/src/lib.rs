//! Bulwark's resilience runtime.
//!
//! Each external dependency (an LLM provider, an inference endpoint, a database) is owned by a
//! supervised actor. Callers hold a cheap [`DependencyHandle`](dependency::DependencyHandle); every
//! call through it passes the circuit breaker, the bulkhead, the retry policy and a deadline, and
//! every failure comes back as a typed error that maps onto the one wire format in [`error`].

pub mod breaker;
pub mod bulkhead;
pub mod clock;
pub mod correlation;
pub mod error;
pub mod fallback;
pub mod retry;
pub mod telemetry;
pub mod timeout;
