//! Emoji valences, derived once from the emoji's names.
//!
//! The data file names each emoji ("face with tears of joy"); the valence of an emoji is the sum
//! of the lexicon valences of the words of its name, bounded to the lexicon's ±4 scale. Only
//! single-character emoji (optionally followed by variation selector 16) are kept: sequences
//! (flags, families, skin tones) are read by the tokenizer as their base characters anyway.

/// Largest magnitude of a lexicon valence.
const VALENCE_BOUND: f64 = 4.0;

/// Emoji characters with their valences, sorted for binary search.
#[derive(Debug, Default, Clone)]
pub(crate) struct EmojiTable {
    entries: Box<[(char, f64)]>,
}

impl EmojiTable {
    /// Reads `emoji<TAB>name` lines (CRLF or LF); `valence` scores one word of a name.
    pub(crate) fn from_names(names: &str, valence: impl Fn(&str) -> Option<f64>) -> Self {
        let mut entries: Vec<(char, f64)> = names
            .lines()
            .filter_map(|line| {
                let (emoji, name) = line.trim_end_matches('\r').split_once('\t')?;
                let emoji = single_char(emoji)?;
                let score: f64 = name
                    .split(|c: char| c.is_whitespace() || c == ':' || c == ',')
                    .filter_map(&valence)
                    .sum();
                Some((emoji, score.clamp(-VALENCE_BOUND, VALENCE_BOUND)))
            })
            .collect();
        // Stable: the first line for a character wins.
        entries.sort_by_key(|(c, _)| *c);
        entries.dedup_by_key(|(c, _)| *c);
        Self {
            entries: entries.into_boxed_slice(),
        }
    }

    /// The valence of `emoji`: `Some(0.0)` for a known neutral emoji, `None` for an unknown one.
    pub(crate) fn get(&self, emoji: char) -> Option<f64> {
        self.entries
            .binary_search_by_key(&emoji, |(c, _)| *c)
            .ok()
            .map(|i| self.entries[i].1)
    }

    /// Number of emoji.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The character of a one-character emoji, allowing a trailing variation selector 16.
fn single_char(emoji: &str) -> Option<char> {
    let mut chars = emoji.chars();
    let first = chars.next()?;
    match (chars.next(), chars.next()) {
        (None, _) | (Some('\u{FE0F}'), None) => Some(first),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> EmojiTable {
        let words = |w: &str| match w {
            "joy" => Some(2.8),
            "tears" => Some(-0.9),
            "crying" => Some(-2.1),
            "love" => Some(3.2),
            _ => None,
        };
        EmojiTable::from_names(
            "😂\tface with tears of joy\r\n😭\tloudly crying face\r\n\
             ❤️\tred heart\r\n❤\tlove love love love love\r\n🇫🇷\tflag: France\r\n🚗\tautomobile\r\n",
            words,
        )
    }

    #[test]
    fn an_emoji_scores_the_words_of_its_name() {
        let table = table();
        assert!((table.get('😂').unwrap_or_default() - 1.9).abs() < 1e-9);
        assert_eq!(table.get('😭'), Some(-2.1));
        assert_eq!(table.get('🚗'), Some(0.0));
        assert_eq!(table.get('🙂'), None);
    }

    #[test]
    fn sequences_are_left_out_and_the_first_line_wins() {
        let table = table();
        assert_eq!(table.len(), 4);
        // "❤️" (with VS16) came first; its name has no sentiment word here.
        assert_eq!(table.get('❤'), Some(0.0));
    }

    #[test]
    fn valences_stay_on_the_lexicon_scale() {
        let table = EmojiTable::from_names("💘\tlove love love love love\n", |_| Some(3.2));
        assert_eq!(table.get('💘'), Some(4.0));
    }
}
