//! HTTPS: the certificate and key of `[server.tls]`, loaded with rustls (ring provider), and
//! re-read on demand or on SIGHUP without dropping a connection.
//!
//! [`Tls`] keeps the current rustls [`ServerConfig`] behind an [`ArcSwap`]. Each new connection
//! takes the config current at its accept; a reload swaps in a new one, so connections accepted
//! earlier keep the certificate they were handshaken with and are never interrupted. A reload that
//! fails (a file missing or half written during a rotation, a key that does not match its
//! certificate) keeps the previous certificate in service and reports why.
//!
//! ALPN offers `h2` then `http/1.1` (only `http/1.1` when `[server] http2 = false`). Key material
//! is never logged: errors name files and what was wrong, never contents.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::config::TlsConfig;

/// The certificate could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The certificate file holds no valid PEM certificate.
    #[error("no PEM certificate in {}", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What the PEM parser found wrong.
        #[source]
        source: pem::Error,
    },
    /// The key file holds no valid PEM private key.
    #[error("no PEM private key (PKCS#8, PKCS#1 or SEC1) in {}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// What the PEM parser found wrong.
        #[source]
        source: pem::Error,
    },
    /// rustls refused the pair (an unsupported key, or a key that does not match the
    /// certificate).
    #[error("certificate {} and key {} cannot be used together", cert.display(), key.display())]
    Rejected {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        #[source]
        source: rustls::Error,
    },
    /// Listening for SIGHUP failed.
    #[error("cannot listen for SIGHUP")]
    Signal(#[source] io::Error),
}

/// The server's TLS settings, reloadable while it runs. Shared as `Arc<Tls>`.
#[derive(Debug)]
pub struct Tls {
    files: TlsConfig,
    alpn: Vec<Vec<u8>>,
    current: ArcSwap<ServerConfig>,
    reloads: watch::Sender<u64>,
}

impl Tls {
    /// Reads the certificate chain and key named in `files`; ALPN offers `h2` when `http2`.
    pub fn load(files: &TlsConfig, http2: bool) -> Result<Self, TlsError> {
        let alpn = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let config = build(files, &alpn)?;
        Ok(Self {
            files: files.clone(),
            alpn,
            current: ArcSwap::from_pointee(config),
            reloads: watch::Sender::new(0),
        })
    }

    /// Re-reads the files. On success new connections use the new certificate; on failure the
    /// previous one stays in service. Open connections are never touched.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = build(&self.files, &self.alpn)?;
        self.current.store(Arc::new(config));
        self.reloads.send_modify(|count| *count += 1);
        Ok(())
    }

    /// An acceptor with the certificate in service now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Counts successful reloads; `changed()` on the receiver completes after the next one.
    pub fn reloads(&self) -> watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    /// The files this certificate is read from.
    pub fn files(&self) -> &TlsConfig {
        &self.files
    }
}

/// Re-reads `tls` every time the process receives SIGHUP, until the returned task is aborted.
/// The signal handler is installed before this returns, so a SIGHUP sent afterwards never takes
/// the default action (terminating the process). A failed reload is logged with its cause and
/// the previous certificate stays in service.
#[cfg(unix)]
pub fn reload_on_sighup(tls: Arc<Tls>) -> Result<tokio::task::JoinHandle<()>, TlsError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).map_err(TlsError::Signal)?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let files = tls.files();
            match tls.reload() {
                Ok(()) => tracing::info!(
                    cert_file = %files.cert_file.display(),
                    "SIGHUP: TLS certificate reloaded"
                ),
                Err(error) => tracing::error!(
                    error = %error,
                    cause = %cause_chain(&error),
                    "SIGHUP: TLS certificate not reloaded; the previous one stays in service"
                ),
            }
        }
    }))
}

fn build(files: &TlsConfig, alpn: &[Vec<u8>]) -> Result<ServerConfig, TlsError> {
    let chain = read_chain(&files.cert_file)?;
    let key = read_key(&files.key_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let rejected = |source| TlsError::Rejected {
        cert: files.cert_file.clone(),
        key: files.key_file.clone(),
        source,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rejected)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(rejected)?;
    config.alpn_protocols = alpn.to_vec();
    Ok(config)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let invalid = |source| TlsError::Certificate {
        path: path.to_owned(),
        source,
    };
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    if chain.is_empty() {
        return Err(invalid(pem::Error::NoItemsFound));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|source| TlsError::Key {
        path: path.to_owned(),
        source,
    })
}

#[cfg(unix)]
fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut chain = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        if !chain.is_empty() {
            chain.push_str(": ");
        }
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

#[cfg(test)]
mod tests;
