//! The admission steps every request passes before its handler, in order: the rate limit, edge
//! priority, the request deadline and the body limit. Each step's logic lives in its own module
//! ([`rate_limit`], [`priority`], [`deadline`], [`limits`]); this module only runs them in turn.
//! They are all synchronous: [`layer`](super::layer) runs them before it calls the handler, and
//! keeps what they grant (the place, the deadline) for the handler's run.

use std::time::Duration;

use axum::extract::Request;
use bulwark_runtime::error::ServiceError;
use tokio::time::Instant;

use super::deadline::{self, DefaultTimeout};
use super::edge::RouteClass;
use super::edge::priority::{self, EdgeConcurrency, Place};
use super::edge::rate_limit::{self, EdgeRateLimits};
use super::limits::{self, BodyLimit};

/// What the steps need, shared by every request.
#[derive(Debug, Clone)]
pub struct Admission {
    /// Per-client rates by route class.
    pub rates: EdgeRateLimits,
    /// Places per route class.
    pub places: EdgeConcurrency,
    /// The request timeout unless the client asks for less.
    pub timeout: DefaultTimeout,
    /// The largest request body.
    pub body_limit: BodyLimit,
}

/// What an admitted request holds while its handler runs.
#[derive(Debug)]
pub struct Admitted {
    /// Its place in its route class, given back when dropped.
    pub place: Place,
    /// When it must be answered.
    pub deadline: Instant,
    /// The timeout the deadline came from (for the 504's details).
    pub timeout: Duration,
}

impl Admission {
    /// Runs the steps on `req`, of a route in `class`: the first refusal is the answer.
    pub fn admit(&self, class: RouteClass, req: &mut Request) -> Result<Admitted, ServiceError> {
        rate_limit::check(&self.rates, class, req)?;
        let place = priority::admit(&self.places, class)?;
        let (deadline, timeout) = deadline::start(self.timeout, req)?;
        limits::check(self.body_limit, req)?;
        Ok(Admitted {
            place,
            deadline,
            timeout,
        })
    }
}
