//! Behaviour of the whole analyzer: one test per rule, robustness, and golden sentences.

use super::score::normalise;
use super::{Analysis, Analyzer, AnalyzerConfig, Label};

fn analyze(text: &str) -> Analysis {
    Analyzer::default().analyze(text)
}

fn compound(text: &str) -> f64 {
    analyze(text).compound
}

fn label(text: &str) -> Label {
    analyze(text).label
}

#[track_caller]
fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-3,
        "compound {actual:.4}, expected {expected:.4}"
    );
}

#[test]
fn negation_flips_the_words_in_its_scope() {
    assert_eq!(label("The food is good"), Label::Positive);
    assert_eq!(label("The food is not good"), Label::Negative);
    assert_eq!(label("The food isn't very good"), Label::Negative);
    assert_eq!(
        label("The food isn’t very good"),
        Label::Negative,
        "typographic apostrophe"
    );
    assert_eq!(label("The food isnt good"), Label::Negative);
    assert_eq!(label("I never liked it"), Label::Negative);
    assert_eq!(label("a day without joy"), Label::Negative);
    assert_eq!(label("not bad at all"), Label::Positive);
    assert_eq!(
        label("The food here isn't really all that great"),
        Label::Negative
    );
    // "not good" is milder than "bad"
    assert!(compound("not good") > compound("bad"));
}

#[test]
fn negation_reaches_three_tokens_and_stops_at_clause_punctuation() {
    // "not" is four tokens before "good": out of scope
    assert_eq!(label("not that it was at all good"), Label::Positive);
    assert_eq!(label("I don't know, it is good"), Label::Positive);
    assert_eq!(label("It isn't great but good"), Label::Positive);
}

#[test]
fn a_negator_with_a_valence_of_its_own_counts_when_nothing_follows() {
    assert_eq!(label("no problem"), Label::Positive);
    assert_eq!(label("No."), Label::Negative);
    assert_eq!(label("at least it isn't a horrible book"), Label::Positive);
    assert_eq!(label("not only good but great"), Label::Positive);
}

#[test]
fn several_negators_negate_once() {
    // negative concord: "neither … nor" is one negation, not two that cancel
    assert_eq!(
        label("neither too long nor very thrilling"),
        Label::Negative
    );
    assert_eq!(label("I don't want no trouble"), Label::Positive);
    assert_close(compound("not never good"), compound("not good"));
}

#[test]
fn contracted_negators_negate_even_when_they_head_a_phrase() {
    // "can't" starts the phrase "can't stand" and must still negate elsewhere
    assert_eq!(label("even he can't save it"), Label::Negative);
    assert_eq!(label("I can't stand it"), Label::Negative);
}

#[test]
fn this_and_so_make_a_comparison_not_a_negation() {
    assert_eq!(label("Haven't been this happy in years"), Label::Positive);
    assert_eq!(label("I have never slept so well"), Label::Positive);
    // "so" alone does not stop "not"
    assert_eq!(label("not so good"), Label::Negative);
}

#[test]
fn a_negator_reaches_past_a_word_it_determines() {
    // "no" counts for itself ("no apparent") and still negates "joy"
    assert_eq!(
        label("Fincher takes no apparent joy in making movies"),
        Label::Negative
    );
}

#[test]
fn emoticons_and_emoji_are_not_negated() {
    assert_eq!(label("still no cheque :("), Label::Negative);
    assert_eq!(label("not 😭"), Label::Negative);
    assert!(compound("very :)") == compound(":)"));
}

#[test]
fn a_concessive_clause_counts_half() {
    assert_eq!(
        label("Despite a great cast, the film is bad"),
        Label::Negative
    );
    assert_close(compound("despite the great cast"), normalise(3.1 * 0.5));
    // the concession ends with its clause
    assert_close(compound("despite it, great"), normalise(3.1));
}

#[test]
fn html_entities_are_not_words() {
    // "gt" is slang in the lexicon (+1.1); "&gt;" in escaped text is a ">"
    assert_eq!(compound("a &gt; b &amp; c"), 0.0);
    assert!(compound("a gt b") > 0.0);
}

#[test]
fn boosters_intensify_and_dampeners_soften() {
    let good = compound("the service is good");
    assert!(compound("the service is extremely good") > good);
    assert!(compound("the service is very very good") > compound("the service is very good"));
    assert!(compound("the service is marginally good") < good);
    assert!(compound("the service is kind of good") < good);
    assert!(compound("the service is kind of good") > 0.0);
    assert!(compound("the service is extremely bad") < compound("the service is bad"));
    assert!(compound("the service is slightly bad") > compound("the service is bad"));
}

