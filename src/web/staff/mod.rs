//! The staff workspace, under `/staff`, behind a login. Every route checks the role on the server.

mod account;
mod admin;
mod changes;
mod charts;
pub mod dashboard;
pub mod data;
pub mod intake;
mod login;
mod queue;
mod register;
mod request;
mod tasks;
mod timeline;

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
        .route("/staff/login/code", web::get().to(login::show_code))
        .route("/staff/login/code", web::post().to(login::submit_code))
        .route("/staff/account", web::get().to(account::show))
        .route("/staff/account/password", web::post().to(account::change_password))
        .route("/staff/account/totp/start", web::post().to(account::start_totp))
        .route("/staff/account/totp/confirm", web::post().to(account::confirm_totp))
        .route("/staff/admin/staff", web::get().to(admin::show))
        .route("/staff/admin/staff", web::post().to(admin::add))
        .route("/staff/admin/staff/{id}/{change}", web::post().to(admin::change))
        .route("/staff/admin/settings", web::post().to(admin::settings))
        .route("/staff", web::get().to(queue::show))
        .route("/staff/search", web::post().to(queue::search))
        .route("/staff/register.csv", web::get().to(register::export))
        .route("/staff/intake", web::get().to(intake::show))
        .route("/staff/intake", web::post().to(intake::submit))
        .route("/staff/dashboard", web::get().to(dashboard::show))
        .route("/staff/tasks", web::get().to(tasks::list))
        .route("/staff/tasks/{id}", web::get().to(tasks::show))
        .route("/staff/tasks/{id}/files", web::post().to(tasks::upload))
        .route("/staff/tasks/{id}/complete", web::post().to(tasks::complete))
        .route("/staff/tasks/{id}/files/{file}/remove", web::post().to(tasks::remove_file))
        .route("/staff/requests/{reference}", web::get().to(request::show))
        .route("/staff/requests/{reference}/data", web::get().to(data::show))
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
    // Admins require a second factor of everyone: until it is set up, only the account page opens.
    if services::staff::must_enrol_totp(app, &account).await? {
        return Err(PageError::Redirect(urls::staff_account()));
    }
    if !allowed.contains(&account.role) {
        return Err(PageError::NOT_ALLOWED);
    }
    page.staff_name = Some(account.display_name.clone());
    Ok(account)
}
