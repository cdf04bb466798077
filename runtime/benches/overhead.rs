//! The cost of a guarded call, beside the peers, in one run.
//!
//! Run with: `cargo bench -p bulwark-runtime --bench overhead`
//!
//! Group `guarded_call` (one caller, a trivial operation that answers at once):
//! - `bulwark`: breaker + bulkhead + timeout + retry policy + metrics (Prometheus recorder
//!   installed), success path;
//! - `bulwark_open_reject`: the same dependency with its circuit forced open;
//! - `tower_stack`: tower `timeout` + `concurrency_limit(64)` + `service_fn`;
//! - `failsafe`, `recloser`: their async circuit breakers around the same operation;
//! - `ractor_call`: a plain ractor `call!` round trip to an echo actor;
//! - `mpsc_floor`: tokio mpsc + oneshot round trip to a task (the floor for any actor design).
//!
//! Group `guarded_call_64`: the same with 64 concurrent callers on a 2-worker runtime
//! (throughput).
//!
//! Group `pool` (one caller, same trivial operation): `single_dependency`, the guarded call to
//! one dependency, beside `pool_3_endpoints`, the same call through a pool of three such
//! endpoints (selection by power of two choices, then the endpoint's guarded call),
//! `pool_1_endpoint` (the pool's own layer without a choice to make) and
//! `pool_3_endpoints_hedged`, the pool with hedging on (a 50 ms delay that never fires). After the timed groups, the bench prints heap allocations per call (counted
//! by a global counting allocator) and the RSS of a 1M-call burst through Bulwark beside a
//! 1M-message `cast` burst into a ractor mailbox.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use bulwark_runtime::dependency::{
    BreakerCommand, CallContext, Dependency, DependencyError, DependencyHandle,
};
use bulwark_runtime::policy::Policy;
use bulwark_runtime::pool::{Hedging, Pool};
use bulwark_runtime::runtime::Runtime;
use criterion::{Criterion, Throughput, criterion_group};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::{Service, ServiceBuilder, ServiceExt};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CALLERS: usize = 64;

/// The trivial operation every contestant guards.
struct Trivial;

impl Dependency for Trivial {
    type Request = u64;
    type Response = u64;
    async fn call(&self, req: u64, _ctx: &CallContext) -> Result<u64, DependencyError> {
        Ok(req)
    }
}

struct Echo;

enum EchoMsg {
    Echo(u64, RpcReplyPort<u64>),
    Cast(#[allow(dead_code)] u64),
}

impl Actor for Echo {
    type Msg = EchoMsg;
    type State = ();
    type Arguments = ();
    async fn pre_start(&self, _: ActorRef<EchoMsg>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }
    async fn handle(
        &self,
        _: ActorRef<EchoMsg>,
        msg: EchoMsg,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            EchoMsg::Echo(x, reply) => {
                let _ = reply.send(x);
            }
            EchoMsg::Cast(_) => {}
        }
        Ok(())
    }
}

struct Contestants {
    bulwark: DependencyHandle<Trivial>,
    open: DependencyHandle<Trivial>,
    guard: bulwark_runtime::guard::Guard,
    echo: ActorRef<EchoMsg>,
    mpsc: tokio::sync::mpsc::Sender<(u64, tokio::sync::oneshot::Sender<u64>)>,
    _runtime: Runtime,
}

async fn contestants() -> Contestants {
    let runtime = Runtime::builder()
        .dependency("bench", Trivial, Policy::default())
        .dependency("bench_open", Trivial, Policy::default())
        .guard("bench_guard", Policy::default())
        .build()
        .await
        .unwrap();
    let bulwark = runtime.handle::<Trivial>("bench").unwrap();
    let open = runtime.handle::<Trivial>("bench_open").unwrap();
    let guard = runtime.guard("bench_guard").unwrap();
    open.command(BreakerCommand::ForceOpen).await.unwrap();
    let (echo, _) = Actor::spawn(None, Echo, ()).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(u64, tokio::sync::oneshot::Sender<u64>)>(1024);
    tokio::spawn(async move {
        while let Some((x, reply)) = rx.recv().await {
            let _ = reply.send(x);
        }
    });
    Contestants {
        bulwark,
        open,
        guard,
        echo,
        mpsc: tx,
        _runtime: runtime,
    }
}

fn tower_stack()
-> impl Service<u64, Response = u64, Error = tower::BoxError, Future: Send> + Clone + Send {
    ServiceBuilder::new()
        .timeout(Duration::from_secs(5))
        .concurrency_limit(64)
        .service_fn(|x: u64| async move { Ok::<_, tower::BoxError>(x) })
        .boxed_clone()
}

fn install_recorder() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::set_global_recorder(recorder).unwrap();
}

