//! Capturing a policy into one JSON document, and writing such a document back.
//!
//! A captured document is the object as Graph returns it by id (with its expanded
//! collections and script bodies) plus an `assignments` array. That is what we hash, diff,
//! store and restore.

use serde_json::{Map, Value, json};

use super::error::{ErrorCode, GraphError};
use super::handles::{GraphReader, GraphWriter};
use super::odata::{self, strip_annotations};
use super::registry::{Assign, PolicyType, Recipe, Update};
use super::{oma, recipes};

/// Reads one policy completely: one GET (its collections and assignments expanded), then
/// whatever Graph left out of that answer.
pub async fn capture(reader: &GraphReader, ty: &PolicyType, graph_id: &str) -> Result<Value, GraphError> {
    let object = reader.get(&ty.get_path(graph_id)?).await?;
    complete(reader, ty, graph_id, object).await
}

/// Reads many policies at once: each one's GET (assignments expanded) goes into `$batch`es of
/// 20, so a backup costs one request per policy and one round trip per twenty policies.
pub async fn capture_many(reader: &GraphReader, wanted: &[(&PolicyType, String)]) -> Vec<Result<Value, GraphError>> {
    let wanted: Vec<(&PolicyType, String, Option<Value>)> =
        wanted.iter().map(|(ty, id)| (*ty, id.clone(), None)).collect();
    capture_many_from(reader, wanted).await
}

/// [`capture_many`], where a policy that comes with its listed object (a type
/// `captured_from_list`) is completed from it instead of read again by id. The policies are
/// completed at once (the tenant's pacing still governs), so the latency of one's further
/// reads (secret values, paged collections) overlaps the others'.
pub async fn capture_many_from(
    reader: &GraphReader,
    wanted: Vec<(&PolicyType, String, Option<Value>)>,
) -> Vec<Result<Value, GraphError>> {
    // A policy whose id is not a Graph id fails here and is never part of a batch.
    let checked: Vec<Option<Result<String, GraphError>>> = wanted
        .iter()
        .map(|(ty, id, held)| held.is_none().then(|| ty.get_path(id)))
        .collect();
    let paths: Vec<String> = checked
        .iter()
        .flatten()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let mut answers = reader.get_many(&paths).await.into_iter();
    let completions = wanted.into_iter().zip(checked).map(|((ty, id, held), path)| {
        let object = match (held, path) {
            (Some(held), _) => Ok(held),
            (None, Some(Err(e))) => Err(e),
            (None, _) => answers
                .next()
                .unwrap_or_else(|| Err(GraphError::new(ErrorCode::Internal, "missing batch answer", &json!({})))),
        };
        async move { complete(reader, ty, &id, object?).await }
    });
    futures_util::future::join_all(completions).await
}

/// A capture is complete or it fails: follows every `<nav>@odata.nextLink` of the answer,
/// checks every count Graph states (`<nav>@odata.count`, a settings catalog's
/// `settingCount`), reads assignments Graph did not expand and the real values of encrypted
/// settings, and drops OData annotations (they are Graph's, not the policy's).
async fn complete(
    reader: &GraphReader,
    ty: &PolicyType,
    graph_id: &str,
    mut object: Value,
) -> Result<Value, GraphError> {
    check_identity(ty, graph_id, &object)?;
    follow_next_links(reader, &mut object).await?;
    check_stated_counts(ty, &object)?;
    strip_annotations(&mut object);
    complete_settings(reader, ty, graph_id, &mut object).await?;
    recipes::capture_extra(reader, ty, graph_id, &mut object).await?;
    if ty.has_assignments() && object.is_object() {
        let list = match object.get_mut("assignments").map(Value::take) {
            Some(Value::Array(list)) => list,
            _ => reader.list(&ty.assignments_path(graph_id)?).await?,
        };
        object["assignments"] = Value::Array(list.into_iter().map(clean_assignment).collect());
    }
    oma::reveal(reader, ty, graph_id, &mut object).await?;
    Ok(object)
}

