//! Which objections, withdrawals of consent and restrictions each collection offers a person, and
//! the startup checks that make the configuration keep what the portal promises (GDPR Art. 7(3),
//! 18, 21). The suppression each choice writes is in `plans::objection`.
//!
//! Invariants (checked at startup by [`check`], for every connector kind):
//! - a collection that serves direct marketing (`art15.direct_marketing = true`, or an `objections`
//!   entry for `direct-marketing`) has a suppression rule for it, so that an objection to direct
//!   marketing reaches **every** such collection of every source (Art. 21(2)-(3));
//! - a collection whose `art15.basis` includes consent has a suppression rule for a withdrawal of
//!   consent: its own `consent-withdrawal` entry, or else its `direct-marketing` one, used for both
//!   (Art. 7(3));
//! - the portal offers a choice only when some collection implements it ([`offers`]).

use std::collections::{BTreeMap, BTreeSet};

use super::{CollectionInfo, LegalBasis, SourceInfo, Text};
use crate::plans::Purpose;

/// One choice a collection offers the person, with the suppression it writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer<'c> {
    pub purpose: Purpose,
    /// The configured label (`None`: the purpose's default words).
    pub label: Option<&'c Text>,
    pub set: &'c BTreeMap<String, serde_json::Value>,
}

/// Whether the collection serves direct marketing: declared, or implied by its suppression rule.
pub fn serves_direct_marketing(c: &CollectionInfo) -> bool {
    c.art15.direct_marketing || c.rules.objections.iter().any(|o| o.purpose == Purpose::DirectMarketing)
}

/// Whether the collection rests (at least in part) on the person's consent, GDPR Art. 6(1)(a).
pub fn consent_based(c: &CollectionInfo) -> bool {
    c.art15.basis.contains(&LegalBasis::Consent)
}

/// Every choice the collection offers, in its configured order: its `objections` entries, and, for
/// a consent-based collection without its own `consent-withdrawal` entry, a withdrawal of consent
/// that runs its `direct-marketing` suppression (GDPR Art. 7(3)).
pub fn offers(c: &CollectionInfo) -> Vec<Offer<'_>> {
    let rule = |p: Purpose| c.rules.objections.iter().find(|o| o.purpose == p);
    let mut out: Vec<Offer<'_>> =
        c.rules.objections.iter().map(|o| Offer { purpose: o.purpose, label: o.label.as_ref(), set: &o.set }).collect();
    if consent_based(c)
        && rule(Purpose::ConsentWithdrawal).is_none()
        && let Some(dm) = rule(Purpose::DirectMarketing)
    {
        out.push(Offer { purpose: Purpose::ConsentWithdrawal, label: None, set: &dm.set });
    }
    out
}

/// The purposes a source offers: its collections' [`offers`], or, for a manual source, the
/// purposes staff apply by hand (`by_hand`).
pub fn source_purposes(info: &SourceInfo, by_hand: Option<&[Purpose]>) -> BTreeSet<Purpose> {
    match by_hand {
        Some(purposes) => purposes.iter().copied().collect(),
        None => info.collections.iter().flat_map(|c| offers(c).into_iter().map(|o| o.purpose)).collect(),
    }
}

