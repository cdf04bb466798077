//! What callers send: a [`Username`] and a [`Password`], checked before any work is done.
//!
//! Usernames are 3–64 characters of ASCII letters, digits, `.`, `_` and `-`, starting with a
//! letter or digit; they are compared and stored in lowercase. Passwords are 12–1024 characters
//! (any characters; length is what makes them strong), and are never shown: their `Debug` is
//! `Password(***)`, they have no `Display`, and their memory is wiped when dropped.

use std::fmt;

use bulwark_runtime::error::Details;
use serde::Deserialize;
use zeroize::Zeroizing;

/// Shortest accepted username.
pub const USERNAME_MIN: usize = 3;
/// Longest accepted username.
pub const USERNAME_MAX: usize = 64;
/// Shortest accepted password, in characters.
pub const PASSWORD_MIN: usize = 12;
/// Longest accepted password, in characters (bounds the hashing input).
pub const PASSWORD_MAX: usize = 1024;

const USERNAME_RULE: &str =
    "must be 3-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit";
const PASSWORD_RULE: &str = "must be 12-1024 characters";

/// A checked, lowercased username.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    /// Checks `raw` against the username rules and lowercases it.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let ok_len = (USERNAME_MIN..=USERNAME_MAX).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        let ok_start = raw
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        if ok_len && ok_chars && ok_start {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(USERNAME_RULE)
        }
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password on its way to the hasher. Never displayed, wiped on drop.
#[derive(Clone, Deserialize)]
#[serde(from = "String")]
pub struct Password(Zeroizing<String>);

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self(Zeroizing::new(password))
    }
}

impl Password {
    /// Wraps a password without checking it (logins check only its size).
    pub fn new(password: impl Into<String>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    /// Checks the registration rule (12–1024 characters).
    pub fn check_rule(&self) -> Result<(), &'static str> {
        let chars = self.0.chars().count();
        if (PASSWORD_MIN..=PASSWORD_MAX).contains(&chars) {
            Ok(())
        } else {
            Err(PASSWORD_RULE)
        }
    }

    /// Whether the password is too large to be worth hashing at a login (more than
    /// [`PASSWORD_MAX`] characters, or empty).
    pub fn is_out_of_bounds(&self) -> bool {
        self.0.is_empty() || self.0.chars().count() > PASSWORD_MAX
    }

    /// The bytes to hash.
    pub(crate) fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// `POST /v1/auth/register` and `POST /v1/auth/token` bodies: a username and a password.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The username as sent: 3–64 characters of `a-z`, `0-9`, `.`, `_`, `-` (case-insensitive).
    #[schema(
        min_length = 3,
        max_length = 64,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"
    )]
    pub username: String,
    /// The password as sent: 12–1024 characters to register.
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 1024)]
    pub password: Password,
}

impl Credentials {
    /// Credentials from parts.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: Password::new(password),
        }
    }

    /// Checks both fields against the registration rules; every failing field is named.
    pub fn check_for_registration(&self) -> Result<Username, Details> {
        let mut details = Details::new();
        let username = Username::parse(&self.username)
            .map_err(|rule| details.insert("username".to_owned(), rule.to_owned()))
            .ok();
        if let Err(rule) = self.password.check_rule() {
            details.insert("password".to_owned(), rule.to_owned());
        }
        match username {
            Some(username) if details.is_empty() => Ok(username),
            _ => Err(details),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(
            Username::parse("Alice.B-1_x").unwrap().as_str(),
            "alice.b-1_x"
        );
        for bad in ["ab", "-alice", "al ice", "alicé", "", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Username::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn passwords_count_characters_and_never_show() {
        assert!(Password::new("short").check_rule().is_err());
        assert!(Password::new("é".repeat(12)).check_rule().is_ok());
        assert!(Password::new("x".repeat(1025)).check_rule().is_err());
        let p = Password::new("correct horse battery");
        assert_eq!(format!("{p:?}"), "Password(***)");
        let c = Credentials::new("alice", "correct horse battery");
        assert!(!format!("{c:?}").contains("horse"));
    }

    #[test]
    fn registration_names_every_bad_field() {
        let details = Credentials::new("a", "b")
            .check_for_registration()
            .unwrap_err();
        assert_eq!(details.len(), 2);
        assert!(details.contains_key("username") && details.contains_key("password"));
        let ok = Credentials::new("Bob", "twelve chars!").check_for_registration();
        assert_eq!(ok.unwrap().as_str(), "bob");
    }
}
