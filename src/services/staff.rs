//! Privacy staff: accounts, login and sessions.
//!
//! Passwords are hashed with argon2id, every hash and check in the bounded pool of
//! [`crate::crypto::password`] (a flood of logins waits, then is told "busy", and never grows
//! memory). A login takes the same work for an unknown address as for a wrong password (an unknown
//! address is checked against a dummy hash), and failures are counted per (keyed email hash —
//! known or not —, client network) with a lockout that doubles after each further failure: an
//! attacker locks their own network out, never the account's owner on another one.
//!
//! An optional second factor (TOTP, RFC 6238) that admins can require of everyone, staff
//! management by admins, and each member's own password: GDPR Art. 32(1)(b) asks for the ongoing
//! confidentiality of processing systems, and this workspace shows personal data.

use anyhow::Context;

use crate::app::App;
use crate::crypto::password::{PasswordError, Passwords};
use crate::crypto::{new_id, random_token, sha256_hex};
use crate::domain::audit::{Actor, ChangedBy, Event};
use crate::domain::{EmailAddress, Role};
use crate::store::{Store, events, rate_limits, staff};

const MINUTE_MS: i64 = 60_000;
/// Failures before logins for an address from one network are locked; each further failure
/// doubles the lock (1 minute, 2, 4, … up to 1024 minutes, about 17 hours).
pub const FAILURES_BEFORE_LOCK: i64 = 5;
/// A staff session ends after this long without a request…
pub const IDLE_MS: i64 = 30 * MINUTE_MS;
/// …and in any case this long after login.
pub const ABSOLUTE_MS: i64 = 12 * 60 * MINUTE_MS;

/// The network failed logins are counted under: the client's /24 (IPv4) or /64 (IPv6), masked
/// (`203.0.113.0/24`), as the portal's budgets count it; `ip` is the address
/// `web::proxy::client_ip` resolved.
pub fn login_network(ip: &str) -> String {
    super::budgets::network_of(ip)
}

/// A hash from the pool, for callers that cannot wait for ever nor be told "busy" (the CLI).
async fn hash_with(passwords: &Passwords, password: &str) -> anyhow::Result<String> {
    passwords.hash(password).await.map_err(|e| anyhow::Error::new(e).context("hashing a password"))
}

/// A new password must be long enough to resist guessing (NIST SP 800-63B: at least 8; we ask 12).
pub fn check_new_password(password: &str) -> anyhow::Result<()> {
    if password.chars().count() < 12 {
        anyhow::bail!("the password must have at least 12 characters");
    }
    Ok(())
}

/// `dossier staff add`: a new account with this password (hashed in the process's shared pool).
pub async fn create(
    store: &Store,
    email: &EmailAddress,
    name: &str,
    role: Role,
    password: &str,
    now: i64,
) -> anyhow::Result<()> {
    create_with(Passwords::shared(), store, email, name, role, password, now).await
}

async fn create_with(
    passwords: &Passwords,
    store: &Store,
    email: &EmailAddress,
    name: &str,
    role: Role,
    password: &str,
    now: i64,
) -> anyhow::Result<()> {
    check_new_password(password)?;
    let password_hash = hash_with(passwords, password).await?;
    let mut tx = store.begin().await?;
    if !insert_account(&mut tx, email, name, role, password_hash, &Actor::System, now).await? {
        anyhow::bail!("a staff account already exists for {}", email.masked());
    }
    tx.commit().await?;
    Ok(())
}

/// Inserts a new account (the display name defaults to the address) and records who created it;
/// `false`, with nothing written, when the address already has an account.
async fn insert_account(
    tx: &mut crate::store::Conn,
    email: &EmailAddress,
    name: &str,
    role: Role,
    password_hash: String,
    by: &Actor,
    now: i64,
) -> anyhow::Result<bool> {
    if staff::by_email(tx, email.as_str()).await?.is_some() {
        return Ok(false);
    }
    let row = staff::StaffRow {
        id: new_id(),
        email: email.as_str().to_owned(),
        display_name: if name.trim().is_empty() { email.as_str().to_owned() } else { name.trim().to_owned() },
        role,
        password_hash,
        disabled: false,
        totp_secret: None,
        totp_last_step: None,
        totp_pending: None,
        last_login_at: None,
    };
    staff::insert(tx, &row, now).await?;
    events::record(tx, None, by, &Event::StaffCreated { staff: row.id.clone(), role }, now).await?;
    Ok(true)
}

