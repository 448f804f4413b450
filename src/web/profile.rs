//! `/profile`: API tokens and the user's own password.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;

use super::extract::Form;
use super::flash::{self, Kind};
use super::page::{Page, respond_invalid};
use super::state::AppState;
use crate::accounts;
use crate::auth::password;
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

pub async fn view_profile_get(State(state): State<AppState>, page: Page) -> Result<Response, AppError> {
    render(&state, &page, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct NewToken {
    name: String,
}

/// Shows the new token in the response itself (not via redirect + flash), so it never
/// travels in a cookie and is gone on reload.
pub async fn view_token_create_post(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<NewToken>,
) -> Result<Response, AppError> {
    let user = page.caller.user.clone();
    match accounts::create_token(&state.db, &user, &form.name, &user.email).await {
        Ok(plain) => render(&state, &page, Some(&plain), None, StatusCode::OK).await,
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
}

pub async fn view_password_post(
    State(state): State<AppState>,
    page: Page,
    Form(form): Form<ChangePassword>,
) -> Result<Response, AppError> {
    let email = page.caller.user.email.clone();
    let stored = state
        .db
        .read(move |c| users::credentials(c, &email))
        .await?
        .map(|(_, h)| h);
    if !password::verify(form.current, stored).await {
        return render(
            &state,
            &page,
            None,
            Some("The current password is wrong."),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let user = &page.caller.user;
    match accounts::reset_password(&state.db, &user.id, form.new, &user.email).await {
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
