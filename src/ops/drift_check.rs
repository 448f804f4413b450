//! `drift.check`: the tenant as it is now against a baseline backup set. Reads only (it holds
//! a `GraphReader`). Three kinds of item:
//! - `drift_list`, one per supported type: lists the type into the inventory (as a sync does)
//!   and adds a `drift_added` item for every object the baseline does not hold. Objects of a
//!   type the baseline failed to capture are not "added": the listing names them in its result
//!   as `not_in_baseline` (the baseline cannot say whether they are new).
//! - `drift_compare`, one per baseline item (or, for a policy whose drift was accepted, the
//!   backup taken when it was): the live object read and compared, `changed` (with the diff),
//!   `removed` or `unchanged`.
//! - `drift_added`: a live object the baseline lacks; nothing to read.
//!
//! Every item's `result` holds `change` (`changed | removed | added | unchanged`) and `diff`
//! (`shared/API.md`, "Completeness, drift checks, …").

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Deps;
use super::listing::{self, Keep, Listed};
use super::restore_plan::{Plan, plan};
use super::sealing::Sealer;
use crate::auth::role::Role;
use crate::db::drift::{self, ADDED_ITEM, COMPARE_ITEM, LIST_ITEM};
use crate::db::runs::{self, NewItem, Run, RunItem};
use crate::db::{backups, policies};
use crate::graph::GraphReader;
use crate::graph::error::ErrorCode;
use crate::graph::registry;
use crate::runs::handler::{ItemOutcome, RunContext, RunFailure, RunHandler};

pub const KIND: &str = drift::CHECK_KIND;

pub struct DriftCheck(pub Deps);

struct Ctx {
    deps: Deps,
    reader: GraphReader,
    sealer: Sealer,
    run_id: String,
    tenant_id: String,
    /// Types the baseline failed to capture: their objects are not judged "added".
    uncaptured: HashSet<String>,
    /// Compare items that stand for an accepted state rather than the baseline's.
    accepted: HashSet<String>,
    /// Policies the check compares; a listed object outside these is added.
    compared: HashSet<String>,
    to_list: Vec<String>,
    listed: HashMap<String, Result<Listed, ItemOutcome>>,
}

fn internal() -> ItemOutcome {
    ItemOutcome::Failed {
        result: None,
        code: ErrorCode::Internal,
        context: json!({}),
    }
}