/// `dossier staff set-password`: a new password, every session ended (hashed in the process's
/// shared pool).
pub async fn set_password(store: &Store, email: &EmailAddress, password: &str, now: i64) -> anyhow::Result<()> {
    set_password_with(Passwords::shared(), store, email, password, now).await
}

async fn set_password_with(
    passwords: &Passwords,
    store: &Store,
    email: &EmailAddress,
    password: &str,
    now: i64,
) -> anyhow::Result<()> {
    check_new_password(password)?;
    let hash = hash_with(passwords, password).await?;
    let mut tx = store.begin().await?;
    let account = staff::by_email(&mut tx, email.as_str()).await?.context("no staff account has this address")?;
    staff::set_password(&mut tx, &account.id, &hash, now).await?;
    // A new password after a suspected compromise must end every open session at once.
    staff::end_sessions(&mut tx, &account.id).await?;
    let event = Event::StaffPasswordChanged { staff: account.id.clone(), by: None };
    events::record(&mut tx, None, &Actor::System, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn disable(store: &Store, email: &EmailAddress, now: i64) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    let account = staff::by_email(&mut tx, email.as_str()).await?.context("no staff account has this address")?;
    staff::disable(&mut tx, &account.id, now).await?;
    events::record(&mut tx, None, &Actor::System, &Event::StaffDisabled { staff: account.id.clone() }, now).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong address or password: one answer for both.
    Invalid,
    /// Too many failures for this address from this network: try again in this many minutes.
    Locked { minutes: i64 },
    /// Every password slot stayed busy: try again in a moment (nothing was counted).
    Busy,
}

/// Logins tried from one client in an hour, whatever the accounts: one IPv4 address, or one IPv6
/// /64 (every address a single subscriber gets; see [`super::budgets::client_of`]).
pub const LOGIN_ATTEMPTS_PER_IP_PER_HOUR: i64 = 60;

/// What a right password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// Signed in: the new session's token (a fresh session at every login).
    Session(String),
    /// The account has a second factor: the token of the pending login, good only for typing the
    /// code, for [`CHALLENGE_MS`].
    Code(String),
}

/// How long a login may wait for its second-factor code.
pub const CHALLENGE_MS: i64 = 5 * MINUTE_MS;

