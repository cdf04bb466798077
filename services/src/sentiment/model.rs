//! The model endpoints' wire format (Hugging Face text classification) and the pool type.
//!
//! Request `{"inputs": ["text", …]}`; answer one list of `{"label", "score"}` per input, in
//! input order.

use std::sync::Arc;

use bulwark_runtime::pool::Pool;
use serde::{Deserialize, Serialize};

use crate::upstream::JsonEndpoint;

/// The name of the model pool; its endpoints are `sentiment.model/<endpoint>`.
pub const MODEL_POOL: &str = "sentiment.model";

/// A classification request: the texts, shared (the pool clones the request per attempt).
#[derive(Debug, Clone, Serialize)]
pub struct ClassifyRequest {
    /// The texts, in order.
    pub inputs: Arc<[String]>,
}

/// One label and its score in a model's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LabelScore {
    /// The model's label (`POSITIVE`, `LABEL_2`, `4 stars`, …).
    pub label: String,
    /// Its probability.
    pub score: f64,
}

/// A classification answer: one list per input.
pub type ClassifyResponse = Vec<Vec<LabelScore>>;

/// One model endpoint.
pub type ModelEndpoint = JsonEndpoint<ClassifyRequest, ClassifyResponse>;

/// The model endpoints behind one handle.
pub type ModelPool = Pool<ModelEndpoint>;
