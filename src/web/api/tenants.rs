//! `/api/v1/tenants`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::auth::caller::{Caller, Superadmin};
use crate::auth::tenant_guard::TenantAccess;
use crate::db::tenants::{self, Tenant};
use crate::error::AppError;
use crate::tenants::{self as service, TenantInput};
use crate::web::extract;
use crate::web::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    operation_id = "tenants_list",
    tag = "tenants",
    summary = "List tenants",
    responses(
        (status = 200, description = "the caller's tenants (all for a superadmin)", body = Vec<crate::web::api::openapi::Tenant>),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody)
    )
)]
/// The caller's tenants; every tenant for a superadmin.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Tenant>>, AppError> {
    let (user_id, all) = (caller.user.id.clone(), caller.user.superadmin);
    let list = state.db.read(move |c| tenants::visible_to(c, &user_id, all)).await?;
    Ok(Json(list))
}

#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    operation_id = "tenants_create",
    tag = "tenants",
    summary = "Create a tenant (superadmin)",
    request_body = crate::web::api::openapi::NewTenant,
    responses(
        (status = 201, description = "created", body = crate::web::api::openapi::Tenant),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 409, description = "conflict", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "request body too large", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Superadmin(admin): Superadmin,
    extract::Json(input): extract::Json<TenantInput>,
) -> Result<(StatusCode, Json<Tenant>), AppError> {
    let t = service::create(
        &state.db,
        &state.key,
        input,
        state.settings.allow_custom_endpoints,
        &admin.user.email,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}",
    operation_id = "tenants_get",
    tag = "tenants",
    summary = "One tenant",
    params(("tid" = String, Path, description = "tenant id")),
    responses(
        (status = 200, description = "the tenant", body = crate::web::api::openapi::Tenant),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
/// `GET /api/v1/tenants/{tid}` (any member).
pub async fn get(access: TenantAccess) -> Json<Tenant> {
    Json(access.tenant)
}
