//! CSRF defence for every state-changing browser request.
//!
//! Two checks, both required: the `Origin` (or `Referer`) must be this site when the browser
//! sends one, and the request must carry the secret token of the session (or, before login,
//! the double-submit cookie) in the `X-CSRF-Token` header (htmx) or the `_csrf` form field.
//! The pre-login token is `nonce.mac`, the MAC keyed by a key derived from the master key,
//! so a value planted by someone else (a sibling subdomain setting `pv_csrf=a`) is refused.
//! `/api/` is exempt: it authenticates by bearer token only, which a browser never adds by
//! itself.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::caller::Caller;
use super::session;
use super::token;
use crate::error::AppError;

use crate::secrets::MasterKey;

pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "_csrf";
/// Forms are small; a restore's item picker is the biggest we expect.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// A new pre-login token, signed by this server.
pub fn new_anon_token(key: &MasterKey) -> String {
    let nonce = token::generate("");
    let mac = URL_SAFE_NO_PAD.encode(key.mac(anon_message(&nonce).as_bytes()));
    format!("{nonce}.{mac}")
}

/// Whether a pre-login token was made by this server (its MAC checks out).
pub fn anon_token_is_ours(key: &MasterKey, presented: &str) -> bool {
    let Some((nonce, mac)) = presented.split_once('.') else {
        return false;
    };
    let expected = URL_SAFE_NO_PAD.encode(key.mac(anon_message(nonce).as_bytes()));
    nonce.len() >= 32 && token::equal(mac, &expected)
}

fn anon_message(nonce: &str) -> String {
    format!("pv_csrf:{nonce}")
}

pub async fn protect(State(key): State<Arc<MasterKey>>, req: Request, next: Next) -> Result<Response, AppError> {
    if is_safe(req.method()) || req.uri().path().starts_with("/api/") {
        return Ok(next.run(req).await);
    }
    if !same_origin(req.headers()) {
        return Err(rejected());
    }
    let expected = match req.extensions().get::<Caller>() {
        Some(caller) => caller.csrf_token().map(str::to_owned),
        None => session::cookie(req.headers(), session::ANON_CSRF_COOKIE)
            .filter(|t| anon_token_is_ours(&key, t))
            .map(str::to_owned),
    };
    let Some(expected) = expected.filter(|t| !t.is_empty()) else {
        return Err(rejected());
    };

    if let Some(presented) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if token::equal(presented, &expected) {
            Ok(next.run(req).await)
        } else {
            Err(rejected())
        };
    }
    // No header: look in the urlencoded form body, then hand the body on untouched.
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| AppError::BadRequest("the form is too large".into()))?;
    let presented = form_field(&bytes, FIELD);
    if !presented.is_some_and(|p| token::equal(&p, &expected)) {
        return Err(rejected());
    }
    Ok(next.run(Request::from_parts(parts, Body::from(bytes))).await)
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn rejected() -> AppError {
    AppError::Forbidden("This form has expired or did not come from this site. Reload the page and try again.".into())
}

/// The scheme-less host of an Origin or Referer must equal the Host header. Requests without
/// either (older clients, privacy settings) still need the token.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match source {
        None => true,
        Some("null") => false,
        Some(url) => {
            let rest = url.split_once("://").map_or(url, |(_, r)| r);
            rest.split('/').next() == Some(host)
        }
    }
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origin_must_match_host_when_present() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("pv.example:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://pv.example:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn the_token_is_found_in_a_form_body() {
        assert_eq!(form_field(b"a=1&_csrf=abc%2Bd&b=2", FIELD).as_deref(), Some("abc+d"));
        assert_eq!(form_field(b"a=1", FIELD), None);
    }
}
