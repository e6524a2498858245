//! The staff workspace, under `/staff`, behind a login. Every route checks the role on the server.

mod changes;
pub mod intake;
mod login;
mod queue;
mod register;
mod request;

use actix_web::web;

use crate::app::App;
use crate::domain::Role;
use crate::services;
use crate::store::staff::StaffRow;
use crate::web::{Page, PageError, urls};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/staff/login", web::get().to(login::show))
        .route("/staff/login", web::post().to(login::submit))
        .route("/staff/logout", web::post().to(login::logout))
        .route("/staff", web::get().to(queue::show))
        .route("/staff/search", web::post().to(queue::search))
        .route("/staff/register.csv", web::get().to(register::export))
        .route("/staff/intake", web::get().to(intake::show))
        .route("/staff/intake", web::post().to(intake::submit))
        .route("/staff/requests/{reference}", web::get().to(request::show))
        .route("/staff/requests/{reference}/review", web::post().to(changes::review))
        .route("/staff/requests/{reference}/retry", web::post().to(changes::retry))
        .route("/staff/requests/{reference}/recipients/{notice}", web::post().to(changes::recipient_told))
        .route("/staff/requests/{reference}/{action}", web::post().to(request::act));
}

/// Every role may read.
pub const READERS: &[Role] = &[Role::Admin, Role::Agent, Role::Auditor];
/// Only admins and agents change requests; auditors read.
pub const ACTORS: &[Role] = &[Role::Admin, Role::Agent];

/// The signed-in staff member, if their role is in `allowed`: otherwise the login page (no
/// session) or a 403 page (a role that may not do this).
pub async fn require(app: &App, page: &mut Page, allowed: &[Role]) -> Result<StaffRow, PageError> {
    let account = match &page.staff_session {
        Some(token) => services::staff::current(app, token).await?,
        None => None,
    };
    let Some(account) = account else { return Err(PageError::Redirect(urls::staff_login())) };
    if !allowed.contains(&account.role) {
        return Err(PageError::NOT_ALLOWED);
    }
    page.staff_name = Some(account.display_name.clone());
    Ok(account)
}
