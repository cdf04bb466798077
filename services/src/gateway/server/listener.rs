//! The accept loop: one task per connection, never more than `max_connections` at once.
//!
//! A slot (a semaphore permit) is taken *before* `accept`, so when every slot is held the loop
//! stops accepting and new connections wait in the kernel's listen backlog (bounded by the
//! backlog size and `net.core.somaxconn`; beyond it the kernel drops or refuses them) until a
//! connection closes. The task count is therefore never above `max_connections`.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::{Lifecycle, Shared, connection};

/// Pause after an accept error that is not about one connection (e.g. out of file descriptors),
/// so the loop does not spin while the condition lasts. Closing connections end it sooner.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts until `shutdown` completes; the listener is closed when this returns.
pub(super) async fn accept_until<F>(
    listener: TcpListener,
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    lifecycle: watch::Receiver<Lifecycle>,
    shutdown: F,
) where
    F: Future<Output = ()>,
{
    tokio::pin!(shutdown);
    let mut slot: Option<OwnedSemaphorePermit> = None;
    let mut at_limit = false;
    loop {
        let permit = match slot.take() {
            Some(permit) => permit,
            None => {
                if slots.available_permits() == 0 && !at_limit {
                    at_limit = true;
                    tracing::warn!(
                        max_connections = shared.max_connections,
                        "connection limit reached: new connections wait in the listen backlog"
                    );
                }
                let permit = tokio::select! {
                    () = &mut shutdown => return,
                    permit = Arc::clone(&slots).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_closed) => return,
                    },
                };
                if at_limit && slots.available_permits() > 0 {
                    at_limit = false;
                    tracing::info!("connection limit no longer reached");
                }
                permit
            }
        };
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(connection::run(
                    stream,
                    peer,
                    Arc::clone(&shared),
                    lifecycle.clone(),
                    permit,
                ));
            }
            Err(error) if is_per_connection(&error) => {
                tracing::debug!(%error, "accept failed for one connection");
                slot = Some(permit);
            }
            Err(error) => {
                tracing::error!(%error, "accept failed; pausing before the next accept");
                slot = Some(permit);
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(ACCEPT_ERROR_BACKOFF) => {}
                }
            }
        }
    }
}

/// Errors that concern the one connection being accepted, not the listener.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}
