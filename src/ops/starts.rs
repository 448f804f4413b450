//! What each start creates: the run's target and items. Pages and the API call these, so
//! both start exactly the same runs.

use serde_json::json;

use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::backups::{self, BackupSet};
use crate::db::policies::Policy;
use crate::db::runs::NewItem;
use crate::error::AppError;
use crate::graph::registry;
use crate::runs::Engine;
use crate::runs::start::{Initiator, StartRequest, Started, start};

pub use super::backup_start::{backup, backup_scheduled};

pub(super) fn initiator(access: &TenantAccess) -> Initiator {
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
    tenant_request_as(&access.tenant.id, initiator(access), kind)
}

/// A start on the whole tenant by `initiator` (per-type items, operator role).
pub(super) fn tenant_request_as(tenant_id: &str, initiator: Initiator, kind: &'static str) -> StartRequest {
    StartRequest {
        tenant_id: tenant_id.to_owned(),
        kind,
        target_type: "tenant",
        target_id: tenant_id.to_owned(),
        dry_run: false,
        required_role: Role::Operator,
        initiator,
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

/// A verify right after a tenant's credentials were saved, by the user who saved them
/// (authorized again inside the start's transaction).
pub async fn verify_as(engine: &Engine, tenant_id: &str, user_id: &str, email: &str) -> Result<Started, AppError> {
    let initiator = Initiator::User {
        id: user_id.to_owned(),
        email: email.to_owned(),
    };
    start(engine, tenant_request_as(tenant_id, initiator, super::verify::KIND)).await
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

/// A restore request as the API takes it.
#[derive(Debug, serde::Deserialize)]
pub struct RestoreRequest {
    pub backup_set_id: String,
    pub item_ids: Option<Vec<String>>,
    pub dry_run: bool,
    pub include_assignments: Option<bool>,
    pub confirm: Option<String>,
    /// `report_only` (the default: a re-created Conditional Access policy lands in
    /// report-only) or `as_captured`.
    #[serde(default)]
    pub conditional_access_state: Option<String>,
    /// A live restore writes a change that tightens a Conditional Access policy enforced on
    /// all users with no exclusion only when this is true (the confirmation's tick).
    #[serde(default)]
    pub accept_ca_tightening: Option<bool>,
}

/// Live writes need the owner role and the tenant's name typed as confirmation.
fn confirm_live(access: &TenantAccess, confirm: Option<&str>) -> Result<(), AppError> {
    access.require(Role::Owner)?;
    if confirm.map(str::trim) == Some(access.tenant.name.as_str()) {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "a live restore writes to {0}: confirm by typing the tenant's name, {0:?}",
            access.tenant.name
        )))
    }
}

/// `restore.preview` (dry run) or `restore.execute` of a backup set's items.
pub async fn restore(
    engine: &Engine,
    access: &TenantAccess,
    set: &BackupSet,
    req: RestoreRequest,
) -> Result<Started, AppError> {
    if req.dry_run {
        access.require(Role::Operator)?;
    } else {
        confirm_live(access, req.confirm.as_deref())?;
    }
    let set_id = set.id.clone();
    let all = engine.db.read(move |c| backups::items(c, &set_id)).await?;
    let chosen: Vec<_> = match &req.item_ids {
        None => all,
        Some(ids) => {
            let picked: Vec<_> = all.into_iter().filter(|i| ids.contains(&i.id)).collect();
            if picked.len() != ids.len() {
                return Err(AppError::Invalid(
                    "some item_ids are not items of this backup set".into(),
                ));
            }
            picked
        }
    };
    if chosen.is_empty() {
        return Err(AppError::Invalid("choose at least one item to restore".into()));
    }
    let ca_state = match req.conditional_access_state.as_deref() {
        None | Some("report_only") => "report_only",
        Some("as_captured") => "as_captured",
        Some(_) => {
            return Err(AppError::Invalid(
                "conditional_access_state is report_only or as_captured".into(),
            ));
        }
    };
    // Dependency order: what others refer to first, policy sets last (a stable sort keeps
    // the set's order within a type).
    let mut chosen = chosen;
    chosen.sort_by_key(|i| crate::graph::registry::by_key(&i.policy_type).map_or(u16::MAX, |t| t.order));
    let items = chosen
        .into_iter()
        .map(|i| NewItem {
            item_type: "backup_item".into(),
            item_id: i.id,
            label: i.display_name,
        })
        .collect();
    let kind = if req.dry_run {
        super::restore::PREVIEW
    } else {
        super::restore::EXECUTE
    };
    start(
        engine,
        StartRequest {
            target_type: "backup_set",
            target_id: set.id.clone(),
            dry_run: req.dry_run,
            required_role: if req.dry_run { Role::Operator } else { Role::Owner },
            params: json!({
                "include_assignments": req.include_assignments.unwrap_or(true),
                "backup_set_id": set.id,
                "conditional_access_state": ca_state,
                (super::conditional_access::ACCEPT_PARAM): !req.dry_run && req.accept_ca_tightening == Some(true),
            }),
            items,
            audit_action: (!req.dry_run).then_some("restore.started"),
            ..tenant_request(access, kind)
        },
    )
    .await
}

