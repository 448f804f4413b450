//! The drift view: a baseline (a backup set) against the tenant as it is now, from the latest
//! `drift.check` of that baseline (reads only).

use std::collections::HashMap;

use maud::{Markup, html};

use super::components::{csrf_field, local_time, when};
use super::layout::{Nav, page};
use super::tenant::{Tab, tabs};
use crate::db::backups::BackupSet;
use crate::db::drift::{ADDED_ITEM, Acceptance, COMPARE_ITEM, LIST_ITEM};
use crate::db::runs::{Run, RunItem};
use crate::db::tenants::Tenant;
use crate::graph::canonical::DiffEntry;
use crate::graph::registry;

#[allow(clippy::struct_excessive_bools)]
pub struct DriftView<'a> {
    pub sets: &'a [BackupSet],
    pub baseline: Option<&'a BackupSet>,
    /// Whether the tenant has a complete whole-tenant backup (the default baseline).
    pub default_exists: bool,
    /// The check against the baseline (a `drift.check` run) and its items.
    pub check: Option<(&'a Run, &'a [RunItem])>,
    /// Rows accepted against this baseline, by policy id.
    pub accepted: &'a HashMap<String, Acceptance>,
    pub show_all: bool,
    /// For the row forms.
    pub csrf: &'a str,
    pub can_operate: bool,
    pub is_owner: bool,
    /// Names shown in place of ids (groups, filters, settings).
    pub names: &'a super::diff::Names,
}

/// "2 changed, 1 removed, 3 added" (only the non-zero ones).
pub fn found_words(changed: i64, removed: i64, added: i64) -> String {
    let parts: Vec<String> = [(changed, "changed"), (removed, "removed"), (added, "added")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
    parts.join(", ")
}

fn type_label(key: &str) -> &str {
    registry::by_key(key).map_or(key, |t| t.label)
}

fn result_str<'a>(i: &'a RunItem, key: &str) -> &'a str {
    i.result.as_ref().and_then(|r| r[key].as_str()).unwrap_or_default()
}

/// A drift diff is live → baseline; here the columns are "Baseline" and "Live now".
fn drift_table(entries: &[DiffEntry], names: &super::diff::Names) -> Markup {
    super::diff::table(
        entries,
        &super::diff::Columns {
            left: ("Baseline", super::diff::Side::New),
            right: ("Live now", super::diff::Side::Old),
        },
        names,
    )
}

pub fn drift(nav: &Nav, t: &Tenant, v: &DriftView<'_>) -> Markup {
    let base = format!("/t/{}/drift", t.id);
    page(
        nav,
        &format!("{} · Drift", t.name),
        html! {
            h1 { (t.name) ": drift" }
            p.pv-sub { "What changed in the tenant since a backup: the baseline. Checking reads the tenant and writes nothing." }
            (tabs(t, Tab::Drift, v.is_owner))
            @if v.sets.is_empty() {
                p.pv-empty { "There is no backup to compare with yet: back up the whole tenant first." }
            } @else {
                form.pv-actions method="post" action=(base) {
                    (csrf_field(&nav.csrf))
                    label.pv-inline { "Baseline "
                        select name="set" {
                            @if v.baseline.is_none() { option value="" selected { "Choose a backup…" } }
                            @for s in v.sets {
                                @let suffix = if s.complete { "" } else { " · incomplete" };
                                option value=(s.id) selected[v.baseline.is_some_and(|b| b.id == s.id)]
                                    data-local-at=(s.created_at) data-prefix={ (s.name) " · " } data-suffix=(suffix) title=(when(&s.created_at)) {
                                    (s.name) " · " (when(&s.created_at)) (suffix)
                                }
                            }
                        }
                    }
                    @if v.can_operate { button type="submit" { "Check drift now" } }
                }
            }
            @if !v.default_exists && !v.sets.is_empty() {
                p.pv-warn #pv-no-default { "There is no complete backup of the whole tenant yet, so no baseline is chosen for you. A check against an incomplete backup cannot tell what is new in the types it missed." }
            }
            @if let Some(b) = v.baseline { (baseline_note(b)) }
            (results(t, v))
        },
    )
}

