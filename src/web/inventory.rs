//! Inventory and backup pages, and the start buttons (operator).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::Form;
use super::page::{Page, respond};
use super::state::AppState;
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::{backups, policies};
use crate::error::AppError;
use crate::ops::starts;
use crate::runs::start::Started;
use crate::views::inventory as view;

/// htmx gets the "queued" fragment in place; a plain form post goes to the run's page.
fn answer(headers: &HeaderMap, access: &TenantAccess, s: &Started) -> Response {
    if headers.contains_key("hx-request") {
        Html(view::started(&access.tenant.id, &s.run, s.reused).into_string()).into_response()
    } else {
        Redirect::to(&format!("/t/{}/runs/{}", access.tenant.id, s.run.id)).into_response()
    }
}

pub async fn view_verify_post(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let mut res = answer(&headers, &access, &starts::verify(&state.engine, &access).await?);
    // The overview's Connection card reloads and follows the run live.
    res.headers_mut()
        .insert("hx-trigger", axum::http::HeaderValue::from_static("pv-verify-started"));
    Ok(res)
}

pub async fn view_sync_post(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    Ok(answer(&headers, &access, &starts::sync(&state.engine, &access).await?))
}

/// The backup form: a name, and the policies ticked in the picker (`policy_ids`, repeated);
/// none ticked backs up every current policy.
pub async fn view_backup_post(
    State(state): State<AppState>,
    access: TenantAccess,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut name = String::new();
    let mut picked = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "name" => name = v,
            "policy_ids" => picked.push(v),
            _ => {}
        }
    }
    let chosen = (!picked.is_empty()).then_some(picked);
    let name = crate::names::check(&name, "backup set", 200)?;
    let (_, started) = starts::backup(&state.engine, &access, &name, chosen).await?;
    Ok(answer(&headers, &access, &started))
}

#[derive(Deserialize)]
pub struct PolicyFilter {
    #[serde(rename = "type")]
    policy_type: Option<String>,
    q: Option<String>,
    /// `?deleted=1`: only policies deleted in Intune (what one restores).
    deleted: Option<String>,
    page: Option<usize>,
}

pub async fn view_policies_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Query(f): Query<PolicyFilter>,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let (tid, ty) = (
        access.tenant.id.clone(),
        f.policy_type.clone().filter(|t| !t.is_empty()),
    );
    let mut list = state
        .db
        .read(move |c| policies::list(c, &tid, ty.as_deref(), true))
        .await?;
    let search = f.q.clone().unwrap_or_default();
    if !search.trim().is_empty() {
        let needle = search.trim().to_lowercase();
        list.retain(|p| p.display_name.to_lowercase().contains(&needle));
    }
    let only_deleted = f.deleted.as_deref().is_some_and(|d| !d.is_empty() && d != "0");
    if only_deleted {
        list.retain(|p| p.deleted);
    }
    // Grouped by type, then names as people read them ("Policy 12" before "Policy 100").
    list.sort_by(|a, b| {
        a.policy_type
            .cmp(&b.policy_type)
            .then_with(|| crate::views::dashboard::natural_cmp(&a.display_name, &b.display_name))
    });
    let matching = list.len();
    let pages = matching.div_ceil(view::POLICIES_PER_PAGE).max(1);
    let page_no = f.page.unwrap_or(1).clamp(1, pages);
    let shown: Vec<_> = list
        .into_iter()
        .skip((page_no - 1) * view::POLICIES_PER_PAGE)
        .take(view::POLICIES_PER_PAGE)
        .collect();
    let markup = view::policies(
        &page.nav,
        &access.tenant,
        &shown,
        &view::PolicyFilterView {
            chosen_type: f.policy_type.as_deref().unwrap_or(""),
            search: &search,
            only_deleted,
            page: page_no,
            pages,
            matching,
        },
        access.role >= Role::Owner,
    );
    Ok(respond(&page.nav, markup))
}

pub async fn view_backups_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let tid = access.tenant.id.clone();
    let (sets, progress, current) = state
        .db
        .read(move |c| {
            Ok((
                backups::list(c, &tid)?,
                backups::progress(c, &tid)?,
                policies::list(c, &tid, None, false)?,
            ))
        })
        .await?;
    let v = view::BackupsView {
        sets: &sets,
        progress: &progress,
        policies: &current,
        is_owner: access.role >= Role::Owner,
        can_operate: access.role >= Role::Operator,
    };
    Ok(respond(&page.nav, view::backups(&page.nav, &access.tenant, &v)))
}

/// "Import a backup from a zip" (owner: an imported set feeds restores): the new set's page on success, a toast naming
/// what is wrong otherwise.
pub async fn view_import_post(
    State(state): State<AppState>,
    access: TenantAccess,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    // The route checked the owner role before the body (`post_large_as`); this keeps the
    // handler right on its own.
    access.require(Role::Owner)?;
    let mut multipart = multipart.map_err(|e| AppError::BadRequest(format!("the upload could not be read: {e}")))?;
    let (mut zip, mut name) = (None, None);
    while let Some(field) = multipart.next_field().await.map_err(upload_error)? {
        match field.name() {
            Some("zip") => zip = Some(field.bytes().await.map_err(upload_error)?.to_vec()),
            Some("name") => name = Some(field.text().await.map_err(upload_error)?),
            _ => {}
        }
    }
    let zip = zip
        .filter(|z| !z.is_empty())
        .ok_or_else(|| AppError::Invalid("choose the zip file to import".into()))?;
    let imported = crate::import::import_zip(
        &state.db,
        state.key.clone(),
        &access.tenant,
        name.as_deref(),
        zip,
        &access.caller.user.email,
    )
    .await?;
    let to = format!("/t/{}/backups/{}", access.tenant.id, imported.backup_set.id);
    let mut res = super::flash::redirect(
        &to,
        super::flash::Kind::Ok,
        format!(
            "Imported {} policies from “{}”.",
            imported.files,
            imported.source["backup_set"]["name"].as_str().unwrap_or("the zip")
        ),
    );
    // htmx follows a redirect inside its request; this header makes the browser go there.
    if let Ok(v) = axum::http::HeaderValue::from_str(&to) {
        res.headers_mut().insert("hx-redirect", v);
    }
    *res.status_mut() = axum::http::StatusCode::OK;
    Ok(res)
}

fn upload_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(format!(
            "the zip is larger than {} MiB, the most an import takes",
            crate::import::MAX_ZIP_BYTES >> 20
        ))
    } else {
        AppError::BadRequest(format!("the upload could not be read: {}", e.body_text()))
    }
}
