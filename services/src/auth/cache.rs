//! The two caches of the auth pipeline (moka, bounded, with TTL).
//!
//! - [`CredentialCache`]: username → the user's argon2 **hash** and scopes, remembered after a
//!   successful login or registration, for `credential_cache_ttl` (default 15 min). It lets
//!   users who logged in recently log in again while the user store is down; the password
//!   itself is never kept. Expiry is checked against tokio's clock, so it is exact (and
//!   deterministic under paused time); moka's own TTL only bounds memory.
//! - [`TokenCache`]: SHA-256 of a token → its validated claims, so a token seen before is not
//!   verified again. Keyed by the hash, never the token; bounded; entries live no longer than
//!   a token can. A hit still checks expiry and revocation — the cache saves the signature check
//!   only.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::scope::Scopes;
use super::store::StoredHash;
use super::tokens::Claims;

/// A credential remembered for logins during a store outage.
#[derive(Debug, Clone)]
pub struct CachedCredential {
    /// The argon2 hash (never the password).
    pub hash: StoredHash,
    /// The scopes the store granted.
    pub scopes: Scopes,
    cached_at: Instant,
}

/// Verified credentials by username.
#[derive(Debug, Clone)]
pub struct CredentialCache {
    entries: Cache<String, CachedCredential>,
    ttl: Duration,
}

impl CredentialCache {
    /// At most `capacity` credentials, each usable for `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        let entries = Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl.max(Duration::from_millis(1)))
            .build();
        Self { entries, ttl }
    }

    /// Remembers a verified credential.
    pub fn remember(&self, username: &str, hash: StoredHash, scopes: Scopes) {
        if self.ttl.is_zero() {
            return;
        }
        self.entries.insert(
            username.to_owned(),
            CachedCredential {
                hash,
                scopes,
                cached_at: Instant::now(),
            },
        );
    }

    /// The credential of `username`, if cached less than the TTL ago.
    pub fn get(&self, username: &str) -> Option<CachedCredential> {
        let entry = self.entries.get(username)?;
        if entry.cached_at.elapsed() < self.ttl {
            Some(entry)
        } else {
            self.entries.invalidate(username);
            None
        }
    }

    /// Forgets `username` (e.g. after a failed verification against a stale hash).
    pub fn forget(&self, username: &str) {
        self.entries.invalidate(username);
    }
}

/// What validating a token established; shared by every later hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedToken {
    /// The verified claims.
    pub claims: Claims,
}

/// The SHA-256 of a token: the cache key.
pub type TokenDigest = [u8; 32];

/// Validated tokens by digest.
#[derive(Debug, Clone)]
pub struct TokenCache {
    entries: Cache<TokenDigest, Arc<ValidatedToken>>,
}

impl TokenCache {
    /// At most `capacity` tokens, none kept longer than `max_age` (a token's lifetime plus the
    /// leeway: nothing in the cache outlives every token).
    pub fn new(capacity: u64, max_age: Duration) -> Self {
        let entries = Cache::builder()
            .max_capacity(capacity)
            .time_to_live(max_age.max(Duration::from_secs(1)))
            .build();
        Self { entries }
    }

    /// The digest of `token`.
    pub fn digest(token: &str) -> TokenDigest {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The validated token with this digest, if remembered.
    pub fn get(&self, digest: &TokenDigest) -> Option<Arc<ValidatedToken>> {
        self.entries.get(digest)
    }

    /// Remembers a validated token.
    pub fn insert(&self, digest: TokenDigest, token: Arc<ValidatedToken>) {
        self.entries.insert(digest, token);
    }

    /// Forgets a token.
    pub fn remove(&self, digest: &TokenDigest) {
        self.entries.invalidate(digest);
    }

    /// Forgets every token (after keys were deleted).
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn credentials_expire_exactly_at_the_ttl() {
        let cache = CredentialCache::new(10, Duration::from_secs(900));
        cache.remember(
            "alice",
            StoredHash::new("$argon2id$x".into()),
            Scopes::parse("read"),
        );
        tokio::time::advance(Duration::from_secs(899)).await;
        assert!(cache.get("alice").is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.get("alice").is_none());
        assert!(cache.get("bob").is_none());
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = CredentialCache::new(10, Duration::ZERO);
        cache.remember("alice", StoredHash::new("h".into()), Scopes::default());
        assert!(cache.get("alice").is_none());
    }
}
