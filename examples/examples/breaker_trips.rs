//! Watch a circuit breaker open, probe and close, printing every transition.
//!
//! Run with: `cargo run -p bulwark-examples --example breaker_trips`
//!
//! A flaky upstream fails for its first 12 calls. The breaker (count window of 10, 50 % failure
//! threshold, 2 s reset timeout) opens, rejects calls without touching the upstream, moves to
//! half-open after 2 s, and the actor's health probe — with no traffic at all — closes it again.
//! Expected output (timings vary):
//!
//! ```text
//! call  1: failed (transient upstream error)
//! ...
//! transition: closed -> open (failure rate 100.0% >= 50.0% over 10 calls)
//! call 11: rejected, circuit open, retry after 2.0s
//! transition: open -> half_open (...)
//! transition: half_open -> closed (...)
//! call 13: ok (1013)
//! ```

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bulwark_runtime::breaker::{BreakerConfig, State, WindowKind};
use bulwark_runtime::dependency::{CallContext, CallError, Dependency, DependencyError, Probe};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::retry::RetryPolicy;
use bulwark_runtime::runtime::Runtime;

struct Flaky {
    calls: AtomicU32,
}

impl Flaky {
    fn healthy(&self) -> bool {
        self.calls.load(Ordering::SeqCst) >= 12
    }
}

impl Dependency for Flaky {
    type Request = u32;
    type Response = u32;

    async fn call(&self, req: u32, _ctx: &CallContext) -> Result<u32, DependencyError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < 12 {
            Err(DependencyError::transient(std::io::Error::other(
                "upstream error",
            )))
        } else {
            Ok(1000 + req)
        }
    }

    async fn probe(&self, _ctx: &CallContext) -> Probe {
        // The upstream recovers once it has seen 12 calls; count probes as calls.
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.healthy() {
            Probe::Healthy
        } else {
            Probe::Unhealthy(DependencyError::transient(std::io::Error::other(
                "still down",
            )))
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let policy = Policy {
        breaker: BreakerConfig::builder()
            .window(WindowKind::Count { size: 10 })
            .minimum_calls(10)
            .reset_timeout(Duration::from_secs(2))
            .half_open_permits(1)
            .build()?,
        retry: RetryPolicy::disabled(),
        ..Policy::default()
    };
    let runtime = Runtime::builder()
        .dependency(
            "flaky",
            Flaky {
                calls: AtomicU32::new(0),
            },
            policy,
        )
        .build()
        .await?;
    let flaky = runtime.handle::<Flaky>("flaky")?;
    let mut transitions = flaky.subscribe();
    tokio::spawn(async move {
        while let Ok(event) = transitions.recv().await {
            let t = event.transition;
            println!("transition: {} -> {} ({})", t.from, t.to, t.reason);
        }
    });

    for i in 1..=11 {
        match flaky.call(i, CallContext::untracked()).await {
            Ok(v) => println!("call {i:2}: ok ({v})"),
            Err(CallError::CircuitOpen { retry_after, .. }) => println!(
                "call {i:2}: rejected, circuit open, retry after {:.1}s",
                retry_after.unwrap_or_default().as_secs_f64()
            ),
            Err(e) => println!("call {i:2}: failed ({e})"),
        }
        flaky.flush().await?;
    }
    // No traffic: the actor moves to half-open after the reset timeout and probes.
    flaky.wait_for_state(State::Closed).await;
    let v = flaky.call(13, CallContext::untracked()).await?;
    println!("call 13: ok ({v})");
    runtime.shutdown().await;
    Ok(())
}
