//! Objection (GDPR Art. 21), withdrawal of consent (Art. 7(3)) and restriction (Art. 18): the
//! suppression each choice writes, and which choices staff must review. Which choices each
//! collection offers, and the startup checks that keep the portal's promise, are in
//! `connectors::purposes` (they read a source's configured collections).

use std::collections::BTreeSet;

use super::{Change, FieldWrite, ObjectionRule, Purpose, Rules};

/// The rules of `rules` that apply when the person objects to any of `chosen`.
pub fn applicable<'r>(rules: &'r Rules, chosen: &BTreeSet<Purpose>) -> impl Iterator<Item = &'r ObjectionRule> {
    rules.objections.iter().filter(move |o| chosen.contains(&o.purpose))
}

/// The change an objection makes to each of the person's records: its `set` values.
pub fn change(rule: &ObjectionRule) -> Change {
    Change::Update(rule.set.iter().map(|(f, v)| (f.clone(), FieldWrite::Value(v.clone()))).collect())
}

/// Whether the objection may be honoured without staff review: every chosen purpose is absolute
/// (Art. 21(3): direct marketing; Art. 7(3): withdrawal of consent).
pub fn needs_review(chosen: &BTreeSet<Purpose>) -> bool {
    chosen.iter().any(|p| !p.is_absolute())
}

/// Who decided an absolute choice, as stored on its plan item: the provision itself.
pub fn decided_by_law(purpose: Purpose) -> Option<&'static str> {
    match purpose {
        Purpose::DirectMarketing => Some("law:gdpr-art-21-3"),
        Purpose::ConsentWithdrawal => Some("law:gdpr-art-7-3"),
        Purpose::LegitimateInterests | Purpose::Restriction => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Values a suppression writes

/// `{ now = true }` in a `set`: the instant the person made their choice.
fn is_now(value: &serde_json::Value) -> bool {
    value.as_object().is_some_and(|m| m.len() == 1 && m.get("now") == Some(&serde_json::Value::Bool(true)))
}

/// A value an objection writes: a single value, or `{ now = true }` (the date and time of the
/// person's choice, e.g. `unsubscribed_at`).
pub(super) fn ensure_value(collection: &str, field: &str, value: &serde_json::Value) -> anyhow::Result<()> {
    if is_now(value) {
        return Ok(());
    }
    anyhow::ensure!(
        !value.is_object(),
        "collection `{collection}`: the value written into `{field}` is a single value (text, number or \
         boolean) or `{{ now = true }}` (the date and time of the person's choice)"
    );
    super::rules::ensure_scalar(collection, field, value)
}

/// The values `set` writes once the person has chosen at `at` (RFC 3339, UTC): each
/// `{ now = true }` becomes that instant, so that every retry of the step writes the same value.
pub fn resolve(
    set: &serde_json::Map<String, serde_json::Value>,
    at: &str,
) -> serde_json::Map<String, serde_json::Value> {
    set.iter()
        .map(|(f, v)| (f.clone(), if is_now(v) { serde_json::Value::String(at.to_owned()) } else { v.clone() }))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn now_becomes_the_instant_of_the_choice_and_nothing_else_is_an_object() {
        let rule: ObjectionRule =
            toml::from_str("purpose = 'direct-marketing'\nset = { unsubscribed_at = { now = true } }").unwrap();
        let set: serde_json::Map<String, serde_json::Value> =
            rule.set.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let resolved = resolve(&set, "2026-03-10T09:00:00Z");
        assert_eq!(resolved["unsubscribed_at"], json!("2026-03-10T09:00:00Z"));
        let bad: Rules = Rules {
            key: vec!["id".into()],
            objections: vec![toml::from_str("purpose = 'direct-marketing'\nset = { at = { now = 'yes' } }").unwrap()],
            ..Rules::default()
        };
        let e = bad.validate("subscribers").unwrap_err().to_string();
        assert!(e.contains("`{ now = true }`"), "{e}");
    }

    #[test]
    fn direct_marketing_alone_needs_no_review() {
        assert!(!needs_review(&BTreeSet::from([Purpose::DirectMarketing])));
        assert!(!needs_review(&BTreeSet::from([Purpose::DirectMarketing, Purpose::ConsentWithdrawal])));
        assert!(needs_review(&BTreeSet::from([Purpose::DirectMarketing, Purpose::LegitimateInterests])));
        assert!(needs_review(&BTreeSet::from([Purpose::Restriction])));
    }

    #[test]
    fn a_suppression_writes_its_set_values() {
        let rule: ObjectionRule =
            toml::from_str("purpose = 'direct-marketing'\nset = { no_email = 1, optin = 'no' }").unwrap();
        let rules = Rules { key: vec!["id".into()], objections: vec![rule.clone()], ..Rules::default() };
        assert_eq!(applicable(&rules, &BTreeSet::from([Purpose::Restriction])).count(), 0);
        assert_eq!(applicable(&rules, &BTreeSet::from([Purpose::DirectMarketing])).count(), 1);
        assert_eq!(
            change(&rule),
            Change::Update(vec![
                ("no_email".into(), FieldWrite::Value(json!(1))),
                ("optin".into(), FieldWrite::Value(json!("no")))
            ])
        );
    }
}
