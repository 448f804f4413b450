//! Names of settings catalog settings. A capture run collects the `settingDefinitionId`s its
//! documents' settings use (children inside group and choice values too); when its items are
//! done, the ids never looked up before are read from
//! `GET /beta/deviceManagement/configurationSettings/{id}` in `$batch`es of 20 through the
//! tenant's paced client, and kept in `setting_definitions`, never in the documents (hashes
//! do not change). Definitions are the same in every tenant, so each is read at most once for
//! all tenants on Microsoft's Graph hosts; a tenant on a custom endpoint reads and keeps its
//! own (that Graph must not name settings for the others). A 404 is remembered for a week. A refusal or any other error leaves the ids
//! shown as ids and the run unaffected.
//! <https://learn.microsoft.com/graph/api/intune-deviceconfigv2-devicemanagementconfigurationsettingdefinition-get?view=graph-rest-beta>

use std::collections::BTreeSet;

use serde_json::Value;

use super::Deps;
use crate::clock;
use crate::db::setting_definitions::{self, Looked};
use crate::graph::batch::MAX_BATCH;
use crate::graph::{ErrorCode, GraphReader};

/// How long a definition Graph did not have (404) is not asked for again.
const MISSING_KEPT_DAYS: i64 = 7;

/// Adds every `settingDefinitionId` inside a captured document's `settings` (a settings
/// catalog policy's), at any depth: group collections and choice values hold children.
pub fn collect_definition_ids(document: &Value, into: &mut BTreeSet<String>) {
    fn walk(v: &Value, into: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("settingDefinitionId", Value::String(id)) if !id.is_empty() => {
                            into.insert(id.clone());
                        }
                        _ => walk(v, into),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, into)),
            _ => {}
        }
    }
    if let Some(settings) = document.get("settings").filter(|s| s.is_array()) {
        walk(settings, into);
    }
}

/// Looks up and stores the definitions among `ids` not known yet. Never fails: errors are
/// logged by their code and the ids stay unnamed.
pub async fn resolve_setting_names(deps: &Deps, reader: &GraphReader, tenant_id: &str, ids: BTreeSet<String>) {
    if ids.is_empty() {
        return;
    }
    let cutoff = clock::format_time(chrono::Utc::now() - chrono::Duration::days(MISSING_KEPT_DAYS));
    let source = crate::graph::cloud::definitions_source(reader.graph_base_url());
    let asked = source.clone();
    let unknown = match deps
        .db
        .read(move |c| setting_definitions::unknown(c, &asked, &ids, &cutoff))
        .await
    {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(tenant_id, error = %e, "could not read the known setting definitions");
            return;
        }
    };
    let mut looked: Vec<(String, Looked)> = Vec::new();
    // Ids left unread and the last error's code: logged once, not once per id.
    let mut unread: Option<(usize, ErrorCode)> = None;
    for chunk in unknown.chunks(MAX_BATCH) {
        let paths: Vec<String> = chunk
            .iter()
            .map(|id| {
                // A definition id that cannot be one segment is asked as "" and answers an
                // error, like any definition Graph does not know.
                let segment = crate::graph::path::segment(id).unwrap_or_default();
                format!("deviceManagement/configurationSettings/{segment}")
            })
            .collect();
        let answers = reader.get_many(&paths).await;
        let mut refused = false;
        for (id, answer) in chunk.iter().zip(answers) {
            match answer {
                Ok(doc) => {
                    if let Some(found) = looked_up(&doc) {
                        looked.push((id.clone(), found));
                    }
                }
                Err(e) if e.code == ErrorCode::GraphNotFound => looked.push((id.clone(), Looked::Missing)),
                Err(e) => {
                    refused |= e.code == ErrorCode::GraphForbidden;
                    unread = Some((unread.map_or(0, |(n, _)| n) + 1, e.code));
                }
            }
        }
        if refused {
            // The app may not read definitions at all: asking for the rest only costs requests.
            break;
        }
    }
    if let Some((count, code)) = unread {
        tracing::info!(
            tenant_id,
            count,
            code = code.as_str(),
            "setting definitions not read (a refusal stops the lookups); their ids are shown"
        );
    }
    if looked.is_empty() {
        return;
    }
    let stored = deps
        .db
        .write(move |tx| setting_definitions::upsert(tx, &source, &looked, &clock::now()))
        .await;
    if let Err(e) = stored {
        tracing::warn!(tenant_id, error = %e, "could not store setting definitions");
    }
}

/// A definition's display name (and description) from Graph's answer; `None` when it has no
/// name. Also takes the object wrapped in `value`, as the page's example shows it.
fn looked_up(answer: &Value) -> Option<Looked> {
    let d = answer.get("value").filter(|v| v.is_object()).unwrap_or(answer);
    let name = d.get("displayName")?.as_str()?.trim();
    if name.is_empty() {
        return None;
    }
    let description = d
        .get("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Some(Looked::Found {
        name: name.to_owned(),
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_definition_ids_of_settings_and_their_children_only() {
        let doc = json!({
            "settingDefinitionId": "not_a_setting_of_the_list",
            "settings": [
                {"id": "0", "settingInstance": {"settingDefinitionId": "top_choice",
                    "choiceSettingValue": {"value": "top_choice_1", "children": [
                        {"settingDefinitionId": "child_simple", "simpleSettingValue": {"value": 3}}]}}},
                {"id": "1", "settingInstance": {"settingDefinitionId": "top_group",
                    "groupSettingCollectionValue": [{"children": [{"settingDefinitionId": "grandchild"}, {"settingDefinitionId": ""}]}]}}
            ]
        });
        let mut ids = BTreeSet::new();
        collect_definition_ids(&doc, &mut ids);
        assert_eq!(
            ids.into_iter().collect::<Vec<_>>(),
            ["child_simple", "grandchild", "top_choice", "top_group"]
        );
    }

    #[test]
    fn reads_a_name_from_the_definition_or_its_value_wrapper() {
        let d = json!({"id": "x", "displayName": " Allow Realtime Monitoring ", "description": ""});
        assert_eq!(
            looked_up(&d),
            Some(Looked::Found {
                name: "Allow Realtime Monitoring".into(),
                description: None
            })
        );
        let wrapped = json!({"value": {"displayName": "Name", "description": "Text"}});
        assert_eq!(
            looked_up(&wrapped),
            Some(Looked::Found {
                name: "Name".into(),
                description: Some("Text".into())
            })
        );
        assert_eq!(looked_up(&json!({"displayName": ""})), None);
    }

    #[test]
    fn an_id_becomes_one_path_segment() {
        assert_eq!(
            crate::graph::path::segment("vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}").expect("ok"),
            "vendor_msft_firewall_mdmstore_firewallrules_%7Bfirewallrulename%7D"
        );
        assert_eq!(crate::graph::path::segment("a/b c~d").expect("ok"), "a%2Fb%20c~d");
    }
}
