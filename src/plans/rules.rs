//! The per-collection rules an operator writes in the configuration, beside the collection's
//! table or file (see `docs/connectors.md`, "Erasure, rectification and objection"):
//!
//! ```toml
//! key = ["id"]
//! erasure = { action = "anonymise", fields = { first_name = "null", email = "null", city = { value = "—" } } }
//! rectifiable = [{ field = "phone", type = "phone", label = { en = "Phone", fr = "Téléphone" } }]
//! objections = [{ purpose = "direct-marketing", set = { no_email = 1 } }]
//! ```
//!
//! An erasure rule may depend on the row: the first `when` whose condition holds applies, else
//! `default` (required):
//!
//! ```toml
//! [erasure]
//! when = [{ where = "status <> 'draft'", action = "retain", basis = "legal-obligation", years = 10,
//!           from_column = "issued_on", count_from = "financial-year-end" }]
//! default = { action = "delete" }
//! ```
//!
//! A column named `<parent>.<column>` in a rule (a retention anchor, a condition's field) is the
//! column of the row's `via` parent (`orders.ordered_on` for an order line), never one of the
//! row's own ([`is_qualified`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::Text;
use crate::domain::condition::Condition;

/// What erasing one of the collection's records does: the one list of erasure actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErasureAction {
    /// The record is deleted.
    Delete,
    /// Anonymised by unlinking: the fields that tie the record to the person are cleared (NULL or
    /// a fixed value); the rest stays (statistics, referential integrity). Nothing of the person
    /// is left to recover, so no keyed hash or mask (GDPR Recital 26).
    Anonymise,
    /// Pseudonymised and kept: fields replaced by a keyed pseudonym or a mask, which Dossier's
    /// key or the other fields can still tie back to the person (GDPR Art. 4(5)). Still personal
    /// data, so kept only under an Art. 17(3) ground and for a period, like `retain`.
    Pseudonymise,
    /// The record is kept, untouched, under an Art. 17(3) exception, until its retention ends.
    Retain,
    /// The record also concerns other people (a company shared by many contacts). Never deleted
    /// by one person's request; the person's own fields on it are cleared (`fields`), or the link
    /// to it is cleared by another rule (`unlinked_by`), or it is kept under an Art. 17(3) ground
    /// (`basis`). "It concerns other people" alone is not a ground.
    Shared,
}

impl ErasureAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ErasureAction::Delete => "delete",
            ErasureAction::Anonymise => "anonymise",
            ErasureAction::Pseudonymise => "pseudonymise",
            ErasureAction::Retain => "retain",
            ErasureAction::Shared => "shared",
        }
    }
}

/// What erasing writes into one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldMethod {
    /// Set to NULL (an empty field in a CSV file).
    Null,
    /// Masked: the first character of each word kept, the rest replaced by `*` (text only).
    /// Pseudonymisation: the rest of the record can still point to the person.
    Mask,
    /// Replaced by a keyed pseudonym (`anon-…`): equal values stay equal, and Dossier's key ties
    /// the pseudonym back to the value (text only). Pseudonymisation (GDPR Art. 4(5)).
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
    /// Whether the field keeps something derived from the value (a pseudonym, a mask), which
    /// only `pseudonymise` may do.
    pub fn pseudonymises(&self) -> bool {
        matches!(self, FieldMethod::Mask | FieldMethod::Hash)
    }

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

/// Where a kept record's period counts from, given its anchor date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountFrom {
    /// The anchor date itself (the default).
    Date,
    /// The end of the controller's financial year that contains the anchor date (accounting
    /// documents: Code de commerce, art. L123-22 counts from the closing of the year).
    FinancialYearEnd,
}

