//! Chaos experiments: drive the service with an open-loop load while a schedule of faults hits its
//! upstreams and actors, then report availability, latency, time to detect and time to recover,
//! and check the scenario's SLOs.
//!
//! - [`runner`]: one experiment from start to report ([`run`]).
//! - [`scenario`]: experiments as TOML data (the built-in ones are in `examples/chaos/`).
//! - [`lab`]: the simulated upstreams and the service configuration pointing at them.
//! - [`placement`]: the service in this process, or as a child process that can be killed.
//! - [`inject`]: the fault schedule applied to upstreams, actors, stores and the process.
//! - [`loadgen`]: the open-loop load generator.
//! - [`record`]: per-request outcomes and latency histograms.
//! - [`report`]: the report and its SLO verdict.
//! - [`timeline`]: breaker transitions, time to detect and time to recover.

pub mod inject;
pub mod lab;
pub mod loadgen;
pub mod placement;
pub mod record;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod timeline;

pub use report::ChaosReport;
pub use runner::{Event, Progress, RunError, RunOptions, run};
