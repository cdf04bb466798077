//! [`Scenario`]: a chaos experiment as data — traffic, a fault schedule and the SLOs it must meet.
//!
//! ```toml
//! name = "upstream-errors"
//! description = "Model and LLM endpoints answer 500 for 8 s"
//! duration = "20s"
//! rps = 100
//! deadline = "2s"
//!
//! [[traffic]]
//! route = "/v1/sentiment"
//! weight = 3
//! body = { text = "The delivery was late and the box was damaged" }
//!
//! [[faults]]
//! at = "5s"
//! until = "13s"
//! target = "sentiment-a"          # a simulated upstream, or a dependency for actor faults
//! kind = "upstream"               # upstream | actor_panic | store_outage | crash_restart
//! upstream = { error_rate = 1.0, error_status = 500 }
//!
//! [slo]
//! availability = 0.999
//!
//! [service.server.concurrency]   # optional: service settings for this experiment
//! non_critical = 64
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::simulator::Faults;

/// A chaos experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports.
    pub name: String,
    /// What it shows.
    #[serde(default)]
    pub description: String,
    /// How long the traffic runs.
    #[serde(with = "humantime_serde", default = "default_duration")]
    pub duration: Duration,
    /// Arrival rate (open loop): requests started per second whatever the server does.
    #[serde(default = "default_rps")]
    pub rps: u32,
    /// A request answered later than this counts as not answered within its deadline; it is
    /// also sent as `X-Request-Timeout`.
    #[serde(with = "humantime_serde", default = "default_deadline")]
    pub deadline: Duration,
    /// The service's capacity in this setup (requests/s), for overload scenarios' goodput.
    #[serde(default)]
    pub capacity_rps: Option<u32>,
    /// The request mix.
    pub traffic: Vec<Traffic>,
    /// The fault schedule.
    #[serde(default)]
    pub faults: Vec<FaultStep>,
    /// What must hold.
    #[serde(default)]
    pub slo: Slo,
    /// Service settings this experiment runs with, merged key by key over the lab's
    /// configuration (any section of the configuration file, e.g. `[service.server.concurrency]`).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub service: toml::Table,
}

fn default_duration() -> Duration {
    Duration::from_secs(20)
}

fn default_rps() -> u32 {
    100
}

fn default_deadline() -> Duration {
    Duration::from_secs(2)
}

/// One kind of request in the mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// `POST` route path, e.g. `/v1/sentiment`.
    pub route: String,
    /// Relative share of the mix.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// The JSON body.
    pub body: serde_json::Value,
    /// Whether it is a durable job submission (counted in `jobs_accepted`, checked for loss).
    #[serde(default)]
    pub job: bool,
    /// How many variants of the body are sent in turn: every `{n}` in its strings becomes the
    /// request's number modulo `vary` (distinct users, distinct texts). Default 1: one body.
    #[serde(default = "default_vary")]
    pub vary: u32,
}

fn default_vary() -> u32 {
    1
}

impl Traffic {
    /// The body of the `n`th request of this kind: `{n}` replaced by `n % vary`.
    pub fn body_for(&self, n: u64) -> serde_json::Value {
        if self.vary <= 1 {
            return self.body.clone();
        }
        let variant = (n % u64::from(self.vary)).to_string();
        substitute(&self.body, &variant)
    }

    /// Every distinct body this traffic sends (`vary` of them).
    pub fn variants(&self) -> impl Iterator<Item = serde_json::Value> + '_ {
        (0..u64::from(self.vary.max(1))).map(|n| self.body_for(n))
    }
}

fn substitute(value: &serde_json::Value, variant: &str) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(text.replace("{n}", variant)),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, variant)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), substitute(v, variant)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn default_weight() -> u32 {
    1
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The simulated upstream `target` misbehaves as `upstream` says.
    Upstream,
    /// The actor owning dependency `target` panics every `every` (a panic storm).
    ActorPanic,
    /// The auth user store is unavailable.
    StoreOutage,
    /// The service process is killed (SIGKILL) at `at` and restarted.
    CrashRestart,
}

