//! The lexicon: every feature the analyzer knows, with its valence and its grammatical role,
//! behind one hash lookup per token.
//!
//! Keys are case-folded bytes (see [`Folded`]); a lookup hashes the folded token held in a stack
//! buffer, so looking up allocates nothing. Valences come from the data file; roles (negator,
//! degree modifier, contrastive conjunction) from [`rules`](super::rules), merged into the same
//! entry so a token is classified by a single probe.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock};

use super::emoji::EmojiTable;
use super::error::LexiconError;
use super::rules::{self, Role};
use super::tokens::{Folded, MAX_KEY_BYTES};

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
}

impl Entry {
    /// A word with neither valence nor role.
    pub(crate) const PLAIN: Entry = Entry {
        valence: 0.0,
        role: Role::Plain,
        phrase_head: false,
    };
}

/// A sentiment lexicon ready for lookups: words, two-word phrases and emoji.
///
/// Build one with [`Lexicon::parse`], or share the embedded one with [`Lexicon::embedded`].
#[derive(Debug)]
pub struct Lexicon {
    words: FoldedMap,
    phrases: FoldedMap,
    emoji: EmojiTable,
}

type FoldedMap = HashMap<Box<[u8]>, Entry, BuildHasherDefault<FxHasher>>;

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
        let mut words = FoldedMap::default();
        let mut phrases = FoldedMap::default();
        for (key, (sum, count)) in sums {
            let entry = Entry {
                valence: sum / f64::from(count),
                ..Entry::PLAIN
            };
            insert_feature(&mut words, &mut phrases, key, entry);
        }
        rules::apply_roles(|word, role| set_role(&mut words, word, role));
        for (phrase, role) in rules::PHRASES {
            if let Some(key) = Folded::new(phrase) {
                let entry = Entry {
                    role: *role,
                    ..Entry::PLAIN
                };
                insert_feature(&mut words, &mut phrases, key.as_bytes().into(), entry);
            }
        }
        let mut lexicon = Self {
            words,
            phrases,
            emoji: EmojiTable::default(),
        };
        lexicon.emoji = EmojiTable::from_names(emoji_names, |word| lexicon.valence(word));
        Ok(lexicon)
    }

    fn empty() -> Self {
        Self {
            words: FoldedMap::default(),
            phrases: FoldedMap::default(),
            emoji: EmojiTable::default(),
        }
    }

    /// Number of single-word features (emoticons included; phrases and emoji not).
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the lexicon has no single-word feature.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The valence of a word, phrase or emoticon (case-insensitive), if it has one.
    pub fn valence(&self, feature: &str) -> Option<f64> {
        let key = Folded::new(feature)?;
        let map = if key.as_bytes().contains(&b' ') {
            &self.phrases
        } else {
            &self.words
        };
        map.get(key.as_bytes())
            .map(|entry| entry.valence)
            .filter(|v| *v != 0.0)
    }

    /// The valence of an emoji, from the words of its name.
    pub fn emoji_valence(&self, emoji: char) -> Option<f64> {
        self.emoji.get(emoji)
    }

    pub(crate) fn word(&self, key: &Folded) -> Option<&Entry> {
        self.words.get(key.as_bytes())
    }

    pub(crate) fn phrase(&self, key: &Folded) -> Option<&Entry> {
        self.phrases.get(key.as_bytes())
    }

    pub(crate) fn emoji(&self) -> &EmojiTable {
        &self.emoji
    }
}

/// Files a feature: single words go to `words`, two-word phrases to `phrases` with their first
/// word marked as a phrase head. Longer phrases cannot be matched and are left out.
fn insert_feature(words: &mut FoldedMap, phrases: &mut FoldedMap, key: Box<[u8]>, entry: Entry) {
    let mut parts = key.split(|b| *b == b' ');
    let (Some(head), Some(_), None) = (parts.next(), parts.next(), parts.next()) else {
        if !key.contains(&b' ') {
            let slot = words.entry(key).or_insert(Entry::PLAIN);
            slot.valence = entry.valence;
            if entry.role != Role::Plain {
                slot.role = entry.role;
            }
        }
        return;
    };
    words.entry(head.into()).or_insert(Entry::PLAIN).phrase_head = true;
    phrases.insert(key, entry);
}

fn set_role(words: &mut FoldedMap, word: &str, role: Role) {
    if let Some(key) = Folded::new(word) {
        words
            .entry(key.as_bytes().into())
            .or_insert(Entry::PLAIN)
            .role = role;
    }
}

/// The multiply-rotate hash of the Rust compiler ("FxHash"): a few cycles per 8 bytes, which is
/// what short, trusted keys want (the keys come from our own data file, so hash flooding is not
/// a concern; the lookups only ever read).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
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
        assert!(matches!(entry("very").map(|e| e.role), Some(Role::Degree(s)) if s > 0.0));
        assert!(matches!(entry("slightly").map(|e| e.role), Some(Role::Degree(s)) if s < 0.0));
        assert_eq!(entry("but").map(|e| e.role), Some(Role::Contrast));
        assert_eq!(entry("kind").map(|e| e.phrase_head), Some(true));
    }
}
