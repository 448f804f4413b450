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

pub async fn verify(
    State(state): State<AppState>,
    access: TenantAccess,
) -> Result<(StatusCode, Json<Value>), AppError> {
    Ok(accepted(&starts::verify(&state.engine, &access).await?))
}

pub async fn sync(State(state): State<AppState>, access: TenantAccess) -> Result<(StatusCode, Json<Value>), AppError> {
    Ok(accepted(&starts::sync(&state.engine, &access).await?))
}

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

pub async fn rerun(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
    extract::Json(body): extract::Json<RerunBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let parent = crate::runs::access::load_run(&state.db, &access, &rid).await?;
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
