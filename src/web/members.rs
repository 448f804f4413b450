//! `/t/{tenant}/members` (owner).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::extract::Form;
use super::flash::{self, Kind};
use super::page::{Page, respond_invalid};
use super::state::AppState;
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::memberships;
use crate::error::AppError;
use crate::tenants;
use crate::views::tenant as view;

async fn render(
    state: &AppState,
    access: &TenantAccess,
    page: Page,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let tid = access.tenant.id.clone();
    let list = state.db.read(move |c| memberships::list_for_tenant(c, &tid)).await?;
    Ok(respond_invalid(
        &page.nav,
        view::members(&page.nav, &access.tenant, &list, error),
        status,
    ))
}

pub async fn view_members_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    render(&state, &access, page, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct MemberForm {
    email: String,
    role: String,
}

pub async fn view_members_post(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Form(form): Form<MemberForm>,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    match tenants::set_member(
        &state.db,
        &access.tenant.id,
        &form.email,
        &form.role,
        &access.caller.user.email,
    )
    .await
    {
        Ok(m) => Ok(flash::redirect(
            &format!("/t/{}/members", access.tenant.id),
            Kind::Ok,
            format!("{} is now {}.", m.email, m.role),
        )),
        Err(AppError::Invalid(m)) => render(&state, &access, page, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => Err(e),
    }
}

pub async fn view_member_remove_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, user_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    let to = format!("/t/{}/members", access.tenant.id);
    match tenants::remove_member(&state.db, &access.tenant.id, &user_id, &access.caller.user.email).await {
        Ok(()) => Ok(flash::redirect(&to, Kind::Ok, "Member removed.")),
        Err(AppError::Invalid(m)) => Ok(flash::redirect(&to, Kind::Error, m)),
        Err(e) => Err(e),
    }
}