/// One fault, active from `at` to `until` (relative to the start of traffic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultStep {
    /// When it starts.
    #[serde(with = "humantime_serde")]
    pub at: Duration,
    /// When it ends (`None`: until the end).
    #[serde(with = "humantime_serde", default)]
    pub until: Option<Duration>,
    /// A simulated upstream's name or a dependency's name.
    #[serde(default)]
    pub target: String,
    /// What it does.
    pub kind: FaultKind,
    /// For `upstream`: the simulator's faults.
    #[serde(default)]
    pub upstream: Option<Faults>,
    /// For `actor_panic`: how often the actor panics.
    #[serde(with = "humantime_serde", default)]
    pub every: Option<Duration>,
    /// The dependency whose breaker should see this fault (for time to detect and recover);
    /// defaults to `target`.
    #[serde(default)]
    pub watch: Option<String>,
}

impl FaultStep {
    /// The dependency whose breaker is watched for detection and recovery.
    pub fn watched(&self) -> &str {
        self.watch.as_deref().unwrap_or(&self.target)
    }
}

/// Service-level objectives; `None` means not checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Slo {
    /// Share of requests answered (any status) within the deadline.
    pub answered_within_deadline: Option<f64>,
    /// Share of requests answered 2xx (fallbacks included).
    pub availability: Option<f64>,
    /// Most accepted jobs that may be lost.
    pub jobs_lost: Option<u64>,
    /// Longest time from fault start to breaker open, in ms.
    pub time_to_detect_ms: Option<u64>,
    /// Longest time from fault end to breaker closed, in ms.
    pub time_to_recover_ms: Option<u64>,
    /// Least goodput (2xx per second) as a share of the offered rate (overload scenarios).
    pub goodput_share: Option<f64>,
    /// Longest p99 latency of refused requests (fast 503/429), in ms.
    pub rejection_p99_ms: Option<u64>,
}

impl Default for Slo {
    /// The defaults of every scenario: all answered within the deadline, 99.9 % available, no
    /// job lost.
    fn default() -> Self {
        Self {
            answered_within_deadline: Some(1.0),
            availability: Some(0.999),
            jobs_lost: Some(0),
            time_to_detect_ms: None,
            time_to_recover_ms: None,
            goodput_share: None,
            rejection_p99_ms: None,
        }
    }
}