fn baseline_note(b: &BackupSet) -> Markup {
    html! {
        p #pv-baseline {
            "Baseline: " strong { (b.name) } ", taken " (local_time(&b.created_at)) "."
            @if !b.complete {
                br; small.pv-warn data-incomplete-baseline {
                    "This backup is incomplete"
                    @if !b.missing_types.is_empty() {
                        ": " (b.missing_types.len()) " " (if b.missing_types.len() == 1 { "type" } else { "types" }) " not captured ("
                        @for (n, m) in b.missing_types.iter().enumerate() { @if n > 0 { "; " } (m.describe()) }
                        ")"
                    }
                    ". Policies of those types read “not in the baseline (capture failed)”, not “added”."
                }
            }
            @if !b.whole_tenant {
                br; small.pv-warn data-partial-baseline {
                    "This backup holds only the " (b.item_count) " policies picked for it: every other policy of the tenant shows as added. A backup of the whole tenant makes a better baseline."
                }
            }
        }
    }
}

/// The rows of a finished check, by what it found.
struct Rows<'a> {
    changed: Vec<&'a RunItem>,
    removed: Vec<&'a RunItem>,
    added: Vec<&'a RunItem>,
    same: Vec<&'a RunItem>,
    /// Live objects of types the baseline failed to capture: (policy id, name, type).
    uncaptured: Vec<(String, String, String)>,
    failed: Vec<&'a RunItem>,
}

fn rows(items: &[RunItem]) -> Rows<'_> {
    let mut r = Rows {
        changed: Vec::new(),
        removed: Vec::new(),
        added: Vec::new(),
        same: Vec::new(),
        uncaptured: Vec::new(),
        failed: Vec::new(),
    };
    for i in items {
        if i.status == "failed" {
            r.failed.push(i);
            continue;
        }
        if i.item_type == LIST_ITEM {
            let listed = i.result.as_ref().and_then(|x| x["not_in_baseline"].as_array().cloned());
            for o in listed.unwrap_or_default() {
                r.uncaptured.push((
                    o["policy_id"].as_str().unwrap_or_default().to_owned(),
                    o["display_name"].as_str().unwrap_or_default().to_owned(),
                    i.item_id.clone(),
                ));
            }
            continue;
        }
        if i.item_type == COMPARE_ITEM && result_str(i, "not_in_baseline") == "capture_failed" {
            r.uncaptured
                .push((String::new(), i.label.clone(), result_str(i, "policy_type").to_owned()));
            continue;
        }
        match result_str(i, "change") {
            "changed" => r.changed.push(i),
            "removed" => r.removed.push(i),
            "added" if i.item_type == ADDED_ITEM => r.added.push(i),
            _ => r.same.push(i),
        }
    }
    r
}

fn results(t: &Tenant, v: &DriftView<'_>) -> Markup {
    let Some((run, items)) = v.check else {
        return html! { div #pv-drift { p.pv-muted { "Not checked against this baseline yet." } } };
    };
    let url = format!("/t/{}/drift?run={}", t.id, run.id);
    if !run.is_terminal() {
        return html! {
            div #pv-drift hx-get=(url) hx-trigger="every 1s" hx-select="#pv-drift" hx-swap="outerHTML" {
                p { "Checking the tenant against the baseline… " a href={ "/t/" (t.id) "/runs/" (run.id) } { "view the run" } }
            }
        };
    }
    let r = rows(items);
    let nothing = r.changed.is_empty() && r.removed.is_empty() && r.added.is_empty();
    html! {
        div #pv-drift {
            p.pv-outcome #pv-drift-summary { strong {
                (r.changed.len()) " changed, " (r.removed.len()) " removed, " (r.added.len()) " added since the baseline; " (r.same.len()) " unchanged"
                @if !r.uncaptured.is_empty() { "; " (r.uncaptured.len()) " not in the baseline (capture failed)" }
                @if !r.failed.is_empty() { "; " (r.failed.len()) " could not be checked" }
            } }
            p.pv-muted { "Checked " @if let Some(at) = run.finished_at.as_deref() { (local_time(at)) } " · "
                a href={ "/t/" (t.id) "/runs/" (run.id) } { "the check's run" } " · "
                @if v.show_all { a href=(url) { "Show changes only" } } @else { a href={ (url) "&all=1" } { "Show unchanged too" } }
            }
            table #pv-drift-rows {
                thead { tr { th { "Policy" } th { "Type" } th { "Drift" } th { "What to do" } } }
                tbody {
                    @for i in &r.changed { (row(t, v, run, i, "changed")) }
                    @for i in &r.removed { (row(t, v, run, i, "removed")) }
                    @for i in &r.added { (row(t, v, run, i, "added")) }
                    @for (pid, name, ty) in &r.uncaptured {
                        tr data-drift="not-in-baseline" {
                            td { @if pid.is_empty() { (name) } @else { a href={ "/t/" (t.id) "/policies/" (pid) } { (name) } } }
                            td.pv-muted { (type_label(ty)) }
                            td { "not in the baseline (capture failed)" }
                            td {}
                        }
                    }
                    @for i in &r.failed {
                        tr data-drift="failed" {
                            td { (i.label) }
                            td.pv-muted { (type_label(result_str(i, "policy_type"))) }
                            td { "could not be checked: " (i.error_code.as_deref().map_or("unknown error", crate::graph::error::describe)) }
                            td {}
                        }
                    }
                    @if v.show_all {
                        @for i in &r.same {
                            tr data-drift="unchanged" {
                                td { (i.label) }
                                td.pv-muted { (type_label(result_str(i, "policy_type"))) }
                                td.pv-muted { "unchanged" @if result_str(i, "compared_with") == "accepted" { " (compared with its accepted state)" } }
                                td {}
                            }
                        }
                    }
                    @if nothing {
                        tr { td colspan="4" { "No drift: the tenant matches the baseline." } }
                    }
                }
            }
        }
    }
}

