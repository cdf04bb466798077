//! [`Claims`]: what an access token says, and [`AccessToken`], the token itself (never shown).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::auth::scope::Scopes;

/// The claims of a Bulwark access token. All are required: a token without `exp`, `nbf`,
/// `iss`, `aud`, `sub` or `jti` is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject: the username.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not valid before (Unix seconds).
    pub nbf: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
    /// Token id, for revocation.
    pub jti: String,
    /// Granted scopes, space-separated.
    pub scope: Scopes,
}

/// A signed token. `Debug` shows only its length; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(zeroize::Zeroizing<String>);

impl AccessToken {
    pub(crate) fn new(token: String) -> Self {
        Self(zeroize::Zeroizing::new(token))
    }

    /// The compact JWS, for the response body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken({} bytes)", self.0.len())
    }
}

/// A token just issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token.
    pub token: AccessToken,
    /// Its claims.
    pub claims: Claims,
    /// Seconds until it expires.
    pub expires_in: u64,
}
