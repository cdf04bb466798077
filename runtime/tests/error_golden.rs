//! Golden tests of the wire format: one per error code, checking status, code, the exact key set
//! and the timestamp's shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::error::{
    DependencyFailure, Details, ErrorCode, ErrorResponse, ServiceError, Timestamp,
};
use serde_json::{Value, json};

const KEYS: [&str; 7] = [
    "error",
    "status_code",
    "message",
    "details",
    "error_code",
    "correlation_id",
    "timestamp",
];

/// Renders `error` for correlation ID `golden-1` and checks everything but the timestamp's value
/// against `expected` (which must not contain a timestamp).
fn assert_golden(error: &ServiceError, expected: Value) -> Value {
    let id = CorrelationId::parse("golden-1").unwrap();
    let mut actual = serde_json::to_value(error.to_response(&id)).unwrap();
    let object = actual.as_object_mut().unwrap();
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(keys, KEYS.into_iter().collect::<BTreeSet<_>>());
    let timestamp = object.remove("timestamp").unwrap();
    assert_timestamp(timestamp.as_str().unwrap());
    assert_eq!(actual, expected);
    actual
}

/// RFC 3339, UTC, exactly six fractional digits, `Z`: `2026-11-28T14:40:22.123456Z`.
fn assert_timestamp(text: &str) {
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 27, "{text}");
    for (i, b) in bytes.iter().enumerate() {
        let expected_digit = !matches!(i, 4 | 7 | 10 | 13 | 16 | 19 | 26);
        assert_eq!(b.is_ascii_digit(), expected_digit, "{text} at {i}");
    }
    assert_eq!(&text[4..5], "-");
    assert_eq!(&text[7..8], "-");
    assert_eq!(&text[10..11], "T");
    assert_eq!(&text[13..14], ":");
    assert_eq!(&text[16..17], ":");
    assert_eq!(&text[19..20], ".");
    assert_eq!(&text[26..], "Z");
    let parsed = chrono::DateTime::parse_from_rfc3339(text).unwrap();
    assert_eq!(parsed.offset().local_minus_utc(), 0);
}

fn expected(status: u16, code: &str, message: &str, details: Value) -> Value {
    json!({
        "error": true,
        "status_code": status,
        "message": message,
        "details": details,
        "error_code": code,
        "correlation_id": "golden-1",
    })
}

#[test]
fn auth_error_401_and_403() {
    let e = ServiceError::unauthorized("Missing bearer token");
    assert_golden(
        &e,
        expected(401, "AUTH_ERROR", "Missing bearer token", json!({})),
    );
    let e = ServiceError::forbidden("Not allowed");
    assert_golden(&e, expected(403, "AUTH_ERROR", "Not allowed", json!({})));
    assert!(!e.is_transient());
}

#[test]
fn validation_error_400_names_the_field() {
    let e = ServiceError::validation_field("text", "must not be empty");
    assert_golden(
        &e,
        expected(
            400,
            "VALIDATION_ERROR",
            "Validation error",
            json!({"text": "must not be empty"}),
        ),
    );
    assert_eq!(e.retry_after(), None);
}

#[test]
fn validation_error_413_for_an_oversized_body() {
    let e = ServiceError::PayloadTooLarge {
        limit_bytes: 1_048_576,
    };
    assert_golden(
        &e,
        expected(
            413,
            "VALIDATION_ERROR",
            "Request body too large",
            json!({"body": "must not be larger than 1048576 bytes"}),
        ),
    );
}

#[test]
fn resource_error_404_405_409() {
    let e = ServiceError::not_found("Job not found");
    assert_golden(
        &e,
        expected(404, "RESOURCE_ERROR", "Job not found", json!({})),
    );
    let e = ServiceError::conflict("User exists");
    assert_golden(
        &e,
        expected(409, "RESOURCE_ERROR", "User exists", json!({})),
    );
    let e = ServiceError::MethodNotAllowed {
        method: "DELETE".into(),
    };
    assert_golden(
        &e,
        expected(
            405,
            "RESOURCE_ERROR",
            "Method not allowed",
            json!({"method": "DELETE is not allowed on this resource"}),
        ),
    );
}

