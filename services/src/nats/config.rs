//! The `[nats]` section. With no `url` (the default) the adapter is off; `bulwark serve --nats URL`
//! sets it from the command line.
//!
//! ```toml
//! [nats]
//! url = "nats://127.0.0.1:4222"
//! queue_group = "bulwark"        # every node in one group shares the request subjects
//! max_in_flight = 256            # requests and jobs handled at once; beyond it 503 / no pulling
//! request_timeout = "10s"        # a request's deadline (a `Request-Timeout` header in ms lowers it)
//! job_ack_wait = "30s"           # a job not acked by then is redelivered to another node
//! job_max_deliver = 5            # deliveries of one job before JetStream gives up on it
//! reconnect_max_delay = "2s"     # reconnection backoff: 100 ms doubling up to this, plus jitter
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `[nats]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsConfig {
    /// The server, e.g. `nats://127.0.0.1:4222`; none turns the adapter off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The queue group the request subjects are subscribed in.
    pub queue_group: String,
    /// This node's name, sent back in the `Bulwark-Node` header (default `bulwark-<pid>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Requests and jobs this node handles at once (its bulkhead): a request beyond it is
    /// answered 503 at once, and no job is pulled while it is full.
    pub max_in_flight: usize,
    /// A request's deadline.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long JetStream waits for a job's ack before delivering it again.
    #[serde(with = "humantime_serde")]
    pub job_ack_wait: Duration,
    /// Deliveries of one job before JetStream stops offering it.
    pub job_max_deliver: i64,
    /// The longest wait between two reconnection attempts.
    #[serde(with = "humantime_serde")]
    pub reconnect_max_delay: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: None,
            queue_group: "bulwark".to_owned(),
            node_name: None,
            max_in_flight: 256,
            request_timeout: Duration::from_secs(10),
            job_ack_wait: Duration::from_secs(30),
            job_max_deliver: 5,
            reconnect_max_delay: Duration::from_secs(2),
        }
    }
}

/// A `[nats]` value out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid config value for `{key}`: {problem}")]
pub struct InvalidNatsConfig {
    /// The offending key, e.g. `nats.max_in_flight`.
    pub key: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl NatsConfig {
    /// Refuses values a running adapter must never hold.
    pub fn validate(&self) -> Result<(), InvalidNatsConfig> {
        let invalid = |key, problem| Err(InvalidNatsConfig { key, problem });
        if self.url.as_deref().is_some_and(|url| url.trim().is_empty()) {
            return invalid("nats.url", "must not be empty");
        }
        if self.queue_group.is_empty() || self.queue_group.contains(char::is_whitespace) {
            return invalid("nats.queue_group", "must be a non-empty token");
        }
        if !(1..=65_536).contains(&self.max_in_flight) {
            return invalid("nats.max_in_flight", "must be 1 to 65536");
        }
        if self.request_timeout.is_zero() {
            return invalid("nats.request_timeout", "must be more than 0");
        }
        if self.job_ack_wait < Duration::from_millis(100) {
            return invalid("nats.job_ack_wait", "must be at least 100ms");
        }
        if self.job_max_deliver < 1 {
            return invalid("nats.job_max_deliver", "must be at least 1");
        }
        if self.reconnect_max_delay < Duration::from_millis(100) {
            return invalid("nats.reconnect_max_delay", "must be at least 100ms");
        }
        Ok(())
    }

    /// The node's name for the `Bulwark-Node` header.
    pub fn node(&self) -> String {
        self.node_name
            .clone()
            .unwrap_or_else(|| format!("bulwark-{}", std::process::id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_bad_values_are_named() {
        let config = NatsConfig::default();
        assert!(config.url.is_none() && config.validate().is_ok());
        let zero = NatsConfig {
            max_in_flight: 0,
            ..NatsConfig::default()
        };
        assert_eq!(zero.validate().unwrap_err().key, "nats.max_in_flight");
        let parsed: NatsConfig =
            toml::from_str("url = \"nats://127.0.0.1:4222\"\njob_ack_wait = \"2s\"\n").unwrap();
        assert_eq!(parsed.job_ack_wait, Duration::from_secs(2));
        assert!(toml::from_str::<NatsConfig>("urll = \"x\"\n").is_err());
    }
}
