//! Group names for assignment targets. A capture run collects the group ids its documents'
//! assignments target; when its items are done, the ids whose name is not stored yet are
//! resolved with `directoryObjects/getByIds` (1,000 per request, through the tenant's paced
//! client) and kept in `directory_names`, never in the documents (hashes do not change).
//! Without `Directory.Read.All` Graph answers 403: ids stay ids, the run is not affected.
//! <https://learn.microsoft.com/graph/api/directoryobject-getbyids>

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Deps;
use crate::clock;
use crate::db::directory;
use crate::graph::GraphReader;

/// Most ids `getByIds` takes in one request.
pub const MAX_IDS_PER_REQUEST: usize = 1000;

/// Adds the group ids a captured document's assignments target (`target.groupId`).
pub fn collect_group_ids(document: &Value, into: &mut BTreeSet<String>) {
    let Some(list) = document.get("assignments").and_then(Value::as_array) else {
        return;
    };
    into.extend(
        list.iter()
            .filter_map(|a| a.pointer("/target/groupId").and_then(Value::as_str))
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
    );
}

/// Resolves and stores the names of the groups among `ids` not known yet for the tenant.
/// Never fails: a refusal (no `Directory.Read.All`) or any other error is logged by its code
/// and the ids stay unnamed.
pub async fn resolve_group_names(deps: &Deps, reader: &GraphReader, tenant_id: &str, ids: BTreeSet<String>) {
    if ids.is_empty() {
        return;
    }
    let tid = tenant_id.to_owned();
    let unknown = match deps.db.read(move |c| directory::unknown(c, &tid, &ids)).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(tenant_id, error = %e, "could not read the known group names");
            return;
        }
    };
    let mut found: Vec<(String, String)> = Vec::new();
    for chunk in unknown.chunks(MAX_IDS_PER_REQUEST) {
        let body = json!({"ids": chunk, "types": ["group"]});
        match reader.post_query("directoryObjects/getByIds", &body).await {
            Ok(answer) => found.extend(named_objects(&answer)),
            Err(e) => {
                tracing::info!(
                    tenant_id,
                    code = e.code.as_str(),
                    "group names not resolved (the app may lack Directory.Read.All); ids are shown"
                );
                break;
            }
        }
    }
    if found.is_empty() {
        return;
    }
    let tid = tenant_id.to_owned();
    let stored = deps
        .db
        .write(move |tx| directory::upsert(tx, &tid, &found, &clock::now()))
        .await;
    if let Err(e) = stored {
        tracing::warn!(tenant_id, error = %e, "could not store group names");
    }
}

/// (id, displayName) of each object in a `getByIds` answer that has both.
fn named_objects(answer: &Value) -> Vec<(String, String)> {
    answer
        .get("value")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|o| {
                    let id = o.get("id")?.as_str()?;
                    let name = o.get("displayName")?.as_str()?.trim();
                    (!id.is_empty() && !name.is_empty()).then(|| (id.to_owned(), name.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_group_ids_of_include_and_exclude_targets_only() {
        let doc = json!({"assignments": [
            {"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}},
            {"target": {"@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": "g2"}},
            {"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"}},
            {"target": {"groupId": ""}}
        ]});
        let mut ids = BTreeSet::new();
        collect_group_ids(&doc, &mut ids);
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), ["g1", "g2"]);
    }

    #[test]
    fn reads_names_from_a_get_by_ids_answer_and_skips_unnamed_objects() {
        let answer = json!({"value": [
            {"@odata.type": "#microsoft.graph.group", "id": "g1", "displayName": "Sales devices"},
            {"@odata.type": "#microsoft.graph.group", "id": "g2", "displayName": null},
            {"@odata.type": "#microsoft.graph.group", "displayName": "no id"}
        ]});
        assert_eq!(named_objects(&answer), [("g1".to_owned(), "Sales devices".to_owned())]);
    }
}
