//! The requester's side of a request: submit, prove control of the address, follow, download.
//!
//! No answer here depends on whether an address is known to any source: every submission creates
//! a request and sends a verification email, and sources are only searched after verification.

use anyhow::Context;
use time::Date;

use crate::app::App;
use crate::clock::from_ms;
use crate::crypto::{self, constant_time_eq, keyed_hash, new_id, random_code, random_token, sha256_hex};
use crate::deadlines::{ClockEvents, EffectiveDeadline, HolidayCalendar, PauseReason, Policy, Zone};
use crate::domain::audit::{Actor, Event};
use crate::domain::{EmailAddress, Locale, Reference, RequestKind, RequestStatus};
use crate::services::{budgets, notify};
use crate::store::clarifications::{self, Clarification};
use crate::store::{
    Conn, events, exports, inbox_handles, pauses, rate_limits, requests, sessions, source_runs, verifications,
};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const MINUTE_MS: i64 = 60_000;

/// How long a "check your inbox" page can ask for another email (its row is purged after two).
const PAGE_TTL_MS: i64 = DAY_MS;

/// What a submission leads to. Known and unknown addresses, and sign-ins whose reference and
/// address match or not, give the same outcome.
#[derive(Debug)]
pub enum Submitted {
    /// Check your inbox. The handle is fresh and random for every submission, and maps on the
    /// server to what it stands for; `link_only`: the email carries the link and no code.
    Pending { handle: String, link_only: bool },
    /// No email was sent: this network has asked too many for the address (`services::budgets`).
    /// Nothing was stored; the page says so.
    NotSent,
    /// Too many requests from this network address.
    TooMany,
}

/// What "send the email again" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resent {
    /// A new email was queued (`link_only`: without a code).
    Sent { link_only: bool },
    /// No email was queued: the address's budget from this network is spent.
    NotSent,
    /// The page is too old (or was never given out): start again.
    Gone,
    /// Too many requests from this network address.
    TooMany,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// No such link or pending request.
    Invalid,
    Expired,
    AlreadyUsed,
    /// Too many wrong codes: ask for a new email.
    Locked,
    /// This network has typed its day's codes for the address: the link still works.
    LockedForToday,
    /// A wrong code, or a code typed for a page that does not exist: the same answer, so the
    /// page reveals nothing about which requests exist.
    WrongCode,
    /// Too many attempts from this network address.
    TooMany,
    /// The link was used a moment ago (a double click): the request is verified already.
    AlreadyVerified(Reference),
}

/// A successful verification: the request's reference and a new requester session.
pub struct Verified {
    pub reference: Reference,
    pub session_token: String,
}

fn ip_bucket(app: &App, action: &str, ip: &str) -> String {
    format!("{action}:ip:{}", keyed_hash(&app.keys.email, budgets::client_of(ip).as_bytes()))
}

/// Counts a hit in this hour's window; true when the limit is exceeded.
async fn over_limit(conn: &mut Conn, bucket: &str, limit: i64, now: i64) -> anyhow::Result<bool> {
    Ok(rate_limits::hit(conn, bucket, HOUR_MS, now).await? > limit)
}

/// Records a new request for `email` and sends the verification email.
pub async fn submit(
    app: &App,
    email: &EmailAddress,
    kind: RequestKind,
    policy: Policy,
    locale: Locale,
    ip: &str,
) -> anyhow::Result<Submitted> {
    let now = app.now_ms();
    let mut conn = app.store.conn().await?;
    let limits = &app.settings.rate_limits;
    if over_limit(&mut conn, &ip_bucket(app, "submit", ip), limits.submissions_per_ip_per_hour, now).await? {
        return Ok(Submitted::TooMany);
    }
    let email_hash = app.email_hash(email);
    let budget = budgets::spend_email(app, &mut conn, &email_hash, ip, now).await?;
    if budget == budgets::Email::Spent {
        // Counted whether the address is known or not: the answer tells nothing about it.
        tracing::info!("verification email not sent: the address's budget from this network is spent");
        return Ok(Submitted::NotSent);
    }
    drop(conn);

    // GDPR Art. 12(3) (and the other policies): the period runs from receipt, in the time zone
    // the policy's deadlines are counted in.
    let (calendar, zone) = calendar_for(app, policy)?;
    let received_on = zone.local_date(from_ms(now)).context("computing the receipt date")?;
    let deadline = policy.deadline(received_on, &calendar).context("computing the due date")?;
    let id = new_id();
    let mut tx = app.store.begin().await?;
    requests::insert(
        &mut tx,
        &requests::NewRequest {
            id: &id,
            kind,
            email: email.as_str(),
            email_hash: &email_hash,
            locale,
            jurisdiction: policy.code(),
            channel: "web",
            received_at: now,
            received_on,
            due_on: deadline.due,
            extension_notice_by: deadline.extension_notice_by,
        },
        now,
    )
    .await?;
    let event = Event::Received { kind, channel: "web".to_owned(), entered_by: None, received_on: None };
    events::record(&mut tx, Some(&id), &Actor::Requester, &event, now).await?;
    open_identity_pause(app, &mut tx, &id, &event, policy, now).await?;
    let with_code = budget == budgets::Email::Full;
    let issued = start_verification(app, &mut tx, &id, email.as_str(), locale, kind, None, with_code, now).await?;
    let page =
        NewPage { purpose: "verify", request_id: Some(&id), reference: None, email, email_hash: &email_hash, locale };
    let handle = open_page(app, &mut tx, page, issued, now).await?;
    tx.commit().await.context("saving the request")?;
    app.jobs_ready.notify_waiters();
    tracing::info!(kind = kind.as_str(), "request submitted");
    Ok(Submitted::Pending { handle, link_only: !with_code })
}

