//! The configuration file (`--config FILE`, TOML) and its embedded defaults.
//!
//! Every key is optional; a missing file section means its defaults. Unknown keys are refused so a
//! typo does not silently fall back to a default.
//!
//! ```toml
//! data_dir = "./bulwark-data"
//!
//! [log]
//! format = "json"          # or "text"
//! filter = "info"          # RUST_LOG syntax; the RUST_LOG variable overrides it
//!
//! [server]
//! addr = "127.0.0.1:8080"
//! drain_timeout = "10s"
//! body_limit = 1048576     # bytes
//! # and the connection limits and TLS: see crate::gateway::config
//!
//! [dependencies."auth.store.primary".breaker]   # any part of a dependency's policy
//! reset_timeout = "10s"                          # (see crate::overrides)
//!
//! [sentiment]               # model endpoints, labels, cache: see crate::sentiment::config
//! [embeddings]              # embeddings endpoints, local fallback: see crate::embeddings::config
//! [response]                # LLM providers, hedging, templates: see crate::responses::config
//! [[response.providers]]
//!
//! [sentiment.jobs]          # durable jobs (see crate::jobs::config)
//! workers = 2
//! max_queued = 1000
//!
//! [nats]                    # off unless url is set (or `serve --nats URL`): see crate::nats::config
//! url = "nats://127.0.0.1:4222"
//!
//! [telemetry]
//! otlp_endpoint = "http://127.0.0.1:4318"   # OTLP/HTTP collector; unset (default): no export
//! service_name = "bulwark"                  # the service.name of exported spans
//! filter = "info,bulwark_runtime::dependency=debug"   # which spans are exported
//! ```
//!
//! `[telemetry] otlp_endpoint` turns trace export on: spans per request and per dependency
//! attempt, sent as OTLP over HTTP (protobuf) to the collector's base URL (`/v1/traces` is
//! appended when the URL has no path) or to the full URL given. An endpoint that is not an
//! `http://` or `https://` URL stops `serve` at start with an error.

use std::path::{Path, PathBuf};

use bulwark_runtime::telemetry::{LogFormat, TelemetryConfig};
use serde::{Deserialize, Serialize};

use crate::auth::AuthConfig;
use crate::embeddings::EmbeddingsConfig;
use crate::gateway::GatewayConfig;
use crate::nats::NatsConfig;
use crate::overrides::{self, OverrideError, Overrides};
use crate::responses::ResponseConfig;
use crate::sentiment::SentimentConfig;
use crate::upstream::InvalidEndpoint;

/// Where durable state lives unless configured.
pub const DEFAULT_DATA_DIR: &str = "./bulwark-data";

/// The filter used unless configured or overridden by `RUST_LOG`.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory for durable state (databases, job queues).
    pub data_dir: PathBuf,
    /// Logging.
    pub log: LogConfig,
    /// The HTTP gateway.
    pub server: GatewayConfig,
    /// The auth pipeline.
    pub auth: AuthConfig,
    /// The sentiment pipeline (`[sentiment]`, its durable jobs in `[sentiment.jobs]`).
    pub sentiment: SentimentConfig,
    /// The embeddings pipeline (`[embeddings]`).
    pub embeddings: EmbeddingsConfig,
    /// The response pipeline (`[response]`, its providers in `[[response.providers]]`).
    pub response: ResponseConfig,
    /// Per-dependency policy overrides, by dependency or pool name.
    #[serde(skip_serializing_if = "Overrides::is_empty")]
    pub dependencies: Overrides,
    /// Trace export (`[telemetry]`).
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// The NATS adapter (`[nats]`; off without a `url`).
    pub nats: NatsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            log: LogConfig::default(),
            server: GatewayConfig::default(),
            auth: AuthConfig::default(),
            sentiment: SentimentConfig::default(),
            embeddings: EmbeddingsConfig::default(),
            response: ResponseConfig::default(),
            dependencies: Overrides::new(),
            telemetry: TelemetryConfig::default(),
            nats: NatsConfig::default(),
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// JSON lines or text.
    pub format: LogFormat,
    /// Filter directives in `RUST_LOG` syntax.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            filter: DEFAULT_LOG_FILTER.to_owned(),
        }
    }
}

