//! `/staff/requests/{reference}`: everything about one request on one page. Opening it shows the
//! requester's address, so every view is itself an audit event.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::changes::{PlanSection, RecipientRow, Repeats, plan_section, recipients, repeats};
use super::queue::{days_left_text, deadline_label, status_label};
use super::{ACTORS, READERS, require, timeline};
use crate::app::App;
use crate::clock::from_ms;
use crate::deadlines::PauseReason;
use crate::domain::audit::{Actor, Event as Audited};
use crate::domain::{DenialGround, Reference, RequestStatus};
use crate::i18n::Tr;
use crate::services;
use crate::services::actions::{self, Refused};
use crate::services::notify::{format_date, kind_label};
use crate::store::requests::DeadlineState;
use crate::store::source_runs::RunStatus;
use crate::store::{clarifications, events, exports, notes, pauses, plans, requests, source_runs, staff};
use crate::web::{Page, PageError, urls};

pub struct Event {
    pub at: String,
    pub actor: String,
    pub what: String,
    pub detail: String,
}

pub struct Source {
    pub label: String,
    pub state: &'static str,
    pub records: i64,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/request.html")]
struct RequestTemplate<'a> {
    t: Tr,
    page: &'a Page,
    reference: &'a str,
    email: &'a str,
    kind: &'static str,
    status: &'static str,
    jurisdiction: &'a str,
    channel: &'static str,
    received: String,
    due: String,
    left: String,
    state: &'static str,
    state_label: &'static str,
    /// When the person was first given the answer (the register's answer date).
    answered: Option<String>,
    sources: Vec<Source>,
    export: Option<String>,
    events: Vec<Event>,
    notes: Vec<Event>,
    assignee: Option<String>,
    extension: Option<String>,
    denial: Option<String>,
    /// What the last action did, or why it was refused.
    notice: Option<&'static str>,
    refused: Option<&'static str>,
    /// The action forms, when the viewer's role may act.
    actions: Option<Actions>,
    /// Erasure, rectification, objection: the plan and its review.
    plan: Option<PlanSection>,
    /// GDPR Art. 19: the recipients to tell.
    recipients: Vec<RecipientRow>,
    /// GDPR Art. 12(5): the same person's other recent requests.
    repeats: Repeats,
    /// `needs_attention` and a viewer who may act: restart the failed steps.
    retry: Option<String>,
    /// The clock: stopped now, and every recorded wait.
    clock: ClockSection,
    /// Questions asked to the person and their answers, and the forms to ask or close one.
    clarify: ClarifySection,
}

/// The request's clock as staff see it.
pub struct ClockSection {
    /// "The clock is stopped since … (waiting for …)": a pause the policy counts is open.
    pub stopped: Option<String>,
    /// One line per recorded wait: reason, from, to, whether it counted.
    pub pauses: Vec<String>,
}

pub struct QuestionLine {
    pub asked: String,
    pub question: String,
    pub answer: Option<String>,
    /// "Answered on …", "Closed without an answer on … by …", or "Waiting for the answer".
    pub state: String,
}

pub struct ClarifySection {
    pub questions: Vec<QuestionLine>,
    /// The ask form's action, when the viewer may act and no question is waiting.
    pub ask: Option<String>,
    /// What asking will do, in words (email in the person's language; the clock).
    pub ask_what: String,
    /// The close form's action, when a question is waiting and the viewer may act.
    pub close: Option<String>,
    pub close_what: String,
    pub max_chars: usize,
}

pub struct Actions {
    pub base: String,
    pub workers: Vec<(String, String, bool)>,
    pub open: bool,
    /// "Moves the due date to …": set when an extension is still possible.
    pub extend_to: Option<String>,
    pub grounds: Vec<(&'static str, &'static str)>,
    pub can_complete: bool,
    pub can_cancel: bool,
}

#[derive(serde::Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    refused: String,
}

pub fn ground_label(t: Tr, g: DenialGround) -> &'static str {
    t.get(match g {
        DenialGround::ManifestlyUnfounded => "staff.denial.manifestly_unfounded",
        DenialGround::Excessive => "staff.denial.excessive",
        DenialGround::IdentityNotConfirmed => "staff.denial.identity_not_confirmed",
        DenialGround::LegalObligation => "staff.denial.legal_obligation",
        DenialGround::LegalClaims => "staff.denial.legal_claims",
        DenialGround::RightsOfOthers => "staff.denial.rights_of_others",
    })
}

