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

pub async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Run>>, AppError> {
    let filter = q.filter()?;
    let tid = access.tenant.id.clone();
    Ok(Json(state.db.read(move |c| runs::list(c, &tid, &filter)).await?))
}

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
