//! No password, hash, token or key material in any log line or error body: every log line of a
//! register / login / me / failure / degraded run is captured (JSON, TRACE, all targets — sqlx's
//! statement logs included) and searched for each secret in every encoding it could take.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "auth/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bulwark_runtime::chaos::FaultPlan;
use bulwark_runtime::correlation::CorrelationId;
use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::{ServiceError, chain};
use bulwark_runtime::telemetry::{LogFormat, subscriber};
use bulwark_services::auth::{AuthError, Credentials};
use sqlx::Row;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs an error the way the gateway does for a failed request (message, chain, debug form)
/// and returns its wire body.
fn report(error: AuthError) -> String {
    let error = ServiceError::from(error);
    tracing::error!(error = %chain(&error), debug = ?error, "request failed");
    serde_json::to_string(&error.to_response(&CorrelationId::from_static("t"))).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_line_or_error_body() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing::subscriber::set_global_default(subscriber(
        LogFormat::Json,
        EnvFilter::new("trace"),
        move || writer.clone(),
        false,
    ))
    .unwrap();

    let password = "Tr0ub4dor&3-horse-battery";
    let other_password = "an-entirely-wrong-password";
    let (s, faults) = support::chaos_sqlite_auth(support::fast_config()).await;
    let auth = &s.auth;
    let ctx = CallContext::new(CorrelationId::from_static("secrets-run"));
    let mut bodies = Vec::new();

    auth.register(&ctx, &Credentials::new("alice", password))
        .await
        .unwrap();
    bodies.push(report(
        auth.register(&ctx, &Credentials::new("alice", password))
            .await
            .unwrap_err(),
    ));
    bodies.push(report(
        auth.register(&ctx, &Credentials::new("x", "short"))
            .await
            .unwrap_err(),
    ));
    let token = auth
        .login(&ctx, &Credentials::new("alice", password), None)
        .await
        .unwrap();
    let token = token.access_token.expose().to_owned();
    let bearer = format!("Bearer {token}");
    auth.authorize(Some(&bearer), "read").unwrap();
    for wrong in [("alice", other_password), ("nobody", password)] {
        bodies.push(report(
            auth.login(&ctx, &Credentials::new(wrong.0, wrong.1), None)
                .await
                .unwrap_err(),
        ));
    }
    let tampered = format!("{}x", &token[..token.len() - 1]);
    bodies.push(report(
        auth.authorize(Some(&format!("Bearer {tampered}")), "read")
            .unwrap_err(),
    ));
    auth.tokens().rotate_keys().unwrap();

    // Degraded: the store fails, logins come from the cache, registration is refused.
    faults
        .set(FaultPlan {
            error_rate: 1.0,
            ..FaultPlan::default()
        })
        .unwrap();
    auth.check_store_health().await;
    let degraded = auth
        .login(&ctx, &Credentials::new("alice", password), None)
        .await
        .unwrap();
    assert!(degraded.degraded);
    let degraded_token = degraded.access_token.expose().to_owned();
    bodies.push(report(
        auth.register(&ctx, &Credentials::new("bob", password))
            .await
            .unwrap_err(),
    ));
    bodies.push(report(
        auth.login(&ctx, &Credentials::new("carol", password), None)
            .await
            .unwrap_err(),
    ));
    faults.heal();
    tracing::info!(response = ?degraded, "debug form of a token response");

    // The secrets, in every form they could leak in.
    let url = format!("sqlite://{}", s.dir.path().join("auth.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let hash: String = sqlx::query("SELECT password_hash FROM users WHERE username = 'alice'")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    let hash_digest = hash.rsplit('$').next().unwrap().to_owned();
    let mut secrets = vec![
        password.to_owned(),
        other_password.to_owned(),
        hash.clone(),
        hash_digest,
        token.clone(),
        token.rsplit('.').next().unwrap().to_owned(),
        degraded_token.rsplit('.').next().unwrap().to_owned(),
    ];
    for key in std::fs::read_dir(s.dir.path().join("auth/keys")).unwrap() {
        let der = std::fs::read(key.unwrap().path()).unwrap();
        let seed = &der[16..48];
        for bytes in [&der[..], seed] {
            secrets.extend([
                STANDARD.encode(bytes),
                URL_SAFE_NO_PAD.encode(bytes),
                hex(bytes),
            ]);
        }
    }

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    // The capture works and saw the run: otherwise the search below proves nothing.
    for expected in [
        "user registered",
        "login succeeded",
        "login refused",
        "cached credential",
        "rotated",
    ] {
        assert!(logs.contains(expected), "no log line says {expected:?}");
    }
    assert!(logs.lines().count() > 20, "{} lines", logs.lines().count());
    let bodies = bodies.join("\n");
    assert!(bodies.contains("AUTH_ERROR") && bodies.contains("DEPENDENCY_ERROR"));
    for secret in &secrets {
        assert!(
            secret.len() >= 16 || secret == password,
            "weak probe {secret}"
        );
        assert!(
            !logs.contains(secret.as_str()),
            "a secret is in the logs: {secret}"
        );
        assert!(
            !bodies.contains(secret.as_str()),
            "a secret is in an error body"
        );
    }
    s.runtime.shutdown().await;
}
