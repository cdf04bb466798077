//! Register, login and validation on the embedded SQLite store.

use std::sync::Arc;

use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::ServiceError;
use bulwark_services::auth::store::{OpenMode, PoolSettings, ReadSource, StoreRole};
use bulwark_services::auth::{AuthError, AuthReadiness, AuthService, Credentials};

use crate::support::{fast_config, sqlite_auth};

const PASSWORD: &str = "correct horse battery staple";

fn ctx() -> CallContext {
    CallContext::untracked()
}

#[tokio::test]
async fn register_login_me() {
    let s = sqlite_auth(fast_config()).await;
    let user = s
        .auth
        .register(&ctx(), &Credentials::new("Alice", PASSWORD))
        .await
        .unwrap();
    assert_eq!(user.username, "alice");
    assert_eq!(user.scope.to_string(), "read write");
    assert!(
        s.dir.path().join("auth.db").exists(),
        "SQLite file created in the data dir"
    );

    let token = s
        .auth
        .login(&ctx(), &Credentials::new("ALICE", PASSWORD), None)
        .await
        .unwrap();
    assert_eq!(token.token_type, "Bearer");
    assert_eq!(token.expires_in, 900);
    assert!(!token.degraded);
    let bearer = format!("Bearer {}", token.access_token.expose());
    let me = s.auth.authorize(Some(&bearer), "read").unwrap();
    assert_eq!(me.username, "alice");
    assert_eq!(me.scope.to_string(), "read write");
    assert!(!me.degraded);
    assert_eq!(s.auth.health().readiness, AuthReadiness::Ready);
    let names = s.runtime.dependency_names();
    assert!(
        names.contains(&"auth.store.primary".to_owned()),
        "{names:?}"
    );
    assert!(names.contains(&"auth.hasher".to_owned()), "{names:?}");
    s.runtime.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field() {
    let s = sqlite_auth(fast_config()).await;
    let cases = [
        ("ab", PASSWORD, vec!["username"]),
        ("-alice", PASSWORD, vec!["username"]),
        ("alice smith", PASSWORD, vec!["username"]),
        ("alice", "too short", vec!["password"]),
        ("al", "short", vec!["password", "username"]),
    ];
    for (username, password, fields) in cases {
        let err = s
            .auth
            .register(&ctx(), &Credentials::new(username, password))
            .await
            .unwrap_err();
        let AuthError::Validation(details) = &err else {
            panic!("{username:?}: {err:?}")
        };
        assert_eq!(details.keys().collect::<Vec<_>>(), fields, "{username:?}");
        assert_eq!(ServiceError::from(err).status(), 400);
    }
    let too_long = "x".repeat(1025);
    let err = s
        .auth
        .login(&ctx(), &Credentials::new("alice", &too_long), None)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Validation(_)), "{err:?}");
    s.runtime.shutdown().await;
}

