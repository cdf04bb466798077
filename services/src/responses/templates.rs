//! [`Templates`]: the fallback answers, keyed by intent × sentiment, from a TOML data file.
//!
//! Templates are data, not code: support teams edit their wording without a build. The file
//! (the built-in one is `services/data/response_templates.toml`) has one table per intent and one
//! template per sentiment label; `general` must have every label, another intent may leave a
//! label out (its `general` template answers). Placeholders are `{customer}` and `{topic}`; an
//! unknown placeholder, intent or label is refused when the file is loaded, naming it, so a typo
//! never reaches a customer.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::intent::Intent;
use crate::sentiment::analyzer::Label;

/// The built-in templates.
pub const BUILT_IN: &str = include_str!("../../data/response_templates.toml");

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 2] = ["customer", "topic"];

/// Every label, in the order the file is checked.
const LABELS: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];

fn label_name(label: Label) -> &'static str {
    match label {
        Label::Negative => "negative",
        Label::Neutral => "neutral",
        Label::Positive => "positive",
    }
}

/// A templates file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplatesError {
    /// The file could not be read.
    #[error("cannot read templates file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a table of tables of strings.
    #[error("templates are not valid TOML of the expected shape")]
    Parse(#[source] toml::de::Error),
    /// A table, key or placeholder is wrong or missing.
    #[error("invalid template `{key}`: {problem}")]
    Invalid {
        /// `intent` or `intent.label`.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// What fills a template's placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Fill<'a> {
    /// The customer's ID, if the request gave one.
    pub customer: Option<&'a str>,
    /// The detected intent.
    pub intent: Intent,
}

/// The templates, checked. Cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Templates {
    table: HashMap<(Intent, Label), String>,
}

impl Templates {
    /// The built-in templates.
    pub fn built_in() -> Result<Self, TemplatesError> {
        Self::parse(BUILT_IN)
    }

    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, TemplatesError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplatesError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks templates from TOML text.
    pub fn parse(text: &str) -> Result<Self, TemplatesError> {
        let raw: BTreeMap<String, BTreeMap<String, String>> =
            toml::from_str(text).map_err(TemplatesError::Parse)?;
        let invalid = |key: String, problem: &str| TemplatesError::Invalid {
            key,
            problem: problem.to_owned(),
        };
        let mut table = HashMap::new();
        for (intent_name, labels) in raw {
            let intent = Intent::from_name(&intent_name)
                .ok_or_else(|| invalid(intent_name.clone(), "not a known intent"))?;
            for (label_text, template) in labels {
                let key = format!("{intent_name}.{label_text}");
                let label = LABELS
                    .into_iter()
                    .find(|l| label_name(*l) == label_text)
                    .ok_or_else(|| invalid(key.clone(), "not negative, neutral or positive"))?;
                if template.trim().is_empty() {
                    return Err(invalid(key, "must not be empty"));
                }
                if let Some(unknown) = unknown_placeholder(&template) {
                    return Err(TemplatesError::Invalid {
                        key,
                        problem: format!("unknown placeholder {{{unknown}}}"),
                    });
                }
                table.insert((intent, label), template);
            }
        }
        for label in LABELS {
            if !table.contains_key(&(Intent::General, label)) {
                return Err(invalid(
                    format!("general.{}", label_name(label)),
                    "missing: `general` needs every label",
                ));
            }
        }
        Ok(Self { table })
    }

    /// The answer for `intent` and `label`, placeholders filled.
    pub fn render(&self, label: Label, fill: Fill<'_>) -> String {
        let template = self
            .table
            .get(&(fill.intent, label))
            .or_else(|| self.table.get(&(Intent::General, label)))
            .map_or("", String::as_str);
        template
            .replace("{customer}", fill.customer.unwrap_or("there"))
            .replace("{topic}", fill.intent.topic())
    }
}

/// The first `{name}` in `template` that is not a known placeholder.
fn unknown_placeholder(template: &str) -> Option<String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Some(after.to_owned());
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Some(name.to_owned());
        }
        rest = &after[close + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_file_covers_every_intent_and_label() {
        let templates = Templates::built_in().unwrap();
        for intent in Intent::ALL {
            for label in LABELS {
                assert!(
                    templates.table.contains_key(&(intent, label)),
                    "{intent:?} {label:?}"
                );
            }
        }
        let text = templates.render(
            Label::Negative,
            Fill {
                customer: Some("c-42"),
                intent: Intent::Refund,
            },
        );
        assert!(text.starts_with("Hi c-42, I'm sorry"), "{text}");
        assert!(
            text.contains("your refund") && !text.contains('{'),
            "{text}"
        );
    }

    #[test]
    fn a_missing_label_falls_back_to_general_and_mistakes_are_named() {
        let general = "[general]\nnegative = \"g-\"\nneutral = \"g\"\npositive = \"g+\"\n";
        let templates = Templates::parse(&format!("{general}[refund]\nneutral = \"r\"\n")).unwrap();
        let fill = |intent| Fill {
            customer: None,
            intent,
        };
        assert_eq!(templates.render(Label::Neutral, fill(Intent::Refund)), "r");
        assert_eq!(
            templates.render(Label::Positive, fill(Intent::Refund)),
            "g+"
        );
        let key = |text: &str| match Templates::parse(text).unwrap_err() {
            TemplatesError::Invalid { key, .. } => key,
            other => panic!("{other}"),
        };
        assert_eq!(key(&format!("{general}[refnd]\nneutral = \"x\"")), "refnd");
        assert_eq!(
            key(&format!("{general}[refund]\nangry = \"x\"")),
            "refund.angry"
        );
        assert_eq!(
            key(&format!("{general}[refund]\nneutral = \"Hi {{name}}\"")),
            "refund.neutral"
        );
        assert_eq!(key("[general]\nneutral = \"g\""), "general.negative");
        assert!(matches!(
            Templates::parse("general = 1"),
            Err(TemplatesError::Parse(_))
        ));
    }
}
