//! The emails Dossier sends, composed in the request's language and queued in the outbox within
//! the caller's transaction (they go out only if that transaction commits).

use time::Date;

use super::progress;
use crate::app::App;
use crate::domain::{Locale, Reference, RequestKind};
use crate::i18n::Tr;
use crate::mail::{self, Content};
use crate::store::{Conn, emails};

pub fn format_date(tr: Tr, d: Date) -> String {
    let month = tr.month(d.month());
    match tr.locale {
        Locale::Fr => {
            format!("{} {} {}", if d.day() == 1 { "1er".to_owned() } else { d.day().to_string() }, month, d.year())
        }
        Locale::En => format!("{} {}, {}", month, d.day(), d.year()),
    }
}

pub fn kind_label(tr: Tr, kind: RequestKind) -> &'static str {
    // The keys are static, so the strings outlive the translator.
    let key: &'static str = match kind {
        RequestKind::Access => "common.kind.access",
        RequestKind::Portability => "common.kind.portability",
        RequestKind::Rectification => "common.kind.rectification",
        RequestKind::Erasure => "common.kind.erasure",
        RequestKind::Objection => "common.kind.objection",
    };
    tr.get(key)
}

/// Who an email is for: the requester of one request, in their language.
#[derive(Clone, Copy)]
pub struct To<'a> {
    pub request_id: &'a str,
    pub email: &'a str,
    pub locale: Locale,
}

/// Stores `content` for `to` and queues its delivery.
async fn queue(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    template: &str,
    content: Content,
    now: i64,
) -> anyhow::Result<()> {
    queue_to(app, conn, Some(to.request_id), to.email, to.locale, template, content, now).await
}

/// Stores `content` for `email` (about request `request_id`, or none) and queues its delivery.
#[allow(clippy::too_many_arguments)]
async fn queue_to(
    app: &App,
    conn: &mut Conn,
    request_id: Option<&str>,
    email: &str,
    locale: Locale,
    template: &str,
    content: Content,
    now: i64,
) -> anyhow::Result<()> {
    let (text, html) = mail::render(Tr::new(locale), &content, &app.settings.controller.name)?;
    let id = crate::crypto::new_id();
    let domain =
        app.base_url.split("://").nth(1).unwrap_or("dossier.local").split(['/', ':']).next().unwrap_or("dossier.local");
    let row = emails::EmailRow {
        message_id: format!("<{id}@{domain}>"),
        id: id.clone(),
        request_id: request_id.map(str::to_owned),
        template: template.to_owned(),
        to_addr: email.to_owned(),
        subject: content.subject,
        text_body: Some(text),
        html_body: Some(html),
        sent_at: None,
    };
    emails::insert(conn, &app.settings.secret_key, &row, now).await?;
    progress::enqueue_email_about(app, conn, &id, request_id, now).await?;
    let event = crate::domain::audit::Event::EmailQueued { template: template.to_owned() };
    crate::store::events::record(conn, request_id, &crate::domain::audit::Actor::System, &event, now).await
}

/// The link and code (`secrets`) that prove control of the address, for a new request or to
/// sign in to a verified one. Without a code (the address's daily ceiling of emails with a code
/// is reached, `services::budgets`), the email says the link is the way.
pub async fn verification(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    kind: RequestKind,
    signin: Option<&Reference>,
    (token, code): (&str, Option<&str>),
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let minutes = app.settings.security.verification_ttl_minutes.to_string();
    let link = format!("{}/verify/{}", app.base_url, token);
    let (template, subject, intro) = match signin {
        None => (
            "verify",
            tr.get("mail.verify.subject").to_owned(),
            tr.fmt(
                "mail.verify.intro",
                &[("kind", kind_label(tr, kind)), ("controller", &app.settings.controller.name)],
            ),
        ),
        Some(reference) => (
            "signin",
            tr.fmt("mail.signin.subject", &[("reference", reference.as_str())]),
            tr.fmt("mail.signin.intro", &[("reference", reference.as_str())]),
        ),
    };
    let mut paragraphs = vec![intro];
    match code {
        Some(_) => paragraphs.push(tr.fmt("mail.verify.expiry", &[("minutes", &minutes)])),
        None => {
            paragraphs.push(tr.fmt("mail.verify.expiry_link_only", &[("minutes", &minutes)]));
            // The message template adds this line only under a code.
            paragraphs.push(tr.get("mail.common.not_you").to_owned());
        }
    }
    let content = Content {
        subject,
        paragraphs,
        action: Some((tr.get("mail.verify.action").to_owned(), link)),
        code: code.map(str::to_owned),
    };
    queue(app, conn, to, template, content, now).await
}

