//! Durable sentiment jobs over real HTTP on a real socket: the lifecycle, idempotency, a full
//! queue, bad input, recovery after a restart on the same data dir, and durability across a
//! real `kill -9` of the `bulwark` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "../common/binary.rs"]
mod binary;

mod failures;
mod http;
mod kill;
mod recovery;
