//! How the simulated inference endpoint labels texts.

use std::sync::Arc;

/// Labels a text: `(label, score)` pairs in the Hugging Face text-classification shape, best
/// first.
pub type Classifier = Arc<dyn Fn(&str) -> Vec<(String, f64)> + Send + Sync>;

const POSITIVE: [&str; 16] = [
    "good",
    "great",
    "love",
    "excellent",
    "happy",
    "thanks",
    "thank",
    "awesome",
    "wonderful",
    "fantastic",
    "perfect",
    "nice",
    "amazing",
    "glad",
    "helpful",
    "best",
];
const NEGATIVE: [&str; 16] = [
    "bad",
    "terrible",
    "hate",
    "awful",
    "angry",
    "broken",
    "worst",
    "refund",
    "never",
    "poor",
    "disappointed",
    "horrible",
    "useless",
    "late",
    "wrong",
    "slow",
];

/// A small keyword classifier with the labels of an SST-style model (`POSITIVE`, `NEGATIVE`,
/// `NEUTRAL`): good enough for a stand-in model whose answers should look plausible.
pub fn keyword_classifier() -> Classifier {
    Arc::new(|text: &str| {
        let (mut pos, mut neg) = (0u32, 0u32);
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word = word.to_ascii_lowercase();
            pos += u32::from(POSITIVE.contains(&word.as_str()));
            neg += u32::from(NEGATIVE.contains(&word.as_str()));
        }
        let total = f64::from(pos + neg);
        let (label, score) = if pos == neg {
            ("NEUTRAL", 0.6)
        } else if pos > neg {
            ("POSITIVE", 0.5 + 0.5 * f64::from(pos - neg) / total)
        } else {
            ("NEGATIVE", 0.5 + 0.5 * f64::from(neg - pos) / total)
        };
        let rest = (1.0 - score) / 2.0;
        let mut out = vec![(label.to_owned(), score)];
        for other in ["POSITIVE", "NEGATIVE", "NEUTRAL"] {
            if other != label {
                out.push((other.to_owned(), rest));
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_decide_the_label() {
        let c = keyword_classifier();
        assert_eq!(c("I love it, thanks!")[0].0, "POSITIVE");
        assert_eq!(c("terrible, broken and late")[0].0, "NEGATIVE");
        assert_eq!(c("the parcel arrived")[0].0, "NEUTRAL");
        let scores: f64 = c("good").iter().map(|(_, s)| s).sum();
        assert!((scores - 1.0).abs() < 1e-9);
    }
}
