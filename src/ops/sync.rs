//! `inventory.sync`: lists every supported type, upserts what it sees and marks what
//! vanished as deleted. One item per type, so one type down leaves the others synced.

use async_trait::async_trait;
use serde_json::json;

use super::Deps;
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
        Ok(Box::new(Ctx {
            deps: self.0.clone(),
            reader,
            tenant_id: run.tenant_id.clone(),
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
        match super::listing::list_type(&self.deps, &self.reader, &self.tenant_id, ty).await {
            Ok(listed) => ItemOutcome::Succeeded {
                result: Some(json!({"seen": listed.current.len(), "vanished": listed.vanished})),
            },
            Err(outcome) => outcome,
        }
    }
}