/// Until the person proves control of the address, Dossier waits for them: recorded as an
/// identity pause with the "received" event that opened it, marked as stopping the clock only
/// where the request's law says so (docs/legal.md, "Clock pauses"), so that the queue does not call it
/// overdue meanwhile.
async fn open_identity_pause(
    app: &App,
    tx: &mut Conn,
    id: &str,
    received: &Event,
    policy: Policy,
    now: i64,
) -> anyhow::Result<()> {
    let opened = pauses::event_id(tx, id, received, now).await?;
    let pause = pauses::open(tx, id, PauseReason::Identity, opened.as_deref(), now).await?;
    if app.settings.requests.deadlines.clock(policy).pauses_for(PauseReason::Identity) {
        pauses::mark_stops_clock(tx, &pause).await?;
    }
    Ok(())
}

/// What an email sent for a "check your inbox" page lets the page check: the verification and
/// its code's hash, or nothing (a sign-in that matched no request, an email without a code).
struct Issued {
    verification_id: Option<String>,
    code_hash: String,
    expires_at: i64,
}

/// A code hash no code matches (the same shape as a real one).
fn no_code_hash() -> String {
    sha256_hex(random_token(32).as_bytes())
}

/// Creates a verification (link token and code, stored only hashed) and queues its email;
/// without `with_code` the email carries the link alone. A new request's verification retires
/// the request's earlier ones; sign-ins do not retire each other (each has its own page).
#[allow(clippy::too_many_arguments)]
async fn start_verification(
    app: &App,
    conn: &mut Conn,
    request_id: &str,
    to: &str,
    locale: Locale,
    kind: RequestKind,
    signin: Option<&Reference>,
    with_code: bool,
    now: i64,
) -> anyhow::Result<Issued> {
    let token = random_token(32);
    let code = random_code();
    let purpose = if signin.is_some() { "signin" } else { "verify" };
    let expires_at = now + app.settings.security.verification_ttl_minutes * MINUTE_MS;
    let code_hash = if with_code { code_hash(app, request_id, &code) } else { no_code_hash() };
    let retire_others = signin.is_none();
    let id = verifications::insert(
        conn,
        request_id,
        purpose,
        &sha256_hex(token.as_bytes()),
        &code_hash,
        expires_at,
        retire_others,
        now,
    )
    .await?;
    let to = notify::To { request_id, email: to, locale };
    notify::verification(app, conn, to, kind, signin, (&token, with_code.then_some(code.as_str())), now).await?;
    Ok(Issued { verification_id: Some(id), code_hash, expires_at })
}

fn code_hash(app: &App, request_id: &str, code: &str) -> String {
    keyed_hash(&app.keys.code, format!("{request_id}:{code}").as_bytes())
}

/// A "check your inbox" page about to be given out.
struct NewPage<'a> {
    purpose: &'a str,
    request_id: Option<&'a str>,
    reference: Option<&'a Reference>,
    email: &'a EmailAddress,
    email_hash: &'a str,
    locale: Locale,
}

/// Gives out a fresh, random handle for a "check your inbox" page and maps it, on the server, to
/// what the page stands for. Returns the handle (only its hash is stored).
async fn open_page(app: &App, conn: &mut Conn, page: NewPage<'_>, issued: Issued, now: i64) -> anyhow::Result<String> {
    let handle = new_id();
    let handle_hash = sha256_hex(handle.as_bytes());
    let row = inbox_handles::HandleRow {
        email_sealed: inbox_handles::seal_email(&app.settings.secret_key, &handle_hash, page.email.as_str())?,
        handle_hash,
        purpose: page.purpose.to_owned(),
        request_id: page.request_id.map(str::to_owned),
        verification_id: issued.verification_id,
        reference: page.reference.map(|r| r.as_str().to_owned()),
        email_hash: page.email_hash.to_owned(),
        locale: page.locale.as_str().to_owned(),
        code_hash: issued.code_hash,
        code_attempts: 0,
        code_expires_at: issued.expires_at,
        created_at: now,
    };
    inbox_handles::insert(conn, &row).await?;
    Ok(handle)
}

