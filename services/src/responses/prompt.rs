//! The prompt: the customer's message, and instructions steered by the detected intent and the
//! message's sentiment (an upset customer gets an apology first, a question a direct answer).

use super::intent::Intent;
use super::provider::Prompt;
use crate::sentiment::analyzer::Label;

/// The prompt for `message`, about `intent`, in the mood `label`, with optional `context`.
pub fn build(message: &str, context: Option<&str>, intent: Intent, label: Label) -> Prompt {
    let tone = match label {
        Label::Negative => {
            "The customer is upset: acknowledge the problem and apologise briefly before anything else."
        }
        Label::Neutral => "Answer directly and politely.",
        Label::Positive => "The customer is in a good mood: be warm, and keep it short.",
    };
    let mut system = format!(
        "You are a customer-service assistant. The customer writes about {} (intent: {}). \
         {tone} Answer in at most four sentences. Never promise refunds, credits or dates you \
         cannot confirm; say that the team will confirm them.",
        intent.topic(),
        intent.as_str(),
    );
    if let Some(context) = context.map(str::trim).filter(|c| !c.is_empty()) {
        system.push_str("\n\nWhat we know about the case:\n");
        system.push_str(context);
    }
    Prompt {
        system,
        user: message.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_sentiment_and_context_steer_the_instructions() {
        let prompt = build(
            " Where is my refund? ",
            Some("order 123"),
            Intent::Refund,
            Label::Negative,
        );
        assert_eq!(prompt.user, "Where is my refund?");
        assert!(prompt.system.contains("intent: refund"));
        assert!(prompt.system.contains("apologise"));
        assert!(prompt.system.ends_with("order 123"));
        let calm = build("hi", None, Intent::General, Label::Neutral);
        assert!(!calm.system.contains("apologise") && !calm.system.contains("What we know"));
    }
}
