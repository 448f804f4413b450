//! Graph behaviours the simulator models per type, each as Microsoft documents it (or as
//! real clients' code shows it), so tests can prove the product handles it:
//! - a settings catalog policy's settings are paged at 25, also inside `$expand`, with
//!   `settings@odata.nextLink`; `/settings` takes `$top` up to 1000; `settingCount` is stated;
//! - compliance: a create needs exactly one `block` action (TenuVault #25); scheduled actions
//!   change only through `scheduleActionsForRules`;
//! - app protection: `apps` and `appGroupType` change only through `targetApps`;
//! - custom profiles: encrypted OMA-URI values are stored apart and returned masked, readable
//!   only through `getOmaSettingPlainTextValue` (which needs ReadWrite even to read);
//! - OData annotations in a write body are refused with 400 (`odata::forbidden_annotation`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::state::{Faults, SimTenant};
use crate::graph::odata::forbidden_annotation;
use crate::graph::registry::{PolicyType, Recipe};

/// Settings per page, as Graph pages them.
pub const SETTINGS_PAGE: usize = 25;
const MASK: &str = "****";
/// base64 of `<a/>`: what Graph shows for an encrypted XML value.
const XML_MASK: &str = "PGEvPg==";
const XML: &str = "#microsoft.graph.omaSettingStringXml";

pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// Why Graph would refuse a write body for an annotation it does not take (answered 400).
pub fn refuse_annotations(body: &Value) -> Result<(), String> {
    match forbidden_annotation(body) {
        Some(key) => Err(format!(
            "Invalid request body: the annotation '{key}' is not allowed in a write"
        )),
        None => Ok(()),
    }
}

/// Graph assigns ids to the members of nested collections on every write.
fn number_members(t: &mut SimTenant, list: &mut Value) {
    if let Some(items) = list.as_array_mut() {
        for item in items.iter_mut().filter(|i| i.is_object()) {
            item["id"] = json!(t.new_id());
        }
    }
}

/// How many `block` actions a list of scheduled actions holds.
fn block_actions(rules: &Value) -> usize {
    rules
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("scheduledActionConfigurations")?.as_array())
        .flatten()
        .filter(|a| a.get("actionType").and_then(Value::as_str) == Some("block"))
        .count()
}

fn set_actions(t: &mut SimTenant, rules: &Value) -> Result<Value, String> {
    if block_actions(rules) != 1 {
        return Err("A compliance policy needs exactly one 'block' scheduled action.".into());
    }
    let mut rules = rules.clone();
    number_members(t, &mut rules);
    if let Some(list) = rules.as_array_mut() {
        for rule in list {
            if let Some(configs) = rule.get_mut("scheduledActionConfigurations") {
                number_members(t, configs);
            }
        }
    }
    Ok(rules)
}

/// Shapes a new object's body per type before it is stored; `Err` says why Graph answers 400.
pub fn on_create(t: &mut SimTenant, ty: &PolicyType, o: &mut Map<String, Value>) -> Result<(), String> {
    if ty.is_built_in(&Value::Object(o.clone())) {
        return Err("Built-in objects cannot be created.".into());
    }
    match ty.recipe {
        Recipe::Compliance => {
            let rules = o.get("scheduledActionsForRule").cloned().unwrap_or(Value::Null);
            let rules = set_actions(t, &rules)?;
            o.insert("scheduledActionsForRule".into(), rules);
        }
        Recipe::AppProtection => {
            // Navigation: not taken on create; `targetApps` sets it.
            o.insert("apps".into(), json!([]));
            o.insert("appGroupType".into(), json!("selectedPublicApps"));
        }
        Recipe::Intent => {
            return Err(
                "An intent is created through its template: POST deviceManagement/templates/{id}/createInstance."
                    .into(),
            );
        }
        Recipe::Enrollment => {
            if o.get("priority").is_some_and(|p| p.as_i64() == Some(0)) {
                return Err("A default enrollment configuration cannot be created.".into());
            }
            // Priority is not taken on create: the new configuration goes last.
            let last = t
                .objects
                .get(ty.collection)
                .into_iter()
                .flat_map(|m| m.values())
                .filter(|c| c.get("@odata.type") == o.get("@odata.type"))
                .filter_map(|c| c.get("priority").and_then(Value::as_i64))
                .max()
                .unwrap_or(0);
            o.insert("priority".into(), json!(last + 1));
        }
        Recipe::NotificationTemplate => {
            o.insert("localizedNotificationMessages".into(), json!([]));
        }
        Recipe::PolicySet => {
            o.insert("items".into(), json!([]));
            o.insert("assignments".into(), json!([]));
            o.insert("status".into(), json!("notAssigned"));
        }
        Recipe::AdminTemplate => {
            o.insert("definitionValues".into(), json!([]));
        }
        Recipe::MobileApp => {
            if o.get("@odata.type").and_then(Value::as_str) == Some("#microsoft.graph.androidStoreApp") {
                return Err("Android store apps cannot be created through Graph.".into());
            }
        }
        Recipe::AuthStrength => {
            o.insert("policyType".into(), json!("custom"));
            o.insert("requirementsSatisfied".into(), json!("mfa"));
        }
        Recipe::Plain | Recipe::ConditionalAccess => {}
    }
    // What Graph sets on every new object of these types.
    for (k, v) in [("isBuiltIn", json!(false)), ("isDefaultProfile", json!(false))] {
        if ty.read_only.contains(&k) {
            o.insert(k.into(), v);
        }
    }
    if o.get("isDefaultProfile").and_then(Value::as_bool) == Some(true) {
        return Err("The default branding profile exists in every tenant; it cannot be created.".into());
    }
    if ty.key == "settings_catalog"
        && let Some(settings) = o.get_mut("settings")
    {
        number_settings(settings);
    }
    if ty.oma_secrets {
        hide_secrets(t, o);
    }
    Ok(())
}

