//! `/staff/requests/{reference}`: everything about one request on one page. Opening it shows the
//! requester's address, so every view is itself an audit event.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::queue::{days_left_text, deadline_label, status_label};
use super::{READERS, require};
use crate::app::App;
use crate::clock::from_ms;
use crate::domain::Reference;
use crate::i18n::Tr;
use crate::services::notify::{format_date, kind_label};
use crate::store::requests::DeadlineState;
use crate::store::source_runs::RunStatus;
use crate::store::{audit, exports, requests, source_runs};
use crate::web::{Page, PageError};

pub struct Event {
    pub at: String,
    pub actor: String,
    pub what: &'static str,
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
    channel: &'a str,
    received: String,
    due: String,
    left: String,
    state: &'static str,
    state_label: &'static str,
    sources: Vec<Source>,
    export: Option<String>,
    events: Vec<Event>,
}

fn event_label(t: Tr, event: &str) -> &'static str {
    t.get(match event {
        "received" => "staff.events.received",
        "verified" => "staff.events.verified",
        "status_changed" => "staff.events.status_changed",
        "email_queued" => "staff.events.email_queued",
        "email_sent" => "staff.events.email_sent",
        "wrong_code" => "staff.events.wrong_code",
        "signed_in" => "staff.events.signed_in",
        "source_collected" => "staff.events.source_collected",
        "export_built" => "staff.events.export_built",
        "export_downloaded" => "staff.events.export_downloaded",
        "export_deleted" => "staff.events.export_deleted",
        "job_failed" => "staff.events.job_failed",
        "staff_viewed" => "staff.events.staff_viewed",
        _ => "staff.events.other",
    })
}

/// The detail worth showing beside an event, from its recorded fields (never record contents).
fn event_detail(e: &audit::AuditEvent) -> String {
    let d = &e.detail;
    let field =
        |k: &str| d.get(k).and_then(|v| v.as_str().map(str::to_owned).or_else(|| v.as_i64().map(|n| n.to_string())));
    match e.event.as_str() {
        "status_changed" => format!("{} → {}", field("from").unwrap_or_default(), field("to").unwrap_or_default()),
        "source_collected" => {
            format!("{} ({})", field("source").unwrap_or_default(), field("records").unwrap_or_default())
        }
        "email_queued" | "email_sent" => field("template").unwrap_or_default(),
        "job_failed" => format!("{}: {}", field("kind").unwrap_or_default(), field("error").unwrap_or_default()),
        "verified" | "signed_in" => field("method").unwrap_or_default(),
        _ => String::new(),
    }
}

pub async fn show(
    mut page: Page,
    app: web::Data<App>,
    reference: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let viewer = require(&app, &mut page, READERS).await?;
    let reference: Reference = reference.parse().map_err(|_| PageError::NOT_FOUND)?;
    let t = page.t;
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let request = requests::by_reference(&mut tx, &reference).await?.ok_or(PageError::NOT_FOUND)?;
    // GDPR Art. 5(2): a staff view of personal data is recorded before it is shown.
    audit::record(
        &mut tx,
        Some(&request.id),
        &format!("staff:{}", viewer.id),
        "staff_viewed",
        &serde_json::json!({}),
        now,
    )
    .await?;
    let runs = source_runs::for_request(&mut tx, &request.id).await?;
    let export = exports::latest_for_request(&mut tx, &request.id).await?;
    let events = audit::for_request(&mut tx, &request.id).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;

    let today = app.zone.local_date(app.clock.now()).map_err(anyhow::Error::from)?;
    let state = DeadlineState::of(today, request.due_on);
    let open = !request.status.is_terminal();
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
    let events = events
        .iter()
        .map(|e| Event {
            at: local_time(e.at),
            actor: e.actor.clone(),
            what: event_label(t, &e.event),
            detail: event_detail(e),
        })
        .collect();
    let body = RequestTemplate {
        t,
        page: &page,
        reference: reference.as_str(),
        email: request.email.as_deref().unwrap_or("—"),
        kind: kind_label(t, request.kind),
        status: status_label(t, request.status),
        jurisdiction: &request.jurisdiction,
        channel: &request.channel,
        received: format_date(t, request.received_on),
        due: format_date(t, request.due_on),
        left: if open { days_left_text(t, (request.due_on - today).whole_days()) } else { String::new() },
        state: if open { state.as_str() } else { "closed" },
        state_label: if open { deadline_label(t, state) } else { t.get("staff.deadline.closed") },
        sources,
        export,
        events,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}
