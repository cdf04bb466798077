//! [`LabelTable`]: model labels (`POSITIVE`, `LABEL_2`, `4 stars`, …) to the three classes, and
//! the reading of one text's `{label, score}` list as a class and its probability.

use std::collections::HashMap;

use super::analyzer::Label;
use super::config::DEFAULT_LABELS;
use super::model::LabelScore;

/// Model labels → classes, matched case-insensitively (surrounding blanks ignored).
#[derive(Debug, Clone)]
pub struct LabelTable {
    map: HashMap<String, Label>,
}

impl LabelTable {
    /// [`DEFAULT_LABELS`] with `extra` added on top (an extra entry wins over a built-in one).
    pub fn new<'a>(extra: impl IntoIterator<Item = (&'a String, &'a Label)>) -> Self {
        let mut map: HashMap<String, Label> = DEFAULT_LABELS
            .iter()
            .map(|(label, class)| ((*label).to_owned(), *class))
            .collect();
        for (label, class) in extra {
            map.insert(fold(label), *class);
        }
        Self { map }
    }

    /// The class of one model label, if known.
    pub fn class(&self, label: &str) -> Option<Label> {
        self.map.get(&fold(label)).copied()
    }

    /// The class of one text: the scores of labels of the same class are added up (a five-star
    /// model's `4 stars` and `5 stars` are both positive), and the class with the highest total
    /// wins, with that total (clamped to `[0, 1]`) as its score. `None` when no label is known or
    /// no score is a finite number: the answer cannot be read.
    pub fn resolve(&self, scores: &[LabelScore]) -> Option<(Label, f64)> {
        let mut totals = [0.0f64; 3];
        let mut known = false;
        for entry in scores {
            let Some(class) = self.class(&entry.label) else {
                continue;
            };
            if !entry.score.is_finite() {
                continue;
            }
            known = true;
            totals[index(class)] += entry.score.max(0.0);
        }
        if !known {
            return None;
        }
        let (best, total) = [Label::Positive, Label::Negative, Label::Neutral]
            .into_iter()
            .map(|class| (class, totals[index(class)]))
            .fold((Label::Neutral, f64::MIN), |best, next| {
                if next.1 > best.1 { next } else { best }
            });
        Some((best, total.clamp(0.0, 1.0)))
    }
}

fn index(label: Label) -> usize {
    match label {
        Label::Positive => 0,
        Label::Negative => 1,
        Label::Neutral => 2,
    }
}

fn fold(label: &str) -> String {
    label.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn scores(pairs: &[(&str, f64)]) -> Vec<LabelScore> {
        pairs
            .iter()
            .map(|(label, score)| LabelScore {
                label: (*label).to_owned(),
                score: *score,
            })
            .collect()
    }

    #[test]
    fn the_built_in_labels_in_any_case() {
        let table = LabelTable::new(&BTreeMap::new());
        for (label, class) in [
            ("POSITIVE", Label::Positive),
            ("negative", Label::Negative),
            ("Neutral", Label::Neutral),
            ("LABEL_0", Label::Negative),
            ("label_1", Label::Neutral),
            ("LABEL_2", Label::Positive),
            ("1 star", Label::Negative),
            ("3 stars", Label::Neutral),
            ("5 Stars", Label::Positive),
        ] {
            assert_eq!(table.class(label), Some(class), "{label}");
        }
        assert_eq!(table.class("joy"), None);
    }

    #[test]
    fn extra_entries_override_the_defaults() {
        let extra = BTreeMap::from([
            ("LABEL_1".to_owned(), Label::Positive),
            ("Joy".to_owned(), Label::Positive),
        ]);
        let table = LabelTable::new(&extra);
        assert_eq!(table.class("label_1"), Some(Label::Positive));
        assert_eq!(table.class("JOY"), Some(Label::Positive));
    }

    #[test]
    fn scores_of_one_class_add_up() {
        let table = LabelTable::new(&BTreeMap::new());
        let five = scores(&[
            ("3 stars", 0.35),
            ("4 stars", 0.3),
            ("5 stars", 0.25),
            ("1 star", 0.1),
        ]);
        let (label, score) = table.resolve(&five).unwrap();
        assert_eq!(label, Label::Positive);
        assert!((score - 0.55).abs() < 1e-9);
        assert_eq!(
            table.resolve(&scores(&[("NEGATIVE", 0.9), ("POSITIVE", 0.1)])),
            Some((Label::Negative, 0.9))
        );
    }

    #[test]
    fn unreadable_answers_are_none() {
        let table = LabelTable::new(&BTreeMap::new());
        assert_eq!(table.resolve(&[]), None);
        assert_eq!(table.resolve(&scores(&[("joy", 0.9)])), None);
        assert_eq!(table.resolve(&scores(&[("POSITIVE", f64::NAN)])), None);
    }
}
