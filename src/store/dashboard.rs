//! The dashboard's reads. Each one is bounded by a period (the receipt dates, or the dates source
//! runs last changed) on an indexed column, except "overdue now", which reads open requests by
//! `(status, due_on)`. Aggregates that need the deadline law's dates (days to close, on time) are
//! computed by the caller from the rows returned here.

use anyhow::Context;
use sqlx::Row;
use time::Date;

use super::Conn;
use super::requests::{date_to_text, text_to_date};
use crate::domain::RequestKind;

/// Verified requests received in `[from, to]`, counted per month (`YYYY-MM`) and right.
pub async fn received_per_month(
    conn: &mut Conn,
    from: Date,
    to: Date,
) -> anyhow::Result<Vec<(String, RequestKind, i64)>> {
    let rows = sqlx::query(
        "SELECT SUBSTR(received_on, 1, 7) AS month, kind, COUNT(*) AS n FROM requests \
         WHERE received_on >= $1 AND received_on <= $2 AND reference IS NOT NULL \
         GROUP BY SUBSTR(received_on, 1, 7), kind",
    )
    .bind(date_to_text(from))
    .bind(date_to_text(to))
    .fetch_all(&mut *conn)
    .await
    .context("counting requests per month")?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get("kind")?;
        if let Ok(kind) = kind.parse() {
            out.push((r.try_get("month")?, kind, r.try_get::<i64, _>("n")?));
        }
    }
    Ok(out)
}

/// A verified request received in the period and answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub received_on: Date,
    /// The due date in force (after any extension, GDPR Art. 12(3)).
    pub due_on: Date,
    /// When the answer was given (unix ms): the export ready and the person emailed (access,
    /// portability), the certificate issued or the refusal sent (`requests.answered_at`,
    /// migration 0017).
    pub answered_at: i64,
}

/// The requests received in `[from, to]` that have been answered. Cancelled and expired requests
/// were never answered and are left out.
pub async fn answered(conn: &mut Conn, from: Date, to: Date) -> anyhow::Result<Vec<Answered>> {
    let rows = sqlx::query(
        "SELECT received_on, due_on, answered_at FROM requests \
         WHERE received_on >= $1 AND received_on <= $2 AND reference IS NOT NULL AND answered_at IS NOT NULL",
    )
    .bind(date_to_text(from))
    .bind(date_to_text(to))
    .fetch_all(&mut *conn)
    .await
    .context("listing answered requests")?;
    rows.iter()
        .map(|r| {
            Ok(Answered {
                received_on: text_to_date(&r.try_get::<String, _>("received_on")?)?,
                due_on: text_to_date(&r.try_get::<String, _>("due_on")?)?,
                answered_at: r.try_get("answered_at")?,
            })
        })
        .collect()
}

/// Requests still awaiting their answer whose due date is before `today` and whose clock is
/// running (what the queue's "overdue" filter lists): a request whose clock a counted pause stops
/// is not late, although its stored due date, moved when the pause closes, may have passed.
pub async fn overdue(conn: &mut Conn, today: Date) -> anyhow::Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM requests WHERE status IN ({}) AND due_on < $1 AND reference IS NOT NULL \
         AND NOT {}",
        super::queue::awaiting_answer_sql(),
        super::pauses::STOPPED_SQL,
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(date_to_text(today))
        .fetch_one(&mut *conn)
        .await
        .context("counting overdue requests")
}

/// A source's runs in the period and how many of them failed after their retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFailures {
    pub source: String,
    pub failed: i64,
    pub runs: i64,
}

/// Sources with at least one failed run whose last change falls in `[from_ms, to_ms)`, most
/// failures first, at most `limit`.
pub async fn failing_sources(
    conn: &mut Conn,
    from_ms: i64,
    to_ms: i64,
    limit: u32,
) -> anyhow::Result<Vec<SourceFailures>> {
    let sql = format!(
        "SELECT source, SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed, COUNT(*) AS runs \
         FROM source_runs WHERE updated_at >= $1 AND updated_at < $2 GROUP BY source \
         HAVING SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) > 0 \
         ORDER BY failed DESC, source LIMIT {limit}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *conn)
        .await
        .context("counting failed sources")?;
    rows.iter()
        .map(|r| {
            Ok(SourceFailures {
                source: r.try_get("source")?,
                failed: r.try_get::<i64, _>("failed")?,
                runs: r.try_get::<i64, _>("runs")?,
            })
        })
        .collect()
}