pub fn pause_label(t: Tr, reason: PauseReason) -> &'static str {
    t.get(match reason {
        PauseReason::Identity => "staff.clarify.reason_identity",
        PauseReason::Clarification => "staff.clarify.reason_clarification",
    })
}

pub async fn show(
    mut page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
    q: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let viewer = require(&app, &mut page, READERS).await?;
    let reference: Reference = reference.parse().map_err(|_| PageError::NOT_FOUND)?;
    let t = page.t;
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = requests::by_reference(&mut tx, &reference).await?.ok_or(PageError::NOT_FOUND)?;
    // GDPR Art. 5(2): a staff view of personal data is recorded before it is shown.
    events::record(&mut tx, Some(&request.id), &Actor::staff(&viewer.id), &Audited::StaffViewed { what: None }, now)
        .await?;
    let runs = source_runs::for_request(&mut tx, &request.id).await?;
    let export = exports::latest_for_request(&mut tx, &request.id).await?;
    let recorded = events::for_request(&mut tx, &request.id).await?;
    // Every account, disabled ones included: the timeline names whoever acted.
    let everyone: std::collections::BTreeMap<String, String> =
        staff::all(&mut tx).await?.into_iter().map(|s| (s.id, s.display_name)).collect();
    let request_notes = notes::for_request(&mut tx, &request.id).await?;
    let workers = staff::workers(&mut tx).await?;
    let items = plans::for_request(&mut tx, &request.id).await?;
    let notices = plans::notices(&mut tx, &request.id).await?;
    let questions = clarifications::for_request(&mut tx, &request.id).await?;
    let waits = pauses::for_request(&mut tx, &request.id).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    let repeats = repeats(&app, t, &request).await?;
    let (extend_to, stopped) = {
        let mut conn = app.store.conn().await?;
        let extend_to = actions::extension_for(&app, &mut conn, &request, now).await?.ok();
        let effective = services::requests::effective_deadline(&app, &mut conn, &request, now).await?;
        (extend_to, if request.status.is_terminal() { None } else { effective.and_then(|e| e.open_pause) })
    };
    let policy = services::requests::policy_of(&request)?;
    let clock_policy = app.settings.requests.deadlines.clock(policy);

    let today = app.today_for(&request.jurisdiction)?;
    let state = DeadlineState::of(today, request.due_on);
    let open = !request.status.is_terminal();
    let awaiting = request.status.awaits_answer();
    let local_time = |ms: i64| {
        let at = from_ms(ms);
        let at = app.zone.offset_at(at).map(|o| at.to_offset(o)).unwrap_or(at);
        format!("{} {:02}:{:02}:{:02}", format_date(t, at.date()), at.hour(), at.minute(), at.second())
    };
    let sources = runs
        .into_iter()
        .map(|r| Source {
            label: app
                .connector(&r.source)
                .map(|c| c.info().label.get(t.locale).to_owned())
                .unwrap_or(r.source.clone()),
            state: t.get(match r.status {
                // A manual source's run stays unfinished until staff complete its task.
                RunStatus::Pending | RunStatus::Running
                    if app.connector(&r.source).is_some_and(|c| c.staff_task().is_some()) =>
                {
                    "staff.tasks.state.waiting"
                }
                RunStatus::Pending => "staff.source.pending",
                RunStatus::Running => "staff.source.running",
                RunStatus::Done => "staff.source.done",
                RunStatus::Failed => "staff.source.failed",
            }),
            records: r.records,
            error: r.error,
        })
        .collect();
    let export = export.map(|e| {
        let until = format_date(t, from_ms(e.expires_at).date());
        match e.deleted_at {
            Some(_) => t.fmt("staff.request.export_deleted", &[("records", &e.records.to_string())]),
            None => t.fmt("staff.request.export_ready", &[("records", &e.records.to_string()), ("until", &until)]),
        }
    });
    let source_label = |source: &str| {
        app.connector(source).map(|c| c.info().label.get(t.locale).to_owned()).unwrap_or_else(|| source.to_owned())
    };
    let names = timeline::Names { staff: &everyone, source: &source_label };
    let events = recorded
        .iter()
        .map(|e| Event {
            at: local_time(e.at),
            actor: t.fmt("staff.timeline.by", &[("actor", &timeline::actor_text(t, &e.actor, &names))]),
            what: timeline::sentence(t, &e.event, &names),
            detail: String::new(),
        })
        .collect();
    let notes = request_notes
        .into_iter()
        .map(|n| Event { at: local_time(n.created_at), actor: n.author, what: String::new(), detail: n.body })
        .collect();
    let assignee = request
        .assignee_id
        .as_ref()
        .map(|id| workers.iter().find(|w| &w.id == id).map_or_else(|| id.clone(), |w| w.display_name.clone()));
    let extension = request.extended_at.map(|at| {
        t.fmt(
            "staff.request.extended",
            &[
                ("from", &request.original_due_on.map(|d| format_date(t, d)).unwrap_or_default()),
                ("at", &local_time(at)),
                ("reason", request.extension_reason.as_deref().unwrap_or("")),
            ],
        )
    });
    let denial = request.denial_ground.as_ref().map(|g| {
        let ground = g.parse().map(|g| ground_label(t, g)).unwrap_or("");
        format!("{ground} — {}", request.denial_reason.as_deref().unwrap_or(""))
    });
    let clock = ClockSection {
        stopped: stopped.and_then(|reason| {
            let since = waits.iter().rev().find(|p| p.reason == reason && p.closed_at.is_none())?;
            Some(t.fmt(
                "staff.clarify.clock_stopped",
                &[("since", &local_time(since.opened_at)), ("reason", pause_label(t, reason))],
            ))
        }),
        pauses: waits
            .iter()
            .map(|p| {
                let counted = if clock_policy.pauses_for(p.reason) {
                    t.get("staff.clarify.pause_counted")
                } else {
                    t.get("staff.clarify.pause_not_counted")
                };
                let until = p.closed_at.map_or_else(|| t.get("staff.clarify.pause_open").to_owned(), local_time);
                t.fmt(
                    "staff.clarify.pause_line",
                    &[
                        ("reason", pause_label(t, p.reason)),
                        ("from", &local_time(p.opened_at)),
                        ("until", &until),
                        ("counted", counted),
                    ],
                )
            })
            .collect(),
    };
    let name_of =
        |id: &str| workers.iter().find(|w| w.id == id).map_or_else(|| id.to_owned(), |w| w.display_name.clone());
    let waiting = questions.iter().any(|q| q.is_open());
    let can_ask = viewer.role.can_act() && open && request.reference.is_some() && request.email.is_some();
    let clarify = ClarifySection {
        questions: questions
            .iter()
            .map(|q| QuestionLine {
                asked: t
                    .fmt("staff.clarify.asked_by", &[("at", &local_time(q.asked_at)), ("by", &name_of(&q.asked_by))]),
                question: q.question.clone().unwrap_or_else(|| t.get("staff.clarify.purged").to_owned()),
                answer: q.answer.clone(),
                state: match (q.answered_at, q.closed_at, &q.closed_by) {
                    (Some(at), _, _) => t.fmt("staff.clarify.answered_on", &[("at", &local_time(at))]),
                    (None, Some(at), Some(by)) => {
                        t.fmt("staff.clarify.closed_on", &[("at", &local_time(at)), ("by", &name_of(by))])
                    }
                    _ => t.get("staff.clarify.waiting").to_owned(),
                },
            })
            .collect(),
        ask: (can_ask && !waiting).then(|| format!("{}/clarify", urls::staff_request(&reference))),
        ask_what: {
            let language = t.get(match request.locale {
                crate::domain::Locale::Fr => "staff.clarify.language_fr",
                crate::domain::Locale::En => "staff.clarify.language_en",
            });
            let clock = if clock_policy.pauses_for(PauseReason::Clarification) {
                t.fmt("staff.clarify.clock_stops", &[("policy", policy.code())])
            } else {
                t.fmt("staff.clarify.clock_runs", &[("policy", policy.code())])
            };
            format!("{} {clock}", t.fmt("staff.clarify.ask_what", &[("language", language)]))
        },
        close: (can_ask && waiting).then(|| format!("{}/close_question", urls::staff_request(&reference))),
        close_what: t
            .get(if clock_policy.pauses_for(PauseReason::Clarification) {
                "staff.clarify.close_what_clock"
            } else {
                "staff.clarify.close_what"
            })
            .to_owned(),
        max_chars: clarifications::MAX_TEXT_CHARS,
    };
    let actions = viewer.role.can_act().then(|| {
        let extend_to = extend_to.map(|d| format_date(t, d));
        Actions {
            base: urls::staff_request(&reference),
            workers: workers
                .iter()
                .map(|w| (w.id.clone(), w.display_name.clone(), request.assignee_id.as_deref() == Some(w.id.as_str())))
                .collect(),
            open,
            extend_to,
            grounds: DenialGround::ALL
                .iter()
                .filter(|g| g.applies_to(request.kind))
                .map(|g| (g.as_str(), ground_label(t, *g)))
                .collect(),
            can_complete: request.status == RequestStatus::Ready,
            can_cancel: request.status.transition(RequestStatus::Cancelled).is_ok(),
        }
    });
    let notice = match q.done.as_str() {
        "intake" => Some(t.get("staff.done.intake")),
        "assign" => Some(t.get("staff.done.assign")),
        "note" => Some(t.get("staff.done.note")),
        "extend" => Some(t.get("staff.done.extend")),
        "deny" => Some(t.get("staff.done.deny")),
        "complete" => Some(t.get("staff.done.complete")),
        "cancel" => Some(t.get("staff.done.cancel")),
        "review" => Some(t.get("staff.done.review")),
        "recipient" => Some(t.get("staff.done.recipient")),
        "retry" => Some(t.get("staff.done.retry")),
        "clarify" => Some(t.get("staff.clarify.done.clarify")),
        "close_question" => Some(t.get("staff.clarify.done.close_question")),
        _ => None,
    };
    let refused = Refused::from_key(&q.refused).map(|r| t.get(r.key()));
    let can_act = viewer.role.can_act();
    let plan = plan_section(&app, t, &request, &reference, &items, can_act);
    let staff_names = workers.iter().map(|w| (w.id.clone(), w.display_name.clone())).collect();
    let recipients = recipients(&app, t, &reference, &notices, &staff_names, &local_time, can_act);
    let retry = (can_act && request.status == RequestStatus::NeedsAttention).then(|| urls::staff_retry(&reference));
    let body = RequestTemplate {
        t,
        page: &page,
        reference: reference.as_str(),
        email: request.email.as_deref().unwrap_or("—"),
        kind: kind_label(t, request.kind),
        status: status_label(t, request.status),
        jurisdiction: &request.jurisdiction,
        channel: super::intake::channel_label(t, &request.channel),
        received: format_date(t, request.received_on),
        due: format_date(t, request.due_on),
        // GDPR Art. 12(3): the clock stops at the answer (export ready and emailed, certificate,
        // refusal) or the closure; no countdown after it.
        left: if awaiting { days_left_text(t, (request.due_on - today).whole_days()) } else { String::new() },
        state: if awaiting { state.as_str() } else { "closed" },
        state_label: if awaiting {
            deadline_label(t, state)
        } else if request.status.is_terminal() {
            t.get("staff.deadline.closed")
        } else {
            t.get("staff.queue.filters.answered")
        },
        answered: request.answered_at.map(local_time),
        sources,
        export,
        events,
        notes,
        assignee,
        extension,
        denial,
        notice,
        refused,
        actions,
        plan,
        recipients,
        repeats,
        retry,
        clock,
        clarify,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

#[derive(serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ground: String,
    #[serde(default)]
    assignee: String,
}

/// `POST /staff/requests/{reference}/{action}`: admins and agents only; the result is shown on
/// the request's page.
pub async fn act(
    mut page: Page,
    app: web::Data<App>,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let by = require(&app, &mut page, ACTORS).await?;
    page.check_csrf(&form.csrf)?;
    let (reference, action) = path.into_inner();
    let reference: Reference = reference.parse().map_err(|_| PageError::NOT_FOUND)?;
    let outcome = match action.as_str() {
        "assign" => {
            let to = Some(form.assignee.as_str()).filter(|a| !a.is_empty());
            actions::assign(&app, &by, &reference, to).await?
        }
        "note" => actions::add_note(&app, &by, &reference, &form.reason).await?,
        "extend" => actions::extend(&app, &by, &reference, &form.reason).await?,
        "deny" => match form.ground.parse::<DenialGround>() {
            Ok(ground) => actions::deny(&app, &by, &reference, ground, &form.reason).await?,
            Err(()) => Err(Refused::ReasonRequired),
        },
        "complete" => actions::complete(&app, &by, &reference).await?,
        "cancel" => actions::cancel(&app, &by, &reference, &form.reason).await?,
        "clarify" => actions::ask_clarification(&app, &by, &reference, &form.reason).await?,
        "close_question" => actions::close_clarification(&app, &by, &reference).await?,
        _ => return Err(PageError::NOT_FOUND),
    };
    let query = match outcome {
        Ok(()) => format!("done={action}"),
        Err(Refused::NotFound) => return Err(PageError::NOT_FOUND),
        Err(r) => format!("refused={}", r.code()),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", format!("{}?{query}", urls::staff_request(&reference))))
        .finish())
}
