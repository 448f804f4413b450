//! `inventory.sync`: lists every supported type, upserts what it sees and marks what
//! vanished as deleted. One item per type, so one type down leaves the others synced.

use async_trait::async_trait;
use serde_json::json;

use super::Deps;
use crate::auth::role::Role;
use crate::clock;
use crate::db::policies;
use crate::db::runs::{Run, RunItem};
use crate::graph::GraphReader;
use crate::graph::error::ErrorCode;
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
        let objects = match self.reader.list(ty.collection).await {
            Ok(o) => o,
            Err(e) => {
                return ItemOutcome::Failed {
                    result: None,
                    code: e.code,
                    context: e.context,
                };
            }
        };
        let seen: Vec<(String, String)> = objects
            .iter()
            .filter_map(|o| Some((o["id"].as_str()?.to_owned(), ty.display_name(o).to_owned())))
            .collect();
        let (tenant, key) = (self.tenant_id.clone(), ty.key);
        let written = self
            .deps
            .db
            .write(move |tx| {
                let started = clock::now();
                for (graph_id, name) in &seen {
                    policies::upsert_seen(tx, &tenant, key, graph_id, name, &started)?;
                }
                let vanished = policies::mark_vanished(tx, &tenant, key, &started)?;
                Ok((seen.len(), vanished))
            })
            .await;
        match written {
            Ok((count, vanished)) => ItemOutcome::Succeeded {
                result: Some(json!({"seen": count, "vanished": vanished})),
            },
            Err(_) => ItemOutcome::Failed {
                result: None,
                code: ErrorCode::Internal,
                context: json!({}),
            },
        }
    }
}