/// Sends another email for the "check your inbox" page `handle`: a new code and link for its
/// request, or, for a sign-in that matched no request, the same "no such request from this
/// address" email again. Both are counted against the address's budget from this network, so the
/// answer is the same for both; "sent" is said only when an email was queued.
pub async fn resend(app: &App, handle: &str, ip: &str) -> anyhow::Result<Resent> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    if over_limit(&mut tx, &ip_bucket(app, "resend", ip), app.settings.rate_limits.submissions_per_ip_per_hour, now)
        .await?
    {
        tx.commit().await?;
        return Ok(Resent::TooMany);
    }
    let page = match inbox_handles::get(&mut tx, &sha256_hex(handle.as_bytes())).await? {
        Some(p) if p.created_at + PAGE_TTL_MS > now => p,
        _ => {
            tx.commit().await?;
            return Ok(Resent::Gone);
        }
    };
    // What the page stands for, decided before anything is counted.
    let request = match &page.request_id {
        Some(id) => {
            let request = requests::get(&mut tx, id).await?.context("a check-inbox page without its request")?;
            if request.status != RequestStatus::Submitted && request.reference.is_none() {
                // Expired or cancelled before it was ever verified: nothing to send.
                tx.commit().await?;
                return Ok(Resent::Gone);
            }
            Some(request)
        }
        None => None,
    };
    let budget = budgets::spend_email(app, &mut tx, &page.email_hash, ip, now).await?;
    if budget == budgets::Email::Spent {
        tx.commit().await?;
        return Ok(Resent::NotSent);
    }
    let with_code = budget == budgets::Email::Full;
    let email = page.email(&app.settings.secret_key)?;
    let issued = match &request {
        Some(r) => {
            let signin = if r.status == RequestStatus::Submitted { None } else { r.reference.as_ref() };
            // The address typed (it matched the request's keyed hash): it works after an erasure
            // forgot the request's own copy.
            let issued =
                start_verification(app, &mut tx, &r.id, &email, r.locale, r.kind, signin, with_code, now).await?;
            if let Some(previous) = &page.verification_id {
                // Only the newest email's link and code work for this page, as it says.
                verifications::retire(&mut tx, previous, now).await?;
            }
            issued
        }
        None => {
            let reference: Reference = page
                .reference
                .as_deref()
                .and_then(|r| r.parse().ok())
                .context("a sign-in page without its reference")?;
            let locale = Locale::from_tag(&page.locale).unwrap_or_default();
            notify::signin_unmatched(app, &mut tx, &email, locale, &reference, now).await?;
            let expires_at = now + app.settings.security.verification_ttl_minutes * MINUTE_MS;
            Issued { verification_id: None, code_hash: no_code_hash(), expires_at }
        }
    };
    inbox_handles::renew(
        &mut tx,
        &page.handle_hash,
        issued.verification_id.as_deref(),
        &issued.code_hash,
        issued.expires_at,
    )
    .await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Resent::Sent { link_only: !with_code })
}

/// Sends a sign-in link to `email` if request `reference` was made from it (compared by keyed
/// hash, so it works after an erasure forgot the address itself); otherwise an email saying no
/// request with that reference was made from this address. Either way the page gets a fresh,
/// random handle mapped on the server, the same budgets are counted, and one email is queued:
/// the answer tells nothing about the pair. `locale` is the page's (for the second email).
pub async fn request_signin(
    app: &App,
    reference: &Reference,
    email: &EmailAddress,
    locale: Locale,
    ip: &str,
) -> anyhow::Result<Submitted> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    if over_limit(&mut tx, &ip_bucket(app, "signin", ip), app.settings.rate_limits.submissions_per_ip_per_hour, now)
        .await?
    {
        tx.commit().await?;
        return Ok(Submitted::TooMany);
    }
    let email_hash = app.email_hash(email);
    let matched = requests::by_reference(&mut tx, reference)
        .await?
        .filter(|r| r.reference.is_some() && constant_time_eq(r.email_hash.as_bytes(), email_hash.as_bytes()));
    let budget = budgets::spend_email(app, &mut tx, &email_hash, ip, now).await?;
    if budget == budgets::Email::Spent {
        tx.commit().await?;
        return Ok(Submitted::NotSent);
    }
    let with_code = budget == budgets::Email::Full;
    let issued = match &matched {
        Some(r) => {
            start_verification(app, &mut tx, &r.id, email.as_str(), r.locale, r.kind, Some(reference), with_code, now)
                .await?
        }
        None => {
            notify::signin_unmatched(app, &mut tx, email.as_str(), locale, reference, now).await?;
            let expires_at = now + app.settings.security.verification_ttl_minutes * MINUTE_MS;
            Issued { verification_id: None, code_hash: no_code_hash(), expires_at }
        }
    };
    let page = NewPage {
        purpose: "signin",
        request_id: matched.as_ref().map(|r| r.id.as_str()),
        reference: Some(reference),
        email,
        email_hash: &email_hash,
        locale,
    };
    let handle = open_page(app, &mut tx, page, issued, now).await?;
    tx.commit().await?;
    app.jobs_ready.notify_waiters();
    Ok(Submitted::Pending { handle, link_only: !with_code })
}

