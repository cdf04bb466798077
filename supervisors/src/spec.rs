//! What a supervisor supervises: [`SupervisorSpec`] and [`ChildSpec`].

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorCell, SpawnErr};
use serde::{Deserialize, Serialize};

use crate::auto_shutdown::AutoShutdown;
use crate::backoff::Backoff;
use crate::error::SpecError;
use crate::strategy::Strategy;
use crate::supervisor::Supervisor;

/// A child's id, unique under its supervisor.
pub type ChildId = Arc<str>;

/// What a child's start function did: OTP's `{ok, Pid}` or `ignore`.
#[derive(Debug, Clone)]
pub enum Started {
    /// The child runs as this actor, linked to the supervisor.
    Running(ActorCell),
    /// The child chose not to run (OTP's `ignore`): the supervisor records it as not running and
    /// does not restart it (a temporary child is forgotten). `restart_child` may try again.
    Ignore,
}

impl From<ActorCell> for Started {
    fn from(cell: ActorCell) -> Self {
        Self::Running(cell)
    }
}

/// The future a [`StartFn`] returns: what the start did, or why it failed.
pub type StartFuture = Pin<Box<dyn Future<Output = Result<Started, SpawnErr>> + Send>>;

/// (Re)starts a child linked to the supervisor it is given (`Actor::spawn_linked(.., supervisor)`).
/// Called once at start and once per restart.
pub type StartFn = Arc<dyn Fn(ActorCell) -> StartFuture + Send + Sync>;

/// When a child is restarted (OTP restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always restarted.
    #[default]
    Permanent,
    /// Restarted only after an abnormal exit (failure, panic, kill, failed start).
    Transient,
    /// Never restarted; forgotten when it exits.
    Temporary,
}

/// How a child is stopped when its supervisor stops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shutdown {
    /// Killed at once.
    Brutal,
    /// Asked to stop, killed if it has not stopped within the timeout.
    Timeout(Duration),
    /// Asked to stop and waited for (OTP's `infinity`; the default for supervisors).
    Infinity,
}

/// Default shutdown timeout of a worker (OTP's 5000 ms).
pub const DEFAULT_WORKER_SHUTDOWN: Duration = Duration::from_secs(5);

/// Whether a child is a worker or a supervisor (which the snapshot descends into).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildKind {
    /// Any actor.
    Worker,
    /// A [`Supervisor`].
    Supervisor,
}

/// How to start one child and what to do when it exits.
#[derive(Clone)]
pub struct ChildSpec {
    /// Unique id under the supervisor; the `actor` label of its restart metric.
    pub id: ChildId,
    /// Spawns the child linked to the given supervisor.
    pub start: StartFn,
    /// When it is restarted.
    pub restart: Restart,
    /// How it is stopped.
    pub shutdown: Shutdown,
    /// Delay before each restart.
    pub backoff: Backoff,
    /// Worker or supervisor.
    pub kind: ChildKind,
    /// Whether its termination counts for the supervisor's [`AutoShutdown`].
    pub significant: bool,
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("backoff", &self.backoff)
            .field("kind", &self.kind)
            .field("significant", &self.significant)
            .finish_non_exhaustive()
    }
}

impl ChildSpec {
    /// A permanent worker started by `start` (5 s shutdown, no backoff). `start` resolves to the
    /// child's cell, or to a [`Started`] when it may decline to run ([`Started::Ignore`]).
    pub fn new<F, Fut, S>(id: impl Into<ChildId>, start: F) -> Self
    where
        F: Fn(ActorCell) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, SpawnErr>> + Send + 'static,
        S: Into<Started>,
    {
        Self::from_start(
            id.into(),
            Arc::new(move |sup| {
                let started = start(sup);
                Box::pin(async move { started.await.map(Into::into) })
            }),
        )
    }

    /// A permanent worker started by a ready-made [`StartFn`] (no conversion layer around its
    /// future: the common constructors below use it).
    fn from_start(id: ChildId, start: StartFn) -> Self {
        Self {
            id,
            start,
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(DEFAULT_WORKER_SHUTDOWN),
            backoff: Backoff::none(),
            kind: ChildKind::Worker,
            significant: false,
        }
    }

