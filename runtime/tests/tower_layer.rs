//! The tower adapter: a Bulwark guard around any `tower::Service`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_runtime::breaker::{BreakerConfig, State, WindowKind};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{CallError, DependencyError, FailureKind};
use bulwark_runtime::layer::GuardLayer;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::{ExponentialBackoff, RetryPolicy};
use bulwark_runtime::runtime::Runtime;
use tower::{Layer, ServiceExt};

#[derive(Debug, thiserror::Error)]
#[error("upstream said {0}")]
struct Upstream(u16);

#[tokio::test(start_paused = true)]
async fn guards_a_service_fn_with_retries_and_a_breaker() {
    let policy = Policy {
        breaker: BreakerConfig::builder()
            .window(WindowKind::Count { size: 10 })
            .minimum_calls(5)
            .build()
            .unwrap(),
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
            .build()
            .unwrap(),
        ..Policy::default()
    };
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .build()
        .await
        .unwrap();
    let guard = rt.add_guard("svc", policy).await.unwrap();

    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    let inner = tower::service_fn(move |req: u32| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match req {
                // Fails once, then succeeds: the retry hides it.
                1 if n == 0 => Err(Upstream(503)),
                400 => Err(Upstream(400)),
                _ => Ok::<_, Upstream>(req * 10),
            }
        }
    });
    let layer = GuardLayer::new(guard.clone()).classify(|e: &Upstream| {
        if DependencyError::from_status(e.0, "x").is_transient() {
            FailureKind::Transient
        } else {
            FailureKind::Permanent
        }
    });
    let svc = layer.layer(inner);

    assert_eq!(svc.clone().oneshot(1).await.unwrap(), 10);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one retry");

    // Permanent errors are not retried, and they trip the breaker.
    for _ in 0..5 {
        assert!(matches!(
            svc.clone().oneshot(400).await,
            Err(CallError::Failed { attempts: 1, .. })
        ));
    }
    assert_eq!(guard.flush().await.unwrap(), State::Open);
    assert!(matches!(
        svc.clone().oneshot(2).await,
        Err(CallError::CircuitOpen { .. })
    ));
    rt.shutdown().await;
}
