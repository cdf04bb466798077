//! [`ResultCache`]: recent model answers keyed by normalised text (moka: bounded, with TTL).
//! The response pipeline keeps its providers' answers in one too (with its own value type).
//!
//! Only answers of the model are cached — never a fallback's, which would keep serving the
//! degraded answer after the model recovered. The key is the text with surrounding blanks
//! removed and inner runs of whitespace folded to one space; case is kept (models see it).

use std::time::Duration;

use moka::sync::Cache;

use super::analyzer::Label;

/// A cached model answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CachedAnswer {
    /// The class.
    pub label: Label,
    /// Its probability.
    pub score: f64,
}

/// Recent model answers (of type `V`); off when the TTL or the capacity is zero. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct ResultCache<V: Clone + Send + Sync + 'static = CachedAnswer> {
    entries: Option<Cache<String, V>>,
}

impl<V: Clone + Send + Sync + 'static> ResultCache<V> {
    /// At most `capacity` texts, each for `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        let entries = (capacity > 0 && !ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build()
        });
        Self { entries }
    }

    /// The cached answer for `key`, if any.
    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.as_ref()?.get(key)
    }

    /// Remembers the model's answer for `key`.
    pub fn insert(&self, key: String, answer: V) {
        if let Some(entries) = &self.entries {
            entries.insert(key, answer);
        }
    }

    /// Texts held (approximate: moka counts lazily).
    pub fn len(&self) -> u64 {
        self.entries.as_ref().map_or(0, Cache::entry_count)
    }

    /// Whether the cache holds nothing (or is off).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The cache key of a text: trimmed, inner whitespace runs folded to one space.
pub fn normalise(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(word);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_folds_whitespace_and_keeps_case() {
        assert_eq!(normalise("  Great \t\n  food "), "Great food");
        assert_eq!(normalise("a b"), normalise("a   b"));
        assert_ne!(normalise("GREAT"), normalise("great"));
    }

    #[test]
    fn a_cache_with_no_room_or_time_is_off() {
        let answer = CachedAnswer {
            label: Label::Positive,
            score: 0.9,
        };
        for off in [
            ResultCache::new(0, Duration::from_secs(1)),
            ResultCache::new(10, Duration::ZERO),
        ] {
            off.insert("x".to_owned(), answer);
            assert_eq!(off.get("x"), None);
        }
        let on = ResultCache::new(10, Duration::from_secs(60));
        on.insert("x".to_owned(), answer);
        assert_eq!(on.get("x"), Some(answer));
    }
}
