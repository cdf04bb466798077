//! Two servers for the HTTP benchmark (`scripts/bench_http.sh` drives them with wrk): the same
//! handlers served bare by axum, and through Bulwark's whole gateway — correlation, HTTP metrics,
//! panic catching, rate limits, edge priority, deadline, body limit, on Bulwark's own server.
//!
//! Routes on both: `GET /livez` (`{"status":"ok"}`) and `GET /guarded` (one guarded call to an
//! in-process dependency that answers at once). Run:
//!
//! ```sh
//! cargo run --release --example http_bench -- 127.0.0.1:18081 127.0.0.1:18082
//! ```
//! and it prints `bare=ADDR bulwark=ADDR` once both listen.

use std::net::SocketAddr;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use bulwark_runtime::prelude::*;
use bulwark_services::gateway::server::Server;
use bulwark_services::gateway::{AppState, GatewayConfig, RequestContext, build};
use serde_json::{Value, json};
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn livez() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// One call through the guard to work that is ready at once.
async fn guarded_call(guard: &Guard, ctx: CallContext) -> Json<Value> {
    let answer = guard
        .run(ctx, |_| async { Ok::<_, DependencyError>(42u32) })
        .await;
    Json(json!({"answer": answer.ok()}))
}

async fn bare_guarded(State(guard): State<Guard>) -> Json<Value> {
    guarded_call(&guard, CallContext::untracked()).await
}

async fn bulwark_guarded(
    State(state): State<AppState>,
    RequestContext(ctx): RequestContext,
) -> Json<Value> {
    match state.runtime().guard("inproc") {
        Ok(guard) => guarded_call(&guard, ctx).await,
        Err(_) => Json(json!({"answer": null})),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let bare_addr: SocketAddr = args.next().unwrap_or("127.0.0.1:18081".into()).parse()?;
    let bulwark_addr: SocketAddr = args.next().unwrap_or("127.0.0.1:18082".into()).parse()?;
    bulwark_runtime::http::install_default_tls();

    let runtime = Runtime::builder()
        .guard("inproc", Policy::default())
        .build()
        .await?;

    // Bare axum: the handlers, nothing else.
    let bare = Router::new()
        .route("/livez", get(livez))
        .route("/guarded", get(bare_guarded))
        .with_state(runtime.guard("inproc")?);
    let bare_listener = TcpListener::bind(bare_addr).await?;

    // Bulwark: the product's gateway (its own /livez) plus the guarded route. The rate limit is
    // off: wrk is one client, and the limiter would measure itself refusing.
    let mut config = GatewayConfig::default();
    config.rate_limit.enabled = false;
    config.max_connections = 100_000;
    let state = AppState::new(config.clone(), runtime.clone());
    let routes = bulwark_services::gateway::app::routes().route("/guarded", get(bulwark_guarded));
    let app = build(routes, state);
    let bulwark_listener = TcpListener::bind(bulwark_addr).await?;
    let server = Server::new(&config)?;

    println!(
        "bare={} bulwark={}",
        bare_listener.local_addr()?,
        bulwark_listener.local_addr()?
    );
    let bare_task = tokio::spawn(async move { axum::serve(bare_listener, bare).await });
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    server.serve(bulwark_listener, app, shutdown).await?;
    bare_task.abort();
    runtime.shutdown().await;
    Ok(())
}
