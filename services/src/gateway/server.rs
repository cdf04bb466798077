//! Running the application on a listener: the edge limits, optional TLS, and graceful shutdown.
//!
//! [`Server`] runs its own accept loop on hyper (`hyper-util`'s auto builder: HTTP/1.1, and
//! HTTP/2 as h2c with prior knowledge or h2 by ALPN) instead of `axum::serve`, which exposes none
//! of the limits below. Per `[server]` settings ([`GatewayConfig`]):
//!
//! - `max_connections`: at most this many connections are open; beyond it new connections wait
//!   in the listen backlog (`server/listener.rs`).
//! - `header_read_timeout`: a connection must deliver its first request head (after the TLS
//!   handshake) within it, and a kept-alive connection each later head from its first byte; else
//!   it is closed without an answer. `keep_alive_idle_timeout`: an idle connection is closed
//!   gracefully after it (`server/watchdog.rs`).
//! - `max_header_bytes`: larger heads answer 431 in the standard format (`server/head_limit.rs`).
//!
//! Requests hyper refuses before any service sees them — a malformed request line or header, a
//! URI over 64 KiB, a head past the hard backstop — get hyper's bare status (400, 414, 431) with
//! an empty body, then the connection is closed: the one place the body is not the standard JSON.
//!
//! When the shutdown future completes the server stops accepting (the listener is closed), asks
//! every open connection to close once its current request is answered (idle keep-alive
//! connections close at once), and waits for in-flight requests — at most the drain timeout.
//! Connections still open then are closed; [`Shutdown::DrainTimedOut`] says so.

mod activity;
mod connection;
mod head_limit;
mod listener;
mod watchdog;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::GatewayConfig;
use super::config::InvalidSetting;
use super::tls::{Tls, TlsError};
use watchdog::Timeouts;

/// How the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Every in-flight request finished within the drain timeout.
    Drained,
    /// The drain timeout passed with requests still running.
    DrainTimedOut,
}

/// The server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A `[server]` setting is out of range.
    #[error("HTTP server not started")]
    Invalid(#[from] InvalidSetting),
    /// The TLS certificate or key could not be loaded.
    #[error("HTTPS not started")]
    Tls(#[from] TlsError),
}

/// Where the server is in its life; connections follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    Serving,
    /// Finish the current request, then close.
    Draining,
    /// Close now.
    Closed,
}

/// What every connection of one server shares.
struct Shared {
    app: Router,
    http: auto::Builder<TokioExecutor>,
    timeouts: Timeouts,
    max_header_bytes: usize,
    max_connections: usize,
    tls: Option<Arc<Tls>>,
}

/// A server with validated `[server]` settings and, with `[server.tls]`, its certificate loaded.
#[derive(Debug, Clone)]
pub struct Server {
    config: GatewayConfig,
    tls: Option<Arc<Tls>>,
}

impl Server {
    /// A server with these settings (`addr` is not read: the caller binds the listener). With
    /// `tls` set the certificate and key are read now, ALPN offering h2 when `http2` is on.
    pub fn new(config: &GatewayConfig) -> Result<Self, ServerError> {
        config.validate()?;
        let tls = match &config.tls {
            Some(files) => Some(Arc::new(Tls::load(files, config.http2)?)),
            None => None,
        };
        Ok(Self {
            config: config.clone(),
            tls,
        })
    }

    /// The TLS settings in use, to reload them (e.g. with
    /// [`reload_on_sighup`](super::tls::reload_on_sighup)); `None` for plain HTTP.
    pub fn tls(&self) -> Option<&Arc<Tls>> {
        self.tls.as_ref()
    }

    /// Serves `app` on `listener` until `shutdown` completes, then drains for up to the drain
    /// timeout.
    pub async fn serve<F>(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: F,
    ) -> Result<Shutdown, ServerError>
    where
        F: Future<Output = ()>,
    {
        let config = self.config;
        let max_connections = config.max_connections;
        let shared = Arc::new(Shared {
            app,
            http: http_builder(&config),
            timeouts: Timeouts {
                header_read: config.header_read_timeout,
                idle: config.keep_alive_idle_timeout,
            },
            max_header_bytes: config.max_header_bytes,
            max_connections,
            tls: self.tls,
        });
        let slots = Arc::new(Semaphore::new(max_connections));
        let (lifecycle, following) = watch::channel(Lifecycle::Serving);
        listener::accept_until(listener, shared, Arc::clone(&slots), following, shutdown).await;
        drain(&slots, max_connections, &lifecycle, config.drain_timeout).await
    }
}

/// Serves `app` on `listener` with the default `[server]` settings (plain HTTP) until `shutdown`
/// completes, then drains for up to `drain_timeout`. See [`Server`] for other settings and TLS.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    shutdown: F,
    drain_timeout: Duration,
) -> Result<Shutdown, ServerError>
where
    F: Future<Output = ()>,
{
    let config = GatewayConfig {
        drain_timeout,
        ..GatewayConfig::default()
    };
    Server::new(&config)?.serve(listener, app, shutdown).await
}

async fn drain(
    slots: &Semaphore,
    max_connections: usize,
    lifecycle: &watch::Sender<Lifecycle>,
    drain_timeout: Duration,
) -> Result<Shutdown, ServerError> {
    tracing::info!(
        drain_timeout_ms = u64::try_from(drain_timeout.as_millis()).unwrap_or(u64::MAX),
        "shutting down: no new connections, draining in-flight requests"
    );
    lifecycle.send_replace(Lifecycle::Draining);
    // Every slot back means every connection closed.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    match tokio::time::timeout(drain_timeout, slots.acquire_many(all)).await {
        Ok(_) => Ok(Shutdown::Drained),
        Err(_elapsed) => {
            tracing::warn!("drain timeout passed with requests still in flight");
            lifecycle.send_replace(Lifecycle::Closed);
            Ok(Shutdown::DrainTimedOut)
        }
    }
}

/// hyper's connection settings. No hyper timer is wired in: hyper's HTTP/1 header timeout would
/// also cut idle keep-alive connections (see [`watchdog`]), so it stays off and the watchdog
/// enforces both timeouts. hyper's buffer and header-list limits are the hard backstop of
/// `max_header_bytes` (see [`head_limit`]).
fn http_builder(config: &GatewayConfig) -> auto::Builder<TokioExecutor> {
    let backstop = head_limit::backstop(config.max_header_bytes);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .header_read_timeout(None)
        .max_buf_size(backstop);
    builder
        .http2()
        .max_header_list_size(u32::try_from(backstop).unwrap_or(u32::MAX));
    if config.http2 {
        builder
    } else {
        builder.http1_only()
    }
}

/// Completes on SIGINT (ctrl-c) or, on Unix, SIGTERM. If a signal cannot be listened for, that is
/// logged and the other one still works.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
