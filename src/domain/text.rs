//! Text an operator writes in the configuration, in one or several languages.

use serde::{Deserialize, Serialize};

use super::Locale;

/// Text an operator writes in the configuration, either one string for every language or one per
/// language: `purposes = ["Billing"]` or `purposes = [{ en = "Billing", fr = "Facturation" }]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    Localized {
        en: String,
        #[serde(default)]
        fr: Option<String>,
    },
}

impl Text {
    pub fn get(&self, locale: Locale) -> &str {
        match (self, locale) {
            (Text::Plain(s), _) => s,
            (Text::Localized { fr: Some(fr), .. }, Locale::Fr) => fr,
            (Text::Localized { en, .. }, _) => en,
        }
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::Plain(String::new())
    }
}
