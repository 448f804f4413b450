//! `/t/{tenant}/audit` (owner).

use axum::extract::State;
use axum::response::Response;

use super::page::{Page, respond};
use super::state::AppState;
use crate::audit::{self, ChainStatus};
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::audit as rows;
use crate::error::AppError;
use crate::views::tenant as view;

const PAGE_SIZE: u32 = 200;

pub async fn view_audit_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    let page = page.in_tenant(&access.tenant.id);
    let tid = access.tenant.id.clone();
    let (events, chain) = state
        .db
        .read(move |c| Ok((rows::list_for_tenant(c, &tid, PAGE_SIZE, None)?, audit::verify(c)?)))
        .await?;
    let intact = matches!(chain, ChainStatus::Intact { .. });
    Ok(respond(
        &page.nav,
        view::audit(&page.nav, &access.tenant, &events, Some(intact)),
    ))
}
