//! The grammatical and syntactical rules, with the effect sizes measured by Hutto & Gilbert
//! (ICWSM 2014, §3.2–3.3 and Table 3), and the word lists that trigger them.
//!
//! 1. **Exclamation marks** add intensity without changing polarity: +0.291 for the first,
//!    +0.215 for the second, +0.208 for the third (Table 3); more add nothing.
//! 2. **ALL CAPS** on a sentiment word, when other words are not in capitals, adds 0.733.
//! 3. **Degree modifiers** (boosters "very", dampeners "slightly") add or remove 0.293 from the
//!    word they modify — a little less from further away.
//! 4. **"but"** shifts the weight: what comes before counts half, what follows one and a half.
//! 5. **Negation** within the three tokens before a sentiment word ("isn't really all that
//!    great") flips and damps it. The paper gives no size; we use −0.74, the factor that goes
//!    with this lexicon: "not good" is milder than "bad".
//!
//! Our own additions, each a plain-language rule (see `docs/architecture.md` for how they were
//! checked):
//! - the reach of negation and degree modifiers ends at clause punctuation (`,` `.` `;` `!` `?`)
//!   and at "but"; degree modifiers do not count toward the negation scope;
//! - several negators in scope negate once (negative concord: "neither … nor");
//! - "this" between a negator and the word, or "so" after "never", makes a comparison rather
//!   than a negation ("haven't been this happy in years", "never slept so well");
//! - a concessive clause ("despite …", "although …") counts half, like the clause before "but";
//! - a word that modifies (negator or degree adverb) but also has a valence of its own ("no",
//!   "pretty", "super") modifies what follows, and counts for itself unless a sentiment word
//!   follows at once ("pretty bad" is bad, "no problem" is fine, "no." is negative);
//! - emoticons and emoji are neither negated nor modified;
//! - two-word phrases ("kind of", "at least", "not only", "fed up").

/// What a word does to the sentiment words after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Role {
    /// Nothing.
    Plain,
    /// Flips and damps the sentiment words in its scope.
    Negator,
    /// Adds (booster) or removes (dampener) intensity.
    Degree(Degree),
    /// A contrastive conjunction: the clause after it dominates.
    Contrast,
    /// A concessive ("despite", "although"): the rest of its clause is conceded, so it counts
    /// [`CONCESSION_WEIGHT`].
    Concession,
}

/// Words that change how negation reads, beyond their role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    /// Nothing special.
    None,
    /// "this" between a negator and a word makes a comparison, not a negation: "haven't been
    /// this happy in years", "never this good".
    This,
    /// "so" does the same after "never": "never slept so well".
    So,
    /// The negator "never".
    Never,
}

/// Words with a [`Cue`].
pub(crate) const CUES: &[(&str, Cue)] =
    &[("this", Cue::This), ("so", Cue::So), ("never", Cue::Never)];

/// The direction of a degree modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Degree {
    /// "very": adds [`BOOST`].
    Boost,
    /// "slightly": removes [`BOOST`].
    Dampen,
}

impl Degree {
    /// The intensity it adds (negative for a dampener).
    pub(crate) fn change(self) -> f64 {
        match self {
            Degree::Boost => BOOST,
            Degree::Dampen => -BOOST,
        }
    }
}

/// How far (in tokens) negators and degree modifiers reach: the paper's tri-gram.
pub(crate) const SCOPE: usize = 3;

/// Intensity change of a degree modifier (Table 3: 0.293).
pub(crate) const BOOST: f64 = 0.293;

/// Weight of a modifier by its distance (1, 2, 3 tokens before the word it modifies).
pub(crate) const DISTANCE_WEIGHT: [f64; SCOPE] = [1.0, 0.95, 0.9];

/// Intensity added by writing a sentiment word in capitals among other words (Table 3: 0.733).
pub(crate) const CAPS_EMPHASIS: f64 = 0.733;

/// Multiplier of a negated valence.
pub(crate) const NEGATION: f64 = -0.74;

/// Weights of the text before and after the first contrastive conjunction.
pub(crate) const CONTRAST_WEIGHTS: (f64, f64) = (0.5, 1.5);

/// Weight of the sentiment in a concessive clause (as before "but").
pub(crate) const CONCESSION_WEIGHT: f64 = 0.5;

