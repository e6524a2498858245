//! Delivers one email from the outbox table. A crash after sending and before marking it sent
//! sends it again with the same Message-ID (at-least-once).

use anyhow::Context;

use crate::app::App;
use crate::domain::audit::{Actor, Event};
use crate::store::{emails, events, requests};

pub async fn run(app: &App, email_id: &str) -> anyhow::Result<()> {
    let mut conn = app.store.conn().await?;
    let email =
        emails::get(&mut conn, &app.settings.secret_key, email_id).await?.context("the email to send is gone")?;
    // Sent already, or its address forgotten (its request expired unverified): nothing to send.
    if email.sent_at.is_some() || email.to_addr.is_empty() {
        return Ok(());
    }
    drop(conn);
    app.mailer.send(&email, &app.settings.mail.from).await?;
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    emails::mark_sent(&mut tx, email_id, now).await?;
    // An erased person's address is kept only until their last email is delivered (GDPR Art. 17).
    if let Some(request_id) = &email.request_id
        && requests::get(&mut tx, request_id).await?.is_some_and(|r| r.email.is_none())
    {
        emails::forget_sent(&mut tx, request_id).await?;
    }
    let event = Event::EmailSent { template: email.template.clone() };
    events::record(&mut tx, email.request_id.as_deref(), &Actor::System, &event, now).await?;
    tx.commit().await?;
    Ok(())
}
