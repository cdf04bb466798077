//! What a client sends to queue a job, checked before anything is stored.
//!
//! `texts`: 1 to 256 texts, each 1 to 10,000 characters after trimming (texts are stored
//! trimmed); `idempotency_key` (optional): 1 to 255 characters of visible ASCII. Every failing
//! field is named in the 400's `details` (`texts`, `texts[3]`, `idempotency_key`).

use bulwark_runtime::error::Details;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Most texts in one job.
pub const MAX_TEXTS: usize = 256;
/// Most characters in one text, after trimming.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most characters in an idempotency key.
pub const MAX_KEY_CHARS: usize = 255;

/// `POST /v1/sentiment/jobs` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The texts to analyse: 1 to 256, each 1 to 10,000 characters after trimming.
    #[schema(min_items = 1, max_items = 256, example = json!(["I love it", "Never again"]))]
    pub texts: Vec<String>,
    /// Makes the request safe to repeat: the same key answers the same job (1 to 255 visible
    /// ASCII characters). Keys are kept as long as their job (`[sentiment.jobs] retention`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 255, example = "order-1234-sentiment")]
    pub idempotency_key: Option<String>,
}

/// A request that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    /// The texts, trimmed.
    pub texts: Vec<String>,
    /// The idempotency key.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the trimmed texts (hex), to tell a repeat from a different request.
    pub request_hash: String,
}

impl JobRequest {
    /// Checks every field; the error names each failing one.
    pub fn check(self) -> Result<CheckedRequest, Details> {
        let mut details = Details::new();
        if self.texts.is_empty() || self.texts.len() > MAX_TEXTS {
            details.insert(
                "texts".to_owned(),
                format!("must hold 1 to {MAX_TEXTS} texts"),
            );
        }
        let texts: Vec<String> = self.texts.iter().map(|t| t.trim().to_owned()).collect();
        for (i, text) in texts.iter().enumerate().take(MAX_TEXTS) {
            let chars = text.chars().count();
            if chars == 0 || chars > MAX_TEXT_CHARS {
                details.insert(
                    format!("texts[{i}]"),
                    format!("must be 1 to {MAX_TEXT_CHARS} characters after trimming"),
                );
            }
        }
        if let Some(key) = &self.idempotency_key {
            let ok_len = (1..=MAX_KEY_CHARS).contains(&key.len());
            let ok_chars = key.bytes().all(|b| b.is_ascii_graphic());
            if !(ok_len && ok_chars) {
                details.insert(
                    "idempotency_key".to_owned(),
                    format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters"),
                );
            }
        }
        if !details.is_empty() {
            return Err(details);
        }
        let request_hash = hash(&texts);
        Ok(CheckedRequest {
            texts,
            idempotency_key: self.idempotency_key,
            request_hash,
        })
    }
}

/// SHA-256 over each text's length and bytes (unambiguous framing), as hex.
fn hash(texts: &[String]) -> String {
    let mut hasher = Sha256::new();
    for text in texts {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(texts: &[&str], key: Option<&str>) -> JobRequest {
        JobRequest {
            texts: texts.iter().map(|t| (*t).to_owned()).collect(),
            idempotency_key: key.map(str::to_owned),
        }
    }

    #[test]
    fn good_requests_are_trimmed_and_hashed() {
        let checked = request(&["  good  ", "bad"], Some("k-1")).check().unwrap();
        assert_eq!(checked.texts, ["good", "bad"]);
        assert_eq!(checked.request_hash.len(), 64);
        let same = request(&["good", " bad"], None).check().unwrap();
        assert_eq!(checked.request_hash, same.request_hash);
        let split = request(&["goo", "dbad"], None).check().unwrap();
        assert_ne!(checked.request_hash, split.request_hash);
    }

    #[test]
    fn each_failing_field_is_named() {
        let details = request(&["ok", "   ", ""], Some("has space"))
            .check()
            .unwrap_err();
        assert!(details.contains_key("texts[1]"), "{details:?}");
        assert!(details.contains_key("texts[2]"), "{details:?}");
        assert!(details.contains_key("idempotency_key"), "{details:?}");
        assert!(!details.contains_key("texts[0]"));
        assert!(
            request(&[], None)
                .check()
                .unwrap_err()
                .contains_key("texts")
        );
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(request(&[&long], None).check().is_err());
        let many = vec!["a"; MAX_TEXTS + 1];
        assert!(
            request(&many, None)
                .check()
                .unwrap_err()
                .contains_key("texts")
        );
        assert!(
            request(&["é".repeat(MAX_TEXT_CHARS).as_str()], None)
                .check()
                .is_ok()
        );
    }
}
