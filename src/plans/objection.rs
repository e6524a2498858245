//! Objection (GDPR Art. 21) and restriction (Art. 18): which purposes a source lets a person object
//! to, and the suppression each objection writes.

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
/// (Art. 21(3): direct marketing).
pub fn needs_review(chosen: &BTreeSet<Purpose>) -> bool {
    chosen.iter().any(|p| !p.is_absolute())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn direct_marketing_alone_needs_no_review() {
        assert!(!needs_review(&BTreeSet::from([Purpose::DirectMarketing])));
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
