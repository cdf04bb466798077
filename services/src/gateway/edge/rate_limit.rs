//! Request rates per client and [`RouteClass`] (governor's GCRA): over the rate ⇒ 429
//! `RATE_LIMIT_ERROR` with `Retry-After`.
//!
//! A client is its `X-API-Key` header when present — only a keyed hash of it is kept, never the
//! key — else its peer address. The tracked clients are bounded: every [`SIZE_CHECK_EVERY`]th
//! request of a worker thread counts the table (counting it locks every shard of the map, too
//! dear for every request); when it holds `max_clients`, clients whose state is fresh again are
//! forgotten, and if it is still full, requests share one overflow limiter until places free up.
//! Between two counts a thread adds at most [`SIZE_CHECK_EVERY`] clients, so the table never
//! holds more than `max_clients` plus that many per worker thread.

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderName};
use bulwark_runtime::error::ServiceError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::RouteClass;
use crate::gateway::config::{RateConfig, RateLimitConfig};

/// A worker thread counts the client table on one request in this many.
pub const SIZE_CHECK_EVERY: u32 = 64;

/// The header that names a client by its API key.
pub const API_KEY_HEADER: &str = "x-api-key";

const API_KEY_HEADER_NAME: HeaderName = HeaderName::from_static(API_KEY_HEADER);

/// Who a request comes from, as far as rates go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A keyed hash of the `X-API-Key` header.
    ApiKey(u64),
    /// The peer's address.
    Peer(IpAddr),
    /// Neither is known (an in-process server without connection info).
    Unknown,
    /// New clients while the table is full.
    Overflow,
}

/// The limiters of both classes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EdgeRateLimits {
    inner: Option<Arc<Limiters>>,
}

/// One route class's limiter, and whether its table was full when last counted.
#[derive(Debug)]
struct Class {
    limiter: DefaultKeyedRateLimiter<ClientKey>,
    full: AtomicBool,
}

impl Class {
    fn new(rate: RateConfig) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota(rate)),
            full: AtomicBool::new(false),
        }
    }
}

#[derive(Debug)]
struct Limiters {
    critical: Class,
    non_critical: Class,
    max_clients: usize,
    hasher: RandomState,
    clock: DefaultClock,
}

fn quota(rate: RateConfig) -> Quota {
    let one = NonZeroU32::MIN;
    Quota::per_second(NonZeroU32::new(rate.per_second).unwrap_or(one))
        .allow_burst(NonZeroU32::new(rate.burst).unwrap_or(one))
}

impl EdgeRateLimits {
    /// Limits as configured (none when `enabled = false`).
    pub fn new(config: &RateLimitConfig) -> Self {
        let inner = config.enabled.then(|| {
            Arc::new(Limiters {
                critical: Class::new(config.critical),
                non_critical: Class::new(config.non_critical),
                max_clients: config.max_clients,
                hasher: RandomState::new(),
                clock: DefaultClock::default(),
            })
        });
        Self { inner }
    }

    /// Clients tracked now, both classes together.
    pub fn tracked_clients(&self) -> usize {
        self.inner.as_ref().map_or(0, |l| {
            l.critical.limiter.len() + l.non_critical.limiter.len()
        })
    }
}

impl Limiters {
    fn client(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> ClientKey {
        if let Some(key) = headers.get(API_KEY_HEADER_NAME) {
            return ClientKey::ApiKey(self.hasher.hash_one(key.as_bytes()));
        }
        peer.map_or(ClientKey::Unknown, ClientKey::Peer)
    }

    fn class(&self, class: RouteClass) -> &Class {
        match class {
            RouteClass::Critical => &self.critical,
            RouteClass::NonCritical => &self.non_critical,
        }
    }

    /// Counts one request; `Err(wait)` when the client is over its rate.
    fn check(&self, class: RouteClass, client: ClientKey) -> Result<(), std::time::Duration> {
        let class = self.class(class);
        if size_check_due() {
            let mut full = class.limiter.len() >= self.max_clients;
            if full {
                class.limiter.retain_recent();
                full = class.limiter.len() >= self.max_clients;
            }
            class.full.store(full, Ordering::Relaxed);
        }
        let key = if class.full.load(Ordering::Relaxed) {
            ClientKey::Overflow
        } else {
            client
        };
        class
            .limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// True on one request in [`SIZE_CHECK_EVERY`] of this thread (its first included).
fn size_check_due() -> bool {
    thread_local! {
        static REQUESTS: Cell<u32> = const { Cell::new(0) };
    }
    REQUESTS.with(|requests| {
        let n = requests.get();
        requests.set(n.wrapping_add(1));
        n % SIZE_CHECK_EVERY == 0
    })
}

/// Checks the request against its client's limit for its route's class; over it, 429
/// `RATE_LIMIT_ERROR` with `Retry-After`.
pub fn check(
    limits: &EdgeRateLimits,
    class: RouteClass,
    req: &Request,
) -> Result<(), ServiceError> {
    let Some(limiters) = limits.inner.as_deref() else {
        return Ok(());
    };
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let client = limiters.client(req.headers(), peer);
    if let Err(wait) = limiters.check(class, client) {
        return Err(ServiceError::RateLimited {
            message: "Too many requests".to_owned(),
            retry_after: wait,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_second: u32, burst: u32, max_clients: usize) -> Arc<Limiters> {
        let config = RateLimitConfig {
            enabled: true,
            critical: RateConfig {
                per_second: 1000,
                burst: 1000,
            },
            non_critical: RateConfig { per_second, burst },
            max_clients,
        };
        EdgeRateLimits::new(&config).inner.unwrap()
    }

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let l = limits(1, 3, 100);
        let a = ClientKey::Peer([10, 0, 0, 1].into());
        let b = ClientKey::Peer([10, 0, 0, 2].into());
        for _ in 0..3 {
            assert!(l.check(RouteClass::NonCritical, a).is_ok());
        }
        let wait = l.check(RouteClass::NonCritical, a).unwrap_err();
        assert!(wait > std::time::Duration::ZERO && wait <= std::time::Duration::from_secs(1));
        assert!(l.check(RouteClass::NonCritical, b).is_ok());
        // The critical class has its own budget.
        assert!(l.check(RouteClass::Critical, a).is_ok());
    }

    #[test]
    fn api_keys_are_hashed_and_win_over_the_address() {
        let l = limits(1, 1, 100);
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, "secret-key".parse().unwrap());
        let key = l.client(&headers, Some([127, 0, 0, 1].into()));
        assert!(matches!(key, ClientKey::ApiKey(_)));
        assert!(!format!("{key:?}").contains("secret"));
        assert_eq!(key, l.client(&headers, None));
    }

    #[test]
    fn the_client_table_is_bounded() {
        let l = limits(1, 1, 4);
        for i in 0..100u8 {
            let _ = l.check(
                RouteClass::NonCritical,
                ClientKey::Peer([10, 0, 1, i].into()),
            );
        }
        // The bound, plus what one thread adds between two counts (this test is one thread).
        let tracked = l.non_critical.limiter.len();
        assert!(tracked <= 5 + SIZE_CHECK_EVERY as usize, "{tracked}");
        // Once full, new clients share the overflow limiter: nothing more is added.
        for i in 0..200u8 {
            let _ = l.check(
                RouteClass::NonCritical,
                ClientKey::Peer([10, 0, 2, i].into()),
            );
        }
        assert_eq!(l.non_critical.limiter.len(), tracked);
    }
}