fn strings(params: &Value, key: &str) -> HashSet<String> {
    params[key]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[async_trait]
impl RunHandler for DriftCheck {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn required_role(&self) -> Role {
        Role::Operator
    }

    async fn prepare(&self, run: &Run) -> Result<Box<dyn RunContext>, RunFailure> {
        let reader = self.0.reader(&run.tenant_id).await?;
        let params: Value = serde_json::from_str(&run.params).unwrap_or_else(|_| json!({}));
        let rid = run.id.clone();
        let compared = self
            .0
            .db
            .read(move |c| drift::compared_policies(c, &rid))
            .await
            .map_err(|_| RunFailure {
                code: ErrorCode::Internal,
                context: json!({}),
            })?;
        let to_list = listing::pending(&self.0, &run.id, Some(LIST_ITEM)).await?;
        Ok(Box::new(Ctx {
            deps: self.0.clone(),
            reader,
            sealer: self.0.sealer(&run.tenant_id),
            run_id: run.id.clone(),
            tenant_id: run.tenant_id.clone(),
            uncaptured: strings(&params, "uncaptured_types"),
            accepted: strings(&params, "accepted_items"),
            compared,
            to_list,
            listed: HashMap::new(),
        }))
    }
}

impl Ctx {
    /// Lists one type (all pending types at once, the first time) and adds what the baseline lacks.
    async fn list(&mut self, key: &str) -> ItemOutcome {
        let Some(ty) = registry::by_key(key) else {
            return ItemOutcome::Skipped {
                result: Some(json!({"reason": "type no longer supported"})),
            };
        };
        if !self.listed.contains_key(key) {
            let pending = std::mem::take(&mut self.to_list);
            self.listed
                .extend(listing::list_many(&self.deps, &self.reader, &self.tenant_id, &pending, Keep::Names).await);
        }
        let listed = match self.listed.remove(key) {
            Some(l) => l,
            None => listing::list_type(&self.deps, &self.reader, &self.tenant_id, ty, Keep::Names).await,
        };
        let listed = match listed {
            Ok(l) => l,
            Err(outcome) => return outcome,
        };
        let new: Vec<policies::Policy> = listed
            .current
            .into_iter()
            .filter(|p| !self.compared.contains(&p.id))
            .collect();
        if self.uncaptured.contains(key) {
            let names: Vec<Value> = new
                .iter()
                .map(|p| json!({"policy_id": p.id, "display_name": p.display_name}))
                .collect();
            return ItemOutcome::Succeeded {
                result: Some(json!({
                    "listed": names.len(),
                    "not_in_baseline": names,
                    "reason": "capture_failed",
                })),
            };
        }
        let (run, count) = (self.run_id.clone(), new.len());
        let added = self
            .deps
            .db
            .write(move |tx| {
                let already = drift::added_policies(tx, &run)?;
                let items: Vec<NewItem> = new
                    .into_iter()
                    .filter(|p| !already.contains(&p.id))
                    .map(|p| NewItem {
                        item_type: ADDED_ITEM.into(),
                        item_id: p.id,
                        label: p.display_name,
                    })
                    .collect();
                runs::insert_items(tx, &run, &items)
            })
            .await;
        match added {
            Ok(()) => ItemOutcome::Succeeded {
                result: Some(json!({"added": count, "vanished": listed.vanished})),
            },
            Err(_) => internal(),
        }
    }

    /// The live object against the baseline's (or the accepted) version of it.
    async fn compare(&self, item: &RunItem) -> ItemOutcome {
        let id = item.item_id.clone();
        let Ok(found) = self.deps.db.read(move |c| backups::restore_source(c, &id)).await else {
            return internal();
        };
        let Some(src) = found else {
            return ItemOutcome::Skipped {
                result: Some(json!({
                    "diff": [],
                    "not_in_baseline": "capture_failed",
                    "reason": "the baseline holds no captured version of it (its capture failed)",
                })),
            };
        };
        let Some(ty) = registry::by_key(&src.policy_type) else {
            return ItemOutcome::Skipped {
                result: Some(json!({"change": "unchanged", "diff": [], "reason": "type no longer supported"})),
            };
        };
        let Ok(doc) = serde_json::from_str::<Value>(&src.content) else {
            return internal();
        };
        let planned = match plan(&self.reader, &self.sealer, ty, &src.graph_id, &doc, true).await {
            Ok(p) => p,
            Err(outcome) => return outcome,
        };
        let (change, diff) = match planned {
            Plan::Create => ("removed", json!([])),
            Plan::Update { diff, .. } => ("changed", diff),
            Plan::Unchanged => ("unchanged", json!([])),
        };
        let mut result = json!({
            "change": change,
            "diff": diff,
            "policy_id": src.policy_id,
            "policy_type": src.policy_type,
        });
        if self.accepted.contains(&item.item_id) {
            result["compared_with"] = json!("accepted");
        }
        ItemOutcome::Succeeded { result: Some(result) }
    }
}

#[async_trait]
impl RunContext for Ctx {
    async fn process(&mut self, item: &RunItem) -> ItemOutcome {
        match item.item_type.as_str() {
            LIST_ITEM => self.list(&item.item_id).await,
            COMPARE_ITEM => self.compare(item).await,
            ADDED_ITEM => {
                let id = item.item_id.clone();
                let policy = self.deps.db.read(move |c| policies::get(c, &id)).await;
                match policy {
                    Ok(Some(p)) => ItemOutcome::Succeeded {
                        result: Some(json!({
                            "change": "added",
                            "diff": [],
                            "policy_id": p.id,
                            "policy_type": p.policy_type,
                        })),
                    },
                    Ok(None) => ItemOutcome::Skipped {
                        result: Some(
                            json!({"change": "unchanged", "diff": [], "reason": "no longer in the inventory"}),
                        ),
                    },
                    Err(_) => internal(),
                }
            }
            _ => internal(),
        }
    }

    /// A drift check only reads: after a crash an item is simply done again.
    fn marks_running(&self, _item: &RunItem) -> bool {
        false
    }
}
