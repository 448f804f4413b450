//! `tenant.verify`: reads one page of every policy type, showing what the app registration
//! may do. One item per type; a type the app may not read fails with `graph_forbidden`.

use async_trait::async_trait;
use serde_json::json;

use super::Deps;
use crate::auth::role::Role;
use crate::db::runs::{NewItem, Run, RunItem};
use crate::graph::GraphReader;
use crate::graph::error::ErrorCode;
use crate::graph::registry::{self, TYPES};
use crate::runs::handler::{ItemOutcome, RunContext, RunFailure, RunHandler};

pub const KIND: &str = "tenant.verify";

pub struct Verify(pub Deps);

/// One item per supported policy type.
pub fn items() -> Vec<NewItem> {
    TYPES
        .iter()
        .map(|t| NewItem {
            item_type: "policy_type".into(),
            item_id: t.key.into(),
            label: t.label.into(),
        })
        .collect()
}

struct Ctx(GraphReader);

#[async_trait]
impl RunHandler for Verify {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn required_role(&self) -> Role {
        Role::Operator
    }

    async fn prepare(&self, run: &Run) -> Result<Box<dyn RunContext>, RunFailure> {
        self.0.resolve_domain(&run.tenant_id, run.id.as_str()).await?;
        Ok(Box::new(Ctx(self.0.reader(&run.tenant_id).await?)))
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
        match self.0.get(&format!("{}?$top=1", ty.collection)).await {
            Ok(_) => ItemOutcome::Succeeded {
                result: Some(json!({"readable": true})),
            },
            Err(e) => {
                let result = match e.code {
                    ErrorCode::GraphForbidden => json!({
                        "readable": false,
                        "missing_permission": ty.permission,
                        "reason": format!("the app registration lacks {}", ty.permission),
                    }),
                    ErrorCode::GraphBadRequest | ErrorCode::GraphNotFound => json!({
                        "readable": false,
                        "reason": "not available in this tenant (not licensed or not offered)",
                    }),
                    _ => json!({"readable": false}),
                };
                ItemOutcome::Failed {
                    result: Some(result),
                    code: e.code,
                    context: e.context,
                }
            }
        }
    }
}
