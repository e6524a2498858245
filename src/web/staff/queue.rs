//! `/staff`: every verified request, by legal due date, filterable, searchable, paged by keyset.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{READERS, require};
use crate::app::App;
use crate::deadlines::Policy;
use crate::domain::audit::{Actor, Event};
use crate::domain::{EmailAddress, Reference, RequestKind, RequestStatus};
use crate::i18n::Tr;
use crate::services::notify::{format_date, kind_label};
use crate::store::queue::{self, Assignee, QueueFilter};
use crate::store::requests::{self, DeadlineState};
use crate::store::staff;
use crate::web::{Page, PageError, urls};

const PAGE_SIZE: u32 = 50;

pub struct Row {
    pub url: String,
    pub reference: String,
    pub kind: &'static str,
    pub status: String,
    pub received: String,
    pub due: String,
    pub left: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub assignee: String,
}

pub struct Count {
    pub url: String,
    pub label: String,
    pub n: i64,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "staff/queue.html")]
struct QueueTemplate<'a> {
    t: Tr,
    page: &'a Page,
    counts: Vec<Count>,
    rows: Vec<Row>,
    q: &'a str,
    status: &'a str,
    kind: &'a str,
    deadline: &'a str,
    jurisdiction: &'a str,
    assignee: &'a str,
    search_error: Option<&'a str>,
    /// Filtered by a person's address (which the page never shows back).
    by_person: bool,
    next: Option<String>,
    status_options: Vec<(&'static str, &'static str)>,
    kind_options: Vec<(&'static str, &'static str)>,
    jurisdiction_options: Vec<(&'static str, &'static str)>,
    /// (id, name) of every admin and agent who can be assigned.
    assignee_options: Vec<(String, String)>,
    /// Every status, under the other filters.
    all_url: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    deadline: String,
    /// A deadline policy's code (`eu-gdpr`…).
    #[serde(default)]
    jurisdiction: String,
    /// `none` (nobody), `mine` (the viewer) or a staff member's id.
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    q: String,
    /// A person, as the keyed hash of their address: an email typed in the search box never
    /// appears in an address bar, a browser history or a proxy's log.
    #[serde(default)]
    person: String,
    #[serde(default)]
    after: String,
}

pub fn status_label(t: Tr, s: RequestStatus) -> &'static str {
    t.get(match s {
        RequestStatus::Submitted => "staff.status.submitted",
        RequestStatus::Verified => "staff.status.verified",
        RequestStatus::Collecting => "staff.status.collecting",
        RequestStatus::Ready => "staff.status.ready",
        RequestStatus::AwaitingConfirmation => "staff.status.awaiting_confirmation",
        RequestStatus::AwaitingReview => "staff.status.awaiting_review",
        RequestStatus::Executing => "staff.status.executing",
        RequestStatus::Completed => "staff.status.completed",
        RequestStatus::Denied => "staff.status.denied",
        RequestStatus::Cancelled => "staff.status.cancelled",
        RequestStatus::Expired => "staff.status.expired",
        RequestStatus::NeedsAttention => "staff.status.needs_attention",
    })
}

/// A deadline policy's name, as the request form shows it.
pub fn policy_label(t: Tr, p: Policy) -> &'static str {
    t.get(match p {
        Policy::EuGdpr => "portal.home.jurisdictions.eu_gdpr",
        Policy::UkGdpr => "portal.home.jurisdictions.uk_gdpr",
        Policy::Ccpa => "portal.home.jurisdictions.ccpa",
        Policy::Lgpd => "portal.home.jurisdictions.lgpd",
    })
}

pub fn deadline_label(t: Tr, s: DeadlineState) -> &'static str {
    t.get(match s {
        DeadlineState::Overdue => "staff.deadline.overdue",
        DeadlineState::DueSoon => "staff.deadline.due_soon",
        DeadlineState::OnTrack => "staff.deadline.on_track",
    })
}

