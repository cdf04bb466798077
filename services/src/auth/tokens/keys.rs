//! [`KeyRing`]: the Ed25519 signing key and the keys that still verify.
//!
//! Keys live in the key directory (default `<data dir>/auth/keys`, mode 0700) as PKCS#8 DER
//! files named `<created unix seconds>-<kid>.pk8`, mode 0600, written to a temporary file and
//! renamed so a crash never leaves half a key. The newest key signs; older keys keep verifying
//! until every token they signed has expired (their successor's creation time plus the token
//! lifetime and the leeway), then they are deleted. The `kid` is the first 16 hex digits of
//! the SHA-256 of the public key: it names the key in the token header and in logs, and says
//! nothing about the private key.
//!
//! Several processes sharing a data dir share the keys; a key written by another process is
//! picked up at the next [`KeyRing::reload`]. Key material never appears in logs or errors:
//! errors name files only.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};

/// The key directory or a key file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A file or directory operation failed.
    #[error("key store I/O failed on {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A key file does not hold an Ed25519 PKCS#8 key.
    #[error("key file {} is not an Ed25519 PKCS#8 key", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// A key file is readable by others than its owner.
    #[error("key file {} must have mode 0600 (it has {mode:o})", path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The key that signs new tokens.
pub(crate) struct Signer {
    pub(crate) kid: String,
    pub(crate) key: EncodingKey,
}

struct Loaded {
    created: u64,
    kid: String,
    path: PathBuf,
    pkcs8: zeroize::Zeroizing<Vec<u8>>,
    public: [u8; 32],
}

/// The signing key and every key that still verifies.
pub struct KeyRing {
    dir: PathBuf,
    signer: ArcSwap<Signer>,
    verifying: ArcSwap<HashMap<String, DecodingKey>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .field("signing_kid", &self.signer.load().kid)
            .field("verifying", &self.verifying.load().len())
            .finish()
    }
}

/// The `kid` of a public key.
pub fn kid_of(public: &[u8; 32]) -> String {
    Sha256::digest(public)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl KeyRing {
    /// Opens the key directory, creating it and a first key when there is none. A signing key
    /// older than `rotate_after` is replaced; keys retired more than `retention` ago (token
    /// lifetime + leeway) are deleted.
    pub fn open(dir: &Path, now: u64, rotate_after: u64, retention: u64) -> Result<Self, KeyError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let mut loaded = load_dir(dir)?;
        let needs_key = loaded
            .last()
            .is_none_or(|newest| now.saturating_sub(newest.created) >= rotate_after);
        if needs_key {
            loaded.push(generate(dir, now)?);
        }
        prune(&mut loaded, now, retention);
        let (signer, verifying) = ring_of(&loaded)?;
        let ring = Self {
            dir: dir.to_owned(),
            signer: ArcSwap::from_pointee(signer),
            verifying: ArcSwap::from_pointee(verifying),
        };
        tracing::info!(kid = %ring.signing_kid(), keys = loaded.len(), "auth signing keys loaded");
        Ok(ring)
    }

    /// Makes a new signing key; the previous ones keep verifying.
    pub fn rotate(&self, now: u64, retention: u64) -> Result<String, KeyError> {
        generate(&self.dir, now)?;
        self.reload(now, retention)?;
        let kid = self.signing_kid();
        tracing::info!(kid = %kid, "auth signing key rotated");
        Ok(kid)
    }

    /// Reads the directory again (keys written by another process, pruning).
    pub fn reload(&self, now: u64, retention: u64) -> Result<(), KeyError> {
        let mut loaded = load_dir(&self.dir)?;
        prune(&mut loaded, now, retention);
        let (signer, verifying) = ring_of(&loaded)?;
        self.signer.store(Arc::new(signer));
        self.verifying.store(Arc::new(verifying));
        Ok(())
    }

    /// The `kid` of the signing key.
    pub fn signing_kid(&self) -> String {
        self.signer.load().kid.clone()
    }

    /// The `kid`s that verify, in no order.
    pub fn verifying_kids(&self) -> Vec<String> {
        self.verifying.load().keys().cloned().collect()
    }

    pub(crate) fn signer(&self) -> arc_swap::Guard<Arc<Signer>> {
        self.signer.load()
    }

    pub(crate) fn verifying(&self) -> arc_swap::Guard<Arc<HashMap<String, DecodingKey>>> {
        self.verifying.load()
    }

    /// The public key of `kid`, 32 bytes (public, for tests that forge tokens with it).
    pub fn public_key(&self, kid: &str) -> Option<Vec<u8>> {
        let verifying = self.verifying.load();
        let key = verifying.get(kid)?;
        key.try_get_as_bytes().ok().map(<[u8]>::to_vec)
    }
}

