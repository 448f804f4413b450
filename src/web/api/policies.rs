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

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/policies",
    operation_id = "policies_list",
    tag = "policies",
    summary = "List policies (viewer)",
    params(("tid" = String, Path, description = "tenant id"), ("type" = Option<String>, Query, description = "only this policy type"), ("include_deleted" = Option<bool>, Query, description = "also policies deleted in the tenant")),
    responses(
        (status = 200, description = "the inventory", body = Vec<crate::web::api::openapi::Policy>),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
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
    let policy = state.db.read_now(move |c| policies::get(c, &id)).await?;
    check_owner(
        &state.db,
        access,
        policy.as_ref().map(|p| p.tenant_id.clone()),
        "policy",
    )
    .await?;
    policy.ok_or_else(|| AppError::not_found("policy"))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/policies/{pid}/versions",
    operation_id = "policies_versions",
    tag = "policies",
    summary = "A policy's versions (viewer)",
    params(("tid" = String, Path, description = "tenant id"), ("pid" = String, Path, description = "policy id")),
    responses(
        (status = 200, description = "versions, newest first", body = Vec<crate::web::api::openapi::Version>),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn versions(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, pid)): Path<(String, String)>,
) -> Result<Json<Vec<Version>>, AppError> {
    let policy = load_policy(&state, &access, &pid).await?;
    Ok(Json(state.db.read(move |c| policies::versions(c, &policy.id)).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/versions/{vid}",
    operation_id = "policies_version",
    tag = "policies",
    summary = "One version with its content (viewer)",
    params(("tid" = String, Path, description = "tenant id"), ("vid" = String, Path, description = "version id")),
    responses(
        (status = 200, description = "the version and its content", body = crate::web::api::openapi::VersionWithContent),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn version(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, vid)): Path<(String, String)>,
) -> Result<Json<Value>, AppError> {
    let id = vid.clone();
    let tid = access.tenant.id.clone();
    let found = state
        .db
        .read(move |c| {
            policies::version_with_content(c, &id)?
                .map(|(v, t, content)| {
                    let shown = if t == tid {
                        crate::export::shown_content(c, &t, &content)?
                    } else {
                        content
                    };
                    Ok((v, t, shown))
                })
                .transpose()
        })
        .await?;
    check_owner(&state.db, &access, found.as_ref().map(|(_, t, _)| t.clone()), "version").await?;
    let (v, _, content) = found.ok_or_else(|| AppError::not_found("version"))?;
    let content: Value = serde_json::from_str(&content).map_err(|e| AppError::Internal(e.into()))?;
    let mut out = json!(v);
    out["content"] = content;
    Ok(Json(out))
}
