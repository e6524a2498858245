//! What staff do to a request. Each action checks the lifecycle and the law before it writes, and
//! writes the change, its audit event and any email to the person in one transaction.

use anyhow::Context;

use crate::app::App;
use crate::clock::from_ms;
use crate::domain::{DenialGround, Reference, RequestStatus};
use crate::services::notify;
use crate::store::requests::{self, RequestRow};
use crate::store::staff::StaffRow;
use crate::store::{Conn, audit, notes, staff};

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
    NotInThisState,
    UnknownAssignee,
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
            Refused::NotInThisState => "staff.refused.not_in_this_state",
            Refused::UnknownAssignee => "staff.refused.unknown_assignee",
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
            Refused::NotInThisState,
            Refused::UnknownAssignee,
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

fn actor(staff: &StaffRow) -> String {
    format!("staff:{}", staff.id)
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
    audit::record(&mut tx, Some(&request.id), &actor(by), "assigned", &serde_json::json!({ "to": assignee }), now)
        .await?;
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
    audit::record(&mut tx, Some(&request.id), &actor(by), "note_added", &serde_json::json!({}), now).await?;
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
    if request.extended_at.is_some() {
        return Ok(Err(Refused::AlreadyExtended));
    }
    let policy: crate::deadlines::Policy =
        request.jurisdiction.parse().map_err(|_| anyhow::anyhow!("unknown policy"))?;
    let (calendar, zone) = app.clock_for(policy)?;
    let today = zone.local_date(from_ms(now)).context("today's date")?;
    let deadline = policy.deadline(request.received_on, &calendar).context("computing the extended due date")?;
    let Some((notice_by, extended_due)) = deadline.extension() else { return Ok(Err(Refused::NoExtensionUnderPolicy)) };
    if today > notice_by || today > request.due_on {
        return Ok(Err(Refused::ExtensionTooLate));
    }
    requests::extend(&mut tx, &request.id, extended_due, reason, now).await?;
    let detail = serde_json::json!({ "from": requests::date_to_text(request.due_on), "to": requests::date_to_text(extended_due) });
    audit::record(&mut tx, Some(&request.id), &actor(by), "extended", &detail, now).await?;
    notify::extended(app, &mut tx, to(&request)?, reference, extended_due, reason, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
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
    requests::set_denial(&mut tx, &request.id, ground.as_str(), reason, now).await?;
    requests::transition(&mut tx, &request, RequestStatus::Denied, &actor(by), now).await?;
    audit::record(
        &mut tx,
        Some(&request.id),
        &actor(by),
        "denied",
        &serde_json::json!({ "ground": ground.as_str() }),
        now,
    )
    .await?;
    notify::denied(app, &mut tx, to(&request)?, reference, ground, reason, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Ok(()))
}

/// Moves the request to `to` (complete or cancel) if the lifecycle allows it.
pub async fn close(app: &App, by: &StaffRow, reference: &Reference, status: RequestStatus) -> Outcome {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match open_request(&mut tx, reference).await? {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    if request.status.transition(status).is_err() {
        return Ok(Err(Refused::NotInThisState));
    }
    requests::transition(&mut tx, &request, status, &actor(by), now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}
