//! The NATS adapter against a real `nats-server -js` and real `bulwark serve` processes: round
//! trips per subject in JSON and postcard, correlation IDs, malformed payloads, jobs over
//! JetStream, two nodes sharing a queue group, a node SIGKILLed mid-stream and mid-job, and the
//! NATS server restarted under a running node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "../common/binary.rs"]
mod binary;

mod backpressure;
mod kill;
mod restart;
mod round_trip;
mod scale;
