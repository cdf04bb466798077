//! Helpers for the edge tests: a server on an ephemeral loopback port with chosen `[server]`
//! settings, hyper clients (HTTP/1, HTTP/2) over plain TCP or TLS, certificates made with rcgen.
//! Each test binary uses some of them.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use bulwark_services::gateway::app::routes;
use bulwark_services::gateway::server::{Server, ServerError, Shutdown};
use bulwark_services::gateway::{AppState, GatewayConfig, build};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::{http1, http2};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Every test runs inside this bound, so a regression fails instead of hanging.
pub const TEST_BOUND: Duration = Duration::from_secs(30);

/// Runs `test` and fails if it takes longer than [`TEST_BOUND`].
pub async fn bounded<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(TEST_BOUND, test)
        .await
        .expect("test did not finish within its bound");
}

/// A running server and the means to stop it.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<Shutdown, ServerError>>,
}

impl Running {
    /// Signals shutdown and waits for the server's answer.
    pub async fn stop(mut self) -> Shutdown {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap().unwrap()
    }
}

/// `GatewayConfig::default()` changed by `change`.
pub fn config(change: impl FnOnce(&mut GatewayConfig)) -> GatewayConfig {
    let mut config = GatewayConfig::default();
    change(&mut config);
    config
}

/// Serves the product's routes with `config`.
pub async fn start(config: GatewayConfig) -> Running {
    start_with(config, routes()).await
}

/// Serves `extra` routes through the same middleware and server as the product's.
pub async fn start_with(config: GatewayConfig, extra: Router<AppState>) -> Running {
    let server = Server::new(&config).unwrap();
    start_server(server, config, extra).await
}

/// Runs `server` (built from `config`) with `extra` routes.
pub async fn start_server(
    server: Server,
    config: GatewayConfig,
    extra: Router<AppState>,
) -> Running {
    let runtime = bulwark_runtime::runtime::Runtime::builder()
        .build()
        .await
        .unwrap();
    let app = build(extra, AppState::new(config, runtime));
    serve_app(server, app).await
}

/// Runs `server` with a finished application.
pub async fn serve_app(server: Server, app: axum::Router) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(server.serve(listener, app, shutdown));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

/// An HTTP/1.1 client connection; `closed` completes when the server closes it.
pub struct Http1 {
    pub sender: http1::SendRequest<Empty<Bytes>>,
    pub closed: JoinHandle<hyper::Result<()>>,
}

/// Opens an HTTP/1.1 client connection over `io`.
pub async fn http1<I>(io: I) -> Http1
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io)).await.unwrap();
    let closed = tokio::spawn(connection);
    Http1 { sender, closed }
}

/// Opens an HTTP/2 client connection over `io` (prior knowledge when `io` is plain TCP).
pub async fn http2<I>(io: I) -> hyper::Result<http2::SendRequest<Empty<Bytes>>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(io)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// A GET of `uri` with `headers` (and `host: x`), built for either client.
pub fn get(uri: &str, headers: &[(String, String)]) -> Request<Empty<Bytes>> {
    let mut request = Request::get(uri);
    if !uri.starts_with("http") {
        request = request.header("host", "x");
    }
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    request.body(Empty::new()).unwrap()
}

/// A response read whole.
pub struct Answer {
    pub status: StatusCode,
    pub version: hyper::Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Reads `response` whole.
pub async fn read(response: hyper::Response<hyper::body::Incoming>) -> Answer {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        version,
        headers,
        body,
    }
}

/// Sends `request` on an HTTP/1.1 connection and reads the answer.
pub async fn send1(client: &mut Http1, request: Request<Empty<Bytes>>) -> Answer {
    client.sender.ready().await.unwrap();
    read(client.sender.send_request(request).await.unwrap()).await
}

/// A GET of `/livez` on a fresh plain connection.
pub async fn livez(addr: SocketAddr) -> Answer {
    let mut client = http1(TcpStream::connect(addr).await.unwrap()).await;
    send1(&mut client, get("/livez", &[])).await
}

/// Checks the standard error format, with the same correlation ID in body and header.
pub fn assert_standard(answer: &Answer, status: u16, code: &str) -> Value {
    let body = answer.json();
    assert_eq!(answer.status.as_u16(), status, "{body}");
    let keys: BTreeSet<&str> = body
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {:?}", answer.body))
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "error",
        "status_code",
        "message",
        "details",
        "error_code",
        "correlation_id",
        "timestamp",
    ]
    .into();
    assert_eq!(keys, expected);
    assert_eq!(body["status_code"], status);
    assert_eq!(body["error_code"], code);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(
        body["correlation_id"],
        answer.headers["x-correlation-id"].to_str().unwrap()
    );
    body
}

/// A self-signed certificate for `localhost`: (DER for the client's trust store, certificate
/// PEM, key PEM).
pub fn self_signed() -> (CertificateDer<'static>, String, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (
        generated.cert.der().clone(),
        generated.cert.pem(),
        generated.signing_key.serialize_pem(),
    )
}

/// A TLS client trusting `roots` and offering `alpn`.
pub fn tls_client(roots: &[CertificateDer<'static>], alpn: &[&[u8]]) -> TlsConnector {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

/// Connects to `addr` over TLS as `localhost`.
pub async fn tls_connect(addr: SocketAddr, client: &TlsConnector) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    client.connect(name, tcp).await.unwrap()
}

/// The certificate the server presented on `stream`.
pub fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0].clone()
}
