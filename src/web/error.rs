//! The error policy of the web edge.
//!
//! A handler returns [`PageError`]; it picks the status and a message key, and the page itself is
//! rendered afterwards by [`super::middleware`], which knows the person's language. The person
//! reads a clear sentence that says what to do next; the log keeps the cause chain under an
//! operation id that the page also shows. Nothing from the input is echoed back unescaped, and no
//! error changes anything: handlers fail before they write, or inside a transaction.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    /// The form's CSRF token or the request's origin did not match.
    Forbidden,
    /// The staff member's role does not allow this page or action.
    NotAllowed,
    BadForm,
    TooLarge,
    TooMany,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden | ErrorKind::NotAllowed => StatusCode::FORBIDDEN,
            ErrorKind::BadForm => StatusCode::BAD_REQUEST,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Catalog keys of the page's title and message.
    pub fn keys(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::NotFound => ("common.error.not_found.title", "common.error.not_found.body"),
            ErrorKind::Forbidden => ("common.error.forbidden.title", "common.error.forbidden.body"),
            ErrorKind::NotAllowed => ("common.error.not_allowed.title", "common.error.not_allowed.body"),
            ErrorKind::BadForm => ("common.error.bad_form.title", "common.error.bad_form.body"),
            ErrorKind::TooLarge => ("common.error.too_large.title", "common.error.too_large.body"),
            ErrorKind::TooMany => ("common.error.too_many.title", "common.error.too_many.body"),
            ErrorKind::Internal => ("common.error.internal.title", "common.error.internal.body"),
        }
    }
}

/// Carried in the response's extensions until the middleware renders the page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub kind: ErrorKind,
    pub operation: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0:?}")]
    Kind(ErrorKind),
    #[error("internal error {operation}: {cause:#}")]
    Internal { operation: String, cause: anyhow::Error },
    /// Not an error for the person: go there first (e.g. the staff login).
    #[error("redirect to {0}")]
    Redirect(String),
}

impl PageError {
    pub const NOT_FOUND: PageError = PageError::Kind(ErrorKind::NotFound);
    pub const FORBIDDEN: PageError = PageError::Kind(ErrorKind::Forbidden);
    pub const BAD_FORM: PageError = PageError::Kind(ErrorKind::BadForm);
    pub const TOO_MANY: PageError = PageError::Kind(ErrorKind::TooMany);
    pub const NOT_ALLOWED: PageError = PageError::Kind(ErrorKind::NotAllowed);
}

impl From<anyhow::Error> for PageError {
    fn from(cause: anyhow::Error) -> Self {
        let operation = crate::crypto::new_id()[..12].to_owned();
        tracing::error!(operation = %operation, error = %format!("{cause:#}"), "request failed");
        PageError::Internal { operation, cause }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Kind(k) => k.status(),
            PageError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            PageError::Redirect(_) => StatusCode::SEE_OTHER,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let page = match self {
            PageError::Kind(kind) => ErrorPage { kind: *kind, operation: None },
            PageError::Internal { operation, .. } => {
                ErrorPage { kind: ErrorKind::Internal, operation: Some(operation.clone()) }
            }
            PageError::Redirect(to) => {
                return HttpResponse::SeeOther().insert_header(("Location", to.as_str())).finish();
            }
        };
        let mut res = HttpResponse::build(self.status_code()).finish();
        res.extensions_mut().insert(page);
        res
    }
}
