//! The OpenAI-compatible embeddings wire format and the pool type.
//!
//! Request `POST {base}/embeddings` with `{"input": ["text", …], "model": "…"}`; answer
//! `{"data": [{"embedding": [f32, …], "index": n}, …], "model": "…"}` (other fields ignored).

use std::sync::Arc;

use bulwark_runtime::pool::Pool;
use serde::{Deserialize, Serialize};

use crate::upstream::JsonEndpoint;

/// The name of the embeddings pool; its endpoints are `embeddings/<endpoint>`.
pub const EMBEDDINGS_POOL: &str = "embeddings";

/// An embeddings request; shared parts, as the pool clones it per attempt.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedRequest {
    /// The texts, in order.
    pub input: Arc<[String]>,
    /// The model asked for.
    pub model: Arc<str>,
}

/// One vector in an answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmbeddingData {
    /// The vector.
    pub embedding: Vec<f32>,
    /// Which input it belongs to.
    pub index: usize,
}

/// An embeddings answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmbedResponse {
    /// One vector per input.
    pub data: Vec<EmbeddingData>,
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
}

/// One embeddings endpoint.
pub type EmbeddingsEndpoint = JsonEndpoint<EmbedRequest, EmbedResponse>;

/// The embeddings endpoints behind one handle.
pub type EmbeddingsPool = Pool<EmbeddingsEndpoint>;

/// Why an answer cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnusableAnswer {
    /// Not exactly one vector per input.
    #[error("expected {expected} vectors, got {got}")]
    Count {
        /// Inputs sent.
        expected: usize,
        /// Vectors received.
        got: usize,
    },
    /// An index out of range or given twice.
    #[error("index {0} is out of range or repeated")]
    Index(usize),
    /// Vectors of different lengths, an empty one, or a value that is not a finite number.
    #[error("vectors are empty, of different lengths or not finite")]
    Vectors,
}

/// The vectors of `answer` in input order, checked against `expected` inputs.
pub fn ordered(answer: EmbedResponse, expected: usize) -> Result<Vec<Vec<f32>>, UnusableAnswer> {
    if answer.data.len() != expected {
        return Err(UnusableAnswer::Count {
            expected,
            got: answer.data.len(),
        });
    }
    let dimension = answer.data.first().map_or(0, |d| d.embedding.len());
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
    for item in answer.data {
        if item.embedding.len() != dimension
            || dimension == 0
            || item.embedding.iter().any(|x| !x.is_finite())
        {
            return Err(UnusableAnswer::Vectors);
        }
        match slots.get_mut(item.index) {
            Some(slot @ None) => *slot = Some(item.embedding),
            _ => return Err(UnusableAnswer::Index(item.index)),
        }
    }
    // Every slot is filled: `expected` distinct in-range indices were seen.
    Ok(slots.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(items: &[(usize, &[f32])]) -> EmbedResponse {
        EmbedResponse {
            data: items
                .iter()
                .map(|(index, v)| EmbeddingData {
                    embedding: v.to_vec(),
                    index: *index,
                })
                .collect(),
            model: None,
        }
    }

    #[test]
    fn vectors_come_back_in_input_order() {
        let answer = data(&[(1, &[0.0, 1.0]), (0, &[1.0, 0.0])]);
        assert_eq!(
            ordered(answer, 2).unwrap(),
            vec![vec![1.0, 0.0], vec![0.0, 1.0]]
        );
    }

    #[test]
    fn unusable_answers_are_refused() {
        assert!(matches!(
            ordered(data(&[(0, &[1.0])]), 2),
            Err(UnusableAnswer::Count { .. })
        ));
        assert!(matches!(
            ordered(data(&[(0, &[1.0]), (0, &[1.0])]), 2),
            Err(UnusableAnswer::Index(0))
        ));
        assert!(matches!(
            ordered(data(&[(0, &[1.0]), (1, &[1.0, 2.0])]), 2),
            Err(UnusableAnswer::Vectors)
        ));
        assert!(matches!(
            ordered(data(&[(0, &[f32::NAN])]), 1),
            Err(UnusableAnswer::Vectors)
        ));
    }
}
