//! [`StoreDependency`]: a [`UserStore`] as a Bulwark dependency, so each store has its own
//! breaker, bulkhead, retries, deadline, metrics and health probe.

use std::sync::Arc;

use bulwark_runtime::dependency::{CallContext, Dependency, DependencyError, Probe};

use super::{Duplicate, NewUser, StoreError, UserRecord, UserStore};

/// One operation on a store. Cheap to clone (the guard clones it per retried attempt).
#[derive(Debug, Clone)]
pub enum StoreOp {
    /// Look a user up by (lowercase) username.
    Find(Arc<str>),
    /// Create a user.
    Insert(Arc<NewUser>),
    /// `SELECT 1`.
    Ping,
}

/// The answer to a [`StoreOp`]. A taken username is an answer, not a failure: the store is
/// healthy, and the breaker must not count it.
#[derive(Debug)]
pub enum StoreReply {
    /// The answer to [`StoreOp::Find`].
    Found(Option<UserRecord>),
    /// The answer to [`StoreOp::Insert`].
    Inserted(Result<(), Duplicate>),
    /// The answer to [`StoreOp::Ping`].
    Pong,
}

/// A store wrapped for the runtime.
#[derive(Debug, Clone)]
pub struct StoreDependency {
    store: Arc<dyn UserStore>,
}

impl StoreDependency {
    /// Wraps `store`.
    pub fn new(store: Arc<dyn UserStore>) -> Self {
        Self { store }
    }

    /// The wrapped store.
    pub fn store(&self) -> &Arc<dyn UserStore> {
        &self.store
    }
}

impl From<StoreError> for DependencyError {
    /// Unavailable stores are transient failures (retried, counted by the breaker); other
    /// failures are permanent (counted, not retried). Neither carries a parameter value.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => DependencyError::transient(error),
            _ => DependencyError::permanent(error),
        }
    }
}

impl Dependency for StoreDependency {
    type Request = StoreOp;
    type Response = StoreReply;

    async fn call(&self, op: StoreOp, _ctx: &CallContext) -> Result<StoreReply, DependencyError> {
        let reply = match op {
            StoreOp::Find(username) => StoreReply::Found(self.store.find(&username).await?),
            StoreOp::Insert(user) => StoreReply::Inserted(self.store.insert(&user).await?),
            StoreOp::Ping => {
                self.store.ping().await?;
                StoreReply::Pong
            }
        };
        Ok(reply)
    }

    async fn probe(&self, _ctx: &CallContext) -> Probe {
        match self.store.ping().await {
            Ok(()) => Probe::Healthy,
            Err(e) => Probe::Unhealthy(e.into()),
        }
    }
}
