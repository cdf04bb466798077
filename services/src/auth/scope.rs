//! [`Scopes`]: what a token allows, as the space-separated `scope` claim of OAuth 2.0.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The scope that degraded mode still grants, and that `GET /v1/auth/me` needs.
pub const READ: &str = "read";

/// Whether `scope` is a well-formed scope name: 1–32 characters of `a-z`, `0-9`, `:` and `_`.
pub fn is_valid(scope: &str) -> bool {
    (1..=32).contains(&scope.len())
        && scope
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'_')
}

/// A set of scopes, kept sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Scopes from names; malformed names are dropped.
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut scopes: Vec<String> = names
            .into_iter()
            .filter(|s| is_valid(s.as_ref()))
            .map(|s| s.as_ref().to_owned())
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        Self(scopes)
    }

    /// Parses a space-separated list (the `scope` claim, the stored column).
    pub fn parse(text: &str) -> Self {
        Self::new(text.split_ascii_whitespace())
    }

    /// Whether `scope` is granted.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Only the scopes also in `allowed`.
    pub fn restricted_to(&self, allowed: &[&str]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|s| allowed.contains(&s.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// The names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether no scope is granted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl From<Scopes> for String {
    fn from(scopes: Scopes) -> Self {
        scopes.to_string()
    }
}

impl From<String> for Scopes {
    fn from(text: String) -> Self {
        Self::parse(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_sorts_dedups_and_drops_malformed_names() {
        let scopes = Scopes::parse("write read  read BAD jobs:submit");
        assert_eq!(scopes.to_string(), "jobs:submit read write");
        assert!(scopes.contains("read") && !scopes.contains("BAD"));
        assert_eq!(scopes.restricted_to(&[READ]).to_string(), "read");
        assert!(Scopes::parse("write").restricted_to(&[READ]).is_empty());
    }
}
