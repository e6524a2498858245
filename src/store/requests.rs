//! Requests and their lifecycle. A status only changes through [`transition`], which asks the
//! domain whether the move is allowed and records it as an audit event in the same transaction.

use anyhow::{Context, anyhow};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use time::Date;

use super::{Backend, Conn, events};
use crate::domain::audit::{Actor, Event};
use crate::domain::{Locale, Reference, RequestKind, RequestStatus};

#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: String,
    pub reference: Option<Reference>,
    pub kind: RequestKind,
    pub status: RequestStatus,
    /// `None` once the request's personal data has been purged.
    pub email: Option<String>,
    pub email_hash: String,
    pub locale: Locale,
    pub jurisdiction: String,
    pub channel: String,
    pub received_at: i64,
    pub received_on: Date,
    pub due_on: Date,
    pub extension_notice_by: Date,
    pub verified_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// The staff member working the request.
    pub assignee_id: Option<String>,
    /// Set once the deadline was extended: the due date before, why, and when the person was told.
    pub original_due_on: Option<Date>,
    pub extension_reason: Option<String>,
    pub extended_at: Option<i64>,
    /// Set when refused: the legal ground's code and the explanation sent to the person.
    pub denial_ground: Option<String>,
    pub denial_reason: Option<String>,
    /// When the person confirmed the plan, sent their corrections or chose what to object to.
    pub confirmed_at: Option<i64>,
    /// GDPR Art. 16: what else the person says is wrong, in their words.
    pub statement: Option<String>,
    /// CCPA §7021(a): when the confirmation of receipt was sent.
    pub receipt_confirmed_at: Option<i64>,
    /// When the person was first given their answer (export ready and emailed, certificate,
    /// refusal; [`RequestStatus::is_answered`]): the clock stops, no extension after it.
    pub answered_at: Option<i64>,
}

pub struct NewRequest<'a> {
    pub id: &'a str,
    pub kind: RequestKind,
    pub email: &'a str,
    pub email_hash: &'a str,
    pub locale: Locale,
    pub jurisdiction: &'a str,
    pub channel: &'a str,
    pub received_at: i64,
    pub received_on: Date,
    pub due_on: Date,
    pub extension_notice_by: Date,
}

const COLUMNS: &str = "id, reference, kind, status, email, email_hash, locale, jurisdiction, channel, \
     received_at, received_on, due_on, extension_notice_by, verified_at, completed_at, assignee_id, \
     original_due_on, extension_reason, extended_at, denial_ground, denial_reason, confirmed_at, statement, \
     receipt_confirmed_at, answered_at";

pub fn date_to_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn text_to_date(s: &str) -> anyhow::Result<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, format).with_context(|| format!("bad date in store: {s:?}"))
}

fn from_row(row: &AnyRow) -> anyhow::Result<RequestRow> {
    let reference: Option<String> = row.try_get("reference")?;
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let locale: String = row.try_get("locale")?;
    Ok(RequestRow {
        id: row.try_get("id")?,
        reference: reference.map(|r| r.parse().map_err(|_| anyhow!("bad reference in store"))).transpose()?,
        kind: kind.parse().map_err(|_| anyhow!("bad kind in store: {kind}"))?,
        status: status.parse().map_err(|_| anyhow!("bad status in store: {status}"))?,
        email: row.try_get("email")?,
        email_hash: row.try_get("email_hash")?,
        locale: Locale::from_tag(&locale).unwrap_or_default(),
        jurisdiction: row.try_get("jurisdiction")?,
        channel: row.try_get("channel")?,
        received_at: row.try_get("received_at")?,
        received_on: text_to_date(&row.try_get::<String, _>("received_on")?)?,
        due_on: text_to_date(&row.try_get::<String, _>("due_on")?)?,
        extension_notice_by: text_to_date(&row.try_get::<String, _>("extension_notice_by")?)?,
        verified_at: row.try_get("verified_at")?,
        completed_at: row.try_get("completed_at")?,
        assignee_id: row.try_get("assignee_id")?,
        original_due_on: row.try_get::<Option<String>, _>("original_due_on")?.map(|d| text_to_date(&d)).transpose()?,
        extension_reason: row.try_get("extension_reason")?,
        extended_at: row.try_get("extended_at")?,
        denial_ground: row.try_get("denial_ground")?,
        denial_reason: row.try_get("denial_reason")?,
        confirmed_at: row.try_get("confirmed_at")?,
        statement: row.try_get("statement")?,
        receipt_confirmed_at: row.try_get("receipt_confirmed_at")?,
        answered_at: row.try_get("answered_at")?,
    })
}

