//! Canonical content: what a policy *is*, without what Graph changes on its own. Two captures
//! of an unchanged policy hash the same, whatever the key order or timestamps.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Properties Graph changes without the policy changing; removed at every level.
const VOLATILE: &[&str] = &[
    "@odata.context",
    "@odata.etag",
    "lastModifiedDateTime",
    "modifiedDateTime",
    "createdDateTime",
    "version",
];

/// A copy without volatile properties. Keys come out sorted because `serde_json::Map` is a
/// BTreeMap in this build (no `preserve_order`), which the hash relies on.
pub fn canonicalize(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), canonicalize(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(canonicalize).collect()),
        other => other.clone(),
    }
}

/// SHA-256 (hex) of the canonical JSON text.
pub fn content_hash(v: &Value) -> String {
    canonical_text(v.clone()).1
}

/// The canonical JSON text of a document the caller no longer needs, and its SHA-256
/// (hex), the [`content_hash`]: volatile properties are removed in place and the text is
/// written once (every capture stores both, so it should not copy and write twice).
pub fn canonical_text(mut v: Value) -> (String, String) {
    strip_volatile(&mut v);
    let text = v.to_string();
    let hash = hex::encode(Sha256::digest(text.as_bytes()));
    (text, hash)
}

fn strip_volatile(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !VOLATILE.contains(&k.as_str()));
            map.values_mut().for_each(strip_volatile);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_volatile),
        _ => {}
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffEntry {
    /// JSON pointer, e.g. `/settings/0/settingInstance/simpleSettingValue/value`.
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
    /// What an admin calls the field, where the pointer does not say it: a settings catalog
    /// setting by its definition id instead of its position in the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The settings catalog setting the pointer is inside (the innermost, a child setting
    /// rather than its group), by definition id: pages show the definition's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
}

impl DiffEntry {
    /// An entry as a run's result stored it (a preview's or a failed verify's `diff`).
    pub fn from_stored(d: &Value) -> Option<DiffEntry> {
        Some(DiffEntry {
            path: d["path"].as_str()?.to_owned(),
            old: d.get("old").cloned().filter(|v| !v.is_null()),
            new: d.get("new").cloned().filter(|v| !v.is_null()),
            label: d["label"].as_str().map(str::to_owned),
            setting: d["setting"].as_str().map(str::to_owned),
        })
    }
}

/// `/settings/3/settingInstance/choiceSettingValue/value` reads as the setting's definition id
/// and the part of it that changed; other pointers need no label.
fn label_of(old: &Value, new: &Value, pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix("/settings/")?;
    let (index, inner) = rest.split_once('/').unwrap_or((rest, ""));
    let definition = [new, old].into_iter().find_map(|doc| {
        doc.pointer(&format!("/settings/{index}/settingInstance/settingDefinitionId"))?
            .as_str()
    })?;
    let inner = inner
        .strip_prefix("settingInstance")
        .unwrap_or(inner)
        .trim_start_matches('/');
    Some(if inner.is_empty() {
        format!("Setting {definition}")
    } else {
        format!("Setting {definition} · {inner}")
    })
}

