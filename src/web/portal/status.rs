//! A request's page for its verified owner, the sign-in that reopens it, and the download.

use std::io::Read;

use actix_web::body::SizedStream;
use actix_web::cookie::Cookie;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::changes::{ChangesView, FormState, said_key, view_for};
use super::{CsrfForm, client_ip, see_other};
use crate::app::App;
use crate::clock::from_ms;
use crate::domain::{EmailAddress, EmailError, Found, Reference, RequestKind, RequestStatus};
use crate::i18n::Tr;
use crate::services::notify::{denial_ground_text, format_date, kind_label};
use crate::services::requests::{self, DownloadError, StatusView, Submitted};
use crate::store::source_runs::RunStatus;
use crate::web::page::session_cookie;
use crate::web::{Page, PageError, urls};

struct SourceLine {
    label: String,
    state: &'static str,
    state_class: &'static str,
    records: String,
}

struct DownloadLine {
    url: String,
    size: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "portal/status.html")]
struct StatusTemplate<'a> {
    t: Tr,
    page: &'a Page,
    reference: &'a str,
    kind: &'a str,
    status: &'a str,
    status_class: &'a str,
    explanation: &'a str,
    received: String,
    /// The due date, while the request waits for its answer or once answered; a cancelled or
    /// expired request has none to show.
    due: Option<String>,
    /// The request still waits for its answer: the due date is a promise, not a record.
    awaiting: bool,
    /// The countdown, only while the request waits for its answer (GDPR Art. 12(3)).
    days_left: Option<String>,
    /// When the person was given the answer (export ready and emailed, certificate, refusal).
    answered_on: Option<String>,
    /// When a request closed without an answer (cancelled, expired).
    closed_on: Option<String>,
    /// The time to answer was extended: when, to which date, and why (Art. 12(3)).
    extension: Option<ExtensionLine>,
    /// A refused request: the legal ground and staff's explanation (Art. 12(4)).
    refusal: Option<RefusalLine>,
    /// An access or portability answer that found nothing: the file is the information the law
    /// requires, not "your data" (Art. 15(1)).
    nothing_found: bool,
    sources: Vec<SourceLine>,
    download: Option<DownloadLine>,
    export_expired: bool,
    /// Progress is still moving: a plain link reloads the page (no script needed).
    refresh: Option<String>,
    /// Erasure, rectification and objection: the plan, the person's forms, the certificate.
    changes: Option<ChangesView>,
    /// What the person's last decision did (`?said=…`).
    said: Option<&'static str>,
    /// The clock is stopped while Dossier waits for the person.
    clock_stopped: bool,
    /// Questions staff asked, and the form to answer the one waiting.
    clarify: Option<ClarifyView>,
    /// A refused request: the supervisory authority of its law (GDPR Art. 12(4), 77).
    authority: Option<AuthorityLine>,
}

struct ExtensionLine {
    text: String,
    reason: String,
}

struct RefusalLine {
    ground: String,
    explanation: String,
}

struct AuthorityLine {
    text: String,
    url: Option<String>,
}

struct QuestionView {
    asked: String,
    question: String,
    answer: Option<String>,
    state: String,
}

struct ClarifyView {
    questions: Vec<QuestionView>,
    /// The form's action, when a question is waiting.
    answer_url: Option<String>,
    /// What the person typed, kept when it was refused.
    text: String,
    error: Option<&'static str>,
    max_chars: usize,
    hint: String,
}

/// The answer form's state when the page is shown again after a refused answer.
#[derive(Default)]
pub(super) struct AnswerForm<'a> {
    pub text: &'a str,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "portal/signin.html")]
struct SigninTemplate<'a> {
    t: Tr,
    page: &'a Page,
    lead: String,
    action: String,
    email: &'a str,
    email_error: Option<&'a str>,
    /// No email was sent: the address's budget from this network is spent (said plainly).
    not_sent: Option<&'a str>,
}

#[derive(serde::Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    csrf: String,
    email: Option<String>,
}

fn signin_page(page: &Page, reference: &Reference, email: &str, email_error: Option<&str>) -> anyhow::Result<String> {
    signin_page_with(page, reference, email, email_error, None)
}

