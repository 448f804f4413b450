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

/// The caller's tenants; every tenant for a superadmin.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<Tenant>>, AppError> {
    let (user_id, all) = (caller.user.id.clone(), caller.user.superadmin);
    let list = state.db.read(move |c| tenants::visible_to(c, &user_id, all)).await?;
    Ok(Json(list))
}

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

/// `GET /api/v1/tenants/{tid}` (any member).
pub async fn get(access: TenantAccess) -> Json<Tenant> {
    Json(access.tenant)
}
