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
    /// The active second-factor secret, sealed (`crypto::totp::seal`); `None` without TOTP.
    pub totp_secret: Option<String>,
    /// The last TOTP time step accepted: a code is never accepted twice.
    pub totp_last_step: Option<i64>,
    /// A secret being enrolled, sealed, not yet confirmed by a code.
    pub totp_pending: Option<String>,
    pub last_login_at: Option<i64>,
}

impl StaffRow {
    pub fn totp_enabled(&self) -> bool {
        self.totp_secret.is_some()
    }
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
        totp_secret: r.try_get("totp_secret")?,
        totp_last_step: r.try_get("totp_last_step")?,
        totp_pending: r.try_get("totp_pending")?,
        last_login_at: r.try_get("last_login_at")?,
    })
}

const COLUMNS: &str =
    "id, email, display_name, role, password_hash, disabled, totp_secret, totp_last_step, totp_pending, last_login_at";

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

/// Ends every session of a staff member, and any login of theirs waiting for its second factor.
pub async fn end_sessions(conn: &mut Conn, staff_id: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *conn)
        .await
        .context("ending a staff member's sessions")?;
    sqlx::query("DELETE FROM staff_login_challenges WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *conn)
        .await
        .context("ending a staff member's pending logins")?;
    Ok(())
}

/// Ends every session of a staff member but the one whose hash is `keep`.
pub async fn end_other_sessions(conn: &mut Conn, staff_id: &str, keep: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1 AND id_hash <> $2")
        .bind(staff_id)
        .bind(keep)
        .execute(&mut *conn)
        .await
        .context("ending a staff member's other sessions")?;
    sqlx::query("DELETE FROM staff_login_challenges WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut *conn)
        .await
        .context("ending a staff member's pending logins")?;
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

/// Failed logins are counted per (keyed email hash, client network): see
/// `services::staff::login`. A network's counter with no lock in force is forgotten after this
/// long without a failure.
pub const FAILURES_KEPT_MS: i64 = 86_400_000;

/// When logins for this email hash from this network are refused until (unix ms), 0 if not.
pub async fn locked_until(conn: &mut Conn, email_hash: &str, network: &str) -> anyhow::Result<i64> {
    let until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM staff_login_failures WHERE email_hash = $1 AND network = $2")
            .bind(email_hash)
            .bind(network)
            .fetch_optional(&mut *conn)
            .await
            .context("checking login failures")?;
    Ok(until.unwrap_or(0))
}

/// Counts a failed login from `network` and returns the failures so far from there. Counters
/// quiet for [`FAILURES_KEPT_MS`] with no lock in force go first (spraying must not grow the
/// table for ever).
pub async fn record_failure(conn: &mut Conn, email_hash: &str, network: &str, now: i64) -> anyhow::Result<i64> {
    sqlx::query("DELETE FROM staff_login_failures WHERE updated_at < $1 AND locked_until < $2")
        .bind(now - FAILURES_KEPT_MS)
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("forgetting old login failures")?;
    let failures: i32 = sqlx::query_scalar(
        "INSERT INTO staff_login_failures (email_hash, network, failures, locked_until, first_at, updated_at) \
         VALUES ($1, $2, 1, 0, $3, $3) \
         ON CONFLICT (email_hash, network) DO UPDATE SET failures = staff_login_failures.failures + 1, updated_at = $3 \
         RETURNING failures",
    )
    .bind(email_hash)
    .bind(network)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .context("counting a failed login")?;
    Ok(failures.into())
}

pub async fn lock(conn: &mut Conn, email_hash: &str, network: &str, until: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff_login_failures SET locked_until = $1 WHERE email_hash = $2 AND network = $3")
        .bind(until)
        .bind(email_hash)
        .bind(network)
        .execute(&mut *conn)
        .await
        .context("locking logins")?;
    Ok(())
}

/// Forgets the failures from `network` (a right password and, with a second factor, a right
/// code from there): other networks' counters and locks stay.
pub async fn clear_failures(conn: &mut Conn, email_hash: &str, network: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM staff_login_failures WHERE email_hash = $1 AND network = $2")
        .bind(email_hash)
        .bind(network)
        .execute(&mut *conn)
        .await
        .context("clearing login failures")?;
    Ok(())
}

/// Failed logins from one network, for the admins' page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedLogins {
    pub email_hash: String,
    /// Masked: `203.0.113.0/24`.
    pub network: String,
    pub failures: i64,
    pub locked_until: i64,
    pub last_at: i64,
}

/// Every network's failures for these email hashes, the latest first.
pub async fn failed_logins(conn: &mut Conn, email_hashes: &[String]) -> anyhow::Result<Vec<FailedLogins>> {
    let mut out = Vec::new();
    for hash in email_hashes {
        let rows = sqlx::query(
            "SELECT network, failures, locked_until, updated_at FROM staff_login_failures WHERE email_hash = $1 \
             ORDER BY updated_at DESC, network",
        )
        .bind(hash)
        .fetch_all(&mut *conn)
        .await
        .context("listing failed logins")?;
        for r in rows {
            out.push(FailedLogins {
                email_hash: hash.clone(),
                network: r.try_get("network")?,
                failures: r.try_get::<i32, _>("failures")?.into(),
                locked_until: r.try_get("locked_until")?,
                last_at: r.try_get("updated_at")?,
            });
        }
    }
    Ok(out)
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

pub async fn by_id(conn: &mut Conn, id: &str) -> anyhow::Result<Option<StaffRow>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .context("loading a staff account")?;
    row.as_ref().map(from_row).transpose()
}

/// Every account, enabled or not, by address: the staff management page.
pub async fn all(conn: &mut Conn) -> anyhow::Result<Vec<StaffRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM staff ORDER BY email, id")))
        .fetch_all(&mut *conn)
        .await
        .context("listing staff")?;
    rows.iter().map(from_row).collect()
}

