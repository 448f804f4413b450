//! Tenant pages: add (superadmin), overview, settings (owner).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::extract::Form;
use super::flash::{self, Kind};
use super::page::{Page, respond, respond_invalid};
use super::state::AppState;
use crate::auth::caller::Superadmin;
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::error::AppError;
use crate::tenants::{self, TenantInput};
use crate::views::tenant::{self as view, TenantForm};

/// Form values to show again after an error; the secret is never echoed.
fn refill(input: &TenantInput) -> TenantForm {
    TenantForm {
        name: input.name.clone(),
        entra_tenant_id: input.entra_tenant_id.clone(),
        client_id: input.client_id.clone(),
        cloud: input.cloud.clone(),
        graph_base_url: input.graph_base_url.clone().unwrap_or_default(),
        login_base_url: input.login_base_url.clone().unwrap_or_default(),
    }
}

pub async fn view_tenant_new_get(State(state): State<AppState>, _admin: Superadmin, page: Page) -> Response {
    let form = TenantForm {
        cloud: "global".into(),
        ..TenantForm::default()
    };
    respond(
        &page.nav,
        view::new_form(&page.nav, &form, state.settings.allow_custom_endpoints, None),
    )
}

pub async fn view_tenant_new_post(
    State(state): State<AppState>,
    Superadmin(admin): Superadmin,
    page: Page,
    Form(input): Form<TenantInput>,
) -> Result<Response, AppError> {
    let form = refill(&input);
    let allow = state.settings.allow_custom_endpoints;
    match tenants::create(&state.db, &state.key, input, allow, &admin.user.email).await {
        Ok(t) => Ok(flash::redirect(
            &format!("/t/{}", t.id),
            Kind::Ok,
            format!("Tenant {} added. Add its members next.", t.name),
        )),
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => Ok(respond_invalid(
            &page.nav,
            view::new_form(&page.nav, &form, allow, Some(&m)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(e),
    }
}

pub async fn view_tenant_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let is_owner = access.role >= Role::Owner;
    let tid = access.tenant.id.clone();
    let all = state
        .db
        .read(move |c| crate::db::policies::list(c, &tid, None, true))
        .await?;
    let counts = view::InventoryCounts {
        policies: all.iter().filter(|p| !p.deleted).count(),
        deleted: all.iter().filter(|p| p.deleted).count(),
    };
    Ok(respond(
        &page.nav,
        view::overview(
            &page.nav,
            &access.tenant,
            access.role.as_str(),
            is_owner,
            access.role >= Role::Operator,
            &counts,
        ),
    ))
}

pub async fn view_settings_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    let page = page.in_tenant(&access.tenant.id);
    let form = TenantForm::from(&access.tenant);
    Ok(respond(
        &page.nav,
        view::settings(
            &page.nav,
            &access.tenant,
            &form,
            state.settings.allow_custom_endpoints,
            None,
        ),
    ))
}

pub async fn view_settings_post(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Form(input): Form<TenantInput>,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    let page = page.in_tenant(&access.tenant.id);
    let form = refill(&input);
    let allow = state.settings.allow_custom_endpoints;
    match tenants::update(
        &state.db,
        &state.key,
        &access.tenant,
        input,
        allow,
        &access.caller.user.email,
    )
    .await
    {
        Ok(t) => Ok(flash::redirect(
            &format!("/t/{}/settings", t.id),
            Kind::Ok,
            "Settings saved.",
        )),
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => Ok(respond_invalid(
            &page.nav,
            view::settings(&page.nav, &access.tenant, &form, allow, Some(&m)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(e),
    }
}
