//! The local fallback: a feature-hashing embedding. Deterministic (the same text gives the same
//! vector in every process and release), L2-normalised, of a configurable dimension, with no
//! model and no I/O.
//!
//! Features of a text: its lowercased words (runs of alphanumeric characters), each adjacent
//! pair of words (weight ½), and the character trigrams of each word with boundary marks
//! (`<go`, `goo`, `ood`, `od>`; weight ¼, so spelling variants stay close). Each feature is
//! hashed with 64-bit FNV-1a; the hash picks the coordinate and the sign (the "hashing trick"
//! of Weinberger et al., 2009, so collisions cancel out in expectation). Texts sharing words
//! have a high cosine similarity; it is no semantic model, which is why its answers are marked
//! degraded.

/// The local hashing embedding of one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingEmbedder {
    dimension: usize,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

impl HashingEmbedder {
    /// An embedder of `dimension` coordinates (at least 1).
    pub fn new(dimension: usize) -> Self {
        Self {
            dimension: dimension.max(1),
        }
    }

    /// The dimension.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// The model name reported with its vectors: `local-hashing-<dimension>`.
    pub fn model_name(&self) -> String {
        format!("local-hashing-{}", self.dimension)
    }

    /// The unit vector of `text`.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dimension];
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        for word in &words {
            self.add(&mut v, fnv(fnv(FNV_OFFSET, b"w:"), word.as_bytes()), 1.0);
            let marked: Vec<char> = std::iter::once('<')
                .chain(word.chars())
                .chain(std::iter::once('>'))
                .collect();
            let mut buf = [0u8; 12];
            for gram in marked.windows(3) {
                let mut len = 0;
                for c in gram {
                    len += c.encode_utf8(&mut buf[len..]).len();
                }
                self.add(&mut v, fnv(fnv(FNV_OFFSET, b"c:"), &buf[..len]), 0.25);
            }
        }
        for pair in words.windows(2) {
            let h = fnv(fnv(fnv(FNV_OFFSET, b"b:"), pair[0].as_bytes()), b" ");
            self.add(&mut v, fnv(h, pair[1].as_bytes()), 0.5);
        }
        if words.is_empty() {
            // Punctuation or symbols only: the text itself is the one feature.
            self.add(
                &mut v,
                fnv(fnv(FNV_OFFSET, b"t:"), text.trim().as_bytes()),
                1.0,
            );
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        } else {
            // Every feature cancelled out (possible in a tiny dimension): a fixed unit vector.
            v[0] = 1.0;
        }
        v
    }

    fn add(&self, v: &mut [f32], hash: u64, weight: f32) {
        // Both conversions are lossless for any real dimension (at most MAX_DIMENSION).
        let slot = (hash % self.dimension as u64) as usize;
        v[slot] += if hash >> 63 == 0 { weight } else { -weight };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn deterministic_and_normalised() {
        let e = HashingEmbedder::new(256);
        let a = e.embed("The parcel arrived late");
        assert_eq!(a, e.embed("The parcel arrived late"));
        assert_eq!(a.len(), 256);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        for text in ["!!!", "é", "x"] {
            let v = HashingEmbedder::new(3).embed(text);
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{text}: {norm}");
        }
    }

    #[test]
    fn shared_words_are_closer_than_unrelated_texts() {
        let e = HashingEmbedder::new(512);
        let a = e.embed("my parcel arrived late again");
        let b = e.embed("the parcel arrived very late");
        let c = e.embed("thanks for the wonderful dinner");
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.2);
        assert_eq!(e.model_name(), "local-hashing-512");
    }

    #[test]
    fn a_fixed_text_has_a_fixed_vector() {
        // Guards the wire: vectors stored by clients must not change between releases.
        let v = HashingEmbedder::new(8).embed("hello world");
        let golden = HashingEmbedder::new(8).embed("Hello,  WORLD");
        assert_eq!(v, golden, "case and punctuation do not matter");
        let pinned = [
            0.5345225,
            -0.13363062,
            0.0,
            0.0,
            -0.6681531,
            0.26726124,
            -0.13363062,
            0.40089184,
        ];
        for (got, want) in v.iter().zip(pinned) {
            assert!((got - want).abs() < 1e-6, "{v:?}");
        }
    }
}
