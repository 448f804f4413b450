//! Actions and nested collections of one object (`…/{id}/targetApps`, `…/{id}/settings`,
//! `…/{id}/definitionValues/{dv}/presentationValues`, …), and the two routes outside any
//! type's collection: an intent template's `createInstance` and the administrative template
//! definitions. Each as Microsoft's pages for the type document it (sources in `quirks`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::objects::ListQuery;
use super::quirks::{self, error};
use super::state::{Faults, SimTenant};
use crate::graph::registry::{PolicyType, Recipe};

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "ResourceNotFound", "not found")
}

fn page(value: Vec<Value>) -> Response {
    Json(json!({"value": value})).into_response()
}

/// Where a request below one object goes. `rest` is the path after the object's id.
pub struct Below<'a> {
    pub method: &'a str,
    pub rest: &'a [&'a str],
    pub body: &'a Value,
    pub q: &'a ListQuery,
    pub base: &'a str,
    pub id: &'a str,
    pub faults: &'a Faults,
}

/// A request on something inside one object; `None` when no such route exists.
pub fn on_object(t: &mut SimTenant, ty: &PolicyType, obj: &mut Value, r: &Below<'_>) -> Option<Response> {
    let answer = match (r.method, r.rest, ty.recipe) {
        ("GET", ["settings"], _) if ty.key == "settings_catalog" => Json(quirks::settings_page(
            obj,
            r.base,
            ty.collection,
            r.id,
            r.q.top,
            r.q.skiptoken.unwrap_or(0),
        ))
        .into_response(),
        ("GET", ["settings"], Recipe::Intent) => page(obj["settings"].as_array().cloned().unwrap_or_default()),
        ("GET", [f], _) if ty.oma_secrets && f.starts_with("getOmaSettingPlainTextValue(") => {
            quirks::plain_text_value(t, r.faults, f)
        }
        ("POST", ["targetApps"], Recipe::AppProtection) => quirks::target_apps(t, obj, r.body),
        ("POST", ["scheduleActionsForRules"], Recipe::Compliance) => quirks::schedule_actions(t, obj, r.body),
        ("POST", ["setPriority"], Recipe::Enrollment) => set_priority(obj, r.body),
        ("POST", ["updateAllowedCombinations"], Recipe::AuthStrength) => match r.body.get("allowedCombinations") {
            Some(Value::Array(c)) => {
                obj["allowedCombinations"] = Value::Array(c.clone());
                StatusCode::OK.into_response()
            }
            _ => bad("'allowedCombinations' is required"),
        },
        ("POST", ["updateSettings"], Recipe::Intent) => update_intent_settings(t, obj, r.body),
        ("POST", ["update"], Recipe::PolicySet) => update_policy_set(t, obj, r.body),
        ("GET", ["definitionValues"], Recipe::AdminTemplate) => definition_values(t, obj, r.q),
        ("GET", ["definitionValues", dv, "presentationValues"], Recipe::AdminTemplate) => {
            presentation_values(t, obj, dv, r.q)
        }
        ("POST", ["updateDefinitionValues"], Recipe::AdminTemplate) => update_definition_values(t, obj, r.body),
        ("GET", ["localizedNotificationMessages"], Recipe::NotificationTemplate) => page(
            obj["localizedNotificationMessages"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        ),
        ("POST", ["localizedNotificationMessages"], Recipe::NotificationTemplate) => add_message(t, obj, r.body),
        ("PATCH" | "DELETE", ["localizedNotificationMessages", mid], Recipe::NotificationTemplate) => {
            change_message(obj, mid, r.method, r.body)
        }
        _ => return None,
    };
    if answer.status().is_success() && r.method != "GET" {
        obj["lastModifiedDateTime"] = json!(crate::clock::now());
    }
    Some(answer)
}

fn set_priority(obj: &mut Value, body: &Value) -> Response {
    let Some(p) = body.get("priority").and_then(Value::as_i64).filter(|p| *p > 0) else {
        return bad("'priority' must be a positive number");
    };
    if obj.get("priority").and_then(Value::as_i64) == Some(0) {
        return bad("The priority of a default enrollment configuration cannot change.");
    }
    // Graph moves the others down; the simulator only records the new priority.
    obj["priority"] = json!(p);
    StatusCode::OK.into_response()
}

/// `updateSettings`: the given settings replace those with the same definition; settings not
/// given stay (an intent cannot unset a setting, IM).
fn update_intent_settings(t: &mut SimTenant, obj: &mut Value, body: &Value) -> Response {
    let Some(given) = body.get("settings").and_then(Value::as_array) else {
        return bad("'settings' is required");
    };
    let mut settings = obj["settings"].as_array().cloned().unwrap_or_default();
    for g in given {
        let mut g = g.clone();
        g["id"] = json!(t.new_id());
        match settings
            .iter_mut()
            .find(|s| s.get("definitionId") == g.get("definitionId"))
        {
            Some(s) => *s = g,
            None => settings.push(g),
        }
    }
    obj["settings"] = Value::Array(settings);
    StatusCode::NO_CONTENT.into_response()
}

fn update_policy_set(t: &mut SimTenant, obj: &mut Value, body: &Value) -> Response {
    let mut items = obj["items"].as_array().cloned().unwrap_or_default();
    let deleted: Vec<&Value> = body
        .get("deletedPolicySetItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    items.retain(|i| !deleted.iter().any(|d| i.get("id") == Some(*d)));
    for added in body
        .get("addedPolicySetItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if added.get("payloadId").and_then(Value::as_str).is_none() {
            return bad("every policy set item needs a payloadId");
        }
        let mut item = added.clone();
        item["id"] = json!(t.new_id());
        item["status"] = json!("notAssigned");
        items.push(item);
    }
    obj["items"] = Value::Array(items);
    if let Some(Value::Array(list)) = body.get("assignments") {
        let stored: Vec<Value> = list
            .iter()
            .cloned()
            .map(|a| super::objects::stored_assignment(t, a))
            .collect();
        obj["assignments"] = Value::Array(stored);
    }
    StatusCode::NO_CONTENT.into_response()
}

fn definition_values(t: &SimTenant, obj: &Value, q: &ListQuery) -> Response {
    let expand = q.expanded().contains(&"definition");
    let out = obj["definitionValues"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|dv| {
            let mut v = json!({"id": dv["id"], "enabled": dv["enabled"], "configurationType": "policy"});
            if expand {
                v["definition"] = definition_without_presentations(t, dv["definitionId"].as_str().unwrap_or_default());
            }
            v
        })
        .collect();
    page(out)
}

fn definition_without_presentations(t: &SimTenant, id: &str) -> Value {
    let mut d = t.definitions.get(id).cloned().unwrap_or(Value::Null);
    if let Some(m) = d.as_object_mut() {
        m.remove("presentations");
    }
    d
}

fn presentation_values(t: &SimTenant, obj: &Value, dv_id: &str, q: &ListQuery) -> Response {
    let Some(dv) = obj["definitionValues"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|dv| dv["id"] == dv_id)
    else {
        return not_found();
    };
    let expand = q.expanded().contains(&"presentation");
    let def = t.definitions.get(dv["definitionId"].as_str().unwrap_or_default());
    let out = dv["presentationValues"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pv| {
            let mut v = pv.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("presentationId");
            }
            if expand {
                v["presentation"] = def
                    .and_then(|d| d["presentations"].as_array())
                    .into_iter()
                    .flatten()
                    .find(|p| p["id"] == pv["presentationId"])
                    .cloned()
                    .unwrap_or(Value::Null);
            }
            v
        })
        .collect();
    page(out)
}

