//! The step snapshot and backup share: read a policy from Graph and record it as a version
//! (or note that it is unchanged).

use serde_json::json;

use super::Deps;
use crate::clock;
use crate::db::policies::{self, Recorded};
use crate::graph::canonical::{canonicalize, content_hash};
use crate::graph::error::ErrorCode;
use crate::graph::{GraphReader, policy, registry};
use crate::runs::handler::ItemOutcome;

/// Captures the policy with our id `policy_id`; the version it now has, and whether that
/// version is new.
pub async fn capture_policy(
    deps: &Deps,
    reader: &GraphReader,
    policy_id: &str,
    run_id: &str,
) -> Result<Recorded, ItemOutcome> {
    let id = policy_id.to_owned();
    let p = deps
        .db
        .read(move |c| policies::get(c, &id))
        .await
        .map_err(|_| failed(ErrorCode::Internal))?
        .ok_or_else(|| ItemOutcome::Skipped {
            result: Some(json!({"reason": "the policy is no longer in the inventory"})),
        })?;
    let Some(ty) = registry::by_key(&p.policy_type) else {
        return Err(ItemOutcome::Skipped {
            result: Some(json!({"reason": "type no longer supported"})),
        });
    };
    let document = policy::capture(reader, ty, &p.graph_id).await.map_err(|e| {
        let mut context = e.context;
        context["policy_type"] = json!(ty.key);
        ItemOutcome::Failed { code: e.code, context }
    })?;
    let content = canonicalize(&document);
    let hash = content_hash(&content);
    let text = content.to_string();
    let run = run_id.to_owned();
    deps.db
        .write(move |tx| {
            // Re-read inside the transaction: another run may have captured meanwhile.
            let Some(current) = policies::get(tx, &p.id)? else {
                return Ok(None);
            };
            Ok(Some(policies::record_version(
                tx,
                &current,
                &hash,
                &text,
                Some(&run),
                &clock::now(),
            )?))
        })
        .await
        .map_err(|_| failed(ErrorCode::Internal))?
        .ok_or_else(|| ItemOutcome::Skipped {
            result: Some(json!({"reason": "the policy was removed meanwhile"})),
        })
}

fn failed(code: ErrorCode) -> ItemOutcome {
    ItemOutcome::Failed {
        code,
        context: json!({}),
    }
}