/// Checks the credentials; on success opens a session, or a pending login when the account has
/// a second factor.
///
/// Failures are counted per (address, client network): the attempt is counted before the
/// password is checked, in one write transaction, so a burst of parallel guesses cannot test more
/// passwords than the lockout allows; a lock holds only for the network the failures came from,
/// so the owner signs in from another one meanwhile. The password slot is taken before the
/// attempt is counted: a login refused as busy counts nothing. With a second factor, the attempt
/// stays counted until the code is accepted: knowing the password does not buy more guesses at
/// the code.
pub async fn login(app: &App, email: &str, password: &str, ip: &str) -> anyhow::Result<Result<LoginStep, LoginError>> {
    let now = app.now_ms();
    let email = EmailAddress::parse(email).ok();
    let email_hash = match &email {
        Some(e) => app.email_hash(e),
        None => sha256_hex(b"invalid address"),
    };
    let network = login_network(ip);
    let ip_bucket = format!(
        "staff-login:ip:{}",
        crate::crypto::keyed_hash(&app.keys.email, super::budgets::client_of(ip).as_bytes())
    );
    if rate_limits::hit(&mut *app.store.conn().await?, &ip_bucket, 3_600_000, now).await?
        > LOGIN_ATTEMPTS_PER_IP_PER_HOUR
    {
        let minutes = (3_600_000 - now.rem_euclid(3_600_000) + MINUTE_MS - 1) / MINUTE_MS;
        return Ok(Err(LoginError::Locked { minutes }));
    }
    // A locked network waits for no password slot.
    let locked_until = staff::locked_until(&mut *app.store.conn().await?, &email_hash, &network).await?;
    if locked_until > now {
        return Ok(Err(LoginError::Locked { minutes: minutes_until(locked_until, now) }));
    }
    let slot = match app.passwords.reserve().await {
        Ok(slot) => slot,
        Err(PasswordError::Busy(_)) => {
            tracing::warn!("staff login refused: every password slot is busy");
            return Ok(Err(LoginError::Busy));
        }
        Err(PasswordError::Failed(e)) => return Err(e),
    };
    let mut tx = app.store.begin().await?;
    let locked_until = staff::locked_until(&mut tx, &email_hash, &network).await?;
    if locked_until > now {
        return Ok(Err(LoginError::Locked { minutes: minutes_until(locked_until, now) }));
    }
    let account = match &email {
        Some(e) => staff::by_email(&mut tx, e.as_str()).await?,
        None => None,
    };
    count_failure(&mut tx, &email_hash, &network, account.as_ref(), now).await?;
    tx.commit().await?;

    let checked = match account.as_ref().filter(|a| !a.disabled) {
        Some(a) => slot.verify(password, &a.password_hash).await,
        None => slot.verify_dummy(password).await,
    };
    // Busy cannot happen with a slot in hand; a failure (memory, an unreadable hash) is an error
    // page, never "wrong password".
    let matches = checked.map_err(|e| anyhow::Error::new(e).context("checking a staff password"))?;
    let Some(account) = account.filter(|a| matches && !a.disabled) else {
        tracing::info!("staff login refused");
        return Ok(Err(LoginError::Invalid));
    };
    let mut tx = app.store.begin().await?;
    let token = random_token(32);
    if account.totp_enabled() {
        // The attempt stays counted until the code is accepted, but a right password locks
        // nothing: any lock was checked above, so the only one is the one this attempt set.
        staff::lock(&mut tx, &email_hash, &network, 0).await?;
        staff::insert_challenge(
            &mut tx,
            &sha256_hex(token.as_bytes()),
            &account.id,
            &email_hash,
            now,
            now + CHALLENGE_MS,
        )
        .await?;
        tx.commit().await?;
        return Ok(Ok(LoginStep::Code(token)));
    }
    staff::clear_failures(&mut tx, &email_hash, &network).await?;
    open_session(&mut tx, &account, &token, "password", now).await?;
    tx.commit().await?;
    Ok(Ok(LoginStep::Session(token)))
}

fn minutes_until(until: i64, now: i64) -> i64 {
    (until - now + MINUTE_MS - 1) / MINUTE_MS
}

/// Counts one failure (until proven otherwise) for `email_hash` from `network`; from the
/// [`FAILURES_BEFORE_LOCK`]th on, locks that network out for a doubling time, and records the
/// lock in the audit trail when the address is a staff account's.
async fn count_failure(
    tx: &mut crate::store::Conn,
    email_hash: &str,
    network: &str,
    account: Option<&staff::StaffRow>,
    now: i64,
) -> anyhow::Result<()> {
    let attempts = staff::record_failure(tx, email_hash, network, now).await?;
    if attempts < FAILURES_BEFORE_LOCK {
        return Ok(());
    }
    let minutes = 1_i64 << (attempts - FAILURES_BEFORE_LOCK).min(10);
    staff::lock(tx, email_hash, network, now + minutes * MINUTE_MS).await?;
    if let Some(account) = account {
        let event = Event::StaffLoginLocked {
            staff: account.id.clone(),
            network: network.to_owned(),
            failures: attempts,
            minutes,
        };
        events::record(tx, None, &Actor::System, &event, now).await?;
    }
    Ok(())
}

async fn open_session(
    tx: &mut crate::store::Conn,
    account: &staff::StaffRow,
    token: &str,
    factors: &str,
    now: i64,
) -> anyhow::Result<()> {
    staff::insert_session(tx, &sha256_hex(token.as_bytes()), &account.id, now, now + ABSOLUTE_MS).await?;
    staff::set_last_login(tx, &account.id, now).await?;
    events::record(tx, None, &actor(account), &Event::StaffLogin { factors: factors.to_owned() }, now).await
}

