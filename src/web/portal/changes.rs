//! Erasure (GDPR Art. 17), rectification (Art. 16) and objection (Art. 21 / 18) on the person's
//! status page: the plan in plain words, the forms with which the person decides, what happens
//! next, and the certificate once the request is completed.
//!
//! Every decision goes through [`crate::services::changes`]; this module only reads the plan
//! items (through the store) to show them, and turns forms into the service's arguments.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, web};
use askama::Template;

use super::see_other;
use super::status::{owner, parse_reference, render_status};
use crate::app::App;
use crate::clock::from_ms;
use crate::connectors::Text;
use crate::domain::audit::{Actor, Event};
use crate::domain::{Reference, RequestKind, RequestStatus};
use crate::i18n::Tr;
use crate::plans::erasure::Planned;
use crate::plans::{FieldMethod, FieldType, Purpose, RetentionBasis};
use crate::services::changes::{self, PersonRefused};
use crate::services::notify::{format_date, kind_label};
use crate::services::requests;
use crate::store::events;
use crate::store::plans::{self as plan_store, Decision, Item, Notice, Outcome};
use crate::store::requests::RequestRow;
use crate::web::{Page, PageError, urls};

// ---------------------------------------------------------------------------------------------
// Words shared with the staff pages

/// A value as the person typed or the source holds it; `None` for an empty value.
pub(crate) fn show_value(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) if s.is_empty() => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The labels of a source and of one of its collections, in `t`'s language (their names when the
/// source is no longer configured).
pub(crate) fn labels(app: &App, t: Tr, source: &str, collection: &str) -> (String, String) {
    let info = app.connector(source).map(|c| c.info());
    let source_label =
        info.map(|i| i.label.get(t.locale).to_owned()).filter(|s| !s.is_empty()).unwrap_or_else(|| source.to_owned());
    let collection_label = info
        .and_then(|i| i.collection(collection))
        .map(|c| c.label.get(t.locale).to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| collection.to_owned());
    (source_label, collection_label)
}

/// A field's label: the label its rectification rule gives it, else its name.
/// What the person reads for a field: its erasure label, else its rectifiable label, else (a
/// configuration without labels) the column's name.
fn field_label(app: &App, t: Tr, source: &str, collection: &str, field: &str) -> String {
    let rules = app.connector(source).and_then(|c| c.info().collection(collection)).map(|c| &c.rules);
    rules
        .and_then(|r| {
            r.erasure
                .as_ref()
                .and_then(|e| e.actions().find_map(|a| a.labels.get(field)))
                .or_else(|| r.rectifiable.iter().find(|f| f.field == field).and_then(|f| f.label.as_ref()))
        })
        .map(|l| l.get(t.locale).to_owned())
        .unwrap_or_else(|| field.to_owned())
}

/// A `Text` stored in an item's detail (`label`), in `t`'s language.
pub(crate) fn detail_text(t: Tr, v: &serde_json::Value) -> Option<String> {
    serde_json::from_value::<Text>(v.clone()).ok().map(|l| l.get(t.locale).to_owned()).filter(|s| !s.is_empty())
}

