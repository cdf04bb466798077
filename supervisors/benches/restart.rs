//! Supervision costs beside plain ractor, in the same run.
//!
//! Run with: `cargo bench -p bulwark-supervisors --bench restart`
//!
//! - `restart_latency`: from a child's panic to the restarted child answering a message (no
//!   backoff). Baseline: a plain ractor parent that respawns the child (`spawn_linked`) in its
//!   `handle_supervisor_evt`.
//! - `spawn_10k`: starting 10,000 children under one supervisor (`start_child` each). Baseline:
//!   10,000 `spawn_linked` under a plain parent. `bulwark_supervisor_spec` starts the same 10,000
//!   children from the supervisor's spec (no request round trip per child). The RSS growth of each (from `/proc/self/statm`)
//!   is printed before the timings.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use bulwark_supervisors::{ChildSpec, Strategy, Supervisor, SupervisorRef, SupervisorSpec};
use criterion::{Criterion, criterion_group, criterion_main};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

const N: usize = 10_000;

enum Msg {
    Panic,
    Ping(RpcReplyPort<()>),
}

/// Announces each incarnation (when asked to) and answers pings.
#[derive(Clone, Copy)]
struct Child;

type Announce = Option<mpsc::UnboundedSender<ActorRef<Msg>>>;

impl Actor for Child {
    type Msg = Msg;
    type State = ();
    type Arguments = Announce;

    async fn pre_start(
        &self,
        myself: ActorRef<Msg>,
        announce: Announce,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(tx) = announce {
            let _ = tx.send(myself);
        }
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<Msg>,
        msg: Msg,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            Msg::Panic => panic!("bench panic"),
            Msg::Ping(reply) => {
                let _ = reply.send(());
                Ok(())
            }
        }
    }
}

/// Plain ractor parent: respawns a failed child at once with the same arguments.
struct Parent;

impl Actor for Parent {
    type Msg = ();
    type State = Announce;
    type Arguments = Announce;

    async fn pre_start(
        &self,
        myself: ActorRef<()>,
        announce: Announce,
    ) -> Result<Announce, ActorProcessingErr> {
        if announce.is_some() {
            Actor::spawn_linked(None, Child, announce.clone(), myself.get_cell()).await?;
        }
        Ok(announce)
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        event: SupervisionEvent,
        announce: &mut Announce,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(..) = event {
            Actor::spawn_linked(None, Child, announce.clone(), myself.get_cell()).await?;
        }
        Ok(())
    }
}

async fn crash_and_ping(
    current: &mut ActorRef<Msg>,
    rx: &mut mpsc::UnboundedReceiver<ActorRef<Msg>>,
) {
    current.cast(Msg::Panic).unwrap();
    *current = rx.recv().await.unwrap();
    ractor::call!(current, Msg::Ping).unwrap();
}

fn restart_latency(c: &mut Criterion, rt: &Runtime) {
    let mut group = c.benchmark_group("restart_latency");

    let (tx, mut rx) = mpsc::unbounded_channel();
    let spec = SupervisorSpec::new(Strategy::OneForOne)
        .with_intensity(u32::MAX, Duration::from_secs(1))
        .with_child(ChildSpec::worker("child", Child, Some(tx)));
    let (sup, _) = rt.block_on(Supervisor::spawn(None, spec)).unwrap();
    let mut current = rt.block_on(rx.recv()).unwrap();
    group.bench_function("bulwark_supervisor", |b| {
        b.iter(|| rt.block_on(crash_and_ping(&mut current, &mut rx)));
    });
    rt.block_on(sup.stop());

    let (tx, mut rx) = mpsc::unbounded_channel();
    let (parent, _) = rt.block_on(Actor::spawn(None, Parent, Some(tx))).unwrap();
    let mut current = rt.block_on(rx.recv()).unwrap();
    group.bench_function("ractor_spawn_linked", |b| {
        b.iter(|| rt.block_on(crash_and_ping(&mut current, &mut rx)));
    });
    rt.block_on(parent.stop_and_wait(None, None)).unwrap();
    group.finish();
}

async fn supervised_10k() -> SupervisorRef {
    let (sup, _) = Supervisor::spawn(None, SupervisorSpec::new(Strategy::OneForOne))
        .await
        .unwrap();
    for i in 0..N {
        sup.start_child(ChildSpec::worker(format!("c{i}"), Child, None))
            .await
            .unwrap();
    }
    sup
}

async fn spec_10k() -> SupervisorRef {
    let children = (0..N)
        .map(|i| ChildSpec::worker(format!("c{i}"), Child, None))
        .collect();
    let spec = SupervisorSpec {
        children,
        ..SupervisorSpec::new(Strategy::OneForOne)
    };
    Supervisor::spawn(None, spec).await.unwrap().0
}

async fn plain_10k() -> ActorRef<()> {
    let (parent, _) = Actor::spawn(None, Parent, None).await.unwrap();
    for _ in 0..N {
        Actor::spawn_linked(None, Child, None, parent.get_cell())
            .await
            .unwrap();
    }
    parent
}

fn rss_bytes() -> u64 {
    // statm: size resident shared ... in pages (4 KiB on this machine).
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

fn report_rss(rt: &Runtime) {
    // Both trees stay alive while the other is measured, so neither reuses the other's freed memory.
    let before = rss_bytes();
    let plain = rt.block_on(plain_10k());
    let mid = rss_bytes();
    let sup = rt.block_on(supervised_10k());
    let after = rss_bytes();
    let kib = |b: u64| b as f64 / 1024.0;
    println!(
        "spawn_10k RSS delta: ractor_spawn_linked {:.0} KiB ({:.2} KiB/child), bulwark_supervisor {:.0} KiB ({:.2} KiB/child)",
        kib(mid - before),
        kib(mid - before) / N as f64,
        kib(after - mid),
        kib(after - mid) / N as f64
    );
    rt.block_on(sup.stop());
    rt.block_on(plain.stop_and_wait(None, None)).unwrap();
}

fn spawn_10k(c: &mut Criterion, rt: &Runtime) {
    report_rss(rt);
    let mut group = c.benchmark_group("spawn_10k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("bulwark_supervisor", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                let sup = rt.block_on(supervised_10k());
                total += t0.elapsed();
                rt.block_on(sup.stop());
            }
            total
        });
    });
    group.bench_function("bulwark_supervisor_spec", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                let sup = rt.block_on(spec_10k());
                total += t0.elapsed();
                rt.block_on(sup.stop());
            }
            total
        });
    });
    group.bench_function("ractor_spawn_linked", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                let parent = rt.block_on(plain_10k());
                total += t0.elapsed();
                rt.block_on(parent.stop_and_wait(None, None)).unwrap();
            }
            total
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    std::panic::set_hook(Box::new(|_| {})); // the restart bench panics on purpose, quietly
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    restart_latency(c, &rt);
    spawn_10k(c, &rt);
}

criterion_group! {
    name = restart;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(restart);
