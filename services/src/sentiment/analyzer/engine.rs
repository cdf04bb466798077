//! One pass over a text: each token is classified by one lexicon probe, the rules see a window
//! of the three tokens before it and one token after, and the result is tallied on the fly.
//! Nothing is stored per token, so nothing is allocated.

use super::lexicon::{Entry, Lexicon};
use super::rules::{self, Emphasis, Prior, Role, Window};
use super::score::{Analysis, Tally};
use super::tokens::{self, Folded, Segment, Segments};

/// A token and what the lexicon says about it.
#[derive(Debug, Clone, Copy)]
enum Token<'a> {
    /// A word, an emoticon or an emoji.
    Word {
        /// The word without surrounding punctuation; empty for emoticons and emoji (which are
        /// neither phrase heads nor ever "in capitals").
        text: &'a str,
        /// An emoticon or emoji: words do not negate or modify it.
        symbol: bool,
        entry: Entry,
        /// Followed by clause punctuation (`good,`).
        clause_break: bool,
    },
    /// Clause punctuation standing alone (`...`, `!!`).
    Break,
}

/// The tokens of a text, classified.
struct Tokens<'a> {
    segments: Segments<'a>,
    lexicon: &'a Lexicon,
    /// Scratch buffer of the lookup key, reused for every token.
    key: Folded,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let segment = self.segments.next()?;
            if let Some(token) = self.classify(segment) {
                return Some(token);
            }
        }
    }
}

impl<'a> Tokens<'a> {
    /// Classifies a segment; `None` for what is not a token (an unknown pictograph, a dash).
    fn classify(&mut self, segment: Segment<'a>) -> Option<Token<'a>> {
        let raw = match segment {
            Segment::Pictograph(emoji) => {
                let valence = self.lexicon.emoji().get(emoji)?;
                return Some(Token::Word {
                    text: "",
                    symbol: true,
                    entry: Entry {
                        valence,
                        ..Entry::PLAIN
                    },
                    clause_break: false,
                });
            }
            Segment::Text(raw) => raw,
        };
        if tokens::is_html_entity(raw) {
            return None;
        }
        let stripped = tokens::strip(raw);
        if stripped.word.len() != raw.len()
            && self.lexicon.may_be_emoticon(raw.len(), stripped.word.len())
            && self.key.assign(raw)
        {
            // Punctuation around the word: the whole segment may be an emoticon (":-)", "</3").
            if let Some(entry) = self.lexicon.word(&self.key).filter(|e| e.valence != 0.0) {
                return Some(Token::Word {
                    text: "",
                    symbol: true,
                    entry: *entry,
                    clause_break: false,
                });
            }
        }
        if stripped.word.is_empty() {
            return stripped.clause_break.then_some(Token::Break);
        }
        let entry = if self.key.assign(stripped.word) {
            let mut entry = self
                .lexicon
                .word(&self.key)
                .copied()
                .unwrap_or(Entry::PLAIN);
            if entry.role == Role::Plain && rules::is_contracted_negation(self.key.as_bytes()) {
                entry.role = Role::Negator;
            }
            entry
        } else {
            Entry::PLAIN
        };
        Some(Token::Word {
            text: stripped.word,
            symbol: false,
            entry,
            clause_break: stripped.clause_break,
        })
    }
}

/// The entry of the two-word phrase `first second`, if the lexicon has one.
fn phrase(lexicon: &Lexicon, first: &str, second: &str) -> Option<Entry> {
    let mut key = Folded::new(first)?;
    if !key.push_word(second) {
        return None;
    }
    lexicon.phrase(&key).copied()
}

/// Analyses `text`; `band` is the neutral band of the label.
///
/// Whether capitals are emphasis depends on the whole text (some words in capitals, some not),
/// but it only matters when a sentiment word or a degree modifier is in capitals, which is rare:
/// the text is first analysed as if capitals did not matter, and again only in that case.
pub(crate) fn analyze(lexicon: &Lexicon, text: &str, band: f64) -> Analysis {
    let calm = Emphasis {
        exclamation: rules::exclamation(text),
        mixed_case: false,
    };
    let (mut tally, shouting) = pass(lexicon, text, &calm);
    if shouting && rules::is_mixed_case(text) {
        let emphatic = Emphasis {
            mixed_case: true,
            ..calm
        };
        tally = pass(lexicon, text, &emphatic).0;
    }
    tally.finish(calm.exclamation, band)
}

/// One pass over the tokens; also tells whether a sentiment word or a degree modifier was
/// written in capitals.
fn pass(lexicon: &Lexicon, text: &str, emphasis: &Emphasis) -> (Tally, bool) {
    let mut tokens = Tokens {
        segments: Segments::new(text),
        lexicon,
        key: Folded::empty(),
    };
    let mut window = Window::default();
    let mut tally = Tally::default();
    let mut shouting = false;
    let mut conceding = false;
    let mut current = tokens.next();
    while let Some(token) = current {
        let mut next = tokens.next();
        let Token::Word {
            text,
            symbol,
            mut entry,
            clause_break,
        } = token
        else {
            window.clear();
            conceding = false;
            current = next;
            continue;
        };
        if entry.phrase_head
            && !clause_break
            && let Some(Token::Word {
                text: next_text,
                entry: next_entry,
                ..
            }) = next.as_mut()
            && let Some(whole) = phrase(lexicon, text, next_text)
        {
            // The phrase's valence and role go to its last word; the first is a filler.
            *next_entry = whole;
            entry = Entry::PLAIN;
        }
        let sentiment_follows = !clause_break
            && matches!(next, Some(Token::Word { entry: ref e, .. }) if e.valence != 0.0);
        // A negator or degree word modifies what follows; with a valence of its own it also
        // counts as a sentiment word unless a sentiment word follows at once ("no problem").
        let modifier = matches!(entry.role, Role::Negator | Role::Degree(_));
        let counts_itself = entry.valence != 0.0 && !(modifier && sentiment_follows);
        let emphasis_matters = matches!(entry.role, Role::Degree(_)) || counts_itself;
        let shouted = emphasis_matters && tokens::is_shouted(text);
        shouting |= shouted;
        let valence = if symbol {
            entry.valence
        } else if counts_itself {
            let emphasised = entry.valence + emphasis.caps(shouted, entry.valence);
            window.modify(emphasised, emphasis)
        } else {
            0.0
        };
        tally.add(if conceding {
            valence * rules::CONCESSION_WEIGHT
        } else {
            valence
        });
        if entry.role == Role::Contrast {
            tally.contrast();
            window.clear();
            conceding = false;
        } else {
            conceding |= entry.role == Role::Concession;
            window.push(Prior {
                role: entry.role,
                shouted,
                cue: entry.cue,
            });
        }
        if clause_break {
            window.clear();
            conceding = false;
        }
        current = next;
    }
    (tally, shouting)
}