/// Enabled admins: there must always be one.
pub async fn active_admins(conn: &mut Conn) -> anyhow::Result<i64> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE role = 'admin' AND disabled = 0")
        .fetch_one(&mut *conn)
        .await
        .context("counting admins")?;
    Ok(n)
}

pub async fn set_role(conn: &mut Conn, id: &str, role: crate::domain::Role, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("changing a staff role")?;
    Ok(())
}

pub async fn enable(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff SET disabled = 0, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("enabling a staff account")?;
    Ok(())
}

pub async fn set_last_login(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff SET last_login_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("recording a login")?;
    Ok(())
}

/// Keeps a secret being enrolled (sealed) until a code from it confirms it.
pub async fn set_totp_pending(conn: &mut Conn, id: &str, sealed: Option<&str>, now: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE staff SET totp_pending = $1, updated_at = $2 WHERE id = $3")
        .bind(sealed)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("keeping a second factor being enrolled")?;
    Ok(())
}

/// Makes the enrolled secret the active one, with the step of the code that confirmed it.
pub async fn activate_totp(conn: &mut Conn, id: &str, sealed: &str, step: i64, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE staff SET totp_secret = $1, totp_last_step = $2, totp_pending = NULL, updated_at = $3 WHERE id = $4",
    )
    .bind(sealed)
    .bind(step)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("activating a second factor")?;
    Ok(())
}

/// Records `step` as used, if no later or equal step was: `false` when the code was already used
/// (two logins racing with one code: only one wins).
pub async fn use_totp_step(conn: &mut Conn, id: &str, step: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE staff SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
    )
    .bind(step)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("recording a used code")?;
    Ok(done.rows_affected() == 1)
}

pub async fn reset_totp(conn: &mut Conn, id: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE staff SET totp_secret = NULL, totp_last_step = NULL, totp_pending = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .context("resetting a second factor")?;
    Ok(())
}

/// A login waiting for its second factor.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub staff_id: String,
    pub email_hash: String,
}

pub async fn insert_challenge(
    conn: &mut Conn,
    id_hash: &str,
    staff_id: &str,
    email_hash: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    // Expired ones are useless: they go as new ones come.
    sqlx::query("DELETE FROM staff_login_challenges WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await
        .context("clearing expired pending logins")?;
    sqlx::query(
        "INSERT INTO staff_login_challenges (id_hash, staff_id, email_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash)
    .bind(staff_id)
    .bind(email_hash)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await
    .context("opening a pending login")?;
    Ok(())
}

/// The live pending login with this hash, if any.
pub async fn challenge(conn: &mut Conn, id_hash: &str, now: i64) -> anyhow::Result<Option<Challenge>> {
    let row =
        sqlx::query("SELECT staff_id, email_hash FROM staff_login_challenges WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
            .context("looking up a pending login")?;
    row.map(|r| Ok(Challenge { staff_id: r.try_get("staff_id")?, email_hash: r.try_get("email_hash")? })).transpose()
}

pub async fn delete_challenge(conn: &mut Conn, id_hash: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM staff_login_challenges WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await
        .context("closing a pending login")?;
    Ok(())
}

/// A workspace setting admins change (shared by every instance), or `None` if never set.
pub async fn setting(conn: &mut Conn, name: &str) -> anyhow::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM workspace_settings WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .context("reading a workspace setting")
}

pub async fn set_setting(conn: &mut Conn, name: &str, value: &str, by: &str, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO workspace_settings (name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET value = $2, updated_at = $3, updated_by = $4",
    )
    .bind(name)
    .bind(value)
    .bind(now)
    .bind(by)
    .execute(&mut *conn)
    .await
    .context("changing a workspace setting")?;
    Ok(())
}
