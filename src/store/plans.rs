//! The items of a request's erasure plan, rectification proposal or objection, and the Art. 19
//! notices to recipients (see `migrations/0006_changes.sql`).

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Conn;

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The person has not confirmed the plan (or chosen this correction / objection) yet.
    Proposed,
    /// Staff decide.
    Pending,
    Approved,
    /// Excluded (erasure) or rejected (rectification, objection) by staff, with a reason.
    Excluded,
    /// Nothing to decide: a retained or shared record.
    Kept,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Proposed => "proposed",
            Decision::Pending => "pending",
            Decision::Approved => "approved",
            Decision::Excluded => "excluded",
            Decision::Kept => "kept",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Decision> {
        [Decision::Proposed, Decision::Pending, Decision::Approved, Decision::Excluded, Decision::Kept]
            .into_iter()
            .find(|d| d.as_str() == s)
            .with_context(|| format!("bad decision in store: {s:?}"))
    }
}

/// What executing an item found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// A delete that found nothing: an earlier attempt had applied it.
    Already,
    /// An update whose record was gone.
    Missing,
    /// Read back differently from what was written.
    Mismatch,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Already => "already",
            Outcome::Missing => "missing",
            Outcome::Mismatch => "mismatch",
        }
    }

    fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Applied, Outcome::Already, Outcome::Missing, Outcome::Mismatch].into_iter().find(|o| o.as_str() == s)
    }

    /// The source holds what was asked.
    pub fn succeeded(self) -> bool {
        matches!(self, Outcome::Applied | Outcome::Already)
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub source: String,
    pub collection: String,
    pub record_key: serde_json::Map<String, serde_json::Value>,
    pub action: String,
    pub detail: serde_json::Value,
    pub decision: Decision,
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub outcome: Option<Outcome>,
    pub executed_at: Option<i64>,
    /// When its step was first sent to the source.
    pub attempted_at: Option<i64>,
}

pub struct NewItem<'a> {
    pub source: &'a str,
    pub collection: &'a str,
    pub record_key: &'a serde_json::Map<String, serde_json::Value>,
    pub action: &'a str,
    pub detail: &'a serde_json::Value,
    pub decision: Decision,
}

fn from_row(r: &AnyRow) -> anyhow::Result<Item> {
    let key: String = r.try_get("record_key")?;
    let detail: String = r.try_get("detail")?;
    Ok(Item {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        collection: r.try_get("collection")?,
        record_key: serde_json::from_str(&key).context("bad record key in store")?,
        action: r.try_get("action")?,
        detail: serde_json::from_str(&detail).context("bad item detail in store")?,
        decision: Decision::parse(&r.try_get::<String, _>("decision")?)?,
        decision_reason: r.try_get("decision_reason")?,
        decided_by: r.try_get("decided_by")?,
        outcome: r.try_get::<Option<String>, _>("outcome")?.as_deref().and_then(Outcome::parse),
        executed_at: r.try_get("executed_at")?,
        attempted_at: r.try_get("attempted_at")?,
    })
}

const COLUMNS: &str = "id, source, collection, record_key, action, detail, decision, decision_reason, decided_by, \
     outcome, executed_at, attempted_at";

/// Replaces a source's items for a request (a retried planning job starts over).
pub async fn replace_for_source(
    conn: &mut Conn,
    request_id: &str,
    source: &str,
    items: &[NewItem<'_>],
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM plan_items WHERE request_id = $1 AND source = $2")
        .bind(request_id)
        .bind(source)
        .execute(&mut *conn)
        .await
        .context("clearing a source's plan")?;
    for (position, item) in items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO plan_items (id, request_id, source, collection, record_key, action, detail, decision, \
             position, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(crate::crypto::new_id())
        .bind(request_id)
        .bind(item.source)
        .bind(item.collection)
        .bind(serde_json::to_string(item.record_key)?)
        .bind(item.action)
        .bind(serde_json::to_string(item.detail)?)
        .bind(item.decision.as_str())
        .bind(position as i64)
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("storing a plan item")?;
    }
    Ok(())
}

/// Every item of a request, by source and plan order.
pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<Item>> {
    let sql = format!("SELECT {COLUMNS} FROM plan_items WHERE request_id = $1 ORDER BY source, position");
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(request_id).fetch_all(&mut *conn).await.context("loading a plan")?;
    rows.iter().map(from_row).collect()
}

/// The approved items of one source not executed yet, in plan order.
pub async fn to_execute(conn: &mut Conn, request_id: &str, source: &str) -> anyhow::Result<Vec<Item>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM plan_items WHERE request_id = $1 AND source = $2 AND decision = 'approved' \
         AND executed_at IS NULL ORDER BY position"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(request_id)
        .bind(source)
        .fetch_all(&mut *conn)
        .await
        .context("loading the steps to execute")?;
    rows.iter().map(from_row).collect()
}