/// Cumulative intensity of 0, 1, 2 and 3 or more exclamation marks (Table 3).
pub(crate) const EXCLAMATION: [f64; 4] = [0.0, 0.291, 0.291 + 0.215, 0.291 + 0.215 + 0.208];

/// Words that negate the sentiment words after them. Contractions ending in "n't" need not be
/// listed: any word ending so negates (see [`is_contracted_negation`]).
const NEGATORS: &[&str] = &[
    "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without",
    "cannot", "nope", "hardly", "scarcely", "rarely", "seldom", "least",
    // contractions written without their apostrophe
    "aint", "arent", "cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent",
    "isnt", "mightnt", "mustnt", "neednt", "shant", "shouldnt", "wasnt", "werent", "wont",
    "wouldnt",
];

/// Adverbs that intensify the next sentiment word.
const BOOSTERS: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerably",
    "crazy",
    "damn",
    "decidedly",
    "deeply",
    "enormously",
    "entirely",
    "especially",
    "exceedingly",
    "exceptionally",
    "extraordinarily",
    "extremely",
    "fabulously",
    "freaking",
    "frickin",
    "fricking",
    "friggin",
    "frigging",
    "fuckin",
    "fucking",
    "fully",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "immensely",
    "incredibly",
    "insanely",
    "intensely",
    "majorly",
    "more",
    "most",
    "particularly",
    "pretty",
    "purely",
    "quite",
    "real",
    "really",
    "remarkably",
    "so",
    "soo",
    "sooo",
    "soooo",
    "substantially",
    "super",
    "terribly",
    "thoroughly",
    "too",
    "totally",
    "tremendously",
    "truly",
    "uber",
    "unbelievably",
    "unusually",
    "utterly",
    "very",
    "wildly",
];

/// Adverbs that soften the next sentiment word.
const DAMPENERS: &[&str] = &[
    "almost",
    "barely",
    "fairly",
    "kinda",
    "kindof",
    "less",
    "little",
    "marginally",
    "mildly",
    "moderately",
    "occasionally",
    "partially",
    "partly",
    "rather",
    "slightly",
    "somewhat",
    "sorta",
    "sortof",
];

/// Contrastive conjunctions.
const CONTRASTS: &[&str] = &["but"];

/// Words that open a concessive clause.
const CONCESSIONS: &[&str] = &["despite", "although", "notwithstanding"];

/// Two-word phrases and the role their second word takes (the first becomes a filler).
pub(crate) const PHRASES: &[(&str, Role)] = &[
    ("kind of", Role::Degree(Degree::Dampen)),
    ("sort of", Role::Degree(Degree::Dampen)),
    ("a bit", Role::Degree(Degree::Dampen)),
    ("a little", Role::Degree(Degree::Dampen)),
    // "at least" and "the very least" do not negate; "not only … but also" neither.
    ("at least", Role::Plain),
    ("very least", Role::Plain),
    ("not only", Role::Plain),
];

/// Hands every listed word and its role to `set` (the lexicon merges them into its entries).
pub(crate) fn apply_roles(mut set: impl FnMut(&str, Role)) {
    for word in NEGATORS {
        set(word, Role::Negator);
    }
    for word in BOOSTERS {
        set(word, Role::Degree(Degree::Boost));
    }
    for word in DAMPENERS {
        set(word, Role::Degree(Degree::Dampen));
    }
    for word in CONTRASTS {
        set(word, Role::Contrast);
    }
    for word in CONCESSIONS {
        set(word, Role::Concession);
    }
}

/// Whether a folded word is a negative contraction ("isn't", "wouldn't").
pub(crate) fn is_contracted_negation(folded: &[u8]) -> bool {
    folded.len() > 3 && folded.ends_with(b"n't")
}

/// `magnitude` with the sign of `direction` (0 for a zero direction).
pub(crate) fn toward(direction: f64, magnitude: f64) -> f64 {
    if direction > 0.0 {
        magnitude
    } else if direction < 0.0 {
        -magnitude
    } else {
        0.0
    }
}

/// Emphasis of the whole text: its exclamation marks, and whether some words are written in
/// capitals while others are not (only then do capitals emphasise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Emphasis {
    /// Intensity the exclamation marks add to the total, in the total's direction.
    pub(crate) exclamation: f64,
    /// Whether capitals are emphasis here.
    pub(crate) mixed_case: bool,
}

impl Emphasis {
    /// The emphasis of `text`.
    #[cfg(test)]
    pub(crate) fn scan(text: &str) -> Self {
        Self {
            exclamation: exclamation(text),
            mixed_case: is_mixed_case(text),
        }
    }

