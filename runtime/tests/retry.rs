//! Retry pieces on their own and combined the way a guarded call combines them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bulwark_runtime::clock::Moment;
use bulwark_runtime::retry::{
    Backoff, BudgetConfig, ExponentialBackoff, GiveUpReason, InvalidRetryConfig, RetryBudget,
    RetryDecision, RetryPolicy, RetryableFailure,
};
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const TRANSIENT: RetryableFailure = RetryableFailure {
    transient: true,
    retry_after: None,
    repeat_safe: true,
};

fn after(d: Duration) -> RetryableFailure {
    RetryableFailure {
        transient: true,
        retry_after: Some(d),
        repeat_safe: true,
    }
}

fn delay(decision: RetryDecision) -> Duration {
    match decision {
        RetryDecision::Retry { delay } => delay,
        RetryDecision::GiveUp(reason) => panic!("gave up: {reason}"),
    }
}

#[test]
fn seed_delays_lie_within_base_and_base_plus_jitter() {
    let policy = RetryPolicy::default();
    for _ in 0..500 {
        for (attempt, base) in [(1, 100), (2, 200), (3, 400)] {
            let d = delay(policy.decide(attempt, TRANSIENT, None));
            assert!(
                d >= ms(base) && d <= ms(base + 100),
                "attempt {attempt}: {d:?}"
            );
        }
    }
}

#[test]
fn delays_are_capped_at_max_plus_jitter() {
    let policy = RetryPolicy::builder().max_retries(50).build().unwrap();
    for attempt in [6, 7, 20, 50] {
        for _ in 0..100 {
            let d = delay(policy.decide(attempt, TRANSIENT, None));
            assert!(d >= ms(2_000) && d <= ms(2_100), "attempt {attempt}: {d:?}");
        }
    }
    let b = ExponentialBackoff::default();
    let huge = b.delay(u32::MAX);
    assert!(huge >= ms(2_000) && huge <= ms(2_100), "{huge:?}");
}

#[test]
fn retry_after_is_a_floor_up_to_its_cap() {
    let policy = RetryPolicy::builder()
        .max_retry_after(Duration::from_secs(5))
        .build()
        .unwrap();
    // A short Retry-After does not shorten the backoff.
    let d = delay(policy.decide(3, after(ms(1)), None));
    assert!(d >= ms(400), "{d:?}");
    // A longer one is waited out exactly.
    assert_eq!(
        delay(policy.decide(1, after(Duration::from_secs(5)), None)),
        Duration::from_secs(5)
    );
    assert_eq!(
        policy.decide(1, after(ms(5_001)), None),
        RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong)
    );
    // Waiting out the server must still fit the caller's deadline.
    assert_eq!(
        policy.decide(
            1,
            after(Duration::from_secs(2)),
            Some(Duration::from_secs(2))
        ),
        RetryDecision::GiveUp(GiveUpReason::DeadlineTooClose)
    );
}

#[test]
fn permanent_failures_and_spent_retries_stop_first() {
    let policy = RetryPolicy::default();
    let permanent = RetryableFailure {
        transient: false,
        retry_after: Some(ms(1)),
        repeat_safe: true,
    };
    assert_eq!(
        policy.decide(1, permanent, Some(Duration::from_secs(60))),
        RetryDecision::GiveUp(GiveUpReason::Permanent)
    );
    assert_eq!(
        policy.decide(4, after(Duration::from_secs(600)), None),
        RetryDecision::GiveUp(GiveUpReason::MaxRetries)
    );
    assert_eq!(
        RetryPolicy::disabled().decide(1, TRANSIENT, None),
        RetryDecision::GiveUp(GiveUpReason::MaxRetries)
    );
}

#[test]
fn no_retry_that_would_end_at_or_past_the_deadline() {
    let policy = RetryPolicy::default();
    // The first delay is at least 100 ms: with 100 ms left it can never fit.
    for _ in 0..100 {
        assert_eq!(
            policy.decide(1, TRANSIENT, Some(ms(100))),
            RetryDecision::GiveUp(GiveUpReason::DeadlineTooClose)
        );
        assert!(matches!(
            policy.decide(1, TRANSIENT, Some(ms(201))),
            RetryDecision::Retry { .. }
        ));
    }
}

