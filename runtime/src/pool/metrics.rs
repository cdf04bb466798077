//! A pool's own series (its endpoints have theirs, labelled `endpoint`): retries moved to another
//! endpoint, hedges, fallback answers — registered once, kept as handles.

use metrics::{Counter, counter, describe_counter};

use crate::dependency::metric_names;

/// Extra calls started by hedging.
pub const HEDGES_TOTAL: &str = "bulwark_pool_hedges_total";

/// Describes the pool's series.
pub(super) fn describe() {
    describe_counter!(HEDGES_TOTAL, "Extra endpoint calls started by hedging");
}

/// One pool's metric handles (label `dependency` = the pool).
#[derive(Debug)]
pub(super) struct PoolMetrics {
    pool: String,
    retries: Counter,
    hedges: Counter,
}

impl PoolMetrics {
    pub(super) fn new(pool: &str) -> Self {
        Self {
            retries: counter!(metric_names::RETRIES_TOTAL, "dependency" => pool.to_owned()),
            hedges: counter!(HEDGES_TOTAL, "dependency" => pool.to_owned()),
            pool: pool.to_owned(),
        }
    }

    /// A failed call retried on another endpoint.
    pub(super) fn retry(&self) {
        self.retries.increment(1);
    }

    pub(super) fn hedge(&self) {
        self.hedges.increment(1);
    }

    pub(super) fn fallback(&self, source: &str) {
        counter!(
            metric_names::FALLBACKS_TOTAL,
            "dependency" => self.pool.clone(),
            "source" => source.to_owned()
        )
        .increment(1);
    }
}
