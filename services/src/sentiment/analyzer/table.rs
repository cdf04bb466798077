//! The lexicon's hash table: case-folded keys to entries, with short keys stored inline.
//!
//! A key of up to [`SHORT_KEY_BYTES`] bytes (nearly every word and emoticon) is kept as a
//! 16-byte array — its bytes, zero padding, its length in the last byte — so a lookup hashes
//! two machine words and compares them in place, without following a pointer to the key. Longer
//! keys live in a second map keyed by their bytes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::lexicon::Entry;
use super::tokens::Folded;

/// The longest key stored inline.
pub(crate) const SHORT_KEY_BYTES: usize = 15;

/// A key of at most [`SHORT_KEY_BYTES`] bytes as two little-endian words: its bytes, zero
/// padding, its length in the last byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShortKey(pub(crate) [u64; 2]);

impl ShortKey {
    /// The key's bytes.
    fn bytes(&self) -> ([u8; 16], usize) {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.0[0].to_le_bytes());
        bytes[8..].copy_from_slice(&self.0[1].to_le_bytes());
        (bytes, usize::from(bytes[SHORT_KEY_BYTES]))
    }
}

impl Hash for ShortKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
        state.write_u64(self.0[1]);
    }
}

type Fx = BuildHasherDefault<FxHasher>;

/// Folded keys to entries.
#[derive(Debug, Default)]
pub(crate) struct FeatureMap {
    short: HashMap<ShortKey, Entry, Fx>,
    long: HashMap<Box<[u8]>, Entry, Fx>,
}

impl FeatureMap {
    /// The entry of a folded token.
    pub(crate) fn get(&self, key: &Folded) -> Option<&Entry> {
        match key.short_key() {
            Some(short) => self.short.get(&short),
            None => self.long.get(key.as_bytes()),
        }
    }

    /// The entry of a folded key, created empty ([`Entry::PLAIN`]) if missing.
    pub(crate) fn entry(&mut self, key: &Folded) -> &mut Entry {
        match key.short_key() {
            Some(short) => self.short.entry(short).or_insert(Entry::PLAIN),
            None => self
                .long
                .entry(key.as_bytes().into())
                .or_insert(Entry::PLAIN),
        }
    }

    /// Number of keys.
    pub(crate) fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// Calls `f` with every key's bytes.
    pub(crate) fn for_each_key(&self, mut f: impl FnMut(&[u8])) {
        for short in self.short.keys() {
            let (bytes, len) = short.bytes();
            f(&bytes[..len]);
        }
        for long in self.long.keys() {
            f(long);
        }
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

    fn write_u64(&mut self, word: u64) {
        self.add(word);
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

    fn folded(word: &str) -> Folded {
        Folded::new(word).unwrap_or_else(|| panic!("{word} too long"))
    }

    #[test]
    fn short_and_long_keys_are_found_and_kept_apart() {
        let mut map = FeatureMap::default();
        let long = "a-word-longer-than-fifteen-bytes";
        map.entry(&folded("good")).valence = 1.9;
        map.entry(&folded(long)).valence = -1.0;
        map.entry(&folded("exactly15bytes!")).valence = 0.5;
        assert_eq!(map.get(&folded("GOOD")).map(|e| e.valence), Some(1.9));
        assert_eq!(map.get(&folded(long)).map(|e| e.valence), Some(-1.0));
        assert_eq!(
            map.get(&folded("exactly15bytes!")).map(|e| e.valence),
            Some(0.5)
        );
        assert!(map.get(&folded("goo")).is_none());
        assert!(
            map.get(&folded("good\0")).is_none(),
            "the length is part of the key"
        );
        assert_eq!(map.len(), 3);
        let mut keys = Vec::new();
        map.for_each_key(|k| keys.push(String::from_utf8_lossy(k).into_owned()));
        keys.sort();
        assert_eq!(keys, vec![long, "exactly15bytes!", "good"]);
    }
}
