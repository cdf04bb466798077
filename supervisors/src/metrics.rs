//! The crate's metrics: restarts per actor and escalations per supervisor.

use metrics::{counter, describe_counter};

/// Counter of child restarts, label `actor` (the child id).
pub const ACTOR_RESTARTS_TOTAL: &str = "bulwark_actor_restarts_total";
/// Counter of supervisors that exceeded their restart intensity, label `supervisor`.
pub const SUPERVISOR_ESCALATIONS_TOTAL: &str = "bulwark_supervisor_escalations_total";

/// Describes the crate's metrics to the installed recorder (idempotent; every supervisor calls it
/// when it starts, so a recorder installed later still learns the descriptions).
pub fn describe_metrics() {
    describe_counter!(ACTOR_RESTARTS_TOTAL, "Restarts of supervised actors.");
    describe_counter!(
        SUPERVISOR_ESCALATIONS_TOTAL,
        "Supervisors that exceeded their restart intensity and failed to their parent."
    );
}

pub(crate) fn restart(actor: &str) {
    counter!(ACTOR_RESTARTS_TOTAL, "actor" => actor.to_owned()).increment(1);
}

/// Registers the supervisor's escalation counter at 0 when it starts, so an alert on its first
/// increase sees the series before the first escalation.
pub(crate) fn register_supervisor(supervisor: &str) {
    counter!(SUPERVISOR_ESCALATIONS_TOTAL, "supervisor" => supervisor.to_owned()).increment(0);
}

pub(crate) fn escalation(supervisor: &str) {
    counter!(SUPERVISOR_ESCALATIONS_TOTAL, "supervisor" => supervisor.to_owned()).increment(1);
}
