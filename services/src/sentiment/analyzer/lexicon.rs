//! The lexicon: every feature the analyzer knows, with its valence and its grammatical role,
//! behind one hash lookup per token.
//!
//! Keys are case-folded bytes (see [`Folded`]); a lookup hashes the folded token held in a stack
//! buffer, so looking up allocates nothing. Valences come from the data file; roles (negator,
//! degree modifier, contrastive conjunction) from [`rules`](super::rules), merged into the same
//! entry so a token is classified by a single probe.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use super::emoji::EmojiTable;
use super::error::LexiconError;
#[cfg(test)]
use super::rules::Degree;
use super::rules::{self, Cue, Role};
use super::table::FeatureMap;
use super::tokens::{Folded, MAX_KEY_BYTES, strip};

/// The VADER lexicon (MIT), embedded verbatim; see `services/data/sentiment/README.md`.
const EMBEDDED_LEXICON: &str = include_str!("../../../data/sentiment/vader_lexicon.txt");
/// Emoji names (MIT), embedded verbatim.
const EMBEDDED_EMOJI: &str = include_str!("../../../data/sentiment/emoji_utf8_lexicon.txt");

/// What the analyzer knows about one word, phrase or emoticon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entry {
    /// Valence on the lexicon's −4…+4 scale; 0 for words that only have a role.
    pub(crate) valence: f64,
    /// What the word does to its neighbours.
    pub(crate) role: Role,
    /// Whether a two-word phrase starts with this word (`kind` of "kind of").
    pub(crate) phrase_head: bool,
    /// How it changes the reading of a negation.
    pub(crate) cue: Cue,
}

impl Entry {
    /// A word with neither valence nor role.
    pub(crate) const PLAIN: Entry = Entry {
        valence: 0.0,
        role: Role::Plain,
        phrase_head: false,
        cue: Cue::None,
    };
}

/// A sentiment lexicon ready for lookups: words, two-word phrases and emoji.
///
/// Build one with [`Lexicon::parse`], or share the embedded one with [`Lexicon::embedded`].
#[derive(Debug)]
pub struct Lexicon {
    words: FeatureMap,
    phrases: FeatureMap,
    emoji: EmojiTable,
    emoticons: EmoticonShape,
}

/// Bounds on the features with punctuation at an end (emoticons such as `:-)` or `</3`), so
/// that a word with punctuation attached (`good,`) is not looked up a second time whole.
#[derive(Debug, Clone, Copy, Default)]
struct EmoticonShape {
    /// Longest such feature, in bytes.
    len: usize,
    /// Longest letters-and-digits core of one (`3` in `</3`).
    core: usize,
}

static EMBEDDED: LazyLock<Arc<Lexicon>> = LazyLock::new(|| {
    Arc::new(
        Lexicon::parse(EMBEDDED_LEXICON, EMBEDDED_EMOJI).unwrap_or_else(|error| {
            // Unreachable in a released build: `embedded_lexicon_parses` tests the same files.
            tracing::error!(%error, "embedded sentiment lexicon unreadable; scoring nothing");
            Lexicon::empty()
        }),
    )
});

impl Lexicon {
    /// The lexicon compiled into the binary (VADER's 7,520 features plus emoji), parsed once per
    /// process on first use and shared.
    pub fn embedded() -> Arc<Lexicon> {
        Arc::clone(&EMBEDDED)
    }

