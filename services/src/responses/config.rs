//! The `[response]` section of the configuration file: [`ResponseConfig`].
//!
//! ```toml
//! [response]
//! templates = "templates.toml"  # intent × sentiment templates; default: the built-in file
//! cache_ttl = "10m"              # how long a provider's answer is reused (0s: no cache)
//! cache_capacity = 10000
//! max_tokens = 512               # asked of every provider
//! fallback_reserve = "100ms"     # time kept back from the request's deadline for the template
//!
//! [response.hedging]             # optional: ask the next provider too when the first is slow
//! delay = "300ms"                # omitted: the observed p95 of successful calls
//! max_share = 0.1                # hedges at most this share of requests
//!
//! [[response.providers]]         # tried in this order; none: templates answer (degraded)
//! name = "primary"
//! kind = "openai"                # POST {base_url}/chat/completions; or "anthropic": {base_url}/messages
//! base_url = "http://127.0.0.1:9000/v1"
//! model = "gpt-4o-mini"
//! api_key_env = "OPENAI_API_KEY" # read from the environment, never from the file
//! timeout_ms = 5000
//! ```

use std::path::PathBuf;
use std::time::Duration;

use bulwark_runtime::pool::Hedging;
use serde::{Deserialize, Serialize};

use crate::upstream::config::validate_list;
use crate::upstream::{EndpointConfig, InvalidEndpoint};

/// Default per-attempt timeout of a provider (generation is slower than classification).
pub const DEFAULT_PROVIDER_TIMEOUT_MS: u64 = 5_000;

/// The API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp server).
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
}

impl ProviderKind {
    /// `"openai"` or `"anthropic"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
        }
    }
}

/// One `[[response.providers]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Its name in `/status`, readiness and metrics (`responses.providers/<name>`).
    pub name: String,
    /// The API it speaks.
    pub kind: ProviderKind,
    /// The API's base URL (`…/v1`); the API's path is appended.
    pub base_url: String,
    /// The model asked for.
    pub model: String,
    /// The environment variable holding its API key (sent as `Authorization: Bearer` or
    /// `x-api-key`); none: no key is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Longest one attempt may take before its first byte arrives, and between two bytes of a
    /// stream, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_PROVIDER_TIMEOUT_MS
}

impl ProviderConfig {
    /// An OpenAI-compatible provider named `name` at `base_url`, asked for `model`.
    pub fn openai(name: &str, base_url: impl Into<String>, model: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind: ProviderKind::Openai,
            base_url: base_url.into(),
            model: model.to_owned(),
            api_key_env: None,
            timeout_ms: DEFAULT_PROVIDER_TIMEOUT_MS,
        }
    }

    /// An Anthropic Messages provider named `name` at `base_url`, asked for `model`.
    pub fn anthropic(name: &str, base_url: impl Into<String>, model: &str) -> Self {
        Self {
            kind: ProviderKind::Anthropic,
            ..Self::openai(name, base_url, model)
        }
    }

    /// The same provider with another per-attempt timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The same provider with its key in the environment variable `var`.
    #[must_use]
    pub fn api_key_env(mut self, var: &str) -> Self {
        self.api_key_env = Some(var.to_owned());
        self
    }

    /// As an upstream endpoint of the `index`-th tier (the shared checks and pool settings).
    pub fn endpoint(&self, index: usize) -> EndpointConfig {
        EndpointConfig {
            name: Some(self.name.clone()),
            url: self.base_url.clone(),
            timeout_ms: self.timeout_ms,
            tier: u32::try_from(index).unwrap_or(u32::MAX),
            api_key_env: self.api_key_env.clone(),
        }
    }
}

/// `[response.hedging]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HedgingConfig {
    /// A fixed delay before the next provider is asked too; none: the observed p95.
    #[serde(
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub delay: Option<Duration>,
    /// Hedges at most this share of recent requests, in (0, 1].
    pub max_share: f32,
}

impl Default for HedgingConfig {
    fn default() -> Self {
        Self {
            delay: None,
            max_share: 0.1,
        }
    }
}

impl HedgingConfig {
    /// The pool's hedging settings.
    pub fn hedging(&self) -> Hedging {
        let base = match self.delay {
            Some(delay) => Hedging::fixed(delay),
            None => Hedging::observed_p95(),
        };
        base.max_share(self.max_share)
    }
}

