//! Settings of the HTTP gateway (the `[server]` section of the config file).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default listen address: loopback only, port 8080.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// Default largest accepted request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Default time in-flight requests get to finish after a shutdown signal.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How the gateway listens and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Largest accepted request body, in bytes; larger bodies get 413.
    pub body_limit: usize,
    /// After a shutdown signal: how long in-flight requests may still run before the server
    /// stops anyway.
    #[serde(with = "humantime_serde")]
    pub drain_timeout: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR,
            body_limit: DEFAULT_BODY_LIMIT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}
