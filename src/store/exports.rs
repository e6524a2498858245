//! Built exports: the encrypted file's name, its size and checksum, and when it expires.

use anyhow::Context;
use sqlx::Row;

use super::Conn;

#[derive(Debug, Clone)]
pub struct ExportRow {
    pub id: String,
    pub request_id: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub records: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub deleted_at: Option<i64>,
}

pub async fn insert(conn: &mut Conn, e: &ExportRow) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO exports (id, request_id, file_name, size_bytes, sha256, records, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(&e.request_id)
    .bind(&e.file_name)
    .bind(e.size_bytes)
    .bind(&e.sha256)
    .bind(e.records)
    .bind(e.created_at)
    .bind(e.expires_at)
    .execute(&mut *conn)
    .await
    .context("saving an export")?;
    Ok(())
}

/// The newest export of a request, deleted or not.
pub async fn latest_for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Option<ExportRow>> {
    let row = sqlx::query(
        "SELECT id, request_id, file_name, size_bytes, sha256, records, created_at, expires_at, deleted_at \
         FROM exports WHERE request_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(request_id)
    .fetch_optional(&mut *conn)
    .await
    .context("loading an export")?;
    row.map(|r| -> anyhow::Result<ExportRow> {
        Ok(ExportRow {
            id: r.try_get("id")?,
            request_id: r.try_get("request_id")?,
            file_name: r.try_get("file_name")?,
            size_bytes: r.try_get("size_bytes")?,
            sha256: r.try_get("sha256")?,
            records: r.try_get("records")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            deleted_at: r.try_get("deleted_at")?,
        })
    })
    .transpose()
}

/// Exports past their expiry whose file is still on disk.
pub async fn expired(conn: &mut Conn, now: i64) -> anyhow::Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT id, file_name FROM exports WHERE expires_at <= $1 AND deleted_at IS NULL")
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .context("listing expired exports")?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("file_name")?))).collect()
}

pub async fn mark_deleted(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE exports SET deleted_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("marking an export deleted")?;
    Ok(())
}
