//! The audit trail (GDPR Art. 5(2) accountability): append-only, one row per event, hash-chained.
//!
//! Every event takes the next place in one global chain (`chain_seq` 1, 2, 3…) and stores the
//! hash of the event before it (`prev_hash`, [`GENESIS`] for the first) and its own:
//!
//! ```text
//! hash = hex(SHA-256(prev_hash || JSON [chain_seq, id, request_id, at, seq, actor, event, detail]))
//! ```
//!
//! where the JSON array holds the stored values (`request_id` may be `null`; `detail` is the stored
//! text, as a JSON string). Editing an event, deleting one or moving one breaks the chain there,
//! and [`verify`] names the first broken link. Removing events from the end is not visible in the
//! chain itself: keep the head printed by `dossier audit verify` somewhere else to anchor it.
//!
//! Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock taken before the
//! last hash is read, on SQLite by the write lock of [`super::Store::begin`] (`BEGIN IMMEDIATE`).
//! Callers therefore record inside a transaction; the unique index on `chain_seq` refuses a fork
//! even if one does not.

use anyhow::Context;
use sqlx::Row;

use super::Conn;

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

use super::WRITE_LOCK as CHAIN_LOCK;

/// How many events [`verify`] reads at a time.
const VERIFY_PAGE: i64 = 1000;

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: i64,
    pub actor: String,
    pub event: String,
    pub detail: serde_json::Value,
}

/// What the hash covers, as stored.
struct Content<'a> {
    chain_seq: i64,
    id: &'a str,
    request_id: Option<&'a str>,
    at: i64,
    seq: i64,
    actor: &'a str,
    event: &'a str,
    detail: &'a str,
}

impl Content<'_> {
    fn hash(&self, prev_hash: &str) -> String {
        let encoded = serde_json::json!([
            self.chain_seq,
            self.id,
            self.request_id,
            self.at,
            self.seq,
            self.actor,
            self.event,
            self.detail
        ])
        .to_string();
        let mut bytes = Vec::with_capacity(prev_hash.len() + encoded.len());
        bytes.extend_from_slice(prev_hash.as_bytes());
        bytes.extend_from_slice(encoded.as_bytes());
        crate::crypto::sha256_hex(&bytes)
    }
}

/// The last event of the chain: its place and hash (`0` and [`GENESIS`] when there is none).
struct Head {
    chain_seq: i64,
    hash: String,
}

async fn head(conn: &mut Conn) -> anyhow::Result<Option<Head>> {
    let row = sqlx::query(
        "SELECT chain_seq, hash FROM audit_events WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await
    .context("reading the audit chain's last event")?;
    row.map(|r| -> anyhow::Result<Head> {
        Ok(Head {
            chain_seq: r.try_get("chain_seq")?,
            hash: r.try_get::<Option<String>, _>("hash")?.unwrap_or_default(),
        })
    })
    .transpose()
}

/// Takes the right to append (PostgreSQL: until the caller's transaction ends) and returns the
/// chain's last event. The first append after the migration first chains the events written
/// before it, in the order they happened.
async fn lock_head(conn: &mut Conn) -> anyhow::Result<Head> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHAIN_LOCK)
            .execute(&mut *conn)
            .await
            .context("locking the audit chain")?;
    }
    match head(conn).await? {
        Some(head) => Ok(head),
        None => chain_earlier_events(conn).await,
    }
}

async fn chain_earlier_events(conn: &mut Conn) -> anyhow::Result<Head> {
    let rows = sqlx::query(
        "SELECT id, request_id, at, seq, actor, event, detail FROM audit_events WHERE chain_seq IS NULL \
         ORDER BY at, seq, id",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading events written before the audit chain")?;
    let mut head = Head { chain_seq: 0, hash: GENESIS.to_owned() };
    for r in rows {
        let (id, request_id): (String, Option<String>) = (r.try_get("id")?, r.try_get("request_id")?);
        let (actor, event, detail): (String, String, String) =
            (r.try_get("actor")?, r.try_get("event")?, r.try_get("detail")?);
        let content = Content {
            chain_seq: head.chain_seq + 1,
            id: &id,
            request_id: request_id.as_deref(),
            at: r.try_get("at")?,
            seq: r.try_get("seq")?,
            actor: &actor,
            event: &event,
            detail: &detail,
        };
        let hash = content.hash(&head.hash);
        sqlx::query("UPDATE audit_events SET chain_seq = $1, prev_hash = $2, hash = $3 WHERE id = $4")
            .bind(content.chain_seq)
            .bind(&head.hash)
            .bind(&hash)
            .bind(&id)
            .execute(&mut *conn)
            .await
            .context("chaining an event written before the audit chain")?;
        head = Head { chain_seq: content.chain_seq, hash };
    }
    Ok(head)
}

/// Appends an event to the chain. `actor` is `requester`, `system` or `staff:<id>`; `detail`
/// never holds record contents. Call it inside a transaction from [`super::Store::begin`]: the
/// chain stays locked until that transaction ends.
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
    let head = lock_head(conn).await?;
    let (id, detail) = (crate::crypto::new_id(), detail.to_string());
    let content =
        Content { chain_seq: head.chain_seq + 1, id: &id, request_id, at: now, seq, actor, event, detail: &detail };
    let hash = content.hash(&head.hash);
    sqlx::query(
        "INSERT INTO audit_events (id, request_id, at, seq, actor, event, detail, chain_seq, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(request_id)
    .bind(now)
    .bind(seq)
    .bind(actor)
    .bind(event)
    .bind(&detail)
    .bind(content.chain_seq)
    .bind(&head.hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .context("recording an audit event")?;
    Ok(())
}

pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<AuditEvent>> {
    let rows = sqlx::query(
        "SELECT at, actor, event, detail FROM audit_events WHERE request_id = $1 ORDER BY at, chain_seq, seq",
    )
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

/// Why the chain is broken at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The event was changed after it was written.
    Altered,
    /// The event is not the one after the previous event: one was deleted, inserted or moved.
    OutOfSequence,
    /// The event was written outside the chain.
    Unchained,
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every event follows the one before and matches its hash; `head` is the last hash.
    Intact { events: i64, head: String },
    /// The first broken link: the event's place in the chain (if it has one) and id.
    Broken { chain_seq: Option<i64>, id: String, fault: Fault },
}

impl std::fmt::Display for ChainCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainCheck::Intact { events, .. } => write!(f, "ok: {events} events"),
            ChainCheck::Broken { chain_seq, id, fault } => {
                let why = match fault {
                    Fault::Altered => "its hash does not match its content",
                    Fault::OutOfSequence => "it does not follow the previous event",
                    Fault::Unchained => "it was written outside the chain",
                };
                match chain_seq {
                    Some(n) => write!(f, "broken at event #{n} ({id}): {why}"),
                    None => write!(f, "broken at event {id}: {why}"),
                }
            }
        }
    }
}

