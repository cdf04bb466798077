//! TLS for HTTP dependencies: rustls on the `ring` provider (no cmake, no system OpenSSL), with
//! the platform's certificate verifier (the system trust store on Linux).
//!
//! The configuration is handed to reqwest ready-made rather than installed as the process-wide
//! default provider, so embedding Bulwark never changes another library's TLS choice.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls_platform_verifier::BuilderVerifierExt;

/// A client TLS configuration for HTTP/1.1.
pub(crate) fn client_config() -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Installs rustls' `ring` provider as the process-wide default, unless one is installed already;
/// answers whether this call installed it.
///
/// [`HttpDependency`](super::HttpDependency) never needs this (it brings its own configuration).
/// It is for other reqwest clients in the same process: the workspace builds reqwest with
/// `rustls-no-provider` (so no aws-lc/cmake build), and such a client built with
/// `reqwest::Client::new()` panics when no default provider is installed. Call this once at
/// start-up (binaries, test set-up) before building one.
pub fn install_default_tls() -> bool {
    rustls::crypto::ring::default_provider()
        .install_default()
        .is_ok()
}
