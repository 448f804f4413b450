//! Conditional Access never locks anyone out by surprise. A restore creates a CA policy in
//! report-only unless it was asked to keep the captured state (IntuneManagement's import
//! default is even `disabled`, "to avoid accidental tenant lock out"), and a preview names
//! every change that tightens access: a policy turned on, new include targets, removed
//! exclusions, and any change to the grant or session controls or to the client app types,
//! platforms, device filter, risk levels or included locations that is not provably looser.
//! The live confirmation lists them with their own tick; a write that tightens a policy
//! enforced on all users with no exclusion is refused unless that tick was given, since a
//! mistake there locks out every user, admins included.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::db::runs::Run;
use crate::graph::registry::{PolicyType, Recipe};

pub const REPORT_ONLY: &str = "enabledForReportingButNotEnforced";
/// Run parameter: `as_captured` keeps a created policy's captured state.
pub const STATE_PARAM: &str = "conditional_access_state";
/// Run parameter: `true` when the owner ticked the changes that tighten access.
pub const ACCEPT_PARAM: &str = "accept_ca_tightening";

const INCLUDES: &[&str] = &[
    "/conditions/users/includeUsers",
    "/conditions/users/includeGroups",
    "/conditions/users/includeRoles",
    "/conditions/applications/includeApplications",
    "/conditions/devices/includeDevices",
];
const EXCLUDES: &[&str] = &[
    "/conditions/users/excludeUsers",
    "/conditions/users/excludeGroups",
    "/conditions/users/excludeRoles",
    "/conditions/applications/excludeApplications",
    "/conditions/locations/excludeLocations",
    "/conditions/platforms/excludePlatforms",
    "/conditions/devices/excludeDevices",
];
/// Conditions that apply to what they list, where no list (or `all`) means everything: a
/// value the live policy did not cover widens the policy.
const SCOPES: &[&str] = &[
    "/conditions/clientAppTypes",
    "/conditions/platforms/includePlatforms",
    "/conditions/locations/includeLocations",
    "/conditions/userRiskLevels",
    "/conditions/signInRiskLevels",
    "/conditions/servicePrincipalRiskLevels",
];
/// The user exclusions that keep a way in (break-glass accounts, admins) when a policy on
/// all users goes wrong.
const USER_EXCLUDES: &[&str] = &[
    "/conditions/users/excludeUsers",
    "/conditions/users/excludeGroups",
    "/conditions/users/excludeRoles",
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

/// Whether the owner accepted the changes that tighten access for this run.
pub fn accepts_tightening(run: &Run) -> bool {
    serde_json::from_str::<Value>(&run.params)
        .ok()
        .is_some_and(|p| p[ACCEPT_PARAM] == true)
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

/// Whether a policy is enforced on all users with no user, group or role excluded: one
/// that, tightened by mistake, locks out everyone, admins included.
pub fn unguarded(doc: &Value) -> bool {
    doc.get("state").and_then(Value::as_str) == Some("enabled")
        && strings(doc, "/conditions/users/includeUsers")
            .iter()
            .any(|u| u.eq_ignore_ascii_case("all"))
        && USER_EXCLUDES.iter().all(|p| strings(doc, p).is_empty())
}

/// The refusal's reason, for an item's error context (our words, at most 200 characters).
pub const REFUSED: &str = "it tightens a Conditional Access policy enforced on all users with no exclusion; tick the tightening to accept it (API: accept_ca_tightening: true)";

/// What a policy's grant controls demand of a sign-in.
#[derive(Debug, PartialEq, Eq)]
enum Grant {
    Nothing,
    Block,
    /// Every one of these.
    All(BTreeSet<String>),
    /// Any one of these (two or more).
    Any(BTreeSet<String>),
}

fn grant(doc: &Value) -> Grant {
    let builtin = strings(doc, "/grantControls/builtInControls");
    if builtin.iter().any(|c| c.eq_ignore_ascii_case("block")) {
        return Grant::Block;
    }
    let mut wanted: BTreeSet<String> = builtin.into_iter().map(str::to_owned).collect();
    for c in strings(doc, "/grantControls/customAuthenticationFactors") {
        wanted.insert(format!("custom control {c}"));
    }
    for t in strings(doc, "/grantControls/termsOfUse") {
        wanted.insert(format!("terms of use {t}"));
    }
    if let Some(id) = doc
        .pointer("/grantControls/authenticationStrength/id")
        .and_then(Value::as_str)
    {
        wanted.insert(format!("authentication strength {id}"));
    }
    let any = doc
        .pointer("/grantControls/operator")
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case("OR"));
    match wanted.len() {
        0 => Grant::Nothing,
        // One control is the same under either operator.
        1 => Grant::All(wanted),
        _ if any => Grant::Any(wanted),
        _ => Grant::All(wanted),
    }
}

/// Whether every sign-in the `live` grant lets through is let through by `written` too.
fn grant_no_stricter(written: &Grant, live: &Grant) -> bool {
    match (written, live) {
        (Grant::Nothing, _) | (_, Grant::Block) => true,
        (Grant::Block, _) | (_, Grant::Nothing) | (Grant::All(_), Grant::Any(_)) => false,
        (Grant::All(w), Grant::All(l)) => w.is_subset(l),
        (Grant::Any(w), Grant::All(l)) => !w.is_disjoint(l),
        (Grant::Any(w), Grant::Any(l)) => l.is_subset(w),
    }
}

fn describe_grant(g: &Grant) -> String {
    let list = |s: &BTreeSet<String>, join: &str| s.iter().map(String::as_str).collect::<Vec<_>>().join(join);
    match g {
        Grant::Nothing => "no grant control".to_owned(),
        Grant::Block => "block access".to_owned(),
        Grant::All(s) => format!("require {}", list(s, " and ")),
        Grant::Any(s) => format!("require one of {}", list(s, ", ")),
    }
}

/// The session controls set, without the nulls and `@odata.type` Graph pads them with.
fn session(doc: &Value) -> Map<String, Value> {
    doc.get("sessionControls")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, v)| !v.is_null() && !k.starts_with('@'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether a session control switched on restricts sessions (rather than, like a persistent
/// browser session, relaxing them).
fn off(control: Option<&Value>) -> bool {
    control.is_none_or(|c| c.is_null() || c == &Value::Bool(false) || c.get("isEnabled") == Some(&Value::Bool(false)))
}

/// Hours of a sign-in frequency, when it is a plain time-based one.
fn frequency_hours(c: &Value) -> Option<u64> {
    if c.get("frequencyInterval").and_then(Value::as_str) == Some("everyTime") {
        return Some(0);
    }
    let value = c.get("value").and_then(Value::as_u64)?;
    match c.get("type").and_then(Value::as_str)? {
        "hours" => Some(value),
        "days" => value.checked_mul(24),
        _ => None,
    }
}

/// Whether `written` is provably no stricter than `live` for one session control.
fn session_no_stricter(key: &str, written: Option<&Value>, live: Option<&Value>) -> bool {
    match key {
        "applicationEnforcedRestrictions"
        | "cloudAppSecurity"
        | "disableResilienceDefaults"
        | "secureSignInSession" => off(written),
        "signInFrequency" => {
            off(written)
                || written.zip(live).is_some_and(|(w, l)| {
                    !off(Some(l))
                        && w.get("authenticationType") == l.get("authenticationType")
                        && frequency_hours(w).zip(frequency_hours(l)).is_some_and(|(w, l)| w >= l)
                })
        }
        // "never persistent" restricts; dropping it relaxes.
        "persistentBrowser" => {
            off(written) && live.and_then(|l| l.get("mode")).and_then(Value::as_str) == Some("never")
        }
        "continuousAccessEvaluation" => written.and_then(|w| w.get("mode")).and_then(Value::as_str) == Some("disabled"),
        _ => false,
    }
}

/// What a scope condition covers: `None` for everything (no list, or `all`).
fn scope<'a>(doc: &'a Value, pointer: &str) -> Option<Vec<&'a str>> {
    let listed = strings(doc, pointer);
    (!listed.is_empty() && !listed.iter().any(|x| x.eq_ignore_ascii_case("all"))).then_some(listed)
}

/// Readable name of a JSON pointer into a policy ("conditions.users.includeUsers").
fn field(pointer: &str) -> String {
    pointer[1..].replace('/', ".")
}

/// The changes writing `written` over `live` (`None`: a create) makes that tighten access:
/// everything that is not provably looser.
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
            out.push(format!("adds {added} to {}", field(p)));
        }
    }
    for p in EXCLUDES {
        let after = strings(written, p);
        for removed in strings(live, p).into_iter().filter(|x| !after.contains(x)) {
            out.push(format!("removes the exclusion {removed} from {}", field(p)));
        }
    }
    for p in SCOPES {
        match (scope(live, p), scope(written, p)) {
            (None, _) => {}
            (Some(_), None) => out.push(format!("widens {} to all", field(p))),
            (Some(before), Some(after)) => {
                for added in after.into_iter().filter(|x| !before.contains(x)) {
                    out.push(format!("adds {added} to {}", field(p)));
                }
            }
        }
    }
    let (g_live, g_written) = (grant(live), grant(written));
    if !grant_no_stricter(&g_written, &g_live) {
        out.push(format!(
            "tightens the grant controls to {} (was {})",
            describe_grant(&g_written),
            describe_grant(&g_live)
        ));
    }
    let (s_live, s_written) = (session(live), session(written));
    let keys: BTreeSet<&String> = s_live.keys().chain(s_written.keys()).collect();
    for key in keys {
        let (w, l) = (s_written.get(key), s_live.get(key));
        if w != l && !session_no_stricter(key, w, l) {
            out.push(match w {
                Some(v) => format!("sets the session control {key} to {v}"),
                None => format!("removes the session control {key}"),
            });
        }
    }
    let filter = |v: &Value| {
        v.pointer("/conditions/devices/deviceFilter")
            .filter(|f| !f.is_null())
            .cloned()
    };
    // A filter where there was none narrows the devices the policy applies to; any other
    // change to it may widen them.
    if let Some(before) = filter(live) {
        match filter(written) {
            None => out.push("removes the device filter (the policy now applies to every device)".to_owned()),
            Some(after) if after != before => out.push(format!(
                "changes the device filter to {} {}",
                after["mode"].as_str().unwrap_or("?"),
                after["rule"].as_str().unwrap_or("?")
            )),
            Some(_) => {}
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

    #[test]
    fn only_an_enabled_policy_on_all_users_without_exclusions_is_unguarded() {
        let all = json!({"state": "enabled", "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": [], "excludeGroups": [], "excludeRoles": []}}});
        assert!(unguarded(&all));
        let mut excluded = all.clone();
        excluded["conditions"]["users"]["excludeRoles"] = json!(["global-admin"]);
        assert!(!unguarded(&excluded));
        assert!(!unguarded(&as_created(all.clone(), false)), "report-only");
        let mut group = all;
        group["conditions"]["users"]["includeUsers"] = json!([]);
        group["conditions"]["users"]["includeGroups"] = json!(["g"]);
        assert!(!unguarded(&group));
    }
}
