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
    invite_link: Option<&str>,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let tid = access.tenant.id.clone();
    let (list, invites) = state
        .db
        .read(move |c| {
            Ok((
                memberships::list_for_tenant(c, &tid)?,
                crate::db::invites::open_for_tenant(c, &tid, &crate::clock::now())?,
            ))
        })
        .await?;
    let v = view::MembersView {
        members: &list,
        invites: &invites,
        invite_link,
        error,
    };
    Ok(respond_invalid(
        &page.nav,
        view::members(&page.nav, &access.tenant, &v),
        status,
    ))
}

#[derive(Deserialize)]
pub struct MembersQuery {
    invite: Option<String>,
}

pub async fn view_members_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<MembersQuery>,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    // A new invitation's link, shown once to the owner who made it.
    let link = q
        .invite
        .and_then(|id| state.shown_once.take(&page.caller.user.id, &id))
        .map(|path| {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let scheme = if state.settings.secure_cookies { "https" } else { "http" };
            format!("{scheme}://{host}{path}")
        });
    render(&state, &access, page, None, StatusCode::OK, link.as_deref()).await
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
    // Someone without an account yet is invited: a one-time link to set a password.
    if let Ok(email) = crate::accounts::normalize_email(&form.email) {
        let wanted = email.clone();
        let known = state
            .db
            .read(move |c| crate::db::users::find_by_email(c, &wanted))
            .await?
            .is_some();
        if !known {
            return match crate::accounts::invite(&state.db, &access.tenant.id, &email, &form.role, &access.caller.user)
                .await
            {
                Ok(plain) => {
                    let id = state
                        .shown_once
                        .put(&access.caller.user.id, format!("/invite/{plain}"))
                        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the shown-once store is unavailable")))?;
                    Ok(flash::redirect(
                        &format!("/t/{}/members?invite={id}", access.tenant.id),
                        Kind::Ok,
                        format!(
                            "{email} has no account yet, so they are invited as {}: send them the link below.",
                            form.role.trim()
                        ),
                    ))
                }
                Err(AppError::Invalid(m)) => {
                    render(&state, &access, page, Some(&m), StatusCode::UNPROCESSABLE_ENTITY, None).await
                }
                Err(e) => Err(e),
            };
        }
    }
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
        Err(AppError::Invalid(m)) => {
            render(&state, &access, page, Some(&m), StatusCode::UNPROCESSABLE_ENTITY, None).await
        }
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

/// The members page's "Revoke" on a pending invitation: its link stops working.
pub async fn view_invite_revoke_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, invite_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    let to = format!("/t/{}/members", access.tenant.id);
    match crate::accounts::revoke_invite(&state.db, &access, &invite_id).await {
        Ok(email) => Ok(flash::redirect(
            &to,
            Kind::Ok,
            format!("Invitation for {email} revoked: its link no longer works."),
        )),
        // Used or revoked in another tab a moment ago: say so on the page it came from.
        Err(AppError::NotFound(m)) => Ok(flash::redirect(&to, Kind::Error, m)),
        Err(e) => Err(e),
    }
}
