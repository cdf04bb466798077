//! The runtime's supervision tree, built on `bulwark-supervisors`.
//!
//! ```text
//! bulwark                     root, one_for_one
//! ├── dependencies            dynamic, one_for_one: one actor per registered dependency
//! └── keyed:<family>          dynamic, one_for_one: one actor per live key of a keyed family
//! ```
//!
//! Dependency actors are permanent children with exponential restart backoff (50 ms doubling to
//! 5 s, +20 % jitter): a dependency whose client keeps crashing cannot spin the CPU. Their state
//! lives outside them, so the restart strategy can be the simplest one (one_for_one), and the
//! dynamic supervisors never give up ([`DYNAMIC_INTENSITY`] is unbounded): escalating would only
//! restart the supervisor with none of its dynamic children — every healthy sibling of a
//! crash-looping dependency (10,000 keys of a keyed family, say) would be lost, while restarting
//! the whole tree cannot fix an upstream that is down. The children's backoff bounds the cost of
//! a crash loop; the breaker, not the supervisor, is what handles an outage.

use std::sync::Arc;
use std::time::Duration;

use bulwark_supervisors::{
    Backoff, ChildSpec, Restart, Strategy, Supervisor, SupervisorRef, SupervisorSnapshot,
    SupervisorSpec,
};

use crate::dependency::{ActorArgs, Dependency, DependencyActor, Shared};
use crate::runtime::RuntimeError;

/// Restarts a dynamic supervisor accepts within [`DYNAMIC_PERIOD`] before escalating: unbounded.
pub const DYNAMIC_INTENSITY: u32 = u32::MAX;
/// The window of [`DYNAMIC_INTENSITY`].
pub const DYNAMIC_PERIOD: Duration = Duration::from_secs(10);

/// The live supervision tree as `/status` shows it.
pub type SupervisionSnapshot = Option<SupervisorSnapshot>;

fn dependency_backoff() -> Backoff {
    Backoff::exponential(Duration::from_millis(50), Duration::from_secs(5), 0.2)
        .and_then(|b| b.with_reset_after(Duration::from_secs(30)))
        .unwrap_or_else(|_| Backoff::none())
}

fn dynamic_spec() -> SupervisorSpec {
    SupervisorSpec::new(Strategy::OneForOne).with_intensity(DYNAMIC_INTENSITY, DYNAMIC_PERIOD)
}

/// The root of a runtime's actor tree.
#[derive(Debug)]
pub struct Supervision {
    root: SupervisorRef,
    dependencies: DynamicSupervisor,
}

impl Supervision {
    pub(crate) async fn start() -> Result<Self, RuntimeError> {
        let spec =
            SupervisorSpec::new(Strategy::OneForOne).with_intensity(10, Duration::from_secs(60));
        let (root, _join) = Supervisor::spawn(None, spec).await?;
        let dependencies = DynamicSupervisor::start_under(&root, "dependencies").await?;
        Ok(Self { root, dependencies })
    }

    /// The supervisor of the registered dependencies.
    pub(crate) fn dependencies(&self) -> &DynamicSupervisor {
        &self.dependencies
    }

    /// Starts another dynamic supervisor under the root (a keyed family, a pipeline).
    pub async fn start_dynamic(&self, id: String) -> Result<DynamicSupervisor, RuntimeError> {
        DynamicSupervisor::start_under(&self.root, &id).await
    }

    /// Adds any child under the root (pipelines put their own actor trees here); `None` when the
    /// child's start ignored.
    pub async fn start_child(
        &self,
        spec: ChildSpec,
    ) -> Result<Option<ractor::ActorCell>, RuntimeError> {
        Ok(self.root.start_child(spec).await?)
    }

    /// The root supervisor.
    pub fn root(&self) -> &SupervisorRef {
        &self.root
    }

    /// The live tree; `None` when the root does not answer in time.
    pub async fn snapshot(&self) -> SupervisionSnapshot {
        self.root.snapshot().await.ok()
    }

    /// Stops the whole tree in reverse start order and waits for it.
    pub(crate) async fn shutdown(&self) {
        self.root.stop().await;
    }
}

/// A supervisor whose children are added and removed at run time.
#[derive(Debug, Clone)]
pub struct DynamicSupervisor {
    sup: SupervisorRef,
}

impl DynamicSupervisor {
    async fn start_under(root: &SupervisorRef, id: &str) -> Result<Self, RuntimeError> {
        let cell = root
            .start_child(ChildSpec::supervisor(id.to_owned(), dynamic_spec()))
            .await?;
        let sup = cell
            .and_then(SupervisorRef::from_cell)
            .ok_or_else(|| RuntimeError::NotASupervisor(id.to_owned()))?;
        Ok(Self { sup })
    }

    /// Starts the actor that owns a dependency, as a permanent child with restart backoff.
    pub(crate) async fn start_dependency<D: Dependency>(
        &self,
        id: String,
        shared: Arc<Shared>,
        dependency: Arc<D>,
    ) -> Result<(), RuntimeError> {
        let spec = ChildSpec::worker(
            id,
            DependencyActor::<D>::new(),
            ActorArgs { shared, dependency },
        )
        .with_restart(Restart::Permanent)
        .with_backoff(dependency_backoff());
        self.sup.start_child(spec).await?;
        Ok(())
    }

    /// Stops and forgets a child without waiting (callable from synchronous code).
    pub(crate) fn stop_child(&self, id: &str) {
        if let Err(err) = self.sup.remove_child_nowait(id) {
            tracing::debug!(child = %id, %err, "could not stop child");
        }
    }

    /// Children currently held (running or waiting for a restart).
    pub async fn child_count(&self) -> usize {
        self.sup.count_children().await.map_or(0, |c| c.specs)
    }

    /// The supervisor's handle.
    pub fn supervisor(&self) -> &SupervisorRef {
        &self.sup
    }
}
