//! `bulwark serve`: the service, until SIGINT or SIGTERM. With `[server.tls]` it serves HTTPS
//! and re-reads the certificate on SIGHUP.

use std::sync::Arc;

use tokio::net::TcpListener;

use bulwark_runtime::telemetry;

use super::CommandError;
use crate::cli::{GlobalArgs, ServeArgs};
use crate::config::{Config, ConfigError};
use crate::gateway::GatewayConfig;
use crate::gateway::server::{self, Server, ServerError, Shutdown};
use crate::service::Service;

/// The configuration `serve` runs with: defaults, overridden by the config file, overridden by the
/// command line.
pub fn resolve(global: &GlobalArgs, args: &ServeArgs) -> Result<Config, ConfigError> {
    let mut config = Config::load(global.config.as_deref())?;
    if let Some(dir) = &global.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(addr) = args.addr {
        config.server.addr = addr;
    }
    if let Some(format) = args.log_format {
        config.log.format = format;
    }
    if let Some(timeout) = args.drain_timeout {
        config.server.drain_timeout = timeout;
    }
    if let Some(url) = &args.nats {
        config.nats.url = Some(url.clone());
    }
    config.validate()?;
    Ok(config)
}

/// Starts logging, prepares the data directory, binds and serves until a shutdown signal.
pub async fn run(global: &GlobalArgs, args: &ServeArgs) -> Result<(), CommandError> {
    let config = resolve(global, args)?;
    let _traces = telemetry::init_with(config.log.format, &config.log.filter, &config.telemetry)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|source| CommandError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let server = server_for(&config.server)?;
    let addr = config.server.addr;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| CommandError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    let edge = &config.server;
    tracing::info!(
        addr = %local,
        tls = edge.tls.is_some(),
        http2 = edge.http2,
        data_dir = %config.data_dir.display(),
        body_limit = edge.body_limit,
        max_header_bytes = edge.max_header_bytes,
        max_connections = edge.max_connections,
        header_read_timeout_ms = millis(edge.header_read_timeout),
        keep_alive_idle_timeout_ms = millis(edge.keep_alive_idle_timeout),
        "bulwark listening"
    );
    let service = Service::start(&config).await?;
    let outcome = server
        .serve(listener, service.router.clone(), server::shutdown_signal())
        .await;
    service.shutdown().await;
    match outcome? {
        Shutdown::Drained => tracing::info!("stopped"),
        Shutdown::DrainTimedOut => tracing::warn!("stopped with requests still in flight"),
    }
    Ok(())
}

/// The server for these settings; with TLS, the certificate is loaded now and re-read on SIGHUP.
fn server_for(config: &GatewayConfig) -> Result<Server, ServerError> {
    let server = Server::new(config)?;
    #[cfg(unix)]
    if let Some(tls) = server.tls() {
        crate::gateway::tls::reload_on_sighup(Arc::clone(tls))?;
    }
    Ok(server)
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use bulwark_runtime::telemetry::LogFormat;

    use super::*;

    #[test]
    fn the_command_line_overrides_the_defaults() {
        let global = GlobalArgs {
            config: None,
            data_dir: Some(PathBuf::from("/tmp/x")),
        };
        let args = ServeArgs {
            addr: Some("127.0.0.1:0".parse().unwrap()),
            log_format: Some(LogFormat::Text),
            drain_timeout: Some(Duration::from_secs(3)),
            nats: Some("nats://127.0.0.1:4222".to_owned()),
        };
        let config = resolve(&global, &args).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.server.addr.port(), 0);
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.server.drain_timeout, Duration::from_secs(3));
        assert_eq!(config.nats.url.as_deref(), Some("nats://127.0.0.1:4222"));
    }

    #[test]
    fn without_arguments_the_defaults_apply() {
        let config = resolve(&GlobalArgs::default(), &ServeArgs::default()).unwrap();
        assert_eq!(config, Config::default());
    }
}
