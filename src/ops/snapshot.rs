//! `policy.capture_snapshot`: one policy, one item; a new version only when its canonical
//! content changed, otherwise the item is `skipped` with result "unchanged".

use async_trait::async_trait;
use serde_json::json;

use super::Deps;
use super::capture::capture_policy;
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
        }))
    }
}

#[async_trait]
impl RunContext for Ctx {
    async fn process(&mut self, item: &RunItem) -> ItemOutcome {
        match capture_policy(&self.deps, &self.reader, &item.item_id, &self.run_id).await {
            Ok(Recorded::New(v)) => ItemOutcome::Succeeded {
                result: Some(json!({"version_id": v})),
            },
            Ok(Recorded::Unchanged(v)) => ItemOutcome::Skipped {
                result: Some(json!({"unchanged": true, "version_id": v})),
            },
            Err(outcome) => outcome,
        }
    }
}
