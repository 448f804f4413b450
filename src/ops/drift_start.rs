//! Starting a `drift.check` of a baseline: its items are fixed here (one listing per type,
//! one comparison per baseline item), except the `added` ones its listings find.

use serde_json::json;

use super::starts::{initiator, tenant_request_as};
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::backups::{self, BackupItem, BackupSet};
use crate::db::drift::{self, COMPARE_ITEM, LIST_ITEM};
use crate::db::runs::NewItem;
use crate::error::AppError;
use crate::graph::registry;
use crate::runs::Engine;
use crate::runs::start::{Initiator, StartRequest, Started, start};

/// The items a check of `set` compares: each baseline item, or, where the policy's drift was
/// accepted, the captured item of the accepted backup; and the ids of the latter.
async fn compared_items(engine: &Engine, set: &BackupSet) -> Result<(Vec<BackupItem>, Vec<String>), AppError> {
    let set_id = set.id.clone();
    let (baseline, accepted) = engine
        .db
        .read(move |c| {
            let baseline = backups::items(c, &set_id)?;
            let mut accepted = Vec::new();
            for a in drift::acceptances(c, &set_id)?.into_values() {
                if let Some(item) = backups::items(c, &a.accepted_set_id)?
                    .into_iter()
                    .find(|i| i.policy_id == a.policy_id && i.version_id.is_some())
                {
                    accepted.push(item);
                }
            }
            Ok((baseline, accepted))
        })
        .await?;
    let mut items: Vec<BackupItem> = baseline
        .into_iter()
        .filter(|b| !accepted.iter().any(|a| a.policy_id == b.policy_id))
        .collect();
    let accepted_ids = accepted.iter().map(|a| a.id.clone()).collect();
    items.extend(accepted);
    items.sort_by_key(|i| registry::by_key(&i.policy_type).map_or(u16::MAX, |t| t.order));
    Ok((items, accepted_ids))
}

/// `drift.check` of the tenant against `set` (operator). A second start while one of the same
/// baseline is queued or running returns that one (`reused`).
pub async fn drift_check(engine: &Engine, access: &TenantAccess, set: &BackupSet) -> Result<Started, AppError> {
    access.require(Role::Operator)?;
    if set.tenant_id != access.tenant.id {
        return Err(AppError::not_found("backup set"));
    }
    drift_check_as(engine, initiator(access), set).await
}

/// The scheduler's check after a scheduled backup: the tenant against `set` (the newest
/// complete whole-tenant backup before it), so the dashboard shows the drift since then.
pub async fn drift_check_scheduled(engine: &Engine, set: &BackupSet) -> Result<Started, AppError> {
    drift_check_as(engine, Initiator::Scheduler, set).await
}

async fn drift_check_as(engine: &Engine, initiator: Initiator, set: &BackupSet) -> Result<Started, AppError> {
    let (compared, accepted) = compared_items(engine, set).await?;
    let mut items: Vec<NewItem> = registry::TYPES
        .iter()
        .map(|t| NewItem {
            item_type: LIST_ITEM.into(),
            item_id: t.key.into(),
            label: format!("List {}", t.label),
        })
        .collect();
    items.extend(compared.into_iter().map(|i| NewItem {
        item_type: COMPARE_ITEM.into(),
        item_id: i.id,
        label: i.display_name,
    }));
    let uncaptured: Vec<&str> = set.missing_types.iter().map(|m| m.policy_type.as_str()).collect();
    start(
        engine,
        StartRequest {
            target_type: "drift_baseline",
            target_id: set.id.clone(),
            dry_run: true,
            required_role: Role::Operator,
            params: json!({
                "baseline_set_id": set.id,
                "baseline_complete": set.complete,
                "baseline_whole_tenant": set.whole_tenant,
                "uncaptured_types": uncaptured,
                "accepted_items": accepted,
            }),
            items,
            ..tenant_request_as(&set.tenant_id, initiator, drift::CHECK_KIND)
        },
    )
    .await
}

/// Why there is no default baseline, and what to do.
pub const NO_BASELINE: &str = "there is no complete backup of the whole tenant to compare with yet: back up the whole tenant, or choose a baseline by hand";
