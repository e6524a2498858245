//! The per-collection rules an operator writes in the configuration, beside the collection's
//! table or file (see `docs/connectors.md`, "Erasure, rectification and objection"):
//!
//! ```toml
//! key = ["id"]
//! erasure = { action = "anonymise", fields = { first_name = "null", email = "hash", phone = "mask" } }
//! rectifiable = [{ field = "phone", type = "phone", label = { en = "Phone", fr = "Téléphone" } }]
//! objections = [{ purpose = "direct-marketing", set = { no_email = 1 } }]
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::Text;

/// What erasing one of the collection's records does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErasureAction {
    /// The record is deleted.
    Delete,
    /// The listed fields are overwritten; the record stays (statistics, referential integrity).
    Anonymise,
    /// The record is kept, untouched, under an Art. 17(3) exception, until its retention ends.
    Retain,
    /// The record also concerns other people (a company shared by many contacts): reported to the
    /// person and to staff, never erased by their request.
    Shared,
}

impl ErasureAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureAction::Delete => "delete",
            ErasureAction::Anonymise => "anonymise",
            ErasureAction::Retain => "retain",
            ErasureAction::Shared => "shared",
        }
    }
}

/// How one field is anonymised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldMethod {
    /// Set to NULL (an empty field in a CSV file).
    Null,
    /// Masked: the first character of each word kept, the rest replaced by `*` (text only).
    Mask,
    /// Replaced by a keyed pseudonym (`anon-…`): equal values stay equal, the value is not
    /// recoverable without Dossier's key (text only).
    Hash,
    /// Replaced by a fixed value.
    Value(serde_json::Value),
}

impl<'de> Deserialize<'de> for FieldMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Fixed { value: serde_json::Value },
        }
        match Repr::deserialize(d)? {
            Repr::Name(n) => match n.as_str() {
                "null" => Ok(FieldMethod::Null),
                "mask" => Ok(FieldMethod::Mask),
                "hash" => Ok(FieldMethod::Hash),
                other => Err(serde::de::Error::custom(format!(
                    "unknown anonymisation `{other}`: use \"null\", \"mask\", \"hash\" or {{ value = … }}"
                ))),
            },
            Repr::Fixed { value } => Ok(FieldMethod::Value(value)),
        }
    }
}

/// Stored (in a plan) in the same form as configured.
impl Serialize for FieldMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldMethod::Null => s.serialize_str("null"),
            FieldMethod::Mask => s.serialize_str("mask"),
            FieldMethod::Hash => s.serialize_str("hash"),
            FieldMethod::Value(value) => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("value", value)?;
                m.end()
            }
        }
    }
}

impl FieldMethod {
    pub fn as_write(&self) -> super::FieldWrite {
        match self {
            FieldMethod::Null => super::FieldWrite::Null,
            FieldMethod::Mask => super::FieldWrite::Mask,
            FieldMethod::Hash => super::FieldWrite::Hash,
            FieldMethod::Value(v) => super::FieldWrite::Value(v.clone()),
        }
    }
}

/// Why a record is kept despite an erasure request: the GDPR Art. 17(3) exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetentionBasis {
    /// Art. 17(3)(a): freedom of expression and information.
    FreedomOfExpression,
    /// Art. 17(3)(b): a legal obligation (e.g. accounting records, Code de commerce L123-22).
    LegalObligation,
    /// Art. 17(3)(c): public interest in the area of public health.
    PublicHealth,
    /// Art. 17(3)(d): archiving in the public interest, research or statistics.
    Archiving,
    /// Art. 17(3)(e): the establishment, exercise or defence of legal claims.
    LegalClaims,
}