    /// Parses a lexicon in the VADER format — one feature a line, `feature<TAB>valence`, any
    /// further tab-separated columns ignored — and an emoji table of `emoji<TAB>name` lines
    /// (the name's words are scored with the lexicon). Features that fold to the same key
    /// (`:P` and `:p`, or a repeated line) get the mean of their valences.
    ///
    /// # Errors
    /// [`LexiconError`] for a line without a valence, a valence that is not a finite number, a
    /// feature longer than [`MAX_KEY_BYTES`], or a lexicon with no feature.
    pub fn parse(lexicon: &str, emoji_names: &str) -> Result<Self, LexiconError> {
        let mut sums: HashMap<Box<[u8]>, (f64, u32)> = HashMap::new();
        for (index, line) in lexicon.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let mut columns = line.split('\t');
            let feature = columns.next().unwrap_or_default().trim();
            let value = columns
                .next()
                .ok_or(LexiconError::MissingValence { line: line_no })?
                .trim();
            let valence = value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| LexiconError::BadValence {
                    line: line_no,
                    value: value.to_owned(),
                })?;
            let key = Folded::new(feature).ok_or(LexiconError::FeatureTooLong {
                line: line_no,
                len: feature.len(),
                max: MAX_KEY_BYTES,
            })?;
            let slot = sums.entry(key.as_bytes().into()).or_insert((0.0, 0));
            slot.0 += valence;
            slot.1 += 1;
        }
        if sums.is_empty() {
            return Err(LexiconError::Empty);
        }
        let mut words = FeatureMap::default();
        let mut phrases = FeatureMap::default();
        for (bytes, (sum, count)) in sums {
            let Some(key) = Folded::from_folded(&bytes) else {
                continue;
            };
            let entry = Entry {
                valence: sum / f64::from(count),
                ..Entry::PLAIN
            };
            insert_feature(&mut words, &mut phrases, &key, entry);
        }
        rules::apply_roles(|word, role| set_role(&mut words, word, role));
        for (word, cue) in rules::CUES {
            if let Some(key) = Folded::new(word) {
                words.entry(&key).cue = *cue;
            }
        }
        for (phrase, role) in rules::PHRASES {
            if let Some(key) = Folded::new(phrase) {
                let entry = Entry {
                    role: *role,
                    ..Entry::PLAIN
                };
                insert_feature(&mut words, &mut phrases, &key, entry);
            }
        }
        let mut emoticons = EmoticonShape::default();
        words.for_each_key(|key| {
            let feature = String::from_utf8_lossy(key);
            let core = strip(&feature).word.len();
            if core < feature.len() {
                emoticons.len = emoticons.len.max(feature.len());
                emoticons.core = emoticons.core.max(core);
            }
        });
        let mut lexicon = Self {
            words,
            phrases,
            emoji: EmojiTable::default(),
            emoticons,
        };
        lexicon.emoji = EmojiTable::from_names(emoji_names, |word| lexicon.valence(word));
        Ok(lexicon)
    }

    fn empty() -> Self {
        Self {
            words: FeatureMap::default(),
            phrases: FeatureMap::default(),
            emoji: EmojiTable::default(),
            emoticons: EmoticonShape::default(),
        }
    }

    /// Number of single-word features (emoticons included; phrases and emoji not).
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the lexicon has no single-word feature.
    pub fn is_empty(&self) -> bool {
        self.words.len() == 0
    }

    /// The valence of a word, phrase or emoticon (case-insensitive), if it has one.
    pub fn valence(&self, feature: &str) -> Option<f64> {
        let key = Folded::new(feature)?;
        let map = if key.as_bytes().contains(&b' ') {
            &self.phrases
        } else {
            &self.words
        };
        map.get(&key)
            .map(|entry| entry.valence)
            .filter(|v| *v != 0.0)
    }

    /// The valence of an emoji, from the words of its name.
    pub fn emoji_valence(&self, emoji: char) -> Option<f64> {
        self.emoji.get(emoji)
    }

    /// Whether a segment of `len` bytes whose stripped core has `core` bytes can be an emoticon.
    pub(crate) fn may_be_emoticon(&self, len: usize, core: usize) -> bool {
        len <= self.emoticons.len && core <= self.emoticons.core
    }

    pub(crate) fn word(&self, key: &Folded) -> Option<&Entry> {
        self.words.get(key)
    }

    pub(crate) fn phrase(&self, key: &Folded) -> Option<&Entry> {
        self.phrases.get(key)
    }

    pub(crate) fn emoji(&self) -> &EmojiTable {
        &self.emoji
    }
}

