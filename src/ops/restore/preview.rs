//! `restore.preview`: per item, what a live restore would do (create, update with the field
//! diff, or nothing), which references it would rewrite or cannot resolve, and which
//! Conditional Access changes would tighten access (`tightens`, and `unguarded` when the
//! policy is enforced on all users with no exclusion). Holds only a `GraphReader`: it cannot
//! write.

use async_trait::async_trait;
use serde_json::json;

use super::{Deps, include_assignments, masked, noted, references_of, source, unresolved};
use crate::auth::role::Role;
use crate::db::runs::{Run, RunItem};
use crate::graph::GraphReader;
use crate::graph::recipes;
use crate::ops::conditional_access as ca;
use crate::ops::references;
use crate::ops::restore_plan::{Plan, comparable, plan};
use crate::ops::sealing::{Sealer, diff_without_secrets};
use crate::runs::handler::{ItemOutcome, RunContext, RunFailure, RunHandler};

pub struct Preview(pub Deps);

struct PreviewCtx {
    deps: Deps,
    reader: GraphReader,
    sealer: Sealer,
    assignments: bool,
    tenant_id: String,
    run_id: String,
    keep_ca_state: bool,
}

#[async_trait]
impl RunHandler for Preview {
    fn kind(&self) -> &'static str {
        super::PREVIEW
    }

    fn required_role(&self) -> Role {
        Role::Operator
    }

    async fn prepare(&self, run: &Run) -> Result<Box<dyn RunContext>, RunFailure> {
        Ok(Box::new(PreviewCtx {
            deps: self.0.clone(),
            reader: self.0.reader(&run.tenant_id).await?,
            sealer: self.0.sealer(&run.tenant_id),
            assignments: include_assignments(run),
            tenant_id: run.tenant_id.clone(),
            run_id: run.id.clone(),
            keep_ca_state: ca::keeps_state(run),
        }))
    }
}

#[async_trait]
impl RunContext for PreviewCtx {
    async fn process(&mut self, item: &RunItem) -> ItemOutcome {
        let (src, ty, doc) = match source(&self.deps, item).await {
            Ok(s) => s,
            Err(o) => return o,
        };
        if let Some(skip) = masked(ty, &doc) {
            return skip;
        }
        let resolved = match references_of(&self.deps, &self.tenant_id, &self.run_id, ty, &doc).await {
            Ok(r) => r,
            Err(o) => return o,
        };
        let will_rewrite = resolved.iter().any(|(_, s)| *s == references::Status::WillBeRecreated);
        let planned = match plan(&self.reader, &self.sealer, ty, &src.graph_id, &doc, self.assignments).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        let (action, changes, live) = match planned {
            Plan::Create => (
                "create",
                json!(diff_without_secrets(
                    &json!({}),
                    &comparable(ty, &doc, self.assignments)
                )),
                None,
            ),
            Plan::Update { diff, live } => ("update", diff, Some(live)),
            // A reference to an object this restore re-creates changes the item too.
            Plan::Unchanged if will_rewrite => ("update", json!([]), None),
            Plan::Unchanged => {
                let outcome = ItemOutcome::Skipped {
                    result: Some(json!({"action": "unchanged", "diff": []})),
                };
                return noted(outcome, "references", json!(references::report(&resolved)));
            }
        };
        if let Some(reason) = recipes::unrestorable(ty, &doc) {
            return ItemOutcome::Skipped {
                result: Some(json!({"action": "skip", "reason": reason, "diff": changes})),
            };
        }
        if let Some(failure) = unresolved_now(ty, &resolved, action) {
            return failure;
        }
        let outcome = ItemOutcome::Succeeded {
            result: Some(json!({"action": action, "diff": changes})),
        };
        let outcome = noted(outcome, "references", json!(references::report(&resolved)));
        if ca::is_ca(ty) {
            let written = if action == "create" {
                ca::as_created(doc.clone(), self.keep_ca_state)
            } else {
                doc.clone()
            };
            let tightens = ca::tightening(live.as_ref(), &written);
            // Such an item is refused by a live restore unless the tightening is accepted.
            let unguarded = !tightens.is_empty() && ca::unguarded(&written);
            let outcome = noted(outcome, "tightens", json!(tightens));
            return noted(outcome, "unguarded", if unguarded { json!(true) } else { json!(null) });
        }
        outcome
    }
}

/// In a preview an object this restore re-creates is fine; only a reference nobody brings
/// back fails.
fn unresolved_now(
    ty: &crate::graph::registry::PolicyType,
    resolved: &[(references::Found, references::Status)],
    action: &str,
) -> Option<ItemOutcome> {
    let blocking: Vec<_> = resolved
        .iter()
        .filter(|(_, s)| *s == references::Status::Unresolved)
        .cloned()
        .collect();
    if blocking.is_empty() {
        return None;
    }
    unresolved(ty, &blocking, action).map(|o| noted(o, "references", json!(references::report(resolved))))
}
