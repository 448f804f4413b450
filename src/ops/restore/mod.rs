//! `restore.preview` and `restore.execute` (and `restore.rerun`, an execute of a parent's
//! items). Run items are backup items; params say whether assignments are restored.
//!
//! Preview holds only a `GraphReader`: it cannot write. Execute, before writing anything,
//! captures the current state of every policy it will touch into a "before restore" set
//! (the undo point), then per item creates or updates, assigns, and reads back to verify.

mod execute;
mod preview;

pub use execute::Execute;
pub use preview::Preview;

use serde_json::{Value, json};

use super::Deps;
use super::references::{self, Found, Status};
use super::sealing::masked_setting;
use crate::db::backups::{self, RestoreSource};
use crate::db::runs::{Run, RunItem};

use crate::graph::error::ErrorCode;
use crate::graph::registry::{self, PolicyType};
use crate::runs::handler::ItemOutcome;

pub const PREVIEW: &str = "restore.preview";
pub const EXECUTE: &str = "restore.execute";
pub const RERUN: &str = "restore.rerun";

pub(super) fn failed(code: ErrorCode) -> ItemOutcome {
    ItemOutcome::Failed {
        result: None,
        code,
        context: json!({}),
    }
}

fn include_assignments(run: &Run) -> bool {
    serde_json::from_str::<Value>(&run.params)
        .ok()
        .and_then(|p| p["include_assignments"].as_bool())
        .unwrap_or(true)
}

/// The backed-up document and type of a run item.
async fn source(deps: &Deps, item: &RunItem) -> Result<(RestoreSource, &'static PolicyType, Value), ItemOutcome> {
    let id = item.item_id.clone();
    let Ok(found) = deps.db.read(move |c| backups::restore_source(c, &id)).await else {
        return Err(failed(ErrorCode::Internal));
    };
    let Some(src) = found else {
        return Err(ItemOutcome::Skipped {
            result: Some(json!({"action": "skip", "reason": "this backup item has no captured version"})),
        });
    };
    let Some(ty) = registry::by_key(&src.policy_type) else {
        return Err(ItemOutcome::Skipped {
            result: Some(json!({"action": "skip", "reason": "type no longer supported"})),
        });
    };
    let Ok(doc) = serde_json::from_str(&src.content) else {
        return Err(failed(ErrorCode::Internal));
    };
    Ok((src, ty, doc))
}

/// An item whose backup holds an encrypted setting without its value (captured masked before
/// Why an item whose backup lacks an encrypted value is skipped.
fn masked_reason(setting: &str) -> String {
    format!("the backup holds no value for the encrypted setting {setting}; restore it by hand")
}

/// secrets were read): skipped, since writing it would send the mask to devices.
fn masked(ty: &PolicyType, doc: &Value) -> Option<ItemOutcome> {
    masked_setting(ty, doc).map(|setting| ItemOutcome::Skipped {
        result: Some(json!({
            "action": "skip",
            "reason": masked_reason(&setting),
        })),
    })
}

/// The references of a backed-up document, each judged for the restore run `run_id`.
async fn references_of(
    deps: &Deps,
    tenant_id: &str,
    run_id: &str,
    ty: &PolicyType,
    doc: &Value,
) -> Result<Vec<(Found, Status)>, ItemOutcome> {
    references::resolve(deps, tenant_id, run_id, references::find(ty, doc))
        .await
        .map_err(|_| failed(ErrorCode::Internal))
}

/// The item's outcome when a reference cannot be resolved: fails closed, naming it.
fn unresolved(ty: &PolicyType, resolved: &[(Found, Status)], action: &str) -> Option<ItemOutcome> {
    let (r, _) = resolved
        .iter()
        .find(|(_, s)| matches!(s, Status::Unresolved | Status::WillBeRecreated))?;
    Some(ItemOutcome::Failed {
        result: Some(json!({"action": action, "references": references::report(resolved)})),
        code: ErrorCode::UnresolvedReference,
        context: json!({"policy_type": ty.key, "setting": references::describe(r)}),
    })
}

/// Adds a note (references rewritten, changes that tighten access) to an outcome's result.
fn noted(mut outcome: ItemOutcome, key: &str, value: Value) -> ItemOutcome {
    let empty = value.as_array().is_some_and(Vec::is_empty) || value.is_null();
    if empty {
        return outcome;
    }
    let (ItemOutcome::Succeeded { result } | ItemOutcome::Skipped { result } | ItemOutcome::Failed { result, .. }) =
        &mut outcome;
    result.get_or_insert_with(|| json!({}))[key] = value;
    outcome
}
