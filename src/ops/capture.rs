//! The step snapshot and backup share: read a policy from Graph and record it as a version
//! (or note that it is unchanged). A policy Graph no longer has is marked deleted and its
//! item skipped: the inventory follows what the product itself observes.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::Deps;
use crate::clock;
use crate::db::policies::{self, Recorded};
use crate::graph::canonical::canonical_text;
use crate::graph::error::{ErrorCode, GraphError};
use crate::graph::{GraphReader, policy, registry};
use crate::runs::handler::ItemOutcome;

/// Fetches the documents of many policies (by our ids) in batches; `None` for a policy no
/// longer in the inventory or of a type no longer supported.
pub async fn fetch_documents(
    deps: &Deps,
    reader: &GraphReader,
    policy_ids: &[String],
) -> HashMap<String, Result<Value, ItemOutcome>> {
    fetch_documents_from(deps, reader, policy_ids, HashMap::new()).await
}

/// [`fetch_documents`], completing the policies in `held` (by policy id: objects a backup's
/// listing already read whole) from what is held instead of reading them again.
#[allow(clippy::implicit_hasher)]
pub async fn fetch_documents_from(
    deps: &Deps,
    reader: &GraphReader,
    policy_ids: &[String],
    mut held: HashMap<String, Value>,
) -> HashMap<String, Result<Value, ItemOutcome>> {
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
    let wanted: Vec<(&registry::PolicyType, String, Option<Value>)> = known
        .iter()
        .map(|(id, ty, gid)| (*ty, gid.clone(), held.remove(id)))
        .collect();
    let documents = policy::capture_many_from(reader, wanted).await;
    let mut out = HashMap::with_capacity(known.len());
    let mut gone = Vec::new();
    for ((id, ty, _), doc) in known.into_iter().zip(documents) {
        let doc = doc.map_err(|e| {
            if e.code == ErrorCode::GraphNotFound {
                gone.push(id.clone());
            }
            outcome_of(ty, e)
        });
        out.insert(id, doc);
    }
    mark_gone(deps, gone).await;
    out
}

/// A failed read as an item outcome: a policy Graph no longer has is skipped, not failed.
fn outcome_of(ty: &registry::PolicyType, e: GraphError) -> ItemOutcome {
    if e.code == ErrorCode::GraphNotFound {
        return ItemOutcome::Skipped {
            result: Some(json!({"reason": "deleted in the tenant since the last sync"})),
        };
    }
    let mut context = e.context;
    context["policy_type"] = json!(ty.key);
    ItemOutcome::Failed {
        result: None,
        code: e.code,
        context,
    }
}

/// Marks policies Graph answered 404 for as deleted.
async fn mark_gone(deps: &Deps, gone: Vec<String>) {
    if gone.is_empty() {
        return;
    }
    let marked = deps
        .db
        .write(move |tx| gone.iter().try_for_each(|id| policies::mark_deleted(tx, id)))
        .await;
    if let Err(e) = marked {
        tracing::warn!(error = %e, "could not mark policies found deleted");
    }
}

/// Stores a fetched document as the policy's version (or notes it is unchanged). Secret
/// values in it are sealed first, in the same transaction. Reads the policy first for its
/// tenant and type; a caller that holds them calls [`record_known_then`].
pub async fn record_document(
    deps: &Deps,
    policy_id: &str,
    document: &Value,
    run_id: &str,
) -> Result<Recorded, ItemOutcome> {
    let id = policy_id.to_owned();
    let Some(known) = deps
        .db
        .read(move |c| policies::get(c, &id))
        .await
        .map_err(|_| failed(ErrorCode::Internal))?
    else {
        return Err(removed());
    };
    let Some(ty) = registry::by_key(&known.policy_type) else {
        return Err(removed());
    };
    let of = Known {
        tenant_id: &known.tenant_id,
        ty,
        policy_id,
    };
    record_known_then(deps, &of, document.clone(), run_id, |_, _| Ok(())).await
}

/// A policy whose tenant and type the caller already holds (a backup has them from its
/// items), so recording it needs no read before the write.
pub struct Known<'a> {
    pub tenant_id: &'a str,
    pub ty: &'static registry::PolicyType,
    pub policy_id: &'a str,
}

/// [`record_document`] for a [`Known`] policy, and `then` in the same transaction (a backup
/// points its item at the version there: one commit per policy instead of two). The write
/// still reads the policy again: one removed meanwhile is skipped there.
///
/// Sealing, the canonical form and its hash are worked out on the caller's task, not in
/// the write: the one writer thread serves every run, and 500 tenants' captures would
/// otherwise queue on its single core.
pub async fn record_known_then<F>(
    deps: &Deps,
    known: &Known<'_>,
    document: Value,
    run_id: &str,
    then: F,
) -> Result<Recorded, ItemOutcome>
where
    F: FnOnce(&rusqlite::Transaction, &Recorded) -> crate::db::DbResult<()> + Send + 'static,
{
    let (ty, policy_id) = (known.ty, known.policy_id);
    let sealer = super::sealing::Sealer {
        key: deps.key.clone(),
        tenant_id: known.tenant_id.to_owned(),
    };
    // Graph's own time of the last change (volatile: the stored content leaves it out); a
    // value that is not a timestamp is dropped.
    let modified_at = ["lastModifiedDateTime", "modifiedDateTime"]
        .iter()
        .find_map(|k| document.get(*k).and_then(Value::as_str).and_then(clock::parse_time))
        .map(clock::format_time);
    let secured = sealer.seal(ty, document);
    let (text, hash) = canonical_text(secured.document);
    let (run, id, type_key) = (run_id.to_owned(), policy_id.to_owned(), ty.key);
    deps.db
        .write(move |tx| {
            // Re-read inside the transaction: another run may have captured meanwhile.
            let Some(current) = policies::get(tx, &id)? else {
                return Ok(None);
            };
            // Sealed for this tenant and type; never stored under another.
            if current.tenant_id != sealer.tenant_id || current.policy_type != type_key {
                return Ok(None);
            }
            let now = clock::now();
            sealer.store(tx, &secured.values, &now)?;
            let recorded =
                policies::record_version(tx, &current, &hash, &text, Some(&run), &now, modified_at.as_deref())?;
            then(tx, &recorded)?;
            Ok(Some(recorded))
        })
        .await
        .map_err(|_| failed(ErrorCode::Internal))?
        .ok_or_else(removed)
}

fn removed() -> ItemOutcome {
    ItemOutcome::Skipped {
        result: Some(json!({"reason": "the policy was removed meanwhile"})),
    }
}

fn failed(code: ErrorCode) -> ItemOutcome {
    ItemOutcome::Failed {
        result: None,
        code,
        context: json!({}),
    }
}
