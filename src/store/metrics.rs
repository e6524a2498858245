//! The numbers an operator's monitoring scrapes (`/metrics`): a handful of aggregate queries over
//! indexed columns, nothing about any person (statuses, kinds, counts, ages, source names).

use anyhow::Context;
use sqlx::Row;
use time::Date;

use super::Conn;
use super::requests::date_to_text;

/// How many days ahead "due soon" looks in the metrics.
pub const DUE_SOON_DAYS: i64 = 7;

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// (status, kind, count) for every pair that has requests.
    pub requests: Vec<(String, String, i64)>,
    /// Awaiting an answer, clock running, due date passed (the queue's "overdue").
    pub overdue: i64,
    /// Awaiting an answer, clock running, due today or within [`DUE_SOON_DAYS`].
    pub due_soon: i64,
    pub jobs: Vec<JobKind>,
    /// Emails written to the outbox and not yet delivered.
    pub outbox_pending: i64,
    /// When the oldest of them was written (unix ms).
    pub outbox_oldest_at: Option<i64>,
    /// (source, status, count) of the sources' runs for requests still on record.
    pub source_runs: Vec<(String, String, i64)>,
    /// Audit events recorded and not sealed into the chain yet (a stuck sealer shows here).
    pub audit_unsealed: i64,
    /// When the oldest of them was recorded (unix ms).
    pub audit_oldest_unsealed_at: Option<i64>,
}

/// One job kind's queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobKind {
    pub kind: String,
    pub queued: i64,
    pub running: i64,
    /// Failed after their last attempt: someone must look.
    pub dead: i64,
    /// When the oldest queued job of this kind became due (unix ms).
    pub oldest_due_at: Option<i64>,
}

pub async fn snapshot(conn: &mut Conn, today: Date, now: i64) -> anyhow::Result<Snapshot> {
    let requests =
        sqlx::query("SELECT status, kind, COUNT(*) AS n FROM requests GROUP BY status, kind ORDER BY status, kind")
            .fetch_all(&mut *conn)
            .await
            .context("counting requests by status")?
            .iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("kind")?, r.try_get("n")?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;

    let overdue = super::dashboard::overdue(conn, today).await?;
    let soon = today.saturating_add(time::Duration::days(DUE_SOON_DAYS));
    let due_soon_sql = format!(
        "SELECT COUNT(*) FROM requests WHERE status IN ({}) AND reference IS NOT NULL \
         AND due_on >= $1 AND due_on <= $2 AND NOT {}",
        super::queue::awaiting_answer_sql(),
        super::pauses::STOPPED_SQL,
    );
    let due_soon: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(due_soon_sql))
        .bind(date_to_text(today))
        .bind(date_to_text(soon))
        .fetch_one(&mut *conn)
        .await
        .context("counting requests due soon")?;

    // `done` jobs are the bulk of the table and tell nothing: read only the others.
    let rows = sqlx::query(
        "SELECT kind, status, COUNT(*) AS n, MIN(run_at) AS oldest FROM jobs \
         WHERE status IN ('queued', 'running', 'dead') GROUP BY kind, status ORDER BY kind",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading the job queue's depth")?;
    let mut jobs: Vec<JobKind> = Vec::new();
    for r in &rows {
        let kind: String = r.try_get("kind")?;
        let status: String = r.try_get("status")?;
        let n: i64 = r.try_get("n")?;
        if jobs.last().is_none_or(|j| j.kind != kind) {
            jobs.push(JobKind { kind, ..Default::default() });
        }
        let Some(j) = jobs.last_mut() else { continue };
        match status.as_str() {
            "queued" => {
                j.queued = n;
                j.oldest_due_at = r.try_get::<Option<i64>, _>("oldest")?.map(|at| at.min(now));
            }
            "running" => j.running = n,
            _ => j.dead = n,
        }
    }

    let outbox = sqlx::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM emails WHERE sent_at IS NULL")
        .fetch_one(&mut *conn)
        .await
        .context("reading the outbox")?;

    let source_runs = sqlx::query(
        "SELECT source, status, COUNT(*) AS n FROM source_runs GROUP BY source, status ORDER BY source, status",
    )
    .fetch_all(&mut *conn)
    .await
    .context("counting source runs")?
    .iter()
    .map(|r| Ok((r.try_get("source")?, r.try_get("status")?, r.try_get("n")?)))
    .collect::<Result<Vec<_>, sqlx::Error>>()?;

    // Unsealed events are few (the sealer runs every 2 seconds) and found by the sealer's own
    // query on `chain_seq IS NULL`.
    let audit = sqlx::query("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM audit_events WHERE chain_seq IS NULL")
        .fetch_one(&mut *conn)
        .await
        .context("counting unsealed audit events")?;

    Ok(Snapshot {
        requests,
        overdue,
        due_soon,
        jobs,
        outbox_pending: outbox.try_get("n")?,
        outbox_oldest_at: outbox.try_get("oldest")?,
        source_runs,
        audit_unsealed: audit.try_get("n")?,
        audit_oldest_unsealed_at: audit.try_get("oldest")?,
    })
}

/// The versions of the migrations applied to this store (successfully).
pub async fn applied_migrations(conn: &mut Conn) -> anyhow::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .context("reading the applied migrations")
}