impl RetentionBasis {
    pub const ALL: [RetentionBasis; 5] = [
        RetentionBasis::FreedomOfExpression,
        RetentionBasis::LegalObligation,
        RetentionBasis::PublicHealth,
        RetentionBasis::Archiving,
        RetentionBasis::LegalClaims,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RetentionBasis::FreedomOfExpression => "freedom-of-expression",
            RetentionBasis::LegalObligation => "legal-obligation",
            RetentionBasis::PublicHealth => "public-health",
            RetentionBasis::Archiving => "archiving",
            RetentionBasis::LegalClaims => "legal-claims",
        }
    }

    /// The provision, as cited to the person.
    pub fn article(self) -> &'static str {
        match self {
            RetentionBasis::FreedomOfExpression => "Art. 17(3)(a)",
            RetentionBasis::LegalObligation => "Art. 17(3)(b)",
            RetentionBasis::PublicHealth => "Art. 17(3)(c)",
            RetentionBasis::Archiving => "Art. 17(3)(d)",
            RetentionBasis::LegalClaims => "Art. 17(3)(e)",
        }
    }
}

impl FromStr for RetentionBasis {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        RetentionBasis::ALL.into_iter().find(|b| b.as_str() == s).ok_or(())
    }
}

/// `erasure = { … }` on a collection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRule {
    pub action: ErasureAction,
    /// `anonymise`: field → method, applied in this (alphabetical) order.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldMethod>,
    /// `anonymise`: what the person reads for a field ("Second email address") instead of the
    /// column's name; a rectifiable field's `label` is used when it has one.
    #[serde(default)]
    pub labels: BTreeMap<String, Text>,
    /// `retain`: the Art. 17(3) exception.
    #[serde(default)]
    pub basis: Option<RetentionBasis>,
    /// `retain`: the law or reason that requires keeping the record, as told to the person
    /// ("Code de commerce, art. L123-22: accounting records are kept 10 years").
    #[serde(default)]
    pub law: Option<Text>,
    /// `retain`: how long, counted from `from_column` (or from the day the plan is made).
    #[serde(default)]
    pub years: Option<u32>,
    #[serde(default)]
    pub months: Option<u32>,
    /// `retain`: the column holding the date the retention counts from (an invoice's date).
    #[serde(default)]
    pub from_column: Option<String>,
}

/// The format a rectified value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldType {
    Text,
    Email,
    /// International format, E.164 (`+33612345678`).
    Phone,
    PostalCode,
    /// `YYYY-MM-DD`.
    Date,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::PostalCode => "postal-code",
            FieldType::Date => "date",
        }
    }
}

impl FromStr for FieldType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [FieldType::Text, FieldType::Email, FieldType::Phone, FieldType::PostalCode, FieldType::Date]
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

/// One entry of `rectifiable`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RectifiableField {
    /// The column (or CSV header) holding the value.
    pub field: String,
    #[serde(rename = "type", default = "default_field_type")]
    pub kind: FieldType,
    /// What the person sees; default: the field's name.
    #[serde(default)]
    pub label: Option<Text>,
}

fn default_field_type() -> FieldType {
    FieldType::Text
}

/// What a person may object to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Art. 21(2)-(3): direct marketing, including related profiling. Absolute: honoured at once,
    /// without review.
    DirectMarketing,
    /// Art. 7(3): withdrawal of consent, at any time and as easily as it was given. Honoured at once,
    /// in every collection whose `art15.basis` is consent (see [`super::objection`]).
    ConsentWithdrawal,
    /// Art. 21(1): processing based on legitimate interests or a public task. Staff review it: the
    /// controller may show compelling legitimate grounds.
    LegitimateInterests,
    /// Art. 18: restriction of processing (while accuracy is contested or an objection examined).
    Restriction,
}

impl Purpose {
    pub const ALL: [Purpose; 4] =
        [Purpose::DirectMarketing, Purpose::ConsentWithdrawal, Purpose::LegitimateInterests, Purpose::Restriction];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::DirectMarketing => "direct-marketing",
            Purpose::ConsentWithdrawal => "consent-withdrawal",
            Purpose::LegitimateInterests => "legitimate-interests",
            Purpose::Restriction => "restriction",
        }
    }

    /// GDPR Art. 21(3): "the personal data shall no longer be processed for such purposes" — no
    /// balancing, no review; Art. 7(3): consent may be withdrawn at any time, likewise.
    pub fn is_absolute(self) -> bool {
        matches!(self, Purpose::DirectMarketing | Purpose::ConsentWithdrawal)
    }
}

