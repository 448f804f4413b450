//! `/profile`: API tokens and the user's own password.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::extract::{ClientIp, Form};
use super::flash::{self, Kind};
use super::page::{Page, respond_invalid};
use super::state::AppState;
use crate::accounts;
use crate::auth::password;
use crate::auth::throttle::Refusal;
use crate::db::{tokens, users};
use crate::error::AppError;
use crate::views;

async fn render(
    state: &AppState,
    page: &Page,
    new_token: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let user_id = page.caller.user.id.clone();
    let list = state.db.read(move |c| tokens::list_for_user(c, &user_id)).await?;
    Ok(respond_invalid(
        &page.nav,
        views::account::profile(&page.nav, &list, new_token, error),
        status,
    ))
}

#[derive(Deserialize)]
pub struct NewToken {
    name: String,
}

/// New tokens waiting to be shown once, in memory only: the creating POST redirects (so a
/// reload cannot make a second token) to `/profile?new=<one-time id>`, whose GET takes the
/// token out. It never travels in a cookie or a URL, and is gone on reload or restart.
#[derive(Default)]
pub struct ShownOnce {
    waiting: std::sync::Mutex<std::collections::HashMap<String, (String, String, std::time::Instant)>>,
}

/// How long a new token waits for its page.
const SHOW_WITHIN: std::time::Duration = std::time::Duration::from_secs(120);

impl ShownOnce {
    pub(crate) fn put(&self, user_id: &str, token: String) -> Option<String> {
        let id = crate::auth::token::generate("show_");
        let mut waiting = self.waiting.lock().ok()?;
        waiting.retain(|_, (_, _, at)| at.elapsed() < SHOW_WITHIN);
        waiting.insert(id.clone(), (user_id.to_owned(), token, std::time::Instant::now()));
        Some(id)
    }

    pub(crate) fn take(&self, user_id: &str, id: &str) -> Option<String> {
        let mut waiting = self.waiting.lock().ok()?;
        let (owner, token, at) = waiting.remove(id)?;
        (owner == user_id && at.elapsed() < SHOW_WITHIN).then_some(token)
    }
}

#[derive(Deserialize)]
pub struct ProfileQuery {
    new: Option<String>,
}

pub async fn view_profile_get(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, AppError> {
    let shown = q
        .new
        .as_deref()
        .and_then(|id| state.shown_once.take(&page.caller.user.id, id));
    render(&state, &page, shown.as_deref(), None, StatusCode::OK).await
}

/// Creates the token, then redirects to the page that shows it once (POST-redirect-GET).
pub async fn view_token_create_post(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<NewToken>,
) -> Result<Response, AppError> {
    let user = page.caller.user.clone();
    match accounts::create_token(&state.db, &user, &form.name, &user.email).await {
        Ok(plain) => match state.shown_once.put(&user.id, plain) {
            Some(id) => Ok(axum::response::Redirect::to(&format!("/profile?new={id}")).into_response()),
            None => Err(AppError::Internal(anyhow::anyhow!(
                "the new-token store is unavailable"
            ))),
        },
        Err(AppError::Invalid(m)) => render(&state, &page, None, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => Err(e),
    }
}

pub async fn view_token_revoke_post(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    accounts::revoke_token(&state.db, &page.caller.user, &id).await?;
    Ok(flash::redirect("/profile", Kind::Ok, "Token revoked."))
}

#[derive(Deserialize)]
pub struct ChangePassword {
    current: SecretString,
    new: SecretString,
    /// A ticked checkbox sends "on"; an unticked one sends nothing.
    revoke_tokens: Option<String>,
}

/// Throttled like the login form: a stolen session must not become a way to guess the
/// account's password (which may be reused elsewhere) at full speed.
pub async fn view_password_post(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    page: Page,
    Form(form): Form<ChangePassword>,
) -> Result<Response, AppError> {
    let email = page.caller.user.email.clone();
    let attempt = match state.throttle.begin(&email, client) {
        Ok(attempt) => attempt,
        Err(refusal) => {
            let message = match refusal {
                Refusal::Locked(wait) => format!(
                    "Too many wrong passwords. Try again in {} minute(s).",
                    wait.as_secs().div_ceil(60)
                ),
                Refusal::Busy => "Too many password changes at once. Wait a few seconds and try again.".to_owned(),
            };
            let mut res = render(&state, &page, None, Some(&message), StatusCode::TOO_MANY_REQUESTS).await?;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(refusal.wait().as_secs().max(1)));
            return Ok(res);
        }
    };
    attempt.wait_turn().await;
    let lookup = email.clone();
    let stored = state
        .db
        .read(move |c| users::credentials(c, &lookup))
        .await?
        .map(|(_, h)| h);
    if !password::verify(form.current, stored).await {
        attempt.failed();
        return render(
            &state,
            &page,
            None,
            Some("The current password is wrong."),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    attempt.succeeded();
    let user = &page.caller.user;
    let revoke = form.revoke_tokens.is_some();
    match accounts::reset_password(&state.db, &user.id, form.new, revoke, &user.email).await {
        // Every session ended with the change, this one too: sign in again with the new one.
        Ok(()) => Ok(flash::redirect(
            "/login",
            Kind::Ok,
            "Password changed. Sign in with the new password.",
        )),
        Err(AppError::Invalid(m)) => render(&state, &page, None, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => Err(e),
    }
}