/// What the confirm page shows before the person clicks (the link itself consumes nothing, so
/// mail scanners that prefetch links cannot use it up).
pub async fn peek_token(app: &App, token: &str) -> anyhow::Result<Result<(), VerifyError>> {
    let mut conn = app.store.conn().await?;
    let v = verifications::by_token_hash(&mut conn, &sha256_hex(token.as_bytes())).await?;
    Ok(check_usable(app, v.as_ref(), app.now_ms()).map(|_| ()))
}

fn check_usable<'a>(
    app: &App,
    v: Option<&'a verifications::Verification>,
    now: i64,
) -> Result<&'a verifications::Verification, VerifyError> {
    let v = v.ok_or(VerifyError::Invalid)?;
    if v.used_at.is_some() {
        Err(VerifyError::AlreadyUsed)
    } else if v.code_attempts >= app.settings.security.max_code_attempts {
        Err(VerifyError::Locked)
    } else if v.expires_at <= now {
        Err(VerifyError::Expired)
    } else {
        Ok(v)
    }
}

/// The person clicked the confirm button behind the emailed link.
pub async fn verify_token(app: &App, token: &str) -> anyhow::Result<Result<Verified, VerifyError>> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let v = verifications::by_token_hash(&mut tx, &sha256_hex(token.as_bytes())).await?;
    let v = match check_usable(app, v.as_ref(), now) {
        Ok(v) => v.clone(),
        Err(VerifyError::AlreadyUsed) => {
            let request_id = v.map(|v| v.request_id).unwrap_or_default();
            let reference = requests::get(&mut tx, &request_id).await?.and_then(|r| r.reference);
            return Ok(Err(reference.map_or(VerifyError::AlreadyUsed, VerifyError::AlreadyVerified)));
        }
        Err(e) => return Ok(Err(e)),
    };
    let result = complete(app, &mut tx, &v, "email_link", now).await?;
    tx.commit().await.context("saving the verification")?;
    app.jobs_ready.notify_waiters();
    Ok(result)
}

/// The person typed the code from the email on the "check your inbox" page `handle`.
///
/// Each attempt is counted before the code is compared, and atomically (GDPR Art. 32: a 6-digit
/// code is only as strong as the number of guesses allowed): at most `max_code_attempts` per
/// email on its page, [`budgets::CODES_PER_ADDRESS_AND_NETWORK_PER_DAY`] per address and network,
/// and the hourly limit per IP. A page that stands for no request (a sign-in whose pair did not
/// match) goes through the same steps and writes; its code matches nothing.
pub async fn verify_code(
    app: &App,
    handle: &str,
    code: &str,
    ip: &str,
) -> anyhow::Result<Result<Verified, VerifyError>> {
    let now = app.now_ms();
    let limit = app.settings.rate_limits.submissions_per_ip_per_hour;
    if over_limit(&mut *app.store.conn().await?, &ip_bucket(app, "code", ip), limit, now).await? {
        return Ok(Err(VerifyError::TooMany));
    }
    let mut tx = app.store.begin().await?;
    let Some(page) = inbox_handles::get(&mut tx, &sha256_hex(handle.as_bytes())).await? else {
        return Ok(Err(VerifyError::WrongCode));
    };
    let max = app.settings.security.max_code_attempts;
    if page.code_attempts >= max {
        return Ok(Err(VerifyError::Locked));
    }
    if page.code_expires_at <= now {
        return Ok(Err(VerifyError::Expired));
    }
    if !budgets::spend_code(app, &mut tx, &page.email_hash, ip, now).await? {
        tx.commit().await?;
        return Ok(Err(VerifyError::LockedForToday));
    }
    if !inbox_handles::count_attempt(&mut tx, &page.handle_hash, max, now).await? {
        tx.commit().await?;
        return Ok(Err(VerifyError::Locked));
    }
    let expected = code_hash(app, page.request_id.as_deref().unwrap_or_default(), code.trim());
    let verification = match &page.verification_id {
        Some(id) if constant_time_eq(expected.as_bytes(), page.code_hash.as_bytes()) => {
            verifications::get(&mut tx, id).await?
        }
        _ => None,
    };
    let Some(v) = verification else {
        // The emailed link is locked with the code after `max_code_attempts` wrong ones.
        verifications::note_code_attempt(&mut tx, page.verification_id.as_deref()).await?;
        events::record(&mut tx, page.request_id.as_deref(), &Actor::Requester, &Event::WrongCode {}, now).await?;
        tx.commit().await?;
        return Ok(Err(VerifyError::WrongCode));
    };
    let v = match check_usable(app, Some(&v), now) {
        Ok(v) => v.clone(),
        Err(VerifyError::AlreadyUsed) => {
            let reference = requests::get(&mut tx, &v.request_id).await?.and_then(|r| r.reference);
            tx.commit().await?;
            return Ok(Err(reference.map_or(VerifyError::AlreadyUsed, VerifyError::AlreadyVerified)));
        }
        Err(e) => {
            tx.commit().await?;
            return Ok(Err(e));
        }
    };
    let result = complete(app, &mut tx, &v, "email_code", now).await?;
    tx.commit().await.context("saving the verification")?;
    app.jobs_ready.notify_waiters();
    Ok(result)
}

