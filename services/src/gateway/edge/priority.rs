//! Requests in flight per [`RouteClass`]: a full class answers 503 at once, never queues.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bulwark_runtime::error::{DependencyFailure, ServiceError};
use tokio::sync::Semaphore;

use super::RouteClass;
use crate::gateway::ApiError;
use crate::gateway::config::ConcurrencyConfig;
use crate::gateway::extract::correlation_of;

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

/// The middleware: holds one place of the request's class while the handler runs.
pub async fn enforce(State(places): State<EdgeConcurrency>, req: Request, next: Next) -> Response {
    let class = RouteClass::of(req.extensions());
    let Ok(_place) = Arc::clone(places.semaphore(class)).try_acquire_owned() else {
        metrics::counter!(
            crate::gateway::http_metrics::names::HTTP_SHED_TOTAL,
            "class" => class.as_str()
        )
        .increment(1);
        let id = correlation_of(req.extensions());
        let error = ServiceError::Dependency {
            message: "Server busy: try again shortly".to_owned(),
            failure: DependencyFailure::Unavailable,
            details: [("route_class".to_owned(), class.as_str().to_owned())].into(),
            retry_after: Some(Duration::from_secs(1)),
            source: None,
        };
        return ApiError::new(error, id).into_response();
    };
    next.run(req).await
}
