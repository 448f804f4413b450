//! The drift page: a baseline (a backup set; by default the newest complete backup of the
//! whole tenant) against the tenant as it is now. "Check drift now" starts a `drift.check`
//! (reads only, like every start: job-only, deduped); the page shows its latest outcome.
//! "Accept" on a row backs the policy up as it is now, and the next check compares it with
//! that state instead of the baseline's.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use super::api::operations::drift_baseline;
use super::extract::Form;
use super::flash::{self, Kind};
use super::page::{Page, respond};
use super::state::AppState;
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::drift::{self, CHECK_KIND};
use crate::db::runs::RunFilter;
use crate::db::{backups, runs};
use crate::error::AppError;
use crate::ops::{drift_start, starts};
use crate::runs::access::load_run;
use crate::views::drift as view;

#[derive(Deserialize)]
pub struct DriftQuery {
    set: Option<String>,
    run: Option<String>,
    all: Option<String>,
}

/// Which set a drift check compared with.
fn set_of(run: &runs::Run) -> Option<String> {
    let params: Value = serde_json::from_str(&run.params).ok()?;
    params["baseline_set_id"].as_str().map(str::to_owned)
}

/// The newest drift check of `set_id`.
fn latest_check(c: &rusqlite::Connection, tenant_id: &str, set_id: &str) -> crate::db::DbResult<Option<runs::Run>> {
    let filter = RunFilter {
        kind: Some(CHECK_KIND.into()),
        status: None,
        limit: 200,
        offset: 0,
    };
    Ok(runs::list(c, tenant_id, &filter)?
        .into_iter()
        .find(|r| set_of(r).as_deref() == Some(set_id)))
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
    // A given check names its baseline; otherwise the chosen set, or the default baseline.
    let given = match &q.run {
        Some(rid) => Some(load_run(&state.db, &access, rid).await?).filter(|r| r.kind == CHECK_KIND),
        None => None,
    };
    let wanted = given.as_ref().and_then(set_of).or(q.set.clone());
    let baseline = match wanted {
        Some(id) => sets.iter().find(|s| s.id == id),
        None => backups::default_baseline(&sets),
    }
    .cloned();
    let (check, accepted) = match &baseline {
        Some(b) => {
            let (tid, bid) = (access.tenant.id.clone(), b.id.clone());
            state
                .db
                .read(move |c| {
                    let run = match given {
                        Some(r) => Some(r),
                        None => latest_check(c, &tid, &bid)?,
                    };
                    let check = match run {
                        Some(r) => {
                            let items = runs::items(c, &r.id, u32::MAX, 0)?;
                            Some((r, items))
                        }
                        None => None,
                    };
                    Ok((check, drift::acceptances(c, &bid)?))
                })
                .await?
        }
        None => (None, std::collections::HashMap::new()),
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
        default_exists: backups::default_baseline(&sets).is_some(),
        check: check.as_ref().map(|(r, i)| (r, i.as_slice())),
        accepted: &accepted,
        show_all: q.all.is_some_and(|a| !a.is_empty() && a != "0"),
        csrf: &page.nav.csrf,
        can_operate: access.role >= Role::Operator,
        is_owner: access.role >= Role::Owner,
    };
    Ok(respond(&page.nav, view::drift(&page.nav, &access.tenant, &v)))
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// "Check drift now": a `drift.check` of the chosen baseline (the default one when none is
/// chosen), then the drift page showing it.
pub async fn view_drift_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    access.require(Role::Operator)?;
    let set = match drift_baseline(&state, &access, field(&fields, "set")).await {
        Ok(set) => set,
        Err(AppError::Conflict(why)) => {
            let to = format!("/t/{}/drift", access.tenant.id);
            return Ok(flash::redirect(&to, Kind::Error, format!("Not checked: {why}.")));
        }
        Err(e) => return Err(e),
    };
    let s = drift_start::drift_check(&state.engine, &access, &set).await?;
    Ok(Redirect::to(&format!("/t/{}/drift?run={}", access.tenant.id, s.run.id)).into_response())
}

/// "Accept" on a drift row: a backup of the policy as it is now, recorded as what the next
/// check of this baseline compares the policy with. Stays on the drift page.
pub async fn view_drift_accept_post(
    State(state): State<AppState>,
    access: TenantAccess,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    access.require(Role::Operator)?;
    let Some(set_id) = field(&fields, "set") else {
        return Err(AppError::BadRequest(
            "say which baseline the drift is accepted against (set)".into(),
        ));
    };
    let Some(policy_id) = field(&fields, "policy_id") else {
        return Err(AppError::BadRequest(
            "say which policy's drift is accepted (policy_id)".into(),
        ));
    };
    let baseline = super::api::backup_sets::load_set(&state, &access, set_id).await?;
    let policy = super::api::policies::load_policy(&state, &access, policy_id).await?;
    let name: String = format!("Accepted drift: {}", policy.display_name)
        .chars()
        .take(200)
        .collect();
    let (accepted_set, _) = starts::backup(&state.engine, &access, &name, Some(vec![policy.id.clone()])).await?;
    let (tid, bid, pid, aid, uid) = (
        access.tenant.id.clone(),
        baseline.id.clone(),
        policy.id.clone(),
        accepted_set.id.clone(),
        access.caller.user.id.clone(),
    );
    state
        .db
        .write(move |tx| {
            drift::accept(
                tx,
                &drift::NewAcceptance {
                    tenant_id: &tid,
                    baseline_set_id: &bid,
                    policy_id: &pid,
                    accepted_set_id: &aid,
                    accepted_by: &uid,
                    now: &crate::clock::now(),
                },
            )
        })
        .await?;
    Ok(flash::redirect(
        &format!("/t/{}/drift?set={}", access.tenant.id, baseline.id),
        Kind::Ok,
        format!(
            "Accepted the drift of “{}”: the next check compares it with its state now (the backup “{}”), not with the baseline “{}”.",
            policy.display_name, accepted_set.name, baseline.name
        ),
    ))
}
