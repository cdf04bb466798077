//! Tokenisation by borrowing: segments of the input, punctuation stripping and case folding into
//! a stack buffer, so that nothing is allocated per token.
//!
//! A text is cut at white space; inside a whitespace-separated chunk every pictographic
//! character (emoji) is a segment of its own, so `"love😍😍"` gives `love`, `😍`, `😍`.
//! Emoji modifiers (variation selector 16, the zero-width joiner, skin tones) are dropped.

use super::table::{SHORT_KEY_BYTES, ShortKey};

/// The longest lookup key, in bytes after case folding. Longer tokens cannot be in the lexicon.
pub const MAX_KEY_BYTES: usize = 64;

/// One piece of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    /// A run of non-space, non-pictographic characters, punctuation included.
    Text(&'a str),
    /// One pictographic character.
    Pictograph(char),
}

/// Iterator over the [`Segment`]s of a text.
#[derive(Debug, Clone)]
pub(crate) struct Segments<'a> {
    rest: &'a str,
    /// The text is ASCII: segments are cut at spaces with no character decoding.
    ascii: bool,
}

impl<'a> Segments<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            rest: text,
            ascii: text.is_ascii(),
        }
    }

    /// [`Iterator::next`] for ASCII text.
    fn next_ascii(&mut self) -> Option<Segment<'a>> {
        let bytes = self.rest.as_bytes();
        let start = bytes.iter().position(|b| !is_ascii_space(*b))?;
        let end = bytes[start..]
            .iter()
            .position(|b| is_ascii_space(*b))
            .map_or(bytes.len(), |len| start + len);
        let segment = &self.rest[start..end];
        self.rest = &self.rest[end..];
        Some(Segment::Text(segment))
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        if self.ascii {
            return self.next_ascii();
        }
        let text = self.rest;
        let bytes = text.as_bytes();
        // Skip white space and stray emoji modifiers; stop at a pictograph or a segment start.
        let mut start = 0;
        loop {
            let Some(&byte) = bytes.get(start) else {
                self.rest = "";
                return None;
            };
            if byte.is_ascii() {
                if is_ascii_space(byte) {
                    start += 1;
                    continue;
                }
                break;
            }
            let c = char_at(text, start);
            if c.is_whitespace() || is_emoji_modifier(c) {
                start += c.len_utf8();
                continue;
            }
            if is_pictographic(c) {
                self.rest = &text[start + c.len_utf8()..];
                return Some(Segment::Pictograph(c));
            }
            break;
        }
        // The segment runs to the next white space, pictograph or modifier.
        let mut end = start;
        while let Some(&byte) = bytes.get(end) {
            if byte.is_ascii() {
                if is_ascii_space(byte) {
                    break;
                }
                end += 1;
                continue;
            }
            let c = char_at(text, end);
            if c.is_whitespace() || is_pictographic(c) || is_emoji_modifier(c) {
                break;
            }
            end += c.len_utf8();
        }
        self.rest = &text[end..];
        Some(Segment::Text(&text[start..end]))
    }
}

/// ASCII white space as [`char::is_whitespace`] sees it.
#[inline]
fn is_ascii_space(byte: u8) -> bool {
    matches!(byte, b'\t'..=b'\r' | b' ')
}

/// The character starting at byte `at` (a character boundary), or U+FFFD past the end.
fn char_at(text: &str, at: usize) -> char {
    text.get(at..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Whether `c` is an emoji or another pictograph that stands for a word of its own.
pub(crate) fn is_pictographic(c: char) -> bool {
    let c = u32::from(c);
    if c < 0x2190 {
        // © and ® are in the emoji table but written inside words as often as alone.
        return false;
    }
    matches!(
        c,
        0x2190..=0x21FF   // arrows
        | 0x2300..=0x23FF // miscellaneous technical (⌚ ⏰)
        | 0x25A0..=0x25FF // geometric shapes
        | 0x2600..=0x27BF // miscellaneous symbols, dingbats (☺ ❤ ✨)
        | 0x2900..=0x297F
        | 0x2B00..=0x2BFF
        | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x1F000..=0x1F3FA // cards, enclosed, pictographs (before the skin tones)
        | 0x1F400..=0x1FAFF // pictographs, emoticons, transport, supplemental
    )
}

/// Characters that only modify the emoji before them.
fn is_emoji_modifier(c: char) -> bool {
    matches!(
        u32::from(c),
        0xFE0E | 0xFE0F | 0x200D | 0x20E3 | 0x1F3FB..=0x1F3FF
    )
}

/// Characters after which a clause ends: negation and degree modifiers do not reach across them.
pub(crate) fn is_clause_break(c: char) -> bool {
    matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | '…')
}

/// A text segment without its leading and trailing punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stripped<'a> {
    /// The word; empty when the segment was punctuation only.
    pub(crate) word: &'a str,
    /// Whether a clause-ending mark was stripped (`good,` `bad!` `--,`).
    pub(crate) clause_break: bool,
}

