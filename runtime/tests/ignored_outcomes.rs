//! Failures that are the caller's fault (a rejected request) or that mean our credentials were
//! refused (unauthorized) are returned to the caller, never retried, and ignored by the breaker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{
    CallContext, CallError, Dependency, DependencyError, FailureKind,
};
use bulwark_runtime::error::{ErrorCode, ServiceError};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::RetryPolicy;
use bulwark_runtime::runtime::Runtime;

/// Fails every call with the configured HTTP-like status (0 = succeed).
#[derive(Debug, Default)]
struct Upstream {
    status: AtomicU32,
    attempts: AtomicU32,
}

#[derive(Debug, thiserror::Error)]
#[error("upstream said {0}")]
struct Said(u32);

/// The dependency the runtime owns; the test keeps the other `Arc`.
#[derive(Debug, Clone)]
struct Up(Arc<Upstream>);

impl Dependency for Up {
    type Request = ();
    type Response = ();
    async fn call(&self, _req: (), _ctx: &CallContext) -> Result<(), DependencyError> {
        self.0.attempts.fetch_add(1, Ordering::SeqCst);
        match self.0.status.load(Ordering::SeqCst) {
            0 => Ok(()),
            s => Err(DependencyError::from_status(s as u16, Said(s))),
        }
    }
}

async fn runtime(upstream: &Arc<Upstream>) -> Runtime {
    let policy = Policy {
        breaker: support::breaker(),
        retry: RetryPolicy::default(),
        ..Policy::default()
    };
    Runtime::builder()
        .clock(Clock::tokio())
        .dependency("up", Up(Arc::clone(upstream)), policy)
        .build()
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_hundred_validation_failures_leave_the_circuit_closed() {
    let upstream = Arc::new(Upstream::default());
    let rt = runtime(&upstream).await;
    let dep = rt.handle::<Up>("up").unwrap();
    for status in [400, 404, 409, 422] {
        upstream.status.store(status, Ordering::SeqCst);
        for _ in 0..25 {
            let err = dep.call((), CallContext::untracked()).await.unwrap_err();
            assert_eq!(err.failure_kind(), Some(FailureKind::RejectedRequest));
            assert_eq!(err.outcome_label(), "rejected_request");
        }
    }
    assert_eq!(dep.flush().await.unwrap(), State::Closed);
    assert_eq!(
        upstream.attempts.load(Ordering::SeqCst),
        100,
        "never retried"
    );
    assert_eq!(dep.snapshot().breaker.calls, 0, "not counted at all");
    // The caller sees a 422 PROCESSING_ERROR, not a dependency outage.
    let err = dep.call((), CallContext::untracked()).await.unwrap_err();
    let service = ServiceError::from(err);
    assert_eq!(
        (service.status(), service.code()),
        (422, ErrorCode::ProcessingError)
    );
    // The same number of 500s does open it.
    upstream.status.store(500, Ordering::SeqCst);
    for _ in 0..10 {
        let _ = dep.call((), CallContext::untracked()).await;
    }
    assert_eq!(dep.flush().await.unwrap(), State::Open);
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn refused_credentials_open_no_breaker_but_are_counted() {
    let upstream = Arc::new(Upstream::default());
    let rt = runtime(&upstream).await;
    let dep = rt.handle::<Up>("up").unwrap();
    upstream.status.store(401, Ordering::SeqCst);
    for _ in 0..30 {
        let err = dep.call((), CallContext::untracked()).await.unwrap_err();
        assert!(matches!(err, CallError::Failed { attempts: 1, .. }));
        assert_eq!(err.outcome_label(), "unauthorized");
    }
    upstream.status.store(403, Ordering::SeqCst);
    let _ = dep.call((), CallContext::untracked()).await;
    assert_eq!(dep.flush().await.unwrap(), State::Closed);
    let snap = dep.snapshot();
    assert_eq!(snap.unauthorized.total, 31);
    assert!(snap.unauthorized.last_at_nanos.is_some());
    let service = ServiceError::from(dep.call((), CallContext::untracked()).await.unwrap_err());
    assert_eq!(
        service.status(),
        502,
        "our credentials are not the caller's fault"
    );
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_rejected_trial_gives_its_place_back() {
    let upstream = Arc::new(Upstream::default());
    let rt = runtime(&upstream).await;
    let dep = rt.handle::<Up>("up").unwrap();
    upstream.status.store(503, Ordering::SeqCst);
    for _ in 0..10 {
        let _ = dep
            .call(
                (),
                CallContext::untracked().with_timeout(Duration::from_millis(1)),
            )
            .await;
    }
    assert_eq!(dep.flush().await.unwrap(), State::Open);
    tokio::time::advance(Duration::from_secs(30)).await;
    dep.wait_for_state(State::HalfOpen).await;
    upstream.status.store(422, Ordering::SeqCst);
    for _ in 0..5 {
        let _ = dep.call((), CallContext::untracked()).await;
    }
    assert_eq!(
        dep.snapshot().trial_permits_free,
        2,
        "ignored trials decide nothing"
    );
    upstream.status.store(0, Ordering::SeqCst);
    dep.call((), CallContext::untracked()).await.unwrap();
    dep.call((), CallContext::untracked()).await.unwrap();
    assert_eq!(dep.flush().await.unwrap(), State::Closed);
    rt.shutdown().await;
}
