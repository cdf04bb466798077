//! Requests in flight per [`RouteClass`]: a full class answers 503 at once, never queues.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use bulwark_runtime::error::{DependencyFailure, ServiceError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::RouteClass;
use crate::gateway::config::ConcurrencyConfig;

/// The places of both classes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EdgeConcurrency {
    critical: Arc<Semaphore>,
    non_critical: Arc<Semaphore>,
}

impl EdgeConcurrency {
    /// Places as configured.
    pub fn new(config: ConcurrencyConfig) -> Self {
        Self {
            critical: Arc::new(Semaphore::new(config.critical)),
            non_critical: Arc::new(Semaphore::new(config.non_critical)),
        }
    }

    /// Free places of a class.
    pub fn available(&self, class: RouteClass) -> usize {
        self.semaphore(class).available_permits()
    }

    fn semaphore(&self, class: RouteClass) -> &Arc<Semaphore> {
        match class {
            RouteClass::Critical => &self.critical,
            RouteClass::NonCritical => &self.non_critical,
        }
    }
}

/// Takes one place of the request's class, to hold while the handler runs; a full class answers
/// 503 with `Retry-After: 1` at once.
pub fn admit(
    places: &EdgeConcurrency,
    req: &Request,
) -> Result<OwnedSemaphorePermit, ServiceError> {
    let class = RouteClass::of(req.extensions());
    let Ok(place) = Arc::clone(places.semaphore(class)).try_acquire_owned() else {
        metrics::counter!(
            crate::gateway::http_metrics::names::HTTP_SHED_TOTAL,
            "class" => class.as_str()
        )
        .increment(1);
        return Err(ServiceError::Dependency {
            message: "Server busy: try again shortly".to_owned(),
            failure: DependencyFailure::Unavailable,
            details: [("route_class".to_owned(), class.as_str().to_owned())].into(),
            retry_after: Some(Duration::from_secs(1)),
            source: None,
        });
    };
    Ok(place)
}