fn signin_page_with(
    page: &Page,
    reference: &Reference,
    email: &str,
    email_error: Option<&str>,
    not_sent: Option<&str>,
) -> anyhow::Result<String> {
    Ok(SigninTemplate {
        t: page.t,
        page,
        lead: page.t.fmt("portal.signin.lead", &[("reference", reference.as_str())]),
        action: urls::signin(reference),
        email,
        email_error,
        not_sent,
    }
    .render()?)
}

fn status_keys(s: RequestStatus) -> (&'static str, &'static str) {
    match s {
        RequestStatus::Submitted => ("portal.status.states.submitted", "portal.status.explain.submitted"),
        RequestStatus::Verified => ("portal.status.states.verified", "portal.status.explain.verified"),
        RequestStatus::Collecting => ("portal.status.states.collecting", "portal.status.explain.collecting"),
        RequestStatus::Ready => ("portal.status.states.ready", "portal.status.explain.ready"),
        RequestStatus::AwaitingConfirmation => {
            ("portal.status.states.awaiting_confirmation", "portal.status.explain.awaiting_confirmation")
        }
        RequestStatus::AwaitingReview => {
            ("portal.status.states.awaiting_review", "portal.status.explain.awaiting_review")
        }
        RequestStatus::Executing => ("portal.status.states.executing", "portal.status.explain.executing"),
        RequestStatus::Completed => ("portal.status.states.completed", "portal.status.explain.completed"),
        RequestStatus::Denied => ("portal.status.states.denied", "portal.status.explain.denied"),
        RequestStatus::Cancelled => ("portal.status.states.cancelled", "portal.status.explain.cancelled"),
        RequestStatus::Expired => ("portal.status.states.expired", "portal.status.explain.expired"),
        RequestStatus::NeedsAttention => {
            ("portal.status.states.needs_attention", "portal.status.explain.needs_attention")
        }
    }
}

fn human_size(t: Tr, bytes: i64) -> String {
    let (value, unit) = if bytes >= 1 << 20 {
        (bytes as f64 / (1 << 20) as f64, t.get("common.units.mb"))
    } else {
        ((bytes as f64 / 1024.0).max(0.1), t.get("common.units.kb"))
    };
    let s = format!("{value:.1}");
    let s = if t.locale == crate::domain::Locale::Fr { s.replace('.', ",") } else { s };
    format!("{s}\u{a0}{unit}")
}

pub(super) fn render_status(
    page: &Page,
    app: &App,
    reference: &Reference,
    view: &StatusView,
    changes: Option<ChangesView>,
    said: Option<&'static str>,
) -> Result<String, PageError> {
    render_status_with(page, app, reference, view, changes, said, AnswerForm::default())
}

fn local_day(app: &App, t: Tr, ms: i64) -> String {
    let at = from_ms(ms);
    format_date(t, app.zone.offset_at(at).map(|o| at.to_offset(o)).unwrap_or(at).date())
}

fn clarify_view(
    app: &App,
    t: Tr,
    reference: &Reference,
    view: &StatusView,
    form: AnswerForm<'_>,
) -> Option<ClarifyView> {
    if view.clarifications.is_empty() {
        return None;
    }
    let open = !view.request.status.is_terminal();
    let questions = view
        .clarifications
        .iter()
        .map(|q| QuestionView {
            asked: t.fmt("portal.clarify.asked_on", &[("date", &local_day(app, t, q.asked_at))]),
            question: q.question.clone().unwrap_or_default(),
            answer: q.answer.clone(),
            state: match (q.answered_at, q.closed_at) {
                (Some(at), _) => t.fmt("portal.clarify.answered_on", &[("date", &local_day(app, t, at))]),
                (None, Some(_)) => t.get("portal.clarify.closed").to_owned(),
                (None, None) => t.get("portal.clarify.waiting").to_owned(),
            },
        })
        .collect();
    let waiting = open && view.clarifications.iter().any(|q| q.is_open());
    Some(ClarifyView {
        questions,
        answer_url: waiting.then(|| format!("{}/clarification", urls::status(reference))),
        text: form.text.to_owned(),
        error: form.error,
        max_chars: crate::store::clarifications::MAX_TEXT_CHARS,
        hint: t.fmt("portal.clarify.hint", &[("max", &crate::store::clarifications::MAX_TEXT_CHARS.to_string())]),
    })
}