fn single(c: &mut Criterion) {
    // One caller: everything on one thread, as a request handler sees it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let k = rt.block_on(contestants());
    let failsafe_cb = failsafe::Config::new().build();
    let recloser = recloser::AsyncRecloser::from(recloser::Recloser::default());

    let mut group = c.benchmark_group("guarded_call");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("bulwark", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                k.bulwark
                    .call(black_box(1), CallContext::untracked())
                    .await
                    .unwrap(),
            )
        })
    });
    group.bench_function("bulwark_guard_closure", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                k.guard
                    .run(CallContext::untracked(), |_| async {
                        Ok::<u64, DependencyError>(black_box(1))
                    })
                    .await
                    .unwrap(),
            )
        })
    });
    group.bench_function("bulwark_open_reject", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                k.open
                    .call(black_box(1), CallContext::untracked())
                    .await
                    .is_err(),
            )
        })
    });
    // What spending one unit of tokio's cooperative budget costs on its own (every guarded call
    // does it once, like every tokio resource).
    group.bench_function("coop_budget_unit", |b| {
        b.to_async(&rt).iter(|| async {
            std::future::poll_fn(|cx| {
                tokio::task::coop::poll_proceed(cx).map(|restore| {
                    restore.made_progress();
                    std::mem::forget(restore);
                })
            })
            .await;
            black_box(1)
        })
    });
    group.bench_function("noop_future", |b| {
        b.to_async(&rt).iter(|| async { black_box(1) })
    });
    group.bench_function("tower_stack", |b| {
        let svc = tower_stack();
        b.to_async(&rt).iter(|| {
            let mut svc = svc.clone();
            async move { black_box(svc.ready().await.unwrap().call(black_box(1)).await.unwrap()) }
        })
    });
    group.bench_function("failsafe", |b| {
        use failsafe::futures::CircuitBreaker;
        b.to_async(&rt).iter(|| async {
            black_box(
                failsafe_cb
                    .call(async { Ok::<u64, ()>(black_box(1)) })
                    .await
                    .unwrap(),
            )
        })
    });
    group.bench_function("recloser", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                recloser
                    .call(async { Ok::<u64, ()>(black_box(1)) })
                    .await
                    .unwrap(),
            )
        })
    });
    group.bench_function("ractor_call", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(ractor::call!(k.echo, EchoMsg::Echo, black_box(1)).unwrap())
        })
    });
    group.bench_function("mpsc_floor", |b| {
        b.to_async(&rt).iter(|| async {
            let (tx, rx) = tokio::sync::oneshot::channel();
            k.mpsc.send((black_box(1), tx)).await.unwrap();
            black_box(rx.await.unwrap())
        })
    });
    group.finish();
    if full_run() {
        report_allocations(&rt, &k);
    }
    drop(k);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let k = rt.block_on(contestants());
    concurrent(c, &rt, &k);
    if full_run() {
        report_burst_rss(&rt, &k);
    }
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs each benchmark once without
/// it, and then the million-call reports are skipped.
fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Measures `iters` calls split over 64 tasks; `task(per)` builds one caller making `per` calls.
fn bench_64<F, Fut>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    name: &str,
    task: F,
) where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(CALLERS as u64);
            rt.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = (0..CALLERS).map(|_| tokio::spawn(task(per))).collect();
                for t in tasks {
                    t.await.unwrap();
                }
                start.elapsed()
            })
        })
    });
}

fn concurrent(c: &mut Criterion, rt: &tokio::runtime::Runtime, k: &Contestants) {
    let mut group = c.benchmark_group("guarded_call_64");
    group
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    bench_64(&mut group, rt, "bulwark", |per| {
        let h = k.bulwark.clone();
        async move {
            for i in 0..per {
                black_box(h.call(i, CallContext::untracked()).await.unwrap());
            }
        }
    });
    bench_64(&mut group, rt, "bulwark_open_reject", |per| {
        let h = k.open.clone();
        async move {
            for i in 0..per {
                black_box(h.call(i, CallContext::untracked()).await.is_err());
            }
        }
    });
    let svc = tower_stack();
    bench_64(&mut group, rt, "tower_stack", |per| {
        let mut svc = svc.clone();
        async move {
            for i in 0..per {
                black_box(svc.ready().await.unwrap().call(i).await.unwrap());
            }
        }
    });
    bench_64(&mut group, rt, "ractor_call", |per| {
        let echo = k.echo.clone();
        async move {
            for i in 0..per {
                black_box(ractor::call!(echo, EchoMsg::Echo, i).unwrap());
            }
        }
    });
    bench_64(&mut group, rt, "mpsc_floor", |per| {
        let tx = k.mpsc.clone();
        async move {
            for i in 0..per {
                let (otx, orx) = tokio::sync::oneshot::channel();
                tx.send((i, otx)).await.unwrap();
                black_box(orx.await.unwrap());
            }
        }
    });
    group.finish();
}

