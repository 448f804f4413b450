//! `GET /api/v1/me`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::caller::Caller;
use crate::db::memberships;
use crate::error::AppError;
use crate::web::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "me_get_me",
    tag = "me",
    summary = "The caller and their memberships",
    responses(
        (status = 200, description = "the caller", body = crate::web::api::openapi::Me),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, AppError> {
    let user_id = caller.user.id.clone();
    let memberships = state.db.read(move |c| memberships::list_for_user(c, &user_id)).await?;
    Ok(Json(json!({
        "id": caller.user.id,
        "email": caller.user.email,
        "superadmin": caller.user.superadmin,
        "memberships": memberships,
    })))
}
