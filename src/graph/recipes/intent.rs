//! Endpoint security policies made from templates (`deviceManagement/intents`). Settings are
//! read from `…/{id}/settings`; an intent is created through its template,
//! `POST deviceManagement/templates/{templateId}/createInstance` with `settingsDelta`, and its
//! settings change through `POST …/{id}/updateSettings` (IM, ICD; Microsoft's intent pages).

use serde_json::{Value, json};

use super::collection;
use crate::graph::error::{ErrorCode, GraphError};
use crate::graph::handles::{GraphReader, GraphWriter};
use crate::graph::odata::strip_annotations;
use crate::graph::policy::{created_id, put_or_patch, strip_ids, write_body};
use crate::graph::registry::PolicyType;

const SETTINGS: &str = "settings";

pub async fn capture(
    reader: &GraphReader,
    ty: &PolicyType,
    graph_id: &str,
    object: &mut Value,
) -> Result<(), GraphError> {
    let mut settings = Value::Array(
        reader
            .list(&crate::graph::path::child(ty.collection, graph_id, SETTINGS)?)
            .await?,
    );
    strip_annotations(&mut settings);
    object[SETTINGS] = settings;
    Ok(())
}

fn settings_for_write(document: &Value) -> Value {
    let mut v = document.get(SETTINGS).cloned().unwrap_or_else(|| json!([]));
    strip_ids(&mut v);
    strip_annotations(&mut v);
    v
}

pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    let Some(template) = document.get("templateId").and_then(Value::as_str) else {
        return Err(GraphError::new(
            ErrorCode::GraphBadRequest,
            "the backed-up policy names no template to create it from",
            &json!({"policy_type": ty.key}),
        ));
    };
    let mut body = write_body(ty, document)?;
    body.remove(SETTINGS);
    body.remove("templateId");
    body.insert("settingsDelta".into(), settings_for_write(document));
    let created = writer
        .post(
            &crate::graph::path::child("deviceManagement/templates", template, "createInstance")?,
            &Value::Object(body),
        )
        .await?;
    created_id(&created)
}

pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    put_or_patch(writer, ty, graph_id, write_body(ty, document)?).await?;
    if collection(document, SETTINGS) != collection(live, SETTINGS) {
        writer
            .post(
                &crate::graph::path::child(ty.collection, graph_id, "updateSettings")?,
                &json!({ "settings": settings_for_write(document) }),
            )
            .await?;
    }
    Ok(())
}
