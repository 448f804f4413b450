//! `/api/v1/notifications`: the caller's own notifications.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::auth::caller::Caller;
use crate::clock;
use crate::db::notifications::{self, Notification};
use crate::error::AppError;
use crate::web::state::AppState;

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Notification>>, AppError> {
    let id = caller.user.id.clone();
    Ok(Json(
        state
            .db
            .read(move |c| notifications::list_for_user(c, &id, 200))
            .await?,
    ))
}

/// `POST /api/v1/notifications/read`: marks all as read.
pub async fn mark_read(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, AppError> {
    let id = caller.user.id.clone();
    state
        .db
        .write(move |tx| notifications::mark_all_read(tx, &id, &clock::now()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
