//! Tail latency of the response pipeline with and without hedging, against a latency-injected
//! primary provider (the built-in simulator on loopback: 5 % of its answers take 300 ms) and a
//! healthy secondary.
//!
//! Run with: `cargo bench -p bulwark-services --bench hedging`
//!
//! Not a criterion bench: the figure of interest is the distribution of one request's latency
//! (p50, p95, p99, max), not a mean. Each configuration sends the same number of sequential
//! requests (cache off) through `ResponseService::respond` and prints one line:
//!
//! ```text
//! no hedging             n=600  p50=1.2ms  p95=2.0ms  p99=301.9ms  max=303.1ms  hedges=0 (won 0)
//! hedging after 50ms     n=600  p50=…
//! ```
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::responses::{
    HedgingConfig, ProviderConfig, ResponseConfig, ResponseRequest, ResponseService,
};
use bulwark_services::sentiment::{SentimentConfig, SentimentService};
use bulwark_services::simulator::{Faults, Simulator};

const REQUESTS: usize = 600;
const SLOW: Duration = Duration::from_millis(300);
const SLOW_SHARE: f64 = 0.05;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(
    label: &str,
    hedging: Option<HedgingConfig>,
    primary: &Simulator,
    secondary: &Simulator,
) {
    let runtime = Runtime::builder().build().await.expect("runtime");
    let sentiment = SentimentService::builder(SentimentConfig::default())
        .start(&runtime)
        .await
        .expect("sentiment");
    let config = ResponseConfig {
        providers: vec![
            ProviderConfig::openai("primary", format!("{}/v1", primary.base_url()), "sim"),
            ProviderConfig::openai("secondary", format!("{}/v1", secondary.base_url()), "sim"),
        ],
        hedging,
        cache_ttl: Duration::ZERO,
        ..ResponseConfig::default()
    };
    let responses = ResponseService::builder(config, sentiment)
        .start(&runtime)
        .await
        .expect("responses");
    let mut latencies = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let request = ResponseRequest::new(format!("Where is my parcel number {i}?"));
        let ctx = CallContext::untracked().with_timeout(Duration::from_secs(5));
        let start = Instant::now();
        let reply = responses
            .respond(&ctx, &request)
            .await
            .expect("valid request");
        latencies.push(start.elapsed());
        assert!(!reply.degraded, "a provider answers every request");
    }
    latencies.sort();
    let stats = responses
        .pool()
        .and_then(|pool| pool.hedge_stats())
        .unwrap_or_default();
    let ms = |d: Duration| format!("{:.1}ms", d.as_secs_f64() * 1000.0);
    println!(
        "{label:<28} n={REQUESTS}  p50={}  p95={}  p99={}  max={}  hedges={} (won {})",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 95.0)),
        ms(percentile(&latencies, 99.0)),
        ms(percentile(&latencies, 100.0)),
        stats.hedges,
        stats.hedge_wins,
    );
    runtime.shutdown().await;
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    tokio.block_on(async {
        bulwark_runtime::http::install_default_tls();
        let primary = Simulator::start(Default::default())
            .await
            .expect("simulator");
        primary
            .faults()
            .set(Faults {
                latency: SLOW,
                latency_rate: SLOW_SHARE,
                ..Faults::default()
            })
            .expect("faults");
        let secondary = Simulator::start(Default::default())
            .await
            .expect("simulator");
        println!(
            "primary: {:.0} % of answers take {} ms; secondary healthy; sequential requests",
            SLOW_SHARE * 100.0,
            SLOW.as_millis()
        );
        run("no hedging", None, &primary, &secondary).await;
        run(
            "hedging after 50ms",
            Some(HedgingConfig {
                delay: Some(Duration::from_millis(50)),
                max_share: 0.1,
            }),
            &primary,
            &secondary,
        )
        .await;
        run(
            "hedging after observed p95",
            Some(HedgingConfig::default()),
            &primary,
            &secondary,
        )
        .await;
        primary.stop().await;
        secondary.stop().await;
    });
}
