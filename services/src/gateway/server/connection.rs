//! One connection, from accept to close: the TLS handshake (within the header timeout), HTTP/1
//! or HTTP/2 through hyper, the head-size check, and the watchdog that closes slow and idle
//! connections. The connection holds its slot of `max_connections` until it closes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::Version;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use super::activity::{Activity, GuardedBody, Tracked};
use super::head_limit;
use super::watchdog::{Expiry, Watchdog};
use super::{Lifecycle, Shared};

/// Serves `stream` until it closes, the watchdog closes it, or the server stops.
pub(super) async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut lifecycle: watch::Receiver<Lifecycle>,
    _slot: OwnedSemaphorePermit,
) {
    let accepted = Instant::now();
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%peer, %error, "cannot set TCP_NODELAY");
    }
    let Some(tls) = &shared.tls else {
        return serve(stream, peer, accepted, &shared, lifecycle).await;
    };
    let deadline = accepted + shared.timeouts.header_read;
    let handshake = tokio::time::timeout_at(deadline, tls.acceptor().accept(stream));
    let stream = tokio::select! {
        outcome = handshake => match outcome {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            Err(_elapsed) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
        _ = lifecycle.wait_for(|now| *now != Lifecycle::Serving) => return,
    };
    serve(stream, peer, accepted, &shared, lifecycle).await;
}

async fn serve<I>(
    io: I,
    peer: SocketAddr,
    accepted: Instant,
    shared: &Shared,
    mut lifecycle: watch::Receiver<Lifecycle>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(accepted));
    let io = TokioIo::new(Tracked::new(io, Arc::clone(&activity)));
    let app = shared.app.clone();
    let max_header_bytes = shared.max_header_bytes;
    let requests = Arc::clone(&activity);
    let service = service_fn(move |req: Request<Incoming>| {
        let in_flight = requests.request_started(req.version() == Version::HTTP_2);
        let app = app.clone();
        async move {
            let response = match head_limit::check(req.headers(), max_header_bytes) {
                Some(refusal) => refusal,
                None => match app.oneshot(with_peer(req.map(Body::new), peer)).await {
                    Ok(response) => response,
                    Err(infallible) => match infallible {},
                },
            };
            Ok::<_, Infallible>(response.map(|body| GuardedBody::new(body, in_flight)))
        }
    });
    let connection = shared.http.serve_connection(io, service);
    tokio::pin!(connection);

    // The watchdog is never woken by requests: it looks when its timer fires (its deadline, or
    // one check interval later) and reads what the connection did and when.
    let mut watchdog = Watchdog::new(accepted, shared.timeouts);
    let sleep = tokio::time::sleep_until(watchdog.next_look(accepted));
    tokio::pin!(sleep);
    let mut closing = false;
    loop {
        tokio::select! {
            outcome = connection.as_mut() => {
                if let Err(error) = outcome {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = sleep.as_mut() => {
                let now = Instant::now();
                watchdog.observe(activity.observed());
                match watchdog.expire(now) {
                    Some(Expiry::HeaderRead) => {
                        tracing::debug!(%peer, "request head not received in time: closing");
                        return;
                    }
                    Some(Expiry::Closing) => return,
                    Some(Expiry::Idle) => {
                        tracing::trace!(%peer, "idle keep-alive connection: closing");
                        if !closing {
                            closing = true;
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                    None => {}
                }
                sleep.as_mut().reset(watchdog.next_look(now));
            }
            changed = lifecycle.changed() => {
                let now = if changed.is_ok() { *lifecycle.borrow_and_update() } else { Lifecycle::Closed };
                match now {
                    Lifecycle::Serving => {}
                    Lifecycle::Draining if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    Lifecycle::Draining => {}
                    Lifecycle::Closed => return,
                }
            }
        }
    }
}

/// The request with its peer's address, for extractors and the rate limiter
/// (`axum::extract::ConnectInfo<SocketAddr>`).
fn with_peer(mut req: Request<Body>, peer: SocketAddr) -> Request<Body> {
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    req
}
