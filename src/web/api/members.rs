//! `/api/v1/tenants/{tid}/members` (owner or superadmin).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::memberships::{self, Member};
use crate::error::AppError;
use crate::tenants;
use crate::web::extract;
use crate::web::state::AppState;

pub async fn list(State(state): State<AppState>, access: TenantAccess) -> Result<Json<Vec<Member>>, AppError> {
    access.require(Role::Owner)?;
    let tid = access.tenant.id.clone();
    Ok(Json(
        state.db.read(move |c| memberships::list_for_tenant(c, &tid)).await?,
    ))
}

#[derive(Deserialize)]
pub struct MemberBody {
    email: String,
    role: String,
}

pub async fn upsert(
    State(state): State<AppState>,
    access: TenantAccess,
    extract::Json(body): extract::Json<MemberBody>,
) -> Result<Json<Member>, AppError> {
    access.require(Role::Owner)?;
    let m = tenants::set_member(
        &state.db,
        &access.tenant.id,
        &body.email,
        &body.role,
        &access.caller.user.email,
    )
    .await?;
    Ok(Json(m))
}

pub async fn remove(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, user_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    access.require(Role::Owner)?;
    tenants::remove_member(&state.db, &access.tenant.id, &user_id, &access.caller.user.email).await?;
    Ok(StatusCode::NO_CONTENT)
}
