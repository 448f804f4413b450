//! One-shot messages shown on the next page ("Tenant created."), carried in a short-lived
//! cookie across the redirect that follows a form post.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::auth::session;

const COOKIE: &str = "pv_flash";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Ok,
    Info,
    Error,
}

impl Kind {
    pub fn class(self) -> &'static str {
        match self {
            Kind::Ok => "ok",
            Kind::Info => "info",
            Kind::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: Kind,
    pub message: String,
}

/// A 303 to `to` that shows `message` there.
pub fn redirect(to: &str, kind: Kind, message: impl Into<String>) -> Response {
    let flash = Flash {
        kind,
        message: message.into(),
    };
    let value = serde_json::to_vec(&flash)
        .map(|json| URL_SAFE_NO_PAD.encode(json))
        .unwrap_or_default();
    let mut res = Redirect::to(to).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, session::set_cookie(COOKIE, &value, false, Some(60)));
    res
}

/// The pending flash message, if any (rendered escaped like any other text).
pub fn take(headers: &HeaderMap) -> Option<Flash> {
    let raw = session::cookie(headers, COOKIE)?;
    let json = URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Clears the cookie once the message has been shown.
pub fn clear_cookie() -> HeaderValue {
    session::set_cookie(COOKIE, "", false, Some(0))
}
