//! What staff do to a request. Each action checks the lifecycle and the law before it writes, and
//! writes the change, its audit event and any email to the person in one transaction.

use anyhow::Context;

use crate::app::App;
use crate::clock::from_ms;
use crate::deadlines::PauseReason;
use crate::domain::audit::{Actor, Event};
use crate::domain::{DenialGround, Reference, RequestStatus};
use crate::services::notify;
use crate::services::requests::{calendar_for, effective_deadline, policy_of};
use crate::store::requests::{self, RequestRow};
use crate::store::staff::StaffRow;
use crate::store::{Conn, clarifications, events, exports, notes, pauses, plans, staff};

/// Why an action was refused, as a catalog key the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    ReasonRequired,
    Closed,
    AlreadyExtended,
    /// GDPR Art. 12(3): an extension must be announced within the first month.
    ExtensionTooLate,
    NoExtensionUnderPolicy,
    /// GDPR Art. 12(3): the answer was given; an extension after it would be no extension.
    Answered,
    NotInThisState,
    UnknownAssignee,
    /// The legal ground does not apply to this right (e.g. Art. 17(3) to an access request).
    GroundNotApplicable,
    /// A decision names an item that is not waiting for one on this request.
    UnknownItem,
    /// A record without an erasure rule was left to approve: it needs a reason instead.
    UnruledNeedsReason,
    /// Staff-approved changes were already made in a source: the request must be finished (its
    /// certificate and recipients depend on it), not refused or cancelled.
    AlreadyChanged,
    /// A clarification request needs its question.
    QuestionRequired,
    /// A question or answer longer than [`clarifications::MAX_TEXT_CHARS`].
    TooLong,
    /// A question is already waiting for the person's answer.
    QuestionOpen,
    /// No question is waiting (answered, closed, or never asked).
    NoQuestion,
}

impl Refused {
    pub fn key(self) -> &'static str {
        match self {
            Refused::NotFound => "staff.refused.not_found",
            Refused::ReasonRequired => "staff.refused.reason_required",
            Refused::Closed => "staff.refused.closed",
            Refused::AlreadyExtended => "staff.refused.already_extended",
            Refused::ExtensionTooLate => "staff.refused.extension_too_late",
            Refused::NoExtensionUnderPolicy => "staff.refused.no_extension",
            Refused::Answered => "staff.refused.answered",
            Refused::NotInThisState => "staff.refused.not_in_this_state",
            Refused::UnknownAssignee => "staff.refused.unknown_assignee",
            Refused::GroundNotApplicable => "staff.refused.ground_not_applicable",
            Refused::UnknownItem => "staff.refused.unknown_item",
            Refused::UnruledNeedsReason => "staff.refused.unruled_needs_reason",
            Refused::AlreadyChanged => "staff.refused.already_changed",
            Refused::QuestionRequired => "staff.clarify.refused.question_required",
            Refused::TooLong => "staff.clarify.refused.too_long",
            Refused::QuestionOpen => "staff.clarify.refused.question_open",
            Refused::NoQuestion => "staff.clarify.refused.no_question",
        }
    }

    pub fn from_key(key: &str) -> Option<Refused> {
        [
            Refused::NotFound,
            Refused::ReasonRequired,
            Refused::Closed,
            Refused::AlreadyExtended,
            Refused::ExtensionTooLate,
            Refused::NoExtensionUnderPolicy,
            Refused::Answered,
            Refused::NotInThisState,
            Refused::UnknownAssignee,
            Refused::GroundNotApplicable,
            Refused::UnknownItem,
            Refused::UnruledNeedsReason,
            Refused::AlreadyChanged,
            Refused::QuestionRequired,
            Refused::TooLong,
            Refused::QuestionOpen,
            Refused::NoQuestion,
        ]
        .into_iter()
        .find(|r| r.key().rsplit('.').next() == Some(key))
    }

    /// The short code used in the page's address (`?refused=closed`).
    pub fn code(self) -> &'static str {
        self.key().rsplit('.').next().unwrap_or("")
    }
}

