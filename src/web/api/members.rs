//! `/api/v1/tenants/{tid}/members` and `…/invites` (owner or superadmin).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::invites::Pending;
use crate::db::memberships::{self, Member};
use crate::error::AppError;
use crate::tenants;
use crate::web::extract;
use crate::web::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/members",
    operation_id = "members_list",
    tag = "members",
    summary = "List members (owner)",
    params(("tid" = String, Path, description = "tenant id")),
    responses(
        (status = 200, description = "the members", body = Vec<crate::web::api::openapi::Member>),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tid}/members",
    operation_id = "members_upsert",
    tag = "members",
    summary = "Add a member or change their role (owner)",
    params(("tid" = String, Path, description = "tenant id")),
    request_body = crate::web::api::openapi::MemberBody,
    responses(
        (status = 200, description = "added, or role changed", body = crate::web::api::openapi::Member),
        (status = 400, description = "malformed request (bad JSON, query or missing field)", body = crate::web::api::openapi::ErrorBody),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 413, description = "request body too large", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
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

#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tid}/members/{user_id}",
    operation_id = "members_remove",
    tag = "members",
    summary = "Remove a member (owner)",
    params(("tid" = String, Path, description = "tenant id"), ("user_id" = String, Path, description = "user id")),
    responses(
        (status = 204, description = "removed; their queued runs fail with permission_revoked"),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody),
        (status = 422, description = "valid JSON, invalid values", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, user_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    access.require(Role::Owner)?;
    tenants::remove_member(&state.db, &access.tenant.id, &user_id, &access.caller.user.email).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tid}/invites",
    operation_id = "invites_list",
    tag = "members",
    summary = "List pending invitations (owner)",
    description = "Invitations not used yet and not expired, newest first. An owner makes one on the tenant's Members page for an email without an account; the link itself is shown only there, once.",
    params(("tid" = String, Path, description = "tenant id")),
    responses(
        (status = 200, description = "the pending invitations", body = Vec<crate::web::api::openapi::Invite>),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed; also every object of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such object in a tenant the caller may see", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn invites(State(state): State<AppState>, access: TenantAccess) -> Result<Json<Vec<Pending>>, AppError> {
    access.require(Role::Owner)?;
    let tid = access.tenant.id.clone();
    Ok(Json(
        state
            .db
            .read(move |c| crate::db::invites::open_for_tenant(c, &tid, &crate::clock::now()))
            .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tid}/invites/{id}",
    operation_id = "invites_revoke",
    tag = "members",
    summary = "Revoke a pending invitation (owner)",
    description = "Its link stops working at once. Audited as `member.invite_revoked`.",
    params(("tid" = String, Path, description = "tenant id"), ("id" = String, Path, description = "invitation id")),
    responses(
        (status = 204, description = "revoked; the link no longer works"),
        (status = 401, description = "no or bad token", body = crate::web::api::openapi::ErrorBody),
        (status = 403, description = "authenticated but not allowed (not an owner); also an invitation of a tenant the caller is not a member of", body = crate::web::api::openapi::ErrorBody),
        (status = 404, description = "no such pending invitation in this tenant (unknown, used, or revoked already)", body = crate::web::api::openapi::ErrorBody)
    )
)]
pub async fn revoke_invite(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    access.require(Role::Owner)?;
    crate::accounts::revoke_invite(&state.db, &access, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