/// Someone typed this address and `reference` on the sign-in form, and no request with that
/// reference was made from this address: the email says so, and nothing more (not whether the
/// reference exists). It is queued exactly as a sign-in link would be, under the same budgets,
/// so the page that asked for it cannot tell the two apart.
pub async fn signin_unmatched(
    app: &App,
    conn: &mut Conn,
    email: &str,
    locale: Locale,
    reference: &Reference,
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(locale);
    let content = Content {
        subject: tr.fmt("mail.signin_unmatched.subject", &[("reference", reference.as_str())]),
        paragraphs: vec![
            tr.fmt("mail.signin_unmatched.intro", &[("reference", reference.as_str())]),
            tr.get("mail.signin_unmatched.next").to_owned(),
            tr.get("mail.common.not_you").to_owned(),
        ],
        action: None,
        code: None,
    };
    queue_to(app, conn, None, email, locale, "signin_unmatched", content, now).await
}

/// The request is verified: its reference, its due date and where to follow it.
pub async fn confirmed(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    kind: RequestKind,
    reference: &Reference,
    due: Date,
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let due = format_date(tr, due);
    let next =
        if kind.produces_export() { tr.get("mail.confirmed.next_export") } else { tr.get("mail.confirmed.next_plan") };
    let content = Content {
        subject: tr.fmt("mail.confirmed.subject", &[("reference", reference.as_str())]),
        paragraphs: vec![
            tr.fmt("mail.confirmed.intro", &[("kind", kind_label(tr, kind)), ("reference", reference.as_str())]),
            tr.fmt("mail.confirmed.due", &[("due", &due)]),
            next.to_owned(),
        ],
        action: Some((tr.get("mail.confirmed.action").to_owned(), format!("{}/requests/{}", app.base_url, reference))),
        code: None,
    };
    queue(app, conn, to, "confirmed", content, now).await
}

/// The export can be downloaded until `expires`.
pub async fn export_ready(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    reference: &Reference,
    found: crate::domain::Found,
    expires: Date,
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let expires = format_date(tr, expires);
    let r = reference.as_str();
    let content = if found.is_nothing() {
        // GDPR Art. 15(1): the confirmation that nothing is held is the answer, said plainly
        // before any download; the file is the information the law requires, not "your data".
        Content {
            subject: tr.fmt("mail.ready_nothing.subject", &[("reference", r)]),
            paragraphs: vec![
                tr.fmt("mail.ready_nothing.intro", &[("reference", r), ("address", to.email)]),
                tr.get("mail.ready_nothing.information").to_owned(),
                tr.fmt("mail.ready.expiry", &[("expires", &expires)]),
                tr.get("mail.ready.signin").to_owned(),
            ],
            action: Some((tr.get("mail.ready_nothing.action").to_owned(), format!("{}/requests/{}", app.base_url, r))),
            code: None,
        }
    } else {
        Content {
            subject: tr.fmt("mail.ready.subject", &[("reference", r)]),
            paragraphs: vec![
                tr.fmt("mail.ready.intro", &[("reference", r)]),
                tr.fmt("mail.ready.expiry", &[("expires", &expires)]),
                tr.get("mail.ready.signin").to_owned(),
            ],
            action: Some((tr.get("mail.ready.action").to_owned(), format!("{}/requests/{}", app.base_url, r))),
            code: None,
        }
    };
    queue(app, conn, to, "export_ready", content, now).await
}

