//! Capturing a policy into one JSON document, and writing such a document back.
//!
//! A captured document is the object as Graph returns it by id (with its expanded
//! collections and script bodies) plus an `assignments` array. That is what we hash, diff,
//! store and restore.

use serde_json::{Map, Value, json};

use super::error::{ErrorCode, GraphError};
use super::handles::{GraphReader, GraphWriter};
use super::registry::{PolicyType, Update};

/// Reads one policy completely: one GET, its assignments expanded inline.
pub async fn capture(reader: &GraphReader, ty: &PolicyType, graph_id: &str) -> Result<Value, GraphError> {
    let object = reader.get(&ty.get_path(graph_id)).await?;
    with_assignments(reader, ty, graph_id, object).await
}

/// Reads many policies at once: each one's GET (assignments expanded) goes into `$batch`es of
/// 20, so a backup costs one request per policy and one round trip per twenty policies.
pub async fn capture_many(reader: &GraphReader, wanted: &[(&PolicyType, String)]) -> Vec<Result<Value, GraphError>> {
    let paths: Vec<String> = wanted.iter().map(|(ty, id)| ty.get_path(id)).collect();
    let answers = reader.get_many(&paths).await;
    let mut out = Vec::with_capacity(wanted.len());
    let mut answers = answers.into_iter();
    for (ty, id) in wanted {
        let object = answers
            .next()
            .unwrap_or_else(|| Err(GraphError::new(ErrorCode::Internal, "missing batch answer", &json!({}))));
        out.push(match object {
            Ok(o) => with_assignments(reader, ty, id, o).await,
            Err(e) => Err(e),
        });
    }
    out
}

/// Puts the expanded assignments of a fetched object into their captured form (following a
/// next link if Graph paged them); reads them with a second request only when Graph did not
/// expand them.
async fn with_assignments(
    reader: &GraphReader,
    ty: &PolicyType,
    graph_id: &str,
    mut object: Value,
) -> Result<Value, GraphError> {
    if ty.assign_key.is_none() {
        return Ok(object);
    }
    let Some(map) = object.as_object_mut() else {
        return Ok(object);
    };
    map.remove("assignments@odata.context");
    let next = map.remove("assignments@odata.nextLink");
    let list = match map.remove("assignments") {
        Some(Value::Array(mut list)) => {
            if let Some(next) = next.as_ref().and_then(Value::as_str) {
                list.extend(reader.list(next).await?);
            }
            list
        }
        _ => reader.list(&ty.assignments_path(graph_id)).await?,
    };
    object["assignments"] = Value::Array(list.into_iter().map(clean_assignment).collect());
    Ok(object)
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

/// The body for create/update: the document without read-only properties and assignments.
pub fn write_body(ty: &PolicyType, document: &Value) -> Result<Map<String, Value>, GraphError> {
    let Some(map) = document.as_object() else {
        return Err(GraphError::new(
            ErrorCode::Internal,
            "a captured policy is not a JSON object",
            &json!({}),
        ));
    };
    Ok(map
        .iter()
        .filter(|(k, _)| !ty.read_only.contains(&k.as_str()) && k.as_str() != "assignments")
        .map(|(k, v)| (k.clone(), strip_ids(ty, k, v)))
        .collect())
}

/// Nested settings carry their own `id`s, which Graph assigns on create.
fn strip_ids(ty: &PolicyType, key: &str, v: &Value) -> Value {
    if !ty.expand.contains(&key) {
        return v.clone();
    }
    match v {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| {
                    let mut i = i.clone();
                    if let Some(m) = i.as_object_mut() {
                        m.remove("id");
                    }
                    i
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Creates the policy; returns the new Graph id.
pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    let body = Value::Object(write_body(ty, document)?);
    let created = writer.post(ty.collection, &body).await?;
    created["id"].as_str().map(str::to_owned).ok_or_else(|| {
        GraphError::new(
            ErrorCode::GraphBadRequest,
            "Graph created the policy but sent no id",
            &json!({}),
        )
    })
}

/// Updates an existing policy to the document's content (PUT or PATCH per type).
pub async fn update(writer: &GraphWriter, ty: &PolicyType, graph_id: &str, document: &Value) -> Result<(), GraphError> {
    let mut body = write_body(ty, document)?;
    let path = format!("{}/{graph_id}", ty.collection);
    match ty.update {
        Update::Put => writer.put(&path, &Value::Object(body)).await?,
        Update::Patch => {
            // PATCH does not change navigation collections; leave them out.
            for k in ty.expand {
                body.remove(*k);
            }
            writer.patch(&path, &Value::Object(body)).await?
        }
    };
    Ok(())
}

/// Replaces the policy's assignments with the document's.
pub async fn assign(writer: &GraphWriter, ty: &PolicyType, graph_id: &str, document: &Value) -> Result<(), GraphError> {
    let Some(key) = ty.assign_key else { return Ok(()) };
    let list = document.get("assignments").cloned().unwrap_or_else(|| json!([]));
    writer
        .post(&format!("{}/{graph_id}/assign", ty.collection), &json!({ key: list }))
        .await?;
    Ok(())
}

/// Content to compare after a write: what we wrote, without what Graph owns.
pub fn comparable(ty: &PolicyType, document: &Value) -> Value {
    let mut map = write_body(ty, document).unwrap_or_default();
    if let Some(a) = document.get("assignments") {
        map.insert("assignments".into(), a.clone());
    }
    Value::Object(map)
}