    /// Extra intensity of a word written in capitals, in the direction of `valence`.
    pub(crate) fn caps(&self, shouted: bool, valence: f64) -> f64 {
        if shouted && self.mixed_case {
            toward(valence, CAPS_EMPHASIS)
        } else {
            0.0
        }
    }
}

/// The intensity the exclamation marks of `text` add.
pub(crate) fn exclamation(text: &str) -> f64 {
    let marks = text.bytes().filter(|b| *b == b'!').count();
    EXCLAMATION[marks.min(EXCLAMATION.len() - 1)]
}

/// Whether a word in capitals stands beside a word with lower-case letters, so that capitals are
/// emphasis. Words without letters count as neither.
pub(crate) fn is_mixed_case(text: &str) -> bool {
    if text.is_ascii() {
        mixed_case_ascii(text.as_bytes())
    } else {
        mixed_case_unicode(text)
    }
}

/// [`is_mixed_case`] by bytes.
fn mixed_case_ascii(bytes: &[u8]) -> bool {
    let (mut shouted, mut lower) = (false, false);
    for word in bytes.split(|b| matches!(b, b'\t'..=b'\r' | b' ')) {
        if word.iter().any(u8::is_ascii_lowercase) {
            lower = true;
        } else if word.iter().any(u8::is_ascii_uppercase) {
            shouted = true;
        }
    }
    shouted && lower
}

/// [`is_mixed_case`] for any text.
fn mixed_case_unicode(text: &str) -> bool {
    let (mut shouted, mut lower) = (false, false);
    for word in text.split_whitespace() {
        if super::tokens::has_lowercase(word) {
            lower = true;
        } else if super::tokens::is_shouted(word) {
            shouted = true;
        }
    }
    shouted && lower
}

/// A modifier seen shortly before the current word.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Prior {
    pub(crate) role: Role,
    pub(crate) shouted: bool,
    pub(crate) cue: Cue,
}

/// Tokens remembered: the scope, plus room for degree modifiers, which negation reaches across.
const REMEMBERED: usize = SCOPE + 2;

/// The last tokens of the current clause, most recent first: a ring of [`REMEMBERED`] slots.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Window {
    priors: [Option<Prior>; REMEMBERED],
    /// Slot of the most recent token.
    head: usize,
}

impl Window {
    /// Remembers a token (pushing the oldest out).
    pub(crate) fn push(&mut self, prior: Prior) {
        self.head = (self.head + REMEMBERED - 1) % REMEMBERED;
        self.priors[self.head] = Some(prior);
    }

    /// Forgets everything: a clause ended.
    pub(crate) fn clear(&mut self) {
        self.priors = [None; REMEMBERED];
    }

    /// The remembered tokens, most recent first.
    fn recent(&self) -> impl Iterator<Item = &Prior> {
        let (older, newer) = self.priors.split_at(self.head);
        newer.iter().chain(older).map_while(Option::as_ref)
    }

