//! [`LoginLimits`]: rate limits on token requests (governor, GCRA).
//!
//! Three keyed limiters: per username and per client address (every token request counts), and
//! per username for *failed* logins. A username whose failures exceed their burst is blocked
//! until its failure budget refills, and only that username: other users, and the same
//! address asking for other usernames, are not slowed. Keys come from input, so
//! [`retain_recent`](LoginLimits::retain_recent) must run periodically (the service does it
//! every minute) to forget keys that are back to a fresh state; usernames are validated (≤ 64
//! bytes) before they become keys.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use moka::sync::Cache;
use tokio::time::Instant;

use super::config::{LimitsConfig, Rate};

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Too many token requests for this username.
    Username,
    /// Too many token requests from this address.
    Address,
    /// Too many failed logins for this username.
    Failures,
}

impl LimitKind {
    /// The name used in error details and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::Address => "client_address",
            Self::Failures => "failed_logins",
        }
    }
}

/// A refused token request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many token requests ({})", kind.as_str())]
pub struct Limited {
    /// Which limit.
    pub kind: LimitKind,
    /// When to try again.
    pub retry_after: Duration,
}

fn quota(rate: Rate) -> Quota {
    let one = NonZeroU32::MIN;
    let period = Duration::from_secs(60) / rate.per_minute.max(1);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_minute(one))
        .allow_burst(NonZeroU32::new(rate.burst).unwrap_or(one))
}

/// The limits on `POST /v1/auth/token`.
#[derive(Debug)]
pub struct LoginLimits {
    per_username: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    failures: DefaultKeyedRateLimiter<String>,
    blocked: Cache<String, Instant>,
    clock: DefaultClock,
}

impl LoginLimits {
    /// Limits from the `[auth.limits]` settings.
    pub fn new(config: &LimitsConfig) -> Self {
        let failures = quota(config.failures);
        Self {
            per_username: DefaultKeyedRateLimiter::keyed(quota(config.per_username)),
            per_address: DefaultKeyedRateLimiter::keyed(quota(config.per_address)),
            failures: DefaultKeyedRateLimiter::keyed(failures),
            blocked: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(
                    failures
                        .burst_size_replenished_in()
                        .max(Duration::from_secs(1)),
                )
                .build(),
            clock: DefaultClock::default(),
        }
    }

    /// Counts a token request; refused when a limit is exhausted or the username is blocked
    /// after failures.
    pub fn check(&self, username: &str, client: Option<IpAddr>) -> Result<(), Limited> {
        if let Some(until) = self.blocked.get(username) {
            let now = Instant::now();
            if until > now {
                return Err(Limited {
                    kind: LimitKind::Failures,
                    retry_after: until - now,
                });
            }
            self.blocked.invalidate(username);
        }
        if let Some(address) = client {
            self.per_address
                .check_key(&address)
                .map_err(|not_until| self.limited(LimitKind::Address, &not_until))?;
        }
        self.per_username
            .check_key(&username.to_owned())
            .map_err(|not_until| self.limited(LimitKind::Username, &not_until))
    }

    /// Counts a failed login for `username`; past the failure burst the username is blocked
    /// until its failure budget has a place again.
    pub fn record_failure(&self, username: &str) {
        if let Err(not_until) = self.failures.check_key(&username.to_owned()) {
            let wait = not_until.wait_time_from(self.clock.now());
            self.blocked
                .insert(username.to_owned(), Instant::now() + wait);
            tracing::warn!(
                username,
                retry_after_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "repeated failed logins: username slowed"
            );
        }
    }

    /// Forgets keys whose state is fresh again; call periodically.
    pub fn retain_recent(&self) {
        for limiter in [&self.per_username, &self.failures] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
        self.blocked.run_pending_tasks();
    }

    /// Keys tracked now (usernames and addresses), for status pages.
    pub fn tracked_keys(&self) -> usize {
        self.per_username.len() + self.per_address.len() + self.failures.len()
    }

    fn limited(
        &self,
        kind: LimitKind,
        not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>,
    ) -> Limited {
        let wait = not_until.wait_time_from(self.clock.now());
        Limited {
            kind,
            retry_after: wait.max(Duration::from_millis(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_username: u32, per_address: u32, failures: u32) -> LoginLimits {
        let rate = |burst| Rate {
            per_minute: 1,
            burst,
        };
        LoginLimits::new(&LimitsConfig {
            per_username: rate(per_username),
            per_address: rate(per_address),
            failures: rate(failures),
        })
    }

    #[test]
    fn per_username_and_per_address_limits() {
        let limits = limits(2, 3, 10);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limits.check("alice", Some(a)).is_ok());
        assert!(limits.check("alice", Some(b)).is_ok());
        let refused = limits.check("alice", Some(b)).unwrap_err();
        assert_eq!(refused.kind, LimitKind::Username);
        assert!(refused.retry_after > Duration::from_secs(50), "{refused:?}");
        // Address a has used 1 of its 3; b was refused by the username limit.
        assert!(limits.check("bob", Some(a)).is_ok());
        assert!(limits.check("carol", Some(a)).is_ok());
        let refused = limits.check("dave", Some(a)).unwrap_err();
        assert_eq!(refused.kind, LimitKind::Address);
    }

    #[test]
    fn failures_slow_only_that_username() {
        let limits = limits(100, 100, 3);
        for _ in 0..3 {
            assert!(limits.check("mallory", None).is_ok());
            limits.record_failure("mallory");
        }
        assert!(
            limits.check("mallory", None).is_ok(),
            "three failures are the burst"
        );
        limits.record_failure("mallory");
        let refused = limits.check("mallory", None).unwrap_err();
        assert_eq!(refused.kind, LimitKind::Failures);
        assert!(refused.retry_after > Duration::from_secs(50));
        assert!(
            limits.check("alice", None).is_ok(),
            "other users are not slowed"
        );
    }
}