fn actor(account: &staff::StaffRow) -> Actor {
    Actor::staff(&account.id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    /// The pending login is unknown or expired: sign in again from the start.
    Expired,
    /// Not the current code (or one already used).
    Invalid,
    /// Too many failures for this address.
    Locked { minutes: i64 },
    /// The stored secret no longer opens (the server's secret key changed): an admin must reset
    /// the second factor.
    Unreadable,
}

/// The key second-factor secrets are sealed with.
fn totp_key(app: &App) -> crate::crypto::SecretKey {
    app.settings.secret_key.derive("totp-secret-v1")
}

/// The second step of a login: the code from the authenticator app. Each wrong code counts toward
/// the same lockout as a wrong password; a right one is accepted once (its step is recorded), ends
/// the pending login and opens the session.
pub async fn login_code(app: &App, pending: &str, typed: &str, ip: &str) -> anyhow::Result<Result<String, CodeError>> {
    let now = app.now_ms();
    let pending_hash = sha256_hex(pending.as_bytes());
    let network = login_network(ip);
    let mut tx = app.store.begin().await?;
    let Some(challenge) = staff::challenge(&mut tx, &pending_hash, now).await? else {
        return Ok(Err(CodeError::Expired));
    };
    let locked_until = staff::locked_until(&mut tx, &challenge.email_hash, &network).await?;
    if locked_until > now {
        return Ok(Err(CodeError::Locked { minutes: minutes_until(locked_until, now) }));
    }
    let account = staff::by_id(&mut tx, &challenge.staff_id).await?;
    count_failure(&mut tx, &challenge.email_hash, &network, account.as_ref(), now).await?;
    let account = account.filter(|a| !a.disabled);
    let Some((account, sealed)) = account.and_then(|a| a.totp_secret.clone().map(|s| (a, s))) else {
        // Disabled, or the second factor was reset meanwhile: this login is over.
        staff::delete_challenge(&mut tx, &pending_hash).await?;
        tx.commit().await?;
        return Ok(Err(CodeError::Expired));
    };
    let Ok(secret) = crate::crypto::totp::open(&totp_key(app), &account.id, &sealed) else {
        tx.commit().await?;
        tracing::warn!("a staff second factor does not open with the configured secret key");
        return Ok(Err(CodeError::Unreadable));
    };
    let step = crate::crypto::totp::verify(&secret, typed, now, account.totp_last_step);
    let accepted = match step {
        Some(step) => staff::use_totp_step(&mut tx, &account.id, step).await?,
        None => false,
    };
    if !accepted {
        tx.commit().await?;
        tracing::info!("staff second factor refused");
        return Ok(Err(CodeError::Invalid));
    }
    staff::clear_failures(&mut tx, &challenge.email_hash, &network).await?;
    staff::delete_challenge(&mut tx, &pending_hash).await?;
    let token = random_token(32);
    open_session(&mut tx, &account, &token, "password+totp", now).await?;
    tx.commit().await?;
    Ok(Ok(token))
}

/// Name of the workspace setting that requires a second factor of everyone.
pub const REQUIRE_TOTP: &str = "require_totp";

/// Whether admins require a second factor of every staff member.
pub async fn totp_required(app: &App) -> anyhow::Result<bool> {
    let mut conn = app.store.conn().await?;
    Ok(staff::setting(&mut conn, REQUIRE_TOTP).await?.as_deref() == Some("1"))
}

/// A staff member who must enrol a second factor before anything else: required for everyone,
/// and they have none yet.
pub async fn must_enrol_totp(app: &App, account: &staff::StaffRow) -> anyhow::Result<bool> {
    Ok(!account.totp_enabled() && totp_required(app).await?)
}

/// A second factor being enrolled: what the staff member copies into their authenticator app.
pub struct Enrolment {
    /// Base32, in groups of four.
    pub secret: String,
    pub uri: String,
    /// The URI as a QR code, inline SVG drawn on the server (`None` if it could not be drawn).
    pub qr_svg: Option<String>,
}

/// The URI as a QR code: an `<svg>` element for inline use (our own data, no script, no style).
fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
    let start = svg.find("<svg")?;
    Some(svg[start..].to_owned())
}

fn enrolment(app: &App, account: &staff::StaffRow, secret: &[u8]) -> Enrolment {
    use crate::crypto::totp;
    let issuer = format!("Dossier {}", app.settings.controller.name);
    let uri = totp::otpauth_uri(&issuer, &account.email, secret);
    Enrolment { secret: totp::grouped(&totp::base32_encode(secret)), qr_svg: qr_svg(&uri), uri }
}

