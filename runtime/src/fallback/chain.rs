//! [`FallbackChain`] and its builder.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::cache::LastGood;
use super::{Degraded, FallbackCause, FallbackSource};

type SimplifiedFn<Req, Resp> = Box<dyn Fn(&Req, FallbackCause) -> Option<Resp> + Send + Sync>;

struct Inner<Req, Resp> {
    cache: Option<LastGood<Req, Resp>>,
    functions: Vec<(&'static str, SimplifiedFn<Req, Resp>)>,
    fixed: Option<Resp>,
    triggers: [bool; FallbackCause::ALL.len()],
}

/// An ordered chain of fallbacks: cache → simplified functions → static answer. Cheap to clone
/// (one `Arc`); `Send + Sync` when the response is.
pub struct FallbackChain<Req, Resp> {
    inner: Arc<Inner<Req, Resp>>,
}

impl<Req, Resp> Clone for FallbackChain<Req, Resp> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<Req, Resp> std::fmt::Debug for FallbackChain<Req, Resp> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let triggers: Vec<&str> = FallbackCause::ALL
            .iter()
            .zip(self.inner.triggers)
            .filter_map(|(c, on)| on.then_some(c.as_str()))
            .collect();
        f.debug_struct("FallbackChain")
            .field("cache", &self.inner.cache.is_some())
            .field(
                "functions",
                &self
                    .inner
                    .functions
                    .iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
            .field("static", &self.inner.fixed.is_some())
            .field("on", &triggers)
            .finish()
    }
}

/// Builds a [`FallbackChain`]. Every stage is optional; the order of the chain is fixed (cache,
/// functions in the order added, static answer), whatever the order of the builder calls.
#[must_use]
pub struct FallbackChainBuilder<Req, Resp> {
    inner: Inner<Req, Resp>,
}

fn default_triggers() -> [bool; FallbackCause::ALL.len()] {
    FallbackCause::ALL.map(|c| c != FallbackCause::Failed)
}

impl<Req, Resp: Clone + Send + Sync + 'static> FallbackChainBuilder<Req, Resp> {
    /// Caches the last good response per key (`key` returns `None`: never cache this request)
    /// and serves it for `ttl` after it was stored, keeping at most `capacity` keys (moka evicts
    /// the least useful first). Calling it again replaces the cache stage.
    pub fn cache(
        mut self,
        key: impl Fn(&Req) -> Option<String> + Send + Sync + 'static,
        ttl: Duration,
        capacity: u64,
    ) -> Self {
        self.inner.cache = Some(LastGood::new(Box::new(key), ttl, capacity));
        self
    }

    /// A simplified computation, named for the answer's `source` (a metric label: keep it a
    /// short constant). Several may be added; they are tried in the order added. It may return
    /// `None` (no answer for this request) to pass on to the next stage.
    pub fn function(
        mut self,
        name: &'static str,
        f: impl Fn(&Req, FallbackCause) -> Option<Resp> + Send + Sync + 'static,
    ) -> Self {
        self.inner.functions.push((name, Box::new(f)));
        self
    }

    /// A fixed answer when nothing else yields one (graceful degradation: "feature off").
    pub fn static_value(mut self, value: Resp) -> Self {
        self.inner.fixed = Some(value);
        self
    }

    /// Exactly these causes trigger the chain (replacing the default: every cause but
    /// [`FallbackCause::Failed`]).
    pub fn on(mut self, causes: &[FallbackCause]) -> Self {
        self.inner.triggers = FallbackCause::ALL.map(|c| causes.contains(&c));
        self
    }

    /// The chain.
    pub fn build(self) -> FallbackChain<Req, Resp> {
        FallbackChain {
            inner: Arc::new(self.inner),
        }
    }
}

