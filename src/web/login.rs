//! Sign in, sign out, and the first-run setup page.

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::Markup;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::extract::{ClientIp, Form};
use super::flash::{self, Kind};
use super::state::AppState;
use crate::accounts;
use crate::audit::{self, Event};
use crate::auth::caller::{Caller, Via};
use crate::auth::throttle::Refusal;
use crate::auth::{csrf, password, session};
use crate::db::users;
use crate::error::AppError;
use crate::views;

/// The double-submit CSRF token for forms shown before login, and the cookie to set if the
/// browser has none yet (or one we did not sign: a planted value is replaced, not reused).
pub(super) fn anon_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match session::cookie(headers, session::ANON_CSRF_COOKIE) {
        Some(t) if csrf::anon_token_is_ours(&state.key, t) => (t.to_owned(), None),
        _ => {
            let t = csrf::new_anon_token(&state.key);
            let cookie = session::set_cookie(session::ANON_CSRF_COOKIE, &t, state.settings.secure_cookies, None);
            (t, Some(cookie))
        }
    }
}

/// The token for a form shown again in answer to a pre-login POST: the one `csrf::protect`
/// rotated in (it also sets it as the cookie), else the browser's own.
pub(super) fn form_csrf(state: &AppState, headers: &HeaderMap, rotated: Option<Extension<csrf::Rotated>>) -> String {
    match rotated {
        Some(Extension(csrf::Rotated(t))) => t,
        None => anon_csrf(state, headers).0,
    }
}

fn html_with_cookie(status: StatusCode, markup: Markup, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    let mut res = (status, Html(markup.into_string())).into_response();
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

/// Only paths of this site: an open redirect would turn our login page into a phishing tool.
///
/// Judged the way a browser reads the value: browsers drop tab, CR and LF anywhere in a URL
/// (so `/\t/evil.example` is `//evil.example`) and treat `\` like `/`. The value is resolved
/// against a placeholder origin and kept only if it stays on that origin; what is returned
/// is the resolved, percent-encoded path and query, always a valid `Location` header.
fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/";
    let Some(raw) = next else {
        return HOME.to_owned();
    };
    let cleaned: String = raw.chars().filter(|c| !matches!(c, '\t' | '\r' | '\n')).collect();
    if !cleaned.starts_with('/') || cleaned.chars().any(char::is_control) {
        return HOME.to_owned();
    }
    let Ok(base) = reqwest::Url::parse("http://policyvault.invalid/") else {
        return HOME.to_owned();
    };
    match base.join(&cleaned) {
        // The resolved path is checked too: `/.//evil.example` resolves to `//evil.example`,
        // which a browser reads as another host.
        Ok(url)
            if url.origin() == base.origin()
                && !cleaned.starts_with("//")
                && !cleaned.starts_with("/\\")
                && !url.path().starts_with("//") =>
        {
            let mut out = url.path().to_owned();
            if let Some(q) = url.query() {
                out.push('?');
                out.push_str(q);
            }
            out
        }
        _ => HOME.to_owned(),
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
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    let (csrf, cookie) = anon_csrf(&state, &headers);
    let flash_msg = flash::take(&headers).map(|f| (f.kind.class(), f.message));
    let clear = flash_msg.as_ref().map(|_| flash::clear_cookie());
    let page = views::account::login(&csrf, "", &safe_next(q.next.as_deref()), None, flash_msg);
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
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    rotated: Option<Extension<csrf::Rotated>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let csrf = form_csrf(&state, &headers, rotated);
    let email = form.email.trim().to_lowercase();
    let next = safe_next(form.next.as_deref());
    let refuse = |status, message: &str| {
        html_with_cookie(
            status,
            views::account::login(&csrf, &email, &next, Some(message), None),
            None,
        )
    };

    let attempt = match state.throttle.begin(&email, client) {
        Ok(attempt) => attempt,
        Err(refusal) => {
            let message = match refusal {
                Refusal::Locked(wait) => format!(
                    "Too many failed sign-ins. Try again in {} minute(s), or ask an administrator to reset the password.",
                    wait.as_secs().div_ceil(60)
                ),
                Refusal::Busy => {
                    "Too many sign-ins for this account at once. Wait a few seconds and try again.".to_owned()
                }
            };
            let mut res = refuse(StatusCode::TOO_MANY_REQUESTS, &message);
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(refusal.wait().as_secs().max(1)));
            return Ok(res);
        }
    };
    attempt.wait_turn().await;

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
            // A disabled account answers exactly like a wrong password (and counts like
            // one): saying "disabled" would confirm the password to whoever guessed it.
            // The audit log keeps the real reason for administrators.
            attempt.failed();
            record_login(
                &state,
                &email,
                "login.failed",
                json!({"reason": reason, "address": client.to_string()}),
            )
            .await?;
            return Ok(refuse(StatusCode::UNAUTHORIZED, "Wrong email or password."));
        }
    };
    attempt.succeeded();
    record_login(
        &state,
        &user.email,
        "login.succeeded",
        json!({"user_id": user.id, "address": client.to_string()}),
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
    let (csrf, cookie) = anon_csrf(&state, &headers);
    Ok(html_with_cookie(
        StatusCode::OK,
        views::account::setup(&csrf, "", "", None),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct SetupForm {
    /// Absent is the same as wrong: the form is re-shown saying where the code is.
    #[serde(default)]
    setup_code: String,
    email: String,
    password: SecretString,
    password_repeat: SecretString,
}

pub async fn view_setup_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    rotated: Option<Extension<csrf::Rotated>>,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    use secrecy::ExposeSecret;
    let csrf = form_csrf(&state, &headers, rotated);
    if !state.setup_code.matches(&form.setup_code) {
        if !no_users_yet(&state).await? {
            return Ok(Redirect::to("/login").into_response());
        }
        tracing::warn!("first-run setup refused: wrong setup code");
        return Ok(html_with_cookie(
            StatusCode::FORBIDDEN,
            views::account::setup(
                &csrf,
                "",
                &form.email,
                Some(
                    "That is not this server's setup code. It is in the server's log from its latest start (the line “no account exists yet”, its setup_code); every start makes a new one.",
                ),
            ),
            None,
        ));
    }
    let invalid = |message: &str| {
        html_with_cookie(
            StatusCode::UNPROCESSABLE_ENTITY,
            views::account::setup(&csrf, &form.setup_code, &form.email, Some(message)),
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
        assert_eq!(safe_next(Some("/t/abc?x=1")), "/t/abc?x=1");
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            "/\t\\evil.example",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(None), "/");
    }

    /// Issue 20, low finding: dot segments that resolve to `//host` leave the site.
    #[test]
    fn dot_segments_that_resolve_to_another_host_are_not_followed() {
        for evil in [
            "/.//evil.example",
            "/..//evil.example",
            "/%2e%2e//evil.example",
            "/%2E//evil.example",
            "/a/..//evil.example",
            "/./\\evil.example",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(Some("/t/x/../y")), "/t/y");
    }
}