/// One erasure action and its settings: `erasure = { action = … }`, a `when` entry or `default`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRule {
    pub action: ErasureAction,
    /// `anonymise`, `shared`: field → `null` or `{ value = … }`; `pseudonymise`: also `hash` or
    /// `mask`. Applied in this (alphabetical) order.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldMethod>,
    /// What the person reads for a field ("Second email address") instead of the column's name;
    /// a rectifiable field's `label` is used when it has one.
    #[serde(default)]
    pub labels: BTreeMap<String, Text>,
    /// `retain`, `pseudonymise` (and `shared` when kept on a ground): the Art. 17(3) exception.
    #[serde(default)]
    pub basis: Option<RetentionBasis>,
    /// The law or reason that requires keeping the record, as told to the person
    /// ("Code de commerce, art. L123-22: accounting records are kept 10 years").
    #[serde(default)]
    pub law: Option<Text>,
    /// How long a kept record is kept, counted from its anchor.
    #[serde(default)]
    pub years: Option<u32>,
    #[serde(default)]
    pub months: Option<u32>,
    /// The anchor: the row's date column (`issued_on`), or its `via` parent's
    /// (`orders.ordered_on`).
    #[serde(default)]
    pub from_column: Option<String>,
    /// `financial-year-end`: the period starts at the end of the controller's financial year
    /// containing the anchor date.
    #[serde(default)]
    pub count_from: Option<CountFrom>,
    /// `shared`: `"<collection>.<column>"`, the reference another collection's erasure clears,
    /// which unlinks this record from the person (`contacts.company_id`).
    #[serde(default)]
    pub unlinked_by: Option<String>,
}

impl ActionRule {
    /// Whether this action keeps the record for a period, which then needs a ground and an anchor.
    pub fn keeps(&self) -> bool {
        match self.action {
            ErasureAction::Retain | ErasureAction::Pseudonymise => true,
            ErasureAction::Shared => self.basis.is_some(),
            ErasureAction::Delete | ErasureAction::Anonymise => false,
        }
    }

    /// Whether executing this action changes the record.
    pub fn changes(&self) -> bool {
        match self.action {
            ErasureAction::Delete | ErasureAction::Anonymise | ErasureAction::Pseudonymise => true,
            ErasureAction::Shared => !self.fields.is_empty(),
            ErasureAction::Retain => false,
        }
    }
}

/// One `when` entry: `{ where = "<condition>", action = …, … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhenRule {
    pub condition: Condition,
    pub rule: ActionRule,
}

/// `erasure = …` on a collection: one action for every row, or per-row `when` entries tried in
/// order with a `default` for the rows none matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRule {
    pub when: Vec<WhenRule>,
    /// Required with `when` (checked by [`Rules::validate`], which names the collection); the one
    /// action when there is no `when`.
    pub default: Option<ActionRule>,
}

impl ErasureRule {
    /// One action for every row.
    pub fn single(rule: ActionRule) -> Self {
        Self { when: Vec::new(), default: Some(rule) }
    }

    /// Every action the rule may take, `when` entries first.
    pub fn actions(&self) -> impl Iterator<Item = &ActionRule> {
        self.when.iter().map(|w| &w.rule).chain(self.default.as_ref())
    }

    /// The same, to normalise names (a CSV connector trims its headers).
    pub fn actions_mut(&mut self) -> impl Iterator<Item = &mut ActionRule> {
        self.when.iter_mut().map(|w| &mut w.rule).chain(self.default.as_mut())
    }

    /// The action for a row, reading its values through `field`: the first `when` that holds.
    pub fn select<'a>(&self, field: impl Fn(&str) -> Option<&'a serde_json::Value>) -> Option<&ActionRule> {
        self.when.iter().find(|w| w.condition.matches(&field)).map(|w| &w.rule).or(self.default.as_ref())
    }

    /// Whether every action the rule may take is `action`.
    pub fn always(&self, action: ErasureAction) -> bool {
        self.actions().all(|a| a.action == action)
    }
}

