//! What a customer message is about ([`Intent`]), detected by keywords.
//!
//! Keywords, not a model: the intent picks a template when every provider is down, so it must
//! work without any of them, and it must be explainable (the keyword table below is the whole
//! rule). A keyword matches a word that starts with it (`refund` matches `refunded`); a phrase
//! matches consecutive words. The intent with the most matches wins, ties go to the earlier row;
//! no match is [`Intent::General`].

use serde::{Deserialize, Serialize};

/// What a message is about.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Money back, returns, cancellations.
    Refund,
    /// Delivery, tracking, lost parcels.
    Shipping,
    /// Charges, invoices, payment methods.
    Billing,
    /// Logins, passwords, profiles.
    Account,
    /// Dissatisfaction with the service itself.
    Complaint,
    /// Anything else.
    General,
}

impl Intent {
    /// Every intent, in the order ties are broken.
    pub const ALL: [Intent; 6] = [
        Self::Refund,
        Self::Shipping,
        Self::Billing,
        Self::Account,
        Self::Complaint,
        Self::General,
    ];

    /// `"refund"`, `"shipping"`, …
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Refund => "refund",
            Self::Shipping => "shipping",
            Self::Billing => "billing",
            Self::Account => "account",
            Self::Complaint => "complaint",
            Self::General => "general",
        }
    }

    /// The intent named `name` (as in the templates file).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == name)
    }

    /// A short description for prompts and templates (`{topic}`).
    pub const fn topic(self) -> &'static str {
        match self {
            Self::Refund => "your refund",
            Self::Shipping => "your delivery",
            Self::Billing => "your bill",
            Self::Account => "your account",
            Self::Complaint => "your experience with us",
            Self::General => "your request",
        }
    }
}

/// The keyword table: intent → keywords (lowercase; phrases are words separated by spaces).
pub const KEYWORDS: &[(Intent, &[&str])] = &[
    (
        Intent::Refund,
        &[
            "refund",
            "money back",
            "reimburs",
            "return",
            "cancel",
            "chargeback",
        ],
    ),
    (
        Intent::Shipping,
        &[
            "ship", "order", "deliver", "parcel", "package", "tracking", "courier", "arriv",
            "dispatch",
        ],
    ),
    (
        Intent::Billing,
        &[
            "bill",
            "invoice",
            "charge",
            "payment",
            "paid",
            "pay",
            "credit card",
            "subscription",
            "price",
        ],
    ),
    (
        Intent::Account,
        &[
            "account",
            "password",
            "login",
            "log in",
            "sign in",
            "username",
            "email address",
            "profile",
            "locked",
        ],
    ),
    (
        Intent::Complaint,
        &[
            "complain",
            "complaint",
            "terrible",
            "awful",
            "worst",
            "unacceptable",
            "rude",
            "disappoint",
        ],
    ),
];

/// The intent of `message` (see the [module](self) docs).
pub fn detect(message: &str) -> Intent {
    let lower = message.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut best = (Intent::General, 0usize);
    for (intent, keywords) in KEYWORDS {
        let hits: usize = keywords.iter().map(|k| matches(&words, k)).sum();
        if hits > best.1 {
            best = (*intent, hits);
        }
    }
    best.0
}

/// How often `keyword` (a word prefix, or a phrase whose last word is a prefix) occurs.
fn matches(words: &[&str], keyword: &str) -> usize {
    let parts: Vec<&str> = keyword.split(' ').collect();
    let Some((last, head)) = parts.split_last() else {
        return 0;
    };
    words
        .windows(parts.len())
        .filter(|window| window[..head.len()] == *head && window[head.len()].starts_with(last))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_by_keyword() {
        for (message, intent) in [
            ("I want my money back for this order", Intent::Refund),
            (
                "Where is my parcel? The tracking page says nothing",
                Intent::Shipping,
            ),
            ("I was charged twice on my invoice", Intent::Billing),
            ("I cannot log in, my password was reset", Intent::Account),
            ("Your support was rude and unacceptable", Intent::Complaint),
            ("Do you open on Sundays?", Intent::General),
            ("Where is my order?", Intent::Shipping),
            ("", Intent::General),
            ("REFUNDED?", Intent::Refund),
        ] {
            assert_eq!(detect(message), intent, "{message}");
        }
    }

    #[test]
    fn more_matches_win_and_ties_go_to_the_earlier_row() {
        assert_eq!(
            detect("the delivery was late, the package arrived broken; refund"),
            Intent::Shipping
        );
        assert_eq!(detect("refund the shipping"), Intent::Refund);
    }
}