/// Starts enrolling a fresh secret (replacing any enrolment not confirmed). The active factor,
/// if any, stays until a code from the new one confirms it.
pub async fn start_totp(app: &App, account: &staff::StaffRow) -> anyhow::Result<Enrolment> {
    let secret = crate::crypto::totp::generate_secret();
    let sealed = crate::crypto::totp::seal(&totp_key(app), &account.id, &secret)?;
    let mut conn = app.store.conn().await?;
    staff::set_totp_pending(&mut conn, &account.id, Some(&sealed), app.now_ms()).await?;
    Ok(enrolment(app, account, &secret))
}

/// The enrolment waiting for its confirming code, shown again while it is not active.
pub fn pending_totp(app: &App, account: &staff::StaffRow) -> anyhow::Result<Option<Enrolment>> {
    let Some(sealed) = &account.totp_pending else { return Ok(None) };
    // Sealed under a secret key since changed: as if none was started (a new one can be).
    let Ok(secret) = crate::crypto::totp::open(&totp_key(app), &account.id, sealed) else { return Ok(None) };
    Ok(Some(enrolment(app, account, &secret)))
}

/// Why a second factor was not activated (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpConfirmError {
    /// The code is not the enrolled secret's current one.
    WrongCode,
    /// The account's password is missing or not the right one.
    WrongPassword,
    /// Too many wrong passwords from this network: try again later.
    Locked,
    /// Every password slot stayed busy: try again in a moment.
    Busy,
}

/// What checking a signed-in member's own password found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnPassword {
    Right,
    Wrong,
    /// Too many wrong passwords for this account from this network (with the logins' lockout):
    /// nothing was checked.
    Locked {
        minutes: i64,
    },
    /// Every password slot stayed busy: nothing was checked nor counted.
    Busy,
}

/// Whether `password` is the account's own, for pages that ask it again of a signed-in member
/// (a second factor, a new password, an admin's changes to accounts). A session left open or
/// stolen must not be a way to guess the password without limit: each check is counted as a
/// failed login under (the account's keyed email hash, the client network of `ip`) before the
/// password is checked, refused while that network is locked, and cleared when it is right —
/// the very lockout of [`login`], shared with it. An error (never `Wrong`) when the check itself
/// failed.
pub async fn check_own_password(
    app: &App,
    account: &staff::StaffRow,
    password: &str,
    ip: &str,
) -> anyhow::Result<OwnPassword> {
    let now = app.now_ms();
    let email_hash = match EmailAddress::parse(&account.email) {
        Ok(e) => app.email_hash(&e),
        Err(_) => sha256_hex(b"invalid address"),
    };
    let network = login_network(ip);
    let locked_until = staff::locked_until(&mut *app.store.conn().await?, &email_hash, &network).await?;
    if locked_until > now {
        return Ok(OwnPassword::Locked { minutes: minutes_until(locked_until, now) });
    }
    let slot = match app.passwords.reserve().await {
        Ok(slot) => slot,
        Err(PasswordError::Busy(_)) => return Ok(OwnPassword::Busy),
        Err(PasswordError::Failed(e)) => return Err(e.context("checking a staff password")),
    };
    // Counted before the check, in one write transaction: parallel guesses get no more tries.
    let mut tx = app.store.begin().await?;
    let locked_until = staff::locked_until(&mut tx, &email_hash, &network).await?;
    if locked_until > now {
        return Ok(OwnPassword::Locked { minutes: minutes_until(locked_until, now) });
    }
    count_failure(&mut tx, &email_hash, &network, Some(account), now).await?;
    tx.commit().await?;
    let matches = slot
        .verify(password, &account.password_hash)
        .await
        .map_err(|e| anyhow::Error::new(e).context("checking a staff password"))?;
    if !matches {
        tracing::info!("a staff member's own password refused");
        return Ok(OwnPassword::Wrong);
    }
    let mut tx = app.store.begin().await?;
    staff::clear_failures(&mut tx, &email_hash, &network).await?;
    tx.commit().await?;
    Ok(OwnPassword::Right)
}

