//! Differences as an admin reads them: a script body decoded from base64 and compared line by
//! line, assignments as the list of targets before and after, any other field as its value.
//! Used by the policy page (two versions), run pages (preview, verify) and the drift view.

use std::collections::{BTreeSet, HashMap};

use maud::{Markup, html};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::graph::canonical::DiffEntry;

/// Names a page shows in place of ids, each by id: the tenant's groups (`directory_names`),
/// its assignment filters (the inventory) and settings catalog setting definitions
/// (`setting_definitions`, the same for every tenant). An id without a name shows as the id.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub groups: HashMap<String, String>,
    pub filters: HashMap<String, String>,
    pub settings: HashMap<String, String>,
}

/// The setting definition an entry names: the innermost setting on its path, or, for an entry
/// stored before entries carried it, the one its label names ("Setting <id> · …").
pub fn setting_of(e: &DiffEntry) -> Option<&str> {
    e.setting
        .as_deref()
        .or_else(|| e.label.as_deref()?.strip_prefix("Setting ")?.split(" · ").next())
}

/// The field diff a preview, a failed verify or a drift check stored in an item's result.
pub fn stored_diff(i: &crate::db::runs::RunItem) -> Vec<DiffEntry> {
    i.result
        .as_ref()
        .and_then(|r| r.get("diff"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(DiffEntry::from_stored).collect())
        .unwrap_or_default()
}

/// The setting definition ids a list of entries names (whose names a page loads).
pub fn setting_ids<'a>(entries: impl IntoIterator<Item = &'a DiffEntry>) -> BTreeSet<String> {
    entries.into_iter().filter_map(setting_of).map(str::to_owned).collect()
}

/// Properties that hold a script as base64 text.
pub const SCRIPT_FIELDS: &[&str] = &["scriptContent", "detectionScriptContent", "remediationScriptContent"];

/// Which value of an entry a column shows.
#[derive(Clone, Copy)]
pub enum Side {
    Old,
    New,
}

impl Side {
    fn of(self, e: &DiffEntry) -> Option<&Value> {
        match self {
            Side::Old => e.old.as_ref(),
            Side::New => e.new.as_ref(),
        }
    }
}

/// Column headings and which value each shows: e.g. ("Before", Old) and ("After", New) for
/// a version comparison, ("Baseline", New) and ("Live now", Old) for drift.
pub struct Columns<'a> {
    pub left: (&'a str, Side),
    pub right: (&'a str, Side),
}

pub const BEFORE_AFTER: Columns<'static> = Columns {
    left: ("Before", Side::Old),
    right: ("After", Side::New),
};

fn short(v: Option<&Value>) -> String {
    match v {
        None => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            let t = other.to_string();
            if t.len() > 300 {
                format!("{}…", &t[..t.floor_char_boundary(300)])
            } else {
                t
            }
        }
    }
}