pub async fn insert(conn: &mut Conn, r: &NewRequest<'_>, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO requests (id, kind, status, email, email_hash, locale, jurisdiction, channel, \
         received_at, received_on, due_on, extension_notice_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(r.id)
    .bind(r.kind.as_str())
    .bind(RequestStatus::Submitted.as_str())
    .bind(r.email)
    .bind(r.email_hash)
    .bind(r.locale.as_str())
    .bind(r.jurisdiction)
    .bind(r.channel)
    .bind(r.received_at)
    .bind(date_to_text(r.received_on))
    .bind(date_to_text(r.due_on))
    .bind(date_to_text(r.extension_notice_by))
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("inserting a request")?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> anyhow::Result<Option<RequestRow>> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM requests WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .context("loading a request")?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_reference(conn: &mut Conn, reference: &Reference) -> anyhow::Result<Option<RequestRow>> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM requests WHERE reference = $1")))
        .bind(reference.as_str())
        .fetch_optional(&mut *conn)
        .await
        .context("loading a request by reference")?;
    row.as_ref().map(from_row).transpose()
}

/// The verified requests of one person (by keyed email hash), newest first.
pub async fn verified_for_email_hash(conn: &mut Conn, email_hash: &str) -> anyhow::Result<Vec<RequestRow>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM requests WHERE email_hash = $1 AND reference IS NOT NULL \
         ORDER BY received_at DESC"
    )))
    .bind(email_hash)
    .fetch_all(&mut *conn)
    .await
    .context("listing a person's requests")?;
    rows.iter().map(from_row).collect()
}

/// Locks the request's row until the transaction ends, so steps that complete a request's work
/// in parallel (two sources finishing at once) see each other's writes. PostgreSQL takes a row
/// lock; SQLite needs none, as its write transactions are serialised (`BEGIN IMMEDIATE`).
pub async fn lock(conn: &mut Conn, backend: Backend, id: &str) -> anyhow::Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM requests WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .context("locking a request")?;
    }
    Ok(())
}

/// Moves a request to `to` if the lifecycle allows it and nobody changed it meanwhile, and records
/// the transition. Fails (changing nothing) otherwise. The first move to an answered status
/// (`ready`, `completed`, `denied`) records the answer date (migration 0017).
pub async fn transition(
    conn: &mut Conn,
    request: &RequestRow,
    to: RequestStatus,
    actor: &Actor,
    now: i64,
) -> anyhow::Result<()> {
    request.status.transition(to)?;
    let completed = if to.is_terminal() { Some(now) } else { None };
    let answered = if to.is_answered() { Some(now) } else { None };
    let done = sqlx::query(
        "UPDATE requests SET status = $1, updated_at = $2, completed_at = COALESCE($3, completed_at), \
         answered_at = COALESCE(answered_at, $6) WHERE id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(completed)
    .bind(&request.id)
    .bind(request.status.as_str())
    .bind(answered)
    .execute(&mut *conn)
    .await
    .context("changing a request's status")?;
    if done.rows_affected() != 1 {
        anyhow::bail!("request {} changed concurrently; expected status {}", request.id, request.status);
    }
    events::record(conn, Some(&request.id), actor, &Event::StatusChanged { from: request.status, to }, now).await
}

/// Gives a request its reference (`DSR-<year>-<n>`), sequential per year.
pub async fn assign_reference(conn: &mut Conn, id: &str, year: i32, now: i64) -> anyhow::Result<Reference> {
    sqlx::query("INSERT INTO reference_counters (year, last) VALUES ($1, 0) ON CONFLICT (year) DO NOTHING")
        .bind(year)
        .execute(&mut *conn)
        .await
        .context("creating the reference counter")?;
    let last: i64 = sqlx::query_scalar("UPDATE reference_counters SET last = last + 1 WHERE year = $1 RETURNING last")
        .bind(year)
        .fetch_one(&mut *conn)
        .await
        .context("incrementing the reference counter")?;
    let reference = Reference::new(year, last);
    sqlx::query("UPDATE requests SET reference = $1, updated_at = $2 WHERE id = $3")
        .bind(reference.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("saving the reference")?;
    Ok(reference)
}

/// Where an open request stands against its due date, for the staff queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineState {
    Overdue,
    /// Due within [`DUE_SOON_DAYS`] days.
    DueSoon,
    OnTrack,
}

pub const DUE_SOON_DAYS: i64 = 7;

impl DeadlineState {
    pub fn of(today: Date, due: Date) -> DeadlineState {
        let left = (due - today).whole_days();
        if left < 0 {
            DeadlineState::Overdue
        } else if left <= DUE_SOON_DAYS {
            DeadlineState::DueSoon
        } else {
            DeadlineState::OnTrack
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineState::Overdue => "overdue",
            DeadlineState::DueSoon => "due_soon",
            DeadlineState::OnTrack => "on_track",
        }
    }

    pub fn parse(s: &str) -> Option<DeadlineState> {
        [DeadlineState::Overdue, DeadlineState::DueSoon, DeadlineState::OnTrack].into_iter().find(|d| d.as_str() == s)
    }
}

// The staff queue's reads (filters, keyset pages, counts per status) are in `store::queue`.

pub async fn assign(conn: &mut Conn, id: &str, staff_id: Option<&str>, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE requests SET assignee_id = $1, updated_at = $2 WHERE id = $3")
        .bind(staff_id)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("assigning a request")?;
    Ok(())
}

/// Moves the due date to `new_due`, keeping the original, the reason and when it was notified.
pub async fn extend(conn: &mut Conn, id: &str, new_due: Date, reason: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE requests SET original_due_on = due_on, due_on = $1, extension_reason = $2, extended_at = $3, \
         updated_at = $3 WHERE id = $4 AND extended_at IS NULL",
    )
    .bind(date_to_text(new_due))
    .bind(reason)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("extending a request")?;
    Ok(())
}