pub(super) fn render_status_with(
    page: &Page,
    app: &App,
    reference: &Reference,
    view: &StatusView,
    changes: Option<ChangesView>,
    said: Option<&'static str>,
    form: AnswerForm<'_>,
) -> Result<String, PageError> {
    let t = page.t;
    let r = &view.request;
    let (status, explanation) = status_keys(r.status);
    // GDPR Art. 12(3): the clock runs until the answer; an answered or closed request counts
    // nothing down.
    let awaiting = r.status.awaits_answer();
    let days_left = awaiting.then(|| match crate::deadlines::days_left(view.today, r.due_on) {
        0 => t.get("portal.status.due_today").to_owned(),
        n if n > 0 => t.fmt("portal.status.days_left", &[("n", &n.to_string())]),
        n => t.fmt("portal.status.days_late", &[("n", &(-n).to_string())]),
    });
    let answered_on = r.answered_at.filter(|_| !awaiting && r.status.is_answered()).map(|at| local_day(app, t, at));
    let closed_on = r.completed_at.filter(|_| !awaiting && !r.status.is_answered()).map(|at| local_day(app, t, at));
    let extension = match (r.extended_at, r.original_due_on, &r.extension_reason) {
        (Some(at), Some(from), Some(reason)) => Some(ExtensionLine {
            text: t.fmt(
                "portal.status.extension",
                &[("date", &local_day(app, t, at)), ("from", &format_date(t, from)), ("to", &format_date(t, r.due_on))],
            ),
            reason: reason.clone(),
        }),
        _ => None,
    };
    let refusal = (r.status == RequestStatus::Denied).then(|| RefusalLine {
        ground: r
            .denial_ground
            .as_deref()
            .and_then(|g| g.parse::<crate::domain::DenialGround>().ok())
            .map(|g| t.fmt("portal.status.refusal_ground", &[("ground", denial_ground_text(t, g))]))
            .unwrap_or_default(),
        explanation: r.denial_reason.clone().unwrap_or_default(),
    });
    // Art. 15(1): "whether or not" comes first. An answer that found nothing says so, naming
    // the address searched, before any download.
    let nothing_found = matches!(r.kind, RequestKind::Access | RequestKind::Portability)
        && matches!(r.status, RequestStatus::Ready | RequestStatus::Completed)
        && view.found.is_some_and(Found::is_nothing);
    let (status, explanation) = if nothing_found {
        let explanation = match &r.email {
            Some(address) => t.fmt("portal.status.explain.nothing_found", &[("address", address)]),
            None => t.get("portal.status.explain.nothing_found_erased").to_owned(),
        };
        (t.get("portal.status.states.nothing_found").to_owned(), explanation)
    } else {
        (t.get(status).to_owned(), t.get(explanation).to_owned())
    };
    // A completed erasure, rectification or objection has its certificate: the sources' last
    // counts (items executed) would only confuse.
    let changed = matches!(r.kind, RequestKind::Erasure | RequestKind::Rectification | RequestKind::Objection);
    let sources = view
        .sources
        .iter()
        .filter(|_| !(changed && r.status == RequestStatus::Completed))
        .map(|s| {
            // A manual source's run stays unfinished until staff complete its task; once the
            // request is answered or closed, nobody is searching it any more.
            let (state, class) = match s.status {
                RunStatus::Pending | RunStatus::Running if !awaiting => {
                    (t.get("portal.status.source.not_searched"), "pending")
                }
                RunStatus::Pending | RunStatus::Running if s.manual => {
                    (t.get("portal.manual.waiting_for_staff"), "pending")
                }
                RunStatus::Pending => (t.get("portal.status.source.pending"), "pending"),
                RunStatus::Running => (t.get("portal.status.source.running"), "running"),
                RunStatus::Done => (t.get("portal.status.source.done"), "done"),
                RunStatus::Failed => (t.get("portal.status.source.failed"), "failed"),
            };
            let records = if s.status == RunStatus::Done {
                t.fmt("portal.status.source.records", &[("n", &s.records.to_string())])
            } else {
                String::new()
            };
            SourceLine { label: s.label.clone(), state, state_class: class, records }
        })
        .collect();
    let now = app.now_ms();
    let live_export = view.export.as_ref().filter(|e| e.deleted_at.is_none() && e.expires_at > now);
    let download = live_export.map(|e| DownloadLine {
        url: urls::download(reference),
        size: human_size(t, e.size_bytes),
        expires: t.fmt("portal.status.download_expires", &[("date", &format_date(t, from_ms(e.expires_at).date()))]),
    });
    let export_expired = view.export.is_some() && live_export.is_none();
    let class = match r.status {
        RequestStatus::Ready | RequestStatus::Completed => "good",
        RequestStatus::NeedsAttention | RequestStatus::Denied => "warn",
        _ => "neutral",
    };
    Ok(StatusTemplate {
        t,
        page,
        reference: reference.as_str(),
        kind: kind_label(t, r.kind),
        status: &status,
        status_class: class,
        explanation: &explanation,
        received: format_date(t, r.received_on),
        due: (awaiting || r.status.is_answered()).then(|| format_date(t, r.due_on)),
        awaiting,
        days_left,
        answered_on,
        closed_on,
        extension,
        refusal,
        nothing_found,
        sources,
        download,
        export_expired,
        refresh: matches!(r.status, RequestStatus::Verified | RequestStatus::Collecting | RequestStatus::Executing)
            .then(|| urls::status(reference)),
        changes,
        said,
        clock_stopped: view.clock_stopped,
        clarify: clarify_view(app, t, reference, view, form),
        authority: (r.status == RequestStatus::Denied).then(|| {
            let a = app.settings.authority_for_code(&r.jurisdiction);
            AuthorityLine {
                text: t
                    .fmt("portal.clarify.authority", &[("authority", a.name.get(t.locale)), ("address", &a.address)]),
                url: a.link().map(str::to_owned),
            }
        }),
    }
    .render()
    .map_err(anyhow::Error::from)?)
}

