//! The public portal: ask, prove it is you, follow, download.

pub(crate) mod changes;
mod home;
pub use home::policy_label;
mod privacy;
mod status;
mod verify;

use actix_web::{HttpRequest, web};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::show))
        .route("/privacy", web::get().to(privacy::show))
        .route("/requests", web::post().to(home::submit))
        .route("/check-inbox", web::get().to(verify::check_inbox))
        .route("/verify/code", web::post().to(verify::by_code))
        .route("/verify/resend", web::post().to(verify::resend))
        .route("/verify/{token}", web::get().to(verify::confirm_page))
        .route("/verify/{token}", web::post().to(verify::by_link))
        .route("/requests/{reference}", web::get().to(status::show))
        .route("/requests/{reference}/signin", web::post().to(status::signin))
        .route("/requests/{reference}/export", web::get().to(status::download))
        .route("/requests/{reference}/clarification", web::post().to(status::answer))
        .route("/requests/{reference}/confirm", web::post().to(changes::confirm))
        .route("/requests/{reference}/withdraw", web::post().to(changes::withdraw))
        .route("/requests/{reference}/corrections", web::post().to(changes::corrections))
        .route("/requests/{reference}/objections", web::post().to(changes::objections))
        .route("/requests/{reference}/certificate", web::get().to(changes::certificate))
        .route("/requests/{reference}/certificate/download", web::get().to(changes::certificate_download))
        .route("/signout", web::post().to(status::sign_out));
}

/// A form whose only field is its CSRF token (a confirm button, sign-in, sign-out).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// The client's address, for rate limits: the TCP peer, or, when the peer is one of
/// `security.trusted_proxies`, the address they forwarded (`web::proxy`, docs/deployment.md).
pub(crate) fn client_ip(req: &HttpRequest) -> String {
    crate::web::proxy::client_ip(req)
}

/// The "check your inbox" page for `handle`; `link_only` when its email carries no code.
fn inbox_url(handle: &str, link_only: bool) -> String {
    let url = crate::web::urls::check_inbox(handle);
    if link_only { format!("{url}&link=1") } else { url }
}

/// A handle on the "check your inbox" page is an opaque 128-bit id in hex: fresh and random for
/// every submission, mapped on the server (`store::inbox_handles`) to what it stands for.
fn valid_handle(h: &str) -> bool {
    h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

fn see_other(location: String) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther().insert_header(("Location", location)).finish()
}
