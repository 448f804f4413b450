//! What each start creates: the run's target and items. Pages and the API call these, so
//! both start exactly the same runs.

use serde_json::json;

use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::clock;
use crate::db::backups::{self, BackupSet, NewSet};
use crate::db::policies::{self, Policy};
use crate::db::runs::NewItem;
use crate::error::AppError;
use crate::graph::registry;
use crate::runs::Engine;
use crate::runs::start::{Initiator, StartRequest, Started, start, start_in};

fn initiator(access: &TenantAccess) -> Initiator {
    Initiator::User {
        id: access.caller.user.id.clone(),
        email: access.caller.user.email.clone(),
    }
}

fn per_type_items() -> Vec<NewItem> {
    registry::TYPES
        .iter()
        .map(|t| NewItem {
            item_type: "policy_type".into(),
            item_id: t.key.into(),
            label: t.label.into(),
        })
        .collect()
}

fn tenant_request(access: &TenantAccess, kind: &'static str) -> StartRequest {
    StartRequest {
        tenant_id: access.tenant.id.clone(),
        kind,
        target_type: "tenant",
        target_id: access.tenant.id.clone(),
        dry_run: false,
        required_role: Role::Operator,
        initiator: initiator(access),
        parent_run_id: None,
        params: json!({}),
        items: per_type_items(),
        audit_action: None,
    }
}

pub async fn verify(engine: &Engine, access: &TenantAccess) -> Result<Started, AppError> {
    access.require(Role::Operator)?;
    start(engine, tenant_request(access, super::verify::KIND)).await
}

pub async fn sync(engine: &Engine, access: &TenantAccess) -> Result<Started, AppError> {
    access.require(Role::Operator)?;
    start(engine, tenant_request(access, super::sync::KIND)).await
}

pub async fn snapshot(engine: &Engine, access: &TenantAccess, policy: &Policy) -> Result<Started, AppError> {
    access.require(Role::Operator)?;
    start(
        engine,
        StartRequest {
            target_type: "policy",
            target_id: policy.id.clone(),
            items: vec![NewItem {
                item_type: "policy".into(),
                item_id: policy.id.clone(),
                label: policy.display_name.clone(),
            }],
            ..tenant_request(access, super::snapshot::KIND)
        },
    )
    .await
}

/// Creates a backup set of `policy_ids` (all non-deleted policies when `None`) and starts its
/// capture. A second identical request while the first set is still capturing returns that
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
    let base = tenant_request(access, super::backup::KIND);
    let tenant_id = access.tenant.id.clone();
    let (set, started) = engine
        .db
        .write(move |tx| {
            if let Some(found) = active_capture_named(tx, &tenant_id, &name)? {
                return Ok(Ok(found));
            }
            let all = policies::list(tx, &tenant_id, None, false)?;
            let chosen: Vec<Policy> = match &policy_ids {
                None => all,
                Some(ids) => {
                    let picked: Vec<Policy> = all.into_iter().filter(|p| ids.contains(&p.id)).collect();
                    if picked.len() != ids.len() {
                        return Ok(Err(AppError::Invalid(
                            "some policy_ids are not current policies of this tenant; sync the inventory and try again"
                                .into(),
                        )));
                    }
                    picked
                }
            };
            if chosen.is_empty() {
                return Ok(Err(AppError::Invalid(
                    "there is nothing to back up: sync the inventory first".into(),
                )));
            }
            let set_id = clock::new_id();
            let now = clock::now();
            let item_ids = backups::insert(
                tx,
                &NewSet {
                    id: &set_id,
                    tenant_id: &tenant_id,
                    name: &name,
                    origin: "manual",
                    schedule_id: None,
                    now: &now,
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
                .collect();
            let req = StartRequest {
                target_type: "backup_set",
                target_id: set_id.clone(),
                items,
                params: json!({"name": name}),
                ..base
            };
            let started = match start_in(tx, &req)? {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            backups::set_capture_run(tx, &set_id, &started.run.id)?;
            let set = backups::get(tx, &set_id)?.ok_or_else(|| crate::db::DbError::Open {
                path: "backup_sets".into(),
                message: "vanished".into(),
            })?;
            Ok(Ok((set, started)))
        })
        .await??;
    if !started.reused {
        engine.wake.notify_waiters();
    }
    Ok((set, started))
}

/// A set of this name whose capture is still queued or running, with its run.
fn active_capture_named(
    tx: &rusqlite::Connection,
    tenant_id: &str,
    name: &str,
) -> crate::db::DbResult<Option<(BackupSet, Started)>> {
    for set in backups::list(tx, tenant_id)?.into_iter().filter(|s| s.name == name) {
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
