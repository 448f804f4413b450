//! Pages around backups and restores: version history and diffs, a backup set with its
//! restore picker, and the forms that turn a preview into a live restore, undo or re-run.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use super::api::backup_sets::load_set;
use super::api::policies::load_policy;
use super::extract::Form;
use super::flash::{self, Kind};
use super::page::{Page, respond};
use super::state::AppState;
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::{backups, policies, runs};
use crate::error::AppError;
use crate::ops::sealing::diff_without_secrets;
use crate::ops::starts::{self, RestoreRequest};
use crate::runs::access::load_run;
use crate::runs::start::Started;
use crate::views::inventory::started;
use crate::views::restore::{self as view, PolicyView};

fn to_run(access: &TenantAccess, s: &Started) -> Response {
    Redirect::to(&format!("/t/{}/runs/{}", access.tenant.id, s.run.id)).into_response()
}

#[derive(Deserialize)]
pub struct Compare {
    a: Option<String>,
    b: Option<String>,
}

pub async fn view_policy_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Path((_, pid)): Path<(String, String)>,
    Query(q): Query<Compare>,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let policy = load_policy(&state, &access, &pid).await?;
    let id = policy.id.clone();
    let versions = state.db.read(move |c| policies::versions(c, &id)).await?;
    let compared = match (q.a, q.b) {
        (Some(a), Some(b)) if a != b && versions.iter().any(|v| v.id == a) && versions.iter().any(|v| v.id == b) => {
            let (ra, rb) = (a.clone(), b.clone());
            let (old, new) = state
                .db
                .read(move |c| {
                    Ok((
                        policies::version_with_content(c, &ra)?,
                        policies::version_with_content(c, &rb)?,
                    ))
                })
                .await?;
            let parse = |v: Option<(policies::Version, String, String)>| {
                v.and_then(|(_, _, c)| serde_json::from_str::<Value>(&c).ok())
                    .unwrap_or_default()
            };
            Some((a, b, diff_without_secrets(&parse(old), &parse(new))))
        }
        _ => None,
    };
    let (id, tid) = (policy.id.clone(), access.tenant.id.clone());
    let settings = compared
        .as_ref()
        .map(|(_, _, d)| crate::views::diff::setting_ids(d))
        .unwrap_or_default();
    let (restorable, names) = state
        .db
        .read(move |c| {
            Ok((
                backups::sets_holding_versions(c, &id)?,
                super::names::load(c, &tid, &settings)?,
            ))
        })
        .await?;
    let v = PolicyView {
        names: &names,
        policy: &policy,
        versions: &versions,
        compared,
        restorable: &restorable,
        can_operate: access.role >= Role::Operator,
        is_owner: access.role >= Role::Owner,
    };
    Ok(respond(&page.nav, view::policy(&page.nav, &access.tenant, &v)))
}

pub async fn view_snapshot_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, pid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let policy = load_policy(&state, &access, &pid).await?;
    let s = starts::snapshot(&state.engine, &access, &policy).await?;
    Ok(Html(started(&access.tenant.id, &s.run, s.reused).into_string()).into_response())
}

pub async fn view_backup_set_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Path((_, bid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let set = load_set(&state, &access, &bid).await?;
    let id = set.id.clone();
    let (items, changed_at) = state
        .db
        .read(move |c| Ok((backups::items(c, &id)?, backups::item_captured_at(c, &id)?)))
        .await?;
    let v = view::BackupSetView {
        set: &set,
        items: &items,
        changed_at: &changed_at,
        can_operate: access.role >= Role::Operator,
        is_owner: access.role >= Role::Owner,
    };
    Ok(respond(&page.nav, view::backup_set(&page.nav, &access.tenant, &v)))
}

/// "Download zip" on a backup set's page.
pub async fn view_backup_export_get(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, bid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let set = load_set(&state, &access, &bid).await?;
    super::api::backup_sets::zip_download(&state, &access, &set).await
}

/// "Delete backup set" on a set's page (owner; the button asks first).
pub async fn view_backup_set_delete_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, bid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    access.require(Role::Owner)?;
    let set = load_set(&state, &access, &bid).await?;
    crate::tenants::delete_backup_set(&state.db, &set, &access.caller.user.email).await?;
    Ok(super::flash::redirect(
        &format!("/t/{}/backups", access.tenant.id),
        super::flash::Kind::Ok,
        format!("Backup set {} deleted.", set.name),
    ))
}