/// The id inside `…groupPolicyDefinitions('ID')…` (and `…presentations('ID')`).
fn bound_id(url: &str, segment: &str) -> Option<String> {
    let start = url.find(&format!("{segment}('"))? + segment.len() + 2;
    let end = url[start..].find("')")? + start;
    Some(url[start..end].to_owned())
}

fn update_definition_values(t: &mut SimTenant, obj: &mut Value, body: &Value) -> Response {
    let mut values = obj["definitionValues"].as_array().cloned().unwrap_or_default();
    let deleted: Vec<&Value> = body
        .get("deletedIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    values.retain(|v| !deleted.iter().any(|d| v.get("id") == Some(*d)));
    for added in body.get("added").and_then(Value::as_array).into_iter().flatten() {
        let Some(def_id) = added
            .get("definition@odata.bind")
            .and_then(Value::as_str)
            .and_then(|u| bound_id(u, "groupPolicyDefinitions"))
        else {
            return bad("each definition value needs definition@odata.bind");
        };
        let Some(def) = t.definitions.get(&def_id).cloned() else {
            return error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!("groupPolicyDefinition {def_id} does not exist in this tenant"),
            );
        };
        let mut pvs = Vec::new();
        for pv in added
            .get("presentationValues")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(pid) = pv
                .get("presentation@odata.bind")
                .and_then(Value::as_str)
                .and_then(|u| bound_id(u, "presentations"))
            else {
                return bad("each presentation value needs presentation@odata.bind");
            };
            if !def["presentations"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["id"] == pid)
            {
                return bad(&format!("presentation {pid} is not part of definition {def_id}"));
            }
            let mut stored = json!({"id": t.new_id(), "presentationId": pid});
            for k in ["@odata.type", "value", "values"] {
                if let Some(v) = pv.get(k) {
                    stored[k] = v.clone();
                }
            }
            pvs.push(stored);
        }
        values.push(json!({
            "id": t.new_id(),
            "enabled": added.get("enabled").cloned().unwrap_or(Value::Bool(true)),
            "definitionId": def_id,
            "presentationValues": pvs,
        }));
    }
    obj["definitionValues"] = Value::Array(values);
    StatusCode::NO_CONTENT.into_response()
}

