//! `GET /api/v1/tenants/{tid}/audit` (owner).

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::audit as rows;
use crate::error::AppError;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct Paging {
    limit: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/audit",
    operation_id = "audit_list",
    tag = "audit",
    summary = "The tenant's audit log (owner)",
    params(("tid" = String, Path, description = "tenant id"), ("limit" = Option<u32>, Query, description = "at most this many, newest first (default 500, max 5000)")),
    responses(
        (status = 200, description = "events, newest first", body = Vec<crate::web::api::openapi::AuditEvent>),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    access: TenantAccess,
    Query(p): Query<Paging>,
) -> Result<Json<Vec<Value>>, AppError> {
    access.require(Role::Owner)?;
    let tid = access.tenant.id.clone();
    let limit = p.limit.unwrap_or(500).clamp(1, 5000);
    let events = state
        .db
        .read(move |c| rows::list_for_tenant(c, &tid, limit, None))
        .await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| {
                let details: Value = serde_json::from_str(&e.details).unwrap_or(Value::Null);
                json!({"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "run_id": e.run_id, "details": details})
            })
            .collect(),
    ))
}
