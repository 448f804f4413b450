//! CSRF defence for every state-changing browser request.
//!
//! Two checks, both required: the `Origin` (or `Referer`) must be this site when the browser
//! sends one, and the request must carry the secret token of the session (or, before login,
//! the double-submit cookie) in the `X-CSRF-Token` header (htmx) or the `_csrf` form field.
//! The pre-login token is `nonce.expires.mac`, the MAC keyed by a key derived from the
//! master key, so a value planted by someone else (a sibling subdomain setting `pv_csrf=a`)
//! is refused, and one taken from a browser stops working within hours. Each accepted
//! pre-login form gets a fresh token (cookie and the form shown next), so a token is used
//! once by the browser it was made for. Forms shown before sign-in are a few KiB: more is
//! refused before it is read.
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
/// Sign-in, setup and invitation forms: an e-mail address and two passwords fit many times.
pub const MAX_PRE_LOGIN_FORM_BYTES: usize = 8 * 1024;
/// How long a pre-login token is accepted: a login page left open longer asks for a reload.
pub const ANON_TOKEN_LIFETIME_SECS: i64 = 12 * 3600;

/// A new pre-login token, signed by this server.
pub fn new_anon_token(key: &MasterKey) -> String {
    anon_token_expiring(key, chrono::Utc::now().timestamp() + ANON_TOKEN_LIFETIME_SECS)
}

fn anon_token_expiring(key: &MasterKey, expires: i64) -> String {
    let nonce = token::generate("");
    let mac = URL_SAFE_NO_PAD.encode(key.mac(anon_message(&nonce, expires).as_bytes()));
    format!("{nonce}.{expires}.{mac}")
}

/// Whether a pre-login token was made by this server (its MAC checks out) and has not
/// expired.
pub fn anon_token_is_ours(key: &MasterKey, presented: &str) -> bool {
    let mut parts = presented.splitn(3, '.');
    let (Some(nonce), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    let now = chrono::Utc::now().timestamp();
    let expected = URL_SAFE_NO_PAD.encode(key.mac(anon_message(nonce, expires).as_bytes()));
    nonce.len() >= 32 && expires > now && token::equal(mac, &expected)
}

fn anon_message(nonce: &str, expires: i64) -> String {
    format!("pv_csrf:{nonce}:{expires}")
}

/// The pre-login token that replaces the one a request used: handlers that show a form
/// again put it in the form, and [`protect`] sets it as the cookie.
#[derive(Debug, Clone)]
pub struct Rotated(pub String);

pub async fn protect(State(key): State<Arc<MasterKey>>, req: Request, next: Next) -> Result<Response, AppError> {
    if is_safe(req.method()) || req.uri().path().starts_with("/api/") {
        return Ok(next.run(req).await);
    }
    if !same_origin(req.headers()) {
        return Err(rejected());
    }
    let signed_in = req.extensions().get::<Caller>().is_some();
    let expected = match req.extensions().get::<Caller>() {
        Some(caller) => caller.csrf_token().map(str::to_owned),
        None => session::cookie(req.headers(), session::ANON_CSRF_COOKIE)
            .filter(|t| anon_token_is_ours(&key, t))
            .map(str::to_owned),
    };
    let Some(expected) = expected.filter(|t| !t.is_empty()) else {
        return Err(rejected());
    };
    let limit = if signed_in {
        MAX_FORM_BYTES
    } else {
        MAX_PRE_LOGIN_FORM_BYTES
    };
    // Refused before a byte is read wherever this layer reads the body itself.
    let over_limit = declared_length(req.headers()).is_some_and(|n| n > limit as u64);

    let in_header = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let req = match in_header {
        Some(presented) if token::equal(&presented, &expected) => {
            if signed_in {
                // Large bodies (an import) pass on unread; their route has its own limit.
                req
            } else if over_limit {
                return Err(too_large(signed_in));
            } else {
                let (parts, body) = req.into_parts();
                let bytes = read_form(body, limit, signed_in).await?;
                Request::from_parts(parts, Body::from(bytes))
            }
        }
        Some(_) => return Err(rejected()),
        None => {
            // Without the header the token can only be in a urlencoded form; anything else
            // (a multipart upload) is refused before a byte of it is read.
            if !is_urlencoded(req.headers()) {
                return Err(rejected());
            }
            if over_limit {
                return Err(too_large(signed_in));
            }
            let (parts, body) = req.into_parts();
            let bytes = read_form(body, limit, signed_in).await?;
            let presented = form_field(&bytes, FIELD);
            if !presented.is_some_and(|p| token::equal(&p, &expected)) {
                return Err(rejected());
            }
            Request::from_parts(parts, Body::from(bytes))
        }
    };
    if signed_in {
        return Ok(next.run(req).await);
    }
    let fresh = new_anon_token(&key);
    let mut req = req;
    req.extensions_mut().insert(Rotated(fresh.clone()));
    let mut res = next.run(req).await;
    // `secure_cookies` adds `Secure` where the deployment asks for it.
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(session::ANON_CSRF_COOKIE, &fresh, false, None),
    );
    Ok(res)
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn is_urlencoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

async fn read_form(body: Body, limit: usize, signed_in: bool) -> Result<axum::body::Bytes, AppError> {
    to_bytes(body, limit).await.map_err(|e| {
        if let Some(timed_out) = AppError::if_body_timed_out(&e) {
            return timed_out;
        }
        if is_over_limit(&e) {
            too_large(signed_in)
        } else {
            AppError::BadRequest(format!("the form could not be read: {e}"))
        }
    })
}

fn is_over_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

fn too_large(signed_in: bool) -> AppError {
    if signed_in {
        AppError::TooLarge("the form is larger than this page accepts".into())
    } else {
        AppError::TooLarge(format!(
            "a sign-in form takes at most {} KiB",
            MAX_PRE_LOGIN_FORM_BYTES / 1024
        ))
    }
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

    fn key() -> MasterKey {
        MasterKey::load_or_create(std::path::Path::new("/nonexistent"), Some(&"ab".repeat(32))).expect("key")
    }

    /// Issue 20, low finding: a pre-login token carries its expiry inside its MAC.
    #[test]
    fn a_pre_login_token_expires_and_its_expiry_cannot_be_moved() {
        let key = key();
        let fresh = new_anon_token(&key);
        assert!(anon_token_is_ours(&key, &fresh));
        let now = chrono::Utc::now().timestamp();
        let expired = anon_token_expiring(&key, now - 1);
        assert!(!anon_token_is_ours(&key, &expired), "an expired token is refused");
        let mut parts: Vec<&str> = expired.split('.').collect();
        let later = (now + 3600).to_string();
        parts[1] = &later;
        assert!(
            !anon_token_is_ours(&key, &parts.join(".")),
            "a moved expiry breaks the MAC"
        );
        let other =
            MasterKey::load_or_create(std::path::Path::new("/nonexistent"), Some(&"cd".repeat(32))).expect("key");
        assert!(!anon_token_is_ours(&other, &fresh), "another server's token is refused");
        assert!(!anon_token_is_ours(&key, "a.b"), "the old two-part shape is refused");
    }

    #[test]
    fn the_token_is_found_in_a_form_body() {
        assert_eq!(form_field(b"a=1&_csrf=abc%2Bd&b=2", FIELD).as_deref(), Some("abc+d"));
        assert_eq!(form_field(b"a=1", FIELD), None);
    }
}