#[test]
fn give_up_reasons_read_well() {
    let texts: Vec<String> = [
        GiveUpReason::Permanent,
        GiveUpReason::MaxRetries,
        GiveUpReason::DeadlineTooClose,
        GiveUpReason::RetryAfterTooLong,
        GiveUpReason::NotIdempotent,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        texts,
        [
            "failure not retryable",
            "retries exhausted",
            "deadline too close to retry",
            "server asked to wait too long",
            "not idempotent and may have reached the dependency"
        ]
    );
}

#[test]
fn bad_settings_are_refused_when_built() {
    assert_eq!(
        ExponentialBackoff::new(ms(1), 0.99, ms(10), ms(0)),
        Err(InvalidRetryConfig::Multiplier(0.99))
    );
    assert!(ExponentialBackoff::new(ms(1), f64::INFINITY, ms(10), ms(0)).is_err());
    assert!(matches!(
        ExponentialBackoff::new(ms(11), 2.0, ms(10), ms(0)),
        Err(InvalidRetryConfig::InitialAboveMax { .. })
    ));
    assert!(ExponentialBackoff::new(ms(10), 1.0, ms(10), ms(0)).is_ok());
    for ratio in [0.0, 0.2, 1000.0] {
        assert!(RetryBudget::new(Duration::from_secs(10), 0, ratio).is_ok());
    }
    for ratio in [-0.1, 1000.5, f32::INFINITY, f32::NAN] {
        assert!(RetryBudget::new(Duration::from_secs(10), 0, ratio).is_err());
    }
    for ttl in [ms(999), Duration::from_secs(61)] {
        assert_eq!(
            RetryBudget::new(ttl, 0, 0.2).unwrap_err(),
            InvalidRetryConfig::BudgetTtl(ttl)
        );
    }
    let bad_budget = BudgetConfig {
        retry_ratio: 2_000.0,
        ..BudgetConfig::default()
    };
    assert!(RetryPolicy::builder().budget(bad_budget).build().is_err());
    assert!(toml::from_str::<RetryPolicy>("max_retires = 3\n").is_err());
    assert!(toml::from_str::<RetryPolicy>("[backoff]\ninitial = \"5s\"\n").is_err());
}

#[test]
fn budget_caps_retries_under_steady_load() {
    // 100 requests per second for a minute, every one failing and wanting 3 retries.
    let budget = RetryBudget::new(Duration::from_secs(10), 10, 0.2).unwrap();
    let (mut requests, mut retries) = (0u64, 0u64);
    let (mut late_requests, mut late_retries) = (0u64, 0u64);
    for tick in 0..6_000u64 {
        let now = Moment::ZERO + ms(tick * 10);
        budget.deposit(now);
        requests += 1;
        let mut granted = 0;
        while granted < 3 && budget.try_withdraw(now) {
            granted += 1;
        }
        retries += granted;
        if tick >= 3_000 {
            late_requests += 1;
            late_retries += granted;
        }
    }
    assert_eq!(requests, 6_000);
    // Without the budget: 18,000 retries. With it, in steady state: 20 % of the requests plus the
    // reserve of 10/s = 20 + 10 per 100 requests.
    assert!(retries < 6_000 * 30 / 100 + 400, "{retries}");
    let share = late_retries as f64 / late_requests as f64;
    assert!((0.28..=0.32).contains(&share), "steady-state share {share}");
}

#[test]
fn budget_refills_as_the_window_slides() {
    let budget = RetryBudget::new(Duration::from_secs(10), 0, 0.5).unwrap();
    let t0 = Moment::ZERO + Duration::from_secs(100);
    for _ in 0..10 {
        budget.deposit(t0);
    }
    let mut spent = 0;
    while budget.try_withdraw(t0) {
        spent += 1;
    }
    assert_eq!(spent, 5);
    // New traffic later in the window buys new retries, the spent ones still count.
    for _ in 0..4 {
        budget.deposit(t0 + Duration::from_secs(5));
    }
    assert_eq!(budget.available(t0 + Duration::from_secs(5)), 2);
    // Once the first second's deposits and withdrawals leave the window, only the later
    // deposits remain.
    assert_eq!(budget.available(t0 + Duration::from_secs(11)), 2);
    assert_eq!(budget.available(t0 + Duration::from_secs(16)), 0);
}

