//! `/staff/admin/staff`: admins manage staff accounts (add, change role, disable or enable, reset
//! a second factor) and the workspace's settings (require a second factor of everyone). Every
//! change says what it does before it is made, and is an audit event. Agents and auditors get 403.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::account::role_label;
use super::require;
use crate::app::App;
use crate::domain::{EmailAddress, Role};
use crate::i18n::Tr;
use crate::services::staff::{self, AdminChange, AdminError, OwnPassword};
use crate::store::staff::StaffRow;
use crate::web::portal::client_ip;
use crate::web::{Page, PageError, urls};

/// Only admins manage staff and settings.
pub const ADMINS: &[Role] = &[Role::Admin];

struct Member {
    id: String,
    email: String,
    name: String,
    role: Role,
    role_label: &'static str,
    active: bool,
    totp: bool,
    last_login: String,
    is_self: bool,
    /// Failed sign-ins in the last day: the sentence, then each network (masked) with its lock.
    failed: Option<(String, Vec<String>)>,
}

#[derive(Template)]
#[template(path = "staff/admin.html")]
struct AdminTemplate<'a> {
    t: Tr,
    page: &'a Page,
    members: Vec<Member>,
    roles: Vec<(&'static str, &'static str)>,
    totp_required: bool,
    notice: Option<&'static str>,
    errors: Vec<&'static str>,
    /// A member just added: the sentence naming them, and the initial password, shown this once.
    created: Option<(String, String)>,
    form: AddForm,
}

fn when(app: &App, t: Tr, ms: Option<i64>) -> String {
    let Some(ms) = ms else { return t.get("staff.admin.never").to_owned() };
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return String::new();
    };
    let at = app.zone.offset_at(at).map(|o| at.to_offset(o)).unwrap_or(at);
    format!("{} {:02}:{:02}", crate::services::notify::format_date(t, at.date()), at.hour(), at.minute())
}

struct View {
    notice: Option<&'static str>,
    errors: Vec<&'static str>,
    created: Option<(String, String)>,
    form: AddForm,
}

async fn render(
    page: &Page,
    app: &App,
    me: &StaffRow,
    view: View,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let t = page.t;
    let mut conn = app.store.conn().await?;
    let rows = crate::store::staff::all(&mut conn).await?;
    let hashes: Vec<String> =
        rows.iter().map(|r| EmailAddress::parse(&r.email).map(|e| app.email_hash(&e)).unwrap_or_default()).collect();
    let failures = crate::store::staff::failed_logins(&mut conn, &hashes).await?;
    drop(conn);
    let now = app.now_ms();
    let recent = |hash: &str| -> Option<(String, Vec<String>)> {
        let rows: Vec<_> = failures
            .iter()
            .filter(|f| f.email_hash == hash && f.last_at >= now - crate::store::staff::FAILURES_KEPT_MS)
            .collect();
        let last = rows.iter().map(|f| f.last_at).max()?;
        let count: i64 = rows.iter().map(|f| f.failures).sum();
        let summary =
            t.fmt("staff.admin.failed_summary", &[("count", &count.to_string()), ("when", &when(app, t, Some(last)))]);
        let networks = rows
            .iter()
            .map(|f| {
                if f.locked_until > now {
                    let until = t.fmt("staff.admin.failed_locked", &[("when", &when(app, t, Some(f.locked_until)))]);
                    format!("{} ({}) — {until}", f.network, f.failures)
                } else {
                    format!("{} ({})", f.network, f.failures)
                }
            })
            .collect();
        Some((summary, networks))
    };
    let members = rows
        .into_iter()
        .zip(hashes)
        .map(|(r, hash)| Member {
            failed: recent(&hash),
            last_login: when(app, t, r.last_login_at),
            role_label: role_label(t, r.role),
            active: !r.disabled,
            totp: r.totp_enabled(),
            is_self: r.id == me.id,
            id: r.id,
            email: r.email,
            name: r.display_name,
            role: r.role,
        })
        .collect();
    let body = AdminTemplate {
        t,
        page,
        members,
        roles: Role::ALL.iter().map(|r| (r.as_str(), role_label(t, *r))).collect(),
        totp_required: staff::totp_required(app).await?,
        notice: view.notice.map(|k| t.get(k)),
        errors: view.errors.into_iter().map(|k| t.get(k)).collect(),
        created: view.created,
        form: view.form,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    refused: String,
}

fn done_key(done: &str) -> Option<&'static str> {
    Some(match done {
        "role" => "staff.admin.done_role",
        "disable" => "staff.admin.done_disable",
        "enable" => "staff.admin.done_enable",
        "reset-totp" => "staff.admin.done_reset_totp",
        "settings" => "staff.admin.done_settings",
        _ => return None,
    })
}

fn refused_key(refused: &str) -> Option<&'static str> {
    Some(match refused {
        "last_admin" => "staff.admin.error_last_admin",
        "unknown" => "staff.admin.error_unknown",
        "role" => "staff.admin.error_role",
        "password" => "staff.admin.error_password",
        "locked" => "staff.account.error_locked",
        "busy" => "staff.account.error_busy",
        _ => return None,
    })
}

