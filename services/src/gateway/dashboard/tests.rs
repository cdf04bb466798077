//! The page and `/status` agree: every field the script lists in `STATUS_FIELDS` is in a real
//! [`RuntimeSnapshot`]'s JSON, every circuit state has a label, and the files are served with
//! their types and a strict content security policy.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bulwark_runtime::breaker::State;
use bulwark_runtime::dependency::BreakerCommand;
use bulwark_runtime::policy::Policy;
use bulwark_runtime::runtime::Runtime;
use bulwark_supervisors::{ChildKind, ChildSnapshot, ChildStatus, Restart};
use serde_json::Value;
use tower::ServiceExt;

use super::{CONTENT_SECURITY_POLICY, DASHBOARD_JS, routes};

/// The string literals of the script's `const STATUS_FIELDS = [ … ];`.
fn status_fields() -> Vec<String> {
    let start = DASHBOARD_JS
        .find("const STATUS_FIELDS = [")
        .expect("the script declares STATUS_FIELDS");
    let body = &DASHBOARD_JS[start..];
    let body = &body[..body.find("];").expect("STATUS_FIELDS is closed")];
    body.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Whether `path` reaches an existing key in `value` — strictly: an array on the way must have
/// an element that reaches it, and a `null` on the way does not count (the page accepts both,
/// a test with a vacuous snapshot would prove nothing).
fn reaches(value: &Value, segments: &[&str]) -> bool {
    let Some((head, rest)) = segments.split_first() else {
        return true;
    };
    let (key, array) = match head.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (*head, false),
    };
    let Some(next) = value.as_object().and_then(|o| o.get(key)) else {
        return false;
    };
    if rest.is_empty() && !array {
        return true;
    }
    if array {
        next.as_array()
            .is_some_and(|items| items.iter().any(|item| reaches(item, rest)))
    } else {
        reaches(next, rest)
    }
}

async fn two_guards_one_forced_open() -> (Runtime, Value) {
    let runtime = Runtime::builder()
        .guard("inventory-db", Policy::default())
        .guard("llm-provider", Policy::default())
        .build()
        .await
        .unwrap();
    let forced = runtime.controls("llm-provider").unwrap();
    assert_eq!(
        forced.command(BreakerCommand::ForceOpen).await.unwrap(),
        State::ForcedOpen
    );
    let json = serde_json::to_value(runtime.snapshot().await).unwrap();
    (runtime, json)
}

#[tokio::test]
async fn every_field_the_page_reads_is_in_a_real_snapshot() {
    let (runtime, json) = two_guards_one_forced_open().await;
    let fields = status_fields();
    assert!(fields.len() > 30, "STATUS_FIELDS not found: {fields:?}");
    let missing: Vec<&String> = fields
        .iter()
        .filter(|path| !reaches(&json, &path.split('.').collect::<Vec<_>>()))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in {json:#}");

    let states: Vec<(&str, &str)> = json["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap(),
                d["breaker"]["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [("inventory-db", "closed"), ("llm-provider", "forced_open")]
    );
    runtime.shutdown().await;
}

#[test]
fn every_circuit_state_has_a_label() {
    for state in State::ALL {
        let key = format!("    {}: {{ label: ", state.as_str());
        assert!(DASHBOARD_JS.contains(&key), "no label for {state:?}");
        let json = serde_json::to_value(state).unwrap();
        assert_eq!(
            json,
            state.as_str(),
            "the page keys states by their JSON name"
        );
    }
}

#[test]
fn optional_child_fields_are_named_as_the_page_reads_them() {
    let child = ChildSnapshot {
        id: "dependencies".to_owned(),
        kind: ChildKind::Supervisor,
        restart: Restart::Permanent,
        significant: false,
        actor_id: None,
        status: ChildStatus::Restarting { in_ms: 250 },
        restarts: 1,
        last_failure: Some("panicked".to_owned()),
        supervisor: None,
        supervisor_error: Some("did not answer".to_owned()),
    };
    let json = serde_json::to_value(&child).unwrap();
    assert_eq!(json["status"]["state"], "restarting");
    assert_eq!(json["status"]["in_ms"], 250);
    assert_eq!(json["supervisor_error"], "did not answer");
    for read in [
        "child.status.in_ms",
        "child.supervisor_error",
        "child.supervisor)",
    ] {
        assert!(DASHBOARD_JS.contains(read), "the script reads {read}");
    }
}

#[tokio::test]
async fn files_are_served_with_their_types_and_a_strict_policy() {
    for (path, content_type, needle) in [
        (
            "/",
            "text/html; charset=utf-8",
            "<script src=\"/dashboard.js\"",
        ),
        (
            "/dashboard.js",
            "text/javascript; charset=utf-8",
            "STATUS_FIELDS",
        ),
        (
            "/dashboard.css",
            "text/css; charset=utf-8",
            ".state-forced_open",
        ),
    ] {
        let res = routes::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let headers = res.headers();
        assert_eq!(headers[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = std::str::from_utf8(&body).unwrap();
        assert!(body.contains(needle), "{path} lacks {needle}");
    }
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
}

#[test]
fn the_page_has_no_inline_code_and_no_remote_resources() {
    let html = super::INDEX_HTML;
    assert!(
        !html.contains("<style"),
        "inline style would need 'unsafe-inline'"
    );
    assert!(
        !html.contains(" style="),
        "inline style would need 'unsafe-inline'"
    );
    assert_eq!(html.matches("<script").count(), 1);
    // The script's one URL is the SVG namespace, an identifier that is never fetched.
    let script = DASHBOARD_JS.replace("\"http://www.w3.org/2000/svg\"", "");
    for file in [html, script.as_str(), super::DASHBOARD_CSS] {
        assert!(!file.contains("://"), "no remote resources");
        assert!(!file.contains("@import"), "no imported style sheets");
    }
}