/// Heap allocations per successful call, measured over 1M calls after warm-up.
fn report_allocations(rt: &tokio::runtime::Runtime, k: &Contestants) {
    const N: u64 = 1_000_000;
    let h = k.bulwark.clone();
    let (allocs, calls) = rt.block_on(async move {
        tokio::spawn(async move {
            for i in 0..10_000 {
                h.call(i, CallContext::untracked()).await.unwrap();
            }
            let region = Region::new(GLOBAL);
            for i in 0..N {
                black_box(h.call(i, CallContext::untracked()).await.unwrap());
            }
            (region.change().allocations, N)
        })
        .await
        .unwrap()
    });
    #[allow(clippy::cast_precision_loss)]
    let per_call = allocs as f64 / calls as f64;
    println!(
        "allocations: bulwark success path: {allocs} allocations over {calls} calls = {per_call:.6} per call (process-wide, includes the actor's batched drains)"
    );
    let open = k.open.clone();
    let allocs = rt.block_on(async move {
        tokio::spawn(async move {
            let region = Region::new(GLOBAL);
            for i in 0..N {
                black_box(open.call(i, CallContext::untracked()).await.is_err());
            }
            region.change().allocations
        })
        .await
        .unwrap()
    });
    println!("allocations: bulwark open-circuit rejection: {allocs} over {N} calls");
}

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

/// A 1M-call burst through Bulwark (64 callers) against a 1M-message cast burst into ractor.
fn report_burst_rss(rt: &tokio::runtime::Runtime, k: &Contestants) {
    const N: u64 = 1_000_000;
    let before = rss_mib();
    let h = k.bulwark.clone();
    rt.block_on(async move {
        let tasks: Vec<_> = (0..CALLERS)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move {
                    for i in 0..N / CALLERS as u64 {
                        black_box(h.call(i, CallContext::untracked()).await.unwrap());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let after_bulwark = rss_mib();
    let echo = k.echo.clone();
    rt.block_on(async move {
        for i in 0..N {
            echo.cast(EchoMsg::Cast(i)).unwrap();
        }
        // Wait for the mailbox to drain.
        ractor::call!(echo, EchoMsg::Echo, 0).unwrap();
    });
    let after_ractor = rss_mib();
    println!(
        "rss: before {before:.1} MiB; after 1M Bulwark calls {after_bulwark:.1} MiB (+{:.1}); after 1M ractor casts {after_ractor:.1} MiB (+{:.1})",
        after_bulwark - before,
        after_ractor - after_bulwark
    );
}

/// Selection overhead: a pool of three endpoints against one dependency, same run.
fn pool(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (runtime, single, one, pool, hedged) = rt.block_on(async {
        let runtime = Runtime::builder()
            .dependency("pool_bench_single", Trivial, Policy::default())
            .build()
            .await
            .unwrap();
        let single = runtime.handle::<Trivial>("pool_bench_single").unwrap();
        let pool = Pool::builder("pool_bench")
            .endpoint("a", Trivial)
            .endpoint("b", Trivial)
            .endpoint("c", Trivial)
            .build(&runtime)
            .await
            .unwrap();
        let one = Pool::builder("pool_bench_one")
            .endpoint("a", Trivial)
            .build(&runtime)
            .await
            .unwrap();
        let hedged = Pool::builder("pool_bench_hedged")
            .endpoint("a", Trivial)
            .endpoint("b", Trivial)
            .endpoint("c", Trivial)
            .hedging(Hedging::fixed(Duration::from_millis(50)))
            .build(&runtime)
            .await
            .unwrap();
        (runtime, single, one, pool, hedged)
    });
    let mut group = c.benchmark_group("pool");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("single_dependency", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                single
                    .call(black_box(1), CallContext::untracked())
                    .await
                    .unwrap(),
            )
        })
    });
    group.bench_function("pool_3_endpoints", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                pool.call(black_box(1), CallContext::untracked())
                    .await
                    .unwrap(),
            )
        })
    });
    group.bench_function("pool_1_endpoint", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                one.call(black_box(1), CallContext::untracked())
                    .await
                    .unwrap(),
            )
        })
    });
    group.bench_function("pool_3_endpoints_hedged", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                hedged
                    .call(black_box(1), CallContext::untracked())
                    .await
                    .unwrap(),
            )
        })
    });
    group.finish();
    rt.block_on(runtime.shutdown());
}

criterion_group!(benches, single, pool);

fn main() {
    install_recorder();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