#[test]
fn a_degree_word_with_a_valence_modifies_rather_than_counts() {
    // "pretty" (+2.2 alone) must not make "pretty bad" positive
    assert_eq!(label("the movie was pretty bad"), Label::Negative);
    // "pretty" scored alone (+2.2) would make "pretty good" better than "very good"
    assert!(compound("pretty good") > compound("good"));
    assert!(compound("pretty good") <= compound("very good"));
    assert_eq!(label("she is pretty"), Label::Positive);
    assert!(compound("super happy") > compound("happy"));
}

#[test]
fn but_shifts_the_weight_to_the_second_clause() {
    assert_eq!(
        label("The food here is great, but the service is horrible"),
        Label::Negative
    );
    assert_eq!(
        label("The service is horrible, but the food here is great"),
        Label::Positive
    );
    // great 3.1 · 0.5 − horrible 2.5 · 1.5
    assert_close(
        compound("great but horrible"),
        normalise(3.1 * 0.5 - 2.5 * 1.5),
    );
}

#[test]
fn capitals_emphasise_in_mixed_case_text_only() {
    assert!(compound("The food here is GREAT") > compound("The food here is great"));
    assert_close(
        compound("THE FOOD HERE IS GREAT"),
        compound("the food here is great"),
    );
    assert!(compound("The food is VERY good") > compound("The food is very good"));
    assert!(compound("The food is TERRIBLE") < compound("The food is terrible"));
}

#[test]
fn exclamation_marks_intensify_up_to_three() {
    let plain = compound("The food here is good");
    let one = compound("The food here is good!");
    let three = compound("The food here is good!!!");
    assert!(plain < one && one < three);
    assert_close(compound("The food here is good!!!!!!"), three);
    assert!(compound("This is bad!!") < compound("This is bad"));
    // they intensify sentiment, they do not create it
    assert_eq!(compound("The meeting is at noon!!!"), 0.0);
}

#[test]
fn emoticons_and_emoji_carry_sentiment() {
    assert_eq!(label(":)"), Label::Positive);
    assert_eq!(label(":-("), Label::Negative);
    assert_eq!(label("<3"), Label::Positive);
    assert_eq!(label("</3"), Label::Negative);
    assert_eq!(label("see you tomorrow :D"), Label::Positive);
    assert_eq!(label("missed the bus :("), Label::Negative);
    assert_eq!(label("😂"), Label::Positive);
    assert_eq!(label("😭"), Label::Negative);
    assert_eq!(label("ok then ❤️"), Label::Positive);
    assert!(compound("made it😍😍") > 0.0, "emoji glued to a word");
    assert!(compound("I love it 😍") > compound("I love it"));
    // a neutral emoji is a neutral token, an unknown pictograph nothing
    assert_eq!(compound("🚗"), 0.0);
    assert_eq!(label("👨‍👩‍👧 🏳️‍🌈"), Label::Neutral);
}

#[test]
fn the_neutral_band_is_configurable() {
    let okay = compound("It was okay");
    assert!(okay > 0.05 && okay < 0.5, "{okay}");
    let wide = Analyzer::new(
        AnalyzerConfig::new()
            .with_neutral_band(0.5)
            .unwrap_or_default(),
    );
    assert_eq!(wide.analyze("It was okay").label, Label::Neutral);
    assert_eq!(wide.analyze("It was great!!").label, Label::Positive);
    let zero = Analyzer::new(
        AnalyzerConfig::new()
            .with_neutral_band(0.0)
            .unwrap_or_default(),
    );
    assert_eq!(zero.analyze("It was okay").label, Label::Positive);
    assert_eq!(zero.analyze("It is a table").label, Label::Neutral);
    assert_eq!(Analyzer::default().config().neutral_band(), 0.05);
}

fn assert_well_formed(text: &str) {
    let a = analyze(text);
    assert!(
        (-1.0..=1.0).contains(&a.compound),
        "{a:?} for {:?}",
        &text[..text.len().min(40)]
    );
    assert!(
        (a.positive + a.negative + a.neutral - 1.0).abs() < 1e-9,
        "{a:?}"
    );
    for share in [a.positive, a.negative, a.neutral] {
        assert!((0.0..=1.0).contains(&share), "{a:?}");
    }
}

