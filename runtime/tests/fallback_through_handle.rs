//! The fallback chain as callers see it: cache, then function, then static answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bulwark_runtime::clock::Clock;
use bulwark_runtime::dependency::{AnswerSource, BreakerCommand, CallError};
use bulwark_runtime::fallback::{FallbackCause, FallbackChain, FallbackSource};
use bulwark_runtime::runtime::Runtime;
use support::{Scripted, Shared, ctx, no_retry_policy};

#[tokio::test(start_paused = true)]
async fn chain_order_cache_then_function_then_static() {
    let chain = FallbackChain::builder()
        .cache(
            |req: &u64| Some(req.to_string()),
            Duration::from_secs(60),
            100,
        )
        .function("halve", |req: &u64, _cause| {
            req.is_multiple_of(2).then_some(req / 2)
        })
        .static_value(0)
        .build();
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency_with_fallback(
            "dep",
            Shared(Arc::new(Scripted::default())),
            no_retry_policy(),
            chain,
        )
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Shared>("dep").unwrap();

    let answer = dep.call_or_fallback(7, ctx()).await.unwrap();
    assert_eq!((answer.value, answer.degraded()), (7, false));
    assert_eq!(answer.source_label(), "primary");

    dep.command(BreakerCommand::ForceOpen).await.unwrap();

    let cached = dep.call_or_fallback(7, ctx()).await.unwrap();
    assert_eq!(cached.value, 7);
    assert!(cached.degraded());
    assert_eq!(
        cached.source,
        AnswerSource::Fallback {
            source: FallbackSource::Cache,
            cause: FallbackCause::CircuitOpen
        }
    );

    let computed = dep.call_or_fallback(10, ctx()).await.unwrap();
    assert_eq!(
        (computed.value, computed.source_label().as_str()),
        (5, "halve")
    );

    let fixed = dep.call_or_fallback(11, ctx()).await.unwrap();
    assert_eq!((fixed.value, fixed.source_label().as_str()), (0, "static"));
    rt.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn no_chain_means_the_error_comes_back() {
    let rt = Runtime::builder()
        .clock(Clock::tokio())
        .dependency(
            "dep",
            Shared(Arc::new(Scripted::default())),
            no_retry_policy(),
        )
        .build()
        .await
        .unwrap();
    let dep = rt.handle::<Shared>("dep").unwrap();
    dep.command(BreakerCommand::ForceOpen).await.unwrap();
    assert!(matches!(
        dep.call_or_fallback(1, ctx()).await,
        Err(CallError::CircuitOpen { .. })
    ));
    rt.shutdown().await;
}
