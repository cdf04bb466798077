//! Tests of config validation (one per rule) and of its TOML/serde form.

use std::time::Duration;

use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn refused(builder: BreakerConfigBuilder) -> InvalidConfig {
    builder.build().unwrap_err()
}

#[test]
fn seed_defaults() {
    let c = BreakerConfig::default();
    assert_eq!(c, BreakerConfig::builder().build().unwrap());
    assert_eq!(c.window(), &WindowKind::Count { size: 100 });
    assert_eq!(c.failure_rate_threshold(), 50.0);
    assert_eq!(c.slow_call_rate_threshold(), 100.0);
    assert_eq!(c.slow_call_duration(), secs(5));
    assert_eq!(c.minimum_calls(), 20);
    assert_eq!(c.reset_timeout(), secs(30));
    assert_eq!(c.reset_backoff(), None);
    assert_eq!(c.half_open_permits(), 5);
}

#[test]
fn thresholds_must_be_percentages() {
    for bad in [0.0, -1.0, 100.5, f64::NAN, f64::INFINITY] {
        let e = refused(BreakerConfig::builder().failure_rate_threshold(bad));
        assert!(
            matches!(e, InvalidConfig::FailureRateThreshold { .. }),
            "{bad}"
        );
        assert!(e.to_string().contains("failure_rate_threshold"), "{e}");
        assert!(e.to_string().contains("(0, 100]"), "{e}");
        let e = refused(BreakerConfig::builder().slow_call_rate_threshold(bad));
        assert!(
            matches!(e, InvalidConfig::SlowCallRateThreshold { .. }),
            "{bad}"
        );
        assert!(e.to_string().contains("slow_call_rate_threshold"), "{e}");
    }
    for good in [0.01, 50.0, 100.0] {
        BreakerConfig::builder()
            .failure_rate_threshold(good)
            .slow_call_rate_threshold(good)
            .build()
            .unwrap();
    }
}

#[test]
fn each_rule_has_its_error() {
    let b = BreakerConfig::builder;
    assert_eq!(
        refused(b().slow_call_duration(Duration::ZERO)),
        InvalidConfig::SlowCallDuration
    );
    assert_eq!(
        refused(b().minimum_calls(0)),
        InvalidConfig::MinimumCalls { value: 0 }
    );
    assert_eq!(
        refused(b().reset_timeout(Duration::ZERO)),
        InvalidConfig::ResetTimeout
    );
    assert_eq!(
        refused(b().half_open_permits(0)),
        InvalidConfig::HalfOpenPermits {
            value: 0,
            max: MAX_HALF_OPEN_PERMITS
        }
    );
    let e = refused(b().half_open_permits(0));
    assert!(e.to_string().contains("half_open_permits"), "{e}");
}

#[test]
fn window_rules() {
    let b = |window| BreakerConfig::builder().window(window);
    assert!(matches!(
        refused(b(WindowKind::Count { size: 0 })),
        InvalidConfig::CountWindowSize { size: 0, .. }
    ));
    assert!(matches!(
        refused(b(WindowKind::Count {
            size: MAX_WINDOW_SLOTS + 1
        })),
        InvalidConfig::CountWindowSize { .. }
    ));
    let time = |size, buckets| WindowKind::Time { size, buckets };
    assert!(matches!(
        refused(b(time(Duration::ZERO, 1))),
        InvalidConfig::TimeWindowSize { .. }
    ));
    assert!(matches!(
        refused(b(time(Duration::from_micros(1500), 1))),
        InvalidConfig::TimeWindowSize { .. }
    ));
    assert!(matches!(
        refused(b(time(secs(10), 0))),
        InvalidConfig::TimeWindowBuckets {
            buckets: 0,
            max: 10_000
        }
    ));
    assert!(matches!(
        refused(b(time(Duration::from_millis(5), 6))),
        InvalidConfig::TimeWindowBuckets { buckets: 6, max: 5 }
    ));
    let e = refused(b(time(secs(10), 7)));
    assert!(matches!(
        e,
        InvalidConfig::TimeWindowUneven { buckets: 7, .. }
    ));
    assert!(e.to_string().contains("window.buckets"), "{e}");
    b(time(Duration::from_millis(5), 5)).build().unwrap();
    b(time(secs(60), 60)).build().unwrap();
}

