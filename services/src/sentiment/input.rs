//! What a text must be: 1 to [`MAX_TEXT_CHARS`] characters once surrounding whitespace is
//! removed; a batch holds 1 to [`MAX_BATCH_TEXTS`] of them. Checked the same way for every
//! caller (the routes, the jobs, the embeddings), every problem named by its field.

use bulwark_runtime::error::Details;
use utoipa::openapi::schema::{Array, ArrayBuilder, ObjectBuilder, Type};

/// Most characters (Unicode scalar values) in one text, after trimming.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Most texts in one batch.
pub const MAX_BATCH_TEXTS: usize = 256;

/// What is wrong with `text`, if anything.
pub fn text_problem(text: &str) -> Option<String> {
    bounded_text_problem(text, MAX_TEXT_CHARS)
}

/// What is wrong with `text` for a field of at most `max` characters after trimming, if
/// anything (the response pipeline's message holds 8,000).
pub fn bounded_text_problem(text: &str, max: usize) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Some("must not be empty or only whitespace".to_owned());
    }
    // Counting stops early: a huge text costs no more than the limit.
    if trimmed.chars().nth(max).is_some() {
        return Some(format!("must be at most {max} characters after trimming"));
    }
    None
}

/// Checks one text, named `field` in the details.
pub fn check_text(field: &str, text: &str) -> Result<(), Details> {
    match text_problem(text) {
        Some(problem) => Err(Details::from([(field.to_owned(), problem)])),
        None => Ok(()),
    }
}

/// Checks a batch named `field`: its size, then every text (`field[i]` in the details; every
/// bad text is named, not only the first).
pub fn check_texts(field: &str, texts: &[String]) -> Result<(), Details> {
    if texts.is_empty() || texts.len() > MAX_BATCH_TEXTS {
        return Err(Details::from([(
            field.to_owned(),
            format!(
                "must hold 1 to {MAX_BATCH_TEXTS} texts, got {}",
                texts.len()
            ),
        )]));
    }
    let details: Details = texts
        .iter()
        .enumerate()
        .filter_map(|(i, text)| text_problem(text).map(|p| (format!("{field}[{i}]"), p)))
        .collect();
    if details.is_empty() {
        Ok(())
    } else {
        Err(details)
    }
}

/// The OpenAPI schema of a batch of texts (`#[schema(schema_with = texts_schema)]`): 1 to
/// [`MAX_BATCH_TEXTS`] strings of 1 to [`MAX_TEXT_CHARS`] characters with a non-blank one.
pub fn texts_schema() -> Array {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_TEXT_CHARS))
                .pattern(Some(r"\S")),
        )
        .min_items(Some(1))
        .max_items(Some(MAX_BATCH_TEXTS))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_checked_after_trimming() {
        assert!(check_text("text", "ok").is_ok());
        assert!(check_text("text", "  \n\t ").is_err());
        assert!(check_text("text", "").is_err());
        let longest = format!("  {}  ", "é".repeat(MAX_TEXT_CHARS));
        assert!(check_text("text", &longest).is_ok());
        let over = "a".repeat(MAX_TEXT_CHARS + 1);
        let details = check_text("text", &over).unwrap_err();
        assert!(details["text"].contains("at most 10000"), "{details:?}");
    }

    #[test]
    fn every_bad_text_of_a_batch_is_named() {
        let texts = vec!["fine".to_owned(), " ".to_owned(), String::new()];
        let details = check_texts("texts", &texts).unwrap_err();
        assert_eq!(details.keys().collect::<Vec<_>>(), ["texts[1]", "texts[2]"]);
        assert!(check_texts("texts", &[]).unwrap_err().contains_key("texts"));
        let many = vec!["x".to_owned(); MAX_BATCH_TEXTS + 1];
        assert!(check_texts("texts", &many).is_err());
        assert!(check_texts("texts", &many[..MAX_BATCH_TEXTS]).is_ok());
    }
}
