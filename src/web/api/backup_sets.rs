//! Backup sets (viewer): list, detail and export; import (owner).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::auth::role::Role;
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

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/backup-sets/{bid}/export",
    operation_id = "backup_sets_export",
    tag = "backups",
    summary = "Download a backup set as a zip (viewer)",
    description = "One pretty-printed JSON file per captured policy, named `<type key>/<display name>--<Graph id>.json`, and `manifest.json` (set, tenant, created and exported times, product version, counts, per-file SHA-256, and the secret settings withheld). No secret value is in the zip: each keeps the sealed reference or mask the backup holds.",
    params(("tid" = String, Path, description = "tenant id"), ("bid" = String, Path, description = "backup set id")),
    responses(
        (status = 200, description = "the zip", content_type = "application/zip", body = crate::web::api::openapi::ExportZip),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn export(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, bid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let set = load_set(&state, &access, &bid).await?;
    zip_download(&state, &access, &set).await
}

/// The zip of a set as a download (the page's "Download zip" and the API answer alike).
pub async fn zip_download(state: &AppState, access: &TenantAccess, set: &BackupSet) -> Result<Response, AppError> {
    let export = crate::export::export_set(&state.db, &access.tenant, set, &access.caller.user.email).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", export.file_name),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        export.bytes,
    )
        .into_response())
}

#[derive(serde::Deserialize)]
pub struct ImportQuery {
    name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/backup-sets/import",
    operation_id = "backup_sets_import",
    tag = "backups",
    summary = "Import an exported zip as a new backup set (owner)",
    description = "The body is a zip made by the export endpoint (up to 32 MiB; unpacked at most 32 MiB in all and 4 MiB per file, as the zip's directory states them). Everything is checked before anything is written: no file name twice, the manifest's format, every manifest entry (known type, a Graph id, a name by the name rules, a capture time not in the future, no policy twice) before any document, each listed file present with its SHA-256, no unlisted file, no plain value in a secret setting; any failure answers 422 naming the file, and nothing is stored. Policies this tenant does not know are added as deleted, so a restore re-creates them. Secret values stay sealed references, which open only in the tenant that sealed them.",
    params(("tid" = String, Path, description = "tenant id"), ("name" = Option<String>, Query, description = "name of the new set; default `Imported: <exported set's name>`")),
    request_body(content = crate::web::api::openapi::ExportZip, content_type = "application/zip"),
    responses(
        (status = 201, description = "the new backup set", body = crate::web::api::openapi::Imported),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 429, description = "another import is being checked on this server; try again (Retry-After)", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "the zip is larger than 32 MiB", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "not an export, or changed or damaged since: the message names the file", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn import(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<ImportQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    // The route checked the owner role before the body (`post_large_as`); this keeps the
    // handler right on its own.
    access.require(Role::Owner)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(format!(
                "the zip is larger than {} MiB, the most an import takes",
                crate::import::MAX_ZIP_BYTES >> 20
            ))
        } else {
            AppError::BadRequest(format!("the zip could not be read: {e}"))
        }
    })?;
    let imported = crate::import::import_zip(
        &state.db,
        state.key.clone(),
        &access.tenant,
        q.name.as_deref(),
        body.to_vec(),
        &access.caller.user.email,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(imported)).into_response())
}