/// Whether the row's drift was accepted after the check ran.
fn accepted_since<'a>(v: &'a DriftView<'_>, run: &Run, policy_id: &str) -> Option<&'a Acceptance> {
    v.accepted
        .get(policy_id)
        .filter(|a| a.accepted_at.as_str() >= run.created_at.as_str())
}

fn row(t: &Tenant, v: &DriftView<'_>, run: &Run, i: &RunItem, kind: &str) -> Markup {
    let entries = super::diff::stored_diff(i);
    let policy_id = result_str(i, "policy_id");
    let accepted = accepted_since(v, run, policy_id);
    html! {
        tr data-drift=(kind) data-accepted[accepted.is_some()] {
            td { @if policy_id.is_empty() { (i.label) } @else { a href={ "/t/" (t.id) "/policies/" (policy_id) } { (i.label) } } }
            td.pv-muted { (type_label(result_str(i, "policy_type"))) }
            td {
                @match kind {
                    "removed" => { "removed from the tenant" }
                    "added" => { "added since the baseline" }
                    _ => {
                        @if entries.is_empty() { "points at a removed policy " small.pv-muted { "(its reference is rewritten when that policy is restored)" } }
                        @else { "changed" }
                    }
                }
                @if result_str(i, "compared_with") == "accepted" { " " small.pv-muted { "(since its accepted state)" } }
                @if kind == "changed" && !entries.is_empty() {
                    details.pv-item-diff { summary { (super::components::fields(entries.len())) } (drift_table(&entries, v.names)) }
                }
            }
            td { div.pv-actions {
                @if let Some(a) = accepted {
                    span.pv-ok data-accepted-note { "Accepted. The next check compares it with “" (a.accepted_set_name) "”." }
                } @else if v.can_operate {
                    @if kind != "added" { (revert(t, v, i)) }
                    @if kind != "removed" && !policy_id.is_empty() { (accept(t, v, policy_id, &i.label)) }
                }
            } }
        }
    }
}

/// "Revert to baseline": a fresh preview of that one item first (a check may be old; the
/// preview reads the tenant again), from which a live restore is confirmed.
fn revert(t: &Tenant, v: &DriftView<'_>, i: &RunItem) -> Markup {
    // A compare item's id is the backup item it compared with (the baseline's or the
    // accepted backup's); the preview is of the set that holds it.
    let set = if result_str(i, "compared_with") == "accepted" {
        None
    } else {
        v.baseline
    };
    html! {
        @if let Some(b) = set {
            form method="post" action={ "/t/" (t.id) "/backups/" (b.id) "/preview" } {
                (csrf_field(v.csrf))
                input type="hidden" name="item" value=(i.item_id);
                input type="hidden" name="include_assignments" value="true";
                button.secondary.pv-small type="submit" title="Preview the restore of its baseline version first" { "Revert to baseline" }
            }
        }
    }
}

/// "Accept": the policy as it is now becomes what the next check of this baseline compares
/// it with (a backup of it is taken).
fn accept(t: &Tenant, v: &DriftView<'_>, policy_id: &str, name: &str) -> Markup {
    html! {
        @if let Some(b) = v.baseline {
            form method="post" action={ "/t/" (t.id) "/drift/accept" } {
                (csrf_field(v.csrf))
                input type="hidden" name="set" value=(b.id);
                input type="hidden" name="policy_id" value=(policy_id);
                button.secondary.pv-small type="submit" title={ "Take a backup of " (name) " as it is now; the next check compares it with that" } { "Accept" }
            }
        }
    }
}