fn ring_of(loaded: &[Loaded]) -> Result<(Signer, HashMap<String, DecodingKey>), KeyError> {
    let newest = loaded.last().ok_or_else(|| KeyError::Malformed {
        path: PathBuf::from("(no key)"),
    })?;
    let signer = Signer {
        kid: newest.kid.clone(),
        key: EncodingKey::from_ed_der(&newest.pkcs8),
    };
    let verifying = loaded
        .iter()
        .map(|k| (k.kid.clone(), DecodingKey::from_ed_der(&k.public)))
        .collect();
    Ok((signer, verifying))
}

/// Every key file, oldest first.
fn load_dir(dir: &Path) -> Result<Vec<Loaded>, KeyError> {
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(created) = name
            .strip_suffix(".pk8")
            .and_then(|stem| stem.split_once('-'))
            .and_then(|(created, _)| created.parse::<u64>().ok())
        else {
            continue;
        };
        loaded.push(load_file(&path, created)?);
    }
    loaded.sort_by(|a, b| (a.created, &a.kid).cmp(&(b.created, &b.kid)));
    Ok(loaded)
}

fn load_file(path: &Path, created: u64) -> Result<Loaded, KeyError> {
    let mode = std::fs::metadata(path)
        .map_err(io(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    let pkcs8 = zeroize::Zeroizing::new(std::fs::read(path).map_err(io(path))?);
    let key = SigningKey::from_pkcs8_der(&pkcs8).map_err(|_| KeyError::Malformed {
        path: path.to_owned(),
    })?;
    let public = key.verifying_key().to_bytes();
    Ok(Loaded {
        created,
        kid: kid_of(&public),
        path: path.to_owned(),
        pkcs8,
        public,
    })
}

/// Creates and stores a new key (0600, written then renamed).
fn generate(dir: &Path, now: u64) -> Result<Loaded, KeyError> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::fill(&mut seed[..]);
    let key = SigningKey::from_bytes(&seed);
    let public = key.verifying_key().to_bytes();
    let kid = kid_of(&public);
    let path = dir.join(format!("{now}-{kid}.pk8"));
    let der = key
        .to_pkcs8_der()
        .map_err(|_| KeyError::Malformed { path: path.clone() })?;
    let tmp = dir.join(format!(".{now}-{kid}.tmp"));
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        file.write_all(der.as_bytes()).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(Loaded {
        created: now,
        kid,
        path,
        pkcs8: zeroize::Zeroizing::new(der.as_bytes().to_vec()),
        public,
    })
}

/// Deletes keys whose successor was created more than `retention` seconds ago: every token they
/// signed has expired. The newest key is always kept.
fn prune(loaded: &mut Vec<Loaded>, now: u64, retention: u64) {
    let retired: Vec<usize> = loaded
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| now.saturating_sub(pair[1].created) > retention)
        .map(|(i, _)| i)
        .collect();
    for i in retired.into_iter().rev() {
        let key = loaded.remove(i);
        match std::fs::remove_file(&key.path) {
            Ok(()) => tracing::info!(kid = %key.kid, "retired auth signing key deleted"),
            Err(e) => {
                tracing::warn!(kid = %key.kid, error = %e, "cannot delete a retired auth key")
            }
        }
    }
}
