//! Email verification secrets, stored only as hashes (token: SHA-256; code: keyed HMAC).

use anyhow::Context;
use sqlx::{AssertSqlSafe, Row};

use super::Conn;

#[derive(Debug, Clone)]
pub struct Verification {
    pub id: String,
    pub request_id: String,
    pub code_hash: String,
    pub code_attempts: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

const COLUMNS: &str = "id, request_id, code_hash, code_attempts, expires_at, used_at";

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Verification> {
    Ok(Verification {
        id: r.try_get("id")?,
        request_id: r.try_get("request_id")?,
        code_hash: r.try_get("code_hash")?,
        code_attempts: r.try_get::<i32, _>("code_attempts")? as i64,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
    })
}

/// Creates a verification for a request and returns its id. With `retire_others`, earlier ones
/// that are still open expire now: only the newest email's link and code work, as the "check your
/// inbox" page says. Sign-ins do not retire each other (each has its own page and email), so a
/// stranger who knows a reference and its address cannot cancel the person's own sign-in.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut Conn,
    request_id: &str,
    purpose: &str,
    token_hash: &str,
    code_hash: &str,
    expires_at: i64,
    retire_others: bool,
    now: i64,
) -> anyhow::Result<String> {
    if retire_others {
        sqlx::query(
            "UPDATE verifications SET expires_at = $1 WHERE request_id = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(request_id)
        .execute(&mut *conn)
        .await
        .context("retiring earlier verifications")?;
    }
    let id = crate::crypto::new_id();
    sqlx::query(
        "INSERT INTO verifications (id, request_id, purpose, token_hash, code_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(request_id)
    .bind(purpose)
    .bind(token_hash)
    .bind(code_hash)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("saving a verification")?;
    Ok(id)
}

pub async fn get(conn: &mut Conn, id: &str) -> anyhow::Result<Option<Verification>> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM verifications WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .context("loading a verification")?;
    row.as_ref().map(from_row).transpose()
}

/// Expires verification `id` now if it is still open (a newer email for the same page replaces it).
pub async fn retire(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE verifications SET expires_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("retiring a verification")?;
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

/// Records a code typed on the verification's page (counted on the page itself first, see
/// `inbox_handles::count_attempt`), so that the emailed link is locked with the code after
/// `max_code_attempts` wrong ones. `None` (a page that stands for no request) runs the same
/// statement and changes nothing.
pub async fn note_code_attempt(conn: &mut Conn, id: Option<&str>) -> anyhow::Result<()> {
    sqlx::query("UPDATE verifications SET code_attempts = code_attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("counting a code attempt")?;
    Ok(())
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
