//! Guard a reqwest call with a circuit breaker, a bulkhead, retries and a deadline.
//!
//! Run with: `cargo run -p bulwark-examples --example guard_http`
//!
//! The example starts its own upstream on a loopback port; the upstream answers its first request
//! with `503 Service Unavailable` and then `hello`. Expected output:
//!
//! ```text
//! upstream said "hello" after 2 attempts (circuit closed)
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use bulwark_runtime::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, hits) = start_upstream().await?;

    // The guard: breaker + bulkhead + retry (503 is transient) + deadline, around any closure.
    let runtime = Runtime::builder()
        .guard("upstream", Policy::default())
        .build()
        .await?;
    let upstream = runtime.guard("upstream")?;
    // The workspace builds reqwest without a bundled crypto provider: install rustls' ring first.
    bulwark_runtime::http::install_default_tls();
    let client = reqwest::Client::new();
    let ctx = CallContext::untracked().with_timeout(Duration::from_secs(2));
    let body = upstream
        .run(ctx, |_| async {
            client
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .text()
                .await
        })
        .await?;

    let attempts = hits.load(Ordering::SeqCst);
    println!(
        "upstream said {body:?} after {attempts} attempts (circuit {})",
        upstream.state()
    );
    runtime.shutdown().await;
    Ok(())
}

/// A loopback HTTP server whose first answer is a 503; returns its URL and its hit counter.
async fn start_upstream() -> std::io::Result<(String, Arc<AtomicU32>)> {
    let hits = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/hello",
        axum::routing::get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(StatusCode::SERVICE_UNAVAILABLE)
                } else {
                    Ok("hello")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hello", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, hits))
}
