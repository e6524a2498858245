//! Demo-only pages: the outbox, so a newcomer can finish the whole flow with no mail server.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::app::App;
use crate::i18n::Tr;
use crate::mail::{OutboxPreview, read_outbox};
use crate::web::{Page, PageError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dev/outbox", web::get().to(list)).route("/dev/outbox/{id}", web::get().to(show));
}

#[derive(Template)]
#[template(path = "dev/outbox.html")]
struct ListTemplate<'a> {
    t: Tr,
    page: &'a Page,
    messages: Vec<OutboxPreview>,
}

/// A message's text with its links made clickable; everything else escaped.
pub struct Line {
    pub text: String,
    pub is_link: bool,
}

#[derive(Template)]
#[template(path = "dev/message.html")]
struct MessageTemplate<'a> {
    t: Tr,
    page: &'a Page,
    message: &'a OutboxPreview,
    lines: Vec<Line>,
}

fn outbox(app: &App) -> Result<&std::path::Path, PageError> {
    match (app.settings.demo, app.mailer.outbox_dir()) {
        (true, Some(dir)) => Ok(dir),
        _ => Err(PageError::NOT_FOUND),
    }
}

async fn list(page: Page, app: web::Data<App>) -> Result<HttpResponse, PageError> {
    let messages = read_outbox(outbox(&app)?)?;
    let body = ListTemplate { t: page.t, page: &page, messages }.render().map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}

async fn show(page: Page, app: web::Data<App>, id: web::Path<String>) -> Result<HttpResponse, PageError> {
    let messages = read_outbox(outbox(&app)?)?;
    let message = messages.iter().find(|m| m.id == *id).ok_or(PageError::NOT_FOUND)?;
    let lines = message
        .text
        .lines()
        .map(|l| Line { text: l.to_owned(), is_link: l.starts_with("http://") || l.starts_with("https://") })
        .collect();
    let body = MessageTemplate { t: page.t, page: &page, message, lines }.render().map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}