/// Consumes the verification, verifies the request on first use, and opens a session.
async fn complete(
    app: &App,
    tx: &mut Conn,
    v: &verifications::Verification,
    method: &str,
    now: i64,
) -> anyhow::Result<Result<Verified, VerifyError>> {
    if !verifications::consume(tx, &v.id, now).await? {
        // Consumed by a concurrent click that committed first.
        let reference = requests::get(tx, &v.request_id).await?.and_then(|r| r.reference);
        return Ok(Err(reference.map_or(VerifyError::AlreadyUsed, VerifyError::AlreadyVerified)));
    }
    let request = requests::get(tx, &v.request_id).await?.context("a verification without its request")?;
    let reference = match (&request.reference, request.status) {
        (_, RequestStatus::Submitted) => start_processing(app, tx, &request, &Actor::Requester, method, now).await?,
        (Some(reference), _) => {
            let event = Event::SignedIn { method: method.to_owned() };
            events::record(tx, Some(&request.id), &Actor::Requester, &event, now).await?;
            reference.clone()
        }
        (None, _) => return Ok(Err(VerifyError::Invalid)),
    };
    let session_token = random_token(32);
    let ttl = app.settings.security.session_ttl_minutes * MINUTE_MS;
    sessions::insert(tx, &sha256_hex(session_token.as_bytes()), &request.email_hash, now, now + ttl).await?;
    Ok(Ok(Verified { reference, session_token }))
}

/// The address is proven: give the request its reference and start the work its kind needs.
/// `actor` verified it (the requester, or staff recording another method) by `method`
/// (`email_link`, `email_code`, `staff`).
async fn start_processing(
    app: &App,
    tx: &mut Conn,
    request: &requests::RequestRow,
    actor: &Actor,
    method: &str,
    now: i64,
) -> anyhow::Result<Reference> {
    // A request entered by staff already has its reference: it was given at intake.
    let reference = match &request.reference {
        Some(r) => r.clone(),
        None => {
            let year = app.zone.local_date(from_ms(now)).context("today's date")?.year();
            requests::assign_reference(tx, &request.id, year, now).await?
        }
    };
    requests::set_verified(tx, &request.id, now).await?;
    requests::transition(tx, request, RequestStatus::Verified, actor, now).await?;
    let event = Event::Verified { method: method.to_owned(), reference: reference.as_str().to_owned() };
    events::record(tx, Some(&request.id), actor, &event, now).await?;
    let closed = pauses::event_id(tx, &request.id, &event, now).await?;
    pauses::close(tx, &request.id, PauseReason::Identity, closed.as_deref(), now).await?;
    // The clock may start now (UK GDPR: from receipt of the identity proof) or the identity wait
    // may have stopped it: the stored due date is recomputed from the recorded events.
    let verified = requests::RequestRow { status: RequestStatus::Verified, verified_at: Some(now), ..request.clone() };
    let due_on = match refresh_due(app, tx, &verified, now).await? {
        Some(effective) => effective.deadline.due,
        None => request.due_on,
    };
    let verified = requests::RequestRow { due_on, ..verified };
    requests::transition(tx, &verified, RequestStatus::Collecting, &Actor::System, now).await?;
    if request.kind.produces_export() {
        super::progress::start_collection(app, tx, &request.id, now).await?;
    } else if app.connectors.is_empty() {
        // No source to plan with: the person is asked to confirm an empty plan, and staff decide.
        let collecting = requests::RequestRow { status: RequestStatus::Collecting, ..verified };
        crate::services::changes::planned(app, tx, &collecting, now).await?;
    } else {
        // Erasure, rectification and objection: each source plans; the person then confirms.
        super::progress::start_planning(app, tx, &request.id, now).await?;
    }
    let email = request.email.as_deref().context("a request without its address")?;
    let to = notify::To { request_id: &request.id, email, locale: request.locale };
    // Cal. Code Regs. tit. 11 §7021(a): under the CCPA the confirmation of receipt, with how the
    // request will be processed and when to expect the answer, takes the place of the usual one
    // (unless it was sent already, at a staff intake).
    if request.jurisdiction != Policy::Ccpa.code() || !confirm_ccpa_receipt(app, tx, &request.id, now).await? {
        notify::confirmed(app, tx, to, request.kind, &reference, due_on, now).await?;
    }
    Ok(reference)
}

/// The holiday calendar, with the configured closure days (`[deadlines] closure_days`), and the
/// time zone a policy's deadlines are counted in.
pub fn calendar_for(app: &App, policy: Policy) -> anyhow::Result<(HolidayCalendar, Zone)> {
    let (calendar, zone) = app.clock_for(policy)?;
    Ok((calendar.with_extra_closures(app.settings.requests.deadlines.closure_days.iter().copied()), zone))
}

