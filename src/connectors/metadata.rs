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
    /// A processor or third party that received the data and must be told of a rectification,
    /// erasure or restriction (GDPR Art. 19); `false` (the default) for internal teams, listed for
    /// Art. 15(1)(c) only.
    #[serde(default)]
    pub notify: bool,
}

/// A lawful basis of processing, GDPR Art. 6(1)(a)-(f), as written in `art15.basis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LegalBasis {
    /// Art. 6(1)(a): the person's consent, which they may withdraw at any time (Art. 7(3)).
    Consent,
    /// Art. 6(1)(b): a contract with the person, or steps at their request before one.
    Contract,
    /// Art. 6(1)(c): a legal obligation of the controller.
    LegalObligation,
    /// Art. 6(1)(d): the vital interests of the person or of another.
    VitalInterests,
    /// Art. 6(1)(e): a task in the public interest or official authority.
    PublicTask,
    /// Art. 6(1)(f): the legitimate interests of the controller or a third party.
    LegitimateInterests,
}

impl LegalBasis {
    pub const ALL: [LegalBasis; 6] = [
        LegalBasis::Consent,
        LegalBasis::Contract,
        LegalBasis::LegalObligation,
        LegalBasis::VitalInterests,
        LegalBasis::PublicTask,
        LegalBasis::LegitimateInterests,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "contract",
            LegalBasis::LegalObligation => "legal-obligation",
            LegalBasis::VitalInterests => "vital-interests",
            LegalBasis::PublicTask => "public-task",
            LegalBasis::LegitimateInterests => "legitimate-interests",
        }
    }

    /// The provision, as cited.
    pub fn article(self) -> &'static str {
        match self {
            LegalBasis::Consent => "Art. 6(1)(a)",
            LegalBasis::Contract => "Art. 6(1)(b)",
            LegalBasis::LegalObligation => "Art. 6(1)(c)",
            LegalBasis::VitalInterests => "Art. 6(1)(d)",
            LegalBasis::PublicTask => "Art. 6(1)(e)",
            LegalBasis::LegitimateInterests => "Art. 6(1)(f)",
        }
    }
}

/// `basis = "consent"` or `basis = ["contract", "legitimate-interests"]`: a collection may rest on
/// several bases (a customer record: the contract, and legitimate interests for news to customers).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<LegalBasis>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        One(LegalBasis),
        Many(Vec<LegalBasis>),
    }
    // Untagged enums hide the variant's own error: say what is accepted.
    match Repr::deserialize(d) {
        Ok(Repr::One(b)) => Ok(vec![b]),
        Ok(Repr::Many(v)) => Ok(v),
        Err(_) => Err(serde::de::Error::custom(format!(
            "`basis` is one of {} (GDPR Art. 6(1)(a)-(f)), or a list of them",
            LegalBasis::ALL.map(|b| format!("\"{}\"", b.as_str())).join(", ")
        ))),
    }
}

/// The Art. 15(1) information a collection carries. Rights (e) and the complaint authority (f) are
/// controller-wide and come from the `[controller]` configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Art15 {
    /// (a) purposes of the processing
    #[serde(default)]
    pub purposes: Vec<Text>,
    /// The lawful basis (Art. 6) for those purposes, in words for the person.
    #[serde(default)]
    pub legal_basis: Option<Text>,
    /// The same, typed (`basis = "consent"`): what a withdrawal of consent (Art. 7(3)) or an
    /// Art. 21(1) objection reaches. Empty when not declared.
    #[serde(default, deserialize_with = "one_or_many")]
    pub basis: Vec<LegalBasis>,
    /// Whether the collection serves direct marketing (Art. 21(2)-(3)): an objection to it runs this
    /// collection's suppression rule. Implied by an `objections` entry for `direct-marketing`.
    #[serde(default)]
    pub direct_marketing: bool,
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
