//! Conditional Access never locks anyone out by surprise. A restore creates a CA policy in
//! report-only unless it was asked to keep the captured state (IntuneManagement's import
//! default is even `disabled`, "to avoid accidental tenant lock out"), and a preview names
//! every change that tightens access: a policy turned on, new include targets, removed
//! exclusions. The live confirmation lists them.

use serde_json::Value;

use crate::db::runs::Run;
use crate::graph::registry::{PolicyType, Recipe};

pub const REPORT_ONLY: &str = "enabledForReportingButNotEnforced";
/// Run parameter: `as_captured` keeps a created policy's captured state.
pub const STATE_PARAM: &str = "conditional_access_state";

const INCLUDES: &[&str] = &[
    "/conditions/users/includeUsers",
    "/conditions/users/includeGroups",
    "/conditions/users/includeRoles",
    "/conditions/applications/includeApplications",
];
const EXCLUDES: &[&str] = &[
    "/conditions/users/excludeUsers",
    "/conditions/users/excludeGroups",
    "/conditions/users/excludeRoles",
    "/conditions/applications/excludeApplications",
    "/conditions/locations/excludeLocations",
];

pub fn is_ca(ty: &PolicyType) -> bool {
    ty.recipe == Recipe::ConditionalAccess
}

/// Whether the run keeps created policies in their captured state.
pub fn keeps_state(run: &Run) -> bool {
    serde_json::from_str::<Value>(&run.params)
        .ok()
        .is_some_and(|p| p[STATE_PARAM] == "as_captured")
}

/// The document a create writes: report-only unless the captured state is kept.
pub fn as_created(mut document: Value, keep_state: bool) -> Value {
    if !keep_state && document.get("state").is_some() {
        document["state"] = Value::String(REPORT_ONLY.into());
    }
    document
}

fn strings<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The changes writing `written` over `live` (`None`: a create) makes that tighten access.
pub fn tightening(live: Option<&Value>, written: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let state = |v: &Value| v.get("state").and_then(Value::as_str).map(str::to_owned);
    if state(written).as_deref() == Some("enabled") && live.and_then(state).as_deref() != Some("enabled") {
        out.push("turns the policy on (state: enabled)".to_owned());
    }
    let Some(live) = live else { return out };
    for p in INCLUDES {
        let before = strings(live, p);
        for added in strings(written, p).into_iter().filter(|x| !before.contains(x)) {
            out.push(format!("adds {added} to {}", &p[1..].replace('/', ".")));
        }
    }
    for p in EXCLUDES {
        let after = strings(written, p);
        for removed in strings(live, p).into_iter().filter(|x| !after.contains(x)) {
            out.push(format!(
                "removes the exclusion {removed} from {}",
                &p[1..].replace('/', ".")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_turned_on_new_targets_and_lost_exclusions_tighten_access() {
        let live = json!({"state": "enabledForReportingButNotEnforced", "conditions": {"users": {"includeGroups": ["a"], "excludeUsers": ["breakglass"]}}});
        let written =
            json!({"state": "enabled", "conditions": {"users": {"includeGroups": ["a", "b"], "excludeUsers": []}}});
        let found = tightening(Some(&live), &written);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(tightening(Some(&written), &written).is_empty());
        assert!(
            tightening(None, &as_created(written.clone(), false)).is_empty(),
            "created report-only"
        );
        assert_eq!(tightening(None, &as_created(written, true)).len(), 1);
    }
}
