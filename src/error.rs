//! One error type for every handler.
//!
//! A handler returns `AppError`; its `IntoResponse` only sets the status and stashes an
//! [`ErrorInfo`] in the response extensions. The `web::errors` middleware, which knows the
//! request, then renders it as JSON (`/api`), a toast fragment (htmx) or a page. Internal
//! errors are logged with their cause and shown only as "internal error".

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed input (unparseable JSON, a missing field).
    #[error("{0}")]
    BadRequest(String),
    /// No session or token, or an invalid one.
    #[error("sign in first")]
    Unauthorized,
    /// Signed in, but not allowed: also every object of a tenant the caller is not in.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Well-formed input with invalid values; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// A body over the limit of its route.
    #[error("{0}")]
    TooLarge(String),
    /// The request body did not arrive within `PV_BODY_TIMEOUT_SECS`.
    #[error("{0}")]
    BodyTimedOut(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// What the rendering middleware needs; safe to show.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl AppError {
    pub fn forbidden() -> AppError {
        AppError::Forbidden("you do not have access to this".into())
    }

    pub fn not_found(what: &str) -> AppError {
        AppError::NotFound(format!("no such {what}"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyTimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Invalid(_) => "invalid",
            AppError::TooLarge(_) => "payload_too_large",
            AppError::BodyTimedOut(_) => "timeout",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> AppError {
        AppError::Internal(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            // The cause goes to the log only; none of our error types carries a secret.
            tracing::error!(error = %format!("{cause:#}"), "internal error");
        }
        let info = ErrorInfo {
            status: self.status(),
            code: self.code(),
            message: self.to_string(),
        };
        let mut response = (info.status, info.message.clone()).into_response();
        if let AppError::TooManyRequests { retry_after_secs, .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if matches!(self, AppError::BodyTimedOut(_)) {
            // The rest of the body may still be coming: this connection is done.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response.extensions_mut().insert(info);
        response
    }
}

/// The error a request body gives when its deadline passes (see `web::deadline`).
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0} s")]
pub struct BodyTimedOut(pub u64);

impl AppError {
    /// `BodyTimedOut` when a failure to read a body was its deadline passing.
    pub fn if_body_timed_out(e: &(dyn std::error::Error + 'static)) -> Option<AppError> {
        let mut cause = Some(e);
        while let Some(c) = cause {
            if let Some(BodyTimedOut(secs)) = c.downcast_ref::<BodyTimedOut>() {
                return Some(AppError::BodyTimedOut(format!(
                    "the request body did not arrive within {secs} s; send it again over a faster link, or ask the administrator to raise PV_BODY_TIMEOUT_SECS"
                )));
            }
            cause = c.source();
        }
        None
    }
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(r: axum::extract::rejection::JsonRejection) -> AppError {
        use axum::extract::rejection::JsonRejection as J;
        if let Some(timed_out) = AppError::if_body_timed_out(&r) {
            return timed_out;
        }
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::TooLarge("the request body is larger than this endpoint accepts".into());
        }
        match r {
            // Valid JSON of the wrong shape: name the problem, as serde words it.
            J::JsonDataError(e) => AppError::Invalid(e.body_text()),
            J::MissingJsonContentType(_) => AppError::BadRequest("send Content-Type: application/json".into()),
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl From<axum::extract::rejection::FormRejection> for AppError {
    fn from(r: axum::extract::rejection::FormRejection) -> AppError {
        if let Some(timed_out) = AppError::if_body_timed_out(&r) {
            return timed_out;
        }
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::TooLarge("the form is larger than this page accepts".into());
        }
        AppError::BadRequest(r.body_text())
    }
}