/// Walks the whole chain in order, a page at a time, and stops at the first broken link.
pub async fn verify(conn: &mut Conn) -> anyhow::Result<ChainCheck> {
    let (mut last_seq, mut last_hash) = (0_i64, GENESIS.to_owned());
    loop {
        let rows = sqlx::query(
            "SELECT chain_seq, id, request_id, at, seq, actor, event, detail, prev_hash, hash FROM audit_events \
             WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2",
        )
        .bind(last_seq)
        .bind(VERIFY_PAGE)
        .fetch_all(&mut *conn)
        .await
        .context("reading the audit chain")?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let chain_seq: i64 = r.try_get("chain_seq")?;
            let id: String = r.try_get("id")?;
            let prev_hash: Option<String> = r.try_get("prev_hash")?;
            let hash: Option<String> = r.try_get("hash")?;
            let broken = |fault| ChainCheck::Broken { chain_seq: Some(chain_seq), id: id.clone(), fault };
            if chain_seq != last_seq + 1 || prev_hash.as_deref() != Some(last_hash.as_str()) {
                return Ok(broken(Fault::OutOfSequence));
            }
            let request_id: Option<String> = r.try_get("request_id")?;
            let (actor, event, detail): (String, String, String) =
                (r.try_get("actor")?, r.try_get("event")?, r.try_get("detail")?);
            let content = Content {
                chain_seq,
                id: &id,
                request_id: request_id.as_deref(),
                at: r.try_get("at")?,
                seq: r.try_get("seq")?,
                actor: &actor,
                event: &event,
                detail: &detail,
            };
            let Some(hash) = hash.filter(|h| *h == content.hash(&last_hash)) else {
                return Ok(broken(Fault::Altered));
            };
            (last_seq, last_hash) = (chain_seq, hash);
        }
    }
    let outside: Option<String> =
        sqlx::query_scalar("SELECT id FROM audit_events WHERE chain_seq IS NULL ORDER BY at, seq, id LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .context("looking for events outside the audit chain")?;
    if let Some(id) = outside {
        return Ok(ChainCheck::Broken { chain_seq: None, id, fault: Fault::Unchained });
    }
    Ok(ChainCheck::Intact { events: last_seq, head: last_hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content<'a>(detail: &'a str, request_id: Option<&'a str>) -> Content<'a> {
        Content { chain_seq: 1, id: "a", request_id, at: 2, seq: 3, actor: "system", event: "x", detail }
    }

    #[test]
    fn the_hash_covers_every_field_and_the_previous_hash() {
        let base = content("{}", Some("r")).hash(GENESIS);
        assert_eq!(base.len(), 64);
        assert_eq!(base, content("{}", Some("r")).hash(GENESIS), "deterministic");
        assert_ne!(base, content("{ }", Some("r")).hash(GENESIS));
        assert_ne!(base, content("{}", None).hash(GENESIS));
        assert_ne!(base, content("{}", Some("r")).hash(&"1".repeat(64)));
        assert_ne!(base, Content { chain_seq: 2, ..content("{}", Some("r")) }.hash(GENESIS));
        assert_ne!(base, Content { at: 3, ..content("{}", Some("r")) }.hash(GENESIS));
        assert_ne!(base, Content { seq: 4, ..content("{}", Some("r")) }.hash(GENESIS));
        assert_ne!(base, Content { actor: "staff:1", ..content("{}", Some("r")) }.hash(GENESIS));
        assert_ne!(base, Content { event: "y", ..content("{}", Some("r")) }.hash(GENESIS));
        assert_ne!(base, Content { id: "b", ..content("{}", Some("r")) }.hash(GENESIS));
        // Field boundaries are unambiguous: moving text between fields changes the hash.
        let a = Content { actor: "ab", event: "c", ..content("{}", None) }.hash(GENESIS);
        let b = Content { actor: "a", event: "bc", ..content("{}", None) }.hash(GENESIS);
        assert_ne!(a, b);
    }

    #[test]
    fn broken_links_are_named_in_words() {
        let broken = |fault| ChainCheck::Broken { chain_seq: Some(123), id: "abc".into(), fault };
        assert_eq!(
            broken(Fault::Altered).to_string(),
            "broken at event #123 (abc): its hash does not match its content"
        );
        assert_eq!(
            broken(Fault::OutOfSequence).to_string(),
            "broken at event #123 (abc): it does not follow the previous event"
        );
        assert_eq!(ChainCheck::Intact { events: 5, head: GENESIS.into() }.to_string(), "ok: 5 events");
    }
}
