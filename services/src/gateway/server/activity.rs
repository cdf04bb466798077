//! What a connection is doing, published for its [watchdog](super::watchdog) by the two parts
//! that know: the socket reader ([`Tracked`]: bytes arrived) and the service ([`InFlight`]: a
//! request head was parsed, its response was sent or dropped).
//!
//! The reader's cost on the hot path is one relaxed atomic load per read; it only signals the
//! first read after the connection went idle.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use super::watchdog::Observed;

/// Shared between a connection's reader, its service and its watchdog.
#[derive(Debug, Default)]
pub(super) struct Activity {
    started: AtomicU64,
    in_flight: AtomicUsize,
    /// Set when the last in-flight response finished; cleared by the next read.
    awaiting_bytes: AtomicBool,
    http2: AtomicBool,
    changed: Notify,
}

impl Activity {
    /// A request head was parsed; the request counts as in flight until the guard drops.
    pub(super) fn request_started(self: &Arc<Self>, http2: bool) -> InFlight {
        if http2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.started.fetch_add(1, Ordering::Release);
        if self.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            self.changed.notify_one();
        }
        InFlight(Arc::clone(self))
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            // A byte read between the decrement and this store goes unnoticed: the watchdog then
            // applies the idle timeout rather than the header timeout to that head. Both bound it.
            self.awaiting_bytes.store(true, Ordering::Release);
            self.changed.notify_one();
        }
    }

    fn bytes_read(&self) {
        if self.awaiting_bytes.load(Ordering::Relaxed)
            && self.awaiting_bytes.swap(false, Ordering::AcqRel)
        {
            self.changed.notify_one();
        }
    }

    /// Completes after the next change (or at once if one happened since the last call).
    pub(super) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The current state, for [`Watchdog::observe`](super::watchdog::Watchdog::observe).
    pub(super) fn observed(&self) -> Observed {
        Observed {
            started: self.started.load(Ordering::Acquire),
            in_flight: self.in_flight.load(Ordering::Acquire),
            bytes_since_idle: !self.awaiting_bytes.load(Ordering::Acquire),
            http2: self.http2.load(Ordering::Relaxed),
        }
    }
}

/// A request in flight; dropping it ends the request for the watchdog.
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that keeps its request in flight until it is sent or dropped.
#[derive(Debug)]
pub(super) struct GuardedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl GuardedBody {
    /// `inner`, ending `in_flight` when it is dropped.
    pub(super) fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's byte stream, reporting reads to its [`Activity`].
#[derive(Debug)]
pub(super) struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Tracked<T> {
    /// `inner`, reporting to `activity`.
    pub(super) fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn requests_and_the_first_byte_after_them_are_published() {
        let activity = Arc::new(Activity::default());
        let (client, server) = tokio::io::duplex(64);
        let mut server = Tracked::new(server, Arc::clone(&activity));
        let mut client = client;

        let guard = activity.request_started(false);
        activity.changed().await;
        assert_eq!(activity.observed().in_flight, 1);

        let body = GuardedBody::new(Body::from("x"), guard);
        drop(body);
        activity.changed().await;
        let seen = activity.observed();
        assert_eq!((seen.in_flight, seen.bytes_since_idle), (0, false));

        client.write_all(b"GET").await.unwrap();
        let mut buf = [0u8; 8];
        let n = server.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"GET");
        activity.changed().await;
        assert!(activity.observed().bytes_since_idle);
    }
}
