//! Erasure (GDPR Art. 17), rectification (Art. 16) and objection (Art. 21 / 18): from the plan the
//! sources computed, through the person's confirmation and the staff review, to execution and the
//! certificate.
//!
//! The lifecycle: `collecting` (planning jobs, one per source) → `awaiting_confirmation` (the
//! person confirms the erasure plan, proposes corrections, or picks what to object to) →
//! `awaiting_review` (staff approve all or part, or refuse) → `executing` (one job per source) →
//! `completed`, with the certificate on the status page. An objection to direct marketing alone
//! skips the review (Art. 21(3)); its items run as soon as the person chooses them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;

use crate::app::App;
use crate::crypto::constant_time_eq;
use crate::domain::audit::{Actor, Event};
use crate::domain::{Reference, RequestKind, RequestStatus};
use crate::plans::{FieldType, Purpose, rectification};
use crate::services::actions::{Outcome, Refused};
use crate::services::notify;
use crate::store::plans::{self, Decision, Item};
use crate::store::requests::{self, RequestRow};
use crate::store::staff::StaffRow;
use crate::store::{Conn, emails, events, source_runs};

fn to(request: &RequestRow) -> anyhow::Result<notify::To<'_>> {
    Ok(notify::To {
        request_id: &request.id,
        email: request.email.as_deref().context("a request without its address")?,
        locale: request.locale,
    })
}

// ---------------------------------------------------------------------------------------------
// Driven by the jobs

/// Every source has planned: ask the person to decide, or, when an erasure or objection found
/// nothing at all, answer at once that there is nothing to change.
pub async fn planned(app: &App, tx: &mut Conn, request: &RequestRow, now: i64) -> anyhow::Result<()> {
    if request.status != RequestStatus::Collecting {
        return Ok(());
    }
    let items = plans::for_request(tx, &request.id).await?;
    let reference = request.reference.as_ref().context("a planned request without a reference")?;
    // A rectification with nothing found still lets the person say what is wrong (a statement).
    if items.is_empty() && request.kind != RequestKind::Rectification {
        return complete(app, tx, request, now).await;
    }
    requests::transition(tx, request, RequestStatus::AwaitingConfirmation, &Actor::System, now).await?;
    notify::plan_ready(app, tx, to(request)?, request.kind, reference, now).await
}

/// A source executed its approved items: once nothing is left to decide or execute, the request
/// is complete.
pub async fn executed(app: &App, tx: &mut Conn, request: &RequestRow, now: i64) -> anyhow::Result<()> {
    if request.status != RequestStatus::Executing {
        return Ok(());
    }
    let items = plans::for_request(tx, &request.id).await?;
    let open = items.iter().any(|i| {
        matches!(i.decision, Decision::Proposed | Decision::Pending)
            || (i.decision == Decision::Approved && i.executed_at.is_none())
    });
    if open { Ok(()) } else { complete(app, tx, request, now).await }
}

/// Closes the request: the recipients of rectified, erased or restricted data get a notice task
/// (Art. 19), the person an email pointing to the certificate, and an erased person's address is
/// forgotten (only its keyed hash stays, see `dossier connectors check --suppressed`).
async fn complete(app: &App, tx: &mut Conn, request: &RequestRow, now: i64) -> anyhow::Result<()> {
    let items = plans::for_request(tx, &request.id).await?;
    let mut done = notify::Done { applied: 0, kept: 0, excluded: 0 };
    for item in &items {
        match item.decision {
            Decision::Kept => done.kept += 1,
            Decision::Excluded => done.excluded += 1,
            _ if item.outcome.is_some_and(|o| o.succeeded()) => {
                done.applied += 1;
                // GDPR Art. 19: the recipients (processors, third parties: `notify = true`) of data
                // that was rectified, erased or restricted; an objection is none of these.
                let told = match request.kind {
                    RequestKind::Erasure | RequestKind::Rectification => true,
                    RequestKind::Objection => item.detail["purpose"].as_str() == Some(Purpose::Restriction.as_str()),
                    RequestKind::Access | RequestKind::Portability => false,
                };
                let recipients = app
                    .connector(&item.source)
                    .and_then(|c| c.info().collection(&item.collection))
                    .map(|c| c.art15.recipients.clone())
                    .unwrap_or_default();
                for r in recipients.into_iter().filter(|r| told && r.notify) {
                    plans::add_notice(tx, &request.id, &item.source, r.name.get(crate::domain::Locale::En), now)
                        .await?;
                }
            }
            _ => {}
        }
    }
    requests::transition(tx, request, RequestStatus::Completed, &Actor::System, now).await?;
    let event = Event::ChangesCompleted {
        applied: done.applied as i64,
        kept: done.kept as i64,
        excluded: done.excluded as i64,
    };
    events::record(tx, Some(&request.id), &Actor::System, &event, now).await?;
    let reference = request.reference.as_ref().context("a completed request without a reference")?;
    notify::changes_done(app, tx, to(request)?, request.kind, reference, &done, now).await?;
    if request.kind == RequestKind::Erasure {
        requests::forget_email(tx, request, now).await?;
        emails::forget_sent(tx, &request.id).await?;
        events::record(tx, Some(&request.id), &Actor::System, &Event::AddressForgotten {}, now).await?;
    }
    Ok(())
}