#[test]
fn minimum_calls_may_exceed_a_count_window() {
    let c = BreakerConfig::builder()
        .window(WindowKind::Count { size: 10 })
        .build()
        .unwrap();
    assert_eq!((c.minimum_calls(), c.effective_minimum_calls()), (20, 10));
    let t = BreakerConfig::builder()
        .window(WindowKind::Time {
            size: secs(10),
            buckets: 10,
        })
        .build()
        .unwrap();
    assert_eq!(t.effective_minimum_calls(), 20);
}

#[test]
fn backoff_rules() {
    let b =
        |multiplier, max| BreakerConfig::builder().reset_backoff(ResetBackoff { multiplier, max });
    let e = refused(b(0.5, secs(60)));
    assert_eq!(e, InvalidConfig::BackoffMultiplier { value: 0.5 });
    assert!(e.to_string().contains("reset_backoff.multiplier"), "{e}");
    assert!(matches!(
        refused(b(f64::INFINITY, secs(60))),
        InvalidConfig::BackoffMultiplier { .. }
    ));
    assert_eq!(
        refused(b(2.0, secs(10))),
        InvalidConfig::BackoffMax {
            max: secs(10),
            reset_timeout: secs(30)
        }
    );
    let c = b(1.0, secs(30)).build().unwrap();
    assert_eq!(c.reset_timeout_for(10), secs(30));
    let c = b(1.5, secs(100)).build().unwrap();
    let got: Vec<_> = (1..=5).map(|n| c.reset_timeout_for(n)).collect();
    assert_eq!(
        got,
        [
            secs(30),
            secs(45),
            Duration::from_millis(67_500),
            secs(100),
            secs(100)
        ]
    );
    assert_eq!(c.reset_timeout_for(u32::MAX), secs(100));
    assert!(BreakerConfig::builder().reset_backoff(None).build().is_ok());
}

#[test]
fn toml_with_humantime_durations() {
    let c: BreakerConfig = toml::from_str(
        r#"
        window = { kind = "time", size = "1m", buckets = 60 }
        failure_rate_threshold = 25.0
        slow_call_duration = "2s 500ms"
        reset_timeout = "30s"
        reset_backoff = { multiplier = 2.0, max = "5m" }
        half_open_permits = 3
        "#,
    )
    .unwrap();
    let expected = BreakerConfig::builder()
        .window(WindowKind::Time {
            size: secs(60),
            buckets: 60,
        })
        .failure_rate_threshold(25.0)
        .slow_call_duration(Duration::from_millis(2500))
        .reset_backoff(ResetBackoff {
            multiplier: 2.0,
            max: secs(300),
        })
        .half_open_permits(3)
        .build()
        .unwrap();
    assert_eq!(c, expected);
    let text = toml::to_string(&c).unwrap();
    assert!(text.contains("reset_timeout = \"30s\""), "{text}");
    assert_eq!(toml::from_str::<BreakerConfig>(&text).unwrap(), c);
}

#[test]
fn missing_fields_take_defaults_and_defaults_round_trip() {
    assert_eq!(
        toml::from_str::<BreakerConfig>("").unwrap(),
        BreakerConfig::default()
    );
    let text = toml::to_string(&BreakerConfig::default()).unwrap();
    assert!(!text.contains("reset_backoff"), "{text}");
    assert_eq!(
        toml::from_str::<BreakerConfig>(&text).unwrap(),
        BreakerConfig::default()
    );
    let json = serde_json::to_string(&BreakerConfig::default()).unwrap();
    assert_eq!(
        serde_json::from_str::<BreakerConfig>(&json).unwrap(),
        BreakerConfig::default()
    );
}

#[test]
fn deserializing_validates() {
    let e = toml::from_str::<BreakerConfig>("failure_rate_threshold = 150.0").unwrap_err();
    assert!(e.to_string().contains("failure_rate_threshold"), "{e}");
    let e = toml::from_str::<BreakerConfig>("window = { kind = \"count\", size = 0 }").unwrap_err();
    assert!(e.to_string().contains("window.size"), "{e}");
    assert!(toml::from_str::<BreakerConfig>("nonsense = 1").is_err());
    assert!(toml::from_str::<BreakerConfig>("reset_timeout = \"soon\"").is_err());
    assert!(toml::from_str::<BreakerConfig>("window = { kind = \"ring\", size = 3 }").is_err());
}
