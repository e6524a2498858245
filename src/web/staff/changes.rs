//! Erasure, rectification and objection on the staff request page: the plan's items and their
//! decisions, the review form, the Art. 19 recipient notices, the retry of failed sources, and
//! the same person's other requests (Art. 12(5)). Every action checks the role on the server.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, web};

use super::queue::status_label;
use super::{ACTORS, require};
use crate::app::App;
use crate::domain::{Reference, RequestKind, RequestStatus};
use crate::i18n::Tr;
use crate::plans::erasure::Planned;
use crate::services::actions::{Outcome as ActionOutcome, Refused};
use crate::services::changes::{self, ItemDecision};
use crate::services::notify::{format_date, kind_label};
use crate::store::plans::{Decision, Item, Notice, Outcome};
use crate::store::requests::RequestRow;
use crate::store::staff::StaffRow;
use crate::web::portal::changes::{
    article, basis_words, detail_text, fields_words, labels, planned, purpose_label, purpose_of, recipient_name,
    show_value,
};
use crate::web::{Page, PageError, urls};

pub struct PlanRow {
    pub id: String,
    pub source: String,
    pub collection: String,
    /// The record's key, compactly: `id=7`.
    pub key: String,
    /// What the item does (or would do), in words.
    pub what: String,
    /// Rectification: the value now and the value proposed, side by side.
    pub old: Option<String>,
    pub new: Option<String>,
    /// The law a retained record is kept under.
    pub law: Option<String>,
    /// `unruled`: no rule, staff handle it by hand.
    pub flag: bool,
    pub decision: String,
    pub decision_class: &'static str,
    pub outcome: Option<(&'static str, &'static str)>,
    /// The review form offers an "Exclude" checkbox (erasure, objection)…
    pub exclude_box: bool,
    /// … or Accept / Reject (rectification).
    pub accept_reject: bool,
}

pub struct ReviewForm {
    pub action: String,
    pub what: &'static str,
    pub submit: &'static str,
}

pub struct PlanSection {
    pub rectification: bool,
    pub rows: Vec<PlanRow>,
    pub review: Option<ReviewForm>,
    /// The person's own words (rectification: "something else is wrong").
    pub statement: Option<String>,
    pub empty: bool,
}

pub struct RecipientRow {
    pub name: String,
    pub source: String,
    pub done: bool,
    pub state: String,
    /// "Mark as told", for a pending notice and a viewer who may act.
    pub action: Option<String>,
}

pub struct RepeatRow {
    pub reference: String,
    pub url: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub received: String,
}

pub struct Repeats {
    pub title: String,
    pub rows: Vec<RepeatRow>,
}