fn add_message(t: &mut SimTenant, obj: &mut Value, body: &Value) -> Response {
    if body.get("locale").and_then(Value::as_str).is_none() {
        return bad("'locale' is required");
    }
    let mut list = obj["localizedNotificationMessages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.iter().any(|m| m.get("locale") == body.get("locale")) {
        return bad("a message for this locale exists");
    }
    let mut m = body.clone();
    m["id"] = json!(t.new_id());
    m["lastModifiedDateTime"] = json!(crate::clock::now());
    list.push(m.clone());
    obj["localizedNotificationMessages"] = Value::Array(list);
    (StatusCode::CREATED, Json(m)).into_response()
}

fn change_message(obj: &mut Value, mid: &str, method: &str, body: &Value) -> Response {
    let mut list = obj["localizedNotificationMessages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(pos) = list.iter().position(|m| m["id"] == mid) else {
        return not_found();
    };
    if method == "DELETE" {
        list.remove(pos);
    } else if let (Some(m), Some(changes)) = (list[pos].as_object_mut(), body.as_object()) {
        for (k, v) in changes {
            if k != "id" && k != "locale" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    obj["localizedNotificationMessages"] = Value::Array(list);
    StatusCode::NO_CONTENT.into_response()
}

/// `deviceManagement/templates/{id}/createInstance` and `deviceManagement/groupPolicyDefinitions…`.
pub fn outside_types(t: &mut SimTenant, method: &str, path: &str, body: &Value, q: &ListQuery) -> Option<Response> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segs.as_slice()) {
        ("POST", ["directoryObjects", "getByIds"]) => Some(get_by_ids(t, body)),
        ("GET", ["deviceManagement", "configurationSettings", id]) => Some(setting_definition(t, id)),
        ("POST", ["deviceManagement", "templates", template, "createInstance"]) => {
            Some(create_intent(t, template, body))
        }
        ("GET", ["deviceManagement", "groupPolicyDefinitions"]) => {
            let wanted = q
                .filter
                .as_deref()
                .and_then(|f| f.strip_prefix("displayName eq '"))
                .and_then(|f| f.strip_suffix('\''))
                .map(|n| n.replace("''", "'"));
            let out = t
                .definitions
                .values()
                .filter(|d| wanted.as_deref().is_none_or(|n| d["displayName"] == n))
                .map(|d| definition_without_presentations(t, d["id"].as_str().unwrap_or_default()))
                .collect();
            Some(page(out))
        }
        ("GET", ["deviceManagement", "groupPolicyDefinitions", id]) => {
            Some(t.definitions.get(*id).map_or_else(not_found, |_| {
                Json(definition_without_presentations(t, id)).into_response()
            }))
        }
        ("GET", ["deviceManagement", "groupPolicyDefinitions", id, "presentations"]) => {
            Some(t.definitions.get(*id).map_or_else(not_found, |d| {
                page(d["presentations"].as_array().cloned().unwrap_or_default())
            }))
        }
        _ => None,
    }
}

