//! Renders every `AppError` for whoever asked: JSON under `/api`, a toast for htmx, a page
//! otherwise; a page request without a session is sent to the login page instead.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::error::ErrorInfo;
use crate::views;

pub async fn render(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let is_htmx = req.headers().contains_key("hx-request");
    let back_to = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default();
    let res = next.run(req).await;
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
    let allow = res.headers().get(header::ALLOW).cloned();
    let info = match res.extensions().get::<ErrorInfo>().cloned() {
        Some(info) => info,
        // Errors axum or a layer produced without our type (a query the extractor rejects,
        // 405 for a known path with another method, a body over the limit): under /api they
        // still get the contract's JSON shape.
        None if is_api && (res.status().is_client_error() || res.status().is_server_error()) => {
            foreign_error(res).await
        }
        None => return res,
    };

    let mut out = if is_api {
        (
            info.status,
            Json(json!({"error": {"code": info.code, "message": info.message}})),
        )
            .into_response()
    } else if info.status == StatusCode::UNAUTHORIZED {
        let login = format!("/login?next={}", urlencode(&back_to));
        if is_htmx {
            let mut r = StatusCode::UNAUTHORIZED.into_response();
            if let Ok(v) = HeaderValue::from_str(&login) {
                r.headers_mut().insert("hx-redirect", v);
            }
            r
        } else {
            Redirect::to(&login).into_response()
        }
    } else if is_htmx {
        let mut r = (info.status, views::errors::toast(&info.message)).into_response();
        r.headers_mut()
            .insert("hx-retarget", HeaderValue::from_static("#pv-toasts"));
        r.headers_mut()
            .insert("hx-reswap", HeaderValue::from_static("beforeend"));
        r
    } else {
        (info.status, views::errors::page(info.status, &info.message)).into_response()
    };
    if let Some(v) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, v);
    }
    if let Some(v) = allow {
        out.headers_mut().insert(header::ALLOW, v);
    }
    out
}

/// Any address no route serves: the same 404 page as every other error (axum's own answer has
/// no body, so the browser showed its "HTTP ERROR 404" page instead of ours).
pub async fn no_such_page() -> crate::error::AppError {
    crate::error::AppError::NotFound("there is no page at this address".into())
}

/// An `ErrorInfo` for an error response we did not make, keeping its status and, when it is
/// a short plain text (axum's rejections are), its message.
async fn foreign_error(res: Response) -> ErrorInfo {
    let status = res.status();
    let is_text = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let text = if is_text {
        axum::body::to_bytes(res.into_body(), 2048)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .filter(|t| !t.trim().is_empty())
    } else {
        None
    };
    let (code, fallback) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "sign in first"),
        StatusCode::FORBIDDEN => ("forbidden", "you do not have access to this"),
        StatusCode::NOT_FOUND => ("not_found", "no such API endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this endpoint does not accept this method"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long to arrive"),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the request body is larger than this endpoint accepts",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "send Content-Type: application/json"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid", "the request has invalid values"),
        StatusCode::TOO_MANY_REQUESTS => ("too_many_requests", "too many requests; try again later"),
        s if s.is_server_error() => ("internal", "internal error"),
        _ => ("error", "the request failed"),
    };
    // A server error's text could describe internals: only our fixed words for those.
    let message = match text {
        Some(t) if !status.is_server_error() => t.trim().chars().take(500).collect(),
        _ => fallback.to_owned(),
    };
    ErrorInfo { status, code, message }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