    /// A permanent worker: `actor` spawned with a clone of `args` at start and at every restart
    /// (unnamed, linked to the supervisor). State kept in `Arc`s inside `args` survives restarts.
    pub fn worker<A>(id: impl Into<ChildId>, actor: A, args: A::Arguments) -> Self
    where
        A: Actor + Clone,
        A::Arguments: Clone + Sync,
    {
        let start: StartFn = Arc::new(move |sup: ActorCell| {
            let actor = actor.clone();
            let args = args.clone();
            Box::pin(async move {
                let (actor_ref, _join) = A::spawn_linked(None, actor, args, sup).await?;
                Ok(Started::Running(actor_ref.get_cell()))
            })
        });
        Self::from_start(id.into(), start)
    }

    /// A permanent nested supervisor running `spec` (waited for on shutdown). Its id is its label
    /// in logs, metrics and snapshots.
    pub fn supervisor(id: impl Into<ChildId>, spec: SupervisorSpec) -> Self {
        let id: ChildId = id.into();
        let label = Arc::clone(&id);
        let spec = Arc::new(spec);
        let start: StartFn = Arc::new(move |sup: ActorCell| {
            let label = Arc::clone(&label);
            let spec = SupervisorSpec::clone(&spec);
            Box::pin(async move {
                let (sup_ref, _join) = Supervisor::spawn_child(label, spec, sup).await?;
                Ok(Started::Running(sup_ref.cell()))
            })
        });
        let mut child = Self::from_start(id, start);
        child.shutdown = Shutdown::Infinity;
        child.kind = ChildKind::Supervisor;
        child
    }

    /// The same child with another restart type.
    #[must_use]
    pub fn with_restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// The same child with another shutdown.
    #[must_use]
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// The same child with a restart backoff.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The same child, significant for its supervisor's [`AutoShutdown`] or not. Only a transient
    /// or temporary child may be significant, under a supervisor whose auto shutdown is not
    /// `never` (checked when the supervisor starts or the child is added).
    #[must_use]
    pub fn with_significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }

    /// Refuses a significant permanent child, and any significant child under `Never`.
    pub(crate) fn check(&self, auto_shutdown: AutoShutdown) -> Result<(), SpecError> {
        if !self.significant {
            return Ok(());
        }
        if self.restart == Restart::Permanent {
            return Err(SpecError::SignificantPermanent(Arc::clone(&self.id)));
        }
        if auto_shutdown == AutoShutdown::Never {
            return Err(SpecError::SignificantWithoutAutoShutdown(Arc::clone(
                &self.id,
            )));
        }
        Ok(())
    }
}

/// OTP's default restart intensity: at most 1 restart ...
pub const DEFAULT_INTENSITY: u32 = 1;
/// ... within 5 seconds.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(5);

/// A supervisor: its strategy, restart intensity and initial children (started in order).
#[derive(Debug, Clone)]
pub struct SupervisorSpec {
    /// Which children a restart affects.
    pub strategy: Strategy,
    /// More than this many restarts within `period` ⇒ the supervisor fails (escalation).
    pub intensity: u32,
    /// The sliding window of the restart intensity.
    pub period: Duration,
    /// Whether significant children terminating shut the supervisor down.
    pub auto_shutdown: AutoShutdown,
    /// Children started in this order when the supervisor starts, stopped in reverse.
    pub children: Vec<ChildSpec>,
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        Self::new(Strategy::OneForOne)
    }
}

impl SupervisorSpec {
    /// A supervisor with `strategy`, OTP's default intensity (1 in 5 s) and no children.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            intensity: DEFAULT_INTENSITY,
            period: DEFAULT_PERIOD,
            auto_shutdown: AutoShutdown::Never,
            children: Vec::new(),
        }
    }

    /// The same spec allowing `max_restarts` restarts within `period`.
    #[must_use]
    pub fn with_intensity(mut self, max_restarts: u32, period: Duration) -> Self {
        self.intensity = max_restarts;
        self.period = period;
        self
    }

    /// The same spec shutting down when significant children terminate, as `auto_shutdown` says.
    #[must_use]
    pub fn with_auto_shutdown(mut self, auto_shutdown: AutoShutdown) -> Self {
        self.auto_shutdown = auto_shutdown;
        self
    }

    /// The same spec with one more child (started after the others).
    #[must_use]
    pub fn with_child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Refuses duplicate child ids, a zero period and misplaced significant children.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.period.is_zero() {
            return Err(SpecError::ZeroPeriod);
        }
        let mut seen = HashSet::with_capacity(self.children.len());
        for child in &self.children {
            if !seen.insert(&child.id) {
                return Err(SpecError::DuplicateChild(Arc::clone(&child.id)));
            }
            child.check(self.auto_shutdown)?;
        }
        Ok(())
    }
}
