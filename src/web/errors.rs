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
    let Some(info) = res.extensions().get::<ErrorInfo>().cloned() else {
        return res;
    };
    let retry_after = res.headers().get(header::RETRY_AFTER).cloned();

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
    out
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
