//! HTTPS over loopback with certificates made by rcgen: HTTP/1.1 and h2 by ALPN, the handshake
//! bounded by the header timeout, and a rotated certificate re-read on SIGHUP without dropping
//! open connections. In a binary of its own because it sends SIGHUP to its own process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use bulwark_services::gateway::TlsConfig;
use bulwark_services::gateway::app::routes;
use bulwark_services::gateway::server::{Server, ServerError};
use bulwark_services::gateway::tls::reload_on_sighup;
use tempfile::TempDir;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use support::{
    bounded, config, get, http1, http2, presented, read, self_signed, send1, start, start_server,
    tls_client, tls_connect,
};

/// Writes a certificate and key into `dir` and returns where.
fn write_pair(dir: &TempDir, cert: &str, key: &str) -> TlsConfig {
    let files = TlsConfig {
        cert_file: dir.path().join("cert.pem"),
        key_file: dir.path().join("key.pem"),
    };
    fs::write(&files.cert_file, cert).unwrap();
    fs::write(&files.key_file, key).unwrap();
    files
}

#[tokio::test]
async fn https_round_trip_over_http1_and_h2_by_alpn() {
    bounded(async {
        let dir = TempDir::new().unwrap();
        let (der, cert, key) = self_signed();
        let files = write_pair(&dir, &cert, &key);
        let server = start(config(|c| c.tls = Some(files))).await;

        let client = tls_client(std::slice::from_ref(&der), &[b"h2", b"http/1.1"]);
        let stream = tls_connect(server.addr, &client).await;
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        assert_eq!(presented(&stream), der);
        let mut h2 = http2(stream).await.unwrap();
        h2.ready().await.unwrap();
        let answer = read(
            h2.send_request(get("https://localhost/livez", &[]))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.version, hyper::Version::HTTP_2);
        assert_eq!(answer.json()["status"], "ok");

        let client = tls_client(std::slice::from_ref(&der), &[b"http/1.1"]);
        let stream = tls_connect(server.addr, &client).await;
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let mut h1 = http1(stream).await;
        let answer = send1(&mut h1, get("/livez", &[])).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.version, hyper::Version::HTTP_11);

        // A plain-HTTP request to the TLS port gets no HTTP answer.
        let plain = TcpStream::connect(server.addr).await.unwrap();
        let mut plain = http1(plain).await;
        plain.sender.ready().await.unwrap();
        assert!(plain.sender.send_request(get("/livez", &[])).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn without_http2_alpn_settles_on_http1() {
    bounded(async {
        let dir = TempDir::new().unwrap();
        let (der, cert, key) = self_signed();
        let files = write_pair(&dir, &cert, &key);
        let server = start(config(|c| {
            c.http2 = false;
            c.tls = Some(files);
        }))
        .await;
        let client = tls_client(&[der], &[b"h2", b"http/1.1"]);
        let stream = tls_connect(server.addr, &client).await;
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let mut h1 = http1(stream).await;
        assert_eq!(send1(&mut h1, get("/livez", &[])).await.status, 200);
    })
    .await;
}

#[test]
fn a_server_whose_certificate_cannot_be_read_does_not_start() {
    let dir = TempDir::new().unwrap();
    let missing = TlsConfig {
        cert_file: dir.path().join("missing.pem"),
        key_file: dir.path().join("missing.key"),
    };
    let outcome = Server::new(&config(|c| c.tls = Some(missing)));
    assert!(matches!(outcome, Err(ServerError::Tls(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_stalled_tls_handshake_is_closed_at_the_header_timeout() {
    bounded(async {
        let dir = TempDir::new().unwrap();
        let (_, cert, key) = self_signed();
        let files = write_pair(&dir, &cert, &key);
        let server = start(config(|c| {
            c.header_read_timeout = Duration::from_millis(300);
            c.tls = Some(files);
        }))
        .await;
        let started = Instant::now();
        let mut stalled = TcpStream::connect(server.addr).await.unwrap();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(1), stalled.read(&mut buf))
            .await
            .expect("a stalled handshake was not closed within 1 s");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert!(started.elapsed() >= Duration::from_millis(300));
    })
    .await;
}

#[tokio::test]
async fn sighup_rereads_a_rotated_certificate_and_keeps_open_connections() {
    bounded(async {
        let dir = TempDir::new().unwrap();
        let (first_der, first, first_key) = self_signed();
        let (second_der, second, second_key) = self_signed();
        let settings = config(|c| c.tls = Some(write_pair(&dir, &first, &first_key)));
        let server = Server::new(&settings).unwrap();
        let tls = Arc::clone(server.tls().unwrap());
        let mut reloads = tls.reloads();
        let reloader = reload_on_sighup(tls).unwrap();
        let server = start_server(server, settings, routes()).await;
        let client = tls_client(&[first_der.clone(), second_der.clone()], &[b"http/1.1"]);

        let before = tls_connect(server.addr, &client).await;
        assert_eq!(presented(&before), first_der);
        let mut open = http1(before).await;
        assert_eq!(send1(&mut open, get("/livez", &[])).await.status, 200);

        // Rotate the files, then tell the process.
        write_pair(&dir, &second, &second_key);
        let hup = std::process::Command::new("kill")
            .args(["-HUP", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(hup.success());
        reloads.changed().await.unwrap();

        let after = tls_connect(server.addr, &client).await;
        assert_eq!(presented(&after), second_der);
        let mut fresh = http1(after).await;
        assert_eq!(send1(&mut fresh, get("/livez", &[])).await.status, 200);

        // The connection made before the reload is still open and served.
        assert!(!open.closed.is_finished());
        assert_eq!(send1(&mut open, get("/livez", &[])).await.status, 200);
        reloader.abort();
    })
    .await;
}