/// The preview options of a restore form (picker or "Restore this version").
fn preview_request(set_id: &str, item_ids: Vec<String>, fields: &[(String, String)]) -> RestoreRequest {
    RestoreRequest {
        backup_set_id: set_id.to_owned(),
        item_ids: Some(item_ids),
        dry_run: true,
        include_assignments: Some(fields.iter().any(|(k, v)| k == "include_assignments" && v == "true")),
        confirm: None,
        accept_ca_tightening: None,
        conditional_access_state: fields
            .iter()
            .find(|(k, _)| k == "conditional_access_state")
            .map(|(_, v)| v.clone()),
    }
}

/// The picker's form: repeated `item` fields (serde cannot map those to a struct).
pub async fn view_preview_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, bid)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let set = load_set(&state, &access, &bid).await?;
    let item_ids: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "item")
        .map(|(_, v)| v.clone())
        .collect();
    if item_ids.is_empty() {
        return Ok(flash::redirect(
            &format!("/t/{}/backups/{}", access.tenant.id, set.id),
            Kind::Error,
            "Tick at least one policy to preview.",
        ));
    }
    let req = preview_request(&set.id, item_ids, &fields);
    Ok(to_run(
        &access,
        &starts::restore(&state.engine, &access, &set, req).await?,
    ))
}

/// "Restore this version" on a policy's page (also a deleted one): a preview of the one
/// backup item holding that version, in the newest set that holds it.
pub async fn view_restore_version_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, pid, vid)): Path<(String, String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let policy = load_policy(&state, &access, &pid).await?;
    let id = policy.id.clone();
    let held = state.db.read(move |c| backups::sets_holding_versions(c, &id)).await?;
    let Some((set_id, item_id)) = held.get(&vid).cloned() else {
        return Err(AppError::NotFound("no backup set holds this version".into()));
    };
    let set = load_set(&state, &access, &set_id).await?;
    let req = preview_request(&set.id, vec![item_id], &fields);
    Ok(to_run(
        &access,
        &starts::restore(&state.engine, &access, &set, req).await?,
    ))
}

#[derive(Deserialize)]
pub struct Confirmation {
    confirm: String,
    /// The item filter of the page the form was on, kept when the form comes back.
    show: Option<String>,
    /// The tick accepting the Conditional Access changes that tighten access (`true`).
    accept_ca_tightening: Option<String>,
}

/// `?show=` to go back to: one the run page understands, or none.
fn show_query(show: Option<&str>) -> String {
    match show {
        Some(s) if s == "all" || super::runs::showable(Some(s)).is_some() => format!("?show={s}"),
        _ => String::new(),
    }
}

/// A live restore of exactly what a finished preview showed.
pub async fn view_restore_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
    Form(f): Form<Confirmation>,
) -> Result<Response, AppError> {
    let preview = load_run(&state.db, &access, &rid).await?;
    if preview.kind != crate::ops::restore::PREVIEW || !preview.is_terminal() {
        return Err(AppError::Conflict(
            "start a live restore from a finished preview".into(),
        ));
    }
    let params: Value = serde_json::from_str(&preview.params).unwrap_or_default();
    let set = load_set(&state, &access, params["backup_set_id"].as_str().unwrap_or_default()).await?;
    let pid = preview.id.clone();
    let (items, unguarded) = state
        .db
        .read(move |c| Ok((runs::items(c, &pid, u32::MAX, 0)?, runs::unguarded(c, &pid)?)))
        .await?;
    let accepted = f.accept_ca_tightening.as_deref() == Some("true");
    let from = format!("{}{}", preview.id, show_query(f.show.as_deref()));
    if !accepted && !unguarded.is_empty() {
        // Refused before anything starts; the execute checks again against the live state.
        let refused = Err(AppError::Invalid(format!(
            "Not restored: this restore tightens {} while it is enforced on all users with no exclusion, so a mistake there locks out every user, admins included. Tick “I accept the changes that tighten access” to restore it.",
            unguarded.join(", ")
        )));
        return confirmed(&access, &from, refused);
    }
    let req = RestoreRequest {
        backup_set_id: set.id.clone(),
        item_ids: Some(items.into_iter().map(|i| i.item_id).collect()),
        dry_run: false,
        include_assignments: params["include_assignments"].as_bool(),
        confirm: Some(f.confirm),
        conditional_access_state: params["conditional_access_state"].as_str().map(str::to_owned),
        accept_ca_tightening: Some(accepted),
    };
    let started = starts::restore(&state.engine, &access, &set, req).await;
    confirmed(&access, &from, started)
}