/// Shapes an update's body per type (PATCH leaves navigation collections alone); `Err` says
/// why Graph answers 400.
pub fn on_update(
    t: &mut SimTenant,
    ty: &PolicyType,
    current: &Value,
    patch: &mut Map<String, Value>,
) -> Result<(), String> {
    if ty.is_built_in(current) {
        return Err("Built-in objects cannot be changed.".into());
    }
    if let Some(field) = ty
        .create_only
        .iter()
        .find(|f| patch.get(**f).is_some_and(|v| Some(v) != current.get(**f)))
    {
        return Err(format!(
            "The property '{field}' cannot be changed after the object is created."
        ));
    }
    match ty.recipe {
        Recipe::AppProtection => {
            patch.remove("appGroupType");
        }
        Recipe::Enrollment
            if patch
                .get("priority")
                .is_some_and(|p| Some(p) != current.get("priority")) =>
        {
            return Err("Priority changes through setPriority.".into());
        }
        Recipe::AuthStrength if patch.contains_key("allowedCombinations") => {
            return Err("allowedCombinations changes through updateAllowedCombinations.".into());
        }
        _ => {}
    }
    if ty.key == "settings_catalog"
        && let Some(settings) = patch.get_mut("settings")
    {
        number_settings(settings);
    }
    if ty.oma_secrets {
        hide_secrets(t, patch);
    }
    Ok(())
}

/// Why Graph refuses to delete this object, if it does.
pub fn may_delete(ty: &PolicyType, o: &Value) -> Result<(), String> {
    if ty.is_built_in(o) {
        return Err("Built-in objects cannot be deleted.".into());
    }
    if ty.recipe == Recipe::Enrollment && o.get("priority").and_then(Value::as_i64) == Some(0) {
        return Err("A default enrollment configuration cannot be deleted.".into());
    }
    if o.get("isDefaultProfile").and_then(Value::as_bool) == Some(true) {
        return Err("The default branding profile cannot be deleted.".into());
    }
    Ok(())
}

/// Settings catalog settings get ids "0", "1", … on every write.
fn number_settings(settings: &mut Value) {
    if let Some(items) = settings.as_array_mut() {
        for (i, item) in items.iter_mut().enumerate().filter(|(_, i)| i.is_object()) {
            item["id"] = json!(i.to_string());
        }
    }
}

/// Encrypted OMA values go to the tenant's secret store; the object keeps a mask and a
/// `secretReferenceValueId`, new on every write. A mask written back is stored as the value:
/// that is what devices would then get.
pub fn hide_secrets(t: &mut SimTenant, o: &mut Map<String, Value>) {
    let Some(Value::Array(settings)) = o.get_mut("omaSettings") else {
        return;
    };
    for s in settings.iter_mut() {
        if s.get("isEncrypted").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let xml = s.get("@odata.type").and_then(Value::as_str) == Some(XML);
        let written = s.get("value").and_then(Value::as_str).unwrap_or_default().to_owned();
        let plain = if xml {
            base64::engine::general_purpose::STANDARD
                .decode(&written)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or(written)
        } else {
            written
        };
        let reference = t.new_id();
        t.secrets.insert(reference.clone(), plain);
        s["value"] = json!(if xml { XML_MASK } else { MASK });
        s["secretReferenceValueId"] = json!(reference);
    }
}

