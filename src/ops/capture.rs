//! The step snapshot and backup share: read a policy from Graph and record it as a version
//! (or note that it is unchanged).

use serde_json::{Value, json};

use super::Deps;
use crate::clock;
use crate::db::policies::{self, Recorded};
use crate::graph::canonical::{canonicalize, content_hash};
use crate::graph::error::ErrorCode;
use crate::graph::{GraphReader, policy, registry};
use crate::runs::handler::ItemOutcome;

/// Fetches the documents of many policies (by our ids) in batches; `None` for a policy no
/// longer in the inventory or of a type no longer supported.
pub async fn fetch_documents(
    deps: &Deps,
    reader: &GraphReader,
    policy_ids: &[String],
) -> std::collections::HashMap<String, Result<Value, ItemOutcome>> {
    let ids = policy_ids.to_vec();
    let found = deps
        .db
        .read(move |c| ids.iter().map(|id| policies::get(c, id)).collect::<Result<Vec<_>, _>>())
        .await
        .unwrap_or_default();
    let known: Vec<(String, &'static registry::PolicyType, String)> = found
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p.id, registry::by_key(&p.policy_type)?, p.graph_id)))
        .collect();
    let wanted: Vec<(&registry::PolicyType, String)> = known.iter().map(|(_, ty, gid)| (*ty, gid.clone())).collect();
    let documents = policy::capture_many(reader, &wanted).await;
    known
        .into_iter()
        .zip(documents)
        .map(|((id, ty, _), doc)| {
            let doc = doc.map_err(|e| {
                let mut context = e.context;
                context["policy_type"] = json!(ty.key);
                ItemOutcome::Failed {
                    result: None,
                    code: e.code,
                    context,
                }
            });
            (id, doc)
        })
        .collect()
}

/// Stores a fetched document as the policy's version (or notes it is unchanged).
pub async fn record_document(
    deps: &Deps,
    policy_id: &str,
    document: &Value,
    run_id: &str,
) -> Result<Recorded, ItemOutcome> {
    let content = canonicalize(document);
    let hash = content_hash(&content);
    let text = content.to_string();
    let (run, id) = (run_id.to_owned(), policy_id.to_owned());
    deps.db
        .write(move |tx| {
            // Re-read inside the transaction: another run may have captured meanwhile.
            let Some(current) = policies::get(tx, &id)? else {
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
        ItemOutcome::Failed {
            result: None,
            code: e.code,
            context,
        }
    })?;
    record_document(deps, &p.id, &document, run_id).await
}

fn failed(code: ErrorCode) -> ItemOutcome {
    ItemOutcome::Failed {
        result: None,
        code,
        context: json!({}),
    }
}
