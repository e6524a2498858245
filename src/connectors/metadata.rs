//! What a source declares about its data: the GDPR Art. 15(1)(a)-(h) information per collection.

use serde::{Deserialize, Serialize};

pub use crate::domain::Text;

/// A recipient of the data (Art. 15(1)(c)); third-country recipients are flagged.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Recipient {
    pub name: Text,
    /// ISO 3166 country code of the recipient.
    #[serde(default)]
    pub country: Option<String>,
    /// Outside the EU/EEA: the safeguards (Art. 46) must be named.
    #[serde(default)]
    pub third_country: bool,
    #[serde(default)]
    pub safeguards: Option<Text>,
}

/// The Art. 15(1) information a collection carries. Rights (e) and the complaint authority (f) are
/// controller-wide and come from the `[controller]` configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Art15 {
    /// (a) purposes of the processing
    #[serde(default)]
    pub purposes: Vec<Text>,
    /// The lawful basis (Art. 6) for those purposes.
    #[serde(default)]
    pub legal_basis: Option<Text>,
    /// (b) categories of personal data
    #[serde(default)]
    pub categories: Vec<Text>,
    /// (c) recipients, in particular in third countries
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// (d) retention period or the criteria that set it
    #[serde(default)]
    pub retention: Option<Text>,
    /// (g) where the data came from when not collected from the person
    #[serde(default)]
    pub origin: Option<Text>,
    /// (h) automated decision-making, with meaningful information about the logic
    #[serde(default)]
    pub automated_decisions: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionInfo {
    pub name: String,
    pub label: Text,
    pub art15: Art15,
    /// Key, erasure, rectification and objection rules (see [`crate::plans`]).
    pub rules: crate::plans::Rules,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    pub name: String,
    pub label: Text,
    /// `sql`, `csv`, `webhook`, `manual`.
    pub kind: &'static str,
    pub collections: Vec<CollectionInfo>,
}

impl SourceInfo {
    pub fn collection(&self, name: &str) -> Option<&CollectionInfo> {
        self.collections.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Locale;

    #[test]
    fn text_accepts_plain_and_localized_forms() {
        #[derive(Deserialize)]
        struct T {
            a: Text,
            b: Text,
            c: Text,
        }
        let t: T =
            toml::from_str("a = 'Billing'\nb = { en = 'Billing', fr = 'Facturation' }\nc = { en = 'Only English' }")
                .unwrap();
        assert_eq!(t.a.get(Locale::Fr), "Billing");
        assert_eq!(t.b.get(Locale::Fr), "Facturation");
        assert_eq!(t.b.get(Locale::En), "Billing");
        assert_eq!(t.c.get(Locale::Fr), "Only English");
    }
}