pub(super) fn parse_reference(raw: &str) -> Result<Reference, PageError> {
    raw.parse().map_err(|_| PageError::NOT_FOUND)
}

/// The session's owner, if the browser holds a live requester session.
pub(super) async fn owner(app: &App, page: &Page) -> Result<Option<String>, PageError> {
    match &page.session {
        Some(token) => Ok(requests::session_owner(app, token).await?),
        None => Ok(None),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    said: String,
    /// Set after the person's answer to a clarification request was recorded.
    #[serde(default)]
    answered: String,
}

pub async fn show(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let reference = parse_reference(&reference)?;
    let view = match owner(&app, &page).await? {
        Some(hash) => requests::status(&app, &reference, &hash).await?,
        None => None,
    };
    let body = match view {
        Some(view) => {
            let changes = view_for(&app, page.t, &reference, &view.request, FormState::default()).await?;
            let said = said_key(&q.said)
                .map(|k| page.t.get(k))
                .or_else(|| (!q.answered.is_empty()).then(|| page.t.get("portal.clarify.thanks")));
            render_status(&page, &app, &reference, &view, changes, said)?
        }
        // Not signed in, someone else's request, or no such request: the same sign-in page.
        None => signin_page(&page, &reference, "", None)?,
    };
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

#[derive(serde::Deserialize)]
pub struct AnswerFormData {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    answer: String,
}

/// `POST /requests/{reference}/clarification`: the person answers the question staff asked.
/// Refused answers (empty, too long, no question waiting, a closed request) show the page again
/// with the reason and the text kept; nothing is changed.
pub async fn answer(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    form: web::Form<AnswerFormData>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    let reference = parse_reference(&reference)?;
    let Some(hash) = owner(&app, &page).await? else { return Ok(see_other(urls::status(&reference))) };
    let error = match requests::answer_clarification(&app, &reference, &hash, &form.answer).await? {
        Ok(()) => return Ok(see_other(format!("{}?answered=1", urls::status(&reference)))),
        // Someone else's request, or none: the same as the status page, the sign-in page.
        Err(requests::AnswerError::NotFound) => return Ok(see_other(urls::status(&reference))),
        Err(e) => e,
    };
    let Some(view) = requests::status(&app, &reference, &hash).await? else {
        return Ok(see_other(urls::status(&reference)));
    };
    let key = match error {
        requests::AnswerError::Empty => "portal.clarify.errors.empty",
        requests::AnswerError::TooLong => "portal.clarify.errors.too_long",
        requests::AnswerError::Closed => "portal.clarify.errors.closed",
        requests::AnswerError::NoQuestion | requests::AnswerError::NotFound => "portal.clarify.errors.no_question",
    };
    let changes = view_for(&app, page.t, &reference, &view.request, FormState::default()).await?;
    let form = AnswerForm { text: &form.answer, error: Some(page.t.get(key)) };
    let body = render_status_with(&page, &app, &reference, &view, changes, None, form)?;
    Ok(HttpResponse::UnprocessableEntity().content_type("text/html; charset=utf-8").body(body))
}

pub async fn signin(
    page: Page,
    app: web::Data<App>,
    req: HttpRequest,
    reference: web::Path<String>,
    form: web::Form<SigninForm>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    let reference = parse_reference(&reference)?;
    let email = match EmailAddress::parse(form.email.as_deref().unwrap_or("")) {
        Ok(e) => e,
        Err(e) => {
            let error = page.t.get(match e {
                EmailError::Empty => "portal.home.errors.email_empty",
                EmailError::TooLong => "portal.home.errors.email_too_long",
                EmailError::Invalid => "portal.home.errors.email_invalid",
            });
            let body = signin_page(&page, &reference, form.email.as_deref().unwrap_or(""), Some(error))?;
            return Ok(HttpResponse::UnprocessableEntity().content_type("text/html; charset=utf-8").body(body));
        }
    };
    // A matching and a non-matching (reference, address) pair get the same answer: a fresh
    // handle (each time), or the same "not sent" page when the budget is spent.
    match requests::request_signin(&app, &reference, &email, page.locale(), &client_ip(&req)).await? {
        Submitted::Pending { handle, link_only } => Ok(see_other(super::inbox_url(&handle, link_only))),
        Submitted::NotSent => {
            let not_sent = Some(page.t.get("portal.verify.not_sent"));
            let body = signin_page_with(&page, &reference, email.as_str(), None, not_sent)?;
            Ok(HttpResponse::TooManyRequests().content_type("text/html; charset=utf-8").body(body))
        }
        Submitted::TooMany => Err(PageError::TOO_MANY),
    }
}

pub async fn sign_out(page: Page, app: web::Data<App>, form: web::Form<CsrfForm>) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    if let Some(token) = &page.session {
        requests::sign_out(&app, token).await?;
    }
    let mut res = see_other(urls::home());
    let secure = app.settings.cookie_secure();
    let mut gone = Cookie::build(session_cookie(secure), "").path("/").secure(secure).finish();
    gone.make_removal();
    let _ = res.add_cookie(&gone);
    Ok(res)
}

const CHUNK: usize = 64 * 1024;

pub async fn download(
    page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let reference = parse_reference(&reference)?;
    let Some(hash) = owner(&app, &page).await? else { return Ok(see_other(urls::status(&reference))) };
    let download = match requests::download(&app, &reference, &hash).await? {
        Ok(d) => d,
        Err(DownloadError::NotFound) => return Ok(see_other(urls::status(&reference))),
        Err(DownloadError::NotReady | DownloadError::Expired) => return Ok(see_other(urls::status(&reference))),
    };
    // Decrypt in blocking chunks: the file is never whole in memory.
    let stream = futures_util::stream::try_unfold(download.reader, |mut reader| async move {
        let (reader, chunk) = web::block(move || -> std::io::Result<_> {
            let mut buf = vec![0u8; CHUNK];
            let mut filled = 0;
            while filled < CHUNK {
                let n = reader.read(&mut buf[filled..])?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            buf.truncate(filled);
            Ok((reader, buf))
        })
        .await
        .map_err(std::io::Error::other)??;
        if chunk.is_empty() { Ok::<_, std::io::Error>(None) } else { Ok(Some((web::Bytes::from(chunk), reader))) }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{}\"", download.file_name)))
        .body(SizedStream::new(download.size, Box::pin(stream))))
}