/// The plan (erasure), the current values (rectification) or the objections offered are ready:
/// the person decides on the status page before anything is reviewed or changed.
pub async fn plan_ready(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    kind: RequestKind,
    reference: &Reference,
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let what = tr.get(match kind {
        RequestKind::Rectification => "mail.plan_ready.rectification",
        RequestKind::Objection => "mail.plan_ready.objection",
        _ => "mail.plan_ready.erasure",
    });
    let content = Content {
        subject: tr.fmt("mail.plan_ready.subject", &[("reference", reference.as_str())]),
        paragraphs: vec![
            tr.fmt("mail.plan_ready.intro", &[("reference", reference.as_str())]),
            what.to_owned(),
            tr.get("mail.plan_ready.nothing_yet").to_owned(),
        ],
        action: Some((tr.get("mail.plan_ready.action").to_owned(), format!("{}/requests/{}", app.base_url, reference))),
        code: None,
    };
    queue(app, conn, to, "plan_ready", content, now).await
}

/// What a completed erasure, rectification or objection did, in numbers; the certificate on the
/// status page has the details.
pub struct Done {
    pub applied: usize,
    pub kept: usize,
    pub excluded: usize,
}

/// The request is carried out (or there was nothing to change): what was done, and where the
/// certificate is.
pub async fn changes_done(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    kind: RequestKind,
    reference: &Reference,
    done: &Done,
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let r = reference.as_str();
    let mut paragraphs = vec![tr.fmt("mail.done.intro", &[("reference", r), ("kind", kind_label(tr, kind))])];
    if done.applied + done.kept + done.excluded == 0 {
        paragraphs.push(tr.get("mail.done.nothing").to_owned());
    } else {
        let applied = done.applied.to_string();
        paragraphs.push(tr.fmt("mail.done.applied", &[("n", &applied)]));
        if done.kept > 0 {
            paragraphs.push(tr.fmt("mail.done.kept", &[("n", &done.kept.to_string())]));
        }
        if done.excluded > 0 {
            paragraphs.push(tr.fmt("mail.done.excluded", &[("n", &done.excluded.to_string())]));
            // GDPR Art. 12(4): not acting on part of a request is a refusal of that part; the
            // authority is the one of the request's own law (Art. 77).
            let authority = authority_of(app, conn, to.request_id).await?;
            paragraphs.push(
                tr.fmt("mail.done.complain", &[("authority", authority.name.get(to.locale)), ("url", &authority.url)]),
            );
        }
    }
    paragraphs.push(tr.get("mail.done.certificate").to_owned());
    let content = Content {
        subject: tr.fmt("mail.done.subject", &[("reference", r)]),
        paragraphs,
        action: Some((tr.get("mail.done.action").to_owned(), format!("{}/requests/{}", app.base_url, reference))),
        code: None,
    };
    queue(app, conn, to, "changes_done", content, now).await
}

/// An extension, as the person is told of it.
pub struct Extension<'a> {
    pub reference: &'a Reference,
    pub new_due: Date,
    pub reason: &'a str,
    pub policy: crate::deadlines::Policy,
}

/// GDPR Art. 12(3) (CCPA §7021(b), UK GDPR alike): the person is told of an extension, with its
/// reasons, within the first period; the law cited is the request's own.
pub async fn extended(app: &App, conn: &mut Conn, to: To<'_>, e: &Extension<'_>, now: i64) -> anyhow::Result<()> {
    use crate::deadlines::Policy;
    let tr = Tr::new(to.locale);
    let reference = e.reference.as_str();
    let law = match e.policy {
        Policy::EuGdpr | Policy::Lgpd => "mail.extended.law",
        Policy::UkGdpr => "mail.extended.law_uk",
        Policy::Ccpa => "mail.extended.law_ccpa",
    };
    let content = Content {
        subject: tr.fmt("mail.extended.subject", &[("reference", reference)]),
        paragraphs: vec![
            tr.fmt("mail.extended.intro", &[("reference", reference), ("due", &format_date(tr, e.new_due))]),
            tr.fmt("mail.extended.reason", &[("reason", e.reason)]),
            tr.get(law).to_owned(),
        ],
        action: Some((tr.get("mail.confirmed.action").to_owned(), format!("{}/requests/{}", app.base_url, reference))),
        code: None,
    };
    queue(app, conn, to, "extended", content, now).await
}