impl<'de> Deserialize<'de> for ErasureRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        if !map.contains_key("when") && !map.contains_key("default") {
            let rule = ActionRule::deserialize(serde_json::Value::Object(map)).map_err(D::Error::custom)?;
            return Ok(Self::single(rule));
        }
        if let Some(other) = map.keys().find(|k| *k != "when" && *k != "default") {
            return Err(D::Error::custom(format!(
                "`erasure` with `when` takes only `when` and `default` (found `{other}`): put the action of the \
                 rows no `when` matches in `default = {{ action = … }}`"
            )));
        }
        let default = match map.remove("default") {
            Some(v) => Some(ActionRule::deserialize(v).map_err(|e| D::Error::custom(format!("`default`: {e}")))?),
            None => None,
        };
        let entries = match map.remove("when") {
            Some(serde_json::Value::Array(entries)) => entries,
            Some(_) => return Err(D::Error::custom("`when` is a list: `when = [{ where = \"…\", action = … }]`")),
            None => Vec::new(),
        };
        let mut when = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let serde_json::Value::Object(mut entry) = entry else {
                return Err(D::Error::custom(format!("`when[{i}]` is a table: {{ where = \"…\", action = … }}")));
            };
            let condition = match entry.remove("where") {
                Some(serde_json::Value::String(text)) => {
                    text.parse::<Condition>().map_err(|e| D::Error::custom(format!("`when[{i}].where`: {e}")))?
                }
                _ => {
                    return Err(D::Error::custom(format!(
                        "`when[{i}]` needs `where = \"<condition>\"` (e.g. \"status <> 'draft'\")"
                    )));
                }
            };
            let rule = ActionRule::deserialize(serde_json::Value::Object(entry))
                .map_err(|e| D::Error::custom(format!("`when[{i}]`: {e}")))?;
            when.push(WhenRule { condition, rule });
        }
        Ok(Self { when, default })
    }
}

/// Written (in a plan, a source's description) in the same form as configured.
impl Serialize for ErasureRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct When<'a> {
            #[serde(rename = "where")]
            condition: &'a Condition,
            #[serde(flatten)]
            rule: &'a ActionRule,
        }
        #[derive(Serialize)]
        struct Rows<'a> {
            when: Vec<When<'a>>,
            default: &'a Option<ActionRule>,
        }
        match (&self.when[..], &self.default) {
            ([], Some(rule)) => rule.serialize(s),
            _ => Rows {
                when: self.when.iter().map(|w| When { condition: &w.condition, rule: &w.rule }).collect(),
                default: &self.default,
            }
            .serialize(s),
        }
    }
}

/// Checks each `shared` action's `unlinked_by = "<collection>.<column>"`: that collection is in
/// the same source and every action its erasure may take deletes the row or clears the column
/// (NULL or a fixed value). Otherwise the shared record would stay linked to the person while the
/// certificate says it no longer is. `rules_of` finds a collection's rules by name.
pub fn ensure_unlinked<'a>(
    source: &str,
    collection: &str,
    rules: &Rules,
    rules_of: impl Fn(&str) -> Option<&'a Rules>,
) -> anyhow::Result<()> {
    let Some(erasure) = &rules.erasure else { return Ok(()) };
    for link in erasure.actions().filter_map(|a| a.unlinked_by.as_deref()) {
        let Some((other, column)) = link.split_once('.') else { continue };
        let Some(other_rules) = rules_of(other) else {
            anyhow::bail!(
                "source `{source}`: collection `{collection}`, key `erasure.unlinked_by`: there is no collection \
                 `{other}` in this source"
            );
        };
        let clears = other_rules.erasure.as_ref().is_some_and(|e| {
            e.actions().all(|a| {
                a.action == ErasureAction::Delete
                    || (a.action != ErasureAction::Retain && a.fields.get(column).is_some_and(|m| !m.pseudonymises()))
            })
        });
        anyhow::ensure!(
            clears,
            "source `{source}`: collection `{collection}`, key `erasure.unlinked_by`: the erasure of `{other}` \
             does not always clear `{column}` (add `{column} = \"null\"` to its `fields`, or delete its rows), so \
             this record would stay linked to the person"
        );
    }
    Ok(())
}

