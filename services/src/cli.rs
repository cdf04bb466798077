//! Command-line arguments of the `bulwark` tool (clap derive).
//!
//! Every value given on the command line overrides the configuration file, which overrides the
//! embedded defaults. `--config` and `--data-dir` are global: every subcommand accepts them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bulwark_runtime::telemetry::LogFormat;
use clap::{Args, Parser, Subcommand};

/// Bulwark: an actor-based resilient service runtime and its reference services.
#[derive(Debug, Parser)]
#[command(name = "bulwark", version, about, long_about = None)]
pub struct Cli {
    /// Options every subcommand accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every subcommand.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Configuration file (TOML). Without it Bulwark runs on embedded defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for durable state [default: from the config file, else ./bulwark-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the service: the HTTP gateway until SIGINT or SIGTERM.
    Serve(ServeArgs),
}

/// Options of `bulwark serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: from the config file, else 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,
    /// Log line format, `json` or `text` [default: from the config file, else json].
    #[arg(long, value_name = "json|text")]
    pub log_format: Option<LogFormat>,
    /// How long in-flight requests may run after a shutdown signal, e.g. `10s`, `500ms`
    /// [default: from the config file, else 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub drain_timeout: Option<Duration>,
    /// Serve the pipelines over NATS too, e.g. `nats://127.0.0.1:4222`
    /// [default: from the config file's `[nats] url`, else off].
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
}

/// Parses a human duration such as `10s`, `1m 30s` or `250ms`.
fn parse_duration(text: &str) -> Result<Duration, humantime_serde::re::humantime::DurationError> {
    humantime_serde::re::humantime::parse_duration(text)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("bulwark").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_takes_every_option() {
        let cli = parse(&[
            "serve",
            "--config",
            "b.toml",
            "--addr",
            "0.0.0.0:9000",
            "--data-dir",
            "/tmp/d",
            "--log-format",
            "text",
            "--drain-timeout",
            "1m 5s",
            "--nats",
            "nats://127.0.0.1:4222",
        ])
        .unwrap();
        assert_eq!(cli.global.config, Some(PathBuf::from("b.toml")));
        assert_eq!(cli.global.data_dir, Some(PathBuf::from("/tmp/d")));
        let Command::Serve(args) = cli.command;
        assert_eq!(args.addr, Some("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(args.log_format, Some(LogFormat::Text));
        assert_eq!(args.drain_timeout, Some(Duration::from_secs(65)));
        assert_eq!(args.nats.as_deref(), Some("nats://127.0.0.1:4222"));
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let cli = parse(&["--config", "a.toml", "--data-dir", "d", "serve"]).unwrap();
        assert_eq!(cli.global.config, Some(PathBuf::from("a.toml")));
        assert_eq!(cli.global.data_dir, Some(PathBuf::from("d")));
    }

    #[test]
    fn nothing_is_required_for_serve() {
        let cli = parse(&["serve"]).unwrap();
        let Command::Serve(args) = cli.command;
        assert!(args.addr.is_none() && args.log_format.is_none() && args.drain_timeout.is_none());
        assert!(args.nats.is_none());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(&["serve", "--log-format", "yaml"]).is_err());
        assert!(parse(&["serve", "--addr", "localhost"]).is_err());
        assert!(parse(&["serve", "--drain-timeout", "soon"]).is_err());
        assert!(parse(&[]).is_err());
    }
}