#[test]
fn rate_limit_error_429_with_retry_after_rounded_up() {
    let e = ServiceError::RateLimited {
        message: "Too many requests".into(),
        retry_after: Duration::from_millis(1_500),
    };
    assert_golden(
        &e,
        expected(429, "RATE_LIMIT_ERROR", "Too many requests", json!({})),
    );
    assert!(e.is_transient());
    assert_eq!(e.retry_after(), Some(Duration::from_millis(1_500)));
    assert_eq!(e.retry_after_secs(), Some(2));
}

#[test]
fn dependency_error_502_503_504() {
    for (failure, status) in [
        (DependencyFailure::BadGateway, 502),
        (DependencyFailure::Unavailable, 503),
        (DependencyFailure::Timeout, 504),
    ] {
        let e = ServiceError::Dependency {
            message: "Dependency 'llm' unavailable".into(),
            failure,
            details: Details::from([("dependency".to_owned(), "llm".to_owned())]),
            retry_after: Some(Duration::from_secs(30)),
            source: None,
        };
        assert_golden(
            &e,
            expected(
                status,
                "DEPENDENCY_ERROR",
                "Dependency 'llm' unavailable",
                json!({"dependency": "llm"}),
            ),
        );
        assert!(e.is_transient());
        assert_eq!(e.retry_after_secs(), Some(30));
    }
}

#[test]
fn processing_error_422() {
    let e = ServiceError::Processing {
        message: "Text is not in a supported language".into(),
        details: Details::from([("text".to_owned(), "language not supported".to_owned())]),
    };
    assert_golden(
        &e,
        expected(
            422,
            "PROCESSING_ERROR",
            "Text is not in a supported language",
            json!({"text": "language not supported"}),
        ),
    );
}

#[test]
fn system_error_500_never_leaks_the_cause() {
    let cause = std::io::Error::other("password=hunter2 at db.internal:5432");
    let e = ServiceError::system(cause);
    let body = assert_golden(
        &e,
        expected(500, "SYSTEM_ERROR", "Internal server error", json!({})),
    );
    assert!(!body.to_string().contains("hunter2"));
    // The cause stays on the error for the log and the source chain.
    assert!(e.to_string().contains("hunter2"));
    assert!(std::error::Error::source(&e).is_some());
    assert!(!e.is_transient());
}

#[test]
fn every_code_is_covered_and_round_trips() {
    let samples = [
        ServiceError::unauthorized("x"),
        ServiceError::validation_field("f", "p"),
        ServiceError::not_found("x"),
        ServiceError::RateLimited {
            message: "x".into(),
            retry_after: Duration::ZERO,
        },
        ServiceError::Dependency {
            message: "x".into(),
            failure: DependencyFailure::Unavailable,
            details: Details::new(),
            retry_after: None,
            source: None,
        },
        ServiceError::Processing {
            message: "x".into(),
            details: Details::new(),
        },
        ServiceError::system(std::fmt::Error),
    ];
    let codes: Vec<ErrorCode> = samples.iter().map(ServiceError::code).collect();
    assert_eq!(codes, ErrorCode::ALL);
    for e in &samples {
        let id = CorrelationId::generate();
        let body = e.to_response(&id);
        let text = serde_json::to_string(&body).unwrap();
        let back: ErrorResponse = serde_json::from_str(&text).unwrap();
        assert_eq!(back, body);
        assert_eq!(
            serde_json::to_value(e.code()).unwrap(),
            json!(e.code().as_str())
        );
    }
}

#[test]
fn timestamps_always_have_six_fractional_digits() {
    let whole_second = chrono::DateTime::parse_from_rfc3339("2026-11-28T14:40:22Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let t = Timestamp::from(whole_second);
    assert_eq!(t.to_string(), "2026-11-28T14:40:22.000000Z");
    let nanos = chrono::DateTime::parse_from_rfc3339("2026-11-28T14:40:22.123456789+02:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(
        Timestamp::from(nanos).to_string(),
        "2026-11-28T12:40:22.123456Z"
    );
    assert_timestamp(&Timestamp::now().to_string());
}