/// The person withdrew the request and staff closed it: confirm it is closed.
pub async fn cancelled(app: &App, conn: &mut Conn, to: To<'_>, reference: &Reference, now: i64) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let content = Content {
        subject: tr.fmt("mail.cancelled.subject", &[("reference", reference.as_str())]),
        paragraphs: vec![
            tr.fmt("mail.cancelled.intro", &[("reference", reference.as_str())]),
            tr.get("mail.cancelled.again").to_owned(),
        ],
        action: None,
        code: None,
    };
    queue(app, conn, to, "cancelled", content, now).await
}

/// A refusal's legal ground in the person's words, as the refusal email and the status page say it.
pub fn denial_ground_text(tr: Tr, ground: crate::domain::DenialGround) -> &'static str {
    use crate::domain::DenialGround as G;
    tr.get(match ground {
        G::ManifestlyUnfounded => "mail.denied.ground.manifestly_unfounded",
        G::Excessive => "mail.denied.ground.excessive",
        G::IdentityNotConfirmed => "mail.denied.ground.identity_not_confirmed",
        G::LegalObligation => "mail.denied.ground.legal_obligation",
        G::LegalClaims => "mail.denied.ground.legal_claims",
        G::RightsOfOthers => "mail.denied.ground.rights_of_others",
    })
}

/// GDPR Art. 12(4): a refusal says why, and that the person may complain to the supervisory
/// authority and seek a judicial remedy.
pub async fn denied(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    reference: &Reference,
    ground: crate::domain::DenialGround,
    reason: &str,
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let ground = denial_ground_text(tr, ground);
    // Art. 77: the supervisory authority of the request's own law.
    let authority = authority_of(app, conn, to.request_id).await?;
    let content = Content {
        subject: tr.fmt("mail.denied.subject", &[("reference", reference.as_str())]),
        paragraphs: vec![
            tr.fmt("mail.denied.intro", &[("reference", reference.as_str())]),
            tr.fmt("mail.denied.ground_line", &[("ground", ground)]),
            tr.fmt("mail.denied.reason", &[("reason", reason)]),
            tr.fmt(
                "mail.denied.complaint",
                &[
                    ("authority", authority.name.get(to.locale)),
                    ("address", &authority.address),
                    ("url", &authority.url),
                ],
            ),
            tr.get("mail.denied.remedy").to_owned(),
        ],
        action: None,
        code: None,
    };
    queue(app, conn, to, "denied", content, now).await
}

/// The supervisory authority of request `request_id`'s law (`[authorities.<policy>]`, falling
/// back to the controller's).
async fn authority_of<'a>(
    app: &'a App,
    conn: &mut Conn,
    request_id: &str,
) -> anyhow::Result<&'a crate::config::Authority> {
    let jurisdiction: Option<String> = sqlx::query_scalar("SELECT jurisdiction FROM requests WHERE id = $1")
        .bind(request_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| anyhow::anyhow!("loading a request's jurisdiction: {e}"))?;
    Ok(app.settings.authority_for_code(jurisdiction.as_deref().unwrap_or("")))
}

/// CCPA (Cal. Code Regs. tit. 11 §7021(a)): the confirmation of receipt, sent within 10 business
/// days, "and provide information about how the business will process the request": the steps,
/// and when to expect the answer (the 45-day due date, §7021(b)).
#[allow(clippy::too_many_arguments)]
pub async fn ccpa_receipt(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    kind: RequestKind,
    reference: &Reference,
    due: Date,
    verified: bool,
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let r = reference.as_str();
    let due = format_date(tr, due);
    let content = Content {
        subject: tr.fmt("mail.ccpa_receipt.subject", &[("reference", r)]),
        paragraphs: vec![
            tr.fmt("mail.ccpa_receipt.intro", &[("kind", kind_label(tr, kind)), ("reference", r)]),
            tr.get(if verified { "mail.ccpa_receipt.step_verified" } else { "mail.ccpa_receipt.step_verify" })
                .to_owned(),
            tr.get("mail.ccpa_receipt.step_search").to_owned(),
            tr.get(if kind.produces_export() {
                "mail.ccpa_receipt.step_export"
            } else {
                "mail.ccpa_receipt.step_changes"
            })
            .to_owned(),
            tr.fmt("mail.ccpa_receipt.due", &[("due", &due)]),
        ],
        action: Some((tr.get("mail.confirmed.action").to_owned(), format!("{}/requests/{}", app.base_url, reference))),
        code: None,
    };
    queue(app, conn, to, "ccpa_receipt", content, now).await
}

