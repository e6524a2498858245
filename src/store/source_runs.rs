//! Per-source progress of a request, shown on the status page.

use anyhow::Context;
use sqlx::Row;

use super::Conn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Pending,
    Running,
    Done,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> RunStatus {
        match s {
            "running" => RunStatus::Running,
            "done" => RunStatus::Done,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Pending,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SourceRun {
    pub source: String,
    pub status: RunStatus,
    pub records: i64,
    pub error: Option<String>,
}

pub async fn insert_pending(conn: &mut Conn, request_id: &str, source: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO source_runs (request_id, source, status, updated_at) VALUES ($1, $2, 'pending', $3) \
         ON CONFLICT (request_id, source) DO UPDATE SET status = 'pending', error = NULL, updated_at = $3",
    )
    .bind(request_id)
    .bind(source)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("recording a pending source")?;
    Ok(())
}

pub async fn update(
    conn: &mut Conn,
    request_id: &str,
    source: &str,
    status: RunStatus,
    records: i64,
    error: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE source_runs SET status = $1, records = $2, error = $3, updated_at = $4 WHERE request_id = $5 AND source = $6")
        .bind(status.as_str())
        .bind(records)
        .bind(error)
        .bind(now)
        .bind(request_id)
        .bind(source)
        .execute(&mut *conn)
        .await
        .context("updating a source's progress")?;
    Ok(())
}

/// Changes a source's status and error, keeping the number of records it found (a source that
/// executes changes after having been searched).
pub async fn mark(
    conn: &mut Conn,
    request_id: &str,
    source: &str,
    status: RunStatus,
    error: Option<&str>,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE source_runs SET status = $1, error = $2, updated_at = $3 WHERE request_id = $4 AND source = $5",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(now)
    .bind(request_id)
    .bind(source)
    .execute(&mut *conn)
    .await
    .context("updating a source's progress")?;
    Ok(())
}

pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<SourceRun>> {
    let rows =
        sqlx::query("SELECT source, status, records, error FROM source_runs WHERE request_id = $1 ORDER BY source")
            .bind(request_id)
            .fetch_all(&mut *conn)
            .await
            .context("loading source progress")?;
    rows.iter()
        .map(|r| {
            Ok(SourceRun {
                source: r.try_get("source")?,
                status: RunStatus::parse(&r.try_get::<String, _>("status")?),
                records: r.try_get("records")?,
                error: r.try_get("error")?,
            })
        })
        .collect()
}