/// A request's policy, from its stored code.
pub fn policy_of(request: &requests::RequestRow) -> anyhow::Result<Policy> {
    request.jurisdiction.parse().map_err(|_| anyhow::anyhow!("unknown policy {:?} in store", request.jurisdiction))
}

/// The instant a request was received, as the clock counts it. Staff intake records the day the
/// request reached the controller, which may be before it was entered: that day, at noon UTC
/// (the same local day in every supported zone), stands for it.
fn received_instant(request: &requests::RequestRow, zone: Zone) -> time::OffsetDateTime {
    let entered = from_ms(request.received_at);
    match zone.local_date(entered) {
        Ok(day) if day == request.received_on => entered,
        _ => request.received_on.with_hms(12, 0, 0).map(|t| t.assume_utc()).unwrap_or(entered),
    }
}

/// A request's deadlines as of `now`: its policy's clock start (`[deadlines.clock.<policy>]`) and
/// every recorded pause the policy counts. `None` while a clock that starts at verification has
/// not started.
pub async fn effective_deadline(
    app: &App,
    conn: &mut Conn,
    request: &requests::RequestRow,
    now: i64,
) -> anyhow::Result<Option<EffectiveDeadline>> {
    let policy = policy_of(request)?;
    let (calendar, zone) = calendar_for(app, policy)?;
    let recorded = pauses::for_request(conn, &request.id).await?;
    let events = ClockEvents {
        received_at: received_instant(request, zone),
        verified_at: request.verified_at.map(from_ms),
        pauses: recorded.iter().map(pauses::PauseRow::as_pause).collect(),
    };
    let clock = app.settings.requests.deadlines.clock(policy);
    crate::deadlines::effective_deadline(&clock, &events, from_ms(now), zone, &calendar)
        .with_context(|| format!("computing the deadline of request {}", request.id))
}

/// Recomputes a request's deadlines from its recorded clock events and stores them (the queue,
/// the reminders and the register read the stored dates). Called when the clock starts and when
/// a pause closes; an open pause moves nothing until it closes.
pub async fn refresh_due(
    app: &App,
    conn: &mut Conn,
    request: &requests::RequestRow,
    now: i64,
) -> anyhow::Result<Option<EffectiveDeadline>> {
    let Some(effective) = effective_deadline(app, conn, request, now).await? else { return Ok(None) };
    let d = effective.deadline;
    let (due, original) = if request.extended_at.is_some() { (d.extended_due, Some(d.due)) } else { (d.due, None) };
    if due != request.due_on || d.extension_notice_by != request.extension_notice_by {
        requests::set_due(conn, &request.id, due, d.extension_notice_by, original, now).await?;
        if due != request.due_on {
            let event = Event::DueDateMoved {
                from: requests::date_to_text(request.due_on),
                to: requests::date_to_text(due),
                paused_days: i64::from(effective.paused_days),
            };
            events::record(conn, Some(&request.id), &Actor::System, &event, now).await?;
        }
    }
    Ok(Some(effective))
}

/// CCPA (Cal. Code Regs. tit. 11 §7021(a)): confirms the receipt of request `id`, with how it
/// will be processed and its 45-day due date, once. Returns false when it was confirmed already
/// (or the request has no reference or address, or is closed).
pub async fn confirm_ccpa_receipt(app: &App, tx: &mut Conn, id: &str, now: i64) -> anyhow::Result<bool> {
    let Some(request) = requests::get(tx, id).await? else { return Ok(false) };
    let (Some(reference), Some(email)) = (request.reference.clone(), request.email.clone()) else { return Ok(false) };
    if request.status.is_terminal() || !requests::mark_receipt_confirmed(tx, id, now).await? {
        return Ok(false);
    }
    let policy = policy_of(&request)?;
    let (calendar, _) = calendar_for(app, policy)?;
    let confirm_by = policy.deadline(request.received_on, &calendar).ok().and_then(|d| d.confirm_receipt_by);
    let event = Event::ReceiptConfirmed { confirm_by: confirm_by.map(requests::date_to_text) };
    events::record(tx, Some(id), &Actor::System, &event, now).await?;
    let to = notify::To { request_id: id, email: &email, locale: request.locale };
    let verified = request.verified_at.is_some();
    notify::ccpa_receipt(app, tx, to, request.kind, &reference, request.due_on, verified, now).await?;
    Ok(true)
}

/// The email hash a requester's session cookie stands for, while the session lives.
pub async fn session_owner(app: &App, session_token: &str) -> anyhow::Result<Option<String>> {
    let mut conn = app.store.conn().await?;
    sessions::email_hash(&mut conn, &sha256_hex(session_token.as_bytes()), app.now_ms()).await
}

pub async fn sign_out(app: &App, session_token: &str) -> anyhow::Result<()> {
    let mut conn = app.store.conn().await?;
    sessions::delete(&mut conn, &sha256_hex(session_token.as_bytes())).await
}

