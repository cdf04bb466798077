//! Correlation ID edge cases: which incoming header values are kept and which are replaced.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::correlation::{CORRELATION_HEADER, CorrelationId, MAX_CORRELATION_LEN};
use bulwark_runtime::dependency::CallContext;

fn is_generated(id: &CorrelationId) -> bool {
    uuid::Uuid::parse_str(id.as_str()).is_ok_and(|u| u.get_version_num() == 7)
}

#[test]
fn a_valid_value_is_kept_verbatim() {
    for value in [
        "req-42",
        "a",
        "01JD-abc_DEF.123:x/y",
        "~!@#$%^&*()_+{}|:<>?",
    ] {
        let id = CorrelationId::from_header(Some(value));
        assert_eq!(id.as_str(), value);
        assert_eq!(id.to_string(), value);
    }
}

#[test]
fn an_absent_header_gets_a_fresh_uuid_v7() {
    let a = CorrelationId::from_header(None);
    let b = CorrelationId::from_header(None);
    assert!(is_generated(&a), "{a}");
    assert_ne!(a, b);
}

#[test]
fn generated_ids_sort_in_creation_order_on_a_thread_and_never_repeat_across_threads() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let ids: Vec<String> = (0..5_000)
                    .map(|_| CorrelationId::generate().as_str().to_owned())
                    .collect();
                assert!(ids.windows(2).all(|w| w[0] < w[1]), "not increasing");
                ids
            })
        })
        .collect();
    let mut all = std::collections::HashSet::new();
    for thread in threads {
        for id in thread.join().unwrap() {
            assert!(all.insert(id), "an ID repeated");
        }
    }
    assert_eq!(all.len(), 20_000);
}

#[test]
fn an_empty_value_is_replaced() {
    assert!(CorrelationId::parse("").is_none());
    assert!(is_generated(&CorrelationId::from_header(Some(""))));
}

#[test]
fn one_hundred_twenty_eight_chars_are_accepted_and_one_more_is_not() {
    let max = "x".repeat(MAX_CORRELATION_LEN);
    assert_eq!(MAX_CORRELATION_LEN, 128);
    assert_eq!(CorrelationId::from_header(Some(&max)).as_str(), max);
    let over = "x".repeat(MAX_CORRELATION_LEN + 1);
    assert!(CorrelationId::parse(&over).is_none());
    assert!(is_generated(&CorrelationId::from_header(Some(&over))));
}

#[test]
fn control_characters_are_rejected() {
    for value in ["abc\n", "a\rb", "\t", "a\u{0}b", "x\u{7f}"] {
        assert!(CorrelationId::parse(value).is_none(), "{value:?}");
        assert!(is_generated(&CorrelationId::from_header(Some(value))));
    }
}

#[test]
fn spaces_are_rejected() {
    for value in [" ", "a b", " leading", "trailing "] {
        assert!(CorrelationId::parse(value).is_none(), "{value:?}");
    }
}

#[test]
fn non_ascii_is_rejected() {
    for value in ["café", "ид", "🙂", "a\u{a0}b"] {
        assert!(CorrelationId::parse(value).is_none(), "{value:?}");
        assert!(is_generated(&CorrelationId::from_header(Some(value))));
    }
}

#[test]
fn serde_keeps_valid_ids_and_refuses_invalid_ones() {
    let id = CorrelationId::parse("req-1").unwrap();
    assert_eq!(serde_json::to_string(&id).unwrap(), "\"req-1\"");
    let back: CorrelationId = serde_json::from_str("\"req-1\"").unwrap();
    assert_eq!(back, id);
    assert!(serde_json::from_str::<CorrelationId>("\"a b\"").is_err());
}

#[test]
fn the_header_name_is_lowercase_for_http_crates() {
    assert_eq!(CORRELATION_HEADER, "x-correlation-id");
    assert!(http::HeaderName::from_static(CORRELATION_HEADER) == "X-Correlation-ID");
}

#[test]
fn a_call_context_carries_identity_deadline_priority_and_idempotence() {
    let id = CorrelationId::parse("env-9").unwrap();
    let deadline = tokio::time::Instant::now();
    let ctx = CallContext::new(id.clone())
        .with_priority(Priority::Critical)
        .with_deadline(deadline)
        .idempotent(false);
    assert_eq!(ctx.correlation_id(), &id);
    assert_eq!(ctx.priority(), Priority::Critical);
    assert_eq!(ctx.deadline(), Some(deadline));
    assert!(!ctx.is_idempotent());
    let later = deadline + std::time::Duration::from_secs(5);
    assert_eq!(
        ctx.clone().with_deadline_at_most(later).deadline(),
        Some(deadline)
    );
    let earlier = deadline - std::time::Duration::from_millis(1);
    assert_eq!(ctx.with_deadline_at_most(earlier).deadline(), Some(earlier));
    assert!(CallContext::untracked().is_idempotent());
    assert_eq!(Priority::Critical.as_str(), "critical");
    assert_eq!(Priority::NonCritical.as_str(), "non_critical");
    assert_eq!(Priority::default(), Priority::NonCritical);
}
