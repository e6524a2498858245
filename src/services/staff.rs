//! Privacy staff: accounts, login and sessions.
//!
//! Passwords are hashed with argon2id. A login takes the same work for an unknown address as for a
//! wrong password (an unknown address is checked against a dummy hash), and failures are counted
//! per keyed email hash — known or not — with a lockout that doubles after each further failure.

use std::sync::LazyLock;

use anyhow::{Context, anyhow};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::app::App;
use crate::crypto::{new_id, random_token, sha256_hex};
use crate::domain::{EmailAddress, Role};
use crate::store::{Store, audit, rate_limits, staff};

const MINUTE_MS: i64 = 60_000;
/// Failures before logins for an address are locked; each further failure doubles the lock.
pub const FAILURES_BEFORE_LOCK: i64 = 5;
/// A staff session ends after this long without a request…
pub const IDLE_MS: i64 = 30 * MINUTE_MS;
/// …and in any case this long after login.
pub const ABSOLUTE_MS: i64 = 12 * 60 * MINUTE_MS;

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("hashing a password: {e}"))
}

fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash no password matches, so an unknown address costs a login the same work as a known one.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_password(&random_token(24)).unwrap_or_else(|_| "$argon2id$v=19$m=19456,t=2,p=1$invalid".into())
});

/// A new password must be long enough to resist guessing (NIST SP 800-63B: at least 8; we ask 12).
pub fn check_new_password(password: &str) -> anyhow::Result<()> {
    if password.chars().count() < 12 {
        anyhow::bail!("the password must have at least 12 characters");
    }
    Ok(())
}

