//! Real HTTP upstreams on loopback for the tests of HTTP dependencies and pools: axum servers
//! (and a raw TCP one for broken connections) bound to `127.0.0.1:0` inside the test.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running upstream; stopped when dropped.
pub struct Upstream {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Upstream {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on a fresh loopback port.
pub async fn serve(router: axum::Router) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Upstream { addr, task }
}

/// Accepts connections and hands each one, after its request head was read, to `answer`.
pub async fn raw<F, Fut>(answer: F) -> Upstream
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            read_head(&mut stream).await;
            tokio::spawn(answer(stream));
        }
    });
    Upstream { addr, task }
}

/// Reads until the end of the request head (the tests' requests have small bodies that arrive
/// with it or are ignored).
async fn read_head(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends a 200 head promising `length` bytes, then `partial` bytes of it, then resets the
/// connection (RST, not a clean close).
pub async fn reset_mid_body(mut stream: TcpStream, length: usize, partial: &[u8]) {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(partial).await;
    let _ = stream.flush().await;
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// A loopback port with nothing listening (bound, then released).
pub async fn refused_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}
