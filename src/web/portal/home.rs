//! `/`: the rights in plain words and the request form.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{client_ip, see_other};
use crate::app::App;
use crate::deadlines::Policy;
use crate::domain::{EmailAddress, EmailError, RequestKind};
use crate::i18n::Tr;
use crate::plans::Purpose;
use crate::services::requests::{self, Submitted};
use crate::web::{Page, PageError};

/// Field errors, as catalog keys.
#[derive(Default)]
struct Errors {
    email: Option<&'static str>,
    kind: Option<&'static str>,
    jurisdiction: Option<&'static str>,
    /// Not a field's fault: no email was sent (`Submitted::NotSent`).
    not_sent: bool,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomeTemplate<'a> {
    t: Tr,
    page: &'a Page,
    email: &'a str,
    kind: &'a str,
    email_error: Option<&'a str>,
    kind_error: Option<&'a str>,
    jurisdiction_error: Option<&'a str>,
    /// No email was sent: the address's budget from this network is spent (said plainly).
    not_sent: Option<&'a str>,
    /// (code, label, selected) when the operator offers several laws; empty otherwise.
    jurisdictions: Vec<(&'static str, &'static str, bool)>,
    /// What an objection can ask, from the configuration: only the choices some source implements.
    objection_text: String,
}

/// The choices an objection request will offer, in words: exactly those the configured sources
/// implement (a promise the portal keeps; see `connectors::purposes::offers`).
fn objection_text(t: Tr, app: &App) -> String {
    let offered: std::collections::BTreeSet<Purpose> = app
        .connectors
        .iter()
        .flat_map(|c| {
            crate::connectors::purposes::source_purposes(c.info(), crate::connectors::by_hand(c.as_ref()).as_deref())
        })
        .collect();
    if offered.is_empty() {
        return t.get("portal.home.kinds.objection.text_none").to_owned();
    }
    let choices: Vec<&str> = offered
        .iter()
        .map(|p| {
            t.get(match p {
                Purpose::DirectMarketing => "portal.home.kinds.objection.offers.direct_marketing",
                Purpose::ConsentWithdrawal => "portal.home.kinds.objection.offers.consent_withdrawal",
                Purpose::LegitimateInterests => "portal.home.kinds.objection.offers.legitimate_interests",
                Purpose::Restriction => "portal.home.kinds.objection.offers.restriction",
            })
        })
        .collect();
    t.fmt("portal.home.kinds.objection.text", &[("choices", &choices.join(", "))])
}

pub fn policy_label(t: Tr, p: Policy) -> &'static str {
    t.get(match p {
        Policy::EuGdpr => "portal.home.jurisdictions.eu_gdpr",
        Policy::UkGdpr => "portal.home.jurisdictions.uk_gdpr",
        Policy::Ccpa => "portal.home.jurisdictions.ccpa",
        Policy::Lgpd => "portal.home.jurisdictions.lgpd",
    })
}

fn render(page: &Page, app: &App, form: &SubmitForm, errors: &Errors) -> Result<String, PageError> {
    let t = page.t;
    let chosen = form.jurisdiction.as_deref().unwrap_or(app.settings.jurisdiction.code());
    let jurisdictions = if app.settings.policies.len() > 1 {
        app.settings.policies.iter().map(|p| (p.code(), policy_label(t, *p), p.code() == chosen)).collect()
    } else {
        Vec::new()
    };
    Ok(HomeTemplate {
        t,
        page,
        email: form.email.as_deref().unwrap_or(""),
        kind: form.kind.as_deref().unwrap_or(""),
        email_error: errors.email.map(|k| t.get(k)),
        kind_error: errors.kind.map(|k| t.get(k)),
        jurisdiction_error: errors.jurisdiction.map(|k| t.get(k)),
        not_sent: errors.not_sent.then(|| t.get("portal.verify.not_sent")),
        jurisdictions,
        objection_text: objection_text(t, app),
    }
    .render()
    .map_err(anyhow::Error::from)?)
}

pub async fn show(page: Page, app: web::Data<App>) -> Result<HttpResponse, PageError> {
    let html = render(&page, &app, &SubmitForm::default(), &Errors::default())?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

#[derive(Debug, Default, Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    /// The law the person invokes, when the operator offers several.
    #[serde(default)]
    jurisdiction: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// A request as the domain sees it: a valid address, a known right, an offered law.
struct NewRequest {
    email: EmailAddress,
    kind: RequestKind,
    policy: Policy,
}

impl NewRequest {
    fn parse(form: &SubmitForm, offered: &[Policy], default: Policy) -> Result<Self, Errors> {
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
        let policy = match form.jurisdiction.as_deref().filter(|j| !j.is_empty()) {
            None => Ok(default),
            Some(code) => code
                .parse::<Policy>()
                .ok()
                .filter(|p| offered.contains(p))
                .ok_or("portal.home.errors.jurisdiction_unknown"),
        };
        match (email, kind, policy) {
            (Ok(email), Ok(kind), Ok(policy)) => Ok(NewRequest { email, kind, policy }),
            (e, k, p) => Err(Errors { email: e.err(), kind: k.err(), jurisdiction: p.err(), not_sent: false }),
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
    let request = match NewRequest::parse(&form, &app.settings.policies, app.settings.jurisdiction) {
        Ok(r) => r,
        Err(errors) => {
            let html = render(&page, &app, &form, &errors)?;
            return Ok(HttpResponse::BadRequest().content_type("text/html; charset=utf-8").body(html));
        }
    };
    let ip = client_ip(&req);
    match requests::submit(&app, &request.email, request.kind, request.policy, page.locale(), &ip).await? {
        Submitted::Pending { handle, link_only } => Ok(see_other(super::inbox_url(&handle, link_only))),
        // Honest: nothing was sent, and the form is shown again as it was typed. The same for a
        // known and an unknown address (the budget is counted for both).
        Submitted::NotSent => {
            let errors = Errors { not_sent: true, ..Errors::default() };
            let html = render(&page, &app, &form, &errors)?;
            Ok(HttpResponse::TooManyRequests().content_type("text/html; charset=utf-8").body(html))
        }
        Submitted::TooMany => Err(PageError::TOO_MANY),
    }
}