/// Wi-Fi and VPN keys are write-only: Graph answers them as null (a client that writes that
/// null back clears the key on every device).
pub fn hide_write_only(ty: &PolicyType, o: &mut Value) {
    if !ty.oma_secrets {
        return;
    }
    for field in ["preSharedKey", "sharedSecret"] {
        if let Some(v) = o.get_mut(field) {
            *v = Value::Null;
        }
    }
}

/// `GET …/{id}/getOmaSettingPlainTextValue(secretReferenceValueId='…')`.
pub fn plain_text_value(t: &SimTenant, faults: &Faults, action: &str) -> Response {
    if faults.secrets_unreadable {
        return error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "This API involves potential secret values; ReadWrite permission is required.",
        );
    }
    let reference = action
        .strip_prefix("getOmaSettingPlainTextValue(secretReferenceValueId='")
        .and_then(|r| r.strip_suffix("')"))
        .unwrap_or_default();
    match t.secrets.get(reference) {
        Some(v) => Json(json!({"@odata.context": "$metadata#Edm.String", "value": v})).into_response(),
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such secret reference"),
    }
}

/// `POST …/{id}/targetApps` with `{apps, appGroupType}`.
pub fn target_apps(t: &mut SimTenant, existing: &mut Value, body: &Value) -> Response {
    let Some(apps) = body.get("apps").and_then(Value::as_array) else {
        return bad("'apps' is required");
    };
    let mut apps = Value::Array(apps.clone());
    if let Some(items) = apps.as_array_mut() {
        for app in items.iter_mut() {
            let bundle = app
                .pointer("/mobileAppIdentifier/bundleId")
                .or_else(|| app.pointer("/mobileAppIdentifier/packageId"))
                .and_then(Value::as_str)
                .unwrap_or("app")
                .to_owned();
            app["id"] = json!(format!("{bundle}.{}", t.new_id()));
            app["version"] = json!("-1");
        }
    }
    existing["apps"] = apps;
    existing["appGroupType"] = body
        .get("appGroupType")
        .cloned()
        .unwrap_or_else(|| json!("selectedPublicApps"));
    StatusCode::NO_CONTENT.into_response()
}

/// `POST …/{id}/scheduleActionsForRules` with `{deviceComplianceScheduledActionForRules}`.
pub fn schedule_actions(t: &mut SimTenant, existing: &mut Value, body: &Value) -> Response {
    let Some(rules) = body.get("deviceComplianceScheduledActionForRules") else {
        return bad("'deviceComplianceScheduledActionForRules' is required");
    };
    match set_actions(t, rules) {
        Ok(rules) => {
            existing["scheduledActionsForRule"] = rules;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(message) => bad(&message),
    }
}

/// One page of a policy's settings (`/settings?$top=…&$skiptoken=…`), as a collection.
pub fn settings_page(o: &Value, base: &str, collection: &str, id: &str, top: Option<usize>, skip: usize) -> Value {
    let all = o.get("settings").and_then(Value::as_array).cloned().unwrap_or_default();
    let size = top.unwrap_or(SETTINGS_PAGE).clamp(1, 1000);
    let page: Vec<Value> = all.iter().skip(skip).take(size).cloned().collect();
    let mut out = json!({"@odata.context": format!("{base}/beta/$metadata#settings"), "value": page});
    if skip + size < all.len() {
        out["@odata.nextLink"] = json!(format!(
            "{base}/beta/{collection}/{id}/settings?$top={size}&$skiptoken={}",
            skip + size
        ));
    }
    out
}

/// Test hook: a settings catalog object holding this states it as its `settingCount`
/// (Graph stating more settings than it hands out). Never shown to clients.
pub const COUNT_OVERRIDE: &str = "settingCountOverride";

/// The `settingCount` Graph states for a stored settings catalog policy.
pub fn setting_count(o: &Value) -> usize {
    o.get(COUNT_OVERRIDE)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or_else(|| o.get("settings").and_then(Value::as_array).map_or(0, Vec::len))
}

/// A settings catalog policy as read by id: `settingCount` stated, and with `$expand=settings`
/// only the first page of settings inline, the rest behind `settings@odata.nextLink`.
pub fn shape_settings_read(out: &mut Value, base: &str, collection: &str, id: &str, expanded: bool) {
    out["settingCount"] = json!(setting_count(out));
    if let Some(m) = out.as_object_mut() {
        m.remove(COUNT_OVERRIDE);
    }
    if !expanded {
        return;
    }
    let page = settings_page(out, base, collection, id, None, 0);
    out["settings"] = page["value"].clone();
    if let Some(next) = page.get("@odata.nextLink") {
        out["settings@odata.nextLink"] = next.clone();
    }
}
