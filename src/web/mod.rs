//! The web edge: the public portal (`portal`), demo-only pages (`dev`), and what they share.

pub mod assets;
pub mod dev;
pub mod error;
pub mod middleware;
pub mod ops;
pub mod page;
pub mod portal;
pub mod proxy;
pub mod staff;
pub mod urls;

use actix_web::web;

pub use error::PageError;
pub use page::Page;

/// Largest form body accepted. A request form is a few hundred bytes; a staff review carries a
/// decision and a reason field per plan item (about 40 bytes each when empty), so a plan of a few
/// thousand records still fits.
pub const FORM_LIMIT: usize = 256 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::FormConfig::default().limit(FORM_LIMIT).error_handler(|err, _req| {
        let kind = match err {
            actix_web::error::UrlencodedError::Overflow { .. } => error::ErrorKind::TooLarge,
            _ => error::ErrorKind::BadForm,
        };
        PageError::Kind(kind).into()
    }))
    .app_data(web::PathConfig::default().error_handler(|_, _| PageError::NOT_FOUND.into()))
    .app_data(web::QueryConfig::default().error_handler(|_, _| PageError::BAD_FORM.into()))
    .route("/health", web::get().to(ops::health))
    .route("/ready", web::get().to(ops::ready))
    .route("/metrics", web::get().to(ops::metrics_public))
    .route("/static/{file}", web::get().to(assets::serve))
    .configure(portal::routes)
    .configure(staff::routes)
    .configure(dev::routes)
    .default_service(web::to(not_found));
}

async fn not_found() -> Result<actix_web::HttpResponse, PageError> {
    Err(PageError::NOT_FOUND)
}
