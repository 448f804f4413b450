//! Inventory and versions (viewer): `/api/v1/tenants/{tid}/policies…` and `/versions/{vid}`.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::tenant_guard::{TenantAccess, check_owner};
use crate::db::policies::{self, Policy, Version};
use crate::error::AppError;
use crate::web::state::AppState;

#[derive(Debug, Deserialize)]
pub struct TypeFilter {
    #[serde(rename = "type")]
    policy_type: Option<String>,
    #[serde(default)]
    include_deleted: bool,
}

pub async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<TypeFilter>,
) -> Result<Json<Vec<Policy>>, AppError> {
    let tid = access.tenant.id.clone();
    let kind = q.policy_type.filter(|t| !t.is_empty());
    Ok(Json(
        state
            .db
            .read(move |c| policies::list(c, &tid, kind.as_deref(), q.include_deleted))
            .await?,
    ))
}

pub async fn load_policy(state: &AppState, access: &TenantAccess, pid: &str) -> Result<Policy, AppError> {
    let id = pid.to_owned();
    let policy = state.db.read(move |c| policies::get(c, &id)).await?;
    check_owner(
        &state.db,
        access,
        policy.as_ref().map(|p| p.tenant_id.clone()),
        "policy",
    )
    .await?;
    policy.ok_or_else(|| AppError::not_found("policy"))
}

pub async fn versions(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, pid)): Path<(String, String)>,
) -> Result<Json<Vec<Version>>, AppError> {
    let policy = load_policy(&state, &access, &pid).await?;
    Ok(Json(state.db.read(move |c| policies::versions(c, &policy.id)).await?))
}

pub async fn version(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, vid)): Path<(String, String)>,
) -> Result<Json<Value>, AppError> {
    let id = vid.clone();
    let found = state.db.read(move |c| policies::version_with_content(c, &id)).await?;
    check_owner(&state.db, &access, found.as_ref().map(|(_, t, _)| t.clone()), "version").await?;
    let (v, _, content) = found.ok_or_else(|| AppError::not_found("version"))?;
    let content: Value = serde_json::from_str(&content).map_err(|e| AppError::Internal(e.into()))?;
    let mut out = json!(v);
    out["content"] = content;
    Ok(Json(out))
}
