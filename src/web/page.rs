//! What every page knows about the person looking at it: their language, the CSRF token for its
//! forms, whether this is the demo, and their requester session if they have one.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::PageError;
use crate::app::App;
use crate::crypto::{constant_time_eq, keyed_hash};
use crate::domain::Locale;
use crate::i18n::Tr;

pub const LANG_COOKIE: &str = "dossier_lang";

/// The requester session cookie. Over HTTPS it carries the `__Host-` prefix, so no other site on
/// a sibling domain can plant one.
pub fn session_cookie(secure: bool) -> &'static str {
    if secure { "__Host-dossier_session" } else { "dossier_session" }
}

/// The staff session cookie (SameSite=Strict: nothing outside Dossier ever links into a staff action).
pub fn staff_cookie(secure: bool) -> &'static str {
    if secure { "__Host-dossier_staff" } else { "dossier_staff" }
}

/// The CSRF seed cookie, named like the session cookie.
pub fn csrf_cookie(secure: bool) -> &'static str {
    if secure { "__Host-dossier_csrf" } else { "dossier_csrf" }
}

/// The CSRF seed of this browser, put in the request by the middleware (new or from the cookie).
#[derive(Clone)]
pub struct CsrfSeed(pub String);

pub struct Page {
    pub t: Tr,
    pub csrf: String,
    pub demo: bool,
    pub path: String,
    /// The requester session cookie's value.
    pub session: Option<String>,
    /// The staff session cookie's value.
    pub staff_session: Option<String>,
    /// Set on staff pages once the session is checked: the navigation shows it.
    pub staff_name: Option<String>,
}

/// The person's language: `?lang=`, then the cookie the switcher set, then `Accept-Language`,
/// then the configured default.
pub fn locale_for(req: &HttpRequest, default: Locale) -> Locale {
    let from_query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("lang").and_then(|l| Locale::from_tag(l)));
    from_query
        .or_else(|| req.cookie(LANG_COOKIE).and_then(|c| Locale::from_tag(c.value())))
        .or_else(|| {
            req.headers().get("accept-language").and_then(|h| h.to_str().ok()).and_then(Locale::from_accept_language)
        })
        .unwrap_or(default)
}

pub fn csrf_token(app: &App, seed: &str) -> String {
    keyed_hash(&app.keys.csrf, seed.as_bytes())[..32].to_owned()
}

impl Page {
    pub fn from_request(req: &HttpRequest) -> Result<Page, PageError> {
        let app = req.app_data::<web::Data<App>>().ok_or_else(|| anyhow::anyhow!("application state missing"))?;
        let seed =
            req.extensions().get::<CsrfSeed>().cloned().ok_or_else(|| anyhow::anyhow!("CSRF middleware missing"))?;
        Ok(Page {
            t: Tr::new(locale_for(req, app.settings.default_locale)),
            csrf: csrf_token(app, &seed.0),
            demo: app.settings.demo,
            path: req.path().to_owned(),
            session: req.cookie(session_cookie(app.settings.cookie_secure())).map(|c| c.value().to_owned()),
            staff_session: req.cookie(staff_cookie(app.settings.cookie_secure())).map(|c| c.value().to_owned()),
            staff_name: None,
        })
    }

    /// Every POST form carries the token; a mismatch changes nothing and says why.
    pub fn check_csrf(&self, token: &str) -> Result<(), PageError> {
        if constant_time_eq(self.csrf.as_bytes(), token.as_bytes()) { Ok(()) } else { Err(PageError::FORBIDDEN) }
    }

    pub fn locale(&self) -> Locale {
        self.t.locale
    }

    /// This page in the other language: a query-only link, so it never leaves this site whatever
    /// the path looked like.
    pub fn switch_url(&self) -> String {
        format!("?lang={}", self.switch_lang())
    }

    pub fn switch_label(&self) -> &'static str {
        match self.t.locale {
            Locale::En => "Français",
            Locale::Fr => "English",
        }
    }

    pub fn switch_lang(&self) -> &'static str {
        match self.t.locale {
            Locale::En => "fr",
            Locale::Fr => "en",
        }
    }
}

impl FromRequest for Page {
    type Error = PageError;
    type Future = Ready<Result<Page, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Page::from_request(req))
    }
}