#[test]
fn any_input_is_answered() {
    for text in [
        "", " ", "\t\n\r", "!!!", "?", "...", "-", "'", "n't", "😀", "\u{200D}",
    ] {
        assert_well_formed(text);
    }
    assert_eq!(analyze("").label, Label::Neutral);
    assert_eq!(analyze("   \n").neutral, 1.0);
    for text in [
        "これは素晴らしい映画です",
        "Это отличный фильм, но конец плохой",
        "هذا فيلم رائع",
        "Ça c’est très bien fait",
        "e\u{301}te\u{301} ",
        "ﬁne ﬀ İstanbul",
        "\u{0}\u{1}\u{7f}",
        "a\u{FEFF}b",
    ] {
        assert_well_formed(text);
    }
}

#[test]
fn very_long_input_is_answered_and_stays_bounded() {
    let long_positive = "good day! ".repeat(100_000);
    assert_well_formed(&long_positive);
    assert!(compound(&long_positive) > 0.99);
    let one_token = "a".repeat(1_000_000);
    assert_well_formed(&one_token);
    let mixed = "Great :) but awful :( NOT good!!! ".repeat(20_000);
    assert_well_formed(&mixed);
    let unicode = "😀ß中".repeat(50_000);
    assert_well_formed(&unicode);
}

/// Sentences from the paper's examples. The expected compound is the method's own arithmetic
/// with the lexicon's valences (good 1.9, the "kind of" dampener −0.293, …), written
/// out so that a change of rule shows here.
#[test]
fn golden_sentences() {
    let cases: &[(&str, Label, f64)] = &[
        ("The book was good.", Label::Positive, normalise(1.9)),
        // smart 1.7 + handsome 2.2 + funny 1.9
        (
            "VADER is smart, handsome, and funny.",
            Label::Positive,
            normalise(5.8),
        ),
        // + one exclamation mark
        (
            "VADER is smart, handsome, and funny!",
            Label::Positive,
            normalise(5.8 + 0.291),
        ),
        // "very" boosts "smart"
        (
            "VADER is very smart, handsome, and funny.",
            Label::Positive,
            normalise(5.8 + 0.293),
        ),
        // capitals on "smart" and "funny"; the booster "VERY" in capitals boosts more
        (
            "VADER is VERY SMART, handsome, and FUNNY.",
            Label::Positive,
            normalise(5.8 + 0.293 + 0.733 + 0.733 + 0.733),
        ),
        // the phrase "kind of" dampens; its role sits on "of", next to "good"
        (
            "The book was kind of good.",
            Label::Positive,
            normalise(1.9 - 0.293),
        ),
        // "really" boosts "bad"; the comma ends its reach before "horrible"
        (
            "A really bad, horrible book.",
            Label::Negative,
            normalise(-2.5 - 0.293 - 2.5),
        ),
        // "at least" does not negate; "isn't" negates "horrible" from two tokens away
        (
            "At least it isn't a horrible book.",
            Label::Positive,
            normalise(-2.5 * -0.74),
        ),
        // good 1.9 · 0.5, then uncompelling −0.9 and "not great" 3.1 · −0.74, both · 1.5
        (
            "The plot was good, but the characters are uncompelling and the dialog is not great.",
            Label::Negative,
            normalise(1.9 * 0.5 + (-0.9 + 3.1 * -0.74) * 1.5),
        ),
        ("Today sux", Label::Negative, normalise(-1.5)),
        ("Today sux!", Label::Negative, normalise(-1.5 - 0.291)),
        (
            "Today SUX!",
            Label::Negative,
            normalise(-1.5 - 0.733 - 0.291),
        ),
        // kinda sux (dampened) · 0.5 + lol · 1.5, plus the exclamation toward the total
        (
            "Today kinda sux! But I'll get by, lol",
            Label::Positive,
            normalise((-1.5 + 0.293) * 0.5 + 2.35 * 1.5 + 0.291),
        ),
    ];
    for (text, expected_label, expected) in cases {
        let a = analyze(text);
        assert_eq!(a.label, *expected_label, "{text}");
        assert!(
            (a.compound - expected).abs() < 1e-3,
            "{text}: compound {:.4}, expected {expected:.4}",
            a.compound
        );
    }
}

#[test]
fn analyses_serialise_with_snake_case_labels() {
    let json = serde_json::to_value(analyze("good")).unwrap_or_default();
    assert_eq!(json["label"], "positive");
    assert!(json["compound"].as_f64().is_some_and(|c| c > 0.0));
}