/// Queues the execution of every source with approved items not executed yet; returns how many.
async fn start_execution(app: &App, tx: &mut Conn, request_id: &str, now: i64) -> anyhow::Result<usize> {
    let items = plans::for_request(tx, request_id).await?;
    let sources: BTreeSet<&str> = items
        .iter()
        .filter(|i| i.decision == Decision::Approved && i.executed_at.is_none())
        .map(|i| i.source.as_str())
        .collect();
    for source in &sources {
        super::progress::enqueue_execution(app, tx, request_id, source, now).await?;
    }
    Ok(sources.len())
}

// ---------------------------------------------------------------------------------------------
// The person

/// Why the person's decision was not taken. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonRefused {
    /// Not their request (or no such request): both look the same.
    NotFound,
    /// The request is not waiting for this decision (already confirmed, cancelled, another right).
    NotNow,
    /// Nothing was chosen or proposed.
    NothingChosen,
    /// Some proposed values are not valid: item id → why.
    Invalid(BTreeMap<String, rectification::Invalid>),
    /// A proposal names a field that is not among the person's rectifiable values.
    UnknownField,
}

pub type PersonOutcome = anyhow::Result<Result<(), PersonRefused>>;

/// The request `reference` under a write transaction, if `owner_hash` made it and it waits for
/// the person's decision on a `kind` request.
async fn awaiting_person(
    tx: &mut Conn,
    reference: &Reference,
    owner_hash: &str,
    kind: RequestKind,
) -> anyhow::Result<Result<RequestRow, PersonRefused>> {
    let Some(request) = requests::by_reference(tx, reference).await? else { return Ok(Err(PersonRefused::NotFound)) };
    if !constant_time_eq(request.email_hash.as_bytes(), owner_hash.as_bytes()) {
        return Ok(Err(PersonRefused::NotFound));
    }
    if request.kind != kind || request.status != RequestStatus::AwaitingConfirmation {
        return Ok(Err(PersonRefused::NotNow));
    }
    Ok(Ok(request))
}

