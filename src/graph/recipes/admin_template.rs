//! Administrative templates (`groupPolicyConfigurations`). The settings are definition values,
//! read from `…/{id}/definitionValues?$expand=definition` and each one's
//! `…/presentationValues?$expand=presentation`; written with
//! `POST …/{id}/updateDefinitionValues`, each value bound to its definition with
//! `definition@odata.bind` and each presentation value with `presentation@odata.bind`
//! (Microsoft's groupPolicyConfiguration pages; IM, ICD `GroupPolicyConfigurations.py`).
//! Definitions from an imported (custom) ADMX file have ids of their own in every tenant and
//! every upload: such a definition is re-matched by class, name and category path, and a
//! restore fails closed, naming it, when the ADMX file is not imported in the tenant.

use serde_json::{Value, json};

use super::collection;
use crate::graph::error::{ErrorCode, GraphError};
use crate::graph::handles::{GraphReader, GraphWriter};
use crate::graph::odata::strip_annotations;
use crate::graph::policy::{post_new, put_or_patch, write_body};
use crate::graph::registry::PolicyType;

const VALUES: &str = "definitionValues";
const DEFINITIONS: &str = "deviceManagement/groupPolicyDefinitions";

/// What identifies a definition across tenants, and what we keep of it.
const DEFINITION_KEYS: &[&str] = &["id", "classType", "displayName", "categoryPath", "policyType"];

fn keep(v: &Value, keys: &[&str]) -> Value {
    Value::Object(
        keys.iter()
            .filter_map(|k| Some(((*k).to_owned(), v.get(*k)?.clone())))
            .collect(),
    )
}

pub async fn capture(
    reader: &GraphReader,
    ty: &PolicyType,
    graph_id: &str,
    object: &mut Value,
) -> Result<(), GraphError> {
    let base = crate::graph::path::child(ty.collection, graph_id, VALUES)?;
    let mut values = Vec::new();
    for mut dv in reader.list(&format!("{base}?$expand=definition")).await? {
        strip_annotations(&mut dv);
        let Some(dv_id) = dv.get("id").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        let presentations: Vec<Value> = reader
            .list(&format!(
                "{}?$expand=presentation",
                crate::graph::path::child(&base, &dv_id, "presentationValues")?
            ))
            .await?
            .into_iter()
            .map(|mut pv| {
                strip_annotations(&mut pv);
                if let Some(p) = pv.get("presentation").cloned() {
                    pv["presentation"] = keep(&p, &["id", "label", "@odata.type"]);
                }
                pv
            })
            .collect();
        let definition = dv.get("definition").map_or(Value::Null, |d| keep(d, DEFINITION_KEYS));
        dv["definition"] = definition;
        dv["presentationValues"] = Value::Array(presentations);
        values.push(dv);
    }
    object[VALUES] = Value::Array(values);
    Ok(())
}

pub async fn create(writer: &GraphWriter, ty: &PolicyType, document: &Value) -> Result<String, GraphError> {
    let added = bound_values(writer, document).await?;
    let id = post_new(writer, ty, &Value::Object(write_body(ty, document)?)).await?;
    write_values(writer, ty, &id, added, Vec::new()).await?;
    Ok(id)
}

pub async fn update(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    document: &Value,
    live: &Value,
) -> Result<(), GraphError> {
    put_or_patch(writer, ty, graph_id, write_body(ty, document)?).await?;
    if collection(document, VALUES) != collection(live, VALUES) {
        let added = bound_values(writer, document).await?;
        let deleted: Vec<Value> = live
            .get(VALUES)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|dv| dv.get("id").cloned())
            .collect();
        write_values(writer, ty, graph_id, added, deleted).await?;
    }
    Ok(())
}

