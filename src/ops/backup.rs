//! `backup_set.capture`: the set and its items were fixed at start; each item captures its
//! policy and records the version in the item (identical content shares one stored copy).

use async_trait::async_trait;
use serde_json::json;

use super::Deps;
use super::capture::capture_policy;
use crate::auth::role::Role;
use crate::db::backups;
use crate::db::policies::Recorded;
use crate::db::runs::{Run, RunItem};
use crate::graph::GraphReader;
use crate::graph::error::ErrorCode;
use crate::runs::handler::{ItemOutcome, RunContext, RunFailure, RunHandler};

pub const KIND: &str = "backup_set.capture";

pub struct Backup(pub Deps);

struct Ctx {
    deps: Deps,
    reader: GraphReader,
    run_id: String,
}

#[async_trait]
impl RunHandler for Backup {
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
    /// Run items are the set's backup items (`item_id` = the backup item's id).
    async fn process(&mut self, item: &RunItem) -> ItemOutcome {
        let id = item.item_id.clone();
        let Ok(Some(policy_id)) = self.deps.db.read(move |c| backups::policy_of_item(c, &id)).await else {
            return ItemOutcome::Failed {
                code: ErrorCode::Internal,
                context: json!({}),
            };
        };
        let (version, unchanged) = match capture_policy(&self.deps, &self.reader, &policy_id, &self.run_id).await {
            Ok(Recorded::New(v)) => (v, false),
            Ok(Recorded::Unchanged(v)) => (v, true),
            Err(outcome) => return outcome,
        };
        let (item_id, v) = (item.item_id.clone(), version.clone());
        match self
            .deps
            .db
            .write(move |tx| backups::set_item_version(tx, &item_id, &v))
            .await
        {
            Ok(_) => ItemOutcome::Succeeded {
                result: Some(json!({"version_id": version, "unchanged": unchanged})),
            },
            Err(_) => ItemOutcome::Failed {
                code: ErrorCode::Internal,
                context: json!({}),
            },
        }
    }
}
