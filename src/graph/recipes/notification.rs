//! Compliance notification templates (`notificationMessageTemplates`). The localized
//! messages are a navigation collection: created one by one with
//! `POST …/{id}/localizedNotificationMessages` after the template (IM, ICD), changed with a
//! PATCH of the message, removed with a DELETE.

use serde_json::{Map, Value};

use crate::graph::error::GraphError;
use crate::graph::handles::GraphWriter;
use crate::graph::policy::{post_new, put_or_patch, write_body};
use crate::graph::registry::PolicyType;

const MESSAGES: &str = "localizedNotificationMessages";
/// What a message's write carries (the rest is Graph's).
const FIELDS: &[&str] = &["locale", "subject", "messageTemplate", "isDefault"];

fn messages(document: &Value) -> Vec<Map<String, Value>> {
    document
        .get(MESSAGES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .collect()
}

fn locale(m: &Map<String, Value>) -> Option<&str> {
    m.get("locale").and_then(Value::as_str)
}

pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    let mut body = write_body(ty, document)?;
    body.remove(MESSAGES);
    let id = post_new(writer, ty, &Value::Object(body)).await?;
    let path = crate::graph::path::child(ty.collection, &id, MESSAGES)?;
    for m in messages(document) {
        writer.post(&path, &Value::Object(m)).await?;
    }
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
    body.remove(MESSAGES);
    put_or_patch(writer, ty, graph_id, body).await?;
    let path = crate::graph::path::child(ty.collection, graph_id, MESSAGES)?;
    let live_messages: Vec<(Option<String>, Map<String, Value>)> = live
        .get(MESSAGES)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| (m.get("id").and_then(Value::as_str).map(str::to_owned), m.clone()))
        .filter_map(|(id, m)| Some((id, m.as_object()?.clone())))
        .collect();
    let wanted = messages(document);
    for m in &wanted {
        let current = live_messages.iter().find(|(_, l)| locale(l) == locale(m));
        match current {
            Some((Some(id), l)) => {
                if FIELDS.iter().any(|f| l.get(*f) != m.get(*f)) {
                    writer
                        .patch(&crate::graph::path::under(&path, id)?, &Value::Object(m.clone()))
                        .await?;
                }
            }
            _ => {
                writer.post(&path, &Value::Object(m.clone())).await?;
            }
        }
    }
    for (id, l) in &live_messages {
        if let Some(id) = id
            && !wanted.iter().any(|m| locale(m) == locale(l))
        {
            writer.delete(&crate::graph::path::under(&path, id)?).await?;
        }
    }
    Ok(())
}
