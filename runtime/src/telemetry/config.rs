//! [`TelemetryConfig`]: the `[telemetry]` settings (trace export).

use serde::{Deserialize, Serialize};

/// The service name reported with exported spans unless configured.
pub const DEFAULT_SERVICE_NAME: &str = "bulwark";

/// Which spans are exported unless configured: requests and everything at `info`, plus the guard's
/// per-attempt spans (`dependency.attempt`, at `debug` so that logging at `info` never pays for
/// them when no trace is exported).
pub const DEFAULT_TRACE_FILTER: &str = "info,bulwark_runtime::dependency=debug";

/// Trace export settings (`[telemetry]` in a config file). With no `otlp_endpoint`, nothing is
/// exported and no OpenTelemetry layer is installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP (protobuf) endpoint spans are sent to: a collector's base URL such as
    /// `http://127.0.0.1:4318` (then `/v1/traces` is appended) or the full traces URL. Only `http`
    /// and `https` are accepted.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute of exported spans.
    pub service_name: String,
    /// Which spans are exported, in `RUST_LOG` syntax; independent of the log filter.
    pub filter: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            filter: DEFAULT_TRACE_FILTER.to_owned(),
        }
    }
}

impl TelemetryConfig {
    /// Settings that export to `endpoint`, the rest default.
    pub fn with_otlp_endpoint(endpoint: impl Into<String>) -> Self {
        Self {
            otlp_endpoint: Some(endpoint.into()),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_from_toml_with_defaults() {
        let empty: TelemetryConfig = toml::from_str("").unwrap();
        assert_eq!(empty, TelemetryConfig::default());
        assert!(empty.otlp_endpoint.is_none());
        let set: TelemetryConfig =
            toml::from_str("otlp_endpoint = \"http://127.0.0.1:4318\"\n").unwrap();
        assert_eq!(set.otlp_endpoint.as_deref(), Some("http://127.0.0.1:4318"));
        assert_eq!(set.service_name, DEFAULT_SERVICE_NAME);
        assert!(toml::from_str::<TelemetryConfig>("endpoint = \"x\"\n").is_err());
    }
}
