//! What the pipeline test binaries share: the quick breaker policy, failing simulator faults, the
//! product's server on a loopback port, and an HTTP client.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use bulwark_runtime::breaker::{BreakerConfig, WindowKind};
use bulwark_runtime::policy::{Policy, ProbePolicy};
use bulwark_services::gateway::GatewayConfig;
use bulwark_services::gateway::server::Server;
use bulwark_services::simulator::Faults;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The breaker's reset timeout in these tests.
pub const RESET: Duration = Duration::from_secs(30);

/// Trips at 50 % after 5 calls (count window 10); open for [`RESET`]; one trial call; no probes.
pub fn policy() -> Policy {
    Policy {
        breaker: BreakerConfig::builder()
            .window(WindowKind::Count { size: 10 })
            .minimum_calls(5)
            .failure_rate_threshold(50.0)
            .reset_timeout(RESET)
            .half_open_permits(1)
            .build()
            .unwrap(),
        probe: ProbePolicy {
            enabled: false,
            ..ProbePolicy::default()
        },
        ..Policy::default()
    }
}

/// Every request answered with `status`.
pub fn failing(status: u16) -> Faults {
    Faults {
        error_rate: 1.0,
        error_status: status,
        ..Faults::default()
    }
}

/// A server on a loopback port serving `app`; stops when dropped.
pub struct Served {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `app` through the product's server on a fresh loopback port.
pub async fn serve(app: Router) -> Served {
    serve_with(&GatewayConfig::default(), app).await
}

/// Serves `app` through the product's server with `config`'s edge settings.
pub async fn serve_with(config: &GatewayConfig, app: Router) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = Server::new(config).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.serve(listener, app, async move {
        let _ = stopped.await;
    }));
    Served {
        base: format!("http://{addr}"),
        stop: Some(stop),
    }
}

/// An HTTP client.
pub fn client() -> reqwest::Client {
    bulwark_runtime::http::install_default_tls();
    reqwest::Client::new()
}
