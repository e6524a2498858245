//! `/staff/login`: one answer for a wrong address and a wrong password, and the same work.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::app::App;
use crate::i18n::Tr;
use crate::services::staff::{self, LoginError};
use crate::web::page::staff_cookie;
use crate::web::portal::CsrfForm;
use crate::web::{Page, PageError, urls};

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginTemplate<'a> {
    t: Tr,
    page: &'a Page,
    email: &'a str,
    error: Option<String>,
}

fn render(
    page: &Page,
    email: &str,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, PageError> {
    let body = LoginTemplate { t: page.t, page, email, error }.render().map_err(anyhow::Error::from)?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

pub async fn show(page: Page, app: web::Data<App>) -> Result<HttpResponse, PageError> {
    if let Some(token) = &page.staff_session
        && staff::current(&app, token).await?.is_some()
    {
        return Ok(HttpResponse::SeeOther().insert_header(("Location", urls::staff_queue())).finish());
    }
    render(&page, "", None, actix_web::http::StatusCode::OK)
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

pub async fn submit(
    page: Page,
    app: web::Data<App>,
    req: actix_web::HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    match staff::login(&app, &form.email, &form.password, &crate::web::portal::client_ip(&req)).await? {
        Ok(token) => {
            let secure = app.settings.cookie_secure();
            let cookie = Cookie::build(staff_cookie(secure), token)
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Strict)
                .finish();
            let mut res = HttpResponse::SeeOther().insert_header(("Location", urls::staff_queue())).finish();
            let _ = res.add_cookie(&cookie);
            Ok(res)
        }
        Err(e) => {
            let message = match e {
                LoginError::Invalid => page.t.get("staff.login.invalid").to_owned(),
                LoginError::Locked { minutes } => {
                    page.t.fmt("staff.login.locked", &[("minutes", &minutes.to_string())])
                }
            };
            render(&page, form.email.trim(), Some(message), actix_web::http::StatusCode::UNAUTHORIZED)
        }
    }
}

pub async fn logout(page: Page, app: web::Data<App>, form: web::Form<CsrfForm>) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    if let Some(token) = &page.staff_session {
        staff::logout(&app, token).await?;
    }
    let secure = app.settings.cookie_secure();
    let mut gone = Cookie::build(staff_cookie(secure), "").path("/").secure(secure).finish();
    gone.make_removal();
    let mut res = HttpResponse::SeeOther().insert_header(("Location", urls::staff_login())).finish();
    let _ = res.add_cookie(&gone);
    Ok(res)
}
