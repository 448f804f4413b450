//! `/admin/users`: superadmins manage accounts.

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
use crate::auth::caller::Superadmin;
use crate::db::users;
use crate::error::AppError;
use crate::views;

async fn render(state: &AppState, page: &Page, error: Option<&str>, status: StatusCode) -> Result<Response, AppError> {
    let list = state.db.read(users::list).await?;
    Ok(respond_invalid(
        &page.nav,
        views::admin::users(&page.nav, &list, error),
        status,
    ))
}

pub async fn view_users_get(
    State(state): State<AppState>,
    _admin: Superadmin,
    page: Page,
) -> Result<Response, AppError> {
    render(&state, &page, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct NewUser {
    email: String,
    password: SecretString,
    #[serde(default)]
    superadmin: Option<String>,
}

pub async fn view_users_post(
    State(state): State<AppState>,
    Superadmin(admin): Superadmin,
    page: Page,
    Form(form): Form<NewUser>,
) -> Result<Response, AppError> {
    let superadmin = form.superadmin.is_some_and(|v| v == "true" || v == "on");
    match accounts::create_user(&state.db, &form.email, form.password, superadmin, &admin.user.email).await {
        Ok(u) => Ok(flash::redirect(
            "/admin/users",
            Kind::Ok,
            format!("User {} created.", u.email),
        )),
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => {
            render(&state, &page, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

pub async fn view_user_disable_post(
    State(state): State<AppState>,
    Superadmin(admin): Superadmin,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_disabled(&state, &admin.user, &id, true).await
}

pub async fn view_user_enable_post(
    State(state): State<AppState>,
    Superadmin(admin): Superadmin,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    set_disabled(&state, &admin.user, &id, false).await
}

async fn set_disabled(state: &AppState, admin: &users::User, id: &str, disabled: bool) -> Result<Response, AppError> {
    match accounts::set_disabled(&state.db, id, disabled, admin).await {
        Ok(()) => Ok(flash::redirect(
            "/admin/users",
            Kind::Ok,
            if disabled {
                "User disabled; their sessions ended."
            } else {
                "User enabled."
            },
        )),
        Err(AppError::Invalid(m)) => Ok(flash::redirect("/admin/users", Kind::Error, m)),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ResetPassword {
    password: SecretString,
    /// A ticked checkbox sends "on"; an unticked one sends nothing.
    revoke_tokens: Option<String>,
}

pub async fn view_user_password_post(
    State(state): State<AppState>,
    Superadmin(admin): Superadmin,
    Path(id): Path<String>,
    Form(form): Form<ResetPassword>,
) -> Result<Response, AppError> {
    let revoke = form.revoke_tokens.is_some();
    match accounts::reset_password(&state.db, &id, form.password, revoke, &admin.user.email).await {
        Ok(()) => Ok(flash::redirect(
            "/admin/users",
            Kind::Ok,
            if revoke {
                "Password reset; the user's sessions ended and their API tokens were revoked."
            } else {
                "Password reset; the user's sessions ended. Their API tokens still work."
            },
        )),
        Err(AppError::Invalid(m)) => Ok(flash::redirect("/admin/users", Kind::Error, m)),
        Err(e) => Err(e),
    }
}
