//! Re-capturing the failed items of a backup run: a new `backup_set.capture` run on the same
//! set, with only the items that failed and still have no version (the capture handler fills
//! an item's version once, so repeating this is harmless), linked to the run it re-runs.
//! Its dedupe key is the set's, so it cannot run beside another capture of the same set.

use serde_json::json;

use super::starts::{initiator, tenant_request_as};
use crate::auth::role::Role;
use crate::auth::tenant_guard::TenantAccess;
use crate::db::backups;
use crate::db::runs::{self, NewItem, Run};
use crate::error::AppError;
use crate::runs::Engine;
use crate::runs::start::{StartRequest, Started, start};

/// Starts the re-capture of `parent`'s failed items (operator).
pub async fn recapture_failed(engine: &Engine, access: &TenantAccess, parent: &Run) -> Result<Started, AppError> {
    access.require(Role::Operator)?;
    if parent.kind != super::backup::KIND || !parent.is_terminal() {
        return Err(AppError::Conflict(
            "only a finished backup can have its failed items captured again".into(),
        ));
    }
    let (pid, set_id) = (parent.id.clone(), parent.target_id.clone());
    let (items, set_items, set) = engine
        .db
        .read(move |c| {
            Ok((
                runs::items(c, &pid, u32::MAX, 0)?,
                backups::items(c, &set_id)?,
                backups::get(c, &set_id)?,
            ))
        })
        .await?;
    let Some(set) = set.filter(|s| s.tenant_id == access.tenant.id) else {
        return Err(AppError::not_found("backup set"));
    };
    let captured: std::collections::HashSet<&str> = set_items
        .iter()
        .filter(|i| i.version_id.is_some())
        .map(|i| i.id.as_str())
        .collect();
    let items: Vec<NewItem> = items
        .into_iter()
        .filter(|i| i.status == "failed" && !captured.contains(i.item_id.as_str()))
        .map(|i| NewItem {
            item_type: i.item_type,
            item_id: i.item_id,
            label: i.label,
        })
        .collect();
    if items.is_empty() {
        return Err(AppError::Invalid(
            "nothing to capture again: every item of this backup is captured".into(),
        ));
    }
    start(
        engine,
        StartRequest {
            target_type: "backup_set",
            target_id: set.id.clone(),
            parent_run_id: Some(parent.id.clone()),
            params: serde_json::from_str(&parent.params).unwrap_or_else(|_| json!({})),
            items,
            ..tenant_request_as(&access.tenant.id, initiator(access), super::backup::KIND)
        },
    )
    .await
}