/// What anonymising does to each field, in words: "Phone masked, Name removed".
pub(crate) fn fields_words(app: &App, t: Tr, item: &Item, fields: &[(String, FieldMethod)]) -> String {
    fields
        .iter()
        .map(|(field, method)| {
            let label = field_label(app, t, &item.source, &item.collection, field);
            match method {
                FieldMethod::Null => t.fmt("portal.plan.field.null", &[("field", &label)]),
                FieldMethod::Mask => t.fmt("portal.plan.field.mask", &[("field", &label)]),
                FieldMethod::Hash => t.fmt("portal.plan.field.hash", &[("field", &label)]),
                FieldMethod::Value(v) => t.fmt(
                    "portal.plan.field.value",
                    &[("field", &label), ("value", &show_value(v).unwrap_or_default())],
                ),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An Art. 17(3) exception in plain words.
pub(crate) fn basis_words(t: Tr, basis: RetentionBasis) -> &'static str {
    t.get(match basis {
        RetentionBasis::FreedomOfExpression => "portal.plan.basis.freedom_of_expression",
        RetentionBasis::LegalObligation => "portal.plan.basis.legal_obligation",
        RetentionBasis::PublicHealth => "portal.plan.basis.public_health",
        RetentionBasis::Archiving => "portal.plan.basis.archiving",
        RetentionBasis::LegalClaims => "portal.plan.basis.legal_claims",
    })
}

/// The provision of an exception as cited in `t`'s language: `Art. 17(3)(b)`, `art. 17(3)(b)`.
pub(crate) fn article(t: Tr, basis: RetentionBasis) -> String {
    match t.locale {
        crate::domain::Locale::Fr => basis.article().replacen("Art.", "art.", 1),
        crate::domain::Locale::En => basis.article().to_owned(),
    }
}

/// The erasure plan an item holds, if it holds one.
pub(crate) fn planned(item: &Item) -> Option<Planned> {
    serde_json::from_value(item.detail.clone()).ok()
}

/// The purpose a `suppress` item objects to.
pub(crate) fn purpose_of(item: &Item) -> Option<Purpose> {
    item.detail["purpose"].as_str().and_then(|p| p.parse().ok())
}

/// A purpose's label: the one the configuration gives, else a default.
pub(crate) fn purpose_label(t: Tr, purpose: Purpose, configured: Option<String>) -> String {
    configured.unwrap_or_else(|| {
        t.get(match purpose {
            Purpose::DirectMarketing => "portal.objection.purpose.direct_marketing",
            Purpose::ConsentWithdrawal => "portal.objection.purpose.consent_withdrawal",
            Purpose::LegitimateInterests => "portal.objection.purpose.legitimate_interests",
            Purpose::Restriction => "portal.objection.purpose.restriction",
        })
        .to_owned()
    })
}

fn purpose_explain(t: Tr, purpose: Purpose) -> &'static str {
    t.get(match purpose {
        Purpose::DirectMarketing => "portal.objection.explain.direct_marketing",
        Purpose::ConsentWithdrawal => "portal.objection.explain.consent_withdrawal",
        Purpose::LegitimateInterests => "portal.objection.explain.legitimate_interests",
        Purpose::Restriction => "portal.objection.explain.restriction",
    })
}

fn purpose_stops(t: Tr, purpose: Purpose) -> &'static str {
    t.get(match purpose {
        Purpose::DirectMarketing => "portal.objection.stops.direct_marketing",
        Purpose::ConsentWithdrawal => "portal.objection.stops.consent_withdrawal",
        Purpose::LegitimateInterests => "portal.objection.stops.legitimate_interests",
        Purpose::Restriction => "portal.objection.stops.restriction",
    })
}

// ---------------------------------------------------------------------------------------------
// Lines grouped by source and collection

/// One line of a summary: what happens to some records, with an optional detail (the law).
pub(crate) struct Line {
    /// `delete`, `anonymise`, `retain`, `shared`, `unruled`, `done`, `excluded`, `failed`,
    /// `pending`: the symbol beside the line (the text says it too).
    pub class: &'static str,
    pub text: String,
    pub detail: Option<String>,
}

pub(crate) struct CollectionGroup {
    pub label: String,
    pub lines: Vec<Line>,
}

pub(crate) struct SourceGroup {
    pub label: String,
    pub collections: Vec<CollectionGroup>,
}

/// A line before counting: equal specs of one collection become one line with their count `n`
/// and, for kept records, the range of the dates they are kept until (`{until}`).
struct Spec {
    class: &'static str,
    one: &'static str,
    other: &'static str,
    args: Vec<(&'static str, String)>,
    detail: Option<String>,
    until: Option<(time::Date, time::Date)>,
}

impl PartialEq for Spec {
    fn eq(&self, o: &Spec) -> bool {
        (self.class, self.one, self.other, &self.args, &self.detail) == (o.class, o.one, o.other, &o.args, &o.detail)
            && self.until.is_some() == o.until.is_some()
    }
}

impl Spec {
    fn new(class: &'static str, one: &'static str, other: &'static str) -> Spec {
        Spec { class, one, other, args: Vec::new(), detail: None, until: None }
    }
    fn arg(mut self, name: &'static str, value: impl Into<String>) -> Spec {
        self.args.push((name, value.into()));
        self
    }
    fn until(mut self, date: time::Date) -> Spec {
        self.until = Some((date, date));
        self
    }
    fn detail(mut self, detail: Option<String>) -> Spec {
        self.detail = detail;
        self
    }
}

/// Groups `items` by source, then collection (in plan order), each item described by `spec`
/// (`None`: not shown), equal descriptions counted.
fn grouped(app: &App, t: Tr, items: &[Item], spec: impl Fn(&Item) -> Option<Spec>) -> Vec<SourceGroup> {
    type Counted = Vec<(Spec, usize)>;
    let mut sources: Vec<(&str, Vec<(&str, Counted)>)> = Vec::new();
    for item in items {
        let Some(s) = spec(item) else { continue };
        let pos = match sources.iter().position(|(name, _)| *name == item.source) {
            Some(p) => p,
            None => {
                sources.push((&item.source, Vec::new()));
                sources.len() - 1
            }
        };
        let collections = &mut sources[pos].1;
        let cpos = match collections.iter().position(|(name, _)| *name == item.collection) {
            Some(p) => p,
            None => {
                collections.push((&item.collection, Vec::new()));
                collections.len() - 1
            }
        };
        let specs = &mut collections[cpos].1;
        match specs.iter_mut().find(|(x, _)| *x == s) {
            Some(entry) => {
                entry.1 += 1;
                if let (Some((first, last)), Some((d, _))) = (&mut entry.0.until, s.until) {
                    *first = (*first).min(d);
                    *last = (*last).max(d);
                }
            }
            None => specs.push((s, 1)),
        }
    }
    sources
        .into_iter()
        .map(|(source, collections)| SourceGroup {
            label: labels(app, t, source, "").0,
            collections: collections
                .into_iter()
                .map(|(collection, specs)| CollectionGroup {
                    label: labels(app, t, source, collection).1,
                    lines: specs
                        .into_iter()
                        .map(|(s, n)| {
                            let n_text = n.to_string();
                            let until = s.until.map(|(first, last)| {
                                if first == last {
                                    t.fmt("portal.plan.until", &[("date", &format_date(t, first))])
                                } else {
                                    t.fmt(
                                        "portal.plan.until_range",
                                        &[("first", &format_date(t, first)), ("last", &format_date(t, last))],
                                    )
                                }
                            });
                            let mut args: Vec<(&str, &str)> = s.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                            args.push(("n", &n_text));
                            if let Some(u) = &until {
                                args.push(("until", u));
                            }
                            Line {
                                class: s.class,
                                text: t.fmt(if n == 1 { s.one } else { s.other }, &args),
                                detail: s.detail,
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// What the erasure plan will do to an item, before it is carried out.
fn erasure_plan_spec(app: &App, t: Tr, item: &Item) -> Spec {
    if by_hand(item) {
        // A manual source: what it holds is unknown until staff look, and staff delete or destroy
        // it themselves (GDPR Art. 17(1)); not "1 record", which would be a guess.
        return Spec::new("delete", "portal.plan.by_hand_delete", "portal.plan.by_hand_delete");
    }
    match planned(item) {
        Some(Planned::Delete) => Spec::new("delete", "portal.plan.delete_one", "portal.plan.delete_other"),
        Some(Planned::Anonymise { fields }) => {
            Spec::new("anonymise", "portal.plan.anonymise_one", "portal.plan.anonymise_other")
                .arg("fields", fields_words(app, t, item, &fields))
        }
        Some(Planned::Retain { basis, law, until }) => {
            Spec::new("retain", "portal.plan.retain_one", "portal.plan.retain_other")
                .until(until)
                .arg("basis", basis_words(t, basis))
                .arg("article", article(t, basis))
                .detail(law.map(|l| l.get(t.locale).to_owned()))
        }
        Some(Planned::Pseudonymise { fields, basis, law, until }) => {
            Spec::new("retain", "portal.plan.pseudonymise_one", "portal.plan.pseudonymise_other")
                .until(until)
                .arg("fields", fields_words(app, t, item, &fields))
                .arg("basis", basis_words(t, basis))
                .arg("article", article(t, basis))
                .detail(law.map(|l| l.get(t.locale).to_owned()))
        }
        Some(planned @ Planned::Shared { .. }) => shared_spec(app, t, item, planned, false),
        Some(Planned::NeedsDecision { .. }) => {
            Spec::new("unruled", "portal.plan.undated_one", "portal.plan.undated_other")
        }
        Some(Planned::Unruled) | None => Spec::new("unruled", "portal.plan.unruled_one", "portal.plan.unruled_other"),
    }
}

/// A record that also concerns other people, in the plan or (`certificate`) the certificate:
/// never "kept because it concerns other people" alone, which is no ground of GDPR Art. 17(3),
/// but what was done to the person's part of it, or the ground it is kept on.
fn shared_spec(app: &App, t: Tr, item: &Item, planned: Planned, certificate: bool) -> Spec {
    let Planned::Shared { fields, unlinked_by, kept } = planned else {
        return Spec::new("unruled", "portal.plan.unruled_one", "portal.plan.unruled_other");
    };
    let keys = |plan: [&'static str; 2], cert: [&'static str; 2]| if certificate { cert } else { plan };
    if !fields.is_empty() {
        let [one, other] = keys(
            ["portal.plan.shared_fields_one", "portal.plan.shared_fields_other"],
            ["portal.certificate.erasure.shared_fields_one", "portal.certificate.erasure.shared_fields_other"],
        );
        Spec::new("anonymise", one, other).arg("fields", fields_words(app, t, item, &fields))
    } else if unlinked_by.is_some() {
        let [one, other] = keys(
            ["portal.plan.shared_unlinked_one", "portal.plan.shared_unlinked_other"],
            ["portal.certificate.erasure.shared_unlinked_one", "portal.certificate.erasure.shared_unlinked_other"],
        );
        Spec::new("shared", one, other)
    } else if let Some(k) = kept {
        let [one, other] = keys(
            ["portal.plan.shared_kept_one", "portal.plan.shared_kept_other"],
            ["portal.certificate.erasure.shared_kept_one", "portal.certificate.erasure.shared_kept_other"],
        );
        Spec::new("retain", one, other)
            .until(k.until)
            .arg("basis", basis_words(t, k.basis))
            .arg("article", article(t, k.basis))
            .detail(k.law.map(|l| l.get(t.locale).to_owned()))
    } else {
        // A plan stored before a shared record needed an unlinking or a ground.
        let [one, other] = keys(
            ["portal.plan.shared_one", "portal.plan.shared_other"],
            ["portal.certificate.erasure.shared_one", "portal.certificate.erasure.shared_other"],
        );
        Spec::new("shared", one, other)
    }
}

/// An item of a manual source (`detail.by_hand`, see `jobs::plan::manual_items`): staff carry it
/// out by hand in that source.
fn by_hand(item: &Item) -> bool {
    item.detail["by_hand"].as_bool() == Some(true)
}

/// A correction the person proposed, while it waits.
fn rectify_plan_spec(t: Tr, item: &Item) -> Option<Spec> {
    if by_hand(item) {
        // A manual source: staff apply the corrections the person proposed there by hand (Art. 16).
        return Some(Spec::new("pending", "portal.plan.by_hand_rectify", "portal.plan.by_hand_rectify"));
    }
    let new = show_value(&item.detail["new"])?;
    let field = rectify_label(t, item);
    let old = show_value(&item.detail["old"]).unwrap_or_else(|| t.get("portal.rectify.empty").to_owned());
    Some(
        Spec::new("pending", "portal.rectify.proposed", "portal.rectify.proposed")
            .arg("field", field)
            .arg("old", old)
            .arg("new", new),
    )
}

/// An objection the person chose, while it is carried out or reviewed.
fn objection_plan_spec(t: Tr, item: &Item) -> Option<Spec> {
    let purpose = purpose_of(item)?;
    let label = purpose_label(t, purpose, detail_text(t, &item.detail["label"]));
    let (class, one, other) = match item.decision {
        Decision::Approved => ("done", "portal.objection.chosen_now_one", "portal.objection.chosen_now_other"),
        _ => ("pending", "portal.objection.chosen_review_one", "portal.objection.chosen_review_other"),
    };
    Some(Spec::new(class, one, other).arg("purpose", label))
}

fn rectify_label(t: Tr, item: &Item) -> String {
    detail_text(t, &item.detail["label"])
        .or_else(|| item.detail["field"].as_str().map(str::to_owned))
        .unwrap_or_else(|| t.get("portal.rectify.some_field").to_owned())
}

/// What happened to an item, once the request is completed (the certificate).
fn certificate_spec(app: &App, t: Tr, kind: RequestKind, item: &Item) -> Option<Spec> {
    let reason = item.decision_reason.clone().unwrap_or_default();
    if item.decision == Decision::Excluded {
        return Some(match kind {
            RequestKind::Rectification => {
                Spec::new("excluded", "portal.certificate.rectify.rejected", "portal.certificate.rectify.rejected")
                    .arg("field", rectify_label(t, item))
                    .arg("new", show_value(&item.detail["new"]).unwrap_or_default())
                    .arg("reason", reason)
            }
            RequestKind::Objection => Spec::new(
                "excluded",
                "portal.certificate.objection.rejected_one",
                "portal.certificate.objection.rejected_other",
            )
            .arg("purpose", purpose_label_of(t, item))
            .arg("reason", reason),
            _ => Spec::new(
                "excluded",
                "portal.certificate.erasure.excluded_one",
                "portal.certificate.erasure.excluded_other",
            )
            .arg("reason", reason),
        });
    }
    if kind == RequestKind::Erasure && item.decision == Decision::Kept {
        return Some(match planned(item) {
            Some(Planned::Retain { basis, law, until }) => {
                Spec::new("retain", "portal.certificate.erasure.kept_one", "portal.certificate.erasure.kept_other")
                    .until(until)
                    .arg("basis", basis_words(t, basis))
                    .arg("article", article(t, basis))
                    .detail(law.map(|l| l.get(t.locale).to_owned()))
            }
            Some(planned @ Planned::Shared { .. }) => shared_spec(app, t, item, planned, true),
            _ => Spec::new(
                "unruled",
                "portal.certificate.erasure.unruled_one",
                "portal.certificate.erasure.unruled_other",
            ),
        });
    }
    match item.outcome {
        Some(Outcome::Applied | Outcome::Already) => Some(match kind {
            RequestKind::Rectification if by_hand(item) => {
                Spec::new("done", "portal.certificate.rectify.by_hand", "portal.certificate.rectify.by_hand")
            }
            RequestKind::Rectification => {
                let Some(new) = show_value(&item.detail["new"]) else {
                    return Some(Spec::new(
                        "done",
                        "portal.certificate.rectify.forgotten",
                        "portal.certificate.rectify.forgotten",
                    ));
                };
                Spec::new("done", "portal.certificate.rectify.corrected", "portal.certificate.rectify.corrected")
                    .arg("field", rectify_label(t, item))
                    .arg(
                        "old",
                        show_value(&item.detail["old"]).unwrap_or_else(|| t.get("portal.rectify.empty").to_owned()),
                    )
                    .arg("new", new)
            }
            RequestKind::Objection => {
                let purpose = purpose_of(item)?;
                Spec::new(
                    "done",
                    "portal.certificate.objection.applied_one",
                    "portal.certificate.objection.applied_other",
                )
                .arg("purpose", purpose_label_of(t, item))
                .arg("stops", purpose_stops(t, purpose))
            }
            _ => match planned(item) {
                Some(Planned::Anonymise { fields }) => Spec::new(
                    "done",
                    "portal.certificate.erasure.anonymised_one",
                    "portal.certificate.erasure.anonymised_other",
                )
                .arg("fields", fields_words(app, t, item, &fields)),
                // Changed, but still the person's data, kept under its ground (GDPR Art. 4(5)).
                Some(Planned::Pseudonymise { fields, basis, law, until }) => Spec::new(
                    "retain",
                    "portal.certificate.erasure.pseudonymised_one",
                    "portal.certificate.erasure.pseudonymised_other",
                )
                .until(until)
                .arg("fields", fields_words(app, t, item, &fields))
                .arg("basis", basis_words(t, basis))
                .arg("article", article(t, basis))
                .detail(law.map(|l| l.get(t.locale).to_owned())),
                Some(planned @ Planned::Shared { .. }) => shared_spec(app, t, item, planned, true),
                _ => Spec::new(
                    "done",
                    "portal.certificate.erasure.deleted_one",
                    "portal.certificate.erasure.deleted_other",
                ),
            },
        }),
        Some(Outcome::Missing) => {
            Some(Spec::new("failed", "portal.certificate.missing_one", "portal.certificate.missing_other"))
        }
        Some(Outcome::Mismatch) => {
            Some(Spec::new("failed", "portal.certificate.failed_one", "portal.certificate.failed_other"))
        }
        None => Some(Spec::new("pending", "portal.certificate.not_done_one", "portal.certificate.not_done_other")),
    }
}

fn purpose_label_of(t: Tr, item: &Item) -> String {
    match purpose_of(item) {
        Some(p) => purpose_label(t, p, detail_text(t, &item.detail["label"])),
        None => t.get("portal.objection.purpose.unknown").to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// The section of the status page

/// What the person typed, when a form comes back with errors.
#[derive(Default)]
pub(super) struct FormState {
    /// Item id → the value typed.
    values: BTreeMap<String, String>,
    statement: String,
    /// Item id (or `statement`) → the message key of what is wrong.
    invalid: BTreeMap<String, &'static str>,
    /// The purposes ticked.
    chosen: BTreeSet<String>,
    /// What is wrong with the form as a whole.
    problem: Option<&'static str>,
}

pub(super) struct RectifyField {
    pub id: String,
    pub name: String,
    pub label: String,
    pub current: Option<String>,
    pub input_type: &'static str,
    pub autocomplete: &'static str,
    pub hint: Option<&'static str>,
    pub value: String,
    pub error: Option<&'static str>,
    pub described_by: String,
}

pub(super) struct RectifyRecord {
    pub legend: String,
    pub fields: Vec<RectifyField>,
}

pub(super) struct RectifyGroup {
    pub source: String,
    pub records: Vec<RectifyRecord>,
}

pub(super) struct PurposeChoice {
    pub value: &'static str,
    pub id: String,
    pub label: String,
    pub explain: &'static str,
    pub covers: String,
    pub checked: bool,
}

/// A link to a form error, for the summary at the top of the form.
pub(super) struct ErrorLink {
    pub anchor: String,
    pub text: String,
}

pub(super) struct CertificateLinks {
    pub view: String,
    pub download: String,
}

pub(super) struct ChangesView {
    pub erasure: bool,
    pub rectification: bool,
    pub objection: bool,
    /// Waiting for the person's decision: the forms are shown.
    pub deciding: bool,
    /// After the decision: what happens next, in plain words.
    pub next: Option<&'static str>,
    /// The plan (erasure) or what the person chose, grouped by source and collection.
    pub plan: Vec<SourceGroup>,
    pub rectify: Vec<RectifyGroup>,
    pub statement: String,
    pub statement_error: Option<&'static str>,
    pub purposes: Vec<PurposeChoice>,
    pub problem: Option<&'static str>,
    pub errors: Vec<ErrorLink>,
    /// Completed: the certificate's page and file.
    pub certificate: Option<CertificateLinks>,
    pub confirm_url: String,
    pub withdraw_url: String,
    pub corrections_url: String,
    pub objections_url: String,
}

fn changes_kind(kind: RequestKind) -> bool {
    matches!(kind, RequestKind::Erasure | RequestKind::Rectification | RequestKind::Objection)
}

async fn load_items(app: &App, request_id: &str) -> anyhow::Result<Vec<Item>> {
    let mut conn = app.store.conn().await?;
    plan_store::for_request(&mut conn, request_id).await
}

fn input_for(kind: FieldType) -> (&'static str, &'static str, Option<&'static str>) {
    match kind {
        FieldType::Phone => ("tel", "tel", Some("portal.rectify.hint.phone")),
        FieldType::Email => ("email", "email", Some("portal.rectify.hint.email")),
        FieldType::Date => ("date", "off", Some("portal.rectify.hint.date")),
        FieldType::PostalCode => ("text", "postal-code", Some("portal.rectify.hint.postal_code")),
        FieldType::Text => ("text", "off", None),
    }
}

/// The section for an erasure, rectification or objection request; `None` for other rights and
/// for states where it has nothing to say.
pub(super) async fn view(
    app: &App,
    t: Tr,
    reference: &Reference,
    request: &RequestRow,
    form: FormState,
) -> anyhow::Result<Option<ChangesView>> {
    if !changes_kind(request.kind) {
        return Ok(None);
    }
    let status = request.status;
    let shown = matches!(
        status,
        RequestStatus::AwaitingConfirmation
            | RequestStatus::AwaitingReview
            | RequestStatus::Executing
            | RequestStatus::NeedsAttention
            | RequestStatus::Completed
    );
    if !shown {
        return Ok(None);
    }
    let items = load_items(app, &request.id).await?;
    let kind = request.kind;
    let deciding = status == RequestStatus::AwaitingConfirmation;
    let next = match (kind, status) {
        (RequestKind::Erasure, RequestStatus::AwaitingReview) => Some("portal.changes.next.erasure_review"),
        (RequestKind::Erasure, RequestStatus::Executing) => Some("portal.changes.next.erasure_executing"),
        (RequestKind::Rectification, RequestStatus::AwaitingReview) => Some("portal.changes.next.rectification_review"),
        (RequestKind::Rectification, RequestStatus::Executing) => Some("portal.changes.next.rectification_executing"),
        (RequestKind::Objection, RequestStatus::AwaitingReview) => Some("portal.changes.next.objection_review"),
        (RequestKind::Objection, RequestStatus::Executing) => Some("portal.changes.next.objection_executing"),
        (_, RequestStatus::NeedsAttention) if request.confirmed_at.is_some() => {
            Some("portal.changes.next.needs_attention")
        }
        _ => None,
    }
    .map(|k| t.get(k));

    let plan = match (kind, status) {
        (_, RequestStatus::Completed) => Vec::new(),
        (RequestKind::Erasure, _) => grouped(app, t, &items, |i| Some(erasure_plan_spec(app, t, i))),
        (RequestKind::Rectification, _) if !deciding => grouped(app, t, &items, |i| rectify_plan_spec(t, i)),
        (RequestKind::Objection, _) if !deciding => grouped(app, t, &items, |i| objection_plan_spec(t, i)),
        _ => Vec::new(),
    };

    let mut errors = Vec::new();
    let mut rectify = Vec::new();
    if deciding && kind == RequestKind::Rectification {
        // One fieldset per record, grouped by source.
        type Key = serde_json::Map<String, serde_json::Value>;
        let mut records: Vec<(&str, &str, &Key, Vec<&Item>)> = Vec::new();
        for item in items.iter().filter(|i| i.action == "rectify") {
            match records
                .iter_mut()
                .find(|(s, c, k, _)| *s == item.source && *c == item.collection && **k == item.record_key)
            {
                Some(r) => r.3.push(item),
                None => records.push((&item.source, &item.collection, &item.record_key, vec![item])),
            }
        }
        for (position, (source, collection, _, fields)) in records.iter().enumerate() {
            let (source_label, collection_label) = labels(app, t, source, collection);
            let same = |r: &&(&str, &str, _, _)| r.0 == *source && r.1 == *collection;
            let same_collection = records.iter().filter(same).count();
            let index = records[..position].iter().filter(same).count();
            let legend = if same_collection > 1 {
                t.fmt("portal.rectify.record_n", &[("collection", &collection_label), ("n", &(index + 1).to_string())])
            } else {
                collection_label
            };
            let fields = fields
                .iter()
                .map(|item| {
                    let field_type: FieldType =
                        item.detail["type"].as_str().and_then(|k| k.parse().ok()).unwrap_or(FieldType::Text);
                    let (input_type, autocomplete, hint) = input_for(field_type);
                    let id = format!("f-{}", item.id);
                    let error = form.invalid.get(&item.id).copied();
                    let label = rectify_label(t, item);
                    if let Some(e) = error {
                        errors.push(ErrorLink {
                            anchor: id.clone(),
                            text: t.fmt("portal.rectify.error_link", &[("field", &label), ("message", t.get(e))]),
                        });
                    }
                    let mut described_by = vec![format!("{id}-current")];
                    if hint.is_some() {
                        described_by.push(format!("{id}-hint"));
                    }
                    if error.is_some() {
                        described_by.push(format!("{id}-error"));
                    }
                    RectifyField {
                        name: format!("v.{}", item.id),
                        label,
                        current: show_value(&item.detail["old"]),
                        input_type,
                        autocomplete,
                        hint: hint.map(|h| t.get(h)),
                        value: form.values.get(&item.id).cloned().unwrap_or_default(),
                        error: error.map(|e| t.get(e)),
                        described_by: described_by.join(" "),
                        id,
                    }
                })
                .collect();
            match rectify.iter_mut().find(|g: &&mut RectifyGroup| g.source == source_label) {
                Some(g) => g.records.push(RectifyRecord { legend, fields }),
                None => {
                    rectify.push(RectifyGroup { source: source_label, records: vec![RectifyRecord { legend, fields }] })
                }
            }
        }
    }
    let statement_error = form.invalid.get("statement").map(|e| t.get(e));
    if let Some(e) = statement_error {
        errors.push(ErrorLink {
            anchor: "statement".into(),
            text: t.fmt(
                "portal.rectify.error_link",
                &[("field", t.get("portal.rectify.statement_label")), ("message", e)],
            ),
        });
    }

    let mut purposes = Vec::new();
    if deciding && kind == RequestKind::Objection {
        for purpose in Purpose::ALL {
            let of_purpose: Vec<&Item> = items.iter().filter(|i| purpose_of(i) == Some(purpose)).collect();
            if of_purpose.is_empty() {
                continue;
            }
            let configured = of_purpose.iter().find_map(|i| detail_text(t, &i.detail["label"]));
            let mut covers: Vec<String> = Vec::new();
            for i in &of_purpose {
                let (s, c) = labels(app, t, &i.source, &i.collection);
                let both = format!("{c} ({s})");
                if !covers.contains(&both) {
                    covers.push(both);
                }
            }
            purposes.push(PurposeChoice {
                value: purpose.as_str(),
                id: format!("purpose-{}", purpose.as_str()),
                label: purpose_label(t, purpose, configured),
                explain: purpose_explain(t, purpose),
                covers: t.fmt("portal.objection.covers", &[("where", &covers.join(", "))]),
                checked: form.chosen.contains(purpose.as_str()),
            });
        }
    }

    let certificate = (status == RequestStatus::Completed).then(|| CertificateLinks {
        view: urls::certificate(reference),
        download: urls::certificate_download(reference),
    });
    Ok(Some(ChangesView {
        erasure: kind == RequestKind::Erasure,
        rectification: kind == RequestKind::Rectification,
        objection: kind == RequestKind::Objection,
        deciding,
        next,
        plan,
        rectify,
        statement: form.statement,
        statement_error,
        purposes,
        problem: form.problem.map(|p| t.get(p)),
        errors,
        certificate,
        confirm_url: urls::confirm_erasure(reference),
        withdraw_url: urls::withdraw(reference),
        corrections_url: urls::corrections(reference),
        objections_url: urls::objections(reference),
    }))
}

// ---------------------------------------------------------------------------------------------
// The person's decisions

/// A form read as its pairs, in order: item ids are part of the field names.
type Pairs = Vec<(String, String)>;

fn csrf_of(form: &Pairs) -> &str {
    form.iter().find(|(k, _)| k == "csrf").map_or("", |(_, v)| v.as_str())
}

/// What the status page says after a decision (`?said=…`).
pub(super) fn said_key(said: &str) -> Option<&'static str> {
    Some(match said {
        "confirmed" => "portal.changes.said.confirmed",
        "corrections" => "portal.changes.said.corrections",
        "objections" => "portal.changes.said.objections",
        "withdrawn" => "portal.changes.said.withdrawn",
        "not_now" => "portal.changes.said.not_now",
        _ => return None,
    })
}

/// The response to the person's decision: back to the status page, or the form again with what
/// is wrong (422, nothing changed).
async fn answer(
    page: &Page,
    app: &App,
    reference: &Reference,
    owner_hash: &str,
    outcome: Result<(), PersonRefused>,
    said: &str,
    mut form: FormState,
) -> Result<HttpResponse, PageError> {
    match outcome {
        Ok(()) => return Ok(see_other(urls::status_said(reference, said))),
        // Not theirs: the status page shows the sign-in, as for any other request.
        Err(PersonRefused::NotFound) => return Ok(see_other(urls::status(reference))),
        Err(PersonRefused::NotNow) => return Ok(see_other(urls::status_said(reference, "not_now"))),
        Err(PersonRefused::NothingChosen) => {
            form.problem = Some(match said {
                "objections" => "portal.objection.nothing_chosen",
                _ => "portal.rectify.nothing_chosen",
            })
        }
        Err(PersonRefused::UnknownField) => form.problem = Some("portal.rectify.unknown_field"),
        Err(PersonRefused::Invalid(map)) => {
            form.problem = Some("portal.rectify.invalid.summary");
            form.invalid = map.into_iter().map(|(id, e)| (id, e.message_key())).collect();
        }
    }
    form_again(page, app, reference, owner_hash, form).await
}

async fn form_again(
    page: &Page,
    app: &App,
    reference: &Reference,
    owner_hash: &str,
    form: FormState,
) -> Result<HttpResponse, PageError> {
    let Some(view) = requests::status(app, reference, owner_hash).await? else {
        return Ok(see_other(urls::status(reference)));
    };
    let changes = view_for(app, page.t, reference, &view.request, form).await?;
    let body = render_status(page, app, reference, &view, changes, None)?;
    Ok(HttpResponse::UnprocessableEntity().content_type("text/html; charset=utf-8").body(body))
}

pub(super) async fn view_for(
    app: &App,
    t: Tr,
    reference: &Reference,
    request: &RequestRow,
    form: FormState,
) -> Result<Option<ChangesView>, PageError> {
    Ok(view(app, t, reference, request, form).await?)
}

/// The signed-in owner of the request, or where to send the browser (the status page, which asks
/// to sign in).
async fn person(
    page: &Page,
    app: &App,
    raw: &str,
    csrf: &str,
) -> Result<Result<(Reference, String), HttpResponse>, PageError> {
    page.check_csrf(csrf)?;
    let reference = parse_reference(raw)?;
    match owner(app, page).await? {
        Some(hash) => Ok(Ok((reference, hash))),
        None => Ok(Err(see_other(urls::status(&reference)))),
    }
}

/// `POST /requests/{reference}/confirm`: the person confirms the erasure plan.
pub async fn confirm(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    form: web::Form<super::CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (reference, hash) = match person(&page, &app, &reference, &form.csrf).await? {
        Ok(p) => p,
        Err(res) => return Ok(res),
    };
    let outcome = changes::confirm_erasure(&app, &reference, &hash).await?;
    answer(&page, &app, &reference, &hash, outcome, "confirmed", FormState::default()).await
}

/// `POST /requests/{reference}/withdraw`: the person withdraws instead of deciding.
pub async fn withdraw(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    form: web::Form<super::CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (reference, hash) = match person(&page, &app, &reference, &form.csrf).await? {
        Ok(p) => p,
        Err(res) => return Ok(res),
    };
    let outcome = changes::withdraw(&app, &reference, &hash).await?;
    answer(&page, &app, &reference, &hash, outcome, "withdrawn", FormState::default()).await
}

/// `POST /requests/{reference}/corrections`: `v.<item id>` = the corrected value (empty: no
/// change), `statement` = what else is wrong.
pub async fn corrections(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, PageError> {
    let (reference, hash) = match person(&page, &app, &reference, csrf_of(&form)).await? {
        Ok(p) => p,
        Err(res) => return Ok(res),
    };
    let mut state = FormState::default();
    for (name, value) in form.iter() {
        if let Some(id) = name.strip_prefix("v.") {
            state.values.insert(id.to_owned(), value.clone());
        } else if name == "statement" {
            state.statement = value.clone();
        }
    }
    // An empty field is no proposal; a field the page never offered is refused by the service.
    let proposals: BTreeMap<String, String> =
        state.values.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (k.clone(), v.clone())).collect();
    let outcome = changes::propose_corrections(&app, &reference, &hash, &proposals, &state.statement).await?;
    answer(&page, &app, &reference, &hash, outcome, "corrections", state).await
}

/// `POST /requests/{reference}/objections`: `purpose` = each purpose ticked.
pub async fn objections(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, PageError> {
    let (reference, hash) = match person(&page, &app, &reference, csrf_of(&form)).await? {
        Ok(p) => p,
        Err(res) => return Ok(res),
    };
    let mut state = FormState::default();
    let mut chosen = BTreeSet::new();
    let mut unknown = false;
    for (_, value) in form.iter().filter(|(k, _)| k == "purpose") {
        match value.parse::<Purpose>() {
            Ok(p) => {
                chosen.insert(p);
                state.chosen.insert(p.as_str().to_owned());
            }
            Err(()) => unknown = true,
        }
    }
    if unknown {
        state.problem = Some("portal.objection.unknown_purpose");
        return form_again(&page, &app, &reference, &hash, state).await;
    }
    let outcome = changes::choose_objections(&app, &reference, &hash, &chosen).await?;
    answer(&page, &app, &reference, &hash, outcome, "objections", state).await
}

// ---------------------------------------------------------------------------------------------
// The certificate

pub(super) struct RecipientLine {
    pub name: String,
    pub state: String,
    pub done: bool,
}

struct Certificate {
    reference: String,
    kind: &'static str,
    intro: &'static str,
    received: String,
    completed: String,
    controller: String,
    controller_address: Option<String>,
    contact: String,
    /// The supervisory authority of the request's own law (GDPR Art. 77; UK GDPR: the ICO…), with
    /// its web address when it is a link.
    authority: String,
    authority_url: Option<String>,
    sources: Vec<SourceGroup>,
    nothing: bool,
    statement: Option<String>,
    /// Whether GDPR Art. 19 applies: a rectification, an erasure, or an objection that restricted
    /// processing (Art. 18); never an objection or a withdrawal of consent alone.
    art19: bool,
    recipients: Vec<RecipientLine>,
    issued: String,
}

#[derive(Template)]
#[template(path = "portal/certificate.html")]
struct CertificatePage<'a> {
    t: Tr,
    page: &'a Page,
    c: Certificate,
    status_url: String,
    download_url: String,
}

#[derive(Template)]
#[template(path = "portal/certificate_file.html")]
struct CertificateFile {
    t: Tr,
    c: Certificate,
}

fn local_date(app: &App, ms: i64) -> time::Date {
    let at = from_ms(ms);
    app.zone.offset_at(at).map(|o| at.to_offset(o)).unwrap_or(at).date()
}

/// A recipient's name in `t`'s language: notices store the English name; the source's metadata
/// knows the others.
pub(crate) fn recipient_name(app: &App, t: Tr, notice: &Notice) -> String {
    app.connector(&notice.source)
        .and_then(|c| {
            c.info()
                .collections
                .iter()
                .flat_map(|col| col.art15.recipients.iter())
                .find(|r| r.name.get(crate::domain::Locale::En) == notice.recipient)
                .map(|r| r.name.get(t.locale).to_owned())
        })
        .unwrap_or_else(|| notice.recipient.clone())
}

async fn certificate_of(app: &App, t: Tr, request: &RequestRow, reference: &Reference) -> anyhow::Result<Certificate> {
    let mut conn = app.store.conn().await?;
    let items = plan_store::for_request(&mut conn, &request.id).await?;
    let notices = plan_store::notices(&mut conn, &request.id).await?;
    drop(conn);
    let kind = request.kind;
    let sources = grouped(app, t, &items, |i| certificate_spec(app, t, kind, i));
    let art19 = kind != RequestKind::Objection
        || items.iter().any(|i| purpose_of(i) == Some(Purpose::Restriction) && i.decision != Decision::Excluded);
    let mut recipients: Vec<RecipientLine> = Vec::new();
    for n in &notices {
        let name = recipient_name(app, t, n);
        let state = match (n.done, n.done_at) {
            (true, Some(at)) => t.fmt("portal.certificate.told_on", &[("date", &format_date(t, local_date(app, at)))]),
            (true, None) => t.get("portal.certificate.told").to_owned(),
            (false, _) => t.get("portal.certificate.being_told").to_owned(),
        };
        // The same recipient of several sources is listed once, told when all notices are done.
        match recipients.iter_mut().find(|r| r.name == name) {
            Some(r) if r.done && !n.done => {
                r.done = false;
                r.state = state;
            }
            Some(_) => {}
            None => recipients.push(RecipientLine { name, state, done: n.done }),
        }
    }
    let intro = t.get(match kind {
        RequestKind::Rectification => "portal.certificate.intro.rectification",
        RequestKind::Objection => "portal.certificate.intro.objection",
        _ => "portal.certificate.intro.erasure",
    });
    let controller = &app.settings.controller;
    // GDPR Art. 77: the authority of the law the request was handled under, not the controller's.
    let authority = app.settings.authority_for_code(&request.jurisdiction);
    Ok(Certificate {
        reference: reference.as_str().to_owned(),
        kind: kind_label(t, kind),
        intro,
        received: format_date(t, request.received_on),
        completed: request.completed_at.map(|ms| format_date(t, local_date(app, ms))).unwrap_or_default(),
        controller: controller.name.clone(),
        controller_address: controller.address.clone(),
        contact: t.fmt("portal.certificate.contact", &[("email", &controller.contact_email)]),
        authority: t.fmt(
            "portal.certificate.authority",
            &[("authority", authority.name.get(t.locale)), ("address", &authority.address)],
        ),
        authority_url: authority.link().map(str::to_owned),
        nothing: sources.is_empty(),
        sources,
        statement: request.statement.clone().filter(|s| !s.trim().is_empty()),
        art19,
        recipients,
        issued: t.fmt(
            "portal.certificate.issued",
            &[("date", &format_date(t, local_date(app, app.now_ms()))), ("controller", &controller.name)],
        ),
    })
}

/// The verified owner's completed request, or where to send the browser instead.
async fn completed_request(
    page: &Page,
    app: &App,
    raw: &str,
) -> Result<Result<(Reference, RequestRow), HttpResponse>, PageError> {
    let reference = parse_reference(raw)?;
    let Some(hash) = owner(app, page).await? else { return Ok(Err(see_other(urls::status(&reference)))) };
    let Some(view) = requests::status(app, &reference, &hash).await? else {
        return Ok(Err(see_other(urls::status(&reference))));
    };
    let request = view.request;
    if request.status != RequestStatus::Completed || !changes_kind(request.kind) {
        return Ok(Err(see_other(urls::status(&reference))));
    }
    Ok(Ok((reference, request)))
}

/// `GET /requests/{reference}/certificate`: what was done, on a page to read or print.
pub async fn certificate(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (reference, request) = match completed_request(&page, &app, &reference).await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    let c = certificate_of(&app, page.t, &request, &reference).await?;
    let body = CertificatePage {
        t: page.t,
        page: &page,
        c,
        status_url: urls::status(&reference),
        download_url: urls::certificate_download(&reference),
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

/// `GET /requests/{reference}/certificate/download`: the same, as one self-contained HTML file
/// to keep. Each download is recorded.
pub async fn certificate_download(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (reference, request) = match completed_request(&page, &app, &reference).await? {
        Ok(r) => r,
        Err(res) => return Ok(res),
    };
    let c = certificate_of(&app, page.t, &request, &reference).await?;
    let body = CertificateFile { t: page.t, c }.render().map_err(anyhow::Error::from)?;
    let mut tx = app.store.begin().await?;
    let event = Event::CertificateDownloaded { locale: page.t.lang().to_owned() };
    events::record(&mut tx, Some(&request.id), &Actor::Requester, &event, app.now_ms()).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"certificate-{reference}.html\"")))
        .body(body))
}