/// Activates the enrolled secret if `typed` is its current code and `password` is the account's.
/// The password is asked for a first factor as for a replacement: a session left open (or
/// stolen) must not be enough to put a second factor of someone else's choosing on the account,
/// nor to move it to another phone. A replacement ends the member's other sessions.
pub async fn confirm_totp(
    app: &App,
    account: &staff::StaffRow,
    session_token: &str,
    typed: &str,
    password: &str,
    ip: &str,
) -> anyhow::Result<Result<(), TotpConfirmError>> {
    let replacing = account.totp_enabled();
    match check_own_password(app, account, password, ip).await? {
        OwnPassword::Right => {}
        OwnPassword::Wrong => return Ok(Err(TotpConfirmError::WrongPassword)),
        OwnPassword::Locked { .. } => return Ok(Err(TotpConfirmError::Locked)),
        OwnPassword::Busy => return Ok(Err(TotpConfirmError::Busy)),
    }
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(current) = staff::by_id(&mut tx, &account.id).await? else { return Ok(Err(TotpConfirmError::WrongCode)) };
    let Some(sealed) = current.totp_pending else { return Ok(Err(TotpConfirmError::WrongCode)) };
    let Ok(secret) = crate::crypto::totp::open(&totp_key(app), &account.id, &sealed) else {
        return Ok(Err(TotpConfirmError::WrongCode));
    };
    let Some(step) = crate::crypto::totp::verify(&secret, typed, now, None) else {
        return Ok(Err(TotpConfirmError::WrongCode));
    };
    staff::activate_totp(&mut tx, &account.id, &sealed, step, now).await?;
    if replacing {
        staff::end_other_sessions(&mut tx, &account.id, &sha256_hex(session_token.as_bytes())).await?;
    }
    let staff = account.id.clone();
    let event = if replacing { Event::StaffTotpReplaced { staff } } else { Event::StaffTotpEnabled { staff } };
    events::record(&mut tx, None, &actor(account), &event, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChangeError {
    /// The current password typed is not the right one.
    WrongCurrent,
    /// The new one is too short.
    TooShort,
    /// Too many wrong passwords from this network: try again later.
    Locked,
    /// Every password slot stayed busy: try again in a moment.
    Busy,
}

/// A staff member changes their own password: the current one is required, and every other
/// session of theirs ends (the one they use stays).
pub async fn change_own_password(
    app: &App,
    account: &staff::StaffRow,
    session_token: &str,
    current: &str,
    new: &str,
    ip: &str,
) -> anyhow::Result<Result<(), PasswordChangeError>> {
    if check_new_password(new).is_err() {
        return Ok(Err(PasswordChangeError::TooShort));
    }
    match check_own_password(app, account, current, ip).await? {
        OwnPassword::Right => {}
        OwnPassword::Wrong => return Ok(Err(PasswordChangeError::WrongCurrent)),
        OwnPassword::Locked { .. } => return Ok(Err(PasswordChangeError::Locked)),
        OwnPassword::Busy => return Ok(Err(PasswordChangeError::Busy)),
    }
    let new_hash = match app.passwords.hash(new).await {
        Ok(h) => h,
        Err(PasswordError::Busy(_)) => return Ok(Err(PasswordChangeError::Busy)),
        Err(PasswordError::Failed(e)) => return Err(e.context("hashing a password")),
    };
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    staff::set_password(&mut tx, &account.id, &new_hash, now).await?;
    staff::end_other_sessions(&mut tx, &account.id, &sha256_hex(session_token.as_bytes())).await?;
    let event = Event::StaffPasswordChanged { staff: account.id.clone(), by: Some(ChangedBy::Owner) };
    events::record(&mut tx, None, &actor(account), &event, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Why an admin's change to an account was refused (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminError {
    /// No account with this id.
    Unknown,
    /// The change would leave no enabled admin.
    LastAdmin,
    /// An account already has this address.
    Exists,
    /// Every password slot stayed busy: try again in a moment (nothing was created).
    Busy,
}

/// What an admin does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    Role(Role),
    Disable,
    Enable,
    ResetTotp,
}

/// An admin's change to a staff account, in one transaction with its audit event. Never leaves
/// the workspace without an enabled admin (checked inside the write transaction, so two admins
/// demoting each other at once cannot both succeed).
pub async fn admin_change(
    app: &App,
    by: &staff::StaffRow,
    target_id: &str,
    change: AdminChange,
) -> anyhow::Result<Result<(), AdminError>> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(target) = staff::by_id(&mut tx, target_id).await? else { return Ok(Err(AdminError::Unknown)) };
    let removes_an_admin = target.role == Role::Admin
        && !target.disabled
        && matches!(change, AdminChange::Disable | AdminChange::Role(Role::Agent | Role::Auditor));
    if removes_an_admin && staff::active_admins(&mut tx).await? <= 1 {
        return Ok(Err(AdminError::LastAdmin));
    }
    let staff = target.id.clone();
    let event = match change {
        AdminChange::Role(role) => {
            staff::set_role(&mut tx, &target.id, role, now).await?;
            Event::StaffRoleChanged { staff, from: target.role, to: role }
        }
        AdminChange::Disable => {
            staff::disable(&mut tx, &target.id, now).await?;
            Event::StaffDisabled { staff }
        }
        AdminChange::Enable => {
            staff::enable(&mut tx, &target.id, now).await?;
            Event::StaffEnabled { staff }
        }
        AdminChange::ResetTotp => {
            staff::reset_totp(&mut tx, &target.id, now).await?;
            // Their sessions and logins waiting for a code from the old secret end with it.
            staff::end_sessions(&mut tx, &target.id).await?;
            Event::StaffTotpReset { staff }
        }
    };
    events::record(&mut tx, None, &actor(by), &event, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// An admin adds a staff member: the account gets a random initial password, returned to be shown
/// once to the admin (it is stored only as its argon2id hash) and changed by its owner on their
/// account page.
pub async fn admin_create(
    app: &App,
    by: &staff::StaffRow,
    email: &EmailAddress,
    name: &str,
    role: Role,
) -> anyhow::Result<Result<String, AdminError>> {
    let password = random_token(15);
    let password_hash = match app.passwords.hash(&password).await {
        Ok(h) => h,
        Err(PasswordError::Busy(_)) => return Ok(Err(AdminError::Busy)),
        Err(PasswordError::Failed(e)) => return Err(e.context("hashing a password")),
    };
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    if !insert_account(&mut tx, email, name, role, password_hash, &actor(by), now).await? {
        return Ok(Err(AdminError::Exists));
    }
    tx.commit().await?;
    Ok(Ok(password))
}

/// An admin requires (or stops requiring) a second factor of every staff member.
pub async fn set_totp_required(app: &App, by: &staff::StaffRow, required: bool) -> anyhow::Result<()> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    staff::set_setting(&mut tx, REQUIRE_TOTP, if required { "1" } else { "0" }, &by.id, now).await?;
    let event = Event::WorkspaceSettingChanged { setting: REQUIRE_TOTP.to_owned(), value: required };
    events::record(&mut tx, None, &actor(by), &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// `dossier staff reset-totp`: for an admin who lost their authenticator. Removes the second
/// factor (they enrol again at their next login if it is required) and ends their sessions.
pub async fn reset_totp(store: &Store, email: &EmailAddress, now: i64) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    let account = staff::by_email(&mut tx, email.as_str()).await?.context("no staff account has this address")?;
    staff::reset_totp(&mut tx, &account.id, now).await?;
    staff::end_sessions(&mut tx, &account.id).await?;
    events::record(&mut tx, None, &Actor::System, &Event::StaffTotpReset { staff: account.id.clone() }, now).await?;
    tx.commit().await?;
    Ok(())
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
    // The server's own pool: no second pool (and its buffers) kept alive in the serving process.
    if exists {
        set_password_with(&app.passwords, &app.store, &email, &password, now).await?;
    } else {
        create_with(&app.passwords, &app.store, &email, "Camille Durand (DPO)", Role::Admin, &password, now).await?;
    }
    Ok((email.to_string(), password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_per_client_network() {
        assert_eq!(login_network("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(login_network("203.0.113.1"), login_network("203.0.113.254"));
        assert_ne!(login_network("203.0.113.1"), login_network("203.0.114.1"));
        assert_eq!(login_network("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(login_network("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_ne!(login_network("2001:db8:1:2::1"), login_network("2001:db8:1:3::1"));
        assert_eq!(login_network("unknown"), "unknown");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("twelve chars").is_ok());
    }
}
