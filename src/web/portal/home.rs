//! `/`: the rights in plain words and the request form.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{client_ip, see_other};
use crate::app::App;
use crate::domain::{EmailAddress, EmailError, RequestKind};
use crate::i18n::Tr;
use crate::services::requests::{self, Submitted};
use crate::web::{Page, PageError, urls};

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomeTemplate<'a> {
    t: Tr,
    page: &'a Page,
    email: &'a str,
    kind: &'a str,
    email_error: Option<&'a str>,
    kind_error: Option<&'a str>,
}

fn render(
    page: &Page,
    form: &SubmitForm,
    email_error: Option<&str>,
    kind_error: Option<&str>,
) -> Result<String, PageError> {
    Ok(HomeTemplate {
        t: page.t,
        page,
        email: form.email.as_deref().unwrap_or(""),
        kind: form.kind.as_deref().unwrap_or(""),
        email_error,
        kind_error,
    }
    .render()
    .map_err(anyhow::Error::from)?)
}

pub async fn show(page: Page) -> Result<HttpResponse, PageError> {
    let html = render(&page, &SubmitForm::default(), None, None)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

#[derive(Debug, Default, Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// A request as the domain sees it: a valid address and a known right.
struct NewRequest {
    email: EmailAddress,
    kind: RequestKind,
}

impl TryFrom<&SubmitForm> for NewRequest {
    type Error = (Option<&'static str>, Option<&'static str>);

    fn try_from(form: &SubmitForm) -> Result<Self, Self::Error> {
        let email = EmailAddress::parse(form.email.as_deref().unwrap_or("")).map_err(|e| match e {
            EmailError::Empty => "portal.home.errors.email_empty",
            EmailError::TooLong => "portal.home.errors.email_too_long",
            EmailError::Invalid => "portal.home.errors.email_invalid",
        });
        let kind = form
            .kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .ok_or("portal.home.errors.kind_missing")
            .and_then(|k| k.parse::<RequestKind>().map_err(|_| "portal.home.errors.kind_unknown"));
        match (email, kind) {
            (Ok(email), Ok(kind)) => Ok(NewRequest { email, kind }),
            (e, k) => Err((e.err(), k.err())),
        }
    }
}

pub async fn submit(
    page: Page,
    app: web::Data<App>,
    req: HttpRequest,
    form: web::Form<SubmitForm>,
) -> Result<HttpResponse, PageError> {
    page.check_csrf(&form.csrf)?;
    let request = match NewRequest::try_from(&form.0) {
        Ok(r) => r,
        Err((email_error, kind_error)) => {
            let html = render(&page, &form, email_error.map(|k| page.t.get(k)), kind_error.map(|k| page.t.get(k)))?;
            return Ok(HttpResponse::BadRequest().content_type("text/html; charset=utf-8").body(html));
        }
    };
    match requests::submit(&app, &request.email, request.kind, page.locale(), &client_ip(&req)).await? {
        Submitted::Pending { handle } => Ok(see_other(urls::check_inbox(&handle))),
        Submitted::TooMany => Err(PageError::TOO_MANY),
    }
}