/// Everything the status page shows.
pub struct StatusView {
    pub request: requests::RequestRow,
    pub sources: Vec<SourceProgress>,
    pub export: Option<exports::ExportRow>,
    /// What the latest export found about the person; `None` before any export.
    pub found: Option<crate::domain::Found>,
    pub today: Date,
    /// The questions staff asked, oldest first (at most the last one open).
    pub clarifications: Vec<Clarification>,
    /// The clock is stopped now: a pause the request's policy counts is open.
    pub clock_stopped: bool,
}

pub struct SourceProgress {
    pub label: String,
    /// A manual source (searched and changed by staff through a task): its run stays unfinished
    /// until they complete it.
    pub manual: bool,
    pub status: source_runs::RunStatus,
    pub records: i64,
}

/// The request `reference`, if the session's owner made it. Someone else's request and a
/// reference that does not exist look the same.
pub async fn status(app: &App, reference: &Reference, owner_hash: &str) -> anyhow::Result<Option<StatusView>> {
    let mut conn = app.store.conn().await?;
    let Some(request) = requests::by_reference(&mut conn, reference).await? else { return Ok(None) };
    if !constant_time_eq(request.email_hash.as_bytes(), owner_hash.as_bytes()) {
        return Ok(None);
    }
    let runs = source_runs::for_request(&mut conn, &request.id).await?;
    let sources = runs
        .into_iter()
        .map(|r| SourceProgress {
            label: app
                .connector(&r.source)
                .map(|c| c.info().label.get(request.locale).to_owned())
                .unwrap_or_else(|| r.source.clone()),
            manual: app.connector(&r.source).is_some_and(|c| c.staff_task().is_some()),
            status: r.status,
            records: r.records,
        })
        .collect();
    let export = exports::latest_for_request(&mut conn, &request.id).await?;
    let found = export.as_ref().map(|e| crate::domain::Found::from_count(e.records));
    let today = app.today_for(&request.jurisdiction)?;
    let clarifications = clarifications::for_request(&mut conn, &request.id).await?;
    let clock_stopped = clock_stopped(app, &mut conn, &request, app.now_ms()).await?;
    Ok(Some(StatusView { request, sources, export, found, today, clarifications, clock_stopped }))
}

/// Whether the request's clock is stopped now (an open pause its policy counts).
pub async fn clock_stopped(
    app: &App,
    conn: &mut Conn,
    request: &requests::RequestRow,
    now: i64,
) -> anyhow::Result<bool> {
    if request.status.is_terminal() {
        return Ok(false);
    }
    Ok(effective_deadline(app, conn, request, now).await?.is_some_and(|e| e.open_pause.is_some()))
}

/// Why an answer to a clarification request was not taken. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerError {
    /// Not the signed-in person's request (or no such request): the same as for the status page.
    NotFound,
    Empty,
    TooLong,
    /// No question is waiting: answered already, closed by staff, or never asked.
    NoQuestion,
    /// The request is closed.
    Closed,
}

impl AnswerError {
    pub fn code(self) -> &'static str {
        match self {
            AnswerError::NotFound => "not_found",
            AnswerError::Empty => "empty",
            AnswerError::TooLong => "too_long",
            AnswerError::NoQuestion => "no_question",
            AnswerError::Closed => "closed",
        }
    }
}

/// The person answers the question staff asked about request `reference`. The answer closes the
/// question and, where the request's policy stops the clock for clarification (UK GDPR by
/// default), the pause: the due date moves by the whole days waited.
pub async fn answer_clarification(
    app: &App,
    reference: &Reference,
    owner_hash: &str,
    text: &str,
) -> anyhow::Result<Result<(), AnswerError>> {
    let text = text.trim();
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = match requests::by_reference(&mut tx, reference).await? {
        Some(r) if constant_time_eq(r.email_hash.as_bytes(), owner_hash.as_bytes()) => r,
        _ => return Ok(Err(AnswerError::NotFound)),
    };
    if request.status.is_terminal() {
        return Ok(Err(AnswerError::Closed));
    }
    let Some(question) = clarifications::open_for(&mut tx, &request.id).await? else {
        return Ok(Err(AnswerError::NoQuestion));
    };
    if text.is_empty() {
        return Ok(Err(AnswerError::Empty));
    }
    if text.chars().count() > clarifications::MAX_TEXT_CHARS {
        return Ok(Err(AnswerError::TooLong));
    }
    if !clarifications::answer(&mut tx, &question.id, text, now).await? {
        return Ok(Err(AnswerError::NoQuestion));
    }
    let event = Event::ClarificationAnswered { chars: text.chars().count() as i64 };
    events::record(&mut tx, Some(&request.id), &Actor::Requester, &event, now).await?;
    end_clarification_pause(app, &mut tx, &request, &event, now).await?;
    tx.commit().await.context("saving the answer")?;
    Ok(Ok(()))
}

/// Closes the clarification pause of `request` with the audit event `event` just recorded, and
/// moves the stored due date by the days it lasted (when the policy counts them).
pub async fn end_clarification_pause(
    app: &App,
    tx: &mut Conn,
    request: &requests::RequestRow,
    event: &Event,
    now: i64,
) -> anyhow::Result<()> {
    let closed = pauses::event_id(tx, &request.id, event, now).await?;
    if pauses::close(tx, &request.id, PauseReason::Clarification, closed.as_deref(), now).await? {
        refresh_due(app, tx, request, now).await?;
    }
    Ok(())
}

