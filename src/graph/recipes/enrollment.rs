//! Enrollment configurations (`deviceEnrollmentConfigurations`: ESP, platform restrictions,
//! device limit, Windows Hello). The priority-0 defaults exist in every tenant: they are only
//! ever updated, never created or deleted. Priority is not taken by a create or a PATCH; it
//! changes through `POST …/{id}/setPriority` (IM, ICD), and a restore writes these types in
//! priority order.

use serde_json::{Value, json};

use crate::graph::error::{ErrorCode, GraphError};
use crate::graph::handles::GraphWriter;
use crate::graph::policy::{post_new, put_or_patch, write_body};
use crate::graph::registry::PolicyType;

fn priority(document: &Value) -> i64 {
    document.get("priority").and_then(Value::as_i64).unwrap_or(0)
}

/// Whether this is one of the tenant's built-in defaults.
pub fn is_default(document: &Value) -> bool {
    priority(document) == 0
}

pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    if is_default(document) {
        return Err(GraphError::new(
            ErrorCode::GraphBadRequest,
            "a default enrollment configuration cannot be created; it exists in every tenant",
            &json!({"policy_type": ty.key}),
        ));
    }
    let mut body = write_body(ty, document)?;
    body.remove("priority");
    let id = post_new(writer, ty, &Value::Object(body)).await?;
    set_priority(writer, ty, &id, priority(document)).await?;
    Ok(id)
}

pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    let mut body = write_body(ty, document)?;
    body.remove("priority");
    put_or_patch(writer, ty, graph_id, body).await?;
    if !is_default(document) && priority(document) != priority(live) {
        set_priority(writer, ty, graph_id, priority(document)).await?;
    }
    Ok(())
}

async fn set_priority(writer: &GraphWriter, ty: &PolicyType, graph_id: &str, priority: i64) -> Result<(), GraphError> {
    writer
        .post(
            &crate::graph::path::child(ty.collection, graph_id, "setPriority")?,
            &json!({ "priority": priority }),
        )
        .await?;
    Ok(())
}