/// Whether a column named by a rule is its `via` parent's (`orders.ordered_on`) rather than the
/// row's own: connectors read it from the parent, never from the row's table or file.
pub fn is_qualified(column: &str) -> bool {
    column.contains('.')
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
        // A kept record is erased once its period has ended, so it needs a key too.
        let changes = self
            .erasure
            .as_ref()
            .is_some_and(|e| e.actions().any(|a| a.action != ErasureAction::Shared || a.changes()))
            || !self.rectifiable.is_empty()
            || !self.objections.is_empty();
        anyhow::ensure!(
            !changes || !self.key.is_empty(),
            "collection `{collection}`: its rules change records, so it needs `key` (the column or \
             columns that identify one record, e.g. `key = [\"id\"]`)"
        );
        if let Some(erasure) = &self.erasure {
            anyhow::ensure!(
                erasure.default.is_some(),
                "collection `{collection}`, key `erasure.default`: `erasure.when` needs a `default = {{ action = … }}` \
                 for the rows no `when` matches"
            );
            let single = erasure.when.is_empty();
            for (i, w) in erasure.when.iter().enumerate() {
                self.validate_action(collection, &format!("erasure.when[{i}]"), &w.rule)?;
            }
            if let Some(rule) = &erasure.default {
                self.validate_action(collection, if single { "erasure" } else { "erasure.default" }, rule)?;
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
        Ok(())
    }

    /// Checks one erasure action; `at` is where it is written (`erasure`, `erasure.when[0]`, …).
    fn validate_action(&self, collection: &str, at: &str, rule: &ActionRule) -> anyhow::Result<()> {
        let period = rule.years.unwrap_or(0) + rule.months.unwrap_or(0) > 0;
        let retention = rule.basis.is_some()
            || rule.law.is_some()
            || rule.years.is_some()
            || rule.months.is_some()
            || rule.from_column.is_some()
            || rule.count_from.is_some();
        for field in rule.fields.keys() {
            anyhow::ensure!(
                !self.key.contains(field),
                "collection `{collection}`, key `{at}.fields.{field}`: the key column `{field}` cannot be changed by an erasure"
            );
        }
        for field in rule.labels.keys() {
            anyhow::ensure!(
                rule.fields.contains_key(field),
                "collection `{collection}`, key `{at}.labels.{field}`: `{field}` is not in `fields`"
            );
        }
        for (field, method) in &rule.fields {
            if let FieldMethod::Value(value) = method {
                ensure_scalar(collection, field, value)?;
            }
        }
        anyhow::ensure!(
            rule.unlinked_by.is_none() || rule.action == ErasureAction::Shared,
            "collection `{collection}`, key `{at}.unlinked_by`: only `action = \"shared\"` takes `unlinked_by`"
        );
        let clears = |what: &str| -> anyhow::Result<()> {
            if let Some((field, _)) = rule.fields.iter().find(|(_, m)| m.pseudonymises()) {
                anyhow::bail!(
                    "collection `{collection}`, key `{at}.fields.{field}`: `action = \"{what}\"` only clears fields \
                     (\"null\" or {{ value = … }}), while \"hash\" and \"mask\" keep a pseudonym, which is \
                     pseudonymisation (GDPR Art. 4(5)): clear the field with \"null\", or write `action = \
                     \"pseudonymise\"` with a `basis`, `years` and `from_column` (docs/connectors.md, \"Upgrading\")"
                );
            }
            Ok(())
        };
        match rule.action {
            ErasureAction::Delete => anyhow::ensure!(
                rule.fields.is_empty() && rule.labels.is_empty() && !retention,
                "collection `{collection}`, key `{at}`: `action = \"delete\"` takes no other setting"
            ),
            ErasureAction::Anonymise => {
                anyhow::ensure!(
                    !rule.fields.is_empty(),
                    "collection `{collection}`, key `{at}.fields`: `action = \"anonymise\"` needs the fields that tie \
                     the record to the person, each cleared (field = \"null\" | {{ value = … }})"
                );
                clears("anonymise")?;
                anyhow::ensure!(
                    !retention,
                    "collection `{collection}`, key `{at}`: an anonymised record is no longer the person's, so \
                     `basis`, `law`, `years`, `months`, `from_column` and `count_from` do not apply (use \
                     `action = \"pseudonymise\"` to keep it under a ground)"
                );
            }
            ErasureAction::Pseudonymise => {
                anyhow::ensure!(
                    !rule.fields.is_empty(),
                    "collection `{collection}`, key `{at}.fields`: `action = \"pseudonymise\"` needs `fields` \
                     (field = \"hash\" | \"mask\" | \"null\" | {{ value = … }})"
                );
                self.validate_kept(collection, at, rule, period)?;
            }
            ErasureAction::Retain => {
                anyhow::ensure!(
                    rule.fields.is_empty() && rule.labels.is_empty(),
                    "collection `{collection}`, key `{at}.fields`: a retained record is kept as it is; to change \
                     fields, use `action = \"pseudonymise\"`"
                );
                self.validate_kept(collection, at, rule, period)?;
            }
            ErasureAction::Shared => {
                clears("shared")?;
                anyhow::ensure!(
                    !rule.fields.is_empty() || rule.unlinked_by.is_some() || rule.basis.is_some(),
                    "collection `{collection}`, key `{at}`: a record that also concerns other people is not kept for \
                     that reason alone (GDPR Art. 17(3) does not list it): clear the person's own fields on it \
                     (`fields`), name the reference another collection's erasure clears (`unlinked_by = \
                     \"contacts.company_id\"`), or give an Art. 17(3) `basis` with its period"
                );
                if let Some(link) = &rule.unlinked_by {
                    anyhow::ensure!(
                        link.split_once('.').is_some_and(|(c, col)| !c.trim().is_empty() && !col.trim().is_empty()),
                        "collection `{collection}`, key `{at}.unlinked_by`: write `\"<collection>.<column>\"`, the \
                         reference another collection's erasure clears (e.g. \"contacts.company_id\")"
                    );
                }
                if retention {
                    self.validate_kept(collection, at, rule, period)?;
                }
            }
        }
        Ok(())
    }

    /// A record kept for a period: a ground, a period and the date it counts from.
    fn validate_kept(&self, collection: &str, at: &str, rule: &ActionRule, period: bool) -> anyhow::Result<()> {
        let action = rule.action.as_str();
        anyhow::ensure!(
            rule.basis.is_some(),
            "collection `{collection}`, key `{at}.basis`: a record kept by `action = \"{action}\"` needs its GDPR \
             Art. 17(3) ground (legal-obligation, legal-claims, freedom-of-expression, public-health, archiving)"
        );
        anyhow::ensure!(
            period,
            "collection `{collection}`, key `{at}.years`: a record kept by `action = \"{action}\"` needs how long it \
             is kept (`years` and/or `months`), so the person is told until when"
        );
        match rule.from_column.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() && !c.starts_with('.') && !c.ends_with('.') => Ok(()),
            _ => anyhow::bail!(
                "collection `{collection}`, key `{at}.from_column`: a record kept by `action = \"{action}\"` needs \
                 the date its period counts from: add `from_column = \"<date column>\"` (or \
                 `\"<via parent>.<date column>\"`, e.g. \"orders.ordered_on\"), and `count_from = \
                 \"financial-year-end\"` when the period runs from the end of the financial year"
            ),
        }
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

    /// Every column these rules read or write on the collection's own table or file, key first
    /// (a parent's column, `orders.ordered_on`, is not one: see [`is_qualified`]).
    pub fn columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.key.iter().map(String::as_str).collect();
        out.extend(self.row_columns());
        if let Some(rule) = &self.erasure {
            out.extend(rule.actions().flat_map(|a| a.fields.keys().map(String::as_str)));
        }
        out.extend(self.objections.iter().flat_map(|o| o.set.keys().map(String::as_str)));
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| seen.insert(*c));
        out
    }

    /// The columns whose current values planning needs (beyond the key): the fields of the
    /// `when` conditions, the retention anchors and the rectifiable fields. A qualified name
    /// (`orders.ordered_on`) is the `via` parent's column: the connector puts the parent's value
    /// in the located row's values under that name.
    pub fn needed_columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(rule) = &self.erasure {
            out.extend(rule.when.iter().flat_map(|w| w.condition.fields()));
            out.extend(rule.actions().filter_map(|a| a.from_column.as_deref()));
        }
        out.extend(self.rectifiable.iter().map(|r| r.field.as_str()));
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| seen.insert(*c));
        out
    }

    /// [`Rules::needed_columns`] read from the row itself (the qualified ones left out).
    pub fn row_columns(&self) -> Vec<&str> {
        let mut out = self.needed_columns();
        out.retain(|c| !is_qualified(c));
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
            erasure = { action = "pseudonymise", fields = { first_name = "null", email = "hash", phone = "mask", city = { value = "—" } }, basis = "legal-claims", years = 3, from_column = "created_on" }
            rectifiable = [{ field = "phone", type = "phone" }, { field = "city" }]
            objections = [{ purpose = "direct-marketing", set = { no_email = 1 } }]
            "#,
        );
        r.validate("contacts").unwrap();
        let e = r.erasure.as_ref().unwrap().default.as_ref().unwrap();
        assert_eq!(e.fields["first_name"], FieldMethod::Null);
        assert_eq!(e.fields["city"], FieldMethod::Value(serde_json::json!("—")));
        assert_eq!(r.rectifiable[1].kind, FieldType::Text);
        assert_eq!(r.columns(), vec!["id", "created_on", "phone", "city", "email", "first_name", "no_email"]);
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
        assert!(error("key = [\"id\"]\nerasure = { action = \"anonymise\" }").contains("needs the fields"));
        assert!(
            error("key = [\"id\"]\nerasure = { action = \"retain\", years = 10, from_column = \"d\" }")
                .contains("Art. 17(3) ground")
        );
        assert!(
            error("key = [\"id\"]\nerasure = { action = \"retain\", basis = \"legal-claims\", from_column = \"d\" }")
                .contains("how long")
        );
        assert!(error("key = [\"id\"]\nerasure = { action = \"delete\", years = 1 }").contains("takes no other"));
        assert!(
            error("key = [\"id\"]\nerasure = { action = \"anonymise\", fields = { id = \"null\" } }")
                .contains("cannot be changed by an erasure")
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
    fn an_anonymisation_that_keeps_a_pseudonym_is_refused_with_its_new_spelling() {
        for method in ["hash", "mask"] {
            let e = error(&format!(
                "key = [\"id\"]\nerasure = {{ action = \"anonymise\", fields = {{ email = \"{method}\" }} }}"
            ));
            assert!(e.starts_with("collection `contacts`, key `erasure.fields.email`: "), "{e}");
            assert!(
                e.contains("pseudonymisation (GDPR Art. 4(5))")
                    && e.contains("`action = \"pseudonymise\"` with a `basis`, `years` and `from_column`"),
                "{e}"
            );
            assert!(e.contains("\"Upgrading\""), "{e}");
        }
        // The same for a `shared` record's own fields.
        let e = error("key = [\"id\"]\nerasure = { action = \"shared\", fields = { name = \"hash\" } }");
        assert!(e.contains("key `erasure.fields.name`") && e.contains("pseudonymisation"), "{e}");
    }

    #[test]
    fn kept_records_need_a_ground_a_period_and_an_anchor() {
        for action in ["retain", "pseudonymise"] {
            let fields = if action == "pseudonymise" { ", fields = { email = \"hash\" }" } else { "" };
            let e = error(&format!(
                "key = [\"id\"]\nerasure = {{ action = \"{action}\", basis = \"legal-obligation\", years = 10{fields} }}"
            ));
            assert!(e.starts_with("collection `contacts`, key `erasure.from_column`: "), "{e}");
            assert!(e.contains("`from_column = \"<date column>\"`") && e.contains("\"orders.ordered_on\""), "{e}");
            let e = error(&format!(
                "key = [\"id\"]\nerasure = {{ action = \"{action}\", years = 1, from_column = \"d\"{fields} }}"
            ));
            assert!(e.contains("key `erasure.basis`"), "{e}");
        }
        // An anonymised record is no longer the person's: no ground, no period.
        let e = error(
            "key = [\"id\"]\nerasure = { action = \"anonymise\", fields = { a = \"null\" }, basis = \"legal-claims\" }",
        );
        assert!(e.contains("no longer the person's"), "{e}");
        let e = error(
            "key = [\"id\"]\nerasure = { action = \"retain\", basis = \"legal-claims\", years = 1, from_column = \"d\", fields = { a = \"null\" } }",
        );
        assert!(e.contains("use `action = \"pseudonymise\"`"), "{e}");
    }

    #[test]
    fn concerning_other_people_alone_is_not_a_ground() {
        let e = error("erasure = { action = \"shared\" }");
        assert!(
            e.starts_with("collection `contacts`, key `erasure`: ") && e.contains("Art. 17(3) does not list it"),
            "{e}"
        );
        for ok in [
            "erasure = { action = \"shared\", unlinked_by = \"contacts.company_id\" }",
            "key = [\"id\"]\nerasure = { action = \"shared\", fields = { contact = \"null\" } }",
            "erasure = { action = \"shared\", basis = \"legal-claims\", years = 5, from_column = \"signed_on\" }",
        ] {
            rules(ok).validate("companies").unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        assert!(
            error("erasure = { action = \"shared\", unlinked_by = \"company_id\" }").contains("<collection>.<column>")
        );
        assert!(error("erasure = { action = \"shared\", basis = \"legal-claims\" }").contains("how long"));
        assert!(
            error("key = [\"id\"]\nerasure = { action = \"delete\", unlinked_by = \"a.b\" }")
                .contains("only `action = \"shared\"`")
        );
    }

    #[test]
    fn unlinked_by_names_a_reference_the_other_erasure_always_clears() {
        let companies = rules("erasure = { action = \"shared\", unlinked_by = \"contacts.company_id\" }");
        let check = |contacts: &str| {
            let contacts = rules(contacts);
            ensure_unlinked("crm", "companies", &companies, |n| (n == "contacts").then_some(&contacts))
        };
        check(
            "key = [\"id\"]\nerasure = { action = \"anonymise\", fields = { company_id = \"null\", name = \"null\" } }",
        )
        .unwrap();
        check("key = [\"id\"]\nerasure = { action = \"delete\" }").unwrap();
        let e = check("key = [\"id\"]\nerasure = { action = \"anonymise\", fields = { name = \"null\" } }")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("source `crm`: collection `companies`, key `erasure.unlinked_by`: ")
                && e.contains("`company_id = \"null\"`"),
            "{e}"
        );
        // A `when` entry that keeps the row as it is leaves the link in place.
        let e = check(
            "key = [\"id\"]\n[erasure]\nwhen = [{ where = \"vip = 1\", action = \"retain\", basis = \"legal-claims\", years = 1, from_column = \"d\" }]\n\
             default = { action = \"delete\" }",
        );
        assert!(e.is_err());
        let none = ensure_unlinked("crm", "companies", &companies, |_| None).unwrap_err().to_string();
        assert!(none.contains("no collection `contacts`"), "{none}");
    }

    #[test]
    fn when_lists_need_a_default_and_name_what_they_read() {
        let e = error("key = [\"id\"]\n[erasure]\nwhen = [{ where = \"status = 'draft'\", action = \"delete\" }]");
        assert!(
            e.starts_with("collection `contacts`, key `erasure.default`: ") && e.contains("`default = { action = … }`"),
            "{e}"
        );
        let e = error(
            "key = [\"id\"]\n[erasure]\nwhen = [{ where = \"status = 'posted'\", action = \"retain\", basis = \"legal-obligation\", years = 10 }]\n\
             default = { action = \"delete\" }",
        );
        assert!(e.starts_with("collection `contacts`, key `erasure.when[0].from_column`: "), "{e}");
        let bad = |text: &str| toml::from_str::<ErasureRule>(text).unwrap_err().to_string();
        assert!(bad("when = [{ action = 'delete' }]\ndefault = { action = 'delete' }").contains("needs `where"));
        assert!(
            bad("when = [{ where = 'status ~ 1', action = 'delete' }]\ndefault = { action = 'delete' }")
                .contains("when[0].where")
        );
        assert!(bad("action = 'delete'\ndefault = { action = 'delete' }").contains("takes only `when` and `default`"));
        assert!(
            bad("when = [{ where = \"a = 1\", action = 'delete', colour = 'red' }]\ndefault = { action = 'delete' }")
                .contains("colour")
        );

        let r = rules(
            "key = [\"id\"]\n[erasure]\nwhen = [{ where = \"fk_statut > 0 AND type.element = 'facture'\", action = \"retain\", basis = \"legal-obligation\", \
             years = 10, from_column = \"orders.ordered_on\", count_from = \"financial-year-end\" }]\n\
             default = { action = \"anonymise\", fields = { note = \"null\" } }",
        );
        r.validate("order_lines").unwrap();
        // Qualified names are asked for (the connector puts the parent's value there) but never
        // read or written on the row's own table.
        assert_eq!(r.needed_columns(), vec!["fk_statut", "type.element", "orders.ordered_on"]);
        assert_eq!(r.row_columns(), vec!["fk_statut"]);
        assert_eq!(r.columns(), vec!["id", "fk_statut", "note"]);
        // Written back in the form it was read.
        let text = serde_json::to_string(r.erasure.as_ref().unwrap()).unwrap();
        assert_eq!(&serde_json::from_str::<ErasureRule>(&text).unwrap(), r.erasure.as_ref().unwrap(), "{text}");
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
