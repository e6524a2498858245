//! Proving control of the address: the "check your inbox" page with its code form, the confirm
//! page behind the emailed link (a GET never consumes anything), and resending.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{CsrfForm, client_ip, see_other, valid_handle};
use crate::app::App;
use crate::i18n::Tr;
use crate::services::requests::{self, Verified, VerifyError};
use crate::web::middleware::cookie;
use crate::web::page::session_cookie;
use crate::web::{Page, PageError, urls};

#[derive(Template)]
#[template(path = "portal/check_inbox.html")]
struct CheckInbox<'a> {
    t: Tr,
    page: &'a Page,
    handle: &'a str,
    notice: Option<&'a str>,
    error: Option<String>,
    validity: String,
    /// The latest email carries the link and no code.
    link_only: bool,
}

#[derive(Template)]
#[template(path = "portal/confirm.html")]
struct Confirm<'a> {
    t: Tr,
    page: &'a Page,
    token: &'a str,
}

#[derive(Template)]
#[template(path = "portal/verify_failed.html")]
struct Failed<'a> {
    t: Tr,
    page: &'a Page,
    message: &'a str,
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body)
}

fn render_inbox(
    page: &Page,
    app: &App,
    handle: &str,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<String, PageError> {
    render_inbox_with(page, app, handle, notice, error, false)
}

fn render_inbox_with(
    page: &Page,
    app: &App,
    handle: &str,
    notice: Option<&str>,
    error: Option<String>,
    link_only: bool,
) -> Result<String, PageError> {
    let minutes = app.settings.security.verification_ttl_minutes.to_string();
    let validity = page.t.fmt("portal.verify.inbox_link", &[("minutes", &minutes)]);
    let inbox = CheckInbox { t: page.t, page, handle, notice, error, validity, link_only };
    Ok(inbox.render().map_err(anyhow::Error::from)?)
}

fn error_message(page: &Page, e: VerifyError) -> String {
    let t = page.t;
    match e {
        VerifyError::Invalid => t.get("portal.verify.errors.invalid").to_owned(),
        VerifyError::Expired => t.get("portal.verify.errors.expired").to_owned(),
        VerifyError::AlreadyUsed | VerifyError::AlreadyVerified(_) => t.get("portal.verify.errors.used").to_owned(),
        VerifyError::Locked => t.get("portal.verify.errors.locked").to_owned(),
        VerifyError::LockedForToday => t.get("portal.verify.errors.locked_today").to_owned(),
        VerifyError::WrongCode => t.get("portal.verify.errors.wrong_code").to_owned(),
        VerifyError::TooMany => t.get("common.error.too_many.body").to_owned(),
    }
}

#[derive(Deserialize)]
pub struct InboxQuery {
    h: String,
    #[serde(default)]
    resent: Option<String>,
    /// `1`: the latest email carries the link and no code (a display hint: the code form checks
    /// the server's state whatever it says).
    #[serde(default)]
    link: Option<String>,
}

pub async fn check_inbox(
    page: Page,
    app: web::Data<App>,
    q: web::Query<InboxQuery>,
) -> Result<HttpResponse, PageError> {
    if !valid_handle(&q.h) {
        return Err(PageError::NOT_FOUND);
    }
    // "Sent again" only when an email was queued; otherwise the page says what happened.
    let notice = match q.resent.as_deref() {
        Some("1") => Some(page.t.get("portal.verify.resent")),
        Some("limited") => Some(page.t.get("portal.verify.resend_limited")),
        Some("gone") => Some(page.t.get("portal.verify.resend_gone")),
        _ => None,
    };
    let link_only = q.link.as_deref() == Some("1");
    Ok(html(actix_web::http::StatusCode::OK, render_inbox_with(&page, &app, &q.h, notice, None, link_only)?))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    h: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
}

/// The verified requester gets a session cookie and lands on their request's page.
fn signed_in(app: &App, v: Verified) -> HttpResponse {
    let mut res = see_other(urls::status(&v.reference));
    let secure = app.settings.cookie_secure();
    let _ = res.add_cookie(&cookie(session_cookie(secure), v.session_token, secure));
    res
}

pub async fn by_code(
    page: Page,
    app: web::Data<App>,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    if !valid_handle(&form.h) {
        return Err(PageError::BAD_FORM);
    }
    let code: String = form.code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        let error = Some(page.t.get("portal.verify.errors.code_format").to_owned());
        return Ok(html(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            render_inbox(&page, &app, &form.h, None, error)?,
        ));
    }
    match requests::verify_code(&app, &form.h, &code, &client_ip(&req)).await? {
        Ok(v) => Ok(signed_in(&app, v)),
        Err(VerifyError::TooMany) => Err(PageError::TOO_MANY),
        Err(e) => {
            let error = Some(error_message(&page, e));
            Ok(html(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                render_inbox(&page, &app, &form.h, None, error)?,
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    h: String,
    #[serde(default)]
    csrf: String,
}

pub async fn resend(
    page: Page,
    app: web::Data<App>,
    req: HttpRequest,
    form: web::Form<ResendForm>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    if !valid_handle(&form.h) {
        return Err(PageError::BAD_FORM);
    }
    let flag = match requests::resend(&app, &form.h, &client_ip(&req)).await? {
        requests::Resent::Sent { link_only: false } => "1",
        requests::Resent::Sent { link_only: true } => "1&link=1",
        requests::Resent::NotSent => "limited",
        requests::Resent::Gone => "gone",
        requests::Resent::TooMany => return Err(PageError::TOO_MANY),
    };
    Ok(see_other(format!("{}&resent={flag}", urls::check_inbox(&form.h))))
}

/// Link tokens are 32 random bytes in URL-safe base64.
fn valid_token(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn confirm_page(
    page: Page,
    app: web::Data<App>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let check = if valid_token(&token) { requests::peek_token(&app, &token).await? } else { Err(VerifyError::Invalid) };
    match check {
        Ok(()) => Ok(html(
            actix_web::http::StatusCode::OK,
            Confirm { t: page.t, page: &page, token: &token }.render().map_err(anyhow::Error::from)?,
        )),
        Err(e) => failed(&page, e),
    }
}

fn failed(page: &Page, e: VerifyError) -> Result<HttpResponse, PageError> {
    let message = error_message(page, e);
    let body = Failed { t: page.t, page, message: &message }.render().map_err(anyhow::Error::from)?;
    Ok(html(actix_web::http::StatusCode::GONE, body))
}

pub async fn by_link(
    page: Page,
    app: web::Data<App>,
    token: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    if !valid_token(&token) {
        return failed(&page, VerifyError::Invalid);
    }
    match requests::verify_token(&app, &token).await? {
        Ok(v) => Ok(signed_in(&app, v)),
        // A double click: the first click verified; the request's page takes it from here.
        Err(VerifyError::AlreadyVerified(reference)) => Ok(see_other(urls::status(&reference))),
        Err(e) => failed(&page, e),
    }
}