pub type Outcome = anyhow::Result<Result<(), Refused>>;

fn actor(staff: &StaffRow) -> Actor {
    Actor::staff(&staff.id)
}

/// Loads an open request under a write transaction.
async fn open_request(tx: &mut Conn, reference: &Reference) -> anyhow::Result<Result<RequestRow, Refused>> {
    Ok(match requests::by_reference(tx, reference).await? {
        None => Err(Refused::NotFound),
        Some(r) if r.status.is_terminal() => Err(Refused::Closed),
        Some(r) => Ok(r),
    })
}

fn to(request: &RequestRow) -> anyhow::Result<notify::To<'_>> {
    Ok(notify::To {
        request_id: &request.id,
        email: request.email.as_deref().context("a request without its address")?,
        locale: request.locale,
    })
}

pub async fn assign(app: &App, by: &StaffRow, reference: &Reference, assignee: Option<&str>) -> Outcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match open_request(&mut tx, reference).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(id) = assignee
        && !staff::workers(&mut tx).await?.iter().any(|s| s.id == id)
    {
        return Ok(Err(Refused::UnknownAssignee));
    }
    requests::assign(&mut tx, &request.id, assignee, now).await?;
    let event = Event::Assigned { to: assignee.map(str::to_owned) };
    events::record(&mut tx, Some(&request.id), &actor(by), &event, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

pub async fn add_note(app: &App, by: &StaffRow, reference: &Reference, body: &str) -> Outcome {
    let body = body.trim();
    if body.is_empty() {
        return Ok(Err(Refused::ReasonRequired));
    }
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(request) = requests::by_reference(&mut tx, reference).await? else { return Ok(Err(Refused::NotFound)) };
    notes::add(&mut tx, &request.id, &by.id, body, now).await?;
    events::record(&mut tx, Some(&request.id), &actor(by), &Event::NoteAdded {}, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// GDPR Art. 12(3): extend by two further months (the due date becomes three months from
/// receipt), only with reasons, only while the first month runs, and tell the person at once.
pub async fn extend(app: &App, by: &StaffRow, reference: &Reference, reason: &str) -> Outcome {
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err(Refused::ReasonRequired));
    }
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match open_request(&mut tx, reference).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let extended_due = match extension_for(app, &mut tx, &request, now).await? {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    requests::extend(&mut tx, &request.id, extended_due, reason, now).await?;
    let event =
        Event::Extended { from: requests::date_to_text(request.due_on), to: requests::date_to_text(extended_due) };
    events::record(&mut tx, Some(&request.id), &actor(by), &event, now).await?;
    let policy = request.jurisdiction.parse().map_err(|_| anyhow::anyhow!("unknown policy"))?;
    let extension = notify::Extension { reference, new_due: extended_due, reason, policy };
    notify::extended(app, &mut tx, to(&request)?, &extension, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

/// The due date an extension would set now, or why none is possible: counted under the request's
/// own policy, in that policy's calendar (closure days included) and time zone, from its clock
/// start and with its recorded pauses. The page and the action both ask here.
pub async fn extension_for(
    app: &App,
    conn: &mut Conn,
    request: &RequestRow,
    now: i64,
) -> anyhow::Result<Result<time::Date, Refused>> {
    if request.status.is_terminal() {
        return Ok(Err(Refused::Closed));
    }
    if request.extended_at.is_some() {
        return Ok(Err(Refused::AlreadyExtended));
    }
    // GDPR Art. 12(3): the extension lengthens the time to answer; once the person has the
    // answer (export ready and emailed), even if it is collected again, there is none to lengthen.
    if request.answered_at.is_some() || !request.status.awaits_answer() {
        return Ok(Err(Refused::Answered));
    }
    let policy = policy_of(request)?;
    let (calendar, zone) = calendar_for(app, policy)?;
    let today = zone.local_date(from_ms(now)).context("today's date")?;
    let deadline = match effective_deadline(app, conn, request, now).await? {
        Some(effective) => effective.deadline,
        // A clock that starts at verification has not started: counted from receipt meanwhile.
        None => policy.deadline(request.received_on, &calendar).context("computing the extended due date")?,
    };
    let Some((notice_by, extended_due)) = deadline.extension() else { return Ok(Err(Refused::NoExtensionUnderPolicy)) };
    // GDPR Art. 12(3): the person must be told within the first month — the month as it stands
    // now, with any counted pause (an open one counts up to today), not the stored `due_on`,
    // which a pause moves only when it closes (UK GDPR: the ICO's "stop the clock").
    if today > notice_by || today > deadline.due {
        return Ok(Err(Refused::ExtensionTooLate));
    }
    Ok(Ok(extended_due))
}

/// Refuses the request on a legal ground, with an explanation sent to the person (Art. 12(4)).
pub async fn deny(app: &App, by: &StaffRow, reference: &Reference, ground: DenialGround, reason: &str) -> Outcome {
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err(Refused::ReasonRequired));
    }
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match open_request(&mut tx, reference).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if request.status.transition(RequestStatus::Denied).is_err() {
        return Ok(Err(Refused::NotInThisState));
    }
    if changed_by_staff_approval(&mut tx, &request.id).await? {
        return Ok(Err(Refused::AlreadyChanged));
    }
    if !ground.applies_to(request.kind) {
        return Ok(Err(Refused::GroundNotApplicable));
    }
    requests::set_denial(&mut tx, &request.id, ground.as_str(), reason, now).await?;
    close_open_question(&mut tx, by, &request, now).await?;
    requests::transition(&mut tx, &request, RequestStatus::Denied, &actor(by), now).await?;
    // An export built before the refusal is withdrawn with it.
    let withdrawn = withdraw_export(&mut tx, &request.id, now).await?;
    events::record(&mut tx, Some(&request.id), &actor(by), &Event::Denied { ground }, now).await?;
    notify::denied(app, &mut tx, to(&request)?, reference, ground, reason, now).await?;
    tx.commit().await?;
    remove_files(app, withdrawn);
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

/// Whether a change staff approved was already made in a source (a request in `needs_attention`
/// after some sources executed). Direct-marketing suppressions, approved by law (Art. 21(3)), do
/// not count: they stand whatever happens to the rest.
async fn changed_by_staff_approval(tx: &mut Conn, request_id: &str) -> anyhow::Result<bool> {
    Ok(plans::for_request(tx, request_id)
        .await?
        .iter()
        .any(|i| i.executed_at.is_some() && !i.decided_by.as_deref().is_some_and(|by| by.starts_with("law:"))))
}

/// Marks the request's live export deleted; returns its file name, removed once committed.
async fn withdraw_export(tx: &mut Conn, request_id: &str, now: i64) -> anyhow::Result<Option<String>> {
    match exports::latest_for_request(tx, request_id).await? {
        Some(e) if e.deleted_at.is_none() => {
            exports::mark_deleted(tx, &e.id, now).await?;
            Ok(Some(e.file_name))
        }
        _ => Ok(None),
    }
}

fn remove_files(app: &App, file: Option<String>) {
    if let Some(f) = file {
        let _ = app.exports.delete(&f);
    }
}

/// Marks an answered request completed: only once the person has their answer (an export ready to
/// download). Erasure, rectification and objection complete through their own workflows.
pub async fn complete(app: &App, by: &StaffRow, reference: &Reference) -> Outcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match open_request(&mut tx, reference).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if request.status != RequestStatus::Ready {
        return Ok(Err(Refused::NotInThisState));
    }
    requests::transition(&mut tx, &request, RequestStatus::Completed, &actor(by), now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Closes a request the person withdrew. The reason is required and kept as an internal note
/// (purgeable with the request, unlike the audit trail); the person is told it is closed.
pub async fn cancel(app: &App, by: &StaffRow, reference: &Reference, reason: &str) -> Outcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match open_request(&mut tx, reference).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if request.status.transition(RequestStatus::Cancelled).is_err() {
        return Ok(Err(Refused::NotInThisState));
    }
    if changed_by_staff_approval(&mut tx, &request.id).await? {
        return Ok(Err(Refused::AlreadyChanged));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err(Refused::ReasonRequired));
    }
    notes::add(&mut tx, &request.id, &by.id, reason, now).await?;
    close_open_question(&mut tx, by, &request, now).await?;
    requests::transition(&mut tx, &request, RequestStatus::Cancelled, &actor(by), now).await?;
    let withdrawn = withdraw_export(&mut tx, &request.id, now).await?;
    if let Some(reference) = &request.reference {
        notify::cancelled(app, &mut tx, to(&request)?, reference, now).await?;
    }
    tx.commit().await?;
    remove_files(app, withdrawn);
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

/// Asks the person to clarify their request (GDPR Recital 63; UK GDPR, ICO: "stop the clock"):
/// the question is emailed in their language with a link to their status page, where they answer.
/// Where the request's policy stops the clock for clarification, it stops until the answer (or
/// until staff close the question); the wait is recorded either way.
pub async fn ask_clarification(app: &App, by: &StaffRow, reference: &Reference, question: &str) -> Outcome {
    let question = question.trim();
    if question.is_empty() {
        return Ok(Err(Refused::QuestionRequired));
    }
    if question.chars().count() > clarifications::MAX_TEXT_CHARS {
        return Ok(Err(Refused::TooLong));
    }
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match open_request(&mut tx, reference).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if request.reference.is_none() || request.email.is_none() {
        return Ok(Err(Refused::NotInThisState));
    }
    if clarifications::open_for(&mut tx, &request.id).await?.is_some() {
        return Ok(Err(Refused::QuestionOpen));
    }
    let clock_stops =
        app.settings.requests.deadlines.clock(policy_of(&request)?).pauses_for(PauseReason::Clarification);
    let event = Event::ClarificationAsked { clock_stops };
    events::record(&mut tx, Some(&request.id), &actor(by), &event, now).await?;
    let opened = pauses::event_id(&mut tx, &request.id, &event, now).await?;
    let pause = pauses::open(&mut tx, &request.id, PauseReason::Clarification, opened.as_deref(), now).await?;
    if clock_stops {
        pauses::mark_stops_clock(&mut tx, &pause).await?;
    }
    clarifications::insert(&mut tx, &request.id, question, &by.id, Some(&pause), now).await?;
    notify::clarification_asked(app, &mut tx, to(&request)?, reference, question, clock_stops, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

/// Closes the waiting question without an answer (the person answered another way, or it is no
/// longer needed): the clock runs again, the due date moves by the days it was stopped.
pub async fn close_clarification(app: &App, by: &StaffRow, reference: &Reference) -> Outcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match open_request(&mut tx, reference).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if !close_open_question(&mut tx, by, &request, now).await? {
        return Ok(Err(Refused::NoQuestion));
    }
    refresh_after_close(app, &mut tx, &request, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Closes the request's open question, if any, as `by` (also when the request is refused or
/// cancelled while waiting). True when one was closed.
async fn close_open_question(tx: &mut Conn, by: &StaffRow, request: &RequestRow, now: i64) -> anyhow::Result<bool> {
    let Some(open) = clarifications::open_for(tx, &request.id).await? else { return Ok(false) };
    if !clarifications::close(tx, &open.id, &by.id, now).await? {
        return Ok(false);
    }
    let event = Event::ClarificationClosed {};
    events::record(tx, Some(&request.id), &actor(by), &event, now).await?;
    let closed = pauses::event_id(tx, &request.id, &event, now).await?;
    pauses::close(tx, &request.id, PauseReason::Clarification, closed.as_deref(), now).await?;
    Ok(true)
}

/// After a question is closed by staff: the stored due date follows the clock.
async fn refresh_after_close(app: &App, tx: &mut Conn, request: &RequestRow, now: i64) -> anyhow::Result<()> {
    crate::services::requests::refresh_due(app, tx, request, now).await?;
    Ok(())
}
