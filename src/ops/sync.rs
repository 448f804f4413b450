//! `inventory.sync`: lists every supported type, upserts what it sees and marks what
//! vanished as deleted. One item per type, so one type down leaves the others synced.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::json;

use super::Deps;
use super::listing::{self, Listed};
use crate::auth::role::Role;
use crate::db::runs::{Run, RunItem};
use crate::graph::GraphReader;
use crate::graph::registry;
use crate::runs::handler::{ItemOutcome, RunContext, RunFailure, RunHandler};

pub const KIND: &str = "inventory.sync";

pub struct Sync(pub Deps);

struct Ctx {
    deps: Deps,
    reader: GraphReader,
    tenant_id: String,
    /// Types still to list: the first item lists them all at once (their pages follow one
    /// another, the types do not), each item then records its own.
    to_list: Vec<String>,
    listed: HashMap<String, Result<Listed, ItemOutcome>>,
}

#[async_trait]
impl RunHandler for Sync {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn required_role(&self) -> Role {
        Role::Operator
    }

    async fn prepare(&self, run: &Run) -> Result<Box<dyn RunContext>, RunFailure> {
        let reader = self.0.reader(&run.tenant_id).await?;
        let to_list = listing::pending(&self.0, &run.id, None).await?;
        Ok(Box::new(Ctx {
            deps: self.0.clone(),
            reader,
            tenant_id: run.tenant_id.clone(),
            to_list,
            listed: HashMap::new(),
        }))
    }
}

#[async_trait]
impl RunContext for Ctx {
    async fn process(&mut self, item: &RunItem) -> ItemOutcome {
        let Some(ty) = registry::by_key(&item.item_id) else {
            return ItemOutcome::Skipped {
                result: Some(json!({"reason": "type no longer supported"})),
            };
        };
        if !self.listed.contains_key(ty.key) {
            let pending = std::mem::take(&mut self.to_list);
            self.listed.extend(
                listing::list_many(
                    &self.deps,
                    &self.reader,
                    &self.tenant_id,
                    &pending,
                    listing::Keep::Names,
                )
                .await,
            );
        }
        let listed = match self.listed.remove(ty.key) {
            Some(l) => l,
            None => listing::list_type(&self.deps, &self.reader, &self.tenant_id, ty, listing::Keep::Names).await,
        };
        match listed {
            Ok(listed) => ItemOutcome::Succeeded {
                result: Some(json!({"seen": listed.current.len(), "vanished": listed.vanished})),
            },
            Err(outcome) => outcome,
        }
    }
}
