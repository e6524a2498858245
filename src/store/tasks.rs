//! Tasks for staff opened by manual sources, and the files uploaded for them (see
//! `migrations/0009_manual_tasks.sql` and [`crate::services::tasks`]).

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Conn;

/// What a task asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// Access, portability: search the source, upload what was found or confirm there is nothing.
    Collect,
    /// Erasure, rectification, objection: confirm the change was made by hand.
    Execute,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Collect => "collect",
            TaskKind::Execute => "execute",
        }
    }

    fn parse(s: &str) -> anyhow::Result<TaskKind> {
        match s {
            "collect" => Ok(TaskKind::Collect),
            "execute" => Ok(TaskKind::Execute),
            other => anyhow::bail!("bad task kind in store: {other:?}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Open,
    /// Files uploaded, or the change confirmed.
    Done,
    /// Staff found nothing about the person in the source.
    Nothing,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
            TaskStatus::Nothing => "nothing",
        }
    }

    fn parse(s: &str) -> anyhow::Result<TaskStatus> {
        match s {
            "open" => Ok(TaskStatus::Open),
            "done" => Ok(TaskStatus::Done),
            "nothing" => Ok(TaskStatus::Nothing),
            other => anyhow::bail!("bad task status in store: {other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub request_id: String,
    pub source: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub note: Option<String>,
    pub opened_at: i64,
    pub completed_at: Option<i64>,
    pub completed_by: Option<String>,
}

fn from_row(r: &AnyRow) -> anyhow::Result<Task> {
    Ok(Task {
        id: r.try_get("id")?,
        request_id: r.try_get("request_id")?,
        source: r.try_get("source")?,
        kind: TaskKind::parse(&r.try_get::<String, _>("kind")?)?,
        status: TaskStatus::parse(&r.try_get::<String, _>("status")?)?,
        note: r.try_get("note")?,
        opened_at: r.try_get("opened_at")?,
        completed_at: r.try_get("completed_at")?,
        completed_by: r.try_get("completed_by")?,
    })
}

const COLUMNS: &str = "id, request_id, source, kind, status, note, opened_at, completed_at, completed_by";

/// The open task of this kind for the request's source, if any.
pub async fn open_for(conn: &mut Conn, request_id: &str, source: &str, kind: TaskKind) -> anyhow::Result<Option<Task>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM manual_tasks WHERE request_id = $1 AND source = $2 AND kind = $3 AND status = 'open'"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(request_id)
        .bind(source)
        .bind(kind.as_str())
        .fetch_optional(&mut *conn)
        .await
        .context("loading an open task")?;
    row.as_ref().map(from_row).transpose()
}

/// Opens a task, unless one of this kind is already open for the request's source (a retried job
/// opens nothing new). Returns the open task's id and whether it is new.
pub async fn open(
    conn: &mut Conn,
    request_id: &str,
    source: &str,
    kind: TaskKind,
    now: i64,
) -> anyhow::Result<(String, bool)> {
    if let Some(existing) = open_for(conn, request_id, source, kind).await? {
        return Ok((existing.id, false));
    }
    let id = crate::crypto::new_id();
    sqlx::query(
        "INSERT INTO manual_tasks (id, request_id, source, kind, status, opened_at) VALUES ($1, $2, $3, $4, 'open', $5)",
    )
    .bind(&id)
    .bind(request_id)
    .bind(source)
    .bind(kind.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("opening a task")?;
    Ok((id, true))
}

pub async fn get(conn: &mut Conn, id: &str) -> anyhow::Result<Option<Task>> {
    let sql = format!("SELECT {COLUMNS} FROM manual_tasks WHERE id = $1");
    let row =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await.context("loading a task")?;
    row.as_ref().map(from_row).transpose()
}

/// Every task of a request, oldest first.
pub async fn for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<Vec<Task>> {
    let sql = format!("SELECT {COLUMNS} FROM manual_tasks WHERE request_id = $1 ORDER BY opened_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(request_id)
        .fetch_all(&mut *conn)
        .await
        .context("loading a request's tasks")?;
    rows.iter().map(from_row).collect()
}

/// Open tasks of requests still open (a cancelled, denied or closed request's task is nobody's
/// work any more), oldest first, at most `limit`.
pub async fn open_tasks(conn: &mut Conn, limit: i64) -> anyhow::Result<Vec<Task>> {
    let sql = "SELECT t.id, t.request_id, t.source, t.kind, t.status, t.note, t.opened_at, t.completed_at, \
               t.completed_by FROM manual_tasks t JOIN requests r ON r.id = t.request_id \
               WHERE t.status = 'open' AND r.status NOT IN ('completed', 'denied', 'cancelled', 'expired') \
               ORDER BY t.opened_at, t.id LIMIT $1";
    let rows = sqlx::query(sql).bind(limit).fetch_all(&mut *conn).await.context("loading open tasks")?;
    rows.iter().map(from_row).collect()
}

/// Closes an open task; false when it was not open any more (someone else completed it).
pub async fn complete(
    conn: &mut Conn,
    id: &str,
    status: TaskStatus,
    note: Option<&str>,
    by: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE manual_tasks SET status = $1, note = $2, completed_by = $3, completed_at = $4 \
         WHERE id = $5 AND status = 'open'",
    )
    .bind(status.as_str())
    .bind(note)
    .bind(by)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("completing a task")?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------
// Files

#[derive(Debug, Clone)]
pub struct TaskFile {
    pub id: String,
    pub task_id: String,
    pub name: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
}

pub async fn add_file(conn: &mut Conn, file: &TaskFile) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO manual_task_files (id, task_id, name, size, sha256, uploaded_by, uploaded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&file.id)
    .bind(&file.task_id)
    .bind(&file.name)
    .bind(file.size)
    .bind(&file.sha256)
    .bind(&file.uploaded_by)
    .bind(file.uploaded_at)
    .execute(&mut *conn)
    .await
    .context("recording an uploaded file")?;
    Ok(())
}

pub async fn files(conn: &mut Conn, task_id: &str) -> anyhow::Result<Vec<TaskFile>> {
    let rows = sqlx::query(
        "SELECT id, task_id, name, size, sha256, uploaded_by, uploaded_at FROM manual_task_files \
         WHERE task_id = $1 ORDER BY uploaded_at, name",
    )
    .bind(task_id)
    .fetch_all(&mut *conn)
    .await
    .context("loading a task's files")?;
    rows.iter()
        .map(|r| {
            Ok(TaskFile {
                id: r.try_get("id")?,
                task_id: r.try_get("task_id")?,
                name: r.try_get("name")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                uploaded_by: r.try_get("uploaded_by")?,
                uploaded_at: r.try_get("uploaded_at")?,
            })
        })
        .collect()
}

/// Deletes one file of a task (the stored file is deleted by the caller once this commits).
/// Returns the row deleted, if the file was the task's.
pub async fn remove_file(conn: &mut Conn, task_id: &str, file_id: &str) -> anyhow::Result<Option<TaskFile>> {
    let Some(file) = files(conn, task_id).await?.into_iter().find(|f| f.id == file_id) else { return Ok(None) };
    sqlx::query("DELETE FROM manual_task_files WHERE id = $1 AND task_id = $2")
        .bind(file_id)
        .bind(task_id)
        .execute(&mut *conn)
        .await
        .context("removing an uploaded file")?;
    Ok(Some(file))
}

/// Forgets what staff wrote and the uploaded files' names of a request whose personal data is
/// purged (a note or a file name can name the person: "Contrat de Mme Martin.pdf"); sizes,
/// checksums, dates and who did what stay for the register. `name` is `NOT NULL` in the schema:
/// it is emptied.
pub async fn forget_for_request(conn: &mut Conn, request_id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE manual_tasks SET note = NULL WHERE request_id = $1")
        .bind(request_id)
        .execute(&mut *conn)
        .await
        .context("forgetting a request's task notes")?;
    sqlx::query(
        "UPDATE manual_task_files SET name = '' WHERE task_id IN (SELECT id FROM manual_tasks WHERE request_id = $1)",
    )
    .bind(request_id)
    .execute(&mut *conn)
    .await
    .context("forgetting a request's uploaded file names")?;
    Ok(())
}
