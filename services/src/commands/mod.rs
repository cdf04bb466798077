//! What each subcommand does. `main` parses the [`Cli`] and hands it to [`run`].

pub mod chaos;
pub mod demo;
pub mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use bulwark_runtime::telemetry::TelemetryError;

use crate::chaos::RunError;
use crate::chaos::scenario::ScenarioError;
use crate::cli::{Cli, Command};
use crate::config::ConfigError;
use crate::gateway::server::ServerError;
use crate::service::StartError;

/// A subcommand failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The configuration could not be loaded.
    #[error("configuration")]
    Config(#[from] ConfigError),
    /// Logging could not be started.
    #[error("telemetry")]
    Telemetry(#[from] TelemetryError),
    /// The data directory could not be created.
    #[error("cannot create data directory {}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server")]
    Server(#[from] ServerError),
    /// The service could not start.
    #[error("start")]
    Start(#[from] StartError),
    /// The chaos scenario could not be loaded.
    #[error("scenario")]
    Scenario(#[from] ScenarioError),
    /// The chaos run could not be carried out.
    #[error("chaos run")]
    Chaos(#[from] RunError),
    /// The report could not be written.
    #[error("cannot write the report")]
    Report(#[source] serde_json::Error),
    /// The run ended and some SLO did not hold.
    #[error("scenario {scenario} failed its SLOs: {failures}")]
    SloFailed {
        /// The scenario.
        scenario: String,
        /// The SLOs that failed, as sentences.
        failures: String,
    },
}

/// Runs the subcommand `cli` names.
pub async fn run(cli: Cli) -> Result<(), CommandError> {
    match &cli.command {
        Command::Serve(args) => serve::run(&cli.global, args).await,
        Command::Demo(args) => demo::run(&cli.global, args).await,
        Command::Chaos(args) => chaos::run(&cli.global, args).await,
    }
}