#[derive(Debug)]
pub enum DownloadError {
    NotFound,
    NotReady,
    Expired,
}

pub struct Download {
    pub reader: crypto::stream::DecryptingReader<Box<dyn std::io::Read + Send>>,
    pub size: u64,
    pub file_name: String,
}

/// Opens the request's export for its verified owner and records the download.
pub async fn download(
    app: &App,
    reference: &Reference,
    owner_hash: &str,
) -> anyhow::Result<Result<Download, DownloadError>> {
    let now = app.now_ms();
    let Some(view) = status(app, reference, owner_hash).await? else { return Ok(Err(DownloadError::NotFound)) };
    // A refused or cancelled request's export is never released, whatever is on disk.
    if !matches!(view.request.status, RequestStatus::Ready | RequestStatus::Completed) {
        return Ok(Err(DownloadError::NotReady));
    }
    let Some(export) = view.export else { return Ok(Err(DownloadError::NotReady)) };
    if export.deleted_at.is_some() || export.expires_at <= now {
        return Ok(Err(DownloadError::Expired));
    }
    let reader = app
        .exports
        .open(&export.file_name)
        .and_then(|stored| crate::export::open_export_from(stored, &app.keys.export))
        .with_context(|| format!("opening export {}", export.id))?;
    let mut tx = app.store.begin().await?;
    let event = Event::ExportDownloaded { export: export.id.clone() };
    events::record(&mut tx, Some(&view.request.id), &Actor::Requester, &event, now).await?;
    tx.commit().await?;
    Ok(Ok(Download { reader, size: export.size_bytes as u64, file_name: format!("{reference}.zip") }))
}

/// How a request entered by staff proves the person's identity.
pub enum IntakeVerification {
    /// The person confirms through the emailed link or code, as on the portal (the default).
    Email,
    /// Staff verified the person another way (a signed letter with the address on file…) and say
    /// how; no email verification is asked (EDPB Guidelines 01/2022: verify proportionately).
    Recorded { justification: String },
}

/// A request received by letter, phone, email or in person, as staff enter it.
pub struct Intake<'a> {
    pub email: &'a EmailAddress,
    pub kind: RequestKind,
    /// The law the person invoked (one the operator offers).
    pub policy: Policy,
    pub locale: Locale,
    pub channel: &'a str,
    /// The day the request reached the controller: the clock starts then (GDPR Art. 12(3)).
    pub received_on: Date,
    pub verification: IntakeVerification,
}

/// Enters a request on the person's behalf. It gets its reference at once, so staff can quote it.
pub async fn submit_on_behalf(app: &App, staff_id: &str, intake: Intake<'_>) -> anyhow::Result<Reference> {
    let Intake { email, kind, policy, locale, channel, received_on, verification } = intake;
    let now = app.now_ms();
    let actor = Actor::staff(staff_id);
    let (calendar, _) = calendar_for(app, policy)?;
    let deadline = policy.deadline(received_on, &calendar).context("computing the due date")?;
    let id = new_id();
    let mut tx = app.store.begin().await?;
    requests::insert(
        &mut tx,
        &requests::NewRequest {
            id: &id,
            kind,
            email: email.as_str(),
            email_hash: &app.email_hash(email),
            locale,
            jurisdiction: policy.code(),
            channel,
            received_at: now,
            received_on,
            due_on: deadline.due,
            extension_notice_by: deadline.extension_notice_by,
        },
        now,
    )
    .await?;
    let event = Event::Received {
        kind,
        channel: channel.to_owned(),
        entered_by: Some(staff_id.to_owned()),
        received_on: Some(requests::date_to_text(received_on)),
    };
    events::record(&mut tx, Some(&id), &actor, &event, now).await?;
    let year = received_on.year();
    let reference = requests::assign_reference(&mut tx, &id, year, now).await?;
    let request = requests::get(&mut tx, &id).await?.context("the request just entered")?;
    match verification {
        IntakeVerification::Email => {
            open_identity_pause(app, &mut tx, &id, &event, policy, now).await?;
            if policy == Policy::Ccpa {
                // §7021(a): a request received by letter or phone is confirmed at once, before the
                // person verifies.
                confirm_ccpa_receipt(app, &mut tx, &id, now).await?;
            }
            start_verification(app, &mut tx, &id, email.as_str(), locale, kind, None, true, now).await?;
        }
        IntakeVerification::Recorded { justification } => {
            // The justification may name documents or details about the person: it is kept as an
            // internal note, purged with the request, never in the permanent audit trail.
            crate::store::notes::add(&mut tx, &id, staff_id, &justification, now).await?;
            start_processing(app, &mut tx, &request, &actor, "staff", now).await?;
        }
    }
    tx.commit().await.context("saving the request")?;
    app.jobs_ready.notify_waiters();
    Ok(reference)
}
