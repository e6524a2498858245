//! The audit trail (GDPR Art. 5(2) accountability): append-only, one row per event.

use anyhow::Context;
use sqlx::Row;

use super::Conn;

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub detail: serde_json::Value,
}

/// Appends an event. `actor` is `requester`, `system` or `staff:<id>`; `detail` never holds
/// record contents.
pub async fn record(
    conn: &mut Conn,
    request_id: Option<&str>,
    actor: &str,
    event: &str,
    detail: &serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    // `seq` orders events written in the same millisecond by this process, without a query.
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as i64;
    sqlx::query(
        "INSERT INTO audit_events (id, request_id, at, seq, actor, event, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(crate::crypto::new_id())
    .bind(request_id)
    .bind(now)
    .bind(seq)
    .bind(actor)
    .bind(event)
    .bind(detail.to_string())
    .execute(&mut *conn)
    .await
    .context("recording an audit event")?;
    Ok(())
}

pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<AuditEvent>> {
    let rows = sqlx::query("SELECT at, actor, event, detail FROM audit_events WHERE request_id = $1 ORDER BY at, seq")
        .bind(request_id)
        .fetch_all(&mut *conn)
        .await
        .context("loading audit events")?;
    rows.iter()
        .map(|r| {
            let detail: String = r.try_get("detail")?;
            Ok(AuditEvent {
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                event: r.try_get("event")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}
