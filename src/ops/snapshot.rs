//! `policy.capture_snapshot`: one policy, one item; a new version only when its canonical
//! content changed, otherwise the item is `skipped` with result "unchanged".

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::json;

use super::Deps;
use super::capture::{fetch_documents, record_document};
use crate::auth::role::Role;
use crate::db::policies::Recorded;
use crate::db::runs::{Run, RunItem};
use crate::graph::GraphReader;
use crate::runs::handler::{ItemOutcome, RunContext, RunFailure, RunHandler};

pub const KIND: &str = "policy.capture_snapshot";

pub struct Snapshot(pub Deps);

struct Ctx {
    deps: Deps,
    reader: GraphReader,
    run_id: String,
    tenant_id: String,
    /// Groups the captured documents' assignments target, named once the items are done.
    groups: BTreeSet<String>,
    /// Setting definitions the captured documents use, named once the items are done.
    settings: BTreeSet<String>,
}

#[async_trait]
impl RunHandler for Snapshot {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn required_role(&self) -> Role {
        Role::Operator
    }

    async fn prepare(&self, run: &Run) -> Result<Box<dyn RunContext>, RunFailure> {
        let reader = self.0.reader(&run.tenant_id).await?;
        Ok(Box::new(Ctx {
            deps: self.0.clone(),
            reader,
            run_id: run.id.clone(),
            tenant_id: run.tenant_id.clone(),
            groups: BTreeSet::new(),
            settings: BTreeSet::new(),
        }))
    }
}

#[async_trait]
impl RunContext for Ctx {
    async fn process(&mut self, item: &RunItem) -> ItemOutcome {
        let mut fetched = fetch_documents(&self.deps, &self.reader, std::slice::from_ref(&item.item_id)).await;
        let document = match fetched.remove(&item.item_id) {
            Some(Ok(d)) => d,
            Some(Err(outcome)) => return outcome,
            None => {
                return ItemOutcome::Skipped {
                    result: Some(json!({"reason": "the policy is no longer in the inventory"})),
                };
            }
        };
        super::directory::collect_group_ids(&document, &mut self.groups);
        super::setting_definitions::collect_definition_ids(&document, &mut self.settings);
        match record_document(&self.deps, &item.item_id, &document, &self.run_id).await {
            Ok(Recorded::New(v)) => ItemOutcome::Succeeded {
                result: Some(json!({"version_id": v})),
            },
            Ok(Recorded::Unchanged(v)) => ItemOutcome::Skipped {
                result: Some(json!({"unchanged": true, "version_id": v})),
            },
            Err(outcome) => outcome,
        }
    }

    async fn after_items(&mut self) {
        let groups = std::mem::take(&mut self.groups);
        super::directory::resolve_group_names(&self.deps, &self.reader, &self.tenant_id, groups).await;
        let settings = std::mem::take(&mut self.settings);
        super::setting_definitions::resolve_setting_names(&self.deps, &self.reader, &self.tenant_id, settings).await;
    }
}