/// A live start from a run page: on success its new run; a wrong confirmation goes back to
/// the page it came from with the message, so nothing on screen is lost.
fn confirmed(access: &TenantAccess, from_run: &str, started: Result<Started, AppError>) -> Result<Response, AppError> {
    match started {
        Ok(s) => Ok(to_run(access, &s)),
        Err(AppError::Invalid(m) | AppError::Conflict(m)) => Ok(flash::redirect(
            &format!("/t/{}/runs/{from_run}", access.tenant.id),
            Kind::Error,
            m,
        )),
        Err(e) => Err(e),
    }
}

pub async fn view_undo_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
    Form(f): Form<Confirmation>,
) -> Result<Response, AppError> {
    let run = load_run(&state.db, &access, &rid).await?;
    let started = starts::undo(&state.engine, &access, &run, Some(&f.confirm)).await;
    confirmed(&access, &run.id, started)
}

pub async fn view_rerun_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
    Form(f): Form<Confirmation>,
) -> Result<Response, AppError> {
    let run = load_run(&state.db, &access, &rid).await?;
    let started = starts::rerun(&state.engine, &access, &run, true, Some(&f.confirm)).await;
    confirmed(&access, &run.id, started)
}

/// "Re-run failed items" of a backup: captures them again in a new run of the same set.
pub async fn view_recapture_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Path((_, rid)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let run = load_run(&state.db, &access, &rid).await?;
    let started = crate::ops::backup_rerun::recapture_failed(&state.engine, &access, &run).await;
    confirmed(&access, &run.id, started)
}

#[derive(Deserialize)]
pub struct ActionsQuery {
    show: Option<String>,
}

/// What a finished run did, in one line, and what can be done next with it (loaded again
/// when its stream says `done`).
pub async fn view_run_actions_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Path((_, rid)): Path<(String, String)>,
    Query(q): Query<ActionsQuery>,
) -> Result<Response, AppError> {
    use crate::ops::restore::{EXECUTE, PREVIEW, RERUN};
    let run = load_run(&state.db, &access, &rid).await?;
    let owner = access.role >= Role::Owner;
    let restoring = run.kind == PREVIEW || run.kind == EXECUTE || run.kind == RERUN;
    if run.kind == crate::ops::backup::KIND && run.is_terminal() && run.failed > 0 && access.role >= Role::Operator {
        return Ok(Html(view::recapture_form(&page.nav, &access.tenant, &run).into_string()).into_response());
    }
    if !restoring || !run.is_terminal() {
        return Ok(Html(String::new()).into_response());
    }
    let id = run.id.clone();
    let (counts, tightens, unguarded) = state
        .db
        .read(move |c| {
            Ok((
                runs::action_counts(c, &id)?,
                runs::tightening(c, &id)?,
                runs::unguarded(c, &id)?,
            ))
        })
        .await?;
    let show = match q.show.as_deref() {
        Some(s) if s == "all" || super::runs::showable(Some(s)).is_some() => s,
        _ => "all",
    };
    let next = match run.kind.as_str() {
        PREVIEW if owner && run.succeeded > 0 => {
            let ca = view::Tightening {
                changes: &tightens,
                unguarded: &unguarded,
            };
            view::restore_form(&page.nav, &access.tenant, &run, &ca, show)
        }
        PREVIEW if run.succeeded > 0 => view::owner_needed(),
        PREVIEW if run.failed == 0 => view::nothing_to_restore(),
        EXECUTE | RERUN if owner => view::after_restore(&page.nav, &access.tenant, &run),
        _ => maud::html! {},
    };
    // A restore from an imported set says so before anyone confirms it: the zip's
    // contents are only as trustworthy as whoever made and imported it.
    let provenance = if run.kind == PREVIEW {
        let set = run.target_id.clone();
        state
            .db
            .read(move |c| crate::db::backups::get(c, &set))
            .await?
            .filter(|s| s.imported_by.is_some())
            .map(|s| view::imported_notice(&s))
    } else {
        None
    };
    let markup = maud::html! { (view::outcome(&run, &counts)) @if let Some(p) = provenance { (p) } (next) };
    Ok(Html(markup.into_string()).into_response())
}
