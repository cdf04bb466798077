//! The response pipeline against real HTTP upstreams on loopback (the built-in simulator,
//! speaking the OpenAI-compatible and the Anthropic APIs): failover on errors, hangs and
//! malformed bodies, the template when every provider is down, refused keys, error bodies,
//! server-sent events relayed and failed over before the first token, hedging, the cache,
//! validation, and `bulwark serve` with two simulated providers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "../common/binary.rs"]
mod binary;

mod errors;
mod failover;
mod routes;
mod serve;
mod streaming;
mod timing;
