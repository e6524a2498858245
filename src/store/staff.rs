//! Staff accounts, sessions and login throttling.

use anyhow::{Context, anyhow};
use sqlx::Row;

use super::Conn;
use crate::domain::Role;

#[derive(Debug, Clone)]
pub struct StaffRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
}

fn from_row(r: &sqlx::any::AnyRow) -> anyhow::Result<StaffRow> {
    let role: String = r.try_get("role")?;
    Ok(StaffRow {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        display_name: r.try_get("display_name")?,
        role: role.parse().map_err(|_| anyhow!("bad role in store: {role}"))?,
        password_hash: r.try_get("password_hash")?,
        disabled: r.try_get::<i32, _>("disabled")? != 0,
    })
}

const COLUMNS: &str = "id, email, display_name, role, password_hash, disabled";

pub async fn by_email(conn: &mut Conn, email: &str) -> anyhow::Result<Option<StaffRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff WHERE email = $1")))
        .bind(email)
        .fetch_optional(&mut *conn)
        .await
        .context("loading a staff account")?;
    row.as_ref().map(from_row).transpose()
}

pub async fn insert(conn: &mut Conn, s: &StaffRow, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO staff (id, email, display_name, role, password_hash, disabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&s.id)
    .bind(&s.email)
    .bind(&s.display_name)
    .bind(s.role.as_str())
    .bind(&s.password_hash)
    .bind(i32::from(s.disabled))
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("creating a staff account")?;
    Ok(())
}

pub async fn set_password(conn: &mut Conn, id: &str, password_hash: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("changing a password")?;
    Ok(())
}

/// Disables an account and ends its sessions at once.
pub async fn disable(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff SET disabled = 1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("disabling a staff account")?;
    end_sessions(conn, id).await
}

pub async fn end_sessions(conn: &mut Conn, staff_id: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *conn)
        .await
        .context("ending a staff member's sessions")?;
    Ok(())
}

pub async fn insert_session(
    conn: &mut Conn,
    id_hash: &str,
    staff_id: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO staff_sessions (id_hash, staff_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(id_hash)
    .bind(staff_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await
    .context("opening a staff session")?;
    Ok(())
}

/// The enabled account behind a live session, touching its idle clock. `None` once the session
/// ended, idled out, expired, or its account was disabled.
pub async fn session_staff(conn: &mut Conn, id_hash: &str, now: i64, idle_ms: i64) -> anyhow::Result<Option<StaffRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM staff_sessions s JOIN staff ON staff.id = s.staff_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND staff.disabled = 0",
        COLUMNS.split(", ").map(|c| format!("staff.{c}")).collect::<Vec<_>>().join(", ")
    )))
    .bind(id_hash)
    .bind(now)
    .bind(now - idle_ms)
    .fetch_optional(&mut *conn)
    .await
    .context("looking up a staff session")?;
    let Some(row) = row else { return Ok(None) };
    sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE id_hash = $2")
        .bind(now)
        .bind(id_hash)
        .execute(&mut *conn)
        .await
        .context("touching a staff session")?;
    from_row(&row).map(Some)
}

pub async fn delete_session(conn: &mut Conn, id_hash: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await
        .context("ending a staff session")?;
    Ok(())
}

/// When logins for this email hash are refused until (unix ms), 0 if not locked.
pub async fn locked_until(conn: &mut Conn, email_hash: &str) -> anyhow::Result<i64> {
    let until: Option<i64> = sqlx::query_scalar("SELECT locked_until FROM login_failures WHERE email_hash = $1")
        .bind(email_hash)
        .fetch_optional(&mut *conn)
        .await
        .context("checking login failures")?;
    Ok(until.unwrap_or(0))
}

/// Counts a failed login and returns the failures so far.
pub async fn record_failure(conn: &mut Conn, email_hash: &str, now: i64) -> anyhow::Result<i64> {
    let failures: i32 = sqlx::query_scalar(
        "INSERT INTO login_failures (email_hash, failures, locked_until, updated_at) VALUES ($1, 1, 0, $2) \
         ON CONFLICT (email_hash) DO UPDATE SET failures = login_failures.failures + 1, updated_at = $2 \
         RETURNING failures",
    )
    .bind(email_hash)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .context("counting a failed login")?;
    Ok(failures.into())
}

pub async fn lock(conn: &mut Conn, email_hash: &str, until: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE login_failures SET locked_until = $1 WHERE email_hash = $2")
        .bind(until)
        .bind(email_hash)
        .execute(&mut *conn)
        .await
        .context("locking logins")?;
    Ok(())
}

pub async fn clear_failures(conn: &mut Conn, email_hash: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE email_hash = $1")
        .bind(email_hash)
        .execute(&mut *conn)
        .await
        .context("clearing login failures")?;
    Ok(())
}

/// Enabled staff who may work requests (admins and agents), by name: the assignment choices.
pub async fn workers(conn: &mut Conn) -> anyhow::Result<Vec<StaffRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM staff WHERE disabled = 0 AND role IN ('admin', 'agent') ORDER BY display_name, id"
    )))
    .fetch_all(&mut *conn)
    .await
    .context("listing staff")?;
    rows.iter().map(from_row).collect()
}