/// The answer is the object that was asked for: its `id` is the requested one and its
/// `@odata.type` (when stated) is of the type. Anything else (a function's answer, another
/// collection's object) is not stored as this policy.
fn check_identity(ty: &PolicyType, graph_id: &str, object: &Value) -> Result<(), GraphError> {
    let id_matches = object.get("id").and_then(Value::as_str) == Some(graph_id);
    if id_matches && ty.owns_odata_type(object) {
        return Ok(());
    }
    let what = if id_matches {
        "an object of another type"
    } else {
        "an object with another id"
    };
    Err(GraphError::new(
        ErrorCode::IncompleteCapture,
        format!(
            "Graph answered the read of this {} with {what}; nothing was stored",
            ty.label
        ),
        &json!({"policy_type": ty.key, "reason": format!("answer is {what}")}),
    ))
}

/// Appends the further pages of every expanded collection Graph paged.
async fn follow_next_links(reader: &GraphReader, object: &mut Value) -> Result<(), GraphError> {
    let Some(map) = object.as_object_mut() else {
        return Ok(());
    };
    let paged: Vec<(String, String)> = map
        .iter()
        .filter_map(|(k, v)| Some((k.strip_suffix("@odata.nextLink")?.to_owned(), v.as_str()?.to_owned())))
        .collect();
    for (nav, next) in paged {
        let more = reader.list(&next).await?;
        map.remove(&format!("{nav}@odata.nextLink"));
        match map.get_mut(&nav) {
            Some(Value::Array(items)) => items.extend(more),
            _ => {
                map.insert(nav, Value::Array(more));
            }
        }
    }
    Ok(())
}

/// `<nav>@odata.count` must equal what we now hold of `<nav>`.
fn check_stated_counts(ty: &PolicyType, object: &Value) -> Result<(), GraphError> {
    let Some(map) = object.as_object() else { return Ok(()) };
    for (key, stated) in map {
        let (Some(nav), Some(stated)) = (key.strip_suffix("@odata.count"), stated.as_u64()) else {
            continue;
        };
        let held = map.get(nav).and_then(Value::as_array).map_or(0, Vec::len) as u64;
        if held != stated {
            return Err(incomplete(ty, nav, stated, held));
        }
    }
    Ok(())
}

/// A settings catalog policy states `settingCount`. When the expanded settings fall short
/// (Graph pages them at 25; IntuneCD #125 and IntuneBackupAndRestore #88 lost everything
/// past the 25th), the settings are read again from `/settings?$top=1000`, every page; if
/// they still fall short the capture fails instead of storing a partial policy.
async fn complete_settings(
    reader: &GraphReader,
    ty: &PolicyType,
    graph_id: &str,
    object: &mut Value,
) -> Result<(), GraphError> {
    let Some(stated) = object.get("settingCount").and_then(Value::as_u64) else {
        return Ok(());
    };
    if !ty.expand.contains(&"settings") {
        return Ok(());
    }
    let held = |o: &Value| o.get("settings").and_then(Value::as_array).map_or(0, Vec::len) as u64;
    if held(object) < stated {
        let mut all = reader
            .list(&format!(
                "{}?$top=1000",
                super::path::child(ty.collection, graph_id, "settings")?
            ))
            .await?;
        all.iter_mut().for_each(strip_annotations);
        object["settings"] = Value::Array(all);
    }
    if held(object) == stated {
        Ok(())
    } else {
        Err(incomplete(ty, "settings", stated, held(object)))
    }
}

fn incomplete(ty: &PolicyType, collection: &str, expected: u64, captured: u64) -> GraphError {
    GraphError::new(
        ErrorCode::IncompleteCapture,
        format!("Graph states {expected} {collection} but the capture read {captured}"),
        &json!({
            "policy_type": ty.key,
            "collection": collection,
            "expected_count": expected,
            "captured_count": captured,
        }),
    )
}

/// Keeps what an `assign` call accepts: Graph sets `id`, `source` and `sourceId` itself.
fn clean_assignment(mut a: Value) -> Value {
    if let Some(m) = a.as_object_mut() {
        for k in ["id", "source", "sourceId", "@odata.type"] {
            m.remove(k);
        }
    }
    a
}

