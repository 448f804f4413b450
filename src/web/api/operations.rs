//! Start endpoints: each answers 202 with `{run, reused}` at once; the work is a run.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::policies::load_policy;
use crate::auth::tenant_guard::TenantAccess;
use crate::error::AppError;
use crate::ops::starts;
use crate::runs::start::Started;
use crate::web::extract;
use crate::web::state::AppState;

pub fn accepted(s: &Started) -> (StatusCode, Json<Value>) {
    (StatusCode::ACCEPTED, Json(json!({"run": s.run, "reused": s.reused})))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/verify",
    operation_id = "operations_verify",
    tag = "runs",
    summary = "Verify the app credentials (operator)",
    params(("tid" = String, Path, description = "tenant id")),
    responses(
        (status = 202, description = "tenant.verify started", body = crate::web::api::openapi::Started),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "conflict", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<(StatusCode, Json<Value>), AppError> {
    Ok(accepted(&starts::verify(&state.engine, &access).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/sync",
    operation_id = "operations_sync",
    tag = "runs",
    summary = "Sync the inventory (operator)",
    params(("tid" = String, Path, description = "tenant id")),
    responses(
        (status = 202, description = "inventory.sync started", body = crate::web::api::openapi::Started),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "conflict", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn sync(State(state): State<AppState>, access: TenantAccess) -> Result<(StatusCode, Json<Value>), AppError> {
    Ok(accepted(&starts::sync(&state.engine, &access).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/policies/{pid}/snapshot",
    operation_id = "operations_snapshot",
    tag = "runs",
    summary = "Capture one policy (operator)",
    params(("tid" = String, Path, description = "tenant id"), ("pid" = String, Path, description = "policy id")),
    responses(
        (status = 202, description = "policy.capture_snapshot started", body = crate::web::api::openapi::Started),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "conflict", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn snapshot(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, pid)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let policy = load_policy(&state, &access, &pid).await?;
    Ok(accepted(&starts::snapshot(&state.engine, &access, &policy).await?))
}

#[derive(Deserialize)]
pub struct NewBackup {
    name: String,
    policy_ids: Option<Vec<String>>,
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/backup-sets",
    operation_id = "operations_backup",
    tag = "backups",
    summary = "Create a backup set (operator)",
    params(("tid" = String, Path, description = "tenant id")),
    request_body = crate::web::api::openapi::NewBackupSet,
    responses(
        (status = 202, description = "backup set created, capture started", body = crate::web::api::openapi::BackupStarted),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "conflict", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "request body too large", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn backup(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<NewBackup>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    // Checked here as well as in the run layer: names are shown everywhere (see `names`).
    let name = crate::names::check(&body.name, "backup set", 200)?;
    let (set, started) = starts::backup(&state.engine, &access, &name, body.policy_ids).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"backup_set": set, "run": started.run, "reused": started.reused})),
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/restores",
    operation_id = "operations_restore",
    tag = "runs",
    summary = "Preview (operator) or restore (owner) a backup set",
    params(("tid" = String, Path, description = "tenant id")),
    request_body = crate::web::api::openapi::RestoreBody,
    responses(
        (status = 202, description = "restore.preview or restore.execute started", body = crate::web::api::openapi::Started),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "conflict", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "request body too large", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn restore(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<starts::RestoreRequest>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let set = crate::web::api::backup_sets::load_set(&state, &access, &body.backup_set_id).await?;
    Ok(accepted(&starts::restore(&state.engine, &access, &set, body).await?))
}

#[derive(Deserialize)]
pub struct RerunBody {
    only_failed: Option<bool>,
    confirm: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/runs/{rid}/rerun",
    operation_id = "operations_rerun",
    tag = "runs",
    summary = "Rerun a restore (owner), or capture a backup's failed items again (operator)",
    params(("tid" = String, Path, description = "tenant id"), ("rid" = String, Path, description = "run id")),
    request_body = crate::web::api::openapi::RerunBody,
    responses(
        (status = 202, description = "restore.rerun started (for a backup run: a backup_set.capture of its failed items)", body = crate::web::api::openapi::Started),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "conflict", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "request body too large", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn rerun(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
    extract::Json(body): extract::Json<RerunBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let parent = crate::runs::access::load_run(&state.db, &access, &rid).await?;
    if parent.kind == crate::ops::backup::KIND {
        // A backup's failed items are captured again (reads only: no confirmation).
        return Ok(accepted(
            &crate::ops::backup_rerun::recapture_failed(&state.engine, &access, &parent).await?,
        ));
    }
    Ok(accepted(
        &starts::rerun(
            &state.engine,
            &access,
            &parent,
            body.only_failed.unwrap_or(true),
            body.confirm.as_deref(),
        )
        .await?,
    ))
}

#[derive(Deserialize)]
pub struct UndoBody {
    confirm: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/runs/{rid}/undo",
    operation_id = "operations_undo",
    tag = "runs",
    summary = "Undo a restore (owner)",
    params(("tid" = String, Path, description = "tenant id"), ("rid" = String, Path, description = "run id")),
    request_body = crate::web::api::openapi::UndoBody,
    responses(
        (status = 202, description = "restore.execute from the run's before-restore set started", body = crate::web::api::openapi::Started),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "conflict", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "request body too large", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn undo(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
    extract::Json(body): extract::Json<UndoBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let parent = crate::runs::access::load_run(&state.db, &access, &rid).await?;
    Ok(accepted(
        &starts::undo(&state.engine, &access, &parent, body.confirm.as_deref()).await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DriftCheckBody {
    baseline_set_id: Option<String>,
}

/// The set a drift check compares with: the one named, else the newest complete backup of the
/// whole tenant.
pub async fn drift_baseline(
    state: &AppState,
    access: &TenantAccess,
    named: Option<&str>,
) -> Result<crate::db::backups::BackupSet, AppError> {
    if let Some(id) = named {
        return crate::web::api::backup_sets::load_set(state, access, id).await;
    }
    let tid = access.tenant.id.clone();
    let sets = state.db.read(move |c| crate::db::backups::list(c, &tid)).await?;
    crate::db::backups::default_baseline(&sets)
        .cloned()
        .ok_or_else(|| AppError::Conflict(crate::ops::drift_start::NO_BASELINE.into()))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/drift-checks",
    operation_id = "operations_drift_check",
    tag = "runs",
    summary = "Check drift against a baseline (operator)",
    description = "Starts a `drift.check` run: the tenant as it is now against `baseline_set_id` (absent: the newest complete whole-tenant backup; 409 when there is none). Each item's `result` holds `change` (`changed | removed | added | unchanged`) and `diff`; a type the baseline failed to capture is not reported as added (its listing item names those objects in `not_in_baseline`). The body may be empty.",
    params(("tid" = String, Path, description = "tenant id")),
    request_body(content = crate::web::api::openapi::DriftCheckBody, description = "optional"),
    responses(
        (status = 202, description = "drift.check started", body = crate::web::api::openapi::Started),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "no complete whole-tenant backup to compare with", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "request body too large", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn drift_check(
    State(state): State<AppState>,
    access: TenantAccess,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let body: DriftCheckBody = if body.iter().all(u8::is_ascii_whitespace) {
        DriftCheckBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::BadRequest(format!("the body is not a drift check: {e}")))?
    };
    access.require(crate::auth::role::Role::Operator)?;
    let set = drift_baseline(&state, &access, body.baseline_set_id.as_deref()).await?;
    Ok(accepted(
        &crate::ops::drift_start::drift_check(&state.engine, &access, &set).await?,
    ))
}
