//! Keeping time for the fallback: a model call runs under the caller's deadline moved earlier by
//! a reserve, so that when the model is slow the fallback still answers before the caller's
//! deadline (the gateway answers 504 at it).

use std::time::Duration;

use bulwark_runtime::dependency::CallContext;

/// `ctx` with its deadline moved `reserve` earlier; `None` when less than `reserve` is left (the
/// fallback should answer at once). A context without a deadline is returned unchanged (the
/// pool's `timeout.total` bounds the call).
pub fn with_reserve(ctx: &CallContext, reserve: Duration) -> Option<CallContext> {
    let Some(deadline) = ctx.deadline() else {
        return Some(ctx.clone());
    };
    let earlier = deadline.checked_sub(reserve)?;
    (earlier > tokio::time::Instant::now()).then(|| ctx.clone().with_deadline_at_most(earlier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_deadline_moves_earlier_by_the_reserve() {
        let ctx = CallContext::untracked().with_timeout(Duration::from_secs(1));
        let inner = with_reserve(&ctx, Duration::from_millis(100)).unwrap();
        assert_eq!(inner.time_left(), Some(Duration::from_millis(900)));
        assert!(with_reserve(&ctx, Duration::from_secs(1)).is_none());
        let open = CallContext::untracked();
        assert_eq!(
            with_reserve(&open, Duration::from_secs(1))
                .unwrap()
                .deadline(),
            None
        );
    }
}
