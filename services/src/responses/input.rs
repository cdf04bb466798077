//! What a request must be: [`ResponseRequest`] and its checks (every bad field named).

use bulwark_runtime::error::Details;

use super::error::ResponseError;
use crate::sentiment::input::bounded_text_problem;

/// Most characters of a message, after trimming.
pub const MAX_MESSAGE_CHARS: usize = 8_000;

/// Most characters of the optional context, after trimming.
pub const MAX_CONTEXT_CHARS: usize = 8_000;

/// Most characters of a customer ID.
pub const MAX_CUSTOMER_ID_CHARS: usize = 128;

/// A request for a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRequest {
    /// The customer's message (1 to 8,000 characters once trimmed).
    pub message: String,
    /// Who wrote it (fills `{customer}` in templates; never sent to a provider).
    pub customer_id: Option<String>,
    /// What is known about the case, added to the instructions.
    pub context: Option<String>,
    /// Whether a cached answer may be used (and this one remembered).
    pub use_cache: bool,
}

impl ResponseRequest {
    /// A request for `message` alone, cache allowed.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            customer_id: None,
            context: None,
            use_cache: true,
        }
    }

    /// Every problem of the request, by field.
    pub(super) fn check(&self) -> Result<(), ResponseError> {
        let mut details = Details::new();
        if let Some(problem) = bounded_text_problem(&self.message, MAX_MESSAGE_CHARS) {
            details.insert("message".to_owned(), problem);
        }
        if let Some(id) = &self.customer_id
            && (id.is_empty()
                || id.chars().nth(MAX_CUSTOMER_ID_CHARS).is_some()
                || id.chars().any(char::is_control))
        {
            details.insert(
                "customer_id".to_owned(),
                format!(
                    "must be 1 to {MAX_CUSTOMER_ID_CHARS} characters without control characters"
                ),
            );
        }
        if let Some(context) = &self.context
            && context.trim().chars().nth(MAX_CONTEXT_CHARS).is_some()
        {
            details.insert(
                "context".to_owned(),
                format!("must be at most {MAX_CONTEXT_CHARS} characters after trimming"),
            );
        }
        if details.is_empty() {
            Ok(())
        } else {
            Err(ResponseError::Invalid { details })
        }
    }
}
