//! Requests in flight per [`RouteClass`]: a full class answers 503 at once, never queues.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bulwark_runtime::error::{DependencyFailure, ServiceError};

use super::RouteClass;
use crate::gateway::config::ConcurrencyConfig;

/// The places of both classes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EdgeConcurrency {
    critical: Arc<Places>,
    non_critical: Arc<Places>,
}

/// One class's places. Nobody ever waits for one, so a counter is all it takes: a tokio
/// `Semaphore` would lock its waiter list on every release, on every request.
#[derive(Debug)]
struct Places {
    capacity: usize,
    taken: AtomicUsize,
}

impl Places {
    fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            taken: AtomicUsize::new(0),
        })
    }

    fn try_take(self: &Arc<Self>) -> Option<Place> {
        self.taken
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |taken| {
                (taken < self.capacity).then_some(taken + 1)
            })
            .ok()
            .map(|_| Place(Arc::clone(self)))
    }
}

/// A place in a route class, held while the handler runs and given back when dropped.
#[derive(Debug)]
pub struct Place(Arc<Places>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::Release);
    }
}

impl EdgeConcurrency {
    /// Places as configured.
    pub fn new(config: ConcurrencyConfig) -> Self {
        Self {
            critical: Places::new(config.critical),
            non_critical: Places::new(config.non_critical),
        }
    }

    /// Free places of a class.
    pub fn available(&self, class: RouteClass) -> usize {
        let places = self.places(class);
        places
            .capacity
            .saturating_sub(places.taken.load(Ordering::Relaxed))
    }

    fn places(&self, class: RouteClass) -> &Arc<Places> {
        match class {
            RouteClass::Critical => &self.critical,
            RouteClass::NonCritical => &self.non_critical,
        }
    }
}

/// Takes one place of `class` (the request's route class), to hold while the handler runs; a
/// full class answers 503 with `Retry-After: 1` at once.
pub fn admit(places: &EdgeConcurrency, class: RouteClass) -> Result<Place, ServiceError> {
    let Some(place) = places.places(class).try_take() else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_admits_up_to_its_capacity_and_a_dropped_place_frees_one() {
        let places = EdgeConcurrency::new(ConcurrencyConfig {
            critical: 1,
            non_critical: 2,
        });
        let a = places.non_critical.try_take().expect("first place");
        let _b = places.non_critical.try_take().expect("second place");
        assert!(places.non_critical.try_take().is_none());
        assert_eq!(places.available(RouteClass::NonCritical), 0);
        // The other class has its own places.
        assert_eq!(places.available(RouteClass::Critical), 1);
        drop(a);
        assert_eq!(places.available(RouteClass::NonCritical), 1);
        assert!(places.non_critical.try_take().is_some());
    }
}