#[tokio::test]
async fn a_taken_username_is_a_conflict_whatever_its_case() {
    let s = sqlite_auth(fast_config()).await;
    s.auth
        .register(&ctx(), &Credentials::new("bob", PASSWORD))
        .await
        .unwrap();
    let err = s
        .auth
        .register(&ctx(), &Credentials::new("BOB", "another long password"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::UsernameTaken), "{err:?}");
    assert_eq!(ServiceError::from(err).status(), 409);
    // A conflict is the store answering, not failing: the breaker saw no failure.
    let primary = s.runtime.controls("auth.store.primary").unwrap();
    primary.flush().await.unwrap();
    assert_eq!(primary.snapshot().breaker.failed, 0);
    s.runtime.shutdown().await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_look_the_same_and_cost_a_hash_each() {
    let s = sqlite_auth(fast_config()).await;
    s.auth
        .register(&ctx(), &Credentials::new("carol", PASSWORD))
        .await
        .unwrap();
    let pool = s.auth.hasher().pool();
    let attempt = |name: &'static str, password: &'static str| {
        let auth = s.auth.clone();
        async move {
            let before = auth.hasher().pool().started();
            let err = auth
                .login(&ctx(), &Credentials::new(name, password), None)
                .await
                .unwrap_err();
            (
                ServiceError::from(err),
                auth.hasher().pool().started() - before,
            )
        }
    };
    let (wrong_password, hashes_a) = attempt("carol", "not the right password").await;
    let (unknown_user, hashes_b) = attempt("nobody", "not the right password").await;
    assert_eq!(hashes_a, 1, "a wrong password is verified once");
    assert_eq!(
        hashes_b, 1,
        "an unknown user is verified against the dummy hash"
    );
    for e in [&wrong_password, &unknown_user] {
        assert_eq!((e.status(), e.code().as_str()), (401, "AUTH_ERROR"));
        assert_eq!(e.public_message(), "Invalid username or password");
        assert!(e.public_details().is_empty());
    }
    assert!(pool.started() >= 3);
    s.runtime.shutdown().await;
}

#[tokio::test]
async fn a_token_without_the_scope_is_forbidden_and_a_bad_header_unauthorized() {
    let s = sqlite_auth(fast_config()).await;
    let issued = s
        .auth
        .tokens()
        .issue("dave", &bulwark_services::auth::Scopes::parse("write"))
        .unwrap();
    let bearer = format!("Bearer {}", issued.token.expose());
    let err = s.auth.authorize(Some(&bearer), "read").unwrap_err();
    assert_eq!(ServiceError::from(err).status(), 403);
    for header in [
        None,
        Some("Basic abc"),
        Some("Bearer"),
        Some("Bearer x.y.z"),
    ] {
        let err = s.auth.authorize(header, "read").unwrap_err();
        assert_eq!(ServiceError::from(err).status(), 401, "{header:?}");
    }
    s.runtime.shutdown().await;
}

#[tokio::test]
async fn data_and_keys_survive_a_restart_and_migrations_run_once() {
    let s = sqlite_auth(fast_config()).await;
    s.auth
        .register(&ctx(), &Credentials::new("erin", PASSWORD))
        .await
        .unwrap();
    let token = s
        .auth
        .login(&ctx(), &Credentials::new("erin", PASSWORD), None)
        .await
        .unwrap();
    s.runtime.shutdown().await;
    drop(s.auth);

    let runtime = bulwark_runtime::runtime::Runtime::builder()
        .build()
        .await
        .unwrap();
    let auth = AuthService::builder(fast_config())
        .data_dir(s.dir.path())
        .start(&runtime)
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token.access_token.expose());
    assert_eq!(
        auth.authorize(Some(&bearer), "read").unwrap().username,
        "erin"
    );
    auth.login(&ctx(), &Credentials::new("erin", PASSWORD), None)
        .await
        .unwrap();
    let (user, source) = auth
        .stores()
        .find(&Arc::from("erin"), &ctx())
        .await
        .unwrap();
    assert_eq!(source, ReadSource::Primary);
    assert!(format!("{:?}", user.unwrap().password_hash).contains("***"));
    runtime.shutdown().await;
}

#[tokio::test]
async fn statements_bind_their_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let pool = PoolSettings {
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(2),
    };
    let store = bulwark_services::auth::store::open(&url, OpenMode::Primary, pool)
        .await
        .unwrap();
    let tricky = "o'brien\"; DROP TABLE users; --";
    let user = bulwark_services::auth::store::UserRecord {
        id: "1".into(),
        username: tricky.into(),
        password_hash: bulwark_services::auth::store::StoredHash::new("h".into()),
        scopes: bulwark_services::auth::Scopes::parse("read"),
        created_at_ms: 1,
    };
    store.insert(&user).await.unwrap().unwrap();
    assert_eq!(store.find(tricky).await.unwrap().unwrap().username, tricky);
    assert!(store.find("' OR '1'='1").await.unwrap().is_none());
    assert!(store.insert(&user).await.unwrap().is_err(), "duplicate");
    assert_eq!(
        StoreRole::Replica(2).dependency_name(),
        "auth.store.replica.2"
    );
}
