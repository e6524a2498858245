//! Staff's internal notes on a request (never shown to the requester).

use anyhow::Context;
use sqlx::Row;

use super::Conn;

#[derive(Debug, Clone)]
pub struct Note {
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

pub async fn add(conn: &mut Conn, request_id: &str, staff_id: &str, body: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO request_notes (id, request_id, staff_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(crate::crypto::new_id())
        .bind(request_id)
        .bind(staff_id)
        .bind(body)
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("adding a note")?;
    Ok(())
}

pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<Note>> {
    let rows = sqlx::query(
        "SELECT staff.display_name AS author, n.body, n.created_at FROM request_notes n \
         JOIN staff ON staff.id = n.staff_id WHERE n.request_id = $1 ORDER BY n.created_at, n.id",
    )
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await
    .context("loading notes")?;
    rows.iter()
        .map(|r| {
            Ok(Note { author: r.try_get("author")?, body: r.try_get("body")?, created_at: r.try_get("created_at")? })
        })
        .collect()
}