pub async fn create(
    store: &Store,
    email: &EmailAddress,
    name: &str,
    role: Role,
    password: &str,
    now: i64,
) -> anyhow::Result<()> {
    check_new_password(password)?;
    let password_hash = hash_password(password)?;
    let mut tx = store.begin().await?;
    if staff::by_email(&mut tx, email.as_str()).await?.is_some() {
        anyhow::bail!("a staff account already exists for {}", email.masked());
    }
    let row = staff::StaffRow {
        id: new_id(),
        email: email.as_str().to_owned(),
        display_name: name.to_owned(),
        role,
        password_hash,
        disabled: false,
    };
    staff::insert(&mut tx, &row, now).await?;
    audit::record(
        &mut tx,
        None,
        "system",
        "staff_created",
        &serde_json::json!({ "staff": row.id, "role": role.as_str() }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_password(store: &Store, email: &EmailAddress, password: &str, now: i64) -> anyhow::Result<()> {
    check_new_password(password)?;
    let hash = hash_password(password)?;
    let mut tx = store.begin().await?;
    let account = staff::by_email(&mut tx, email.as_str()).await?.context("no staff account has this address")?;
    staff::set_password(&mut tx, &account.id, &hash, now).await?;
    // A new password after a suspected compromise must end every open session at once.
    staff::end_sessions(&mut tx, &account.id).await?;
    audit::record(&mut tx, None, "system", "staff_password_changed", &serde_json::json!({ "staff": account.id }), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn disable(store: &Store, email: &EmailAddress, now: i64) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    let account = staff::by_email(&mut tx, email.as_str()).await?.context("no staff account has this address")?;
    staff::disable(&mut tx, &account.id, now).await?;
    audit::record(&mut tx, None, "system", "staff_disabled", &serde_json::json!({ "staff": account.id }), now).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong address or password: one answer for both.
    Invalid,
    /// Too many failures for this address: try again in this many minutes.
    Locked { minutes: i64 },
}

/// Logins tried from one network address in an hour, whatever the accounts.
pub const LOGIN_ATTEMPTS_PER_IP_PER_HOUR: i64 = 60;

/// At most this many argon2 checks run at once (each takes ~19 MiB): a flood of logins waits
/// instead of exhausting memory.
static ARGON2_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Checks the credentials; on success returns a new session token (a fresh session at every login).
///
/// The attempt is counted before the password is checked, in one write transaction, so a burst of
/// parallel guesses cannot test more passwords than the lockout allows.
pub async fn login(app: &App, email: &str, password: &str, ip: &str) -> anyhow::Result<Result<String, LoginError>> {
    let now = app.now_ms();
    let email = EmailAddress::parse(email).ok();
    let email_hash = match &email {
        Some(e) => app.email_hash(e),
        None => sha256_hex(b"invalid address"),
    };
    let ip_bucket = format!("staff-login:ip:{}", crate::crypto::keyed_hash(&app.keys.email, ip.as_bytes()));
    if rate_limits::hit(&mut *app.store.conn().await?, &ip_bucket, 3_600_000, now).await?
        > LOGIN_ATTEMPTS_PER_IP_PER_HOUR
    {
        let minutes = (3_600_000 - now.rem_euclid(3_600_000) + MINUTE_MS - 1) / MINUTE_MS;
        return Ok(Err(LoginError::Locked { minutes }));
    }
    let mut tx = app.store.begin().await?;
    let locked_until = staff::locked_until(&mut tx, &email_hash).await?;
    if locked_until > now {
        return Ok(Err(LoginError::Locked { minutes: (locked_until - now + MINUTE_MS - 1) / MINUTE_MS }));
    }
    let attempts = staff::record_failure(&mut tx, &email_hash, now).await?;
    if attempts >= FAILURES_BEFORE_LOCK {
        let minutes = 1_i64 << (attempts - FAILURES_BEFORE_LOCK).min(10);
        staff::lock(&mut tx, &email_hash, now + minutes * MINUTE_MS).await?;
    }
    let account = match &email {
        Some(e) => staff::by_email(&mut tx, e.as_str()).await?,
        None => None,
    };
    tx.commit().await?;

    let hash = account.as_ref().filter(|a| !a.disabled).map_or_else(|| DUMMY_HASH.clone(), |a| a.password_hash.clone());
    let password = password.to_owned();
    let matches = {
        let _slot = ARGON2_SLOTS.acquire().await.context("waiting to check a password")?;
        tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.context("checking a password")?
    };
    let Some(account) = account.filter(|a| matches && !a.disabled) else {
        tracing::info!("staff login refused");
        return Ok(Err(LoginError::Invalid));
    };
    let mut tx = app.store.begin().await?;
    staff::clear_failures(&mut tx, &email_hash).await?;
    let token = random_token(32);
    staff::insert_session(&mut tx, &sha256_hex(token.as_bytes()), &account.id, now, now + ABSOLUTE_MS).await?;
    audit::record(&mut tx, None, &format!("staff:{}", account.id), "staff_login", &serde_json::json!({}), now).await?;
    tx.commit().await?;
    Ok(Ok(token))
}

/// The account behind a staff session cookie, if the session is live. A read and a touch of the
/// session's idle clock: no write transaction, so page views never wait on writers.
pub async fn current(app: &App, token: &str) -> anyhow::Result<Option<staff::StaffRow>> {
    let mut conn = app.store.conn().await?;
    staff::session_staff(&mut conn, &sha256_hex(token.as_bytes()), app.now_ms(), IDLE_MS).await
}

pub async fn logout(app: &App, token: &str) -> anyhow::Result<()> {
    let mut conn = app.store.conn().await?;
    staff::delete_session(&mut conn, &sha256_hex(token.as_bytes())).await
}

/// The demo's privacy officer: created on first start, given a fresh password at every start.
pub async fn ensure_demo_account(app: &App) -> anyhow::Result<(String, String)> {
    let email = EmailAddress::parse(crate::config::DEMO_STAFF_EMAIL).context("demo staff address")?;
    let password = random_token(12);
    let now = app.now_ms();
    let mut conn = app.store.conn().await?;
    let exists = staff::by_email(&mut conn, email.as_str()).await?.is_some();
    drop(conn);
    if exists {
        set_password(&app.store, &email, &password, now).await?;
    } else {
        create(&app.store, &email, "Camille Durand (DPO)", Role::Admin, &password, now).await?;
    }
    Ok((email.to_string(), password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("Correct horse battery staple", &h));
        assert!(!verify_password("anything", &DUMMY_HASH));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("twelve chars").is_ok());
    }
}
