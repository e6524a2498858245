//! The mail outbox: messages written with the change that causes them, delivered by a job.
//!
//! A queued message carries personal data and secrets (the address, a verification link and
//! code), so its address, subject and bodies are stored sealed (ChaCha20-Poly1305, `crypto::seal`)
//! under a sub-key of `DOSSIER_SECRET_KEY` dedicated to the outbox, each bound to its row and
//! column; they are opened only to be delivered (GDPR Art. 32(1)(a): encryption of personal
//! data). The `sealed` column (migration 0010) says which format a row is in: rows queued by a
//! version before it are plain text, and are still delivered as they are. An empty address means
//! the address was forgotten (it is never sealed), and delivered messages lose their bodies.

use anyhow::Context;
use sqlx::Row;

use super::Conn;
use crate::crypto::{SecretKey, open, seal};

/// `emails.sealed`: written in plain text by a version before migration 0010.
pub const PLAIN: i32 = 0;
/// `emails.sealed`: address, subject and bodies sealed under the `outbox-v1` sub-key.
pub const SEALED_V1: i32 = 1;

/// The outbox's own key, derived from the application's secret key.
fn outbox_key(secret: &SecretKey) -> SecretKey {
    secret.derive("outbox-v1")
}

/// What a sealed value is bound to: its row and its column.
fn context(id: &str, column: &str) -> Vec<u8> {
    format!("dossier-outbox-v1\0{id}\0{column}").into_bytes()
}

fn seal_column(key: &SecretKey, id: &str, column: &str, value: &str) -> anyhow::Result<String> {
    seal(key, &context(id, column), value.as_bytes()).with_context(|| format!("sealing an email's {column}"))
}

fn open_column(key: &SecretKey, id: &str, column: &str, value: String) -> anyhow::Result<String> {
    let plain = open(key, &context(id, column), &value).with_context(|| {
        format!(
            "the queued email's {column} cannot be opened: the row was altered, or sealed under another \
             DOSSIER_SECRET_KEY"
        )
    })?;
    String::from_utf8(plain).with_context(|| format!("the queued email's {column} is not text"))
}

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

/// Queues `e`, sealed under the outbox key derived from `secret` (the application's secret key).
pub async fn insert(conn: &mut Conn, secret: &SecretKey, e: &EmailRow, now: i64) -> anyhow::Result<()> {
    let key = outbox_key(secret);
    let to_addr = if e.to_addr.is_empty() { String::new() } else { seal_column(&key, &e.id, "to_addr", &e.to_addr)? };
    let subject = seal_column(&key, &e.id, "subject", &e.subject)?;
    let text = e.text_body.as_deref().map(|b| seal_column(&key, &e.id, "text_body", b)).transpose()?;
    let html = e.html_body.as_deref().map(|b| seal_column(&key, &e.id, "html_body", b)).transpose()?;
    sqlx::query(
        "INSERT INTO emails (id, request_id, template, to_addr, subject, text_body, html_body, message_id, created_at, \
         sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&e.id)
    .bind(e.request_id.as_deref())
    .bind(&e.template)
    .bind(to_addr)
    .bind(subject)
    .bind(text)
    .bind(html)
    .bind(&e.message_id)
    .bind(now)
    .bind(SEALED_V1)
    .execute(&mut *conn)
    .await
    .context("queuing an email")?;
    Ok(())
}

/// Loads a queued email and opens it with the outbox key derived from `secret`. Fails, naming
/// the column, when a sealed value does not open (altered, or another key).
pub async fn get(conn: &mut Conn, secret: &SecretKey, id: &str) -> anyhow::Result<Option<EmailRow>> {
    let row = sqlx::query(
        "SELECT id, request_id, template, to_addr, subject, text_body, html_body, message_id, sent_at, sealed \
         FROM emails WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .context("loading an email")?;
    let Some(r) = row else { return Ok(None) };
    let mut email = EmailRow {
        id: r.try_get("id")?,
        request_id: r.try_get("request_id")?,
        template: r.try_get("template")?,
        to_addr: r.try_get("to_addr")?,
        subject: r.try_get("subject")?,
        text_body: r.try_get("text_body")?,
        html_body: r.try_get("html_body")?,
        message_id: r.try_get("message_id")?,
        sent_at: r.try_get("sent_at")?,
    };
    match r.try_get::<i32, _>("sealed")? {
        PLAIN => {}
        SEALED_V1 => {
            let key = outbox_key(secret);
            let id = email.id.clone();
            if !email.to_addr.is_empty() {
                email.to_addr = open_column(&key, &id, "to_addr", std::mem::take(&mut email.to_addr))?;
            }
            email.subject = open_column(&key, &id, "subject", std::mem::take(&mut email.subject))?;
            email.text_body = email.text_body.map(|b| open_column(&key, &id, "text_body", b)).transpose()?;
            email.html_body = email.html_body.map(|b| open_column(&key, &id, "html_body", b)).transpose()?;
        }
        other => anyhow::bail!("the queued email is in an unknown format ({other}): written by a newer version?"),
    }
    Ok(Some(email))
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

/// Forgets the address and bodies of every message about a request whose address was never
/// proven. The subject (sealed) and template stay, for the record of what was sent.
pub async fn forget_for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE emails SET to_addr = '', text_body = NULL, html_body = NULL WHERE request_id = $1")
        .bind(request_id)
        .execute(&mut *conn)
        .await
        .context("forgetting a request's emails")?;
    Ok(())
}