/// The person confirms the erasure plan as shown: it goes to staff for review.
pub async fn confirm_erasure(app: &App, reference: &Reference, owner_hash: &str) -> PersonOutcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match awaiting_person(&mut tx, reference, owner_hash, RequestKind::Erasure).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    for item in plans::for_request(&mut tx, &request.id).await?.iter().filter(|i| i.decision == Decision::Proposed) {
        plans::decide(&mut tx, &request.id, &item.id, Decision::Pending, None, "requester", now).await?;
    }
    requests::set_confirmed(&mut tx, &request.id, None, now).await?;
    events::record(&mut tx, Some(&request.id), &Actor::Requester, &Event::PlanConfirmed {}, now).await?;
    requests::transition(&mut tx, &request, RequestStatus::AwaitingReview, &Actor::Requester, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The person's corrections: item id → the value they propose (an unchanged or empty value is no
/// proposal), and what else is wrong in their words. Every value is checked against its field's
/// type first; one invalid value refuses them all, changing nothing, so the form comes back with
/// each error beside its field.
pub async fn propose_corrections(
    app: &App,
    reference: &Reference,
    owner_hash: &str,
    proposals: &BTreeMap<String, String>,
    statement: &str,
) -> PersonOutcome {
    let statement = statement.trim();
    if statement.chars().count() > 2000 {
        return Ok(Err(PersonRefused::Invalid(BTreeMap::from([(
            "statement".to_owned(),
            rectification::Invalid::TooLong,
        )]))));
    }
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match awaiting_person(&mut tx, reference, owner_hash, RequestKind::Rectification).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let items = plans::for_request(&mut tx, &request.id).await?;
    if proposals.keys().any(|id| !items.iter().any(|i| &i.id == id && i.action == "rectify")) {
        return Ok(Err(PersonRefused::UnknownField));
    }
    let mut accepted = Vec::new();
    let mut invalid = BTreeMap::new();
    for item in &items {
        let Some(raw) = proposals.get(&item.id).filter(|v| !v.trim().is_empty()) else { continue };
        let kind: FieldType = item.detail["type"].as_str().and_then(|t| t.parse().ok()).unwrap_or(FieldType::Text);
        match rectification::parse(kind, raw) {
            Ok(new) if crate::plans::same_value(&item.detail["old"], &new) => {}
            Ok(new) => accepted.push((item, new)),
            Err(e) => {
                invalid.insert(item.id.clone(), e);
            }
        }
    }
    if !invalid.is_empty() {
        return Ok(Err(PersonRefused::Invalid(invalid)));
    }
    if accepted.is_empty() && statement.is_empty() {
        return Ok(Err(PersonRefused::NothingChosen));
    }
    for (item, new) in &accepted {
        let mut detail = item.detail.clone();
        detail["new"] = new.clone();
        plans::set_detail(&mut tx, &item.id, &detail).await?;
        plans::decide(&mut tx, &request.id, &item.id, Decision::Pending, None, "requester", now).await?;
    }
    plans::drop_unchosen(&mut tx, &request.id).await?;
    requests::set_confirmed(&mut tx, &request.id, Some(statement).filter(|s| !s.is_empty()), now).await?;
    let event = Event::CorrectionsProposed { corrections: accepted.len() as i64, statement: !statement.is_empty() };
    events::record(&mut tx, Some(&request.id), &Actor::Requester, &event, now).await?;
    requests::transition(&mut tx, &request, RequestStatus::AwaitingReview, &Actor::Requester, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The purposes the person objects to. Direct marketing is honoured at once, without review
/// (GDPR Art. 21(3)): its suppressions are approved by law and queued now; any other purpose
/// waits for staff.
pub async fn choose_objections(
    app: &App,
    reference: &Reference,
    owner_hash: &str,
    chosen: &BTreeSet<Purpose>,
) -> PersonOutcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match awaiting_person(&mut tx, reference, owner_hash, RequestKind::Objection).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let items = plans::for_request(&mut tx, &request.id).await?;
    let purpose_of = |i: &Item| i.detail["purpose"].as_str().and_then(|p| p.parse::<Purpose>().ok());
    let offered: BTreeSet<Purpose> = items.iter().filter_map(purpose_of).collect();
    let chosen: BTreeSet<Purpose> = chosen.intersection(&offered).copied().collect();
    if chosen.is_empty() {
        return Ok(Err(PersonRefused::NothingChosen));
    }
    // A suppression that writes the date of the choice (`{ now = true }`) writes this instant, the
    // same at every retry.
    let at = crate::clock::from_ms(now).replace_nanosecond(0).map_err(anyhow::Error::from)?;
    let at = at.format(&time::format_description::well_known::Rfc3339).map_err(anyhow::Error::from)?;
    for item in &items {
        match purpose_of(item) {
            Some(p) if chosen.contains(&p) => {
                // GDPR Art. 21(3) and 7(3) decide at once; any other choice waits for staff
                // (Art. 21(1): the controller may show compelling legitimate grounds).
                let (decision, by) = match crate::plans::objection::decided_by_law(p) {
                    Some(law) => (Decision::Approved, law),
                    None => (Decision::Pending, "requester"),
                };
                if let Some(set) = item.detail["set"].as_object() {
                    let mut detail = item.detail.clone();
                    detail["set"] = serde_json::Value::Object(crate::plans::objection::resolve(set, &at));
                    if detail != item.detail {
                        plans::set_detail(&mut tx, &item.id, &detail).await?;
                    }
                }
                plans::decide(&mut tx, &request.id, &item.id, decision, None, by, now).await?;
            }
            _ => {}
        }
    }
    plans::drop_unchosen(&mut tx, &request.id).await?;
    requests::set_confirmed(&mut tx, &request.id, None, now).await?;
    let purposes = chosen.iter().map(|p| p.as_str().to_owned()).collect();
    events::record(&mut tx, Some(&request.id), &Actor::Requester, &Event::ObjectionsChosen { purposes }, now).await?;
    let next = if crate::plans::objection::needs_review(&chosen) {
        RequestStatus::AwaitingReview
    } else {
        RequestStatus::Executing
    };
    requests::transition(&mut tx, &request, next, &Actor::Requester, now).await?;
    start_execution(app, &mut tx, &request.id, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

/// The person withdraws the request instead of confirming: nothing is changed, and it is closed.
pub async fn withdraw(app: &App, reference: &Reference, owner_hash: &str) -> PersonOutcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(request) = requests::by_reference(&mut tx, reference).await? else {
        return Ok(Err(PersonRefused::NotFound));
    };
    if !constant_time_eq(request.email_hash.as_bytes(), owner_hash.as_bytes()) {
        return Ok(Err(PersonRefused::NotFound));
    }
    if request.status != RequestStatus::AwaitingConfirmation {
        return Ok(Err(PersonRefused::NotNow));
    }
    events::record(&mut tx, Some(&request.id), &Actor::Requester, &Event::Withdrawn {}, now).await?;
    requests::transition(&mut tx, &request, RequestStatus::Cancelled, &Actor::Requester, now).await?;
    notify::cancelled(app, &mut tx, to(&request)?, reference, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

// ---------------------------------------------------------------------------------------------
// Staff

/// Staff's decision on one item: approve it, or exclude (reject) it with a reason the person is
/// told.
#[derive(Debug, Clone)]
pub struct ItemDecision {
    pub item_id: String,
    pub approve: bool,
    pub reason: String,
}

fn actor(staff: &StaffRow) -> Actor {
    Actor::staff(&staff.id)
}

/// Staff review a request waiting for them: every pending item not named in `decisions` is
/// approved ("approve all"); a named item is approved or excluded with its reason (required).
/// Approved items are then executed, one job per source; with nothing approved, the request is
/// complete at once.
pub async fn review(app: &App, by: &StaffRow, reference: &Reference, decisions: &[ItemDecision]) -> Outcome {
    if decisions.iter().any(|d| !d.approve && d.reason.trim().is_empty()) {
        return Ok(Err(Refused::ReasonRequired));
    }
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(request) = requests::by_reference(&mut tx, reference).await? else { return Ok(Err(Refused::NotFound)) };
    if request.status.is_terminal() {
        return Ok(Err(Refused::Closed));
    }
    if request.status != RequestStatus::AwaitingReview {
        return Ok(Err(Refused::NotInThisState));
    }
    let items = plans::for_request(&mut tx, &request.id).await?;
    let pending: Vec<&Item> = items.iter().filter(|i| i.decision == Decision::Pending).collect();
    if decisions.iter().any(|d| !pending.iter().any(|i| i.id == d.item_id)) {
        return Ok(Err(Refused::UnknownItem));
    }
    // A record no erasure rule covers cannot be changed automatically: staff say, as the reason
    // of an exclusion, how it was handled (erased by hand, or kept and on which ground).
    let unruled_approved =
        pending.iter().any(|i| i.action == "unruled" && !decisions.iter().any(|d| d.item_id == i.id && !d.approve));
    if unruled_approved {
        return Ok(Err(Refused::UnruledNeedsReason));
    }
    let (mut approved, mut excluded) = (0, 0);
    for item in pending {
        let decision = decisions.iter().find(|d| d.item_id == item.id);
        let (to, reason) = match decision {
            Some(d) if !d.approve => (Decision::Excluded, Some(d.reason.trim())),
            _ => (Decision::Approved, None),
        };
        if to == Decision::Approved {
            approved += 1
        } else {
            excluded += 1
        }
        plans::decide(&mut tx, &request.id, &item.id, to, reason, &actor(by).stored(), now).await?;
    }
    events::record(&mut tx, Some(&request.id), &actor(by), &Event::Reviewed { approved, excluded }, now).await?;
    requests::transition(&mut tx, &request, RequestStatus::Executing, &actor(by), now).await?;
    let executing = RequestRow { status: RequestStatus::Executing, ..request };
    if start_execution(app, &mut tx, &executing.id, now).await? == 0 {
        executed(app, &mut tx, &executing, now).await?;
    }
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

/// Records that a recipient was told of the changes (GDPR Art. 19).
pub async fn recipient_told(app: &App, by: &StaffRow, reference: &Reference, notice_id: &str) -> Outcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(request) = requests::by_reference(&mut tx, reference).await? else { return Ok(Err(Refused::NotFound)) };
    if !plans::notice_done(&mut tx, &request.id, notice_id, &actor(by).stored(), now).await? {
        return Ok(Err(Refused::UnknownItem));
    }
    let event = Event::RecipientTold { notice: notice_id.to_owned() };
    events::record(&mut tx, Some(&request.id), &actor(by), &event, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Starts again what failed, once staff fixed the cause: the execution of approved items not yet
/// executed, or else the search (collection or planning) of the sources that did not finish.
pub async fn retry(app: &App, by: &StaffRow, reference: &Reference) -> Outcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(request) = requests::by_reference(&mut tx, reference).await? else { return Ok(Err(Refused::NotFound)) };
    if request.status != RequestStatus::NeedsAttention {
        return Ok(Err(if request.status.is_terminal() { Refused::Closed } else { Refused::NotInThisState }));
    }
    // A value the source did not keep (a trigger, a concurrent writer) is written again.
    plans::reopen_mismatched(&mut tx, &request.id).await?;
    let items = plans::for_request(&mut tx, &request.id).await?;
    let unexecuted = items.iter().any(|i| i.decision == Decision::Approved && i.executed_at.is_none());
    let confirmed = request.confirmed_at.is_some();
    if unexecuted || confirmed {
        // Items still waiting for staff (the rest of an objection whose direct-marketing part was
        // executing) go back to the review; the approved ones run either way.
        let next = if items.iter().any(|i| i.decision == Decision::Pending) {
            RequestStatus::AwaitingReview
        } else {
            RequestStatus::Executing
        };
        requests::transition(&mut tx, &request, next, &actor(by), now).await?;
        let after = RequestRow { status: next, ..request.clone() };
        if start_execution(app, &mut tx, &request.id, now).await? == 0 {
            executed(app, &mut tx, &after, now).await?;
        }
    } else {
        requests::transition(&mut tx, &request, RequestStatus::Collecting, &actor(by), now).await?;
        let runs = source_runs::for_request(&mut tx, &request.id).await?;
        let unfinished: Vec<_> = runs.iter().filter(|r| r.status != source_runs::RunStatus::Done).collect();
        for run in &unfinished {
            super::progress::retry_search(app, &mut tx, &request, &run.source, now).await?;
        }
        if unfinished.is_empty() && request.kind.produces_export() {
            // Every source was collected; building the export is what failed.
            super::progress::retry_export(app, &mut tx, &request.id, now).await?;
        }
    }
    events::record(&mut tx, Some(&request.id), &actor(by), &Event::Retried {}, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

/// The same person's other requests received within the configured window (GDPR Art. 12(5)).
pub async fn repeats(app: &App, request: &RequestRow) -> anyhow::Result<Vec<RequestRow>> {
    let since = request.received_at - app.settings.requests.repeat_window_days * 86_400_000;
    let mut conn = app.store.conn().await?;
    requests::others_by_same_person(&mut conn, &request.email_hash, &request.id, since).await
}
