//! Listing one policy type of a tenant into the inventory: shared by `inventory.sync` and by
//! whole-tenant backups, which list the tenant as the first phase of their own run.

use std::collections::HashMap;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::Deps;
use crate::clock;
use crate::db::policies::{self, Policy};
use crate::db::runs;
use crate::graph::GraphReader;
use crate::graph::error::{ErrorCode, GraphError};
use crate::graph::registry::PolicyType;
use crate::runs::handler::{ItemOutcome, RunFailure};

/// What a listing found: the type's current policies, how many vanished since, and (for a
/// backup, of a type captured from its list) each policy's listed object by policy id.
pub struct Listed {
    pub current: Vec<Policy>,
    pub vanished: usize,
    pub documents: HashMap<String, Value>,
}

/// Whether a listing keeps the listed objects as the policies' documents: a backup does, for
/// the types whose list holds the whole object; a sync only names what is there.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Names,
    Documents,
}

/// Graph's answer on a collection the tenant does not license or offer: 400 or 404. Such a
/// type is skipped, so the tenant's syncs and backups are not partial forever. A 403 is not
/// this: the type exists and the app registration may not read it (see [`Keep`] for what
/// each listing makes of it).
pub fn not_available(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::GraphBadRequest | ErrorCode::GraphNotFound)
}

/// Lists several types at once (their pages follow one another, the types do not), within
/// the tenant's pacing; by type key.
pub async fn list_many(
    deps: &Deps,
    reader: &GraphReader,
    tenant_id: &str,
    keys: &[String],
    keep: Keep,
) -> HashMap<String, Result<Listed, ItemOutcome>> {
    let types: Vec<&'static PolicyType> = keys.iter().filter_map(|k| crate::graph::registry::by_key(k)).collect();
    let listings: Vec<_> = types
        .into_iter()
        .map(|ty| keyed(deps, reader, tenant_id, ty, keep))
        .collect();
    futures_util::stream::iter(listings)
        .buffer_unordered(LISTING_IN_FLIGHT)
        .collect()
        .await
}

async fn keyed(
    deps: &Deps,
    reader: &GraphReader,
    tenant_id: &str,
    ty: &'static PolicyType,
    keep: Keep,
) -> (String, Result<Listed, ItemOutcome>) {
    (ty.key.to_owned(), list_type(deps, reader, tenant_id, ty, keep).await)
}

/// The types a run still has to list: its unfinished items (of `item_type`, when given).
pub async fn pending(deps: &Deps, run_id: &str, item_type: Option<&'static str>) -> Result<Vec<String>, RunFailure> {
    let rid = run_id.to_owned();
    let items = deps
        .db
        .read(move |c| runs::unfinished_items(c, &rid))
        .await
        .map_err(|_| RunFailure {
            code: ErrorCode::Internal,
            context: json!({}),
        })?;
    Ok(items
        .into_iter()
        .filter(|i| item_type.is_none_or(|t| i.item_type == t))
        .map(|i| i.item_id)
        .collect())
}

/// Types listed at once.
const LISTING_IN_FLIGHT: usize = 8;

/// Lists every object of `ty` (all pages), upserts each into the inventory and marks the
/// type's policies not seen as deleted, in one transaction.
pub async fn list_type(
    deps: &Deps,
    reader: &GraphReader,
    tenant_id: &str,
    ty: &'static PolicyType,
    keep: Keep,
) -> Result<Listed, ItemOutcome> {
    let (objects, whole) = read_list(reader, ty, keep).await.map_err(|e| {
        if not_available(e.code) {
            return ItemOutcome::Skipped {
                result: Some(json!({
                    "reason": "not available in this tenant",
                    "http_status": e.context.get("http_status"),
                    "permission": ty.permission,
                })),
            };
        }
        // A sync only names what is there: a type it may not read is skipped with the
        // permission named. A backup that misses a type is not whole: the item fails, and
        // the set says which type and why.
        if e.code == ErrorCode::GraphForbidden && keep == Keep::Names {
            return ItemOutcome::Skipped {
                result: Some(json!({
                    "reason": "not captured: permission missing",
                    "http_status": e.context.get("http_status"),
                    "permission": ty.permission,
                })),
            };
        }
        let mut context = e.context;
        context["policy_type"] = json!(ty.key);
        ItemOutcome::Failed {
            result: None,
            code: e.code,
            context,
        }
    })?;
    // Microsoft's own objects (built-in roles, the Default scope tag…) are not ours to back up.
    let mut seen: Vec<(String, String, Option<Value>)> = Vec::with_capacity(objects.len());
    for o in objects.into_iter().filter(|o| !ty.is_built_in(o)) {
        let Some(graph_id) = o["id"].as_str().map(str::to_owned) else {
            continue;
        };
        // An id that is not a Graph id would become a path later: the listing is not
        // trusted, and the type is not inventoried from it.
        if let Err(e) = crate::graph::path::id(&graph_id) {
            let mut context = e.context;
            context["policy_type"] = json!(ty.key);
            return Err(ItemOutcome::Failed {
                result: None,
                code: e.code,
                context,
            });
        }
        let name = ty.display_name(&o).to_owned();
        seen.push((graph_id, name, whole.then_some(o)));
    }
    let tenant = tenant_id.to_owned();
    deps.db
        .write(move |tx| {
            let started = clock::now();
            let mut documents = HashMap::new();
            let mut ids = Vec::with_capacity(seen.len());
            for (graph_id, name, document) in seen {
                let id = policies::upsert_seen(tx, &tenant, ty.key, &graph_id, &name, &started)?;
                if let Some(d) = document {
                    documents.insert(id.clone(), d);
                }
                ids.push(id);
            }
            let vanished = policies::mark_vanished(tx, &tenant, ty.key, &started)?;
            let mut current = Vec::with_capacity(ids.len());
            for id in &ids {
                current.extend(policies::get(tx, id)?);
            }
            Ok(Listed {
                current,
                vanished,
                documents,
            })
        })
        .await
        .map_err(|_| ItemOutcome::Failed {
            result: None,
            code: ErrorCode::Internal,
            context: json!({}),
        })
}

/// The type's objects, and whether they are whole documents. A backup lists a type captured
/// from its list with assignments expanded; should Graph refuse that expansion (400), the
/// plain list is read instead and every object is then read by id, as for any other type.
async fn read_list(reader: &GraphReader, ty: &PolicyType, keep: Keep) -> Result<(Vec<Value>, bool), GraphError> {
    if keep == Keep::Documents && ty.captured_from_list {
        match reader.list(&ty.list_path()).await {
            Ok(objects) => return Ok((objects, true)),
            Err(e) if e.code == ErrorCode::GraphBadRequest => {
                tracing::warn!(policy_type = ty.key, error = %e, "Graph refused the expanded list; reading each object by id");
            }
            Err(e) => return Err(e),
        }
    }
    Ok((reader.list(ty.collection).await?, false))
}
