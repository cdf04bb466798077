//! Rate limits on token requests through the service: per username, per address, and failed
//! logins that slow only their username.

use std::net::IpAddr;

use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::error::ServiceError;
use bulwark_services::auth::config::Rate;
use bulwark_services::auth::limits::LimitKind;
use bulwark_services::auth::{AuthError, Credentials};

use crate::support::{fast_config, sqlite_auth};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn token_requests_are_limited_with_retry_after() {
    let mut config = fast_config();
    config.limits.per_username = Rate {
        per_minute: 1,
        burst: 3,
    };
    config.limits.per_address = Rate {
        per_minute: 1,
        burst: 5,
    };
    let s = sqlite_auth(config).await;
    let ctx = CallContext::untracked();
    for name in ["alice", "bob"] {
        s.auth
            .register(&ctx, &Credentials::new(name, PASSWORD))
            .await
            .unwrap();
    }
    let a: IpAddr = "198.51.100.7".parse().unwrap();
    let b: IpAddr = "198.51.100.8".parse().unwrap();
    for _ in 0..3 {
        s.auth
            .login(&ctx, &Credentials::new("alice", PASSWORD), Some(a))
            .await
            .unwrap();
    }
    let err = s
        .auth
        .login(&ctx, &Credentials::new("alice", PASSWORD), Some(b))
        .await
        .unwrap_err();
    assert!(matches!(&err, AuthError::RateLimited(l) if l.kind == LimitKind::Username));
    let err = ServiceError::from(err);
    assert_eq!(
        (err.status(), err.code().as_str()),
        (429, "RATE_LIMIT_ERROR")
    );
    assert!(err.retry_after_secs().unwrap() >= 1);

    // Address a has made 3 requests of its 5; bob's two more exhaust it.
    for _ in 0..2 {
        s.auth
            .login(&ctx, &Credentials::new("bob", PASSWORD), Some(a))
            .await
            .unwrap();
    }
    let err = s
        .auth
        .login(&ctx, &Credentials::new("bob", PASSWORD), Some(a))
        .await
        .unwrap_err();
    assert!(matches!(&err, AuthError::RateLimited(l) if l.kind == LimitKind::Address));
    s.runtime.shutdown().await;
}

#[tokio::test]
async fn repeated_failures_slow_only_that_username() {
    let mut config = fast_config();
    config.limits.failures = Rate {
        per_minute: 1,
        burst: 3,
    };
    let s = sqlite_auth(config).await;
    let ctx = CallContext::untracked();
    for name in ["mallory", "alice"] {
        s.auth
            .register(&ctx, &Credentials::new(name, PASSWORD))
            .await
            .unwrap();
    }
    for _ in 0..4 {
        let err = s
            .auth
            .login(
                &ctx,
                &Credentials::new("mallory", "guess guess guess"),
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
    }
    // Now even the right password waits: the username is slowed, not the service.
    let hashes = s.auth.hasher().pool().started();
    let err = s
        .auth
        .login(&ctx, &Credentials::new("mallory", PASSWORD), None)
        .await
        .unwrap_err();
    assert!(matches!(&err, AuthError::RateLimited(l) if l.kind == LimitKind::Failures));
    assert_eq!(
        s.auth.hasher().pool().started(),
        hashes,
        "refused before hashing"
    );
    s.auth
        .login(&ctx, &Credentials::new("alice", PASSWORD), None)
        .await
        .unwrap();
    s.runtime.shutdown().await;
}
