//! Every call has a deadline: the context's, or the policy's `timeout.total`, covering the wait
//! for a bulkhead slot (also bounded by `bulkhead.max_wait`), the attempts and the backoff.
//! Requests that are not idempotent are not repeated after a failure that may have reached the
//! dependency.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_runtime::bulkhead::{BulkheadConfig, ClassLimits, Priority};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{
    BreakerCommand, CallContext, CallError, Dependency, DependencyError,
};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::{ExponentialBackoff, RetryPolicy};
use bulwark_runtime::runtime::Runtime;
use bulwark_runtime::timeout::TimeoutPolicy;
use tokio::time::Instant;

/// Never answers.
#[derive(Debug, Clone, Copy)]
struct Silent;

impl Dependency for Silent {
    type Request = ();
    type Response = ();
    async fn call(&self, _req: (), _ctx: &CallContext) -> Result<(), DependencyError> {
        std::future::pending().await
    }
}

/// Outcomes of 400 concurrent untracked calls to a silent dependency with the seed policy (64 +
/// 64 non-critical places, 7 s attempts, 3 retries, 10 s total): how many timed out, were refused
/// at the bulkhead, or by the open circuit; panics if any ended after 10 s.
async fn four_hundred_calls(breaker_disabled: bool) -> (usize, usize, usize) {
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency("silent", Silent, Policy::default())
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Silent>("silent").unwrap();
    if breaker_disabled {
        dep.command(BreakerCommand::Disable).await.unwrap();
    }
    let start = Instant::now();
    let calls = (0..400).map(|_| {
        let dep = dep.clone();
        tokio::spawn(async move {
            let result = dep.call((), CallContext::untracked()).await;
            (result, start.elapsed())
        })
    });
    let (mut timeouts, mut full, mut open) = (0, 0, 0);
    for call in futures::future::join_all(calls).await {
        let (result, took) = call.unwrap();
        assert!(took <= Duration::from_secs(10), "a call took {took:?}");
        match result.unwrap_err() {
            CallError::Timeout { .. } => timeouts += 1,
            CallError::BulkheadFull { .. } => full += 1,
            CallError::CircuitOpen { .. } => open += 1,
            other => panic!("unexpected {other}"),
        }
    }
    rt.shutdown().await;
    (timeouts, full, open)
}

#[tokio::test(start_paused = true)]
async fn four_hundred_untracked_calls_to_a_silent_dependency_all_end_by_the_total_deadline() {
    // With the breaker out of the way, the 64 admitted calls run into the 10 s total deadline
    // (a 7 s attempt, then a retry cut short); 64 more wait in the queue for at most `max_wait`
    // (1 s), and the other 272 are refused at once.
    let (timeouts, full, open) = four_hundred_calls(true).await;
    assert_eq!((timeouts, full, open), (64, 336, 0));
    // With the breaker on, the timeouts trip it and the retries are refused at once.
    let (timeouts, full, open) = four_hundred_calls(false).await;
    assert_eq!(timeouts + full + open, 400);
    assert!(open > 0 && full > 0, "{timeouts} {full} {open}");
}