/// The body for create/update: the document without read-only properties, assignments,
/// Graph-assigned ids inside its collections, and OData annotations at any depth (Graph
/// refuses `apps@odata.context` and the like with 400).
pub fn write_body(ty: &PolicyType, document: &Value) -> Result<Map<String, Value>, GraphError> {
    let Some(map) = document.as_object() else {
        return Err(GraphError::new(
            ErrorCode::Internal,
            "a captured policy is not a JSON object",
            &json!({}),
        ));
    };
    let mut body: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| !ty.read_only.contains(&k.as_str()) && k.as_str() != "assignments")
        .map(|(k, v)| {
            let mut v = v.clone();
            if ty.inline().any(|n| n == k.as_str()) {
                strip_ids(&mut v);
            }
            (k.clone(), v)
        })
        .collect();
    body.retain(|k, _| !odata::is_annotation(k) || odata::allowed_in_write(k));
    body.values_mut().for_each(strip_annotations);
    Ok(body)
}

/// Removes the `id`s Graph assigns to the members of a collection, at every depth: a write must not send them and a comparison must not count them.
pub fn strip_ids(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("id");
            m.values_mut().for_each(strip_ids);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_ids),
        _ => {}
    }
}

/// Creates the policy; returns the new Graph id.
pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    recipes::create(writer, ty, document).await
}

/// POSTs a create body to the type's collection; the new object's id.
pub(crate) async fn post_new(writer: &GraphWriter, ty: &PolicyType, body: &Value) -> Result<String, GraphError> {
    created_id(&writer.post(ty.collection, body).await?)
}

/// The id of an object Graph answered a create with.
pub(crate) fn created_id(created: &Value) -> Result<String, GraphError> {
    let id = created["id"].as_str().ok_or_else(|| {
        GraphError::new(
            ErrorCode::GraphBadRequest,
            "Graph created the policy but sent no id",
            &json!({}),
        )
    })?;
    super::path::id(id).map(str::to_owned)
}

/// Updates an existing policy to the document's content (PUT or PATCH per type). `live` is
/// the object as it is now: recipes call their extra actions only for what differs.
pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    recipes::update(writer, ty, graph_id, document, live).await
}

/// PUT (replaces everything) or PATCH (properties only: navigation collections are left out,
/// Graph would not change them).
pub(crate) async fn put_or_patch(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    mut body: Map<String, Value>,
) -> Result<(), GraphError> {
    let path = super::path::under(ty.collection, graph_id)?;
    match ty.update {
        Update::Put => writer.put(&path, &Value::Object(body)).await?,
        Update::Patch => {
            for k in ty.inline().chain(ty.create_only.iter().copied()) {
                body.remove(k);
            }
            writer.patch(&path, &Value::Object(body)).await?
        }
    };
    Ok(())
}

/// Replaces the policy's assignments with the document's.
pub async fn assign(writer: &GraphWriter, ty: &PolicyType, graph_id: &str, document: &Value) -> Result<(), GraphError> {
    let mut list = document.get("assignments").cloned().unwrap_or_else(|| json!([]));
    strip_annotations(&mut list);
    match ty.assign {
        Assign::None => {}
        Assign::Action(key) => {
            writer
                .post(
                    &super::path::child(ty.collection, graph_id, "assign")?,
                    &json!({ key: list }),
                )
                .await?;
        }
        Assign::EachPost => {
            // No replace-all action: remove what is there, then add each one.
            let path = ty.assignments_path(graph_id)?;
            for existing in writer.reader().list(&path).await? {
                if let Some(id) = existing.get("id").and_then(Value::as_str) {
                    writer.delete(&super::path::under(&path, id)?).await?;
                }
            }
            for a in list.as_array().into_iter().flatten() {
                writer.post(&path, a).await?;
            }
        }
    }
    Ok(())
}

/// Content to compare after a write: what we wrote, without what Graph owns.
pub fn comparable(ty: &PolicyType, document: &Value) -> Value {
    let mut map = write_body(ty, document).unwrap_or_default();
    if let Some(a) = document.get("assignments") {
        map.insert("assignments".into(), a.clone());
    }
    // Collections whose order Graph does not keep compare as sets.
    for key in ["items"] {
        if ty.recipe == Recipe::PolicySet
            && let Some(Value::Array(items)) = map.get_mut(key)
        {
            items.sort_by_cached_key(|i| super::canonical::canonicalize(i).to_string());
        }
    }
    Value::Object(map)
}
