//! Sign in, sign out, and the first-run setup page.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::Markup;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::extract::Form;
use super::flash::{self, Kind};
use super::state::AppState;
use crate::accounts;
use crate::audit::{self, Event};
use crate::auth::caller::{Caller, Via};
use crate::auth::{password, session, token};
use crate::db::users;
use crate::error::AppError;
use crate::views;

/// The double-submit CSRF token for forms shown before login, and the cookie to set if the
/// browser has none yet.
fn anon_csrf(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match session::cookie(headers, session::ANON_CSRF_COOKIE) {
        Some(t) if t.len() >= 32 => (t.to_owned(), None),
        _ => {
            let t = token::generate("");
            let cookie = session::set_cookie(session::ANON_CSRF_COOKIE, &t, false, None);
            (t, Some(cookie))
        }
    }
}

fn html_with_cookie(status: StatusCode, markup: Markup, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    let mut res = (status, Html(markup.into_string())).into_response();
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// Only same-site paths: an open redirect would turn our login page into a phishing tool.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
}

async fn no_users_yet(state: &AppState) -> Result<bool, AppError> {
    Ok(state.db.read(users::count).await? == 0)
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn view_login_get(
    State(state): State<AppState>,
    caller: Option<Caller>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    if no_users_yet(&state).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    if caller.is_some() {
        return Ok(Redirect::to(safe_next(q.next.as_deref())).into_response());
    }
    let (csrf, cookie) = anon_csrf(&headers);
    let flash_msg = flash::take(&headers).map(|f| (f.kind.class(), f.message));
    let clear = flash_msg.as_ref().map(|_| flash::clear_cookie());
    let page = views::account::login(&csrf, "", safe_next(q.next.as_deref()), None, flash_msg);
    Ok(html_with_cookie(StatusCode::OK, page, cookie.into_iter().chain(clear)))
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: SecretString,
    next: Option<String>,
}

pub async fn view_login_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let (csrf, _) = anon_csrf(&headers);
    let email = form.email.trim().to_lowercase();
    let next = safe_next(form.next.as_deref()).to_owned();
    let refuse = |status, message: &str| {
        html_with_cookie(
            status,
            views::account::login(&csrf, &email, &next, Some(message), None),
            None,
        )
    };

    if let Err(wait) = state.throttle.check(&email, peer.ip()) {
        let minutes = wait.as_secs().div_ceil(60);
        let mut res = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many failed sign-ins. Try again in {minutes} minute(s), or ask an administrator to reset the password."
            ),
        );
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return Ok(res);
    }

    let lookup = email.clone();
    let found = state.db.read(move |c| users::credentials(c, &lookup)).await?;
    let (user, stored) = match found {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    let ok = password::verify(form.password, stored).await;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        other => {
            let reason = match other {
                Some(u) if ok && u.disabled => "disabled",
                Some(_) => "wrong_password",
                None => "unknown_user",
            };
            if reason != "disabled" {
                state.throttle.record_failure(&email, peer.ip());
            }
            record_login(
                &state,
                &email,
                "login.failed",
                json!({"reason": reason, "address": peer.ip().to_string()}),
            )
            .await?;
            let message = if reason == "disabled" {
                "This account is disabled."
            } else {
                "Wrong email or password."
            };
            return Ok(refuse(StatusCode::UNAUTHORIZED, message));
        }
    };
    state.throttle.record_success(&email);
    record_login(
        &state,
        &user.email,
        "login.succeeded",
        json!({"user_id": user.id, "address": peer.ip().to_string()}),
    )
    .await?;
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookie = session::create(&state.db, &user.id, ua).await?;
    let mut res = Redirect::to(&next).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(session::COOKIE, &cookie, state.settings.secure_cookies, None),
    );
    Ok(res)
}

async fn record_login(
    state: &AppState,
    actor: &str,
    action: &'static str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let actor = actor.to_owned();
    state
        .db
        .write(move |tx| {
            audit::record(
                tx,
                &Event {
                    tenant_id: None,
                    actor: &actor,
                    action,
                    run_id: None,
                    details,
                },
            )
        })
        .await?;
    Ok(())
}

pub async fn view_logout_post(State(state): State<AppState>, caller: Option<Caller>) -> Result<Response, AppError> {
    if let Some(Caller {
        via: Via::Session(s), ..
    }) = caller
    {
        session::end(&state.db, s.token_hash).await?;
    }
    let mut res = flash::redirect("/login", Kind::Info, "You are signed out.");
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(session::COOKIE, "", state.settings.secure_cookies, Some(0)),
    );
    Ok(res)
}

pub async fn view_setup_get(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if !no_users_yet(&state).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let (csrf, cookie) = anon_csrf(&headers);
    Ok(html_with_cookie(
        StatusCode::OK,
        views::account::setup(&csrf, "", None),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct SetupForm {
    email: String,
    password: SecretString,
    password_repeat: SecretString,
}

pub async fn view_setup_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    use secrecy::ExposeSecret;
    let (csrf, _) = anon_csrf(&headers);
    let invalid = |message: &str| {
        html_with_cookie(
            StatusCode::UNPROCESSABLE_ENTITY,
            views::account::setup(&csrf, &form.email, Some(message)),
            None,
        )
    };
    if form.password.expose_secret() != form.password_repeat.expose_secret() {
        return Ok(invalid("The two passwords differ."));
    }
    let user = match accounts::create_first_superadmin(&state.db, &form.email, form.password.clone()).await {
        Ok(u) => u,
        Err(AppError::Invalid(m)) => return Ok(invalid(&m)),
        Err(AppError::Conflict(_)) => return Ok(Redirect::to("/login").into_response()),
        Err(e) => return Err(e),
    };
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let cookie = session::create(&state.db, &user.id, ua).await?;
    let mut res = flash::redirect(
        "/",
        Kind::Ok,
        "Your administrator account is ready. Add your first tenant.",
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(session::COOKIE, &cookie, state.settings.secure_cookies, None),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/t/abc")), "/t/abc");
        for evil in ["//evil.example", "https://evil.example", "/\\evil.example", "evil"] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
