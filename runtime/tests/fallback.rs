//! The fallback chain on its own: order, skipping, TTL, causes, capacity.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bulwark_runtime::fallback::{Degraded, FallbackCause, FallbackChain, FallbackSource};
use tokio::time::Instant;

type Chain = FallbackChain<u32, String>;

/// Cache for requests below 100, "even" for even requests, "big" for requests above 1000, then a
/// static answer.
fn full_chain() -> Chain {
    FallbackChain::builder()
        // Builder order does not matter: the static answer is still tried last.
        .static_value("off".to_owned())
        .function("even", |r: &u32, _| {
            r.is_multiple_of(2).then(|| format!("even {r}"))
        })
        .function("big", |r: &u32, _| (*r > 1000).then(|| format!("big {r}")))
        .cache(
            |r: &u32| (*r < 100).then(|| r.to_string()),
            Duration::from_secs(60),
            1_000,
        )
        .build()
}

fn source(answer: Option<Degraded<String>>) -> Option<FallbackSource> {
    answer.map(|a| a.source)
}

#[tokio::test(start_paused = true)]
async fn stages_are_tried_in_order_and_skipped_when_empty() {
    let chain = full_chain();
    let cause = FallbackCause::CircuitOpen;
    chain.remember(&4, &"four".to_owned());
    chain.remember(&501, &"never cached: no key".to_owned());

    // Cache first, even though the function would answer too.
    let hit = chain.recover(&4, cause).unwrap();
    assert_eq!(
        (hit.value.as_str(), hit.source),
        ("four", FallbackSource::Cache)
    );
    // Cache miss (no entry) → first function.
    assert_eq!(
        source(chain.recover(&6, cause)),
        Some(FallbackSource::Function("even"))
    );
    // Request without a cache key → functions; the first declines, the second answers.
    assert_eq!(
        source(chain.recover(&1001, cause)),
        Some(FallbackSource::Function("big"))
    );
    // Everything declines → static.
    assert_eq!(
        chain.recover(&501, cause).map(|a| a.value),
        Some("off".to_owned())
    );
    assert_eq!(
        source(chain.recover(&7, cause)),
        Some(FallbackSource::Static)
    );
}

#[test]
fn a_chain_without_static_answer_may_have_none() {
    let chain = FallbackChain::<u32, u32>::builder()
        .function("double_small", |r: &u32, _| (*r < 10).then(|| r * 2))
        .build();
    assert_eq!(
        chain.recover(&3, FallbackCause::Timeout),
        Some(Degraded {
            value: 6,
            source: FallbackSource::Function("double_small")
        })
    );
    assert_eq!(chain.recover(&30, FallbackCause::Timeout), None);
}

#[test]
fn functions_see_the_cause() {
    let chain = FallbackChain::<(), &'static str>::builder()
        .function("why", |_: &(), cause| match cause {
            FallbackCause::BulkheadFull => Some("busy"),
            FallbackCause::CircuitOpen => Some("down"),
            _ => None,
        })
        .build();
    let value = |cause| chain.recover(&(), cause).map(|a| a.value);
    assert_eq!(value(FallbackCause::BulkheadFull), Some("busy"));
    assert_eq!(value(FallbackCause::CircuitOpen), Some("down"));
    assert_eq!(value(FallbackCause::Timeout), None);
}

#[test]
fn cache_ttl_is_exact_with_explicit_time() {
    let chain = full_chain();
    let t0 = Instant::now();
    chain.remember_at(&1, &"one".to_owned(), t0);
    let at = |secs| chain.recover_at(&1, FallbackCause::Timeout, t0 + Duration::from_secs(secs));
    assert_eq!(source(at(0)), Some(FallbackSource::Cache));
    assert_eq!(source(at(59)), Some(FallbackSource::Cache));
    assert_eq!(
        source(at(60)),
        Some(FallbackSource::Static),
        "TTL is exclusive"
    );
    // A newer good answer restarts the clock.
    chain.remember_at(&1, &"uno".to_owned(), t0 + Duration::from_secs(100));
    assert_eq!(at(130).unwrap().value, "uno");
    assert_eq!(chain.cache_ttl(), Some(Duration::from_secs(60)));
}

#[tokio::test(start_paused = true)]
async fn cache_ttl_follows_paused_tokio_time() {
    let chain = full_chain();
    chain.remember(&2, &"two".to_owned());
    tokio::time::advance(Duration::from_millis(59_999)).await;
    assert_eq!(
        source(chain.recover(&2, FallbackCause::Timeout)),
        Some(FallbackSource::Cache)
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(
        source(chain.recover(&2, FallbackCause::Timeout)),
        Some(FallbackSource::Function("even")),
        "expired entries fall through to the next stage"
    );
}

#[test]
fn default_triggers_leave_permanent_failures_alone() {
    let chain = full_chain();
    for cause in FallbackCause::ALL {
        assert_eq!(
            chain.triggers_on(cause),
            cause != FallbackCause::Failed,
            "{cause}"
        );
    }
    let custom = FallbackChain::<u32, String>::builder()
        .on(&[FallbackCause::CircuitOpen, FallbackCause::BulkheadFull])
        .build();
    assert!(custom.triggers_on(FallbackCause::CircuitOpen));
    assert!(custom.triggers_on(FallbackCause::BulkheadFull));
    assert!(!custom.triggers_on(FallbackCause::Timeout));
    let never = FallbackChain::<u32, String>::builder().on(&[]).build();
    assert!(FallbackCause::ALL.iter().all(|c| !never.triggers_on(*c)));
}

#[test]
fn cache_capacity_is_bounded() {
    let chain = FallbackChain::<u32, u32>::builder()
        .cache(|r: &u32| Some(r.to_string()), Duration::from_secs(60), 16)
        .build();
    for r in 0..5_000 {
        chain.remember(&r, &r);
    }
    let held = chain.cached_entries();
    assert!(held > 0 && held <= 16, "{held} entries");
}

#[test]
fn clones_share_one_cache() {
    let chain = full_chain();
    let other = chain.clone();
    other.remember(&9, &"nine".to_owned());
    assert_eq!(
        chain.recover(&9, FallbackCause::Timeout).unwrap().value,
        "nine"
    );
    assert!(chain.has_cache() && other.has_cache());
    let text = format!("{chain:?}");
    assert!(text.contains("even") && text.contains("big"), "{text}");
}

#[test]
fn chains_cross_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<FallbackChain<String, String>>();
    let chain = full_chain();
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let chain = chain.clone();
            std::thread::spawn(move || {
                for r in 0..25 {
                    chain.remember(&(t * 25 + r), &format!("v{t}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(chain.cached_entries(), 100);
}
