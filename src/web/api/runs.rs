//! `/api/v1/tenants/{tid}/runs` (viewer).

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use crate::auth::tenant_guard::TenantAccess;
use crate::db::runs::{self, Run, RunFilter, RunItem};
use crate::error::AppError;
use crate::runs::access::load_run;
use crate::web::state::AppState;

pub const STATUSES: [&str; 5] = ["queued", "running", "succeeded", "failed", "partial"];

#[derive(Debug, Deserialize, Default)]
pub struct ListQuery {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl ListQuery {
    pub fn filter(&self) -> Result<RunFilter, AppError> {
        let status = self.status.clone().filter(|s| !s.is_empty());
        if let Some(s) = &status
            && !STATUSES.contains(&s.as_str())
        {
            return Err(AppError::Invalid(format!(
                "status must be one of {}; got {s:?}",
                STATUSES.join(", ")
            )));
        }
        Ok(RunFilter {
            kind: self.kind.clone().filter(|k| !k.is_empty()),
            status,
            limit: self.limit.unwrap_or(100).clamp(1, 1000),
            offset: self.offset.unwrap_or(0),
        })
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/runs",
    operation_id = "runs_list",
    tag = "runs",
    summary = "List runs (viewer)",
    params(("tid" = String, Path, description = "tenant id"), ("kind" = Option<String>, Query, description = "only this kind"), ("status" = Option<String>, Query, description = "only this status"), ("limit" = Option<u32>, Query, description = "at most this many (default 100, max 1000)"), ("offset" = Option<u32>, Query, description = "skip this many")),
    responses(
        (status = 200, description = "runs, newest first", body = Vec<crate::web::api::openapi::Run>),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Run>>, AppError> {
    let filter = q.filter()?;
    let tid = access.tenant.id.clone();
    Ok(Json(state.db.read(move |c| runs::list(c, &tid, &filter)).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/runs/{rid}",
    operation_id = "runs_get",
    tag = "runs",
    summary = "One run (viewer)",
    params(("tid" = String, Path, description = "tenant id"), ("rid" = String, Path, description = "run id")),
    responses(
        (status = 200, description = "the run", body = crate::web::api::openapi::Run),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn get(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
) -> Result<Json<Run>, AppError> {
    Ok(Json(load_run(&state.db, &access, &rid).await?))
}

#[derive(Debug, Deserialize)]
pub struct Page {
    limit: Option<u32>,
    offset: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/runs/{rid}/items",
    operation_id = "runs_items",
    tag = "runs",
    summary = "A run's items (viewer)",
    params(("tid" = String, Path, description = "tenant id"), ("rid" = String, Path, description = "run id"), ("limit" = Option<u32>, Query, description = "at most this many"), ("offset" = Option<u32>, Query, description = "skip this many")),
    responses(
        (status = 200, description = "the run's items", body = Vec<crate::web::api::openapi::RunItem>),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn items(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
    Query(p): Query<Page>,
) -> Result<Json<Vec<RunItem>>, AppError> {
    let run = load_run(&state.db, &access, &rid).await?;
    let (limit, offset) = (p.limit.unwrap_or(10_000).clamp(1, 10_000), p.offset.unwrap_or(0));
    Ok(Json(
        state.db.read(move |c| runs::items(c, &run.id, limit, offset)).await?,
    ))
}