/// The text of a base64 script body; `None` when it is not base64 of UTF-8 text.
pub fn decode_script(v: &Value) -> Option<String> {
    use base64::Engine;
    let s = v.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    // A byte-order mark is how many editors save PowerShell; it is no line of the script.
    Some(text.trim_start_matches('\u{feff}').to_owned())
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A field-level diff as a table of the two columns.
pub fn table(entries: &[DiffEntry], cols: &Columns<'_>, names: &Names) -> Markup {
    html! {
        @if entries.is_empty() {
            p.pv-muted { "No differences." }
        } @else {
            table.pv-diff {
                thead { tr { th { "Field" } th { (cols.left.0) } th { (cols.right.0) } } }
                tbody {
                    @for e in entries { (row(e, cols, names)) }
                }
            }
        }
    }
}

fn row(e: &DiffEntry, cols: &Columns<'_>, names: &Names) -> Markup {
    let (left, right) = (cols.left.1.of(e), cols.right.1.of(e));
    if SCRIPT_FIELDS.contains(&last_segment(&e.path)) {
        let decoded = (left.map(decode_script), right.map(decode_script));
        if let (Some(Some(_)) | None, Some(Some(_)) | None) = &decoded {
            let l = decoded.0.flatten().unwrap_or_default();
            let r = decoded.1.flatten().unwrap_or_default();
            return html! {
                tr.pv-script-row {
                    td.pv-mono { (e.path) br; small.pv-muted.pv-nowrap { "script, decoded" } }
                    td colspan="2" { (script_diff(&l, &r, cols)) }
                }
            };
        }
    }
    if e.path == "/assignments" && left.is_none_or(Value::is_array) && right.is_none_or(Value::is_array) {
        return html! {
            tr.pv-assignments-row {
                td { "Assignments" }
                td colspan="2" { (assignment_diff(left, right, cols, names)) }
            }
        };
    }
    html! {
        tr {
            @if let Some((id, name)) = setting_of(e).and_then(|id| Some((id, names.settings.get(id)?))) {
                td.pv-setting title=(id) {
                    strong { (name) } br;
                    small.pv-muted.pv-mono { (id) } br;
                    small.pv-muted.pv-mono { (e.path) }
                }
            } @else if let Some(label) = &e.label {
                td { (label) br; small.pv-muted.pv-mono { (e.path) } }
            } @else {
                td.pv-mono { (e.path) }
            }
            td.pv-mono.pv-old { (short(left)) } td.pv-mono.pv-new { (short(right)) }
        }
    }
}

/// Lines only in the left column are marked `−`, only in the right `+`; unchanged lines
/// around each change give three lines of context, longer unchanged runs fold to "…".
pub fn script_diff(left: &str, right: &str, cols: &Columns<'_>) -> Markup {
    let diff = TextDiff::configure()
        .timeout(std::time::Duration::from_millis(500))
        .diff_lines(left, right);
    let groups = diff.grouped_ops(3);
    html! {
        p.pv-legend { span.pv-del { "− " (cols.left.0) } " " span.pv-ins { "+ " (cols.right.0) } }
        pre.pv-script-diff {
            @if groups.is_empty() { span.pv-eq { "(the same text)" } }
            @for (n, group) in groups.iter().enumerate() {
                @if n > 0 { span.pv-fold { "…\n" } }
                @for op in group {
                    @for change in diff.iter_changes(op) {
                        @let line = change.value().trim_end_matches(['\n', '\r']);
                        @match change.tag() {
                            ChangeTag::Delete => span.pv-del { "− " (line) "\n" },
                            ChangeTag::Insert => span.pv-ins { "+ " (line) "\n" },
                            ChangeTag::Equal => span.pv-eq { "  " (line) "\n" },
                        }
                    }
                }
            }
        }
    }
}

/// A target's assignment filter: (filter id, "include" or "exclude"), unless it has none.
fn filter_of(t: &Value) -> Option<(&str, &str)> {
    let id = t
        .get("deviceAndAppManagementAssignmentFilterId")
        .and_then(Value::as_str)
        .filter(|f| !f.is_empty() && *f != "00000000-0000-0000-0000-000000000000")?;
    let how = t
        .get("deviceAndAppManagementAssignmentFilterType")
        .and_then(Value::as_str)
        .unwrap_or("include");
    Some((id, how))
}

/// What a target is, by id: "Group 6b8a…", "Excluded group …", "All devices", "All users".
fn target_kind(t: &Value) -> String {
    let kind = t.get("@odata.type").and_then(Value::as_str).unwrap_or_default();
    let group = t.get("groupId").and_then(Value::as_str).unwrap_or("?");
    match kind.trim_start_matches("#microsoft.graph.") {
        "groupAssignmentTarget" => format!("Group {group}"),
        "exclusionGroupAssignmentTarget" => format!("Excluded group {group}"),
        "allDevicesAssignmentTarget" => "All devices".to_owned(),
        "allLicensedUsersAssignmentTarget" => "All users".to_owned(),
        "" if t.get("groupId").is_some() => format!("Group {group}"),
        other => other.trim_end_matches("AssignmentTarget").to_owned(),
    }
}

/// One assignment in words: "Group 6b8a…", "Excluded group …", "All devices", "All users",
/// with its intent and assignment filter, all by id (what two sides are compared by).
pub fn target_label(a: &Value) -> String {
    let t = a.get("target").unwrap_or(a);
    let mut out = target_kind(t);
    if let Some(intent) = a.get("intent").and_then(Value::as_str) {
        out = format!("{out} ({intent})");
    }
    if let Some((filter, how)) = filter_of(t) {
        out = format!("{out} · filter {filter} ({how})");
    }
    out
}

/// A target as shown: a group whose name is known reads "Group: Sales devices" (or
/// "Excluded group: …"), a filter whose name is known "filter: Windows 11 only (include)",
/// each name in bold with its id on hover and in small print; what has no known name reads
/// by its id, as [`target_label`] has it.
pub fn target_markup(a: &Value, names: &Names) -> Markup {
    let t = a.get("target").unwrap_or(a);
    let group = t
        .get("groupId")
        .and_then(Value::as_str)
        .and_then(|id| Some((id, names.groups.get(id)?)));
    let filter = filter_of(t);
    let filter_name = filter.and_then(|(id, _)| names.filters.get(id));
    if group.is_none() && filter_name.is_none() {
        return html! { (target_label(a)) };
    }
    let excluded = t
        .get("@odata.type")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("exclusionGroupAssignmentTarget"));
    let intent = a.get("intent").and_then(Value::as_str);
    let ids: Vec<&str> = [
        group.map(|(id, _)| id),
        filter.filter(|_| filter_name.is_some()).map(|(id, _)| id),
    ]
    .into_iter()
    .flatten()
    .collect();
    html! {
        span.pv-target title=[group.map(|(id, _)| id)] {
            @if let Some((_, name)) = group {
                (if excluded { "Excluded group: " } else { "Group: " }) strong { (name) }
            } @else {
                (target_kind(t))
            }
            @if let Some(intent) = intent { " (" (intent) ")" }
            @if let Some((id, how)) = filter {
                @if let Some(name) = filter_name {
                    span.pv-filter title=(id) { " · filter: " strong { (name) } " (" (how) ")" }
                } @else {
                    " · filter " (id) " (" (how) ")"
                }
            }
            br; small.pv-muted.pv-mono { (ids.join(" · ")) }
        }
    }
}

