//! Starting telemetry: trace export only when `[telemetry] otlp_endpoint` is set, and a bad
//! endpoint is a typed error before anything is installed. One test, as it installs the process's
//! global subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error as _;

use bulwark_runtime::telemetry::{
    self, LogFormat, TelemetryConfig, TelemetryError, init_with, otlp_endpoint, trace_export,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_is_installed_only_for_a_valid_endpoint() {
    bulwark_runtime::http::install_default_tls();

    // Invalid endpoints are refused, with the cause kept.
    let err = init_with(
        LogFormat::Json,
        "info",
        &TelemetryConfig::with_otlp_endpoint("not a url"),
    )
    .unwrap_err();
    assert!(
        matches!(err, TelemetryError::InvalidEndpoint { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("telemetry.otlp_endpoint"));
    assert!(err.source().is_some());
    for bad in ["ftp://127.0.0.1:4318", "unix:/tmp/otel.sock"] {
        let err = trace_export(&TelemetryConfig::with_otlp_endpoint(bad)).unwrap_err();
        assert!(
            matches!(err, TelemetryError::UnsupportedEndpoint { .. }),
            "{bad}: {err}"
        );
    }
    let bad_filter = TelemetryConfig {
        filter: "[[[".into(),
        ..TelemetryConfig::with_otlp_endpoint("http://127.0.0.1:4318")
    };
    assert!(matches!(
        trace_export(&bad_filter),
        Err(TelemetryError::InvalidTraceFilter { .. })
    ));

    // A base URL gets the traces path; a full URL is kept.
    let base = TelemetryConfig::with_otlp_endpoint("http://127.0.0.1:4318");
    assert_eq!(
        otlp_endpoint(&base).unwrap().unwrap().as_str(),
        "http://127.0.0.1:4318/v1/traces"
    );
    let full = TelemetryConfig::with_otlp_endpoint("https://collector.example:4318/otlp/v1/traces");
    assert_eq!(
        otlp_endpoint(&full).unwrap().unwrap().path(),
        "/otlp/v1/traces"
    );

    // A valid endpoint builds an exporter (nothing is sent until a span ends).
    let (_, guard) = trace_export(&base).unwrap().expect("export configured");
    assert!(guard.is_exporting());
    guard.shutdown().await.unwrap();

    // Outside a runtime it is a typed error, not a panic.
    let err = std::thread::spawn(move || trace_export(&base).map(|_| ()))
        .join()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, TelemetryError::NoRuntime), "{err}");

    // Unset: no exporter and no OpenTelemetry layer.
    assert!(
        otlp_endpoint(&TelemetryConfig::default())
            .unwrap()
            .is_none()
    );
    assert!(trace_export(&TelemetryConfig::default()).unwrap().is_none());
    let guard = init_with(LogFormat::Json, "info", &TelemetryConfig::default()).unwrap();
    assert!(!guard.is_exporting());
    let span = tracing::info_span!("request", correlation_id = "x");
    let _entered = span.enter();
    assert!(telemetry::current_traceparent().is_none());

    // Only one global subscriber.
    assert!(matches!(
        telemetry::init(LogFormat::Json, "info"),
        Err(TelemetryError::AlreadyInstalled(_))
    ));
}
