//! Plans one source's part of an erasure, rectification or objection request: locates the
//! person's records and stores what the request would do to each, changing nothing.

use anyhow::Context;

use crate::app::App;
use crate::connectors::{SourceInfo, Subject, purposes};
use crate::domain::audit::{Actor, Event};
use crate::domain::{EmailAddress, RequestKind, RequestStatus};
use crate::plans::{Located, erasure, rectification};
use crate::services::changes;
use crate::services::progress;
use crate::store::jobs::{self as queue, ClaimedJob};
use crate::store::plans::{Decision, NewItem};
use crate::store::source_runs::{self, RunStatus};
use crate::store::{events, plans, requests};

pub async fn run(app: &App, job: &ClaimedJob, request_id: &str, source: &str) -> anyhow::Result<()> {
    let wanted = [RequestStatus::Collecting, RequestStatus::NeedsAttention];
    let Some((request, connector)) = progress::start_source_job(app, request_id, source, &wanted).await? else {
        return Ok(());
    };
    let (records, items) = if let Some(task) = connector.staff_task() {
        // A manual source is searched and changed by staff: the plan says so.
        (0, manual_items(request.kind, connector.info(), task))
    } else {
        let email =
            EmailAddress::parse(request.email.as_deref().unwrap_or_default()).context("the request's address")?;
        let located = match connector.locate(&Subject { email }).await {
            Ok(located) => located,
            Err(e) => return Err(progress::source_failed(app, job, request_id, source, e, "planning with").await),
        };
        let today = app.today_for(&request.jurisdiction)?;
        (
            located.len(),
            items_for(request.kind, connector.info(), &located, today, app.settings.controller.financial_year_end)?,
        )
    };

    let now = app.now_ms();
    let backend = app.store.backend();
    let mut tx = app.store.begin().await?;
    requests::lock(&mut tx, backend, request_id).await?;
    if !queue::still_held(&mut tx, backend, job).await? {
        tx.rollback().await?;
        return Ok(());
    }
    let new: Vec<NewItem<'_>> = items
        .iter()
        .map(|i| NewItem {
            source,
            collection: &i.collection,
            record_key: &i.key,
            action: i.action,
            detail: &i.detail,
            decision: i.decision,
        })
        .collect();
    plans::replace_for_source(&mut tx, request_id, source, &new, now).await?;
    source_runs::update(&mut tx, request_id, source, RunStatus::Done, records as i64, None, now).await?;
    let event = Event::SourcePlanned { source: source.to_owned(), records: records as i64, items: items.len() as i64 };
    events::record(&mut tx, Some(request_id), &Actor::System, &event, now).await?;
    let runs = source_runs::for_request(&mut tx, request_id).await?;
    if runs.iter().all(|r| r.status == RunStatus::Done) {
        let request = requests::get(&mut tx, request_id).await?.context("the request is gone")?;
        changes::planned(app, &mut tx, &request, now).await?;
    }
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(())
}

/// One plan item before it is stored.
struct Planned {
    collection: String,
    key: crate::plans::Values,
    action: &'static str,
    detail: serde_json::Value,
    decision: Decision,
}

