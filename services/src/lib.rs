//! Bulwark services: the HTTP gateway, the pipelines built on the runtime, and the `bulwark`
//! command-line tool.
//!
//! - [`auth`]: users, password hashing, JWT tokens and degraded mode (a library the gateway mounts).
//! - [`sentiment`]: model endpoints with failover, a cache and the rule-based analyzer as fallback;
//!   [`embeddings`]: embeddings endpoints with a local hashing fallback; [`upstream`]: the
//!   configured HTTP endpoints both pool; [`responses`]: customer responses from LLM providers
//!   with per-provider breakers, failover, hedging and templates as the fallback.
//! - [`gateway`]: the axum application — correlation IDs, the standard error format for every
//!   failure (unknown route, wrong method, bad or oversized body, panics), health, graceful shutdown.
//! - [`jobs`]: durable sentiment jobs — a SQLite-backed bounded queue, workers, recovery after a
//!   crash, and their routes.
//! - [`nats`]: the NATS adapter — request/reply subjects in a queue group and sentiment jobs
//!   over a JetStream work queue, so several nodes share the load.
//! - [`config`]: the TOML configuration file and its embedded defaults; [`overrides`]: the
//!   per-dependency policy overrides it carries.
//! - [`service`]: the whole service assembled from a [`config::Config`] (what `serve` serves).
//! - [`cli`] and [`commands`]: argument parsing and what each subcommand does.
//! - [`chaos`]: chaos scenarios, the open-loop load generator and the report.
//! - [`simulator`]: simulated upstreams (OpenAI-compatible, Anthropic, inference) on loopback, for
//!   the demo, the chaos runner and tests.

pub mod auth;
pub mod chaos;
pub mod cli;
pub mod commands;
pub mod config;
pub mod embeddings;
pub mod gateway;
pub mod jobs;
pub mod nats;
pub mod overrides;
pub mod responses;
pub mod sentiment;
pub mod service;
pub mod simulator;
pub mod upstream;
