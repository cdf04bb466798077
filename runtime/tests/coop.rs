//! A guarded call spends tokio's cooperative budget like any tokio resource: a worker loop of
//! calls that are all ready at once (answered from memory, or refused by an open circuit) still
//! yields, so timers and other tasks on the same workers keep running.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use bulwark_runtime::dependency::{BreakerCommand, CallContext, Dependency, DependencyError};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::runtime::Runtime;

/// Answers at once.
#[derive(Debug, Clone, Copy)]
struct Ready;

impl Dependency for Ready {
    type Request = u64;
    type Response = u64;
    async fn call(&self, req: u64, _ctx: &CallContext) -> Result<u64, DependencyError> {
        Ok(req)
    }
}

/// 64 tasks on a 2-worker runtime loop over guarded calls; another task sleeps 500 ms. Answers how
/// long the sleep took, or `None` when it had not fired after 20 s (a watchdog thread keeps a
/// regression from hanging the test).
fn sleep_under_load(refused: bool) -> Option<Duration> {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_loops = Arc::clone(&stop);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let runtime = Runtime::builder()
                .dependency("ready", Ready, Policy::default())
                .build()
                .await
                .unwrap();
            let dep = runtime.handle::<Ready>("ready").unwrap();
            if refused {
                dep.command(BreakerCommand::ForceOpen).await.unwrap();
            }
            let loops: Vec<_> = (0..64)
                .map(|i| {
                    let dep = dep.clone();
                    let stop = Arc::clone(&stop_loops);
                    tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            let _ = dep.call(i, CallContext::untracked()).await;
                        }
                    })
                })
                .collect();
            let timer = tokio::spawn(async {
                let start = tokio::time::Instant::now();
                tokio::time::sleep(Duration::from_millis(500)).await;
                start.elapsed()
            });
            let took = timer.await.unwrap();
            let _ = tx.send(took);
            stop_loops.store(true, Ordering::Relaxed);
            for l in loops {
                l.await.unwrap();
            }
            runtime.shutdown().await;
        });
    });
    let took = rx.recv_timeout(Duration::from_secs(20)).ok();
    stop.store(true, Ordering::Relaxed);
    took
}

#[test]
fn a_loop_of_ready_calls_lets_a_timer_fire_on_time() {
    let took = sleep_under_load(false).expect("the 500 ms timer never fired: calls never yield");
    assert!(
        took < Duration::from_secs(3),
        "the timer fired after {took:?}"
    );
}

#[test]
fn a_loop_of_refused_calls_lets_a_timer_fire_on_time() {
    let took = sleep_under_load(true).expect("the 500 ms timer never fired: refusals never yield");
    assert!(
        took < Duration::from_secs(3),
        "the timer fired after {took:?}"
    );
}