/// The innermost setting instance on `pointer` (under `/settings/`): its definition id, from
/// the new content or, for a removed setting, the old.
fn setting_of(old: &Value, new: &Value, pointer: &str) -> Option<String> {
    if !pointer.starts_with("/settings/") {
        return None;
    }
    let innermost = |doc: &Value| {
        let mut at = doc;
        let mut found = None;
        for seg in pointer.split('/').skip(1) {
            let seg = seg.replace("~1", "/").replace("~0", "~");
            let next = match at {
                Value::Object(map) => map.get(&seg),
                Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            let Some(next) = next else { break };
            at = next;
            let own = at
                .get("settingDefinitionId")
                .or_else(|| at.pointer("/settingInstance/settingDefinitionId"));
            if let Some(id) = own.and_then(Value::as_str) {
                found = Some(id.to_owned());
            }
        }
        found
    };
    innermost(new).or_else(|| innermost(old))
}

/// Top-level properties that differ as a whole: a change anywhere inside is one entry with
/// the whole old and new value, so that a page can show the assignment targets before and
/// after instead of `/assignments/2/target/groupId`.
pub const WHOLE: &[&str] = &["assignments"];

/// Field-level differences between two contents (canonicalized first), via RFC 6902 diff;
/// a property of [`WHOLE`] is one entry.
pub fn diff(old: &Value, new: &Value) -> Vec<DiffEntry> {
    let (old, new) = (canonicalize(old), canonicalize(new));
    let mut out: Vec<DiffEntry> = Vec::new();
    for op in &json_patch::diff(&old, &new).0 {
        let mut pointer = op_path(op);
        let top = pointer.split('/').nth(1).unwrap_or_default();
        if WHOLE.contains(&top) {
            pointer = format!("/{top}");
            if out.iter().any(|e| e.path == pointer) {
                continue;
            }
        }
        out.push(DiffEntry {
            old: old.pointer(&pointer).cloned(),
            new: new.pointer(&pointer).cloned(),
            label: label_of(&old, &new, &pointer),
            setting: setting_of(&old, &new, &pointer),
            path: pointer,
        });
    }
    out
}

fn op_path(op: &json_patch::PatchOperation) -> String {
    serde_json::to_value(op)
        .ok()
        .and_then(|v| v["path"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_canonical_text_is_the_canonical_form_written_out_and_hashes_like_content_hash() {
        let doc = json!({
            "version": 7, "b": [{"z": 1, "lastModifiedDateTime": "x", "a": {"@odata.etag": "e", "k": "v"}}],
            "a": "\u{e9}\"", "@odata.context": "c"
        });
        let (text, hash) = canonical_text(doc.clone());
        assert_eq!(text, canonicalize(&doc).to_string());
        assert_eq!(text, r#"{"a":"é\"","b":[{"a":{"k":"v"},"z":1}]}"#);
        assert_eq!(hash, content_hash(&doc));
        assert_eq!(hash, content_hash(&canonicalize(&doc)));
    }

    #[test]
    fn key_order_and_volatile_fields_do_not_change_the_hash() {
        let a =
            json!({"displayName": "X", "b": [1, {"z": 1, "a": 2}], "lastModifiedDateTime": "2026-01-01", "version": 3});
        let b = json!({"b": [1, {"a": 2, "z": 1}], "version": 9, "displayName": "X", "@odata.context": "https://..."});
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(
            content_hash(&a),
            content_hash(&json!({"displayName": "Y", "b": [1, {"a": 2, "z": 1}]}))
        );
    }

    #[test]
    fn a_changed_catalog_setting_is_labelled_by_its_definition_id() {
        let setting = |v: &str| {
            json!({"settings": [{"id": "0", "settingInstance": {
                "settingDefinitionId": "device_vendor_msft_policy_config_defender_allowrealtimemonitoring",
                "choiceSettingValue": {"value": v}}}]})
        };
        let d = diff(&setting("off"), &setting("on"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            d[0].label.as_deref(),
            Some(
                "Setting device_vendor_msft_policy_config_defender_allowrealtimemonitoring · choiceSettingValue/value"
            )
        );
        assert_eq!(
            d[0].setting.as_deref(),
            Some("device_vendor_msft_policy_config_defender_allowrealtimemonitoring")
        );
        assert_eq!(diff(&json!({"name": "A"}), &json!({"name": "B"}))[0].label, None);
        assert_eq!(diff(&json!({"name": "A"}), &json!({"name": "B"}))[0].setting, None);
        let stored = serde_json::to_value(&d[0]).expect("json");
        assert_eq!(
            DiffEntry::from_stored(&stored).as_ref(),
            Some(&d[0]),
            "a stored diff reads back whole"
        );
    }

    #[test]
    fn a_changed_child_setting_names_the_child_and_a_removed_one_the_old_setting() {
        let doc = |port: &str| {
            json!({"settings": [{"id": "0", "settingInstance": {"settingDefinitionId": "rules",
                "groupSettingCollectionValue": [{"children": [
                    {"settingDefinitionId": "rules_name", "simpleSettingValue": {"value": "web"}},
                    {"settingDefinitionId": "rules_port", "simpleSettingValue": {"value": port}}]}]}}]})
        };
        let d = diff(&doc("80"), &doc("443"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].setting.as_deref(), Some("rules_port"), "{d:?}");
        assert!(
            d[0].label.as_deref().is_some_and(|l| l.starts_with("Setting rules ·")),
            "{d:?}"
        );
        let removed = diff(&doc("80"), &json!({"settings": []}));
        assert_eq!(removed[0].path, "/settings/0", "{removed:?}");
        assert_eq!(removed[0].setting.as_deref(), Some("rules"), "{removed:?}");
    }

    #[test]
    fn a_diff_names_each_changed_field_with_old_and_new() {
        let old = json!({"name": "A", "settings": [{"value": 1}], "gone": true});
        let new = json!({"name": "B", "settings": [{"value": 2}], "added": "x", "lastModifiedDateTime": "later"});
        let d = diff(&old, &new);
        let by_path = |p: &str| d.iter().find(|e| e.path == p).cloned();
        assert_eq!(
            by_path("/name").map(|e| (e.old, e.new)),
            Some((Some(json!("A")), Some(json!("B"))))
        );
        assert_eq!(by_path("/settings/0/value").map(|e| e.new), Some(Some(json!(2))));
        assert_eq!(by_path("/gone").map(|e| e.new), Some(None));
        assert_eq!(by_path("/added").map(|e| e.old), Some(None));
        assert!(
            by_path("/lastModifiedDateTime").is_none(),
            "volatile fields are not differences"
        );
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn assignments_differ_as_a_whole_list() {
        let target = |g: &str| json!({"target": {"groupId": g}});
        let old = json!({"name": "A", "assignments": [target("g1"), target("g2")]});
        let new = json!({"name": "A", "assignments": [target("g1"), target("g3"), target("g4")]});
        let d = diff(&old, &new);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path, "/assignments");
        assert_eq!(d[0].old, Some(old["assignments"].clone()));
        assert_eq!(d[0].new, Some(new["assignments"].clone()));
        assert_eq!(diff(&json!({}), &new)[1].path, "/name");
    }
}