/// Staff ask the person to clarify their request: the question, where to answer (the status
/// page, after signing in as usual), and whether the clock stops meanwhile under the request's law.
pub async fn clarification_asked(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    reference: &Reference,
    question: &str,
    clock_stops: bool,
    now: i64,
) -> anyhow::Result<()> {
    let tr = Tr::new(to.locale);
    let r = reference.as_str();
    let content = Content {
        subject: tr.fmt("mail.clarification.subject", &[("reference", r)]),
        paragraphs: vec![
            tr.fmt("mail.clarification.intro", &[("reference", r)]),
            question.to_owned(),
            tr.get("mail.clarification.how").to_owned(),
            tr.get(if clock_stops { "mail.clarification.clock_stops" } else { "mail.clarification.clock_runs" })
                .to_owned(),
        ],
        action: Some((tr.get("mail.clarification.action").to_owned(), format!("{}/requests/{}", app.base_url, r))),
        code: None,
    };
    queue(app, conn, to, "clarification", content, now).await
}

/// What a deadline reminder to staff is about.
#[derive(Debug, Clone, Copy)]
pub struct Reminder<'a> {
    pub reference: &'a Reference,
    pub kind: RequestKind,
    pub due: Date,
    /// Days from today to `due`: 0 on the due day, negative once late.
    pub days_left: i64,
    /// Whether the recipient is the request's assignee (otherwise it goes to every admin and agent).
    pub assigned: bool,
}

/// A reminder's subject, lines and link to the request's staff page, in `tr`'s language.
pub fn reminder_content(tr: Tr, base_url: &str, r: &Reminder<'_>) -> Content {
    let (reference, due) = (r.reference.as_str(), format_date(tr, r.due));
    let late = r.days_left < 0;
    let days = r.days_left.unsigned_abs().to_string();
    let args: &[(&str, &str)] = &[("reference", reference), ("due", &due), ("days", &days)];
    let (subject, intro, count) = if late {
        let count = if r.days_left == -1 { "mail.reminder.late_one" } else { "mail.reminder.late_other" };
        ("mail.reminder.subject_overdue", "mail.reminder.intro_overdue", count)
    } else {
        let count = match r.days_left {
            0 => "mail.reminder.left_today",
            1 => "mail.reminder.left_one",
            _ => "mail.reminder.left_other",
        };
        ("mail.reminder.subject", "mail.reminder.intro", count)
    };
    let mut paragraphs = vec![
        tr.fmt(intro, args),
        tr.fmt(count, args),
        tr.fmt("mail.reminder.right", &[("kind", kind_label(tr, r.kind))]),
        tr.get(if r.assigned { "mail.reminder.assigned" } else { "mail.reminder.unassigned" }).to_owned(),
    ];
    if late {
        paragraphs.push(tr.get("mail.reminder.late_action").to_owned());
    }
    Content {
        subject: tr.fmt(subject, args),
        paragraphs,
        action: Some((tr.get("mail.reminder.action").to_owned(), format!("{base_url}/staff/requests/{reference}"))),
        code: None,
    }
}

/// Reminds a staff member that a request is due soon, or overdue. `to` is the staff member's
/// address and language (staff accounts have none yet: the caller passes `default_locale`).
pub async fn deadline_reminder(
    app: &App,
    conn: &mut Conn,
    to: To<'_>,
    reminder: &Reminder<'_>,
    now: i64,
) -> anyhow::Result<()> {
    let content = reminder_content(Tr::new(to.locale), &app.base_url, reminder);
    queue(app, conn, to, "deadline_reminder", content, now).await
}
