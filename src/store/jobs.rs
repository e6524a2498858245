//! The durable job queue: a row per step, claimed with a lease, retried with backoff, dead after
//! its last attempt. A crash never loses a job: an expired lease makes it claimable again.

use anyhow::Context;
use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Conn};

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: serde_json::Value,
    pub request_id: Option<&'a str>,
    /// A second job with the same key is not queued.
    pub idempotency_key: Option<String>,
    pub max_attempts: i32,
    pub run_at: i64,
}

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub request_id: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Queues a job; returns false when its idempotency key was already queued.
pub async fn enqueue(conn: &mut Conn, job: NewJob<'_>, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, request_id, idempotency_key, status, max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $8) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(crate::crypto::new_id())
    .bind(job.kind)
    .bind(job.payload.to_string())
    .bind(job.request_id)
    .bind(job.idempotency_key)
    .bind(job.max_attempts)
    .bind(job.run_at)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("queuing a job")?;
    Ok(done.rows_affected() == 1)
}

/// Claims the next due job (or one whose lease expired) for `lease_ms`.
pub async fn claim(
    conn: &mut Conn,
    backend: Backend,
    worker: &str,
    now: i64,
    lease_ms: i64,
) -> anyhow::Result<Option<ClaimedJob>> {
    // Several instances on PostgreSQL: skip rows another claimer has locked. The outer condition
    // is repeated so a concurrent claim of the same row cannot succeed twice.
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let due = "((status = 'queued' AND run_at <= $3) OR (status = 'running' AND locked_until < $3))";
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, locked_by = $2, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs WHERE {due} ORDER BY run_at, id LIMIT 1 {lock}) AND {due} \
         RETURNING id, kind, payload, request_id, attempts, max_attempts"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(now + lease_ms)
        .bind(worker)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .context("claiming a job")?;
    row.map(|r| -> anyhow::Result<ClaimedJob> {
        let payload: String = r.try_get("payload")?;
        Ok(ClaimedJob {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            payload: serde_json::from_str(&payload).context("a job's payload is not JSON")?,
            request_id: r.try_get("request_id")?,
            attempts: r.try_get("attempts")?,
            max_attempts: r.try_get("max_attempts")?,
        })
    })
    .transpose()
}

pub async fn complete(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("completing a job")?;
    Ok(())
}

/// Records a failed attempt: queued again at `retry_at`, or dead when `retry_at` is `None`.
pub async fn fail(conn: &mut Conn, id: &str, error: &str, retry_at: Option<i64>, now: i64) -> anyhow::Result<()> {
    let (status, run_at) = match retry_at {
        Some(at) => ("queued", at),
        None => ("dead", now),
    };
    sqlx::query(
        "UPDATE jobs SET status = $1, run_at = $2, locked_until = NULL, last_error = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(status)
    .bind(run_at)
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("recording a job failure")?;
    Ok(())
}

/// Jobs not finished yet (queued or running), due or not.
pub async fn unfinished(conn: &mut Conn) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
        .fetch_one(&mut *conn)
        .await
        .context("counting unfinished jobs")
}

/// The earliest time a queued job becomes due.
pub async fn next_run_at(conn: &mut Conn) -> anyhow::Result<Option<i64>> {
    sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE status = 'queued'")
        .fetch_one(&mut *conn)
        .await
        .context("finding the next job")
}
