//! `/staff/intake`: a request received by letter, phone, email or in person, entered by staff on
//! the person's behalf. The received date starts the clock; the person still proves their address
//! by email unless staff record another verification, with a justification.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{ACTORS, require};
use crate::app::App;
use crate::deadlines::Policy;
use crate::domain::{EmailAddress, Locale, RequestKind};
use crate::i18n::Tr;
use crate::services::notify::kind_label;
use crate::services::requests::{Intake, IntakeVerification, submit_on_behalf};
use crate::store::requests::{date_to_text, text_to_date};
use crate::web::portal::policy_label;
use crate::web::{Page, PageError, urls};

pub const CHANNELS: [&str; 4] = ["letter", "phone", "email", "in_person"];

#[derive(Debug, Default, Deserialize)]
pub struct IntakeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    received: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    jurisdiction: String,
    #[serde(default)]
    verification: String,
    #[serde(default)]
    justification: String,
}

#[derive(Template)]
#[template(path = "staff/intake.html")]
struct IntakeTemplate<'a> {
    t: Tr,
    page: &'a Page,
    form: &'a IntakeForm,
    today: String,
    errors: Vec<&'static str>,
    kinds: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    /// The laws offered, when there are several.
    policies: Vec<(&'static str, &'static str)>,
}

pub fn channel_label(t: Tr, c: &str) -> &'static str {
    t.get(match c {
        "web" => "staff.intake.channel_web",
        "letter" => "staff.intake.channel_letter",
        "phone" => "staff.intake.channel_phone",
        "email" => "staff.intake.channel_email",
        _ => "staff.intake.channel_in_person",
    })
}

fn render(
    page: &Page,
    app: &App,
    today: time::Date,
    form: &IntakeForm,
    errors: Vec<&'static str>,
) -> Result<HttpResponse, PageError> {
    let t = page.t;
    let status =
        if errors.is_empty() { actix_web::http::StatusCode::OK } else { actix_web::http::StatusCode::BAD_REQUEST };
    let body = IntakeTemplate {
        t,
        page,
        form,
        today: date_to_text(today),
        errors: errors.into_iter().map(|k| t.get(k)).collect(),
        kinds: RequestKind::ALL.iter().map(|k| (k.as_str(), kind_label(t, *k))).collect(),
        channels: CHANNELS.iter().map(|c| (*c, channel_label(t, c))).collect(),
        policies: if app.settings.policies.len() > 1 {
            app.settings.policies.iter().map(|p| (p.code(), policy_label(t, *p))).collect()
        } else {
            Vec::new()
        },
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

fn today(app: &App) -> Result<time::Date, PageError> {
    Ok(app.zone.local_date(app.clock.now()).map_err(anyhow::Error::from)?)
}

pub async fn show(mut page: Page, app: web::Data<App>) -> Result<HttpResponse, PageError> {
    require(&app, &mut page, ACTORS).await?;
    let form =
        IntakeForm { verification: "email".into(), language: page.locale().as_str().into(), ..Default::default() };
    render(&page, &app, today(&app)?, &form, Vec::new())
}

pub async fn submit(
    mut page: Page,
    app: web::Data<App>,
    form: web::Form<IntakeForm>,
) -> Result<HttpResponse, PageError> {
    let by = require(&app, &mut page, ACTORS).await?;
    page.check_csrf(&form.csrf)?;
    let today = today(&app)?;
    let mut errors = Vec::new();
    let email = EmailAddress::parse(&form.email).map_err(|_| errors.push("staff.intake.error_email")).ok();
    let kind = form.kind.parse::<RequestKind>().map_err(|_| errors.push("staff.intake.error_kind")).ok();
    if !CHANNELS.contains(&form.channel.as_str()) {
        errors.push("staff.intake.error_channel");
    }
    // The clock starts on the day the letter or call reached the controller: never in the future,
    // and not more than a year back (a typo, most likely).
    let received = text_to_date(form.received.trim()).ok().filter(|d| *d <= today && (today - *d).whole_days() <= 366);
    if received.is_none() {
        errors.push("staff.intake.error_received");
    }
    let policy = match form.jurisdiction.as_str() {
        "" => Some(app.settings.jurisdiction),
        code => code.parse::<Policy>().ok().filter(|p| app.settings.policies.contains(p)),
    };
    if policy.is_none() {
        errors.push("staff.intake.error_jurisdiction");
    }
    let verification = match form.verification.as_str() {
        "recorded" if !form.justification.trim().is_empty() => {
            Some(IntakeVerification::Recorded { justification: form.justification.trim().to_owned() })
        }
        "recorded" => {
            errors.push("staff.intake.error_justification");
            None
        }
        _ => Some(IntakeVerification::Email),
    };
    let (Some(email), Some(kind), Some(received), Some(policy), Some(verification), true) =
        (email, kind, received, policy, verification, errors.is_empty())
    else {
        return render(&page, &app, today, &form, errors);
    };
    let locale = Locale::from_tag(&form.language).unwrap_or(app.settings.default_locale);
    let intake =
        Intake { email: &email, kind, policy, locale, channel: &form.channel, received_on: received, verification };
    let reference = submit_on_behalf(&app, &by.id, intake).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", format!("{}?done=intake", urls::staff_request(&reference))))
        .finish())
}
