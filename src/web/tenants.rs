//! Tenant pages: add (superadmin), overview, settings (owner).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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

/// The add form: a tenant's fields, and the admin's word that an Entra tenant already
/// connected is meant to be added again (another app registration).
#[derive(Debug, serde::Deserialize)]
pub struct NewTenant {
    #[serde(flatten)]
    input: TenantInput,
    #[serde(default)]
    add_again: Option<String>,
}

pub async fn view_tenant_new_get(State(state): State<AppState>, _admin: Superadmin, page: Page) -> Response {
    let form = TenantForm {
        cloud: "global".into(),
        ..TenantForm::default()
    };
    respond(
        &page.nav,
        view::new_form(&page.nav, &form, state.settings.allow_custom_endpoints, &[], &[]),
    )
}

pub async fn view_tenant_new_post(
    State(state): State<AppState>,
    Superadmin(admin): Superadmin,
    page: Page,
    Form(NewTenant { input, add_again }): Form<NewTenant>,
) -> Result<Response, AppError> {
    let form = refill(&input);
    let allow = state.settings.allow_custom_endpoints;
    let problems = tenants::problems(&input, allow, true);
    if !problems.is_empty() {
        return Ok(respond_invalid(
            &page.nav,
            view::new_form(&page.nav, &form, allow, &problems, &[]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    // The same customer twice means every backup twice and one Graph budget shared by two
    // records: refused unless the admin says it is meant.
    let same = tenants::already_connected(&state.db, &input).await?;
    if !same.is_empty() && add_again.is_none() {
        let names: Vec<&str> = same.iter().map(|t| t.name.as_str()).collect();
        let problem = format!(
            "this Entra tenant is already connected as {}; adding it again backs it up twice. If it is another app registration on purpose, tick \"Add it again\" and save",
            names.join(", ")
        );
        return Ok(respond_invalid(
            &page.nav,
            view::new_form(&page.nav, &form, allow, &[problem], &same),
            StatusCode::CONFLICT,
        ));
    }
    match tenants::create(&state.db, &state.key, input, allow, &admin.user.email).await {
        Ok(t) => {
            // Check the credentials at once: the overview follows this run live.
            crate::ops::starts::verify_as(&state.engine, &t.id, &admin.user.id, &admin.user.email).await?;
            Ok(flash::redirect(
                &format!("/t/{}", t.id),
                Kind::Ok,
                format!(
                    "Tenant {} added; checking its connection now. Add its members next.",
                    t.name
                ),
            ))
        }
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => Ok(respond_invalid(
            &page.nav,
            view::new_form(&page.nav, &form, allow, &[m], &[]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(e),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct CheckQuery {
    #[serde(default)]
    entra_tenant_id: String,
}

/// `/tenants/check`: the add form's live note on the tenant field (a domain; a tenant
/// already connected under another name).
pub async fn view_tenant_check_get(
    State(state): State<AppState>,
    _admin: Superadmin,
    axum::extract::Query(q): axum::extract::Query<CheckQuery>,
) -> Result<Response, AppError> {
    let value = q
        .entra_tenant_id
        .trim()
        .trim_matches(|c| c == '{' || c == '}')
        .to_lowercase();
    let is_domain = !value.is_empty() && !tenants::is_guid(&value) && value.contains('.');
    let wanted = value.clone();
    let same = state
        .db
        .read(move |c| crate::db::tenants::with_entra_tenant_id(c, &wanted))
        .await?;
    Ok(axum::response::Html(view::entra_check(&value, is_domain, &same).into_string()).into_response())
}

pub async fn view_tenant_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let is_owner = access.role >= Role::Owner;
    let tid = access.tenant.id.clone();
    let (all, backups_card) = state
        .db
        .read(move |c| Ok((crate::db::policies::list(c, &tid, None, true)?, backups_card(c, &tid)?)))
        .await?;
    let tid = access.tenant.id.clone();
    let health = state
        .db
        .read(move |c| crate::db::health::of(c, Some(&tid)))
        .await?
        .remove(&access.tenant.id)
        .ok_or_else(|| AppError::not_found("tenant"))?;
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
            &view::OverviewCards {
                counts,
                health,
                backups: backups_card,
            },
        ),
    ))
}

/// The settings page's "Delete tenant" form: the tenant's name typed as confirmation.
pub async fn view_tenant_delete_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    let confirm = fields
        .iter()
        .find(|(k, _)| k == "confirm")
        .map_or("", |(_, v)| v.as_str());
    tenants::delete(&state.db, &access.tenant, confirm, &access.caller.user.email).await?;
    Ok(flash::redirect(
        "/",
        Kind::Ok,
        format!("Tenant {} deleted from policyvault.", access.tenant.name),
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
    // Custom endpoints aim the server (and the secret) at any host: a superadmin's call,
    // like adding a tenant, not every owner's.
    if !access.caller.user.superadmin && tenants::sets_new_custom_endpoints(&access.tenant, &input) {
        return Err(AppError::Forbidden(tenants::CUSTOM_ENDPOINTS_SUPERADMIN_ONLY.into()));
    }
    let page = page.in_tenant(&access.tenant.id);
    let form = refill(&input);
    let allow = state.settings.allow_custom_endpoints;
    let new_secret = input
        .client_secret
        .as_ref()
        .is_some_and(|s| !secrecy::ExposeSecret::expose_secret(s).trim().is_empty());
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
        Ok(t) if new_secret => {
            // New credentials: check them at once; the overview follows the run live.
            let user = &access.caller.user;
            crate::ops::starts::verify_as(&state.engine, &t.id, &user.id, &user.email).await?;
            Ok(flash::redirect(
                &format!("/t/{}", t.id),
                Kind::Ok,
                "Settings saved; checking the new credentials now.",
            ))
        }
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

/// The overview's "Backups" card: the newest backup and its capture, drift since it (the
/// newest check of it), the next scheduled backup, and the latest runs.
fn backups_card(c: &rusqlite::Connection, tid: &str) -> crate::db::DbResult<view::BackupsCard> {
    use crate::db::{backups, runs, schedules};
    // "Last backup" is the last capture of the whole tenant: a one-policy set (an accepted
    // drift, a snapshot kept by hand), an import or a "before restore" set is not.
    let last = backups::list(c, tid)?
        .into_iter()
        .find(|s| s.origin != "before_restore" && s.origin != "import" && s.whole_tenant);
    let last_status = match last.as_ref().and_then(|s| s.capture_run_id.clone()) {
        Some(rid) => runs::get(c, &rid)?.map(|r| r.status),
        None => None,
    };
    let drift = crate::db::drift::latest_per_tenant_of(c, tid)?.map(|d| view::DriftSummary {
        run_id: d.run_id,
        checked_at: d.finished_at.unwrap_or_default(),
        changed: d.found.changed,
        removed: d.found.removed,
        added: d.found.added,
        failed: d.status == "failed",
    });
    let now = chrono::Utc::now();
    let next_scheduled = schedules::list(c, tid)?
        .iter()
        .filter(|s| s.enabled)
        .filter_map(|s| crate::schedules::cron::CronExpr::stored(&s.cron).and_then(|e| e.first_after(now)))
        .min()
        .map(crate::clock::format_time);
    let recent = runs::list(
        c,
        tid,
        &runs::RunFilter {
            kind: None,
            status: None,
            limit: 5,
            offset: 0,
        },
    )?;
    Ok(view::BackupsCard {
        last,
        last_status,
        drift,
        next_scheduled,
        recent,
    })
}
