//! [`LastGood`]: the cache stage — the last good response per key, with a TTL, bounded in size.
//!
//! The TTL is checked here, against the insertion time stored next to the value and a `now` the
//! caller passes (tokio's clock by default), not by moka's own clock: expiry is then exact and
//! deterministic under `tokio::time::pause()`. moka bounds the number of entries (evicting the
//! least useful first) and, as a backstop, drops entries a while after they expired so stale
//! answers do not sit in memory until the capacity pushes them out.

use std::time::Duration;

use tokio::time::Instant;

/// moka refuses a time-to-live above 1000 years; a backstop of a year is plenty.
const BACKSTOP_CAP: Duration = Duration::from_secs(365 * 24 * 3600);

pub(super) type KeyFn<Req> = Box<dyn Fn(&Req) -> Option<String> + Send + Sync>;

/// Last good responses by key.
pub(super) struct LastGood<Req, Resp> {
    key: KeyFn<Req>,
    ttl: Duration,
    entries: moka::sync::Cache<String, (Resp, Instant)>,
}

impl<Req, Resp: Clone + Send + Sync + 'static> LastGood<Req, Resp> {
    pub(super) fn new(key: KeyFn<Req>, ttl: Duration, capacity: u64) -> Self {
        // Twice the TTL: moka's clock never expires an entry our check would still serve.
        let backstop = ttl
            .saturating_mul(2)
            .max(Duration::from_secs(1))
            .min(BACKSTOP_CAP);
        Self {
            key,
            ttl,
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(backstop)
                .build(),
        }
    }

    /// Stores `resp` as the last good answer for `req`'s key (if it has one) at `now`.
    pub(super) fn store(&self, req: &Req, resp: &Resp, now: Instant) {
        if let Some(key) = (self.key)(req) {
            self.entries.insert(key, (resp.clone(), now));
        }
    }

    /// The last good answer for `req`'s key if it is younger than the TTL at `now`.
    pub(super) fn lookup(&self, req: &Req, now: Instant) -> Option<Resp> {
        let key = (self.key)(req)?;
        let (value, stored) = self.entries.get(&key)?;
        // An expired entry is left in place (not invalidated): a fresh `store` racing with this
        // lookup must not be thrown away. The next store overwrites it, moka's backstop drops it.
        (now.saturating_duration_since(stored) < self.ttl).then_some(value)
    }

    /// Entries held (after moka's pending evictions ran).
    pub(super) fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }
}
