//! Static files, compiled into the binary so Dossier stays one file to deploy.

use actix_web::{HttpResponse, web};

use super::PageError;

pub const STYLE: &str = include_str!("../../static/style.css");
pub const STATUS_SCRIPT: &str = include_str!("../../static/status.js");

pub async fn serve(file: web::Path<String>) -> Result<HttpResponse, PageError> {
    match file.as_str() {
        "style.css" => Ok(HttpResponse::Ok()
            .content_type("text/css; charset=utf-8")
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            .body(STYLE)),
        "status.js" => Ok(HttpResponse::Ok()
            .content_type("text/javascript; charset=utf-8")
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            .body(STATUS_SCRIPT)),
        _ => Err(PageError::NOT_FOUND),
    }
}
