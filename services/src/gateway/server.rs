//! Running the application on a listener, with graceful shutdown.
//!
//! When the shutdown future completes the server stops accepting connections, asks every open
//! connection to close once its current request is answered (idle keep-alive connections close at
//! once), and waits for in-flight requests — at most the drain timeout. Requests still running
//! then are abandoned when the process exits; [`Shutdown::DrainTimedOut`] says so.

use std::future::{Future, IntoFuture};
use std::io;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

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
    /// Accepting or serving connections failed.
    #[error("HTTP server failed")]
    Io(#[source] io::Error),
}

/// Serves `app` on `listener` until `shutdown` completes, then drains for up to `drain_timeout`.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    shutdown: F,
    drain_timeout: Duration,
) -> Result<Shutdown, ServerError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (draining_tx, draining_rx) = oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!(
            drain_timeout_ms = drain_timeout.as_millis() as u64,
            "shutting down: no new connections, draining in-flight requests"
        );
        // The receiver lives until `serve` returns; nothing to do if it is gone.
        let _ = draining_tx.send(());
    };
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(signal)
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map(|()| Shutdown::Drained).map_err(ServerError::Io),
        Ok(()) = draining_rx => {}
    }
    match tokio::time::timeout(drain_timeout, server).await {
        Ok(result) => result.map(|()| Shutdown::Drained).map_err(ServerError::Io),
        Err(_elapsed) => {
            tracing::warn!("drain timeout passed with requests still in flight");
            Ok(Shutdown::DrainTimedOut)
        }
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
