//! The gateway's own resilience, over real loopback sockets: slow clients (slowloris), oversized
//! heads, connection floods, keep-alive limits and HTTP/2 with prior knowledge. Settings are
//! short; tests wait on events (a response, an EOF), and sleep only to play a slow client or to
//! stay idle for a set time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::routing::get as route_get;
use bulwark_services::gateway::app::routes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use support::{
    assert_standard, bounded, config, get, http1, http2, livez, read, send1, start, start_with,
};

/// Reads until the server closes the connection; returns what arrived. A reset counts as closed.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return received,
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_head_is_closed_within_a_second_while_others_are_served() {
    bounded(async {
        let server = start(config(|c| c.header_read_timeout = ms(300))).await;
        let addr = server.addr;

        // A normal client asks every 10 ms on a fresh connection until the slow one is closed.
        let slow_closed = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let normal = tokio::spawn({
            let (slow_closed, served) = (Arc::clone(&slow_closed), Arc::clone(&served));
            async move {
                let mut every = tokio::time::interval(ms(10));
                while !slow_closed.load(Ordering::Acquire) {
                    every.tick().await;
                    let answer = livez(addr).await;
                    assert_eq!(answer.status, 200);
                    served.fetch_add(1, Ordering::Relaxed);
                }
            }
        });

        let started = Instant::now();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let received = tokio::time::timeout(Duration::from_secs(1), read_until_closed(&mut slow))
            .await
            .expect("the half-sent request was not closed within 1 s");
        let elapsed = started.elapsed();
        slow_closed.store(true, Ordering::Release);
        normal.await.unwrap();

        assert!(received.is_empty(), "no answer to a half-sent head");
        assert!(elapsed >= ms(300), "closed before the timeout: {elapsed:?}");
        assert!(served.load(Ordering::Relaxed) >= 1);
    })
    .await;
}

#[tokio::test]
async fn a_drip_fed_head_is_closed_at_the_header_timeout_and_a_silent_one_too() {
    bounded(async {
        let server = start(config(|c| c.header_read_timeout = ms(300))).await;

        // One header byte every 50 ms: never idle, never finished.
        let started = Instant::now();
        let mut drip = TcpStream::connect(server.addr).await.unwrap();
        drip.write_all(b"GET /livez HTTP/1.1\r\n").await.unwrap();
        let mut ticks = tokio::time::interval(ms(50));
        let closed_after = loop {
            ticks.tick().await;
            if drip.write_all(b"x").await.is_err() {
                break started.elapsed();
            }
            let mut probe = [0u8; 1];
            match tokio::time::timeout(ms(1), drip.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break started.elapsed(),
                Ok(Ok(_)) => panic!("the server answered a head that never ended"),
                Err(_still_open) => assert!(started.elapsed() < Duration::from_secs(1)),
            }
        };
        assert!(closed_after >= ms(300), "{closed_after:?}");

        // A connection that sends nothing at all.
        let started = Instant::now();
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        tokio::time::timeout(Duration::from_secs(1), read_until_closed(&mut silent))
            .await
            .expect("a silent connection was not closed within 1 s");
        assert!(started.elapsed() >= ms(300));
    })
    .await;
}

#[tokio::test]
async fn a_kept_alive_connection_may_idle_past_the_header_timeout_until_the_idle_timeout() {
    bounded(async {
        let settings = config(|c| {
            c.header_read_timeout = ms(200);
            c.keep_alive_idle_timeout = ms(1500);
        });
        let server = start(settings).await;
        let mut client = http1(TcpStream::connect(server.addr).await.unwrap()).await;
        assert_eq!(send1(&mut client, get("/livez", &[])).await.status, 200);

        // Idle for longer than the header timeout: the connection is still served.
        tokio::time::sleep(ms(500)).await;
        assert!(!client.closed.is_finished());
        assert_eq!(send1(&mut client, get("/livez", &[])).await.status, 200);

        // Then idle: closed by the server after the idle timeout.
        let idle_from = Instant::now();
        (&mut client.closed).await.unwrap().unwrap();
        let idled = idle_from.elapsed();
        assert!(idled >= ms(1400), "closed too early: {idled:?}");
        assert!(idled < ms(3000), "closed too late: {idled:?}");
    })
    .await;
}