/// Refuses a collection that serves direct marketing or rests on consent without the suppression
/// that must follow an objection or a withdrawal; `by_hand` lists the purposes a manual source's
/// staff apply (it has no rules of its own). One sentence naming source, collection and key.
pub fn check(info: &SourceInfo, by_hand: Option<&[Purpose]>) -> anyhow::Result<()> {
    let source = &info.name;
    for c in &info.collections {
        let collection = &c.name;
        let has = |p: Purpose| match by_hand {
            Some(purposes) => purposes.contains(&p),
            None => c.rules.objections.iter().any(|o| o.purpose == p),
        };
        // GDPR Art. 21(3): the objection stops direct marketing everywhere it happens.
        anyhow::ensure!(
            !c.art15.direct_marketing || has(Purpose::DirectMarketing),
            "source `{source}`, collection `{collection}`: `art15.direct_marketing = true` needs a suppression \
             rule, so that an objection to direct marketing (GDPR Art. 21(3)) stops it here too: add \
             `objections = [{{ purpose = \"direct-marketing\", set = {{ … }} }}]`"
        );
        // GDPR Art. 7(3): a withdrawal reaches every processing that rests on the consent.
        let withdrawal = has(Purpose::ConsentWithdrawal) || (by_hand.is_none() && has(Purpose::DirectMarketing));
        anyhow::ensure!(
            !consent_based(c) || withdrawal,
            "source `{source}`, collection `{collection}`: `art15.basis` includes \"consent\", so it needs a \
             suppression rule for a withdrawal of consent (GDPR Art. 7(3)): add `objections = [{{ purpose = \
             \"consent-withdrawal\", set = {{ … }} }}]` (a `direct-marketing` entry also serves for it)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::{ObjectionRule, Rules};

    /// A collection as configured: its rules and its `art15` table, in TOML.
    fn collection(rules_toml: &str, art15_toml: &str) -> CollectionInfo {
        #[derive(serde::Deserialize)]
        struct C {
            #[serde(default)]
            objections: Vec<ObjectionRule>,
        }
        let c: C = toml::from_str(rules_toml).unwrap();
        let rules = Rules { key: vec!["id".into()], objections: c.objections, ..Rules::default() };
        rules.validate("subscribers").unwrap();
        CollectionInfo {
            name: "subscribers".into(),
            label: Text::default(),
            art15: toml::from_str(art15_toml).unwrap(),
            rules,
        }
    }

    fn source(collections: Vec<CollectionInfo>) -> SourceInfo {
        SourceInfo { name: "newsletter".into(), label: Text::default(), kind: "sql", collections }
    }

    const UNSUBSCRIBE: &str =
        "objections = [{ purpose = 'direct-marketing', set = { unsubscribed_at = { now = true } } }]";

    #[test]
    fn a_marketing_collection_without_suppression_is_refused_naming_it() {
        let bare = collection("", "direct_marketing = true");
        let e = check(&source(vec![bare]), None).unwrap_err().to_string();
        assert!(e.starts_with("source `newsletter`, collection `subscribers`: `art15.direct_marketing = true`"), "{e}");
        assert!(e.contains("GDPR Art. 21(3)"), "{e}");
        check(&source(vec![collection(UNSUBSCRIBE, "direct_marketing = true")]), None).unwrap();
        // A manual source: staff apply the purposes it lists.
        let paper = collection("", "direct_marketing = true");
        assert!(check(&source(vec![paper.clone()]), Some(&[Purpose::Restriction])).is_err());
        check(&source(vec![paper]), Some(&[Purpose::DirectMarketing])).unwrap();
    }

    #[test]
    fn a_consent_collection_needs_a_withdrawal_rule() {
        let e = check(&source(vec![collection("", "basis = 'consent'")]), None).unwrap_err().to_string();
        assert!(e.contains("collection `subscribers`: `art15.basis` includes \"consent\""), "{e}");
        assert!(e.contains("Art. 7(3)"), "{e}");
        // Several bases, one of them consent.
        let e = check(&source(vec![collection("", "basis = ['contract', 'consent']")]), None).unwrap_err();
        assert!(e.to_string().contains("withdrawal of consent"));
        check(&source(vec![collection("", "basis = ['contract', 'legitimate-interests']")]), None).unwrap();
    }

    #[test]
    fn a_consent_collection_offers_withdrawal_through_its_marketing_suppression() {
        let c = collection(UNSUBSCRIBE, "basis = 'consent'");
        check(&source(vec![c.clone()]), None).unwrap();
        let offered = offers(&c);
        let purposes: Vec<Purpose> = offered.iter().map(|o| o.purpose).collect();
        assert_eq!(purposes, [Purpose::DirectMarketing, Purpose::ConsentWithdrawal]);
        assert_eq!(offered[0].set, offered[1].set);
        assert!(serves_direct_marketing(&c), "implied by the direct-marketing entry");
        // Its own withdrawal rule wins.
        let own = collection(
            "objections = [{ purpose = 'direct-marketing', set = { promo = 0 } }, { purpose = 'consent-withdrawal', set = { consent = 0 } }]",
            "basis = 'consent'",
        );
        let own_offers = offers(&own);
        assert_eq!(own_offers.len(), 2);
        assert_eq!(own_offers[1].set.keys().collect::<Vec<_>>(), ["consent"]);
        // Not consent-based: no withdrawal is offered.
        let contract = collection(UNSUBSCRIBE, "basis = 'contract'");
        assert_eq!(source_purposes(&source(vec![contract]), None), BTreeSet::from([Purpose::DirectMarketing]));
    }

    #[test]
    fn a_bad_basis_says_what_is_accepted() {
        let e = toml::from_str::<crate::connectors::Art15>("basis = 'consentement'").unwrap_err().to_string();
        assert!(e.contains("`basis` is one of \"consent\", \"contract\""), "{e}");
    }
}
