//! Verified requesters' sessions. The cookie holds a random id; the store holds its hash.

use anyhow::Context;

use super::Conn;

pub async fn insert(conn: &mut Conn, id_hash: &str, email_hash: &str, now: i64, expires_at: i64) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO requester_sessions (id_hash, email_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(id_hash)
        .bind(email_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await
        .context("opening a requester session")?;
    Ok(())
}

/// The email hash a live session stands for.
pub async fn email_hash(conn: &mut Conn, id_hash: &str, now: i64) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT email_hash FROM requester_sessions WHERE id_hash = $1 AND expires_at > $2")
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .context("looking up a requester session")
}

pub async fn delete(conn: &mut Conn, id_hash: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM requester_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await
        .context("closing a requester session")?;
    Ok(())
}