/// The configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("invalid config file {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// A `[dependencies]` section is not a valid policy.
    #[error("invalid dependency override")]
    Override(#[from] OverrideError),
    /// A `[sentiment]`, `[embeddings]` or `[response]` value is out of range (the key names the entry).
    #[error(transparent)]
    Pipeline(#[from] InvalidEndpoint),
    /// A value is out of range.
    #[error("invalid config value for `{key}`: {problem}")]
    Invalid {
        /// The offending key, e.g. `server.body_limit`.
        key: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

impl Config {
    /// Reads `path` when given, else the embedded defaults.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Refuses values a running service must never hold.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.server.body_limit == 0 {
            return Err(ConfigError::Invalid {
                key: "server.body_limit",
                problem: "must be at least 1 byte",
            });
        }
        self.server
            .validate()
            .map_err(|invalid| ConfigError::Invalid {
                key: invalid.key,
                problem: invalid.problem,
            })?;
        self.auth
            .validate()
            .map_err(|invalid| ConfigError::Invalid {
                key: invalid.key,
                problem: invalid.problem,
            })?;
        self.sentiment.validate()?;
        self.sentiment
            .jobs
            .validate()
            .map_err(|invalid| ConfigError::Invalid {
                key: invalid.key,
                problem: invalid.problem,
            })?;
        self.embeddings.validate()?;
        self.response.validate()?;
        self.nats
            .validate()
            .map_err(|invalid| ConfigError::Invalid {
                key: invalid.key,
                problem: invalid.problem,
            })?;
        overrides::validate(&self.dependencies)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn no_file_means_the_defaults() {
        let config = Config::load(None).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.server.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.server.body_limit, 1024 * 1024);
        assert_eq!(config.server.drain_timeout, Duration::from_secs(10));
        assert_eq!(config.data_dir, PathBuf::from("./bulwark-data"));
        assert_eq!(config.log.format, LogFormat::Json);
    }

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let config: Config =
            toml::from_str("[server]\ndrain_timeout = \"250ms\"\n[log]\nformat = \"text\"\n")
                .unwrap();
        assert_eq!(config.server.drain_timeout, Duration::from_millis(250));
        assert_eq!(config.server.addr, GatewayConfig::default().addr);
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.log.filter, "info");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<Config>("[server]\nadress = \"x\"\n").is_err());
        assert!(toml::from_str::<Config>("[log]\nformat = \"yaml\"\n").is_err());
        let zero: Config = toml::from_str("[server]\nbody_limit = 0\n").unwrap();
        assert!(matches!(zero.validate(), Err(ConfigError::Invalid { .. })));
        let no_workers: Config = toml::from_str("[sentiment.jobs]\nworkers = 0\n").unwrap();
        assert!(matches!(
            no_workers.validate(),
            Err(ConfigError::Invalid {
                key: "sentiment.jobs.workers",
                ..
            })
        ));
    }

    #[test]
    fn pipeline_sections_are_checked_naming_the_entry() {
        let config: Config = toml::from_str(
            "[[sentiment.endpoints]]\nurl = \"http://127.0.0.1:9/models/a\"\ntimeout_ms = 0\n",
        )
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("sentiment.endpoints[0].timeout_ms"), "{err}");
        let config: Config = toml::from_str("[embeddings]\ndimension = 0\n").unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("embeddings.dimension"), "{err}");
        assert!(toml::from_str::<Config>("[sentiment]\nendpoint = []\n").is_err());
        let config: Config = toml::from_str(
            "[[response.providers]]\nname = \"p\"\nkind = \"openai\"\nbase_url = \"nope\"\nmodel = \"m\"\n",
        )
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("response.providers[0].base_url"), "{err}");
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let err = Config::load(Some(Path::new("/nonexistent/bulwark.toml"))).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
    }
}
