//! App protection (`iosManagedAppProtections`, `androidManagedAppProtections`). The targeted
//! apps are the navigation collection `apps`: a create or PATCH must not carry it, and it
//! changes only through `POST …/{id}/targetApps` with `{apps, appGroupType}` (Microsoft's
//! targetApps page; IntuneManagement `Start-PostImportAppProtection`). `appGroupType` goes
//! with it, or "all Microsoft apps" turns into a fixed list (IntuneManagement #67).

use serde_json::{Map, Value, json};

use super::collection;
use crate::graph::error::GraphError;
use crate::graph::handles::GraphWriter;
use crate::graph::policy::{post_new, put_or_patch, write_body};
use crate::graph::registry::PolicyType;

const APPS: &str = "apps";
const GROUP: &str = "appGroupType";

/// Creates without `apps`, then targets the backed-up apps and group type.
pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    let id = post_new(writer, ty, &Value::Object(properties(ty, document)?)).await?;
    target(writer, ty, &id, document).await?;
    Ok(id)
}

/// PATCHes the properties; re-targets only when the apps or the group type differ.
pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    put_or_patch(writer, ty, graph_id, properties(ty, document)?).await?;
    if collection(document, APPS) != collection(live, APPS) || document.get(GROUP) != live.get(GROUP) {
        target(writer, ty, graph_id, document).await?;
    }
    Ok(())
}

fn properties(ty: &PolicyType, document: &Value) -> Result<Map<String, Value>, GraphError> {
    let mut body = write_body(ty, document)?;
    body.remove(APPS);
    Ok(body)
}

async fn target(writer: &GraphWriter, ty: &PolicyType, graph_id: &str, document: &Value) -> Result<(), GraphError> {
    let mut body = json!({ "apps": collection(document, APPS) });
    if let Some(group) = document.get(GROUP).filter(|g| !g.is_null()) {
        body[GROUP] = group.clone();
    }
    writer
        .post(
            &crate::graph::path::child(ty.collection, graph_id, "targetApps")?,
            &body,
        )
        .await?;
    Ok(())
}
