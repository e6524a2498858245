//! Questions staff ask the person about their request (GDPR Recital 63, UK GDPR "stop the
//! clock"), and the person's answers. The texts are personal data, purged with the request's.

use anyhow::Context;
use sqlx::Row;

use super::Conn;

/// Longest question or answer accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

#[derive(Debug, Clone)]
pub struct Clarification {
    pub id: String,
    pub request_id: String,
    /// `None` once purged.
    pub question: Option<String>,
    pub asked_by: String,
    pub asked_at: i64,
    pub answer: Option<String>,
    pub answered_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Staff who closed it without an answer.
    pub closed_by: Option<String>,
    pub pause_id: Option<String>,
}

impl Clarification {
    /// Still waiting for the person's answer.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

const COLUMNS: &str =
    "id, request_id, question, asked_by, asked_at, answer, answered_at, closed_at, closed_by, pause_id";

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<Clarification> {
    Ok(Clarification {
        id: r.try_get("id")?,
        request_id: r.try_get("request_id")?,
        question: r.try_get("question")?,
        asked_by: r.try_get("asked_by")?,
        asked_at: r.try_get("asked_at")?,
        answer: r.try_get("answer")?,
        answered_at: r.try_get("answered_at")?,
        closed_at: r.try_get("closed_at")?,
        closed_by: r.try_get("closed_by")?,
        pause_id: r.try_get("pause_id")?,
    })
}

pub async fn insert(
    conn: &mut Conn,
    request_id: &str,
    question: &str,
    asked_by: &str,
    pause_id: Option<&str>,
    now: i64,
) -> anyhow::Result<String> {
    let id = crate::crypto::new_id();
    sqlx::query(
        "INSERT INTO clarifications (id, request_id, question, asked_by, asked_at, pause_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(request_id)
    .bind(question)
    .bind(asked_by)
    .bind(now)
    .bind(pause_id)
    .execute(&mut *conn)
    .await
    .context("recording a clarification request")?;
    Ok(id)
}

/// Every question of a request, oldest first.
pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<Clarification>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM clarifications WHERE request_id = $1 ORDER BY asked_at, id"
    )))
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await
    .context("loading a request's clarifications")?;
    rows.iter().map(from_row).collect()
}

/// The question still waiting for an answer, if any (at most one is open at a time).
pub async fn open_for(conn: &mut Conn, request_id: &str) -> anyhow::Result<Option<Clarification>> {
    Ok(for_request(conn, request_id).await?.into_iter().find(Clarification::is_open))
}

/// Records the person's answer to the open question `id`; false when it was no longer open.
pub async fn answer(conn: &mut Conn, id: &str, answer: &str, now: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE clarifications SET answer = $1, answered_at = $2, closed_at = $2 WHERE id = $3 AND closed_at IS NULL",
    )
    .bind(answer)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("recording an answer")?;
    Ok(done.rows_affected() == 1)
}

/// Staff close the open question `id` without an answer; false when it was no longer open.
pub async fn close(conn: &mut Conn, id: &str, staff_id: &str, now: i64) -> anyhow::Result<bool> {
    let done =
        sqlx::query("UPDATE clarifications SET closed_at = $1, closed_by = $2 WHERE id = $3 AND closed_at IS NULL")
            .bind(now)
            .bind(staff_id)
            .bind(id)
            .execute(&mut *conn)
            .await
            .context("closing a clarification request")?;
    Ok(done.rows_affected() == 1)
}

/// Forgets the texts of a request's questions and answers (the request's personal data is purged).
pub async fn purge_texts(conn: &mut Conn, request_id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE clarifications SET question = NULL, answer = NULL WHERE request_id = $1")
        .bind(request_id)
        .execute(&mut *conn)
        .await
        .context("purging clarification texts")?;
    Ok(())
}
