//! Authentication strengths (`identity/conditionalAccess/authenticationStrength/policies`).
//! A create takes `allowedCombinations`; an update does not: they change only through
//! `POST …/{id}/updateAllowedCombinations` (Microsoft's authenticationStrengthPolicy page).

use serde_json::{Value, json};

use super::collection;
use crate::graph::error::GraphError;
use crate::graph::handles::GraphWriter;
use crate::graph::policy::{post_new, put_or_patch, write_body};
use crate::graph::registry::PolicyType;

const COMBINATIONS: &str = "allowedCombinations";

pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    post_new(writer, ty, &Value::Object(write_body(ty, document)?)).await
}

pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    let mut body = write_body(ty, document)?;
    let wanted = body.remove(COMBINATIONS).unwrap_or_else(|| json!([]));
    put_or_patch(writer, ty, graph_id, body).await?;
    if collection(document, COMBINATIONS) != collection(live, COMBINATIONS) {
        writer
            .post(
                &crate::graph::path::child(ty.collection, graph_id, "updateAllowedCombinations")?,
                &json!({ COMBINATIONS: wanted }),
            )
            .await?;
    }
    Ok(())
}
