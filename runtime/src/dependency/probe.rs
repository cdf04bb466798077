//! Active probes: while the circuit is half-open and no caller takes the trial permits, the
//! owning actor runs the dependency's health probe as a trial call, so recovery is noticed on an
//! idle service too.

use std::sync::Arc;

use ractor::ActorRef;

use crate::breaker::State;

use super::actor::{ActorState, DependencyMsg};
use super::context::CallContext;
use super::permit::{CallPermit, Origin, Verdict};
use super::shared::ProbeStatus;
use super::traits::{Dependency, Probe};

impl<D: Dependency> ActorState<D> {
    /// Runs one probe as a half-open trial, in a task of its own so the actor stays responsive.
    pub(super) fn start_probe(&mut self, myself: &ActorRef<DependencyMsg>) {
        let shared = Arc::clone(&self.args.shared);
        if shared.gate.state() != State::HalfOpen {
            return;
        }
        let dependency = Arc::clone(&self.args.dependency);
        let timeout = shared.settings.load().timeout.attempt;
        let myself = myself.clone();
        tokio::spawn(async move {
            // Real traffic may hold every trial permit: then no probe is needed.
            let Ok(permit) = CallPermit::admit(&shared) else {
                return;
            };
            if !permit.permit().is_trial() {
                return;
            }
            let start = shared.clock.now();
            let ctx = CallContext::untracked().with_timeout(timeout);
            let probe = tokio::time::timeout(timeout, dependency.probe(&ctx)).await;
            let end = shared.clock.now();
            let (verdict, status) = match probe {
                // Dropping the permit gives the trial place back.
                Ok(Probe::Unsupported) => return,
                Ok(Probe::Healthy) => (
                    Verdict::Success,
                    ProbeStatus {
                        healthy: true,
                        error: None,
                    },
                ),
                Ok(Probe::Unhealthy(err)) => {
                    let verdict = if err.kind().counts_against_dependency() {
                        Verdict::Failure
                    } else {
                        Verdict::Ignored
                    };
                    let error = crate::error::chain(&err).to_string();
                    (
                        verdict,
                        ProbeStatus {
                            healthy: false,
                            error: Some(error),
                        },
                    )
                }
                Err(_) => (
                    Verdict::Failure,
                    ProbeStatus {
                        healthy: false,
                        error: Some("probe timed out".to_owned()),
                    },
                ),
            };
            permit.report(start, end, verdict, Origin::Probe);
            let _ = myself.cast(DependencyMsg::ProbeDone(status));
        });
    }
}