pub fn days_left_text(t: Tr, left: i64) -> String {
    match left {
        0 => t.get("staff.days.today").to_owned(),
        n if n > 0 => t.fmt("staff.days.left", &[("n", &n.to_string())]),
        n => t.fmt("staff.days.late", &[("n", &(-n).to_string())]),
    }
}

/// A keyset cursor: the last row's due date and id.
fn parse_after(s: &str) -> Option<(time::Date, String)> {
    let (date, id) = s.split_once('_')?;
    let date = requests::text_to_date(date).ok()?;
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| (date, id.to_owned()))
}

fn query_string(q: &QueueQuery, after: Option<&str>) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("status", &q.status),
        ("kind", &q.kind),
        ("deadline", &q.deadline),
        ("jurisdiction", &q.jurisdiction),
        ("assignee", &q.assignee),
        ("q", &q.q),
        ("person", &q.person),
    ] {
        if !v.is_empty() {
            parts.push(format!("{k}={}", urlencode(v)));
        }
    }
    if let Some(a) = after {
        parts.push(format!("after={a}"));
    }
    if parts.is_empty() { urls::staff_queue() } else { format!("{}?{}", urls::staff_queue(), parts.join("&")) }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The assignee filter: `none`, `mine`, or a staff id (32 hex digits). Anything else: no filter.
fn parse_assignee(value: &str, viewer_id: &str) -> Option<Assignee> {
    match value {
        "none" => Some(Assignee::Nobody),
        "mine" => Some(Assignee::Staff(viewer_id.to_owned())),
        id if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) => Some(Assignee::Staff(id.to_owned())),
        _ => None,
    }
}

