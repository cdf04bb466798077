//! The simulated assistant's words, and rough token counts.

/// A plausible, deterministic customer-service reply to `message`.
pub(crate) fn reply(message: &str) -> String {
    let topic: String = message.chars().take(60).collect();
    format!(
        "Thank you for reaching out. I understand your message about \"{topic}\". \
         I have looked into it and will make sure it is resolved quickly; \
         you will hear back from us within one business day."
    )
}

/// Roughly one token per word, as an upstream would report usage.
pub(crate) fn tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Splits a reply into stream chunks of a few words each.
pub(crate) fn chunks(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words.chunks(4).map(|c| c.concat()).collect()
}
