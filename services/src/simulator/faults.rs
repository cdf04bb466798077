//! [`Faults`]: what a simulator instance does wrong, changeable while it runs.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::SimState;

/// Faults of one simulator instance. Rates are probabilities in [0, 1], drawn per request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of requests answered with `error_status` and the provider's error body.
    pub error_rate: f64,
    /// The status of injected errors (500, 503, 429, 529 …).
    pub error_status: u16,
    /// `Retry-After` seconds sent with injected errors, if any.
    pub retry_after_secs: Option<u64>,
    /// Latency added to a share of requests.
    #[serde(with = "humantime_serde")]
    pub latency: Duration,
    /// Share of requests that get the added latency.
    pub latency_rate: f64,
    /// Share of requests that never get an answer.
    pub hang_rate: f64,
    /// Share of successful answers whose body is not valid JSON.
    pub malformed_rate: f64,
    /// Share of streams cut off with an error event after the first chunk.
    pub stream_cut_rate: f64,
    /// Refuse every request with 401 as if the API key had been revoked.
    pub unauthorized: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_status: 500,
            retry_after_secs: None,
            latency: Duration::ZERO,
            latency_rate: 1.0,
            hang_rate: 0.0,
            malformed_rate: 0.0,
            stream_cut_rate: 0.0,
            unauthorized: false,
        }
    }
}

/// Faults that cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidFaults {
    /// A rate outside [0, 1].
    #[error("{field} must be between 0 and 1, got {value}")]
    Rate {
        /// Which rate.
        field: &'static str,
        /// The refused value.
        value: f64,
    },
    /// An error status that is not an HTTP error.
    #[error("error_status must be between 400 and 599, got {0}")]
    Status(u16),
}

impl Faults {
    /// Checks rates and status.
    pub fn validate(&self) -> Result<(), InvalidFaults> {
        for (field, value) in [
            ("error_rate", self.error_rate),
            ("latency_rate", self.latency_rate),
            ("hang_rate", self.hang_rate),
            ("malformed_rate", self.malformed_rate),
            ("stream_cut_rate", self.stream_cut_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(InvalidFaults::Rate { field, value });
            }
        }
        if !(400..=599).contains(&self.error_status) {
            return Err(InvalidFaults::Status(self.error_status));
        }
        Ok(())
    }
}

/// The faults in force, shared by a simulator's handlers and whoever drives it.
#[derive(Debug, Clone, Default)]
pub struct FaultControl(Arc<ArcSwap<Faults>>);

impl FaultControl {
    /// Installs `faults` after checking them.
    pub fn set(&self, faults: Faults) -> Result<(), InvalidFaults> {
        faults.validate()?;
        self.0.store(Arc::new(faults));
        Ok(())
    }

    /// Back to a healthy upstream.
    pub fn heal(&self) {
        self.0.store(Arc::new(Faults::default()));
    }

    /// The faults in force.
    pub fn get(&self) -> Faults {
        Faults::clone(&self.0.load())
    }
}

/// What to do with one request, drawn from the faults in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Answer normally (perhaps late, perhaps malformed).
    Answer {
        /// Send a body that is not JSON.
        malformed: bool,
        /// Cut a stream after its first chunk.
        cut: bool,
    },
    /// Answer this error status.
    Error(StatusCode),
    /// Refuse the credentials.
    Unauthorized,
    /// Never answer.
    Hang,
}

/// Applies latency and decides the request's fate.
pub(crate) async fn draw(state: &SimState) -> Fate {
    state
        .hits
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let faults = state.faults.get();
    let (delay, fate) = {
        let mut rng = rand::rng();
        let mut roll = |rate: f64| rate > 0.0 && rng.random::<f64>() < rate;
        let delay =
            (!faults.latency.is_zero() && roll(faults.latency_rate)).then_some(faults.latency);
        let fate = if faults.unauthorized {
            Fate::Unauthorized
        } else if roll(faults.hang_rate) {
            Fate::Hang
        } else if roll(faults.error_rate) {
            Fate::Error(
                StatusCode::from_u16(faults.error_status)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            )
        } else {
            Fate::Answer {
                malformed: roll(faults.malformed_rate),
                cut: roll(faults.stream_cut_rate),
            }
        };
        (delay, fate)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if fate == Fate::Hang {
        std::future::pending::<()>().await;
    }
    fate
}

/// `Retry-After` of injected errors, if configured.
pub(crate) fn retry_after(state: &SimState) -> Option<u64> {
    state.faults.get().retry_after_secs
}

pub(crate) async fn get_faults(State(state): State<SimState>) -> Json<Faults> {
    Json(state.faults.get())
}

pub(crate) async fn put_faults(
    State(state): State<SimState>,
    Json(faults): Json<Faults>,
) -> Result<Json<Faults>, (StatusCode, String)> {
    state
        .faults
        .set(faults)
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(Json(state.faults.get()))
}