/// Strips everything that is not a letter or a digit from both ends of `segment`.
pub(crate) fn strip(segment: &str) -> Stripped<'_> {
    // ASCII punctuation by bytes; what remains at the ends may be non-ASCII (“ ” … «).
    let bytes = segment.as_bytes();
    let punctuation = |b: &u8| b.is_ascii() && !b.is_ascii_alphanumeric();
    let start = bytes
        .iter()
        .position(|b| !punctuation(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !punctuation(b))
        .map_or(start, |i| i + 1);
    let (mut word_start, mut word_end) = (start, end);
    let non_ascii_end = |b: Option<&u8>| b.is_some_and(|b| !b.is_ascii());
    if non_ascii_end(bytes.get(start)) || non_ascii_end(bytes[..end].last()) {
        let not_word = |c: char| !c.is_alphanumeric();
        let from_word = segment[start..end].trim_start_matches(not_word);
        word_start = end - from_word.len();
        word_end = word_start + from_word.trim_end_matches(not_word).len();
    }
    let word = &segment[word_start..word_end];
    let tail = if word.is_empty() {
        segment
    } else {
        &segment[word_end..]
    };
    Stripped {
        word,
        clause_break: tail.chars().any(is_clause_break),
    }
}

/// Whether `segment` is an HTML character reference (`&gt;`, `&amp;`, `&#39;`): markup that
/// escaped text carries, not a word ("gt" is in the lexicon, as slang).
pub(crate) fn is_html_entity(segment: &str) -> bool {
    segment
        .strip_prefix('&')
        .and_then(|rest| rest.strip_suffix(';'))
        .is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 8
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#')
        })
}

/// Whether `word` is written in capitals only (at least one upper-case letter, no lower-case).
pub(crate) fn is_shouted(word: &str) -> bool {
    if word.is_ascii() {
        let bytes = word.as_bytes();
        return !bytes.iter().any(u8::is_ascii_lowercase)
            && bytes.iter().any(u8::is_ascii_uppercase);
    }
    let mut upper = false;
    for c in word.chars() {
        if c.is_lowercase() {
            return false;
        }
        upper |= c.is_uppercase();
    }
    upper
}

/// Whether `word` has a lower-case letter.
pub(crate) fn has_lowercase(word: &str) -> bool {
    word.chars().any(char::is_lowercase)
}

/// A case-folded copy of a token in a fixed buffer on the stack: the lookup key.
///
/// ASCII is lower-cased byte by byte, typographic apostrophes (’ ‘ ʼ) become `'`, other
/// characters go through [`char::to_lowercase`].
#[derive(Clone)]
pub(crate) struct Folded {
    buf: [u8; MAX_KEY_BYTES],
    len: usize,
}

impl Folded {
    /// An empty key, to be filled with [`assign`](Self::assign).
    pub(crate) const fn empty() -> Self {
        Self {
            buf: [0; MAX_KEY_BYTES],
            len: 0,
        }
    }

    /// Folds `token`; `None` when the folded form is longer than [`MAX_KEY_BYTES`].
    pub(crate) fn new(token: &str) -> Option<Self> {
        let mut folded = Self::empty();
        folded.assign(token).then_some(folded)
    }

    /// A key from bytes that are folded already (the lexicon's own keys).
    pub(crate) fn from_folded(bytes: &[u8]) -> Option<Self> {
        let mut folded = Self::empty();
        let slot = folded.buf.get_mut(..bytes.len())?;
        slot.copy_from_slice(bytes);
        folded.len = bytes.len();
        Some(folded)
    }

    /// Replaces the key by the folded `token`; false when it does not fit.
    pub(crate) fn assign(&mut self, token: &str) -> bool {
        self.len = 0;
        if token.is_ascii() {
            let Some(slot) = self.buf.get_mut(..token.len()) else {
                return false;
            };
            for (to, from) in slot.iter_mut().zip(token.bytes()) {
                *to = from.to_ascii_lowercase();
            }
            self.len = token.len();
            return true;
        }
        self.push_str(token)
    }

    /// Appends a space and the folded `token`; false (and unchanged length) when it does not fit.
    pub(crate) fn push_word(&mut self, token: &str) -> bool {
        let len = self.len;
        if self.push_byte(b' ') && self.push_str(token) {
            return true;
        }
        self.len = len;
        false
    }