/// What the request would do to each located record, per its kind:
/// - erasure: one item per record (deleted, anonymised, pseudonymised and unruled ones wait for
///   the person's confirmation, then staff; retained and untouched shared ones are kept, and shown);
/// - rectification: one item per rectifiable field of each record, holding the current value;
/// - objection: one item per choice each record's collection offers ([`purposes::offers`]).
fn items_for(
    kind: RequestKind,
    info: &SourceInfo,
    located: &[Located],
    today: time::Date,
    year_end: erasure::YearEnd,
) -> anyhow::Result<Vec<Planned>> {
    let mut out = Vec::new();
    for record in located {
        let collection = info
            .collection(&record.collection)
            .with_context(|| format!("located a record of unknown collection {}", record.collection))?;
        let rules = &collection.rules;
        let item = |action: &'static str, detail: serde_json::Value, decision: Decision| Planned {
            collection: record.collection.clone(),
            key: record.key.clone(),
            action,
            detail,
            decision,
        };
        match kind {
            RequestKind::Erasure => {
                let planned = erasure::plan(rules, record, today, year_end);
                // Records kept as they are (retained, shared and left unchanged) are shown; a
                // pseudonymised or unlinked one is changed, so it waits for confirmation like the
                // others; a record without a rule or a usable anchor waits for a staff decision (it
                // cannot be changed automatically: see `review`).
                let kept = planned.change().is_none()
                    && matches!(planned, erasure::Planned::Retain { .. } | erasure::Planned::Shared { .. });
                let decision = if kept { Decision::Kept } else { Decision::Proposed };
                out.push(item(planned.action(), serde_json::to_value(&planned)?, decision));
            }
            RequestKind::Rectification => {
                for current in rectification::current(rules, record) {
                    let detail = serde_json::json!({
                        "field": current.field.field,
                        "type": current.field.kind.as_str(),
                        "label": current.field.label,
                        "old": current.value,
                    });
                    out.push(item("rectify", detail, Decision::Proposed));
                }
            }
            RequestKind::Objection => {
                // Every choice the collection offers (GDPR Art. 21, 7(3), 18): the person picks.
                for offer in purposes::offers(collection) {
                    let detail =
                        serde_json::json!({ "purpose": offer.purpose, "label": offer.label, "set": offer.set });
                    out.push(item("suppress", detail, Decision::Proposed));
                }
            }
            RequestKind::Access | RequestKind::Portability => {}
        }
    }
    Ok(out)
}

/// The plan of a manual source (`kind = "manual"`): Dossier cannot see what it holds, so staff act
/// by hand, and the execute job opens their task (see `services::tasks`):
/// - erasure: one item "the file is destroyed" (GDPR Art. 17), waiting for the person's
///   confirmation and staff review like any other;
/// - rectification: one item "correct it by hand" (Art. 16), already waiting for staff, so that
///   whatever the person proposes or states is also applied in this source;
/// - objection: one item per purpose the source declares (Art. 21), offered to the person.
fn manual_items(kind: RequestKind, info: &SourceInfo, task: &crate::connectors::manual::StaffTask) -> Vec<Planned> {
    let Some(collection) = info.collections.first().map(|c| c.name.clone()) else { return Vec::new() };
    let item = |action: &'static str, detail: serde_json::Value, decision: Decision| Planned {
        collection: collection.clone(),
        key: crate::plans::Values::new(),
        action,
        detail,
        decision,
    };
    match kind {
        RequestKind::Erasure => {
            vec![item("delete", serde_json::json!({ "action": "delete", "by_hand": true }), Decision::Proposed)]
        }
        RequestKind::Rectification => {
            vec![item("manual", serde_json::json!({ "by_hand": true, "label": info.label }), Decision::Pending)]
        }
        RequestKind::Objection => task
            .objections
            .iter()
            .map(|o| {
                let detail = serde_json::json!({
                    "purpose": o.purpose, "label": o.label, "set": {}, "by_hand": true,
                });
                item("suppress", detail, Decision::Proposed)
            })
            .collect(),
        RequestKind::Access | RequestKind::Portability => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_erasure_item_reads_as_a_deletion_everywhere() {
        // The person's plan, the staff review and the certificate read erasure items' detail as a
        // planned change: a manual item must read as "deleted", never as "no rule".
        let config: crate::connectors::SourceConfig = toml::from_str(
            "kind = 'manual'\nname = 'archives'\ninstructions = 'Search'\n\
             objections = [{ purpose = 'direct-marketing' }]\n[[collections]]\nname = 'paper'\n",
        )
        .unwrap();
        let connector = crate::connectors::build(&[config]).unwrap().remove(0);
        let task = connector.staff_task().unwrap();
        let items = manual_items(RequestKind::Erasure, connector.info(), task);
        assert_eq!(items.len(), 1);
        let planned: erasure::Planned = serde_json::from_value(items[0].detail.clone()).unwrap();
        assert_eq!(planned, erasure::Planned::Delete);
        assert_eq!((items[0].collection.as_str(), items[0].decision), ("paper", Decision::Proposed));
        let objections = manual_items(RequestKind::Objection, connector.info(), task);
        assert_eq!(objections[0].detail["purpose"], "direct-marketing");
        assert_eq!(manual_items(RequestKind::Rectification, connector.info(), task)[0].decision, Decision::Pending);
        assert!(manual_items(RequestKind::Access, connector.info(), task).is_empty());
    }
}
