//! The mail outbox: messages written with the change that causes them, delivered by a job.

use anyhow::Context;
use sqlx::Row;

use super::Conn;

#[derive(Debug, Clone)]
pub struct EmailRow {
    pub id: String,
    pub request_id: Option<String>,
    pub template: String,
    pub to_addr: String,
    pub subject: String,
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    pub message_id: String,
    pub sent_at: Option<i64>,
}

pub async fn insert(conn: &mut Conn, e: &EmailRow, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO emails (id, request_id, template, to_addr, subject, text_body, html_body, message_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&e.id)
    .bind(e.request_id.as_deref())
    .bind(&e.template)
    .bind(&e.to_addr)
    .bind(&e.subject)
    .bind(e.text_body.as_deref())
    .bind(e.html_body.as_deref())
    .bind(&e.message_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("queuing an email")?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> anyhow::Result<Option<EmailRow>> {
    let row = sqlx::query(
        "SELECT id, request_id, template, to_addr, subject, text_body, html_body, message_id, sent_at FROM emails WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .context("loading an email")?;
    row.map(|r| -> anyhow::Result<EmailRow> {
        Ok(EmailRow {
            id: r.try_get("id")?,
            request_id: r.try_get("request_id")?,
            template: r.try_get("template")?,
            to_addr: r.try_get("to_addr")?,
            subject: r.try_get("subject")?,
            text_body: r.try_get("text_body")?,
            html_body: r.try_get("html_body")?,
            message_id: r.try_get("message_id")?,
            sent_at: r.try_get("sent_at")?,
        })
    })
    .transpose()
}

/// Records delivery and clears the bodies, which may carry a verification link.
pub async fn mark_sent(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE emails SET sent_at = $1, text_body = NULL, html_body = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("marking an email sent")?;
    Ok(())
}

/// Clears an undelivered message's bodies (they may carry a verification link): for a message
/// that will never be sent.
pub async fn clear_bodies(conn: &mut Conn, id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE emails SET text_body = NULL, html_body = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("clearing an email's bodies")?;
    Ok(())
}

/// Forgets the address and bodies of every message about a request whose address was never
/// proven. The subject and template stay, for the record of what was sent.
/// Forgets the address and bodies of a request's emails already delivered (an erased person's),
/// leaving queued ones to be delivered first.
pub async fn forget_sent(conn: &mut Conn, request_id: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE emails SET to_addr = '', text_body = NULL, html_body = NULL \
         WHERE request_id = $1 AND sent_at IS NOT NULL",
    )
    .bind(request_id)
    .execute(&mut *conn)
    .await
    .context("forgetting a request's sent emails")?;
    Ok(())
}

pub async fn forget_for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE emails SET to_addr = '', text_body = NULL, html_body = NULL WHERE request_id = $1")
        .bind(request_id)
        .execute(&mut *conn)
        .await
        .context("forgetting a request's emails")?;
    Ok(())
}
