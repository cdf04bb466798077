//! Token usage: `bulwark_llm_tokens_total{provider, kind}`, `kind` being `prompt` or
//! `completion`, as each provider reported them (a streamed answer is counted at its end).

use metrics::{counter, describe_counter};

use super::provider::Usage;

/// Tokens used, per provider and kind.
pub const TOKENS_TOTAL: &str = "bulwark_llm_tokens_total";

/// Describes the series (once at start).
pub fn describe() {
    describe_counter!(
        TOKENS_TOTAL,
        "Tokens used by LLM providers, as they reported them (kind: prompt or completion)"
    );
}

/// Counts one answer's tokens for `provider`.
pub fn record(provider: &str, usage: Usage) {
    for (kind, tokens) in [("prompt", usage.prompt), ("completion", usage.completion)] {
        if tokens > 0 {
            counter!(TOKENS_TOTAL, "provider" => provider.to_owned(), "kind" => kind)
                .increment(tokens);
        }
    }
}
