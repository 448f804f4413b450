//! Starting a `backup_set.capture`: the set, its items and the run are created in one
//! transaction, so a set never exists without its capture run. Manual backups (pages, API,
//! demo) and scheduled ones share this path.

use serde_json::json;

use super::starts::{initiator, tenant_request_as};
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::clock;
use crate::db::backups::{self, BackupSet, NewSet};
use crate::db::policies::{self, Policy};
use crate::db::runs::NewItem;
use crate::db::schedules::{self, Schedule};
use crate::db::{DbError, DbResult};
use crate::error::AppError;
use crate::graph::registry;
use crate::runs::Engine;
use crate::runs::start::{Initiator, StartRequest, Started, announce, start_in};

/// What to back up, by whom.
struct Plan {
    tenant_id: String,
    initiator: Initiator,
    name: String,
    /// `None`: the whole tenant (of `policy_types`, when not empty) as the run lists it.
    policy_ids: Option<Vec<String>>,
    policy_types: Vec<String>,
    origin: &'static str,
    schedule_id: Option<String>,
}

/// Creates a backup set of `policy_ids` and starts its capture; with `None`, the capture run
/// first lists the whole tenant and backs up every object it finds. A second identical request while the first set is still capturing returns that
/// set and run (`reused`), so a double click makes one set.
pub async fn backup(
    engine: &Engine,
    access: &TenantAccess,
    name: &str,
    policy_ids: Option<Vec<String>>,
) -> Result<(BackupSet, Started), AppError> {
    access.require(Role::Operator)?;
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::Invalid(
            "give the backup set a name of 1 to 200 characters".into(),
        ));
    }
    if policy_ids.as_ref().is_some_and(Vec::is_empty) {
        return Err(AppError::Invalid(
            "choose at least one policy to back up (or leave the choice out to back up all)".into(),
        ));
    }
    create(
        engine,
        Plan {
            tenant_id: access.tenant.id.clone(),
            initiator: initiator(access),
            name,
            policy_ids,
            policy_types: Vec::new(),
            origin: "manual",
            schedule_id: None,
        },
    )
    .await
}

/// The scheduler's backup for `schedule`. While the schedule's previous set is still being
/// captured, that one is returned (`reused`) instead of starting a second.
pub async fn backup_scheduled(engine: &Engine, schedule: &Schedule) -> Result<(BackupSet, Started), AppError> {
    create(
        engine,
        Plan {
            tenant_id: schedule.tenant_id.clone(),
            initiator: Initiator::Scheduler,
            // No time in the name: every page shows the set's time next to it, in the
            // reader's time zone (a UTC time baked into the name contradicted it).
            name: "Scheduled backup".to_owned(),
            policy_ids: None,
            policy_types: schedule.policy_types.clone(),
            origin: "scheduled",
            schedule_id: Some(schedule.id.clone()),
        },
    )
    .await
}

async fn create(engine: &Engine, plan: Plan) -> Result<(BackupSet, Started), AppError> {
    let (set, started) = engine.db.write(move |tx| create_in(tx, &plan)).await??;
    announce(engine, &started);
    Ok((set, started))
}

fn create_in(tx: &rusqlite::Transaction, plan: &Plan) -> DbResult<Result<(BackupSet, Started), AppError>> {
    if let Some(found) = active_capture(tx, plan)? {
        return Ok(Ok(found));
    }
    let (chosen, listing) = match &plan.policy_ids {
        None => match listing_items(plan) {
            Ok(items) => (Vec::new(), items),
            Err(e) => return Ok(Err(e)),
        },
        Some(ids) => match choose(tx, plan, ids)? {
            Ok(c) => (c, Vec::new()),
            Err(e) => return Ok(Err(e)),
        },
    };
    let set_id = clock::new_id();
    let item_ids = backups::insert(
        tx,
        &NewSet {
            id: &set_id,
            tenant_id: &plan.tenant_id,
            name: &plan.name,
            origin: plan.origin,
            schedule_id: plan.schedule_id.as_deref(),
            now: &clock::now(),
        },
        &chosen,
    )?;
    let items = item_ids
        .into_iter()
        .zip(&chosen)
        .map(|(id, p)| NewItem {
            item_type: "backup_item".into(),
            item_id: id,
            label: p.display_name.clone(),
        })
        .chain(listing)
        .collect();
    let req = StartRequest {
        target_type: "backup_set",
        target_id: set_id.clone(),
        items,
        params: json!({"name": plan.name, "schedule_id": plan.schedule_id}),
        ..tenant_request_as(&plan.tenant_id, plan.initiator.clone(), super::backup::KIND)
    };
    let started = match start_in(tx, &req)? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    backups::set_capture_run(tx, &set_id, &started.run.id)?;
    let set = backups::get(tx, &set_id)?.ok_or_else(|| vanished("backup_sets"))?;
    Ok(Ok((set, started)))
}

/// A whole-tenant backup's first phase: one listing item per type it covers (every supported
/// type, or a schedule's chosen ones).
fn listing_items(plan: &Plan) -> Result<Vec<NewItem>, AppError> {
    let items: Vec<NewItem> = registry::TYPES
        .iter()
        .filter(|t| plan.policy_types.is_empty() || plan.policy_types.iter().any(|k| k == t.key))
        .map(|t| NewItem {
            item_type: super::backup::LIST_ITEM.into(),
            item_id: t.key.into(),
            label: format!("List {}", t.label),
        })
        .collect();
    if items.is_empty() {
        return Err(AppError::Invalid(
            "none of the chosen policy types is supported any more; edit the schedule's types".into(),
        ));
    }
    Ok(items)
}

/// The picked policies, or a message saying why some cannot be backed up.
fn choose(tx: &rusqlite::Connection, plan: &Plan, ids: &[String]) -> DbResult<Result<Vec<Policy>, AppError>> {
    let picked: Vec<Policy> = policies::list(tx, &plan.tenant_id, None, false)?
        .into_iter()
        .filter(|p| ids.contains(&p.id))
        .collect();
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    if picked.len() != distinct.len() {
        return Ok(Err(AppError::Invalid(
            "some policy_ids are not current policies of this tenant; sync the inventory and try again".into(),
        )));
    }
    Ok(Ok(picked))
}

/// The set this plan would duplicate, with its capture run: a set of the same schedule (or,
/// for manual backups, of the same name) whose capture is still queued or running.
fn active_capture(tx: &rusqlite::Connection, plan: &Plan) -> DbResult<Option<(BackupSet, Started)>> {
    let candidates: Vec<BackupSet> = match &plan.schedule_id {
        Some(sid) => match schedules::active_set(tx, sid)? {
            Some(set_id) => backups::get(tx, &set_id)?.into_iter().collect(),
            None => Vec::new(),
        },
        None => backups::list(tx, &plan.tenant_id)?
            .into_iter()
            .filter(|s| s.name == plan.name && s.origin == "manual")
            .collect(),
    };
    for set in candidates {
        if let Some(run) = set
            .capture_run_id
            .as_deref()
            .map(|r| crate::db::runs::get(tx, r))
            .transpose()?
            .flatten()
            && !run.is_terminal()
        {
            return Ok(Some((set, Started { run, reused: true })));
        }
    }
    Ok(None)
}

fn vanished(table: &str) -> DbError {
    DbError::Open {
        path: table.into(),
        message: "a row written in this transaction vanished".into(),
    }
}
