//! Chaos experiments: drive the service with an open-loop load while a schedule of faults hits its
//! upstreams and actors, then report availability, latency, time to detect and time to recover,
//! and check the scenario's SLOs.
//!
//! - [`scenario`]: experiments as TOML data (the built-in ones are in `examples/chaos/`).
//! - [`loadgen`]: the open-loop load generator.
//! - [`record`]: per-request outcomes and latency histograms.
//! - [`report`]: the report and its SLO verdict.
//! - [`timeline`]: breaker transitions, time to detect and time to recover.

pub mod loadgen;
pub mod record;
pub mod report;
pub mod scenario;
pub mod timeline;
