//! [`FallbackChain`] and its builder.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Degraded, FallbackCause, FallbackSource};

type KeyFn<Req> = Box<dyn Fn(&Req) -> Option<String> + Send + Sync>;
type SimplifiedFn<Req, Resp> = Box<dyn Fn(&Req, FallbackCause) -> Option<Resp> + Send + Sync>;

struct CacheStage<Req, Resp> {
    key: KeyFn<Req>,
    ttl: Duration,
    /// Bounded by moka; expiry is checked against tokio's clock (so paused-time tests work).
    entries: moka::sync::Cache<String, (Resp, Instant)>,
}

struct Inner<Req, Resp> {
    cache: Option<CacheStage<Req, Resp>>,
    function: Option<(&'static str, SimplifiedFn<Req, Resp>)>,
    fixed: Option<Resp>,
    triggers: [bool; FallbackCause::ALL.len()],
}

/// An ordered chain of fallbacks: cache → function → static answer. Cheap to clone.
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
        f.debug_struct("FallbackChain")
            .field("cache", &self.inner.cache.is_some())
            .field("function", &self.inner.function.as_ref().map(|(n, _)| n))
            .field("static", &self.inner.fixed.is_some())
            .finish()
    }
}

/// Builds a [`FallbackChain`]; stages may be left out.
#[must_use]
pub struct FallbackChainBuilder<Req, Resp> {
    inner: Inner<Req, Resp>,
}

fn default_triggers() -> [bool; FallbackCause::ALL.len()] {
    FallbackCause::ALL.map(|c| c != FallbackCause::Failed)
}

impl<Req, Resp: Clone + Send + Sync + 'static> FallbackChainBuilder<Req, Resp> {
    /// Caches the last good response per key (`None`: do not cache this request) for `ttl`,
    /// keeping at most `capacity` keys (least recently used are dropped first).
    pub fn cache(
        mut self,
        key: impl Fn(&Req) -> Option<String> + Send + Sync + 'static,
        ttl: Duration,
        capacity: u64,
    ) -> Self {
        self.inner.cache = Some(CacheStage {
            key: Box::new(key),
            ttl,
            entries: moka::sync::Cache::new(capacity),
        });
        self
    }

    /// A simplified computation, named for the answer's `source`.
    pub fn function(
        mut self,
        name: &'static str,
        f: impl Fn(&Req, FallbackCause) -> Option<Resp> + Send + Sync + 'static,
    ) -> Self {
        self.inner.function = Some((name, Box::new(f)));
        self
    }

    /// A fixed answer when nothing else yields one.
    pub fn static_value(mut self, value: Resp) -> Self {
        self.inner.fixed = Some(value);
        self
    }

    /// Exactly these causes trigger the chain.
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
    /// An empty builder (default triggers: everything but permanent failures).
    pub fn builder() -> FallbackChainBuilder<Req, Resp> {
        FallbackChainBuilder {
            inner: Inner {
                cache: None,
                function: None,
                fixed: None,
                triggers: default_triggers(),
            },
        }
    }

    /// Stores a good response for the cache stage; a no-op without one.
    pub fn remember(&self, req: &Req, resp: &Resp) {
        if let Some(stage) = &self.inner.cache
            && let Some(key) = (stage.key)(req)
        {
            stage.entries.insert(key, (resp.clone(), Instant::now()));
        }
    }

    /// The first stage's answer for `req`, or `None` when no stage has one.
    pub fn recover(&self, req: &Req, cause: FallbackCause) -> Option<Degraded<Resp>> {
        if let Some(stage) = &self.inner.cache
            && let Some(key) = (stage.key)(req)
        {
            match stage.entries.get(&key) {
                Some((value, stored)) if stored.elapsed() < stage.ttl => {
                    return Some(Degraded {
                        value,
                        source: FallbackSource::Cache,
                    });
                }
                Some(_) => stage.entries.invalidate(&key),
                None => {}
            }
        }
        if let Some((name, f)) = &self.inner.function
            && let Some(value) = f(req, cause)
        {
            return Some(Degraded {
                value,
                source: FallbackSource::Function(name),
            });
        }
        self.inner.fixed.clone().map(|value| Degraded {
            value,
            source: FallbackSource::Static,
        })
    }

    /// Whether `cause` triggers the chain.
    pub fn triggers_on(&self, cause: FallbackCause) -> bool {
        FallbackCause::ALL
            .iter()
            .position(|c| *c == cause)
            .is_some_and(|i| self.inner.triggers[i])
    }

    /// Whether a cache stage exists (then successful answers are remembered).
    pub fn has_cache(&self) -> bool {
        self.inner.cache.is_some()
    }

    /// Entries in the cache stage.
    pub fn cached_entries(&self) -> u64 {
        self.inner.cache.as_ref().map_or(0, |c| {
            c.entries.run_pending_tasks();
            c.entries.entry_count()
        })
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
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            c.recover(&1, FallbackCause::Timeout).unwrap().source,
            FallbackSource::Static
        );
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
    }
}
