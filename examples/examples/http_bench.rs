//! Three servers for the HTTP benchmark (`scripts/bench_http.sh` drives them with wrk): the same
//! handlers served bare by axum, by Bulwark's server without the gateway's middleware, and
//! through Bulwark's whole gateway — correlation, HTTP metrics, panic catching, rate limits, edge
//! priority, deadline, body limit, on Bulwark's own server.
//!
//! Routes on both: `GET /livez` (`{"status":"ok"}`) and `GET /guarded` (one guarded call to an
//! in-process dependency that answers at once). Run:
//!
//! ```sh
//! cargo run --release --example http_bench -- 127.0.0.1:18081 127.0.0.1:18082
//! ```
//! and it prints `bare=ADDR bulwark=ADDR server_only=ADDR` once all listen.

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

// The allocator the `bulwark` binary uses: both servers in this process share it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

    // Bulwark: the same handlers behind the gateway's whole middleware stack (correlation,
    // HTTP metrics, panic catch, rate limit, edge priority, deadline, body limit). The rate limit
    // is on, with limits no single wrk client reaches, so its check is paid on every request
    // without refusing any.
    let mut config = GatewayConfig::default();
    config.rate_limit.critical.per_second = 10_000_000;
    config.rate_limit.critical.burst = 10_000_000;
    config.rate_limit.non_critical = config.rate_limit.critical;
    config.max_connections = 100_000;
    let state = AppState::new(config.clone(), runtime.clone());
    let routes = Router::new()
        .route("/livez", get(livez))
        .route("/guarded", get(bulwark_guarded));
    let app = build(routes, state);
    let bulwark_listener = TcpListener::bind(bulwark_addr).await?;
    let server = Server::new(&config)?;

    // The same bare routes behind Bulwark's server (connection limits, header watchdog, head
    // size check) but none of the gateway's middleware: tells the server's cost from the
    // middleware's.
    let server_only_listener = TcpListener::bind("127.0.0.1:0").await?;
    let server_only = Server::new(&config)?;
    let server_only_app = bare.clone();

    println!(
        "bare={} bulwark={} server_only={}",
        bare_listener.local_addr()?,
        bulwark_listener.local_addr()?,
        server_only_listener.local_addr()?
    );
    let bare_task = tokio::spawn(async move { axum::serve(bare_listener, bare).await });
    let server_only_task = tokio::spawn(async move {
        server_only
            .serve(
                server_only_listener,
                server_only_app,
                std::future::pending::<()>(),
            )
            .await
    });
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    server.serve(bulwark_listener, app, shutdown).await?;
    bare_task.abort();
    server_only_task.abort();
    runtime.shutdown().await;
    Ok(())
}