/// Files a feature: single words go to `words`, two-word phrases to `phrases` with their first
/// word marked as a phrase head. Longer phrases cannot be matched and are left out.
fn insert_feature(words: &mut FeatureMap, phrases: &mut FeatureMap, key: &Folded, entry: Entry) {
    let bytes = key.as_bytes();
    let mut parts = bytes.split(|b| *b == b' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), None, _) => {
            let slot = words.entry(key);
            slot.valence = entry.valence;
            if entry.role != Role::Plain {
                slot.role = entry.role;
            }
        }
        (Some(head), Some(_), None) => {
            if let Some(head) = Folded::from_folded(head) {
                words.entry(&head).phrase_head = true;
                *phrases.entry(key) = entry;
            }
        }
        _ => {}
    }
}

fn set_role(words: &mut FeatureMap, word: &str, role: Role) {
    if let Some(key) = Folded::new(word) {
        words.entry(&key).role = role;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lexicon_parses() {
        let lexicon = Lexicon::parse(EMBEDDED_LEXICON, EMBEDDED_EMOJI);
        let Ok(lexicon) = lexicon else {
            panic!("embedded lexicon: {lexicon:?}");
        };
        assert!(lexicon.len() > 7_400, "{} words", lexicon.len());
        assert_eq!(lexicon.valence("good"), Some(1.9));
        assert_eq!(lexicon.valence("GREAT"), Some(3.1));
        assert_eq!(lexicon.valence("horrible"), Some(-2.5));
        assert_eq!(lexicon.valence(":("), Some(-1.9));
        assert_eq!(lexicon.valence("fed up"), Some(-1.8));
        assert_eq!(lexicon.valence("table"), None);
        assert!(Lexicon::embedded().len() == lexicon.len());
        // every emoticon of the lexicon passes the shape filter, ordinary words with a comma not
        assert!(lexicon.may_be_emoticon("( '}{' )".len(), 0));
        assert!(lexicon.may_be_emoticon("</3".len(), 1));
        assert!(!lexicon.may_be_emoticon("good,".len(), 4));
    }

    #[test]
    fn keys_that_fold_together_are_averaged() {
        let lexicon = Lexicon::parse(":P\t1.4\n:p\t1.0\nlol\t2.9\nlol\t1.8\n", "");
        let Ok(lexicon) = lexicon else {
            panic!("{lexicon:?}");
        };
        assert!((lexicon.valence(":p").unwrap_or_default() - 1.2).abs() < 1e-9);
        assert!((lexicon.valence("LOL").unwrap_or_default() - 2.35).abs() < 1e-9);
    }

    #[test]
    fn bad_lines_are_refused_with_their_line_number() {
        assert_eq!(
            Lexicon::parse("good\t1.9\nbad\n", "").err(),
            Some(LexiconError::MissingValence { line: 2 })
        );
        assert_eq!(
            Lexicon::parse("good\tNaN\n", "").err(),
            Some(LexiconError::BadValence {
                line: 1,
                value: "NaN".into()
            })
        );
        let long = format!("{}\t1.0\n", "x".repeat(MAX_KEY_BYTES + 1));
        assert!(matches!(
            Lexicon::parse(&long, ""),
            Err(LexiconError::FeatureTooLong { line: 1, .. })
        ));
        assert_eq!(Lexicon::parse("\n\n", "").err(), Some(LexiconError::Empty));
    }

    #[test]
    fn roles_are_merged_into_the_lexicon_entries() {
        let lexicon = Lexicon::embedded();
        let entry = |word: &str| Folded::new(word).and_then(|k| lexicon.word(&k).copied());
        assert_eq!(entry("not").map(|e| e.role), Some(Role::Negator));
        // "no" keeps its own valence and is a negator as well.
        assert_eq!(
            entry("no").map(|e| (e.role, e.valence)),
            Some((Role::Negator, -1.2))
        );
        assert_eq!(
            entry("very").map(|e| e.role),
            Some(Role::Degree(Degree::Boost))
        );
        assert_eq!(
            entry("slightly").map(|e| e.role),
            Some(Role::Degree(Degree::Dampen))
        );
        assert_eq!(entry("but").map(|e| e.role), Some(Role::Contrast));
        assert_eq!(entry("kind").map(|e| e.phrase_head), Some(true));
    }
}
