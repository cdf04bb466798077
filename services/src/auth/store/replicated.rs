//! [`UserStores`]: a primary for writes and replicas for reads, each behind its own guard.
//!
//! Reads go to the replicas in turn (round robin), skipping any whose circuit is open or whose
//! last health ping failed, and fail over to the primary. A replica that does not know a user
//! is not believed at once — it may lag behind a registration — so the primary is asked too.
//! Writes go to the primary only, never retried once they may have reached it (a retried
//! insert that had committed would answer "taken" to the user who just took it).
//!
//! Availability, for degraded mode, is read from published state only (circuit states and the
//! last ping of each store): no I/O on the validation path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::bulkhead::Priority;
use bulwark_runtime::dependency::{
    CallContext, CallError, Controls, Dependency, DependencyError, DependencyHandle, StopReason,
};
use bulwark_runtime::retry::GiveUpReason;
use futures::future::BoxFuture;

use super::{Duplicate, NewUser, StoreOp, StoreReply, UserRecord};

/// Which store answered a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSource {
    /// The replica at this index of the configured list.
    Replica(usize),
    /// The primary.
    Primary,
}

/// A store's role, for names and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreRole {
    /// The primary (writes, and reads when no replica can answer).
    Primary,
    /// A read replica.
    Replica(usize),
}

impl StoreRole {
    /// The dependency name the store is registered under: `auth.store.primary`,
    /// `auth.store.replica.0`, …
    pub fn dependency_name(self) -> String {
        match self {
            Self::Primary => "auth.store.primary".to_owned(),
            Self::Replica(i) => format!("auth.store.replica.{i}"),
        }
    }
}

/// A guarded store of any dependency type answering [`StoreOp`]s: a
/// [`DependencyHandle`] of a [`StoreDependency`](super::StoreDependency), or of one wrapped in
/// [`Chaos`](bulwark_runtime::chaos::Chaos).
pub trait StoreHandle: Send + Sync + 'static {
    /// Runs `op` through the guard.
    fn call(&self, op: StoreOp, ctx: CallContext) -> BoxFuture<'_, Result<StoreReply, CallError>>;
    /// The guard's controls (state, snapshot, commands).
    fn controls(&self) -> &Controls;
}

impl<D> StoreHandle for DependencyHandle<D>
where
    D: Dependency<Request = StoreOp, Response = StoreReply>,
{
    fn call(&self, op: StoreOp, ctx: CallContext) -> BoxFuture<'_, Result<StoreReply, CallError>> {
        Box::pin(DependencyHandle::call(self, op, ctx))
    }

    fn controls(&self) -> &Controls {
        DependencyHandle::controls(self)
    }
}

struct Member {
    handle: Box<dyn StoreHandle>,
    ping_failed: AtomicBool,
}

impl Member {
    fn new(handle: Box<dyn StoreHandle>) -> Self {
        Self {
            handle,
            ping_failed: AtomicBool::new(false),
        }
    }

    /// Usable as far as published state tells: circuit closed (or disabled) and last ping fine.
    fn available(&self) -> bool {
        let state = self.handle.controls().state();
        let admits = matches!(state, State::Closed | State::Disabled | State::MetricsOnly);
        admits && !self.ping_failed.load(Ordering::Relaxed)
    }

    async fn call(&self, op: StoreOp, ctx: CallContext) -> Result<StoreReply, CallError> {
        let result = self.handle.call(op, ctx).await;
        if result.is_ok() {
            self.ping_failed.store(false, Ordering::Relaxed);
        }
        result
    }

    /// A dependency that answers an operation with another operation's reply is broken.
    fn unexpected_reply(&self) -> CallError {
        CallError::Failed {
            dependency: Arc::from(self.handle.controls().name()),
            attempts: 1,
            reason: StopReason::Policy(GiveUpReason::Permanent),
            last: DependencyError::permanent("store answered with the reply of another operation"),
        }
    }

    async fn ping(&self, timeout: Duration) {
        let ctx = CallContext::untracked()
            .with_timeout(timeout)
            .with_priority(Priority::NonCritical);
        match self.handle.call(StoreOp::Ping, ctx).await {
            Ok(_) => self.ping_failed.store(false, Ordering::Relaxed),
            // A refused ping (open circuit, full bulkhead) says nothing new about the store.
            Err(e) if e.is_rejection() => {}
            Err(_) => self.ping_failed.store(true, Ordering::Relaxed),
        }
    }
}

