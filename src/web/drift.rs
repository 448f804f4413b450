//! The drift page: a baseline (any backup set, the newest by default) against the tenant as
//! it is now. "Check drift now" starts a `restore.preview` of the whole baseline (reads
//! only, like every start: job-only, deduped); the page shows its outcome as drift.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use super::api::backup_sets::load_set;
use super::extract::Form;
use super::page::{Page, respond};
use super::state::AppState;
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::runs::RunFilter;
use crate::db::{backups, policies, runs};
use crate::error::AppError;
use crate::ops::restore::PREVIEW;
use crate::ops::starts::{self, RestoreRequest};
use crate::runs::access::load_run;
use crate::views::drift as view;

#[derive(Deserialize)]
pub struct DriftQuery {
    set: Option<String>,
    run: Option<String>,
    all: Option<String>,
}

/// Which set a preview run compared with.
fn set_of(run: &runs::Run) -> Option<String> {
    let params: Value = serde_json::from_str(&run.params).ok()?;
    params["backup_set_id"].as_str().map(str::to_owned)
}

pub async fn view_drift_get(
    State(state): State<AppState>,
    access: TenantAccess,
    page: Page,
    Query(q): Query<DriftQuery>,
) -> Result<Response, AppError> {
    let page = page.in_tenant(&access.tenant.id);
    let tid = access.tenant.id.clone();
    let sets = state.db.read(move |c| backups::list(c, &tid)).await?;
    // A given check names its baseline; otherwise the chosen set, or the newest backup.
    let given = match &q.run {
        Some(rid) => Some(load_run(&state.db, &access, rid).await?).filter(|r| r.kind == PREVIEW),
        None => None,
    };
    let wanted = given.as_ref().and_then(set_of).or(q.set.clone());
    let baseline = match wanted {
        Some(id) => sets.iter().find(|s| s.id == id),
        None => backups::default_baseline(&sets),
    }
    .cloned();
    let (check, baseline_items, added) = match &baseline {
        Some(b) => {
            let (tid, b) = (access.tenant.id.clone(), b.clone());
            let given = given.clone();
            state
                .db
                .read(move |c| {
                    let items = backups::items(c, &b.id)?;
                    // The newest check of the whole baseline, unless one was given.
                    let run = match given {
                        Some(r) => Some(r),
                        None => runs::list(
                            c,
                            &tid,
                            &RunFilter {
                                kind: Some(PREVIEW.into()),
                                status: None,
                                limit: 200,
                                offset: 0,
                            },
                        )?
                        .into_iter()
                        .find(|r| set_of(r).as_deref() == Some(b.id.as_str()) && r.total == b.item_count),
                    };
                    let check = match run {
                        Some(r) => {
                            let its = runs::items(c, &r.id, u32::MAX, 0)?;
                            Some((r, its))
                        }
                        None => None,
                    };
                    let held: std::collections::HashSet<String> = items.iter().map(|i| i.policy_id.clone()).collect();
                    let added: Vec<policies::Policy> = policies::list(c, &tid, None, false)?
                        .into_iter()
                        .filter(|p| !held.contains(&p.id))
                        .collect();
                    Ok((check, items, added))
                })
                .await?
        }
        None => (None, Vec::new(), Vec::new()),
    };
    let tid = access.tenant.id.clone();
    let entries: Vec<_> = check
        .iter()
        .flat_map(|(_, items)| items.iter().flat_map(crate::views::diff::stored_diff))
        .collect();
    let settings = crate::views::diff::setting_ids(&entries);
    let names = state.db.read(move |c| super::names::load(c, &tid, &settings)).await?;
    let v = view::DriftView {
        names: &names,
        sets: &sets,
        baseline: baseline.as_ref(),
        check: check.as_ref().map(|(r, i)| (r, i.as_slice())),
        baseline_items: &baseline_items,
        added: &added,
        show_all: q.all.is_some_and(|a| !a.is_empty() && a != "0"),
        csrf: &page.nav.csrf,
        can_operate: access.role >= Role::Operator,
        is_owner: access.role >= Role::Owner,
    };
    Ok(respond(&page.nav, view::drift(&page.nav, &access.tenant, &v)))
}

/// "Check drift now": a preview of the whole baseline (the newest backup when none is
/// chosen), then the drift page showing it.
pub async fn view_drift_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let chosen = fields.iter().find(|(k, _)| k == "set").map(|(_, v)| v.clone());
    let set = if let Some(id) = chosen.filter(|s| !s.is_empty()) {
        load_set(&state, &access, &id).await?
    } else {
        let tid = access.tenant.id.clone();
        let sets = state.db.read(move |c| backups::list(c, &tid)).await?;
        let Some(latest) = backups::default_baseline(&sets) else {
            return Err(AppError::Invalid(
                "there is no backup to compare with yet: back up first".into(),
            ));
        };
        latest.clone()
    };
    let req = RestoreRequest {
        backup_set_id: set.id.clone(),
        item_ids: None,
        dry_run: true,
        include_assignments: Some(true),
        confirm: None,
        conditional_access_state: None,
        accept_ca_tightening: None,
    };
    let s = starts::restore(&state.engine, &access, &set, req).await?;
    Ok(Redirect::to(&format!("/t/{}/drift?run={}", access.tenant.id, s.run.id)).into_response())
}