pub async fn show(mut page: Page, app: web::Data<App>, q: web::Query<QueueQuery>) -> Result<HttpResponse, PageError> {
    let viewer = require(&app, &mut page, READERS).await?;
    let t = page.t;
    let today = app.zone.local_date(app.clock.now()).map_err(anyhow::Error::from)?;
    let mut filter = QueueFilter {
        status: q.status.parse().ok(),
        kind: q.kind.parse::<RequestKind>().ok(),
        deadline: DeadlineState::parse(&q.deadline).map(|d| (d, today)),
        jurisdiction: Policy::ALL.iter().find(|p| p.code() == q.jurisdiction).map(|p| p.code().to_owned()),
        assignee: parse_assignee(&q.assignee, &viewer.id),
        ..Default::default()
    };
    let search = q.q.trim();
    let mut search_error = None;
    if q.person.len() == 64 && q.person.bytes().all(|b| b.is_ascii_hexdigit()) {
        filter.email_hash = Some(q.person.clone());
    }
    if !search.is_empty() {
        if let Ok(reference) = search.parse::<Reference>() {
            filter.reference = Some(reference);
        } else if let Ok(email) = EmailAddress::parse(search) {
            filter.email_hash = Some(app.email_hash(&email));
        } else {
            search_error = Some(t.get("staff.queue.search_error"));
        }
    }
    let mut conn = app.store.conn().await?;
    let found = if search_error.is_some() {
        Vec::new()
    } else {
        queue::page(&mut conn, &filter, parse_after(&q.after), PAGE_SIZE + 1).await?
    };
    let counts = queue::counts_by_status(&mut conn, &filter).await?;
    let workers = staff::workers(&mut conn).await?;
    drop(conn);

    let has_more = found.len() > PAGE_SIZE as usize;
    let shown = &found[..found.len().min(PAGE_SIZE as usize)];
    let next = has_more
        .then(|| {
            shown.last().map(|r| query_string(&q, Some(&format!("{}_{}", requests::date_to_text(r.due_on), r.id))))
        })
        .flatten();
    let rows = shown
        .iter()
        .map(|r| {
            let reference = &r.reference;
            let today = app.today_for(&r.jurisdiction).unwrap_or(today);
            let left = (r.due_on - today).whole_days();
            let state = DeadlineState::of(today, r.due_on);
            let open = queue::awaiting_answer(r.status);
            let assignee = r
                .assignee_id
                .as_ref()
                .map(|id| workers.iter().find(|w| &w.id == id).map_or("—", |w| w.display_name.as_str()).to_owned());
            Row {
                url: urls::staff_request(reference),
                reference: reference.to_string(),
                kind: kind_label(t, r.kind),
                status: status_label(t, r.status).to_owned(),
                received: format_date(t, r.received_on),
                due: format_date(t, r.due_on),
                left: if open && !r.clock_stopped { days_left_text(t, left) } else { String::new() },
                // A clock stopped under the request's law (a clarification awaited) is neither late
                // nor running: its due date moves when it restarts.
                state: if !open {
                    "closed"
                } else if r.clock_stopped {
                    "stopped"
                } else {
                    state.as_str()
                },
                state_label: if open && r.clock_stopped {
                    t.get("staff.deadline.stopped")
                } else if open {
                    deadline_label(t, state)
                } else if r.status.is_terminal() {
                    t.get("staff.deadline.closed")
                } else {
                    t.get("staff.queue.filters.answered")
                },
                assignee: assignee.unwrap_or_default(),
            }
        })
        .collect();
    let all_url = query_string(
        &QueueQuery { status: String::new(), deadline: String::new(), after: String::new(), ..q.0.clone() },
        None,
    );
    let counts = counts
        .into_iter()
        .map(|(s, n)| Count {
            // The other filters stay: the count said what this link shows.
            url: query_string(
                &QueueQuery {
                    status: s.as_str().to_owned(),
                    deadline: String::new(),
                    after: String::new(),
                    ..q.0.clone()
                },
                None,
            ),
            label: status_label(t, s).to_owned(),
            n,
            current: q.status == s.as_str(),
        })
        .collect();
    let body = QueueTemplate {
        t,
        page: &page,
        counts,
        rows,
        q: search,
        status: &q.status,
        kind: &q.kind,
        deadline: &q.deadline,
        jurisdiction: &q.jurisdiction,
        assignee: &q.assignee,
        search_error,
        by_person: filter.email_hash.is_some(),
        next,
        status_options: RequestStatus::ALL.iter().map(|s| (s.as_str(), status_label(t, *s))).collect(),
        kind_options: RequestKind::ALL.iter().map(|k| (k.as_str(), kind_label(t, *k))).collect(),
        jurisdiction_options: Policy::ALL.iter().map(|p| (p.code(), policy_label(t, *p))).collect(),
        assignee_options: workers.iter().map(|w| (w.id.clone(), w.display_name.clone())).collect(),
        all_url,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    q: String,
}

/// `POST /staff/search`: the filter form. An email address is turned into its keyed hash before
/// it reaches any URL, and looking a person up is recorded (a staff view of personal data).
pub async fn search(
    mut page: Page,
    app: web::Data<App>,
    form: web::Form<SearchForm>,
) -> Result<HttpResponse, PageError> {
    let by = require(&app, &mut page, READERS).await?;
    page.check_csrf(&form.csrf)?;
    let mut query = QueueQuery {
        status: form.status.clone(),
        kind: form.kind.clone(),
        deadline: form.deadline.clone(),
        jurisdiction: form.jurisdiction.clone(),
        assignee: form.assignee.clone(),
        ..Default::default()
    };
    let typed = form.q.trim();
    match EmailAddress::parse(typed) {
        Ok(email) if typed.parse::<Reference>().is_err() => {
            query.person = app.email_hash(&email);
            let mut conn = app.store.begin().await?;
            let (actor, event) = (Actor::staff(&by.id), Event::StaffSearched { by: "email".to_owned() });
            crate::store::events::record(&mut conn, None, &actor, &event, app.now_ms()).await?;
            conn.commit().await.map_err(anyhow::Error::from)?;
        }
        _ => query.q = typed.to_owned(),
    }
    Ok(HttpResponse::SeeOther().insert_header(("Location", query_string(&query, None))).finish())
}
