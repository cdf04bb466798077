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
//! use bulwark_runtime::clock::Moment;
//! use bulwark_runtime::retry::{
//!     GiveUpReason, RetryBudget, RetryDecision, RetryPolicy, RetryableFailure,
//! };
//!
//! let policy = RetryPolicy::default(); // 3 retries, 100 ms ×2 up to 2 s, 0–100 ms jitter
//! let budget = RetryBudget::from_config(policy.budget_config()).unwrap(); // shared per dependency
//! let now = Moment::ZERO;
//! budget.deposit(now); // the first attempt
//!
//! // Attempt 1 failed with a transient error, 10 s before the caller's deadline.
//! let transient = RetryableFailure { transient: true, retry_after: None, repeat_safe: true };
//! match policy.decide(1, transient, Some(Duration::from_secs(10))) {
//!     RetryDecision::Retry { delay } if budget.try_withdraw(now) => {
//!         assert!(delay >= Duration::from_millis(100) && delay <= Duration::from_millis(200));
//!         // sleep(delay), then attempt 2
//!     }
//!     RetryDecision::Retry { .. } => { /* budget spent: fail now, do not add load */ }
//!     RetryDecision::GiveUp(reason) => panic!("unexpected: {reason}"),
//! }
//!
//! // The server said "Retry-After: 60" — more than the 30 s we are willing to wait.
//! let busy = RetryableFailure {
//!     transient: true,
//!     retry_after: Some(Duration::from_secs(60)),
//!     repeat_safe: true,
//! };
//! assert_eq!(policy.decide(1, busy, None), RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong));
//! ```

mod backoff;
pub mod budget;
mod error;
mod policy;

pub use backoff::{Backoff, ExponentialBackoff};
pub use budget::{BudgetConfig, RetryBudget};
pub use error::InvalidRetryConfig;
pub use policy::{GiveUpReason, RetryDecision, RetryPolicy, RetryPolicyBuilder, RetryableFailure};