    /// Applies the modifiers in scope to the valence of a sentiment word: degree modifiers
    /// within [`SCOPE`] tokens (boosters add, dampeners subtract, weaker with distance, stronger
    /// in capitals), then negators within [`SCOPE`] tokens not counting degree modifiers, so
    /// that "isn't really all that great" is negated. Several negators negate once ("neither
    /// too long nor very good", "don't want no trouble": negative concord, not logic).
    pub(crate) fn modify(&self, valence: f64, emphasis: &Emphasis) -> f64 {
        let mut modified = valence;
        for (prior, weight) in self.recent().zip(DISTANCE_WEIGHT) {
            if let Role::Degree(degree) = prior.role {
                let change = degree.change() + emphasis.caps(prior.shouted, degree.change());
                modified += toward(valence, change) * weight;
            }
        }
        let mut negated = false;
        let mut distance = 0;
        let (mut this_between, mut so_between) = (false, false);
        for prior in self.recent() {
            if matches!(prior.role, Role::Degree(_)) {
                so_between |= prior.cue == Cue::So;
                continue;
            }
            distance += 1;
            if distance > SCOPE {
                break;
            }
            let comparison = this_between || (prior.cue == Cue::Never && so_between);
            negated |= prior.role == Role::Negator && !comparison;
            this_between |= prior.cue == Cue::This;
        }
        if negated {
            modified * NEGATION
        } else {
            modified
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALM: Emphasis = Emphasis {
        exclamation: 0.0,
        mixed_case: false,
    };

    fn window(roles: &[Role]) -> Window {
        let mut window = Window::default();
        for role in roles {
            window.push(Prior {
                role: *role,
                shouted: false,
                cue: Cue::None,
            });
        }
        window
    }

    #[test]
    fn exclamation_marks_add_the_measured_steps_up_to_three() {
        assert_eq!(Emphasis::scan("good").exclamation, 0.0);
        assert!((Emphasis::scan("good!").exclamation - 0.291).abs() < 1e-12);
        assert!((Emphasis::scan("good!!").exclamation - 0.506).abs() < 1e-12);
        assert!((Emphasis::scan("good!!!").exclamation - 0.714).abs() < 1e-12);
        assert_eq!(
            Emphasis::scan("good!!!!!!!!").exclamation,
            Emphasis::scan("good!!!").exclamation
        );
    }

    #[test]
    fn capitals_emphasise_only_in_mixed_case_text() {
        assert!(Emphasis::scan("the food is GREAT").mixed_case);
        assert!(!Emphasis::scan("THE FOOD IS GREAT").mixed_case);
        assert!(!Emphasis::scan("the food is great").mixed_case);
        assert!(!Emphasis::scan("").mixed_case);
        // the byte scan of ASCII text agrees with the Unicode scan
        for text in [
            "so GOOD",
            "SO GOOD",
            "so good",
            "A b",
            "OK!\tfine",
            "123 ABC",
            ":) WOW",
            "x",
        ] {
            assert_eq!(
                mixed_case_ascii(text.as_bytes()),
                mixed_case_unicode(text),
                "{text:?}"
            );
        }
        assert!(Emphasis::scan("ça c'est TRÈS bien").mixed_case);
        let mixed = Emphasis::scan("so GOOD");
        assert_eq!(mixed.caps(true, 1.9), CAPS_EMPHASIS);
        assert_eq!(mixed.caps(true, -1.9), -CAPS_EMPHASIS);
        assert_eq!(mixed.caps(false, 1.9), 0.0);
    }

    #[test]
    fn boosters_add_dampeners_remove_and_fade_with_distance() {
        let good = 1.9;
        assert!(
            (window(&[Role::Degree(Degree::Boost)]).modify(good, &CALM) - (good + BOOST)).abs()
                < 1e-12
        );
        assert!(
            (window(&[Role::Degree(Degree::Dampen)]).modify(good, &CALM) - (good - BOOST)).abs()
                < 1e-12
        );
        // a negative word is intensified downwards
        assert!(
            (window(&[Role::Degree(Degree::Boost)]).modify(-good, &CALM) + good + BOOST).abs()
                < 1e-12
        );
        let far =
            window(&[Role::Degree(Degree::Boost), Role::Plain, Role::Plain]).modify(good, &CALM);
        assert!((far - (good + BOOST * 0.9)).abs() < 1e-12);
    }

    #[test]
    fn negation_flips_and_damps_once_however_many_negators() {
        let good = 1.9;
        assert!((window(&[Role::Negator]).modify(good, &CALM) - good * NEGATION).abs() < 1e-12);
        let twice = window(&[Role::Negator, Role::Negator]).modify(good, &CALM);
        assert!((twice - good * NEGATION).abs() < 1e-12);
        // out of scope after three tokens
        let out = window(&[Role::Negator, Role::Plain, Role::Plain, Role::Plain]);
        assert_eq!(out.modify(good, &CALM), good);
        // degree modifiers do not count: "not really all that good"
        let across = window(&[
            Role::Negator,
            Role::Degree(Degree::Boost),
            Role::Plain,
            Role::Plain,
        ]);
        assert!(across.modify(good, &CALM) < 0.0);
        // but a degree modifier beyond three tokens no longer boosts
        let far = window(&[
            Role::Degree(Degree::Boost),
            Role::Plain,
            Role::Plain,
            Role::Plain,
        ]);
        assert_eq!(far.modify(good, &CALM), good);
    }

    #[test]
    fn contractions_negate() {
        assert!(is_contracted_negation(b"isn't"));
        assert!(is_contracted_negation(b"wouldn't"));
        assert!(!is_contracted_negation(b"n't"));
        assert!(!is_contracted_negation(b"isnt"));
    }
}