impl<Req, Resp: Clone + Send + Sync + 'static> FallbackChain<Req, Resp> {
    /// An empty builder (default triggers: every cause but permanent failures).
    pub fn builder() -> FallbackChainBuilder<Req, Resp> {
        FallbackChainBuilder {
            inner: Inner {
                cache: None,
                functions: Vec::new(),
                fixed: None,
                triggers: default_triggers(),
            },
        }
    }

    /// Stores a good response for the cache stage, timed by tokio's clock; a no-op (no
    /// allocation, no clock read) without a cache stage.
    pub fn remember(&self, req: &Req, resp: &Resp) {
        if let Some(cache) = &self.inner.cache {
            cache.store(req, resp, Instant::now());
        }
    }

    /// [`remember`](Self::remember) at a given time.
    pub fn remember_at(&self, req: &Req, resp: &Resp, now: Instant) {
        if let Some(cache) = &self.inner.cache {
            cache.store(req, resp, now);
        }
    }

    /// The first stage's answer for `req`, or `None` when no stage has one.
    ///
    /// It does not look at the triggers: ask [`triggers_on`](Self::triggers_on) first.
    pub fn recover(&self, req: &Req, cause: FallbackCause) -> Option<Degraded<Resp>> {
        self.recover_at(req, cause, Instant::now())
    }

    /// [`recover`](Self::recover) at a given time (for the cache's TTL).
    pub fn recover_at(
        &self,
        req: &Req,
        cause: FallbackCause,
        now: Instant,
    ) -> Option<Degraded<Resp>> {
        if let Some(value) = self.inner.cache.as_ref().and_then(|c| c.lookup(req, now)) {
            return Some(Degraded {
                value,
                source: FallbackSource::Cache,
            });
        }
        for (name, f) in &self.inner.functions {
            if let Some(value) = f(req, cause) {
                return Some(Degraded {
                    value,
                    source: FallbackSource::Function(name),
                });
            }
        }
        self.inner.fixed.clone().map(|value| Degraded {
            value,
            source: FallbackSource::Static,
        })
    }

    /// Whether `cause` triggers the chain.
    pub fn triggers_on(&self, cause: FallbackCause) -> bool {
        self.inner.triggers[cause.index()]
    }

    /// Whether a cache stage exists (then successful answers should be remembered).
    pub fn has_cache(&self) -> bool {
        self.inner.cache.is_some()
    }

    /// The cache stage's TTL, if there is one.
    pub fn cache_ttl(&self) -> Option<Duration> {
        self.inner.cache.as_ref().map(LastGood::ttl)
    }

    /// Entries in the cache stage (0 without one).
    pub fn cached_entries(&self) -> u64 {
        self.inner.cache.as_ref().map_or(0, LastGood::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> FallbackChain<u32, String> {
        FallbackChain::builder()
            .cache(
                |r: &u32| (*r < 100).then(|| r.to_string()),
                Duration::from_secs(60),
                10,
            )
            .function("even", |r: &u32, _| {
                r.is_multiple_of(2).then(|| format!("even {r}"))
            })
            .static_value("off".to_owned())
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn stages_in_order() {
        let c = chain();
        c.remember(&1, &"one".to_owned());
        let got = |r| {
            c.recover(&r, FallbackCause::Timeout)
                .map(|d| (d.value, d.source))
        };
        assert_eq!(got(1), Some(("one".to_owned(), FallbackSource::Cache)));
        assert_eq!(
            got(2),
            Some(("even 2".to_owned(), FallbackSource::Function("even")))
        );
        assert_eq!(got(3), Some(("off".to_owned(), FallbackSource::Static)));
    }

    #[tokio::test(start_paused = true)]
    async fn cache_entries_expire_after_ttl() {
        let c = chain();
        c.remember(&1, &"one".to_owned());
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(
            c.recover(&1, FallbackCause::Timeout).unwrap().source,
            FallbackSource::Cache
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            c.recover(&1, FallbackCause::Timeout).unwrap().source,
            FallbackSource::Static,
            "expired at exactly the TTL"
        );
        c.remember(&1, &"uno".to_owned());
        assert_eq!(c.recover(&1, FallbackCause::Timeout).unwrap().value, "uno");
    }

    #[tokio::test(start_paused = true)]
    async fn cache_is_bounded() {
        let c = chain();
        for r in 0..50 {
            c.remember(&r, &r.to_string());
        }
        assert!(c.cached_entries() <= 10, "{}", c.cached_entries());
    }

    #[test]
    fn causes_filter_the_chain() {
        let c = chain();
        assert!(c.triggers_on(FallbackCause::CircuitOpen));
        assert!(c.triggers_on(FallbackCause::Panicked));
        assert!(!c.triggers_on(FallbackCause::Failed));
        let only = FallbackChain::<u32, u32>::builder()
            .on(&[FallbackCause::Failed])
            .build();
        assert!(only.triggers_on(FallbackCause::Failed));
        assert!(!only.triggers_on(FallbackCause::Timeout));
        assert!(
            only.recover(&1, FallbackCause::Failed).is_none(),
            "empty chain has no answer"
        );
    }

    #[test]
    fn no_cache_stage_means_remember_is_a_no_op() {
        let c = FallbackChain::<u32, u32>::builder().static_value(0).build();
        c.remember(&1, &1);
        assert!(!c.has_cache());
        assert_eq!(c.cached_entries(), 0);
        assert_eq!(c.cache_ttl(), None);
    }
}
