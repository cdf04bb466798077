//! Settings of the HTTP gateway (the `[server]` section of the config file).
//!
//! ```toml
//! [server]
//! addr = "127.0.0.1:8080"
//! body_limit = 1048576              # bytes
//! drain_timeout = "10s"
//! header_read_timeout = "10s"       # a request head must arrive within this
//! keep_alive_idle_timeout = "60s"   # an idle keep-alive connection is closed after this
//! max_header_bytes = 16384          # larger request heads answer 431
//! max_connections = 10000           # more wait in the listen backlog
//! http2 = true                      # h2c, and h2 by ALPN with TLS
//! request_timeout = "10s"           # every request's deadline; X-Request-Timeout (ms) lowers it
//!
//! [server.concurrency]              # requests in flight per route class; full ⇒ fast 503
//! critical = 1024                   # /livez, /readyz, /metrics, /status, token validation
//! non_critical = 256                # everything else
//!
//! [server.rate_limit]               # per client (X-API-Key, else peer address), per route class
//! enabled = true
//! critical = { per_second = 1000, burst = 2000 }
//! non_critical = { per_second = 100, burst = 200 }
//! max_clients = 100000              # clients tracked at once; idle ones are forgotten
//!
//! [server.tls]                      # optional: serve HTTPS
//! cert_file = "cert.pem"            # PEM chain, leaf first; re-read on SIGHUP
//! key_file = "key.pem"              # PEM private key (PKCS#8, PKCS#1 or SEC1)
//! ```
//!
//! Values are checked by [`GatewayConfig::validate`]; the server refuses settings that fail it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default listen address: loopback only, port 8080.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// Default largest accepted request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Default time in-flight requests get to finish after a shutdown signal.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time a client has to send a whole request head.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time an idle keep-alive connection is kept open.
pub const DEFAULT_KEEP_ALIVE_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default largest accepted request head (header fields): 16 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// Default largest number of open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Default deadline of every request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest accepted `header_read_timeout` or `keep_alive_idle_timeout`.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Smallest accepted `max_header_bytes`: room for a request line and a few ordinary headers.
pub const MIN_MAX_HEADER_BYTES: usize = 1024;

/// Largest accepted `max_header_bytes`: 1 MiB.
pub const MAX_MAX_HEADER_BYTES: usize = 1024 * 1024;

/// Largest accepted `max_connections`.
pub const MAX_MAX_CONNECTIONS: usize = 1_000_000;

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
    /// Time a client has to send a whole request head: from the connection's accept (TLS
    /// handshake included) to the first request, and from the first byte of each later request
    /// to the end of its head. Over it the connection is closed without an answer.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may sit idle (no request in flight, nothing sent) before it
    /// is closed.
    #[serde(with = "humantime_serde")]
    pub keep_alive_idle_timeout: Duration,
    /// Largest accepted request head: the header fields, counted as `name: value\r\n` each.
    /// Larger heads answer 431 in the standard format.
    pub max_header_bytes: usize,
    /// Largest number of open connections. Beyond it new connections wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// Serve HTTP/2 as well as HTTP/1.1: h2c with prior knowledge and, with TLS, h2 by ALPN.
    pub http2: bool,
    /// Every request's deadline unless the client asks for less with `X-Request-Timeout`.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Requests in flight per route class.
    pub concurrency: ConcurrencyConfig,
    /// Request rates per client and route class.
    pub rate_limit: RateLimitConfig,
    /// Serve HTTPS with this certificate; plain HTTP when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

/// The `[server.concurrency]` section: requests in flight per route class. The critical class
/// (health, metrics, status, token validation) has its own places, so load on the other routes
/// never queues it; a full class answers 503 with `Retry-After` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConcurrencyConfig {
    /// Places for critical routes.
    pub critical: usize,
    /// Places for every other route.
    pub non_critical: usize,
}

impl Default for ConcurrencyConfig {
    fn default() -> Self {
        Self {
            critical: 1024,
            non_critical: 256,
        }
    }
}

/// The `[server.rate_limit]` section: a GCRA limiter (governor) per client and route class.
/// A client is its `X-API-Key` header when present (only a hash of it is kept), else its peer
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Whether to limit at all.
    pub enabled: bool,
    /// Rate of critical routes per client.
    pub critical: RateConfig,
    /// Rate of every other route per client.
    pub non_critical: RateConfig,
    /// Most clients tracked at once (plus at most 64 per worker thread: the table is counted on
    /// one request in 64); beyond it, clients idle longest are forgotten first.
    pub max_clients: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            critical: RateConfig {
                per_second: 1000,
                burst: 2000,
            },
            non_critical: RateConfig {
                per_second: 100,
                burst: 200,
            },
            max_clients: 100_000,
        }
    }
}

/// A sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests allowed at once after a quiet period.
    pub burst: u32,
}

/// The `[server.tls]` section: where the PEM certificate chain and private key are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR,
            body_limit: DEFAULT_BODY_LIMIT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            keep_alive_idle_timeout: DEFAULT_KEEP_ALIVE_IDLE_TIMEOUT,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            http2: true,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            concurrency: ConcurrencyConfig::default(),
            rate_limit: RateLimitConfig::default(),
            tls: None,
        }
    }
}