impl FromStr for Purpose {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `objections`: objecting to `purpose` writes `set` into each of the person's
/// records of the collection (`no_email = 1`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRule {
    pub purpose: Purpose,
    /// What the person sees ("Newsletters and offers by email"); default: the purpose's name.
    #[serde(default)]
    pub label: Option<Text>,
    pub set: BTreeMap<String, serde_json::Value>,
}

/// A fixed value is written into one field: a string, number, boolean or null, never a list or table.
pub(super) fn ensure_scalar(collection: &str, field: &str, value: &serde_json::Value) -> anyhow::Result<()> {
    anyhow::ensure!(
        !value.is_array() && !value.is_object(),
        "collection `{collection}`: the value written into `{field}` must be a single value (text, number or \
         boolean), not a list or table"
    );
    Ok(())
}

/// A collection's rules, gathered from its configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// The columns that identify one record; needed by any rule that changes records.
    pub key: Vec<String>,
    /// `None`: no rule configured; the records are reported to staff as needing a decision.
    pub erasure: Option<ErasureRule>,
    pub rectifiable: Vec<RectifiableField>,
    pub objections: Vec<ObjectionRule>,
}

impl Rules {
    /// Checks the rules make sense together; the message names the collection and what to fix.
    pub fn validate(&self, collection: &str) -> anyhow::Result<()> {
        // A retained record is deleted once its retention has ended, so it needs a key too.
        let changes = self.erasure.as_ref().is_some_and(|e| e.action != ErasureAction::Shared)
            || !self.rectifiable.is_empty()
            || !self.objections.is_empty();
        anyhow::ensure!(
            !changes || !self.key.is_empty(),
            "collection `{collection}`: its rules change records, so it needs `key` (the column or \
             columns that identify one record, e.g. `key = [\"id\"]`)"
        );
        if let Some(rule) = &self.erasure {
            let (fields, retention) = (
                !rule.fields.is_empty(),
                rule.basis.is_some()
                    || rule.law.is_some()
                    || rule.years.is_some()
                    || rule.months.is_some()
                    || rule.from_column.is_some(),
            );
            match rule.action {
                ErasureAction::Anonymise => {
                    anyhow::ensure!(
                        fields,
                        "collection `{collection}`: `erasure.action = \"anonymise\"` needs `fields` \
                         (field = \"null\" | \"mask\" | \"hash\" | {{ value = … }})"
                    );
                    anyhow::ensure!(
                        !retention,
                        "collection `{collection}`: `basis`, `law`, `years`, `months` and `from_column` \
                         belong to `action = \"retain\"`"
                    );
                    for field in rule.fields.keys() {
                        anyhow::ensure!(
                            !self.key.contains(field),
                            "collection `{collection}`: the key column `{field}` cannot be anonymised"
                        );
                    }
                    for field in rule.labels.keys() {
                        anyhow::ensure!(
                            rule.fields.contains_key(field),
                            "collection `{collection}`: `erasure.labels` names `{field}`, which is not in `fields`"
                        );
                    }
                }
                ErasureAction::Retain => {
                    anyhow::ensure!(
                        rule.basis.is_some(),
                        "collection `{collection}`: a retained record needs its legal `basis` \
                         (legal-obligation, legal-claims, freedom-of-expression, public-health, archiving)"
                    );
                    anyhow::ensure!(
                        rule.years.unwrap_or(0) + rule.months.unwrap_or(0) > 0,
                        "collection `{collection}`: a retained record needs how long it is kept \
                         (`years` and/or `months`), so the person is told until when"
                    );
                    anyhow::ensure!(
                        !fields && rule.labels.is_empty(),
                        "collection `{collection}`: `fields` and `labels` belong to `action = \"anonymise\"`"
                    );
                }
                ErasureAction::Delete | ErasureAction::Shared => {
                    anyhow::ensure!(
                        !fields && !retention && rule.labels.is_empty(),
                        "collection `{collection}`: `erasure.action = \"{}\"` takes no other setting",
                        rule.action.as_str()
                    );
                }
            }
        }
        for (i, r) in self.rectifiable.iter().enumerate() {
            anyhow::ensure!(
                self.rectifiable[..i].iter().all(|o| o.field != r.field),
                "collection `{collection}`: field `{}` is listed twice in `rectifiable`",
                r.field
            );
            anyhow::ensure!(
                !self.key.contains(&r.field),
                "collection `{collection}`: the key column `{}` cannot be rectifiable",
                r.field
            );
        }
        for o in &self.objections {
            anyhow::ensure!(
                !o.set.is_empty(),
                "collection `{collection}`: the objection to {} needs `set` (e.g. `set = {{ no_email = 1 }}`)",
                o.purpose
            );
            for (field, value) in &o.set {
                anyhow::ensure!(
                    !self.key.contains(field),
                    "collection `{collection}`: the objection to {} cannot write the key column `{field}`",
                    o.purpose
                );
                super::objection::ensure_value(collection, field, value)?;
            }
        }
        if let Some(rule) = &self.erasure {
            for (field, method) in &rule.fields {
                if let FieldMethod::Value(value) = method {
                    ensure_scalar(collection, field, value)?;
                }
            }
        }
        Ok(())
    }

