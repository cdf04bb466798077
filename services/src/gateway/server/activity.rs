//! What a connection is doing, published for its [watchdog](super::watchdog) by the two parts
//! that know: the socket reader ([`Tracked`]: bytes arrived) and the service ([`InFlight`]: a
//! request head was parsed, its response was sent or dropped).
//!
//! Nothing here wakes the watchdog: it reads this state when its own timer fires, and the
//! state carries *when* things happened (the connection went idle, the next head's first byte
//! arrived), so a late look still computes exact deadlines. The hot path pays a few atomic
//! operations and one clock read per request, and the reader one relaxed atomic load per read.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::watchdog::Observed;

/// Shared between a connection's reader, its service and its watchdog. Times are nanoseconds
/// since `origin` (the connection's accept).
#[derive(Debug)]
pub(super) struct Activity {
    origin: Instant,
    started: AtomicU64,
    in_flight: AtomicUsize,
    /// When a request last ended (stored before `in_flight` drops, so a watchdog that sees
    /// nothing in flight sees when that began).
    idle_since: AtomicU64,
    /// Set when the last in-flight response finished; cleared by the next read.
    awaiting_bytes: AtomicBool,
    /// When the first byte after the last idle spell began arrived.
    bytes_at: AtomicU64,
    http2: AtomicBool,
}

impl Activity {
    /// The activity of a connection accepted at `origin`.
    pub(super) fn new(origin: Instant) -> Self {
        Self {
            origin,
            started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            awaiting_bytes: AtomicBool::new(false),
            bytes_at: AtomicU64::new(0),
            http2: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        // Past u64 nanoseconds (584 years) the clock saturates.
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn at(&self, nanos: u64) -> Instant {
        self.origin + Duration::from_nanos(nanos)
    }

    /// A request head was parsed; the request counts as in flight until the guard drops.
    pub(super) fn request_started(self: &Arc<Self>, http2: bool) -> InFlight {
        if http2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.started.fetch_add(1, Ordering::Release);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    fn request_finished(&self) {
        self.idle_since.store(self.now(), Ordering::Release);
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            // A byte read between the decrement and this store goes unnoticed: the watchdog then
            // applies the idle timeout rather than the header timeout to that head. Both bound it.
            self.awaiting_bytes.store(true, Ordering::Release);
        }
    }

    fn bytes_read(&self) {
        if self.awaiting_bytes.load(Ordering::Relaxed)
            && self.awaiting_bytes.swap(false, Ordering::AcqRel)
        {
            self.bytes_at.store(self.now(), Ordering::Release);
        }
    }

    /// The current state, for [`Watchdog::observe`](super::watchdog::Watchdog::observe).
    pub(super) fn observed(&self) -> Observed {
        let started = self.started.load(Ordering::Acquire);
        let in_flight = self.in_flight.load(Ordering::Acquire);
        let idle_since = self.idle_since.load(Ordering::Acquire);
        let bytes_at = self.bytes_at.load(Ordering::Acquire);
        // Bytes count for the next head only if they came after the connection went idle.
        let head_since = (!self.awaiting_bytes.load(Ordering::Acquire) && bytes_at > idle_since)
            .then(|| self.at(bytes_at));
        Observed {
            started,
            in_flight,
            idle_since: self.at(idle_since),
            head_since,
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

    #[tokio::test(start_paused = true)]
    async fn requests_and_the_first_byte_after_them_are_published_with_their_times() {
        let t0 = Instant::now();
        let activity = Arc::new(Activity::new(t0));
        let (client, server) = tokio::io::duplex(64);
        let mut server = Tracked::new(server, Arc::clone(&activity));
        let mut client = client;

        let guard = activity.request_started(false);
        let seen = activity.observed();
        assert_eq!((seen.started, seen.in_flight), (1, 1));

        tokio::time::advance(Duration::from_secs(2)).await;
        let body = GuardedBody::new(Body::from("x"), guard);
        drop(body);
        let seen = activity.observed();
        assert_eq!((seen.in_flight, seen.head_since), (0, None));
        assert_eq!(seen.idle_since, t0 + Duration::from_secs(2));

        tokio::time::advance(Duration::from_secs(3)).await;
        client.write_all(b"GET").await.unwrap();
        let mut buf = [0u8; 8];
        let n = server.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"GET");
        assert_eq!(
            activity.observed().head_since,
            Some(t0 + Duration::from_secs(5))
        );
        // Later reads of the same head do not move its start.
        tokio::time::advance(Duration::from_secs(1)).await;
        client.write_all(b" /").await.unwrap();
        let _ = server.read(&mut buf).await.unwrap();
        assert_eq!(
            activity.observed().head_since,
            Some(t0 + Duration::from_secs(5))
        );
    }
}
