//! One layer around every response: origin check on mutations, the CSRF seed cookie, the language
//! cookie, security headers, and error pages rendered in the person's language.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use askama::Template;

use super::error::{ErrorKind, ErrorPage};
use super::page::{CsrfSeed, LANG_COOKIE, Page, csrf_cookie, locale_for};
use crate::app::App;
use crate::domain::Locale;
use crate::i18n::Tr;

const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn layer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let app = req
        .app_data::<web::Data<App>>()
        .cloned()
        .ok_or_else(|| actix_web::error::ErrorInternalServerError("no state"))?;
    let secure = app.settings.cookie_secure();

    // A mutation from another site's page is refused before it reaches a handler.
    if req.method() == actix_web::http::Method::POST && !same_origin(&req) {
        let (http_req, _) = req.into_parts();
        let mut res = HttpResponse::Forbidden().finish();
        res.extensions_mut().insert(ErrorPage { kind: ErrorKind::Forbidden, operation: None });
        let res = ServiceResponse::new(http_req, res);
        return Ok(finish(res, &app, None, secure));
    }

    let existing = req.cookie(csrf_cookie(secure)).map(|c| c.value().to_owned()).filter(|v| v.len() == 43);
    let new_seed = existing.is_none().then(|| crate::crypto::random_token(32));
    let seed = existing.or(new_seed.clone()).unwrap_or_default();
    req.extensions_mut().insert(CsrfSeed(seed));

    // Log the route's pattern, never the path: paths carry verification tokens and references.
    let started = std::time::Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?.map_into_boxed_body();
    let route = res.request().match_pattern().unwrap_or_else(|| "(unmatched)".into());
    tracing::info!(%method, %route, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "http");
    Ok(finish(res, &app, new_seed, secure))
}

fn finish(
    res: ServiceResponse<BoxBody>,
    app: &App,
    new_seed: Option<String>,
    secure: bool,
) -> ServiceResponse<BoxBody> {
    let error = res.response().extensions().get::<ErrorPage>().cloned();
    let mut res = match error {
        Some(page) => render_error(res, app, &page),
        None => res,
    };
    let lang = res.request().query_string().split('&').find_map(|p| p.strip_prefix("lang=")).and_then(Locale::from_tag);
    let headers = res.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ] {
        headers.insert(header::HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if secure {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    // Pages can show personal data: never cache them (static files set their own policy).
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // A response a shared cache may keep (static files) carries no cookie: a proxy would hand
    // one person's CSRF seed or language to everyone who asks for the same file.
    if is_shared_cacheable(headers) {
        headers.remove(header::SET_COOKIE);
        return res;
    }
    let mut cookies = Vec::new();
    if let Some(seed) = new_seed {
        cookies.push(cookie(csrf_cookie(secure), seed, secure));
    }
    if let Some(lang) = lang {
        let mut c = cookie(LANG_COOKIE, lang.as_str().to_owned(), secure);
        c.set_max_age(actix_web::cookie::time::Duration::days(365));
        cookies.push(c);
    }
    for c in cookies {
        let _ = res.response_mut().add_cookie(&c);
    }
    res
}

/// Whether `Cache-Control` lets a shared cache store the response (`public`, and neither
/// `no-store` nor `private`).
fn is_shared_cacheable(headers: &header::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) else { return false };
    let directives: Vec<String> = value.split(',').map(|d| d.trim().to_ascii_lowercase()).collect();
    let has = |name: &str| directives.iter().any(|d| d == name || d.starts_with(&format!("{name}=")));
    has("public") && !has("no-store") && !has("private")
}

/// A cookie as Dossier sets them all: HttpOnly, SameSite=Lax, Secure outside demo mode.
pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value).path("/").http_only(true).same_site(SameSite::Lax).secure(secure).finish()
}

/// A POST must come from our own pages. Browsers say so in `Sec-Fetch-Site`; under our
/// `Referrer-Policy: no-referrer` they send `Origin: null` even for our own forms, so `Origin` is
/// only the fallback for browsers without Fetch Metadata: it must then name this host.
fn same_origin(req: &ServiceRequest) -> bool {
    if let Some(site) = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return true };
    if origin == "null" {
        return false;
    }
    // Forwarded host headers count only from a trusted proxy (`web::proxy`).
    let host = super::proxy::request_host(req.request());
    origin.split_once("://").map(|(_, h)| h) == host.as_deref()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    t: Tr,
    page: &'a Page,
    title: &'a str,
    body: &'a str,
    operation: Option<&'a str>,
}

fn render_error(res: ServiceResponse<BoxBody>, app: &App, error: &ErrorPage) -> ServiceResponse<BoxBody> {
    let (req, mut response) = res.into_parts();
    let locale = locale_for(&req, app.settings.default_locale);
    let page = Page {
        t: Tr::new(locale),
        csrf: String::new(),
        demo: app.settings.demo,
        path: req.path().to_owned(),
        session: None,
        staff_session: None,
        staff_name: None,
    };
    let (title, body) = error.kind.keys();
    let html = ErrorTemplate {
        t: page.t,
        page: &page,
        title: page.t.get(title),
        body: page.t.get(body),
        operation: error.operation.as_deref(),
    }
    .render()
    .unwrap_or_else(|_| "Error".to_owned());
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    let response = response.set_body(BoxBody::new(html));
    ServiceResponse::new(req, response)
}