/// The primary and the replicas, guarded.
pub struct UserStores {
    primary: Member,
    replicas: Vec<Member>,
    next: AtomicUsize,
}

impl std::fmt::Debug for UserStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStores")
            .field("primary", &self.primary.handle.controls().name())
            .field("replicas", &self.replicas.len())
            .finish()
    }
}

/// A read that no store could answer; the last store's error is the source.
#[derive(Debug, thiserror::Error)]
#[error("no user store could answer the read")]
pub struct ReadFailed(#[source] pub CallError);

impl UserStores {
    /// Stores from guarded handles (registered on a runtime by the caller).
    pub fn new(primary: Box<dyn StoreHandle>, replicas: Vec<Box<dyn StoreHandle>>) -> Self {
        Self {
            primary: Member::new(primary),
            replicas: replicas.into_iter().map(Member::new).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// Looks `username` up: replicas first (round robin), then the primary.
    pub async fn find(
        &self,
        username: &Arc<str>,
        ctx: &CallContext,
    ) -> Result<(Option<UserRecord>, ReadSource), ReadFailed> {
        let n = self.replicas.len();
        if n > 0 {
            let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
            for i in (0..n).map(|k| (start + k) % n) {
                let replica = &self.replicas[i];
                if !replica.available() {
                    continue;
                }
                match replica
                    .call(StoreOp::Find(Arc::clone(username)), ctx.clone())
                    .await
                {
                    Ok(StoreReply::Found(Some(user))) => {
                        return Ok((Some(user), ReadSource::Replica(i)));
                    }
                    // Not there: maybe replication lag. Ask the primary.
                    Ok(_) => break,
                    Err(e) => tracing::debug!(
                        dependency = e.dependency(),
                        error = %bulwark_runtime::error::chain(&e),
                        "replica read failed, trying the next store"
                    ),
                }
            }
        }
        match self
            .primary
            .call(StoreOp::Find(Arc::clone(username)), ctx.clone())
            .await
        {
            Ok(StoreReply::Found(user)) => Ok((user, ReadSource::Primary)),
            Ok(_) => Err(ReadFailed(self.primary.unexpected_reply())),
            Err(e) => Err(ReadFailed(e)),
        }
    }

    /// Creates `user` on the primary. The context is made non-idempotent: the insert is
    /// retried only after failures that prove it never reached the database.
    pub async fn insert(
        &self,
        user: Arc<NewUser>,
        ctx: &CallContext,
    ) -> Result<Result<(), Duplicate>, CallError> {
        let ctx = ctx.clone().idempotent(false);
        match self.primary.call(StoreOp::Insert(user), ctx).await? {
            StoreReply::Inserted(result) => Ok(result),
            _ => Err(self.primary.unexpected_reply()),
        }
    }

    /// Whether some store can answer reads, as far as published state tells.
    pub fn can_read(&self) -> bool {
        self.primary.available() || self.replicas.iter().any(Member::available)
    }

    /// Whether the primary can take writes, as far as published state tells.
    pub fn can_write(&self) -> bool {
        self.primary.available()
    }

    /// When a refused write may be tried again: the primary's reset timeout.
    pub fn retry_after(&self) -> Duration {
        self.primary
            .handle
            .controls()
            .policy()
            .breaker
            .reset_timeout()
    }

    /// Pings every store (each within `timeout`) and records which answered. Pings go through
    /// the guards, so a store that went away while idle trips its breaker like any caller
    /// would see; an open circuit's probes take over from there.
    pub async fn check_health(&self, timeout: Duration) {
        let pings = std::iter::once(&self.primary)
            .chain(&self.replicas)
            .map(|m| m.ping(timeout));
        futures::future::join_all(pings).await;
    }

    /// The guard controls of every store: the primary first, then the replicas in order.
    pub fn controls(&self) -> impl Iterator<Item = (StoreRole, &Controls)> {
        std::iter::once((StoreRole::Primary, self.primary.handle.controls())).chain(
            self.replicas
                .iter()
                .enumerate()
                .map(|(i, m)| (StoreRole::Replica(i), m.handle.controls())),
        )
    }
}