fn restore_kind(kind: &str) -> bool {
    kind == super::restore::EXECUTE || kind == super::restore::RERUN
}

/// `restore.rerun`: the failed items (or all) of a finished live restore, linked to it.
pub async fn rerun(
    engine: &Engine,
    access: &TenantAccess,
    parent: &crate::db::runs::Run,
    only_failed: bool,
    confirm: Option<&str>,
) -> Result<Started, AppError> {
    confirm_live(access, confirm)?;
    if !restore_kind(&parent.kind) || !parent.is_terminal() {
        return Err(AppError::Conflict("only a finished live restore can be re-run".into()));
    }
    let pid = parent.id.clone();
    let items = engine
        .db
        .read(move |c| crate::db::runs::items(c, &pid, u32::MAX, 0))
        .await?;
    let items: Vec<NewItem> = items
        .into_iter()
        .filter(|i| !only_failed || i.status == "failed")
        .map(|i| NewItem {
            item_type: i.item_type,
            item_id: i.item_id,
            label: i.label,
        })
        .collect();
    if items.is_empty() {
        return Err(AppError::Invalid(
            "nothing to re-run: no item of that run failed".into(),
        ));
    }
    start(
        engine,
        StartRequest {
            target_type: "run",
            target_id: parent.id.clone(),
            required_role: Role::Owner,
            parent_run_id: Some(parent.id.clone()),
            params: serde_json::from_str(&parent.params).unwrap_or_else(|_| json!({})),
            items,
            audit_action: Some("restore.started"),
            ..tenant_request(access, super::restore::RERUN)
        },
    )
    .await
}

/// Undo of a live restore: restores its "before restore" set (updated policies go back) and
/// deletes every object the restore created.
pub async fn undo(
    engine: &Engine,
    access: &TenantAccess,
    parent: &crate::db::runs::Run,
    confirm: Option<&str>,
) -> Result<Started, AppError> {
    confirm_live(access, confirm)?;
    if !restore_kind(&parent.kind) || !parent.is_terminal() {
        return Err(AppError::Conflict("only a finished live restore can be undone".into()));
    }
    // A restore that only created objects keeps no "before restore" set (nothing was there):
    // its undo deletes what it created.
    let before = parent.before_backup_set_id.clone();
    let pid = parent.id.clone();
    let (before_items, done) = engine
        .db
        .read(move |c| {
            Ok((
                match &before {
                    Some(b) => backups::items(c, b)?,
                    None => Vec::new(),
                },
                crate::db::runs::items(c, &pid, u32::MAX, 0)?,
            ))
        })
        .await?;
    let mut items: Vec<NewItem> = before_items
        .into_iter()
        .filter(|i| i.version_id.is_some())
        .map(|i| NewItem {
            item_type: "backup_item".into(),
            item_id: i.id,
            label: i.display_name,
        })
        .collect();
    for created in done
        .iter()
        .filter(|i| i.status == "succeeded" && i.result.as_ref().is_some_and(|r| r["action"] == "create"))
    {
        let graph_id = created
            .result
            .as_ref()
            .and_then(|r| r["graph_id"].as_str())
            .unwrap_or_default();
        let source_id = created.item_id.clone();
        let ty = engine
            .db
            .read(move |c| backups::restore_source(c, &source_id))
            .await?
            .map(|s| s.policy_type)
            .unwrap_or_default();
        items.push(NewItem {
            item_type: "delete".into(),
            item_id: format!("{ty}:{graph_id}"),
            label: format!("Delete {}", created.label),
        });
    }
    if items.is_empty() {
        return Err(AppError::Invalid("nothing to undo".into()));
    }
    start(
        engine,
        StartRequest {
            target_type: "undo",
            target_id: parent.id.clone(),
            required_role: Role::Owner,
            parent_run_id: Some(parent.id.clone()),
            params: serde_json::from_str(&parent.params).unwrap_or_else(|_| json!({})),
            items,
            audit_action: Some("restore.undo_started"),
            ..tenant_request(access, super::restore::EXECUTE)
        },
    )
    .await
}
