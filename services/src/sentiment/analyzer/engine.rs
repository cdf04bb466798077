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
        /// The word without surrounding punctuation (the whole segment for an emoticon; empty
        /// for an emoji).
        text: &'a str,
        entry: Entry,
        /// Written in capitals.
        shouted: bool,
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
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let segment = self.segments.next()?;
            if let Some(token) = classify(self.lexicon, segment) {
                return Some(token);
            }
        }
    }
}

/// Classifies a segment; `None` for what is not a token (an unknown pictograph, a dash).
fn classify<'a>(lexicon: &Lexicon, segment: Segment<'a>) -> Option<Token<'a>> {
    let raw = match segment {
        Segment::Pictograph(emoji) => {
            let valence = lexicon.emoji().get(emoji)?;
            return Some(Token::Word {
                text: "",
                entry: Entry {
                    valence,
                    ..Entry::PLAIN
                },
                shouted: false,
                clause_break: false,
            });
        }
        Segment::Text(raw) => raw,
    };
    let stripped = tokens::strip(raw);
    if stripped.word.len() != raw.len() {
        // Punctuation around the word: the whole segment may be an emoticon (":-)", "</3").
        let emoticon = Folded::new(raw)
            .and_then(|key| lexicon.word(&key).copied())
            .filter(|entry| entry.valence != 0.0);
        if let Some(entry) = emoticon {
            return Some(Token::Word {
                text: raw,
                entry,
                shouted: false,
                clause_break: false,
            });
        }
    }
    if stripped.word.is_empty() {
        return stripped.clause_break.then_some(Token::Break);
    }
    let entry = Folded::new(stripped.word).map_or(Entry::PLAIN, |key| {
        lexicon.word(&key).copied().unwrap_or_else(|| {
            if rules::is_contracted_negation(key.as_bytes()) {
                Entry {
                    role: Role::Negator,
                    ..Entry::PLAIN
                }
            } else {
                Entry::PLAIN
            }
        })
    });
    Some(Token::Word {
        text: stripped.word,
        entry,
        shouted: tokens::is_shouted(stripped.word),
        clause_break: stripped.clause_break,
    })
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
pub(crate) fn analyze(lexicon: &Lexicon, text: &str, band: f64) -> Analysis {
    let emphasis = Emphasis::scan(text);
    let mut tokens = Tokens {
        segments: Segments::new(text),
        lexicon,
    };
    let mut window = Window::default();
    let mut tally = Tally::default();
    let mut current = tokens.next();
    while let Some(token) = current {
        let mut next = tokens.next();
        let Token::Word {
            text,
            mut entry,
            shouted,
            clause_break,
        } = token
        else {
            window.clear();
            current = next;
            continue;
        };
        if entry.phrase_head && !clause_break {
            if let Some(Token::Word {
                text: next_text,
                entry: next_entry,
                ..
            }) = next.as_mut()
            {
                if let Some(whole) = phrase(lexicon, text, next_text) {
                    // The phrase's valence and role go to its last word; the first is a filler.
                    *next_entry = whole;
                    entry = Entry::PLAIN;
                }
            }
        }
        let sentiment_follows = !clause_break
            && matches!(next, Some(Token::Word { entry: ref e, .. }) if e.valence != 0.0);
        let modifier = matches!(entry.role, Role::Negator | Role::Degree(_))
            && (entry.valence == 0.0 || sentiment_follows);
        let valence = if modifier || entry.valence == 0.0 {
            0.0
        } else {
            let emphasised = entry.valence + emphasis.caps(shouted, entry.valence);
            window.modify(emphasised, &emphasis)
        };
        tally.add(valence);
        if entry.role == Role::Contrast {
            tally.contrast();
            window.clear();
        } else {
            window.push(Prior {
                role: if modifier { entry.role } else { Role::Plain },
                shouted,
            });
        }
        if clause_break {
            window.clear();
        }
        current = next;
    }
    tally.finish(emphasis.exclamation, band)
}
