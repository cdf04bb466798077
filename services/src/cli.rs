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
    /// Watch the service ride out failures: simulated upstreams, steady traffic and a chaos
    /// schedule, one line per second, the dashboard live, a report at the end.
    Demo(DemoArgs),
    /// Run a chaos experiment against the service and report availability, latency, time to
    /// detect and time to recover; exits non-zero when an SLO fails.
    Chaos(ChaosArgs),
}

/// Options of `bulwark demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How long the demo runs, e.g. `60s`, `2m`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub duration: Duration,
    /// Requests per second of the traffic generator [default: the demo's, 50].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rps: Option<u32>,
    /// Address the service (and its dashboard) listens on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
}

/// Options of `bulwark chaos`.
#[derive(Debug, Clone, Args)]
pub struct ChaosArgs {
    /// A built-in scenario's name (upstream-errors, upstream-hang, latency-spike, actor-panics,
    /// store-outage, overload, crash-restart) or a scenario file (TOML).
    #[arg(long, value_name = "NAME|FILE")]
    pub scenario: String,
    /// Shorten the scenario to this duration (its fault schedule scaled to fit), e.g. `10s`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Requests per second instead of the scenario's.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rps: Option<u32>,
    /// Print the report as JSON on stdout (progress lines go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Address the service listens on [default: a free loopback port].
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,
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
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
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
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert!(args.addr.is_none() && args.log_format.is_none() && args.drain_timeout.is_none());
        assert!(args.nats.is_none());
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(&["serve", "--log-format", "yaml"]).is_err());
        assert!(parse(&["serve", "--addr", "localhost"]).is_err());
        assert!(parse(&["serve", "--drain-timeout", "soon"]).is_err());
        assert!(parse(&[]).is_err());
        assert!(parse(&["chaos"]).is_err(), "a scenario is required");
        assert!(parse(&["chaos", "--scenario", "x", "--rps", "0"]).is_err());
        assert!(parse(&["demo", "--duration", "forever"]).is_err());
    }

    #[test]
    fn demo_and_chaos_take_their_options() {
        let Command::Demo(demo) = parse(&["demo"]).unwrap().command else {
            panic!("not demo")
        };
        assert_eq!(demo.duration, Duration::from_secs(60));
        assert_eq!(demo.addr.port(), 8080);
        let cli = parse(&[
            "chaos",
            "--scenario",
            "upstream-hang",
            "--duration",
            "10s",
            "--rps",
            "50",
            "--json",
        ])
        .unwrap();
        let Command::Chaos(chaos) = cli.command else {
            panic!("not chaos")
        };
        assert_eq!(chaos.scenario, "upstream-hang");
        assert_eq!(chaos.duration, Some(Duration::from_secs(10)));
        assert_eq!(chaos.rps, Some(50));
        assert!(chaos.json);
    }
}