async fn write_values(
    writer: &GraphWriter,
    ty: &PolicyType,
    graph_id: &str,
    added: Vec<Value>,
    deleted: Vec<Value>,
) -> Result<(), GraphError> {
    writer
        .post(
            &crate::graph::path::child(ty.collection, graph_id, "updateDefinitionValues")?,
            &json!({"added": added, "updated": [], "deletedIds": deleted}),
        )
        .await?;
    Ok(())
}

/// The document's definition values as `updateDefinitionValues` takes them, bound to this
/// tenant's definitions and presentations.
async fn bound_values(writer: &GraphWriter, document: &Value) -> Result<Vec<Value>, GraphError> {
    let reader = writer.reader();
    let mut out = Vec::new();
    for dv in document.get(VALUES).and_then(Value::as_array).into_iter().flatten() {
        let definition = dv.get("definition").cloned().unwrap_or(Value::Null);
        let (def_id, presentation_ids) = resolve(reader, &definition).await?;
        // Both ids come from a document (an import may have written it): checked, they cannot
        // leave their quotes.
        let def_id = crate::graph::path::id(&def_id)?.to_owned();
        let def_url = reader.beta_url(&format!("{DEFINITIONS}('{def_id}')"));
        let mut presentations = Vec::new();
        for pv in dv
            .get("presentationValues")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let label = pv
                .pointer("/presentation/label")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let old_id = pv
                .pointer("/presentation/id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let pid = presentation_ids
                .as_ref()
                .and_then(|ids| ids.iter().find(|(l, _)| l == label).map(|(_, id)| id.clone()))
                .unwrap_or_else(|| old_id.to_owned());
            let pid = crate::graph::path::id(&pid)?;
            let mut written = json!({
                "presentation@odata.bind": reader.beta_url(&format!("{DEFINITIONS}('{def_id}')/presentations('{pid}')")),
            });
            for k in ["@odata.type", "value", "values"] {
                if let Some(v) = pv.get(k) {
                    written[k] = v.clone();
                }
            }
            presentations.push(written);
        }
        out.push(json!({
            "enabled": dv.get("enabled").cloned().unwrap_or(Value::Bool(true)),
            "definition@odata.bind": def_url,
            "presentationValues": presentations,
        }));
    }
    Ok(out)
}

/// This tenant's id of a definition (and, when it had to be re-matched, its presentations by
/// label). Built-in definitions have the same id everywhere; imported ones are looked up.
async fn resolve(
    reader: &GraphReader,
    definition: &Value,
) -> Result<(String, Option<Vec<(String, String)>>), GraphError> {
    let text = |k: &str| definition.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let id = text("id");
    if text("policyType") != "admxIngested" {
        return Ok((id, None));
    }
    match reader.get(&crate::graph::path::under(DEFINITIONS, &id)?).await {
        Ok(_) => return Ok((id, None)),
        Err(e) if e.code != ErrorCode::GraphNotFound => return Err(e),
        Err(_) => {}
    }
    let name = text("displayName");
    let filter = format!(
        "{DEFINITIONS}?$filter={}",
        crate::graph::path::query_value(&format!("displayName eq '{}'", name.replace('\'', "''")))
    );
    let found = reader.list(&filter).await?.into_iter().find(|d| {
        d.get("classType") == definition.get("classType") && d.get("categoryPath") == definition.get("categoryPath")
    });
    let Some(new_id) = found.as_ref().and_then(|d| d.get("id")).and_then(Value::as_str) else {
        return Err(GraphError::new(
            ErrorCode::UnresolvedReference,
            format!(
                "ADMX file not imported in this tenant: {name} ({}); import the ADMX file, then restore again",
                text("categoryPath")
            ),
            &json!({"setting": format!("{name} ({})", text("categoryPath"))}),
        ));
    };
    let presentations = reader
        .list(&crate::graph::path::child(DEFINITIONS, new_id, "presentations")?)
        .await?
        .into_iter()
        .filter_map(|p| Some((p.get("label")?.as_str()?.to_owned(), p.get("id")?.as_str()?.to_owned())))
        .collect();
    Ok((new_id.to_owned(), Some(presentations)))
}
