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
    /// With `worker`, the claim's fencing token: a later claim of the same job increments it, so
    /// a worker whose lease was taken over can no longer renew, complete or fail the job.
    pub attempts: i32,
    pub max_attempts: i32,
    /// The worker that holds the claim (`jobs.locked_by`).
    pub worker: String,
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
            worker: worker.to_owned(),
        })
    })
    .transpose()
}

/// Extends the lease of a job still held by this claim until `until`. False when the lease was
/// lost: another worker claimed the job after it expired, or it is no longer running.
pub async fn renew(conn: &mut Conn, job: &ClaimedJob, until: i64, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET locked_until = $1, updated_at = $2 \
         WHERE id = $3 AND locked_by = $4 AND attempts = $5 AND status = 'running'",
    )
    .bind(until)
    .bind(now)
    .bind(&job.id)
    .bind(&job.worker)
    .bind(job.attempts)
    .execute(&mut *conn)
    .await
    .context("renewing a job's lease")?;
    Ok(done.rows_affected() == 1)
}

/// Whether this claim still holds the job (nobody took it over). Inside a transaction on
/// PostgreSQL the row stays locked until commit, so a takeover waits for the step to finish.
pub async fn still_held(conn: &mut Conn, backend: Backend, job: &ClaimedJob) -> anyhow::Result<bool> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql =
        format!("SELECT id FROM jobs WHERE id = $1 AND locked_by = $2 AND attempts = $3 AND status = 'running'{lock}");
    let row: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(&job.id)
        .bind(&job.worker)
        .bind(job.attempts)
        .fetch_optional(&mut *conn)
        .await
        .context("checking a job's claim")?;
    Ok(row.is_some())
}

/// Marks the job done if this claim still holds it; false (changing nothing) when the lease was
/// taken over by another worker.
pub async fn complete(conn: &mut Conn, job: &ClaimedJob, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = $1 \
         WHERE id = $2 AND locked_by = $3 AND attempts = $4 AND status = 'running'",
    )
    .bind(now)
    .bind(&job.id)
    .bind(&job.worker)
    .bind(job.attempts)
    .execute(&mut *conn)
    .await
    .context("completing a job")?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: queued again at `retry_at`, or dead when `retry_at` is `None`. Only
/// while this claim still holds the job; false (changing nothing) otherwise. `error` must not
/// hold personal data (the caller redacts it).
pub async fn fail(
    conn: &mut Conn,
    job: &ClaimedJob,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> anyhow::Result<bool> {
    let (status, run_at) = match retry_at {
        Some(at) => ("queued", at),
        None => ("dead", now),
    };
    let done = sqlx::query(
        "UPDATE jobs SET status = $1, run_at = $2, locked_until = NULL, last_error = $3, updated_at = $4 \
         WHERE id = $5 AND locked_by = $6 AND attempts = $7 AND status = 'running'",
    )
    .bind(status)
    .bind(run_at)
    .bind(error)
    .bind(now)
    .bind(&job.id)
    .bind(&job.worker)
    .bind(job.attempts)
    .execute(&mut *conn)
    .await
    .context("recording a job failure")?;
    Ok(done.rows_affected() == 1)
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
