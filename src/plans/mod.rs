//! What changing a person's data means, as pure rules over plain data (no I/O).
//!
//! Each collection of a source carries [`Rules`] from the configuration: the columns that identify
//! one of its records (`key`), what erasing a record does ([`ErasureRule`], GDPR Art. 17), which
//! fields a person may correct ([`RectifiableField`], Art. 16) and what objecting does
//! ([`ObjectionRule`], Art. 21 / 18). A connector *locates* a subject's records ([`Located`]: key
//! and the values those rules need); this module turns them into plan items ([`erasure::plan`],
//! [`rectification`], [`objection`]); approved items become [`Step`]s a connector executes, each
//! source's steps in one transaction. Every step is idempotent: running it twice (a crash after the
//! source committed, before Dossier recorded it) leaves the source exactly as running it once.

pub mod anonymise;
pub mod erasure;
pub mod objection;
pub mod rectification;
mod rules;

pub use rules::{
    ActionRule, CountFrom, ErasureAction, ErasureRule, FieldMethod, FieldType, ObjectionRule, Purpose,
    RectifiableField, RetentionBasis, Rules, WhenRule, ensure_unlinked, is_qualified,
};

use serde::{Deserialize, Serialize};

/// Column → value: a record's identifying columns (its configured `key`), or some of its values.
pub type Values = serde_json::Map<String, serde_json::Value>;

/// One record a connector found for a subject: its collection, its key, and the current values of
/// the columns the collection's rules name ([`Rules::needed_columns`]), under their source names.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub collection: String,
    pub key: Values,
    pub values: Values,
}

/// What a step writes into one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "write", content = "value")]
pub enum FieldWrite {
    /// SQL `NULL`, or an empty CSV field.
    Null,
    /// A fixed value (a rectified value, a suppression flag, a replacement text).
    Value(serde_json::Value),
    /// The current value masked ([`anonymise::mask`]); idempotent.
    Mask,
    /// The current value replaced by its keyed pseudonym ([`anonymise::Pseudonymiser`]); idempotent.
    Hash,
}

/// What a step does to its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Delete,
    /// Field (source column or header) → what to write, in this order.
    Update(Vec<(String, FieldWrite)>),
}

/// One change to one record, identified by its collection and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub collection: String,
    pub key: Values,
    pub change: Change,
}

/// What executing a step found.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// Whether the record was there. A delete that finds nothing was already applied (a retry after
    /// a crash); an update that finds nothing could not be applied.
    pub found: bool,
    /// For an update: the updated fields as read back inside the same transaction, to check them.
    pub after: Option<Values>,
}

impl StepOutcome {
    /// Whether the source now holds what the step asked for: a deleted record is gone; an update's
    /// fixed values read back equal (compared as text, since a database may return `1` for `true`
    /// or a date for a string). Masked and pseudonymised fields are checked by the connector.
    pub fn satisfies(&self, change: &Change) -> bool {
        match change {
            Change::Delete => true,
            Change::Update(fields) => {
                let Some(after) = &self.after else { return false };
                self.found
                    && fields.iter().all(|(field, write)| match write {
                        FieldWrite::Null => after.get(field).is_some_and(serde_json::Value::is_null),
                        FieldWrite::Value(v) => after.get(field).is_some_and(|got| same_value(got, v)),
                        FieldWrite::Mask | FieldWrite::Hash => after.contains_key(field),
                    })
            }
        }
    }
}

/// Two values mean the same once written: `true`/`1`, `"42"`/`42`, a date string and the same date.
pub fn same_value(got: &serde_json::Value, wanted: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (got, wanted) {
        (Null, Null) => true,
        (Null, _) | (_, Null) => false,
        (Bool(a), Number(n)) | (Number(n), Bool(a)) => n.as_i64() == Some(i64::from(*a)),
        _ => as_text(got) == as_text(wanted),
    }
}

fn as_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(v: serde_json::Value) -> Values {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn an_update_is_satisfied_only_when_every_fixed_value_reads_back() {
        let change = Change::Update(vec![
            ("no_email".into(), FieldWrite::Value(json!(true))),
            ("phone".into(), FieldWrite::Value(json!("+33612345678"))),
            ("city".into(), FieldWrite::Null),
        ]);
        let ok = StepOutcome {
            found: true,
            after: Some(values(json!({"no_email": 1, "phone": "+33612345678", "city": null}))),
        };
        assert!(ok.satisfies(&change));
        let wrong = StepOutcome {
            found: true,
            after: Some(values(json!({"no_email": 0, "phone": "+33612345678", "city": null}))),
        };
        assert!(!wrong.satisfies(&change));
        assert!(!StepOutcome { found: false, after: None }.satisfies(&change));
        assert!(StepOutcome { found: false, after: None }.satisfies(&Change::Delete));
    }

    #[test]
    fn values_compare_as_written() {
        assert!(same_value(&json!(42), &json!("42")));
        assert!(same_value(&json!("2026-01-31"), &json!("2026-01-31")));
        assert!(!same_value(&json!(null), &json!("")));
        assert!(same_value(&json!(false), &json!(0)));
    }
}
