//! From token valences to the result: the tally, the normalised compound score, the
//! proportions and the label.

use serde::{Deserialize, Serialize};

use super::rules::{CONTRAST_WEIGHTS, toward};

/// Normalisation constant of the compound score `x / sqrt(x² + α)`: a total of ±15 (several
/// strong words) maps to ±0.97.
pub(crate) const ALPHA: f64 = 15.0;

/// The sentiment class of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Compound score at or above the neutral band.
    Positive,
    /// Compound score at or below minus the neutral band.
    Negative,
    /// Compound score strictly inside the neutral band.
    Neutral,
}

impl Label {
    /// The label of a compound score with the neutral band `band` (VADER's is 0.05).
    pub fn from_compound(compound: f64, band: f64) -> Self {
        if compound >= band && compound > 0.0 {
            Label::Positive
        } else if compound <= -band && compound < 0.0 {
            Label::Negative
        } else {
            Label::Neutral
        }
    }

    /// `"positive"`, `"negative"` or `"neutral"` (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Negative => "negative",
            Label::Neutral => "neutral",
        }
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sentiment of one text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The class: the compound score read against the neutral band.
    pub label: Label,
    /// Normalised sum of the valences, in `[-1, 1]`.
    pub compound: f64,
    /// Share of the text's sentiment mass that is positive, in `[0, 1]`.
    pub positive: f64,
    /// Share that is negative, in `[0, 1]`.
    pub negative: f64,
    /// Share that is neutral (tokens without valence), in `[0, 1]`; 1 for a text with no token.
    /// The three shares add up to 1.
    pub neutral: f64,
}

/// Valences of one side of the contrast.
#[derive(Debug, Clone, Copy, Default)]
struct Side {
    positive: f64,
    negative: f64,
    positive_tokens: u32,
    negative_tokens: u32,
}

/// Running sums over the tokens of a text, split at the first contrastive conjunction so that
/// the contrast weights can be applied at the end without storing the tokens.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    sides: [Side; 2],
    after_contrast: bool,
    neutral_tokens: u32,
}

impl Tally {
    /// Counts one token with its final valence (0 for a neutral token).
    pub(crate) fn add(&mut self, valence: f64) {
        let side = &mut self.sides[usize::from(self.after_contrast)];
        if valence > 0.0 {
            side.positive += valence;
            side.positive_tokens += 1;
        } else if valence < 0.0 {
            side.negative += valence;
            side.negative_tokens += 1;
        } else {
            self.neutral_tokens = self.neutral_tokens.saturating_add(1);
        }
    }

    /// Marks the first contrastive conjunction; later ones change nothing.
    pub(crate) fn contrast(&mut self) {
        self.after_contrast = true;
    }

    /// The result, with the exclamation intensity of the text and the neutral band.
    pub(crate) fn finish(&self, exclamation: f64, band: f64) -> Analysis {
        let (before, after) = if self.after_contrast {
            CONTRAST_WEIGHTS
        } else {
            (1.0, 1.0)
        };
        let [first, second] = self.sides;
        let positive = first.positive * before + second.positive * after;
        let negative = first.negative * before + second.negative * after;
        let total = positive + negative;
        let emphasis = toward(total, exclamation);
        let compound = normalise(total + emphasis);

        // Proportions: each sentiment token counts its valence plus one, each neutral token one,
        // so that a text of many neutral words and one strong word is mostly neutral.
        let mut positive_mass =
            positive + f64::from(first.positive_tokens + second.positive_tokens);
        let mut negative_mass =
            -negative + f64::from(first.negative_tokens + second.negative_tokens);
        if positive_mass > negative_mass {
            positive_mass += exclamation;
        } else if negative_mass > positive_mass {
            negative_mass += exclamation;
        }
        let neutral_mass = f64::from(self.neutral_tokens);
        let mass = positive_mass + negative_mass + neutral_mass;
        let (positive, negative, neutral) = if mass > 0.0 {
            (
                positive_mass / mass,
                negative_mass / mass,
                neutral_mass / mass,
            )
        } else {
            (0.0, 0.0, 1.0)
        };
        Analysis {
            label: Label::from_compound(compound, band),
            compound,
            positive,
            negative,
            neutral,
        }
    }
}

/// Maps a sum of valences to `[-1, 1]` with `x / sqrt(x² + α)`.
pub(crate) fn normalise(total: f64) -> f64 {
    if total.is_nan() {
        return 0.0;
    }
    if total.is_infinite() {
        return total.signum();
    }
    (total / (total * total + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_is_odd_bounded_and_monotonic() {
        assert_eq!(normalise(0.0), 0.0);
        assert!((normalise(1.9) - 1.9 / (1.9f64 * 1.9 + 15.0).sqrt()).abs() < 1e-12);
        assert_eq!(normalise(-3.0), -normalise(3.0));
        assert!(normalise(1e9) <= 1.0 && normalise(1e9) > 0.999);
        assert_eq!(normalise(f64::INFINITY), 1.0);
        assert_eq!(normalise(f64::NEG_INFINITY), -1.0);
        assert_eq!(normalise(f64::NAN), 0.0);
        assert!(normalise(2.0) > normalise(1.0));
    }

    #[test]
    fn labels_use_the_neutral_band() {
        assert_eq!(Label::from_compound(0.05, 0.05), Label::Positive);
        assert_eq!(Label::from_compound(0.049, 0.05), Label::Neutral);
        assert_eq!(Label::from_compound(-0.05, 0.05), Label::Negative);
        assert_eq!(Label::from_compound(0.0, 0.0), Label::Neutral);
        assert_eq!(Label::from_compound(0.3, 0.5), Label::Neutral);
    }

    #[test]
    fn labels_serialise_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&Label::Positive).ok().as_deref(),
            Some("\"positive\"")
        );
        assert_eq!(
            serde_json::from_str::<Label>("\"neutral\"").ok(),
            Some(Label::Neutral)
        );
        assert_eq!(Label::Negative.to_string(), "negative");
    }

    #[test]
    fn the_clause_after_but_weighs_three_times_the_one_before() {
        let mut tally = Tally::default();
        tally.add(2.0);
        tally.contrast();
        tally.add(-2.0);
        let analysis = tally.finish(0.0, 0.05);
        assert!((analysis.compound - normalise(2.0 * 0.5 - 2.0 * 1.5)).abs() < 1e-12);
        assert_eq!(analysis.label, Label::Negative);
    }

    #[test]
    fn proportions_add_up_to_one() {
        let mut tally = Tally::default();
        for valence in [1.9, 0.0, 0.0, -0.5, 0.0] {
            tally.add(valence);
        }
        let a = tally.finish(0.291, 0.05);
        assert!((a.positive + a.negative + a.neutral - 1.0).abs() < 1e-12);
        assert!(a.positive > a.negative && a.neutral > 0.0);
        let empty = Tally::default().finish(0.5, 0.05);
        assert_eq!(
            (
                empty.compound,
                empty.positive,
                empty.negative,
                empty.neutral
            ),
            (0.0, 0.0, 0.0, 1.0)
        );
        assert_eq!(empty.label, Label::Neutral);
    }
}
