//! Policy sets (`deviceAppManagement/policySets`). Items and assignments change through
//! `POST …/{id}/update` with `addedPolicySetItems`, `deletedPolicySetItems` and
//! `assignments` (IM); items refer to other objects by `payloadId`, so sets are restored last.

use serde_json::{Value, json};

use crate::graph::error::GraphError;
use crate::graph::handles::GraphWriter;
use crate::graph::odata::strip_annotations;
use crate::graph::policy::{post_new, put_or_patch, strip_ids, write_body};
use crate::graph::registry::PolicyType;

/// What Graph sets on a policy set item itself.
const ITEM_READ_ONLY: &[&str] = &[
    "id",
    "status",
    "errorCode",
    "createdDateTime",
    "lastModifiedDateTime",
    "displayName",
    "itemType",
];

/// An item as written: its type, what it points at and its settings (an app's `intent`…).
fn item_for_write(item: &Value) -> Value {
    let mut out = item.clone();
    if let Some(m) = out.as_object_mut() {
        m.retain(|k, _| !ITEM_READ_ONLY.contains(&k.as_str()));
    }
    strip_annotations(&mut out);
    out
}

fn items(document: &Value) -> Vec<&Value> {
    document
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect()
}

fn assignments(document: &Value) -> Value {
    let mut v = document.get("assignments").cloned().unwrap_or_else(|| json!([]));
    strip_ids(&mut v);
    strip_annotations(&mut v);
    v
}

fn properties(ty: &PolicyType, document: &Value) -> Result<serde_json::Map<String, Value>, GraphError> {
    let mut body = write_body(ty, document)?;
    body.remove("items");
    body.remove("assignments");
    Ok(body)
}

pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    let id = post_new(writer, ty, &Value::Object(properties(ty, document)?)).await?;
    let added: Vec<Value> = items(document).into_iter().map(item_for_write).collect();
    change(writer, ty, &id, added, Vec::new(), assignments(document)).await?;
    Ok(id)
}

pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    put_or_patch(writer, ty, graph_id, properties(ty, document)?).await?;
    let payload = |i: &Value| i.get("payloadId").cloned();
    let wanted = items(document);
    let current = items(live);
    let added: Vec<Value> = wanted
        .iter()
        .filter(|w| !current.iter().any(|c| payload(c) == payload(w)))
        .map(|w| item_for_write(w))
        .collect();
    let deleted: Vec<Value> = current
        .iter()
        .filter(|c| !wanted.iter().any(|w| payload(w) == payload(c)))
        .filter_map(|c| c.get("id").cloned())
        .collect();
    change(writer, ty, graph_id, added, deleted, assignments(document)).await
}

async fn change(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    added: Vec<Value>,
    deleted: Vec<Value>,
    assignments: Value,
) -> Result<(), GraphError> {
    writer
        .post(
            &crate::graph::path::child(ty.collection, graph_id, "update")?,
            &json!({
                "addedPolicySetItems": added,
                "updatedPolicySetItems": [],
                "deletedPolicySetItems": deleted,
                "assignments": assignments,
            }),
        )
        .await?;
    Ok(())
}