#[tokio::test]
async fn a_half_sent_head_on_a_kept_alive_connection_is_closed_at_the_header_timeout() {
    bounded(async {
        let settings = config(|c| {
            c.header_read_timeout = ms(200);
            c.keep_alive_idle_timeout = ms(3000);
        });
        let server = start(settings).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "first request answered"
        );

        // Idle past the header timeout (fine), then half a head: its clock starts with its first
        // byte, not with the idle spell, and ends long before the idle timeout.
        tokio::time::sleep(ms(500)).await;
        let head_from = Instant::now();
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let received = tokio::time::timeout(ms(1500), read_until_closed(&mut stream))
            .await
            .expect("the half-sent head was not closed before the idle timeout");
        let elapsed = head_from.elapsed();
        assert!(received.is_empty(), "no answer to a half-sent head");
        assert!(
            elapsed >= ms(200),
            "closed before the header timeout: {elapsed:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn heads_over_max_header_bytes_answer_431_in_the_standard_format() {
    bounded(async {
        let server = start(config(|_| {})).await;
        let mut client = http1(TcpStream::connect(server.addr).await.unwrap()).await;

        // "host: x\r\n" (9) + "x-fill: …\r\n" (10 + n) = 16 KiB exactly: accepted.
        let at_limit = 16 * 1024 - 19;
        let fill = |n: usize| vec![("x-fill".to_owned(), "f".repeat(n))];
        let answer = send1(&mut client, get("/livez", &fill(at_limit))).await;
        assert_eq!(answer.status, 200);
        let mut over = fill(at_limit + 1);
        over.push(("x-correlation-id".to_owned(), "edge-431".to_owned()));
        let answer = send1(&mut client, get("/livez", &over)).await;
        let body = assert_standard(&answer, 431, "VALIDATION_ERROR");
        assert_eq!(body["correlation_id"], "edge-431");
        assert_eq!(
            body["details"]["headers"],
            "must not be larger than 16384 bytes"
        );

        // 64 KiB of headers, in 64 fields of 1 KiB.
        let big: Vec<_> = (0..64)
            .map(|i| (format!("x-h{i:02}"), "v".repeat(1024)))
            .collect();
        let answer = send1(&mut client, get("/livez", &big)).await;
        assert_standard(&answer, 431, "VALIDATION_ERROR");
        // The connection is still usable.
        assert_eq!(send1(&mut client, get("/livez", &[])).await.status, 200);

        // The same over HTTP/2.
        let mut h2 = http2(TcpStream::connect(server.addr).await.unwrap())
            .await
            .unwrap();
        h2.ready().await.unwrap();
        let url = format!("http://{}/livez", server.addr);
        let answer = read(h2.send_request(get(&url, &big)).await.unwrap()).await;
        assert_eq!(answer.version, hyper::Version::HTTP_2);
        assert_standard(&answer, 431, "VALIDATION_ERROR");
    })
    .await;
}

#[tokio::test]
async fn a_head_past_hypers_backstop_gets_its_bare_431_and_the_connection_closes() {
    bounded(async {
        // max_header_bytes 1 KiB: hyper's buffer (the backstop) is 8 KiB.
        let server = start(config(|c| c.max_header_bytes = 1024)).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // Exactly the backstop's size and unfinished, so the server reads all of it.
        let mut head = b"GET /livez HTTP/1.1\r\nx-big: ".to_vec();
        head.resize(8192, b'b');
        stream.write_all(&head).await.unwrap();
        let received = read_until_closed(&mut stream).await;
        let text = String::from_utf8_lossy(&received);
        assert!(
            text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{text}"
        );
        assert!(
            text.to_ascii_lowercase().contains("content-length: 0\r\n"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_malformed_request_line_gets_hypers_bare_400() {
    bounded(async {
        let server = start(config(|_| {})).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"NOT A REQUEST\r\n\r\n").await.unwrap();
        let received = read_until_closed(&mut stream).await;
        let text = String::from_utf8_lossy(&received);
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "no body: {text}");
    })
    .await;
}

/// Fails clearly when the process may not open the sockets a test needs.
fn require_open_files(needed: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(soft) = soft {
        assert!(
            soft >= needed,
            "this test needs {needed} open files; raise the limit (ulimit -n), now {soft}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections_do_not_delay_a_new_client() {
    const IDLE: usize = 2000;
    require_open_files(2 * IDLE as u64 + 200);
    bounded(async {
        let server = start(config(|_| {})).await;
        let addr = server.addr;
        let connects = (0..IDLE).map(|_| tokio::spawn(TcpStream::connect(addr)));
        let mut idle = Vec::with_capacity(IDLE);
        for connect in connects {
            idle.push(connect.await.unwrap().unwrap());
        }

        // Five fresh clients, each timed from connect to the whole answer; the median counts,
        // so one scheduling hiccup on a shared machine does not decide.
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let answer = livez(addr).await;
            times.push(started.elapsed());
            assert_eq!(answer.status, 200);
        }
        times.sort();
        assert!(times[2] < ms(100), "median /livez time {:?}", times[2]);

        // The idle connections were held open, not shed: one still gets an answer.
        let mut first = http1(idle.swap_remove(0)).await;
        assert_eq!(send1(&mut first, get("/livez", &[])).await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn beyond_max_connections_new_clients_wait_until_a_slot_frees() {
    bounded(async {
        let server = start(config(|c| c.max_connections = 8)).await;
        // Eight kept-alive connections, each proven accepted by an answer.
        let mut held = Vec::new();
        for _ in 0..8 {
            let mut client = http1(TcpStream::connect(server.addr).await.unwrap()).await;
            assert_eq!(send1(&mut client, get("/livez", &[])).await.status, 200);
            held.push(client);
        }

        // A ninth connects (the kernel's backlog takes it) but is not served...
        let mut waiting = http1(TcpStream::connect(server.addr).await.unwrap()).await;
        waiting.sender.ready().await.unwrap();
        let response = waiting.sender.send_request(get("/livez", &[]));
        tokio::pin!(response);
        let early = tokio::time::timeout(ms(300), &mut response).await;
        assert!(early.is_err(), "served beyond max_connections");

        // ...until one of the eight closes.
        drop(held.pop());
        let answer = read(response.await.unwrap()).await;
        assert_eq!(answer.status, 200);
    })
    .await;
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_answered_and_refused_when_turned_off() {
    bounded(async {
        let server = start(config(|_| {})).await;
        let mut h2 = http2(TcpStream::connect(server.addr).await.unwrap())
            .await
            .unwrap();
        let url = format!("http://{}/livez", server.addr);
        h2.ready().await.unwrap();
        let answer = read(h2.send_request(get(&url, &[])).await.unwrap()).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.version, hyper::Version::HTTP_2);
        assert!(answer.headers.contains_key("x-correlation-id"));

        let http1_only = start(config(|c| c.http2 = false)).await;
        let refused = async {
            let mut h2 = http2(TcpStream::connect(http1_only.addr).await.unwrap()).await?;
            h2.ready().await?;
            let url = format!("http://{}/livez", http1_only.addr);
            h2.send_request(get(&url, &[])).await.map(|_| ())
        };
        assert!(refused.await.is_err(), "HTTP/2 served with http2 = false");
        assert_eq!(livez(http1_only.addr).await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn shutdown_waits_for_a_request_in_flight_then_closes_every_connection() {
    bounded(async {
        let release = Arc::new(Semaphore::new(0));
        let gate = Arc::clone(&release);
        let (started_tx, mut started) = mpsc::channel::<()>(1);
        let slow = route_get(move || {
            let gate = Arc::clone(&gate);
            let started_tx = started_tx.clone();
            async move {
                started_tx.send(()).await.unwrap();
                let _permit = gate.acquire().await.unwrap();
                "finished"
            }
        });
        let server = start_with(config(|_| {}), routes().route("/test/slow", slow)).await;
        let mut idle = http1(TcpStream::connect(server.addr).await.unwrap()).await;
        assert_eq!(send1(&mut idle, get("/livez", &[])).await.status, 200);
        let mut busy = http1(TcpStream::connect(server.addr).await.unwrap()).await;
        busy.sender.ready().await.unwrap();
        let in_flight = tokio::spawn(busy.sender.send_request(get("/test/slow", &[])));
        started.recv().await.unwrap();

        let stopping = tokio::spawn(server.stop());
        // The idle keep-alive connection is closed at once; the busy one is not.
        (&mut idle.closed).await.unwrap().unwrap();
        assert!(!stopping.is_finished());
        release.add_permits(1);
        let answer = read(in_flight.await.unwrap().unwrap()).await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            stopping.await.unwrap(),
            bulwark_services::gateway::server::Shutdown::Drained
        );
        busy.closed.await.unwrap().unwrap();
    })
    .await;
}
