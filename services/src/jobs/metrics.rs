//! The queue's Prometheus series.

/// Series names.
pub mod names {
    /// Jobs accepted (stored) by `POST /v1/sentiment/jobs`.
    pub const ACCEPTED_TOTAL: &str = "bulwark_jobs_accepted_total";
    /// Jobs refused because the queue was full or stopping, by `reason`.
    pub const REJECTED_TOTAL: &str = "bulwark_jobs_rejected_total";
    /// Jobs finished, by `outcome` (`done`, `failed`).
    pub const FINISHED_TOTAL: &str = "bulwark_jobs_finished_total";
    /// Tries put back in the queue after a transient failure.
    pub const RETRIED_TOTAL: &str = "bulwark_jobs_retried_total";
    /// Jobs queued or running.
    pub const OUTSTANDING: &str = "bulwark_jobs_outstanding";
}

/// Describes the series (once per process is enough; repeating is harmless).
pub fn describe() {
    metrics::describe_counter!(names::ACCEPTED_TOTAL, "Jobs accepted and stored durably");
    metrics::describe_counter!(
        names::REJECTED_TOTAL,
        "Jobs refused because the queue was full or stopping, by reason"
    );
    metrics::describe_counter!(names::FINISHED_TOTAL, "Jobs finished, by outcome");
    metrics::describe_counter!(
        names::RETRIED_TOTAL,
        "Job tries put back in the queue after a transient failure"
    );
    metrics::describe_gauge!(names::OUTSTANDING, "Jobs queued or running");
}

pub(super) fn accepted() {
    metrics::counter!(names::ACCEPTED_TOTAL).increment(1);
}

pub(super) fn rejected(reason: &'static str) {
    metrics::counter!(names::REJECTED_TOTAL, "reason" => reason).increment(1);
}

pub(super) fn finished(outcome: &'static str) {
    metrics::counter!(names::FINISHED_TOTAL, "outcome" => outcome).increment(1);
}

pub(super) fn retried() {
    metrics::counter!(names::RETRIED_TOTAL).increment(1);
}

pub(super) fn outstanding(n: u64) {
    metrics::gauge!(names::OUTSTANDING).set(n as f64);
}