/// A scenario that cannot be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The TOML does not parse or has unknown keys.
    #[error("invalid scenario file")]
    Parse(
        #[from]
        #[source]
        toml::de::Error,
    ),
    /// The file cannot be read.
    #[error("cannot read scenario file {path}")]
    Read {
        /// The path given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No built-in scenario has this name and no such file exists.
    #[error("no scenario named '{0}' (built in: {list})", list = BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
    Unknown(String),
    /// A value is out of range.
    #[error("invalid scenario: {0}")]
    Invalid(&'static str),
}

/// The built-in scenarios (also files in `examples/chaos/`).
pub const BUILT_IN: [(&str, &str); 7] = [
    (
        "upstream-errors",
        include_str!("../../../examples/chaos/upstream-errors.toml"),
    ),
    (
        "upstream-hang",
        include_str!("../../../examples/chaos/upstream-hang.toml"),
    ),
    (
        "latency-spike",
        include_str!("../../../examples/chaos/latency-spike.toml"),
    ),
    (
        "actor-panics",
        include_str!("../../../examples/chaos/actor-panics.toml"),
    ),
    (
        "store-outage",
        include_str!("../../../examples/chaos/store-outage.toml"),
    ),
    (
        "overload",
        include_str!("../../../examples/chaos/overload.toml"),
    ),
    (
        "crash-restart",
        include_str!("../../../examples/chaos/crash-restart.toml"),
    ),
];

/// The scenario `bulwark demo` runs (not one of the experiments: it has every fault in turn).
pub const DEMO: &str = include_str!("../../../examples/chaos/demo.toml");

impl Scenario {
    /// Parses and checks a scenario.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Self = toml::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// A built-in scenario by name, or a scenario file by path.
    pub fn load(name_or_path: &str) -> Result<Self, ScenarioError> {
        if let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name_or_path) {
            return Self::from_toml(text);
        }
        let path = std::path::Path::new(name_or_path);
        if !path.exists() {
            return Err(ScenarioError::Unknown(name_or_path.to_owned()));
        }
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: name_or_path.to_owned(),
            source,
        })?;
        Self::from_toml(&text)
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        if self.rps == 0 || self.rps > 100_000 {
            return Err(ScenarioError::Invalid("rps must be between 1 and 100000"));
        }
        if self.duration.is_zero() || self.deadline.is_zero() {
            return Err(ScenarioError::Invalid(
                "duration and deadline must be positive",
            ));
        }
        if self.traffic.iter().any(|t| t.vary == 0 || t.vary > 100_000) {
            return Err(ScenarioError::Invalid("vary must be between 1 and 100000"));
        }
        if self.traffic.is_empty() || self.traffic.iter().all(|t| t.weight == 0) {
            return Err(ScenarioError::Invalid(
                "traffic needs at least one weighted route",
            ));
        }
        for fault in &self.faults {
            if fault.until.is_some_and(|u| u <= fault.at) {
                return Err(ScenarioError::Invalid("a fault must end after it starts"));
            }
            if fault.kind == FaultKind::Upstream && fault.upstream.is_none() {
                return Err(ScenarioError::Invalid("an upstream fault needs `upstream`"));
            }
            if let Some(faults) = &fault.upstream {
                faults
                    .validate()
                    .map_err(|_| ScenarioError::Invalid("upstream faults out of range"))?;
            }
        }
        Ok(())
    }

    /// The same scenario, shortened to at most `duration` (fault times scaled to fit).
    pub fn shortened(mut self, duration: Duration) -> Self {
        if duration >= self.duration || duration.is_zero() {
            return self;
        }
        let scale = duration.as_secs_f64() / self.duration.as_secs_f64();
        let scaled = |d: Duration| Duration::from_secs_f64(d.as_secs_f64() * scale);
        for fault in &mut self.faults {
            fault.at = scaled(fault.at);
            fault.until = fault.until.map(scaled);
        }
        self.duration = duration;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_parses() {
        for (name, text) in BUILT_IN {
            let scenario = Scenario::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(scenario.name, name);
        }
    }

    #[test]
    fn variants_replace_the_placeholder() {
        let traffic = Traffic {
            route: "/v1/auth/token".into(),
            weight: 1,
            body: serde_json::json!({"username": "user-{n}", "tags": ["{n}", 7]}),
            job: false,
            vary: 3,
        };
        assert_eq!(traffic.body_for(4)["username"], "user-1");
        assert_eq!(traffic.body_for(5)["tags"][0], "2");
        assert_eq!(traffic.variants().count(), 3);
    }

    #[test]
    fn the_demo_parses() {
        let demo = Scenario::from_toml(DEMO).unwrap();
        assert_eq!(demo.faults.len(), 4);
    }

    #[test]
    fn unknown_names_list_the_built_ins() {
        let err = Scenario::load("nope").unwrap_err();
        assert!(err.to_string().contains("upstream-errors"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        let base = r#"name = "x"
            [[traffic]]
            route = "/v1/sentiment"
            body = {}
        "#;
        assert!(Scenario::from_toml(base).is_ok());
        assert!(Scenario::from_toml(&format!("rps = 0\n{base}")).is_err());
        assert!(
            Scenario::from_toml(&format!(
                "{base}\n[[faults]]\nat = \"5s\"\nuntil = \"2s\"\nkind = \"actor_panic\"\n"
            ))
            .is_err()
        );
        assert!(
            Scenario::from_toml(&format!(
                "{base}\n[[faults]]\nat = \"1s\"\nkind = \"upstream\"\n"
            ))
            .is_err()
        );
        assert!(Scenario::from_toml(&format!("nonsense = 1\n{base}")).is_err());
    }

    #[test]
    fn shortening_scales_the_schedule() {
        let scenario = Scenario::load("upstream-errors").unwrap();
        let short = scenario.clone().shortened(scenario.duration / 2);
        assert_eq!(short.duration, scenario.duration / 2);
        assert_eq!(short.faults[0].at, scenario.faults[0].at / 2);
    }
}
