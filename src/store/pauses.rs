//! Clock pauses: every interval during which Dossier waited for the person, with its reason and
//! the audit events that opened and closed it (docs/legal.md, "Clock pauses"). Whether it stops the
//! clock is the request's policy's business ([`crate::deadlines::ClockPolicy`]).

use anyhow::Context;
use sqlx::Row;

use super::Conn;
use crate::deadlines::{Pause, PauseReason};

#[derive(Debug, Clone)]
pub struct PauseRow {
    pub id: String,
    pub reason: PauseReason,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub opened_event: Option<String>,
    pub closed_event: Option<String>,
}

impl PauseRow {
    pub fn as_pause(&self) -> Pause {
        Pause {
            reason: self.reason,
            from: crate::clock::from_ms(self.opened_at),
            until: self.closed_at.map(crate::clock::from_ms),
        }
    }
}

/// The id of the audit event `event` just recorded for `request_id` at `at` (inside the write
/// transaction that recorded it, so no other can come between).
pub async fn event_id(
    conn: &mut Conn,
    request_id: &str,
    event: &crate::domain::audit::Event,
    at: i64,
) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT id FROM audit_events WHERE request_id = $1 AND event = $2 AND at = $3 ORDER BY seq DESC LIMIT 1",
    )
    .bind(request_id)
    .bind(event.name().context("naming an audit event")?)
    .bind(at)
    .fetch_optional(&mut *conn)
    .await
    .context("finding an audit event")
}

/// Opens a pause for `reason` unless one is open already; returns its id.
pub async fn open(
    conn: &mut Conn,
    request_id: &str,
    reason: PauseReason,
    opened_event: Option<&str>,
    now: i64,
) -> anyhow::Result<String> {
    if let Some(open) = open_for(conn, request_id, reason).await? {
        return Ok(open.id);
    }
    let id = crate::crypto::new_id();
    sqlx::query(
        "INSERT INTO clock_pauses (id, request_id, reason, opened_at, opened_event) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(request_id)
    .bind(reason.code())
    .bind(now)
    .bind(opened_event)
    .execute(&mut *conn)
    .await
    .context("opening a clock pause")?;
    Ok(id)
}

/// Marks a pause as stopping the request's legal clock (its policy counts the pause's reason), so
/// the queue and the dashboard do not call the request overdue while it is open
/// ([`STOPPED_SQL`]; migration 0013).
pub async fn mark_stops_clock(conn: &mut Conn, pause_id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE clock_pauses SET stops_clock = 1 WHERE id = $1")
        .bind(pause_id)
        .execute(&mut *conn)
        .await
        .context("marking a clock pause as counted")?;
    Ok(())
}

/// An SQL condition, on a query over `requests`, true while the request's clock is stopped: it
/// has an open pause its policy counts. Served by the partial index `clock_pauses_stopping`.
pub const STOPPED_SQL: &str = "EXISTS (SELECT 1 FROM clock_pauses cp WHERE cp.request_id = requests.id \
                               AND cp.closed_at IS NULL AND cp.stops_clock = 1)";

/// Closes the open pause for `reason`, if any; true when one was closed.
pub async fn close(
    conn: &mut Conn,
    request_id: &str,
    reason: PauseReason,
    closed_event: Option<&str>,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE clock_pauses SET closed_at = $1, closed_event = $2 \
         WHERE request_id = $3 AND reason = $4 AND closed_at IS NULL",
    )
    .bind(now)
    .bind(closed_event)
    .bind(request_id)
    .bind(reason.code())
    .execute(&mut *conn)
    .await
    .context("closing a clock pause")?;
    Ok(done.rows_affected() > 0)
}

pub async fn open_for(conn: &mut Conn, request_id: &str, reason: PauseReason) -> anyhow::Result<Option<PauseRow>> {
    Ok(for_request(conn, request_id).await?.into_iter().find(|p| p.reason == reason && p.closed_at.is_none()))
}

/// Every pause of a request, oldest first.
pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<PauseRow>> {
    let rows = sqlx::query(
        "SELECT id, reason, opened_at, closed_at, opened_event, closed_event FROM clock_pauses \
         WHERE request_id = $1 ORDER BY opened_at, id",
    )
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await
    .context("loading a request's clock pauses")?;
    rows.iter()
        .map(|r| {
            let reason: String = r.try_get("reason")?;
            Ok(PauseRow {
                id: r.try_get("id")?,
                reason: reason.parse().map_err(|_| anyhow::anyhow!("bad pause reason in store: {reason}"))?,
                opened_at: r.try_get("opened_at")?,
                closed_at: r.try_get("closed_at")?,
                opened_event: r.try_get("opened_event")?,
                closed_event: r.try_get("closed_event")?,
            })
        })
        .collect()
}