/// Records a decision on one item of the request (the request id guards against an item id from
/// another request).
pub async fn decide(
    conn: &mut Conn,
    request_id: &str,
    item_id: &str,
    decision: Decision,
    reason: Option<&str>,
    by: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE plan_items SET decision = $1, decision_reason = $2, decided_by = $3, decided_at = $4 \
         WHERE id = $5 AND request_id = $6",
    )
    .bind(decision.as_str())
    .bind(reason)
    .bind(by)
    .bind(now)
    .bind(item_id)
    .bind(request_id)
    .execute(&mut *conn)
    .await
    .context("recording a decision")?;
    Ok(done.rows_affected() == 1)
}

/// Replaces an item's detail (a rectification's proposed value).
pub async fn set_detail(conn: &mut Conn, item_id: &str, detail: &serde_json::Value) -> anyhow::Result<()> {
    sqlx::query("UPDATE plan_items SET detail = $1 WHERE id = $2")
        .bind(serde_json::to_string(detail)?)
        .bind(item_id)
        .execute(&mut *conn)
        .await
        .context("updating a plan item")?;
    Ok(())
}

/// Deletes the request's items still `proposed` (what the person did not choose).
pub async fn drop_unchosen(conn: &mut Conn, request_id: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM plan_items WHERE request_id = $1 AND decision = 'proposed'")
        .bind(request_id)
        .execute(&mut *conn)
        .await
        .context("dropping unchosen items")?;
    Ok(())
}

/// Records that these items' steps are about to be sent to their source (kept if already set).
pub async fn mark_attempted(conn: &mut Conn, item_ids: &[&str], now: i64) -> anyhow::Result<()> {
    for id in item_ids {
        sqlx::query("UPDATE plan_items SET attempted_at = COALESCE(attempted_at, $1) WHERE id = $2")
            .bind(now)
            .bind(*id)
            .execute(&mut *conn)
            .await
            .context("recording an attempt")?;
    }
    Ok(())
}

pub async fn record_outcome(conn: &mut Conn, item_id: &str, outcome: Outcome, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE plan_items SET outcome = $1, executed_at = $2 WHERE id = $3")
        .bind(outcome.as_str())
        .bind(now)
        .bind(item_id)
        .execute(&mut *conn)
        .await
        .context("recording a step's outcome")?;
    Ok(())
}

/// Opens again the request's approved items a source did not keep as written (`mismatch`), so a
/// retry executes them again; returns how many.
pub async fn reopen_mismatched(conn: &mut Conn, request_id: &str) -> anyhow::Result<u64> {
    let done = sqlx::query(
        "UPDATE plan_items SET outcome = NULL, executed_at = NULL \
         WHERE request_id = $1 AND decision = 'approved' AND outcome = 'mismatch'",
    )
    .bind(request_id)
    .execute(&mut *conn)
    .await
    .context("reopening mismatched items")?;
    Ok(done.rows_affected())
}

/// Forgets the personal data items hold (a rectification's old and new values), keeping what was
/// done: run when a request's personal data is purged.
pub async fn forget_values(conn: &mut Conn, request_id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE plan_items SET detail = '{}' WHERE request_id = $1 AND action = 'rectify'")
        .bind(request_id)
        .execute(&mut *conn)
        .await
        .context("forgetting a proposal's values")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Recipients (Art. 19)

#[derive(Debug, Clone)]
pub struct Notice {
    pub id: String,
    pub source: String,
    pub recipient: String,
    pub done: bool,
    pub done_by: Option<String>,
    pub done_at: Option<i64>,
}

/// Opens a task to tell `recipient`; once per request, source and recipient.
pub async fn add_notice(
    conn: &mut Conn,
    request_id: &str,
    source: &str,
    recipient: &str,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO recipient_notices (id, request_id, source, recipient, status, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (request_id, source, recipient) DO NOTHING",
    )
    .bind(crate::crypto::new_id())
    .bind(request_id)
    .bind(source)
    .bind(recipient)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("opening a recipient notice")?;
    Ok(())
}

pub async fn notices(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<Notice>> {
    let rows = sqlx::query(
        "SELECT id, source, recipient, status, done_by, done_at FROM recipient_notices WHERE request_id = $1 \
         ORDER BY source, recipient",
    )
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await
    .context("loading recipient notices")?;
    rows.iter()
        .map(|r| {
            Ok(Notice {
                id: r.try_get("id")?,
                source: r.try_get("source")?,
                recipient: r.try_get("recipient")?,
                done: r.try_get::<String, _>("status")? == "done",
                done_by: r.try_get("done_by")?,
                done_at: r.try_get("done_at")?,
            })
        })
        .collect()
}

/// Marks a notice done; false when it is not the request's or already done.
pub async fn notice_done(conn: &mut Conn, request_id: &str, id: &str, by: &str, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE recipient_notices SET status = 'done', done_by = $1, done_at = $2 \
         WHERE id = $3 AND request_id = $4 AND status = 'pending'",
    )
    .bind(by)
    .bind(now)
    .bind(id)
    .bind(request_id)
    .execute(&mut *conn)
    .await
    .context("recording a recipient notice")?;
    Ok(done.rows_affected() == 1)
}