pub async fn show(mut page: Page, app: web::Data<App>, q: web::Query<ShowQuery>) -> Result<HttpResponse, PageError> {
    let me = require(&app, &mut page, ADMINS).await?;
    let view = View {
        notice: done_key(&q.done),
        errors: refused_key(&q.refused).into_iter().collect(),
        created: None,
        form: AddForm { role: Role::Agent.as_str().into(), ..Default::default() },
    };
    render(&page, &app, &me, view, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    /// The admin's own password: a session alone must not be enough to add an account.
    #[serde(default)]
    current: String,
}

pub async fn add(
    mut page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, PageError> {
    let me = require(&app, &mut page, ADMINS).await?;
    page.check_csrf(&form.csrf)?;
    let mut form = form.into_inner();
    // Never sent back to the page, whatever happens below.
    let current = std::mem::take(&mut form.current);
    let mut errors = Vec::new();
    let email = EmailAddress::parse(&form.email).map_err(|_| errors.push("staff.admin.error_email")).ok();
    let role = form.role.parse::<Role>().map_err(|_| errors.push("staff.admin.error_role")).ok();
    if form.name.chars().count() > 200 {
        errors.push("staff.admin.error_name");
    }
    let (Some(email), Some(role), true) = (email, role, errors.is_empty()) else {
        let view = View { notice: None, errors, created: None, form };
        return render(&page, &app, &me, view, StatusCode::BAD_REQUEST).await;
    };
    // An account added by a stolen session would outlive it: the admin's password is asked.
    let refused = match staff::check_own_password(&app, &me, &current, &client_ip(&req)).await? {
        OwnPassword::Right => None,
        OwnPassword::Wrong => Some(("staff.admin.error_password", StatusCode::BAD_REQUEST)),
        OwnPassword::Locked { .. } => Some(("staff.account.error_locked", StatusCode::TOO_MANY_REQUESTS)),
        OwnPassword::Busy => Some(("staff.account.error_busy", StatusCode::SERVICE_UNAVAILABLE)),
    };
    if let Some((error, status)) = refused {
        let view = View { notice: None, errors: vec![error], created: None, form };
        return render(&page, &app, &me, view, status).await;
    }
    match staff::admin_create(&app, &me, &email, &form.name, role).await? {
        Ok(password) => {
            let view = View {
                notice: Some("staff.admin.done_add"),
                errors: Vec::new(),
                created: Some((page.t.fmt("staff.admin.created_lead", &[("email", email.as_str())]), password)),
                form: AddForm { role: Role::Agent.as_str().into(), ..Default::default() },
            };
            render(&page, &app, &me, view, StatusCode::OK).await
        }
        Err(AdminError::Busy) => {
            let view = View { notice: None, errors: vec!["staff.account.error_busy"], created: None, form };
            render(&page, &app, &me, view, StatusCode::SERVICE_UNAVAILABLE).await
        }
        Err(_) => {
            let view = View { notice: None, errors: vec!["staff.admin.error_exists"], created: None, form };
            render(&page, &app, &me, view, StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    /// The admin's own password: asked to change a role or reset someone's second factor.
    #[serde(default)]
    current: String,
}

pub async fn change(
    mut page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, PageError> {
    let me = require(&app, &mut page, ADMINS).await?;
    page.check_csrf(&form.csrf)?;
    let (id, what) = path.into_inner();
    let back = |q: &str| {
        Ok(HttpResponse::SeeOther().insert_header(("Location", format!("{}?{q}", urls::staff_admin()))).finish())
    };
    let change = match what.as_str() {
        "role" => match form.role.parse::<Role>() {
            Ok(role) => AdminChange::Role(role),
            Err(()) => return back("refused=role"),
        },
        "disable" => AdminChange::Disable,
        "enable" => AdminChange::Enable,
        "reset-totp" => AdminChange::ResetTotp,
        _ => return Err(PageError::NOT_FOUND),
    };
    if matches!(change, AdminChange::ResetTotp | AdminChange::Role(_) | AdminChange::Enable) {
        // Removing a second factor is a change of factor, and a new role (an admin's above all)
        // or a re-enabled account would outlive the session: a session alone, stolen or left
        // open, is not enough.
        match staff::check_own_password(&app, &me, &form.current, &client_ip(&req)).await? {
            OwnPassword::Right => {}
            OwnPassword::Wrong => return back("refused=password"),
            OwnPassword::Locked { .. } => return back("refused=locked"),
            OwnPassword::Busy => return back("refused=busy"),
        }
    }
    match staff::admin_change(&app, &me, &id, change).await? {
        Ok(()) => back(&format!("done={what}")),
        Err(AdminError::LastAdmin) => back("refused=last_admin"),
        Err(_) => back("refused=unknown"),
    }
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    require_totp: String,
    /// The admin's own password: turning the two-step requirement off weakens every account.
    #[serde(default)]
    current: String,
}

pub async fn settings(
    mut page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, PageError> {
    let me = require(&app, &mut page, ADMINS).await?;
    page.check_csrf(&form.csrf)?;
    let back = |q: &str| {
        Ok(HttpResponse::SeeOther().insert_header(("Location", format!("{}?{q}", urls::staff_admin()))).finish())
    };
    // A stolen or unattended session must not be enough to switch two-step sign-in off.
    match staff::check_own_password(&app, &me, &form.current, &client_ip(&req)).await? {
        OwnPassword::Right => {}
        OwnPassword::Wrong => return back("refused=password"),
        OwnPassword::Locked { .. } => return back("refused=locked"),
        OwnPassword::Busy => return back("refused=busy"),
    }
    staff::set_totp_required(&app, &me, form.require_totp == "1").await?;
    Ok(HttpResponse::SeeOther().insert_header(("Location", format!("{}?done=settings", urls::staff_admin()))).finish())
}
