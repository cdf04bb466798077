//! Readiness: whether the service can do its job now, from the state of its dependencies.
//!
//! Pipelines [`declare`](Readiness::declare) each dependency's [`Role`]: whether the service
//! needs it (critical) and whether a fallback answers for it (covered). A dependency is *usable*
//! when an actor owns it, its circuit lets calls through (closed, half-open, disabled) and it has
//! not refused our credentials lately. The service is
//! - `ready` when every dependency is usable;
//! - `degraded` (still ready, 200) when something is not usable but every critical dependency is
//!   usable or covered by a fallback, or a pipeline [`note`](Readiness::note)s it runs degraded;
//! - `unavailable` (503) when a critical dependency is neither usable nor covered.
//!
//! Endpoints of one pool (`pool/endpoint` names) count together: the pool is usable while one of
//! its endpoints is. Undeclared dependencies are non-critical and uncovered.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bulwark_runtime::breaker::State;
use bulwark_runtime::clock::Moment;
use bulwark_runtime::dependency::DependencySnapshot;
use serde::Serialize;
use utoipa::ToSchema;

/// A 401/403 from a dependency keeps it unusable for this long.
pub const UNAUTHORIZED_HOLD: Duration = Duration::from_secs(60);

/// What a dependency means to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Role {
    /// The service cannot do its job without it (or without its fallback).
    pub critical: bool,
    /// A fallback answers when it cannot.
    pub covered_by_fallback: bool,
}

impl Role {
    /// Needed, with no fallback.
    pub const CRITICAL: Role = Role {
        critical: true,
        covered_by_fallback: false,
    };
    /// Needed, but a fallback answers for it.
    pub const COVERED: Role = Role {
        critical: true,
        covered_by_fallback: true,
    };
    /// Nice to have.
    pub const OPTIONAL: Role = Role {
        critical: false,
        covered_by_fallback: false,
    };
}

/// The roles pipelines declared, and their notes. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<RwLock<Declared>>,
}

/// A component's own verdict: `Some(reason)` while it serves degraded.
pub type Check = Arc<dyn Fn() -> Option<String> + Send + Sync>;

#[derive(Default)]
struct Declared {
    roles: BTreeMap<String, Role>,
    notes: BTreeMap<String, String>,
    checks: BTreeMap<String, Check>,
}

impl std::fmt::Debug for Declared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Declared")
            .field("roles", &self.roles)
            .field("notes", &self.notes)
            .field("checks", &self.checks.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One dependency in a readiness answer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DependencyReadiness {
    /// The dependency's name.
    pub name: String,
    /// Its circuit state (`closed`, `open`, `half_open`, `forced_open`, `disabled`, …).
    #[schema(value_type = String)]
    pub state: State,
    /// Whether the service needs it.
    pub critical: bool,
    /// Whether a fallback answers for it.
    pub covered_by_fallback: bool,
    /// Whether it can take calls now.
    pub ready: bool,
}

/// Overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessStatus {
    /// Everything usable.
    Ready,
    /// Serving, some of it from fallbacks.
    Degraded,
    /// A critical dependency is neither usable nor covered.
    Unavailable,
}

/// The body of `GET /readyz` (and part of `/status`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReadinessReport {
    /// The verdict.
    pub status: ReadinessStatus,
    /// Whether the service takes traffic (`ready` or `degraded`).
    pub ready: bool,
    /// Every dependency.
    pub dependencies: Vec<DependencyReadiness>,
    /// Components serving degraded, and why (e.g. no model endpoint configured).
    pub notes: BTreeMap<String, String>,
}

impl Readiness {
    /// Declares what `name` (a dependency, or a pool's name for all its endpoints) means.
    pub fn declare(&self, name: impl Into<String>, role: Role) {
        self.write().roles.insert(name.into(), role);
    }

    /// Records that `component` serves degraded, and why; `None` clears it.
    pub fn note(&self, component: impl Into<String>, reason: Option<String>) {
        let mut declared = self.write();
        let component = component.into();
        match reason {
            Some(reason) => declared.notes.insert(component, reason),
            None => declared.notes.remove(&component),
        };
    }

    /// Asks `check` at every evaluation whether `component` serves degraded, and why.
    pub fn check(
        &self,
        component: impl Into<String>,
        check: impl Fn() -> Option<String> + Send + Sync + 'static,
    ) {
        self.write()
            .checks
            .insert(component.into(), Arc::new(check));
    }

    /// The verdict for these snapshots, at `now` on the runtime's clock.
    pub fn evaluate(&self, snapshots: &[DependencySnapshot], now: Moment) -> ReadinessReport {
        let declared = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut dependencies = Vec::with_capacity(snapshots.len());
        // Per group (a pool, or a lone dependency): its role and whether any member is usable.
        let mut groups: BTreeMap<&str, (Role, bool)> = BTreeMap::new();
        for snapshot in snapshots {
            let name: &str = &snapshot.name;
            let group = name.split_once('/').map_or(name, |(pool, _)| pool);
            let role = declared
                .roles
                .get(name)
                .or_else(|| declared.roles.get(group))
                .copied()
                .unwrap_or_default();
            let ready = usable(snapshot, now);
            let entry = groups.entry(group).or_insert((role, false));
            entry.1 |= ready;
            dependencies.push(DependencyReadiness {
                name: name.to_owned(),
                state: snapshot.breaker.state,
                critical: role.critical,
                covered_by_fallback: role.covered_by_fallback,
                ready,
            });
        }
        let down = groups
            .values()
            .any(|(role, ready)| role.critical && !role.covered_by_fallback && !ready);
        let mut notes = declared.notes.clone();
        for (component, check) in &declared.checks {
            if let Some(reason) = check() {
                notes.insert(component.clone(), reason);
            }
        }
        let all_ready = dependencies.iter().all(|d| d.ready);
        let status = if down {
            ReadinessStatus::Unavailable
        } else if all_ready && notes.is_empty() {
            ReadinessStatus::Ready
        } else {
            ReadinessStatus::Degraded
        };
        ReadinessReport {
            status,
            ready: status != ReadinessStatus::Unavailable,
            dependencies,
            notes,
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Declared> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether a dependency can take calls now.
fn usable(snapshot: &DependencySnapshot, now: Moment) -> bool {
    let circuit = matches!(
        snapshot.breaker.state,
        State::Closed | State::HalfOpen | State::Disabled | State::MetricsOnly
    );
    let refused_lately = snapshot.unauthorized.last_at_nanos.is_some_and(|at| {
        now.saturating_duration_since(Moment::from_nanos(at)) < UNAUTHORIZED_HOLD
    });
    snapshot.actor_alive && circuit && !refused_lately
}
