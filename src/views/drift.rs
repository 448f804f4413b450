//! The drift view: a chosen baseline (a backup set) against the tenant as it is now.
//! Changed and removed policies come from a restore preview of the baseline (reads only);
//! policies added since come from the inventory's last sync.

use maud::{Markup, html};

use super::components::{csrf_field, local_time, when};
use super::layout::{Nav, page};
use super::tenant::{Tab, tabs};
use crate::db::backups::{BackupItem, BackupSet};
use crate::db::policies::Policy;
use crate::db::runs::{Run, RunItem};
use crate::db::tenants::Tenant;
use crate::graph::canonical::DiffEntry;
use crate::graph::registry;

pub struct DriftView<'a> {
    pub sets: &'a [BackupSet],
    pub baseline: Option<&'a BackupSet>,
    /// The check against the baseline (a `restore.preview` run) and its items.
    pub check: Option<(&'a Run, &'a [RunItem])>,
    /// The baseline's items, to go from a run item to its policy.
    pub baseline_items: &'a [BackupItem],
    /// Current policies the baseline does not hold (added since, as of the last sync).
    pub added: &'a [Policy],
    pub show_all: bool,
    /// For the row forms.
    pub csrf: &'a str,
    pub can_operate: bool,
    pub is_owner: bool,
    /// Names shown in place of ids (groups, filters, settings).
    pub names: &'a super::diff::Names,
}

fn type_label(key: &str) -> &str {
    registry::by_key(key).map_or(key, |t| t.label)
}

fn diff_of(i: &RunItem) -> Vec<DiffEntry> {
    super::diff::stored_diff(i)
}

/// A preview diff is live → backup; here the columns are "Baseline" and "Live now".
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
            (tabs(t, Tab::Backups, v.is_owner))
            @if v.sets.is_empty() {
                p.pv-empty { "There is no backup to compare with yet: back up first." }
            } @else {
                form.pv-actions method="post" action=(base) {
                    (csrf_field(&nav.csrf))
                    label.pv-inline { "Baseline "
                        select name="set" {
                            @for s in v.sets {
                                option value=(s.id) selected[v.baseline.is_some_and(|b| b.id == s.id)] { (s.name) " · " (when(&s.created_at)) }
                            }
                        }
                    }
                    @if v.can_operate { button type="submit" { "Check drift now" } }
                }
            }
            @if let Some(b) = v.baseline {
                p #pv-baseline {
                    "Baseline: " strong { (b.name) } ", taken " (local_time(&b.created_at)) "."
                    @if !b.whole_tenant {
                        br; small.pv-warn data-partial-baseline {
                            "This backup holds only the " (b.item_count) " policies picked for it: every other policy of the tenant shows as added. A backup of the whole tenant makes a better baseline."
                        }
                    }
                }
            }
            (results(t, v))
        },
    )
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
    let policy_of = |item_id: &str| v.baseline_items.iter().find(|b| b.id == item_id);
    let changed: Vec<&RunItem> = items
        .iter()
        .filter(|i| i.status == "succeeded" && i.result.as_ref().is_some_and(|r| r["action"] == "update"))
        .collect();
    let removed: Vec<&RunItem> = items
        .iter()
        .filter(|i| i.status == "succeeded" && i.result.as_ref().is_some_and(|r| r["action"] == "create"))
        .collect();
    let same: Vec<&RunItem> = items.iter().filter(|i| i.status == "skipped").collect();
    let failed = items.iter().filter(|i| i.status == "failed").count();
    html! {
        div #pv-drift {
            p.pv-outcome #pv-drift-summary { strong {
                (changed.len()) " changed, " (removed.len()) " removed, " (v.added.len()) " added since the baseline; " (same.len()) " unchanged"
                @if failed > 0 { "; " (failed) " could not be checked" }
            } }
            p.pv-muted { "Checked " (run.finished_at.as_deref().map(when).unwrap_or_default()) ". "
                @if v.show_all { a href=(url) { "Show changes only" } } @else { a href={ (url) "&all=1" } { "Show unchanged too" } }
            }
            table #pv-drift-rows {
                thead { tr { th { "Policy" } th { "Type" } th { "Drift" } th { "What to do" } } }
                tbody {
                    @for i in &changed { (row(t, v, i, policy_of(&i.item_id), "changed")) }
                    @for i in &removed { (row(t, v, i, policy_of(&i.item_id), "removed")) }
                    @for p in v.added {
                        tr data-drift="added" {
                            td { a href={ "/t/" (t.id) "/policies/" (p.id) } { (p.display_name) } }
                            td.pv-muted { (type_label(&p.policy_type)) }
                            td { "added since the baseline" }
                            td { @if v.can_operate { (accept(t, v.csrf, &p.id, &p.display_name)) } }
                        }
                    }
                    @if v.show_all {
                        @for i in &same {
                            tr data-drift="unchanged" {
                                td { (i.label) }
                                td.pv-muted { (policy_of(&i.item_id).map_or("", |b| type_label(&b.policy_type))) }
                                td.pv-muted { "unchanged" }
                                td {}
                            }
                        }
                    }
                    @if changed.is_empty() && removed.is_empty() && v.added.is_empty() {
                        tr { td colspan="4" { "No drift: the tenant matches the baseline." } }
                    }
                }
            }
        }
    }
}

fn row(t: &Tenant, v: &DriftView<'_>, i: &RunItem, item: Option<&BackupItem>, kind: &str) -> Markup {
    let entries = diff_of(i);
    html! {
        tr data-drift=(kind) {
            td { @if let Some(b) = item { a href={ "/t/" (t.id) "/policies/" (b.policy_id) } { (i.label) } } @else { (i.label) } }
            td.pv-muted { (item.map_or("", |b| type_label(&b.policy_type))) }
            td {
                @if kind == "removed" { "removed from the tenant" }
                @else if entries.is_empty() { "points at a removed policy " small.pv-muted { "(its reference is rewritten when that policy is restored)" } }
                @else { "changed" }
                @if kind == "changed" && !entries.is_empty() {
                    details.pv-item-diff { summary { (super::components::fields(entries.len())) } (drift_table(&entries, v.names)) }
                }
            }
            td { div.pv-actions {
                @if v.can_operate {
                    @if let Some(b) = v.baseline {
                        form method="post" action={ "/t/" (t.id) "/backups/" (b.id) "/preview" } {
                            (csrf_field(v.csrf))
                            input type="hidden" name="item" value=(i.item_id);
                            input type="hidden" name="include_assignments" value="true";
                            button.secondary.pv-small type="submit" { "Revert to baseline" }
                        }
                    }
                    @if kind == "changed" { @if let Some(b) = item { (accept(t, v.csrf, &b.policy_id, &i.label)) } }
                }
            } }
        }
    }
}

/// "Accept": a new backup of the policy as it is now.
fn accept(t: &Tenant, csrf: &str, policy_id: &str, name: &str) -> Markup {
    html! {
        form method="post" action={ "/t/" (t.id) "/backups" } {
            (csrf_field(csrf))
            input type="hidden" name="name" value={ "Accepted drift: " (name.chars().take(150).collect::<String>()) };
            input type="hidden" name="policy_ids" value=(policy_id);
            button.secondary.pv-small type="submit" title="Take a new backup of it as it is now" { "Accept" }
        }
    }
}