/// Stores the due dates recomputed from the clock (its start and its pauses): `due_on`, the last
/// day to announce an extension, and, once extended, the extended date with `original_due_on`
/// the date it replaced. The queue sorts by the stored `due_on`, so it stays a plain index scan.
pub async fn set_due(
    conn: &mut Conn,
    id: &str,
    due_on: Date,
    extension_notice_by: Date,
    original_due_on: Option<Date>,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE requests SET due_on = $1, extension_notice_by = $2, \
         original_due_on = CASE WHEN extended_at IS NULL THEN original_due_on ELSE $3 END, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(date_to_text(due_on))
    .bind(date_to_text(extension_notice_by))
    .bind(original_due_on.map(date_to_text))
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("moving a request's due date")?;
    Ok(())
}

/// CCPA §7021(a): records that the receipt was confirmed; false if it already was (the caller
/// then sends nothing: exactly once, whatever runs at the same time).
pub async fn mark_receipt_confirmed(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE requests SET receipt_confirmed_at = $1, updated_at = $1 WHERE id = $2 AND receipt_confirmed_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("recording the confirmation of receipt")?;
    Ok(done.rows_affected() == 1)
}

/// Open CCPA requests with a reference and an address whose receipt was never confirmed.
pub async fn unconfirmed_ccpa(conn: &mut Conn) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT id FROM requests WHERE jurisdiction = 'ccpa' AND receipt_confirmed_at IS NULL \
         AND reference IS NOT NULL AND email IS NOT NULL \
         AND status NOT IN ('completed', 'denied', 'cancelled', 'expired') ORDER BY received_at",
    )
    .fetch_all(&mut *conn)
    .await
    .context("listing CCPA requests to confirm")
}

pub async fn set_denial(conn: &mut Conn, id: &str, ground: &str, reason: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE requests SET denial_ground = $1, denial_reason = $2, updated_at = $3 WHERE id = $4")
        .bind(ground)
        .bind(reason)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("recording a denial")?;
    Ok(())
}

/// Records when the person's identity was verified.
pub async fn set_verified(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE requests SET verified_at = $1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("recording the verification")?;
    Ok(())
}

/// Records that the person confirmed (erasure), proposed corrections (rectification, with their
/// optional statement) or chose their objections.
pub async fn set_confirmed(conn: &mut Conn, id: &str, statement: Option<&str>, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE requests SET confirmed_at = $1, statement = $2, updated_at = $1 WHERE id = $3")
        .bind(now)
        .bind(statement)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("recording the person's confirmation")?;
    Ok(())
}

/// Keeps only the keyed hash of the address on this request and on the same person's closed
/// requests (GDPR Art. 17: an erased person's address is not kept in the clear; the hash still
/// finds their requests and detects a re-import). Their open requests keep it: they are still
/// being answered.
pub async fn forget_email(conn: &mut Conn, request: &RequestRow, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE requests SET email = NULL, updated_at = $1 WHERE id = $2 \
         OR (email_hash = $3 AND status IN ('completed', 'denied', 'cancelled', 'expired'))",
    )
    .bind(now)
    .bind(&request.id)
    .bind(&request.email_hash)
    .execute(&mut *conn)
    .await
    .context("forgetting a person's address")?;
    Ok(())
}

/// The keyed hashes of the people whose erasure was completed, with the request's reference.
pub async fn erased_email_hashes(conn: &mut Conn) -> anyhow::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT email_hash, reference FROM requests WHERE kind = 'erasure' AND status = 'completed' \
         ORDER BY completed_at",
    )
    .fetch_all(&mut *conn)
    .await
    .context("loading erased people")?;
    rows.iter()
        .map(|r| Ok((r.try_get("email_hash")?, r.try_get::<Option<String>, _>("reference")?.unwrap_or_default())))
        .collect()
}

/// Other requests by the same person (same keyed hash) received since `since_ms`: GDPR Art.
/// 12(5), repetitive requests.
pub async fn others_by_same_person(
    conn: &mut Conn,
    email_hash: &str,
    except_id: &str,
    since_ms: i64,
) -> anyhow::Result<Vec<RequestRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM requests WHERE email_hash = $1 AND id <> $2 AND received_at >= $3 \
         AND reference IS NOT NULL ORDER BY received_at DESC LIMIT 50"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(email_hash)
        .bind(except_id)
        .bind(since_ms)
        .fetch_all(&mut *conn)
        .await
        .context("loading the person's other requests")?;
    rows.iter().map(from_row).collect()
}
