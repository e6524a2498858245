//! Email verification secrets, stored only as hashes (token: SHA-256; code: keyed HMAC).

use anyhow::Context;
use sqlx::{AssertSqlSafe, Row};

use super::Conn;

#[derive(Debug, Clone)]
pub struct Verification {
    pub id: String,
    pub request_id: String,
    pub code_hash: String,
    pub failed_attempts: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

const COLUMNS: &str = "id, request_id, code_hash, failed_attempts, expires_at, used_at";

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Verification> {
    Ok(Verification {
        id: r.try_get("id")?,
        request_id: r.try_get("request_id")?,
        code_hash: r.try_get("code_hash")?,
        failed_attempts: r.try_get::<i32, _>("failed_attempts")? as i64,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    request_id: &str,
    purpose: &str,
    token_hash: &str,
    code_hash: &str,
    expires_at: i64,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO verifications (id, request_id, purpose, token_hash, code_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(crate::crypto::new_id())
    .bind(request_id)
    .bind(purpose)
    .bind(token_hash)
    .bind(code_hash)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("saving a verification")?;
    Ok(())
}

pub async fn by_token_hash(conn: &mut Conn, token_hash: &str) -> anyhow::Result<Option<Verification>> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM verifications WHERE token_hash = $1")))
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await
        .context("looking up a verification link")?;
    row.as_ref().map(from_row).transpose()
}

/// The newest verification of a request (the one a typed code is checked against).
pub async fn latest_for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Option<Verification>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM verifications WHERE request_id = $1 ORDER BY created_at DESC, id LIMIT 1"
    )))
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await
    .context("looking up a verification")?;
    row.as_ref().map(from_row).transpose()
}

/// Marks the verification used, if it still is unused: single use even under concurrent clicks.
pub async fn consume(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE verifications SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("consuming a verification")?;
    Ok(done.rows_affected() == 1)
}

pub async fn record_failure(conn: &mut Conn, id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE verifications SET failed_attempts = failed_attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("counting a wrong code")?;
    Ok(())
}
