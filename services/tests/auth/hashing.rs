//! Token validation keeps its latency while 100 registrations hash passwords at once: hashing
//! runs on its own bounded threads behind its own bulkhead, never on the request workers.

use std::time::{Duration, Instant};

use bulwark_runtime::dependency::CallContext;
use bulwark_services::auth::{Credentials, Scopes};

use crate::support::{fast_config, sqlite_auth};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_latency_holds_while_100_registrations_hash() {
    let mut config = fast_config();
    // Heavy enough that a hash on a request worker would show: tens of ms in a debug build.
    config.hasher.memory_kib = 1024;
    config.hasher.iterations = 1;
    config.hasher.threads = 1;
    config.hasher.registration_queue = 128;
    config.hasher.max_wait = Duration::from_secs(60);
    let s = sqlite_auth(config).await;
    let auth = s.auth.clone();
    let issue = || {
        let issued = auth
            .tokens()
            .issue("reader", &Scopes::parse("read"))
            .unwrap();
        issued.token.expose().to_owned()
    };
    // Tokens validated before (the common case: cache hit, expiry and revocation checked) …
    let known: Vec<String> = (0..16).map(|_| issue()).collect();
    for token in &known {
        auth.authenticate(token).unwrap();
    }
    // … and tokens never seen (signature verified), one per round.
    let mut fresh = (0..200).map(|_| issue()).collect::<Vec<_>>().into_iter();
    let round = |fresh: &mut dyn Iterator<Item = String>| {
        let mut cached = Vec::with_capacity(known.len());
        for token in &known {
            let start = Instant::now();
            auth.authenticate(token).unwrap();
            cached.push(start.elapsed());
        }
        let first_seen = fresh.next().map(|token| {
            let start = Instant::now();
            auth.authenticate(&token).unwrap();
            start.elapsed()
        });
        (cached, first_seen)
    };
    let (mut idle, mut idle_fresh) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let (cached, first_seen) = round(&mut fresh);
        idle.extend(cached);
        idle_fresh.extend(first_seen);
    }

    let registrations: Vec<_> = (0..100)
        .map(|i| {
            let auth = s.auth.clone();
            tokio::spawn(async move {
                let credentials = Credentials::new(format!("user{i:03}"), "a long enough password");
                auth.register(&CallContext::untracked(), &credentials).await
            })
        })
        .collect();
    // Validate on this task while the pool is hashing.
    let pool = s.auth.hasher().pool();
    while pool.busy() == 0 {
        tokio::task::yield_now().await;
    }
    let (mut loaded, mut loaded_fresh) = (Vec::new(), Vec::new());
    let mut hashed_during = 0;
    while registrations.iter().any(|r| !r.is_finished()) {
        let before = pool.started();
        let (cached, first_seen) = round(&mut fresh);
        loaded.extend(cached);
        loaded_fresh.extend(first_seen);
        hashed_during += pool.started() - before;
        tokio::task::yield_now().await;
    }
    for r in registrations {
        r.await.unwrap().unwrap();
    }
    for v in [&mut idle, &mut idle_fresh, &mut loaded, &mut loaded_fresh] {
        v.sort();
    }
    let p = |v: &[Duration]| (percentile(v, 0.5), percentile(v, 0.99));
    println!(
        "validation, cached: idle p50/p99 {:?}, during 100 registrations {:?} ({} validations, \
         {hashed_during} hashes meanwhile); first seen: idle {:?}, during {:?} ({})",
        p(&idle),
        p(&loaded),
        loaded.len(),
        p(&idle_fresh),
        p(&loaded_fresh),
        loaded_fresh.len()
    );
    // Deterministic: never more hashes at once than hashing threads, all 100 stored, and the
    // validations really ran while hashing went on.
    assert_eq!(
        pool.peak_busy(),
        1,
        "one hashing thread, one hash at a time"
    );
    assert!(pool.started() >= 100);
    assert!(
        hashed_during >= 10,
        "validations overlapped {hashed_during} hashes only"
    );
    // Timing, with a wide margin for a shared machine: a validation that waited for a hash
    // would take a whole hash (tens of ms); the median must stay near the idle one.
    let (p50_idle, p50_load) = (percentile(&idle, 0.5), percentile(&loaded, 0.5));
    assert!(
        p50_load < p50_idle * 4 + Duration::from_millis(2),
        "median cached validation {p50_load:?} under load vs {p50_idle:?} idle"
    );
    s.runtime.shutdown().await;
}
