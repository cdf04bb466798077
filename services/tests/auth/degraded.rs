//! The store made unavailable (a chaos fault on the store dependency, or its circuit forced
//! open): validation goes on read-only, cached logins work, registration is refused with 503 and
//! Retry-After — then recovery, without a restart.

use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::chaos::{FaultControl, FaultPlan};
use bulwark_runtime::dependency::{BreakerCommand, CallContext};
use bulwark_runtime::error::ServiceError;
use bulwark_services::auth::{AuthError, AuthReadiness, AuthService, Credentials};

use crate::support::{SqliteAuth, chaos_sqlite_auth, fast_config};

const PASSWORD: &str = "correct horse battery staple";

fn ctx() -> CallContext {
    CallContext::untracked()
}

async fn bearer_for(auth: &AuthService, name: &str) -> String {
    let token = auth
        .login(&ctx(), &Credentials::new(name, PASSWORD), None)
        .await
        .unwrap();
    format!("Bearer {}", token.access_token.expose())
}

/// A service on a chaos-wrapped SQLite store where alice registered and logged in (so her
/// credential is cached), and her bearer header.
async fn alice_logged_in() -> (SqliteAuth, FaultControl, String) {
    let (s, faults) = chaos_sqlite_auth(fast_config()).await;
    s.auth
        .register(&ctx(), &Credentials::new("alice", PASSWORD))
        .await
        .unwrap();
    let alice = bearer_for(&s.auth, "alice").await;
    (s, faults, alice)
}

/// What every degraded-mode test checks while the store is unavailable.
async fn assert_degraded(auth: &AuthService, alice_bearer: &str) {
    let health = auth.health();
    assert_eq!(health.readiness, AuthReadiness::Degraded);
    assert!(!health.can_read && !health.can_write);

    // Validation goes on: read only, marked degraded.
    let me = auth.authorize(Some(alice_bearer), "read").unwrap();
    assert!(me.degraded);
    assert_eq!(me.scope.to_string(), "read");
    let err = auth.authorize(Some(alice_bearer), "write").unwrap_err();
    assert_eq!(ServiceError::from(err).status(), 403);

    // Alice logged in before: her cached credential lets her in again.
    let again = auth
        .login(&ctx(), &Credentials::new("alice", PASSWORD), None)
        .await
        .unwrap();
    assert!(again.degraded);
    // …but the cache does not accept a wrong password.
    let wrong = auth
        .login(
            &ctx(),
            &Credentials::new("alice", "wrong wrong wrong"),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(wrong, AuthError::InvalidCredentials), "{wrong:?}");

    // Bob never logged in: no way to check him now.
    let bob = auth
        .login(&ctx(), &Credentials::new("bob", PASSWORD), None)
        .await
        .unwrap_err();
    let bob = ServiceError::from(bob);
    assert_eq!(
        (bob.status(), bob.code().as_str()),
        (503, "DEPENDENCY_ERROR")
    );

    // Registration is refused at once, with Retry-After.
    let hashes = auth.hasher().pool().started();
    let err = auth
        .register(&ctx(), &Credentials::new("frank", PASSWORD))
        .await
        .unwrap_err();
    let err = ServiceError::from(err);
    assert_eq!(
        (err.status(), err.code().as_str()),
        (503, "DEPENDENCY_ERROR")
    );
    assert!(err.retry_after_secs().unwrap() >= 1);
    assert_eq!(
        auth.hasher().pool().started(),
        hashes,
        "no hash spent on it"
    );
}

async fn assert_recovered(auth: &AuthService, alice_bearer: &str) {
    assert_eq!(auth.health().readiness, AuthReadiness::Ready);
    let me = auth.authorize(Some(alice_bearer), "write").unwrap();
    assert!(!me.degraded);
    assert_eq!(me.scope.to_string(), "read write");
    auth.register(&ctx(), &Credentials::new("frank", PASSWORD))
        .await
        .unwrap();
    let token = auth
        .login(&ctx(), &Credentials::new("frank", PASSWORD), None)
        .await
        .unwrap();
    assert!(!token.degraded);
}

#[tokio::test]
async fn a_failing_store_degrades_then_recovers_without_restart() {
    let (s, faults, alice) = alice_logged_in().await;
    let auth = &s.auth;
    let primary = s.runtime.controls("auth.store.primary").unwrap();

    faults
        .set(FaultPlan {
            error_rate: 1.0,
            ..FaultPlan::default()
        })
        .unwrap();
    auth.check_store_health().await; // the periodic ping notices that the idle store is gone
    assert_degraded(auth, &alice).await;

    faults.heal();
    // The failures opened the circuit; after its reset timeout the actor's probes close it.
    tokio::time::timeout(
        Duration::from_secs(10),
        primary.wait_for_state(State::Closed),
    )
    .await
    .expect("the circuit closes by itself once the store answers");
    auth.check_store_health().await;
    assert_recovered(auth, &alice).await;
    s.runtime.shutdown().await;
}

#[tokio::test]
async fn an_open_circuit_degrades_then_recovers() {
    let (s, _faults, alice) = alice_logged_in().await;
    let auth = &s.auth;
    let primary = s.runtime.controls("auth.store.primary").unwrap();

    primary.command(BreakerCommand::ForceOpen).await.unwrap();
    assert_degraded(auth, &alice).await;
    primary.command(BreakerCommand::Reset).await.unwrap();
    assert_recovered(auth, &alice).await;
    s.runtime.shutdown().await;
}

#[tokio::test]
async fn the_credential_cache_expires() {
    let mut config = fast_config();
    config.credential_cache_ttl = std::time::Duration::ZERO;
    let (s, _faults) = chaos_sqlite_auth(config).await;
    let auth = &s.auth;
    auth.register(&ctx(), &Credentials::new("alice", PASSWORD))
        .await
        .unwrap();
    bearer_for(auth, "alice").await;
    let primary = s.runtime.controls("auth.store.primary").unwrap();
    primary.command(BreakerCommand::ForceOpen).await.unwrap();
    let err = auth
        .login(&ctx(), &Credentials::new("alice", PASSWORD), None)
        .await
        .unwrap_err();
    assert_eq!(
        ServiceError::from(err).status(),
        503,
        "nothing cached: no login"
    );
    s.runtime.shutdown().await;
}