/// Each target's label by id (what two sides are compared by) and how it is shown.
fn targets(v: Option<&Value>, names: &Names) -> Vec<(String, Markup)> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|a| (target_label(a), target_markup(a, names)))
                .collect()
        })
        .unwrap_or_default()
}

/// Both lists of targets side by side; a target only on one side is marked `−` or `+`.
fn assignment_diff(left: Option<&Value>, right: Option<&Value>, cols: &Columns<'_>, names: &Names) -> Markup {
    let (l, r) = (targets(left, names), targets(right, names));
    let list = |own: &[(String, Markup)], other: &[(String, Markup)], mark: &str, class: &str| {
        html! {
            @if own.is_empty() { p.pv-muted { "not assigned" } }
            @else {
                ul.pv-targets {
                    @for (key, shown) in own {
                        @if other.iter().any(|(k, _)| k == key) { li { (shown) } }
                        @else { li class=(class) { (mark) " " (shown) } }
                    }
                }
            }
        }
    };
    html! {
        div.pv-target-cols {
            div { strong { (cols.left.0) } (list(&l, &r, "−", "pv-del")) }
            div { strong { (cols.right.0) } (list(&r, &l, "+", "pv-ins")) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    fn b64(s: &str) -> Value {
        json!(base64::engine::general_purpose::STANDARD.encode(s))
    }

    #[test]
    fn a_script_change_shows_the_changed_lines_decoded() {
        let e = DiffEntry {
            label: None,
            setting: None,
            path: "/detectionScriptContent".into(),
            old: Some(b64("\u{feff}$a = 1\nWrite-Output $a\nexit 0\n")),
            new: Some(b64("$a = 2\nWrite-Output $a\nexit 0\n")),
        };
        let html = table(&[e], &BEFORE_AFTER, &Names::default()).into_string();
        assert!(html.contains("− $a = 1"), "{html}");
        assert!(html.contains("+ $a = 2"), "{html}");
        assert!(html.contains("  Write-Output $a"), "{html}");
        assert!(!html.contains("JGEgPSAx"), "no base64 left: {html}");
    }

    #[test]
    fn a_value_that_is_not_base64_text_shows_as_it_is() {
        let e = DiffEntry {
            label: None,
            setting: None,
            path: "/scriptContent".into(),
            old: Some(json!("not base64!")),
            new: Some(b64("echo hi")),
        };
        let html = table(&[e], &BEFORE_AFTER, &Names::default()).into_string();
        assert!(
            html.contains("not base64!") && !html.contains("pv-script-diff"),
            "{html}"
        );
    }

    #[test]
    fn assignments_read_as_targets_with_what_was_added_and_removed() {
        let group =
            |g: &str| json!({"target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": g}});
        let all = json!({"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
            "deviceAndAppManagementAssignmentFilterId": "f1", "deviceAndAppManagementAssignmentFilterType": "exclude"}});
        let e = DiffEntry {
            label: None,
            setting: None,
            path: "/assignments".into(),
            old: Some(json!([group("g1"), group("g2")])),
            new: Some(json!([group("g1"), all])),
        };
        let html = table(&[e], &BEFORE_AFTER, &Names::default()).into_string();
        assert!(html.contains("<li>Group g1</li>"), "{html}");
        assert!(html.contains("− Group g2"), "{html}");
        assert!(html.contains("+ All devices · filter f1 (exclude)"), "{html}");
    }

    #[test]
    fn a_group_with_a_known_name_reads_by_name_with_its_id_in_small_print() {
        let target = |kind: &str, g: &str| json!({"target": {"@odata.type": kind, "groupId": g}});
        let names = Names {
            groups: HashMap::from([("g1".to_owned(), "Sales <devices>".to_owned())]),
            ..Names::default()
        };
        let e = DiffEntry {
            label: None,
            setting: None,
            path: "/assignments".into(),
            old: Some(json!([target("#microsoft.graph.groupAssignmentTarget", "g1")])),
            new: Some(json!([
                target("#microsoft.graph.groupAssignmentTarget", "g1"),
                target("#microsoft.graph.exclusionGroupAssignmentTarget", "g2")
            ])),
        };
        let html = table(&[e], &BEFORE_AFTER, &names).into_string();
        assert!(html.contains("Group: <strong>Sales &lt;devices&gt;</strong>"), "{html}");
        assert!(html.contains(r#"title="g1""#), "{html}");
        assert!(!html.contains("− "), "g1 is on both sides: {html}");
        assert!(
            html.contains("+ Excluded group g2"),
            "an unknown group stays an id: {html}"
        );
    }

    #[test]
    fn a_filter_with_a_known_name_reads_by_name_and_an_unknown_one_by_id() {
        let all = |f: &str, how: &str| {
            json!({"target": {"@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
                "deviceAndAppManagementAssignmentFilterId": f, "deviceAndAppManagementAssignmentFilterType": how}})
        };
        let names = Names {
            filters: HashMap::from([("f1".to_owned(), "Windows <11>".to_owned())]),
            ..Names::default()
        };
        let html = target_markup(&all("f1", "exclude"), &names).into_string();
        assert!(
            html.contains(
                r#"<span class="pv-filter" title="f1"> · filter: <strong>Windows &lt;11&gt;</strong> (exclude)</span>"#
            ),
            "{html}"
        );
        assert!(html.contains("All devices"), "{html}");
        assert!(
            html.contains(r#"<small class="pv-muted pv-mono">f1</small>"#),
            "the id in small print: {html}"
        );
        let unknown = target_markup(&all("f2", "include"), &names).into_string();
        assert_eq!(unknown, "All devices · filter f2 (include)");
    }

    #[test]
    fn a_setting_with_a_known_definition_reads_by_name_else_by_its_label() {
        let entry = |setting: Option<&str>, label: &str| DiffEntry {
            label: Some(label.to_owned()),
            setting: setting.map(str::to_owned),
            path: "/settings/0/settingInstance/groupSettingCollectionValue/0/children/0/simpleSettingValue/value"
                .into(),
            old: Some(json!("80")),
            new: Some(json!("443")),
        };
        let names = Names {
            settings: HashMap::from([
                ("child".to_owned(), "Local <Port> Ranges".to_owned()),
                ("top".to_owned(), "Firewall Rule".to_owned()),
            ]),
            ..Names::default()
        };
        let html = table(&[entry(Some("child"), "Setting top · x")], &BEFORE_AFTER, &names).into_string();
        assert!(
            html.contains(r#"<td class="pv-setting" title="child"><strong>Local &lt;Port&gt; Ranges</strong><br><small class="pv-muted pv-mono">child</small>"#),
            "{html}"
        );
        // An entry stored before entries named their setting: the label's setting.
        let old = table(&[entry(None, "Setting top · x")], &BEFORE_AFTER, &names).into_string();
        assert!(old.contains("<strong>Firewall Rule</strong>"), "{old}");
        let unknown = table(&[entry(Some("other"), "Setting other · x")], &BEFORE_AFTER, &names).into_string();
        assert!(
            unknown.contains("<td>Setting other · x<br>") && !unknown.contains("pv-setting"),
            "{unknown}"
        );
        assert_eq!(
            setting_ids(&[entry(Some("child"), "Setting top · x"), entry(None, "Setting top · y")])
                .into_iter()
                .collect::<Vec<_>>(),
            ["child", "top"]
        );
    }
}
