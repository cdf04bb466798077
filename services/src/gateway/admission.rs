//! The inner half of the gateway's middleware, as one layer: panic isolation around the rate
//! limit, edge priority, the request deadline and the body limit, in that order. Each step's
//! logic lives in its own module ([`panic`](mod@super::panic), [`rate_limit`], [`priority`],
//! [`deadline`], [`limits`]); this module only runs them in
//! turn. One layer rather than five because each `axum::middleware::from_fn` layer clones the
//! boxed service below it and boxes its future on every request, which cost more than the steps
//! themselves (docs/benchmarks.md).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use super::deadline::{self, DefaultTimeout};
use super::edge::priority::{self, EdgeConcurrency};
use super::edge::rate_limit::{self, EdgeRateLimits};
use super::extract::correlation_of;
use super::limits::{self, BodyLimit};
use super::panic;

/// What the steps need, cloned once per request.
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

/// The middleware (install with `from_fn_with_state(admission, admit)`, inside the correlation
/// and metrics layers, which must see every answer including these refusals).
pub async fn admit(State(edge): State<Admission>, mut req: Request, next: Next) -> Response {
    let id = correlation_of(req.extensions());
    panic::catch(id.clone(), async move {
        let admitted = rate_limit::check(&edge.rates, &req)
            .and_then(|()| priority::admit(&edge.places, &req))
            .and_then(|place| Ok((place, deadline::start(edge.timeout, &mut req)?)));
        let (_place, (until, timeout)) = match admitted {
            Ok(admitted) => admitted,
            Err(refused) => return ApiError::new(refused, id).into_response(),
        };
        deadline::run_until(until, timeout, id.clone(), async move {
            match limits::check(edge.body_limit, &mut req) {
                Ok(()) => next.run(req).await,
                Err(refused) => ApiError::new(refused, id).into_response(),
            }
        })
        .await
    })
    .await
}