/// A `[server]` value out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid config value for `{key}`: {problem}")]
pub struct InvalidSetting {
    /// The offending key, e.g. `server.max_connections`.
    pub key: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl GatewayConfig {
    /// Refuses values a running server must never hold: zero or absurdly large limits and
    /// timeouts. `body_limit` is checked by [`Config::validate`](crate::config::Config::validate).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let timeouts = [
            ("server.request_timeout", self.request_timeout),
            ("server.header_read_timeout", self.header_read_timeout),
            (
                "server.keep_alive_idle_timeout",
                self.keep_alive_idle_timeout,
            ),
        ];
        for (key, value) in timeouts {
            if value.is_zero() {
                return Err(invalid(key, "must be longer than zero"));
            }
            if value > MAX_TIMEOUT {
                return Err(invalid(key, "must not be longer than 1 hour"));
            }
        }
        if self.max_header_bytes < MIN_MAX_HEADER_BYTES {
            return Err(invalid(
                "server.max_header_bytes",
                "must be at least 1024 bytes",
            ));
        }
        if self.max_header_bytes > MAX_MAX_HEADER_BYTES {
            return Err(invalid(
                "server.max_header_bytes",
                "must not be larger than 1048576 bytes (1 MiB)",
            ));
        }
        if self.max_connections == 0 {
            return Err(invalid("server.max_connections", "must be at least 1"));
        }
        if self.max_connections > MAX_MAX_CONNECTIONS {
            return Err(invalid(
                "server.max_connections",
                "must not be larger than 1000000",
            ));
        }
        if self.concurrency.critical == 0 {
            return Err(invalid("server.concurrency.critical", "must be at least 1"));
        }
        if self.concurrency.non_critical == 0 {
            return Err(invalid(
                "server.concurrency.non_critical",
                "must be at least 1",
            ));
        }
        let rates = [
            ("server.rate_limit.critical", self.rate_limit.critical),
            (
                "server.rate_limit.non_critical",
                self.rate_limit.non_critical,
            ),
        ];
        for (key, rate) in rates {
            if rate.per_second == 0 || rate.burst == 0 {
                return Err(invalid(key, "per_second and burst must be at least 1"));
            }
        }
        if self.rate_limit.max_clients == 0 {
            return Err(invalid(
                "server.rate_limit.max_clients",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

fn invalid(key: &'static str, problem: &'static str) -> InvalidSetting {
    InvalidSetting { key, problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_key(config: &GatewayConfig) -> Option<&'static str> {
        config.validate().err().map(|e| e.key)
    }

    #[test]
    fn the_defaults_are_the_documented_ones_and_valid() {
        let config = GatewayConfig::default();
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.keep_alive_idle_timeout, Duration::from_secs(60));
        assert_eq!(config.max_header_bytes, 16 * 1024);
        assert_eq!(config.max_connections, 10_000);
        assert!(config.http2);
        assert_eq!(config.tls, None);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn the_server_section_reads_humantime_durations_and_tls() {
        let config: GatewayConfig = toml::from_str(
            "header_read_timeout = \"300ms\"\nkeep_alive_idle_timeout = \"2m\"\n\
             max_header_bytes = 4096\nmax_connections = 64\nhttp2 = false\n\
             [tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n",
        )
        .unwrap();
        assert_eq!(config.header_read_timeout, Duration::from_millis(300));
        assert_eq!(config.keep_alive_idle_timeout, Duration::from_secs(120));
        assert_eq!(config.max_header_bytes, 4096);
        assert_eq!(config.max_connections, 64);
        assert!(!config.http2);
        let tls = config.tls.unwrap();
        assert_eq!(tls.cert_file, PathBuf::from("c.pem"));
        assert_eq!(tls.key_file, PathBuf::from("k.pem"));
    }

    #[test]
    fn unknown_keys_and_incomplete_tls_are_refused() {
        assert!(toml::from_str::<GatewayConfig>("header_timeout = \"1s\"\n").is_err());
        assert!(toml::from_str::<GatewayConfig>("[tls]\ncert_file = \"c.pem\"\n").is_err());
        assert!(
            toml::from_str::<GatewayConfig>(
                "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\npassword = \"x\"\n"
            )
            .is_err()
        );
    }

    #[test]
    fn zero_and_absurd_values_are_refused_naming_the_key() {
        let base = GatewayConfig::default();
        let cases = [
            (
                GatewayConfig {
                    header_read_timeout: Duration::ZERO,
                    ..base.clone()
                },
                "server.header_read_timeout",
            ),
            (
                GatewayConfig {
                    keep_alive_idle_timeout: Duration::from_secs(86_400),
                    ..base.clone()
                },
                "server.keep_alive_idle_timeout",
            ),
            (
                GatewayConfig {
                    max_header_bytes: 0,
                    ..base.clone()
                },
                "server.max_header_bytes",
            ),
            (
                GatewayConfig {
                    max_header_bytes: 64 * 1024 * 1024,
                    ..base.clone()
                },
                "server.max_header_bytes",
            ),
            (
                GatewayConfig {
                    max_connections: 0,
                    ..base.clone()
                },
                "server.max_connections",
            ),
            (
                GatewayConfig {
                    max_connections: usize::MAX,
                    ..base.clone()
                },
                "server.max_connections",
            ),
        ];
        for (config, key) in cases {
            assert_eq!(problem_key(&config), Some(key));
            let message = config.validate().unwrap_err().to_string();
            assert!(message.contains(key), "{message}");
        }
    }
}