/// The pieces combined as a guarded call combines them, on paused time: decide, then the budget,
/// then sleep — and the whole call never outlives its deadline.
#[tokio::test(start_paused = true)]
async fn a_retry_loop_never_sleeps_past_the_deadline() {
    let policy = RetryPolicy::builder().max_retries(10).build().unwrap();
    let budget = RetryBudget::from_config(policy.budget_config()).unwrap();
    let start = tokio::time::Instant::now();
    let deadline = start + Duration::from_secs(3);
    let mut attempt = 1;
    budget.deposit(Moment::ZERO);
    let reason = loop {
        // The attempt itself: fails after 50 ms.
        tokio::time::sleep(ms(50)).await;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match policy.decide(attempt, TRANSIENT, Some(left)) {
            RetryDecision::Retry { delay } => {
                assert!(budget.try_withdraw(Moment::ZERO + start.elapsed()));
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            RetryDecision::GiveUp(reason) => break reason,
        }
    };
    assert_eq!(reason, GiveUpReason::DeadlineTooClose);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!((4..=6).contains(&attempt), "{attempt} attempts");
}

proptest! {
    /// Whatever the failure and the time left, a retry's delay fits the deadline, honours the
    /// server's floor and stays under the cap (plus jitter) unless the server asked for more.
    #[test]
    fn decisions_respect_deadline_floor_and_cap(
        attempt in 1u32..8,
        retry_after in proptest::option::of(0u64..40_000),
        time_left in proptest::option::of(0u64..5_000),
        transient in any::<bool>(),
        repeat_safe in any::<bool>(),
        retry_non_idempotent in any::<bool>(),
    ) {
        let policy = RetryPolicy::builder()
            .max_retries(5)
            .retry_non_idempotent(retry_non_idempotent)
            .build()
            .unwrap();
        let failure = RetryableFailure { transient, retry_after: retry_after.map(ms), repeat_safe };
        match policy.decide(attempt, failure, time_left.map(ms)) {
            RetryDecision::Retry { delay } => {
                prop_assert!(transient && attempt <= 5);
                prop_assert!(repeat_safe || retry_non_idempotent);
                prop_assert!(time_left.is_none_or(|left| delay < ms(left)));
                prop_assert!(retry_after.is_none_or(|a| delay >= ms(a)));
                let base = policy.backoff().base_delay(attempt);
                prop_assert!(delay >= base);
                prop_assert!(delay <= (base + ms(100)).max(retry_after.map_or(Duration::ZERO, ms)));
            }
            RetryDecision::GiveUp(GiveUpReason::Permanent) => prop_assert!(!transient),
            RetryDecision::GiveUp(GiveUpReason::NotIdempotent) => {
                prop_assert!(transient && !repeat_safe && !retry_non_idempotent);
            }
            RetryDecision::GiveUp(GiveUpReason::MaxRetries) => prop_assert!(attempt > 5),
            RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong) => {
                prop_assert!(retry_after.is_some_and(|a| ms(a) > Duration::from_secs(30)));
            }
            RetryDecision::GiveUp(GiveUpReason::DeadlineTooClose) => {
                prop_assert!(time_left.is_some());
            }
        }
    }

    /// Single-threaded, within one window, the budget never grants more than
    /// `ratio × requests + reserve`.
    #[test]
    fn budget_never_grants_more_than_it_holds(
        steps in proptest::collection::vec((0u64..30, any::<bool>()), 1..300),
        ratio in 0.0f32..2.0,
        reserve in 0u32..5,
    ) {
        let budget = RetryBudget::new(Duration::from_secs(10), reserve, ratio).unwrap();
        let mut now = Moment::ZERO;
        let (mut deposits, mut granted) = (0u64, 0u64);
        for (gap, is_request) in steps {
            now = now + ms(gap);
            if is_request {
                budget.deposit(now);
                deposits += 1;
            } else if budget.try_withdraw(now) {
                granted += 1;
            }
        }
        let ceiling = (f64::from(ratio) * deposits as f64).ceil() as u64 + u64::from(reserve) * 10;
        prop_assert!(granted <= ceiling, "{granted} > {ceiling}");
    }
}
