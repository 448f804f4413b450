//! `/api/v1/notifications`: the caller's own notifications.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::auth::caller::Caller;
use crate::clock;
use crate::db::notifications::{self, Notification};
use crate::error::AppError;
use crate::web::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/notifications",
    operation_id = "notifications_list",
    tag = "notifications",
    summary = "The caller's notifications",
    responses(
        (status = 200, description = "the caller's notifications, newest first", body = Vec<crate::web::api::openapi::Notification>),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Notification>>, AppError> {
    let id = caller.user.id.clone();
    Ok(Json(
        state
            .db
            .read(move |c| notifications::list_for_user(c, &id, 200))
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/notifications/read",
    operation_id = "notifications_mark_read",
    tag = "notifications",
    summary = "Mark all notifications read",
    responses(
        (status = 204, description = "all marked read"),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody)
    )
)]
/// `POST /api/v1/notifications/read`: marks all as read.
pub async fn mark_read(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, AppError> {
    let id = caller.user.id.clone();
    state
        .db
        .write(move |tx| notifications::mark_all_read(tx, &id, &clock::now()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
