//! `/staff/account`: every staff member's own account — their password and their second factor
//! (TOTP, RFC 6238). When admins require a second factor of everyone, a member without one is sent
//! here after login and can do nothing else until it is set up.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::app::App;
use crate::domain::Role;
use crate::i18n::Tr;
use crate::services::staff::{self, Enrolment, PasswordChangeError, TotpConfirmError};
use crate::store::staff::StaffRow;
use crate::web::{Page, PageError, urls};

/// The signed-in member, whatever their role, and whether they must enrol a second factor first.
/// Unlike [`super::require`], a member who must enrol gets through: this is where they enrol.
async fn signed_in(app: &App, page: &mut Page) -> Result<(StaffRow, bool), PageError> {
    let account = match &page.staff_session {
        Some(token) => staff::current(app, token).await?,
        None => None,
    };
    let Some(account) = account else { return Err(PageError::Redirect(urls::staff_login())) };
    page.staff_name = Some(account.display_name.clone());
    let must_enrol = staff::must_enrol_totp(app, &account).await?;
    Ok((account, must_enrol))
}

#[derive(Template)]
#[template(path = "staff/account.html")]
struct AccountTemplate<'a> {
    t: Tr,
    page: &'a Page,
    account: &'a StaffRow,
    role: &'static str,
    is_admin: bool,
    must_enrol: bool,
    notice: Option<&'static str>,
    password_error: Option<&'static str>,
    totp_error: Option<&'static str>,
    enrolment: Option<Enrolment>,
}

pub fn role_label(t: Tr, role: Role) -> &'static str {
    t.get(match role {
        Role::Admin => "staff.account.role_admin",
        Role::Agent => "staff.account.role_agent",
        Role::Auditor => "staff.account.role_auditor",
    })
}

struct Said {
    notice: Option<&'static str>,
    password_error: Option<&'static str>,
    totp_error: Option<&'static str>,
}

fn render(
    page: &Page,
    app: &App,
    account: &StaffRow,
    must_enrol: bool,
    said: Said,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let t = page.t;
    let body = AccountTemplate {
        t,
        page,
        account,
        role: role_label(t, account.role),
        is_admin: account.role == Role::Admin && !must_enrol,
        must_enrol,
        notice: said.notice.map(|k| t.get(k)),
        password_error: said.password_error.map(|k| t.get(k)),
        totp_error: said.totp_error.map(|k| t.get(k)),
        enrolment: staff::pending_totp(app, account)?,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

pub async fn show(mut page: Page, app: web::Data<App>, q: web::Query<ShowQuery>) -> Result<HttpResponse, PageError> {
    let (account, must_enrol) = signed_in(&app, &mut page).await?;
    let notice = match q.done.as_str() {
        "password" => Some("staff.account.done_password"),
        "totp" => Some("staff.totp.done"),
        _ => None,
    };
    render(&page, &app, &account, must_enrol, Said { notice, password_error: None, totp_error: None }, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(
    mut page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let (account, must_enrol) = signed_in(&app, &mut page).await?;
    page.check_csrf(&form.csrf)?;
    if must_enrol {
        return Err(PageError::Redirect(urls::staff_account()));
    }
    let refuse = |key: &'static str| {
        let said = Said { notice: None, password_error: Some(key), totp_error: None };
        render(&page, &app, &account, must_enrol, said, StatusCode::BAD_REQUEST)
    };
    if form.new != form.confirm {
        return refuse("staff.account.error_confirm");
    }
    let token = page.staff_session.clone().unwrap_or_default();
    let ip = crate::web::portal::client_ip(&req);
    match staff::change_own_password(&app, &account, &token, &form.current, &form.new, &ip).await? {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header(("Location", format!("{}?done=password", urls::staff_account())))
            .finish()),
        Err(PasswordChangeError::WrongCurrent) => refuse("staff.account.error_current"),
        Err(PasswordChangeError::TooShort) => refuse("staff.account.error_short"),
        Err(PasswordChangeError::Locked) => {
            let said = Said { notice: None, password_error: Some("staff.account.error_locked"), totp_error: None };
            render(&page, &app, &account, must_enrol, said, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(PasswordChangeError::Busy) => {
            let said = Said { notice: None, password_error: Some("staff.account.error_busy"), totp_error: None };
            render(&page, &app, &account, must_enrol, said, StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    /// The account's password: asked for a first factor as for a replacement.
    #[serde(default)]
    current: String,
}

pub async fn start_totp(
    mut page: Page,
    app: web::Data<App>,
    form: web::Form<crate::web::portal::CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let (account, _) = signed_in(&app, &mut page).await?;
    page.check_csrf(&form.csrf)?;
    staff::start_totp(&app, &account).await?;
    Ok(HttpResponse::SeeOther().insert_header(("Location", format!("{}#totp", urls::staff_account()))).finish())
}

pub async fn confirm_totp(
    mut page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let (account, must_enrol) = signed_in(&app, &mut page).await?;
    page.check_csrf(&form.csrf)?;
    if account.totp_pending.is_none() {
        return Ok(HttpResponse::SeeOther().insert_header(("Location", urls::staff_account())).finish());
    }
    let token = page.staff_session.clone().unwrap_or_default();
    let ip = crate::web::portal::client_ip(&req);
    let (error, status) = match staff::confirm_totp(&app, &account, &token, &form.code, &form.current, &ip).await? {
        Ok(()) => {
            return Ok(HttpResponse::SeeOther()
                .insert_header(("Location", format!("{}?done=totp", urls::staff_account())))
                .finish());
        }
        Err(TotpConfirmError::WrongCode) => ("staff.totp.error_code", StatusCode::BAD_REQUEST),
        Err(TotpConfirmError::WrongPassword) => ("staff.totp.error_password", StatusCode::BAD_REQUEST),
        Err(TotpConfirmError::Locked) => ("staff.account.error_locked", StatusCode::TOO_MANY_REQUESTS),
        Err(TotpConfirmError::Busy) => ("staff.account.error_busy", StatusCode::SERVICE_UNAVAILABLE),
    };
    let said = Said { notice: None, password_error: None, totp_error: Some(error) };
    render(&page, &app, &account, must_enrol, said, status)
}
