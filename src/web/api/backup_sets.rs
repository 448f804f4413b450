//! Backup sets (viewer): list and detail.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::auth::tenant_guard::{TenantAccess, check_owner};
use crate::db::backups::{self, BackupSet};
use crate::error::AppError;
use crate::web::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/backup-sets",
    operation_id = "backup_sets_list",
    tag = "backups",
    summary = "List backup sets (viewer)",
    params(("tid" = String, Path, description = "tenant id")),
    responses(
        (status = 200, description = "backup sets", body = Vec<crate::web::api::openapi::BackupSet>),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn list(State(state): State<AppState>, access: TenantAccess) -> Result<Json<Vec<BackupSet>>, AppError> {
    let tid = access.tenant.id.clone();
    Ok(Json(state.db.read(move |c| backups::list(c, &tid)).await?))
}

pub async fn load_set(state: &AppState, access: &TenantAccess, bid: &str) -> Result<BackupSet, AppError> {
    let id = bid.to_owned();
    let set = state.db.read(move |c| backups::get(c, &id)).await?;
    check_owner(
        &state.db,
        access,
        set.as_ref().map(|s| s.tenant_id.clone()),
        "backup set",
    )
    .await?;
    set.ok_or_else(|| AppError::not_found("backup set"))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/backup-sets/{bid}",
    operation_id = "backup_sets_get",
    tag = "backups",
    summary = "One backup set (viewer)",
    params(("tid" = String, Path, description = "tenant id"), ("bid" = String, Path, description = "backup set id")),
    responses(
        (status = 200, description = "the set and its items", body = crate::web::api::openapi::BackupSetWithItems),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn get(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, bid)): Path<(String, String)>,
) -> Result<Json<Value>, AppError> {
    let set = load_set(&state, &access, &bid).await?;
    let id = set.id.clone();
    let items = state.db.read(move |c| backups::items(c, &id)).await?;
    let mut out = json!(set);
    out["items"] = json!(items);
    Ok(Json(out))
}
