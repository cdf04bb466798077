//! Shared test dependencies: in-process fakes that stand for an upstream in tests of the guard
//! itself (breaker, retry, bulkhead logic). End-to-end tests against real HTTP servers live in the
//! `bulwark-tests` crate.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_runtime::breaker::{BreakerConfig, WindowKind};
use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError, Probe};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::RetryPolicy;
use bulwark_runtime::runtime::Runtime;
use tokio::time::Instant;

/// Answers with its request, or fails, as scripted.
#[derive(Debug, Default)]
pub struct Scripted {
    /// Fail the next N attempts.
    pub fail_next: AtomicU32,
    /// Whether scripted failures are permanent.
    pub permanent: std::sync::atomic::AtomicBool,
    /// Retry-After to attach to failures, in ms (0 = none).
    pub retry_after_ms: AtomicU32,
    /// How long each attempt takes, in ms.
    pub latency_ms: AtomicU32,
    /// Start time of every attempt.
    pub attempts: Mutex<Vec<Instant>>,
    /// Whether the probe reports healthy.
    pub healthy: std::sync::atomic::AtomicBool,
    /// Probes run.
    pub probes: AtomicU32,
    /// Resets (actor restarts) seen.
    pub resets: AtomicU32,
}

#[derive(Debug, thiserror::Error)]
#[error("scripted failure")]
pub struct ScriptedFailure;

impl Scripted {
    pub fn failing(n: u32) -> Self {
        let s = Self::default();
        s.fail_next.store(n, Ordering::SeqCst);
        s
    }

    pub fn attempt_times(&self) -> Vec<Instant> {
        self.attempts.lock().unwrap().clone()
    }
}

impl Dependency for Scripted {
    type Request = u64;
    type Response = u64;

    async fn call(&self, req: u64, _ctx: &CallContext) -> Result<u64, DependencyError> {
        self.attempts.lock().unwrap().push(Instant::now());
        let latency = self.latency_ms.load(Ordering::SeqCst);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(u64::from(latency))).await;
        }
        let failing = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !failing {
            return Ok(req);
        }
        let mut err = if self.permanent.load(Ordering::SeqCst) {
            DependencyError::permanent(ScriptedFailure)
        } else {
            DependencyError::transient(ScriptedFailure)
        };
        let ra = self.retry_after_ms.load(Ordering::SeqCst);
        if ra > 0 {
            err = err.with_retry_after(Duration::from_millis(u64::from(ra)));
        }
        Err(err)
    }

    async fn probe(&self, _ctx: &CallContext) -> Probe {
        self.probes.fetch_add(1, Ordering::SeqCst);
        if self.healthy.load(Ordering::SeqCst) {
            Probe::Healthy
        } else {
            Probe::Unhealthy(DependencyError::transient(ScriptedFailure))
        }
    }

    async fn reset(&self) {
        self.resets.fetch_add(1, Ordering::SeqCst);
    }
}

/// A forwarding wrapper so tests can keep an `Arc` to the script.
#[derive(Debug, Clone)]
pub struct Shared(pub Arc<Scripted>);

impl Dependency for Shared {
    type Request = u64;
    type Response = u64;
    async fn call(&self, req: u64, ctx: &CallContext) -> Result<u64, DependencyError> {
        self.0.call(req, ctx).await
    }
    async fn probe(&self, ctx: &CallContext) -> Probe {
        self.0.probe(ctx).await
    }
    async fn reset(&self) {
        self.0.reset().await;
    }
}

/// Breaker: count window of 20, trips at 50 % after 10 calls, 30 s reset, 2 trial calls.
pub fn breaker() -> BreakerConfig {
    BreakerConfig::builder()
        .window(WindowKind::Count { size: 20 })
        .minimum_calls(10)
        .failure_rate_threshold(50.0)
        .reset_timeout(Duration::from_secs(30))
        .half_open_permits(2)
        .build()
        .unwrap()
}

/// A policy with the test breaker and no retries.
pub fn no_retry_policy() -> Policy {
    Policy {
        breaker: breaker(),
        retry: RetryPolicy::disabled(),
        ..Policy::default()
    }
}

/// Starts a runtime on tokio's (paused) clock with one scripted dependency named "dep".
pub async fn runtime_with(script: Arc<Scripted>, policy: Policy) -> Runtime {
    Runtime::builder()
        .clock(Clock::tokio())
        .dependency("dep", Shared(script), policy)
        .build()
        .await
        .unwrap()
}

pub fn ctx() -> CallContext {
    CallContext::untracked()
}

/// Makes `n` calls, ignoring their results.
pub async fn call_n(dep: &bulwark_runtime::dependency::DependencyHandle<Shared>, n: usize) {
    for _ in 0..n {
        let _ = dep.call(1, ctx()).await;
    }
}

/// Makes the 10 calls the test breaker needs to decide (the script must be failing), and checks
/// that it opened.
pub async fn trip(dep: &bulwark_runtime::dependency::DependencyHandle<Shared>) {
    call_n(dep, 10).await;
    assert_eq!(
        dep.flush().await.unwrap(),
        bulwark_runtime::breaker::State::Open
    );
}