/// `id=7`, `order_id=12, line=2`: a record's key without JSON quotes.
fn compact_key(key: &serde_json::Map<String, serde_json::Value>) -> String {
    if key.is_empty() {
        return "—".into();
    }
    key.iter()
        .map(|(k, v)| format!("{k}={}", show_value(v).unwrap_or_else(|| "∅".into())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn decision_text(t: Tr, kind: RequestKind, item: &Item) -> (String, &'static str) {
    let reason = item.decision_reason.as_deref().unwrap_or("");
    match item.decision {
        Decision::Proposed => (t.get("staff.plan.decision.proposed").to_owned(), "proposed"),
        Decision::Pending => (t.get("staff.plan.decision.pending").to_owned(), "pending"),
        // GDPR Art. 7(3): a withdrawal of consent; Art. 21(3): an objection to direct marketing.
        Decision::Approved if item.decided_by.as_deref() == Some("law:gdpr-art-7-3") => {
            (t.get("staff.plan.decision.approved_by_withdrawal").to_owned(), "approved")
        }
        Decision::Approved if item.decided_by.as_deref().is_some_and(|b| b.starts_with("law:")) => {
            (t.get("staff.plan.decision.approved_by_law").to_owned(), "approved")
        }
        Decision::Approved => (t.get("staff.plan.decision.approved").to_owned(), "approved"),
        Decision::Excluded if kind == RequestKind::Rectification => {
            (t.fmt("staff.plan.decision.rejected", &[("reason", reason)]), "excluded")
        }
        Decision::Excluded => (t.fmt("staff.plan.decision.excluded", &[("reason", reason)]), "excluded"),
        Decision::Kept => (t.get("staff.plan.decision.kept").to_owned(), "kept"),
    }
}

fn outcome_text(t: Tr, item: &Item) -> Option<(&'static str, &'static str)> {
    match item.outcome {
        Some(Outcome::Applied) => Some(("applied", t.get("staff.plan.outcome.applied"))),
        Some(Outcome::Already) => Some(("applied", t.get("staff.plan.outcome.already"))),
        Some(Outcome::Missing) => Some(("failed", t.get("staff.plan.outcome.missing"))),
        Some(Outcome::Mismatch) => Some(("failed", t.get("staff.plan.outcome.mismatch"))),
        None if item.decision == Decision::Approved => Some(("waiting", t.get("staff.plan.outcome.not_yet"))),
        None => None,
    }
}

fn row(app: &App, t: Tr, kind: RequestKind, item: &Item, reviewing: bool) -> PlanRow {
    let (source, collection) = labels(app, t, &item.source, &item.collection);
    let (mut old, mut new, mut law, mut flag) = (None, None, None, false);
    // A manual source's items (`by_hand`): staff make the change themselves in that source.
    let by_hand = item.detail["by_hand"].as_bool() == Some(true);
    let what = match item.action.as_str() {
        "manual" | "rectify" if by_hand => t.fmt("staff.plan.do.by_hand", &[("source", &source)]),
        "delete" if by_hand => t.fmt("staff.plan.do.delete_by_hand", &[("source", &source)]),
        "suppress" if by_hand => {
            let purpose = purpose_of(item)
                .map(|p| purpose_label(t, p, detail_text(t, &item.detail["label"])))
                .unwrap_or_default();
            t.fmt("staff.plan.do.suppress_by_hand", &[("purpose", &purpose), ("source", &source)])
        }
        "rectify" => {
            old = Some(show_value(&item.detail["old"]).unwrap_or_else(|| t.get("staff.plan.empty").to_owned()));
            new = show_value(&item.detail["new"]);
            detail_text(t, &item.detail["label"])
                .or_else(|| item.detail["field"].as_str().map(str::to_owned))
                .unwrap_or_else(|| t.get("staff.plan.values_forgotten").to_owned())
        }
        "suppress" => {
            let purpose = purpose_of(item)
                .map(|p| purpose_label(t, p, detail_text(t, &item.detail["label"])))
                .unwrap_or_default();
            let set = item.detail["set"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k} = {}", show_value(v).unwrap_or_else(|| "NULL".into())))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            t.fmt("staff.plan.do.suppress", &[("purpose", &purpose), ("set", &set)])
        }
        _ => match planned(item) {
            Some(Planned::Delete) => t.get("staff.plan.do.delete").to_owned(),
            Some(Planned::Anonymise { fields }) => {
                t.fmt("staff.plan.do.anonymise", &[("fields", &fields_words(app, t, item, &fields))])
            }
            Some(Planned::Retain { basis, law: text, until }) => {
                law = text.map(|l| l.get(t.locale).to_owned());
                t.fmt(
                    "staff.plan.do.retain",
                    &[
                        ("until", &format_date(t, until)),
                        ("basis", basis_words(t, basis)),
                        ("article", &article(t, basis)),
                    ],
                )
            }
            Some(Planned::Pseudonymise { fields, basis, law: text, until }) => {
                law = text.map(|l| l.get(t.locale).to_owned());
                t.fmt(
                    "staff.plan.do.pseudonymise",
                    &[
                        ("fields", &fields_words(app, t, item, &fields)),
                        ("until", &format_date(t, until)),
                        ("basis", basis_words(t, basis)),
                        ("article", &article(t, basis)),
                    ],
                )
            }
            Some(Planned::Shared { fields, unlinked_by, kept }) => {
                if !fields.is_empty() {
                    t.fmt("staff.plan.do.shared_fields", &[("fields", &fields_words(app, t, item, &fields))])
                } else if let Some(link) = unlinked_by {
                    t.fmt("staff.plan.do.shared_unlinked", &[("link", &link)])
                } else if let Some(k) = kept {
                    law = k.law.map(|l| l.get(t.locale).to_owned());
                    t.fmt(
                        "staff.plan.do.shared_kept",
                        &[
                            ("until", &format_date(t, k.until)),
                            ("basis", basis_words(t, k.basis)),
                            ("article", &article(t, k.basis)),
                        ],
                    )
                } else {
                    t.get("staff.plan.do.shared").to_owned()
                }
            }
            Some(Planned::NeedsDecision { column }) => {
                flag = true;
                match column {
                    Some(column) => t.fmt("staff.plan.do.undated", &[("column", &column)]),
                    None => t.get("staff.plan.do.shared_ended").to_owned(),
                }
            }
            Some(Planned::Unruled) | None => {
                flag = true;
                t.get("staff.plan.do.unruled").to_owned()
            }
        },
    };
    let (decision, decision_class) = decision_text(t, kind, item);
    let open = reviewing && item.decision == Decision::Pending;
    PlanRow {
        id: item.id.clone(),
        source,
        collection,
        key: compact_key(&item.record_key),
        what,
        old,
        new,
        law,
        flag,
        decision,
        decision_class,
        outcome: outcome_text(t, item),
        exclude_box: open && kind != RequestKind::Rectification,
        accept_reject: open && kind == RequestKind::Rectification,
    }
}

/// The plan section, for an erasure, rectification or objection request.
pub fn plan_section(
    app: &App,
    t: Tr,
    request: &RequestRow,
    reference: &Reference,
    items: &[Item],
    can_act: bool,
) -> Option<PlanSection> {
    let kind = request.kind;
    if !matches!(kind, RequestKind::Erasure | RequestKind::Rectification | RequestKind::Objection) {
        return None;
    }
    // Also with nothing pending (an erasure where everything is kept, a rectification with only
    // the person's statement): staff close the review with the same button.
    let reviewing = can_act && request.status == RequestStatus::AwaitingReview;
    let rows: Vec<PlanRow> = items.iter().map(|i| row(app, t, kind, i, reviewing)).collect();
    let review = reviewing.then(|| ReviewForm {
        action: urls::staff_review(reference),
        what: t.get(match kind {
            RequestKind::Rectification => "staff.review.what_rectification",
            RequestKind::Objection => "staff.review.what_objection",
            _ => "staff.review.what_erasure",
        }),
        submit: t.get(match kind {
            RequestKind::Rectification => "staff.review.submit_rectification",
            RequestKind::Objection => "staff.review.submit_objection",
            _ => "staff.review.submit_erasure",
        }),
    });
    Some(PlanSection {
        rectification: kind == RequestKind::Rectification,
        empty: rows.is_empty(),
        rows,
        review,
        statement: request.statement.clone().filter(|s| !s.trim().is_empty()),
    })
}

/// The Art. 19 notices, with who told each recipient and when.
pub fn recipients(
    app: &App,
    t: Tr,
    reference: &Reference,
    notices: &[Notice],
    staff_names: &BTreeMap<String, String>,
    local_time: &dyn Fn(i64) -> String,
    can_act: bool,
) -> Vec<RecipientRow> {
    notices
        .iter()
        .map(|n| {
            let by = n
                .done_by
                .as_deref()
                .map(|b| {
                    b.strip_prefix("staff:").and_then(|id| staff_names.get(id)).cloned().unwrap_or_else(|| b.to_owned())
                })
                .unwrap_or_default();
            let state = if n.done {
                t.fmt("staff.recipients.told", &[("by", &by), ("at", &n.done_at.map(local_time).unwrap_or_default())])
            } else {
                t.get("staff.recipients.pending").to_owned()
            };
            RecipientRow {
                name: recipient_name(app, t, n),
                source: labels(app, t, &n.source, "").0,
                done: n.done,
                state,
                action: (can_act && !n.done).then(|| urls::staff_recipient(reference, &n.id)),
            }
        })
        .collect()
}

/// The same person's other requests in the configured window (GDPR Art. 12(5)).
pub async fn repeats(app: &App, t: Tr, request: &RequestRow) -> anyhow::Result<Repeats> {
    let days = app.settings.requests.repeat_window_days;
    let rows = changes::repeats(app, request)
        .await?
        .into_iter()
        .filter_map(|r| {
            let reference = r.reference?;
            Some(RepeatRow {
                url: urls::staff_request(&reference),
                reference: reference.as_str().to_owned(),
                kind: kind_label(t, r.kind),
                status: status_label(t, r.status),
                received: format_date(t, r.received_on),
            })
        })
        .collect();
    Ok(Repeats { title: t.fmt("staff.repeats.title", &[("days", &days.to_string())]), rows })
}

// ---------------------------------------------------------------------------------------------
// Actions

type Pairs = Vec<(String, String)>;

fn csrf_of(form: &Pairs) -> &str {
    form.iter().find(|(k, _)| k == "csrf").map_or("", |(_, v)| v.as_str())
}

fn back(reference: &Reference, outcome: Result<(), Refused>, done: &str) -> Result<HttpResponse, PageError> {
    let query = match outcome {
        Ok(()) => format!("done={done}"),
        Err(Refused::NotFound) => return Err(PageError::NOT_FOUND),
        Err(r) => format!("refused={}", r.code()),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", format!("{}?{query}", urls::staff_request(reference))))
        .finish())
}

/// Reads the review form: `exclude.<id>` ticked, or `decision.<id>` = `reject`, with
/// `reason.<id>`. Items not named are approved. `None` for a value the form never offers.
fn decisions_of(form: &Pairs) -> Option<Vec<ItemDecision>> {
    let mut excluded = BTreeSet::new();
    let mut reasons = BTreeMap::new();
    for (name, value) in form {
        if let Some(id) = name.strip_prefix("exclude.") {
            if !value.is_empty() {
                excluded.insert(id.to_owned());
            }
        } else if let Some(id) = name.strip_prefix("decision.") {
            match value.as_str() {
                "accept" => {}
                "reject" => {
                    excluded.insert(id.to_owned());
                }
                _ => return None,
            }
        } else if let Some(id) = name.strip_prefix("reason.") {
            reasons.insert(id.to_owned(), value.clone());
        }
    }
    Some(
        excluded
            .into_iter()
            .map(|id| ItemDecision {
                reason: reasons.get(&id).cloned().unwrap_or_default(),
                item_id: id,
                approve: false,
            })
            .collect(),
    )
}

async fn actor(page: &mut Page, app: &App, csrf: &str, raw: &str) -> Result<(StaffRow, Reference), PageError> {
    let by = require(app, page, ACTORS).await?;
    page.check_csrf(csrf)?;
    let reference: Reference = raw.parse().map_err(|_| PageError::NOT_FOUND)?;
    Ok((by, reference))
}

/// `POST /staff/requests/{reference}/review`: approve the pending items, except those excluded
/// (rejected) with a reason; approved items are executed at once.
pub async fn review(
    mut page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, PageError> {
    let (by, reference) = actor(&mut page, &app, csrf_of(&form), &reference).await?;
    let outcome: Result<(), Refused> = match decisions_of(&form) {
        Some(decisions) => changes::review(&app, &by, &reference, &decisions).await?,
        None => Err(Refused::UnknownItem),
    };
    back(&reference, outcome, "review")
}

#[derive(serde::Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /staff/requests/{reference}/recipients/{notice}`: a recipient was told (Art. 19).
pub async fn recipient_told(
    mut page: Page,
    app: web::Data<App>,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (raw, notice) = path.into_inner();
    let (by, reference) = actor(&mut page, &app, &form.csrf, &raw).await?;
    let outcome: ActionOutcome = changes::recipient_told(&app, &by, &reference, &notice).await;
    back(&reference, outcome?, "recipient")
}

/// `POST /staff/requests/{reference}/retry`: start the failed source steps again.
pub async fn retry(
    mut page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let (by, reference) = actor(&mut page, &app, &form.csrf, &reference).await?;
    let outcome = changes::retry(&app, &by, &reference).await?;
    back(&reference, outcome, "retry")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Pairs {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn only_excluded_and_rejected_items_are_sent() {
        let d = decisions_of(&pairs(&[
            ("csrf", "x"),
            ("exclude.a", "1"),
            ("reason.a", "court order"),
            ("reason.b", "ignored: not excluded"),
            ("decision.c", "accept"),
            ("decision.d", "reject"),
            ("reason.d", "the old value is right"),
        ]))
        .unwrap();
        let got: Vec<(&str, bool, &str)> =
            d.iter().map(|d| (d.item_id.as_str(), d.approve, d.reason.as_str())).collect();
        assert_eq!(got, vec![("a", false, "court order"), ("d", false, "the old value is right")]);
        assert!(decisions_of(&pairs(&[("decision.c", "maybe")])).is_none());
        assert!(decisions_of(&pairs(&[("exclude.e", "1")])).unwrap()[0].reason.is_empty());
    }
}
