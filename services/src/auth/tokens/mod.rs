//! [`TokenService`]: issues and validates JWT access tokens. Validation does no I/O.
//!
//! - **Algorithm fixed by the server**: EdDSA (Ed25519) only. The header's `alg` must be
//!   `EdDSA`; `none`, HMAC (e.g. HS256 "signed" with the public key) and every other algorithm
//!   are refused before any key is looked at, and the process's crypto provider cannot verify
//!   anything else anyway (`tokens/provider.rs`).
//! - **Keys by `kid`**: the header must name a key of the [`KeyRing`]; an unknown `kid` is
//!   refused. After a rotation, tokens signed with older keys keep validating until they expire.
//! - **Claims**: `iss` and `aud` must be the configured ones; `exp` and `nbf` are checked with a
//!   small leeway against a [`WallClock`].
//! - **Cache**: a token validated once is remembered by its SHA-256 ([`TokenCache`]); a hit
//!   skips the signature check but still checks expiry and [`Revocations`].

mod claims;
mod clock;
mod keys;
mod provider;
mod revocation;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};

pub use claims::{AccessToken, Claims, IssuedToken};
pub use clock::WallClock;
pub use keys::{KeyError, KeyRing, kid_of};
pub use revocation::Revocations;

use super::cache::{TokenCache, ValidatedToken};
use super::scope::Scopes;

/// Why a token was refused. Never carries the token or any part of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a well-formed JWT with the required claims.
    #[error("malformed token")]
    Malformed,
    /// The header names an algorithm other than EdDSA (`none`, HS256, RS256, …).
    #[error("token algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The header has no `kid`.
    #[error("token has no key id")]
    MissingKeyId,
    /// The `kid` names no key that verifies.
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// The signature does not match.
    #[error("token signature invalid")]
    BadSignature,
    /// `iss` is not ours.
    #[error("token issuer not accepted")]
    WrongIssuer,
    /// `aud` is not ours.
    #[error("token audience not accepted")]
    WrongAudience,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("token not valid yet")]
    NotYetValid,
    /// The token or its subject was revoked.
    #[error("token revoked")]
    Revoked,
}

/// Signing failed (a broken key file): an internal fault, never the caller's.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign a token")]
pub struct SignError(#[source] jsonwebtoken::errors::Error);

/// Settings of a [`TokenService`].
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Token lifetime.
    pub ttl: Duration,
    /// Skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Validated tokens remembered.
    pub cache_capacity: u64,
}

/// Issues and validates tokens.
#[derive(Debug)]
pub struct TokenService {
    keys: KeyRing,
    settings: TokenSettings,
    validation: Validation,
    clock: WallClock,
    cache: TokenCache,
    revocations: Revocations,
}

impl TokenService {
    /// A service signing with `keys`.
    pub fn new(keys: KeyRing, settings: TokenSettings, clock: WallClock) -> Self {
        if !provider::install() {
            tracing::warn!("another jsonwebtoken crypto provider was installed first; using it");
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // Time is checked here against `clock`, for the cached path and the first sight alike.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        let cache = TokenCache::new(settings.cache_capacity, settings.ttl + settings.leeway);
        Self {
            keys,
            settings,
            validation,
            clock,
            cache,
            revocations: Revocations::default(),
        }
    }

    /// Signs a token for `subject` with `scopes`, valid from now for the configured lifetime.
    pub fn issue(&self, subject: &str, scopes: &Scopes) -> Result<IssuedToken, SignError> {
        let now = self.clock.now();
        let ttl = self.settings.ttl.as_secs();
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sub: subject.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            scope: scopes.clone(),
        };
        let token = self.sign(&claims)?;
        Ok(IssuedToken {
            token,
            claims,
            expires_in: ttl,
        })
    }

    /// Signs arbitrary `claims` with the current key (tests use it to make expired or foreign
    /// tokens; the service itself goes through [`issue`](Self::issue)).
    pub fn sign(&self, claims: &Claims) -> Result<AccessToken, SignError> {
        let signer = self.keys.signer();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signer.kid.clone());
        jsonwebtoken::encode(&header, claims, &signer.key)
            .map(AccessToken::new)
            .map_err(SignError)
    }

    /// Validates `token`: from the cache when seen before, else by signature and claims.
    pub fn validate(&self, token: &str) -> Result<Arc<ValidatedToken>, TokenError> {
        let now = self.clock.now();
        let digest = TokenCache::digest(token);
        if let Some(hit) = self.cache.get(&digest) {
            if let Err(e) = self.check_live(&hit.claims, now) {
                if e == TokenError::Expired {
                    self.cache.remove(&digest);
                }
                return Err(e);
            }
            return Ok(hit);
        }
        let claims = self.verify(token)?;
        self.check_live(&claims, now)?;
        let validated = Arc::new(ValidatedToken { claims });
        self.cache.insert(digest, Arc::clone(&validated));
        Ok(validated)
    }

    /// Revokes a valid token (logout); later validations refuse it, cached or not.
    pub fn revoke(&self, token: &str) -> Result<(), TokenError> {
        let validated = self.validate(token)?;
        let claims = &validated.claims;
        self.revocations
            .revoke_token(&claims.jti, claims.exp + self.leeway(), self.clock.now());
        Ok(())
    }

    /// Revokes every token of `subject` issued until now.
    pub fn revoke_subject(&self, subject: &str) {
        let now = self.clock.now();
        let until = now + self.settings.ttl.as_secs() + self.leeway();
        self.revocations.revoke_subject(subject, now, until);
    }

    /// Makes a new signing key; tokens of the older keys keep validating until they expire.
    pub fn rotate_keys(&self) -> Result<String, KeyError> {
        let kid = self.keys.rotate(self.clock.now(), self.retention())?;
        Ok(kid)
    }

    /// Seconds a retired key keeps verifying: the token lifetime plus the leeway.
    pub fn retention(&self) -> u64 {
        self.settings.ttl.as_secs() + self.leeway()
    }

    /// The keys.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The clock tokens are issued and checked against.
    pub fn clock(&self) -> &WallClock {
        &self.clock
    }

    /// The settings.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    fn leeway(&self) -> u64 {
        self.settings.leeway.as_secs()
    }

    fn check_live(&self, claims: &Claims, now: u64) -> Result<(), TokenError> {
        let leeway = self.leeway();
        if now >= claims.exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now.saturating_add(leeway) {
            return Err(TokenError::NotYetValid);
        }
        if self
            .revocations
            .is_revoked(&claims.jti, &claims.sub, claims.iat)
        {
            return Err(TokenError::Revoked);
        }
        Ok(())
    }

    /// Signature, algorithm, key and issuer/audience checks.
    fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| classify_header(token))?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        let kid = header.kid.ok_or(TokenError::MissingKeyId)?;
        let keys = self.keys.verifying();
        let key = keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAudience => TokenError::WrongAudience,
                ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidAlgorithmName
                | ErrorKind::UnsupportedAlgorithm => TokenError::AlgorithmNotAllowed,
                _ => TokenError::Malformed,
            })
    }
}

/// A header jsonwebtoken cannot read: say "algorithm not allowed" when it names one that the
/// library does not even know (`none`), else "malformed".
fn classify_header(token: &str) -> TokenError {
    let alg = token
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|v| v.get("alg").and_then(|a| a.as_str()).map(str::to_owned));
    match alg {
        Some(alg) if alg != "EdDSA" => TokenError::AlgorithmNotAllowed,
        _ => TokenError::Malformed,
    }
}