    /// The folded bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The key in the lexicon table's inline form, if it is short enough.
    pub(crate) fn short_key(&self) -> Option<ShortKey> {
        if self.len > SHORT_KEY_BYTES {
            return None;
        }
        // Whole words read from the buffer, bytes past the key masked off.
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&self.buf[at..at + 8]);
            let valid = self.len.saturating_sub(at).min(8);
            let mask = if valid == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * valid)) - 1
            };
            u64::from_le_bytes(bytes) & mask
        };
        Some(ShortKey([word(0), word(8) | ((self.len as u64) << 56)]))
    }

    fn push_str(&mut self, token: &str) -> bool {
        for c in token.chars() {
            let pushed = if c.is_ascii() {
                self.push_byte(c.to_ascii_lowercase() as u8)
            } else if matches!(c, '\u{2019}' | '\u{2018}' | '\u{02BC}') {
                self.push_byte(b'\'')
            } else {
                c.to_lowercase().all(|l| self.push_char(l))
            };
            if !pushed {
                return false;
            }
        }
        true
    }

    fn push_byte(&mut self, byte: u8) -> bool {
        match self.buf.get_mut(self.len) {
            Some(slot) => {
                *slot = byte;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    fn push_char(&mut self, c: char) -> bool {
        let width = c.len_utf8();
        match self.buf.get_mut(self.len..self.len + width) {
            Some(slot) => {
                c.encode_utf8(slot);
                self.len += width;
                true
            }
            None => false,
        }
    }
}

impl std::fmt::Debug for Folded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Folded")
            .field(&String::from_utf8_lossy(self.as_bytes()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(text: &str) -> Vec<Segment<'_>> {
        Segments::new(text).collect()
    }

    #[test]
    fn cuts_at_white_space_and_keeps_punctuation() {
        assert_eq!(
            segments("  Not  bad, :) at\tall!\n"),
            vec![
                Segment::Text("Not"),
                Segment::Text("bad,"),
                Segment::Text(":)"),
                Segment::Text("at"),
                Segment::Text("all!"),
            ]
        );
        assert!(segments("").is_empty());
        assert!(segments(" \t\n ").is_empty());
    }

    #[test]
    fn emoji_are_segments_of_their_own_and_modifiers_vanish() {
        assert_eq!(
            segments("love😍😍 👍🏽ok ❤️"),
            vec![
                Segment::Text("love"),
                Segment::Pictograph('😍'),
                Segment::Pictograph('😍'),
                Segment::Pictograph('👍'),
                Segment::Text("ok"),
                Segment::Pictograph('❤'),
            ]
        );
    }

    #[test]
    fn strip_removes_punctuation_and_reports_clause_ends() {
        for (segment, word, clause_break) in [
            ("\"good,\"", "good", true),
            ("#happy", "happy", false),
            ("isn't", "isn't", false),
            ("“great…”", "great", true),
            ("...", "", true),
            ("-", "", false),
        ] {
            assert_eq!(
                strip(segment),
                Stripped { word, clause_break },
                "{segment:?}"
            );
        }
    }

    #[test]
    fn folding_lowercases_and_normalises_apostrophes() {
        let folded = Folded::new("ISN’T").map(|f| f.as_bytes().to_vec());
        assert_eq!(folded.as_deref(), Some(&b"isn't"[..]));
        let folded = Folded::new("ÇA").map(|f| f.as_bytes().to_vec());
        assert_eq!(folded.as_deref(), Some("ça".as_bytes()));
        assert!(Folded::new(&"a".repeat(MAX_KEY_BYTES)).is_some());
        assert!(Folded::new(&"a".repeat(MAX_KEY_BYTES + 1)).is_none());
    }

    #[test]
    fn push_word_builds_phrase_keys_and_leaves_them_whole_on_overflow() {
        let Some(mut key) = Folded::new("Fed") else {
            panic!("short word must fold");
        };
        assert!(key.push_word("UP"));
        assert_eq!(key.as_bytes(), b"fed up");
        assert!(!key.push_word(&"x".repeat(MAX_KEY_BYTES)));
        assert_eq!(key.as_bytes(), b"fed up");
    }

    #[test]
    fn html_entities_are_recognised() {
        for entity in ["&gt;", "&amp;", "&#39;", "&quot;"] {
            assert!(is_html_entity(entity), "{entity}");
        }
        for other in ["&", "&;", "gt", "&gt", "AT&T", "&verylongname;"] {
            assert!(!is_html_entity(other), "{other}");
        }
    }

    #[test]
    fn shouting_needs_capitals_and_no_lower_case() {
        assert!(is_shouted("GREAT"));
        assert!(is_shouted("WOW2"));
        assert!(!is_shouted("Great"));
        assert!(!is_shouted("2024"));
        assert!(!is_shouted(""));
        assert!(has_lowercase("Great"));
        assert!(!has_lowercase("GREAT"));
    }
}
