//! Static files, compiled into the binary so Dossier stays one file to deploy.

use actix_web::{HttpResponse, web};

use super::PageError;

pub const STYLE: &str = include_str!("../../static/style.css");

pub async fn serve(file: web::Path<String>) -> Result<HttpResponse, PageError> {
    match file.as_str() {
        "style.css" => Ok(HttpResponse::Ok()
            .content_type("text/css; charset=utf-8")
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            .body(STYLE)),
        _ => Err(PageError::NOT_FOUND),
    }
}
