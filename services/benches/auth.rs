//! Token validation and login costs.
//!
//! Run with: `cargo bench -p bulwark-services --bench auth`
//!
//! Group `token_validation` (one caller):
//! - `first_seen`: a token never validated before — header and claims parsed, Ed25519 signature
//!   verified (strict), issuer/audience/expiry/revocation checked, result cached. Target ≤ 50 µs
//!   median.
//! - `cached`: a token validated before — SHA-256 of the token, cache lookup, expiry and
//!   revocation checked. Target ≤ 2 µs median.
//! - `cached_with_revocations`: the same while 1,000 other tokens and 100 subjects are revoked
//!   (the revocation check takes its lock path).
//! - `issue`: signing a new token.
//!
//! Group `login` (argon2id at the default parameters, m = 19 MiB, t = 2, p = 1): one full login
//! through the service (SQLite lookup, verification on the hashing pool, token signing), and
//! the bare argon2 hash for comparison. Throughput is bounded by argon2 by design: the pool
//! runs `hasher.threads` hashes at once (default: cores − 1).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bulwark_runtime::dependency::CallContext;
use bulwark_runtime::runtime::Runtime;
use bulwark_services::auth::tokens::{KeyRing, TokenService, TokenSettings, WallClock};
use bulwark_services::auth::{AuthConfig, AuthService, Credentials, Scopes};
use criterion::{Criterion, criterion_group, criterion_main};

fn token_service(dir: &std::path::Path) -> TokenService {
    let clock = WallClock::System;
    let keys = KeyRing::open(dir, clock.now(), 30 * 86_400, 930).unwrap();
    let settings = TokenSettings {
        issuer: "bulwark".into(),
        audience: "bulwark".into(),
        ttl: Duration::from_secs(900),
        leeway: Duration::from_secs(30),
        cache_capacity: 1_000_000,
    };
    TokenService::new(keys, settings, clock)
}

fn validation(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let tokens = token_service(dir.path());
    let scopes = Scopes::parse("read write");
    let mut group = c.benchmark_group("token_validation");
    group.bench_function("first_seen", |b| {
        // Tokens are made outside the timed loop; each is validated once.
        b.iter_custom(|iters| {
            let fresh: Vec<_> = (0..iters)
                .map(|_| tokens.issue("alice", &scopes).unwrap().token)
                .collect();
            let start = std::time::Instant::now();
            for token in &fresh {
                black_box(tokens.validate(token.expose()).unwrap());
            }
            start.elapsed()
        });
    });
    let token = tokens.issue("alice", &scopes).unwrap().token;
    tokens.validate(token.expose()).unwrap();
    group.bench_function("cached", |b| {
        b.iter(|| black_box(tokens.validate(black_box(token.expose())).unwrap()));
    });
    for i in 0..1000 {
        let other = tokens.issue(&format!("user{i}"), &scopes).unwrap().token;
        tokens.revoke(other.expose()).unwrap();
    }
    for i in 0..100 {
        tokens.revoke_subject(&format!("gone{i}"));
    }
    group.bench_function("cached_with_revocations", |b| {
        b.iter(|| black_box(tokens.validate(black_box(token.expose())).unwrap()));
    });
    // Baselines: the Ed25519 work inside `first_seen`.
    let kid = tokens.keys().signing_kid();
    let public: [u8; 32] = tokens.keys().public_key(&kid).unwrap().try_into().unwrap();
    let (input, sig) = token.expose().rsplit_once('.').unwrap();
    let sig =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
    group.bench_function("ed25519_key_from_bytes", |b| {
        b.iter(|| black_box(ed25519_dalek::VerifyingKey::from_bytes(black_box(&public)).unwrap()));
    });
    let key = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
    group.bench_function("ed25519_verify_strict", |b| {
        b.iter(|| black_box(key.verify_strict(black_box(input.as_bytes()), &sig).is_ok()));
    });
    group.bench_function("ed25519_verify", |b| {
        use ed25519_dalek::Verifier as _;
        b.iter(|| black_box(key.verify(black_box(input.as_bytes()), &sig).is_ok()));
    });
    let decoding = jsonwebtoken::DecodingKey::from_ed_der(&public);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["bulwark"]);
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            let data = jsonwebtoken::decode::<serde_json::Value>(
                black_box(token.expose()),
                &decoding,
                &validation,
            );
            black_box(data.unwrap())
        });
    });
    group.bench_function("issue", |b| {
        b.iter(|| black_box(tokens.issue("alice", &scopes).unwrap()));
    });
    group.finish();
}

fn login(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = AuthConfig::default();
    // The bench measures argon2, not the rate limits.
    config.limits.per_username.burst = 1_000_000;
    config.limits.per_username.per_minute = 1_000_000;
    let (runtime, auth) = rt.block_on(async {
        let runtime = Runtime::builder().build().await.unwrap();
        let auth = AuthService::builder(config.clone())
            .data_dir(dir.path())
            .start(&runtime)
            .await
            .unwrap();
        let credentials = Credentials::new("alice", "correct horse battery staple");
        auth.register(&CallContext::untracked(), &credentials)
            .await
            .unwrap();
        (runtime, auth)
    });
    let credentials = Credentials::new("alice", "correct horse battery staple");
    let mut group = c.benchmark_group("login");
    group.sample_size(10);
    group.bench_function("login_default_argon2", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                auth.login(&CallContext::untracked(), &credentials, None)
                    .await
                    .unwrap(),
            )
        });
    });
    group.bench_function("argon2id_hash_default", |b| {
        use argon2::password_hash::PasswordHasher as _;
        let h = config.hasher;
        let params = argon2::Params::new(h.memory_kib, h.iterations, h.parallelism, None).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        b.iter(|| {
            black_box(
                argon
                    .hash_password(b"correct horse battery staple")
                    .unwrap(),
            )
        });
    });
    group.finish();
    println!(
        "hashing threads: {} (argon2id m={} KiB, t={}, p={})",
        config.hasher.thread_count(),
        config.hasher.memory_kib,
        config.hasher.iterations,
        config.hasher.parallelism
    );
    rt.block_on(runtime.shutdown());
}

criterion_group!(benches, validation, login);
criterion_main!(benches);