/// Settings of the response pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseConfig {
    /// Providers in failover order; empty: templates answer every request (degraded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderConfig>,
    /// Hedging across providers (off when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hedging: Option<HedgingConfig>,
    /// A TOML file of templates (see [`super::templates`]); none: the built-in ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates: Option<PathBuf>,
    /// How long a provider's answer is reused for the same message; zero turns the cache off.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// Most answers the cache holds.
    pub cache_capacity: u64,
    /// Most tokens a provider may generate per answer, 1..=32,768.
    pub max_tokens: u32,
    /// Time kept back from the caller's deadline so the template can still answer in time.
    #[serde(with = "humantime_serde")]
    pub fallback_reserve: Duration,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        Self {
            providers: Vec::new(),
            hedging: None,
            templates: None,
            cache_ttl: Duration::from_secs(600),
            cache_capacity: 10_000,
            max_tokens: 512,
            fallback_reserve: Duration::from_millis(100),
        }
    }
}

impl ResponseConfig {
    /// Refuses what cannot work, naming the key.
    pub fn validate(&self) -> Result<(), InvalidEndpoint> {
        let invalid = |key: &str, problem: &str| InvalidEndpoint {
            key: format!("response.{key}"),
            problem: problem.to_owned(),
        };
        let endpoints: Vec<EndpointConfig> = self
            .providers
            .iter()
            .enumerate()
            .map(|(i, p)| p.endpoint(i))
            .collect();
        validate_list("response.providers", &endpoints).map_err(|mut err| {
            if let Some(prefix) = err.key.strip_suffix(".url") {
                err.key = format!("{prefix}.base_url");
            }
            err
        })?;
        for (i, provider) in self.providers.iter().enumerate() {
            if provider.model.trim().is_empty() {
                return Err(invalid(
                    &format!("providers[{i}].model"),
                    "must not be empty",
                ));
            }
        }
        if let Some(hedging) = &self.hedging
            && !(hedging.max_share > 0.0 && hedging.max_share <= 1.0)
        {
            return Err(invalid(
                "hedging.max_share",
                "must be above 0 and at most 1",
            ));
        }
        if !(1..=32_768).contains(&self.max_tokens) {
            return Err(invalid("max_tokens", "must be between 1 and 32768"));
        }
        if self.fallback_reserve > Duration::from_secs(10) {
            return Err(invalid("fallback_reserve", "must be at most 10s"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_parses_and_bad_values_are_named() {
        let config: ResponseConfig = toml::from_str(
            r#"
            [hedging]
            delay = "300ms"
            [[providers]]
            name = "primary"
            kind = "openai"
            base_url = "http://127.0.0.1:9000/v1"
            model = "gpt-4o-mini"
            api_key_env = "OPENAI_API_KEY"
            timeout_ms = 5000
            [[providers]]
            name = "backup"
            kind = "anthropic"
            base_url = "http://127.0.0.1:9001/v1"
            model = "claude-3-5-haiku-latest"
            "#,
        )
        .unwrap();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.providers[1].kind, ProviderKind::Anthropic);
        assert_eq!(config.providers[1].endpoint(1).tier, 1);
        assert_eq!(ResponseConfig::default().validate(), Ok(()));

        let bad = |text: &str| {
            toml::from_str::<ResponseConfig>(text)
                .unwrap()
                .validate()
                .unwrap_err()
                .key
        };
        let provider = "[[providers]]\nname = \"p\"\nkind = \"openai\"\nmodel = \"m\"\n";
        assert_eq!(
            bad(&format!("{provider}base_url = \"ftp://x\"")),
            "response.providers[0].base_url"
        );
        assert_eq!(
            bad(&format!(
                "{provider}base_url = \"http://x\"\n{provider}base_url = \"http://y\""
            )),
            "response.providers[1].name"
        );
        assert_eq!(bad("max_tokens = 0"), "response.max_tokens");
        assert_eq!(
            bad("[hedging]\nmax_share = 2.0"),
            "response.hedging.max_share"
        );
        assert!(toml::from_str::<ResponseConfig>("[[providers]]\nname = \"p\"\nkind = \"gemini\"\nbase_url = \"http://x\"\nmodel = \"m\"").is_err());
        assert!(toml::from_str::<ResponseConfig>("api_key = \"sk-1\"").is_err());
    }
}