#[tokio::test(start_paused = true)]
async fn a_queued_caller_waits_at_most_max_wait_and_never_past_its_deadline() {
    let policy = Policy {
        bulkhead: BulkheadConfig::builder()
            .critical(ClassLimits {
                max_concurrent: 1,
                max_queue: 4,
            })
            .max_wait(Duration::from_millis(300))
            .build()
            .unwrap(),
        retry: RetryPolicy::disabled(),
        ..Policy::default()
    };
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency("silent", Silent, policy)
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Silent>("silent").unwrap();
    let critical = || CallContext::untracked().with_priority(Priority::Critical);
    let holder = tokio::spawn({
        let dep = dep.clone();
        async move { dep.call((), critical()).await }
    });
    tokio::task::yield_now().await;
    // max_wait passes first: refused as a full bulkhead.
    let start = Instant::now();
    let err = dep.call((), critical()).await.unwrap_err();
    assert!(
        matches!(
            err,
            CallError::BulkheadFull {
                priority: Priority::Critical,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    // The caller's deadline passes first: a timeout, without any attempt.
    let start = Instant::now();
    let err = dep
        .call((), critical().with_timeout(Duration::from_millis(100)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Timeout { attempts: 0, .. }),
        "{err}"
    );
    assert_eq!(start.elapsed(), Duration::from_millis(100));
    holder.abort();
    rt.shutdown().await;
}

/// Times out on its first attempt, answers on the next; counts attempts.
#[derive(Debug, Default)]
struct SlowThenFast {
    attempts: AtomicU32,
    refuse_connect: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("connection refused")]
struct Refused;

#[derive(Debug, Clone)]
struct Counted(Arc<SlowThenFast>);

impl Dependency for Counted {
    type Request = ();
    type Response = u32;
    async fn call(&self, _req: (), _ctx: &CallContext) -> Result<u32, DependencyError> {
        let n = self.0.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 1 {
            if self.0.refuse_connect {
                return Err(DependencyError::transient(Refused).not_delivered());
            }
            std::future::pending::<()>().await;
        }
        Ok(n)
    }
}

fn retrying(retry_non_idempotent: bool) -> Policy {
    Policy {
        retry: RetryPolicy::builder()
            .max_retries(2)
            .backoff(
                ExponentialBackoff::new(
                    Duration::from_millis(10),
                    2.0,
                    Duration::from_millis(50),
                    Duration::ZERO,
                )
                .unwrap(),
            )
            .retry_non_idempotent(retry_non_idempotent)
            .build()
            .unwrap(),
        timeout: TimeoutPolicy::with_attempt(Duration::from_secs(1)).unwrap(),
        ..Policy::default()
    }
}

async fn once(
    dep: SlowThenFast,
    policy: Policy,
    idempotent: bool,
) -> (Result<u32, CallError>, u32) {
    let dep = Arc::new(dep);
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency("d", Counted(Arc::clone(&dep)), policy)
        .build()
        .await
        .unwrap();
    let handle = rt.handle::<Counted>("d").unwrap();
    let result = handle
        .call((), CallContext::untracked().idempotent(idempotent))
        .await;
    rt.shutdown().await;
    (result, dep.attempts.load(Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn a_non_idempotent_request_is_not_repeated_after_a_timeout() {
    let (result, attempts) = once(SlowThenFast::default(), retrying(false), false).await;
    assert!(matches!(
        result,
        Err(CallError::Timeout { attempts: 1, .. })
    ));
    assert_eq!(attempts, 1);
    // Idempotent: retried and answered.
    let (result, attempts) = once(SlowThenFast::default(), retrying(false), true).await;
    assert_eq!((result.unwrap(), attempts), (2, 2));
    // The policy may allow it explicitly.
    let (result, attempts) = once(SlowThenFast::default(), retrying(true), false).await;
    assert_eq!((result.unwrap(), attempts), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn a_non_idempotent_request_is_retried_when_it_never_reached_the_dependency() {
    let dep = SlowThenFast {
        refuse_connect: true,
        ..SlowThenFast::default()
    };
    let (result, attempts) = once(dep, retrying(false), false).await;
    assert_eq!((result.unwrap(), attempts), (2, 2));
}

/// A client that sends tiny deadlines cannot open a circuit every other caller shares: an attempt
/// cut short by the caller's own deadline is not a failure of the dependency. The same dependency
/// timing out at the policy's attempt timeout does trip the breaker.
#[tokio::test(start_paused = true)]
async fn attempts_cut_by_the_callers_deadline_do_not_trip_the_breaker() {
    use bulwark_runtime::breaker::{BreakerConfig, State, WindowKind};

    let policy = Policy {
        breaker: BreakerConfig::builder()
            .window(WindowKind::Count { size: 10 })
            .minimum_calls(5)
            .build()
            .unwrap(),
        retry: RetryPolicy::disabled(),
        timeout: TimeoutPolicy::with_attempt(Duration::from_secs(1)).unwrap(),
        ..Policy::default()
    };
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency("silent", Silent, policy)
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Silent>("silent").unwrap();

    for _ in 0..20 {
        let err = dep
            .call(
                (),
                CallContext::untracked().with_timeout(Duration::from_millis(1)),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallError::Timeout { attempts: 1, .. }),
            "{err}"
        );
    }
    let snapshot = dep.controls().flush().await.unwrap();
    assert_eq!(snapshot, State::Closed, "the caller's deadlines tripped it");

    // The policy's own attempt timeout is the dependency's failure.
    for _ in 0..5 {
        let err = dep
            .call(
                (),
                CallContext::untracked().with_timeout(Duration::from_secs(5)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Timeout { .. }), "{err}");
    }
    assert_eq!(dep.controls().flush().await.unwrap(), State::Open);
    rt.shutdown().await;
}
