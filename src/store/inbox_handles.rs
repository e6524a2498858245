//! The "check your inbox" page's handles (migration 0015): each submission's fresh random handle,
//! kept only as a SHA-256, mapped to the request and verification it stands for, or to nothing
//! (a sign-in whose reference and address did not match). The typed address is sealed under the
//! `inbox-v1` sub-key of `DOSSIER_SECRET_KEY`, bound to its row (GDPR Art. 32(1)(a)).

use anyhow::Context;
use sqlx::{AssertSqlSafe, Row};

use super::Conn;
use crate::crypto::{SecretKey, open, seal};

#[derive(Debug, Clone)]
pub struct HandleRow {
    pub handle_hash: String,
    pub purpose: String,
    pub request_id: Option<String>,
    pub verification_id: Option<String>,
    pub reference: Option<String>,
    pub email_hash: String,
    pub email_sealed: String,
    pub locale: String,
    pub code_hash: String,
    pub code_attempts: i64,
    pub code_expires_at: i64,
    pub created_at: i64,
}

const COLUMNS: &str = "handle_hash, purpose, request_id, verification_id, reference, email_hash, email_sealed, \
     locale, code_hash, code_attempts, code_expires_at, created_at";

fn key(secret: &SecretKey) -> SecretKey {
    secret.derive("inbox-v1")
}

fn context(handle_hash: &str) -> Vec<u8> {
    format!("dossier-inbox-v1\0{handle_hash}\0email").into_bytes()
}

/// Seals the address typed for the handle whose hash is `handle_hash`.
pub fn seal_email(secret: &SecretKey, handle_hash: &str, email: &str) -> anyhow::Result<String> {
    seal(&key(secret), &context(handle_hash), email.as_bytes()).context("sealing an address")
}

impl HandleRow {
    /// The address typed, opened.
    pub fn email(&self, secret: &SecretKey) -> anyhow::Result<String> {
        let plain = open(&key(secret), &context(&self.handle_hash), &self.email_sealed)
            .context("the address of a check-inbox page cannot be opened (altered, or another DOSSIER_SECRET_KEY)")?;
        String::from_utf8(plain).context("the address of a check-inbox page is not text")
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<HandleRow> {
    Ok(HandleRow {
        handle_hash: r.try_get("handle_hash")?,
        purpose: r.try_get("purpose")?,
        request_id: r.try_get("request_id")?,
        verification_id: r.try_get("verification_id")?,
        reference: r.try_get("reference")?,
        email_hash: r.try_get("email_hash")?,
        email_sealed: r.try_get("email_sealed")?,
        locale: r.try_get("locale")?,
        code_hash: r.try_get("code_hash")?,
        code_attempts: r.try_get::<i32, _>("code_attempts")? as i64,
        code_expires_at: r.try_get("code_expires_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert(conn: &mut Conn, h: &HandleRow) -> anyhow::Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO inbox_handles ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )))
    .bind(&h.handle_hash)
    .bind(&h.purpose)
    .bind(h.request_id.as_deref())
    .bind(h.verification_id.as_deref())
    .bind(h.reference.as_deref())
    .bind(&h.email_hash)
    .bind(&h.email_sealed)
    .bind(&h.locale)
    .bind(&h.code_hash)
    .bind(h.code_attempts as i32)
    .bind(h.code_expires_at)
    .bind(h.created_at)
    .execute(&mut *conn)
    .await
    .context("saving a check-inbox page")?;
    Ok(())
}

pub async fn get(conn: &mut Conn, handle_hash: &str) -> anyhow::Result<Option<HandleRow>> {
    let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM inbox_handles WHERE handle_hash = $1")))
        .bind(handle_hash)
        .fetch_optional(&mut *conn)
        .await
        .context("looking up a check-inbox page")?;
    row.as_ref().map(from_row).transpose()
}

/// A new email was sent for the page: its code (and verification, if any) replace the previous
/// one's, with a fresh count of attempts.
pub async fn renew(
    conn: &mut Conn,
    handle_hash: &str,
    verification_id: Option<&str>,
    code_hash: &str,
    code_expires_at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE inbox_handles SET verification_id = $1, code_hash = $2, code_expires_at = $3, code_attempts = 0 \
         WHERE handle_hash = $4",
    )
    .bind(verification_id)
    .bind(code_hash)
    .bind(code_expires_at)
    .bind(handle_hash)
    .execute(&mut *conn)
    .await
    .context("renewing a check-inbox page")?;
    Ok(())
}

/// Counts one code attempt before the code is compared, if the page's code still allows one
/// (unexpired, fewer than `max` attempts): parallel guesses never compare more than `max`.
pub async fn count_attempt(conn: &mut Conn, handle_hash: &str, max: i64, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE inbox_handles SET code_attempts = code_attempts + 1 \
         WHERE handle_hash = $1 AND code_expires_at > $2 AND code_attempts < $3",
    )
    .bind(handle_hash)
    .bind(now)
    .bind(max)
    .execute(&mut *conn)
    .await
    .context("counting a code attempt")?;
    Ok(done.rows_affected() == 1)
}

/// Forgets pages created before `before` (with the sealed address they keep).
pub async fn purge(conn: &mut Conn, before: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM inbox_handles WHERE created_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await
        .context("purging check-inbox pages")?;
    Ok(done.rows_affected())
}
