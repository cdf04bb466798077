//! Retries: exponential backoff with jitter, a retry budget, and the policy that combines them.
//!
//! Three pieces, combined by the guarded call (as tower does):
//!
//! - [`ExponentialBackoff`] (a [`Backoff`]) says how long to wait before retry *n*;
//! - [`RetryPolicy::decide`] says whether to retry at all: only transient failures, at most
//!   `max_retries` times, at least as late as the server's `Retry-After`, never past the caller's
//!   deadline;
//! - [`RetryBudget`] says whether the fleet can afford it: retries stay below a fraction of recent
//!   requests (see [`budget`] for why this, and not just `max_retries`, stops retry storms).
//!
//! ```
//! use std::time::Duration;
//! use bulwark_runtime::retry::{RetryDecision, RetryPolicy, RetryableFailure};
//!
//! let policy = RetryPolicy::default(); // 3 retries, 100 ms ×2 up to 2 s, 0–100 ms jitter
//! let transient = RetryableFailure { transient: true, retry_after: None };
//! match policy.decide(1, transient, Some(Duration::from_secs(10))) {
//!     RetryDecision::Retry { delay } => {
//!         assert!(delay >= Duration::from_millis(100) && delay <= Duration::from_millis(200))
//!     }
//!     RetryDecision::GiveUp(reason) => panic!("unexpected: {reason}"),
//! }
//! ```

mod backoff;
pub mod budget;
mod error;
mod policy;

pub use backoff::{Backoff, ExponentialBackoff};
pub use budget::{BudgetConfig, RetryBudget};
pub use error::InvalidRetryConfig;
pub use policy::{GiveUpReason, RetryDecision, RetryPolicy, RetryPolicyBuilder, RetryableFailure};
