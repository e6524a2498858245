//! `/staff/login`: one answer for a wrong address and a wrong password, and the same work; then,
//! for an account with a second factor, `/staff/login/code` asks for the authenticator's code
//! before any session exists.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::app::App;
use crate::i18n::Tr;
use crate::services::staff::{self, CodeError, LoginError, LoginStep};
use crate::web::page::staff_cookie;
use crate::web::portal::CsrfForm;
use crate::web::{Page, PageError, urls};

/// The cookie of a login waiting for its code. It opens nothing but the code form, and only for
/// [`staff::CHALLENGE_MS`].
pub fn pending_cookie(secure: bool) -> &'static str {
    if secure { "__Host-dossier_staff_pending" } else { "dossier_staff_pending" }
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginTemplate<'a> {
    t: Tr,
    page: &'a Page,
    email: &'a str,
    error: Option<String>,
    /// The second step: the form asks for the code, not the password.
    code_step: bool,
}

fn render(
    page: &Page,
    email: &str,
    error: Option<String>,
    code_step: bool,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let body = LoginTemplate { t: page.t, page, email, error, code_step }.render().map_err(anyhow::Error::from)?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

fn cookie(name: &'static str, value: String, secure: bool, max_age_ms: Option<i64>) -> Cookie<'static> {
    let mut c =
        Cookie::build(name, value).path("/").http_only(true).secure(secure).same_site(SameSite::Strict).finish();
    if let Some(ms) = max_age_ms {
        c.set_max_age(actix_web::cookie::time::Duration::milliseconds(ms));
    }
    c
}

fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut gone = Cookie::build(name, "").path("/").secure(secure).finish();
    gone.make_removal();
    gone
}

fn pending_token(req: &actix_web::HttpRequest, app: &App) -> Option<String> {
    req.cookie(pending_cookie(app.settings.cookie_secure())).map(|c| c.value().to_owned()).filter(|v| !v.is_empty())
}

pub async fn show(page: Page, app: web::Data<App>) -> Result<HttpResponse, PageError> {
    if let Some(token) = &page.staff_session
        && staff::current(&app, token).await?.is_some()
    {
        return Ok(HttpResponse::SeeOther().insert_header(("Location", urls::staff_queue())).finish());
    }
    render(&page, "", None, false, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

fn signed_in(app: &App, token: String) -> HttpResponse {
    let secure = app.settings.cookie_secure();
    let mut res = HttpResponse::SeeOther().insert_header(("Location", urls::staff_queue())).finish();
    let _ = res.add_cookie(&cookie(staff_cookie(secure), token, secure, None));
    let _ = res.add_cookie(&removal(pending_cookie(secure), secure));
    res
}

fn locked_message(page: &Page, minutes: i64) -> String {
    page.t.fmt("staff.login.locked", &[("minutes", &minutes.to_string())])
}

pub async fn submit(
    page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    match staff::login(&app, &form.email, &form.password, &crate::web::portal::client_ip(&req)).await? {
        Ok(LoginStep::Session(token)) => Ok(signed_in(&app, token)),
        Ok(LoginStep::Code(pending)) => {
            let secure = app.settings.cookie_secure();
            let mut res = HttpResponse::SeeOther().insert_header(("Location", urls::staff_login_code())).finish();
            let _ = res.add_cookie(&cookie(pending_cookie(secure), pending, secure, Some(staff::CHALLENGE_MS)));
            Ok(res)
        }
        Err(LoginError::Busy) => {
            // Nothing was checked nor counted: never "wrong password".
            let mut res = render(
                &page,
                form.email.trim(),
                Some(page.t.get("staff.login.busy").to_owned()),
                false,
                StatusCode::SERVICE_UNAVAILABLE,
            )?;
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(app.passwords.wait().as_secs().max(1)),
            );
            Ok(res)
        }
        Err(e) => {
            let message = match e {
                LoginError::Locked { minutes } => locked_message(&page, minutes),
                LoginError::Invalid | LoginError::Busy => page.t.get("staff.login.invalid").to_owned(),
            };
            render(&page, form.email.trim(), Some(message), false, StatusCode::UNAUTHORIZED)
        }
    }
}

/// The code form. Without a pending login there is nothing to finish: back to the start.
pub async fn show_code(
    page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, PageError> {
    if pending_token(&req, &app).is_none() {
        return Ok(HttpResponse::SeeOther().insert_header(("Location", urls::staff_login())).finish());
    }
    render(&page, "", None, true, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

pub async fn submit_code(
    page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    let Some(pending) = pending_token(&req, &app) else {
        return Ok(HttpResponse::SeeOther().insert_header(("Location", urls::staff_login())).finish());
    };
    match staff::login_code(&app, &pending, &form.code, &crate::web::portal::client_ip(&req)).await? {
        Ok(token) => Ok(signed_in(&app, token)),
        Err(CodeError::Invalid) => {
            render(&page, "", Some(page.t.get("staff.totp.login_invalid").to_owned()), true, StatusCode::UNAUTHORIZED)
        }
        Err(CodeError::Unreadable) => render(
            &page,
            "",
            Some(page.t.get("staff.totp.login_unreadable").to_owned()),
            true,
            StatusCode::UNAUTHORIZED,
        ),
        Err(CodeError::Locked { minutes }) => {
            render(&page, "", Some(locked_message(&page, minutes)), true, StatusCode::UNAUTHORIZED)
        }
        Err(CodeError::Expired) => {
            let secure = app.settings.cookie_secure();
            let mut res = render(
                &page,
                "",
                Some(page.t.get("staff.totp.login_expired").to_owned()),
                false,
                StatusCode::UNAUTHORIZED,
            )?;
            let _ = res.add_cookie(&removal(pending_cookie(secure), secure));
            Ok(res)
        }
    }
}

pub async fn logout(page: Page, app: web::Data<App>, form: web::Form<CsrfForm>) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    if let Some(token) = &page.staff_session {
        staff::logout(&app, token).await?;
    }
    let secure = app.settings.cookie_secure();
    let mut res = HttpResponse::SeeOther().insert_header(("Location", urls::staff_login())).finish();
    let _ = res.add_cookie(&removal(staff_cookie(secure), secure));
    Ok(res)
}