/// `GET /deviceManagement/configurationSettings/{id}`: a settings catalog setting's
/// definition (global: the same for every tenant), 404 for an id the catalog does not hold.
/// <https://learn.microsoft.com/graph/api/intune-deviceconfigv2-devicemanagementconfigurationsettingdefinition-get?view=graph-rest-beta>
fn setting_definition(t: &mut SimTenant, id: &str) -> Response {
    t.setting_definition_reads += 1;
    let id = super::setting_definitions::percent_decode(id);
    super::setting_definitions::definition(&id).map_or_else(
        || {
            error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                "No setting definition with this id.",
            )
        },
        |d| Json(d).into_response(),
    )
}

/// `POST /directoryObjects/getByIds`: the directory objects among `ids` that exist (groups
/// only: the simulator's directory holds groups), at most 1,000 ids per request.
/// <https://learn.microsoft.com/graph/api/directoryobject-getbyids?view=graph-rest-beta>
fn get_by_ids(t: &mut SimTenant, body: &Value) -> Response {
    t.directory_queries += 1;
    let Some(ids) = body.get("ids").and_then(Value::as_array) else {
        return quirks::error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The request body must hold an 'ids' array.",
        );
    };
    if ids.len() > 1000 {
        return quirks::error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Too many ids: a request takes at most 1000.",
        );
    }
    let wants_groups = body.get("types").and_then(Value::as_array).is_none_or(|types| {
        types
            .iter()
            .any(|ty| ty.as_str().is_some_and(|s| s.eq_ignore_ascii_case("group")))
    });
    let value: Vec<Value> = if wants_groups {
        ids.iter()
            .filter_map(Value::as_str)
            .filter_map(|id| {
                t.groups
                    .get(id)
                    .map(|name| json!({"@odata.type": "#microsoft.graph.group", "id": id, "displayName": name}))
            })
            .collect()
    } else {
        Vec::new()
    };
    Json(json!({"value": value})).into_response()
}

fn create_intent(t: &mut SimTenant, template: &str, body: &Value) -> Response {
    let Some(name) = body
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return bad("'displayName' is required");
    };
    let mut settings = body
        .get("settingsDelta")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for s in &mut settings {
        s["id"] = json!(t.new_id());
    }
    let id = t.new_id();
    let intent = json!({
        "id": id, "displayName": name,
        "description": body.get("description").cloned().unwrap_or(Value::Null),
        "templateId": template, "isAssigned": false, "isMigratingToConfigurationPolicy": false,
        "roleScopeTagIds": body.get("roleScopeTagIds").cloned().unwrap_or_else(|| json!(["0"])),
        "lastModifiedDateTime": crate::clock::now(),
        "settings": settings,
    });
    t.objects
        .entry("deviceManagement/intents".to_owned())
        .or_default()
        .insert(id, intent.clone());
    let mut shown = intent;
    if let Some(m) = shown.as_object_mut() {
        m.remove("settings");
    }
    (StatusCode::OK, Json(shown)).into_response()
}
