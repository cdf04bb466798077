//! [`Revocations`]: tokens refused before they expire — one token by its `jti` (logout), or every
//! token of a user issued up to a moment (a compromised account).
//!
//! The list lives in this process; entries are dropped once the tokens they name have expired
//! anyway, so it stays as small as the revocations of the last token lifetime. Checking is one
//! relaxed load while nothing is revoked, which is the common case on the cached path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

#[derive(Default)]
struct Lists {
    /// jti → the token's `exp`.
    tokens: HashMap<String, u64>,
    /// subject → (tokens issued at or before this are revoked, entry kept until).
    subjects: HashMap<String, (u64, u64)>,
}

/// The revoked tokens and subjects.
#[derive(Default)]
pub struct Revocations {
    lists: RwLock<Lists>,
    len: AtomicUsize,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("entries", &self.len.load(Ordering::Relaxed))
            .finish()
    }
}

impl Revocations {
    /// Revokes the token `jti`, which expires at `exp`.
    pub fn revoke_token(&self, jti: &str, exp: u64, now: u64) {
        self.update(now, |lists| {
            lists.tokens.insert(jti.to_owned(), exp);
        });
    }

    /// Revokes every token of `subject` issued at or before `now`; kept until `until`.
    pub fn revoke_subject(&self, subject: &str, now: u64, until: u64) {
        self.update(now, |lists| {
            lists.subjects.insert(subject.to_owned(), (now, until));
        });
    }

    /// Whether a token (`jti`, `sub`, `iat`) is revoked.
    pub fn is_revoked(&self, jti: &str, sub: &str, iat: u64) -> bool {
        if self.len.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        lists.tokens.contains_key(jti)
            || lists
                .subjects
                .get(sub)
                .is_some_and(|&(before, _)| iat <= before)
    }

    fn update(&self, now: u64, change: impl FnOnce(&mut Lists)) {
        let mut lists = self.lists.write().unwrap_or_else(PoisonError::into_inner);
        change(&mut lists);
        lists.tokens.retain(|_, exp| *exp >= now);
        lists.subjects.retain(|_, (_, until)| *until >= now);
        self.len
            .store(lists.tokens.len() + lists.subjects.len(), Ordering::Relaxed);
    }
}