    /// Refuses rules that would change the columns a record is matched by (its email columns, or
    /// the column a `via` reference follows): a correction there could hand one person's records
    /// to another address (and is not verified), an objection could detach them.
    pub fn ensure_matching_untouched(&self, collection: &str, matching: &[&str]) -> anyhow::Result<()> {
        let matching: Vec<String> = matching.iter().map(|c| c.trim().to_owned()).collect();
        for r in &self.rectifiable {
            anyhow::ensure!(
                !matching.contains(&r.field),
                "collection `{collection}`: `{}` finds the person's records, so it cannot be rectifiable \
                 (a new address must be proven first: ask the person to make a new request from it)",
                r.field
            );
        }
        for o in &self.objections {
            if let Some(field) = o.set.keys().find(|f| matching.contains(f)) {
                anyhow::bail!(
                    "collection `{collection}`: the objection to {} cannot write `{field}`, which finds the person's records",
                    o.purpose
                );
            }
        }
        Ok(())
    }

    /// Every column these rules read or write on the collection's own table or file, key first.
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.key.iter().map(String::as_str).collect();
        out.extend(self.needed_columns().into_iter().filter(|c| !self.key.iter().any(|k| k == c)));
        if let Some(rule) = &self.erasure {
            out.extend(rule.fields.keys().map(String::as_str));
        }
        out.extend(self.objections.iter().flat_map(|o| o.set.keys().map(String::as_str)));
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| seen.insert(*c));
        out
    }

    /// The columns whose current values planning needs (beyond the key): the retention start
    /// date and the rectifiable fields.
    pub fn needed_columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(c) = self.erasure.as_ref().and_then(|e| e.from_column.as_deref()) {
            out.push(c);
        }
        out.extend(self.rectifiable.iter().map(|r| r.field.as_str()));
        out
    }

    /// Whether a subject's records in this collection must be located at all.
    pub fn is_empty(&self) -> bool {
        self.erasure.is_none() && self.rectifiable.is_empty() && self.objections.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str) -> Rules {
        #[derive(Deserialize)]
        struct C {
            #[serde(default)]
            key: Vec<String>,
            erasure: Option<ErasureRule>,
            #[serde(default)]
            rectifiable: Vec<RectifiableField>,
            #[serde(default)]
            objections: Vec<ObjectionRule>,
        }
        let c: C = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
        Rules { key: c.key, erasure: c.erasure, rectifiable: c.rectifiable, objections: c.objections }
    }

    fn error(toml_text: &str) -> String {
        rules(toml_text).validate("contacts").unwrap_err().to_string()
    }

    #[test]
    fn parses_every_form_a_rule_takes() {
        let r = rules(
            r#"
            key = ["id"]
            erasure = { action = "anonymise", fields = { first_name = "null", email = "hash", phone = "mask", city = { value = "—" } } }
            rectifiable = [{ field = "phone", type = "phone" }, { field = "city" }]
            objections = [{ purpose = "direct-marketing", set = { no_email = 1 } }]
            "#,
        );
        r.validate("contacts").unwrap();
        let e = r.erasure.as_ref().unwrap();
        assert_eq!(e.fields["first_name"], FieldMethod::Null);
        assert_eq!(e.fields["city"], FieldMethod::Value(serde_json::json!("—")));
        assert_eq!(r.rectifiable[1].kind, FieldType::Text);
        assert_eq!(r.columns(), vec!["id", "phone", "city", "email", "first_name", "no_email"]);
        let retain = rules(
            r#"
            key = ["id"]
            erasure = { action = "retain", basis = "legal-obligation", years = 10, from_column = "issued_on", law = { en = "Commercial Code L123-22", fr = "Code de commerce, art. L123-22" } }
            "#,
        );
        retain.validate("invoices").unwrap();
        assert_eq!(retain.needed_columns(), vec!["issued_on"]);
    }

    #[test]
    fn nonsense_is_refused_with_what_to_fix() {
        assert!(error(r#"erasure = { action = "delete" }"#).contains("needs `key`"));
        assert!(error("key = [\"id\"]\nerasure = { action = \"anonymise\" }").contains("needs `fields`"));
        assert!(error("key = [\"id\"]\nerasure = { action = \"retain\", years = 10 }").contains("legal `basis`"));
        assert!(
            error("key = [\"id\"]\nerasure = { action = \"retain\", basis = \"legal-claims\" }").contains("how long")
        );
        assert!(error("key = [\"id\"]\nerasure = { action = \"delete\", years = 1 }").contains("takes no other"));
        assert!(
            error("key = [\"id\"]\nerasure = { action = \"anonymise\", fields = { id = \"null\" } }")
                .contains("cannot be anonymised")
        );
        assert!(
            error("key = [\"id\"]\nobjections = [{ purpose = \"direct-marketing\", set = {} }]")
                .contains("needs `set`")
        );
        assert!(
            error("key = [\"id\"]\nobjections = [{ purpose = \"direct-marketing\", set = { id = 0 } }]")
                .contains("cannot write the key column")
        );
        assert!(
            error("key = [\"id\"]\nerasure = { action = \"anonymise\", fields = { tags = { value = [1] } } }")
                .contains("single value")
        );
        let bad: Result<ErasureRule, _> = toml::from_str("action = \"anonymise\"\nfields = { a = \"scramble\" }");
        assert!(bad.unwrap_err().to_string().contains("unknown anonymisation `scramble`"));
    }

    #[test]
    fn the_columns_that_find_a_person_are_never_corrected_or_suppressed() {
        let r = rules("key = [\"id\"]\nrectifiable = [{ field = \"email\", type = \"email\" }]");
        assert!(
            r.ensure_matching_untouched("contacts", &["email"])
                .unwrap_err()
                .to_string()
                .contains("cannot be rectifiable")
        );
        let r = rules("key = [\"id\"]\nobjections = [{ purpose = \"direct-marketing\", set = { contact_id = 0 } }]");
        assert!(r.ensure_matching_untouched("events", &["contact_id"]).is_err());
        let r = rules("key = [\"id\"]\nrectifiable = [{ field = \"phone\", type = \"phone\" }]");
        r.ensure_matching_untouched("contacts", &["email"]).unwrap();
    }

    #[test]
    fn only_direct_marketing_and_consent_withdrawal_are_absolute() {
        assert!(Purpose::DirectMarketing.is_absolute());
        assert!(Purpose::ConsentWithdrawal.is_absolute());
        assert!(!Purpose::LegitimateInterests.is_absolute());
        assert!(!Purpose::Restriction.is_absolute());
        for p in Purpose::ALL {
            assert_eq!(p.as_str().parse(), Ok(p));
        }
        for b in RetentionBasis::ALL {
            assert_eq!(b.as_str().parse(), Ok(b));
        }
    }
}
