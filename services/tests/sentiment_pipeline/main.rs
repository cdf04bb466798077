//! The sentiment and embeddings pipelines against real HTTP upstreams on loopback (the built-in
//! simulator): failover when an endpoint fails, the rule-based fallback when none can answer,
//! deadlines with a hanging endpoint and recovery after the reset timeout (on paused time),
//! malformed answers, the cache, batching, validation, and the routes over a real socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod embeddings;
mod failover;
mod routes;
mod timing;
