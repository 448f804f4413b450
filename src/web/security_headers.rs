//! Headers every response carries, and the tracing span of a request.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// No inline script or style anywhere, so the CSP can forbid both: an injected `<script>`
/// in a policy name would not run even if escaping failed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub async fn add(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages hold tenant data: never keep them in shared caches.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// With `PV_SECURE_COOKIES`, every cookie we set is `Secure`, whichever handler set it (the
/// session, the pre-login CSRF token, flash messages): one place, so a new cookie cannot
/// forget the flag.
pub async fn secure_cookies(State(state): State<crate::web::state::AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if !state.settings.secure_cookies {
        return res;
    }
    let all: Vec<HeaderValue> = res.headers().get_all(header::SET_COOKIE).iter().cloned().collect();
    res.headers_mut().remove(header::SET_COOKIE);
    for v in all {
        let secured = match v.to_str() {
            Ok(s) if !s.split(';').any(|a| a.trim().eq_ignore_ascii_case("secure")) => {
                HeaderValue::from_str(&format!("{s}; Secure")).unwrap_or(v)
            }
            _ => v,
        };
        res.headers_mut().append(header::SET_COOKIE, secured);
    }
    res
}

/// Method and route only: the route's template (`/invite/{token}`), never the path itself,
/// which can hold a credential (an invitation link's token), nor the query string or
/// headers. This works because `Router::layer` wraps each route, after axum has matched it
/// and set [`MatchedPath`]; a request no route matched is logged without its path, as it
/// may be a mistyped link with a token in it.
pub fn request_span(req: &Request) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(no route)", MatchedPath::as_str);
    tracing::info_span!("request", method = %req.method(), path = %route)
}
